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

-- Every final window of every granularity against GROUP BY over the source: windows,
-- rows, and rows that differ (in either direction); the distinct counts too.
CREATE FUNCTION check_exact(pipeline text)
RETURNS TABLE (granularity text, windows bigint, batch_rows bigint, mismatches bigint)
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines;
    g record;
BEGIN
    SELECT * INTO p FROM topk.pipelines WHERE name = pipeline;
    FOR g IN SELECT pr.granularity, pr.done_until FROM topk.progress pr JOIN topk.granularities gr USING (granularity)
             WHERE pr.pipeline = p.name AND pr.done_until IS NOT NULL ORDER BY gr.level LOOP
        RETURN QUERY EXECUTE format($q$
            WITH b AS (
                SELECT window_start, item, count FROM %1$I.batch_table WHERE granularity = $1
            ), s AS (
                SELECT topk.window_start($1, e.%2$I, %4$L) AS window_start, e.%3$I AS item, %5$s AS count
                FROM %6$s e
                WHERE e.%3$I IS NOT NULL AND e.%2$I > '-infinity' AND e.%2$I < 'infinity'
                  AND topk.window_end($1, topk.window_start($1, e.%2$I, %4$L), %4$L) <= $2 AND %7$s
                GROUP BY 1, 2
            )
            SELECT $1, (SELECT count(DISTINCT window_start) FROM b), (SELECT count(*) FROM b),
                   (SELECT count(*) FROM ((SELECT * FROM b EXCEPT ALL SELECT * FROM s)
                                          UNION ALL (SELECT * FROM s EXCEPT ALL SELECT * FROM b)) d)$q$,
            p.name, p.time_column, p.item_column, p.time_zone,
            CASE WHEN p.weight_column IS NULL THEN 'count(*)' ELSE format('sum(e.%I)::bigint', p.weight_column) END,
            p.source, CASE WHEN p.weight_column IS NULL THEN 'true' ELSE format('e.%I >= 0', p.weight_column) END)
        USING g.granularity, g.done_until;
    END LOOP;
END $$;

-- All pipelines at once: final windows (of all granularities) and mismatches.
CREATE FUNCTION check_all() RETURNS TABLE (pipeline text, final_windows numeric, batch_rows numeric, mismatches numeric)
LANGUAGE sql AS $$
    SELECT p.name, sum(c.windows), sum(c.batch_rows), sum(c.mismatches)
    FROM topk.pipelines p, check_exact(p.name) c GROUP BY 1 ORDER BY 1
$$;

-- The speed path: each open hour's sketch counts the surviving events of that hour.
CREATE FUNCTION check_speed(pipeline text) RETURNS TABLE (speed_hours bigint, wrong_totals bigint)
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines;
BEGIN
    SELECT * INTO p FROM topk.pipelines WHERE name = pipeline;
    RETURN QUERY EXECUTE format($q$
        SELECT count(*), count(*) FILTER (WHERE s.events IS DISTINCT FROM (
                   SELECT count(*) FROM %2$s e WHERE e.%3$I >= s.window_start AND e.%3$I < s.window_end
                     AND e.%4$I IS NOT NULL))
        FROM %1$I.speed_table s WHERE s.granularity = 'hour'$q$, p.name, p.source, p.time_column, p.item_column);
END $$;

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
-- of the table it names).
SELECT tgrelid::regclass AS tbl, count(*) AS triggers, bool_and(tgenabled = 'A') AS always
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
ALTER TABLE events_0102 ENABLE ALWAYS TRIGGER topk_capture_shop_ins, ENABLE ALWAYS TRIGGER topk_capture_shop_upd,
    ENABLE ALWAYS TRIGGER topk_capture_shop_del, ENABLE ALWAYS TRIGGER topk_capture_shop_trunc,
    ENABLE ALWAYS TRIGGER topk_capture_revenue_ins, ENABLE ALWAYS TRIGGER topk_capture_revenue_upd,
    ENABLE ALWAYS TRIGGER topk_capture_revenue_del, ENABLE ALWAYS TRIGGER topk_capture_revenue_trunc;
CALL topk.run('shop');
CALL topk.run('revenue');
SELECT count(*) AS missed FROM shop.batch_table WHERE item = 'unseen';
CALL topk.refresh('shop', '2024-01-02 06:00', '2024-01-02 07:00');
CALL topk.refresh('revenue');   -- everything
SELECT granularity, count FROM shop.batch_table WHERE item = 'unseen' ORDER BY 1;
SELECT * FROM check_all();
-- Writes of a session with session_replication_role = replica (bulk loaders that skip
-- triggers) are marked: the triggers are ENABLE ALWAYS. (Logical replication's apply
-- worker fires no statement triggers for rows: docs/pipeline.md says what to do.)
SET session_replication_role = replica;
INSERT INTO events VALUES (60000, '2024-01-02 08:30', 'replicated', 1);
RESET session_replication_role;
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
