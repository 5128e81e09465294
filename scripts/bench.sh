#!/usr/bin/env bash
# The SQL benchmark: topk_pg against the floor (count(*)), exact SQL and a peer (Citus
# postgresql-hll), on the reference sales events, in one run, on one private cluster.
#
#   scripts/bench.sh                     full run: 10M rows, both skews, 3 repetitions
#   scripts/bench.sh --smoke             100k rows, s=1.1, 1 repetition: a few seconds (CI)
#   scripts/bench.sh [--rows N] [--skew 1.1|0.8|both] [--reps N] [--out FILE.json]
#                    [--inserts N] [--pipeline-days N] [--no-build] [--keep-cluster]
#
# Installs what it needs if missing (Debian's postgresql-15, postgresql-15-hll, numpy and
# psycopg for Python), builds and installs topk_pg in release mode (scripts/install.sh
# --release; --no-build uses the installed one), starts its OWN cluster (port 28820, data
# under /tmp/topk_pg_bench) with the reference server settings of
# ../shared/data/README.md, generates the events with ../shared/data/gen_events.py
# (cached under /tmp/topk_pg_bench_data), and runs benches/sql/run.py, which prints the
# tables and writes JSON (default /tmp/topk_pg_bench.json) and Markdown (same name, .md).
# The cluster is stopped at the end unless --keep-cluster. Exits non-zero on real errors
# (SQL error, crash, missing generator), never on slowness. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
GEN=$REPO/../shared/data/gen_events.py
build=1
keep=0
smoke=0
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        --keep-cluster) keep=1 ;;
        --smoke) smoke=1; args+=("$1") ;;
        -v|--verbose) args+=("$1") ;;
        --rows|--skew|--reps|--out|--items|--pgbench-seconds|--inserts|--pipeline-days)
            [ $# -ge 2 ] || { echo "bench.sh: $1 needs a value" >&2; exit 2; }
            args+=("$1" "$2"); shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ ! -f "$GEN" ]; then
    echo "bench.sh: the event generator is missing: expected $(realpath -m "$GEN")" >&2
    echo "  (../shared/data/gen_events.py beside the repository; it is never copied into it)" >&2
    exit 1
fi

source scripts/apt.sh

# PostgreSQL 15 and the peers: Citus' HyperLogLog from Debian, Citus TopN and Apache
# DataSketches built from ../shared/vendor (their figures are n/a without it).
apt_install postgresql-15 postgresql-15-hll
PG_CONFIG="$PG_CONFIG" scripts/peers.sh || { rc=$?; [ $rc = 3 ] || exit $rc; }

# Python with numpy (the generator) and psycopg 3 (the driver). Prefer a python3 that
# already has both; else Debian's python3 with python3-numpy/python3-psycopg; else pip.
have_mods() { "$1" -c 'import numpy, psycopg' >/dev/null 2>&1; }
PY=""
for cand in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && have_mods "$cand"; then PY=$cand; break; fi
done
if [ -z "$PY" ] && [ -x /usr/bin/python3 ]; then
    apt_install python3-numpy python3-psycopg
    have_mods /usr/bin/python3 && PY=/usr/bin/python3
fi
if [ -z "$PY" ]; then
    PY=${PYTHON:-python3}
    echo "== installing numpy and psycopg with pip for $PY"
    "$PY" -m pip install -q numpy 'psycopg[binary]'
    have_mods "$PY" || { echo "bench.sh: could not make numpy and psycopg importable" >&2; exit 1; }
fi

if [ $build = 1 ]; then
    scripts/setup.sh
    echo "== building and installing topk_pg (release; waits if the build directory is locked)"
    scripts/install.sh --release
fi
if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control" ]; then
    echo "bench.sh: topk_pg is not installed (run without --no-build, or scripts/install.sh --release)" >&2
    exit 1
fi

# Our own cluster: never the demo's (28815) nor the tests' (28816/28817); TOPK_BENCH_PORT
# moves it (a second checkout benchmarking on the same machine).
export TOPK_PORT=${TOPK_BENCH_PORT:-28820}
if [ "$TOPK_PORT" = 28820 ]; then export TOPK_CLUSTER_DIR=/tmp/topk_pg_bench; else export TOPK_CLUSTER_DIR=/tmp/topk_pg_bench_$TOPK_PORT; fi
export TOPK_DB=topk_bench
if [ $keep = 0 ]; then
    trap 'scripts/cluster.sh stop' EXIT
fi
echo "== starting the benchmark cluster (port $TOPK_PORT, $TOPK_CLUSTER_DIR)"
scripts/cluster.sh start

# The reference server settings (../shared/data/README.md); --smoke keeps memory small.
if [ $smoke = 1 ]; then shared_buffers=128MB; else shared_buffers=2GB; fi
scripts/cluster.sh psql -d postgres -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
ALTER SYSTEM SET shared_buffers = '$shared_buffers';
ALTER SYSTEM SET work_mem = '256MB';
ALTER SYSTEM SET max_parallel_workers_per_gather = 2;
ALTER SYSTEM SET maintenance_work_mem = '1GB';
ALTER SYSTEM SET effective_cache_size = '12GB';
ALTER SYSTEM SET max_wal_size = '8GB';
ALTER SYSTEM SET checkpoint_timeout = '30min';
ALTER SYSTEM SET jit = off;
ALTER SYSTEM SET timezone = 'UTC';
SELECT pg_reload_conf();
SQL
if [ "$(scripts/cluster.sh psql -d postgres -qAt -c "SELECT count(*) FROM pg_settings WHERE pending_restart")" != 0 ]; then
    echo "== restarting the cluster for the new settings"
    scripts/cluster.sh stop
    scripts/cluster.sh start
fi

eval "$(scripts/cluster.sh env | sed 's/^/export /')"
export TOPK_BENCH_GEN=$GEN
"$PY" benches/sql/run.py "${args[@]}"
