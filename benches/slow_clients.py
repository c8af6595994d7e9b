#!/usr/bin/env python3
"""Normal page requests while thousands of slow clients attack (slowloris):
each attacker opens a connection, sends half a request header, then one
more header byte every few seconds, and reconnects whenever Gazette closes
it. wrk measures the normal requests before and during the attack. Loopback
only, bounded in time. See docs/BENCHMARKS.md.

    benches/slow_clients.py                     15,000 attackers, 10 s runs
    benches/slow_clients.py --smoke             500 attackers, 2 s runs (CI)

Needs a release build (made if missing), wrk, and python3 with the same
SQLite as benches/harness.py.
"""
import argparse
import errno
import json
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (the corpus, the server wrapper, wrk)

HALF_HEADER = b"GET / HTTP/1.1\r\nHost: gazette\r\nUser-Agent: slow\r\n"
TRICKLE_EVERY = 5.0


class Attack:
    """`count` slow clients, kept open (reopened when closed) until stop()."""

    def __init__(self, port, count):
        self.port, self.count = port, count
        self.sockets = []
        # Sockets that have not sent their half header yet.
        self.fresh = set()
        self.stopped = threading.Event()
        self.reopened = 0
        self.connect_failures = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open_one(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", self.port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self.connect_failures += 1
            return None
        return s

    def start(self):
        self.thread.start()
        deadline = time.time() + 60
        while len(self.sockets) < self.count and time.time() < deadline:
            time.sleep(0.2)

    def run(self):
        while len(self.sockets) < self.count and not self.stopped.is_set():
            s = self.open_one()
            if s is not None:
                self.fresh.add(len(self.sockets))
                self.sockets.append(s)
        last_trickle = 0.0
        while not self.stopped.is_set():
            now = time.time()
            trickle = now - last_trickle >= TRICKLE_EVERY
            for i, s in enumerate(self.sockets):
                try:
                    if s.fileno() < 0:
                        raise OSError("closed")
                    if i in self.fresh:
                        s.send(HALF_HEADER)
                        self.fresh.discard(i)
                    elif trickle:
                        s.send(b"X")
                    elif s.recv(1, socket.MSG_PEEK) == b"":
                        raise OSError("closed by the server")
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    replacement = self.open_one()
                    if replacement is not None:
                        self.reopened += 1
                        self.fresh.add(i)
                        self.sockets[i] = replacement
            if trickle:
                last_trickle = now
            time.sleep(0.5)

    def stop(self):
        self.stopped.set()
        self.thread.join(timeout=30)
        for s in self.sockets:
            s.close()


def open_descriptors(pid):
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attackers", type=int, default=15_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk's normal clients")
    parser.add_argument("--binary", default=str(harness.ROOT / "target/release/gazette"))
    parser.add_argument("--smoke", action="store_true", help="500 attackers, 2 s runs (CI)")
    parser.add_argument("--out", default=None, help="write the JSON results here")
    args = parser.parse_args()
    if args.smoke:
        args.attackers, args.duration = 500, 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.attackers + 1_000 > hard:
        sys.exit(f"{args.attackers} attackers need more than this process's {hard} file descriptors")
    if args.binary == str(harness.ROOT / "target/release/gazette"):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=harness.ROOT, check=True)

    work = Path(tempfile.mkdtemp(prefix="gazette-slow-"))
    corpus = work / "articles.jsonl"
    harness.write_corpus(corpus, 300)
    server = harness.Gazette(args.binary, work / "gazette.db")
    harness.ingest_batches(server.port, corpus)
    listing = json.load(urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/v1/articles?limit=100"))
    paths = ["/"] + [a["page_url"].split(str(server.port), 1)[-1] for a in listing["articles"]]
    sections = json.load(urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/v1/sections"))
    paths += [f"/sections/{s['slug']}" for s in sections["sections"]]
    paths_file = harness.write_lines(work / "pages.paths", paths)
    script = harness.write_lines(work / "paths.lua", [harness.PATHS_SCRIPT])
    url = f"http://127.0.0.1:{server.port}"
    results = {"attackers": args.attackers, "connections": args.connections, "duration_s": args.duration}
    try:
        print(f"baseline: {args.connections} connections, {args.duration} s", flush=True)
        results["baseline"] = harness.run_wrk(url, args.connections, args.duration, script, [paths_file])
        attack = Attack(server.port, args.attackers)
        started = time.time()
        attack.start()
        results["attack_open_s"] = time.time() - started
        time.sleep(2)
        results["server_fds_under_attack"] = open_descriptors(server.proc.pid)
        print(f"under attack: {len(attack.sockets)} slow clients open, "
              f"server holds {results['server_fds_under_attack']} descriptors", flush=True)
        results["under_attack"] = harness.run_wrk(url, args.connections, args.duration, script, [paths_file])
        results["attack_reopened"] = attack.reopened
        results["attack_connect_failures"] = attack.connect_failures
        attack.stop()
        time.sleep(1)
        results["server_fds_after"] = open_descriptors(server.proc.pid)
    finally:
        server.stop()
    b, a = results["baseline"], results["under_attack"]
    print(f"\nCommand: `benches/slow_clients.py {' '.join(sys.argv[1:])}`\n")
    print("| Run | req/s | p50 ms | p99 ms | non-2xx |\n|---|---|---|---|---|")
    print(f"| No attack | {b['rps']:,.0f} | {b['p50_ms']:.2f} | {b['p99_ms']:.2f} | {b['non_2xx']} |")
    print(f"| {args.attackers:,} slow clients | {a['rps']:,.0f} | {a['p50_ms']:.2f} | {a['p99_ms']:.2f} | {a['non_2xx']} |")
    print(f"\nRatio under attack: {a['rps'] / b['rps']:.2f}; attackers reconnected {results['attack_reopened']:,} times "
          f"(closed by the header timeout); server descriptors {results['server_fds_under_attack']:,} under attack, "
          f"{results['server_fds_after']:,} after.")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    if args.smoke:
        assert a["non_2xx"] == 0 and b["non_2xx"] == 0, "a normal request failed"
        print("smoke run: the attack harness works (figures are not asserted)")


if __name__ == "__main__":
    main()
