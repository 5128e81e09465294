-- The pipeline on a Citus distributed events table, distributed by the item column
-- (by_item) and by a user id (by_user, text items, weighted): topk.create_pipeline puts
-- the capture triggers on the shards (on the workers), whose marks go into
-- <name>.shard_changes, co-located with the events; the runs read the source through
-- Citus, the hours' exact counts tallied on the workers (worker_partial_agg) and summed
-- on the coordinator. Whatever the application does to the table (INSERT, COPY, UPDATE,
-- DELETE, TRUNCATE, ALTER TABLE, late rows, writes rolled back), every final window
-- equals GROUP BY over the table (check_exact) and each open hour of the speed path
-- counts its events (check_speed); retention deletes old events and the windows keep
-- counting them. What Citus cannot do is refused with its error.
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never
CREATE SCHEMA distributed;
SET search_path = distributed, scenario, public;
\i tests/sql/include/checks.sql

CREATE TABLE by_item (id bigint, user_id bigint, at timestamptz, item bigint, cents integer NOT NULL DEFAULT 100);
SELECT create_distributed_table('by_item', 'item');
CREATE TABLE by_user (id bigint, user_id bigint, at timestamptz, item text, cents integer NOT NULL DEFAULT 100);
SELECT create_distributed_table('by_user', 'user_id');
-- (a distinct column must be of a type Citus can count on the workers)
SELECT topk.create_pipeline('pi', 'by_item', 'item', 'at', k => 5, distinct_column => 'at');
SELECT topk.create_pipeline('pi', 'by_item', 'item', 'at', k => 5, distinct_column => 'user_id');
SELECT topk.create_pipeline('pu', 'by_user', 'item', 'at', k => 5, weight_column => 'cents');
UPDATE topk.pipelines SET clock = '2024-01-03 00:10+00' WHERE name IN ('pi', 'pu');
-- The marks of the shards: a distributed table co-located with the events.
SELECT logicalrelid, column_to_column_name(logicalrelid, partkey) AS key,
       colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'by_item'::regclass) AS with_by_item,
       colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'by_user'::regclass) AS with_by_user
FROM pg_dist_partition WHERE logicalrelid::text LIKE 'p_.shard_changes' ORDER BY 1::text;
-- The capture triggers on each worker: INSERT, UPDATE, DELETE on each of its shards (2
-- of 4 per table), and the four on the table itself (TRUNCATE fires there: Citus
-- truncates through the coordinator's table).
SELECT success, result FROM run_command_on_workers($$SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'topk_capture_p%'$$);

-- 1. INSERT … SELECT over the shards, a multi-row INSERT and a COPY; two days and the
-- first ten minutes of a third (the clock: 2024-01-03 00:10).
INSERT INTO by_item SELECT g, g % 97, timestamptz '2024-01-01' + g * interval '35 seconds', 1 + g * g % 89 % 23, 100 + g % 7
FROM generate_series(0, 4952) g;
INSERT INTO by_user SELECT g, g % 97, timestamptz '2024-01-01' + g * interval '35 seconds', 'p' || (1 + g * g % 89 % 23), 100 + g % 7
FROM generate_series(0, 4952) g;
INSERT INTO by_item VALUES (9001, 1, '2024-01-01 10:00+00', 5, 100), (9002, 2, '2024-01-02 11:00+00', 6, 100);
COPY by_user FROM STDIN (FORMAT csv);
9001,1,2024-01-01 10:00+00,p5,300
9002,2,2024-01-02 11:30+00,p6,400
9003,3,2024-01-02 11:31+00,p6,-1
\.
-- The marks are on the workers, a few per statement and shard.
SELECT (SELECT count(*) > 0 FROM pi.shard_changes) AS pi_marked, (SELECT count(*) > 0 FROM pu.shard_changes) AS pu_marked;
-- Monitoring counts them as pending.
SELECT pipeline, pending_changes > 0 AS pending, lag_seconds > 0 AS lagging FROM topk.pipeline_status
WHERE pipeline IN ('pi', 'pu') ORDER BY 1;
CALL topk.run('pi');
CALL topk.run('pu');
SELECT (SELECT count(*) FROM pi.shard_changes) + (SELECT count(*) FROM pu.shard_changes) AS marks_left;
SELECT 'pi' AS pipeline, * FROM check_exact('pi') WHERE granularity IN ('hour', 'day')
UNION ALL SELECT 'pu', * FROM check_exact('pu') WHERE granularity IN ('hour', 'day');
SELECT 'pi' AS pipeline, * FROM check_speed('pi') UNION ALL SELECT 'pu', * FROM check_speed('pu');
SELECT 'pi' AS pipeline, * FROM check_view('pi') UNION ALL SELECT 'pu', * FROM check_view('pu');
-- The day's top 5 of each against GROUP BY; the distinct users per day; the row with a
-- negative weight is rejected.
SELECT 'pi' AS pipeline, array_agg(format('%s:%s', item, count) ORDER BY rank) AS top_5 FROM pi.top_5
WHERE granularity = 'day' AND window_start = '2024-01-01'
UNION ALL
SELECT 'GROUP BY', array_agg(format('%s:%s', item, count) ORDER BY count DESC, item)
FROM (SELECT item, count(*) AS count FROM by_item WHERE at < '2024-01-02' GROUP BY item ORDER BY count DESC, item LIMIT 5) e
UNION ALL
SELECT 'pu', array_agg(format('%s:%s', item, count) ORDER BY rank) FROM pu.top_5
WHERE granularity = 'day' AND window_start = '2024-01-02'
UNION ALL
SELECT 'GROUP BY', array_agg(format('%s:%s', item, count) ORDER BY count DESC, item)
FROM (SELECT item, sum(cents) AS count FROM by_user WHERE at >= '2024-01-02' AND at < '2024-01-03' AND cents >= 0
      GROUP BY item ORDER BY count DESC, item LIMIT 5) e;
WITH e AS MATERIALIZED (SELECT date_trunc('day', at) AS day, count(DISTINCT user_id) AS users FROM by_item GROUP BY 1)
SELECT d.window_start, d.distinct_count, e.users AS exact
FROM pi.distinct_counts d JOIN e ON e.day = d.window_start WHERE d.granularity = 'day' ORDER BY 1;
SELECT rejected_events FROM topk.pipeline_status WHERE pipeline = 'pu';

-- The hours' counts are tallied on the workers: the rollup's scan of the source, split
-- by Citus (a partial tally per shard, summed by the coordinator). Per hour of the first
-- day, what the coordinator receives: a tally per shard that has rows of the hour,
-- against the hour's rows without the split.
SELECT line FROM plan($$SELECT topk.window_start('hour', at, 'UTC'), topk._tally(e.item, e.cents::bigint), count(*)
                        FROM by_user e WHERE at >= '2024-01-01' AND at < '2024-01-02' GROUP BY 1$$) line
WHERE line ~ 'coord_combine_agg|worker_partial_agg|Task Count';
-- The speed path's scan is split too: a sketch per shard and hour.
SELECT line FROM plan($$SELECT topk.window_start('hour', at, 'UTC'), topk_agg(e.item, e.cents::bigint, 12000), count(*),
                               sum(e.cents), hll_agg(e.user_id)
                        FROM by_user e WHERE at >= '2024-01-01' AND at < '2024-01-02' GROUP BY 1$$) line
WHERE line ~ 'coord_combine_agg';
SELECT count(*) AS tallies, sum(length(t)) AS tally_bytes,
       (SELECT count(*) FROM by_user WHERE at >= '2024-01-01' AND at < '2024-01-02') AS rows,
       (SELECT sum(length(format('%s,%s,%s', item, cents, at))) FROM by_user WHERE at >= '2024-01-01' AND at < '2024-01-02') AS row_bytes
FROM (SELECT r.result AS s FROM run_command_on_shards('by_user',
          $$SELECT string_agg(t::text, ',') FROM (
                SELECT worker_partial_agg('topk._tally(text,bigint)'::regprocedure, ROW(item, cents::bigint)) AS t
                FROM %s WHERE at >= '2024-01-01' AND at < '2024-01-02' GROUP BY topk.window_start('hour', at, 'UTC')) h$$) r) x,
     regexp_split_to_table(x.s, ',') t;

-- 2. UPDATE of the items and of the times (rows move to other hours and days), DELETE,
-- and writes rolled back. Citus itself refuses an UPDATE of the distribution column.
-- (Citus refuses a STABLE function of a column in an UPDATE, such as timestamptz +
-- interval: hours_later is IMMUTABLE, which a shift by whole hours is.)
UPDATE by_user SET at = at + interval '3 hours' WHERE id % 10 = 1;
CREATE FUNCTION hours_later(t timestamptz, n integer) RETURNS timestamptz IMMUTABLE LANGUAGE sql
RETURN to_timestamp(extract(epoch FROM t)::double precision + n * 3600);
UPDATE by_user SET item = 'p1' WHERE id % 10 = 0 AND at < '2024-01-02';
UPDATE by_user SET at = hours_later(at, 3) WHERE id % 10 = 1;
UPDATE by_item SET at = hours_later(at, -24) WHERE id % 10 = 2 AND at >= '2024-01-02';
UPDATE by_item SET cents = cents + 1 WHERE id % 10 = 3;
UPDATE by_item SET item = item + 1 WHERE id % 10 = 3;
DELETE FROM by_item WHERE id % 10 = 4;
DELETE FROM by_user WHERE item = 'p12';
BEGIN;
INSERT INTO by_item SELECT g, 1, '2024-01-01 05:00+00', 1, 100 FROM generate_series(1, 100) g;
DELETE FROM by_user WHERE item = 'p10';
ROLLBACK;
CALL topk.run('pi');
CALL topk.run('pu');
SELECT 'pi' AS pipeline, * FROM check_exact('pi') WHERE granularity IN ('hour', 'day')
UNION ALL SELECT 'pu', * FROM check_exact('pu') WHERE granularity IN ('hour', 'day');

-- 3. ALTER TABLE: a column added; the item and the time column renamed (followed: the
-- triggers on the shards are made again with the new name); the weight column retyped
-- is refused with the pipeline's error.
ALTER TABLE by_user ADD COLUMN channel text DEFAULT 'web';
ALTER TABLE by_user RENAME COLUMN item TO product;
ALTER TABLE by_item RENAME COLUMN at TO event_time;
ALTER TABLE by_user ALTER COLUMN cents TYPE bigint;
SELECT name, item_column, time_column FROM topk.pipelines WHERE name IN ('pi', 'pu') ORDER BY 1;
SELECT success, result FROM run_command_on_workers($$SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'topk_capture_p%'$$);
INSERT INTO by_user (id, user_id, at, product, cents, channel)
SELECT 20000 + g, g % 13, timestamptz '2024-01-02 06:00+00' + g * interval '1 minute', 'p' || (g % 4), 50, 'app' FROM generate_series(1, 300) g;
INSERT INTO by_item (id, user_id, event_time, item)
SELECT 20000 + g, g % 13, timestamptz '2024-01-01 06:00+00' + g * interval '1 minute', 7 FROM generate_series(1, 300) g;
CALL topk.run('pi');
CALL topk.run('pu');
SELECT 'pi' AS pipeline, * FROM check_exact('pi') WHERE granularity IN ('hour', 'day')
UNION ALL SELECT 'pu', * FROM check_exact('pu') WHERE granularity IN ('hour', 'day');

-- 4. TRUNCATE (marks everything, from the coordinator) and a reload of part of the rows.
TRUNCATE by_user;
INSERT INTO by_user (id, user_id, at, product, cents)
SELECT g, g % 31, timestamptz '2024-01-01 12:00+00' + g * interval '61 seconds', 'p' || (g % 9), 10 FROM generate_series(1, 2000) g;
CALL topk.run('pu');
SELECT 'pu' AS pipeline, * FROM check_exact('pu') WHERE granularity IN ('hour', 'day');
SELECT array_agg(format('%s:%s', item, count) ORDER BY rank) AS top_5 FROM pu.top_5
WHERE granularity = 'day' AND window_start = '2024-01-01';
-- topk.refresh of a range reads it again from the shards: nothing changes.
CALL topk.refresh('pu', '2024-01-01', '2024-01-02');
SELECT 'pu' AS pipeline, * FROM check_exact('pu') WHERE granularity IN ('hour', 'day');

-- 5. Late rows into a final day, and the open day (the speed path): each open hour
-- counts its events, and the final windows take the late rows.
UPDATE topk.pipelines SET clock = '2024-01-03 03:10+00' WHERE name IN ('pi', 'pu');
INSERT INTO by_item (id, user_id, event_time, item)
SELECT 30000 + g, g, timestamptz '2024-01-01 23:00+00' + g * interval '1 second', 3 FROM generate_series(1, 500) g
UNION ALL
SELECT 31000 + g, g, timestamptz '2024-01-03 02:50+00' + g * interval '1 second', 1 + g % 5 FROM generate_series(1, 1200) g;
CALL topk.run('pi');
SELECT 'pi' AS pipeline, * FROM check_exact('pi') WHERE granularity IN ('hour', 'day');
SELECT 'pi' AS pipeline, * FROM check_speed('pi');

-- 6. A shard of by_user moves to the other worker (with the shards co-located with it:
-- by_item's, whose distribution column has the same type, and pi's and pu's
-- shard_changes). Writes to the moved shard and
-- to a shard that stayed go on being marked, each into the shard of shard_changes
-- co-located with the shard written, and the final windows take them.
CREATE TABLE moved AS
SELECT p.shardid, p.groupid AS from_group, (SELECT min(groupid) FROM pg_dist_node WHERE noderole = 'primary'
                                           AND shouldhaveshards AND groupid <> p.groupid) AS to_group
FROM pg_dist_placement p JOIN pg_dist_shard s USING (shardid)
WHERE s.logicalrelid = 'by_user'::regclass ORDER BY p.shardid LIMIT 1;
SELECT citus_move_shard_placement(m.shardid, f.nodename, f.nodeport, t.nodename, t.nodeport, shard_transfer_mode => 'block_writes')
FROM moved m JOIN pg_dist_node f ON f.groupid = m.from_group JOIN pg_dist_node t ON t.groupid = m.to_group;
SELECT count(*) AS placements_moved FROM moved m JOIN pg_dist_placement p ON p.shardid = m.shardid AND p.groupid = m.to_group;
-- (the old placements are dropped now rather than later, which keeps this test's counts
-- of triggers the same from run to run)
CALL citus_cleanup_orphaned_resources();
INSERT INTO by_user (id, user_id, at, product, cents)
SELECT 40000 + u * 100 + g, u, timestamptz '2024-01-01 03:00+00' + g * interval '1 minute', 'moved', 10
FROM generate_series(0, 30) u, generate_series(1, 20) g
WHERE get_shard_id_for_distribution_column('by_user', u) = (SELECT shardid FROM moved);
INSERT INTO by_user (id, user_id, at, product, cents)
SELECT 50000 + u * 100 + g, u, timestamptz '2024-01-01 04:00+00' + g * interval '1 minute', 'stayed', 10
FROM generate_series(0, 30) u, generate_series(1, 20) g
WHERE get_shard_id_for_distribution_column('by_user', u) IN (
    SELECT p.shardid FROM pg_dist_placement p JOIN pg_dist_shard s USING (shardid), moved m
    WHERE s.logicalrelid = 'by_user'::regclass AND p.groupid = m.from_group);
CALL topk.run('pu');
SELECT 'pu' AS pipeline, * FROM check_exact('pu') WHERE granularity IN ('hour', 'day');
SELECT window_start, items[1] AS top_item FROM pu.top_lists
WHERE granularity = 'hour' AND window_start IN ('2024-01-01 03:00+00', '2024-01-01 04:00+00') ORDER BY 1;

-- 7. Retention: events older than a day are deleted once final; the windows keep
-- counting them, and the deletion marks nothing (its SET LOCAL topk.retention reaches
-- the workers).
CREATE TABLE kept AS SELECT granularity, window_start, items, counts FROM pi.top_lists WHERE window_start < '2024-01-02';
UPDATE topk.pipelines SET keep_raw_events = '1 day' WHERE name = 'pi';
CALL topk.run_batch('pi');
SELECT count(*) AS events_left_before_jan_2 FROM by_item WHERE event_time < '2024-01-02 03:00+00';
SELECT count(*) AS marks FROM pi.shard_changes;
CALL topk.run('pi');
SELECT count(*) AS windows, count(*) FILTER (WHERE (l.items, l.counts) IS DISTINCT FROM (k.items, k.counts)) AS changed
FROM kept k LEFT JOIN pi.top_lists l USING (granularity, window_start);

-- 8. A distributed partitioned source, a partition a day. A new partition is created as
-- usual (Citus distributes it, and would refuse it with triggers: the pipeline's watch
-- leaves it alone); rows into it through the parent are marked by the parent's
-- triggers, and the next run gives the partition its own, for statements that name it.
CREATE TABLE by_day (id bigint, user_id bigint, at timestamptz NOT NULL, item bigint) PARTITION BY RANGE (at);
CREATE TABLE by_day_0101 PARTITION OF by_day FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
CREATE TABLE by_day_0102 PARTITION OF by_day FOR VALUES FROM ('2024-01-02') TO ('2024-01-03');
SELECT create_distributed_table('by_day', 'user_id');
SELECT topk.create_pipeline('pd', 'by_day', 'item', 'at', k => 5);
UPDATE topk.pipelines SET clock = '2024-01-03 00:10+00' WHERE name = 'pd';
INSERT INTO by_day SELECT g, g % 40, timestamptz '2024-01-01' + g * interval '40 seconds', g % 11 FROM generate_series(0, 4300) g;
CALL topk.run('pd');
CREATE TABLE by_day_0103 PARTITION OF by_day FOR VALUES FROM ('2024-01-03') TO ('2024-01-04');
INSERT INTO by_day SELECT 9000 + g, g % 40, timestamptz '2024-01-03' + g * interval '1 second', 3 FROM generate_series(0, 500) g;
UPDATE topk.pipelines SET clock = '2024-01-04 00:10+00' WHERE name = 'pd';
CALL topk.run('pd');
SELECT count(*) AS partition_triggers FROM pg_trigger WHERE tgrelid = 'by_day_0103'::regclass AND tgname LIKE 'topk_capture_pd%';
INSERT INTO by_day_0103 SELECT 19000 + g, g % 40, timestamptz '2024-01-03 05:00' + g * interval '1 second', 4 FROM generate_series(0, 500) g;
DELETE FROM by_day WHERE id % 5 = 0;
CALL topk.run('pd');
SELECT 'pd' AS pipeline, * FROM check_exact('pd') WHERE granularity IN ('hour', 'day');
SELECT topk.drop_pipeline('pd');

-- 9. drop_pipeline removes the triggers on the shards (also the TRUNCATE triggers Citus
-- copied onto the moved shards) and the marks' table.
SELECT topk.drop_pipeline('pi');
SELECT topk.drop_pipeline('pu');
SELECT success, result FROM run_command_on_workers($$SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'topk_capture_p%'$$);
SELECT count(*) AS shard_changes FROM pg_dist_partition WHERE logicalrelid::text LIKE '%shard_changes';
DROP SCHEMA distributed CASCADE;
