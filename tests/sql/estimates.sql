-- Estimates in a join: cms_estimate, topk_estimate and heavy_hitters_estimate called once
-- per row decode their sketch once while the same sketch comes back, and again when
-- another one does; every answer is the one a lone call gives.
CREATE EXTENSION topk_pg;
SET max_parallel_workers_per_gather = 0;
-- Two stored sketches of each type (large enough to be compressed and moved out of line
-- by TOAST), the events they count, and the values to look up.
CREATE TABLE events AS SELECT s AS sketch, (g % (5000 * s))::bigint AS item
FROM generate_series(1, 2) s, generate_series(1, 20000) g;
CREATE TABLE sketches AS
SELECT sketch, cms_agg(item, 0.0001, 0.01) AS c, topk_agg(item) AS t, heavy_hitters_agg(item, 20) AS h
FROM events GROUP BY sketch;
SELECT sketch, pg_column_size(c) > 2000 AS cms_large, pg_column_size(t) > 2000 AS topk_large,
       pg_column_size(h) > 2000 AS hh_large FROM sketches ORDER BY 1;
CREATE TABLE lookups AS SELECT v::bigint AS v FROM generate_series(0, 250) v;

-- In a join (sketch by sketch, then alternating between the two on every row), each
-- estimate equals the estimate of the same sketch and value computed alone, by a
-- statement of its own.
CREATE TABLE alone (sketch int, v bigint, c bigint, t bigint, h bigint);
DO $$
DECLARE
    s record;
    l record;
BEGIN
    FOR s IN SELECT * FROM sketches LOOP
        FOR l IN SELECT * FROM lookups LOOP
            EXECUTE 'INSERT INTO alone SELECT $1, $2, cms_estimate($3, $2), topk_estimate($4, $2), heavy_hitters_estimate($5, $2)'
            USING s.sketch, l.v, s.c, s.t, s.h;
        END LOOP;
    END LOOP;
END $$;
SELECT count(*) AS differences FROM (
    SELECT s.sketch, l.v, cms_estimate(s.c, l.v) AS c, topk_estimate(s.t, l.v) AS t,
           heavy_hitters_estimate(s.h, l.v) AS h
    FROM sketches s CROSS JOIN lookups l
    EXCEPT SELECT * FROM alone) d;
SELECT count(*) AS differences FROM (
    SELECT o.sketch, o.v, cms_estimate(s.c, o.v) AS c, topk_estimate(s.t, o.v) AS t,
           heavy_hitters_estimate(s.h, o.v) AS h
    FROM (SELECT l.v, 1 + (l.v + k) % 2 AS sketch FROM lookups l, generate_series(0, 1) k ORDER BY l.v, k) o
    JOIN sketches s ON s.sketch = o.sketch
    EXCEPT SELECT * FROM alone) d;
-- never under the true count
SELECT count(*) AS under FROM alone a
JOIN (SELECT sketch, item, count(*) AS n FROM events GROUP BY 1, 2) e ON e.sketch = a.sketch AND e.item = a.v
WHERE a.c < e.n OR a.t < e.n OR a.h < e.n;
-- A value of another type than the sketch's is still refused.
SELECT cms_estimate(s.c, 'x'::text) FROM sketches s;
