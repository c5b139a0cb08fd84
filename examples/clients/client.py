#!/usr/bin/env python3
"""A small DPQL client using only the Python standard library.

    python3 examples/clients/client.py [--url URL] [--token TOKEN] [QUERY ...]

Runs a few worked hospital queries (or the QUERY arguments) against dpqld and
prints each answer as a table of `value ± half-width` (the half-width of the
interval that holds the exact value with the stated confidence), then the
remaining budget. The URL defaults to $DPQL_URL, else http://127.0.0.1:8765;
the token to $DPQL_TOKEN, else the `planner` token scripts/demo wrote to
.dpql/tokens. Exit status: 0 when every request succeeded, 1 when dpqld
refused one or could not be reached, 2 for a bad command line.

Use the class from your own code:

    from client import DpqlClient, DpqlError
    dpql = DpqlClient("http://127.0.0.1:8765", token)
    answer = dpql.query("SELECT sex, COUNT(*) FROM admissions GROUP BY sex;")
"""

import argparse
import json
import math
import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8765"

EXAMPLE_QUERIES = [
    # Planner: patients on each ward on one day (every ward is listed).
    "SELECT ward_code, COUNT(DISTINCT patient_id) AS patients\n"
    "FROM bed_days\n"
    "WHERE day = DATE '2026-11-27'\n"
    "GROUP BY ward_code;",
    # Planner: how people arrived at hospital in 2026.
    "SELECT admission_method, COUNT(*) AS admissions\n"
    "FROM admissions\n"
    "WHERE admitted_on >= DATE '2026-01-01'\n"
    "GROUP BY admission_method;",
    # Researcher: mean age at admission by sex, excluding maternity stays.
    "SELECT sex, AVG(age) AS mean_age\n"
    "FROM admissions\n"
    "WHERE admission_method <> 'maternity'\n"
    "GROUP BY sex;",
]


class DpqlError(Exception):
    """A refusal from dpqld (its JSON error), or a transport failure (status 0)."""

    def __init__(self, status, code, message, line=None, column=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.line = line
        self.column = column

    def __str__(self):
        where = ""
        if self.line is not None and self.column is not None:
            where = " (line %s, column %s)" % (self.line, self.column)
        status = " [HTTP %d]" % self.status if self.status else ""
        return "%s%s: %s%s" % (self.code, status, self.message, where)


class DpqlClient:
    """dpqld's HTTP API: POST /v1/query, POST /v1/explain, GET /v1/budget,
    GET /v1/catalog and GET /healthz. Each method returns the decoded JSON
    answer or raises DpqlError."""

    def __init__(self, url, token, dataset="hospital", timeout=60.0):
        self.url = url.rstrip("/")
        self.token = token
        self.dataset = dataset
        self.timeout = timeout

    def query(self, text):
        return self._request("POST", "/v1/query", {"query": text, "dataset": self.dataset})

    def explain(self, text):
        return self._request("POST", "/v1/explain", {"query": text, "dataset": self.dataset})

    def budget(self):
        return self._request("GET", "/v1/budget")

    def catalog(self):
        return self._request("GET", "/v1/catalog")

    def health(self):
        return self._request("GET", "/healthz")

    def _request(self, method, path, body=None):
        data = None
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as e:
            raise _error_from(e.code, e.read()) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise DpqlError(0, "unreachable",
                            "cannot reach dpqld at %s: %s (is it running? "
                            "scripts/demo --no-repl starts it)" % (self.url, reason)) from None
        try:
            return json.loads(payload.decode("utf-8"))
        except ValueError:
            return payload.decode("utf-8", "replace")


def _error_from(status, payload):
    try:
        error = json.loads(payload.decode("utf-8"))["error"]
        return DpqlError(status, error.get("code", "error"), error.get("message", ""),
                         error.get("line"), error.get("column"))
    except (ValueError, KeyError, TypeError, AttributeError):
        text = payload.decode("utf-8", "replace").strip() or "(empty body)"
        return DpqlError(status, "http_error", text)


def format_number(value, decimals):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "NULL" if value is None else str(value)
    if isinstance(value, int) and decimals == 0:
        return str(value)
    return "%.*f" % (decimals, value)


def decimals_for(half_width):
    """Enough decimals to show two significant digits of the error bar."""
    if half_width <= 0 or not math.isfinite(half_width):
        return 0
    return max(0, min(6, 1 - math.floor(math.log10(half_width))))


def noisy_parts(value, interval, integral):
    """("value", "half-width") of a noisy value, or None for an exact one.

    The half-width is the larger distance from the value to an end of its
    interval, so value ± half-width always covers the interval (counts'
    intervals are cut at 0, which makes them lopsided)."""
    if interval is None or value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    low, high = interval
    half_width = max(value - low, high - value, 0.0)
    if integral:
        return "%d" % round(value), "%d" % math.ceil(half_width - 1e-9)
    decimals = decimals_for(half_width)
    return format_number(float(value), decimals), format_number(half_width, decimals)


def render_table(answer):
    """A psql-style aligned table of a /v1/query answer, with a footer."""
    columns = answer.get("columns", [])
    types = answer.get("column_types", [""] * len(columns))
    rows = answer.get("rows", [])
    intervals = {}
    confidence = None
    for entry in answer.get("accuracy", []):
        intervals[(entry.get("row"), entry.get("column"))] = entry.get("ci")
        confidence = entry.get("confidence", confidence)

    cells = [[""] * len(columns) for _ in rows]
    right_align = []
    for c, name in enumerate(columns):
        integral = str(types[c] if c < len(types) else "").lower() in ("int", "integer", "bigint")
        parts = [noisy_parts(row[c], intervals.get((r, name)), integral) for r, row in enumerate(rows)]
        value_width = max([len(p[0]) for p in parts if p] + [0])
        half_width = max([len(p[1]) for p in parts if p] + [0])
        for r, row in enumerate(rows):
            if parts[r]:
                # Values right-aligned before the ±, half-widths after it.
                cells[r][c] = "%s ± %s" % (parts[r][0].rjust(value_width), parts[r][1].rjust(half_width))
            else:
                value = row[c]
                cells[r][c] = format_number(value, 0 if isinstance(value, int) else 2)
        right_align.append(bool(rows) and all(
            row[c] is None or (isinstance(row[c], (int, float)) and not isinstance(row[c], bool)) for row in rows))

    widths = [max([len(name)] + [len(row[c]) for row in cells]) for c, name in enumerate(columns)]
    lines = [" " + " | ".join(name.center(widths[c]) for c, name in enumerate(columns)).rstrip(),
             "-" + "-+-".join("-" * w for w in widths) + "-"]
    for row in cells:
        lines.append(" " + " | ".join(cell.rjust(widths[c]) if right_align[c] else cell.ljust(widths[c])
                                      for c, cell in enumerate(row)).rstrip())
    lines.append("(%d row%s)" % (len(rows), "" if len(rows) == 1 else "s"))
    footer = []
    if confidence is not None:
        footer.append("± covers the %g%% confidence interval" % (confidence * 100))
    cost = answer.get("cost") or {}
    if "epsilon" in cost:
        footer.append("cost epsilon %g, delta %g%s" % (cost.get("epsilon", 0), cost.get("delta", 0),
                                                      " (cached answer, free)" if answer.get("cached") else ""))
    budget = answer.get("budget") or {}
    if "epsilon_remaining" in budget:
        footer.append("epsilon remaining %g" % budget["epsilon_remaining"])
    if footer:
        lines.append("; ".join(footer))
    return "\n".join(lines)


def render_budget(answer):
    """One line per dataset of a /v1/budget answer."""
    lines = []
    for budget in answer.get("budgets", []) if isinstance(answer, dict) else []:
        lines.append("Budget on %s: epsilon %g spent, %g remaining of %g; delta %g spent, %g remaining of %g" % (
            budget.get("dataset"), budget.get("epsilon_spent", 0), budget.get("epsilon_remaining", 0),
            budget.get("epsilon_total", 0), budget.get("delta_spent", 0), budget.get("delta_remaining", 0),
            budget.get("delta_total", 0)))
    return "\n".join(lines) or "Budget: " + json.dumps(answer, ensure_ascii=False, sort_keys=True)


def demo_token():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".dpql", "tokens")
    try:
        with open(path, encoding="utf-8") as tokens:
            for line in tokens:
                if line.startswith("planner="):
                    return line.strip().split("=", 1)[1]
    except OSError:
        pass
    return ""


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run DPQL queries against dpqld and print noisy tables.")
    parser.add_argument("--url", default=os.environ.get("DPQL_URL") or DEFAULT_URL,
                        help="dpqld's address (default $DPQL_URL, else %s)" % DEFAULT_URL)
    parser.add_argument("--token", default=os.environ.get("DPQL_TOKEN") or "",
                        help="bearer token (default $DPQL_TOKEN, else the demo planner's in .dpql/tokens)")
    parser.add_argument("--dataset", default="hospital", help="dataset to query (default hospital)")
    parser.add_argument("queries", nargs="*", metavar="QUERY",
                        help="DPQL statements to run instead of the built-in examples")
    args = parser.parse_args(argv)

    token = args.token or demo_token()
    if not token:
        parser.error("no token: pass --token or set DPQL_TOKEN (scripts/demo writes the demo "
                     "analysts' tokens to .dpql/tokens)")
    client = DpqlClient(args.url, token, args.dataset)

    text = None
    try:
        for text in args.queries or EXAMPLE_QUERIES:
            print(text)
            print(render_table(client.query(text)))
            print()
        text = None
        print(render_budget(client.budget()))
    except DpqlError as e:
        print("client.py: %s" % e, file=sys.stderr)
        if text is not None and isinstance(e.line, int) and isinstance(e.column, int) and e.line >= 1:
            # The offending line of the query with a caret under the column.
            lines = text.split("\n")
            if e.line <= len(lines):
                print("  " + lines[e.line - 1], file=sys.stderr)
                print("  " + " " * max(e.column - 1, 0) + "^", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
