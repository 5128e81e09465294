-- Aggregates whose state is the sketch type itself, as Citus needs to push them down to
-- its workers: this scenario does by hand what Citus does between nodes.
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
-- Serial unless a step asks for parallel workers: a parallel plan splits rows between
-- workers differently on every run.
SET max_parallel_workers_per_gather = 0;

-- No build or merge aggregate of topk_pg has an internal state; all combine in parallel.
SELECT p.proname AS aggregate, count(*) AS overloads,
       string_agg(DISTINCT a.aggtranstype::regtype::text, ', ') AS state_types,
       bool_and(a.aggcombinefn <> 0) AS all_combine, bool_and(p.proparallel = 's') AS all_parallel_safe
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
JOIN pg_depend d ON d.objid = p.oid AND d.refclassid = 'pg_extension'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'topk_pg'
WHERE p.pronamespace <> 'topk'::regnamespace   -- (the pipeline's own, not for users)
GROUP BY p.proname ORDER BY p.proname;

-- Four "workers" each aggregate their shard; their partial states travel as text (the
-- state type's output function) and the "coordinator" reads them back (its input
-- function) and combines them with the combine function, as Citus' coordinator does.
CREATE TABLE events AS
SELECT g AS id, floor(exp((g * 0.618033988749895 - floor(g * 0.618033988749895)) * ln(5000)))::bigint AS product_id,
       (g * 7919) % 40000 AS user_id
FROM generate_series(1, 200000) g;
CREATE TABLE partials AS
SELECT id % 4 AS worker,
       topk_agg(product_id)::text AS topk, hll_agg(user_id)::text AS hll,
       cms_agg(product_id)::text AS cms, heavy_hitters_agg(product_id)::text AS hh
FROM events GROUP BY id % 4;
SELECT worker, left(topk, 14) AS topk_text, left(hll, 6) AS hll_text, left(cms, 6) AS cms_text, left(hh, 16) AS hh_text
FROM partials ORDER BY worker;

-- The coordinator's combine step: the combine functions as transition functions.
CREATE AGGREGATE coord_combine(spacesaving) (SFUNC = topk_combine, STYPE = spacesaving);
CREATE AGGREGATE coord_combine(hll) (SFUNC = hll_combine, STYPE = hll);
CREATE AGGREGATE coord_combine(cms) (SFUNC = cms_combine, STYPE = cms);
CREATE AGGREGATE coord_combine(heavy_hitters) (SFUNC = heavy_hitters_combine, STYPE = heavy_hitters);

-- hll and cms: exactly the one-pass sketch.
SELECT (SELECT coord_combine(hll::hll)::text FROM partials) = (SELECT hll_agg(user_id)::text FROM events) AS hll_same,
       (SELECT coord_combine(cms::cms)::text FROM partials) = (SELECT cms_agg(product_id)::text FROM events) AS cms_same;
-- spacesaving and heavy_hitters: the same top 100 as one pass, with bounds that hold.
CREATE TABLE exact AS SELECT product_id, count(*) AS n FROM events GROUP BY product_id;
SELECT (SELECT array_agg(item ORDER BY rank) FROM topk_items((SELECT coord_combine(topk::spacesaving) FROM partials), 100, NULL::bigint))
     = (SELECT array_agg(item ORDER BY rank) FROM topk_items((SELECT topk_agg(product_id) FROM events), 100)) AS topk_same_top_100,
       (SELECT array_agg(item ORDER BY rank) FROM heavy_hitters_items((SELECT coord_combine(hh::heavy_hitters) FROM partials), 100, NULL::bigint))
     = (SELECT array_agg(item ORDER BY rank) FROM heavy_hitters_items((SELECT heavy_hitters_agg(product_id) FROM events), 100)) AS hh_same_top_100;
SELECT count(*) FILTER (WHERE i.count - i.error > e.n OR i.count < e.n) AS combined_bound_violations
FROM topk_items((SELECT coord_combine(topk::spacesaving) FROM partials), NULL, NULL::bigint) i
JOIN exact e ON e.product_id = i.item;

-- A state written out is the documented stored format: magic byte and format version 1.
SELECT left(topk, 11) AS prefix, substr(decode(substr(topk, 13), 'base64'), 1, 2) AS header FROM partials WHERE worker = 0;
SELECT substr(decode(substr(hll, 5), 'base64'), 1, 2) AS hll_header, substr(decode(substr(cms, 5), 'base64'), 1, 2) AS cms_header,
       substr(decode(substr(hh, 15), 'base64'), 1, 2) AS hh_header FROM partials WHERE worker = 0;

-- Parallel query still runs a Partial Aggregate under Gather, with the same answer.
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT topk_agg(product_id), hll_agg(user_id) FROM events;
SELECT (SELECT hll_agg(user_id)::text FROM events) = (SELECT hll::text FROM (SELECT hll_merge_agg(hll::hll) AS hll FROM partials) s) AS parallel_hll_same;
-- The combine functions refuse to run outside an aggregate.
SELECT topk_combine((SELECT topk_agg(1)), (SELECT topk_agg(2)));
SELECT 1 AS still_usable;
