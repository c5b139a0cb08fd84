#!/usr/bin/env bash
# Talks to dpqld with nothing but curl: a health check, a query, the budget
# and an EXPLAIN, printing each JSON answer (pretty when python3 is around).
#   DPQL_URL=http://127.0.0.1:8765 DPQL_TOKEN=dpql_... examples/clients/curl.sh
# Defaults: DPQL_URL http://127.0.0.1:8765, DPQL_TOKEN the `planner` token
# that scripts/demo wrote to .dpql/tokens. Exits non-zero when a request fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

case "${1:-}" in
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  *) echo "curl.sh: takes no arguments (got '$1'); set DPQL_URL and DPQL_TOKEN instead" >&2; exit 2 ;;
esac

url=${DPQL_URL:-http://127.0.0.1:8765}
url=${url%/}
token=${DPQL_TOKEN:-}
if [ -z "$token" ]; then
  tokens=$here/../../.dpql/tokens
  token=$(sed -n 's/^planner=//p' "$tokens" 2>/dev/null | tail -n 1) || true
  if [ -z "$token" ]; then
    echo "curl.sh: no token: set DPQL_TOKEN (e.g. from \`dpqld admin add-analyst\`) or run scripts/demo," >&2
    echo "         which writes the demo analysts' tokens to .dpql/tokens" >&2
    exit 2
  fi
fi

# pretty FILE: the JSON in FILE indented (a row, an interval and small objects
# kept on one line), or the body as it is when it is not JSON or python3 is missing.
pretty() {
  if ! { command -v python3 >/dev/null 2>&1 && python3 - "$1" 2>/dev/null <<'PY'; }; then
import json, re, sys
text = json.dumps(json.load(open(sys.argv[1], encoding="utf-8")), indent=2, ensure_ascii=False)
# Raw newlines only occur between JSON tokens, never inside strings, so
# removing them (and the indentation after them) never changes a value.
def flat(m, limit):
    inner = re.sub(r"\n\s*", " ", m.group(0)[1:-1]).strip()
    one_line = m.group(0)[0] + inner + m.group(0)[-1]
    return one_line if len(one_line) <= limit else m.group(0)
text = re.sub(r"\[[^\[\]{}]*\]", lambda m: flat(m, 10**9), text)   # innermost arrays: a row, an interval
text = re.sub(r"\{[^{}]*\}", lambda m: flat(m, 90), text)           # small flat objects: one per line
print(text)
PY
    cat "$1"
    echo
  fi
}

# call TITLE METHOD PATH [JSON-BODY]: prints the title and the answer; fails
# on a transport error or an HTTP status >= 400 (after printing the answer).
call() {
  local title=$1 method=$2 path=$3 body=${4:-} out status
  echo "== $title: $method $path"
  out=$(mktemp)
  local args=(-sS -o "$out" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $token")
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
  if ! status=$(curl "${args[@]}" "$url$path"); then
    rm -f "$out"
    echo "curl.sh: cannot reach dpqld at $url (is it running? scripts/demo --no-repl starts it)" >&2
    exit 1
  fi
  pretty "$out"
  rm -f "$out"
  if [ "$status" -ge 400 ]; then
    echo "curl.sh: $method $path answered HTTP $status (the error is above)" >&2
    exit 1
  fi
  echo
}

# The query as a JSON string. Only quotes need escaping in these queries.
query='SELECT ward_code, COUNT(DISTINCT patient_id) AS patients FROM bed_days WHERE day = DATE '"'"'2026-11-27'"'"' GROUP BY ward_code;'
body=$(printf '{"dataset": "hospital", "query": "%s"}' "${query//\"/\\\"}")

call "Health" GET /healthz
call "Patients on each ward on 27 November 2026" POST /v1/query "$body"
call "Remaining budget" GET /v1/budget
call "What the same query would cost (spends nothing)" POST /v1/explain "$body"
