#!/usr/bin/env python3
"""Scores Gazette's stories and near-duplicates on labelled data, as Gazette
places them: a fresh server on a temporary SQLite file, the articles sent
through the batch API in arrival order, each article's story read back
through the read API. Beside it, simple baselines on the same stream.

    python3 benches/stories/evaluate.py target/release/gazette fixture
    python3 benches/stories/evaluate.py target/release/gazette uci

`fixture`: tests/data/stories/fixture.jsonl (benches/stories/make_fixture.py).
`uci`: benches/stories/data/uci-news-aggregator-sample.jsonl.gz, headlines
with their publishers and story labels from the UCI News Aggregator data
set (Gasparetti, 2016; CC BY 4.0): the first 6,366 of its 422,937 rows.
"""

import collections
import gzip
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "stories-evaluation-token-0123456789"
CATEGORIES = {"b": "Business", "t": "Science and technology", "e": "Entertainment", "m": "Health"}


def load(name):
    """(article for the ingest API, story label, copy-group label or None) in arrival order."""
    if name == "fixture":
        rows = [json.loads(line) for line in open(os.path.join(ROOT, "tests/data/stories/fixture.jsonl"))]
        return [(r["article"], r["event"], r["wire"]) for r in rows]
    path = os.path.join(ROOT, "benches/stories/data/uci-news-aggregator-sample.jsonl.gz")
    rows = [json.loads(line) for line in gzip.open(path, "rt")]
    rows.sort(key=lambda r: (r["timestamp"], r["id"]))
    out = []
    for r in rows:
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["timestamp"] / 1000))
        article = {"title": r["title"], "body": r["title"], "section": CATEGORIES[r["category"]],
                   "source": r["publisher"], "published_at": at, "external_id": f"uci-{r['id']}"}
        out.append((article, r["story"], None))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as response:
        return json.loads(response.read())


def place_with_gazette(binary, items, batch=50):
    """Each item's (story id, duplicate_of, article id) as Gazette decides them."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = dict(os.environ, GAZETTE_INGEST_TOKEN=TOKEN, RUST_LOG="warn")
        server = subprocess.Popen([binary, "--database", f"{tmp}/g.db", "--bind", f"127.0.0.1:{port}",
                                   "--ingest-rate-limit", "100000"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            ids = []
            started = time.monotonic()
            for at in range(0, len(items), batch):
                answer = request(base, "POST", "/api/v1/articles/batch", [a for a, _, _ in items[at:at + batch]])
                for result in answer["results"]:
                    ids.append(result["id"])
            # Articles are placed by a background worker after they are
            # stored: wait until it has placed them all.
            for _ in range(600):
                metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
                if "gazette_stories_waiting 0\n" in metrics:
                    break
                time.sleep(0.1)
            elapsed = time.monotonic() - started
            placed = []
            for id in ids:
                article = request(base, "GET", f"/api/v1/articles/{id}")
                placed.append((article["story"]["id"], article["duplicate_of"], id))
            return placed, elapsed
        finally:
            server.terminate()
            server.wait()


def bcubed(labels, predicted):
    by_label = collections.defaultdict(set)
    by_pred = collections.defaultdict(set)
    for i, (l, p) in enumerate(zip(labels, predicted)):
        by_label[l].add(i)
        by_pred[p].add(i)
    precision = recall = 0.0
    for i, (l, p) in enumerate(zip(labels, predicted)):
        both = len(by_label[l] & by_pred[p])
        precision += both / len(by_pred[p])
        recall += both / len(by_label[l])
    n = len(labels)
    p, r = precision / n, recall / n
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def pairwise(labels, predicted):
    def pairs(groups):
        return sum(len(g) * (len(g) - 1) // 2 for g in groups.values())
    by_label = collections.defaultdict(list)
    by_pred = collections.defaultdict(list)
    both = collections.defaultdict(list)
    for i, (l, p) in enumerate(zip(labels, predicted)):
        by_label[l].append(i)
        by_pred[p].append(i)
        both[(l, p)].append(i)
    tp = pairs(both)
    pp, lp = pairs(by_pred), pairs(by_label)
    p = tp / pp if pp else 1.0
    r = tp / lp if lp else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


STOP = set("a an the of to in on for and or at by with from as is are was were be been it its this that "
           "he she they his her their after over says said say will would new".split())


def words(text):
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP and len(w) > 1]


def tfidf_centroid(items, threshold):
    """Online TF-IDF centroid clustering, the usual baseline: each article
    joins the most similar cluster active in the last 72 hours if the
    cosine reaches `threshold`, else starts one."""
    df = collections.Counter()
    n = 0
    clusters = []  # [centroid Counter, last time]
    out = []
    for article, _, _ in items:
        text = article["title"] + " " + article.get("summary", "") + " " + " ".join(article["body"].split()[:60])
        tf = collections.Counter(words(text))
        n += 1
        df.update(tf.keys())
        at = time.mktime(time.strptime(article["published_at"], "%Y-%m-%dT%H:%M:%SZ"))

        def vec(counter):
            return {t: c * (math.log((n + 1) / (df[t] + 1)) + 1) for t, c in counter.items()}

        v = vec(tf)
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        best, best_score = None, threshold
        for k, (centroid, last) in enumerate(clusters):
            if abs(at - last) > 72 * 3600:
                continue
            cv = vec(centroid)
            dot = sum(v[t] * cv.get(t, 0.0) for t in v)
            if dot == 0:
                continue
            score = dot / (norm * math.sqrt(sum(x * x for x in cv.values())))
            if score >= best_score:
                best, best_score = k, score
        if best is None:
            clusters.append([collections.Counter(tf), at])
            out.append(len(clusters) - 1)
        else:
            clusters[best][0].update(tf)
            clusters[best][1] = max(clusters[best][1], at)
            out.append(best)
    return out


def row(name, labels, predicted):
    bp, br, bf = bcubed(labels, predicted)
    pp, pr, pf = pairwise(labels, predicted)
    return f"| {name} | {bp:.3f} | {br:.3f} | {bf:.3f} | {pp:.3f} | {pr:.3f} | {pf:.3f} |"


def main():
    binary, name = sys.argv[1], sys.argv[2]
    items = load(name)
    labels = [label for _, label, _ in items]
    placed, elapsed = place_with_gazette(binary, items)
    print(f"{len(items)} articles, {len(set(labels))} labelled stories; ingest and placing {elapsed:.1f} s\n")
    print("| method | B3 P | B3 R | B3 F1 | pair P | pair R | pair F1 |")
    print("|---|---|---|---|---|---|---|")
    print(row("Gazette", labels, [s for s, _, _ in placed]))
    if "--gazette-only" in sys.argv:
        return
    print(row("singletons", labels, list(range(len(items)))))
    print(row("exact title", labels, [a["title"].strip().lower() for a, _, _ in items]))
    best = None
    best_precise = None
    for threshold in [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9]:
        predicted = tfidf_centroid(items, threshold)
        b = bcubed(labels, predicted)
        if best is None or b[2] > best[1][2]:
            best = (threshold, b, predicted)
        if b[0] >= 0.90 and (best_precise is None or b[2] > best_precise[1][2]):
            best_precise = (threshold, b, predicted)
    print(row(f"TF-IDF centroid, best F1 (threshold {best[0]})", labels, best[2]))
    if best_precise:
        print(row(f"TF-IDF centroid, best F1 at B3 P >= 0.90 (threshold {best_precise[0]})", labels, best_precise[2]))
    copies = [wire for _, _, wire in items]
    if any(c is not None for c in copies):
        # Near-duplicate pairs: labelled, the versions of one wire story;
        # found, articles with the same original (duplicate_of, or itself).
        groups = [c if c is not None else f"own-{i}" for i, c in enumerate(copies)]
        found = [d if d is not None else i for (_, d, i) in placed]
        p, r, f = pairwise(groups, found)
        print(f"\nnear-duplicate pairs: precision {p:.3f}, recall {r:.3f}, F1 {f:.3f}")


if __name__ == "__main__":
    main()
