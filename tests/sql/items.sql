-- Items are equal exactly when their values are equal for their type: domains count as
-- their base type, other types by a canonical binary form that no setting changes.
CREATE EXTENSION topk_pg;

-- A domain is its base type: 5::pid and 5::bigint are one item, and every bound holds.
CREATE DOMAIN pid AS bigint;
CREATE TABLE orders AS SELECT (g % 10)::pid AS buyer FROM generate_series(1, 1000) g;
SELECT cms_estimate(cms_agg(buyer), 3::pid) AS cms_of_pid,
       cms_estimate(cms_agg(buyer), 3::bigint) AS cms_of_bigint,
       topk_estimate(topk_agg(buyer), 3::pid) AS topk_of_pid,
       heavy_hitters_estimate(heavy_hitters_agg(buyer), 3::pid) AS hh_of_pid,
       hll_count(hll_merge(hll_agg(buyer), hll_agg(buyer::bigint))) AS distinct_after_merge
FROM orders;
SELECT rank, item, pg_typeof(item), count FROM topk_items((SELECT topk_agg(buyer) FROM orders), 2);

-- numeric 1.0 = 1.00 = 1, as count(DISTINCT) says; the items come back as numerics.
CREATE TABLE prices(p numeric);
INSERT INTO prices VALUES (1.0), (1.00), (1), (2.50), (2.5), (-0.0), (0), ('NaN'), ('NaN');
SELECT count(DISTINCT p) AS exact, hll_count(hll_agg(p)) AS hll FROM prices;
SELECT item, count FROM topk_items((SELECT topk_agg(p) FROM prices), 10, NULL::numeric) ORDER BY item;
SELECT cms_estimate(cms_agg(p), 1.000) AS ones FROM prices;

-- double precision: -0 = 0, one NaN; the digits shown do not matter.
CREATE TABLE ratios(r float8);
INSERT INTO ratios VALUES (0.1), (0.1), ('-0'), (0), ('NaN'), ('NaN'), (1e300);
SELECT count(DISTINCT r) AS exact, hll_count(hll_agg(r)) AS hll FROM ratios;
SET extra_float_digits = 0;
CREATE TABLE digits0 AS SELECT topk_agg(r)::text AS s FROM ratios;
SET extra_float_digits = 3;
SELECT (SELECT s FROM digits0) = topk_agg(r)::text AS same_sketch_any_digits FROM ratios;
RESET extra_float_digits;
SELECT item, count FROM topk_items((SELECT topk_agg(r) FROM ratios), 10, NULL::float8) ORDER BY item;

-- interval: '1 day' = '24 hours' and '1 mon' = '30 days', as PostgreSQL compares them.
SELECT count(DISTINCT i) AS exact, hll_count(hll_agg(i)) AS hll,
       topk_estimate(topk_agg(i), interval '86400 seconds') AS one_day
FROM (VALUES (interval '1 day'), ('24 hours'), ('1 mon'), ('30 days'), ('-1 day')) v(i);

-- Dates do not depend on DateStyle, timestamps with time zone not on TimeZone.
SET DateStyle = 'SQL, DMY';
CREATE TABLE dmy AS SELECT topk_agg(d)::text AS s, hll_agg(d)::text AS h
FROM (VALUES ('05/01/2026'::date), ('05/01/2026'), ('01/02/2026')) v(d);
SET DateStyle = 'ISO, MDY';
SELECT (SELECT s FROM dmy) = topk_agg(d)::text AS same_topk, (SELECT h FROM dmy) = hll_agg(d)::text AS same_hll
FROM (VALUES (date '2026-01-05'), ('2026-01-05'), ('2026-02-01')) v(d);
SELECT rank, item, count FROM topk_items((SELECT s::spacesaving FROM dmy), 5, NULL::date);
-- without a type hint the items are shown as text, in the session's DateStyle
SELECT item FROM topk_items((SELECT s::spacesaving FROM dmy), 1);
SET TimeZone = 'Asia/Tokyo';
CREATE TABLE tokyo AS SELECT topk_agg(t)::text AS s FROM (VALUES (timestamptz '2026-01-05 10:00+00')) v(t);
SET TimeZone = 'America/New_York';
SELECT (SELECT s FROM tokyo) = topk_agg(t)::text AS same_in_any_time_zone,
       (SELECT item FROM topk_items((SELECT s::spacesaving FROM tokyo), 1, NULL::timestamptz)) AS item
FROM (VALUES (timestamptz '2026-01-05 10:00+00')) v(t);
RESET TimeZone;
RESET DateStyle;

-- bytea items come back byte for byte, and ::jsonb never fails on an item.
CREATE TABLE blobs(b bytea);
INSERT INTO blobs VALUES ('\x5c783431'), ('\x5c783431'), ('\x5c'), ('\x00'), ('\x41');
SELECT item, count FROM topk_items((SELECT topk_agg(b) FROM blobs), 10, NULL::bytea) ORDER BY item;
SELECT item, count FROM heavy_hitters_items((SELECT heavy_hitters_agg(b) FROM blobs), 10, NULL::bytea) ORDER BY item;
SELECT jsonb_path_query_array(topk_agg(b)::jsonb, '$.items[*].item') AS items_as_json FROM blobs;
SELECT jsonb_path_query_array(heavy_hitters_agg(b)::jsonb, '$.items[*].item') AS items_as_json FROM blobs;

-- A type without a binary form is refused.
SELECT hll_agg(a) FROM unnest('{postgres=r/postgres}'::aclitem[]) a;

-- Sketches stored by topk_pg 0.3 counted dates by their text: they still read (the
-- items come back as dates), but they do not merge with sketches of 0.4, which count
-- dates by their binary form: an ERROR says to build them again.
CREATE TABLE stored AS
SELECT ('spacesaving:' || encode('\x5301643a040000020300020a323032362d30312d3035060a323032362d30322d303103'::bytea, 'base64'))::spacesaving AS s,
       ('hll:' || encode('\x48010a3a0400000002d6f7f9c9fccfccd5a001f198c597be8f8eb636'::bytea, 'base64'))::topk_hll AS h;
SELECT rank, item, count FROM stored, topk_items(s, 5, NULL::date);
SELECT hll_count(h) FROM stored;
SELECT topk_add(s, date '2026-03-01') FROM stored;
SELECT hll_add(h, date '2026-03-01') FROM stored;
SELECT topk_merge(s, (SELECT topk_agg(date '2026-03-01', 100))) FROM stored;
SELECT hll_count(hll_merge(h, (SELECT hll_agg(date '2026-03-01', 10)))) FROM stored;

-- Text items of a database in another encoding come back as they went in.
CREATE DATABASE items_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c items_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION topk_pg;
CREATE TABLE words AS SELECT w FROM (VALUES ('café'), ('café'), ('naïve')) v(w);
SELECT item, count, convert_to(item, 'LATIN1') AS stored_bytes FROM topk_items((SELECT topk_agg(w) FROM words), 5) ORDER BY item;
SELECT item, count FROM heavy_hitters_items((SELECT heavy_hitters_agg(w) FROM words), 5) ORDER BY item;
SELECT jsonb_path_query_array(topk_agg(w)::jsonb, '$.items[*].item') AS items_as_json FROM words;
\c regress_items
DROP DATABASE items_latin1;

-- The build aggregates declared on item types (sql/typed.sql, what Citus pushes down)
-- count as the anyelement forms do: over each type, hll_agg gives the sketch that
-- hll_add (anyelement) gives, topk_agg the same items. What each column type resolves
-- to: smallint to the integer forms (items come back as integer), varchar, char(n) and
-- name to text, domains to their base type, uuid, bytea and the rest to the base sketch type.
CREATE TABLE typed AS
SELECT 5::smallint AS i2, 5 AS i4, 5::bigint AS i8, 'a'::text AS tx, 'a'::varchar(5) AS vc, 'a'::char(3) AS bp,
       'a'::name AS nm, '00000000-0000-0000-0000-000000000001'::uuid AS u, '\x01'::bytea AS b, 5::pid AS d, 5.0 AS n;
SELECT (SELECT hll_agg(i2)::text FROM typed) = hll_add(topk_hll_empty(), i2)::text AS hll_smallint,
       (SELECT hll_agg(i4)::text FROM typed) = hll_add(topk_hll_empty(), i4)::text AS hll_integer,
       (SELECT hll_agg(i8)::text FROM typed) = hll_add(topk_hll_empty(), i8)::text AS hll_bigint,
       (SELECT hll_agg(tx)::text FROM typed) = hll_add(topk_hll_empty(), tx)::text AS hll_text,
       (SELECT hll_agg(vc)::text FROM typed) = hll_add(topk_hll_empty(), vc)::text AS hll_varchar,
       (SELECT hll_agg(bp)::text FROM typed) = hll_add(topk_hll_empty(), bp)::text AS hll_char3,
       (SELECT hll_agg(nm)::text FROM typed) = hll_add(topk_hll_empty(), nm)::text AS hll_name,
       (SELECT hll_agg(u)::text FROM typed) = hll_add(topk_hll_empty(), u)::text AS hll_uuid,
       (SELECT hll_agg(b)::text FROM typed) = hll_add(topk_hll_empty(), b)::text AS hll_bytea,
       (SELECT cms_agg(u, 3::bigint)::text FROM typed) = cms_add((SELECT cms_agg(u, 0::bigint) FROM typed), u, 3)::text AS cms_uuid_weighted,
       (SELECT topk_estimate((SELECT topk_agg(bp) FROM typed), bp) FROM typed) AS topk_char3_estimate,
       (SELECT cms_estimate((SELECT cms_agg(nm) FROM typed), nm) FROM typed) AS cms_name_estimate
FROM typed;
SELECT pg_typeof(topk_agg(i2)) AS smallint, pg_typeof(topk_agg(vc)) AS varchar, pg_typeof(topk_agg(bp)) AS char3,
       pg_typeof(topk_agg(nm)) AS name, pg_typeof(topk_agg(d)) AS domain, pg_typeof(topk_agg(u)) AS uuid,
       pg_typeof(heavy_hitters_agg(b)) AS bytea, pg_typeof(heavy_hitters_agg(n)) AS numeric FROM typed;
SELECT item, pg_typeof(item), count FROM topk_items((SELECT topk_agg(i2, 7::bigint) FROM typed));
SELECT item, count FROM topk_items((SELECT topk_agg(u, 2::bigint, 10) FROM typed), NULL, NULL::uuid);
SELECT item, count FROM heavy_hitters_items((SELECT heavy_hitters_agg(b, 10) FROM typed), NULL, NULL::bytea);
