-- HyperLogLog: the SQL surface end to end (aggregates, merge, I/O, errors).
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
-- Serial unless a step asks for parallel workers: a parallel plan splits rows between
-- workers differently on every run.
SET max_parallel_workers_per_gather = 0;

-- Small sets are exact; NULLs are ignored; no rows gives NULL.
SELECT hll_count(hll_agg(g)) FROM generate_series(1, 1000) g;
SELECT hll_count(hll_agg(NULLIF(g % 10, 0))) FROM generate_series(1, 1000) g;
SELECT hll_agg(g) IS NULL AS no_rows_is_null FROM generate_series(1, 0) g;
SELECT hll_count(hll_agg(x)) FROM (VALUES (NULL::int), (NULL)) v(x);

-- Large sets: within 3 standard errors at the default precision 14.
SELECT abs(hll_count(hll_agg(g)) - 200000) < 3 * 0.0081 * 200000 AS within_bound,
       hll_precision(hll_agg(g)) AS precision,
       round(hll_stderr(hll_agg(g))::numeric, 4) AS stderr
FROM generate_series(1, 200000) g;

-- Integer widths are one item; text and uuid work.
SELECT hll_count(hll_merge(hll_agg(g::int4), hll_agg(g::int8))) FROM generate_series(1, 100) g;
SELECT hll_count(hll_agg(md5(g::text))) FROM generate_series(1, 300) g;
SELECT hll_count(hll_agg(md5(g::text)::uuid)) FROM generate_series(1, 300) g;

-- Rollup: daily sketches merge into the same answer as one pass.
CREATE TABLE ev AS SELECT g % 30 AS day, (g::bigint * 7919) % 50000 AS user_id FROM generate_series(1, 300000) g;
CREATE TABLE daily AS SELECT day, hll_agg(user_id) AS h FROM ev GROUP BY day;
SELECT (SELECT hll_count(hll_merge_agg(h)) FROM daily) = (SELECT hll_count(hll_agg(user_id)) FROM ev) AS merge_equals_one_pass;

-- Sketches of different precisions merge at the lower one, into exactly the sketch one
-- pass at that precision gives (registers folded; sparse sets keep their hashes): merge
-- aggregate in both orders, merge function in both orders, sparse and dense inputs.
CREATE TABLE mixed AS
SELECT 14 AS p, hll_agg(user_id, 14) AS h FROM ev WHERE day < 10 UNION ALL
SELECT 10, hll_agg(user_id, 10) FROM ev WHERE day BETWEEN 10 AND 19 UNION ALL
SELECT 12, hll_agg(user_id, 12) FROM ev WHERE day >= 20 UNION ALL
SELECT 16, hll_agg(user_id, 16) FROM ev WHERE day = 3 AND user_id < 2000;
SELECT p, hll_precision(h) AS precision, (h::jsonb ->> 'sparse')::bool AS sparse FROM mixed ORDER BY p;
CREATE TABLE one_pass_10 AS SELECT hll_agg(user_id, 10) AS h FROM ev;
SELECT hll_precision(hll_merge_agg(h ORDER BY p)) AS precision,
       hll_merge_agg(h ORDER BY p)::text = (SELECT h::text FROM one_pass_10) AS ascending_is_one_pass_at_10,
       hll_merge_agg(h ORDER BY p DESC)::text = (SELECT h::text FROM one_pass_10) AS descending_is_one_pass_at_10,
       hll_count(hll_merge_agg(h)) = (SELECT hll_count(h) FROM one_pass_10) AS same_estimate
FROM mixed;
SELECT hll_precision(hll_merge(a, b)) AS precision, hll_merge(a, b)::text = one::text AS a_b_is_one_pass,
       hll_merge(b, a)::text = one::text AS b_a_is_one_pass, hll_count(hll_merge(b, a)) = hll_count(one) AS same_estimate
FROM (SELECT hll_agg(user_id, 14) FILTER (WHERE day < 15) AS a, hll_agg(user_id, 11) FILTER (WHERE day >= 15) AS b,
             hll_agg(user_id, 11) AS one FROM ev) t;
-- Sparse both sides: at precision 8 the union (100 items) passes the sparse limit (24).
SELECT hll_precision(m) AS precision, (m::jsonb ->> 'sparse')::bool AS sparse, m::text = one::text AS is_one_pass,
       hll_merge(b, a)::text = one::text AS other_order_too
FROM (SELECT hll_agg(g, 16) FILTER (WHERE g <= 60) AS a, hll_agg(g, 8) FILTER (WHERE g > 50) AS b, hll_agg(g, 8) AS one
      FROM generate_series(1, 100) g) t, LATERAL (SELECT hll_merge(a, b) AS m) m;
SELECT hll_precision(hll_merge(topk_hll_empty(10), hll_add(topk_hll_empty(11), 1))) AS precision,
       hll_count(hll_merge(hll_add(topk_hll_empty(18), 1), hll_add(topk_hll_empty(4), 2))) AS count;

-- Parallel aggregation gives the same sketch as a serial one.
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT hll_agg(user_id) FROM ev;
CREATE TEMP TABLE par AS SELECT hll_agg(user_id) AS h FROM ev;
SET max_parallel_workers_per_gather = 0;
SELECT (SELECT h::text FROM par) = (SELECT hll_agg(user_id)::text FROM ev) AS parallel_equals_serial;
SET max_parallel_workers_per_gather = 0;

-- Text and binary I/O round-trip; JSON for BI tools.
SELECT hll_agg(g)::text AS small_sketch FROM generate_series(1, 3) g;
SELECT hll_count('hll:SAEOFAAAAAADhNHh+9vrj5qBAeSVudSKp7TpGcmr3LPA6sW9Dw=='::topk_hll);
COPY daily TO '/tmp/topk_pg_regress_hll.bin' (FORMAT binary);
CREATE TABLE daily_copy (LIKE daily);
COPY daily_copy FROM '/tmp/topk_pg_regress_hll.bin' (FORMAT binary);
SELECT count(*) AS binary_round_trip_equal FROM daily JOIN daily_copy USING (day) WHERE daily.h::text = daily_copy.h::text;
SELECT hll_agg(g)::jsonb FROM generate_series(1, 10) g;
SELECT * FROM hll_count_bounds((SELECT hll_agg(g) FROM generate_series(1, 5) g));
SELECT lower <= 100000 AND upper >= 100000 AS bounds_hold FROM hll_count_bounds((SELECT hll_agg(g) FROM generate_series(1, 100000) g), 0.99);

-- Scalar add and empty sketches.
SELECT hll_count(hll_add(hll_add(topk_hll_empty(), 1), 2));
SELECT hll_count(hll_add(topk_hll_empty(), NULL::int));
SELECT hll_count(hll_merge(NULL, topk_hll_empty(12)));

-- Errors: clear messages, the session stays usable.
SELECT hll_agg(g, 3) FROM generate_series(1, 10) g;
SELECT hll_agg(g, 19) FROM generate_series(1, 10) g;
SELECT hll_agg(g, NULL) FROM generate_series(1, 10) g;
SELECT 'garbage'::topk_hll;
SELECT 'hll:AAAA'::topk_hll;
SELECT 'hll:SAEOAAAAAAAD'::topk_hll;
SELECT hll_count_bounds(topk_hll_empty(), 1.5);
SELECT hll_add(hll_add(topk_hll_empty(), 1), 'x'::text);
SELECT 1 AS still_usable;
