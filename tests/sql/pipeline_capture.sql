-- The source is the truth: whatever the application does to its events table, after
-- CALL topk.run every finished window equals GROUP BY over the table as it is then.
-- Statements only mark the hours they touched (topk._capture, in <name>.changes); the
-- runs read those hours again from the source. (What this costs the writer is measured
-- by the benchmark, scripts/bench.sh, never by a test.)
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set SHOW_CONTEXT never

\i tests/sql/include/checks.sql

-- A partitioned events table with a key (for ON CONFLICT), a partition a day.
CREATE TABLE events (
    id    bigint NOT NULL,
    at    timestamptz NOT NULL,
    item  text,
    buyer integer,
    cents integer NOT NULL DEFAULT 100,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE events_0101 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
CREATE TABLE events_0102 PARTITION OF events FOR VALUES FROM ('2024-01-02') TO ('2024-01-03');
CREATE TABLE events_0103 PARTITION OF events FOR VALUES FROM ('2024-01-03') TO ('2024-01-04');
SELECT topk.create_pipeline('shop', 'events', 'item', 'at', k => 5, distinct_column => 'buyer');
SELECT topk.create_pipeline('revenue', 'events', 'item', 'at', weight_column => 'cents', k => 3);
UPDATE topk.pipelines SET clock = '2024-01-03 00:10+00';
-- Every table of the tree has the capture triggers (a statement fires only the triggers
-- of the table it names): statement triggers (O: fired in ordinary sessions; TRUNCATE A:
-- always), and on the tables that hold rows a row trigger for replica sessions (R).
SELECT tgrelid::regclass AS tbl,
       string_agg(substr(tgname, length('topk_capture_shop_') + 1) || '=' || tgenabled::text, ' ' ORDER BY tgname) AS triggers
FROM pg_trigger WHERE tgname LIKE 'topk_capture_shop%' GROUP BY 1 ORDER BY 1;

-- 1. INSERT through the parent and straight into a partition; a COPY.
INSERT INTO events SELECT g, timestamptz '2024-01-01' + g * interval '37 seconds', 'p' || (g * g % 7), g % 11
FROM generate_series(0, 4000) g;
INSERT INTO events_0102 SELECT 10000 + g, timestamptz '2024-01-02' + g * interval '53 seconds', 'q' || (g % 3), g % 5
FROM generate_series(0, 999) g;
COPY (SELECT 20000 + g, timestamptz '2024-01-01 12:00' + g * interval '5 seconds', 'c' || (g % 4), g, g % 500 FROM generate_series(0, 1999) g)
    TO '/tmp/topk_pg_regress_capture.copy';
COPY events FROM '/tmp/topk_pg_regress_capture.copy';
\! rm -f /tmp/topk_pg_regress_capture.copy
-- A statement writes a mark per run of hours it touched, never its rows.
SELECT count(*) AS marks, min(to_timestamp(first_hour * 3600)) AS first, max(to_timestamp((last_hour + 1) * 3600)) AS last
FROM shop.changes;
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT * FROM check_exact('shop');
SELECT * FROM check_all();

-- 2. UPDATE of the item, of the time (rows move to another partition), of the weight;
-- DELETE.
UPDATE events SET item = 'moved' WHERE id % 10 = 0;
UPDATE events SET cents = cents * 3 WHERE id % 7 = 0;
UPDATE events SET at = at + interval '1 day' WHERE id BETWEEN 100 AND 199;
DELETE FROM events WHERE item = 'p3';
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT * FROM check_all();
SELECT count(*) AS p3_rows FROM shop.batch_table WHERE item = 'p3';

-- 3. INSERT … ON CONFLICT DO UPDATE and MERGE.
INSERT INTO events SELECT g, timestamptz '2024-01-01' + g * interval '37 seconds', 'upsert', 1 FROM generate_series(0, 500, 5) g
ON CONFLICT (id, at) DO UPDATE SET item = excluded.item;
MERGE INTO events e
USING (SELECT g AS id, timestamptz '2024-01-01' + g * interval '37 seconds' AS at FROM generate_series(1000, 1400) g) s
ON e.id = s.id AND e.at = s.at
WHEN MATCHED AND e.id % 2 = 0 THEN DELETE
WHEN MATCHED THEN UPDATE SET item = 'merged'
WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.at, 'new', 2);
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT * FROM check_all();

-- 4. TRUNCATE of a partition, of the table, and reloads: nothing counted twice.
TRUNCATE events_0102;
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT * FROM check_all();
TRUNCATE events;
INSERT INTO events SELECT g, timestamptz '2024-01-01' + g * interval '41 seconds', 'r' || (g % 9), g % 3
FROM generate_series(0, 4000) g;
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT * FROM check_all();
SELECT granularity, window_start, distinct_count FROM shop.distinct_counts WHERE granularity = 'day' ORDER BY 2;

-- 5. Partitions that join and leave: attached with rows, detached, dropped.
CREATE TABLE events_1231 (LIKE events INCLUDING ALL);
INSERT INTO events_1231 SELECT 30000 + g, timestamptz '2023-12-31' + g * interval '61 seconds', 'old' || (g % 2), g
FROM generate_series(0, 1000) g;
ALTER TABLE events ATTACH PARTITION events_1231 FOR VALUES FROM ('2023-12-31') TO ('2024-01-01');
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT * FROM check_all();
SELECT count(*) AS old_rows FROM shop.batch_table WHERE item LIKE 'old%' AND granularity = 'day';
ALTER TABLE events DETACH PARTITION events_0101;
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT * FROM check_all();
SELECT count(*) AS triggers_left_on_detached FROM pg_trigger WHERE tgrelid = 'events_0101'::regclass;
INSERT INTO events_0101 VALUES (99999, '2024-01-01 10:00', 'detached', 1);   -- no longer the pipeline's
ALTER TABLE events ATTACH PARTITION events_0101 FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
DROP TABLE events_1231;
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT * FROM check_all();
SELECT count(*) AS detached_rows FROM shop.batch_table WHERE item = 'detached' AND granularity = 'hour';

-- 6. The speed path: the open day (2024-01-03) changes too; each hour counts what is there.
INSERT INTO events SELECT 40000 + g, timestamptz '2024-01-03' + g * interval '1 second', 'open' || (g % 3), g
FROM generate_series(0, 599) g;
CALL topk.run('shop');
CALL topk.run('revenue');
DELETE FROM events WHERE item = 'open1';
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT * FROM check_speed('shop');
SELECT item, count, source FROM shop.top_5 WHERE granularity = 'hour' AND window_start = '2024-01-03' ORDER BY rank;

-- 7. Changes nothing marks (triggers disabled by the owner): topk.refresh(from, to)
-- reads the range again.
ALTER TABLE events_0102 DISABLE TRIGGER USER;
INSERT INTO events_0102 SELECT 50000 + g, timestamptz '2024-01-02 06:00' + g * interval '1 minute', 'unseen', 1
FROM generate_series(0, 59) g;
ALTER TABLE events_0102 ENABLE TRIGGER USER,
    ENABLE ALWAYS TRIGGER topk_capture_shop_trunc, ENABLE REPLICA TRIGGER topk_capture_shop_row,
    ENABLE ALWAYS TRIGGER topk_capture_revenue_trunc, ENABLE REPLICA TRIGGER topk_capture_revenue_row;
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT count(*) AS missed FROM shop.batch_table WHERE item = 'unseen';
CALL topk.refresh('shop', '2024-01-02 06:00', '2024-01-02 07:00');
CALL topk.refresh('revenue');   -- everything
SELECT granularity, count FROM shop.batch_table WHERE item = 'unseen' ORDER BY 1;
SELECT * FROM check_all();
-- Writes of a session with session_replication_role = replica (bulk loaders that skip
-- triggers; the logical replication apply worker, tests/replication/run.sh) are marked
-- by the row triggers, once per hour and subtransaction: 50 rows in two hours, after a
-- rolled back savepoint that had marked one of them, write one mark per hour.
BEGIN;
SET LOCAL session_replication_role = replica;
SAVEPOINT s;
INSERT INTO events VALUES (60100, '2024-01-02 09:30', 'rolled back', 1);
ROLLBACK TO SAVEPOINT s;
INSERT INTO events VALUES (60000, '2024-01-02 08:30', 'replicated', 1);
INSERT INTO events SELECT 60001 + g, '2024-01-02 09:00'::timestamptz + g * interval '1 minute', 'replicated', 1
FROM generate_series(0, 48) g;
COMMIT;
SELECT count(*) AS marks, count(DISTINCT first_hour) AS hours FROM shop.changes;
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT granularity, count FROM shop.batch_table WHERE item = 'replicated' ORDER BY 1;

-- 8. Bad rows never fail the application's write and never wedge a rollup: left out,
-- and counted as rejected.
INSERT INTO events (id, at, item, buyer, cents)
VALUES (70000, '2024-01-02 09:00', NULL, 1, 100), (70001, '2024-01-02 09:10', NULL, 2, 100),
       (70003, '2024-01-02 09:20', 'refund', 3, -500);
CREATE TABLE events_edges PARTITION OF events FOR VALUES FROM (MINVALUE) TO ('2023-01-01');
INSERT INTO events VALUES (70002, '-infinity', 'never', 1);
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT pipeline, rejected_events, failures_last_day FROM topk.pipeline_status;
SELECT 'shop' AS pipeline, hour, events FROM shop.rejects UNION ALL SELECT 'revenue', hour, events FROM revenue.rejects ORDER BY 1, 2;
SELECT granularity, done_until FROM topk.progress WHERE pipeline = 'shop' ORDER BY done_until, granularity;

-- 9. Schema changes: a rename is followed; a retype or a drop of a column the pipeline
-- reads, and a drop of the source, are refused with the pipeline's name and a hint.
\set VERBOSITY default
ALTER TABLE events RENAME COLUMN item TO product;
SELECT item_column FROM topk.pipelines;
INSERT INTO events VALUES (80000, '2024-01-02 10:30', 'renamed', 1);
ALTER TABLE events ALTER COLUMN product TYPE varchar(20);
ALTER TABLE events DROP COLUMN buyer;
DROP TABLE events;
ALTER TABLE events ADD COLUMN note text;   -- columns the pipeline does not read are the application's
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT * FROM check_all();

-- 10. The procedures commit as they go: not inside a transaction block.
BEGIN;
CALL topk.run('shop');
ROLLBACK;
\set VERBOSITY terse
SELECT topk.drop_pipeline('shop');
SELECT topk.drop_pipeline('revenue');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgname LIKE 'topk_capture%';
