#!/usr/bin/env bash
# Memory limits: a server started under `ulimit -v` (address space, the way
# vm.overcommit_memory = 2 refuses memory) must turn a failed allocation of the
# extension's Rust heap into an ERROR, keep the session usable and never restart
# (src/alloc.rs); an aggregate's Rust heap must count once, not zero times and not
# twice, where PostgreSQL counts aggregate memory (src/state.rs, Holder::account), so
# hash aggregates spill at work_mem and answer right under the limit.
#
# A private cluster (port 28847, data under /tmp/topk_pg_memory), destroyed at the end.
# Run scripts/install.sh first. About 30 s. Closes with 'memory: N passed'.
set -euo pipefail
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control" ]; then
    echo "tests/memory/run.sh: topk_pg is not installed (run scripts/install.sh)" >&2
    exit 1
fi
export TOPK_PORT=28847
export TOPK_CLUSTER_DIR=/tmp/topk_pg_memory
export TOPK_DB=topk_memory
LIMIT_KB=900000
scripts/cluster.sh destroy
trap 'scripts/cluster.sh destroy' EXIT
# The limit is inherited by the postmaster and every backend it forks.
(ulimit -v $LIMIT_KB; scripts/cluster.sh start)

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "memory: $1 ok"; }
fail() { failed=$((failed + 1)); echo "memory: $1 FAILED"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       /'; return 0; }
q() { scripts/cluster.sh psql -qAtX "$@"; }

q -c "CREATE EXTENSION topk_pg"
started=$(q -c "SELECT pg_postmaster_start_time()")

# 1. The exact counts of 100M distinct items need a hash table of gigabytes: the Rust
# heap's allocation fails, and that is an ERROR of this statement only.
out=$(q -c "SELECT topk._tally(g, 1) IS NOT NULL FROM generate_series(1, 100000000) g" \
        -c "SELECT 'still usable: ' || count(*) FROM generate_series(1, 10)" 2>&1 || true)
case "$out" in
    *"ERROR:  out of memory"*"in topk_pg"*) ok "a failed Rust allocation is an ERROR (53200)" ;;
    *) fail "a failed Rust allocation is an ERROR (53200)" "$out" ;;
esac
case "$out" in
    *"still usable: 10"*) ok "the session goes on after the ERROR" ;;
    *) fail "the session goes on after the ERROR" "$out" ;;
esac
now=$(q -c "SELECT pg_postmaster_start_time()")
if [ "$now" = "$started" ] && ! grep -q "terminated by signal\|server process .* was terminated" "$TOPK_CLUSTER_DIR/server.log"; then
    ok "no backend died, the server did not restart"
else
    fail "no backend died, the server did not restart" "$(tail -5 "$TOPK_CLUSTER_DIR/server.log")"
fi

# 2. The Rust heap counts once: 200 dense hll states of precision 14 hold 200 x 16 KiB
# of registers; the hash aggregate's peak memory (what it compares with work_mem) must
# be at least that and at most 1.5 times that.
usage=$(q -c "SET work_mem = '1GB'" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)
    SELECT g % 200, hll_agg(g, 14) FROM generate_series(1, 4000000) g GROUP BY 1" |
    grep -o 'Memory Usage: [0-9]*kB' | grep -o '[0-9]*' | head -1)
registers=$((200 * 16384 / 1024))
if [ -n "$usage" ] && [ "$usage" -ge "$registers" ] && [ "$usage" -le $((registers * 3 / 2)) ]; then
    ok "the Rust heap counts once in the hash aggregate's memory (${usage} kB for ${registers} kB of registers)"
else
    fail "the Rust heap counts once in the hash aggregate's memory" "Memory Usage ${usage:-none} kB, registers ${registers} kB"
fi

# 3. So a hash aggregate of 2,000 such states (32 MB) spills at work_mem = 4MB under the
# limit, and its answers are those of count(DISTINCT).
plan=$(q -c "SET work_mem = '4MB'" -c "SET hash_mem_multiplier = 1" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)
    SELECT g % 2000, hll_agg(g, 14) FROM generate_series(1, 8000000) g GROUP BY 1")
batches=$(echo "$plan" | grep -o 'Batches: [0-9]*' | grep -o '[0-9]*' | head -1)
if [ -n "$batches" ] && [ "$batches" -gt 1 ]; then ok "2,000 sketch states spill at work_mem = 4MB ($batches batches)"; else fail "2,000 sketch states spill at work_mem = 4MB" "$plan"; fi
wrong=$(q -c "SET work_mem = '4MB'" -c "SELECT count(*) FROM (SELECT g % 2000 AS k, hll_count(hll_agg(g, 14)) AS c
    FROM generate_series(1, 8000000) g GROUP BY 1) s WHERE abs(c - 4000) > 4000 * 0.05" 2>&1)
if [ "$wrong" = 0 ]; then ok "the spilled aggregate answers right (every group within 5% of 4,000)"; else fail "the spilled aggregate answers right" "$wrong"; fi

echo "memory: $passed passed, $failed failed"
[ "$failed" = 0 ]
