-- Space-Saving top-K: the SQL surface end to end.
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
-- Serial unless a step asks for parallel workers: a parallel plan splits rows between
-- workers differently on every run.
SET max_parallel_workers_per_gather = 0;

-- 300k sales of 20k products with power-law popularity; 30 days.
CREATE TABLE products AS SELECT g AS id, 'product ' || g AS name FROM generate_series(1, 20000) g;
CREATE TABLE sales AS
SELECT g AS id,
       floor(exp((g * 0.618033988749895 - floor(g * 0.618033988749895)) * ln(20000)))::bigint AS product_id,
       1 + (g % 5) AS quantity, g % 30 AS day
FROM generate_series(1, 300000) g;
CREATE TABLE exact AS SELECT product_id, count(*) AS n, sum(quantity) AS units FROM sales GROUP BY product_id;

-- Items come back in their own type: a join with no cast.
SELECT pg_typeof(topk_agg(product_id)) AS bigint_sketch, pg_typeof(topk_agg(product_id::int)) AS int_sketch,
       pg_typeof(topk_agg(product_id::text)) AS text_sketch, pg_typeof(topk_agg(product_id::numeric)) AS other
FROM sales;
CREATE TABLE sk AS SELECT topk_agg(product_id) AS s, topk_agg(product_id, quantity::bigint) AS w,
                          topk_agg(product_id::int, 100) AS small, topk_agg(product_id::text) AS t FROM sales;
SELECT i.rank, i.item, p.name, i.count, i.error, i.guaranteed
FROM sk, topk_items(s, 5) i JOIN products p ON p.id = i.item ORDER BY i.rank;
SELECT rank, item, count FROM sk, topk_items(t, 3) ORDER BY rank;
SELECT rank, item + 0 AS item_is_integer, count FROM sk, topk_items(small, 3) ORDER BY rank;

-- Bounds hold for every reported item: count - error <= true count <= count.
SELECT count(*) AS items, count(*) FILTER (WHERE i.count - i.error > e.n OR i.count < e.n) AS bound_violations
FROM sk, topk_items(s) i JOIN exact e ON e.product_id = i.item;
SELECT count(*) AS items, count(*) FILTER (WHERE i.count - i.error > e.n OR i.count < e.n) AS bound_violations,
       count(*) FILTER (WHERE i.error > 0) > 0 AS some_errors
FROM sk, topk_items(small) i JOIN exact e ON e.product_id = i.item;
SELECT count(*) FILTER (WHERE i.count - i.error > e.units OR i.count < e.units) AS weighted_violations
FROM sk, topk_items(w) i JOIN exact e ON e.product_id = i.item;
-- Guaranteed items are in the true top 100, and the top 100 is found exactly.
SELECT count(*) FILTER (WHERE guaranteed) AS guaranteed,
       count(*) FILTER (WHERE guaranteed AND item NOT IN (SELECT product_id FROM exact ORDER BY n DESC, product_id LIMIT 100)) AS wrong
FROM sk, topk_items(s, 100);
SELECT count(*) AS recall_at_100 FROM sk, topk_items(s, 100) i
WHERE i.item IN (SELECT product_id FROM exact ORDER BY n DESC LIMIT 100);
SELECT topk_total(s) AS total, topk_total(w) AS weighted_total, topk_capacity(s) AS capacity,
       topk_capacity(small) AS small_capacity, topk_threshold(s) AS threshold FROM sk;
SELECT topk_estimate(s, 1::bigint) = (SELECT n FROM exact WHERE product_id = 1) AS exact_for_top,
       topk_estimate(small, 999999) = topk_threshold(small) AS unseen_is_threshold FROM sk;

-- Daily sketches merge into the top of the month; typed domains are kept.
CREATE TABLE daily AS SELECT day, topk_agg(product_id) AS s FROM sales GROUP BY day;
SELECT pg_typeof(topk_merge_agg(s)) FROM daily;
SELECT count(*) AS recall_at_100_merged FROM topk_items((SELECT topk_merge_agg(s) FROM daily), 100) i
WHERE i.item IN (SELECT product_id FROM exact ORDER BY n DESC LIMIT 100);
SELECT count(*) FILTER (WHERE i.count - i.error > e.n OR i.count < e.n) AS merged_bound_violations
FROM topk_items((SELECT topk_merge_agg(s) FROM daily)) i JOIN exact e ON e.product_id = i.item;
SELECT topk_total(topk_merge((SELECT s FROM daily WHERE day = 0), (SELECT s FROM daily WHERE day = 1)));

-- Sketches of different capacities merge at the smaller one, with its bounds: every
-- bound holds, the threshold and every error are at most total / capacity, and every
-- item counted more often than that is in the sketch. Merge aggregate in both orders,
-- merge function in both orders.
CREATE TABLE mixed AS
SELECT day, topk_agg(product_id, 100) AS s FROM sales WHERE day < 10 GROUP BY day UNION ALL
SELECT day, topk_agg(product_id, 400) FROM sales WHERE day BETWEEN 10 AND 19 GROUP BY day UNION ALL
SELECT day, topk_agg(product_id, 2000) FROM sales WHERE day >= 20 GROUP BY day;
CREATE TABLE mixed_merged AS
SELECT 'merge_agg, days ascending' AS how, topk_merge_agg(s ORDER BY day) AS s FROM mixed UNION ALL
SELECT 'merge_agg, days descending', topk_merge_agg(s ORDER BY day DESC) FROM mixed UNION ALL
SELECT 'merge(cap 100, cap 400)', topk_merge(a, b) FROM
    (SELECT topk_merge_agg(s) FILTER (WHERE day < 10) AS a, topk_merge_agg(s) FILTER (WHERE day >= 10) AS b FROM mixed) t UNION ALL
SELECT 'merge(cap 400, cap 100)', topk_merge(b, a) FROM
    (SELECT topk_merge_agg(s) FILTER (WHERE day < 10) AS a, topk_merge_agg(s) FILTER (WHERE day >= 10) AS b FROM mixed) t;
SELECT how, topk_capacity(s) AS capacity, topk_total(s) AS total, topk_threshold(s) AS threshold,
       topk_threshold(s) * topk_capacity(s) <= topk_total(s) AS threshold_within,
       (SELECT max(error) FROM topk_items(s)) AS max_error,
       (SELECT count(*) FILTER (WHERE i.count - i.error > e.n OR i.count < e.n OR i.error * topk_capacity(s) > topk_total(s))
        FROM topk_items(s) i JOIN exact e ON e.product_id = i.item) AS bound_violations,
       (SELECT count(*) FROM exact e WHERE e.n * topk_capacity(s) > topk_total(s)) AS above_total_over_capacity,
       (SELECT count(*) FROM exact e WHERE e.n * topk_capacity(s) > topk_total(s)
          AND e.product_id NOT IN (SELECT item FROM topk_items(s))) AS of_them_missing,
       (SELECT count(*) FROM topk_items(s, 10) i WHERE i.item IN (SELECT product_id FROM exact ORDER BY n DESC LIMIT 10)) AS recall_at_10
FROM mixed_merged ORDER BY how;
SELECT topk_capacity(topk_merge(topk_agg(1, 10), topk_agg(1, 20))) AS merge_10_20,
       topk_capacity(topk_merge(topk_agg(1, 20), topk_agg(1, 10))) AS merge_20_10,
       topk_capacity(topk_merge(topk_agg(1, 20), NULL)) AS merge_20_null;

-- Parallel aggregation: a Partial Aggregate under Gather, same top items.
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT topk_agg(product_id) FROM sales;
SELECT (SELECT array_agg(item ORDER BY rank) FROM topk_items((SELECT topk_agg(product_id) FROM sales), 50))
     = (SELECT array_agg(item ORDER BY rank) FROM sk, topk_items(s, 50)) AS parallel_same_top_50;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;

-- NULLs are ignored, no rows gives NULL, scalar add, other types through a hint.
SELECT * FROM topk_items((SELECT topk_agg(x) FROM (VALUES (1), (NULL), (1), (2)) v(x)));
SELECT topk_total(topk_agg(x, w::bigint)) FROM (VALUES (1, 5), (2, NULL), (NULL, 7)) v(x, w);
SELECT topk_agg(x) IS NULL AS no_rows_is_null FROM (SELECT 1 WHERE false) v(x);
SELECT * FROM topk_items(topk_add(topk_add((SELECT topk_agg('a'::text)), 'b'::text, 5), 'a'::text));
SELECT * FROM topk_items((SELECT topk_agg(md5((g % 3)::text)::uuid) FROM generate_series(1, 10) g), 2, NULL::uuid);
SELECT * FROM topk_items((SELECT topk_agg(d) FROM (VALUES (date '2024-01-02'), ('2024-01-02'), ('2024-01-03')) v(d)), 5, NULL::date);
SELECT * FROM topk_items((SELECT topk_agg(d) FROM (VALUES (date '2024-01-02')) v(d)));

-- Text, binary and JSON forms.
SELECT topk_agg(x)::text FROM (VALUES (1), (2), (2)) v(x);
SELECT * FROM topk_items('spacesaving:UwHgXRQAAAABAwACAgMABg=='::spacesaving_integer);
COPY daily TO '/tmp/topk_pg_regress_ss.bin' (FORMAT binary);
CREATE TABLE daily_copy (LIKE daily);
COPY daily_copy FROM '/tmp/topk_pg_regress_ss.bin' (FORMAT binary);
SELECT count(*) AS binary_round_trip_equal FROM daily JOIN daily_copy USING (day) WHERE daily.s::text = daily_copy.s::text;
SELECT topk_agg(x)::jsonb FROM (VALUES ('a'), ('b'), ('b')) v(x);

-- Errors: clear messages, nothing stored, the session stays usable.
SELECT topk_agg(product_id, 0) FROM sales;
SELECT topk_agg(product_id, 100000000) FROM sales;
SELECT topk_agg(product_id, quantity) FROM sales;
SELECT topk_agg(product_id, -1::bigint) FROM sales;
SELECT topk_agg(product_id, NULL::int) FROM sales;
SELECT topk_merge(topk_agg(1)::spacesaving, topk_agg('x'::text)::spacesaving);
SELECT topk_estimate(topk_agg(1), 'x'::text);
SELECT * FROM topk_items((SELECT topk_agg(1)), -1);
SELECT * FROM topk_items((SELECT topk_agg('x'::text)), 1, NULL::int);
SELECT 'spacesaving:UwE='::spacesaving;
SELECT 'cms:QwEUAAAAAAAAAAAA4D8AAAAAAADgPwYAAAABAAAAAwAAAAAAAAAAAgMAAQ=='::spacesaving;
SELECT 1 AS still_usable;
