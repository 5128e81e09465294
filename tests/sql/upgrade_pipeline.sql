-- A pipeline created by 0.3.0, with events it has folded, events still in its deltas and
-- pg_cron-style runs, goes on exactly after ALTER EXTENSION topk_pg UPDATE: its windows
-- are kept, recomputed from the source by the next run, and from then on every change
-- of the source (also UPDATE and DELETE, which 0.3.0 did not see) is reflected.
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION topk_pg VERSION '0.3.0';

CREATE TABLE sales (at timestamptz NOT NULL, product integer NOT NULL, buyer integer, cents integer NOT NULL);
SELECT topk.create_pipeline('shop', 'sales', 'product', 'at', k => 5, distinct_column => 'buyer');
SELECT topk.create_pipeline('revenue', 'sales', 'product', 'at', weight_column => 'cents', k => 3);
UPDATE topk.pipelines SET clock = '2024-01-02 00:10+00';
INSERT INTO sales SELECT timestamptz '2024-01-01' + g * interval '20 seconds', 1 + g * g % 13, g % 97, 100 + g % 50
FROM generate_series(0, 4319) g;
CALL topk.run('shop');
CALL topk.run('revenue');
-- Not yet folded when the update comes: in the 0.3.0 deltas.
INSERT INTO sales SELECT timestamptz '2024-01-02' + g * interval '1 minute', 1 + g % 4, g % 7, 10
FROM generate_series(0, 599) g;
CREATE TABLE before AS
SELECT 'shop' AS pipeline, granularity, window_start, item, count FROM shop.batch_table
UNION ALL SELECT 'revenue', granularity, window_start, item, count FROM revenue.batch_table;
-- A dashboard's view on the list, a reader, and the lists as they are.
CREATE VIEW shop_dashboard AS SELECT window_start, rank, item, count FROM shop.top_5 WHERE granularity = 'day';
CREATE ROLE regress_upgrade_reader;
SELECT topk.grant_read('shop', 'regress_upgrade_reader');
GRANT SELECT ON shop_dashboard TO regress_upgrade_reader;
CREATE TABLE lists_before AS
SELECT granularity, window_start, rank, item, count, error, source FROM shop.top_5;
CREATE TABLE superseded_before AS
SELECT granularity, window_start, rank, item, count, error FROM shop.superseded_speed_lists;

ALTER EXTENSION topk_pg UPDATE TO '0.4.0';
SELECT extversion FROM pg_extension WHERE extname = 'topk_pg';
-- The pipelines are there, with their new change marks and capture triggers.
SELECT name, item_column, item_attnum, time_attnum, weight_attnum, distinct_attnum, weight_type, distinct_type
FROM topk.pipelines ORDER BY name;
SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'shop'::regnamespace AND c.relkind = 'r' ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'sales'::regclass ORDER BY 1;
-- Its windows are kept until the next run.
SELECT count(*) AS kept_rows FROM before b
WHERE b.count = (SELECT count FROM shop.batch_table s WHERE b.pipeline = 'shop' AND s.granularity = b.granularity
                 AND s.window_start = b.window_start AND s.item = b.item)
   OR b.count = (SELECT count FROM revenue.batch_table s WHERE b.pipeline = 'revenue' AND s.granularity = b.granularity
                 AND s.window_start = b.window_start AND s.item = b.item);
SELECT count(*) AS rows_before FROM before;
-- The lists are kept (a row per window now), the dashboard's view and the reader's
-- grants too.
SELECT (SELECT count(*) FROM lists_before) AS list_rows,
       (SELECT count(*) FROM ((TABLE lists_before EXCEPT ALL
                               SELECT granularity, window_start, rank, item, count, error, source FROM shop.top_5)
                              UNION ALL
                              (SELECT granularity, window_start, rank, item, count, error, source FROM shop.top_5
                               EXCEPT ALL TABLE lists_before)) d) AS list_differences,
       (SELECT count(*) FROM superseded_before) AS superseded_rows,
       (SELECT count(*) FROM (TABLE superseded_before EXCEPT ALL
                              SELECT s.granularity, s.window_start, u.rank::integer, u.item, u.count, u.error
                              FROM shop.superseded_speed_lists s,
                                   unnest(s.items, s.counts, s.errors) WITH ORDINALITY AS u(item, count, error, rank)) d)
           AS superseded_differences;
SET ROLE regress_upgrade_reader;
SELECT count(*) AS dashboard_rows FROM shop_dashboard;
SELECT count(*) AS lists_read FROM shop.top_lists;
SELECT count(*) AS counts_read FROM shop.batch_table;
RESET ROLE;

-- The next runs go on: the day of 2024-01-02, with the events the deltas held.
UPDATE topk.pipelines SET clock = '2024-01-03 00:10+00';
CALL topk.run('shop');
CALL topk.run('revenue');
CREATE FUNCTION mismatches(pipeline text, weight text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format($q$
        WITH b AS (SELECT granularity, window_start, item, count FROM %1$I.batch_table WHERE granularity IN ('hour', 'day')),
        s AS (SELECT g AS granularity, date_trunc(g, at) AS window_start, product AS item, %2$s AS count
              FROM sales, unnest(ARRAY['hour', 'day']) g WHERE at < '2024-01-03' GROUP BY 1, 2, 3)
        SELECT count(*) FROM ((SELECT * FROM b EXCEPT ALL SELECT * FROM s) UNION ALL (SELECT * FROM s EXCEPT ALL SELECT * FROM b)) d$q$,
        pipeline, weight) INTO n;
    RETURN n;
END $$;
SELECT mismatches('shop', 'count(*)') AS shop, mismatches('revenue', 'sum(cents)') AS revenue;
SELECT granularity, window_start, distinct_count FROM shop.distinct_counts WHERE granularity = 'day' ORDER BY 2;
SELECT count(DISTINCT buyer) AS exact_buyers_0101 FROM sales WHERE at < '2024-01-02';

-- Changes 0.3.0 could not see are reflected now.
DELETE FROM sales WHERE product = 1;
UPDATE sales SET cents = cents * 2 WHERE product = 2;
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT mismatches('shop', 'count(*)') AS shop, mismatches('revenue', 'sum(cents)') AS revenue;
SELECT count(*) AS product_1_rows FROM shop.batch_table WHERE item = 1;
SELECT task, status, count(*) FROM topk.job_log WHERE status <> 'ok' GROUP BY 1, 2;
DROP VIEW shop_dashboard;
DROP OWNED BY regress_upgrade_reader;
DROP ROLE regress_upgrade_reader;
