-- Hostile identifiers are names and nothing else; a non-superuser who owns the source
-- runs the whole pipeline, writers need no rights on it, other roles cannot see or run
-- it; scheduling without pg_cron says how to install it.
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set SHOW_CONTEXT never

-- 1. Names with spaces, quotes and SQL in them.
CREATE TABLE y (still_here integer);
INSERT INTO y VALUES (1);
CREATE TABLE "Sales Events" (
    "Event Time"        timestamptz NOT NULL,
    "x; DROP TABLE y"   text NOT NULL,
    "Amount ""cents"""  integer NOT NULL,
    "user"              integer NOT NULL
);
SELECT topk.create_pipeline('x; DROP TABLE y', '"Sales Events"', 'x; DROP TABLE y', 'Event Time',
                            weight_column => 'Amount "cents"', distinct_column => 'user', k => 3);
SELECT topk.create_pipeline('Sales Events', '"Sales Events"', 'x; DROP TABLE y', 'Event Time', k => 2);
SELECT topk.create_pipeline('it''s', '"Sales Events"', 'x; DROP TABLE y', 'Event Time', k => 2, mode => 'kappa');
SELECT nspname FROM pg_namespace WHERE nspname IN ('x; DROP TABLE y', 'Sales Events', 'it''s') ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = '"Sales Events"'::regclass ORDER BY 1;
UPDATE topk.pipelines SET clock = '2024-01-02 00:10+00';
INSERT INTO "Sales Events"
SELECT '2024-01-01'::timestamptz + g * interval '1 minute', 'drop table ' || (g % 4), 100 * (1 + g % 4), g % 25
FROM generate_series(0, 1439) g;
CALL topk.run('x; DROP TABLE y');
CALL topk.run('Sales Events');
CALL topk.run('it''s');
SELECT rank, item, count, source FROM "x; DROP TABLE y".top_3 WHERE granularity = 'day' ORDER BY rank;
SELECT rank, item, count, source FROM "Sales Events".top_2 WHERE granularity = 'day' ORDER BY rank;
SELECT rank, item, count, source FROM "it's".top_2 WHERE granularity = 'day' ORDER BY rank;
SELECT * FROM "x; DROP TABLE y".topk_range('2024-01-01', '2024-01-02', 2);
SELECT * FROM "it's".topk_range('2024-01-01', '2024-01-02', 2);
SELECT rank, item, previous_count, current_count FROM "Sales Events".trending('hour', 2);
SELECT granularity, distinct_count FROM "x; DROP TABLE y".distinct_counts WHERE granularity = 'day';
SELECT pipeline, mode, pending_changes, last_hour, last_day FROM topk.pipeline_status ORDER BY pipeline;
SELECT * FROM y;
SELECT topk.drop_pipeline('x; DROP TABLE y');
SELECT topk.drop_pipeline('Sales Events');
SELECT topk.drop_pipeline('it''s');
SELECT * FROM y;
SELECT count(*) AS pipelines, (SELECT count(*) FROM pg_trigger WHERE tgrelid = '"Sales Events"'::regclass) AS triggers
FROM topk.pipelines;
SELECT topk.create_pipeline(repeat('n', 51), '"Sales Events"', 'x; DROP TABLE y', 'Event Time');

-- 2. A non-superuser who owns the source; an application role that may only insert.
CREATE ROLE topk_test_owner;
CREATE ROLE topk_test_app;
CREATE ROLE topk_test_other;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO topk_test_owner', current_database()); END $$;
SET ROLE topk_test_owner;
CREATE SCHEMA shop_data;
CREATE TABLE shop_data.events (at timestamptz NOT NULL, product text NOT NULL, buyer integer NOT NULL);
GRANT USAGE ON SCHEMA shop_data TO topk_test_app, topk_test_other;
GRANT INSERT ON shop_data.events TO topk_test_app;
SELECT topk.create_pipeline('owned', 'shop_data.events', 'product', 'at', k => 10, distinct_column => 'buyer');
UPDATE topk.pipelines SET clock = '2024-01-01 02:10+00' WHERE name = 'owned';
SELECT name, owner FROM topk.pipelines;
RESET ROLE;
-- The application inserts; the capture trigger marks the hours in owned.changes, a table
-- it has no rights on (the trigger writes it without SQL).
SET ROLE topk_test_app;
INSERT INTO shop_data.events
SELECT '2024-01-01'::timestamptz + g * interval '1 minute', 'p' || (g % 7 * g % 5), g % 30 FROM generate_series(0, 119) g;
SELECT count(*) AS marks FROM owned.changes;
RESET ROLE;
SET ROLE topk_test_owner;
CALL topk.run_speed('owned');
CALL topk.run_batch('owned');
CALL topk.run('owned');
SELECT granularity, source, count(DISTINCT window_start) AS windows FROM owned.top_10 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT rank, item, count FROM owned.top_10 WHERE granularity = 'hour' AND window_start = '2024-01-01 01:00' ORDER BY rank LIMIT 3;
SELECT product, count(*) FROM shop_data.events WHERE at >= '2024-01-01 01:00' AND at < '2024-01-01 02:00'
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3;
SELECT pipeline, mode, pending_changes, last_hour, failures_last_day FROM topk.pipeline_status;
SELECT task, status, count(*) FROM topk.job_log GROUP BY 1, 2 ORDER BY 1, 2;
SELECT * FROM owned.topk_range('2024-01-01', '2024-01-01 03:00', 2);
SELECT * FROM topk.accuracy('owned', 'hour', '2024-01-01 00:00');
RESET ROLE;
-- Another role sees none of it and can run none of it.
SET ROLE topk_test_other;
SELECT count(*) AS visible_pipelines FROM topk.pipelines;
SELECT count(*) AS visible_log_rows FROM topk.job_log;
SELECT count(*) AS visible_status_rows FROM topk.pipeline_status;
UPDATE topk.pipelines SET clock = '2030-01-01' WHERE name = 'owned';
CALL topk.run_speed('owned');
SELECT topk.drop_pipeline('owned');
SELECT count(*) FROM owned.top_10;
SELECT topk.create_pipeline('stolen', 'shop_data.events', 'product', 'at');
RESET ROLE;
-- A dashboard role the owner lets read the pipeline: views and query functions, nothing else.
CREATE ROLE topk_test_reader;
SET ROLE topk_test_owner;
SELECT topk.grant_read('owned', 'topk_test_reader');
RESET ROLE;
SET ROLE topk_test_reader;
SELECT rank, item, count, source FROM owned.top_10 WHERE granularity = 'hour' AND window_start = '2024-01-01 01:00' ORDER BY rank LIMIT 2;
SELECT * FROM owned.topk_range('2024-01-01', '2024-01-01 03:00', 2);
SELECT count(*) >= 0 AS can_call_trending FROM owned.trending('hour', 3);
SELECT name FROM topk.pipelines;
UPDATE topk.pipelines SET clock = '2030-01-01' WHERE name = 'owned';
CALL topk.run_speed('owned');
INSERT INTO owned.top_lists (granularity, window_start, window_end, source, items, counts) SELECT granularity, window_start, window_end, source, items, counts FROM owned.top_lists LIMIT 1;
RESET ROLE;
-- The owner drops it.
SET ROLE topk_test_owner;
SELECT topk.drop_pipeline('owned');
SELECT count(*) AS pipelines FROM topk.pipelines;
RESET ROLE;
DROP ROLE topk_test_reader;
DROP SCHEMA shop_data CASCADE;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM topk_test_owner', current_database()); END $$;
DROP ROLE topk_test_owner, topk_test_app, topk_test_other;

-- 3. Scheduling needs pg_cron.
SELECT topk.create_pipeline('sched', '"Sales Events"', 'x; DROP TABLE y', 'Event Time');
SELECT * FROM topk.schedule('sched');
SELECT * FROM topk.schedule('sched', '30 seconds', '10 minutes');
SELECT topk.unschedule('sched');
SELECT every, topk._cron_schedule(every) FROM unnest(ARRAY['30 seconds', '1 minute', '5 minutes', '1 hour',
                                                           '6 hours', '1 day']::interval[]) every;
SELECT topk._cron_schedule('7 minutes');
