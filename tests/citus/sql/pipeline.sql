-- topk.create_pipeline on a Citus coordinator, on tables other than a hash-distributed
-- one (tests/citus/sql/pipeline_distributed.sql): on a reference table it is refused up
-- front, naming the table, with a hint; on a local table of the coordinator, and on a
-- Citus local table, the pipeline works as on one node (top_5 of a finished day, k = 5,
-- equals GROUP BY over the events); a table with a pipeline cannot be distributed
-- afterwards (Citus refuses a table with triggers).
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE SCHEMA pipeline;
SET search_path = pipeline, scenario, public;

CREATE TABLE events (user_id bigint, at timestamptz, item bigint);
SELECT create_distributed_table('events', 'user_id');
CREATE TABLE items (item bigint, at timestamptz, name text);
SELECT create_reference_table('items');
-- The first day of 2024, an event a minute: item 1 + n * n % 37 % 12 (skewed), 60 users.
CREATE TABLE events_local (user_id bigint, at timestamptz, item bigint);
CREATE TABLE events_citus_local (LIKE events_local);
SELECT citus_add_local_table_to_metadata('events_citus_local');
SELECT logicalrelid, partmethod, repmodel FROM pg_dist_partition
WHERE logicalrelid::text IN ('events', 'items', 'events_citus_local') ORDER BY 1::text;

-- A reference table: refused, with the table's name and a hint; nothing is created.
SELECT topk.create_pipeline('ref', 'items', 'item', 'at');
SELECT count(*) AS pipelines, to_regnamespace('ref') AS ref_schema
FROM topk.pipelines WHERE name = 'ref';
SELECT count(*) AS topk_triggers FROM pg_trigger
WHERE tgrelid = 'items'::regclass AND tgname LIKE 'topk%';

-- A local table on the coordinator and a Citus local table: the pipeline works. (Citus
-- warns that the pipeline's views are created only locally: client_min_messages = error.)
SET client_min_messages = error;
SELECT topk.create_pipeline('loc', 'events_local', 'item', 'at', k => 5);
SELECT topk.create_pipeline('cloc', 'events_citus_local', 'item', 'at', k => 5);
SET client_min_messages = warning;
INSERT INTO events_local
SELECT n % 60, timestamptz '2024-01-01 00:00+00' + n * interval '1 minute', 1 + n * n % 37 % 12
FROM generate_series(0, 1439) n;
INSERT INTO events_citus_local SELECT * FROM events_local;
UPDATE topk.pipelines SET clock = '2024-01-03 00:00+00' WHERE name IN ('loc', 'cloc');
CALL topk.run('loc');
CALL topk.run('cloc');
-- The day's top 5 (the view top_5, k = 5) against GROUP BY over the events.
SELECT 'loc' AS pipeline, array_agg(format('%s:%s', item, count) ORDER BY rank) AS top_5 FROM loc.top_5
WHERE granularity = 'day' AND window_start = '2024-01-01 00:00+00'
UNION ALL
SELECT 'cloc', array_agg(format('%s:%s', item, count) ORDER BY rank) FROM cloc.top_5
WHERE granularity = 'day' AND window_start = '2024-01-01 00:00+00'
UNION ALL
SELECT 'GROUP BY', array_agg(format('%s:%s', item, count) ORDER BY count DESC, item)
FROM (SELECT item, count(*) AS count FROM events_local GROUP BY item ORDER BY count DESC, item LIMIT 5) e;

-- Its source cannot be distributed afterwards: Citus refuses a table with triggers.
SELECT create_distributed_table('events_local', 'user_id');

SELECT topk.drop_pipeline('loc');
SELECT topk.drop_pipeline('cloc');
DROP SCHEMA pipeline CASCADE;
