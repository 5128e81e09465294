#!/usr/bin/env bash
# topk_pg on a real Citus cluster: a coordinator and two workers on this machine
# (loopback), Citus 13.2.2, and the scenarios tests/citus/sql/NAME.sql, each run with
# pg_regress against the coordinator; its output must equal tests/citus/expected/NAME.out.
#
# Citus: the one installed in the PostgreSQL of $PG_CONFIG, or else built there from
# ../shared/vendor (see tests/citus/cluster.sh); without either, it fails, saying what is
# missing (there is no skip that passes). TOPK_VENDOR_DIR overrides ../shared/vendor.
#
# Ports: TOPK_CITUS_PORT (the coordinator, default 28861) and the two above it for the
# workers; data under /tmp/topk_pg_citus_$TOPK_CITUS_PORT, removed at the end (unless
# TOPK_CITUS_KEEP=1).
# Run scripts/install.sh first.  tests/citus/run.sh [NAME ...]  (default: all)
# Closes with 'citus: N passed'.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
# The cluster: tests/citus/cluster.sh (shared with benches/citus/run.sh).
source tests/citus/cluster.sh
citus_cluster_start

# --- The scenarios ------------------------------------------------------------------------
PG_REGRESS=$PKGLIBDIR/pgxs/src/test/regress/pg_regress
if [ $# -gt 0 ]; then tests=("$@"); else
    tests=(); for f in tests/citus/sql/*.sql; do tests+=("$(basename "$f" .sql)"); done
fi
out=$(mktemp -d /tmp/topk_pg_citus_out.XXXXXX)
chmod 755 "$out"
passed=0
failed=()
# The scenarios share the one database (Citus is created in it on every node): each
# creates its tables in a schema of its own and drops it at the end.
for t in "${tests[@]}"; do
    if "$PG_REGRESS" --bindir="$BINDIR" --host="$BASE/socket" --port="$PORT" --user="$OWNER" \
        --inputdir=tests/citus --outputdir="$out" --use-existing --dbname="$DB" \
        "$t" >"$out/$t.log" 2>&1; then
        passed=$((passed + 1))
        echo "citus: ok     $t"
    else
        failed+=("$t")
        echo "citus: FAILED $t"
        head -100 "$out/regression.diffs" 2>/dev/null || cat "$out/$t.log"
    fi
    [ -f "$out/regression.diffs" ] && cat "$out/regression.diffs" >>"$out/all.diffs" && rm "$out/regression.diffs"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "citus: $passed passed, ${#failed[@]} failed (${failed[*]}); results and diffs in $out"
    exit 1
fi
rm -rf "$out"
echo "citus: $passed passed"
