---------------------------------------------------------------------------------------
-- Monitoring
---------------------------------------------------------------------------------------

CREATE FUNCTION topk._status() RETURNS TABLE (
    pipeline          text,
    mode              text,
    lag               interval,
    lag_seconds       double precision,
    pending_changes   bigint,
    rejected_events   bigint,
    last_hour         timestamptz,
    last_day          timestamptz,
    last_week         timestamptz,
    last_month        timestamptz,
    last_year         timestamptz,
    failures_last_day bigint,
    clock             timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines;
BEGIN
    FOR p IN SELECT * FROM topk.pipelines ORDER BY name LOOP
        pipeline := p.name;
        mode := p.mode;
        clock := p.clock;
        -- (the marks: on a Citus distributed source also those of the shards)
        EXECUTE format('SELECT coalesce(now() - least((SELECT min(marked_at) FROM %2$s m),
                                                      (SELECT min(marked_at) FROM %1$I.stale WHERE speed)), interval ''0''),
                               (SELECT count(*) FROM %2$s m) + (SELECT count(*) FROM %1$I.stale WHERE speed),
                               (SELECT coalesce(sum(events), 0) FROM %1$I.rejects)', p.name,
                       CASE WHEN topk._distributed(p)
                            THEN format('(SELECT marked_at FROM %1$I.changes UNION ALL SELECT marked_at FROM %1$I.shard_changes)', p.name)
                            ELSE format('%I.changes', p.name) END)
            INTO lag, pending_changes, rejected_events;
        lag_seconds := extract(epoch FROM lag);
        SELECT max(last_done) FILTER (WHERE pr.granularity = 'hour'),
               max(last_done) FILTER (WHERE pr.granularity = 'day'),
               max(last_done) FILTER (WHERE pr.granularity = 'week'),
               max(last_done) FILTER (WHERE pr.granularity = 'month'),
               max(last_done) FILTER (WHERE pr.granularity = 'year')
        INTO last_hour, last_day, last_week, last_month, last_year
        FROM topk.progress pr WHERE pr.pipeline = p.name;
        SELECT count(*) INTO failures_last_day FROM topk.job_log l
        WHERE l.pipeline = p.name AND l.status = 'failed' AND l.started > now() - interval '1 day';
        RETURN NEXT;
    END LOOP;
END $$;

-- Whether a task of a pipeline has succeeded since a failure: a later 'ok' row of the
-- same task in the job log (rollups advance in order, so a later ok hour means the failed
-- hour was done too; late-event and retention tasks log an ok row after a failure even
-- when they find nothing to do, see topk._run_task).
CREATE FUNCTION topk._recovered(pipeline_name text, task text, failed_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE
RETURN EXISTS (SELECT FROM topk.job_log j
               WHERE j.pipeline = pipeline_name AND j.started > failed_at AND j.task = _recovered.task
                 AND j.status = 'ok');

-- The tasks in progress, for another session to watch: every session of this database
-- that holds or waits for a pipeline's lock (pg_locks: the advisory lock of
-- topk._lock), with the task and window its application_name names (topk._task_label)
-- and, from pg_stat_activity, since when. Nothing here comes from the running
-- transaction's own rows, which no other session can see; tasks_done, rows_read and
-- rows_written sum the tasks this session's current run (its CALL) has committed.
-- pg_locks and application_name are visible to every role; xact_start, query_start and
-- wait_event only for the sessions of roles the viewer is a member of, or with
-- pg_read_all_stats (pg_monitor): otherwise task_started, running_for, run_started and
-- the run's totals are NULL. Rows are those of the pipelines the viewer may see.
CREATE VIEW topk.running WITH (security_invoker = true) AS
SELECT p.name AS pipeline,
       l.pid,
       a.usename,
       CASE WHEN m.label[1] IN (SELECT granularity FROM topk.granularities)
                 OR m.label[1] IN ('speed', 'late', 'retention') THEN m.label[1] END AS task,
       CASE WHEN m.label[1] IN (SELECT granularity FROM topk.granularities) THEN m.label[2]::timestamptz END AS window_start,
       NOT l.granted AS waiting,
       a.wait_event_type || ': ' || a.wait_event AS wait_event,
       a.xact_start AS task_started,
       clock_timestamp() - a.xact_start AS running_for,
       a.query_start AS run_started,
       d.tasks_done,
       d.rows_read,
       d.rows_written
FROM pg_catalog.pg_locks l
JOIN topk.pipelines p ON l.objid = hashtext(p.name)::oid
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
LEFT JOIN LATERAL (
    SELECT regexp_match(a.application_name, '^topk: ([a-z]+)(?: (\d{4}-\d\d-\d\d \d\d:\d\d[+-]\d\d))?') AS label
) m ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS tasks_done, coalesce(sum(j.rows_read), 0)::bigint AS rows_read,
           coalesce(sum(j.rows_written), 0)::bigint AS rows_written
    FROM topk.job_log j
    WHERE j.pipeline = p.name AND j.pid = l.pid AND j.started >= a.query_start
) d ON a.query_start IS NOT NULL
WHERE l.locktype = 'advisory' AND l.classid = hashtext('topk_pg')::oid AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database());
COMMENT ON VIEW topk.running IS
    'the pipeline tasks in progress (or waiting for another run of their pipeline), for another session to watch';
GRANT SELECT ON topk.running TO PUBLIC;

CREATE VIEW topk.pipeline_status WITH (security_invoker = true) AS
SELECT s.*,
       f.started AS last_failure,
       f.task || coalesce(' ' || f.window_start, '') || ': ' || f.error AS last_error,
       EXISTS (SELECT FROM (SELECT DISTINCT ON (j.task) j.task, j.started FROM topk.job_log j
                            WHERE j.pipeline = s.pipeline AND j.status = 'failed'
                            ORDER BY j.task, j.started DESC) last_failed
               WHERE NOT topk._recovered(s.pipeline, last_failed.task, last_failed.started)) AS failing,
       r.task || coalesce(' ' || r.window_start, '') AS running,
       r.running_for
FROM topk._status() s
LEFT JOIN LATERAL (
    SELECT j.started, j.task, j.window_start, j.error FROM topk.job_log j
    WHERE j.pipeline = s.pipeline AND j.status = 'failed'
    ORDER BY j.started DESC LIMIT 1
) f ON true
LEFT JOIN LATERAL (
    SELECT t.task, t.window_start, t.running_for FROM topk.running t
    WHERE t.pipeline = s.pipeline AND NOT t.waiting
    ORDER BY t.task_started LIMIT 1
) r ON true;
-- (lag_seconds: the lag as a number, for monitoring systems and BI tools without intervals)
COMMENT ON VIEW topk.pipeline_status IS
    'per pipeline: lag (age of the oldest change not yet in the speed path), changes pending '
    '(marks and stale hours), events rejected (rows left out: no item, no usable time, weight out of range), '
    'the last final window per granularity, failed tasks (in the last day, the last one and '
    'whether its task still fails), the task in progress';
GRANT SELECT ON topk.pipeline_status TO PUBLIC;

-- For a window the batch has finished: how the speed path's top-k (as the dashboard
-- showed it before the batch replaced it) compares with the exact one.
CREATE FUNCTION topk.accuracy(name text, granularity text, window_start timestamptz)
RETURNS TABLE (k integer, exact_items bigint, speed_items bigint, recall numeric,
               max_relative_error numeric, median_relative_error numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
BEGIN
    IF p.mode <> 'lambda' THEN
        RAISE EXCEPTION 'topk: accuracy needs the batch path; pipeline % is in kappa mode', quote_ident(p.name);
    END IF;
    IF NOT EXISTS (SELECT FROM topk.progress pr
                   WHERE pr.pipeline = p.name AND pr.granularity = accuracy.granularity
                     AND topk.window_end(accuracy.granularity, accuracy.window_start, p.time_zone) <= pr.done_until) THEN
        RAISE EXCEPTION 'topk: the batch has not finished the % starting %', accuracy.granularity, accuracy.window_start
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH exact AS (
            SELECT u.item, u.count FROM %1$I.top_lists l, unnest(l.items, l.counts) AS u(item, count)
            WHERE l.granularity = $1 AND l.window_start = $2 AND l.source = 'batch'
        ), listed AS (
            SELECT u.item, u.count FROM %1$I.superseded_speed_lists s, unnest(s.items, s.counts) AS u(item, count)
            WHERE s.granularity = $1 AND s.window_start = $2
        ), speed AS (
            SELECT s.item, s.count, coalesce(b.count, 0) AS exact_count
            FROM listed s
            LEFT JOIN %1$I.batch_table b ON b.granularity = $1 AND b.window_start = $2 AND b.item = s.item
        ), errors AS (
            SELECT abs(count - exact_count)::numeric / greatest(exact_count, 1) AS e FROM speed
        )
        SELECT %2$s,
               (SELECT count(*) FROM exact),
               (SELECT count(*) FROM speed),
               CASE WHEN EXISTS (SELECT FROM speed)
                    THEN round((SELECT count(*) FROM exact JOIN speed USING (item))::numeric
                               / nullif((SELECT count(*) FROM exact), 0), 4) END,
               round((SELECT max(e) FROM errors), 4),
               round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY e) FROM errors)::numeric, 4)$q$,
        p.name, p.k)
    USING accuracy.granularity, accuracy.window_start;
END $$;
COMMENT ON FUNCTION topk.accuracy(text, text, timestamptz) IS
    'recall and relative errors of the speed top-k of a window the batch has finished';

