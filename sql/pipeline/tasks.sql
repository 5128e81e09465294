-- Procedures: each task is one transaction, logged in topk.job_log
---------------------------------------------------------------------------------------

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
--   topk: shop: hour 2024-01-01 00:00 to 2024-01-01 23:00 rolled up (22464 rows read, 936 written, 25 ms)
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
        last_start := topk.window_start(task, r.window_end - interval '1 microsecond', p.time_zone);
        IF r.rows_read > 0 THEN
            RETURN format('%s%s %s%s rolled up (%s rows read, %s written, %s)', who, task,
                          topk._window_label(task, r.window_start, p.time_zone),
                          CASE WHEN last_start > r.window_start
                               THEN ' to ' || topk._window_label(task, last_start, p.time_zone) ELSE '' END,
                          r.rows_read, r.rows_written, t);
        END IF;
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
CREATE PROCEDURE topk._run_task(pipeline_name text, task text, start timestamptz DEFAULT NULL)
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

CREATE FUNCTION topk._in_transaction_block() RETURNS boolean
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'topk_in_transaction_block';

-- The procedures commit each task: inside a transaction block they cannot.
CREATE FUNCTION topk._require_autocommit(procedure text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF topk._in_transaction_block() THEN
        RAISE EXCEPTION 'topk: % cannot run inside a transaction block', procedure
            USING ERRCODE = 'active_sql_transaction',
                  HINT = 'It commits each task on its own. CALL it in autocommit mode: in psql outside BEGIN … COMMIT, '
                         'in JDBC after connection.setAutoCommit(true).';
    END IF;
END $$;

CREATE PROCEDURE topk.run_speed(name text) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM topk._require_autocommit('topk.run_speed');
    PERFORM topk._pipeline(name);
    CALL topk._run_task(name, 'speed');
END $$;
COMMENT ON PROCEDURE topk.run_speed(text) IS
    'speed path: folds the events captured since the last run into the window sketches and their top-k lists';

-- Rolls up a window now, if it is the next of its granularity, due, and its
-- dependencies are final, with the ready windows after it, as one task (run_batch does
-- this until no window is ready).
CREATE PROCEDURE topk.rollup(name text, granularity text, window_start timestamptz) LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
    why text;
BEGIN
    IF p.mode <> 'lambda' THEN
        RAISE EXCEPTION 'topk: pipeline % is in kappa mode: it has no batch rollups', quote_ident(p.name);
    END IF;
    why := topk._not_ready(p, granularity, window_start);
    IF why IS NOT NULL THEN
        RAISE EXCEPTION 'topk: cannot roll up: %', why USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    CALL topk._run_task(p.name, granularity, window_start);
END $$;

CREATE PROCEDURE topk.run_batch(name text) LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
    g record;
    start timestamptz;
    previous timestamptz;
    left_hours bigint;
    tasks integer;
    i integer := 0;
BEGIN
    PERFORM topk._require_autocommit('topk.run_batch');
    PERFORM topk._lock(p.name);
    PERFORM topk._start_progress(p);
    COMMIT;
    IF p.mode = 'lambda' THEN
        -- changed final windows, a day of hours per task: as many tasks as the changes
        -- found by the first one need (later changes wait for the next run, so that
        -- writers that keep changing old hours cannot hold the rollups back)
        LOOP
            CALL topk._run_task(p.name, 'late');
            i := i + 1;
            EXECUTE format('SELECT count(*) FROM %I.stale WHERE batch AND hour < $1', p.name)
            INTO left_hours USING (SELECT done_until FROM topk.progress WHERE pipeline = p.name AND granularity = 'hour');
            IF i = 1 THEN
                tasks := 1 + ceil(left_hours / 24.0);
            END IF;
            EXIT WHEN left_hours = 0 OR i >= tasks;
        END LOOP;
    END IF;
    FOR g IN SELECT granularity FROM topk.granularities ORDER BY level LOOP
        previous := NULL;
        LOOP
            p := topk._pipeline(p.name);     -- settings (the clock) may change between windows
            SELECT done_until INTO start FROM topk.progress
            WHERE pipeline = p.name AND granularity = g.granularity;
            EXIT WHEN start IS NOT DISTINCT FROM previous
                   OR topk._not_ready(p, g.granularity, start) IS NOT NULL;
            CALL topk._run_task(p.name, g.granularity, start);
            previous := start;
        END LOOP;
    END LOOP;
    CALL topk._run_task(p.name, 'retention');
END $$;
COMMENT ON PROCEDURE topk.run_batch(text) IS
    'batch path: late events, then every rollup that is due, in dependency order, then retention';

-- The batch first: the hours it finalises need no speed sketch (the speed path merges
-- their exact counts into the open windows above them).
CREATE PROCEDURE topk.run(name text) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM topk._require_autocommit('topk.run');
    CALL topk.run_batch(name);
    CALL topk.run_speed(name);
END $$;
COMMENT ON PROCEDURE topk.run(text) IS 'run_batch, then run_speed';

