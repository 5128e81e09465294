-- Progress of the pipeline's procedures: a NOTICE per task, topk.running for another
-- session to watch (from pg_locks and application_name, never from the running
-- transaction's rows), job_log.pid, and failures and the task in progress in
-- topk.pipeline_status. Timings vary: they are checked for shape, never for value.
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set SHOW_CONTEXT never
CREATE EXTENSION topk_pg;
CREATE EXTENSION dblink;

-- 30 hours of sales of 5 products, from 2024-01-01 00:00.
CREATE TABLE sales (at timestamptz NOT NULL, product integer NOT NULL);
SELECT topk.create_pipeline('shop', 'sales', 'product', 'at');
SELECT topk.create_pipeline('india', 'sales', 'product', 'at', mode => 'kappa', time_zone => 'Asia/Kolkata');
INSERT INTO sales SELECT timestamptz '2024-01-01 00:00+00' + g * interval '1 minute', 1 + g % 5
FROM generate_series(0, 30 * 60 - 1) g;
UPDATE topk.pipelines SET clock = '2024-01-01 03:10+00' WHERE name = 'shop';

-- What each kind of task says (the durations are given here).
SELECT t.what, topk._task_notice(p, t.task, t.r, t.took) AS notice
FROM topk.pipelines p,
     (VALUES ('speed', 'speed', ROW(NULL, NULL, 120, 35, 1800, 35)::topk.task_result, interval '12 ms'),
             ('speed, nothing new', 'speed', ROW(NULL, NULL, 0, 0, 0, 0)::topk.task_result, interval '0'),
             ('late events', 'late', ROW(NULL, NULL, 3, 15, 40, 15)::topk.task_result, interval '2 ms'),
             ('late, nothing', 'late', ROW(NULL, NULL, 0, 0, 0, 0)::topk.task_result, interval '0'),
             ('retention', 'retention', ROW(NULL, NULL, 0, 1234, NULL, NULL)::topk.task_result, interval '5 ms'),
             ('retention, nothing', 'retention', ROW(NULL, NULL, 0, 0, NULL, NULL)::topk.task_result, interval '0'),
             ('hour', 'hour', ROW('2024-01-01 05:00+00', '2024-01-01 06:00+00', 39, 39, NULL, NULL)::topk.task_result, interval '4.4 ms'),
             ('empty hour', 'hour', ROW('2024-01-01 05:00+00', '2024-01-01 06:00+00', 0, 0, NULL, NULL)::topk.task_result, interval '0.4 ms'),
             ('empty hours', 'hour', ROW('2024-01-01 05:00+00', '2024-01-02 00:00+00', 0, 0, NULL, NULL)::topk.task_result, interval '1 ms'),
             ('day', 'day', ROW('2024-01-01 00:00+00', '2024-01-02 00:00+00', 936, 39, NULL, NULL)::topk.task_result, interval '8 ms'),
             ('empty days', 'day', ROW('2024-01-03 00:00+00', '2024-01-09 00:00+00', 0, 0, NULL, NULL)::topk.task_result, interval '2 ms'),
             ('week', 'week', ROW('2024-01-01 00:00+00', '2024-01-08 00:00+00', 78, 39, NULL, NULL)::topk.task_result, interval '3 ms'),
             ('empty weeks', 'week', ROW('2024-01-08 00:00+00', '2024-02-05 00:00+00', 0, 0, NULL, NULL)::topk.task_result, interval '3 ms'),
             ('month, long', 'month', ROW('2024-01-01 00:00+00', '2024-02-01 00:00+00', 589000, 20000, NULL, NULL)::topk.task_result, interval '12345 ms'),
             ('empty months', 'month', ROW('2024-02-01 00:00+00', '2025-01-01 00:00+00', 0, 0, NULL, NULL)::topk.task_result, interval '1 ms'),
             ('year', 'year', ROW('2024-01-01 00:00+00', '2025-01-01 00:00+00', 12, 5, NULL, NULL)::topk.task_result, interval '1 ms'),
             ('done by another run', 'day', NULL::topk.task_result, interval '1 ms')) t(what, task, r, took)
WHERE p.name = 'shop';
-- Windows are named in the pipeline's time zone; kappa pipelines have no events to roll up.
SELECT topk._task_notice(p, 'day', ROW('2023-12-31 18:30+00', '2024-01-01 18:30+00', 0, 0, NULL, NULL)::topk.task_result, '1 ms') AS india_day,
       topk._task_notice(p, 'hour', ROW('2023-12-31 18:30+00', '2024-01-01 18:30+00', 0, 0, NULL, NULL)::topk.task_result, '1 ms') AS india_hours
FROM topk.pipelines p WHERE p.name = 'india';

-- What psql shows during a run, as it happens (another psql; timings replaced by N).
\! "$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)/psql" -X -q -d regress_pipeline_progress -c "CALL topk.run('shop')" 2>&1 | sed -E 's/[0-9]+(\.[0-9])? m?s\)/N ms)/'
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'shop' AND granularity = 'hour';
-- With nothing new, run_speed still says so (no timing); client_min_messages = warning
-- (as the other scenarios, and pg_cron, which keeps no NOTICE) silences them all.
SET client_min_messages = notice;
CALL topk.run_speed('shop');
SET client_min_messages = warning;
CALL topk.run_speed('shop');

-- The session's application_name names the task while it runs, and is its own again after.
SET application_name = 'regress_progress';
CREATE TABLE seen AS SELECT current_setting('application_name') AS application_name, * FROM topk.running WITH NO DATA;
-- A trigger inside each task's writes looks at topk.running from the task's own session.
CREATE FUNCTION look() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seen SELECT current_setting('application_name'), * FROM topk.running WHERE pid = pg_backend_pid();
    RETURN NULL;
END $$;
CREATE TRIGGER look AFTER INSERT ON shop.batch_counts FOR EACH STATEMENT EXECUTE FUNCTION look();
UPDATE topk.pipelines SET clock = '2024-01-01 06:10+00' WHERE name = 'shop';
CALL topk.run('shop');
DROP TRIGGER look ON shop.batch_counts;
SHOW application_name;
SELECT application_name, pipeline, task, window_start, waiting, wait_event,
       task_started IS NOT NULL AND task_started <= clock_timestamp() AS task_started,
       running_for >= interval '0' AS running_for, run_started <= task_started AS run_started_before,
       tasks_done, rows_read, rows_written
FROM seen ORDER BY task_started;
-- A pipeline name that application_name cannot hold (more than 63 bytes with the task,
-- not ASCII): topk.running still names the pipeline, from its lock.
SELECT topk.create_pipeline('Größe: eine Pipeline mit einem langen Namen', 'sales', 'product', 'at', backfill => true);
UPDATE topk.pipelines SET clock = '2024-01-01 01:10+00' WHERE name LIKE 'Größe%';
TRUNCATE seen;
CREATE TRIGGER look AFTER INSERT ON "Größe: eine Pipeline mit einem langen Namen".batch_counts
    FOR EACH STATEMENT EXECUTE FUNCTION look();
CALL topk.run_batch('Größe: eine Pipeline mit einem langen Namen');
SELECT application_name, octet_length(application_name) AS bytes, pipeline, task, window_start FROM seen ORDER BY task_started;
SELECT topk.drop_pipeline('Größe: eine Pipeline mit einem langen Namen');
-- Each task's log row names the session that ran it (the first run was another psql).
SELECT task, count(*) AS tasks, count(*) FILTER (WHERE pid = pg_backend_pid()) AS by_this_session
FROM topk.job_log WHERE pipeline = 'shop' GROUP BY task ORDER BY task;

-- Another session's run, seen from here: a trigger holds it at the day 2024-01-01 (after
-- the task of its hours) until this session lets go of an advisory lock; a second run
-- waits for the first.
CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(4242);
    RETURN NEW;
END $$;
CREATE TRIGGER hold BEFORE INSERT ON shop.batch_counts FOR EACH ROW
    WHEN (NEW.granularity = 'day' AND NEW.window_start = '2024-01-01 00:00+00') EXECUTE FUNCTION hold();
CREATE ROLE regress_progress_reader;
CREATE ROLE regress_progress_stranger;
SELECT topk.grant_read('shop', 'regress_progress_reader');
SELECT pg_advisory_lock(4242);
UPDATE topk.pipelines SET clock = '2024-01-02 06:10+00' WHERE name = 'shop';
SELECT dblink_connect(c, format('host=%s port=%s dbname=%s user=%s', current_setting('unix_socket_directories'),
                                current_setting('port'), current_database(), current_user))
FROM unnest(ARRAY['run1', 'run2']) c;
SELECT dblink_send_query('run1', $$CALL topk.run_batch('shop')$$);
CREATE FUNCTION wait_until(condition text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    ok boolean;
BEGIN
    FOR i IN 1..400 LOOP   -- 20 s at most
        PERFORM pg_stat_clear_snapshot();
        EXECUTE condition INTO ok;
        IF ok THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN false;
END $$;
SELECT wait_until($$SELECT EXISTS (SELECT FROM topk.running WHERE task = 'day' AND wait_event = 'Lock: advisory')$$) AS run1_held;
SELECT dblink_send_query('run2', $$CALL topk.run_speed('shop')$$);
SELECT wait_until($$SELECT EXISTS (SELECT FROM topk.running WHERE waiting)$$) AS run2_waiting;
SELECT pipeline, task, window_start, waiting, wait_event,
       running_for >= interval '0' AS running_for, run_started <= task_started AS run_started_before,
       tasks_done, rows_read, rows_written
FROM topk.running ORDER BY waiting;
SELECT pg_backend_pid() <> ALL (SELECT pid FROM topk.running) AS not_this_session,
       (SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'topk: %') AS in_pg_stat_activity;
SELECT pipeline, last_hour, running, running_for >= interval '0' AS running_for FROM topk.pipeline_status WHERE pipeline = 'shop';
-- A reader of the pipeline sees what its sessions do, not since when (pg_stat_activity
-- shows the sessions of other roles only partly); other roles do not see the pipeline.
SET ROLE regress_progress_reader;
SELECT pipeline, task, window_start, waiting, wait_event, task_started, running_for, run_started, tasks_done
FROM topk.running ORDER BY waiting;
SET ROLE regress_progress_stranger;
SELECT count(*) AS runs_seen FROM topk.running;
RESET ROLE;
SELECT pg_advisory_unlock(4242);
SELECT * FROM dblink_get_result('run1') AS r(result text);
SELECT * FROM dblink_get_result('run2') AS r(result text);
SELECT dblink_disconnect(c) FROM unnest(ARRAY['run1', 'run2']) c;
SELECT count(*) AS running FROM topk.running;
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'shop' AND granularity IN ('hour', 'day') ORDER BY 1;
DROP TRIGGER hold ON shop.batch_counts;

-- Failures in topk.pipeline_status: the last one, its error, and whether its task still fails.
SELECT pipeline, failures_last_day, last_failure, last_error, failing, running FROM topk.pipeline_status;
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'disk full (simulated)';
END $$;
CREATE TRIGGER refuse BEFORE INSERT ON shop.batch_counts FOR EACH ROW
    WHEN (NEW.granularity = 'hour' AND NEW.window_start = '2024-01-02 07:00+00') EXECUTE FUNCTION refuse();
INSERT INTO sales SELECT timestamptz '2024-01-02 06:00+00' + g * interval '1 minute', 1 + g % 5 FROM generate_series(0, 179) g;
UPDATE topk.pipelines SET clock = '2024-01-02 09:10+00' WHERE name = 'shop';
CALL topk.run('shop');
CALL topk.run_batch('shop');
SELECT pipeline, failures_last_day, last_failure > now() - interval '1 minute' AS last_failure, last_error, failing
FROM topk.pipeline_status WHERE pipeline = 'shop';
DROP TRIGGER refuse ON shop.batch_counts;
CALL topk.run_batch('shop');
SELECT pipeline, failures_last_day, last_error, failing FROM topk.pipeline_status WHERE pipeline = 'shop';
-- A retention that failed, then found nothing to do (its setting was removed): logged
-- once as ok to record the recovery.
CREATE TRIGGER refuse BEFORE DELETE ON sales FOR EACH STATEMENT EXECUTE FUNCTION refuse();
UPDATE topk.pipelines SET keep_raw_events = '1 hour' WHERE name = 'shop';
CALL topk.run_batch('shop');
SELECT pipeline, failures_last_day, last_error, failing FROM topk.pipeline_status WHERE pipeline = 'shop';
DROP TRIGGER refuse ON sales;
UPDATE topk.pipelines SET keep_raw_events = NULL WHERE name = 'shop';
CALL topk.run_batch('shop');
CALL topk.run_batch('shop');
SELECT pipeline, failures_last_day, last_error, failing FROM topk.pipeline_status WHERE pipeline = 'shop';
SELECT task, status, rows_read, rows_written, error FROM topk.job_log
WHERE pipeline = 'shop' AND task = 'retention' ORDER BY id;

DROP OWNED BY regress_progress_reader;
DROP ROLE regress_progress_reader;
DROP ROLE regress_progress_stranger;
