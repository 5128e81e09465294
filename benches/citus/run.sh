#!/usr/bin/env bash
# The Citus benchmark: what the build aggregates ship to the coordinator. On the 3-node
# cluster of tests/citus/cluster.sh (a coordinator and two workers on this machine) it
# loads a distributed table of N events (default 10M, deterministic: setseed), and the
# same rows into a local table on the coordinator (one node), then for the one-pass
# aggregates topk_agg(item), heavy_hitters_agg(item), cms_agg(item) and hll_agg(user_id):
#   - the bytes the coordinator receives: Citus' EXPLAIN ANALYZE 'Tuple data received from
#     nodes' (rounded by pg_size_pretty), and exactly: the partial states as text, one per
#     shard, measured by running worker_partial_agg on every shard (run_command_on_shards)
#     and summing their lengths;
#   - against what the query without pushdown would move: the item column's rows (EXPLAIN
#     ANALYZE of SELECT item FROM events, and the rows' text length);
#   - the query time on the cluster and over the local table (median of --reps runs after
#     a warm-up). One machine: the three nodes share its cores, so the times are about
#     plans, not speed; the figure is the bytes.
#   - the answers: hll and cms equal to one node byte for byte, top-K the same top 100.
# It asserts nothing on speed; it fails only if a query fails or an answer differs from one
# node where it must not (hll, cms).
#
#   benches/citus/run.sh [--rows N] [--shards N] [--reps N] [--smoke]
#     --smoke: 100,000 rows, 1 repetition (tests/citus/run.sh runs it: the command cannot rot)
# Ports: TOPK_CITUS_PORT (default 28864) and the two above it. Run scripts/install.sh
# (--release for figures) first. Loading 10M rows takes about a minute per copy.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
ROWS=10000000
SHARDS=32
REPS=3
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS=$2; shift 2 ;;
        --shards) SHARDS=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --smoke) ROWS=100000; REPS=1; shift ;;
        *) echo "usage: benches/citus/run.sh [--rows N] [--shards N] [--reps N] [--smoke]" >&2; exit 2 ;;
    esac
done
export TOPK_CITUS_PORT=${TOPK_CITUS_PORT:-28864}
export TOPK_CITUS_DB=citus_bench
# Room for 10M rows; each node as it comes otherwise (parallel query on: one node may use
# both cores for a scan, as the cluster's shard queries do).
export TOPK_CITUS_CONF="shared_buffers = 512MB
work_mem = 64MB
max_wal_size = 4GB
checkpoint_timeout = 30min"
source tests/citus/cluster.sh
citus_cluster_start

started=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "== Citus benchmark: $ROWS rows, $SHARDS shards over 2 workers, $REPS repetitions; $started;" \
     "$(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
citus_psql -qAt -v ON_ERROR_STOP=1 -v rows="$ROWS" -v shards="$SHARDS" -v reps="$REPS" \
    -f benches/citus/bench.sql
echo "== done: $(date -u '+%Y-%m-%d %H:%M UTC') (started $started), load $(cut -d' ' -f1-3 /proc/loadavg)"
