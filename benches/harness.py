#!/usr/bin/env python3
"""Gazette's benchmark harness: one command, figures as ratios against the
ceilings measured in the same run (raw SQLite for ingest, nginx serving the
same bytes for reads). See docs/BENCHMARKS.md.

    benches/harness.py                 full run: 10,000 and 1,000,000 articles
    benches/harness.py --smoke         a few hundred articles, a few seconds (CI)
    benches/harness.py --counts 50000  other sizes

Needs: a release build (made if missing), wrk, nginx, python3 and, for
the raw SQLite ceiling, sqlean.py (pip install sqlean.py): a recent SQLite
for Python, as Gazette's schema needs 3.43 or later.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from pathlib import Path

try:
    # Gazette's schema needs SQLite 3.43 or later (contentless FTS5 with
    # deletes); sqlean.py (PyPI) bundles a recent one, as Gazette does.
    import sqlean as sqlite
except ImportError:
    sqlite = sqlite3
    if sqlite3.sqlite_version_info < (3, 43):
        sys.exit(f"the harness needs SQLite 3.43 or later for Python (this one is {sqlite3.sqlite_version}): "
                 "pip install sqlean.py")

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-0123456789"

# ---------------------------------------------------------------- corpus

SECTIONS = ["Football", "Boxing", "Volleyball and Handball", "Athletics", "Rugby", "World",
            "Politics", "Business", "Technology", "Health", "Science", "Culture"]
WORDS = ("harbour ferry league council budget season transfer stadium ceasefire agreement market "
         "festival bridge election tariff inquiry reform programme merger vaccine satellite tournament "
         "coast river valley station museum library school hospital factory port airport highway").split()
NAMES = ["Ada Quill", "Ben Ahenda", "Cy Writer", "Dana Oyelaran", "Emil Varga", "Farah Nasser", None]


def sentence(r):
    words = [r.choice(WORDS) for _ in range(r.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def write_corpus(path, count, seed=7):
    """Deterministic NDJSON in the ingest API's format (same shape as
    ../shared/bench/gen_corpus.py writes), about 1.5 KB per article."""
    r = random.Random(seed)
    start = 1_700_000_000
    with open(path, "w") as out:
        for i in range(count):
            paragraphs = ["  ".join(sentence(r) for _ in range(r.randint(2, 4))) for _ in range(r.randint(3, 6))]
            article = {
                "title": f"{sentence(r)[:-1]} {i}",
                "section": r.choice(SECTIONS),
                "body": "\n\n".join(paragraphs),
                "summary": sentence(r),
                "external_id": f"bench-{i}",
                "url": f"https://news.example.org/{i}",
                "tags": r.sample(WORDS, 2),
                "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + i * 60)),
            }
            author = r.choice(NAMES)
            if author:
                article["author"] = author
            out.write(json.dumps(article) + "\n")


# ---------------------------------------------------------------- processes

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("server did not become ready")


class Gazette:
    def __init__(self, binary, db, extra_env=None):
        self.port = free_port()
        env = dict(os.environ, GAZETTE_DATABASE=str(db), GAZETTE_BIND=f"127.0.0.1:{self.port}",
                   GAZETTE_BASE_URL=f"http://127.0.0.1:{self.port}",
                   GAZETTE_INGEST_TOKEN=TOKEN, GAZETTE_INGEST_RATE_LIMIT="0",
                   GAZETTE_MAX_CONCURRENT_REQUESTS="4096", GAZETTE_TRUSTED_PROXIES="127.0.0.1",
                   RUST_LOG="gazette=warn")
        env.update(extra_env or {})
        started = time.time()
        self.proc = subprocess.Popen([str(binary), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ready(self.port)
        self.startup_seconds = time.time() - started

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


# ---------------------------------------------------------------- ingest

def ingest_batches(port, corpus, clients=2, batch=1000):
    """POSTs the whole corpus as NDJSON batches of 1,000 from `clients`
    keep-alive connections; returns articles per second."""
    with open(corpus) as f:
        lines = f.readlines()
    chunks = ["".join(lines[i:i + batch]) for i in range(0, len(lines), batch)]
    errors = []

    def worker(mine):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        for body in mine:
            conn.request("POST", "/api/v1/articles/batch", body=body.encode(),
                         headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"})
            response = conn.getresponse()
            data = response.read()
            if response.status != 200 or b'"error"' in data:
                errors.append((response.status, data[:200]))

    started = time.time()
    threads = [threading.Thread(target=worker, args=(chunks[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - started
    if errors:
        raise RuntimeError(f"batch ingest failed: {errors[:3]}")
    return len(lines) / elapsed


def fresh_library(binary, db, corpus):
    """A new database at `db` holding `corpus`, batch-ingested by Gazette;
    returns articles per second."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    server = Gazette(binary, db)
    try:
        return ingest_batches(server.port, corpus)
    finally:
        server.stop()


def raw_ceiling(source_db, workdir):
    """The same rows written straight into the same schema (search index
    and triggers included) by two prepared statements, the article and its
    index entry, in one transaction."""
    target = Path(workdir) / "raw.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    dst = sqlite.connect(target, isolation_level=None)
    dst.execute("PRAGMA page_size = 8192")
    dst.execute("PRAGMA journal_mode = WAL")
    dst.execute("PRAGMA synchronous = FULL")
    for migration in sorted((ROOT / "migrations").glob("*.sql")):
        dst.executescript(migration.read_text())
    src = sqlite.connect(f"file:{source_db}?mode=ro", uri=True)
    columns = [row[1] for row in src.execute("PRAGMA table_info(articles)")]
    dst.executemany("INSERT INTO sections (id, name, slug, created_at) VALUES (?, ?, ?, ?)",
                    src.execute("SELECT id, name, slug, created_at FROM sections"))
    count = src.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    insert = f"INSERT INTO articles ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    rows = src.execute(f"SELECT {', '.join(columns)} FROM articles ORDER BY id").fetchall()
    # The index's body text: the corpus bodies are plain text, stored
    # compressed by Gazette.
    search = [(r[0], r[1], r[2], zlib.decompress(r[3]).decode(), r[4], r[5]) for r in src.execute(
        "SELECT id, title, summary, body_deflated, author, tags FROM articles ORDER BY id")]
    started = time.time()
    dst.execute("BEGIN")
    dst.executemany(insert, rows)
    dst.executemany("INSERT INTO articles_fts (rowid, title, summary, body_text, author, tags) VALUES (?, ?, ?, ?, ?, ?)",
                    search)
    dst.execute("COMMIT")
    elapsed = time.time() - started
    dst.close()
    src.close()
    return count / elapsed


POST_SCRIPT = r"""
local counter = 0
local thread_id = 0
local words = {"harbour","ferry","league","council","budget","season","transfer","stadium","market","bridge"}
function setup(thread) thread:set("tid", tostring(math.random(1, 1e9))) end
function init(args) math.randomseed(os.time()) end
function request()
  counter = counter + 1
  local body = {}
  for p = 1, 4 do
    local s = {}
    for w = 1, 60 do s[w] = words[math.random(#words)] end
    body[p] = table.concat(s, " ")
  end
  local json = string.format('{"title":"Bench post %s-%d","section":"Bench","external_id":"post-%s-%d","body":"%s"}',
    tid, counter, tid, counter, table.concat(body, "\\n\\n"))
  return wrk.format("POST", "/api/v1/articles", {["Authorization"]="Bearer TOKEN", ["Content-Type"]="application/json"}, json)
end
""".replace("TOKEN", TOKEN)

PATHS_SCRIPT = r"""
local paths = {}
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""

# Searches as many visitors send them, each request from another address
# (X-Forwarded-For, believed since the harness's servers trust the local
# proxy that wrk stands for): Gazette runs one search at a time per
# address (issue 33), so one address on many connections would measure
# its refusals, not its searches. wrk's own headers (-H) are kept.
VISITORS_SCRIPT = r"""
local paths = {}
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
function request()
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["X-Forwarded-For"] = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
"""


def run_wrk(url, connections, duration, script, script_args=(), headers=()):
    threads = 1 if connections == 1 else 2
    # wrk's own timeout is 2 s: a slower answer is counted as a socket
    # error and left out of the latency figures, so slow uncached searches
    # would show a p99 of at most 2 s. 30 s is Gazette's request timeout.
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "--latency", "-s", script, url]
    for header in headers:
        cmd += ["-H", header]
    if script_args:
        cmd += ["--", *script_args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    def latency(pct):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": latency(50), "p99_ms": latency(99), "non_2xx": int(errors.group(1)) if errors else 0}


# ---------------------------------------------------------------- reads

def fetch(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    return r.status, r.read()


def page_sets(port, db, samples):
    """Paths of each page kind, spread over many articles and sections."""
    conn = sqlite.connect(f"file:{db}?mode=ro", uri=True)
    max_id = conn.execute("SELECT MAX(id) FROM articles").fetchone()[0]
    r = random.Random(1)
    ids = sorted({r.randint(1, max_id) for _ in range(samples * 2)})
    articles = [f"/articles/{i}/{slug}" for i, slug in conn.execute(
        f"SELECT id, slug FROM articles WHERE id IN ({','.join(map(str, ids))})")][:samples]
    sections = [f"/sections/{s}" for (s,) in conn.execute("SELECT slug FROM sections")]
    conn.close()
    return {
        "front": ["/"],
        "section": sections,
        "article": articles,
        "atom": ["/feed.atom"],
        "search": [f"/search?q={w}" for w in WORDS[:20]],
    }


NGINX_CONF = """
worker_processes 2;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  gzip off;
  default_type text/html;
  server {{
    listen 127.0.0.1:{port};
    root {dir}/www;
    location / {{ try_files $uri =404; }}
  }}
}}
"""


def start_nginx(workdir, kinds, gazette_port, headers=None, www_name="www"):
    """nginx serving the identical bytes of every sampled page (as the
    request `headers`, a session cookie say, get them)."""
    www = Path(workdir) / www_name
    shutil.rmtree(www, ignore_errors=True)
    static_paths = {}
    for kind, paths in kinds.items():
        static_paths[kind] = []
        for n, path in enumerate(paths):
            status, body = fetch(gazette_port, path, headers)
            assert status == 200, (path, status)
            target = www / kind / f"{n}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            static_paths[kind].append(f"/{kind}/{n}.html")
    port = free_port()
    conf = Path(workdir) / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, port=port).replace(f"root {workdir}/www;", f"root {www};"))
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    return proc, port, static_paths


def write_lines(path, lines):
    Path(path).write_text("\n".join(lines) + "\n")
    return str(path)



# ---------------------------------------------------------------- readers

BENCH_PASSWORD = "bench reader password"


def sign_in(binary, db, port, name):
    """Adds a reader with the CLI and signs in over HTTP; returns the cookie."""
    subprocess.run([str(binary), "user", "add", name, "--password-stdin"], input=BENCH_PASSWORD + "\n", text=True,
                   env=dict(os.environ, GAZETTE_DATABASE=str(db)), check=True, capture_output=True)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = f"name={name}&password={BENCH_PASSWORD.replace(' ', '+')}&next=/"
    c.request("POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                    "Origin": f"http://127.0.0.1:{port}"})
    r = c.getresponse()
    r.read()
    cookie = r.getheader("Set-Cookie").split(";")[0]
    assert r.status == 303 and cookie.startswith("gazette_session="), (r.status, cookie)
    return cookie


def signed_in_reads(binary, db, work, kinds, args):
    """A signed-in reader's front, section and article pages, against nginx
    serving the same (filled-in) bytes. The reader has read some stories
    first, so the pages carry mixed state."""
    server = Gazette(binary, db)
    try:
        cookie = sign_in(binary, db, server.port, "bench-reader")
        headers = {"Cookie": cookie}
        pages = {kind: kinds[kind] for kind in ("front", "section", "article")}
        # Opening an article reads it: once here, so the bytes stay the same.
        for path in pages["article"][::3]:
            fetch(server.port, path, headers)
        nginx, nginx_port, static_paths = start_nginx(work, pages, server.port, headers, "www-signed-in")
        script = str(work / "paths.lua")
        out = {}
        try:
            for kind, paths in pages.items():
                g_list = write_lines(work / f"{kind}.signed-in.paths", paths)
                n_list = write_lines(work / f"{kind}.signed-in.static", static_paths[kind])
                for c in args.read_connections:
                    print(f"  signed-in {kind} c={c}", flush=True)
                    g = run_wrk(f"http://127.0.0.1:{server.port}", c, args.duration, script, [g_list],
                                [f"Cookie: {cookie}"])
                    n = run_wrk(f"http://127.0.0.1:{nginx_port}", c, args.duration, script, [n_list])
                    out.setdefault(kind, {})[c] = {"gazette": g, "nginx": n, "ratio": g["rps"] / n["rps"]}
        finally:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=30)
        return out
    finally:
        server.stop()


def unread_counts(binary, db, args):
    """Unread counts with many readers of mixed state: each reader gets
    horizons in some sections and a few dozen marks, written straight into
    the database; then every reader's first /api/v1/me (counts computed,
    not cached) is timed one at a time, and wrk runs over all of them."""
    conn = sqlite.connect(str(db))
    r = random.Random(3)
    max_id = conn.execute("SELECT MAX(id) FROM articles").fetchone()[0]
    sections = [row[0] for row in conn.execute("SELECT id FROM sections")]
    keys = []
    now = int(time.time())
    for i in range(args.readers):
        uid = conn.execute("INSERT INTO users (name, password_hash, role, created_at) VALUES (?, 'x', 'reader', ?)",
                           (f"bench-many-{i}", now)).lastrowid
        for section in r.sample(sections, r.randint(0, len(sections))):
            conn.execute("INSERT INTO read_horizons VALUES (?, ?, ?)", (uid, section, r.randint(1, max_id)))
        for article in {r.randint(1, max_id) for _ in range(r.randint(0, 60))}:
            conn.execute("INSERT OR IGNORE INTO article_states (user_id, article_id, read, saved_at) "
                         "SELECT ?, id, ?, ? FROM articles WHERE id = ?",
                         (uid, r.choice([0, 1]), r.choice([None, now]), article))
        key = f"gzk_bench_{i:06d}"
        digest = __import__("hashlib").sha256(key.encode()).hexdigest()
        conn.execute("INSERT INTO api_keys (user_id, name, key_hash, created_at, last_used_at) VALUES (?, 'bench', ?, ?, ?)",
                     (uid, digest, now, now))
        keys.append(key)
    conn.commit()
    conn.close()
    server = Gazette(binary, db)
    try:
        cold = []
        for key in keys:
            started = time.perf_counter()
            status, _ = fetch(server.port, "/api/v1/me", {"Authorization": f"Bearer {key}"})
            cold.append((time.perf_counter() - started) * 1000)
            assert status == 200, status
        cold.sort()
        script = write_lines(Path(db).parent / "me.lua", [KEYS_SCRIPT])
        key_file = write_lines(Path(db).parent / "keys.txt", keys)
        warm = run_wrk(f"http://127.0.0.1:{server.port}", 32, args.duration, script, [key_file])
        return {"readers": len(keys), "cold_p50_ms": cold[len(cold) // 2], "cold_p99_ms": cold[int(len(cold) * 0.99)],
                "cold_max_ms": cold[-1], "warm": warm}
    finally:
        server.stop()


KEYS_SCRIPT = r"""
local keys = {}
function init(args)
  for line in io.lines(args[1]) do keys[#keys + 1] = line end
end
function request()
  return wrk.format("GET", "/api/v1/me", {["Authorization"] = "Bearer " .. keys[math.random(#keys)]})
end
"""

# ---------------------------------------------------------------- reader apps

def app_reader(binary, db, port, name):
    """An account with an app password made by the CLI, signed in through
    ClientLogin: returns (user id, Google Reader auth header, Fever key)."""
    env = dict(os.environ, GAZETTE_DATABASE=str(db))
    # Made once per library: a rerun on the same one (--reuse-db) keeps it.
    subprocess.run([str(binary), "user", "add", name, "--password-stdin"], input=BENCH_PASSWORD + "\n", text=True,
                   env=env, capture_output=True)
    made = subprocess.run([str(binary), "user", "app-password", name, "--app", "bench"], text=True, env=env,
                          check=True, capture_output=True)
    password = made.stdout.strip()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/api/greader/accounts/ClientLogin", body=f"Email={name}&Passwd={password}",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    body = r.read().decode()
    assert r.status == 200, (r.status, body)
    auth = [line[5:] for line in body.splitlines() if line.startswith("Auth=")][0]
    key = __import__("hashlib").md5(f"{name}:{password}".encode()).hexdigest()
    uid = sqlite.connect(str(db)).execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()[0]
    return uid, {"Authorization": f"GoogleLogin auth={auth}"}, key


def timed(port, method, path, headers, body=None, samples=100):
    """Latency of one request, repeated on a fresh connection each time
    (an app's sync is a handful of requests, not a stream): the first
    (caches cold: the reader's state and counts loaded, the pages read),
    then p50, p99 and max of the rest, in milliseconds, and the size."""
    times, size = [], 0
    for _ in range(samples + 1):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        started = time.perf_counter()
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        times.append((time.perf_counter() - started) * 1000)
        assert r.status == 200, (path, r.status, data[:200])
        size = len(data)
    first, times = times[0], sorted(times[1:])
    return {"first_ms": first, "p50_ms": times[len(times) // 2],
            "p99_ms": times[max(0, -(-len(times) * 99 // 100) - 1)], "max_ms": times[-1], "bytes": size}


def app_sync(binary, db, args):
    """What reader apps ask of a large library, for two readers: one who
    keeps up (has read all but a few thousand stories, and marked and saved
    some on the way) and one who has read nothing yet. Each request of a
    first sync and an incremental one is timed on its own."""
    server = Gazette(binary, db)
    try:
        conn = sqlite.connect(str(db))
        max_id = conn.execute("SELECT MAX(id) FROM articles").fetchone()[0]
        sections = [row[0] for row in conn.execute("SELECT id FROM sections")]
        readers = {}
        for name in ("bench-app-keeps-up", "bench-app-new"):
            readers[name] = app_reader(binary, db, server.port, name)
        # The reader who keeps up: horizons near the top of every section,
        # a thousand marks below and above them, a hundred saved.
        uid = readers["bench-app-keeps-up"][0]
        r = random.Random(5)
        behind = max(1, min(max_id // 2, 5000) // max(1, len(sections)))
        for section in sections:
            top = conn.execute("SELECT MAX(id) FROM articles WHERE section_id = ?", (section,)).fetchone()[0] or 0
            conn.execute("INSERT OR REPLACE INTO read_horizons VALUES (?, ?, ?)",
                         (uid, section, max(0, top - behind * len(sections))))
        for n, article in enumerate({r.randint(1, max_id) for _ in range(1000)}):
            conn.execute("INSERT OR IGNORE INTO article_states (user_id, article_id, read, saved_at) VALUES (?, ?, ?, ?)",
                         (uid, article, r.choice([0, 1]), int(time.time()) if n < 100 else None))
        conn.execute("UPDATE users SET state_version = state_version + 1 WHERE id = ?", (uid,))
        conn.commit()
        recent = conn.execute("SELECT created_at FROM articles WHERE id = ?", (max(1, max_id - 500),)).fetchone()[0]
        conn.close()
        rl = "user/-/state/com.google/reading-list"
        xt = "user/-/state/com.google/read"
        out = {"articles": max_id}
        for name, (uid, headers, key) in readers.items():
            print(f"  app sync: {name}", flush=True)
            status, body = fetch(server.port, f"/api/greader/reader/api/0/stream/items/ids?s={rl}&xt={xt}&n=1000",
                                 headers)
            ids = [ref["id"] for ref in json.loads(body)["itemRefs"]]
            contents_body = "&".join(f"i={i}" for i in ids)
            form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
            fever_form = {"Content-Type": "application/x-www-form-urlencoded"}
            g = "/api/greader/reader/api/0"
            out[name] = {
                "unread_ids_first_page_n10000": timed(server.port, "GET",
                                                      f"{g}/stream/items/ids?s={rl}&xt={xt}&n=10000", headers),
                "unread_count": timed(server.port, "GET", f"{g}/unread-count", headers),
                "items_contents_1000": timed(server.port, "POST", f"{g}/stream/items/contents", form,
                                             contents_body),
                "starred_ids": timed(server.port, "GET", f"{g}/stream/items/ids?s=user/-/state/com.google/starred&n=10000",
                                     headers),
                "incremental_ids_since": timed(server.port, "GET",
                                               f"{g}/stream/items/ids?s={rl}&xt={xt}&ot={recent}&n=1000", headers),
                "fever_unread_item_ids": timed(server.port, "POST", "/api/fever/?api&unread_item_ids", fever_form,
                                               f"api_key={key}"),
                "fever_items_since": timed(server.port, "POST", f"/api/fever/?api&items&since_id={max_id - 200}",
                                           fever_form, f"api_key={key}"),
            }
        return out
    finally:
        server.stop()


# ---------------------------------------------------------------- one size

def bench_size(binary, count, args, workdir):
    work = Path(workdir) / f"n{count}"
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "articles.jsonl"
    if not corpus.exists():
        print(f"[{count}] writing corpus", flush=True)
        write_corpus(corpus, count)
    db = work / "gazette.db"
    result = {"articles": count, "json_bytes": corpus.stat().st_size}
    if args.only in ("sync", "live") and args.reuse_db and db.exists():
        print(f"[{count}] {args.only}, on the library already built", flush=True)
        result["batch_ingest_per_s"] = 0
        if args.only == "sync":
            result["app_sync"] = app_sync(binary, db, args)
        else:
            result["live"] = live_site(binary, db, work, args)
        return result
    print(f"[{count}] batch ingest", flush=True)
    result["batch_ingest_per_s"] = fresh_library(binary, db, corpus)
    if args.only == "sync":
        print(f"[{count}] reader apps' syncs", flush=True)
        result["app_sync"] = app_sync(binary, db, args)
        return result
    if args.only == "live":
        result["live"] = live_site(binary, db, work, args)
        return result

    print(f"[{count}] raw SQLite ceiling", flush=True)
    result["raw_ceiling_per_s"] = raw_ceiling(db, work)
    for suffix in ("", "-wal", "-shm"):
        Path(str(work / "raw.db") + suffix).unlink(missing_ok=True)

    # Reads: Gazette with its page cache, without it, and nginx serving the
    # same bytes, each over the same spread of pages.
    server = Gazette(binary, db)
    result["startup_s"] = server.startup_seconds
    result["db_bytes"] = sum(Path(str(db) + s).stat().st_size for s in ("", "-wal") if Path(str(db) + s).exists())
    result["rss_idle_mb"] = server.rss_mb()
    kinds = page_sets(server.port, db, args.samples)
    nginx, nginx_port, static_paths = start_nginx(work, kinds, server.port)
    script = write_lines(work / "paths.lua", [PATHS_SCRIPT])
    visitors = write_lines(work / "visitors.lua", [VISITORS_SCRIPT])
    result["reads"] = {}
    peak_rss = [0.0]

    def measured(port, connections, paths_file, script=script):
        stop = threading.Event()
        def sample():
            while not stop.is_set():
                peak_rss[0] = max(peak_rss[0], server.rss_mb())
                time.sleep(0.2)
        t = threading.Thread(target=sample)
        t.start()
        try:
            return run_wrk(f"http://127.0.0.1:{port}", connections, args.duration, script, [paths_file])
        finally:
            stop.set()
            t.join()

    try:
        for kind, paths in kinds.items():
            g_list = write_lines(work / f"{kind}.paths", paths)
            n_list = write_lines(work / f"{kind}.static", static_paths[kind])
            for c in args.read_connections:
                print(f"[{count}] {kind} c={c}", flush=True)
                each = visitors if kind == "search" else script
                g = measured(server.port, c, g_list, each)
                n = run_wrk(f"http://127.0.0.1:{nginx_port}", c, args.duration, each, [n_list])
                result["reads"].setdefault(kind, {})[c] = {"gazette": g, "nginx": n, "ratio": g["rps"] / n["rps"]}
        result["rss_under_load_mb"] = peak_rss[0]
        server.stop()
        server = Gazette(binary, db, {"GAZETTE_PAGE_CACHE": "false"})
        for kind, by_c in result["reads"].items():
            g_list = str(work / f"{kind}.paths")
            for c, x in by_c.items():
                print(f"[{count}] {kind} c={c} (no page cache)", flush=True)
                u = measured(server.port, c, g_list, visitors if kind == "search" else script)
                x["uncached"] = u
                x["uncached_ratio"] = u["rps"] / x["nginx"]["rps"]
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(timeout=30)
        server.stop()

    print(f"[{count}] signed-in pages", flush=True)
    result["signed_in"] = signed_in_reads(binary, db, work, kinds, args)
    print(f"[{count}] unread counts of {args.readers} readers", flush=True)
    result["unread_counts"] = unread_counts(binary, db, args)
    print(f"[{count}] reader apps' syncs", flush=True)
    result["app_sync"] = app_sync(binary, db, args)
    server = Gazette(binary, db)

    # Single posts last: they add articles the figures above should not see.
    print(f"[{count}] single posts", flush=True)
    post_script = write_lines(work / "post.lua", [POST_SCRIPT])
    result["single_posts"] = {c: run_wrk(f"http://127.0.0.1:{server.port}", c, args.duration, post_script)
                              for c in args.post_connections}
    server.stop()

    # The live site last of all: its writer adds articles too.
    result["live"] = live_site(binary, db, work, args)
    return result


# ---------------------------------------------------------------- live site

class SteadyWriter(threading.Thread):
    """Posts single articles at `rate` a second, spread over the sections,
    as a news desk does all day, until stopped."""

    def __init__(self, port, rate, run):
        super().__init__(daemon=True)
        self.port, self.rate, self.run_name = port, rate, run
        self.stopping = threading.Event()
        self.written, self.errors, self.elapsed = 0, [], 0.0

    def article(self, k, r):
        paragraphs = ["  ".join(sentence(r) for _ in range(r.randint(2, 4))) for _ in range(r.randint(3, 6))]
        article = {"title": f"Live {self.run_name} {k}: {sentence(r)[:-1]}", "section": SECTIONS[k % len(SECTIONS)],
                   "body": "\n\n".join(paragraphs), "summary": sentence(r), "tags": r.sample(WORDS, 2),
                   "external_id": f"live-{self.run_name}-{k}"}
        author = NAMES[k % len(NAMES)]
        if author:
            article["author"] = author
        return article

    def run(self):
        r = random.Random(self.run_name)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.time()
        k = 0
        while not self.stopping.is_set():
            due = started + k / self.rate
            if due > time.time():
                self.stopping.wait(due - time.time())
                continue
            conn.request("POST", "/api/v1/articles", body=json.dumps(self.article(k, r)).encode(),
                         headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            if response.status not in (200, 201):
                self.errors.append((response.status, data[:200]))
            else:
                self.written += 1
            k += 1
        self.elapsed = time.time() - started

    def stop(self):
        self.stopping.set()
        self.join()


def fresh_everywhere(port, db, run):
    """Posts one story and asks every page it changes, at once: its
    section, the front page, another section's article (whose sidebar
    lists the newest stories elsewhere), its author, its tag, the site's
    feed. Returns which of them showed it."""
    unique = f"{run}-{time.time_ns()}"  # new on every run, on a library kept from an earlier one too
    marker = f"Freshness probe {unique}"
    article = {"title": marker, "section": SECTIONS[0], "author": "Probe Writer", "tags": ["freshness"],
               "body": "A story posted to see which pages show it on the very next request.",
               "external_id": f"probe-{unique}"}
    conn = sqlite.connect(f"file:{db}?mode=ro", uri=True)
    other = conn.execute("SELECT a.id, a.slug FROM articles a JOIN sections s ON s.id = a.section_id "
                         "WHERE s.name <> ? ORDER BY a.id DESC LIMIT 1", (SECTIONS[0],)).fetchone()
    section_slug = conn.execute("SELECT slug FROM sections WHERE name = ?", (SECTIONS[0],)).fetchone()[0]
    conn.close()
    pages = {"section": f"/sections/{section_slug}", "front": "/", "sidebar": f"/articles/{other[0]}/{other[1]}",
             "author": "/authors/probe-writer", "tag": "/tags/freshness", "feed": "/feed.atom"}
    for path in pages.values():
        fetch(port, path)  # in the cache before the write
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/api/v1/articles", body=json.dumps(article).encode(),
              headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    assert c.getresponse().status in (200, 201)
    return {name: marker.encode() in fetch(port, path)[1] for name, path in pages.items()}


def live_site(binary, db, work, args):
    """Readers over many pages while a writer posts at each of `rates`
    articles a second; nginx serves the same files (as they were before
    the writes) for the ceiling."""
    server = Gazette(binary, db)
    nginx = None
    try:
        kinds = page_sets(server.port, db, args.live_pages)
        pages = {"live": kinds["article"] + kinds["section"] + kinds["front"]}
        nginx, nginx_port, static_paths = start_nginx(work, pages, server.port, www_name="www-live")
        script = write_lines(work / "paths.lua", [PATHS_SCRIPT])
        g_list = write_lines(work / "live.paths", pages["live"])
        n_list = write_lines(work / "live.static", static_paths["live"])
        result = {"pages": len(pages["live"]), "rates": {}}
        for rate in args.live_rates:
            pairs = []
            for _ in range(args.live_repeats):
                # nginx just before each run, so both see the same machine
                # (on a shared one, nginx alone varied by a third between runs).
                print(f"[live] nginx over {len(pages['live'])} pages", flush=True)
                ceiling = run_wrk(f"http://127.0.0.1:{nginx_port}", 32, args.duration, script, [n_list])
                print(f"[live] Gazette while {rate} articles/s arrive", flush=True)
                # New stories on every run (a library kept from an earlier run
                # holds that run's: posting them again would change nothing).
                writer = SteadyWriter(server.port, rate, f"r{rate}-{time.time_ns()}") if rate else None
                if writer:
                    writer.start()
                g = run_wrk(f"http://127.0.0.1:{server.port}", 32, args.duration, script, [g_list])
                written = {}
                if writer:
                    writer.stop()
                    written = {"written": writer.written, "write_errors": len(writer.errors),
                               "written_per_s": writer.written / max(writer.elapsed, 1e-9)}
                pairs.append({"gazette": g, "nginx": ceiling, "ratio": g["rps"] / ceiling["rps"], **written})
            # The pair with the median ratio stands for the rate; all are kept.
            pairs.sort(key=lambda x: x["ratio"])
            result["rates"][rate] = {**pairs[len(pairs) // 2], "ratios": [x["ratio"] for x in pairs],
                                     "fresh": fresh_everywhere(server.port, db, f"r{rate}")}
        return result
    finally:
        if nginx:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=30)
        server.stop()


def live_lines(live):
    lines = ["", f"Live site: 32 connections over {live['pages']:,} pages (articles, every section, the front page) "
                 f"while single articles are posted; nginx serves the same files, measured just before each run:", "",
             "| articles/s | written/s | nginx req/s | Gazette req/s | p50 ms | p99 ms | ratio (median) | all ratios | next request shows the write on |",
             "|---|---|---|---|---|---|---|---|---|"]
    for rate, x in live["rates"].items():
        g = x["gazette"]
        fresh = ", ".join(name for name, ok in x["fresh"].items() if ok)
        stale = [name for name, ok in x["fresh"].items() if not ok]
        if stale:
            fresh += f" (**stale: {', '.join(stale)}**)"
        bad = f" ({g['non_2xx']} non-2xx)" if g["non_2xx"] else ""
        lines.append(f"| {rate} | {x.get('written_per_s', 0):.1f} | {x['nginx']['rps']:,.0f} | {g['rps']:,.0f}{bad} | {g['p50_ms']:.2f} | "
                     f"{g['p99_ms']:.2f} | {x['ratio']:.2f} | {' '.join(f'{r:.2f}' for r in x['ratios'])} | {fresh} |")
    return lines


# ---------------------------------------------------------------- realistic search

def search_sets(gen_corpus):
    """Queries by how common their words are, from gen_corpus.py's Zipf
    vocabulary (version 2): its word of rank 1 is in nearly every article,
    rank 100 in about 3%, rank 1,000 in about 0.3%."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_corpus", gen_corpus)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    word = module.vocab_word
    return {
        "rank 1 word": [word(1)],
        "rank 100 words": [word(r) for r in range(100, 110)],
        "rank 1,000 words": [word(r) for r in range(1000, 1010)],
        "two words (ranks 10+i and 100+i)": [f"{word(10 + i)} {word(100 + i)}" for i in range(10)],
        "phrase (\"central bank\", template text)": ['"central bank"'],
    }


def realistic_search(binary, count, args, workdir):
    """Uncached searches at 32 connections on gen_corpus.py's corpus of
    `count` articles, each set of queries on its own."""
    work = Path(workdir) / f"search{count}"
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "articles.jsonl"
    if not corpus.exists():
        print(f"[search {count}] writing corpus with {args.gen_corpus}", flush=True)
        subprocess.run([sys.executable, args.gen_corpus, str(work), str(count)], check=True, stdout=subprocess.DEVNULL)
    db = work / "gazette.db"
    result = {"articles": count}
    if not (args.reuse_db and db.exists()):
        print(f"[search {count}] batch ingest", flush=True)
        result["batch_ingest_per_s"] = fresh_library(binary, db, corpus)
    server = Gazette(binary, db, {"GAZETTE_PAGE_CACHE": "false"})
    script = write_lines(work / "visitors.lua", [VISITORS_SCRIPT])
    result["search"] = {}
    try:
        for name, queries in search_sets(args.gen_corpus).items():
            paths = ["/search?q=" + urllib.parse.quote(q) for q in queries]
            status, body = fetch(server.port, paths[0])
            assert status == 200, (paths[0], status)
            # The first page's cards, and whether more pages follow.
            cards, more = body.count(b'<article class="card'), b'rel="next"' in body
            found = f"{cards}{'+' if more else ''}"
            print(f"[search {count}] {name}", flush=True)
            x = run_wrk(f"http://127.0.0.1:{server.port}", 32, args.duration, script,
                        [write_lines(work / "search.paths", paths)])
            x["queries"] = queries
            x["found"] = found
            result["search"][name] = x
    finally:
        server.stop()
    return result


def search_lines(r):
    lines = ["", f"Search without the cache on gen_corpus.py's text, {r['articles']:,} articles, 32 connections:", "",
             "| Queries | first page | req/s | p50 ms | p99 ms | non-2xx |", "|---|---|---|---|---|---|"]
    for name, x in r["search"].items():
        lines.append(f"| {name} | {x['found']} | {x['rps']:,.1f} | {x['p50_ms']:.1f} | {x['p99_ms']:.1f} | {x['non_2xx']} |")
    return lines


def sync_lines(sync):
    lines = ["", "Reader apps, each request timed alone (Google Reader under /api/greader, Fever at /api/fever); "
                 "the first request cold, then 100 more:", "",
             "| Reader | Request | first ms | p50 ms | p99 ms | max ms | bytes |", "|---|---|---|---|---|---|---|"]
    for name, requests in sync.items():
        if name == "articles":
            continue
        for request, t in requests.items():
            lines.append(f"| {name} | {request} | {t['first_ms']:.1f} | {t['p50_ms']:.1f} | {t['p99_ms']:.1f} | "
                         f"{t['max_ms']:.1f} | {t['bytes']:,} |")
    return lines


def report(results, args):
    lines = [f"Command: `{' '.join(['benches/harness.py', *sys.argv[1:]])}`", ""]
    for r in results:
        n = r["articles"]
        if "reads" not in r:
            lines += [f"### {n:,} articles", "", f"Batch ingest: {r['batch_ingest_per_s']:,.0f} articles/s.",
                      *(sync_lines(r["app_sync"]) if "app_sync" in r else live_lines(r["live"])), ""]
            continue
        lines += [f"### {n:,} articles", "",
                  "| Ingest | articles/s | ratio |", "|---|---|---|",
                  f"| Raw SQLite ceiling (row and index entry, one transaction) | {r['raw_ceiling_per_s']:,.0f} | 1.00 |",
                  f"| Batch endpoint (NDJSON, 1,000 per request, 2 clients) | {r['batch_ingest_per_s']:,.0f} | {r['batch_ingest_per_s'] / r['raw_ceiling_per_s']:.2f} of ceiling |"]
        for c, s in r["single_posts"].items():
            lines.append(f"| Single POSTs, {c} client(s) | {s['rps']:,.0f} | {s['rps'] / r['batch_ingest_per_s']:.2f} of batch (p99 {s['p99_ms']:.1f} ms) |")
        lines += ["", "| Page | conns | nginx req/s | Gazette req/s | p50 ms | p99 ms | ratio | no cache req/s | p99 ms | ratio |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for kind, by_c in r["reads"].items():
            for c, x in by_c.items():
                g, ng, u = x["gazette"], x["nginx"], x["uncached"]
                bad = f" ({g['non_2xx']} non-2xx)" if g["non_2xx"] else ""
                lines.append(f"| {kind} | {c} | {ng['rps']:,.0f} | {g['rps']:,.0f}{bad} | {g['p50_ms']:.2f} | {g['p99_ms']:.2f} | "
                             f"{x['ratio']:.2f} | {u['rps']:,.0f} | {u['p99_ms']:.2f} | {x['uncached_ratio']:.2f} |")
        lines += ["", "Signed in (a reader with mixed state; nginx serves the same filled-in bytes):", "",
                  "| Page | conns | nginx req/s | Gazette req/s | p50 ms | p99 ms | ratio |", "|---|---|---|---|---|---|---|"]
        for kind, by_c in r["signed_in"].items():
            for c, x in by_c.items():
                g, ng = x["gazette"], x["nginx"]
                bad = f" ({g['non_2xx']} non-2xx)" if g["non_2xx"] else ""
                lines.append(f"| {kind} | {c} | {ng['rps']:,.0f} | {g['rps']:,.0f}{bad} | {g['p50_ms']:.2f} | "
                             f"{g['p99_ms']:.2f} | {x['ratio']:.2f} |")
        u = r["unread_counts"]
        lines += ["", f"Unread counts, {u['readers']:,} readers of mixed state: first /api/v1/me of each (counted, "
                      f"not cached) p50 {u['cold_p50_ms']:.1f} ms, p99 {u['cold_p99_ms']:.1f} ms, max {u['cold_max_ms']:.1f} ms; "
                      f"then 32 connections over all of them {u['warm']['rps']:,.0f} req/s, p99 {u['warm']['p99_ms']:.2f} ms."]
        lines += sync_lines(r["app_sync"])
        lines += live_lines(r["live"])
        if "realistic_search" in r:
            lines += search_lines(r["realistic_search"])
        lines += ["",
                  f"Resources: start-up {r['startup_s'] * 1000:.0f} ms; RSS {r['rss_idle_mb']:.0f} MB idle, "
                  f"{r['rss_under_load_mb']:.0f} MB peak under load; database {r['db_bytes'] / n:,.0f} bytes per article "
                  f"vs {r['json_bytes'] / n:,.0f} bytes of JSON ({r['db_bytes'] / r['json_bytes']:.2f}x).", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few hundred articles, short runs (CI)")
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--samples", type=int, default=500, help="distinct article pages spread over")
    parser.add_argument("--workdir", default=None, help="where corpora and databases go (default: a temp dir)")
    parser.add_argument("--binary", default=str(ROOT / "target/release/gazette"))
    parser.add_argument("--out", default=None, help="write the JSON results here")
    parser.add_argument("--readers", type=int, default=1000, help="readers of mixed state for the unread counts")
    parser.add_argument("--only", choices=["all", "sync", "live", "search"], default="all",
                        help="sync: build the library, then time the reader apps' syncs alone; "
                             "live: build it, then the live site alone; "
                             "search: realistic search alone (needs --gen-corpus)")
    parser.add_argument("--gen-corpus", default=None,
                        help="the shared gen_corpus.py (version 2): with it, a run adds uncached search on its "
                             "Zipf-distributed text, at each of --counts")
    parser.add_argument("--reuse-db", action="store_true",
                        help="with --only sync or live and --workdir: run on the library a previous run built")
    parser.add_argument("--live-pages", type=int, default=2000, help="article pages the live site's readers spread over")
    parser.add_argument("--live-rates", type=int, nargs="+", default=[0, 2, 20],
                        help="articles a second posted during the live site's runs")
    parser.add_argument("--live-repeats", type=int, default=3,
                        help="pairs of runs (nginx, then Gazette) per rate; the median ratio is reported")
    args = parser.parse_args()
    args.read_connections = [1, 32, 128]
    args.post_connections = [1, 16, 64]
    if args.smoke:
        args.counts, args.duration, args.samples = [300], 1, 50
        args.read_connections, args.post_connections = [1, 8], [1, 4]
        args.readers = 20
        args.live_pages, args.live_rates, args.live_repeats = 50, [0, 20], 1
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install wrk nginx")
    if not Path(args.binary).exists() or args.binary == str(ROOT / "target/release/gazette"):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    workdir = args.workdir or tempfile.mkdtemp(prefix="gazette-bench-")
    if args.only == "search":
        if not args.gen_corpus:
            sys.exit("--only search needs --gen-corpus PATH (the shared gen_corpus.py)")
        results = [realistic_search(args.binary, n, args, workdir) for n in args.counts]
        text = "\n".join(line for r in results for line in search_lines(r))
        print(text)
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2))
        return
    results = [bench_size(args.binary, n, args, workdir) for n in args.counts]
    if args.gen_corpus:
        for r in results:
            r["realistic_search"] = realistic_search(args.binary, r["articles"], args, workdir)
    else:
        print("NOTE: no --gen-corpus given: the realistic search set is not run", flush=True)
    text = report(results, args)
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    if args.smoke and args.only == "all":
        for r in results:
            assert r["batch_ingest_per_s"] > 0 and r["raw_ceiling_per_s"] > 0
            for by_c in [*r["reads"].values(), *r["signed_in"].values()]:
                for x in by_c.values():
                    assert x["gazette"]["non_2xx"] == 0 and x.get("uncached", x["gazette"])["non_2xx"] == 0, \
                        "a page failed under load"
            for rate, x in r["live"]["rates"].items():
                assert x["gazette"]["non_2xx"] == 0 and x.get("write_errors", 0) == 0, f"the live site failed at {rate}/s"
                stale = [name for name, ok in x["fresh"].items() if not ok]
                assert not stale, f"a write was not on the next request of: {stale}"
        print("smoke run: the harness works (figures are not asserted)")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
