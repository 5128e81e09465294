#!/usr/bin/env bash
# Crash safety of the pipeline: the server is killed with SIGKILL in the middle of
# run_speed, and again in the middle of run_batch, while writers (COPY, single-row
# INSERTs, transactions of 20 rows of which every 4th rolls back) insert events. After crash
# recovery and a rerun, nothing may be lost or counted twice: the batch counts of every
# final window equal GROUP BY over the source table (whatever rows survived the crash),
# and the speed sketches hold every source event exactly once.
#
# A private cluster (port 28846, data under /tmp/topk_pg_crash), destroyed at the end.
# The crash kills the postmaster and all its processes at once (SIGSTOP the postmaster so
# that it forks nothing more, then SIGKILL it and its children): killing the postmaster
# alone would leave its backends running to the end of their statement (and commit), as
# PostgreSQL backends only notice the postmaster's death when they wait.
# A third round kills only the backend running run_batch (as the OOM killer would): the
# postmaster then ends every session and recovers by itself.
# Where the kill lands: when the call has run 0.3 s (run_speed) or committed 10 hours
# (run_batch, 5 in round 3), checked in pg_stat_activity. So that this holds however fast
# the procedures get, a session holds a share lock on a row the call must update later
# (the year's speed sketch; the speed sketch of a later hour): the call waits there,
# inside its transaction, at the latest. The log says where each kill landed.
# Run scripts/install.sh first. About 35 s. Closes with 'crash: N passed'.
set -euo pipefail
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control" ]; then
    echo "tests/crash/run.sh: topk_pg is not installed (run scripts/install.sh)" >&2
    exit 1
fi

export TOPK_PORT=28846
export TOPK_CLUSTER_DIR=/tmp/topk_pg_crash
export TOPK_DB=topk_crash
PGDATA=$TOPK_CLUSTER_DIR/data
BINDIR=$("$PG_CONFIG" --bindir)
work=$(mktemp -d /tmp/topk_pg_crash_work.XXXXXX)
chmod 755 "$work"
bg_pids=()
cleanup() {
    local p
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    # An immediate stop: a clean one would first write out every dirty buffer.
    if [ -f "$PGDATA/postmaster.pid" ]; then
        if [ "$(id -u)" = 0 ]; then
            runuser -u postgres -- "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
        else
            "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
        fi
    fi
    scripts/cluster.sh destroy
    rm -rf "$work"
}
scripts/cluster.sh destroy
trap cleanup EXIT
scripts/cluster.sh start

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "crash: $1 ok"; }
fail() { failed=$((failed + 1)); echo "crash: $1 FAILED"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       /'; return 0; }
# check NAME EXPECTED SQL: the query's output must be EXPECTED.
check() {
    local got
    got=$(q -c "$3" 2>&1) || true
    if [ "$got" = "$2" ]; then ok "$1"; else fail "$1" "expected: $2
got:      $got"; fi
}
q() { scripts/cluster.sh psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
t0=$SECONDS
elapsed() { echo "$((SECONDS - t0))s"; }

# The events: 2024-03-04 (a Monday) 00:00 to 2024-03-07 00:00, items 1..6000 (skewed;
# fewer than the sketch capacity, so the speed sketches are exact and can be compared
# item by item with the source).
T0="timestamptz '2024-03-04 00:00+00'"
EVENT_TIME="$T0 + random() * interval '72 hours'"
EVENT_ITEM="1 + floor(6000 * random() ^ 2)::int"
q >/dev/null <<SQL
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL, item integer NOT NULL,
                     writer text NOT NULL DEFAULT 'load');
SELECT topk.create_pipeline('crash', 'events', 'item', 'at');
UPDATE topk.pipelines SET clock = '2024-03-05 02:00+00' WHERE name = 'crash';
-- A first run: hours up to 2024-03-05 01:00 and the day 2024-03-04 final.
INSERT INTO events (at, item) SELECT $EVENT_TIME, $EVENT_ITEM FROM generate_series(1, 30000);
CALL topk.run('crash');
SQL

# Writers: COPY from files, single-row INSERTs (autocommit), and transactions of 20 rows
# of which every 4th rolls back. Each runs until the crash kills its connection.
for c in 0 1 2 3; do
    q -c "COPY (SELECT $EVENT_TIME, $EVENT_ITEM, 'copy' FROM generate_series(1, 200)) TO STDOUT (FORMAT csv)" > "$work/copy_$c.csv"
done
for i in $(seq 1 1000); do
    echo "\\copy events (at, item, writer) FROM '$work/copy_$((i % 4)).csv' WITH (FORMAT csv)"
    echo "SELECT pg_sleep(0.2);"
done > "$work/copy.sql"
q -c "SELECT format('INSERT INTO events (at, item, writer) VALUES (%L, %s, ''insert'');', $EVENT_TIME, $EVENT_ITEM)
             || CASE WHEN g % 10 = 0 THEN ' SELECT pg_sleep(0.02);' ELSE '' END
      FROM generate_series(1, 30000) g" > "$work/insert.sql"
cat > "$work/tx.sql" <<SQL
DO \$\$
BEGIN
    FOR i IN 1..100000 LOOP
        INSERT INTO events (at, item, writer) SELECT $EVENT_TIME, $EVENT_ITEM, 'tx' FROM generate_series(1, 20);
        IF i % 4 = 0 THEN ROLLBACK; ELSE COMMIT; END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END \$\$;
SQL
writer_pids=()
start_writers() {
    local w
    writer_pids=()
    for w in copy insert tx; do
        PGAPPNAME=crash_writer_$w scripts/cluster.sh psql -qX -v ON_ERROR_STOP=1 -f "$work/$w.sql" \
            >"$work/writer_$w.log" 2>&1 &
        writer_pids+=($!)
        bg_pids+=($!)
    done
    # Wait until the three are connected (bounded), then let them write for a second.
    local n=0
    until [ "$(q -c "SELECT count(DISTINCT application_name) FROM pg_stat_activity WHERE application_name LIKE 'crash_writer_%'")" = 3 ] ||
          [ $n -ge 50 ]; do sleep 0.1; n=$((n + 1)); done
    sleep 1
}
# A procedure call in the background, as a client would issue it.
call_bg() {
    PGAPPNAME=crash_call scripts/cluster.sh psql -qX -v ON_ERROR_STOP=1 -c "$1" >"$work/call.log" 2>&1 &
    call_pid=$!
    bg_pids+=($call_pid)
}
# A session that holds a share lock on some rows (an open transaction) until the crash:
# a task that must update them waits, inside its transaction. However fast the procedures
# get, the kill then still lands inside them (at the latest there).
hold_lock() {
    PGAPPNAME=crash_blocker scripts/cluster.sh psql -qX -v ON_ERROR_STOP=1 \
        -c "BEGIN" -c "SELECT count(*) FROM ($1 FOR SHARE) locked" -c "SELECT pg_sleep(300)" \
        >"$work/blocker.log" 2>&1 &
    bg_pids+=($!)
    wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'crash_blocker'
                             AND query LIKE 'SELECT pg_sleep%')"
}
# The procedure call has been running for 0.3 s, or waits for a lock.
CALL_BUSY="EXISTS (SELECT FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'CALL topk.run_%'
                   AND (now() - query_start > interval '0.3 seconds' OR wait_event_type = 'Lock'))"
# Polls a query until it returns t (at most 60 s).
wait_for() {
    local n=0
    until [ "$(q -c "$1")" = t ]; do
        n=$((n + 1))
        if [ $n -ge 600 ]; then return 1; fi
        sleep 0.1
    done
}
# What the procedure call is doing when the kill comes, and the tasks it has committed.
call_state() {
    q -c "SELECT round(extract(epoch FROM now() - query_start)::numeric, 1) || ' s into the call, '
                 || CASE WHEN wait_event_type = 'Lock' THEN 'waiting for a lock (' || wait_event || ')'
                         ELSE 'working' || coalesce(' (' || wait_event_type || ': ' || wait_event || ')', '') END
                 || '; tasks committed: '
                 || (SELECT coalesce(string_agg(task || ' ' || n, ', ' ORDER BY first), 'none')
                     FROM (SELECT task, count(*) AS n, min(id) AS first FROM topk.job_log
                           WHERE id > $log_mark AND status = 'ok' GROUP BY task) t)
          FROM pg_stat_activity WHERE query LIKE 'CALL topk.run_%' AND state = 'active'" 2>&1 || true
}
# The crash: every process of the server dies at once.
crash_server() {
    local pm kids p
    pm=$(head -1 "$PGDATA/postmaster.pid")
    kill -STOP "$pm"
    kids=$(pgrep -P "$pm" | tr '\n' ' ')
    # shellcheck disable=SC2086
    kill -KILL "$pm" $kids
    for p in $pm $kids; do
        while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
    done
}
# After a crash: the clients see their connection die; the server restarts with crash recovery.
restart_after_crash() {
    local what=$1 call_rc=0 p recoveries
    wait "$call_pid" || call_rc=$?
    for p in "${writer_pids[@]}"; do wait "$p" || true; done
    if [ $call_rc -ne 0 ] && grep -q "server closed the connection unexpectedly\|connection to server was lost" "$work/call.log"; then
        ok "the kill landed inside $what: its client lost the connection"
    else
        fail "the kill landed inside $what: exit $call_rc" "$(cat "$work/call.log")"
    fi
    if [ "${3:-}" = postmaster ]; then
        # The postmaster survived: it ends every session itself and recovers (restart_after_crash).
        local n=0
        until q -c "SELECT 1" >/dev/null 2>&1 || [ $n -ge 300 ]; do sleep 0.2; n=$((n + 1)); done
        what_restarted="the postmaster reset every session and recovered"
    else
        if ! scripts/cluster.sh start 2>"$work/start.log"; then cat "$work/start.log" >&2; exit 1; fi
        what_restarted="the server restarted with crash recovery"
    fi
    recoveries=$(grep -c "database system was not properly shut down; automatic recovery in progress" "$TOPK_CLUSTER_DIR/server.log" || true)
    if [ "$recoveries" = "$2" ] && q -c "SELECT 1" >/dev/null; then
        ok "$what_restarted ($recoveries crash recoveries so far)"
    else
        fail "restart with crash recovery: $recoveries recoveries in server.log, expected $2" \
             "$(tail -20 "$TOPK_CLUSTER_DIR/server.log")"
    fi
    # The writers were writing: each committed rows in this round, and lost its connection.
    local w cut=0 committed
    for w in copy insert tx; do
        grep -q "server closed the connection unexpectedly\|connection to server was lost" "$work/writer_$w.log" && cut=$((cut + 1))
    done
    committed=$(q -c "SELECT string_agg(writer || ' ' || n, ', ' ORDER BY writer) FROM (
                          SELECT writer, count(*) AS n FROM events WHERE id > $events_mark GROUP BY writer) x")
    if [ $cut = 3 ] && [ "$(q -c "SELECT count(DISTINCT writer) FROM events WHERE id > $events_mark AND writer <> 'load'")" = 3 ]; then
        ok "the 3 writers committed rows during $what ($committed) and the crash cut them off"
    else
        fail "the writers during $what: $cut of 3 cut off by the crash; committed: $committed" \
             "$(tail -n 3 "$work"/writer_*.log)"
    fi
}

# The invariant that holds at any moment no writer is in flight: every hour where the
# pipeline differs from the source (its batch rows for final hours, its speed sketch for
# the others, item by item: fewer items than the capacity, so the sketches are exact) is
# marked, in crash.changes or crash.stale, for the next run to read again.
UNMARKED="
WITH src AS (SELECT date_trunc('hour', at) AS hour, item, count(*) AS c FROM events GROUP BY 1, 2),
fin AS (SELECT coalesce(done_until, '-infinity') AS d FROM topk.progress WHERE pipeline = 'crash' AND granularity = 'hour'),
pipe AS (SELECT window_start AS hour, item, count AS c FROM crash.batch_table, fin
         WHERE granularity = 'hour' AND window_start < fin.d
         UNION ALL
         SELECT s.window_start, i.item, i.count FROM crash.speed_table s, fin, topk_items(s.sketch, NULL, NULL::integer) i
         WHERE s.granularity = 'hour' AND s.window_start >= fin.d),
wrong AS (SELECT DISTINCT coalesce(src.hour, pipe.hour) AS hour FROM src FULL JOIN pipe USING (hour, item)
          WHERE src.c IS DISTINCT FROM pipe.c),
marked AS (SELECT hour FROM crash.stale
           UNION SELECT to_timestamp(h * 3600) FROM crash.changes, generate_series(first_hour, last_hour) h)
SELECT CASE WHEN EXISTS (SELECT FROM crash.changes WHERE first_hour IS NULL AND last_hour IS NULL) THEN 0
            ELSE (SELECT count(*) FROM wrong WHERE hour NOT IN (SELECT hour FROM marked)) END"
# After the runs: no hour differs, and nothing is left marked for the speed path (but the
# hours more than a day ahead of the pipeline clock, which wait).
DIFFERING="
WITH src AS (SELECT date_trunc('hour', at) AS hour, item, count(*) AS c FROM events
             WHERE at < (SELECT clock + interval '1 day' FROM topk.pipelines WHERE name = 'crash') GROUP BY 1, 2),
fin AS (SELECT coalesce(done_until, '-infinity') AS d FROM topk.progress WHERE pipeline = 'crash' AND granularity = 'hour'),
pipe AS (SELECT window_start AS hour, item, count AS c FROM crash.batch_table, fin
         WHERE granularity = 'hour' AND window_start < fin.d
         UNION ALL
         SELECT s.window_start, i.item, i.count FROM crash.speed_table s, fin, topk_items(s.sketch, NULL, NULL::integer) i
         WHERE s.granularity = 'hour' AND s.window_start >= fin.d
           AND s.window_start < (SELECT clock + interval '1 day' FROM topk.pipelines WHERE name = 'crash'))
SELECT count(*) FILTER (WHERE src.c IS DISTINCT FROM pipe.c) || ' ' ||
       ((SELECT count(*) FROM crash.changes) + (SELECT count(*) FROM crash.stale, topk.pipelines p
                                                 WHERE p.name = 'crash' AND speed AND hour < p.clock + interval '1 day'))
FROM src FULL JOIN pipe USING (hour, item)"
# The same for the open hours only (run_speed alone leaves changed final hours to run_batch).
OPEN_DIFFERING=${DIFFERING/FROM src FULL JOIN pipe USING (hour, item)/FROM src FULL JOIN pipe USING (hour, item) WHERE coalesce(src.hour, pipe.hour) >= (SELECT d FROM fin)}
# Final days: each one's counts are the sum of its hours'.
DAYS_SUM_HOURS="
SELECT count(*) FROM crash.batch_table d
FULL JOIN (SELECT date_trunc('day', window_start) AS window_start, item, sum(count) AS count
           FROM crash.batch_table WHERE granularity = 'hour'
             AND window_start < (SELECT done_until FROM topk.progress WHERE pipeline = 'crash' AND granularity = 'day')
           GROUP BY 1, 2) h
  ON d.window_start = h.window_start AND d.item = h.item
WHERE (d.granularity = 'day' OR d.granularity IS NULL) AND d.count IS DISTINCT FROM h.count"

###########################################################################################
# Round 1: a big backlog for the speed path; kill the server inside run_speed.
echo "== round 1: kill -9 in the middle of run_speed ($(elapsed))"
q >/dev/null <<SQL
INSERT INTO events (at, item) SELECT $EVENT_TIME, $EVENT_ITEM FROM generate_series(1, 100000);
INSERT INTO events (at, item) SELECT $EVENT_TIME, $EVENT_ITEM FROM generate_series(1, 100000);
SQL
speed_table_before=$(q -c "SELECT md5(string_agg(format('%s %s %s %s %s', granularity, window_start, events, count, md5(sketch::text)), ',' ORDER BY granularity, window_start)) FROM crash.speed_table")
log_mark=$(q -c "SELECT coalesce(max(id), 0) FROM topk.job_log")
events_mark=$(q -c "SELECT coalesce(max(id), 0) FROM events")
start_writers
# run_speed reads the marked hours again, then replaces the window sketches: the year's waits.
hold_lock "SELECT FROM crash.speed_table WHERE granularity = 'year'"
call_bg "CALL topk.run_speed('crash')"
if ! wait_for "SELECT $CALL_BUSY"; then
    fail "run_speed never ran" "$(cat "$work/call.log")"
fi
echo "   kill -9: $(call_state)"
crash_server
echo "   killed after $(elapsed)"
restart_after_crash run_speed 1
check "the killed run_speed left no job_log row (its transaction rolled back)" "0" \
      "SELECT count(*) FROM topk.job_log WHERE id > $log_mark"
check "the killed run_speed left speed_table exactly as it was" "$speed_table_before" \
      "SELECT md5(string_agg(format('%s %s %s %s %s', granularity, window_start, events, count, md5(sketch::text)), ',' ORDER BY granularity, window_start)) FROM crash.speed_table"
check "after the crash in run_speed: every hour that differs from the source is marked" "0" "$UNMARKED"
echo "   rerunning run_speed ($(elapsed))"
q -c "CALL topk.run_speed('crash')"
check "after the rerun: every open hour's sketch equals the source, nothing left marked for the speed path" "0 0" "$OPEN_DIFFERING"

###########################################################################################
# Round 2: three days due at once; kill the server inside run_batch, after some windows.
echo "== round 2: kill -9 in the middle of run_batch ($(elapsed))"
# (an hour per task, so that the kill lands between tasks: a backlog is otherwise one)
q -c "ALTER DATABASE $TOPK_DB SET topk.events_per_task = 1"
q -c "UPDATE topk.pipelines SET clock = '2024-03-07 01:00+00' WHERE name = 'crash'"
log_mark=$(q -c "SELECT coalesce(max(id), 0) FROM topk.job_log")
events_mark=$(q -c "SELECT coalesce(max(id), 0) FROM events")
start_writers
# The kill comes after 10 hours, or in the task of hour 2024-03-06 06:00 at the latest.
hold_lock "SELECT FROM crash.speed_table WHERE granularity = 'hour' AND window_start = '2024-03-06 06:00+00'"
call_bg "CALL topk.run_batch('crash')"
if ! wait_for "SELECT ((SELECT count(*) FROM topk.job_log WHERE id > $log_mark AND task = 'hour') >= 10 AND $CALL_BUSY)
                      OR EXISTS (SELECT FROM pg_stat_activity WHERE query LIKE 'CALL topk.run_%' AND wait_event_type = 'Lock')"; then
    fail "run_batch never finished 10 hours while running" "$(cat "$work/call.log")"
fi
echo "   kill -9: $(call_state)"
crash_server
echo "   killed after $(elapsed)"
restart_after_crash run_batch 2
echo "   the killed run had finalised the hours until $(q -c "SELECT done_until FROM topk.progress WHERE pipeline = 'crash' AND granularity = 'hour'")"
check "the killed run_batch committed some hours, not all (the crash was in the middle)" "t" \
      "SELECT (SELECT count(*) FROM topk.job_log WHERE id > $log_mark AND task = 'hour') >= 10
              AND (SELECT done_until < '2024-03-07 00:00+00' FROM topk.progress WHERE pipeline = 'crash' AND granularity = 'hour')"
check "after the crash in run_batch: every hour that differs from the source is marked" "0" "$UNMARKED"
check "after the crash in run_batch: every final day is the sum of its hours" "0" "$DAYS_SUM_HOURS"

###########################################################################################
# Round 3: what the OOM killer does: SIGKILL of the one backend running run_batch. The
# postmaster survives, ends every other session and recovers before accepting new ones.
echo "== round 3: kill -9 of the backend running run_batch ($(elapsed))"
log_mark=$(q -c "SELECT coalesce(max(id), 0) FROM topk.job_log")
events_mark=$(q -c "SELECT coalesce(max(id), 0) FROM events")
hours_before=$(q -c "SELECT done_until FROM topk.progress WHERE pipeline = 'crash' AND granularity = 'hour'")
start_writers
hold_lock "SELECT FROM crash.speed_table WHERE granularity = 'hour' AND window_start = '2024-03-06 18:00+00'"
call_bg "CALL topk.run_batch('crash')"
if ! wait_for "SELECT ((SELECT count(*) FROM topk.job_log WHERE id > $log_mark AND task = 'hour') >= 5 AND $CALL_BUSY)
                      OR EXISTS (SELECT FROM pg_stat_activity WHERE query LIKE 'CALL topk.run_%' AND wait_event_type = 'Lock')"; then
    fail "run_batch never finished 5 hours while running" "$(cat "$work/call.log")"
fi
backend=$(q -c "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'CALL topk.run_batch%'")
echo "   kill -9 of backend $backend: $(call_state)"
if [ -n "$backend" ]; then kill -KILL "$backend"; else crash_server; fi
echo "   killed backend $backend after $(elapsed)"
restart_after_crash "run_batch again" 3 postmaster
echo "   the killed run had finalised the hours until $(q -c "SELECT done_until FROM topk.progress WHERE pipeline = 'crash' AND granularity = 'hour'")"
check "the killed run_batch committed some hours, not all" "t" \
      "SELECT (SELECT count(*) FROM topk.job_log WHERE id > $log_mark AND task = 'hour') >= 5
              AND (SELECT done_until > '$hours_before' AND done_until < '2024-03-07 00:00+00'
                   FROM topk.progress WHERE pipeline = 'crash' AND granularity = 'hour')"
check "after the backend crash: every hour that differs from the source is marked" "0" "$UNMARKED"

###########################################################################################
# Recovery: the clock moves on so that hours, days and the week are final; run until done.
echo "== rerun until done ($(elapsed))"
q -c "UPDATE topk.pipelines SET clock = '2024-03-11 01:00+00' WHERE name = 'crash'"
restart_mark=$(q -c "SELECT coalesce(max(id), 0) FROM topk.job_log")
q -c "CALL topk.run('crash')"
again_mark=$(q -c "SELECT coalesce(max(id), 0) FROM topk.job_log")
q -c "CALL topk.run('crash')"
check "a second run finds nothing left to do (one speed row, no rollup)" "speed" \
      "SELECT string_agg(task || CASE WHEN rows_read > 0 THEN ' read ' || rows_read ELSE '' END, ', ') FROM topk.job_log WHERE id > $again_mark"
check "no hour differs from the source, nothing is left marked" "0 0" "$DIFFERING"
check "progress: hours, days and the week final until 2024-03-11, month and year open" \
      "day 2024-03-11 00:00:00+00,hour 2024-03-11 00:00:00+00,month 2024-03-01 00:00:00+00,week 2024-03-11 00:00:00+00,year 2024-01-01 00:00:00+00" \
      "SELECT string_agg(granularity || ' ' || done_until, ',' ORDER BY granularity) FROM topk.progress WHERE pipeline = 'crash'"
for g in hour day week; do
    check "batch $g counts equal GROUP BY over the source" "0 $(q -c "SELECT count(*) FROM events") true" "
        WITH src AS (SELECT date_trunc('$g', at) AS window_start, item, count(*) AS c FROM events GROUP BY 1, 2),
        b AS (SELECT window_start, item, count AS c, events AS e FROM crash.batch_table WHERE granularity = '$g')
        SELECT count(*) FILTER (WHERE src.c IS DISTINCT FROM b.c OR b.c <> b.e) || ' ' ||
               (SELECT sum(c) FROM b) || ' ' || (count(*) > 0)
        FROM src FULL JOIN b USING (window_start, item)"
done
check "no speed sketch is left for the final hours, days and week" "0" \
      "SELECT count(*) FROM crash.speed_table WHERE granularity IN ('hour', 'day', 'week')"
for g in month year; do
    check "speed $g sketch (only in speed) holds every source event once, item by item" "0|t" "
        WITH src AS (SELECT date_trunc('$g', at) AS window_start, item, count(*) AS c FROM events GROUP BY 1, 2),
        s AS (SELECT s.window_start, i.item, i.count AS c, i.error FROM crash.speed_table s,
                     topk_items(s.sketch, NULL, NULL::integer) i WHERE s.granularity = '$g')
        SELECT count(*) FILTER (WHERE src.c IS DISTINCT FROM s.c OR s.error <> 0),
               (SELECT bool_and(events = n AND count = n AND topk_total(sketch) = n)
                FROM crash.speed_table, (SELECT count(*) AS n FROM events) e WHERE granularity = '$g')
        FROM src FULL JOIN s USING (window_start, item)"
done
check "top_1000 of every window equals the top 1000 of the source (batch for hour/day/week, speed for month/year)" "0|t" "
    WITH src AS (
        SELECT g.granularity, date_trunc(g.granularity, at) AS window_start, item, count(*) AS count
        FROM events CROSS JOIN topk.granularities g GROUP BY 1, 2, 3
    ), ranked AS (
        SELECT *, row_number() OVER (PARTITION BY granularity, window_start ORDER BY count DESC, item) AS rank FROM src
    ), expected AS (SELECT * FROM ranked WHERE rank <= 1000)
    SELECT count(*) FILTER (WHERE e.item IS DISTINCT FROM t.item OR e.count IS DISTINCT FROM t.count OR t.error <> 0
                              OR t.source <> CASE WHEN t.granularity IN ('month', 'year') THEN 'speed' ELSE 'batch' END),
           count(DISTINCT (t.granularity, t.window_start)) = 72 + 3 + 1 + 1 + 1
    FROM expected e FULL JOIN crash.top_1000 t USING (granularity, window_start, rank)"
check "job_log: no failed task (a crash leaves no row: the killed task's log row rolled back with it)" "0|0" \
      "SELECT count(*) FILTER (WHERE status = 'failed'), (SELECT failures_last_day FROM topk.pipeline_status WHERE pipeline = 'crash')
       FROM topk.job_log WHERE pipeline = 'crash'"
check "job_log: each hour, day and week rolled up once, the runs before and after the crashes tiling the time without gap or overlap" \
      "day 2024-03-04 00:00:00+00 2024-03-11 00:00:00+00 0,hour 2024-03-04 00:00:00+00 2024-03-11 00:00:00+00 0,week 2024-03-04 00:00:00+00 2024-03-11 00:00:00+00 0" "
    SELECT string_agg(format('%s %s %s %s', task, first, last, breaks), ',' ORDER BY task)
    FROM (SELECT task, min(window_start) AS first, max(window_end) AS last,
                 count(*) FILTER (WHERE previous_end IS DISTINCT FROM window_start AND previous_end IS NOT NULL) AS breaks
          FROM (SELECT task, window_start, window_end,
                       lag(window_end) OVER (PARTITION BY task ORDER BY window_start, id) AS previous_end
                FROM topk.job_log WHERE pipeline = 'crash' AND task IN ('hour', 'day', 'week') AND status = 'ok') x
          GROUP BY task) y"
check "job_log: the rerun after the last crash continued where the killed run had stopped" "t" "
    SELECT (SELECT min(window_start) FROM topk.job_log WHERE id > $restart_mark AND task = 'hour')
           = (SELECT max(window_end) FROM topk.job_log WHERE id <= $restart_mark AND task = 'hour')"
check "pipeline_status: nothing pending" "0|00:00:00" \
      "SELECT pending_changes, lag FROM topk.pipeline_status WHERE pipeline = 'crash'"

echo "   events in the source: $(q -c "SELECT count(*) FROM events"); total $(elapsed)"
if [ "$failed" -gt 0 ]; then
    echo "crash: $passed passed, $failed failed"
    exit 1
fi
echo "crash: $passed passed"
