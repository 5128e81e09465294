-- Bad input of every kind gets a clear ERROR; the session stays usable and the server
-- never restarts.
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;

-- Tries an expression; returns 'ok' or the error message (the session goes on).
CREATE FUNCTION try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Huge inputs: a 100 MB text item, and sketches claiming far more than they hold.
SELECT try($$SELECT topk_agg(repeat('x', 100 * 1024 * 1024))$$) AS item_100mb;
SELECT try($$SELECT hll_agg(repeat('x', 100 * 1024 * 1024))$$) AS hll_item_100mb;
-- 'S', version 1, capacity 2^23, item type, kind int, total, threshold, then 2^40 entries.
SELECT try($$SELECT topk_total(('spacesaving:' || encode('\x5301808080041400000001000080808080808020'::bytea, 'base64'))::spacesaving)$$) AS ss_claims_2_40_entries;
-- 'C', version 1, epsilon 2.8e-9, delta 0.01: 970,814,939 x 5 counters (36 GB).
SELECT try($$SELECT cms_total(('cms:' || encode('\x43010000000003c69cde430d283e7b14ae47e17a843fdb75dd39050000000000000000000000'::bytea, 'base64'))::cms)$$) AS cms_claims_36gb;
-- 'H', version 1, precision 18, dense, and no registers.
SELECT try($$SELECT hll_count(('hll:' || encode('\x4801120000000001'::bytea, 'base64'))::topk_hll)$$) AS hll_dense_without_registers;

-- Every truncation and every single-byte change of stored sketches of each type is
-- either rejected with an ERROR or decodes to a valid sketch; none crashes the server.
CREATE TABLE samples AS
SELECT 'hll' AS type, hll_agg(g)::text AS t FROM generate_series(1, 50) g
UNION ALL SELECT 'hll', hll_agg(g, 4)::text FROM generate_series(1, 5000) g
UNION ALL SELECT 'cms', cms_agg(g % 7, 0.3, 0.3)::text FROM generate_series(1, 50) g
UNION ALL SELECT 'spacesaving', topk_agg(g % 7)::text FROM generate_series(1, 50) g
UNION ALL SELECT 'spacesaving', topk_agg((g % 7)::text, 3)::text FROM generate_series(1, 50) g
UNION ALL SELECT 'heavy_hitters', heavy_hitters_agg(g % 7, 2, 0.3, 0.3)::text FROM generate_series(1, 50) g;
CREATE FUNCTION mutations(type text, t text) RETURNS TABLE (kind text, sketch text) LANGUAGE sql AS $$
    WITH b AS (SELECT decode(substr(t, length(type) + 2), 'base64') AS bytes)
    SELECT 'truncated', type || ':' || encode(substr(bytes, 1, n), 'base64')
    FROM b, generate_series(0, length(bytes) - 1) n
    UNION ALL
    SELECT 'changed', type || ':' || encode(set_byte(bytes, n, (get_byte(bytes, n) + x) % 256), 'base64')
    FROM b, generate_series(0, length(bytes) - 1) n, (VALUES (1), (128), (255)) v(x)
$$;
SELECT s.type, m.kind, count(*) AS tried,
       count(*) FILTER (WHERE r LIKE '22P03: %' OR r LIKE '22023: %') AS rejected_cleanly,
       count(*) FILTER (WHERE r = 'ok') AS decoded,
       count(*) FILTER (WHERE r <> 'ok' AND r NOT LIKE '22P03: %' AND r NOT LIKE '22023: %') AS other_errors
FROM samples s, mutations(s.type, s.t) m,
     LATERAL try(format('SELECT %s_out(%L::%s)', CASE s.type WHEN 'spacesaving' THEN 'topk' WHEN 'hll' THEN 'topk_hll' ELSE s.type END,
                        m.sketch, CASE s.type WHEN 'hll' THEN 'topk_hll' ELSE s.type END)) r
GROUP BY s.type, m.kind ORDER BY 1, 2;
-- Every truncation is rejected.
SELECT count(*) AS truncations_accepted
FROM samples s, mutations(s.type, s.t) m
WHERE m.kind = 'truncated' AND try(format('SELECT %L::%s', m.sketch, CASE s.type WHEN 'hll' THEN 'topk_hll' ELSE s.type END)) = 'ok';

-- A sketch of one type read as another.
SELECT try($$SELECT (SELECT hll_agg(1))::text::cms$$) AS hll_as_cms,
       try($$SELECT ('cms:' || substr((SELECT cms_agg(1))::text, 5))::topk_hll$$) AS cms_bytes_as_hll,
       try($$SELECT ('spacesaving:' || substr((SELECT hll_agg(1))::text, 5))::spacesaving$$) AS hll_bytes_as_spacesaving,
       try($$SELECT (SELECT topk_agg('x'::text))::spacesaving_bigint$$) AS domain_cast_is_allowed,
       try($$SELECT count(*) FROM topk_items((SELECT topk_agg('x'::text))::spacesaving_bigint)$$) AS but_items_check_the_type;

-- Wrong parameters and NULLs for every aggregate.
SELECT try($$SELECT hll_agg(1, 0)$$) AS hll_precision_0,
       try($$SELECT cms_agg(1, 1.5, 0.1)$$) AS cms_epsilon_1_5,
       try($$SELECT cms_agg(1, 0.1, 'NaN')$$) AS cms_delta_nan,
       try($$SELECT topk_agg(1, -3)$$) AS topk_capacity_negative,
       try($$SELECT heavy_hitters_agg(1, 2147483647)$$) AS hh_k_huge;
SELECT try($$SELECT topk_agg(1, NULL::int)$$) AS null_capacity,
       try($$SELECT cms_agg(1, NULL::float8, 0.1)$$) AS null_epsilon;
SELECT hll_count(NULL), cms_total(NULL), topk_total(NULL), heavy_hitters_total(NULL),
       topk_merge(NULL::spacesaving, NULL) IS NULL AS merge_of_nulls_is_null,
       cms_estimate(NULL, 1) IS NULL AS estimate_of_null;
SELECT count(*) AS rows FROM topk_items(NULL::spacesaving);

-- Counters never wrap.
SELECT try($$SELECT topk_agg(g, 9223372036854775807) FROM generate_series(1, 2) g$$) AS topk_overflow,
       try($$SELECT heavy_hitters_agg(g, 9223372036854775807) FROM generate_series(1, 2) g$$) AS hh_overflow,
       try($$SELECT cms_merge(cms_agg(1, 9223372036854775807), cms_agg(1, 9223372036854775807))$$) AS cms_merge_overflow;

-- The combine functions refuse to run outside an aggregate.
SELECT try($$SELECT topk_combine((SELECT topk_agg(1)), (SELECT topk_agg(2)))$$) AS combine_outside_aggregate;

SELECT 1 AS still_usable;
