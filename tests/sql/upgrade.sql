-- Upgrades keep what users stored: sketches of every type written by version 0.1.0 and
-- a pipeline created by it still decode, merge with new sketches and run after
-- ALTER EXTENSION topk_pg UPDATE. (scripts/regress.sh makes the old install scripts in
-- tests/upgrade/ available to CREATE EXTENSION … VERSION.)
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION topk_pg VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'topk_pg';

CREATE TABLE events (t timestamptz NOT NULL, product bigint NOT NULL, buyer bigint NOT NULL);
INSERT INTO events
SELECT timestamptz '2024-01-01 00:00+00' + g * interval '30 seconds', 1 + (g % 37) * (g % 37) / 50, g % 701
FROM generate_series(0, 5759) g;
CREATE TABLE stored AS
SELECT date_trunc('day', t) AS day, hll_agg(buyer) AS buyers, cms_agg(product) AS c,
       topk_agg(product) AS top, topk_agg(product::text) AS top_text, heavy_hitters_agg(product) AS hh
FROM events GROUP BY 1;
SELECT topk.create_pipeline('shop', 'events', 'product', 't', distinct_column => 'buyer', backfill => true);
UPDATE topk.pipelines SET clock = '2024-01-02 00:10+00' WHERE name = 'shop';
CALL topk.run('shop');
CREATE TABLE before AS
SELECT day, hll_count(buyers) AS buyers, cms_estimate(c, 1::bigint) AS c1, topk_total(top) AS top_total,
       (SELECT array_agg(item ORDER BY rank) FROM topk_items(top, 5)) AS top5,
       (SELECT array_agg(item ORDER BY rank) FROM heavy_hitters_items(hh, 5)) AS hh5
FROM stored;
-- A view on a typed build aggregate of the old version (its transition function was
-- anyelement): the update replaces the aggregate in place, the view stays.
CREATE VIEW top_products AS SELECT topk_agg(product) AS top FROM events;

ALTER EXTENSION topk_pg UPDATE;
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'topk_pg') AS at_default_version
FROM pg_extension WHERE extname = 'topk_pg';

-- Sketches stored by the old version read the same.
SELECT count(*) AS days, count(*) FILTER (WHERE b.buyers = hll_count(s.buyers) AND b.c1 = cms_estimate(s.c, 1::bigint)
                                            AND b.top_total = topk_total(s.top)
                                            AND b.top5 = (SELECT array_agg(item ORDER BY rank) FROM topk_items(s.top, 5))
                                            AND b.hh5 = (SELECT array_agg(item ORDER BY rank) FROM heavy_hitters_items(s.hh, 5))) AS same
FROM stored s JOIN before b USING (day);
-- The HyperLogLog type is topk_hll from 0.4.0 on: the stored column and the pipeline's
-- distinct sketches are of it now, values unchanged.
SELECT format_type(a.atttypid, NULL) AS stored_column, (SELECT format_type(atttypid, NULL) FROM pg_attribute
        WHERE attrelid = 'shop.distinct_sketches'::regclass AND attname = 'sketch') AS pipeline_column
FROM pg_attribute a WHERE a.attrelid = 'stored'::regclass AND a.attname = 'buyers';
-- ... and merge with sketches built by the new version.
SELECT hll_count(hll_merge(s.buyers, n.buyers)) AS buyers, cms_total(cms_merge(s.c, n.c)) AS cms_total,
       topk_total(topk_merge(s.top, n.top)) AS topk_total, heavy_hitters_total(heavy_hitters_merge(s.hh, n.hh)) AS hh_total,
       (SELECT item FROM topk_items(topk_merge(s.top_text, n.top_text), 1)) AS top_text_item
FROM stored s,
     (SELECT hll_agg(buyer) AS buyers, cms_agg(product) AS c, topk_agg(product) AS top, topk_agg(product::text) AS top_text,
             heavy_hitters_agg(product) AS hh FROM events) n
WHERE s.day = '2024-01-01';
SELECT (SELECT topk_merge_agg(top)::text FROM stored) IS NOT NULL AS merge_agg_of_old_sketches;
SELECT (SELECT a.aggtransfn::regprocedure FROM pg_aggregate a WHERE a.aggfnoid = 'topk_agg(bigint)'::regprocedure) AS transition,
       topk_total(top) = (SELECT count(*) FROM events) AS view_counts_all
FROM top_products;
DROP VIEW top_products;

-- The pipeline created by the old version still runs.
INSERT INTO events SELECT timestamptz '2024-01-02 06:00+00' + g * interval '1 minute', 999, g FROM generate_series(0, 99) g;
UPDATE topk.pipelines SET clock = '2024-01-03 00:10+00' WHERE name = 'shop';
CALL topk.run('shop');
SELECT window_start, rank, item, count, source FROM shop.top_1000
WHERE granularity = 'day' AND rank <= 2 ORDER BY window_start, rank;
SELECT count(*) AS mismatches
FROM (SELECT date_trunc('day', t) AS window_start, product AS item, count(*) AS count FROM events GROUP BY 1, 2) e
FULL JOIN (SELECT window_start, item, count FROM shop.batch_table WHERE granularity = 'day') b USING (window_start, item)
WHERE e.count IS DISTINCT FROM b.count;

-- The updated extension has exactly the objects of a fresh install of the new version:
-- every member with its definition, comment and privileges, and the columns, indexes,
-- constraints, triggers and policies of its tables.
CREATE VIEW extension_objects AS
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS object,
       CASE d.classid
       WHEN 'pg_proc'::regclass THEN
           (SELECT CASE WHEN p.prokind = 'a'
                        THEN format('%s(%s) %s', p.proname, pg_get_function_arguments(p.oid),
                                    (SELECT row(a.aggkind, a.aggnumdirectargs, a.aggtransfn::regprocedure, a.aggfinalfn::regprocedure, a.aggcombinefn::regprocedure,
                                                a.aggserialfn, a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn,
                                                a.aggfinalextra, a.aggmfinalextra, a.aggfinalmodify, a.aggmfinalmodify,
                                                a.aggsortop, a.aggtranstype::regtype, a.aggtransspace, a.aggmtranstype::regtype,
                                                a.aggmtransspace, a.agginitval, a.aggminitval, p.proparallel)::text
                                     FROM pg_aggregate a WHERE a.aggfnoid = p.oid))
                        ELSE pg_get_functiondef(p.oid) END || coalesce(' ' || p.proacl::text, '')
            FROM pg_proc p WHERE p.oid = d.objid)
       WHEN 'pg_class'::regclass THEN
           (SELECT concat_ws(E'\n', c.relkind, c.reloptions::text, c.relrowsecurity, c.relacl::text,
                             CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END,
                             (SELECT string_agg(concat_ws(' ', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                                                          pg_get_expr(ad.adbin, ad.adrelid), col_description(c.oid, a.attnum)),
                                                E'\n' ORDER BY a.attnum)
                              FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                             (SELECT string_agg(pg_get_indexdef(i.indexrelid), E'\n' ORDER BY 1)
                              FROM pg_index i WHERE i.indrelid = c.oid),
                             (SELECT string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), E'\n' ORDER BY 1)
                              FROM pg_constraint co WHERE co.conrelid = c.oid),
                             (SELECT string_agg(pg_get_triggerdef(t.oid), E'\n' ORDER BY 1)
                              FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
                             (SELECT string_agg(concat_ws(' ', po.polname, po.polcmd, po.polpermissive, po.polroles::regrole[],
                                                          pg_get_expr(po.polqual, po.polrelid),
                                                          pg_get_expr(po.polwithcheck, po.polrelid)), E'\n' ORDER BY 1)
                              FROM pg_policy po WHERE po.polrelid = c.oid))
            FROM pg_class c WHERE c.oid = d.objid)
       WHEN 'pg_type'::regclass THEN
           (SELECT concat_ws(E'\n', t.typtype, t.typinput, t.typoutput, t.typreceive, t.typsend, t.typlen, t.typalign,
                             t.typstorage, format_type(t.typbasetype, t.typtypmod), t.typacl::text,
                             (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                              FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
                             (SELECT string_agg(pg_get_constraintdef(co.oid), ', ' ORDER BY 1)
                              FROM pg_constraint co WHERE co.contypid = t.oid))
            FROM pg_type t WHERE t.oid = d.objid)
       WHEN 'pg_namespace'::regclass THEN
           (SELECT n.nspacl::text FROM pg_namespace n WHERE n.oid = d.objid)
       END AS definition,
       (SELECT c.description FROM pg_description c
        WHERE c.objoid = d.objid AND c.classoid = d.classid AND c.objsubid = 0) AS comment
FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'topk_pg');
CREATE TABLE after_update AS SELECT * FROM extension_objects;
SELECT count(*) > 100 AS many_objects FROM after_update;
DROP EXTENSION topk_pg CASCADE;
CREATE EXTENSION topk_pg;
SELECT 'only after the update' AS side, object FROM (TABLE after_update EXCEPT TABLE extension_objects) u
UNION ALL
SELECT 'only in a fresh install', object FROM (TABLE extension_objects EXCEPT TABLE after_update) f
ORDER BY 2, 1;
