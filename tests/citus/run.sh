#!/usr/bin/env bash
# topk_pg on a real Citus cluster: a coordinator and two workers on this machine
# (loopback), Citus 13.2.2, and the scenarios tests/citus/sql/NAME.sql, each run with
# pg_regress against the coordinator; its output must equal tests/citus/expected/NAME.out.
#
# Citus: the one installed in the PostgreSQL of $PG_CONFIG (citus.so), or else built and
# installed there from ../shared/vendor/citus-13.2.2.tar.gz (about 90 s on 2 cores; the
# Debian build dependencies are installed if missing; the vendor's patch is applied only
# when the plain build fails with the error it fixes). Without either, it fails, saying
# what is missing (there is no skip that passes). TOPK_VENDOR_DIR overrides ../shared/vendor.
#
# Ports: TOPK_CITUS_PORT (the coordinator, default 28861) and the two above it for the
# workers; data under /tmp/topk_pg_citus_$TOPK_CITUS_PORT, removed at the end (unless
# TOPK_CITUS_KEEP=1).
# Run scripts/install.sh first.  tests/citus/run.sh [NAME ...]  (default: all)
# Closes with 'citus: N passed'.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
VENDOR=${TOPK_VENDOR_DIR:-$REPO/../shared/vendor}
CITUS_TARBALL=$VENDOR/citus-13.2.2.tar.gz
CITUS_PATCH=$VENDOR/citus-13.2.2-pg15.20.patch
PORT=${TOPK_CITUS_PORT:-28861}
PORTS=("$PORT" $((PORT + 1)) $((PORT + 2)))
BASE=/tmp/topk_pg_citus_$PORT
DB=citus_test

if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control" ]; then
    echo "tests/citus/run.sh: topk_pg is not installed (run scripts/install.sh)" >&2
    exit 1
fi
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
if [ "$(id -u)" = 0 ]; then RUN=(runuser -u postgres --); OWNER=postgres; else RUN=(); OWNER=$(id -un); fi

# --- Citus ------------------------------------------------------------------------------
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
build_citus() {
    local src log
    apt_install build-essential libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev libssl-dev \
        libselinux1-dev libpam0g-dev libxslt1-dev libreadline-dev flex bison
    src=$(mktemp -d /tmp/topk_pg_citus_build.XXXXXX)
    log=$src/build.log
    tar -xzf "$CITUS_TARBALL" -C "$src"
    cd "$src"/citus-*
    echo "== building Citus 13.2.2 into $PKGLIBDIR (log: $log)"
    ./configure PG_CONFIG="$PG_CONFIG" >"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
    if ! make -j2 >>"$log" 2>&1; then
        if grep -q "static declaration of .have_createdb_privilege. follows non-static declaration" "$log"; then
            echo "== the known compile error against PostgreSQL $("$PG_CONFIG" --version | awk '{print $2}'): applying $(basename "$CITUS_PATCH")"
            patch -p1 <"$CITUS_PATCH" >>"$log"
            make -j2 >>"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
        else
            tail -30 "$log" >&2
            exit 1
        fi
    fi
    as_root make install >>"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
    cd "$REPO"
    rm -rf "$src"
}
if [ -f "$PKGLIBDIR/citus.so" ]; then
    echo "== Citus: installed ($PKGLIBDIR/citus.so)"
elif [ -f "$CITUS_TARBALL" ]; then
    build_citus
else
    echo "tests/citus/run.sh: no Citus: $PKGLIBDIR/citus.so is not installed and $(realpath -m "$CITUS_TARBALL")" \
         "is missing (../shared/vendor beside the repository, see its README)" >&2
    exit 1
fi

# --- The cluster -------------------------------------------------------------------------
stop_all() {
    local n
    for n in 0 1 2; do
        if [ -f "$BASE/node$n/PG_VERSION" ]; then
            "${RUN[@]}" "$BINDIR/pg_ctl" -D "$BASE/node$n" -m immediate stop >/dev/null 2>&1 || true
        fi
    done
}
stop_all
rm -rf "$BASE"
# (TOPK_CITUS_KEEP=1 leaves the cluster running, to look at it)
[ "${TOPK_CITUS_KEEP:-0}" = 1 ] || trap 'stop_all; rm -rf "$BASE"' EXIT
mkdir -p "$BASE/socket"
chown "$OWNER" "$BASE" "$BASE/socket"
for n in 0 1 2; do
    "${RUN[@]}" "$BINDIR/initdb" -D "$BASE/node$n" -U "$OWNER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$BASE/node$n/postgresql.conf" <<CONF
port = ${PORTS[$n]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$BASE/socket'
shared_preload_libraries = 'citus'
timezone = 'UTC'
shared_buffers = 32MB
max_connections = 60
jit = off
citus.shard_count = 4
CONF
    "${RUN[@]}" env RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0 "$BINDIR/pg_ctl" -D "$BASE/node$n" \
        -l "$BASE/node$n.log" -w start >/dev/null
    "$BINDIR/createdb" -h "$BASE/socket" -p "${PORTS[$n]}" -U "$OWNER" "$DB"
    "$BINDIR/psql" -h "$BASE/socket" -p "${PORTS[$n]}" -U "$OWNER" -d "$DB" -qXA -v ON_ERROR_STOP=1 \
        -c "SET client_min_messages = warning" -c "CREATE EXTENSION citus"
done
"$BINDIR/psql" -h "$BASE/socket" -p "$PORT" -U "$OWNER" -d "$DB" -qXAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
SELECT citus_set_coordinator_host('127.0.0.1', $PORT);
SELECT citus_add_node('127.0.0.1', ${PORTS[1]});
SELECT citus_add_node('127.0.0.1', ${PORTS[2]});
-- created on the coordinator, propagated to the workers
CREATE EXTENSION topk_pg;
-- What the scenarios compare sketches by: topk_hll and cms by their bytes (text form);
-- top-K sketches by their items, counts and errors, and their total.
CREATE SCHEMA scenario;
CREATE FUNCTION scenario.fingerprint(s anyelement) RETURNS text LANGUAGE sql AS \$\$
    SELECT CASE WHEN pg_typeof(s) IN ('topk_hll'::regtype, 'cms'::regtype) THEN s::text
                WHEN s IS NULL THEN NULL
                WHEN s::text LIKE 'spacesaving:%'
                THEN (SELECT string_agg(format('%s:%s:%s', item, count, error), ',' ORDER BY item)
                      FROM topk_items(s::text::spacesaving)) || ' total ' || topk_total(s::text::spacesaving)
                ELSE (SELECT string_agg(format('%s:%s:%s', item, count, error), ',' ORDER BY item)
                      FROM heavy_hitters_items(s::text::heavy_hitters)) || ' total ' || heavy_hitters_total(s::text::heavy_hitters)
           END \$\$;
-- A query's plan, with ports, shard and object ids shown as N.
CREATE FUNCTION scenario.plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS \$\$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
        RETURN NEXT regexp_replace(line, '[0-9]{4,}', 'N', 'g');
    END LOOP;
END \$\$;
SQL
echo "== Citus $("$BINDIR/psql" -h "$BASE/socket" -p "$PORT" -U "$OWNER" -d "$DB" -XAt -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"):" \
     "coordinator 127.0.0.1:$PORT, workers ${PORTS[1]} and ${PORTS[2]}," \
     "topk_pg $("$BINDIR/psql" -h "$BASE/socket" -p "${PORTS[1]}" -U "$OWNER" -d "$DB" -XAt -c "SELECT extversion FROM pg_extension WHERE extname = 'topk_pg'") on the workers"

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
