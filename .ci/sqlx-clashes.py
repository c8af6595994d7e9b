"""Refuses a PostgreSQL query that reads exactly like a SQLite one.

sqlx files a query's offline data (.sqlx/) under a digest of its text
alone, so of two identical queries one would take the other's data and
be compiled for the wrong database. Run by .ci/prepare-sqlx."""
import glob
import re
import sys

PATTERN = re.compile(r'sqlx::query(?:_as|_scalar)?!\(\s*(?:\w+,\s*)?(?:r#"(.*?)"#|"((?:[^"\\]|\\.)*)")', re.S)


def queries(path):
    text = open(path).read()
    for m in PATTERN.finditer(text):
        sql = m.group(1) if m.group(1) is not None else m.group(2)
        yield sql, f"{path}:{text[:m.start()].count(chr(10)) + 1}"


sqlite = {sql: where for path in glob.glob("src/store/sqlite/*.rs") for sql, where in queries(path)}
clashes = [
    f"{where} reads exactly like {sqlite[sql]}"
    for path in glob.glob("src/store/postgres/*.rs")
    for sql, where in queries(path)
    if sql in sqlite
]
if clashes:
    sys.exit("write these PostgreSQL queries differently:\n  " + "\n  ".join(clashes))
