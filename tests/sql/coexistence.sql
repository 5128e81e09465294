-- topk_pg beside the extensions its users have installed: Citus' postgresql-hll (type
-- hll), Citus TopN and Apache DataSketches, all in one schema (public), in either order
-- of creation, each used without a schema. topk_pg's HyperLogLog type is topk_hll.
SET TimeZone = 'UTC';
CREATE EXTENSION hll;
CREATE EXTENSION topn;
CREATE EXTENSION datasketches;
CREATE EXTENSION topk_pg;
SELECT extname, extnamespace::regnamespace AS schema FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1;

CREATE TABLE events AS
SELECT CASE WHEN g % 3 = 0 THEN 7 ELSE (g * 7919) % 1000 END AS item, g % 97 AS buyer FROM generate_series(1, 20000) g;
-- Each extension's own functions, unqualified, next to each other.
SELECT hll_cardinality(hll_add_agg(hll_hash_integer(buyer)))::int AS postgresql_hll,
       hll_count(hll_agg(buyer)) AS topk_pg_hll,
       round(hll_sketch_get_estimate(hll_sketch_build(buyer)))::int AS datasketches_hll,
       count(DISTINCT buyer) AS exact
FROM events;
SELECT pg_typeof(hll_add_agg(hll_hash_integer(buyer))) AS postgresql_hll_type,
       pg_typeof(hll_agg(buyer)) AS topk_pg_type,
       pg_typeof(hll_sketch_build(buyer)) AS datasketches_type
FROM events;
-- Functions of the same name resolve by their sketch type.
SELECT hll_cardinality(hll_add(hll_empty(), hll_hash_integer(1)))::int AS postgresql_hll_add,
       hll_count(hll_add(topk_hll_empty(), 1)) AS topk_pg_hll_add;
SELECT (SELECT topn(topn_add_agg(item::text), 1) FROM events) AS topn_top,
       (SELECT item FROM topk_items((SELECT topk_agg(item) FROM events), 1)) AS topk_pg_top,
       (SELECT str FROM frequent_strings_sketch_result_no_false_negatives(
            (SELECT frequent_strings_sketch_build(10, item::varchar) FROM events)) ORDER BY estimate DESC, str LIMIT 1) AS datasketches_top;
-- The pipeline, with a distinct-count column (its tables hold topk_hll sketches).
CREATE TABLE sales (event_time timestamptz NOT NULL, product_id bigint NOT NULL, user_id bigint);
SET client_min_messages = warning;
SELECT topk.create_pipeline('shop', 'sales', 'product_id', 'event_time', distinct_column => 'user_id');
INSERT INTO sales SELECT timestamptz '2024-01-01 00:00+00' + g * interval '1 minute', g % 50, (g * 37) % 1000
FROM generate_series(0, 2879) g;
UPDATE topk.pipelines SET clock = '2024-01-03 00:00+00' WHERE name = 'shop';
CALL topk.run('shop');
RESET client_min_messages;
SELECT window_start, distinct_count, (SELECT count(DISTINCT user_id) FROM sales
       WHERE event_time >= d.window_start AND event_time < d.window_start + interval '1 day') AS exact
FROM shop.distinct_counts d WHERE granularity = 'day' ORDER BY 1;
SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = 'shop.distinct_sketches'::regclass AND attname = 'sketch';

-- Timescale Toolkit (not available here): none of its public names, from its reference
-- documentation (hyperfunctions: approximate count distinct, frequency analysis), is a
-- function or type of topk_pg in its schema (the pipeline's own schema topk has a rollup).
SELECT count(*) AS topk_pg_objects_named_like_toolkit FROM (
    SELECT p.proname AS name FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'topk_pg' WHERE p.pronamespace = e.extnamespace
    UNION ALL
    SELECT t.typname FROM pg_type t JOIN pg_depend d ON d.objid = t.oid AND d.deptype = 'e'
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'topk_pg' WHERE t.typnamespace = e.extnamespace) o
WHERE name IN ('hyperloglog', 'approx_count_distinct', 'distinct_count', 'stderror', 'rollup',
               'freq_agg', 'mcv_agg', 'into_values', 'max_frequency', 'min_frequency', 'topn',
               'count_min_sketch', 'approx_count', 'countminsketch', 'spacesavingaggregate');

-- The other order: topk_pg first, then the others.
CREATE DATABASE coexistence_other_order;
\c coexistence_other_order
CREATE EXTENSION topk_pg;
CREATE EXTENSION hll;
CREATE EXTENSION topn;
CREATE EXTENSION datasketches;
SELECT hll_cardinality(hll_add_agg(hll_hash_integer(g % 97)))::int AS postgresql_hll,
       hll_count(hll_agg(g % 97)) AS topk_pg_hll
FROM generate_series(1, 1000) g;
\c regress_coexistence
DROP DATABASE coexistence_other_order;
