-- Pipeline variants: weighted (revenue), kappa mode, time zones (weeks start on
-- Monday), retention, backfill of existing rows, and the accuracy of a small sketch.
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set SHOW_CONTEXT never

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
                WHERE e.%2$I < $2 AND topk.window_end($1, topk.window_start($1, e.%2$I, %5$L), %5$L) > $3 AND %7$s
                GROUP BY 1, 2
            )
            SELECT $1, (SELECT count(DISTINCT window_start) FROM b), (SELECT count(*) FROM b),
                   (SELECT count(*) FROM ((SELECT * FROM b EXCEPT ALL SELECT * FROM s)
                                          UNION ALL (SELECT * FROM s EXCEPT ALL SELECT * FROM b)) d)$q$,
            p.name, p.time_column, p.item_column,
            CASE WHEN p.weight_column IS NULL THEN 'count(*)' ELSE format('sum(e.%I)', p.weight_column) END,
            p.time_zone, p.source,
            CASE WHEN p.weight_column IS NULL THEN 'true' ELSE format('e.%I >= 0', p.weight_column) END)
        USING g.granularity, g.done_until, g.purged;
    END LOOP;
END $$;

-- Orders: sku-1 sells often and cheap, sku-9 rarely and dear.
CREATE TABLE orders (ordered_at timestamptz NOT NULL, sku text NOT NULL, cents integer NOT NULL);
CREATE FUNCTION load_orders(from_time timestamptz, to_time timestamptz) RETURNS bigint
LANGUAGE sql AS $$
    WITH inserted AS (
        INSERT INTO orders
        SELECT t, 'sku-' || s, s * s * s * 100
        FROM generate_series(from_time, to_time - interval '1 second', interval '1 minute') t,
             LATERAL (SELECT 1 + (extract(epoch FROM t)::bigint / 60 % 45) AS n) x,
             LATERAL (SELECT CASE WHEN n <= 20 THEN 1 WHEN n <= 30 THEN 2 WHEN n <= 37 THEN 3
                                  WHEN n <= 41 THEN 5 WHEN n <= 44 THEN 7 ELSE 9 END AS s) y
        RETURNING 1)
    SELECT count(*) FROM inserted
$$;

-- Three pipelines on one source: by revenue, by count in kappa mode, and by count with
-- windows aligned in India (UTC+05:30).
SELECT topk.create_pipeline('revenue', 'orders', 'sku', 'ordered_at', weight_column => 'cents', k => 3);
SELECT topk.create_pipeline('kap', 'orders', 'sku', 'ordered_at', k => 3, mode => 'kappa');
SELECT topk.create_pipeline('india', 'orders', 'sku', 'ordered_at', k => 2, time_zone => 'Asia/Kolkata');
UPDATE topk.pipelines SET clock = '2024-01-03 00:10+00';
SELECT name, weight_column, k, mode, time_zone FROM topk.pipelines ORDER BY name;
SELECT count(*) AS capture_triggers FROM pg_trigger WHERE tgrelid = 'orders'::regclass;
SELECT load_orders('2024-01-01 00:00+00', '2024-01-02 00:00+00');
SELECT load_orders('2024-01-02 00:00+00', '2024-01-03 00:00+00');
CALL topk.run('revenue');
CALL topk.run('kap');
CALL topk.run('india');

-- Weighted: ranked by the sum of cents, not by the number of orders.
SELECT rank, item, count, error, source FROM revenue.top_3
WHERE granularity = 'day' AND window_start = '2024-01-01' ORDER BY rank;
SELECT sku, count(*) AS orders, sum(cents) AS revenue FROM orders
WHERE ordered_at >= '2024-01-01' AND ordered_at < '2024-01-02' GROUP BY sku ORDER BY revenue DESC LIMIT 3;
SELECT item, count AS cents, events AS orders FROM revenue.batch_table
WHERE granularity = 'day' AND window_start = '2024-01-01' ORDER BY count DESC LIMIT 3;
SELECT * FROM check_exact('revenue');
SELECT rank, item, count, exact FROM revenue.topk_range('2024-01-01 12:00', '2024-01-02 12:00', 2);
-- A refund (a negative weight) is the application's to write: it is stored, and the
-- pipeline leaves it out of its sums and counts it as rejected.
INSERT INTO orders VALUES ('2024-01-02 10:00', 'refund', -500);
CALL topk.run('revenue');
SELECT pipeline, rejected_events FROM topk.pipeline_status WHERE pipeline = 'revenue';
SELECT hour, events FROM revenue.rejects;
SELECT * FROM check_exact('revenue');

-- Kappa: the speed path only. Sketches merge up the granularities; run_batch closes
-- windows (for status and retention) and writes no batch rows.
SELECT granularity, source, count(*) AS list_rows FROM kap.top_3 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT rank, item, count, error, source FROM kap.top_3
WHERE granularity = 'day' AND window_start = '2024-01-02' ORDER BY rank;
SELECT granularity, window_start, events FROM kap.speed_table ORDER BY 1, 2;
SELECT count(*) AS batch_rows FROM kap.batch_table;
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'kap' ORDER BY done_until, granularity;
SELECT task, window_start, window_end, rows_read, rows_written FROM topk.job_log
WHERE pipeline = 'kap' AND task <> 'speed' ORDER BY id;
SELECT rank, item, count, exact FROM kap.topk_range('2024-01-01', '2024-01-03', 3);
SELECT * FROM topk.accuracy('kap', 'day', '2024-01-01');
CALL topk.rollup('kap', 'day', '2024-01-02');

-- Time zones: hours start at :30 UTC and days at 18:30 UTC in India; weeks start on
-- Monday (2024-01-01 is one).
SELECT granularity, window_start, window_end, source FROM india.top_2
WHERE rank = 1 AND granularity <> 'hour' ORDER BY 1, 2;
SELECT window_start, window_end FROM india.top_2
WHERE granularity = 'hour' AND rank = 1 ORDER BY 1 LIMIT 2;
CALL topk.run('india');   -- the refund is an order (a late one) for the pipelines that count orders
SELECT * FROM check_exact('india');
SELECT granularity, topk.window_start(granularity, '2024-03-10 12:00-05', 'America/New_York') AS start,
       topk.window_end(granularity, topk.window_start(granularity, '2024-03-10 12:00-05', 'America/New_York'),
                       'America/New_York')
     - topk.window_start(granularity, '2024-03-10 12:00-05', 'America/New_York') AS length
FROM topk.granularities ORDER BY level;

-- Backfill: a pipeline created on a table with rows takes them in, exactly once.
SELECT topk.create_pipeline('history', 'orders', 'sku', 'ordered_at', k => 3, backfill => true);
UPDATE topk.pipelines SET clock = '2024-01-03 00:10+00' WHERE name = 'history';
SELECT first_hour, last_hour, (SELECT count(*) FROM orders) AS orders FROM history.changes;
CALL topk.run_batch('history');
SELECT * FROM check_exact('history');

-- Accuracy of a small sketch (capacity 8 for 40 items): recall and errors of the speed
-- top-k, measured when the batch finishes the window.
CREATE TABLE views (at timestamptz NOT NULL, video integer NOT NULL);
SELECT topk.create_pipeline('small', 'views', 'video', 'at', k => 4, capacity => 8);
UPDATE topk.pipelines SET clock = '2024-01-01 00:00+00' WHERE name = 'small';
DO $$
BEGIN
    FOR m IN 0..59 LOOP   -- one statement a minute, run_speed every 10 minutes
        INSERT INTO views
        SELECT '2024-01-01'::timestamptz + g * interval '1 second', 1 + (g * g) % 1009 % 40
        FROM generate_series(m * 60, m * 60 + 59) g;
        IF m % 10 = 9 THEN
            COMMIT;
            CALL topk.run_speed('small');
        END IF;
    END LOOP;
END $$;
SELECT rank, item, count, error FROM small.top_4 WHERE granularity = 'hour' ORDER BY rank;
UPDATE topk.pipelines SET clock = '2024-01-01 01:05+00' WHERE name = 'small';
CALL topk.run_batch('small');
SELECT rank, item, count, error, source FROM small.top_4 WHERE granularity = 'hour' ORDER BY rank;
SELECT * FROM topk.accuracy('small', 'hour', '2024-01-01');
SELECT u.* FROM small.superseded_speed_lists s, unnest(s.items, s.counts, s.errors) WITH ORDINALITY AS u(item, count, error, rank)
ORDER BY rank;

-- Retention: raw events older than 2 days, hourly rows older than 1 day, once the
-- windows above them are final.
CREATE TABLE taps (at timestamptz NOT NULL, button text NOT NULL);
SELECT topk.create_pipeline('ret', 'taps', 'button', 'at', k => 2);
UPDATE topk.pipelines SET keep_raw_events = '2 days', keep_hours = '1 day' WHERE name = 'ret';
INSERT INTO taps SELECT '2024-01-01'::timestamptz + g * interval '10 minutes', chr(65 + g % 3)
FROM generate_series(0, 3 * 144 + 71) g;   -- three and a half days, 144 taps a day
UPDATE topk.pipelines SET clock = '2024-01-04 12:00+00' WHERE name = 'ret';
CALL topk.run('ret');
SELECT granularity, done_until, purged_until FROM topk.progress WHERE pipeline = 'ret' AND granularity IN ('hour', 'day');
SELECT min(at), count(*) AS raw_events FROM taps;
SELECT granularity, min(window_start), max(window_start), count(DISTINCT window_start) AS windows
FROM ret.batch_table GROUP BY 1 ORDER BY 1;
SELECT granularity, count(DISTINCT window_start) AS listed_windows FROM ret.top_2 GROUP BY 1 ORDER BY 1;
SELECT window_start, sum(count) AS taps FROM ret.batch_table WHERE granularity = 'day' GROUP BY 1 ORDER BY 1;
SELECT task, rows_written FROM topk.job_log WHERE pipeline = 'ret' AND task = 'retention';
-- A late tap in an hour whose raw events retention removed: that hour cannot be read
-- again, so the tap is not counted, and the windows keep their counts.
INSERT INTO taps VALUES ('2024-01-01 05:30', 'Z');
CALL topk.run('ret');
SELECT granularity, window_start, item, count FROM ret.batch_table WHERE item = 'Z' ORDER BY 1, 2;
-- The days whose raw events retention removed keep their counts.
SELECT window_start, sum(count) AS taps FROM ret.batch_table WHERE granularity = 'day' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS speed_rows_for_old_hours FROM ret.speed_table WHERE granularity = 'hour' AND window_start < '2024-01-03';
-- Kappa: keep_speed drops the sketches of final windows; their lists stay.
UPDATE topk.pipelines SET keep_speed = '1 day' WHERE name = 'kap';
UPDATE topk.pipelines SET clock = '2024-01-05 00:10+00' WHERE name = 'kap';
CALL topk.run_batch('kap');
SELECT granularity, window_start FROM kap.speed_table ORDER BY 1, 2;
SELECT granularity, count(DISTINCT window_start) AS listed_windows FROM kap.top_3 GROUP BY 1 ORDER BY 1;

-- Settings are checked.
\set VERBOSITY terse
UPDATE topk.pipelines SET allowed_lateness = '-1 minute' WHERE name = 'ret';
UPDATE topk.pipelines SET time_zone = 'Europe/Paris' WHERE name = 'ret';

-- Backfill together with distinct counts.
CREATE TABLE visits (t timestamptz NOT NULL, page bigint NOT NULL, visitor bigint);
INSERT INTO visits SELECT timestamptz '2024-03-01 00:00+00' + g * interval '1 minute', g % 5, g % 17
FROM generate_series(0, 599) g;
SELECT topk.create_pipeline('visits_p', 'visits', 'page', 't', distinct_column => 'visitor', backfill => true);
UPDATE topk.pipelines SET clock = '2024-03-02 00:10+00' WHERE name = 'visits_p';
CALL topk.run('visits_p');
SELECT granularity, window_start, distinct_count FROM visits_p.distinct_counts WHERE granularity = 'day';
SELECT rank, item, count, source FROM visits_p.top_1000 WHERE granularity = 'day' ORDER BY rank;
SELECT topk.drop_pipeline('visits_p');
