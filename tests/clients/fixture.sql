-- The data the client tests read: two pipelines over a week of sales events (one with
-- bigint items, one with text items), finished by the batch path, plus a few events of
-- the current day that only the speed path has seen; a table with one sketch of each
-- type; and the read-only role a BI tool connects as. Run as a superuser, in a fresh
-- database, with psql -v ON_ERROR_STOP=1.
CREATE EXTENSION topk_pg;

CREATE TABLE sales_events (
    event_time timestamptz NOT NULL,
    product_id bigint NOT NULL,
    user_id    bigint NOT NULL,
    page       text NOT NULL,
    quantity   integer NOT NULL
);

SELECT topk.create_pipeline('sales', 'sales_events', 'product_id', 'event_time',
                            distinct_column => 'user_id');
SELECT topk.create_pipeline('pages', 'sales_events', 'page', 'event_time', k => 100);

-- A week, 2024-01-01 (a Monday) to 2024-01-08: product p sells about 1/p as often as
-- product 1 (a Zipf-like skew), and the most popular products change during the week.
INSERT INTO sales_events
SELECT timestamptz '2024-01-01 00:00+00' + (g % 10080) * interval '1 minute',
       1 + floor(300 * r ^ 3)::bigint + (g % 10080) / 1440,
       (g * 31) % 5000,
       '/product/' || (1 + floor(50 * r ^ 2)::int),
       1 + g % 3
FROM generate_series(1, 100000::bigint) g,
     LATERAL (SELECT ((g * 2654435761) % 1000003) / 1000003.0 AS r) pseudo_random;

UPDATE topk.pipelines SET clock = '2024-01-09 00:30+00';
CALL topk.run('sales');
CALL topk.run('pages');

-- The current day: only the speed path has these so far.
INSERT INTO sales_events
SELECT timestamptz '2024-01-09 00:00+00' + (g % 30) * interval '1 minute',
       CASE WHEN g % 3 = 0 THEN 42 ELSE 1 + g % 10 END, g % 700, '/product/' || (1 + g % 10), 1
FROM generate_series(1, 3000) g;
CALL topk.run_speed('sales');
CALL topk.run_speed('pages');

CREATE TABLE sketches AS
SELECT hll_agg(user_id) AS users,
       cms_agg(product_id) AS product_counts,
       topk_agg(product_id) AS top_products,
       topk_agg(page) AS top_pages,
       heavy_hitters_agg(product_id) AS hot_products
FROM sales_events;

-- The BI tool's role: can log in, read the dashboard views, and nothing else.
CREATE ROLE dashboard LOGIN;
ALTER ROLE dashboard SET default_transaction_read_only = on;
DO $$
BEGIN
    IF to_regprocedure('topk.grant_read(text, regrole)') IS NOT NULL THEN
        PERFORM topk.grant_read('sales', 'dashboard');
        PERFORM topk.grant_read('pages', 'dashboard');
    ELSE
        -- Without topk.grant_read the views are readable, but topk_range and trending
        -- cannot see the pipeline (row security on topk.pipelines).
        RAISE WARNING 'topk.grant_read(text, regrole) does not exist: granting the views only';
        GRANT USAGE ON SCHEMA sales, pages TO dashboard;
        GRANT SELECT ON sales.top_1000, sales.distinct_counts, pages.top_100 TO dashboard;
    END IF;
END $$;
GRANT SELECT ON sketches TO dashboard;
