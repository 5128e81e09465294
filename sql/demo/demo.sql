-- The demo dashboard (run by `make demo` in its private cluster).
\pset footer off
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS sales CASCADE;
DROP EXTENSION IF EXISTS topk_pg CASCADE;
CREATE EXTENSION topk_pg;
SELECT topk_pg_version() AS "topk_pg version";

-- A week of sample sales events: popular products follow a power law (a few sell a
-- lot, most rarely), users are uniform. Deterministic: the same rows every run.
DROP TABLE IF EXISTS sales_events;
CREATE TABLE sales_events (
    event_time  timestamptz NOT NULL,
    product_id  bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    quantity    int         NOT NULL
);
SELECT setseed(0.42) \g /dev/null
INSERT INTO sales_events
SELECT timestamptz '2024-01-01 00:00+00' + random() * interval '7 days',
       floor(exp(random() * ln(50000)))::bigint,
       1 + floor(random() * 200000)::bigint,
       1 + floor(random() ^ 3 * 5)::int
FROM generate_series(1, 300000);
ANALYZE sales_events;
SELECT count(*) AS "sample events loaded" FROM sales_events;

\echo
\echo 'Top 10 products this week from one space-saving sketch (count - error <= true count <= count),'
\echo 'with distinct buyers per product from HyperLogLog sketches'
WITH top AS (SELECT * FROM topk_items((SELECT topk_agg(product_id) FROM sales_events), 10))
SELECT top.rank, top.item AS product_id, top.count AS sales, top.error, top.guaranteed,
       b.buyers
FROM top
JOIN LATERAL (SELECT hll_count(hll_agg(user_id)) AS buyers
              FROM sales_events WHERE product_id = top.item) b ON true
ORDER BY top.rank;

\echo 'Unique buyers per day: daily hll sketches, rolled up into the week with hll_merge_agg'
CREATE TEMP TABLE daily AS
SELECT date_trunc('day', event_time) AS day, hll_agg(user_id) AS buyers
FROM sales_events GROUP BY 1;
SELECT to_char(day, 'YYYY-MM-DD') AS day, hll_count(buyers) AS unique_buyers,
       round(100 * hll_stderr(buyers)::numeric, 2) AS "stderr %"
FROM daily ORDER BY day;
SELECT hll_count(hll_merge_agg(buyers)) AS "unique buyers this week (merged)",
       (SELECT count(DISTINCT user_id) FROM sales_events) AS "exact"
FROM daily;

\echo
\echo 'The pipeline: capture sales_events, fold them into speed sketches, roll exact counts up'
\echo 'hour -> day -> week; dashboards read sales.top_1000 (clock set to 2024-01-07 12:00 UTC)'
SELECT topk.create_pipeline('sales', 'sales_events', 'product_id', 'event_time',
                            distinct_column => 'user_id', backfill => true) \g /dev/null
UPDATE topk.pipelines SET clock = '2024-01-07 12:00+00' WHERE name = 'sales';
CALL topk.run('sales');
\echo 'Top 10 products on 2024-01-06 (finished by the batch: exact) and 2024-01-07 (today: speed path)'
SELECT window_start::date AS day, rank, item AS product_id, count AS sales, error, source
FROM sales.top_1000
WHERE granularity = 'day' AND window_start IN ('2024-01-06', '2024-01-07') AND rank <= 10
ORDER BY window_start, rank;
\echo 'Pipeline status'
SELECT pipeline, lag, last_hour, last_day, failures_last_day FROM topk.pipeline_status;
