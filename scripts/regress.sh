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
# Install scripts of released versions, for the upgrade scenario (CREATE EXTENSION ... VERSION).
extdir=$("$PG_CONFIG" --sharedir)/extension
for f in tests/upgrade/topk_pg--*.sql; do
    [ -f "$extdir/$(basename "$f")" ] && cmp -s "$f" "$extdir/$(basename "$f")" && continue
    if [ "$(id -u)" = 0 ]; then cp "$f" "$extdir/"; else sudo cp "$f" "$extdir/"; fi
done
scripts/cluster.sh destroy
scripts/cluster.sh start
trap 'scripts/cluster.sh destroy' EXIT
eval "$(scripts/cluster.sh env | sed 's/^/export /')"

if [ $# -gt 0 ]; then tests=("$@"); else
    tests=(); for f in tests/sql/*.sql; do tests+=("$(basename "$f" .sql)"); done
fi
# The coexistence scenario needs the peers beside topk_pg: postgresql-hll (Debian's
# package, scripts/setup.sh) and Citus TopN and Apache DataSketches, built from
# ../shared/vendor by scripts/peers.sh; only without ../shared/vendor is it left out.
if printf '%s\n' "${tests[@]}" | grep -qx coexistence; then
    rc=0; PG_CONFIG="$PG_CONFIG" scripts/peers.sh >/dev/null || rc=$?
    if [ $rc = 3 ]; then
        echo "LEFT OUT coexistence: ../shared/vendor is absent (Citus TopN and DataSketches cannot be built)"
        kept=(); for t in "${tests[@]}"; do [ "$t" = coexistence ] || kept+=("$t"); done; tests=("${kept[@]}")
    elif [ $rc != 0 ]; then
        echo "scripts/peers.sh failed: the coexistence scenario cannot run" >&2; exit 1
    fi
fi
out=$(mktemp -d /tmp/topk_pg_regress_out.XXXXXX)
passed=0
failed=()
# Each scenario gets a database of its own, so scenarios cannot see each other's objects.
for t in "${tests[@]}"; do
    if "$PG_REGRESS" --bindir="$("$PG_CONFIG" --bindir)" --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
        --inputdir=tests --outputdir="$out" --dbname="regress_$t" "$t" >"$out/$t.log" 2>&1; then
        passed=$((passed + 1))
        echo "ok     $t"
    else
        failed+=("$t")
        echo "FAILED $t"
        head -100 "$out/regression.diffs" 2>/dev/null || true
    fi
    [ -f "$out/regression.diffs" ] && cat "$out/regression.diffs" >> "$out/all.diffs" && rm "$out/regression.diffs"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "SQL scenarios: $passed passed, ${#failed[@]} failed (${failed[*]}); results and diffs in $out"
    exit 1
fi
rm -rf "$out"
echo "All $passed tests passed."
