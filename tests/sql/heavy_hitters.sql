-- The count-min + space-saving hybrid: the SQL surface end to end.
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
-- Serial unless a step asks for parallel workers: a parallel plan splits rows between
-- workers differently on every run.
SET max_parallel_workers_per_gather = 0;

CREATE TABLE sales AS
SELECT g AS id,
       floor(exp((g * 0.618033988749895 - floor(g * 0.618033988749895)) * ln(20000)))::bigint AS product_id,
       1 + (g % 5) AS quantity, g % 30 AS day
FROM generate_series(1, 300000) g;
CREATE TABLE exact AS SELECT product_id, count(*) AS n, sum(quantity) AS units FROM sales GROUP BY product_id;

SELECT pg_typeof(heavy_hitters_agg(product_id)) AS bigint_sketch, pg_typeof(heavy_hitters_agg(product_id::text)) AS text_sketch,
       pg_typeof(heavy_hitters_agg(product_id::numeric)) AS other FROM sales;
CREATE TABLE sk AS SELECT heavy_hitters_agg(product_id) AS h, heavy_hitters_agg(product_id, quantity::bigint) AS w,
                          heavy_hitters_agg(product_id, 50, 0.01, 0.01) AS small FROM sales;
SELECT i.* FROM sk, heavy_hitters_items(h, 5) i;

-- Bounds hold for every reported item; the top 100 is found; guaranteed items are right.
SELECT count(*) AS items, count(*) FILTER (WHERE i.count - i.error > e.n OR i.count < e.n) AS bound_violations
FROM sk, heavy_hitters_items(h) i JOIN exact e ON e.product_id = i.item;
SELECT count(*) FILTER (WHERE i.count - i.error > e.units OR i.count < e.units) AS weighted_violations
FROM sk, heavy_hitters_items(w) i JOIN exact e ON e.product_id = i.item;
SELECT count(*) FILTER (WHERE i.count - i.error > e.n OR i.count < e.n) AS small_violations
FROM sk, heavy_hitters_items(small) i JOIN exact e ON e.product_id = i.item;
SELECT count(*) AS recall_at_100 FROM sk, heavy_hitters_items(h, 100) i
WHERE i.item IN (SELECT product_id FROM exact ORDER BY n DESC LIMIT 100);
SELECT count(*) FILTER (WHERE guaranteed AND item NOT IN (SELECT product_id FROM exact ORDER BY n DESC, product_id LIMIT 100)) AS wrong_guarantees
FROM sk, heavy_hitters_items(h, 100);
SELECT heavy_hitters_total(h) AS total, heavy_hitters_total(w) AS weighted_total,
       heavy_hitters_estimate(h, 1::bigint) = (SELECT n FROM exact WHERE product_id = 1) AS exact_for_top FROM sk;

-- Merging daily sketches: candidates re-estimated by the merged count-min sketch.
CREATE TABLE daily AS SELECT day, heavy_hitters_agg(product_id) AS h FROM sales GROUP BY day;
SELECT pg_typeof(heavy_hitters_merge_agg(h)) FROM daily;
SELECT count(*) AS recall_at_100_merged FROM heavy_hitters_items((SELECT heavy_hitters_merge_agg(h) FROM daily), 100) i
WHERE i.item IN (SELECT product_id FROM exact ORDER BY n DESC LIMIT 100);
SELECT count(*) FILTER (WHERE i.count - i.error > e.n OR i.count < e.n) AS merged_bound_violations
FROM heavy_hitters_items((SELECT heavy_hitters_merge_agg(h) FROM daily)) i JOIN exact e ON e.product_id = i.item;
SELECT heavy_hitters_total(heavy_hitters_merge((SELECT h FROM daily WHERE day = 0), (SELECT h FROM daily WHERE day = 1)));

-- Sketches of different k merge at the smaller k (same epsilon and delta): every bound
-- holds, every error is at most total / 4k, and every item counted more often than that
-- is among the candidates. Merge aggregate in both orders, merge function in both orders.
CREATE TABLE mixed AS
SELECT day, heavy_hitters_agg(product_id, 25) AS h FROM sales WHERE day < 10 GROUP BY day UNION ALL
SELECT day, heavy_hitters_agg(product_id, 100) FROM sales WHERE day BETWEEN 10 AND 19 GROUP BY day UNION ALL
SELECT day, heavy_hitters_agg(product_id, 500) FROM sales WHERE day >= 20 GROUP BY day;
CREATE TABLE mixed_merged AS
SELECT 'merge_agg, days ascending' AS how, heavy_hitters_merge_agg(h ORDER BY day) AS h FROM mixed UNION ALL
SELECT 'merge_agg, days descending', heavy_hitters_merge_agg(h ORDER BY day DESC) FROM mixed UNION ALL
SELECT 'merge(k 25, k 100)', heavy_hitters_merge(a, b) FROM
    (SELECT heavy_hitters_merge_agg(h) FILTER (WHERE day < 10) AS a, heavy_hitters_merge_agg(h) FILTER (WHERE day >= 10) AS b FROM mixed) t UNION ALL
SELECT 'merge(k 100, k 25)', heavy_hitters_merge(b, a) FROM
    (SELECT heavy_hitters_merge_agg(h) FILTER (WHERE day < 10) AS a, heavy_hitters_merge_agg(h) FILTER (WHERE day >= 10) AS b FROM mixed) t;
SELECT how, k, heavy_hitters_total(h) AS total, (SELECT max(error) FROM heavy_hitters_items(h)) AS max_error,
       (SELECT count(*) FILTER (WHERE i.count - i.error > e.n OR i.count < e.n OR i.error * 4 * k > heavy_hitters_total(h))
        FROM heavy_hitters_items(h) i JOIN exact e ON e.product_id = i.item) AS bound_violations,
       (SELECT count(*) FROM exact e WHERE e.n * 4 * k > heavy_hitters_total(h)) AS above_total_over_4k,
       (SELECT count(*) FROM exact e WHERE e.n * 4 * k > heavy_hitters_total(h)
          AND e.product_id NOT IN (SELECT item FROM heavy_hitters_items(h))) AS of_them_missing,
       (SELECT count(*) FROM heavy_hitters_items(h, 10) i WHERE i.item IN (SELECT product_id FROM exact ORDER BY n DESC LIMIT 10)) AS recall_at_10
FROM mixed_merged, LATERAL (SELECT (h::jsonb ->> 'k')::int AS k) k ORDER BY how;
SELECT heavy_hitters_merge(heavy_hitters_agg(1, 10), heavy_hitters_agg(1, 20))::jsonb -> 'k' AS merge_10_20,
       heavy_hitters_merge(heavy_hitters_agg(1, 20), heavy_hitters_agg(1, 10))::jsonb -> 'k' AS merge_20_10;
-- The count-min halves of different epsilon or delta do not merge: an ERROR with a
-- hint, from the merge function and the merge aggregate, in both orders.
SELECT heavy_hitters_merge(heavy_hitters_agg(1, 10, 0.01, 0.01), heavy_hitters_agg(1, 20, 0.001, 0.01));
SELECT heavy_hitters_merge(heavy_hitters_agg(1, 20, 0.001, 0.01), heavy_hitters_agg(1, 10, 0.01, 0.01));
SELECT heavy_hitters_merge_agg(h ORDER BY o) FROM (SELECT 1, heavy_hitters_agg(1, 10, 0.01, 0.05) UNION ALL
                                                  SELECT 2, heavy_hitters_agg(1, 10, 0.01, 0.01)) v(o, h);
SELECT heavy_hitters_merge_agg(h ORDER BY o DESC) FROM (SELECT 1, heavy_hitters_agg(1, 10, 0.01, 0.05) UNION ALL
                                                       SELECT 2, heavy_hitters_agg(1, 10, 0.01, 0.01)) v(o, h);

-- Parallel aggregation.
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT heavy_hitters_agg(product_id) FROM sales;
SELECT (SELECT array_agg(item ORDER BY rank) FROM heavy_hitters_items((SELECT heavy_hitters_agg(product_id) FROM sales), 50))
     = (SELECT array_agg(item ORDER BY rank) FROM sk, heavy_hitters_items(h, 50)) AS parallel_same_top_50;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;

-- NULLs, no rows, other types, text/JSON forms.
SELECT * FROM heavy_hitters_items((SELECT heavy_hitters_agg(x) FROM (VALUES ('a'), (NULL), ('a'), ('b')) v(x)));
SELECT heavy_hitters_agg(x) IS NULL AS no_rows_is_null FROM (SELECT 1 WHERE false) v(x);
SELECT * FROM heavy_hitters_items(heavy_hitters_add(heavy_hitters_add((SELECT heavy_hitters_agg('a'::text)), 'b'::text, 5), 'a'::text));
SELECT * FROM heavy_hitters_items((SELECT heavy_hitters_agg(d) FROM (VALUES (date '2024-01-02'), ('2024-01-02')) v(d)), 1, NULL::date);
SELECT heavy_hitters_items((heavy_hitters_agg(x, 10, 0.1, 0.1)::text::heavy_hitters)) FROM (VALUES (1), (2), (2)) v(x);
SELECT heavy_hitters_agg(x, 10, 0.1, 0.1)::jsonb FROM (VALUES (1), (2), (2)) v(x);

-- Errors.
SELECT heavy_hitters_agg(product_id, 0) FROM sales;
SELECT heavy_hitters_agg(product_id, quantity) FROM sales;
SELECT heavy_hitters_agg(product_id, 10, 2.0, 0.1) FROM sales;
SELECT heavy_hitters_agg(product_id, -5::bigint) FROM sales;
SELECT heavy_hitters_estimate(heavy_hitters_agg(1), 'x'::text);
SELECT 'heavy_hitters:SwE='::heavy_hitters;
SELECT 1 AS still_usable;
