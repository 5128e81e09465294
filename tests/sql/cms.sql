-- Count-min sketch: the SQL surface end to end (aggregates, weights, merge, I/O, errors).
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
-- Serial unless a step asks for parallel workers: a parallel plan splits rows between
-- workers differently on every run.
SET max_parallel_workers_per_gather = 0;

CREATE TABLE sales AS
SELECT g AS id, (floor(exp((g * 0.618033988749895 - floor(g * 0.618033988749895)) * ln(5000))))::bigint AS product_id,
       1 + (g % 5) AS quantity, g % 7 AS day
FROM generate_series(1, 200000) g;
CREATE TABLE exact AS SELECT product_id, count(*) AS n, sum(quantity) AS units FROM sales GROUP BY product_id;

-- Every estimate is at least the true count, and within epsilon*N for at least 1-delta of items.
CREATE TABLE sk AS SELECT cms_agg(product_id) AS c, cms_agg(product_id, quantity) AS w,
                          cms_agg(product_id, 0.01, 0.05) AS small FROM sales;
SELECT cms_total(c) AS total, cms_error_bound(c) AS bound, cms_total(w) AS weighted_total,
       cms_epsilon(small) AS epsilon, cms_delta(small) AS delta FROM sk;
SELECT count(*) FILTER (WHERE cms_estimate(c, product_id) < n) AS under_count,
       count(*) FILTER (WHERE cms_estimate(w, product_id) < units) AS weighted_under,
       count(*) FILTER (WHERE cms_estimate(small, product_id) - n > cms_error_bound(small))::float8
         / count(*) <= (SELECT cms_delta(small) FROM sk) AS within_bound
FROM exact, sk;
SELECT cms_estimate(c, 123456789::bigint) <= cms_error_bound(c) AS unseen_small FROM sk;

-- Daily sketches merge into exactly the one-pass sketch.
CREATE TABLE daily AS SELECT day, cms_agg(product_id) AS c FROM sales GROUP BY day;
SELECT (SELECT cms_merge_agg(c)::text FROM daily) = (SELECT c::text FROM sk) AS merge_equals_one_pass;
SELECT cms_total(cms_merge((SELECT c FROM daily WHERE day = 0), (SELECT c FROM daily WHERE day = 1)));

-- Parallel aggregation gives the same sketch.
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT cms_agg(product_id) FROM sales;
SELECT (SELECT cms_agg(product_id)::text FROM sales) = (SELECT c::text FROM sk) AS parallel_equals_serial;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;

-- NULLs are ignored (values and weights), no rows gives NULL, scalar add.
SELECT cms_total(cms_agg(x)) FROM (VALUES (1), (NULL), (2)) v(x);
SELECT cms_total(cms_agg(x, w)) FROM (VALUES (1, 5), (2, NULL), (NULL, 7)) v(x, w);
SELECT cms_agg(x) IS NULL AS no_rows_is_null FROM (SELECT 1 WHERE false) v(x);
SELECT cms_estimate(cms_add(cms_add(cms_agg(x), 'b'::text, 10), 'a'::text), 'a'::text) FROM (VALUES ('a'::text)) v(x);
SELECT cms_estimate(cms_agg(x::int4), 3::int8) FROM (VALUES (3), (3)) v(x);

-- Text, binary and JSON forms.
SELECT cms_agg(x, 0.5, 0.5)::text FROM (VALUES (1), (2), (2)) v(x);
SELECT cms_total('cms:QwEUAAAAAAAAAAAA4D8AAAAAAADgPwYAAAABAAAAAwAAAAAAAAAAAgMAAQ=='::cms);
COPY daily TO '/tmp/topk_pg_regress_cms.bin' (FORMAT binary);
CREATE TABLE daily_copy (LIKE daily);
COPY daily_copy FROM '/tmp/topk_pg_regress_cms.bin' (FORMAT binary);
SELECT count(*) AS binary_round_trip_equal FROM daily JOIN daily_copy USING (day) WHERE daily.c::text = daily_copy.c::text;
SELECT cms_agg(x)::jsonb FROM (VALUES (1), (2)) v(x);

-- A format-1 sketch (double hashing) written by topk_pg 0.3: bigint items 1..12 of
-- weights i^2, epsilon 0.1, delta 0.1. It answers as it did then (item 1 met item 6 in
-- every row: 37), counts more by its own mapping, merges with format 1 and with empty
-- sketches, and not with a non-empty format-2 sketch.
CREATE TABLE v1 AS SELECT 'cms:QwEUAAAAmpmZmZmZuT+amZmZmZm5PxwAAAADAAAAigIAAAAAAAAAA1EAA2QAAwQZJUAJAAJ5AAAQAADBAQAAAAORAX0AAkkABBAxBAACeQAAdQADAAAJyAEAAkEAA5ABAABRAAR6BAACGQAC'::cms AS c;
SELECT (SELECT array_agg(cms_estimate(c, i::bigint) ORDER BY i) FROM generate_series(0, 13) i) AS estimates_0_to_13,
       cms_total(c) AS total, c::jsonb -> 'version' AS version FROM v1;
CREATE TABLE empty2 AS SELECT cms_agg(1::bigint, 0::bigint, 0.1, 0.1) AS e;
SELECT cms_estimate(cms_add(c, 13::bigint, 169), 13::bigint) AS added, cms_add(c, 13::bigint, 169)::jsonb -> 'version' AS version,
       cms_estimate(cms_merge(c, c), 12::bigint) AS merged_with_itself,
       cms_merge(c, e)::text = c::text AND cms_merge(e, c)::text = c::text AS merged_with_empty,
       cms_total(e) AS empty_total, e::jsonb -> 'version' AS empty_version
FROM v1, empty2;
SELECT (cms_agg(g, 0.1, 0.1))::jsonb -> 'version' AS new_version FROM generate_series(1, 12) g;
SELECT cms_merge(c, (SELECT cms_agg(g::bigint, 0.1, 0.1) FROM generate_series(1, 12) g)) FROM v1;
SELECT cms_merge_agg(x) FROM (SELECT c FROM v1 UNION ALL SELECT cms_agg(1::bigint, 0.1, 0.1)) m(x);

-- Errors.
SELECT cms_agg(product_id, 0, 0.01) FROM sales;
SELECT cms_agg(product_id, 0.01, 1) FROM sales;
SELECT cms_agg(product_id, 1e-9, 1e-9) FROM sales;
SELECT cms_agg(product_id, -1) FROM sales;
SELECT cms_agg(product_id, 0.01, quantity::float8) FROM sales;
SELECT cms_merge(cms_agg(1, 0.1, 0.1), cms_agg(1, 0.01, 0.1));
SELECT cms_merge_agg(c ORDER BY o DESC) FROM (SELECT 1, cms_agg(1, 0.1, 0.1) UNION ALL SELECT 2, cms_agg(1, 0.01, 0.1)) v(o, c);
SELECT cms_estimate(cms_agg(1), 'x'::text);
SELECT cms_total(cms_agg(1, 9223372036854775807) ) FROM generate_series(1, 2);
SELECT 'cms:Qw=='::cms;
SELECT 'hll:SAEOFAAAAAADhNHh+9vrj5qBAeSVudSKp7TpGcmr3LPA6sW9Dw=='::cms;
SELECT 1 AS still_usable;
