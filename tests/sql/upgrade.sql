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

ALTER EXTENSION topk_pg UPDATE;
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'topk_pg') AS at_default_version
FROM pg_extension WHERE extname = 'topk_pg';

-- Sketches stored by the old version read the same.
SELECT count(*) AS days, count(*) FILTER (WHERE b.buyers = hll_count(s.buyers) AND b.c1 = cms_estimate(s.c, 1::bigint)
                                            AND b.top_total = topk_total(s.top)
                                            AND b.top5 = (SELECT array_agg(item ORDER BY rank) FROM topk_items(s.top, 5))
                                            AND b.hh5 = (SELECT array_agg(item ORDER BY rank) FROM heavy_hitters_items(s.hh, 5))) AS same
FROM stored s JOIN before b USING (day);
-- ... and merge with sketches built by the new version.
SELECT hll_count(hll_merge(s.buyers, n.buyers)) AS buyers, cms_total(cms_merge(s.c, n.c)) AS cms_total,
       topk_total(topk_merge(s.top, n.top)) AS topk_total, heavy_hitters_total(heavy_hitters_merge(s.hh, n.hh)) AS hh_total,
       (SELECT item FROM topk_items(topk_merge(s.top_text, n.top_text), 1)) AS top_text_item
FROM stored s,
     (SELECT hll_agg(buyer) AS buyers, cms_agg(product) AS c, topk_agg(product) AS top, topk_agg(product::text) AS top_text,
             heavy_hitters_agg(product) AS hh FROM events) n
WHERE s.day = '2024-01-01';
SELECT (SELECT topk_merge_agg(top)::text FROM stored) IS NOT NULL AS merge_agg_of_old_sketches;

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
