#!/usr/bin/env python3
"""What reader rules cost signed-in pages: two readers on one server and
one library, one with no rules and one with N (default 50), their front,
section and article pages under wrk in interleaved rounds, beside nginx
serving the first reader's filled-in bytes (the harness's target for
signed-in pages: at least 0.25 of nginx at 32 connections).

    python3 benches/rules/readers.py BINARY [COUNT] [ROUNDS] [RULES]

The rules are what a reader might keep: mostly muted words on the title,
summary, source or any of those (two or three alternatives; a few match
the corpus's words, most do not), some regular expressions, a muted
section, and a few mark-read and save rules. Both readers open the same
third of the sampled articles first, so their pages carry mixed state.
"""

import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

# /metrics wants a token once accounts exist.
METRICS_TOKEN = "bench-metrics-0123456789"


def make_rules(count, rng):
    fields = ["title", "summary", "source", "any", "title"]
    rules = [{"name": "No culture", "action": "mute", "scope": {"section": "culture"}, "conditions": []}]
    for n in range(1, count):
        words = rng.sample(harness.WORDS, 3)
        if n % 25 != 3:
            words = [w + "qz" for w in words]
        if n % 5 < 4:
            condition = {"field": rng.choice(fields), "words": ", ".join(words[: rng.choice([2, 3])])}
        else:
            condition = {"field": rng.choice(fields), "regex": f"(?i)\\b({words[0]}|{words[1]})\\w*\\s+{words[2][:3]}"}
        action = "mark_read" if n % 17 == 0 else "save" if n % 19 == 0 else "mute"
        rules.append({"name": f"rule {n}", "action": action, "conditions": [condition]})
    return rules[:count]


def call(port, method, path, cookie, csrf, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": f"http://127.0.0.1:{port}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def csrf_of(port, cookie):
    _, page = harness.fetch(port, "/account", {"Cookie": cookie})
    page = page.decode()
    at = page.index('name="csrf" value="') + 19
    return page[at:at + 64]


def main():
    binary = Path(sys.argv[1]).resolve()
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    rule_count = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    duration = 5
    work = Path(tempfile.mkdtemp(prefix="reader-rules-"))
    corpus, db = work / "corpus.jsonl", work / "bench.db"
    harness.write_corpus(corpus, count)
    harness.fresh_library(binary, db, corpus)
    server = harness.Gazette(binary, db, {"GAZETTE_METRICS_TOKEN": METRICS_TOKEN})
    try:
        plain = harness.sign_in(binary, db, server.port, "plain-reader")
        ruled = harness.sign_in(binary, db, server.port, "ruled-reader")
        csrf = csrf_of(server.port, ruled)
        started = time.time()
        for rule in make_rules(rule_count, random.Random(27)):
            call(server.port, "POST", "/api/v1/me/rules", ruled, csrf, rule)
        while any(r.get("applying", {}).get("state") == "running"
                  for r in call(server.port, "GET", "/api/v1/me/rules", ruled, csrf)["rules"]):
            time.sleep(0.2)
        applied = time.time() - started
        # Pages are measured once placing (which runs readers' rules over
        # new articles) has caught up with the library: while it catches
        # up, its steps change the state of the reader with rules.
        caught_up = time.time()
        while True:
            metrics = urllib.request.Request(f"http://127.0.0.1:{server.port}/metrics",
                                             headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            with urllib.request.urlopen(metrics, timeout=60) as response:
                waiting = [line for line in response.read().decode().splitlines()
                           if line.startswith("gazette_stories_waiting ")]
            if not waiting or float(waiting[0].split()[1]) == 0:
                break
            time.sleep(1)
        caught_up = time.time() - caught_up
        rules = call(server.port, "GET", "/api/v1/me/rules", ruled, csrf)["rules"]
        muted = sum((r.get("applying") or {}).get("muted", 0) for r in rules)
        kinds = harness.page_sets(server.port, db, 200)
        pages = {kind: kinds[kind] for kind in ("front", "section", "article")}
        for cookie in (plain, ruled):
            for path in pages["article"][::3]:
                harness.fetch(server.port, path, {"Cookie": cookie})
        nginx, nginx_port, static_paths = harness.start_nginx(work, pages, server.port, {"Cookie": plain},
                                                              "www-signed-in")
        script = harness.write_lines(work / "paths.lua", [harness.PATHS_SCRIPT])
        results = {}
        try:
            for kind, paths in pages.items():
                g_list = harness.write_lines(work / f"{kind}.paths", paths)
                n_list = harness.write_lines(work / f"{kind}.static", static_paths[kind])
                runs = {"plain": [], "ruled": [], "nginx": []}
                for _ in range(rounds):
                    for name, cookie in (("plain", plain), ("ruled", ruled)):
                        runs[name].append(harness.run_wrk(f"http://127.0.0.1:{server.port}", 32, duration, script,
                                                          [g_list], [f"Cookie: {cookie}"]))
                    runs["nginx"].append(harness.run_wrk(f"http://127.0.0.1:{nginx_port}", 32, duration, script,
                                                         [n_list]))
                median = {name: statistics.median(r["rps"] for r in rs) for name, rs in runs.items()}
                p99 = {name: statistics.median(r["p99_ms"] for r in rs) for name, rs in runs.items()}
                results[kind] = {"rps": median, "p99_ms": p99,
                                 "ruled_over_plain": median["ruled"] / median["plain"],
                                 "ruled_over_nginx": median["ruled"] / median["nginx"],
                                 "plain_over_nginx": median["plain"] / median["nginx"]}
                print(f"{kind}: plain {median['plain']:.0f}/s, ruled {median['ruled']:.0f}/s "
                      f"({results[kind]['ruled_over_plain']:.2f}x), nginx {median['nginx']:.0f}/s; "
                      f"ruled/nginx {results[kind]['ruled_over_nginx']:.2f}; "
                      f"p99 plain {p99['plain']:.1f} ms, ruled {p99['ruled']:.1f} ms", flush=True)
        finally:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=30)
        print(json.dumps({"articles": count, "rules": rule_count, "muted_by_runs": muted,
                          "rules_applied_seconds": round(applied, 2),
                          "placing_caught_up_seconds_later": round(caught_up, 2), "pages": results}, indent=1))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
