-- No event lost or counted twice under concurrency: four writers (some transactions
-- rolled back), one using COPY and one inserting single rows write while two sessions
-- run run_speed and two run run_batch, the clock moves so that hours fall due while they
-- are written, and two readers query the dashboard view (scripts/pipeline_stress.sh).
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';

CREATE TABLE stress_events (at timestamptz NOT NULL, item integer NOT NULL);
SELECT topk.create_pipeline('stress', 'stress_events', 'item', 'at', k => 10);
UPDATE topk.pipelines SET clock = '2024-01-01 06:00+00', allowed_lateness = '0' WHERE name = 'stress';
CREATE TABLE stress_reads (reader int, read int, granularity text, window_start timestamptz, sources int, rows int);

\! scripts/pipeline_stress.sh regress_pipeline_concurrency

SELECT count(*) AS events FROM stress_events;
SELECT count(*) AS failed_tasks FROM topk.job_log WHERE status = 'failed';
-- The runs overlapped: tasks of one session started while a task of another held the
-- pipeline, and waited for it (a task's time counts from before it takes the lock):
-- speed tasks of the two run_speed sessions, and speed and batch tasks.
SELECT count(*) FILTER (WHERE a.task = 'speed' AND b.task = 'speed') > 0 AS speed_runs_waited,
       count(*) FILTER (WHERE (a.task = 'speed') <> (b.task = 'speed')) > 0 AS speed_and_batch_waited
FROM topk.job_log a
JOIN topk.job_log b ON b.pipeline = a.pipeline AND b.pid <> a.pid
                   AND b.started > a.started AND b.started < a.started + a.duration
WHERE a.pipeline = 'stress';
-- Readers never saw a window with both its batch and its speed rows, nor one that was
-- there and then was not (retention is off: a window's list is only ever replaced).
SELECT count(DISTINCT (reader, read)) > 20 AS readers_read,
       count(*) FILTER (WHERE sources > 1) AS windows_with_both_sources,
       count(*) FILTER (WHERE rows > 10) AS windows_with_too_many_rows
FROM stress_reads;
SELECT count(*) AS windows_that_vanished
FROM (SELECT reader, granularity, window_start, min(read) AS first, count(*) AS seen
      FROM stress_reads GROUP BY 1, 2, 3) w
JOIN (SELECT reader, max(read) AS last FROM stress_reads GROUP BY 1) r USING (reader)
WHERE w.seen <> r.last - w.first + 1;
-- Every window was rolled up once.
SELECT task, window_start, count(*) FROM topk.job_log
WHERE task NOT IN ('speed', 'late', 'retention') GROUP BY 1, 2 HAVING count(*) > 1;
-- Drain: the last runs see everything committed.
CALL topk.run_speed('stress');
UPDATE topk.pipelines SET clock = '2024-01-02 00:00+00' WHERE name = 'stress';
CALL topk.run_batch('stress');
SELECT count(*) AS marks_left FROM stress.changes;
SELECT count(*) FILTER (WHERE speed) AS stale_for_speed, count(*) FILTER (WHERE batch) AS stale_for_batch FROM stress.stale;

-- Batch: every hour and the day equal GROUP BY over the source.
SELECT b.granularity, count(*) AS rows,
       count(*) FILTER (WHERE b.count IS DISTINCT FROM s.count) AS mismatches
FROM stress.batch_table b
FULL JOIN (SELECT g.granularity, topk.window_start(g.granularity, at) AS window_start, item, count(*) AS count
           FROM stress_events CROSS JOIN (VALUES ('hour'), ('day')) g(granularity) GROUP BY 1, 2, 3) s
  USING (granularity, window_start, item)
WHERE b.granularity IN ('hour', 'day') OR s.granularity IS NOT NULL
GROUP BY 1 ORDER BY 1;
-- Speed: the year's sketch (every event goes into the windows of every granularity) adds
-- up to the source, per item (exact: 30 items, far below the sketch capacity).
WITH source AS (
    SELECT item, count(*) AS count FROM stress_events GROUP BY 1
)
SELECT (SELECT sum(count) FROM stress.speed_table WHERE granularity = 'year') AS speed_events_this_year,
       (SELECT count(*) FROM stress_events) AS source_events,
       (SELECT count(*) FROM source s FULL JOIN (
            SELECT i.item, i.count FROM stress.speed_table t, topk_items(t.sketch, NULL, NULL::integer) i
            WHERE t.granularity = 'year') y USING (item)
        WHERE s.count IS DISTINCT FROM y.count) AS items_differing;
