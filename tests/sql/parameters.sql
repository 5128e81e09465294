-- Sketch parameters (capacity, precision, k, epsilon, delta) come from anything that is
-- the same for every row: a constant, a parameter of a prepared statement (also in its
-- generic plan, which PostgreSQL uses from the 6th EXECUTE on, and which JDBC gets from
-- its 5th execution), a PL/pgSQL variable, an argument of an SQL function. A column or a
-- volatile function is an ERROR.
CREATE EXTENSION topk_pg;
CREATE TABLE events AS SELECT g % 500 AS item FROM generate_series(1, 20000) g;

PREPARE sized(int, int, int, float8, float8) AS
SELECT (topk_agg(item, $1)::jsonb)->>'capacity' AS capacity,
       (heavy_hitters_agg(item, $2)::jsonb)->>'k' AS k,
       hll_count(hll_agg(item, $3)) AS distinct_items,
       cms_estimate(cms_agg(item, $4, $5), 7) >= 40 AS never_under
FROM events;
SELECT format('EXECUTE sized(%s, %s, %s, 0.001, 0.01)', 100 + g, 10 + g, 10 + g % 3) FROM generate_series(1, 10) g
\gexec
-- the generic plan, for sure
SET plan_cache_mode = force_generic_plan;
EXECUTE sized(200, 20, 12, 0.001, 0.01);
RESET plan_cache_mode;

-- PL/pgSQL variables, and an SQL function's arguments
DO $$
DECLARE
    c integer := 300;
    got text;
BEGIN
    SELECT (topk_agg(item, c)::jsonb)->>'capacity' INTO got FROM events;
    RAISE NOTICE 'capacity from a variable: %', got;
END $$;
CREATE FUNCTION capacity_of(c integer) RETURNS text LANGUAGE sql
    AS $$ SELECT (topk_agg(item, c)::jsonb)->>'capacity' FROM events $$;
SELECT capacity_of(400);
-- an expression of parameters and constants is as good
EXECUTE sized(50 * 2, 4 + 4, 10, 0.001, 0.01);
PREPARE doubled(int) AS SELECT (topk_agg(item, $1 * 2)::jsonb)->>'capacity' FROM events;
EXECUTE doubled(60);

-- Refused: a column, a volatile function; a bad value is the usual ERROR.
SELECT topk_agg(item, item) FROM events;
SELECT topk_agg(item, (random() * 10)::int + 100) FROM events;
SELECT hll_agg(item, item % 5 + 10) FROM events;
EXECUTE sized(0, 10, 10, 0.001, 0.01);
EXECUTE sized(100, 10, NULL, 0.001, 0.01);
SELECT 1 AS still_usable;
