-- Every item type create_pipeline accepts works end to end (integer, bigint, text,
-- varchar, uuid): batch windows equal GROUP BY, the lists, topk_range with edges from the
-- source, trending, distinct counts; the other types are refused there.
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\i tests/sql/include/checks.sql

-- The same two days of events under five item types: item n is the n-th of 12 (n*n % 12).
CREATE FUNCTION make_source(name text, item_type text, item_sql text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (at timestamptz NOT NULL, item %s, buyer int NOT NULL)', name, item_type);
    EXECUTE format($q$
        INSERT INTO %I SELECT t, %s, n %% 50
        FROM generate_series(timestamptz '2024-06-01', '2024-06-02 23:59', interval '1 minute') AS t,
             LATERAL (SELECT (extract(epoch FROM t)::bigint / 60 %% 997) * (extract(epoch FROM t)::bigint / 60 %% 997) %% 12 AS n) x$q$,
        name, replace(item_sql, 'N', 'n'));
    PERFORM topk.create_pipeline(name || '_p', name, 'item', 'at', distinct_column => 'buyer', backfill => true);
END $$;
SELECT make_source('ints', 'integer', '(N)::integer');
SELECT make_source('bigs', 'bigint', '(N * 10000000000)::bigint');
SELECT make_source('texts', 'text', '''ítem '' || N');
SELECT make_source('chars', 'varchar(20)', '(''v'' || N)::varchar(20)');
SELECT make_source('uuids', 'uuid', 'md5(N::text)::uuid');
SELECT name, item_type FROM topk.pipelines ORDER BY name;
UPDATE topk.pipelines SET clock = '2024-06-02 12:05+00';
CALL topk.run('ints_p');
CALL topk.run('bigs_p');
CALL topk.run('texts_p');
CALL topk.run('chars_p');
CALL topk.run('uuids_p');
-- Changes after the run: an UPDATE of items, a DELETE, late rows.
UPDATE chars SET item = 'v-moved' WHERE at >= '2024-06-01 03:00' AND at < '2024-06-01 03:30';
DELETE FROM uuids WHERE item = md5('0')::uuid AND at < '2024-06-01 12:00';
INSERT INTO texts VALUES ('2024-06-01 05:00', 'late ítem', 1), ('2024-06-01 05:01', NULL, 2);
CALL topk.run('chars_p');
CALL topk.run('uuids_p');
CALL topk.run('texts_p');
SELECT * FROM check_all();
-- The views show the lists rank by rank (by-value and by-reference items, batch and speed
-- lists), and a dashboard's first ranks of a window.
SELECT p.name, c.* FROM topk.pipelines p, check_view(p.name) c ORDER BY 1;
SELECT rank, item, count, error, source FROM texts_p.top_1000 WHERE granularity = 'day' AND window_start = '2024-06-01' ORDER BY rank LIMIT 3;
SELECT pipeline, rejected_events FROM topk.pipeline_status ORDER BY 1;

-- The top of each final day, against GROUP BY; distinct buyers.
SELECT 'ints' AS t, item::text, count FROM ints_p.top_1000 WHERE granularity = 'day' AND window_start = '2024-06-01' AND rank = 1
UNION ALL SELECT 'bigs', item::text, count FROM bigs_p.top_1000 WHERE granularity = 'day' AND window_start = '2024-06-01' AND rank = 1
UNION ALL SELECT 'texts', item, count FROM texts_p.top_1000 WHERE granularity = 'day' AND window_start = '2024-06-01' AND rank = 1
UNION ALL SELECT 'chars', item::text, count FROM chars_p.top_1000 WHERE granularity = 'day' AND window_start = '2024-06-01' AND rank = 1
UNION ALL SELECT 'uuids', item::text, count FROM uuids_p.top_1000 WHERE granularity = 'day' AND window_start = '2024-06-01' AND rank = 1;
SELECT 'uuids' AS t, item::text, count(*) FROM uuids WHERE at >= '2024-06-01' AND at < '2024-06-02'
GROUP BY item ORDER BY count(*) DESC, item LIMIT 1;
SELECT distinct_count FROM chars_p.distinct_counts WHERE granularity = 'day' AND window_start = '2024-06-01';
-- The typed query functions return the column's type.
SELECT pg_typeof(item), rank, item, count, exact FROM chars_p.topk_range('2024-06-01 10:30', '2024-06-01 11:15', 2);
SELECT item, count(*) FROM chars WHERE at >= '2024-06-01 10:30' AND at < '2024-06-01 11:15' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 2;
SELECT pg_typeof(item), rank, item, count, exact FROM uuids_p.topk_range('2024-06-01 10:30', '2024-06-01 11:15', 1);
SELECT pg_typeof(item), rank, item FROM bigs_p.trending('hour', 1);

-- Types a pipeline cannot count are refused, with the types it can.
CREATE TABLE smalls (at timestamptz NOT NULL, item smallint);
SELECT topk.create_pipeline('smalls_p', 'smalls', 'item', 'at');
CREATE TABLE nums (at timestamptz NOT NULL, item numeric);
SELECT topk.create_pipeline('nums_p', 'nums', 'item', 'at');
-- Text items are counted by their bytes: a nondeterministic collation (where 'a' = 'A')
-- is refused.
CREATE COLLATION case_blind (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE blind (at timestamptz NOT NULL, item text COLLATE case_blind);
SELECT topk.create_pipeline('blind_p', 'blind', 'item', 'at');
