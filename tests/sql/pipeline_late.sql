-- Exactly once: late events, writers in flight during runs, overlapping runs, a task
-- that fails half-way; and a rollup never runs before its dependencies are final.
CREATE EXTENSION topk_pg;
CREATE EXTENSION dblink;
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set SHOW_CONTEXT never

CREATE TABLE clicks (at timestamptz NOT NULL, page text NOT NULL, visitor integer NOT NULL);
SELECT topk.create_pipeline('web', 'clicks', 'page', 'at', k => 5, distinct_column => 'visitor');
UPDATE topk.pipelines SET clock = '2024-01-01 00:00+00' WHERE name = 'web';

-- Batch rows against GROUP BY over the source, for every final window (hours removed by
-- retention excepted): windows, rows, and rows that differ.
CREATE FUNCTION check_exact(pipeline text)
RETURNS TABLE (granularity text, windows bigint, batch_rows bigint, mismatches bigint)
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines;
    g record;
BEGIN
    SELECT * INTO p FROM topk.pipelines WHERE name = pipeline;
    FOR g IN SELECT pr.granularity, pr.done_until, coalesce(pr.purged_until, '-infinity') AS purged
             FROM topk.progress pr JOIN topk.granularities gr USING (granularity)
             WHERE pr.pipeline = p.name ORDER BY gr.level LOOP
        RETURN QUERY EXECUTE format($q$
            WITH b AS (
                SELECT window_start, item, count FROM %1$I.batch_table
                WHERE granularity = $1 AND window_end > $3
            ), s AS (
                SELECT topk.window_start($1, e.%2$I, %5$L) AS window_start, e.%3$I AS item, %4$s::bigint AS count
                FROM %6$s e
                WHERE e.%2$I < $2 AND topk.window_end($1, topk.window_start($1, e.%2$I, %5$L), %5$L) > $3
                GROUP BY 1, 2
            )
            SELECT $1, (SELECT count(DISTINCT window_start) FROM b), (SELECT count(*) FROM b),
                   (SELECT count(*) FROM ((SELECT * FROM b EXCEPT ALL SELECT * FROM s)
                                          UNION ALL (SELECT * FROM s EXCEPT ALL SELECT * FROM b)) d)$q$,
            p.name, p.time_column, p.item_column,
            CASE WHEN p.weight_column IS NULL THEN 'count(*)' ELSE format('sum(e.%I)', p.weight_column) END,
            p.time_zone, p.source)
        USING g.granularity, g.done_until, g.purged;
    END LOOP;
END $$;

-- Speed totals per window against the source, for the windows the speed path holds.
CREATE FUNCTION check_speed() RETURNS TABLE (granularity text, windows bigint, mismatches bigint)
LANGUAGE sql AS $$
    SELECT s.granularity, count(*),
           count(*) FILTER (WHERE s.count <> (SELECT count(*) FROM clicks c
                                              WHERE c.at >= s.window_start AND c.at < s.window_end)
                               OR s.count <> topk_total(s.sketch))
    FROM web.speed_table s GROUP BY 1 ORDER BY 1
$$;

-- Six clicks a minute on pages a..h, page a most; hour 03:00 has no clicks at all.
CREATE FUNCTION click(from_time timestamptz, to_time timestamptz, page_override text DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    WITH inserted AS (
        INSERT INTO clicks
        SELECT t, coalesce(page_override, chr(97 + ((n % 17) * (n % 17) / 37)::int)), (n * 7) % 50
        FROM generate_series(from_time, to_time - interval '1 second', interval '10 seconds') t,
             LATERAL (SELECT extract(epoch FROM t)::bigint / 10 AS n) x
        WHERE t NOT BETWEEN '2024-01-01 03:00' AND '2024-01-01 03:59:59'
        RETURNING 1)
    SELECT count(*) FROM inserted
$$;

SELECT click('2024-01-01 00:00', '2024-01-01 12:00');

-- A rollup never runs before its dependencies: the day is complete when its 24 hours
-- are closed by the clock (an hour without events counts), not before.
UPDATE topk.pipelines SET clock = '2024-01-01 23:59+00' WHERE name = 'web';
CALL topk.run('web');
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'web' ORDER BY done_until, granularity;
CALL topk.rollup('web', 'day', '2024-01-01');
CALL topk.rollup('web', 'hour', '2024-01-01 23:00');
UPDATE topk.pipelines SET clock = '2024-01-02 00:04+00' WHERE name = 'web';
CALL topk.run_batch('web');
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'web' ORDER BY done_until, granularity;
UPDATE topk.pipelines SET clock = '2024-01-02 00:05+00' WHERE name = 'web';
CALL topk.run_batch('web');
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'web' ORDER BY done_until, granularity;
-- (a backlog of ready hours is one task; hour 03:00 had no events)
SELECT task, window_start, window_end, rows_read, rows_written FROM topk.job_log
WHERE pipeline = 'web' AND task IN ('hour', 'day') ORDER BY id;
SELECT * FROM check_exact('web');

-- A task that fails half-way: hour 05:00 of 2024-01-02 cannot be written.
CREATE FUNCTION refuse_0500() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'disk full (simulated) writing % %', NEW.granularity, NEW.window_start;
END $$;
CREATE TRIGGER refuse BEFORE INSERT ON web.batch_counts FOR EACH ROW
    WHEN (NEW.granularity = 'hour' AND NEW.window_start = '2024-01-02 05:00+00') EXECUTE FUNCTION refuse_0500();
SELECT click('2024-01-02 00:00', '2024-01-03 00:00');
UPDATE topk.pipelines SET clock = '2024-01-03 00:30+00' WHERE name = 'web';
CALL topk.run_batch('web');
-- The task (the day's 24 hours) was rolled back: no hour of it is final.
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'web' ORDER BY done_until, granularity;
-- The next run retries one hour at a time: the hours before it are final and committed;
-- it, and the day that needs it, are not.
CALL topk.run_batch('web');
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'web' ORDER BY done_until, granularity;
SELECT task, window_start, status, error FROM topk.job_log WHERE pipeline = 'web' AND status = 'failed';
SELECT count(*) AS hour_0500_batch_rows FROM web.batch_table WHERE granularity = 'hour' AND window_start = '2024-01-02 05:00';
SELECT pipeline, last_hour, last_day, failures_last_day FROM topk.pipeline_status;
-- Its day cannot be rolled up by hand either.
CALL topk.rollup('web', 'day', '2024-01-02');
-- Fixed: the rerun picks up where it stopped.
DROP TRIGGER refuse ON web.batch_counts;
CALL topk.run_batch('web');
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'web' ORDER BY done_until, granularity;
SELECT * FROM check_exact('web');

-- The speed path fails the same way and loses nothing.
CREATE FUNCTION refuse_speed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'out of memory (simulated)';
END $$;
CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON web.speed_table FOR EACH ROW EXECUTE FUNCTION refuse_speed();
SELECT click('2024-01-03 00:00', '2024-01-03 01:00');
CALL topk.run_speed('web');
SELECT (SELECT count(*) FROM web.changes) AS marks, (SELECT count(*) FROM web.stale WHERE speed) AS stale_for_speed;
DROP TRIGGER refuse ON web.speed_table;
CALL topk.run_speed('web');
SELECT (SELECT count(*) FROM web.changes) AS marks, (SELECT count(*) FROM web.stale WHERE speed) AS stale_for_speed;
SELECT * FROM check_speed();
SELECT task, count(*) FILTER (WHERE status = 'ok') AS ok, count(*) FILTER (WHERE status = 'failed') AS failed
FROM topk.job_log WHERE pipeline = 'web' GROUP BY 1 ORDER BY 1;

-- Late events: clicks for hours (and a day) already final, and for a day before the
-- pipeline's first event. The next batch run adds them to the final windows above them
-- and regenerates their lists: the batch stays exact.
SELECT rank, item, count FROM web.top_5 WHERE granularity = 'day' AND window_start = '2024-01-01' ORDER BY rank;
SELECT click('2024-01-01 10:00', '2024-01-01 11:30', 'z-late');
SELECT click('2023-12-31 23:00', '2023-12-31 23:10', 'y-older');
CALL topk.run('web');
SELECT task, window_start, rows_read, rows_written FROM topk.job_log
WHERE pipeline = 'web' AND task = 'late' ORDER BY id;
SELECT rank, item, count, source FROM web.top_5 WHERE granularity = 'day' AND window_start = '2024-01-01' ORDER BY rank;
SELECT granularity, window_start, item, count FROM web.batch_table WHERE item = 'y-older' ORDER BY 1, 2;
SELECT * FROM check_exact('web');
-- A late event in a final hour of a day not final yet: the batch adds it to the hour, the
-- speed path to the day's sketch (not to the final hour).
SELECT click('2024-01-03 00:10', '2024-01-03 00:20', 'x-late');
UPDATE topk.pipelines SET clock = '2024-01-03 02:00+00' WHERE name = 'web';
CALL topk.run('web');
SELECT granularity, window_start, item, count FROM web.batch_table WHERE item = 'x-late' ORDER BY 1, 2;
SELECT granularity, window_start, count FROM web.speed_table ORDER BY 1, 2;
SELECT * FROM check_speed();
SELECT * FROM check_exact('web');

-- Writers in flight during the runs, and overlapping runs of the same procedure.
SELECT dblink_connect(c, format('host=%s port=%s dbname=%s user=%s', current_setting('unix_socket_directories'),
                                current_setting('port'), current_database(), current_user))
FROM unnest(ARRAY['writer', 'run1', 'run2']) c;
-- A writer's transaction is open, with clicks for an hour about to be rolled up.
SELECT dblink_exec('writer', 'BEGIN');
SELECT * FROM dblink('writer', $$SELECT click('2024-01-03 01:00', '2024-01-03 01:30', 'w-inflight')$$) AS t(clicks bigint);
SELECT click('2024-01-03 01:00', '2024-01-03 02:00');
UPDATE topk.pipelines SET clock = '2024-01-03 02:10+00' WHERE name = 'web';
CALL topk.run('web');
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'web' AND granularity = 'hour';
SELECT count(*) AS inflight_rows_in_batch FROM web.batch_table WHERE item = 'w-inflight';
SELECT dblink_exec('writer', 'COMMIT');
-- Two runs of each procedure at once, while this session holds the pipeline's lock (as a
-- run in progress would): both wait, then each event is folded once.
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('topk_pg'), hashtext('web'));
SELECT dblink_send_query('run1', $$CALL topk.run('web')$$);
SELECT dblink_send_query('run2', $$CALL topk.run('web')$$);
DO $$
BEGIN
    FOR i IN 1..200 LOOP   -- until both runs wait for the lock (10 s at most)
        EXIT WHEN (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted) = 2;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT count(*) AS runs_waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted;
COMMIT;
SELECT * FROM dblink_get_result('run1') AS r(result text);
SELECT * FROM dblink_get_result('run2') AS r(result text);
SELECT dblink_disconnect(c) FROM unnest(ARRAY['writer', 'run1', 'run2']) c;
SELECT granularity, window_start, item, count FROM web.batch_table WHERE item = 'w-inflight' ORDER BY 1, 2;
SELECT task, window_start, count(*) AS times FROM topk.job_log
WHERE pipeline = 'web' AND task NOT IN ('speed', 'late', 'retention') AND status = 'ok'
GROUP BY 1, 2 HAVING count(*) > 1;
SELECT * FROM check_exact('web');
SELECT * FROM check_speed();
SELECT (SELECT sum(events) FROM web.speed_table WHERE granularity = 'year')
     + (SELECT coalesce(sum(events), 0) FROM web.batch_table WHERE granularity = 'year') AS events_in_pipeline,
       (SELECT count(*) FROM clicks) AS events_in_source;
