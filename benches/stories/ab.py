#!/usr/bin/env python3
"""Ingest speed of two Gazette builds on the same work, interleaved so that
a noisy machine weighs on both alike: batch ingest (NDJSON, 500 a request,
2 clients) of a gen_corpus library into a fresh database, then single
POSTs (16 clients, group commit) for a few seconds on top of it.

    python3 benches/stories/ab.py BEFORE_BINARY AFTER_BINARY GEN_CORPUS [COUNT] [ROUNDS]

Prints articles per second of each run and the after/before ratios. A
build that places articles in stories after storing them (it reports
`gazette_stories_waiting` in /metrics) is given time to catch up after
each phase, and how fast it did is printed too ("placed").
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import TOKEN, free_port  # noqa: E402

BATCH = 500
SINGLE_SECONDS = 8
SINGLE_CLIENTS = 16


def start(binary, tmp):
    port = free_port()
    env = dict(os.environ, GAZETTE_INGEST_TOKEN=TOKEN, RUST_LOG="warn")
    server = subprocess.Popen([binary, "--database", f"{tmp}/g.db", "--bind", f"127.0.0.1:{port}",
                               "--ingest-rate-limit", "0"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return server, base


def post(base, path, body, content_type):
    request = urllib.request.Request(base + path, data=body, method="POST", headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()


def waiting(base):
    """Articles waiting to be placed in stories, or None for a build that
    does not place them apart from storing."""
    with urllib.request.urlopen(base + "/metrics", timeout=60) as response:
        found = re.search(r"^gazette_stories_waiting (\d+)", response.read().decode(), re.M)
    return int(found.group(1)) if found else None


def drain(base):
    """Waits until every stored article is placed: (articles, seconds),
    or None when the build places them as it stores them."""
    first = waiting(base)
    if first is None:
        return None
    started = time.monotonic()
    while waiting(base):
        time.sleep(0.05)
    return first, time.monotonic() - started


def run(binary, lines, singles, setup=None):
    """Batch and single-POST rates of one fresh server; `setup(base)`, if
    given, runs against it before the clock starts."""
    with tempfile.TemporaryDirectory() as tmp:
        server, base = start(binary, tmp)
        try:
            if setup:
                setup(base)
            chunks = [lines[i:i + BATCH] for i in range(0, len(lines), BATCH)]
            started = time.monotonic()

            def client(mine):
                for chunk in mine:
                    post(base, "/api/v1/articles/batch", ("\n".join(chunk) + "\n").encode(), "application/x-ndjson")
            threads = [threading.Thread(target=client, args=(chunks[k::2],)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            batch_rate = len(lines) / (time.monotonic() - started)
            placed = [drain(base)]

            done = [0] * SINGLE_CLIENTS
            stop = time.monotonic() + SINGLE_SECONDS

            def single(k):
                n = k
                while time.monotonic() < stop:
                    post(base, "/api/v1/articles", singles[n % len(singles)].encode(), "application/json")
                    done[k] += 1
                    n += SINGLE_CLIENTS
            threads = [threading.Thread(target=single, args=(k,)) for k in range(SINGLE_CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            single_rate = sum(done) / SINGLE_SECONDS
            placed.append(drain(base))
            return batch_rate, single_rate, placed
        finally:
            server.terminate()
            server.wait()


def corpus(gen, count):
    """`count` gen_corpus articles for the batches, and 5,000 more, each
    with an id of its own, for the single POSTs."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, gen, f"{tmp}/c", str(count + 5000)], check=True, stdout=subprocess.DEVNULL)
        with open(f"{tmp}/c/articles.jsonl") as f:
            all_lines = [line.rstrip("\n") for line in f]
    lines, rest = all_lines[:count], all_lines[count:]
    singles = []
    for n, line in enumerate(rest):
        article = json.loads(line)
        article["external_id"] = f"single-{n}"
        singles.append(json.dumps(article))
    return lines, singles


def main():
    before, after, gen = sys.argv[1], sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 20_000
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    lines, singles = corpus(gen, count)
    results = {before: [], after: []}
    for _ in range(rounds):
        for binary in (before, after):
            results[binary].append(run(binary, lines, singles))
            batch, single, placed = results[binary][-1]
            caught_up = "; ".join(f"{n:,} waiting, placed in {t:.1f} s ({n / max(t, 1e-3):,.0f}/s)"
                                  for n, t in filter(None, placed))
            print(f"{binary}: batch {batch:,.0f}/s, single {single:,.0f}/s"
                  + (f"; placed after batch and after singles: {caught_up}" if caught_up else ""), flush=True)
    for kind, k in (("batch", 0), ("single POST", 1)):
        ratios = [a[k] / b[k] for a, b in zip(results[after], results[before])]
        print(f"{kind}: after/before {statistics.mean(ratios):.2f} (runs {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
