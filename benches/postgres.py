#!/usr/bin/env python3
"""Gazette on PostgreSQL (issue 14), measured against ceilings in the same
run: batch ingest against the same rows loaded with COPY, single posts from
64 clients, warm pages and uncached search against the same corpus on
SQLite, one instance against two, and how soon a write on one instance is
on the other's pages. See docs/BENCHMARKS.md.

    benches/postgres.py --count 100000
    benches/postgres.py --smoke          a few hundred articles (a check that it runs)

Needs: a release build (made if missing), wrk, psql, a PostgreSQL server
(GAZETTE_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/postgres,
a role that may create databases), and what benches/harness.py needs.
"""
import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import harness
from harness import Gazette, ROOT, TOKEN, ingest_batches, run_wrk, write_corpus, write_lines, PATHS_SCRIPT, POST_SCRIPT, VISITORS_SCRIPT

ADMIN = os.environ.get("GAZETTE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
SERVER = ADMIN.rsplit("/", 1)[0]


def psql(url, sql, *extra):
    return subprocess.run(["psql", "-qAt", "-v", "ON_ERROR_STOP=1", url, "-c", sql, *extra],
                          capture_output=True, text=True, check=True).stdout


def fresh_database(name):
    psql(ADMIN, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(ADMIN, f"CREATE DATABASE {name}")
    return f"{SERVER}/{name}"


def drop_database(name):
    psql(ADMIN, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


ARTICLE_COLUMNS = ("id, section_id, ingest_key, url_key, external_id, url, slug, title, summary, author, author_slug, "
                   "source, body_format, body, body_deflated, body_html, word_count, image_url, image_caption, tags, "
                   "published_at, claimed_published_at, created_at, updated_at, content_hash, search")


def raw_ceiling(source_url, work):
    """The rows Gazette stored (search vectors included), loaded into a
    fresh database of the same schema by COPY in one transaction, triggers
    and indexes as Gazette has them: what PostgreSQL does at best."""
    dump = Path(work) / "pg-rows"
    dump.mkdir(exist_ok=True)
    for table, columns in [("sections", "id, name, slug, created_at"), ("articles", ARTICLE_COLUMNS),
                           ("article_tags", "tag_slug, published_at, article_id, tag_name")]:
        psql(source_url, f"\\copy (SELECT {columns} FROM {table} ORDER BY 1) TO '{dump / table}.copy'")
    url = fresh_database("gazette_bench_raw")
    for migration in sorted((ROOT / "migrations/postgres").glob("*.sql")):
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-f", str(migration)],
                       capture_output=True, check=True)
    count = int(psql(source_url, "SELECT count(*) FROM articles"))
    script = Path(work) / "raw.sql"
    script.write_text("BEGIN;\n"
                      f"\\copy sections (id, name, slug, created_at) FROM '{dump / 'sections'}.copy'\n"
                      f"\\copy articles ({ARTICLE_COLUMNS}) FROM '{dump / 'articles'}.copy'\n"
                      f"\\copy article_tags (tag_slug, published_at, article_id, tag_name) FROM '{dump / 'article_tags'}.copy'\n"
                      "COMMIT;\n")
    started = time.time()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-f", str(script)], capture_output=True, check=True)
    elapsed = time.time() - started
    drop_database("gazette_bench_raw")
    return count / elapsed


def paths(url, samples):
    """Pages spread over many articles and every section."""
    max_id = int(psql(url, "SELECT max(id) FROM articles"))
    r = random.Random(1)
    ids = sorted({r.randint(1, max_id) for _ in range(samples * 2)})
    rows = psql(url, f"SELECT id || '/' || slug FROM articles WHERE id IN ({','.join(map(str, ids))})").split()
    sections = psql(url, "SELECT slug FROM sections").split()
    return ["/"] + [f"/sections/{s}" for s in sections] + [f"/articles/{row}" for row in rows[:samples]]


def search_paths():
    return [f"/api/v1/search?q={word}" for word in harness.WORDS[:20]]


def visible_latency(a, b, count):
    """Posts on A, then asks B's cached section page until the story is
    on it: how long a write takes to reach another instance's pages."""
    conn_a = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    conn_b = http.client.HTTPConnection("127.0.0.1", b.port, timeout=30)

    def get_b(path):
        conn_b.request("GET", path)
        response = conn_b.getresponse()
        return response.read()

    get_b("/sections/visibility")
    took = []
    for n in range(count):
        title = f"Visibility probe {n} {random.random()}"
        body = json.dumps({"title": title, "section": "Visibility", "body": "A probe."})
        conn_a.request("POST", "/api/v1/articles", body=body,
                       headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        response = conn_a.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"post failed: {response.status}")
        acknowledged = time.perf_counter()
        while title.encode() not in get_b("/sections/visibility"):
            if time.perf_counter() - acknowledged > 5:
                raise RuntimeError("a write was not visible on the other instance within 5 s")
        took.append((time.perf_counter() - acknowledged) * 1000)
    took.sort()
    return {"p50_ms": statistics.median(took), "p99_ms": took[int(len(took) * 0.99) - 1], "max_ms": took[-1],
            "samples": len(took)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--binary", default=str(ROOT / "target/release/gazette"))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.smoke:
        args.count, args.duration, args.samples = 300, 1, 100
    if not Path(args.binary).exists():
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="gazette-pg-bench-"))
    corpus = work / "articles.jsonl"
    write_corpus(corpus, args.count)
    result = {"articles": args.count}
    url = fresh_database("gazette_bench")
    try:
        print("batch ingest, PostgreSQL", flush=True)
        a = Gazette(args.binary, url)
        result["batch_ingest_per_s"] = ingest_batches(a.port, corpus)
        a.stop()
        print("raw ceiling: the same rows by COPY", flush=True)
        result["raw_copy_per_s"] = raw_ceiling(url, work)

        print("batch ingest, SQLite (reference)", flush=True)
        sqlite_db = work / "gazette.db"
        s = Gazette(args.binary, sqlite_db)
        result["sqlite_batch_ingest_per_s"] = ingest_batches(s.port, corpus)
        s.stop()

        script = write_lines(work / "paths.lua", [PATHS_SCRIPT])
        visitors = write_lines(work / "visitors.lua", [VISITORS_SCRIPT])
        pages = write_lines(work / "pages.txt", paths(url, args.samples))
        searches = write_lines(work / "search.txt", search_paths())
        reads = {}
        print("warm pages and uncached search: SQLite, then PostgreSQL", flush=True)
        for backend, db in [("sqlite", sqlite_db), ("postgres", url)]:
            server = Gazette(args.binary, db)
            run_wrk(f"http://127.0.0.1:{server.port}", 32, 1, script, [pages])  # warm the cache
            reads[f"{backend}_pages"] = run_wrk(f"http://127.0.0.1:{server.port}", 32, args.duration, script, [pages])
            server.stop()
            server = Gazette(args.binary, db, {"GAZETTE_PAGE_CACHE": "false"})
            reads[f"{backend}_search"] = run_wrk(f"http://127.0.0.1:{server.port}", 32, args.duration, visitors, [searches])
            server.stop()

        print("two instances on one database", flush=True)
        a = Gazette(args.binary, url, {"GAZETTE_DATABASE_CONNECTIONS": "8"})
        b = Gazette(args.binary, url, {"GAZETTE_DATABASE_CONNECTIONS": "8"})
        for server in (a, b):
            run_wrk(f"http://127.0.0.1:{server.port}", 16, 1, script, [pages])
        both = [None, None]

        def load(i, server):
            both[i] = run_wrk(f"http://127.0.0.1:{server.port}", 16, args.duration, script, [pages])

        threads = [threading.Thread(target=load, args=(i, s)) for i, s in enumerate((a, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        reads["two_instances_pages"] = {"rps": both[0]["rps"] + both[1]["rps"],
                                        "p99_ms": max(both[0]["p99_ms"], both[1]["p99_ms"])}
        print("a write on one instance, on the other's pages", flush=True)
        result["visible_on_other"] = visible_latency(a, b, 50 if args.smoke else 300)
        print("single posts from 64 clients", flush=True)
        post_script = write_lines(work / "post.lua", [POST_SCRIPT])
        result["single_posts_64"] = run_wrk(f"http://127.0.0.1:{a.port}", 64, args.duration, post_script)
        a.stop()
        b.stop()
        result["reads"] = reads
    finally:
        drop_database("gazette_bench")

    r = result
    print(f"\n{r['articles']} articles")
    print(f"batch ingest: {r['batch_ingest_per_s']:.0f}/s on PostgreSQL, raw COPY {r['raw_copy_per_s']:.0f}/s "
          f"({r['batch_ingest_per_s'] / r['raw_copy_per_s']:.2f}x), SQLite {r['sqlite_batch_ingest_per_s']:.0f}/s")
    p, s = r["reads"]["postgres_pages"], r["reads"]["sqlite_pages"]
    print(f"warm pages, 32 connections: PostgreSQL {p['rps']:.0f}/s p99 {p['p99_ms']:.1f} ms; "
          f"SQLite {s['rps']:.0f}/s p99 {s['p99_ms']:.1f} ms ({p['rps'] / s['rps']:.2f}x)")
    t = r["reads"]["two_instances_pages"]
    print(f"two instances together: {t['rps']:.0f}/s p99 {t['p99_ms']:.1f} ms ({t['rps'] / p['rps']:.2f}x one)")
    p, s = r["reads"]["postgres_search"], r["reads"]["sqlite_search"]
    print(f"uncached search, 32 connections: PostgreSQL {p['rps']:.0f}/s p99 {p['p99_ms']:.1f} ms; "
          f"SQLite {s['rps']:.0f}/s p99 {s['p99_ms']:.1f} ms (p99 {p['p99_ms'] / s['p99_ms']:.2f}x)")
    v = r["visible_on_other"]
    print(f"visible on the other instance: p50 {v['p50_ms']:.1f} ms, p99 {v['p99_ms']:.1f} ms, max {v['max_ms']:.1f} ms "
          f"({v['samples']} writes)")
    sp = r["single_posts_64"]
    print(f"single posts, 64 clients: {sp['rps']:.0f}/s p99 {sp['p99_ms']:.1f} ms, non-2xx {sp['non_2xx']}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
