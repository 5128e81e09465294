#!/usr/bin/env bash
# The whole test suite: core unit and property tests, the #[pg_test]s inside
# PostgreSQL, and the SQL scenario tests. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
log=$(mktemp /tmp/topk_pg_test_log.XXXXXX)
trap 'rm -f "$log"' EXIT

echo "== update script generated from the sources (scripts/update-script.sh --check)"
scripts/update-script.sh --check

echo "== core tests (cargo test -p topk_core)"
cargo test -p topk_core --lib --tests 2>&1 | tee -a "$log"

echo "== fuzz smoke (scripts/fuzz.sh: 20 s per target; the long runs are in docs/fuzzing.md)"
scripts/fuzz.sh 2>&1 | tee -a "$log"

echo "== #[pg_test]s (cargo pgrx test)"
if [ "$(id -u)" = 0 ]; then
    # PostgreSQL will not run as root: pgrx runs the test cluster as `postgres`.
    pgdata=$(mktemp -d /tmp/topk_pg_pgtest.XXXXXX)
    rmdir "$pgdata"
    cargo pgrx test pg15 --runas postgres --pgdata "$pgdata" 2>&1 | tee -a "$log"
    rm -rf "$pgdata"
else
    cargo pgrx test pg15 2>&1 | tee -a "$log"
fi

echo "== SQL scenario tests (pg_regress)"
scripts/install.sh
scripts/regress.sh 2>&1 | tee -a "$log"

echo "== documentation examples (scripts/doctest.sh)"
scripts/doctest.sh 2>&1 | tee -a "$log"
echo "== clients: JDBC and Python (tests/clients/run.sh)"
tests/clients/run.sh 2>&1 | tee -a "$log"
echo "== pg_cron scheduling (tests/cron/run.sh)"
tests/cron/run.sh 2>&1 | tee -a "$log"
echo "== crash safety (tests/crash/run.sh)"
tests/crash/run.sh 2>&1 | tee -a "$log"
echo "== Citus: a 3-node cluster (tests/citus/run.sh; builds Citus from ../shared/vendor if not installed)"
tests/citus/run.sh 2>&1 | tee -a "$log"
echo "== Citus benchmark smoke run (benches/citus/run.sh --smoke: the command must not rot; speed is not checked)"
benches/citus/run.sh --smoke 2>&1 | tail -30
echo "== memory limits (tests/memory/run.sh)"
tests/memory/run.sh 2>&1 | tee -a "$log"
echo "== logical replication (tests/replication/run.sh)"
tests/replication/run.sh 2>&1 | tee -a "$log"
echo "== backup and restore (tests/dump/run.sh)"
tests/dump/run.sh 2>&1 | tee -a "$log"
echo "== packaging (tests/package/run.sh --debug)"
tests/package/run.sh --debug 2>&1 | tee -a "$log"
echo "== benchmark smoke run (scripts/bench.sh --smoke: the command must not rot; speed is not checked)"
scripts/bench.sh --smoke --no-build 2>&1 | tail -40

# One closing line for the whole suite (set -o pipefail has stopped us on any failure).
rust=$(grep -o 'test result: ok\. [0-9]* passed' "$log" | awk '{s += $4} END {print s + 0}')
sql=$(grep -o 'All [0-9]* tests passed' "$log" | awk '{s += $2} END {print s + 0}')
eco=$(grep -oE '^(doctest|clients|cron|crash|citus|memory|replication|dump|package): [0-9]+ passed' "$log" | awk '{s += $2} END {print s + 0}')
echo "== all tests passed: $rust Rust tests (core and #[pg_test]), $sql SQL scenarios, $eco doc/client/cron/crash/citus/memory/replication/dump/package checks"
echo "total: $((rust + sql + eco)) passed, 0 failed"
