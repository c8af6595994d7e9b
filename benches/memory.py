#!/usr/bin/env python3
"""Gazette's memory under the largest inputs its default limits allow
(issue 36; figures in docs/BENCHMARKS.md "Memory under the limits").

    benches/memory.py                 batches of 1,000 long articles (~26 MB),
                                      feeds of ~10 MB, as the limits allow
    benches/memory.py --smoke         small inputs, a few seconds (CI)
    benches/memory.py --binary B      another build (a reference run)

Each scenario runs on a fresh server and database, release build, default
settings. Peak resident memory is the kernel's (VmHWM of the server's
process), so no short peak is missed between samples; the server's own
gazette_memory_resident_peak_bytes is printed beside it.

  one batch        one batch at the limit
  four batches     four at once: their time is the ingest throughput
  eight feeds      eight subscriptions to feeds at the limit, at once
  everything       four batches, eight feeds and page readers at once,
                   then resident memory 10, 30 and 60 seconds later

Needs: a release build (made if missing) and python3; wrk for the page
readers of "everything" (skipped, and said, without it).
"""
import argparse
import http.client
import http.server
import json
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, TOKEN, Gazette  # noqa: E402

WORDS = ("harbour ferry league council budget season transfer stadium ceasefire agreement market "
         "festival bridge election tariff inquiry reform programme merger vaccine satellite tournament "
         "coast river valley station museum library school hospital factory port airport highway").split()


def paragraph(r, words=120):
    return " ".join(r.choice(WORDS) for _ in range(words))


def long_html(r, size):
    parts, length = [], 0
    while length < size:
        p = f"<p>{paragraph(r)} <a href=\"/related\">related</a> <em>{r.choice(WORDS)}</em></p>\n"
        parts.append(p)
        length += len(p)
    return "".join(parts)


def write_batch(path, seed, articles, article_bytes):
    """NDJSON of `articles` long HTML articles."""
    r = random.Random(seed)
    with open(path, "w") as f:
        for i in range(articles):
            f.write(json.dumps({
                "title": f"Memory {seed}-{i} {paragraph(r, 5)}", "section": "Business", "author": "Ada Quill",
                "tags": ["markets", "memory"], "url": f"https://example.org/memory/{seed}/{i}",
                "body": long_html(r, article_bytes), "body_format": "html",
                "published_at": "2026-11-01T10:00:00Z"}) + "\n")
    return Path(path).stat().st_size


def write_feed(path, seed, feed_bytes, entry_bytes=25_000):
    """An RSS 2.0 feed of long entries, just under `feed_bytes`."""
    from xml.sax.saxutils import escape
    r = random.Random(seed)
    head = (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>Memory feed {seed}</title><link>https://feeds.example.org/{seed}</link>"
            f"<description>long entries</description>\n")
    tail = "</channel></rss>\n"
    items, length, i = [], len(head) + len(tail), 0
    while True:
        item = (f"<item><title>Feed {seed} entry {i} {paragraph(r, 5)}</title>"
                f"<link>https://feeds.example.org/{seed}/{i}</link><guid>feed-{seed}-{i}</guid>"
                f"<pubDate>Sun, 01 Nov 2026 10:00:00 GMT</pubDate>"
                f"<content:encoded>{escape(long_html(r, entry_bytes))}</content:encoded></item>\n")
        if length + len(item) > feed_bytes:
            break
        items.append(item)
        length += len(item)
        i += 1
    Path(path).write_text(head + "".join(items) + tail)
    return length


class FeedServer:
    """The feeds, served from a directory on a local port."""

    def __init__(self, directory):
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(directory), **k)  # noqa: E731
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/metrics")
    for line in c.getresponse().read().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def post(port, method, path, body, content_type):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(method, path, body=body, headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type})
    response = c.getresponse()
    return response.status, response.read()


def at_once(jobs):
    """Runs the callables together; their results, in order."""
    results = [None] * len(jobs)

    def run(i, job):
        results[i] = job()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def scenario(binary, work, name, batches=(), feeds=(), feed_port=None, readers=0, idle=(), budget=None):
    db = Path(work) / f"{name.replace(' ', '-')}.db"
    env = {"GAZETTE_ALLOW_PRIVATE_FEEDS": "true"}
    if budget:
        env["GAZETTE_MEMORY_BUDGET"] = budget
    server = Gazette(binary, db, env)
    try:
        idle_kb = status_kb(server.proc.pid, "VmRSS")
        jobs = [lambda b=b: post(server.port, "POST", "/api/v1/articles/batch", Path(b).read_bytes(),
                                 "application/x-ndjson") for b in batches]
        jobs += [lambda f=f: post(server.port, "POST", "/api/v1/feeds",
                                  json.dumps({"url": f"http://127.0.0.1:{feed_port}/{Path(f).name}",
                                              "section": f"Feed {Path(f).stem}"}), "application/json")
                 for f in feeds]
        wrk = None
        if readers and shutil.which("wrk"):
            wrk = subprocess.Popen(["wrk", "-t2", f"-c{readers}", "-d600s", f"http://127.0.0.1:{server.port}/"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        elif readers:
            print("NOTE: wrk is missing: no page readers in this scenario", flush=True)
        started = time.time()
        answers = at_once(jobs)
        seconds = time.time() - started
        read = None
        if wrk:
            # wrk stops on SIGINT and prints what it did: the readers' share
            # of the machine while the work ran.
            wrk.send_signal(signal.SIGINT)
            report, _ = wrk.communicate(timeout=30)
            served = re.search(r"Requests/sec:\s+([\d.]+)", report)
            read = float(served.group(1)) if served else None
        statuses = [status for status, _ in answers]
        failed = [body[:200] for status, body in answers if status not in (200, 201)]
        result = {
            "scenario": name, "seconds": round(seconds, 2), "statuses": statuses,
            "idle_mb": round(idle_kb / 1024, 1),
            "peak_mb": round(status_kb(server.proc.pid, "VmHWM") / 1024, 1),
            "server_peak_mb": round((metric(server.port, "gazette_memory_resident_peak_bytes") or 0) / 2**20, 1),
            "failed": [f.decode(errors="replace") for f in failed],
        }
        if read is not None:
            result["pages_per_s"] = round(read)
        articles = sum(sum(1 for _ in open(b)) for b in batches)
        if articles:
            result["articles_per_s"] = round(articles / seconds, 1)
        after = {}
        waited = 0
        for t in idle:
            time.sleep(t - waited)
            waited = t
            after[f"{t}s"] = round(status_kb(server.proc.pid, "VmRSS") / 1024, 1)
        if after:
            result["resident_after_mb"] = after
        return result
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="small inputs (CI): the scenarios run, figures only")
    parser.add_argument("--binary", default=str(ROOT / "target/release/gazette"))
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--only", nargs="+", default=None, help="scenario names (e.g. one-batch everything)")
    parser.add_argument("--budget", default=None, help="GAZETTE_MEMORY_BUDGET for the server (default: its own)")
    parser.add_argument("--readers", type=int, default=32, help="wrk connections reading pages in 'everything'")
    parser.add_argument("--out", default=None, help="write the JSON results here")
    args = parser.parse_args()
    if args.binary == str(ROOT / "target/release/gazette"):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="gazette-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    articles, article_bytes, feed_bytes = (50, 5_000, 200_000) if args.smoke else (1000, 26_000, 10_000_000)
    batches = [work / f"batch{k}.ndjson" for k in range(1, 5)]
    feeds = [work / "feeds" / f"f{k}.xml" for k in range(1, 9)]
    feeds[0].parent.mkdir(exist_ok=True)
    for k, path in enumerate(batches, 1):
        if not path.exists():
            write_batch(path, k, articles, article_bytes)
    for k, path in enumerate(feeds, 1):
        if not path.exists():
            write_feed(path, k, feed_bytes)
    print(f"batches of {articles} articles, {batches[0].stat().st_size / 1e6:.1f} MB each; "
          f"feeds of {feeds[0].stat().st_size / 1e6:.1f} MB", flush=True)
    feed_server = FeedServer(feeds[0].parent)
    idle = (1, 2) if args.smoke else (10, 30, 60)
    plan = {
        "one-batch": dict(batches=batches[:1]),
        "four-batches": dict(batches=batches),
        "eight-feeds": dict(feeds=feeds),
        "everything": dict(batches=batches, feeds=feeds, readers=args.readers, idle=idle),
    }
    results = []
    try:
        for name, setup in plan.items():
            if args.only and name not in args.only:
                continue
            r = scenario(args.binary, work, name, feed_port=feed_server.port, budget=args.budget, **setup)
            results.append(r)
            line = (f"{name:13} peak {r['peak_mb']:7.1f} MB (server's own figure {r['server_peak_mb']:.1f}), "
                    f"idle before {r['idle_mb']:.1f} MB, {r['seconds']:.2f} s")
            if "articles_per_s" in r:
                line += f", {r['articles_per_s']:.0f} articles/s"
            if "pages_per_s" in r:
                line += f", readers {r['pages_per_s']:,} pages/s"
            if "resident_after_mb" in r:
                line += ", then " + ", ".join(f"{v:.0f} MB at {k}" for k, v in r["resident_after_mb"].items())
            line += f"; statuses {r['statuses']}"
            print(line, flush=True)
            if r["failed"]:
                print(f"  refused or failed: {r['failed'][:2]}", flush=True)
                if args.smoke:
                    sys.exit(f"smoke run: {name} had requests refused or failed")
    finally:
        feed_server.stop()
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
