"""Drives dpqld's PostgreSQL front end with psycopg 3 (Debian's python3-psycopg)
and pandas, as an analyst's notebook would, and prints what it saw as one JSON
object for tests/integration/pg_wire_test.cpp to check.

Usage: python3 pg_wire_psycopg.py CONNINFO
"""

import json
import sys

import psycopg

out = {}
notices = []

with psycopg.connect(sys.argv[1]) as conn:
    conn.add_notice_handler(lambda d: notices.append(d.message_primary))
    # The extended protocol with a bound text parameter (psycopg's default).
    cur = conn.execute(
        "SELECT ward_code, COUNT(*) AS admissions FROM admissions "
        "WHERE ward_code = %s GROUP BY ward_code",
        ("LTH-AMU",),
    )
    out["columns"] = [c.name for c in cur.description]
    out["type_codes"] = [c.type_code for c in cur.description]
    out["rows"] = [list(r) for r in cur.fetchall()]
    # A bound integer, and a binary-format result.
    cur = conn.cursor(binary=True)
    cur.execute("SELECT COUNT(*) AS n FROM admissions WHERE age >= %s", (65,))
    out["binary_count"] = cur.fetchone()[0]
    # Intervals beside each noisy value.
    conn.execute("SET dpql.intervals = on")
    cur = conn.execute("SELECT COUNT(*) AS n FROM admissions")
    out["interval_columns"] = [c.name for c in cur.description]
    row = cur.fetchone()
    out["interval_row"] = [float(v) for v in row]
    conn.execute("SET dpql.intervals = off")
    out["dataset"] = conn.execute("SHOW dpql.dataset").fetchone()[0]
    # A refusal: its SQLSTATE, DPQL's code and position.
    try:
        conn.execute("SELECT COUNT(*) FROM admissions WHERE nosuch = 1")
        out["error"] = None
    except psycopg.Error as e:
        out["error"] = {
            "sqlstate": e.sqlstate,
            "detail": e.diag.message_detail,
            "position": e.diag.statement_position,
        }
        conn.rollback()
    # pandas over the same connection.
    try:
        import warnings

        import pandas

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pandas.read_sql(
                "SELECT admission_method, COUNT(*) AS admissions FROM admissions GROUP BY admission_method",
                conn,
            )
        out["pandas_shape"] = list(frame.shape)
        out["pandas_columns"] = list(frame.columns)
    except ImportError:
        out["pandas_shape"] = None

out["notices"] = notices
print(json.dumps(out, default=str))
