#!/usr/bin/env python3
"""Signed-in pages of a reader without rules on two builds of Gazette (A
and B), each on its own copy of one library, in interleaved rounds: what
a change to how personal pages are filled in costs everyone signed in.

    python3 benches/rules/signed_in_ab.py BINARY_A BINARY_B [COUNT] [ROUNDS]

Each round starts both servers afresh, signs the same reader in, opens a
third of the sampled articles (pages carry mixed state), then runs the
front, section and article pages under wrk at 32 connections for 5 s on
A, then on B.
"""

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402


def measure(binary, db, work, name):
    server = harness.Gazette(binary, db)
    try:
        cookie = harness.sign_in(binary, db, server.port, "ab-reader")
        kinds = harness.page_sets(server.port, db, 200)
        for path in kinds["article"][::3]:
            harness.fetch(server.port, path, {"Cookie": cookie})
        script = harness.write_lines(work / "paths.lua", [harness.PATHS_SCRIPT])
        out = {}
        for kind in ("front", "section", "article"):
            paths = harness.write_lines(work / f"{name}.{kind}.paths", kinds[kind])
            out[kind] = harness.run_wrk(f"http://127.0.0.1:{server.port}", 32, 5, script, [paths],
                                        [f"Cookie: {cookie}"])
        return out
    finally:
        server.stop()


def main():
    a, b = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    work = Path(tempfile.mkdtemp(prefix="signed-in-ab-"))
    corpus = work / "corpus.jsonl"
    harness.write_corpus(corpus, count)
    # One library, built by A (the older build's schema migrates forward
    # when B opens its copy).
    source = work / "source.db"
    harness.fresh_library(a, source, corpus)
    results = {"A": {}, "B": {}}
    for n in range(rounds):
        for name, binary in (("A", a), ("B", b)):
            db = work / f"{name}-{n}.db"
            shutil.copy(source, db)
            for kind, r in measure(binary, db, work, name).items():
                results[name].setdefault(kind, []).append(r)
    for kind in ("front", "section", "article"):
        ra = statistics.median(r["rps"] for r in results["A"][kind])
        rb = statistics.median(r["rps"] for r in results["B"][kind])
        pa = statistics.median(r["p99_ms"] for r in results["A"][kind])
        pb = statistics.median(r["p99_ms"] for r in results["B"][kind])
        print(f"{kind}: A {ra:.0f}/s (p99 {pa:.1f} ms), B {rb:.0f}/s (p99 {pb:.1f} ms): B/A {rb / ra:.2f}x", flush=True)


if __name__ == "__main__":
    main()
