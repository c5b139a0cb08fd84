#!/usr/bin/env python3
"""Writes the fuzzer's seed corpus: one file per query of tests/sql/*.test and
examples/hospital/queries.dpql (and each whole file). Generated at test time
so that no corpus is committed.

usage: fuzz/seed_corpus.py SOURCE_DIR OUT_DIR
"""
import hashlib
import pathlib
import sys


def test_file_queries(path):
    """The query text of each case (see tests/unit/sql_files_test.cpp)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        if not lines[i] or lines[i].startswith("#"):
            i += 1
            continue
        i += 1  # the case header: statement ok / statement error ... / plan
        query = []
        while i < len(lines) and lines[i] and lines[i] != "----":
            query.append(lines[i])
            i += 1
        while i < len(lines) and lines[i]:
            i += 1  # the expected output
        if query:
            yield "\n".join(query)


def script_statements(path):
    """The ';'-terminated statements of a query script, comments included."""
    text = path.read_text(encoding="utf-8")
    for part in text.split(";\n"):
        if part.strip():
            yield part.strip() + ";"


def main():
    source, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    seeds = []
    for test in sorted((source / "tests" / "sql").glob("*.test")):
        seeds.extend(test_file_queries(test))
    queries = source / "examples" / "hospital" / "queries.dpql"
    seeds.extend(script_statements(queries))
    seeds.append(queries.read_text(encoding="utf-8"))
    for seed in seeds:
        data = seed.encode("utf-8")
        (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
    print(f"seed corpus: {len(set(seeds))} queries in {out}")


if __name__ == "__main__":
    main()
