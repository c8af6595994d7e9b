#!/usr/bin/env python3
"""Searches as a hostile visitor sends them, on gen_corpus.py's library,
the page cache off so every search is computed (issue 33).

    benches/hostile_search.py --count 100000 --gen-corpus ../shared/bench/gen_corpus.py --workdir DIR [--binary B]

1. **Shapes**: each costly query shape alone, one request at a time
   (five rounds after one to warm the caches, each from another address),
   its status and time: one- and two-letter prefixes, an OR of prefixes,
   twenty ORed common words, a phrase of five common words, nested NOT,
   sixteen common words, the commonest words alone and together.
2. **Flood**: one client (an address of its own, given by a trusted
   proxy's `X-Forwarded-For`, as Gazette sees clients behind nginx) sends
   the costliest accepted shapes on 32 connections with wrk; meanwhile
   other visitors search for ordinary words (ranks 100 to 1,000), one
   search at a time, each from an address of its own, and a reader reads
   pages (front, sections, articles). Their latencies are compared with
   the same readers without the flood; both with the page cache off and
   on (searches never repeat, so each is computed either way).

The library is the harness's (`DIR/search{COUNT}/gazette.db`), built by
batch ingest when missing (`--reuse-db` keeps an existing one).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Gazette, fetch, fresh_library, page_sets, write_lines, PATHS_SCRIPT  # noqa: E402

FLOODER, SEARCHER, READER = "10.0.0.1", "searcher", "10.0.0.3"


def vocabulary(gen_corpus):
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_corpus", gen_corpus)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.vocab_word


def shapes(word):
    return {
        "one-letter prefix `s*`": "s*",
        "one-letter prefix `c*`": "c*",
        "two-letter prefix `st*`": "st*",
        "two-letter prefix `br*`": "br*",
        "three-letter prefix `str*`": "str*",
        "three-letter prefix of the commonest word": word(1)[:3] + "*",
        "four prefixes ORed `e* OR a* OR i* OR o*`": "e* OR a* OR i* OR o*",
        "twenty common words ORed (ranks 1-20)": " OR ".join(word(r) for r in range(1, 21)),
        "phrase of five common words (ranks 1-5)": '"' + " ".join(word(r) for r in range(1, 6)) + '"',
        "template phrase of six words": '"the process was completed as agreed"',
        "nested NOT": f"{word(1)} NOT ({word(2)} NOT ({word(3)} NOT {word(4)}))",
        "sixteen common words (ranks 1-16)": " ".join(word(r) for r in range(1, 17)),
        "commonest word (rank 1)": word(1),
        "rank 5 word": word(5),
        "two common words (ranks 1, 2)": f"{word(1)} {word(2)}",
        "three common words ORed (ranks 1-3)": f"{word(1)} OR {word(2)} OR {word(3)}",
        "ordinary word (rank 500)": word(500),
    }


def counted(db):
    """Whether the server has counted the index's words (a build without
    the counts never has)."""
    conn = harness.sqlite.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM search_terms_counted").fetchone()[0] > 0
    except harness.sqlite.OperationalError:
        return False
    finally:
        conn.close()


def timed_get(port, path, client):
    started = time.perf_counter()
    status, body = fetch(port, path, {"X-Forwarded-For": client})
    return status, (time.perf_counter() - started) * 1000, body


def visitor(n):
    """The address of the n-th of many visitors: a client rests after each
    search as long as it took, so one address searching back to back
    would time its own rests."""
    return f"10.1.{n // 250 % 250}.{n % 250 + 1}"


def shape_costs(port, word, rounds=5):
    out = {}
    # One pass first: the server's connections start with empty caches,
    # and the first search of each word reads its pages from the kernel.
    n = 0
    for query in shapes(word).values():
        timed_get(port, "/search?q=" + urllib.parse.quote(query), visitor(n))
        n += 1
    for name, query in shapes(word).items():
        path = "/search?q=" + urllib.parse.quote(query)
        runs = []
        for _ in range(rounds):
            runs.append(timed_get(port, path, visitor(n)))
            n += 1
        statuses = sorted({status for status, _, _ in runs})
        times = [ms for _, ms, _ in runs]
        out[name] = {"query": query, "status": statuses, "median_ms": statistics.median(times), "max_ms": max(times)}
        print(f"  {name}: {statuses} median {out[name]['median_ms']:.1f} ms, max {out[name]['max_ms']:.1f} ms",
              flush=True)
    return out


def percentile(values, pct):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(pct / 100 * (len(values) - 1))))]


def readers(port, word, pages, seconds, half=None):
    """An ordinary searcher and a page reader, each one request at a time
    with a short pause; their latencies and statuses. The searches are
    words of ranks 100 to 1,000 in turn; with the page cache on, a run
    takes every other one (`half` 0 or 1), so that the run with a flood
    and the run without search for words alike and never repeat one (a
    repeat would be a cached answer)."""
    searches = [f"/search?q={word(r)}" for r in range(100, 1000)]
    if half is not None:
        searches = searches[half::2]
    results = {"search": [], "pages": []}
    statuses = {"search": {}, "pages": {}}
    stop = time.time() + seconds

    def loop(kind, paths, client, pause):
        n = 0
        while time.time() < stop:
            # Searches come from many visitors, one search each now and
            # then, as on a public site; pages from one reader.
            who = visitor(5000 + n) if client == SEARCHER else client
            status, ms, _ = timed_get(port, paths[n % len(paths)], who)
            statuses[kind][status] = statuses[kind].get(status, 0) + 1
            results[kind].append(ms)
            n += 1
            time.sleep(pause)

    threads = [threading.Thread(target=loop, args=("search", searches, SEARCHER, 0.05)),
               threading.Thread(target=loop, args=("pages", pages, READER, 0.02))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {kind: {"count": len(ms), "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99),
                   "max_ms": max(ms) if ms else float("nan"), "statuses": statuses[kind]}
            for kind, ms in results.items()}


def flood(port, work, queries, seconds):
    # Each query many times over with a different nonsense word ORed in
    # (it costs nothing, being in no article): no two requests alike, so
    # the page cache answers none of them.
    paths = ["/search?q=" + urllib.parse.quote(f"{q} OR zqx{n}") for n in range(5000) for q in queries]
    script = write_lines(work / "paths.lua", [PATHS_SCRIPT])
    cmd = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--timeout", "30s", "--latency", "-s", script,
           "-H", f"X-Forwarded-For: {FLOODER}", f"http://127.0.0.1:{port}", "--",
           write_lines(work / "flood.paths", paths)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--gen-corpus", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--binary", default=str(harness.ROOT / "target/release/gazette"))
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument("--seconds", type=int, default=20, help="length of each flood and its baseline")
    parser.add_argument("--out", default=None)
    parser.add_argument("--only-shapes", action="store_true", help="the shapes alone, no floods")
    parser.add_argument("--count-wait", type=float, default=180,
                        help="longest wait for the background count of the index's words")
    args = parser.parse_args()
    word = vocabulary(args.gen_corpus)
    work = Path(args.workdir) / f"search{args.count}"
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "articles.jsonl"
    if not corpus.exists():
        subprocess.run([sys.executable, args.gen_corpus, str(work), str(args.count)], check=True,
                       stdout=subprocess.DEVNULL)
    db = work / "gazette.db"
    if not (args.reuse_db and db.exists()):
        print(f"batch ingest of {args.count:,} articles", flush=True)
        fresh_library(args.binary, db, corpus)
    result = {"articles": args.count, "binary": args.binary}
    server = Gazette(args.binary, db, {"GAZETTE_PAGE_CACHE": "false", "GAZETTE_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        floods(server, db, work, word, args, result)
    finally:
        server.stop()
    if args.only_shapes:
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=2))
        return
    # The same with the page cache on, as Gazette runs by default: pages
    # are answered from it; every search is still computed (none repeats).
    server = Gazette(args.binary, db, {"GAZETTE_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        cached = {"shapes": result["shapes"]}
        floods(server, db, work, word, args, cached, shapes_too=False)
        result["page_cache_on"] = cached
    finally:
        server.stop()
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))


def floods(server, db, work, word, args, result, shapes_too=True):
    label = "page cache on" if not shapes_too else "page cache off"
    # The words are counted in the background once the server starts;
    # a build without counts never refuses (it is measured as it is).
    started = time.time()
    while time.time() - started < args.count_wait:
        if counted(db):
            break
        time.sleep(0.5)
    result["counted_after_s"] = time.time() - started
    print(f"waited {result['counted_after_s']:.1f} s for the word counts", flush=True)
    if shapes_too:
        print("shapes, one at a time:", flush=True)
        result["shapes"] = shape_costs(server.port, word)
        if args.only_shapes:
            return
    kinds = page_sets(server.port, db, 200)
    pages = kinds["front"] + kinds["section"] + kinds["article"]
    for path in pages:
        fetch(server.port, path)  # with the cache on, each page is then kept
    print(f"[{label}] readers without a flood", flush=True)
    result["baseline"] = readers(server.port, word, pages, args.seconds, half=None if shapes_too else 0)
    accepted = [x["query"] for x in result["shapes"].values() if x["status"] == [200]]
    costliest = sorted(accepted, key=lambda q: -next(x["median_ms"] for x in result["shapes"].values()
                                                     if x["query"] == q))[:4]
    result["flood_queries"] = costliest
    print(f"[{label}] readers while one client floods {costliest}", flush=True)
    proc = flood(server.port, work, costliest, args.seconds + 2)
    time.sleep(1)
    result["flooded"] = readers(server.port, word, pages, args.seconds, half=None if shapes_too else 1)
    out, _ = proc.communicate()
    result["flood_wrk"] = out
    for run in ("baseline", "flooded"):
        for kind, x in result[run].items():
            print(f"  {run} {kind}: {x['count']} requests, p50 {x['p50_ms']:.1f} ms, p99 {x['p99_ms']:.1f} ms, "
                  f"max {x['max_ms']:.1f} ms, statuses {x['statuses']}", flush=True)
    rps = [line for line in out.splitlines() if "Requests/sec" in line or "Non-2xx" in line]
    print("  flooder:", "; ".join(line.strip() for line in rps), flush=True)


if __name__ == "__main__":
    main()
