-- The Citus benchmark's SQL (benches/citus/run.sh runs it on the coordinator, with psql
-- variables rows, shards and reps). Prints markdown tables.
SET client_min_messages = warning;
CREATE SCHEMA bench;
SET search_path = bench, public;

-- A statement's time in ms; the median of reps runs after one warm-up.
CREATE FUNCTION ms(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := clock_timestamp();
BEGIN
    EXECUTE q;
    RETURN extract(epoch FROM clock_timestamp() - t) * 1000;
END $$;
CREATE FUNCTION median_ms(q text, reps integer) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    times numeric[] := '{}';
BEGIN
    PERFORM ms(q);
    FOR i IN 1..reps LOOP
        times := times || ms(q);
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(times) t);
END $$;
CREATE FUNCTION pretty_ms(v numeric) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN v >= 1000 THEN round(v / 1000, 2) || ' s' ELSE round(v, 1) || ' ms' END $$;
-- What Citus' EXPLAIN ANALYZE says the coordinator received, and its task count.
CREATE FUNCTION received(q text, OUT tasks integer, OUT bytes text) LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
        IF line LIKE '%Task Count:%' THEN
            tasks := trim(split_part(line, ':', 2))::integer;
        END IF;
    END LOOP;
    BEGIN
        FOR line IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
            IF line LIKE '%Tuple data received from nodes:%' THEN
                bytes := trim(split_part(line, ':', 2));
            END IF;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        -- Citus 13.2.2's EXPLAIN ANALYZE of a pushed-down custom aggregate fails on the
        -- worker (tests/citus/sql/build_aggregates.sql): the partial state is a cstring.
        bytes := 'fails: ' || SQLERRM;
    END;
END $$;
-- The partial states Citus ships for aggregate agg over argument arg: worker_partial_agg
-- on every shard (what the worker runs, see the plan in tests/citus/sql/build_aggregates.sql),
-- as text; their number and total length.
CREATE FUNCTION partial_states(agg text, arg text, OUT states bigint, OUT bytes bigint) LANGUAGE plpgsql AS $$
BEGIN
    SELECT count(result) FILTER (WHERE result <> ''), sum(nullif(result, '')::bigint) INTO states, bytes
    FROM run_command_on_shards('bench.events',
         format('SELECT length(worker_partial_agg(%L::regprocedure, %s)::text) FROM %%s', agg, arg))
    WHERE success OR (SELECT error('worker_partial_agg failed on shard ' || shardid || ': ' || result));
END $$;
CREATE FUNCTION error(msg text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', msg;
END $$;

-- The data: deterministic (setseed, then the rows in order on the coordinator): items
-- Zipf-like over a million ids ((1e6 * random()^3)::bigint), users over 2 million
-- ((2e6 * random()^2)::bigint). The same rows distributed by user_id and local.
CREATE TABLE events (id bigint, user_id bigint, item bigint);
SELECT create_distributed_table('events', 'user_id', shard_count => :shards) \g /dev/null
CREATE TABLE events_local (LIKE events);
CREATE TABLE load (what text, ms numeric);
INSERT INTO load
SELECT 'distributed', ms(format($q$SELECT setseed(0.42);
    INSERT INTO events SELECT g, (2e6 * random()^2)::bigint, (1e6 * random()^3)::bigint
    FROM generate_series(1, %s) g$q$, :rows));
INSERT INTO load
SELECT 'local', ms(format($q$SELECT setseed(0.42);
    INSERT INTO events_local SELECT g, (2e6 * random()^2)::bigint, (1e6 * random()^3)::bigint
    FROM generate_series(1, %s) g$q$, :rows));
VACUUM ANALYZE events;
VACUUM ANALYZE events_local;
SELECT CASE WHEN (SELECT concat_ws(' ', count(*), sum(user_id), sum(item)) FROM events)
                 IS DISTINCT FROM (SELECT concat_ws(' ', count(*), sum(user_id), sum(item)) FROM events_local)
            THEN error('the distributed and the local rows differ') END \g /dev/null

\echo
\echo ### Data
\echo
SELECT format('%s rows (%s distinct items, %s distinct users; the top 100 items hold %s%% of the rows) in %s shards over %s workers; '
              'loaded in %s (distributed) and %s (local); table %s on each (distributed: the sum of its shards)',
              (SELECT count(*) FROM events_local),
              (SELECT count(DISTINCT item) FROM events_local), (SELECT count(DISTINCT user_id) FROM events_local),
              (SELECT round(100.0 * sum(c) / :rows, 1) FROM (SELECT count(*) AS c FROM events_local GROUP BY item
                                                              ORDER BY c DESC LIMIT 100) t),
              (SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'events'::regclass),
              (SELECT count(DISTINCT nodeport) FROM pg_dist_shard_placement JOIN pg_dist_shard USING (shardid)
               WHERE logicalrelid = 'events'::regclass),
              (SELECT pretty_ms(ms) FROM load WHERE what = 'distributed'), (SELECT pretty_ms(ms) FROM load WHERE what = 'local'),
              pg_size_pretty(pg_relation_size('events_local')))
       || format('. citus.enable_binary_protocol = %s.', current_setting('citus.enable_binary_protocol'));

-- The figures.
CREATE TABLE figures (ord integer, query text, agg text, arg text, tasks integer, received text,
                      states bigint, state_bytes bigint, cluster_ms numeric, local_ms numeric);
INSERT INTO figures (ord, query, agg, arg)
VALUES (1, 'topk_agg(item)', 'topk_agg(bigint)', 'item'),
       (2, 'heavy_hitters_agg(item)', 'heavy_hitters_agg(bigint)', 'item'),
       (3, 'cms_agg(item)', 'cms_agg(bigint)', 'item'),
       (4, 'hll_agg(user_id)', 'hll_agg(bigint)', 'user_id'),
       (0, 'count(*)', NULL, NULL);
UPDATE figures f SET (tasks, received) = (SELECT * FROM received(format('SELECT %s FROM events', f.query)));
UPDATE figures f SET (states, state_bytes) = (SELECT * FROM partial_states(f.agg, f.arg)) WHERE agg IS NOT NULL;
UPDATE figures f SET cluster_ms = median_ms(format('SELECT %s FROM events', f.query), :reps),
                     local_ms = median_ms(format('SELECT %s FROM events_local', f.query), :reps);
-- Without pushdown the coordinator would receive the column's rows.
CREATE TABLE column_rows AS
SELECT c AS col, r.tasks, r.bytes AS received,
       (SELECT sum(length(CASE c WHEN 'item' THEN item ELSE user_id END::text)) FROM events_local) AS text_bytes
FROM unnest(ARRAY['item', 'user_id']) c, received(format('SELECT %I FROM events', c)) r;

\echo
\echo ### Bytes to the coordinator per query
\echo
\echo | query | tasks (shards) | received (Citus EXPLAIN ANALYZE) | partial states: number, total text length | per state | without pushdown: the column rows (EXPLAIN ANALYZE; as text) | ratio (rows as text / states) |
\echo |---|---|---|---|---|---|---|
SELECT format('| `%s` | %s | %s | %s, %s bytes | %s | %s; %s bytes | %s× |', f.query, f.tasks,
              CASE WHEN f.received LIKE 'fails:%' THEN 'EXPLAIN ANALYZE fails (*)' ELSE f.received END, f.states,
              f.state_bytes, pg_size_pretty(f.state_bytes / nullif(f.states, 0)), c.received, c.text_bytes,
              round(c.text_bytes::numeric / f.state_bytes, 1))
FROM figures f JOIN column_rows c ON c.col = f.arg ORDER BY f.ord;
SELECT DISTINCT E'\n(*) Citus 13.2.2: ' || substr(received, 8)
       || ' (on the worker: EXPLAIN ANALYZE wraps its query in worker_save_query_explain_analyze(...) AS (field_0 cstring), the partial state''s type, which a column definition list cannot have); '
       || 'the partial states are measured instead, by running worker_partial_agg on every shard.'
FROM figures WHERE received LIKE 'fails:%';

\echo
\echo ### Query time, cluster vs one node (one machine: the three nodes share its cores; plans, not speed)
\echo
\echo | query | cluster (distributed table) | one node (local table on the coordinator) | cluster / one node |
\echo |---|---|---|---|
SELECT format('| `%s` | %s | %s | %s |', query, pretty_ms(cluster_ms), pretty_ms(local_ms), round(cluster_ms / local_ms, 2))
FROM figures ORDER BY ord;

-- The answers: hll and cms byte for byte as on one node (merging partial sketches gives
-- the one-pass sketch), top-K sketches against the exact top 100.
CREATE TABLE answers AS
SELECT (SELECT hll_agg(user_id)::text FROM events) = (SELECT hll_agg(user_id)::text FROM events_local) AS hll_same,
       (SELECT cms_agg(item)::text FROM events) = (SELECT cms_agg(item)::text FROM events_local) AS cms_same,
       (SELECT hll_count(hll_agg(user_id)) FROM events) AS hll_count,
       (SELECT count(DISTINCT user_id) FROM events_local) AS exact_users,
       (SELECT array_agg(item) FROM (SELECT item FROM events_local GROUP BY item ORDER BY count(*) DESC, item LIMIT 100) t) AS exact,
       (SELECT array_agg(item) FROM topk_items((SELECT topk_agg(item) FROM events), 100)) AS topk_cluster,
       (SELECT array_agg(item) FROM topk_items((SELECT topk_agg(item) FROM events_local), 100)) AS topk_local,
       (SELECT array_agg(item) FROM heavy_hitters_items((SELECT heavy_hitters_agg(item) FROM events), 100)) AS hh_cluster,
       (SELECT array_agg(item) FROM heavy_hitters_items((SELECT heavy_hitters_agg(item) FROM events_local), 100)) AS hh_local;
\echo
\echo ### Answers
\echo
SELECT format('hll_agg: cluster = one node byte for byte: %s (estimate %s, exact %s); cms_agg: byte for byte: %s; '
              'recall@100 against the exact top 100: topk_agg cluster %s, one node %s; heavy_hitters_agg cluster %s, one node %s',
              hll_same, hll_count, exact_users, cms_same,
              (SELECT count(*) FROM unnest(topk_cluster) i WHERE i = ANY (exact)),
              (SELECT count(*) FROM unnest(topk_local) i WHERE i = ANY (exact)),
              (SELECT count(*) FROM unnest(hh_cluster) i WHERE i = ANY (exact)),
              (SELECT count(*) FROM unnest(hh_local) i WHERE i = ANY (exact)))
FROM answers;
SELECT CASE WHEN NOT (hll_same AND cms_same) THEN error('hll or cms differ from one node') END FROM answers \g /dev/null

-- The pipeline on a distributed table: the events over 30 days (at from id), in a table
-- co-located with events, and the same rows in a local table on the coordinator, each
-- with a pipeline by item created before the load (the capture marks the load on the
-- workers). Figures: the load with and without the pipeline; the first run on the
-- cluster and on one node; what the coordinator receives for the hourly rollups (a
-- tally per shard and hour: worker_partial_agg of topk._tally on every shard, as
-- text) against the hours' rows of the item column; the answers against GROUP BY.
CREATE TABLE sales (id bigint, user_id bigint, item bigint, at timestamptz);
SELECT create_distributed_table('sales', 'user_id', colocate_with => 'events') \g /dev/null
CREATE TABLE sales_plain (LIKE sales);
SELECT create_distributed_table('sales_plain', 'user_id', colocate_with => 'events') \g /dev/null
CREATE TABLE sales_local (LIKE sales);
SELECT topk.create_pipeline('sales_cluster', 'bench.sales', 'item', 'at') \g /dev/null
SELECT topk.create_pipeline('sales_node', 'bench.sales_local', 'item', 'at') \g /dev/null
UPDATE topk.pipelines SET clock = '2024-02-01' WHERE name IN ('sales_cluster', 'sales_node');
-- (to_timestamp of a number: an IMMUTABLE function, which Citus runs on the shards)
INSERT INTO load SELECT 'sales without pipeline',
    ms(format('INSERT INTO sales_plain SELECT id, user_id, item, to_timestamp(1704067200 + id * 2592000.0 / %s) FROM events', :rows));
INSERT INTO load SELECT 'sales with pipeline',
    ms(format('INSERT INTO sales SELECT id, user_id, item, to_timestamp(1704067200 + id * 2592000.0 / %s) FROM events', :rows));
INSERT INTO load SELECT 'sales_local with pipeline',
    ms(format('INSERT INTO sales_local SELECT id, user_id, item, to_timestamp(1704067200 + id * 2592000.0 / %s) FROM events_local', :rows));
SELECT count(*) AS marks FROM sales_cluster.shard_changes \gset
SELECT clock_timestamp() AS t0 \gset
CALL topk.run('sales_cluster');
SELECT extract(epoch FROM clock_timestamp() - :'t0') * 1000 AS run_cluster_ms, clock_timestamp() AS t0 \gset
CALL topk.run('sales_node');
SELECT extract(epoch FROM clock_timestamp() - :'t0') * 1000 AS run_node_ms \gset
-- the hourly tallies of every shard, and the hours' item rows as text
CREATE TABLE tallies AS
SELECT sum(split_part(result, ',', 1)::bigint) AS tallies, sum(split_part(result, ',', 2)::bigint) AS bytes
FROM run_command_on_shards('bench.sales',
     $q$SELECT count(*) || ',' || sum(length(t::text)) FROM (
            SELECT worker_partial_agg('topk._tally(bigint,bigint)'::regprocedure, ROW(item, 1::bigint)) AS t
            FROM %s GROUP BY floor(extract(epoch FROM at) / 3600)) h$q$)
WHERE success OR (SELECT error('worker_partial_agg of topk._tally failed on shard ' || shardid || ': ' || result));

\echo
\echo ### The pipeline on the distributed table
\echo
SELECT format('sales: the %s events over 30 days (%s hours), distributed by user_id (%s shards), a pipeline by item '
              '(created before the load). Load (INSERT … SELECT from events, on the workers): %s without a pipeline, %s with '
              '(%s×; %s marks on the shards), %s into the local table with its pipeline. First run (CALL topk.run: every '
              'hour, day, week read and rolled up): cluster %s, one node %s.',
              :rows, 720, (SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'sales'::regclass),
              (SELECT pretty_ms(ms) FROM load WHERE what = 'sales without pipeline'),
              (SELECT pretty_ms(ms) FROM load WHERE what = 'sales with pipeline'),
              round((SELECT ms FROM load WHERE what = 'sales with pipeline')
                    / (SELECT ms FROM load WHERE what = 'sales without pipeline'), 2), :marks,
              (SELECT pretty_ms(ms) FROM load WHERE what = 'sales_local with pipeline'),
              pretty_ms(:run_cluster_ms), pretty_ms(:run_node_ms));
SELECT format('Hourly rollups, what the coordinator receives: %s tallies (a shard and an hour each), %s bytes as text, '
              '%s a rollup of an hour; without the split, the hours'' item rows: %s rows, %s bytes as text (%s×).',
              t.tallies, t.bytes, pg_size_pretty(round(t.bytes / 720)::bigint), :rows,
              (SELECT sum(length(item::text)) FROM sales_local), round((SELECT sum(length(item::text)) FROM sales_local) / t.bytes, 1))
FROM tallies t;
-- The answers: every day's top 100 on the cluster and on one node against GROUP BY.
CREATE TABLE day_answers AS
WITH exact AS (
    SELECT day, array_agg(item ORDER BY c DESC, item) AS items, array_agg(c ORDER BY c DESC, item) AS counts
    FROM (SELECT date_trunc('day', at) AS day, item, count(*) AS c,
                 row_number() OVER (PARTITION BY date_trunc('day', at) ORDER BY count(*) DESC, item) AS r
          FROM sales_local GROUP BY 1, 2) x WHERE r <= 100 GROUP BY day)
SELECT e.day, e.items = c.items AND e.counts = c.counts AS cluster_exact, e.items = n.items AND e.counts = n.counts AS node_exact
FROM exact e
JOIN (SELECT window_start, items[1:100] AS items, counts[1:100] AS counts FROM sales_cluster.top_lists WHERE granularity = 'day') c
  ON c.window_start = e.day
JOIN (SELECT window_start, items[1:100] AS items, counts[1:100] AS counts FROM sales_node.top_lists WHERE granularity = 'day') n
  ON n.window_start = e.day;
SELECT format('Answers: %s days; the top 100 of each equal to GROUP BY (items and counts, ties by item): cluster %s, one node %s.',
              count(*), count(*) FILTER (WHERE cluster_exact), count(*) FILTER (WHERE node_exact))
FROM day_answers;
SELECT CASE WHEN count(*) FILTER (WHERE NOT cluster_exact OR NOT node_exact) > 0 OR count(*) = 0
            THEN error('a day of the pipeline differs from GROUP BY') END FROM day_answers \g /dev/null
SELECT topk.drop_pipeline('sales_cluster') \g /dev/null
SELECT topk.drop_pipeline('sales_node') \g /dev/null

DROP SCHEMA bench CASCADE;
