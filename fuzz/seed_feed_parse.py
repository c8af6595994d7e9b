#!/usr/bin/env python3
"""Seeds the feed_parse fuzzer from the public feed corpus the tests use.

Writes every file of tests/data/feedparser-*-tests.tar.gz into
fuzz/seeds/feed_parse/ (not committed: it is the corpus, unpacked), each
prefixed with the byte that selects "no Content-Type" in the target, so
the fuzzer starts from real feeds decoded by their BOM and declaration.
"""
import glob
import hashlib
import os
import tarfile

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "seeds", "feed_parse")
os.makedirs(out, exist_ok=True)
(archive,) = glob.glob(os.path.join(here, "..", "tests", "data", "feedparser-*-tests.tar.gz"))
count = 0
with tarfile.open(archive) as tar:
    for member in tar.getmembers():
        if not member.isfile() or not member.name.startswith("tests/"):
            continue
        data = b"\x00" + tar.extractfile(member).read()
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        count += 1
print(f"wrote {count} seeds to {out}")
