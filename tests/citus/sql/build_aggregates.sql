-- The build aggregates on a distributed table (distributed by id, so that every item
-- is spread over the shards): each form, for each item type topk_pg declares them on,
-- runs as a partial aggregate on the workers (EXPLAIN shows worker_partial_agg) and
-- gives the one-node answer of the same query over a local copy of the table: hll and
-- cms sketches byte for byte, top-K sketches the same items with the same counts and
-- errors (fewer distinct items, 139, than their capacity: exact), with and without
-- GROUP BY a column that is not the distribution column.
SET client_min_messages = warning;
\set VERBOSITY terse
CREATE SCHEMA build_aggregates;
SET search_path = build_aggregates, scenario, public;

CREATE TABLE events (id bigint, grp integer, i2 smallint, i4 integer, i8 bigint, tx text, vc varchar(12),
                     u uuid, b bytea, n numeric, w bigint);
SELECT create_distributed_table('events', 'id');
-- 20,000 rows, 139 distinct items of skewed frequencies; every 101st item and every
-- 89th weight NULL (skipped).
INSERT INTO events
SELECT g, g % 5, v, v * 1000, v * 10000000000, 'item-' || v, 'v' || v, md5(v::text)::uuid,
       decode(md5(v::text), 'hex'), v / 8.0, CASE WHEN g % 89 <> 0 THEN 1 + g % 5 END
FROM (SELECT g, CASE WHEN g % 101 <> 0 THEN (g % 17) * (g % 23) % 211 END AS v
      FROM generate_series(1, 20000) g) s;
CREATE TABLE events_local AS SELECT * FROM events;
SELECT (SELECT count(*) FROM events) AS rows, (SELECT count(DISTINCT i4) FROM events_local) AS items,
       (SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'events'::regclass) AS shards,
       (SELECT count(DISTINCT nodeport) FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid)
        WHERE s.logicalrelid = 'events'::regclass) AS nodes_with_shards;

-- (scenario.fingerprint(sketch) and scenario.plan(query): tests/citus/run.sh)
CREATE TABLE checks (aggregate text, form text, item_type text, grouped boolean,
                     pushed_down boolean, same boolean, items bigint);
DO $$
DECLARE
    f text;
    c record;
    g boolean;
    q text;
    plan text;
    dist text;
    loc text;
    items bigint;
BEGIN
    FOREACH f IN ARRAY ARRAY[
            'hll_agg(%s)', 'hll_agg(%s, 12)',
            'cms_agg(%s)', 'cms_agg(%s, w)', 'cms_agg(%s, 0.01, 0.05)', 'cms_agg(%s, w, 0.01, 0.05)',
            'topk_agg(%s)', 'topk_agg(%s, 500)', 'topk_agg(%s, w)', 'topk_agg(%s, w, 500)',
            'heavy_hitters_agg(%s)', 'heavy_hitters_agg(%s, 300)', 'heavy_hitters_agg(%s, 300, 0.001, 0.01)',
            'heavy_hitters_agg(%s, w)', 'heavy_hitters_agg(%s, w, 300)', 'heavy_hitters_agg(%s, w, 300, 0.001, 0.01)'] LOOP
        FOR c IN SELECT * FROM (VALUES ('i2', 'smallint'), ('i4', 'integer'), ('i8', 'bigint'), ('tx', 'text'),
                                       ('vc', 'varchar'), ('u', 'uuid'), ('b', 'bytea')) v(col, type) LOOP
            FOREACH g IN ARRAY ARRAY[false, true] LOOP
                q := format('SELECT %s fingerprint(' || f || ') AS fp FROM %%I %s',
                            CASE WHEN g THEN 'grp,' ELSE '' END, c.col, CASE WHEN g THEN 'GROUP BY grp' ELSE '' END);
                plan := '';
                FOR dist IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || format(q, 'events') LOOP
                    plan := plan || dist || E'\n';
                END LOOP;
                EXECUTE format('SELECT string_agg(fp, E''\n'' ORDER BY fp) FROM (%s) r', format(q, 'events')) INTO dist;
                EXECUTE format('SELECT string_agg(fp, E''\n'' ORDER BY fp), sum(length(fp) - length(replace(fp, '','', '''')) + 1)
                                FROM (%s) r', format(q, 'events_local')) INTO loc, items;
                INSERT INTO checks VALUES (split_part(f, '(', 1), replace(f, '%s', 'value'), c.type, g,
                                           plan LIKE '%worker_partial_agg(%' AND plan LIKE '%coord_combine_agg(%',
                                           dist = loc, items);
            END LOOP;
        END LOOP;
    END LOOP;
END $$;

-- Every form of every build aggregate, for every item type: pushed down and the
-- one-node answer, without and with GROUP BY grp.
SELECT aggregate, count(*) AS queries, count(*) FILTER (WHERE pushed_down) AS pushed_down,
       count(*) FILTER (WHERE same) AS same_answer, string_agg(DISTINCT item_type, ', ') AS item_types
FROM checks GROUP BY aggregate ORDER BY aggregate;
SELECT form, count(*) FILTER (WHERE pushed_down AND same) AS ok, count(*) AS queries FROM checks
GROUP BY form ORDER BY form;
-- (none may fail)
SELECT * FROM checks WHERE NOT pushed_down OR NOT same OR same IS NULL;
-- The top-K comparisons compared items, not empty lists: items listed per query (the
-- 139 items, and 5 groups of 139 items each with GROUP BY).
SELECT aggregate, grouped, min(items), max(items) FROM checks
WHERE aggregate IN ('topk_agg', 'heavy_hitters_agg') GROUP BY 1, 2 ORDER BY 1, 2;

-- The plan: the partial aggregate on the workers, its combine on the coordinator.
SELECT plan('SELECT grp, topk_agg(i8, w, 500) FROM events GROUP BY grp');
-- EXPLAIN ANALYZE of a pushed-down aggregate fails on the workers in Citus 13.2.2: it
-- wraps the worker's query in worker_save_query_explain_analyze(...) AS (field_0 cstring),
-- the partial state's type, which a column definition list cannot have (Citus'
-- multi_explain.c). EXPLAIN without ANALYZE, above, works.
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT hll_agg(i8) FROM events;

-- Items of the other types use the anyelement forms, which Citus cannot push down
-- (it requires the declared argument type): numeric here, an ERROR on the workers.
SELECT hll_count(hll_agg(n)) FROM events;
-- Cast to a type above...
CREATE TEMP TABLE numeric_as_text AS SELECT hll_agg(n::text) AS s, topk_agg(n::text) AS t FROM events;
SELECT s::text = (SELECT hll_agg(n::text)::text FROM events_local) AS hll_same,
       fingerprint(t) = (SELECT fingerprint(topk_agg(n::text)) FROM events_local) AS topk_same
FROM numeric_as_text;
-- ... or group by the distribution column: then Citus runs the whole aggregate on the
-- workers (no partial aggregation), which any form can.
SELECT plan('SELECT id, hll_agg(n) FROM events GROUP BY id') LIMIT 9;
CREATE TEMP TABLE by_id AS SELECT id, hll_agg(n) AS s FROM events GROUP BY id;
SELECT count(*) AS groups, count(*) FILTER (WHERE d.s::text = l.s::text) AS same,
       count(*) FILTER (WHERE d.s IS NULL AND l.s IS NULL) AS both_null
FROM by_id d JOIN (SELECT id, hll_agg(n) AS s FROM events_local GROUP BY id) l USING (id);

-- A parameter must be the same for every row on the workers too.
SELECT hll_agg(i4, grp) FROM events;
SELECT topk_agg(i4, w, grp) FROM events;

DROP SCHEMA build_aggregates CASCADE;
