-- Capturing events: a statement-level trigger pre-aggregates each statement's rows
-- (through its transition table) by hour and item, so a COPY of 1M rows adds a few
-- thousand delta rows, not 1M, and everything folds in exactly. (What capture costs
-- the writer is measured by the benchmark, scripts/bench.sh, never by a test.)
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';

CREATE TABLE plain_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_time   timestamptz NOT NULL,
    product_id   bigint      NOT NULL,
    user_id      bigint      NOT NULL,
    amount_cents integer     NOT NULL
);
CREATE TABLE piped_events (LIKE plain_events INCLUDING ALL);
SELECT topk.create_pipeline('capture', 'piped_events', 'product_id', 'event_time');
SELECT tgname, tgtype & 1 = 0 AS for_each_statement, tgnewtable FROM pg_trigger
WHERE tgrelid = 'piped_events'::regclass;

-- An hour of sales: 1M events over 20,000 products (a power law), 200,000 users.
COPY (SELECT timestamptz '2024-01-01 10:00+00' + (g % 3600) * interval '1 second',
             floor(exp((g * 0.6180339887 - floor(g * 0.6180339887)) * ln(20000)))::bigint,
             (g::bigint * 7919) % 200000,
             100 + g % 5000
      FROM generate_series(1, 1000000) g) TO '/tmp/topk_pg_regress_capture.copy';

COPY piped_events (event_time, product_id, user_id, amount_cents) FROM '/tmp/topk_pg_regress_capture.copy';

-- What the trigger wrote for the COPY: one row per (hour, item) and path.
SELECT count(*) AS events FROM piped_events;
SELECT count(*) AS speed_delta_rows, sum(events) AS events FROM capture.speed_delta;
SELECT count(*) AS batch_delta_rows, sum(events) AS events FROM capture.batch_delta;
-- And it all folds in exactly.
UPDATE topk.pipelines SET clock = '2024-01-01 11:05+00' WHERE name = 'capture';
CALL topk.run('capture');
SELECT count(*) AS mismatches
FROM capture.batch_table b
FULL JOIN (SELECT product_id AS item, count(*) AS count FROM piped_events GROUP BY 1) s USING (item)
WHERE b.granularity IS DISTINCT FROM 'hour' OR b.count IS DISTINCT FROM s.count;
SELECT rank, item, count, source FROM capture.top_1000 WHERE granularity = 'hour' ORDER BY rank LIMIT 3;
\! rm -f /tmp/topk_pg_regress_capture.copy
