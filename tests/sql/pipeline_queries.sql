-- topk_range is honest: a range of whole final windows is exact; the parts of hours at
-- its edges are read from the source (exact); where they cannot be (retention removed the
-- raw events, the caller may not read the source, kappa), or where windows are open, the
-- answer says exact = false and count - error <= the true count <= count holds for every
-- item. Each check compares with GROUP BY over a copy of the events taken before retention.
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- Two days of clicks, one every 10 seconds, products 1..30 (low numbers most), weighted
-- by quantity 1..5.
CREATE TABLE clicks (at timestamptz NOT NULL, product int NOT NULL, quantity int NOT NULL);
INSERT INTO clicks
SELECT t, 1 + (n % 61) * (n % 61) / 125, 1 + n % 5
FROM generate_series(timestamptz '2024-03-01 00:00+00', '2024-03-02 23:59:50+00', interval '10 seconds') AS t,
     LATERAL (SELECT extract(epoch FROM t)::bigint / 10 AS n) AS x;
CREATE TABLE truth AS SELECT * FROM clicks;

SELECT topk.create_pipeline('views', 'clicks', 'product', 'at', backfill => true);
SELECT topk.create_pipeline('units', 'clicks', 'product', 'at', weight_column => 'quantity', backfill => true);
SELECT topk.create_pipeline('glance', 'clicks', 'product', 'at', mode => 'kappa', backfill => true);
-- The batch has finished 2024-03-01 and the hours of 2024-03-02 up to 12:00.
UPDATE topk.pipelines SET clock = '2024-03-02 12:05+00';
CALL topk.run('views');
CALL topk.run('units');
CALL topk.run('glance');

-- One range of one pipeline against the truth: whether it is exact, the items it gives,
-- the items whose bounds fail (count - error > true count or true count > count), and for
-- an exact answer the items whose count is not the true count or whose error is not 0.
CREATE FUNCTION check_range(pipeline text, lo timestamptz, hi timestamptz)
RETURNS TABLE (exact boolean, items bigint, out_of_bounds bigint, inexact bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        WITH answer AS (SELECT * FROM %I.topk_range($1, $2, 1000)),
        true_counts AS (
            SELECT product AS item, sum(CASE WHEN %L = 'units' THEN quantity ELSE 1 END) AS count
            FROM truth WHERE at >= $1 AND at < $2 GROUP BY 1)
        SELECT bool_and(a.exact), count(a.item),
               count(*) FILTER (WHERE coalesce(a.count, 0) - coalesce(a.error, 0) > coalesce(t.count, 0)
                                   OR coalesce(t.count, 0) > coalesce(a.count, 0)),
               count(*) FILTER (WHERE a.exact AND (a.count IS DISTINCT FROM t.count OR a.error <> 0))
        FROM answer a FULL JOIN true_counts t ON t.item = a.item$q$, pipeline, pipeline)
    USING lo, hi;
END $$;

-- 1. Whole final windows: exact, no source read needed.
SELECT * FROM check_range('views', '2024-03-01', '2024-03-02 06:00');
-- 2. Edges inside final hours (10:30-11:15): exact, the edges come from the source.
SELECT * FROM check_range('views', '2024-03-01 10:30', '2024-03-01 11:15');
SELECT * FROM check_range('units', '2024-03-01 10:30', '2024-03-01 11:15');
-- Within one hour, and across one hour boundary.
SELECT * FROM check_range('views', '2024-03-01 10:15', '2024-03-01 10:45');
SELECT * FROM check_range('units', '2024-03-01 10:59:55', '2024-03-01 11:00:05');
-- A range over days, with odd edges.
SELECT * FROM check_range('units', '2024-02-28 23:17', '2024-03-02 09:41:13');
SELECT rank, item, count, error, exact FROM views.topk_range('2024-03-01 10:30', '2024-03-01 11:15', 3);
SELECT product AS item, count(*) FROM truth
WHERE at >= '2024-03-01 10:30' AND at < '2024-03-01 11:15' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3;
-- 3. Into the hours the batch has not finished (speed sketches, and a partial open hour
-- from the source): not exact, bounds hold.
SELECT * FROM check_range('views', '2024-03-02 10:30', '2024-03-02 20:00');
SELECT * FROM check_range('units', '2024-03-01 22:00', '2024-03-02 23:00');
-- 4. Kappa: no batch; whole hours from the speed sketches, edges from the source.
SELECT * FROM check_range('glance', '2024-03-01 10:00', '2024-03-01 14:00');
SELECT * FROM check_range('glance', '2024-03-01 10:30', '2024-03-01 11:15');

-- 5. A reader who may read the pipeline but not the source: the edges are bounded by
-- their hours (exact = false), whole windows stay exact.
CREATE ROLE range_reader;
SELECT topk.grant_read('views', 'range_reader');
GRANT SELECT ON truth TO range_reader;
SET ROLE range_reader;
SELECT * FROM check_range('views', '2024-03-01 10:30', '2024-03-01 11:15');
SELECT * FROM check_range('views', '2024-03-01 10:00', '2024-03-01 11:00');
RESET ROLE;

-- 6. Retention removes the hourly windows of 2024-03-01 (its events stay): the hours
-- inside a range are read from the source, exact.
UPDATE topk.pipelines SET keep_hours = '1 hour' WHERE name IN ('views', 'units');
UPDATE topk.pipelines SET clock = '2024-03-03 01:05+00';
CALL topk.run('views');
CALL topk.run('units');
SELECT pipeline, granularity, purged_until FROM topk.progress
WHERE granularity = 'hour' AND pipeline IN ('views', 'units') ORDER BY 1;
SELECT count(*) AS hourly_rows_left FROM views.batch_table WHERE granularity = 'hour' AND window_start < '2024-03-02';
SELECT * FROM check_range('views', '2024-03-01 03:00', '2024-03-01 05:00');
SELECT * FROM check_range('units', '2024-03-01 10:30', '2024-03-02 11:15');
-- 7. Then it removes the raw events of 2024-03-01 too: those hours can only be bounded
-- by their day (exact = false, bounds hold); whole days stay exact.
UPDATE topk.pipelines SET keep_raw_events = '1 day' WHERE name IN ('views', 'units');
CALL topk.run('views');
CALL topk.run('units');
SELECT count(*) AS raw_events_left, min(at) FROM clicks;
SELECT * FROM check_range('views', '2024-03-01 03:00', '2024-03-01 05:00');
SELECT * FROM check_range('units', '2024-03-01 10:30', '2024-03-02 11:15');
SELECT * FROM check_range('views', '2024-03-01', '2024-03-03');

-- 8. A timestamp (without time zone) source in Europe/Berlin: edges exact there too.
CREATE TABLE local_clicks (at timestamp NOT NULL, product int NOT NULL);
INSERT INTO local_clicks SELECT at AT TIME ZONE 'Europe/Berlin', product FROM truth;
SELECT topk.create_pipeline('local', 'local_clicks', 'product', 'at', time_zone => 'Europe/Berlin', backfill => true);
UPDATE topk.pipelines SET clock = '2024-03-02 12:05+00' WHERE name = 'local';
CALL topk.run('local');
SELECT * FROM check_range('local', '2024-03-01 10:30', '2024-03-01 11:15');
SELECT * FROM check_range('local', '2024-03-01 09:59:30', '2024-03-02 01:00:01');

-- 9. Bounds that are not moments are refused; empty ranges are empty.
SELECT * FROM views.topk_range('-infinity', '2024-03-02', 3);
SELECT count(*) FROM views.topk_range('2024-03-02', '2024-03-01', 3);
SELECT count(*) FROM views.topk_range('2024-03-01', '2024-03-02', 0);
