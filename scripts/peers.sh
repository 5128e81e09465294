#!/usr/bin/env bash
# Builds and installs the benchmark's peers from ../shared/vendor into the PostgreSQL of
# $PG_CONFIG, each only when it is not installed yet: Citus TopN (`topn`, about 1 s) and
# Apache DataSketches (`datasketches`, with its C++ core; about 30 s, needs Boost). The
# sources stay in ../shared/vendor (unpacked under /tmp/topk_pg_peers); nothing of them
# enters this repository. Without ../shared/vendor it says so and exits 3, so that the
# benchmark reports those columns as n/a.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
VENDOR=$(realpath -m ../shared/vendor)
WORK=/tmp/topk_pg_peers
extdir=$("$PG_CONFIG" --sharedir)/extension
if [ ! -d "$VENDOR" ]; then
    echo "peers.sh: $VENDOR is absent: TopN and DataSketches are not built (their figures are n/a)" >&2
    exit 3
fi
source scripts/apt.sh
unpack() {  # unpack TARBALL: prints the directory it made
    local dir
    dir=$WORK/$(tar tzf "$1" | head -1 | cut -d/ -f1)
    [ -d "$dir" ] || tar xzf "$1" -C "$WORK"
    echo "$dir"
}
mkdir -p "$WORK"
apt_install make gcc g++ postgresql-server-dev-15
if [ ! -f "$extdir/topn.control" ]; then
    echo "== building Citus TopN from $VENDOR"
    src=$(unpack "$VENDOR"/postgresql-topn-*.tar.gz)
    make -C "$src" PG_CONFIG="$PG_CONFIG" -s >/dev/null
    as_root make -C "$src" PG_CONFIG="$PG_CONFIG" -s install >/dev/null
fi
if [ ! -f "$extdir/datasketches.control" ]; then
    echo "== building Apache DataSketches from $VENDOR (about 30 s)"
    apt_install libboost-dev
    core=$(unpack "$VENDOR"/datasketches-cpp-*.tar.gz)
    src=$(unpack "$VENDOR"/datasketches-postgresql-*.tar.gz)
    make -C "$src" PG_CONFIG="$PG_CONFIG" CORE="$core" -s -j2 >/dev/null
    as_root make -C "$src" PG_CONFIG="$PG_CONFIG" CORE="$core" -s install >/dev/null
fi
test -f "$extdir/topn.control" && test -f "$extdir/datasketches.control"
echo "peers: TopN and DataSketches installed"
