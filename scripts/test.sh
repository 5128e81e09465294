#!/usr/bin/env bash
# The whole test suite: core unit and property tests, the #[pg_test]s inside
# PostgreSQL, and the SQL scenario tests. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== core tests (cargo test -p topk_core)"
cargo test -p topk_core

echo "== #[pg_test]s (cargo pgrx test)"
if [ "$(id -u)" = 0 ]; then
    # PostgreSQL will not run as root: pgrx runs the test cluster as `postgres`.
    pgdata=$(mktemp -d /tmp/topk_pg_pgtest.XXXXXX)
    rmdir "$pgdata"
    cargo pgrx test pg15 --runas postgres --pgdata "$pgdata"
    rm -rf "$pgdata"
else
    cargo pgrx test pg15
fi

echo "== SQL scenario tests (pg_regress)"
scripts/install.sh
scripts/regress.sh
echo "== all tests passed"
