-- Stored sketches on Citus: a rollup table of sketches co-located with the events (both
-- distributed by shop) is filled on the workers by INSERT … SELECT, and the merge
-- aggregates combine its sketches across shops as partial aggregates on the workers.
-- Every answer equals the same query on one node (local copies of the tables). The
-- item column is a domain over bigint.
SET client_min_messages = warning;
\set VERBOSITY terse
CREATE SCHEMA merge_aggregates;
SET search_path = merge_aggregates, scenario, public;

CREATE DOMAIN product_id AS bigint;
CREATE TABLE events (shop integer, at timestamptz, product product_id, buyer bigint, quantity integer);
SELECT create_distributed_table('events', 'shop');
-- 30,000 events of 40 shops over 7 days, 169 products, 5,000 buyers.
INSERT INTO events
SELECT g % 40, timestamptz '2024-01-01 00:00+00' + (g % 7) * interval '1 day' + (g % 1440) * interval '1 minute',
       (g % 17) * (g % 29) % 300, (g * 7919) % 5000, 1 + g % 3
FROM generate_series(1, 30000) g;
CREATE TABLE events_local AS SELECT * FROM events;
SELECT count(DISTINCT product) AS products, count(DISTINCT buyer) AS buyers FROM events_local;

CREATE TABLE daily (shop integer, day date, sales bigint, top spacesaving_bigint, buyers topk_hll, freq cms,
                    hitters heavy_hitters_bigint);
SELECT create_distributed_table('daily', 'shop', colocate_with => 'events');
CREATE TABLE daily_local (LIKE daily);
-- The rollup runs on the workers, shard by shard: the plan is one INSERT … SELECT per
-- shard, nothing goes through the coordinator.
SELECT plan($$INSERT INTO daily
              SELECT shop, (at AT TIME ZONE 'UTC')::date, count(*), topk_agg(product, quantity::bigint), hll_agg(buyer),
                     cms_agg(product), heavy_hitters_agg(product)
              FROM events GROUP BY 1, 2$$) LIMIT 7;
INSERT INTO daily
SELECT shop, (at AT TIME ZONE 'UTC')::date, count(*), topk_agg(product, quantity::bigint), hll_agg(buyer),
       cms_agg(product), heavy_hitters_agg(product)
FROM events GROUP BY 1, 2;
INSERT INTO daily_local
SELECT shop, (at AT TIME ZONE 'UTC')::date, count(*), topk_agg(product, quantity::bigint), hll_agg(buyer),
       cms_agg(product), heavy_hitters_agg(product)
FROM events_local GROUP BY 1, 2;
CREATE TEMP TABLE daily_copy AS SELECT * FROM daily;
SELECT count(*) AS rollup_rows,
       count(*) FILTER (WHERE d.sales = l.sales AND fingerprint(d.top) = fingerprint(l.top)
                          AND d.buyers::text = l.buyers::text AND d.freq::text = l.freq::text
                          AND fingerprint(d.hitters) = fingerprint(l.hitters)) AS same_as_one_node
FROM daily_copy d JOIN daily_local l USING (shop, day);

-- Merged across shops (GROUP BY day, not the distribution column, and no GROUP BY):
-- partial merges on the workers, combined on the coordinator.
SELECT line FROM plan($$SELECT day, topk_merge_agg(top), hll_merge_agg(buyers), cms_merge_agg(freq),
                               heavy_hitters_merge_agg(hitters) FROM daily GROUP BY day$$) line
WHERE line LIKE '%Output%' OR line LIKE '%Query%';
CREATE TEMP TABLE merged AS
SELECT day, fingerprint(topk_merge_agg(top)) AS top, hll_merge_agg(buyers)::text AS buyers,
       cms_merge_agg(freq)::text AS freq, fingerprint(heavy_hitters_merge_agg(hitters)) AS hitters
FROM daily GROUP BY day;
SELECT count(*) AS days, count(*) FILTER (WHERE (m.top, m.buyers, m.freq, m.hitters) = (l.top, l.buyers, l.freq, l.hitters)) AS same_as_one_node
FROM merged m
JOIN (SELECT day, fingerprint(topk_merge_agg(top)) AS top, hll_merge_agg(buyers)::text AS buyers,
             cms_merge_agg(freq)::text AS freq, fingerprint(heavy_hitters_merge_agg(hitters)) AS hitters
      FROM daily_local GROUP BY day) l USING (day);
CREATE TEMP TABLE week AS
SELECT topk_merge_agg(top) AS top, hll_merge_agg(buyers) AS buyers, cms_merge_agg(freq) AS freq FROM daily;
-- The week: the merged sketches against the events themselves (the top-K sketch is exact,
-- 169 products < its capacity; the distinct count is an estimate).
SELECT (SELECT array_agg(item ORDER BY rank) FROM topk_items(w.top, 5)) AS top_5,
       (SELECT array_agg(count ORDER BY rank) FROM topk_items(w.top, 5)) AS counts,
       (SELECT array_agg(product ORDER BY q DESC, product) FROM (SELECT product, sum(quantity) AS q FROM events_local
                                                                GROUP BY product ORDER BY 2 DESC, 1 LIMIT 5) e) AS exact_top_5,
       (SELECT array_agg(q ORDER BY q DESC, product) FROM (SELECT product, sum(quantity) AS q FROM events_local
                                                          GROUP BY product ORDER BY 2 DESC, 1 LIMIT 5) e) AS exact_counts,
       hll_count(w.buyers) AS buyers_estimate, (SELECT count(DISTINCT buyer) FROM events_local) AS buyers_exact,
       cms_estimate(w.freq, 0::bigint) AS cms_estimate_0,
       (SELECT count(*) FROM events_local WHERE product = 0) AS exact_0
FROM week w;
-- The build aggregates over the domain column are pushed down too (the domain resolves
-- to the bigint forms).
SELECT line FROM plan('SELECT topk_agg(product), hll_agg(product) FROM events') line WHERE line LIKE '%Query%';

DROP SCHEMA merge_aggregates CASCADE;
