#!/usr/bin/env bash
# pg_cron for real: Debian's postgresql-15-cron loaded into a private cluster (port 28843,
# data under /tmp; shared_preload_libraries = 'pg_cron', cron.database_name), then
#   1. without pg_cron (another database): topk.schedule is an ERROR with the install hint;
#   2. topk.schedule creates the two jobs; we wait (bounded) until they fire, and check
#      that the windows advanced and topk.job_log recorded the runs;
#   3. new events: the next speed run picks them up (the jobs keep firing);
#   4. topk.unschedule removes the jobs; drop_pipeline removes them too.
# Debian 12's pg_cron is 1.4: its shortest schedule is one minute ('* * * * *'), so the
# run takes about two minutes (each wait is at most TOPK_CRON_WAIT seconds, default 150).
# Run scripts/install.sh first. Closes with 'cron: N passed, N failed'.
set -euo pipefail
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
WAIT=${TOPK_CRON_WAIT:-150}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! dpkg-query -W -f='${Status}' postgresql-15-cron 2>/dev/null | grep -q "install ok installed"; then
    echo "== installing Debian packages: postgresql-15-cron"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-cron >/dev/null
fi
if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control" ]; then
    echo "tests/cron/run.sh: topk_pg is not installed (run scripts/install.sh)" >&2
    exit 1
fi

export TOPK_PORT=${TOPK_CRON_PORT:-28843}
export TOPK_CLUSTER_DIR=/tmp/topk_pg_cron_$TOPK_PORT
export TOPK_DB=topk_cron
scripts/cluster.sh destroy
scripts/cluster.sh start
trap 'scripts/cluster.sh destroy' EXIT
cat >> "$TOPK_CLUSTER_DIR/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pg_cron'
cron.database_name = '$TOPK_DB'
# Jobs run in background workers: no libpq connection, so no pg_hba.conf entry needed.
cron.use_background_workers = on
max_worker_processes = 16
CONF
scripts/cluster.sh stop
scripts/cluster.sh start

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok     $1"; }
fail() { failed=$((failed + 1)); echo "FAILED $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       /'; return 0; }
q() { scripts/cluster.sh psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
# Polls a query until it returns t, at most $WAIT seconds; prints how long it took.
wait_for() {
    local sql=$1 start=$SECONDS
    while [ $((SECONDS - start)) -lt "$WAIT" ]; do
        if [ "$(q -c "$sql")" = t ]; then echo "$((SECONDS - start))"; return 0; fi
        sleep 2
    done
    return 1
}

echo "== pg_cron $(q -d postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'pg_cron'") on port $TOPK_PORT"

# 1. Without pg_cron in the database: the ERROR names what to install.
q -d postgres -c "CREATE DATABASE no_cron"
q -d no_cron >/dev/null <<'SQL'
CREATE EXTENSION topk_pg;
CREATE TABLE events (at timestamptz NOT NULL, item bigint NOT NULL);
SELECT topk.create_pipeline('p', 'events', 'item', 'at');
SQL
for call in "topk.schedule('p')" "topk.unschedule('p')"; do
    out=$(scripts/cluster.sh psql -d no_cron -qAtX -v VERBOSITY=verbose -c "SELECT $call" 2>&1 || true)
    if echo "$out" | grep -q "ERROR:  0A000: topk: scheduling needs the pg_cron extension" &&
       echo "$out" | grep -q "HINT:.*postgresql-15-cron.*shared_preload_libraries.*CREATE EXTENSION pg_cron"; then
        ok "without pg_cron, $call is an ERROR (feature_not_supported) with the install hint"
    else
        fail "without pg_cron, $call" "$out"
    fi
done

# 2. Schedule a pipeline over events of the last day; the jobs must fire and finish windows.
q >/dev/null <<'SQL'
CREATE EXTENSION pg_cron;
CREATE EXTENSION topk_pg;
CREATE TABLE sales_events (event_time timestamptz NOT NULL, product_id bigint NOT NULL);
SELECT topk.create_pipeline('sales', 'sales_events', 'product_id', 'event_time');
-- 26 hours of events, up to 30 minutes ago: the hours before the last one are due.
INSERT INTO sales_events
SELECT now() - interval '30 minutes' - (g % 1560) * interval '1 minute', 1 + (g * g) % 37
FROM generate_series(1, 20000) g;
SQL
jobs=$(q -c "SELECT string_agg(job || '=' || schedule, ', ' ORDER BY job) FROM topk.schedule('sales', '1 minute', '1 minute')")
cron_jobs=$(q -c "SELECT string_agg(jobname || ': ' || schedule || ' ' || command || ' in ' || database, '; ' ORDER BY jobname) FROM cron.job")
if [ "$jobs" = "topk sales batch=* * * * *, topk sales speed=* * * * *" ] &&
   [ "$cron_jobs" = "topk sales batch: * * * * * CALL topk.run_batch('sales') in topk_cron; topk sales speed: * * * * * CALL topk.run_speed('sales') in topk_cron" ]; then
    ok "topk.schedule('sales', '1 minute', '1 minute') creates the two pg_cron jobs"
else
    fail "topk.schedule created: $jobs" "cron.job: $cron_jobs"
fi
again=$(q -c "SELECT count(*) FROM topk.schedule('sales', '1 minute', '1 minute')"; q -c "SELECT count(*) FROM cron.job")
if [ "$(echo $again)" = "2 2" ]; then
    ok "scheduling again replaces the jobs (still 2)"
else
    fail "scheduling again" "$again"
fi

# Sub-minute schedules need pg_cron 1.5 or later.
sub=$(scripts/cluster.sh psql -qAtX -c "SELECT count(*) FROM topk.schedule('sales', '10 seconds', '1 minute')" 2>&1 || true)
if [ "$sub" = 2 ]; then
    ok "a 10-second schedule is accepted (pg_cron >= 1.5)"
    q -c "SELECT count(*) FROM topk.schedule('sales', '1 minute', '1 minute')" >/dev/null
elif echo "$sub" | grep -q "ERROR" && [ "$(q -c "SELECT count(*) FROM cron.job WHERE schedule = '* * * * *'")" = 2 ]; then
    ok "a 10-second schedule is an ERROR on this pg_cron and leaves the jobs as they were ($(echo "$sub" | head -1))"
else
    fail "a 10-second schedule" "$sub"
fi

echo "== waiting for the jobs to fire (at the next minute; at most ${WAIT}s)"
if took=$(wait_for "SELECT EXISTS (SELECT FROM topk.job_log WHERE pipeline = 'sales' AND task = 'speed' AND status = 'ok')
                      AND EXISTS (SELECT FROM topk.job_log WHERE pipeline = 'sales' AND task = 'hour' AND status = 'ok')"); then
    ok "both jobs fired within ${took}s and topk.job_log recorded speed and hour tasks"
else
    fail "the jobs did not fire within ${WAIT}s" "$(q -c "SELECT jobid, status, return_message FROM cron.job_run_details ORDER BY runid" 2>&1; q -c "TABLE topk.job_log" 2>&1)"
fi
# pg_cron may still be running the batch job: wait for both to finish.
wait_for "SELECT count(*) >= 2 AND bool_and(status IN ('succeeded', 'failed')) FROM cron.job_run_details" >/dev/null || true
check=$(q <<'SQL'
SELECT (SELECT count(*) FILTER (WHERE status = 'succeeded') >= 2 AND count(*) FILTER (WHERE status = 'failed') = 0
        FROM cron.job_run_details),
       (SELECT done_until >= date_trunc('hour', now() - interval '30 minutes')
               AND last_done >= date_trunc('hour', now() - interval '90 minutes')
        FROM topk.progress WHERE pipeline = 'sales' AND granularity = 'hour'),
       (SELECT count(*) > 0 FROM sales.top_1000 WHERE granularity = 'hour' AND source = 'batch'),
       (SELECT count(*) = 0 FROM sales.changes),
       (SELECT count(*) = 0 FROM topk.job_log WHERE status = 'failed'),
       (SELECT last_hour IS NOT NULL AND failures_last_day = 0 FROM topk.pipeline_status WHERE pipeline = 'sales');
SQL
)
if [ "$check" = "t|t|t|t|t|t" ]; then
    ok "the runs succeeded, the hour windows are final up to the last due hour, top_1000 shows them, pipeline_status agrees"
else
    fail "after the first runs: (succeeded, hours advanced, batch rows, marks taken, no failures, status) = $check" \
         "$(q -c "SELECT status, return_message FROM cron.job_run_details" -c "SELECT * FROM topk.progress" -c "SELECT task, status, error FROM topk.job_log" 2>&1)"
fi

# 3. New events of the current hour: the next speed run (a minute later) shows them.
last=$(q -c "SELECT max(id) FROM topk.job_log WHERE task = 'speed'")
ts=$(q -c "SELECT now()")
q -c "INSERT INTO sales_events SELECT '$ts', 1000 FROM generate_series(1, 5000)"
echo "== waiting for the next speed run (at most ${WAIT}s)"
if took=$(wait_for "SELECT EXISTS (SELECT FROM topk.job_log WHERE task = 'speed' AND id > $last)
                          AND EXISTS (SELECT FROM sales.top_1000 WHERE granularity = 'hour' AND item = 1000
                                      AND window_start = date_trunc('hour', '$ts'::timestamptz))"); then
    top=$(q -c "SELECT item || ' ' || count || ' ' || source FROM sales.top_1000
                WHERE granularity = 'hour' AND window_start = date_trunc('hour', '$ts'::timestamptz) AND rank = 1")
    if [ "$top" = "1000 5000 speed" ]; then
        ok "the next speed run (after ${took}s) put the new events in the current hour's top_1000"
    else
        fail "the current hour's top item is '$top', not '1000 5000 speed'"
    fi
else
    fail "no speed run picked up the new events within ${WAIT}s" "$(q -c "SELECT * FROM cron.job_run_details ORDER BY runid" 2>&1)"
fi

# 4. Unscheduling.
n=$(q -c "SELECT topk.unschedule('sales')")
left=$(q -c "SELECT count(*) FROM cron.job")
if [ "$n" = 2 ] && [ "$left" = 0 ]; then
    ok "topk.unschedule('sales') removed the 2 jobs"
else
    fail "topk.unschedule returned $n and left $left jobs"
fi
n=$(q -c "SELECT topk.unschedule('sales')")
[ "$n" = 0 ] && ok "topk.unschedule again removes nothing" || fail "topk.unschedule again returned $n"
q -c "SELECT count(*) FROM topk.schedule('sales')" >/dev/null
q -c "SET client_min_messages = warning" -c "SELECT topk.drop_pipeline('sales')" >/dev/null
left=$(q -c "SELECT count(*) FROM cron.job")
[ "$left" = 0 ] && ok "topk.drop_pipeline removes the pipeline's jobs" || fail "drop_pipeline left $left jobs"

echo "cron: $passed passed, $failed failed"
[ "$failed" = 0 ]
