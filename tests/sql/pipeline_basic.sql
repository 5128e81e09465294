-- The Lambda pipeline end to end: a day and a half of synthetic sales flowing
-- speed → hour → day → week → month → year, every object of a pipeline, and the
-- guarantees: batch rows equal GROUP BY over the source, one source per window, the
-- dashboard read path is an index scan.
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';

CREATE TABLE sales_events (
    event_time   timestamptz NOT NULL,
    product_id   bigint      NOT NULL,
    user_id      bigint      NOT NULL,
    amount_cents integer     NOT NULL
);

-- One sale every 20 seconds. Products 1..39, the low numbers most; from 2024-01-02 on product 42
-- goes viral. Users come from a pool of 400. Deterministic: pure arithmetic.
CREATE FUNCTION load_events(from_time timestamptz, to_time timestamptz) RETURNS bigint
LANGUAGE sql AS $$
    WITH inserted AS (
        INSERT INTO sales_events
        SELECT t,
               CASE WHEN t >= '2024-01-02' AND n % 4 = 0 THEN 42
                    ELSE 1 + (n % 97) * (n % 97) / 240 END,
               1 + (n * 13) % 400,
               100 + (n % 7) * 250
        FROM generate_series(from_time, to_time - interval '1 second', interval '20 seconds') AS t,
             LATERAL (SELECT (extract(epoch FROM t)::bigint / 20) AS n) AS x
        RETURNING 1)
    SELECT count(*) FROM inserted
$$;

-- What the scheduler does: every `step`, events arrive, the clock moves, run_speed
-- and run_batch run.
CREATE PROCEDURE simulate(from_time timestamptz, to_time timestamptz, step interval)
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := from_time;
BEGIN
    WHILE t < to_time LOOP
        PERFORM load_events(t, t + step);
        UPDATE topk.pipelines SET clock = t + step WHERE name = 'shop';
        COMMIT;
        CALL topk.run_speed('shop');
        CALL topk.run_batch('shop');
        t := t + step;
    END LOOP;
END $$;

-- 1. Create the pipeline: a schema with its tables, views and functions.
SELECT topk.create_pipeline('shop', 'sales_events', 'product_id', 'event_time', distinct_column => 'user_id');

-- For every final window of every granularity: rows where the batch and a GROUP BY
-- over the source disagree (both ways).
CREATE FUNCTION batch_vs_group_by() RETURNS TABLE (granularity text, windows bigint, batch_rows bigint, mismatches bigint)
LANGUAGE sql AS $$
    SELECT pr.granularity,
           (SELECT count(DISTINCT b.window_start) FROM shop.batch_table b WHERE b.granularity = pr.granularity),
           (SELECT count(*) FROM shop.batch_table b WHERE b.granularity = pr.granularity),
           (SELECT count(*) FROM (
               (SELECT b.window_start, b.item, b.count FROM shop.batch_table b WHERE b.granularity = pr.granularity
                EXCEPT ALL
                SELECT topk.window_start(pr.granularity, e.event_time), e.product_id, count(*)
                FROM sales_events e WHERE e.event_time < pr.done_until GROUP BY 1, 2)
               UNION ALL
               (SELECT topk.window_start(pr.granularity, e.event_time), e.product_id, count(*)
                FROM sales_events e WHERE e.event_time < pr.done_until GROUP BY 1, 2
                EXCEPT ALL
                SELECT b.window_start, b.item, b.count FROM shop.batch_table b WHERE b.granularity = pr.granularity)) d)
    FROM topk.progress pr JOIN topk.granularities g USING (granularity)
    WHERE pr.pipeline = 'shop'
    ORDER BY g.level
$$;

-- Windows whose top_1000 list differs from the exact top list by GROUP BY (the speed
-- sketches are exact here: fewer items than their capacity).
CREATE FUNCTION lists_vs_group_by() RETURNS TABLE (granularity text, source text, windows bigint, rows bigint, mismatches bigint)
LANGUAGE sql AS $$
    WITH exact AS (
        SELECT g.granularity, topk.window_start(g.granularity, e.event_time) AS window_start,
               e.product_id AS item, count(*) AS count
        FROM sales_events e CROSS JOIN topk.granularities g
        GROUP BY 1, 2, 3
    ), ranked AS (
        SELECT *, row_number() OVER (PARTITION BY granularity, window_start ORDER BY count DESC, item) AS rank
        FROM exact
    )
    SELECT t.granularity, t.source, count(DISTINCT t.window_start), count(*),
           count(*) FILTER (WHERE r.item IS DISTINCT FROM t.item OR r.count IS DISTINCT FROM t.count OR t.error <> 0)
    FROM shop.top_1000 t
    LEFT JOIN ranked r USING (granularity, window_start, rank)
    GROUP BY 1, 2
    ORDER BY 1, 2
$$;

SELECT name, source, item_column, time_column, weight_column, distinct_column, k, mode, item_type,
       time_zone, capacity, allowed_lateness, clock
FROM topk.pipelines;
SELECT c.relname, c.relkind FROM pg_class c
WHERE c.relnamespace = 'shop'::regnamespace AND c.relkind IN ('r', 'v') ORDER BY 1;
SELECT p.oid::regprocedure AS function, p.prosecdef AS security_definer, p.proconfig
FROM pg_proc p WHERE p.pronamespace = 'shop'::regnamespace ORDER BY p.proname;
SELECT tgname, tgtype, pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE tgrelid = 'sales_events'::regclass;
SELECT granularity, done_until FROM topk.progress ORDER BY granularity;

-- 2. The first half hour: each statement marks the hours it touched (a row per run of
-- hours in shop.changes); the rows stay in the source, which the runs read.
UPDATE topk.pipelines SET clock = '2024-01-01 00:30+00' WHERE name = 'shop';
SELECT load_events('2024-01-01 00:00+00', '2024-01-01 00:10+00');
SELECT load_events('2024-01-01 00:10+00', '2024-01-01 00:30+00');
SELECT first_hour, last_hour, to_timestamp(first_hour * 3600) AS hour FROM shop.changes ORDER BY 1;
SELECT pipeline, mode, lag > interval '0' AS lagging, pending_changes, last_hour, last_day FROM topk.pipeline_status;

-- The speed path: sketches per window, lists from them; the dashboard reads speed rows.
CALL topk.run_speed('shop');
SELECT (SELECT count(*) FROM shop.changes) AS marks_left, hour, speed, batch FROM shop.stale;
SELECT granularity, window_start, window_end, events, count FROM shop.speed_table ORDER BY granularity;
SELECT item, count, error, source FROM shop.top_1000
WHERE granularity = 'hour' AND window_start = '2024-01-01 00:00+00' ORDER BY rank LIMIT 10;
SELECT granularity, window_start, distinct_count FROM shop.distinct_counts ORDER BY granularity;
SELECT pipeline, lag, pending_changes FROM topk.pipeline_status;

-- Nothing is due yet: run_batch rolls nothing up.
CALL topk.run_batch('shop');
SELECT count(*) AS batch_rows FROM shop.batch_table;
SELECT granularity, done_until, last_done FROM topk.progress ORDER BY done_until, granularity;

-- 3. A day and a half, every 30 minutes: events, run_speed, run_batch.
CALL simulate('2024-01-01 00:30+00', '2024-01-02 12:00+00', '30 minutes');
SELECT count(*) AS events FROM sales_events;
SELECT granularity, done_until, last_done FROM topk.progress ORDER BY granularity;

-- Hours of 2024-01-01 and the day itself are final; 2024-01-02 is still speed.
SELECT granularity, source, count(DISTINCT window_start) AS windows, min(window_start), max(window_start)
FROM shop.top_1000 GROUP BY 1, 2 ORDER BY 1, 2;
-- Never both sources for one window.
SELECT granularity, window_start FROM shop.top_1000
GROUP BY 1, 2 HAVING count(DISTINCT source) > 1;
-- The speed rows the batch superseded are gone.
SELECT granularity, count(*) AS speed_rows, min(window_start), max(window_start)
FROM shop.speed_table GROUP BY 1 ORDER BY 1;

-- Dashboards: top 10 products yesterday (exact) and today (speed), this hour.
SELECT rank, item, count, error, source FROM shop.top_1000
WHERE granularity = 'day' AND window_start = '2024-01-01' ORDER BY rank LIMIT 10;
SELECT rank, item, count, error, source FROM shop.top_1000
WHERE granularity = 'day' AND window_start = '2024-01-02' ORDER BY rank LIMIT 10;
SELECT rank, item, count, source FROM shop.top_1000
WHERE granularity = 'hour' AND window_start = '2024-01-02 11:00' ORDER BY rank LIMIT 3;

-- Guarantee: batch rows are exact; the lists match GROUP BY (speed: exact below capacity).
SELECT * FROM batch_vs_group_by();
SELECT * FROM lists_vs_group_by();

-- Guarantee: the read path is one index scan for the window's precomputed list (a row
-- of arrays), read rank by rank in the order of the ranks' primary key: the first ten
-- ranks are ten reads of the arrays, and nothing is sorted.
EXPLAIN (COSTS OFF)
SELECT item, count FROM shop.top_1000
WHERE granularity = 'day' AND window_start = '2024-01-02' ORDER BY rank LIMIT 10;

-- Distinct users per window, from HyperLogLog sketches merged like the top-K.
SELECT d.granularity, d.window_start, d.distinct_count,
       (SELECT count(DISTINCT user_id) FROM sales_events e
        WHERE e.event_time >= d.window_start AND e.event_time < d.window_end) AS exact
FROM shop.distinct_counts d
WHERE d.granularity <> 'hour' OR d.window_start IN ('2024-01-01 00:00', '2024-01-02 11:00')
ORDER BY 1, 2;

-- Accuracy of the speed path on a finished window (exact here: below capacity).
SELECT * FROM topk.accuracy('shop', 'day', '2024-01-01');
SELECT * FROM topk.accuracy('shop', 'hour', '2024-01-01 13:00');
SELECT * FROM topk.accuracy('shop', 'day', '2024-01-02');

-- Arbitrary ranges: tiled by the coarsest stored windows.
-- Exact: the final day 2024-01-01 plus six final hours.
SELECT * FROM shop.topk_range('2024-01-01', '2024-01-02 06:00', 5);
SELECT product_id AS item, count(*) FROM sales_events
WHERE event_time >= '2024-01-01' AND event_time < '2024-01-02 06:00'
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5;
-- Not exact: reaches into the hour the batch has not finished (merged speed sketches).
SELECT * FROM shop.topk_range('2024-01-01 22:00', '2024-01-02 12:00', 5);
SELECT product_id AS item, count(*) FROM sales_events
WHERE event_time >= '2024-01-01 22:00' AND event_time < '2024-01-02 12:00'
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5;
-- Parts of hours come from the source: exact.
SELECT rank, item, count, exact FROM shop.topk_range('2024-01-01 10:15', '2024-01-01 10:45', 2);
SELECT product_id AS item, count(*) FROM sales_events
WHERE event_time >= '2024-01-01 10:15' AND event_time < '2024-01-01 10:45'
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 2;

-- Trending: today against yesterday (exact), this hour against the previous one.
SELECT * FROM shop.trending('day', 5);
SELECT * FROM shop.trending('hour', 3);

-- Monitoring.
SELECT task, status, count(*) AS runs, sum(rows_read) AS rows_read, sum(rows_written) AS rows_written,
       min(window_start), max(window_end)
FROM topk.job_log WHERE pipeline = 'shop' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT pipeline, mode, lag, pending_changes, last_hour, last_day, last_week, last_month, last_year, failures_last_day
FROM topk.pipeline_status;

-- 4. The clock moves on to February: the empty days of January are final too, so the
-- week of 2024-01-01 and the month of January roll up.
UPDATE topk.pipelines SET clock = '2024-02-01 00:05+00' WHERE name = 'shop';
CALL topk.run('shop');
SELECT granularity, done_until, last_done FROM topk.progress ORDER BY granularity;
SELECT task, window_start, window_end, rows_read, rows_written, status
FROM topk.job_log WHERE pipeline = 'shop' AND task IN ('day', 'week', 'month') ORDER BY id;
SELECT granularity, window_start, window_end, rank, item, count, error, source FROM shop.top_1000
WHERE granularity IN ('week', 'month') AND rank <= 3 ORDER BY 1, 2, 4;
SELECT granularity, window_start FROM shop.speed_table ORDER BY 1, 2;
SELECT * FROM batch_vs_group_by();

-- 5. And to 2025: the year rolls up from its months; no speed rows remain.
UPDATE topk.pipelines SET clock = '2025-01-01 00:05+00' WHERE name = 'shop';
CALL topk.run('shop');
SELECT task, window_start, window_end, rows_read, rows_written
FROM topk.job_log WHERE pipeline = 'shop' AND task = 'year';
SELECT rank, item, count, source FROM shop.top_1000 WHERE granularity = 'year' ORDER BY rank LIMIT 3;
SELECT count(*) AS speed_rows FROM shop.speed_table;
SELECT * FROM batch_vs_group_by();
SELECT * FROM lists_vs_group_by();
SELECT * FROM shop.topk_range('2024-01-01', '2025-01-01', 3);
SELECT pipeline, last_hour, last_day, last_week, last_month, last_year FROM topk.pipeline_status;

-- 6. Errors are clear.
SELECT * FROM topk.accuracy('nope', 'day', '2024-01-01');
CALL topk.run_speed('nope');
CALL topk.rollup('shop', 'day', '2024-01-01');
CALL topk.rollup('shop', 'day', '2025-01-01');
SELECT * FROM shop.trending('fortnight', 3);
SELECT topk.create_pipeline('shop', 'sales_events', 'product_id', 'event_time');
SELECT topk.create_pipeline('shop2', 'sales_events', 'nope', 'event_time');
SELECT topk.create_pipeline('shop2', 'sales_events', 'product_id', 'user_id');
SELECT topk.create_pipeline('shop2', 'sales_events', 'product_id', 'event_time', mode => 'sigma');
SELECT topk.create_pipeline('shop2', 'sales_events', 'product_id', 'event_time', time_zone => 'Mars/Olympus');
UPDATE topk.pipelines SET k = 10 WHERE name = 'shop';

-- 7. drop_pipeline removes it all; inserts go on without capture.
SELECT topk.drop_pipeline('shop');
SELECT count(*) AS pipelines FROM topk.pipelines;
SELECT count(*) AS progress_rows FROM topk.progress;
SELECT count(*) AS log_rows FROM topk.job_log;
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 'shop';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'sales_events'::regclass;
SELECT load_events('2024-03-01', '2024-03-01 00:01');
