#!/usr/bin/env python3
"""What site rules cost ingest: the same Gazette build with no rules and
with N rules (default 100), interleaved rounds, each on a fresh database:
batch ingest (NDJSON, 500 a request, 2 clients) of a gen_corpus library,
then single POSTs (16 clients) for a few seconds (benches/stories/ab.py's
runs).

    python3 benches/rules/cost.py BINARY GEN_CORPUS [COUNT] [ROUNDS] [RULES]

The rules are what a busy site might keep: three in five match words
(two or three alternatives, on the title, the summary, the body or any
field), two in five a regular expression; eight in ten drop, one tags,
one files under a section. The tagging and filing rules use the corpus's
own words, so they act; the dropping ones use words it does not have, so
every article is still stored and the runs do the same writes.
"""

import json
import os
import random
import statistics
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stories"))
from ab import corpus, run  # noqa: E402
from evaluate import TOKEN  # noqa: E402


def make_rules(count, vocabulary, rng):
    fields = ["title", "summary", "body", "any", "title", "title"]
    rules = []
    for n in range(count):
        words = rng.sample(vocabulary, 3)
        if n % 10 < 8:
            words = [w + "qz" for w in words]
        if n % 5 < 3:
            condition = {"field": rng.choice(fields), "words": ", ".join(words[: rng.choice([2, 3])])}
        else:
            condition = {"field": rng.choice(fields), "regex": f"(?i)\\b({words[0]}|{words[1]})\\w*\\s+{words[2][:3]}"}
        rule = {"name": f"rule {n}", "action": "drop", "conditions": [condition]}
        if n % 10 == 7:
            rule.update(action="tag", tags=[f"Rule {n}"])
        elif n % 10 == 9:
            rule.update(action="section", section="Filed by rule")
        rules.append(rule)
    return rules


def main():
    binary, gen = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 20_000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    rule_count = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    lines, singles = corpus(gen, count)
    rng = random.Random(27)
    vocabulary = sorted({w.lower() for line in lines[:2000] for w in json.loads(line)["title"].split()
                         if w.isalpha() and len(w) > 4})
    rules = make_rules(rule_count, vocabulary, rng)

    def with_rules(base):
        for rule in rules:
            request = urllib.request.Request(base + "/api/v1/rules", data=json.dumps(rule).encode(), method="POST",
                                             headers={"Authorization": f"Bearer {TOKEN}",
                                                      "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()

    results = {"none": [], "rules": []}
    for _ in range(rounds):
        for kind, setup in (("none", None), ("rules", with_rules)):
            results[kind].append(run(binary, lines, singles, setup))
            print(f"{kind}: batch {results[kind][-1][0]:,.0f}/s, single {results[kind][-1][1]:,.0f}/s", flush=True)
    for label, k in (("batch", 0), ("single POST", 1)):
        ratios = [a[k] / b[k] for a, b in zip(results["rules"], results["none"])]
        print(f"{label}: with {rule_count} rules / without {statistics.mean(ratios):.2f} "
              f"(runs {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
