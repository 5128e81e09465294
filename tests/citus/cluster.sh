# A Citus cluster on this machine, for the Citus scenarios (tests/citus/run.sh) and the
# Citus benchmark (benches/citus/run.sh): a coordinator and two workers on loopback,
# Citus 13.2.2, topk_pg created on the coordinator (and so on the workers).
# Sourced, not run. Before sourcing set REPO (the repository), and optionally PG_CONFIG,
# TOPK_CITUS_PORT (the coordinator, default 28861; the workers are the two ports above
# it), TOPK_CITUS_DB (default citus_test), TOPK_CITUS_CONF (extra postgresql.conf lines),
# TOPK_VENDOR_DIR (default ../shared/vendor). Then:
#   citus_cluster_start   check topk_pg is installed, install Citus if missing, start the
#                         three nodes (data under /tmp/topk_pg_citus_$PORT), create the
#                         extensions and the scenario helpers; stopped and removed on exit
#                         unless TOPK_CITUS_KEEP=1
#   citus_psql [NODE] ARGS...   psql on node 0 (coordinator, the default), 1 or 2
#
# Citus: the one installed in the PostgreSQL of $PG_CONFIG (citus.so), or else built and
# installed there from ../shared/vendor/citus-13.2.2.tar.gz (about 90 s on 2 cores; the
# Debian build dependencies are installed if missing; the vendor's patch is applied only
# when the plain build fails with the error it fixes). Without either, it fails, saying
# what is missing (there is no skip that passes).
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
VENDOR=${TOPK_VENDOR_DIR:-$REPO/../shared/vendor}
CITUS_TARBALL=$VENDOR/citus-13.2.2.tar.gz
CITUS_PATCH=$VENDOR/citus-13.2.2-pg15.20.patch
PORT=${TOPK_CITUS_PORT:-28861}
PORTS=("$PORT" $((PORT + 1)) $((PORT + 2)))
BASE=/tmp/topk_pg_citus_$PORT
DB=${TOPK_CITUS_DB:-citus_test}

source "$REPO/scripts/apt.sh"
if [ "$(id -u)" = 0 ]; then RUN=(runuser -u postgres --); OWNER=postgres; else RUN=(); OWNER=$(id -un); fi

citus_psql() {
    local n=0
    case "${1:-}" in 0|1|2) n=$1; shift ;; esac
    "$BINDIR/psql" -h "$BASE/socket" -p "${PORTS[$n]}" -U "$OWNER" -d "$DB" -X "$@"
}

# --- Citus ------------------------------------------------------------------------------
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
citus_ensure() {
    if [ -f "$PKGLIBDIR/citus.so" ]; then
        echo "== Citus: installed ($PKGLIBDIR/citus.so)"
    elif [ -f "$CITUS_TARBALL" ]; then
        build_citus
    else
        echo "$0: no Citus: $PKGLIBDIR/citus.so is not installed and $(realpath -m "$CITUS_TARBALL")" \
             "is missing (../shared/vendor beside the repository, see its README)" >&2
        exit 1
    fi
}

# --- The cluster -------------------------------------------------------------------------
citus_stop_all() {
    local n
    for n in 0 1 2; do
        if [ -f "$BASE/node$n/PG_VERSION" ]; then
            "${RUN[@]}" "$BINDIR/pg_ctl" -D "$BASE/node$n" -m immediate stop >/dev/null 2>&1 || true
        fi
    done
}
citus_cluster_start() {
    local n
    if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control" ]; then
        echo "$0: topk_pg is not installed (run scripts/install.sh)" >&2
        exit 1
    fi
    citus_ensure
    citus_stop_all
    rm -rf "$BASE"
    # (TOPK_CITUS_KEEP=1 leaves the cluster running, to look at it)
    [ "${TOPK_CITUS_KEEP:-0}" = 1 ] || trap 'citus_stop_all; rm -rf "$BASE"' EXIT
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
${TOPK_CITUS_CONF:-}
CONF
        "${RUN[@]}" env RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0 "$BINDIR/pg_ctl" -D "$BASE/node$n" \
            -l "$BASE/node$n.log" -w start >/dev/null
        "$BINDIR/createdb" -h "$BASE/socket" -p "${PORTS[$n]}" -U "$OWNER" "$DB"
        citus_psql "$n" -qA -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "CREATE EXTENSION citus"
    done
    citus_psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
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
    echo "== Citus $(citus_psql -At -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"):" \
         "coordinator 127.0.0.1:$PORT, workers ${PORTS[1]} and ${PORTS[2]}," \
         "topk_pg $(citus_psql 1 -At -c "SELECT extversion FROM pg_extension WHERE extname = 'topk_pg'") on the workers"
}
