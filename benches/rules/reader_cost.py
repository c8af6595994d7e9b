#!/usr/bin/env python3
"""What readers' rules cost ingest and placing: the same Gazette build on
fresh databases, with no readers and with R readers (default 20) of N
rules each (default 50, benches/rules/readers.py's set), interleaved
rounds: batch ingest, then single POSTs (benches/stories/ab.py's runs),
and how fast the worker that places new articles (and runs readers'
rules over them) drains what the batches stored.

    python3 benches/rules/reader_cost.py BINARY GEN_CORPUS [COUNT] [ROUNDS] [READERS] [RULES]
"""

import json
import os
import random
import statistics
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "stories"))
sys.path.insert(0, HERE)
import ab  # noqa: E402
from readers import make_rules  # noqa: E402

PASSWORD = "bench reader password"
# /metrics (how many articles wait to be placed) wants a token once
# accounts exist.
METRICS_TOKEN = "bench-metrics-0123456789"
os.environ["GAZETTE_METRICS_TOKEN"] = METRICS_TOKEN
where = {}
started = ab.start


def start(binary, tmp):
    where["db"] = f"{tmp}/g.db"
    where["binary"] = binary
    return started(binary, tmp)


def waiting(base):
    request = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("gazette_stories_waiting "):
                return int(float(line.split()[1]))
    return None


ab.start = start
ab.waiting = waiting


def sign_in(base, name):
    subprocess.run([where["binary"], "--database", where["db"], "user", "add", name, "--password-stdin"],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    opener = urllib.request.build_opener(NoRedirect())
    body = f"name={name}&password={PASSWORD.replace(' ', '+')}&next=/".encode()
    request = urllib.request.Request(base + "/login", data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": base})
    try:
        opener.open(request)
    except urllib.error.HTTPError as redirect:
        cookie = redirect.headers["Set-Cookie"].split(";")[0]
    page = urllib.request.urlopen(urllib.request.Request(base + "/account", headers={"Cookie": cookie})).read().decode()
    at = page.index('name="csrf" value="') + 19
    return cookie, page[at:at + 64]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def readers_with_rules(count, per_reader):
    def setup(base):
        for n in range(count):
            cookie, csrf = sign_in(base, f"reader-{n}")
            for rule in make_rules(per_reader, random.Random(n)):
                request = urllib.request.Request(base + "/api/v1/me/rules", data=json.dumps(rule).encode(),
                                                 method="POST", headers={
                                                     "Cookie": cookie, "X-CSRF-Token": csrf, "Origin": base,
                                                     "Content-Type": "application/json"})
                urllib.request.urlopen(request).read()
    return setup


def main():
    binary, gen = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 20_000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    readers = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    per_reader = int(sys.argv[6]) if len(sys.argv) > 6 else 50
    lines, singles = ab.corpus(gen, count)
    rows = {"none": [], "rules": []}
    for n in range(rounds):
        for name, setup in (("none", None), ("rules", readers_with_rules(readers, per_reader))):
            batch, single, placed = ab.run(binary, lines, singles, setup)
            drained = placed[0][0] / placed[0][1] if placed[0] and placed[0][1] > 0 else float("nan")
            rows[name].append((batch, single, drained))
            print(f"round {n + 1} {name}: batch {batch:.0f}/s, single {single:.0f}/s, "
                  f"placed after the batches {drained:.0f}/s ({placed[0]})", flush=True)
    for k, label in enumerate(("batch", "single POSTs", "placing")):
        none = statistics.median(r[k] for r in rows["none"])
        ruled = statistics.median(r[k] for r in rows["rules"])
        print(f"{label}: none {none:.0f}/s, {readers} readers x {per_reader} rules {ruled:.0f}/s: {ruled / none:.2f}x")


if __name__ == "__main__":
    main()
