#!/usr/bin/env bash
# Builds topk_pg and installs it into PostgreSQL 15 (the pg_config below), so that
# CREATE EXTENSION topk_pg works in any cluster of that installation.
#   scripts/install.sh            debug build (fast to compile; what the tests use)
#   scripts/install.sh --release  optimised build (what to run for real)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
args=(--pg-config "$PG_CONFIG")
[ "$(id -u)" = 0 ] || args+=(--sudo)
cargo pgrx install "${args[@]}" "$@" 2>&1 | grep -v "^\s*\(Copying\|Writing\|Discovered\|Installing\)" || true
test -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control"
