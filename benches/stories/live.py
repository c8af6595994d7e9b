#!/usr/bin/env python3
"""How soon a new article is placed in its story at a live rate: single
POSTs of gen_corpus articles at RATE a second for SECONDS, each watched
(GET /api/v1/articles/{id}) until its `story` is set.

    python3 benches/stories/live.py target/release/gazette GEN_CORPUS [RATE] [SECONDS]

Prints the delay from the POST's answer to the article's placing: median,
p99 and the longest.
"""

import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab import corpus, start  # noqa: E402
from evaluate import TOKEN  # noqa: E402


def create(base, line):
    request = urllib.request.Request(base + "/api/v1/articles", data=line.encode(), method="POST", headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["id"]


def watch(base, article_id, answered, delays):
    while True:
        with urllib.request.urlopen(f"{base}/api/v1/articles/{article_id}", timeout=60) as response:
            if json.loads(response.read())["story"] is not None:
                delays.append(time.monotonic() - answered)
                return
        time.sleep(0.005)


def main():
    binary, gen = sys.argv[1], sys.argv[2]
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 20
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 15
    _, singles = corpus(gen, 0)
    delays, watchers = [], []
    with tempfile.TemporaryDirectory() as tmp:
        server, base = start(binary, tmp)
        try:
            started = time.monotonic()
            for n in range(int(rate * seconds)):
                time.sleep(max(0.0, started + n / rate - time.monotonic()))
                article_id = create(base, singles[n])
                watcher = threading.Thread(target=watch, args=(base, article_id, time.monotonic(), delays))
                watcher.start()
                watchers.append(watcher)
            for watcher in watchers:
                watcher.join()
        finally:
            server.terminate()
            server.wait()
    delays.sort()
    print(f"{len(delays)} articles at {rate:g}/s: placed after median {statistics.median(delays) * 1000:.0f} ms, "
          f"p99 {delays[int(len(delays) * 0.99) - 1] * 1000:.0f} ms, longest {delays[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
