#!/usr/bin/env bash
# SQL scenario tests: every tests/sql/NAME.sql runs with pg_regress against a fresh
# private cluster (with topk_pg installed) and its output must equal
# tests/expected/NAME.out. Run scripts/install.sh first.
#   scripts/regress.sh [NAME ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_REGRESS=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress
export TOPK_PORT=${TOPK_TEST_PORT:-28816}
export TOPK_CLUSTER_DIR=/tmp/topk_pg_regress_$TOPK_PORT
export TOPK_DB=postgres
scripts/cluster.sh destroy
scripts/cluster.sh start
trap 'scripts/cluster.sh destroy' EXIT
eval "$(scripts/cluster.sh env | sed 's/^/export /')"

if [ $# -gt 0 ]; then tests=("$@"); else
    tests=(); for f in tests/sql/*.sql; do tests+=("$(basename "$f" .sql)"); done
fi
out=$(mktemp -d /tmp/topk_pg_regress_out.XXXXXX)
status=0
"$PG_REGRESS" --bindir="$("$PG_CONFIG" --bindir)" --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
    --inputdir=tests --outputdir="$out" --dbname=topk_regress "${tests[@]}" || status=$?
if [ $status -ne 0 ]; then
    [ -f "$out/regression.diffs" ] && head -200 "$out/regression.diffs"
    echo "SQL scenario tests failed: results and diffs in $out"
else
    rm -rf "$out"
fi
exit $status
