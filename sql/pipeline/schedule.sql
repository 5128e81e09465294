---------------------------------------------------------------------------------------
-- Scheduling with pg_cron
---------------------------------------------------------------------------------------

CREATE FUNCTION topk._require_pg_cron() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'topk: scheduling needs the pg_cron extension, which is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'install postgresql-15-cron, add pg_cron to shared_preload_libraries, CREATE EXTENSION pg_cron';
    END IF;
END $$;

-- A pg_cron schedule for "every <interval>".
CREATE FUNCTION topk._cron_schedule(every interval) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s bigint := CASE WHEN extract(epoch FROM every) = trunc(extract(epoch FROM every))
                     THEN extract(epoch FROM every) END;
BEGIN
    IF s >= 1 AND s < 60 THEN
        RETURN format('%s seconds', s);
    ELSIF s = 60 THEN
        RETURN '* * * * *';
    ELSIF s < 3600 AND s % 60 = 0 AND 60 % (s / 60) = 0 THEN
        RETURN format('*/%s * * * *', s / 60);
    ELSIF s = 3600 THEN
        RETURN '0 * * * *';
    ELSIF s < 86400 AND s % 3600 = 0 AND 24 % (s / 3600) = 0 THEN
        RETURN format('0 */%s * * *', s / 3600);
    ELSIF s = 86400 THEN
        RETURN '0 0 * * *';
    END IF;
    RAISE EXCEPTION 'topk: pg_cron cannot run a job every %', every
        USING HINT = 'Use 1 to 59 seconds, a divisor of an hour in minutes, a divisor of a day in hours, or 1 day.';
END $$;

CREATE FUNCTION topk.schedule(name text, speed_interval interval DEFAULT '1 minute',
                              batch_interval interval DEFAULT '5 minutes')
RETURNS TABLE (job text, jobid bigint, schedule text) LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
    j record;
BEGIN
    PERFORM topk._require_pg_cron();
    PERFORM topk.unschedule(p.name);
    FOR j IN SELECT * FROM (VALUES
            (format('topk %s speed', p.name), topk._cron_schedule(speed_interval), format('CALL topk.run_speed(%L)', p.name)),
            (format('topk %s batch', p.name), topk._cron_schedule(batch_interval), format('CALL topk.run_batch(%L)', p.name))
        ) v(job, schedule, command)
    LOOP
        job := j.job;
        schedule := j.schedule;
        EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, current_database())'
            INTO jobid USING j.job, j.schedule, j.command;
        RETURN NEXT;
    END LOOP;
END $$;
COMMENT ON FUNCTION topk.schedule(text, interval, interval) IS
    'pg_cron jobs: run_speed every speed_interval, run_batch every batch_interval';

CREATE FUNCTION topk.unschedule(name text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
    n integer;
BEGIN
    PERFORM topk._require_pg_cron();
    EXECUTE 'SELECT count(cron.unschedule(jobid))::int FROM cron.job WHERE jobname IN ($1, $2)'
        INTO n USING format('topk %s speed', p.name), format('topk %s batch', p.name);
    RETURN n;
END $$;
COMMENT ON FUNCTION topk.unschedule(text) IS 'removes the pipeline''s pg_cron jobs; returns how many';

