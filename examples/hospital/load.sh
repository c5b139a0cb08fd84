#!/usr/bin/env bash
# Loads the synthetic hospital dataset into PostgreSQL.
#   examples/hospital/load.sh [--rows N] [DATABASE_URL]
# N defaults to 200000 admissions; without a URL, psql uses the libpq
# environment (PGHOST, PGPORT, PGUSER, PGDATABASE, ...). Rerunning replaces
# the tables and the data. Prints the row counts and the time taken.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

rows=200000
url=
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) [ $# -ge 2 ] || { echo "load.sh: --rows needs a number" >&2; exit 2; }
            rows=$2; shift 2 ;;
    --rows=*) rows=${1#--rows=}; shift ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "load.sh: unknown option '$1'; usage: load.sh [--rows N] [DATABASE_URL]" >&2; exit 2 ;;
    *) [ -z "$url" ] || { echo "load.sh: more than one DATABASE_URL given" >&2; exit 2; }
       url=$1; shift ;;
  esac
done
case "$rows" in
  ''|*[!0-9]*) echo "load.sh: --rows must be a non-negative integer, got '$rows'" >&2; exit 2 ;;
esac

psql_args=(-X -q -v ON_ERROR_STOP=1)
[ -n "$url" ] && psql_args+=("$url")

start=$(date +%s.%N)
# client_min_messages hides the NOTICEs of DROP ... IF EXISTS on a fresh database.
PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
  psql "${psql_args[@]}" -f "$here/schema.sql" -f "$here/generate.sql" \
       -c "SELECT hospital_generate($rows)" -o /dev/null
summary=$(psql "${psql_args[@]}" -At -F ' ' -c "
  SELECT (SELECT count(*) FROM admissions), (SELECT count(DISTINCT patient_id) FROM admissions),
         (SELECT count(*) FROM wards)")
end=$(date +%s.%N)
read -r n_admissions n_patients n_wards <<<"$summary"
awk -v a="$n_admissions" -v p="$n_patients" -v w="$n_wards" -v s="$start" -v e="$end" \
  'BEGIN { printf "hospital: %s admissions, %s patients, %s wards loaded in %.1f s\n", a, p, w, e - s }'
