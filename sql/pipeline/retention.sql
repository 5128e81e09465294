-- Where the pipeline's retention has removed raw events: the hours before this moment
-- cannot be read again from the source, so changes marked there are not taken (the
-- windows keep their counts). '-infinity' without keep_raw_events.
CREATE FUNCTION topk._raw_kept_from(p topk.pipelines) RETURNS timestamptz
LANGUAGE sql STABLE
RETURN CASE WHEN p.keep_raw_events IS NULL THEN '-infinity'
            ELSE coalesce(least(topk._clock(p) - p.keep_raw_events,
                                (SELECT done_until FROM topk.progress WHERE pipeline = p.name AND granularity = 'hour')),
                          '-infinity') END;

-- Retention, once the windows above the rows are final.
CREATE FUNCTION topk._retention(pipeline_name text) RETURNS topk.task_result
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline_name);
    r topk.task_result;
    now_ timestamptz := topk._clock(p);
    bound timestamptz;
    n bigint;
    tbl text;
BEGIN
    r.rows_read := 0;
    r.rows_written := 0;
    -- Raw events: once their hour is final. The windows keep counting them: the capture
    -- triggers mark nothing for this DELETE (topk.retention), and the windows they are in
    -- are not read from the source again (a change there reads the source as it is).
    IF p.keep_raw_events IS NOT NULL THEN
        bound := least(now_ - p.keep_raw_events,
                       (SELECT done_until FROM topk.progress WHERE pipeline = p.name AND granularity = 'hour'));
        IF bound IS NOT NULL THEN
            IF topk._distributed(p) THEN
                -- the triggers run on the workers: Citus sends them this SET LOCAL
                EXECUTE 'SET LOCAL citus.propagate_set_commands = local';
                EXECUTE 'SET LOCAL topk.retention = on';
            ELSE
                PERFORM set_config('topk.retention', 'on', true);
            END IF;
            EXECUTE format('DELETE FROM %s WHERE %I < %s', p.source, p.time_column, topk._time_literal(p, bound));
            GET DIAGNOSTICS n = ROW_COUNT;
            IF topk._distributed(p) THEN
                EXECUTE 'SET LOCAL topk.retention = off';
            ELSE
                PERFORM set_config('topk.retention', 'off', true);
            END IF;
            r.rows_written := r.rows_written + n;
        END IF;
    END IF;
    -- Hourly rows: once their day is final.
    IF p.keep_hours IS NOT NULL THEN
        bound := least(topk.window_start('hour', now_ - p.keep_hours, p.time_zone),
                       (SELECT done_until FROM topk.progress WHERE pipeline = p.name AND granularity = 'day'));
        IF bound IS NOT NULL THEN
            FOREACH tbl IN ARRAY ARRAY['batch_counts', 'speed_table', 'top_lists', 'superseded_speed_lists', 'distinct_sketches'] LOOP
                EXECUTE format('DELETE FROM %I.%I WHERE granularity = ''hour'' AND window_end <= $1', p.name, tbl)
                USING bound;
                GET DIAGNOSTICS n = ROW_COUNT;
                r.rows_written := r.rows_written + n;
            END LOOP;
            UPDATE topk.progress SET purged_until = greatest(purged_until, bound)
            WHERE pipeline = p.name AND granularity = 'hour';
        END IF;
    END IF;
    -- Speed sketches (and superseded speed lists) of final windows.
    IF p.keep_speed IS NOT NULL THEN
        EXECUTE format($q$
            DELETE FROM %1$I.speed_table s USING topk.progress pr
            WHERE pr.pipeline = %2$L AND pr.granularity = s.granularity
              AND s.window_end <= pr.done_until AND s.window_end <= $1$q$, p.name, p.name)
        USING now_ - p.keep_speed;
        GET DIAGNOSTICS n = ROW_COUNT;
        r.rows_written := r.rows_written + n;
        EXECUTE format('DELETE FROM %I.superseded_speed_lists WHERE window_end <= $1', p.name)
        USING now_ - p.keep_speed;
        GET DIAGNOSTICS n = ROW_COUNT;
        r.rows_written := r.rows_written + n;
    END IF;
    -- The job log (by the real clock).
    IF p.keep_job_log IS NOT NULL THEN
        DELETE FROM topk.job_log WHERE pipeline = p.name AND started < now() - p.keep_job_log;
        GET DIAGNOSTICS n = ROW_COUNT;
        r.rows_written := r.rows_written + n;
    END IF;
    RETURN r;
END $$;

---------------------------------------------------------------------------------------
