-- Memory: a sketch lives on the Rust heap, and PostgreSQL counts it all the same (each
-- state reserves as much in its memory context), so a hash aggregate over many groups
-- spills to disk beyond work_mem × hash_mem_multiplier, as with built-in aggregates,
-- and still gives the right answer.
SET client_min_messages = warning;
CREATE EXTENSION topk_pg;
SET max_parallel_workers_per_gather = 0;
SET work_mem = '1MB';
SET enable_sort = off;   -- a hash aggregate, whatever the estimates
-- The plan's hash aggregate: did it spill (more than one batch), and how much memory
-- did it hold at most (work_mem 1 MB × hash_mem_multiplier 2, plus one group's growth)?
CREATE FUNCTION hashagg(q text, OUT spilled boolean, OUT peak_below_4mb boolean) LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO plan;
    plan := plan->0->'Plan';
    spilled := (plan->>'HashAgg Batches')::int > 1;
    peak_below_4mb := (plan->>'Peak Memory Usage')::int < 4096;
END $$;

-- 500 groups of 2,000 distinct items: ~64 KB of working sketch per group, 32 MB in all.
SELECT 'topk_agg' AS agg, * FROM hashagg('SELECT g % 500, topk_agg(g) FROM generate_series(1, 1000000) g GROUP BY 1')
UNION ALL
SELECT 'heavy_hitters_agg', * FROM hashagg('SELECT g % 500, heavy_hitters_agg(g) FROM generate_series(1, 1000000) g GROUP BY 1')
UNION ALL
SELECT 'cms_agg', * FROM hashagg('SELECT g % 500, cms_agg(g) FROM generate_series(1, 1000000) g GROUP BY 1')
UNION ALL
SELECT 'hll_agg', * FROM hashagg('SELECT g % 500, hll_agg(g) FROM generate_series(1, 1000000) g GROUP BY 1');

-- The spilled aggregates count every value once.
SELECT count(*) AS groups,
       count(*) FILTER (WHERE topk_total(t) = 2000 AND (SELECT count(*) FROM topk_items(t, 5000)) = 2000) AS topk_exact,
       count(*) FILTER (WHERE heavy_hitters_total(h) = 2000) AS hh_total,
       count(*) FILTER (WHERE cms_total(c) = 2000) AS cms_total,
       count(*) FILTER (WHERE hll_count(d) BETWEEN 1950 AND 2050) AS hll_close
FROM (SELECT g % 500 AS k, topk_agg(g) AS t, heavy_hitters_agg(g) AS h, cms_agg(g) AS c, hll_agg(g) AS d
      FROM generate_series(1, 1000000) g GROUP BY 1) x;
