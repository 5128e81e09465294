-- Windows in time zones whose clocks jump: at midnight (Atlantic/Azores, America/Santiago,
-- Africa/Cairo: the day starts at 01:00, or midnight comes twice) and by 30 minutes
-- (Australia/Lord_Howe). Every window ends where the next begins, the batch gets through
-- the change without stalling, and every final window equals GROUP BY over the source.
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';

-- The windows of a granularity from a start, walked with window_end: each must start
-- where the previous ended, be the start of its own window, and be 30 min to 26 h long
-- (hours and days).
CREATE FUNCTION walk(granularity text, zone text, first timestamptz, n integer)
RETURNS TABLE (windows integer, not_tiling integer, shortest interval, longest interval)
LANGUAGE plpgsql AS $$
DECLARE
    s timestamptz := topk.window_start(granularity, first, zone);
    e timestamptz;
BEGIN
    windows := 0;
    not_tiling := 0;
    FOR i IN 1..n LOOP
        e := topk.window_end(granularity, s, zone);
        IF topk.window_start(granularity, e, zone) <> e OR e <= s
           OR topk.window_start(granularity, e - interval '1 microsecond', zone) <> s THEN
            not_tiling := not_tiling + 1;
        END IF;
        shortest := least(shortest, e - s);
        longest := greatest(longest, e - s);
        windows := windows + 1;
        s := e;
    END LOOP;
    RETURN NEXT;
END $$;
SELECT z AS zone, g AS granularity, w.*
FROM unnest(ARRAY['Atlantic/Azores', 'America/Santiago', 'Africa/Cairo', 'Australia/Lord_Howe']) z,
     unnest(ARRAY['hour', 'day']) g,
     LATERAL walk(g, z, '2024-01-01', CASE g WHEN 'hour' THEN 24 * 366 ELSE 366 END) w
ORDER BY 1, 2;
SELECT z AS zone, g AS granularity, w.*
FROM unnest(ARRAY['Atlantic/Azores', 'America/Santiago', 'Africa/Cairo', 'Australia/Lord_Howe']) z,
     unnest(ARRAY['week', 'month', 'year']) g,
     LATERAL walk(g, z, '2023-06-01', CASE g WHEN 'week' THEN 60 WHEN 'month' THEN 24 ELSE 3 END) w
ORDER BY 1, 2;

-- A pipeline per zone over the days around a change, an event every 7 minutes.
CREATE TABLE events (at timestamptz NOT NULL, item integer NOT NULL);
INSERT INTO events SELECT t, (extract(epoch FROM t)::bigint / 420) % 5
FROM generate_series(timestamptz '2024-03-29', '2024-04-10', interval '7 minutes') t;
INSERT INTO events SELECT t, (extract(epoch FROM t)::bigint / 420) % 5
FROM generate_series(timestamptz '2024-09-05', '2024-09-10', interval '7 minutes') t;
SELECT topk.create_pipeline(replace(lower(z), '/', '_'), 'events', 'item', 'at', k => 3, time_zone => z, backfill => true)
FROM unnest(ARRAY['Atlantic/Azores', 'America/Santiago', 'Africa/Cairo', 'Australia/Lord_Howe']) z;
UPDATE topk.pipelines SET clock = '2024-09-12 00:00+00';
CALL topk.run('atlantic_azores');
CALL topk.run('america_santiago');
CALL topk.run('africa_cairo');
CALL topk.run('australia_lord_howe');

-- Every final hour and day against GROUP BY over the source, in the zone.
CREATE FUNCTION check_zone(pipeline text)
RETURNS TABLE (granularity text, windows bigint, shortest interval, longest interval, mismatches bigint)
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines;
    g text;
BEGIN
    SELECT * INTO p FROM topk.pipelines WHERE name = pipeline;
    FOREACH g IN ARRAY ARRAY['hour', 'day'] LOOP
        RETURN QUERY EXECUTE format($q$
            WITH b AS (SELECT window_start, window_end, item, count FROM %1$I.batch_table WHERE granularity = $1),
            s AS (SELECT topk.window_start($1, at, %2$L) AS window_start, item, count(*) AS count FROM events
                  WHERE topk.window_end($1, topk.window_start($1, at, %2$L), %2$L)
                        <= (SELECT done_until FROM topk.progress WHERE pipeline = %3$L AND granularity = $1)
                  GROUP BY 1, 2)
            SELECT $1, (SELECT count(DISTINCT window_start) FROM b), (SELECT min(window_end - window_start) FROM b),
                   (SELECT max(window_end - window_start) FROM b),
                   (SELECT count(*) FROM ((SELECT window_start, item, count FROM b EXCEPT ALL SELECT * FROM s)
                                          UNION ALL (SELECT * FROM s EXCEPT ALL SELECT window_start, item, count FROM b)) d)$q$,
            p.name, p.time_zone, p.name) USING g;
    END LOOP;
END $$;
SELECT p.name, c.* FROM topk.pipelines p, check_zone(p.name) c ORDER BY 1, 2;
-- The batch got through: every granularity is final up to the clock (in the zone).
SELECT pipeline, granularity, done_until AT TIME ZONE p.time_zone AS done_until_local
FROM topk.progress JOIN topk.pipelines p ON p.name = pipeline
WHERE granularity IN ('hour', 'day') ORDER BY 1, 2;
SELECT count(*) AS failed_tasks FROM topk.job_log WHERE status = 'failed';
-- The days of the changes, as the dashboards list them.
SELECT window_start AT TIME ZONE 'Atlantic/Azores' AS azores_day, window_end - window_start AS length, sum(count) AS events
FROM atlantic_azores.batch_table WHERE granularity = 'day' AND window_start BETWEEN '2024-03-30' AND '2024-04-01'
GROUP BY 1, 2 ORDER BY 1;
SELECT window_start AT TIME ZONE 'Australia/Lord_Howe' AS lord_howe_hour, window_end - window_start AS length
FROM australia_lord_howe.batch_table WHERE granularity = 'hour' AND window_start BETWEEN '2024-04-06 14:00+00' AND '2024-04-06 16:30+00'
GROUP BY 1, 2 ORDER BY 1;
