#!/usr/bin/env python3
"""What placing an article in a story costs as the library grows: a fresh
Gazette on a temporary SQLite file is filled with gen_corpus articles
through the batch API, and at each checkpoint the next 2,000 articles'
placement time is read from /metrics (gazette_story_placement_seconds,
one sample per step of the placing worker: the step's time per article).

    python3 benches/stories/cost.py [--in-order] target/release/gazette GEN_CORPUS 10000 100000 [1000000]

GEN_CORPUS is the workplace's gen_corpus.py. Batches of 500. gen_corpus
dates its articles over the year before today, in random order; with
--in-order they are sent oldest first, as feeds and wires deliver news.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab import drain  # noqa: E402
from evaluate import TOKEN, free_port  # noqa: E402

BATCH = 500
MEASURED = 5000


def metrics(base):
    text = urllib.request.urlopen(base + "/metrics", timeout=30).read().decode()
    total = count = 0.0
    for line in text.splitlines():
        m = re.match(r"gazette_story_placement_seconds_(sum|count)\s+([0-9.e+-]+)", line)
        if m:
            if m.group(1) == "sum":
                total = float(m.group(2))
            else:
                count = float(m.group(2))
    return total, count


def post(base, lines):
    body = ("\n".join(lines) + "\n").encode()
    request = urllib.request.Request(base + "/api/v1/articles/batch", data=body, method="POST", headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(request, timeout=600) as response:
        json.loads(response.read())


def main():
    args = sys.argv[1:]
    in_order = "--in-order" in args
    args = [a for a in args if a != "--in-order"]
    binary, gen = args[0], args[1]
    checkpoints = sorted(int(n) for n in args[2:])
    with tempfile.TemporaryDirectory() as tmp:
        need = checkpoints[-1] + MEASURED
        subprocess.run([sys.executable, gen, f"{tmp}/corpus", str(need)], check=True, stdout=subprocess.DEVNULL)
        corpus = next(os.path.join(f"{tmp}/corpus", f) for f in os.listdir(f"{tmp}/corpus") if f.endswith(".jsonl"))
        port = free_port()
        env = dict(os.environ, GAZETTE_INGEST_TOKEN=TOKEN, RUST_LOG="warn")
        server = subprocess.Popen([binary, "--database", f"{tmp}/g.db", "--bind", f"127.0.0.1:{port}",
                                   "--ingest-rate-limit", "0"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            stored = 0
            lines = []
            pending = list(checkpoints)
            mark = None
            started = time.monotonic()
            with open(corpus) as f:
                source = f
                if in_order:
                    source = sorted(f, key=lambda line: json.loads(line)["published_at"])
                for line in source:
                    lines.append(line.rstrip("\n"))
                    if len(lines) == BATCH:
                        post(base, lines)
                        stored += len(lines)
                        lines = []
                        # Articles are placed just after they are stored:
                        # each measurement starts and ends with none waiting.
                        if pending and stored >= pending[0] and mark is None:
                            drain(base)
                            mark = (stored, metrics(base))
                        if mark and stored >= mark[0] + MEASURED:
                            drain(base)
                            (s0, c0), (s1, c1) = mark[1], metrics(base)
                            per_article = (s1 - s0) / max(c1 - c0, 1)
                            print(f"at {mark[0]:>9,} articles: {per_article * 1e6:8.1f} us per article placed "
                                  f"({int(c1 - c0)} groups; {time.monotonic() - started:.0f} s so far)", flush=True)
                            pending.pop(0)
                            mark = None
                            if not pending:
                                break
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
