#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for the demo and the SQL scenario tests: its own
# data directory and port, never the system service. PostgreSQL refuses to run as
# root, so as root the server runs as the `postgres` OS user.
#
#   scripts/cluster.sh start     initdb if needed, then start (idempotent)
#   scripts/cluster.sh stop      stop it
#   scripts/cluster.sh destroy   stop it and remove its data directory
#   scripts/cluster.sh psql ...  psql connected to it (database $TOPK_DB)
#   scripts/cluster.sh env       print the connection settings
set -euo pipefail

BINDIR=$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)
export TOPK_PORT=${TOPK_PORT:-28815}
BASE=${TOPK_CLUSTER_DIR:-/tmp/topk_pg_cluster_$TOPK_PORT}
export PGDATA=$BASE/data
export TOPK_SOCKET=$BASE/socket
export TOPK_DB=${TOPK_DB:-topk_demo}

if [ "$(id -u)" = 0 ]; then
    RUN=(runuser -u postgres --)
    OWNER=postgres
    SUPERUSER=postgres
else
    RUN=()
    OWNER=$(id -un)
    SUPERUSER=$OWNER
fi
export TOPK_SUPERUSER=$SUPERUSER

start() {
    mkdir -p "$BASE" "$TOPK_SOCKET"
    chown "$OWNER" "$BASE" "$TOPK_SOCKET"
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        "${RUN[@]}" "$BINDIR/initdb" -D "$PGDATA" -U "$SUPERUSER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        cat >> "$PGDATA/postgresql.conf" <<CONF
port = $TOPK_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TOPK_SOCKET'
timezone = 'UTC'
shared_buffers = 256MB
max_parallel_workers_per_gather = 2
jit = off
CONF
    fi
    if ! "${RUN[@]}" "$BINDIR/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
        # No Rust backtraces in error details, whatever the caller's environment.
        "${RUN[@]}" env RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0 "$BINDIR/pg_ctl" -D "$PGDATA" -l "$BASE/server.log" -w start >/dev/null
    fi
    "$BINDIR/psql" -h "$TOPK_SOCKET" -p "$TOPK_PORT" -U "$SUPERUSER" -d postgres -Xq \
        -c "SELECT 1 FROM pg_database WHERE datname = '$TOPK_DB'" -At | grep -q 1 ||
        "$BINDIR/createdb" -h "$TOPK_SOCKET" -p "$TOPK_PORT" -U "$SUPERUSER" "$TOPK_DB"
}

stop() {
    if [ -f "$PGDATA/PG_VERSION" ]; then
        "${RUN[@]}" "$BINDIR/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    destroy) stop; rm -rf "$BASE" ;;
    psql) shift; exec "$BINDIR/psql" -h "$TOPK_SOCKET" -p "$TOPK_PORT" -U "$SUPERUSER" -d "$TOPK_DB" -X "$@" ;;
    env) echo "PGHOST=$TOPK_SOCKET PGPORT=$TOPK_PORT PGUSER=$SUPERUSER PGDATABASE=$TOPK_DB" ;;
    *) echo "usage: $0 start|stop|destroy|psql|env" >&2; exit 2 ;;
esac
