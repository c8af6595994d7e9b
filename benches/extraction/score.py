#!/usr/bin/env python3
"""Scores what the extractors wrote (src/main.rs) against WCXB's ground
truth, two ways:

- words: WCXB's own measure (bags of lowercased \\w+ words; precision,
  recall and F1 per page, averaged), so the figures sit beside the ones
  WCXB publishes for each extractor;
- shingles: 4-word shingles (sets), precision and recall per page averaged,
  F1 of the two averages: the measure the issue sets its target in.

    python3 score.py WCXB_DIR SPLIT predictions.jsonl
"""
import json
import re
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path


def words(text):
    return re.findall(r"\w+", (text or "").lower())


def bag_scores(predicted, reference):
    p, r = Counter(words(predicted)), Counter(words(reference))
    if not r:
        return (1.0, 1.0, 1.0) if not p else (0.0, 0.0, 0.0)
    if not p:
        return (0.0, 0.0, 0.0)
    both = sum((p & r).values())
    precision, recall = both / sum(p.values()), both / sum(r.values())
    f1 = 2 * precision * recall / (precision + recall) if both else 0.0
    return precision, recall, f1


def shingles(text, n=4):
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(max(len(w) - n + 1, 0))} or ({tuple(w)} if w else set())


def shingle_scores(predicted, reference):
    p, r = shingles(predicted), shingles(reference)
    if not r:
        return (1.0, 1.0) if not p else (0.0, 0.0)
    if not p:
        return (0.0, 0.0)
    both = len(p & r)
    return both / len(p), both / len(r)


def f1(p, r):
    return 2 * p * r / (p + r) if p + r else 0.0


def main():
    wcxb, split, predictions = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    truth = {}
    for path in (wcxb / split / "ground-truth").glob("*.json"):
        data = json.loads(path.read_text())
        truth[path.stem] = (data.get("ground_truth") or {}).get("main_content") or ""
    rows = defaultdict(list)
    for line in open(predictions):
        pred = json.loads(line)
        reference = truth[pred["id"]]
        bp, br, bf = bag_scores(pred["text"], reference)
        sp, sr = shingle_scores(pred["text"], reference)
        rows[pred["extractor"]].append(dict(id=pred["id"], bp=bp, br=br, bf=bf, sp=sp, sr=sr,
                                            ms=pred["micros"] / 1000, error=pred["error"]))
    print(f"{'extractor':16} {'pages':>5} | {'words P':>7} {'R':>5} {'F1':>5} | {'4-shingles P':>12} {'R':>5} {'F1':>5} "
          f"| {'ms p50':>6} {'p99':>6} {'max':>7} | errors")
    for name, r in rows.items():
        mean = lambda k: statistics.fmean(x[k] for x in r)
        ms = sorted(x["ms"] for x in r)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        print(f"{name:16} {len(r):5} | {mean('bp'):7.3f} {mean('br'):5.3f} {mean('bf'):5.3f} | "
              f"{mean('sp'):12.3f} {mean('sr'):5.3f} {f1(mean('sp'), mean('sr')):5.3f} | "
              f"{statistics.median(ms):6.1f} {p99:6.1f} {ms[-1]:7.1f} | {sum(1 for x in r if x['error'])}")
    for name, r in rows.items():
        worst = sorted(r, key=lambda x: f1(x["sp"], x["sr"]))[:8]
        print(f"\n{name}: worst pages by shingle F1")
        for x in worst:
            print(f"  {x['id']}  P {x['sp']:.2f} R {x['sr']:.2f}  {x['error'] or ''}")


if __name__ == "__main__":
    main()
