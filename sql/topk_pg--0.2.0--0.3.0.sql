-- topk_pg 0.2.0 -> 0.3.0
--
-- Stored sketches keep their format (format version 1 of every type), so tables holding
-- sketches need no rewrite, and pipelines created by 0.2.0 keep running.
--
-- The SQL objects that 0.3.0 adds or changes follow; each is also in the install script
-- of 0.3.0 (sql/*.sql), and tests/sql/upgrade.sql checks the path from 0.1.0 (an updated
-- install ends with the objects of a fresh one).

---------------------------------------------------------------------------------------
-- Progress and monitoring of the pipeline (docs/operations.md, "Following a long run"):
-- a NOTICE per task, topk.running, the session of each task in topk.job_log.pid, and
-- failures and the task in progress in topk.pipeline_status.
---------------------------------------------------------------------------------------

-- Rows logged before the update have no pid.
ALTER TABLE topk.job_log ADD COLUMN pid integer;
ALTER TABLE topk.job_log ALTER COLUMN pid SET DEFAULT pg_backend_pid();
CREATE INDEX job_log_failures ON topk.job_log (pipeline, started) WHERE status = 'failed';
COMMENT ON COLUMN topk.job_log.pid IS 'process id of the session that ran the task (see topk.running)';

ALTER TYPE topk.task_result ADD ATTRIBUTE events bigint, ADD ATTRIBUTE windows bigint;

-- Folds speed_delta into the window sketches of every granularity (skipping, in lambda
-- mode, the windows the batch has finished), then refreshes those windows' lists; and
-- distinct_delta into the distinct-count sketches.
CREATE OR REPLACE FUNCTION topk._fold_speed(pipeline_name text) RETURNS topk.task_result
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline_name);
    r topk.task_result;
    granularities text[];
    starts timestamptz[];
    distinct_read bigint := 0;
    distinct_written bigint := 0;
BEGIN
    EXECUTE format($q$
        WITH taken AS (
            DELETE FROM %1$I.speed_delta RETURNING hour, item, events, count
        ), per_window AS (
            SELECT g.granularity, topk.window_start(g.granularity, t.hour, %2$L) AS window_start,
                   t.item, sum(t.events) AS events, sum(t.count) AS count
            FROM taken t CROSS JOIN topk.granularities g
            GROUP BY 1, 2, 3
        ), sketches AS (
            SELECT w.granularity, w.window_start, topk.window_end(w.granularity, w.window_start, %2$L) AS window_end,
                   @extschema@.topk_agg(w.item, w.count::bigint, %3$s) AS sketch,
                   sum(w.events) AS events, sum(w.count) AS count
            FROM per_window w
            JOIN topk.progress pr ON pr.pipeline = %4$L AND pr.granularity = w.granularity
            WHERE NOT (%5$L AND topk.window_end(w.granularity, w.window_start, %2$L) <= coalesce(pr.done_until, '-infinity'))
              AND NOT (topk.window_end(w.granularity, w.window_start, %2$L) <= coalesce(pr.purged_until, '-infinity'))
            GROUP BY 1, 2
        ), written AS (
            INSERT INTO %1$I.speed_table AS s (granularity, window_start, window_end, sketch, events, count, updated_at)
            SELECT granularity, window_start, window_end, sketch, events, count, now() FROM sketches
            ON CONFLICT (granularity, window_start) DO UPDATE
                SET sketch = @extschema@.topk_merge(s.sketch, excluded.sketch),
                    events = s.events + excluded.events,
                    count = s.count + excluded.count,
                    updated_at = excluded.updated_at
            RETURNING granularity, window_start
        )
        SELECT (SELECT count(*) FROM taken), (SELECT coalesce(sum(events), 0) FROM taken),
               array_agg(granularity ORDER BY granularity, window_start),
               array_agg(window_start ORDER BY granularity, window_start)
        FROM written$q$,
        p.name, p.time_zone, p.capacity, p.name, p.mode = 'lambda')
    INTO r.rows_read, r.events, granularities, starts;
    r.rows_written := coalesce(cardinality(granularities), 0);
    r.windows := r.rows_written;
    IF r.rows_written > 0 THEN
        PERFORM topk._speed_lists(p, granularities, starts);
    END IF;

    IF p.distinct_column IS NOT NULL THEN
        EXECUTE format($q$
            WITH taken AS (
                DELETE FROM %1$I.distinct_delta RETURNING hour, sketch
            ), per_window AS (
                SELECT g.granularity, topk.window_start(g.granularity, t.hour, %2$L) AS window_start,
                       @extschema@.hll_merge_agg(t.sketch) AS sketch
                FROM taken t CROSS JOIN topk.granularities g
                GROUP BY 1, 2
            ), written AS (
                INSERT INTO %1$I.distinct_sketches AS d (granularity, window_start, window_end, sketch, distinct_count)
                SELECT w.granularity, w.window_start, topk.window_end(w.granularity, w.window_start, %2$L),
                       w.sketch, @extschema@.hll_count(w.sketch)
                FROM per_window w
                JOIN topk.progress pr ON pr.pipeline = %3$L AND pr.granularity = w.granularity
                WHERE NOT (topk.window_end(w.granularity, w.window_start, %2$L) <= coalesce(pr.purged_until, '-infinity'))
                ON CONFLICT (granularity, window_start) DO UPDATE
                    SET sketch = @extschema@.hll_merge(d.sketch, excluded.sketch),
                        distinct_count = @extschema@.hll_count(@extschema@.hll_merge(d.sketch, excluded.sketch))
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM written)$q$,
            p.name, p.time_zone, p.name)
        INTO distinct_read, distinct_written;
    END IF;
    r.rows_read := r.rows_read + distinct_read;
    r.rows_written := r.rows_written + distinct_written;
    RETURN r;
END $$;

-- Late events: batch_delta rows of hours already final are added to the hour row and to
-- every final window above it; those windows' lists are regenerated.
CREATE OR REPLACE FUNCTION topk._fold_late(pipeline_name text) RETURNS topk.task_result
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline_name);
    r topk.task_result;
    granularities text[];
    starts timestamptz[];
BEGIN
    EXECUTE format($q$
        WITH taken AS (
            DELETE FROM %1$I.batch_delta
            WHERE hour < (SELECT done_until FROM topk.progress WHERE pipeline = %2$L AND granularity = 'hour')
            RETURNING hour, item, events, count
        ), per_window AS (
            SELECT g.granularity, topk.window_start(g.granularity, t.hour, %3$L) AS window_start,
                   t.item, sum(t.events) AS events, sum(t.count) AS count
            FROM taken t CROSS JOIN topk.granularities g
            GROUP BY 1, 2, 3
        ), written AS (
            INSERT INTO %1$I.batch_table AS b (granularity, window_start, window_end, item, count, events)
            SELECT w.granularity, w.window_start, topk.window_end(w.granularity, w.window_start, %3$L),
                   w.item, w.count, w.events
            FROM per_window w
            JOIN topk.progress pr ON pr.pipeline = %2$L AND pr.granularity = w.granularity
            WHERE topk.window_end(w.granularity, w.window_start, %3$L) <= pr.done_until
              AND NOT (topk.window_end(w.granularity, w.window_start, %3$L) <= coalesce(pr.purged_until, '-infinity'))
            ON CONFLICT (granularity, window_start, item) DO UPDATE
                SET count = b.count + excluded.count, events = b.events + excluded.events
            RETURNING granularity, window_start
        ), windows AS (
            SELECT DISTINCT granularity, window_start FROM written
        )
        SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM written),
               (SELECT coalesce(sum(events), 0) FROM taken),
               (SELECT array_agg(granularity ORDER BY granularity, window_start) FROM windows),
               (SELECT array_agg(window_start ORDER BY granularity, window_start) FROM windows)$q$,
        p.name, p.name, p.time_zone)
    INTO r.rows_read, r.rows_written, r.events, granularities, starts;
    r.windows := coalesce(cardinality(granularities), 0);
    IF granularities IS NOT NULL THEN
        PERFORM topk._batch_lists(p, granularities, starts);
    END IF;
    RETURN r;
END $$;

-- What a session running a task shows other sessions, as its application_name (in
-- pg_stat_activity, read by topk.running): 'topk: <task> [<window start, UTC>] <pipeline>',
-- e.g. 'topk: day 2024-01-01 00:00+00 shop'. PostgreSQL keeps 63 bytes of it and turns
-- other than ASCII into '?': topk.running takes the pipeline from its lock instead.
CREATE FUNCTION topk._task_label(pipeline_name text, task text, start timestamptz) RETURNS text
LANGUAGE sql STABLE
RETURN 'topk: ' || task || coalesce(' ' || to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || '+00', '')
       || ' ' || pipeline_name;

-- A window as a person names it, in the pipeline's time zone: hour 2024-01-01 13:00,
-- day 2024-01-01, week 2024-01-01 (its Monday), month 2024-01, year 2024.
CREATE FUNCTION topk._window_label(granularity text, start timestamptz, time_zone text) RETURNS text
LANGUAGE sql STABLE
RETURN to_char(start AT TIME ZONE time_zone, CASE granularity WHEN 'hour' THEN 'YYYY-MM-DD HH24:MI'
                                                              WHEN 'month' THEN 'YYYY-MM'
                                                              WHEN 'year' THEN 'YYYY'
                                                              ELSE 'YYYY-MM-DD' END);

-- The progress NOTICE of a finished task, or NULL when there is nothing to say (late
-- events and retention that found nothing to do, a window another run finished):
--   topk: shop: speed: 6480 events folded into 43 windows (12 ms)
--   topk: shop: day 2024-01-01 rolled up (936 rows read, 39 written, 3 ms)
--   topk: shop: hour 2024-01-03 00:00 to 2024-01-03 05:00 finalised, no events (6 windows, 1 ms)
CREATE FUNCTION topk._task_notice(p topk.pipelines, task text, r topk.task_result, took interval) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    ms bigint := round(extract(epoch FROM took) * 1000);
    t text := CASE WHEN ms < 10000 THEN ms || ' ms' ELSE round(ms / 1000.0, 1) || ' s' END;
    who text := 'topk: ' || quote_ident(p.name) || ': ';
    last_start timestamptz;
    n bigint;
BEGIN
    IF r IS NULL THEN
        RETURN NULL;
    END IF;
    CASE task
    WHEN 'speed' THEN
        IF coalesce(r.events, 0) = 0 THEN
            RETURN who || 'speed: no new events';
        END IF;
        RETURN format('%sspeed: %s events folded into %s windows (%s)', who, r.events, r.windows, t);
    WHEN 'late' THEN
        IF coalesce(r.rows_read, 0) = 0 THEN
            RETURN NULL;
        END IF;
        RETURN format('%slate events: %s added to %s final windows (%s)', who, r.events, r.windows, t);
    WHEN 'retention' THEN
        IF coalesce(r.rows_written, 0) = 0 THEN
            RETURN NULL;
        END IF;
        RETURN format('%sretention: %s rows deleted (%s)', who, r.rows_written, t);
    ELSE
        IF r.rows_read > 0 THEN
            RETURN format('%s%s %s rolled up (%s rows read, %s written, %s)', who, task,
                          topk._window_label(task, r.window_start, p.time_zone), r.rows_read, r.rows_written, t);
        END IF;
        last_start := topk.window_start(task, r.window_end - interval '1 microsecond', p.time_zone);
        IF last_start <= r.window_start THEN
            RETURN format('%s%s %s finalised%s (%s)', who, task, topk._window_label(task, r.window_start, p.time_zone),
                          CASE WHEN p.mode = 'lambda' THEN ', no events' ELSE '' END, t);
        END IF;
        IF task = 'hour' THEN
            n := round(extract(epoch FROM r.window_end - r.window_start) / 3600);
        ELSE
            SELECT count(*) INTO n
            FROM generate_series(r.window_start AT TIME ZONE p.time_zone, last_start AT TIME ZONE p.time_zone,
                                 ('1 ' || task)::interval);
        END IF;
        RETURN format('%s%s %s to %s finalised%s (%s windows, %s)', who, task,
                      topk._window_label(task, r.window_start, p.time_zone),
                      topk._window_label(task, last_start, p.time_zone),
                      CASE WHEN p.mode = 'lambda' THEN ', no events' ELSE '' END, n, t);
    END CASE;
END $$;

-- Runs one task of a pipeline in a transaction of its own: takes the pipeline's lock,
-- does the work, logs it, commits, and says what it did in a NOTICE (progress for the
-- caller; SET client_min_messages = warning silences it). While it runs, the session's
-- application_name names the task (topk.running shows it to other sessions); it is the
-- session's own again when the task's transaction ends. A task that fails is rolled
-- back, logged as failed (that row is committed), and its error raised again: the next
-- run retries it.
CREATE OR REPLACE PROCEDURE topk._run_task(pipeline_name text, task text, start timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
    r topk.task_result;
    err text;
    err_state text;
    err_detail text;
    msg text;
    last_failure timestamptz;
BEGIN
    PERFORM set_config('application_name', topk._task_label(pipeline_name, task, start), true);
    BEGIN
        PERFORM topk._lock(pipeline_name);
        r := CASE task
            WHEN 'speed' THEN topk._fold_speed(pipeline_name)
            WHEN 'late' THEN topk._fold_late(pipeline_name)
            WHEN 'retention' THEN topk._retention(pipeline_name)
            ELSE topk._rollup(pipeline_name, task, start) END;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, err_state = RETURNED_SQLSTATE, err_detail = PG_EXCEPTION_DETAIL;
    END;
    -- Late events and retention with nothing to do are logged only to record a recovery
    -- (topk.pipeline_status.failing).
    IF err IS NULL AND task IN ('late', 'retention') THEN
        SELECT max(j.started) INTO last_failure FROM topk.job_log j
        WHERE j.pipeline = pipeline_name AND j.task = _run_task.task AND j.status = 'failed';
    END IF;
    IF err IS NOT NULL
       OR (NOT r IS NULL AND (task NOT IN ('late', 'retention') OR r.rows_read > 0 OR r.rows_written > 0
                              OR (last_failure IS NOT NULL AND NOT topk._recovered(pipeline_name, task, last_failure)))) THEN
        INSERT INTO topk.job_log (pipeline, task, window_start, window_end, rows_read, rows_written,
                                  started, duration, status, error, pid)
        VALUES (pipeline_name, task, coalesce(r.window_start, start), r.window_end, r.rows_read, r.rows_written,
                started, clock_timestamp() - started,
                CASE WHEN err IS NULL THEN 'ok' ELSE 'failed' END, err, pg_backend_pid());
    END IF;
    COMMIT;
    IF err IS NULL THEN
        msg := topk._task_notice(topk._pipeline(pipeline_name), task, r, clock_timestamp() - started);
        IF msg IS NOT NULL THEN
            RAISE NOTICE '%', msg;
        END IF;
    ELSE
        err := format('topk: task %s%s of pipeline %s failed: %s', task,
                      CASE WHEN start IS NULL THEN '' ELSE ' ' || start END, quote_ident(pipeline_name), err);
        IF coalesce(err_detail, '') = '' THEN
            RAISE EXCEPTION USING ERRCODE = err_state, MESSAGE = err,
                HINT = 'The task was rolled back and logged in topk.job_log; the next run retries it.';
        END IF;
        RAISE EXCEPTION USING ERRCODE = err_state, MESSAGE = err, DETAIL = err_detail,
            HINT = 'The task was rolled back and logged in topk.job_log; the next run retries it.';
    END IF;
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

CREATE OR REPLACE VIEW topk.pipeline_status WITH (security_invoker = true) AS
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
    'per pipeline: lag (age of the oldest event not yet in the speed path), events pending, '
    'the last final window per granularity, failed tasks (in the last day, the last one and '
    'whether its task still fails), the task in progress';
GRANT SELECT ON topk.pipeline_status TO PUBLIC;

-- The dashboards' query (one window's first rows by rank) should read the primary key in
-- rank order and stop after a few rows. Before top_lists has statistics the planner
-- takes a window for a couple of rows and sorts all k of them instead (3 times slower):
-- the first lists written analyze the table; autovacuum keeps the statistics after that.
CREATE FUNCTION topk._analyze_lists(p topk.pipelines) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT c.reltuples < 0 FROM pg_catalog.pg_class c WHERE c.oid = format('%I.top_lists', p.name)::regclass) THEN
        EXECUTE format('ANALYZE %I.top_lists', p.name);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION topk._batch_lists(p topk.pipelines, granularities text[], starts timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        DELETE FROM %1$I.top_lists t
        USING unnest($1, $2) AS w(granularity, window_start)
        WHERE t.granularity = w.granularity AND t.window_start = w.window_start$q$, p.name)
    USING granularities, starts;
    EXECUTE format($q$
        INSERT INTO %1$I.top_lists (granularity, window_start, window_end, rank, item, count, error, source)
        SELECT granularity, window_start, window_end, rank, item, count, 0, 'batch'
        FROM (SELECT b.granularity, b.window_start, b.window_end, b.item, b.count,
                     row_number() OVER (PARTITION BY b.granularity, b.window_start
                                        ORDER BY b.count DESC, b.item) AS rank
              FROM %1$I.batch_table b
              JOIN unnest($1, $2) AS w(granularity, window_start)
                ON b.granularity = w.granularity AND b.window_start = w.window_start) ranked
        WHERE rank <= %2$s$q$, p.name, p.k)
    USING granularities, starts;
    PERFORM topk._analyze_lists(p);
END $$;

CREATE OR REPLACE FUNCTION topk._speed_lists(p topk.pipelines, granularities text[], starts timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        DELETE FROM %1$I.top_lists t
        USING unnest($1, $2) AS w(granularity, window_start)
        WHERE t.granularity = w.granularity AND t.window_start = w.window_start$q$, p.name)
    USING granularities, starts;
    EXECUTE format($q$
        INSERT INTO %1$I.top_lists (granularity, window_start, window_end, rank, item, count, error, source)
        SELECT s.granularity, s.window_start, s.window_end,
               row_number() OVER (PARTITION BY s.granularity, s.window_start
                                  ORDER BY i.count DESC, i.item),
               i.item, i.count, i.error, 'speed'
        FROM %1$I.speed_table s
        JOIN unnest($1, $2) AS w(granularity, window_start)
          ON s.granularity = w.granularity AND s.window_start = w.window_start
        CROSS JOIN LATERAL @extschema@.topk_items(s.sketch, %2$s, NULL::%3$s) AS i$q$,
        p.name, p.k, p.item_type)
    USING granularities, starts;
    PERFORM topk._analyze_lists(p);
END $$;
