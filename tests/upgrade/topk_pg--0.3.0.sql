-- topk_pg 0.3.0 install script (sql/*.sql of release 0.3.0, commit 07872b8, in src/lib.rs order), for the upgrade scenarios.
-- topk_pg: installed by CREATE EXTENSION topk_pg. Each sql/*.sql file of the source
-- tree is one part of the install script, in the order src/lib.rs lists them.

CREATE FUNCTION topk_pg_version() RETURNS text
    IMMUTABLE PARALLEL SAFE STRICT
    LANGUAGE C AS 'MODULE_PATHNAME', 'topk_pg_version';
COMMENT ON FUNCTION topk_pg_version() IS 'version of the topk_pg extension';

-- HyperLogLog: type hll, the hll_agg and hll_merge_agg aggregates and their functions.

CREATE TYPE hll;

CREATE FUNCTION hll_in(cstring) RETURNS hll
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_in';
CREATE FUNCTION hll_out(hll) RETURNS cstring
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_out';
CREATE FUNCTION hll_recv(internal) RETURNS hll
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_recv';
CREATE FUNCTION hll_send(hll) RETURNS bytea
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_send';

CREATE TYPE hll (
    INPUT = hll_in,
    OUTPUT = hll_out,
    RECEIVE = hll_recv,
    SEND = hll_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = external
);
COMMENT ON TYPE hll IS 'HyperLogLog sketch of distinct values (topk_pg)';

CREATE FUNCTION hll_to_json(hll) RETURNS jsonb
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_to_json';
CREATE CAST (hll AS jsonb) WITH FUNCTION hll_to_json(hll);

-- Aggregate support. The state is the hll type itself, kept while aggregating as an
-- expanded object: the sketch is updated in place and flattened only by the final
-- function, between parallel workers, or when the state is written out (see
-- src/state.rs). A real state type, not internal, lets Citus push the aggregate down.
CREATE FUNCTION hll_trans(hll, anyelement) RETURNS hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_trans';
CREATE FUNCTION hll_trans(hll, anyelement, integer) RETURNS hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_trans';
CREATE FUNCTION hll_merge_trans(hll, hll) RETURNS hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_merge_trans';
CREATE FUNCTION hll_combine(hll, hll) RETURNS hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_combine';
CREATE FUNCTION hll_final(hll) RETURNS hll
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_final';

CREATE AGGREGATE hll_agg(value anyelement) (
    SFUNC = hll_trans, STYPE = hll, FINALFUNC = hll_final,
    COMBINEFUNC = hll_combine, SSPACE = 16384, PARALLEL = SAFE
);
CREATE AGGREGATE hll_agg(value anyelement, "precision" integer) (
    SFUNC = hll_trans, STYPE = hll, FINALFUNC = hll_final,
    COMBINEFUNC = hll_combine, SSPACE = 16384, PARALLEL = SAFE
);
COMMENT ON AGGREGATE hll_agg(anyelement) IS
    'HyperLogLog sketch of the distinct non-NULL values, precision 14 (0.81% standard error)';
COMMENT ON AGGREGATE hll_agg(anyelement, integer) IS
    'HyperLogLog sketch of the distinct non-NULL values at a precision from 4 to 18';

CREATE AGGREGATE hll_merge_agg(sketch hll) (
    SFUNC = hll_merge_trans, STYPE = hll, FINALFUNC = hll_final,
    COMBINEFUNC = hll_combine, SSPACE = 16384, PARALLEL = SAFE
);
COMMENT ON AGGREGATE hll_merge_agg(hll) IS 'union of hll sketches';

-- Scalar functions.
CREATE FUNCTION hll_empty("precision" integer DEFAULT 14) RETURNS hll
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_empty';
CREATE FUNCTION hll_add(sketch hll, value anyelement) RETURNS hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_add';
CREATE FUNCTION hll_merge(a hll, b hll) RETURNS hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_merge';
CREATE FUNCTION hll_count(sketch hll) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_count';
CREATE FUNCTION hll_stderr(sketch hll) RETURNS double precision
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_stderr';
CREATE FUNCTION hll_precision(sketch hll) RETURNS integer
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_precision';
CREATE FUNCTION hll_count_bounds(sketch hll, confidence double precision DEFAULT 0.95,
                                 OUT lower bigint, OUT upper bigint)
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_count_bounds';
COMMENT ON FUNCTION hll_count(hll) IS 'estimated number of distinct values (exact for small sets)';
COMMENT ON FUNCTION hll_stderr(hll) IS 'relative standard error of hll_count (0 while exact)';

-- Count-min sketch: type cms, the cms_agg and cms_merge_agg aggregates and their functions.

CREATE TYPE cms;

CREATE FUNCTION cms_in(cstring) RETURNS cms
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_in';
CREATE FUNCTION cms_out(cms) RETURNS cstring
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_out';
CREATE FUNCTION cms_recv(internal) RETURNS cms
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_recv';
CREATE FUNCTION cms_send(cms) RETURNS bytea
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_send';

CREATE TYPE cms (
    INPUT = cms_in,
    OUTPUT = cms_out,
    RECEIVE = cms_recv,
    SEND = cms_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);
COMMENT ON TYPE cms IS 'count-min sketch of item frequencies (topk_pg)';

CREATE FUNCTION cms_to_json(cms) RETURNS jsonb
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_to_json';
CREATE CAST (cms AS jsonb) WITH FUNCTION cms_to_json(cms);

-- Aggregate support: 2 or 4 arguments unweighted, 3 or 5 weighted.
CREATE FUNCTION cms_trans(cms, anyelement) RETURNS cms
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'cms_trans';
CREATE FUNCTION cms_trans(cms, anyelement, bigint) RETURNS cms
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'cms_trans';
CREATE FUNCTION cms_trans(cms, anyelement, double precision, double precision) RETURNS cms
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'cms_trans';
CREATE FUNCTION cms_trans(cms, anyelement, bigint, double precision, double precision) RETURNS cms
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'cms_trans';
CREATE FUNCTION cms_merge_trans(cms, cms) RETURNS cms
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'cms_merge_trans';
CREATE FUNCTION cms_combine(cms, cms) RETURNS cms
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'cms_combine';
CREATE FUNCTION cms_final(cms) RETURNS cms
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_final';

CREATE AGGREGATE cms_agg(value anyelement) (
    SFUNC = cms_trans, STYPE = cms, FINALFUNC = cms_final,
    COMBINEFUNC = cms_combine, SSPACE = 110000, PARALLEL = SAFE
);
CREATE AGGREGATE cms_agg(value anyelement, weight bigint) (
    SFUNC = cms_trans, STYPE = cms, FINALFUNC = cms_final,
    COMBINEFUNC = cms_combine, SSPACE = 110000, PARALLEL = SAFE
);
CREATE AGGREGATE cms_agg(value anyelement, epsilon double precision, delta double precision) (
    SFUNC = cms_trans, STYPE = cms, FINALFUNC = cms_final,
    COMBINEFUNC = cms_combine, SSPACE = 110000, PARALLEL = SAFE
);
CREATE AGGREGATE cms_agg(value anyelement, weight bigint, epsilon double precision, delta double precision) (
    SFUNC = cms_trans, STYPE = cms, FINALFUNC = cms_final,
    COMBINEFUNC = cms_combine, SSPACE = 110000, PARALLEL = SAFE
);
COMMENT ON AGGREGATE cms_agg(anyelement) IS
    'count-min sketch of the non-NULL values, epsilon 0.001 and delta 0.01';

CREATE AGGREGATE cms_merge_agg(sketch cms) (
    SFUNC = cms_merge_trans, STYPE = cms, FINALFUNC = cms_final,
    COMBINEFUNC = cms_combine, SSPACE = 110000, PARALLEL = SAFE
);
COMMENT ON AGGREGATE cms_merge_agg(cms) IS 'sum of count-min sketches of the same dimensions';

CREATE FUNCTION cms_add(sketch cms, value anyelement) RETURNS cms
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'cms_add';
CREATE FUNCTION cms_add(sketch cms, value anyelement, weight bigint) RETURNS cms
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'cms_add';
CREATE FUNCTION cms_merge(a cms, b cms) RETURNS cms
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'cms_merge';
CREATE FUNCTION cms_estimate(sketch cms, value anyelement) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_estimate';
CREATE FUNCTION cms_total(sketch cms) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_total';
CREATE FUNCTION cms_error_bound(sketch cms) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_error_bound';
CREATE FUNCTION cms_epsilon(sketch cms) RETURNS double precision
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_epsilon';
CREATE FUNCTION cms_delta(sketch cms) RETURNS double precision
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'cms_delta';
COMMENT ON FUNCTION cms_estimate(cms, anyelement) IS
    'estimated count of a value: never below the true count, above it by at most cms_error_bound with probability 1 - delta';

-- Space-Saving top-K: type spacesaving, the topk_agg and topk_merge_agg aggregates and
-- their functions. Items come back in their own type: topk_agg over a bigint, integer
-- or text column returns the domain spacesaving_bigint, spacesaving_integer or
-- spacesaving_text, for which topk_items returns bigint, integer or text items; any
-- other item type uses topk_items(sketch, n, NULL::that_type).

CREATE TYPE spacesaving;

CREATE FUNCTION topk_in(cstring) RETURNS spacesaving
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_in';
CREATE FUNCTION topk_out(spacesaving) RETURNS cstring
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_out';
CREATE FUNCTION topk_recv(internal) RETURNS spacesaving
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_recv';
CREATE FUNCTION topk_send(spacesaving) RETURNS bytea
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_send';

CREATE TYPE spacesaving (
    INPUT = topk_in,
    OUTPUT = topk_out,
    RECEIVE = topk_recv,
    SEND = topk_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);
COMMENT ON TYPE spacesaving IS 'Space-Saving top-K sketch with per-item error bounds (topk_pg)';

CREATE DOMAIN spacesaving_bigint AS spacesaving;
CREATE DOMAIN spacesaving_integer AS spacesaving;
CREATE DOMAIN spacesaving_text AS spacesaving;
COMMENT ON DOMAIN spacesaving_bigint IS 'spacesaving sketch of bigint items';
COMMENT ON DOMAIN spacesaving_integer IS 'spacesaving sketch of integer items';
COMMENT ON DOMAIN spacesaving_text IS 'spacesaving sketch of text items';

CREATE FUNCTION topk_to_json(spacesaving) RETURNS jsonb
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_to_json';
CREATE CAST (spacesaving AS jsonb) WITH FUNCTION topk_to_json(spacesaving);

-- Aggregate support.
CREATE FUNCTION topk_trans(spacesaving, anyelement) RETURNS spacesaving
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_trans';
CREATE FUNCTION topk_trans(spacesaving, anyelement, integer) RETURNS spacesaving
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_trans';
CREATE FUNCTION topk_trans_weighted(spacesaving, anyelement, bigint) RETURNS spacesaving
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_trans_weighted';
CREATE FUNCTION topk_trans_weighted(spacesaving, anyelement, bigint, integer) RETURNS spacesaving
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_trans_weighted';
CREATE FUNCTION topk_merge_trans(spacesaving, spacesaving) RETURNS spacesaving
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_merge_trans';
CREATE FUNCTION topk_combine(spacesaving, spacesaving) RETURNS spacesaving
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_combine';
CREATE FUNCTION topk_final(spacesaving) RETURNS spacesaving
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_final';

-- Build and merge aggregates and the scalar functions for the base type (any item
-- type), then the same for each typed domain, whose results keep the domain, so that
-- topk_items returns the items in their own type.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
            -- (sketch type, item type of topk_agg and topk_items, final function)
            ('spacesaving', 'anyelement', 'topk_final'),
            ('spacesaving_bigint', 'bigint', 'topk_final_bigint'),
            ('spacesaving_integer', 'integer', 'topk_final_integer'),
            ('spacesaving_text', 'text', 'topk_final_text')) v(sketch, item, final)
    LOOP
        IF t.sketch <> 'spacesaving' THEN
            EXECUTE format($f$
                CREATE FUNCTION %1$I(spacesaving) RETURNS %2$s
                    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_final';
                CREATE FUNCTION topk_merge_trans(spacesaving, %2$s) RETURNS spacesaving
                    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_merge_trans';
                CREATE AGGREGATE topk_merge_agg(sketch %2$s) (
                    SFUNC = topk_merge_trans, STYPE = spacesaving, FINALFUNC = %1$I,
                    COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE);
                CREATE FUNCTION topk_items(sketch %2$s, n integer DEFAULT NULL)
                    RETURNS TABLE (rank integer, item %3$s, count bigint, error bigint, guaranteed boolean)
                    IMMUTABLE PARALLEL SAFE ROWS 100 LANGUAGE C AS 'MODULE_PATHNAME', 'topk_items'$f$,
                t.final, t.sketch, t.item);
        END IF;
        EXECUTE format($f$
            CREATE AGGREGATE topk_agg(value %1$s) (
                SFUNC = topk_trans, STYPE = spacesaving, FINALFUNC = %2$I,
                COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE);
            CREATE AGGREGATE topk_agg(value %1$s, capacity integer) (
                SFUNC = topk_trans, STYPE = spacesaving, FINALFUNC = %2$I,
                COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE);
            CREATE AGGREGATE topk_agg(value %1$s, weight bigint) (
                SFUNC = topk_trans_weighted, STYPE = spacesaving, FINALFUNC = %2$I,
                COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE);
            CREATE AGGREGATE topk_agg(value %1$s, weight bigint, capacity integer) (
                SFUNC = topk_trans_weighted, STYPE = spacesaving, FINALFUNC = %2$I,
                COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE);
            CREATE FUNCTION topk_merge(a %3$s, b %3$s) RETURNS %3$s
                IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_merge';
            CREATE FUNCTION topk_add(sketch %3$s, value anyelement) RETURNS %3$s
                IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_add';
            CREATE FUNCTION topk_add(sketch %3$s, value anyelement, weight bigint) RETURNS %3$s
                IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_add'$f$,
            t.item, t.final, t.sketch);
    END LOOP;
END
$$;

CREATE AGGREGATE topk_merge_agg(sketch spacesaving) (
    SFUNC = topk_merge_trans, STYPE = spacesaving, FINALFUNC = topk_final,
    COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE
);
-- Items of any type, in their text form.
CREATE FUNCTION topk_items(sketch spacesaving, n integer DEFAULT NULL)
    RETURNS TABLE (rank integer, item text, count bigint, error bigint, guaranteed boolean)
    IMMUTABLE PARALLEL SAFE ROWS 100 LANGUAGE C AS 'MODULE_PATHNAME', 'topk_items';
-- Items as the type of the hint, e.g. topk_items(s, 10, NULL::uuid).
CREATE FUNCTION topk_items(sketch spacesaving, n integer, type_hint anyelement)
    RETURNS TABLE (rank integer, item anyelement, count bigint, error bigint, guaranteed boolean)
    IMMUTABLE PARALLEL SAFE ROWS 100 LANGUAGE C AS 'MODULE_PATHNAME', 'topk_items';

CREATE FUNCTION topk_estimate(sketch spacesaving, value anyelement) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_estimate';
CREATE FUNCTION topk_total(sketch spacesaving) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_total';
CREATE FUNCTION topk_capacity(sketch spacesaving) RETURNS integer
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_capacity';
CREATE FUNCTION topk_threshold(sketch spacesaving) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_threshold';
COMMENT ON FUNCTION topk_estimate(spacesaving, anyelement) IS
    'upper bound of a value''s count (for a value the sketch does not monitor: the sketch threshold)';
COMMENT ON FUNCTION topk_threshold(spacesaving) IS
    'every value the sketch does not monitor occurred at most this many times';

-- The count-min + space-saving hybrid: type heavy_hitters, heavy_hitters_agg and
-- heavy_hitters_merge_agg. Items come back typed as for spacesaving: over bigint,
-- integer and text columns the aggregate returns heavy_hitters_bigint,
-- heavy_hitters_integer or heavy_hitters_text.

CREATE TYPE heavy_hitters;

CREATE FUNCTION heavy_hitters_in(cstring) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_in';
CREATE FUNCTION heavy_hitters_out(heavy_hitters) RETURNS cstring
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_out';
CREATE FUNCTION heavy_hitters_recv(internal) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_recv';
CREATE FUNCTION heavy_hitters_send(heavy_hitters) RETURNS bytea
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_send';

CREATE TYPE heavy_hitters (
    INPUT = heavy_hitters_in,
    OUTPUT = heavy_hitters_out,
    RECEIVE = heavy_hitters_recv,
    SEND = heavy_hitters_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);
COMMENT ON TYPE heavy_hitters IS 'count-min sketch plus space-saving candidates: top-K with tight bounds after merges (topk_pg)';

CREATE DOMAIN heavy_hitters_bigint AS heavy_hitters;
CREATE DOMAIN heavy_hitters_integer AS heavy_hitters;
CREATE DOMAIN heavy_hitters_text AS heavy_hitters;

CREATE FUNCTION heavy_hitters_to_json(heavy_hitters) RETURNS jsonb
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_to_json';
CREATE CAST (heavy_hitters AS jsonb) WITH FUNCTION heavy_hitters_to_json(heavy_hitters);

-- Aggregate support: parameters [k int [, epsilon, delta]] follow the value, or the
-- value and its weight.
CREATE FUNCTION heavy_hitters_trans(heavy_hitters, anyelement) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_trans';
CREATE FUNCTION heavy_hitters_trans(heavy_hitters, anyelement, integer) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_trans';
CREATE FUNCTION heavy_hitters_trans(heavy_hitters, anyelement, integer, double precision, double precision) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_trans';
CREATE FUNCTION heavy_hitters_trans_weighted(heavy_hitters, anyelement, bigint) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_trans_weighted';
CREATE FUNCTION heavy_hitters_trans_weighted(heavy_hitters, anyelement, bigint, integer) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_trans_weighted';
CREATE FUNCTION heavy_hitters_trans_weighted(heavy_hitters, anyelement, bigint, integer, double precision, double precision) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_trans_weighted';
CREATE FUNCTION heavy_hitters_merge_trans(heavy_hitters, heavy_hitters) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_merge_trans';
CREATE FUNCTION heavy_hitters_combine(heavy_hitters, heavy_hitters) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_combine';
CREATE FUNCTION heavy_hitters_final(heavy_hitters) RETURNS heavy_hitters
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_final';

DO $$
DECLARE
    t record;
    args text;
BEGIN
    FOR t IN SELECT * FROM (VALUES
            -- (sketch type, item type, final function)
            ('heavy_hitters', 'anyelement', 'heavy_hitters_final'),
            ('heavy_hitters_bigint', 'bigint', 'heavy_hitters_final_bigint'),
            ('heavy_hitters_integer', 'integer', 'heavy_hitters_final_integer'),
            ('heavy_hitters_text', 'text', 'heavy_hitters_final_text')) v(sketch, item, final)
    LOOP
        IF t.sketch <> 'heavy_hitters' THEN
            EXECUTE format($f$
                CREATE FUNCTION %1$I(heavy_hitters) RETURNS %2$s
                    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_final';
                CREATE FUNCTION heavy_hitters_merge_trans(heavy_hitters, %2$s) RETURNS heavy_hitters
                    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_merge_trans';
                CREATE AGGREGATE heavy_hitters_merge_agg(sketch %2$s) (
                    SFUNC = heavy_hitters_merge_trans, STYPE = heavy_hitters, FINALFUNC = %1$I,
                    COMBINEFUNC = heavy_hitters_combine, SSPACE = 1160000, PARALLEL = SAFE);
                CREATE FUNCTION heavy_hitters_items(sketch %2$s, n integer DEFAULT NULL)
                    RETURNS TABLE (rank integer, item %3$s, count bigint, error bigint, guaranteed boolean)
                    IMMUTABLE PARALLEL SAFE ROWS 100 LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_items'$f$,
                t.final, t.sketch, t.item);
        END IF;
        FOREACH args IN ARRAY ARRAY['', ', k integer', ', k integer, epsilon double precision, delta double precision'] LOOP
            EXECUTE format($f$
                CREATE AGGREGATE heavy_hitters_agg(value %1$s %3$s) (
                    SFUNC = heavy_hitters_trans, STYPE = heavy_hitters, FINALFUNC = %2$I,
                    COMBINEFUNC = heavy_hitters_combine, SSPACE = 1160000, PARALLEL = SAFE);
                CREATE AGGREGATE heavy_hitters_agg(value %1$s, weight bigint %3$s) (
                    SFUNC = heavy_hitters_trans_weighted, STYPE = heavy_hitters, FINALFUNC = %2$I,
                    COMBINEFUNC = heavy_hitters_combine, SSPACE = 1160000, PARALLEL = SAFE)$f$,
                t.item, t.final, args);
        END LOOP;
        EXECUTE format($f$
            CREATE FUNCTION heavy_hitters_merge(a %1$s, b %1$s) RETURNS %1$s
                IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_merge';
            CREATE FUNCTION heavy_hitters_add(sketch %1$s, value anyelement) RETURNS %1$s
                IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_add';
            CREATE FUNCTION heavy_hitters_add(sketch %1$s, value anyelement, weight bigint) RETURNS %1$s
                IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_add'$f$, t.sketch);
    END LOOP;
END
$$;

CREATE AGGREGATE heavy_hitters_merge_agg(sketch heavy_hitters) (
    SFUNC = heavy_hitters_merge_trans, STYPE = heavy_hitters, FINALFUNC = heavy_hitters_final,
    COMBINEFUNC = heavy_hitters_combine, SSPACE = 1160000, PARALLEL = SAFE
);
CREATE FUNCTION heavy_hitters_items(sketch heavy_hitters, n integer DEFAULT NULL)
    RETURNS TABLE (rank integer, item text, count bigint, error bigint, guaranteed boolean)
    IMMUTABLE PARALLEL SAFE ROWS 100 LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_items';
CREATE FUNCTION heavy_hitters_items(sketch heavy_hitters, n integer, type_hint anyelement)
    RETURNS TABLE (rank integer, item anyelement, count bigint, error bigint, guaranteed boolean)
    IMMUTABLE PARALLEL SAFE ROWS 100 LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_items';
CREATE FUNCTION heavy_hitters_estimate(sketch heavy_hitters, value anyelement) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_estimate';
CREATE FUNCTION heavy_hitters_total(sketch heavy_hitters) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_total';

-- The Lambda pipeline: schema topk.
--
-- Point topk_pg at an events table, schedule two procedures, and every dashboard
-- becomes `SELECT … FROM <pipeline>.top_1000`:
--
--   SELECT topk.create_pipeline('sales', 'sales_events', 'product_id', 'event_time');
--   SELECT topk.schedule('sales');          -- pg_cron: run_speed every minute, run_batch every 5
--   SELECT item, count FROM sales.top_1000
--   WHERE granularity = 'day' AND window_start = '2024-01-01' ORDER BY rank LIMIT 10;
--
-- How it works (docs/pipeline.md is the DBA's guide):
--
-- CAPTURE. topk.create_pipeline puts a statement-level AFTER INSERT trigger with a
--   transition table on the source. Per INSERT or COPY statement it pre-aggregates the
--   new rows by (hour bucket, item) into count and weight sum, and inserts these few rows
--   into the pipeline's delta tables: <name>.speed_delta for the speed path and
--   <name>.batch_delta for the batch path (lambda mode), plus one HyperLogLog sketch per
--   hour into <name>.distinct_delta when a distinct column is configured. The delta rows
--   commit or abort with the events, in the writer's transaction.
--
-- EXACTLY ONCE. Each path consumes its own delta with DELETE … RETURNING inside the
--   transaction that folds the rows into its output. A writer still in flight has
--   delta rows the consumer cannot see: they stay for the next run. Two consumers
--   cannot both delete a row. A task that fails rolls back its DELETE with the rest.
--   Every task also takes the pipeline's advisory lock (transaction scope), so runs of
--   the same pipeline never interleave: an overlapping run waits, then finds nothing
--   left to do twice.
--
-- SPEED PATH (topk.run_speed). Folds speed_delta into space-saving sketches, one per
--   window of every granularity (hour, day, week, month, year) in <name>.speed_table,
--   merging into the existing sketch, and regenerates those windows' top-k lists from
--   the sketches. In lambda mode it skips windows the batch has finished.
--
-- BATCH PATH (topk.run_batch). Exact counts in <name>.batch_table, rows
--   (granularity, window_start, item, count). Progress is one watermark per granularity
--   in topk.progress: every window ending at or before done_until is final. run_batch
--   runs, each task in its own transaction (COMMIT between windows):
--     1. late: delta rows of hours already final (late events) are added to the hour
--        row and to every final window above it (count = count + late count: sums stay
--        exact), and those windows' top-k lists are regenerated;
--     2. rollups in dependency order, each window only when it is due (its end plus the
--        allowed lateness has passed by the pipeline clock) and its dependencies are
--        final (a day needs its 24 hours, a week its 7 days, a month its days, a year its
--        months): hour = the delta rows of that hour, day = sum of its hours, week and
--        month = sums of their days, year = sum of its months. Each rollup writes its
--        counts, retires the speed rows it supersedes (their top-k list is kept in
--        <name>.superseded_speed_lists for topk.accuracy) and swaps in the exact top-k;
--        a run of windows with nothing to roll up is finalised as one task;
--     3. retention (settings keep_raw_events, keep_hours, keep_speed, keep_job_log).
--   Kappa mode (mode => 'kappa') has no batch path: the speed sketches are the answer,
--   and run_batch only closes windows (for status and retention).
--
-- PROGRESS. Each task prints a NOTICE when it has committed (one per window rolled up,
--   one per run_speed), and while it runs its session's application_name names it, so
--   that topk.running shows other sessions the tasks in progress (with pg_locks);
--   topk.pipeline_status is what monitoring polls (lag, last final windows, failures).
--
-- READ PATH. <name>.top_lists holds, for each window, the batch top-k when the batch has
--   finished that window, else the speed top-k; the procedures swap a window's list in
--   one transaction. <name>.top_<k> is a plain view over it: a dashboard query for one
--   window is an index scan on its primary key (granularity, window_start, rank).
--
-- Windows are aligned in the pipeline's time zone (default UTC; weeks start on
-- Monday). The pipeline clock is now(), or topk.pipelines.clock when set (tests, replays).
-- Procedures are SECURITY INVOKER and work for a non-superuser who owns the source; the
-- only SECURITY DEFINER function is each pipeline's capture trigger function (owned by
-- the pipeline's owner, so that writers need no rights on the delta tables), with its
-- search_path set. Every identifier in dynamic SQL goes through format('%I').

CREATE SCHEMA topk;
COMMENT ON SCHEMA topk IS 'topk_pg Lambda pipeline: catalog, procedures and views';
GRANT USAGE ON SCHEMA topk TO PUBLIC;

---------------------------------------------------------------------------------------
-- Catalog
---------------------------------------------------------------------------------------

CREATE TABLE topk.pipelines (
    name             text PRIMARY KEY,
    source           regclass NOT NULL,
    item_column      text NOT NULL,
    time_column      text NOT NULL,
    weight_column    text,
    distinct_column  text,
    k                integer NOT NULL,
    mode             text NOT NULL CHECK (mode IN ('lambda', 'kappa')),
    item_type        text NOT NULL,            -- format_type() of the item column
    time_type        text NOT NULL CHECK (time_type IN ('timestamptz', 'timestamp', 'date')),
    time_zone        text NOT NULL,            -- windows are aligned in this zone
    capacity         integer NOT NULL,         -- space-saving capacity of the speed sketches
    trigger_name     text NOT NULL,
    -- settings (UPDATE topk.pipelines SET … WHERE name = …)
    allowed_lateness interval NOT NULL DEFAULT '5 minutes' CHECK (allowed_lateness >= '0'),
    keep_raw_events  interval CHECK (keep_raw_events >= '0'),  -- NULL: keep for ever
    keep_hours       interval CHECK (keep_hours >= '0'),
    keep_speed       interval CHECK (keep_speed >= '0'),
    keep_job_log     interval DEFAULT '30 days' CHECK (keep_job_log >= '0'),
    clock            timestamptz,              -- NULL: the pipeline clock is now()
    owner            regrole NOT NULL DEFAULT current_user::regrole,
    created_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE topk.pipelines IS
    'one row per pipeline; the settings (allowed_lateness, keep_*, clock) can be changed with UPDATE';

CREATE TABLE topk.progress (
    pipeline     text NOT NULL REFERENCES topk.pipelines ON DELETE CASCADE,
    granularity  text NOT NULL,
    done_until   timestamptz,   -- every window of this granularity ending at or before this is final
    last_done    timestamptz,   -- start of the last window a task finalised
    purged_until timestamptz,   -- retention removed the rows of windows ending at or before this
    PRIMARY KEY (pipeline, granularity)
);
COMMENT ON TABLE topk.progress IS 'per pipeline and granularity: how far the windows are final';

CREATE TABLE topk.job_log (
    id           bigserial PRIMARY KEY,
    pipeline     text NOT NULL,
    task         text NOT NULL,         -- speed, late, hour, day, week, month, year, retention
    window_start timestamptz,
    window_end   timestamptz,
    rows_read    bigint,
    rows_written bigint,
    started      timestamptz NOT NULL,
    duration     interval,
    status       text NOT NULL CHECK (status IN ('ok', 'failed')),
    error        text,
    pid          integer DEFAULT pg_backend_pid()   -- the session that ran the task
);
CREATE INDEX job_log_pipeline_started ON topk.job_log (pipeline, started);
CREATE INDEX job_log_failures ON topk.job_log (pipeline, started) WHERE status = 'failed';
COMMENT ON TABLE topk.job_log IS 'one row per task run of the pipelines';
COMMENT ON COLUMN topk.job_log.pid IS 'process id of the session that ran the task (see topk.running)';

SELECT pg_catalog.pg_extension_config_dump('topk.pipelines', '');
SELECT pg_catalog.pg_extension_config_dump('topk.progress', '');
SELECT pg_catalog.pg_extension_config_dump('topk.job_log', '');

-- Anyone may create pipelines on the tables they own; each role sees and changes only the
-- pipelines of the roles it is a member of.
GRANT SELECT, INSERT, UPDATE, DELETE ON topk.pipelines, topk.progress, topk.job_log TO PUBLIC;
GRANT USAGE ON SEQUENCE topk.job_log_id_seq TO PUBLIC;
ALTER TABLE topk.pipelines ENABLE ROW LEVEL SECURITY;
ALTER TABLE topk.progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE topk.job_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_pipelines ON topk.pipelines
    USING (pg_has_role(owner, 'MEMBER'));
-- Readers of a pipeline (USAGE on its schema, as topk.grant_read gives) see its row too,
-- so that its query functions (topk_range, trending) work for them; they still cannot
-- change it or run its procedures.
CREATE POLICY read_pipelines ON topk.pipelines FOR SELECT
    USING (EXISTS (SELECT FROM pg_catalog.pg_namespace n
                   WHERE n.nspname = name AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')));
CREATE POLICY own_pipelines ON topk.progress
    USING (pipeline IN (SELECT name FROM topk.pipelines));
CREATE POLICY own_pipelines ON topk.job_log
    USING (pipeline IN (SELECT name FROM topk.pipelines));

-- The shape of a pipeline is fixed when it is created; only its settings change.
CREATE FUNCTION topk._pipelines_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.name, NEW.source, NEW.item_column, NEW.time_column, NEW.weight_column,
        NEW.distinct_column, NEW.k, NEW.mode, NEW.item_type, NEW.time_type, NEW.time_zone,
        NEW.capacity, NEW.trigger_name, NEW.owner)
       IS DISTINCT FROM
       (OLD.name, OLD.source, OLD.item_column, OLD.time_column, OLD.weight_column,
        OLD.distinct_column, OLD.k, OLD.mode, OLD.item_type, OLD.time_type, OLD.time_zone,
        OLD.capacity, OLD.trigger_name, OLD.owner) THEN
        RAISE EXCEPTION 'topk: only the settings of pipeline % can change', OLD.name
            USING HINT = 'allowed_lateness, keep_raw_events, keep_hours, keep_speed, keep_job_log '
                         'and clock are settings; for anything else drop and re-create the pipeline.';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER guard BEFORE UPDATE ON topk.pipelines
    FOR EACH ROW EXECUTE FUNCTION topk._pipelines_guard();

---------------------------------------------------------------------------------------
-- Windows
---------------------------------------------------------------------------------------

-- The granularities, finest first, and what each one's rollup sums.
CREATE VIEW topk.granularities (granularity, level, rolls_up) AS
VALUES ('hour', 1, NULL), ('day', 2, 'hour'), ('week', 3, 'day'), ('month', 4, 'day'), ('year', 5, 'month');
GRANT SELECT ON topk.granularities TO PUBLIC;

-- The start of the window of a granularity that contains t, aligned in the time zone
-- (weeks start on Monday).
CREATE FUNCTION topk.window_start(granularity text, t timestamptz, time_zone text DEFAULT 'UTC')
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE
    RETURN date_trunc(granularity, t, time_zone);

-- The end of the window that starts at start: hours are absolute, longer windows are
-- calendar arithmetic in the time zone (a day is 23 or 25 hours across a DST change).
CREATE FUNCTION topk.window_end(granularity text, start timestamptz, time_zone text DEFAULT 'UTC')
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE granularity
        WHEN 'hour' THEN start + interval '1 hour'
        ELSE ((start AT TIME ZONE time_zone) + ('1 ' || granularity)::interval) AT TIME ZONE time_zone
    END;

---------------------------------------------------------------------------------------
-- Internal helpers
---------------------------------------------------------------------------------------

-- A pipeline's row (visible only to its owner's roles and superusers).
CREATE FUNCTION topk._pipeline(pipeline_name text) RETURNS topk.pipelines
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines;
BEGIN
    SELECT * INTO p FROM topk.pipelines WHERE pipelines.name = pipeline_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'topk: there is no pipeline named %', quote_literal(pipeline_name)
            USING ERRCODE = 'undefined_object',
                  HINT = 'topk.pipelines lists the pipelines you own; topk.create_pipeline() creates one.';
    END IF;
    RETURN p;
END $$;

-- The pipeline clock: now(), unless the pipeline's clock setting is set.
CREATE FUNCTION topk._clock(p topk.pipelines) RETURNS timestamptz
    LANGUAGE sql STABLE RETURN coalesce(p.clock, now());

-- Serialises the tasks of one pipeline (transaction scope). A run that finds another
-- one in progress says so and waits for it.
CREATE FUNCTION topk._lock(pipeline_name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('topk_pg'), hashtext(pipeline_name)) THEN
        RAISE NOTICE 'topk: pipeline % is busy (another run is in progress); waiting for it',
            quote_literal(pipeline_name);
        PERFORM pg_advisory_xact_lock(hashtext('topk_pg'), hashtext(pipeline_name));
    END IF;
END $$;

-- SQL for the hour bucket of the events of a statement, in two parts so that the
-- per-row work is cheap: `key` (an expression on the event row, grouped by) and `hour`
-- (the bucket's start as timestamptz, computed once per group from `key`). date_bin is
-- plain arithmetic; it aligns hours in the time zone when every UTC offset the zone has
-- had or will have (1970-2050) is the same number of minutes past the hour (true of
-- UTC and most zones, including +05:30); other zones use date_trunc in the zone.
CREATE FUNCTION topk._hour_sql(p topk.pipelines, alias text, OUT key text, OUT hour text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    offsets_agree boolean;
BEGIN
    IF p.time_type = 'timestamp' THEN
        key := format('date_bin(''1 hour'', %s.%I, timestamp ''2000-01-01'')', alias, p.time_column);
        hour := format('(%%s AT TIME ZONE %L)', p.time_zone);
    ELSIF p.time_type = 'date' THEN
        key := format('%s.%I', alias, p.time_column);
        hour := format('(%%s::timestamp AT TIME ZONE %L)', p.time_zone);
    ELSE
        SELECT count(DISTINCT (extract(epoch FROM (t AT TIME ZONE p.time_zone) - (t AT TIME ZONE 'UTC'))::bigint
                               % 3600 + 3600) % 3600) = 1
        INTO offsets_agree
        FROM generate_series(timestamptz '1970-01-01 00:00+00', '2050-01-01 00:00+00', interval '1 month') t;
        IF offsets_agree THEN
            key := format('date_bin(''1 hour'', %s.%I, %L::timestamptz)', alias, p.time_column,
                          timestamp '2000-01-01' AT TIME ZONE p.time_zone);
        ELSE
            key := format('date_trunc(''hour'', %s.%I, %L)', alias, p.time_column, p.time_zone);
        END IF;
        hour := '%s';
    END IF;
END $$;

-- SQL for a moment as a value of the time column's type (for deletes by time).
CREATE FUNCTION topk._time_literal(p topk.pipelines, t timestamptz) RETURNS text
LANGUAGE sql STABLE RETURN CASE p.time_type
    WHEN 'timestamptz' THEN format('%L::timestamptz', t)
    WHEN 'timestamp' THEN format('%L::timestamp', t AT TIME ZONE p.time_zone)
    ELSE format('%L::date', (t AT TIME ZONE p.time_zone)::date)
END;

-- The statements that fold a set of events (the trigger's transition table, or the
-- source itself for a backfill) into the delta tables: one row per (hour, item), and
-- one HyperLogLog sketch per hour of the distinct column.
CREATE FUNCTION topk._capture_sql(p topk.pipelines, events text, into_clause text DEFAULT '')
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    bucket record := topk._hour_sql(p, 'e');
    -- events without an item or a time are not counted (no filter on NOT NULL columns)
    keep text := coalesce((SELECT string_agg(format('e.%I IS NOT NULL', a.attname), ' AND ')
                           FROM pg_attribute a
                           WHERE a.attrelid = p.source AND a.attname IN (p.item_column, p.time_column)
                             AND NOT a.attnotnull), 'true');
    weight text := CASE WHEN p.weight_column IS NULL THEN ''
                        ELSE format(', coalesce(sum(e.%I), 0)::bigint AS weight', p.weight_column) END;
    lowest text := CASE WHEN p.weight_column IS NULL THEN '0'
                        ELSE format('min(e.%I)', p.weight_column) END;
    sql text;
BEGIN
    sql := format($q$
    WITH per_hour_item AS MATERIALIZED (
        SELECT %1$s AS hour, item, events, %11$s AS count, lowest
        FROM (SELECT %2$s AS bucket, e.%3$I AS item, count(*) AS events%4$s, %5$s AS lowest
              FROM %6$s AS e
              WHERE %7$s
              GROUP BY 1, 2) per_bucket
    ), to_speed AS (
        INSERT INTO %8$I.speed_delta (hour, item, events, count)
        SELECT hour, item, events, count FROM per_hour_item
    )%9$s%12$s
    SELECT min(lowest)%10$s FROM per_hour_item$q$,
        format(bucket.hour, 'bucket'), bucket.key, p.item_column, weight, lowest, events, keep, p.name,
        CASE WHEN p.mode = 'lambda' THEN format($q$, to_batch AS (
        INSERT INTO %1$I.batch_delta (hour, item, events, count)
        SELECT hour, item, events, count FROM per_hour_item
    )$q$, p.name) ELSE '' END,
        into_clause,
        CASE WHEN p.weight_column IS NULL THEN 'events' ELSE 'weight' END,
        -- one statement, so that it can return the lowest weight INTO a variable
        CASE WHEN p.distinct_column IS NULL THEN '' ELSE format($q$, to_distinct AS (
        INSERT INTO %1$I.distinct_delta (hour, sketch)
        SELECT %2$s, sketch
        FROM (SELECT %3$s AS bucket, @extschema@.hll_agg(e.%4$I) AS sketch
              FROM %5$s AS e
              WHERE %6$s AND e.%4$I IS NOT NULL
              GROUP BY 1) per_bucket
    )$q$, p.name, format(bucket.hour, 'bucket'), bucket.key, p.distinct_column, events, keep) END);
    RETURN sql;
END $$;

-- Task results.
CREATE TYPE topk.task_result AS (
    window_start timestamptz,
    window_end   timestamptz,
    rows_read    bigint,
    rows_written bigint,
    events       bigint,     -- speed and late tasks: events folded
    windows      bigint      -- speed and late tasks: windows updated
);

-- The dashboards' query (one window's first rows by rank) should read the primary key in
-- rank order and stop after a few rows. Before top_lists has statistics the planner
-- takes a window for a couple of rows and sorts all k of them instead (3 times slower):
-- the first lists written analyze the table; autovacuum keeps the statistics after that.
CREATE FUNCTION topk._analyze_lists(p topk.pipelines) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT c.reltuples < 0 FROM pg_catalog.pg_class c WHERE c.oid = format('%I.top_lists', p.name)::regclass) THEN
        EXECUTE format('ANALYZE %I.top_lists', p.name);
    END IF;
END $$;

-- Regenerates the top-k lists of some windows of a pipeline from its exact counts (in one
-- statement pair, inside the caller's transaction: readers see the old or the new list).
CREATE FUNCTION topk._batch_lists(p topk.pipelines, granularities text[], starts timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        DELETE FROM %1$I.top_lists t
        USING unnest($1, $2) AS w(granularity, window_start)
        WHERE t.granularity = w.granularity AND t.window_start = w.window_start$q$, p.name)
    USING granularities, starts;
    EXECUTE format($q$
        INSERT INTO %1$I.top_lists (granularity, window_start, window_end, rank, item, count, error, source)
        SELECT granularity, window_start, window_end, rank, item, count, 0, 'batch'
        FROM (SELECT b.granularity, b.window_start, b.window_end, b.item, b.count,
                     row_number() OVER (PARTITION BY b.granularity, b.window_start
                                        ORDER BY b.count DESC, b.item) AS rank
              FROM %1$I.batch_table b
              JOIN unnest($1, $2) AS w(granularity, window_start)
                ON b.granularity = w.granularity AND b.window_start = w.window_start) ranked
        WHERE rank <= %2$s$q$, p.name, p.k)
    USING granularities, starts;
    PERFORM topk._analyze_lists(p);
END $$;

-- Regenerates the top-k lists of some windows from their speed sketches.
CREATE FUNCTION topk._speed_lists(p topk.pipelines, granularities text[], starts timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        DELETE FROM %1$I.top_lists t
        USING unnest($1, $2) AS w(granularity, window_start)
        WHERE t.granularity = w.granularity AND t.window_start = w.window_start$q$, p.name)
    USING granularities, starts;
    EXECUTE format($q$
        INSERT INTO %1$I.top_lists (granularity, window_start, window_end, rank, item, count, error, source)
        SELECT s.granularity, s.window_start, s.window_end,
               row_number() OVER (PARTITION BY s.granularity, s.window_start
                                  ORDER BY i.count DESC, i.item),
               i.item, i.count, i.error, 'speed'
        FROM %1$I.speed_table s
        JOIN unnest($1, $2) AS w(granularity, window_start)
          ON s.granularity = w.granularity AND s.window_start = w.window_start
        CROSS JOIN LATERAL @extschema@.topk_items(s.sketch, %2$s, NULL::%3$s) AS i$q$,
        p.name, p.k, p.item_type)
    USING granularities, starts;
    PERFORM topk._analyze_lists(p);
END $$;

-- The speed rows of windows [from, to) of a granularity are superseded by the batch:
-- their top-k list moves to superseded_speed_lists (for topk.accuracy) and their sketches go.
CREATE FUNCTION topk._supersede_speed(p topk.pipelines, granularity text, from_start timestamptz, to_start timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        WITH retired AS (
            DELETE FROM %1$I.top_lists
            WHERE granularity = $1 AND window_start >= $2 AND window_start < $3 AND source = 'speed'
            RETURNING granularity, window_start, window_end, rank, item, count, error
        )
        INSERT INTO %1$I.superseded_speed_lists AS old
              (granularity, window_start, window_end, rank, item, count, error, superseded_at)
        SELECT granularity, window_start, window_end, rank, item, count, error, now() FROM retired
        ON CONFLICT (granularity, window_start, rank) DO UPDATE
            SET item = excluded.item, count = excluded.count, error = excluded.error,
                superseded_at = excluded.superseded_at$q$, p.name)
    USING granularity, from_start, to_start;
    EXECUTE format('DELETE FROM %I.speed_table WHERE granularity = $1 AND window_start >= $2 AND window_start < $3',
                   p.name)
    USING granularity, from_start, to_start;
END $$;

---------------------------------------------------------------------------------------
-- Creating and dropping pipelines
---------------------------------------------------------------------------------------

CREATE FUNCTION topk._create_objects(p topk.pipelines) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s text := quote_ident(p.name);   -- the pipeline's schema
    t text := p.item_type;
BEGIN
    EXECUTE format('CREATE SCHEMA %s', s);
    EXECUTE format('COMMENT ON SCHEMA %s IS %L', s,
        format('topk_pg pipeline over %s (%s by %s)', p.source, p.item_column, p.time_column));

    -- Deltas: what the capture trigger appends, and the procedures consume.
    EXECUTE format($q$
        CREATE TABLE %1$s.speed_delta (
            hour        timestamptz NOT NULL,
            item        %2$s NOT NULL,
            events      bigint NOT NULL,
            count       bigint NOT NULL,
            captured_at timestamptz NOT NULL DEFAULT now());
        COMMENT ON TABLE %1$s.speed_delta IS 'captured events not yet in the speed path, per statement, hour and item';
        CREATE TABLE %1$s.batch_delta (
            hour        timestamptz NOT NULL,
            item        %2$s NOT NULL,
            events      bigint NOT NULL,
            count       bigint NOT NULL);
        CREATE INDEX ON %1$s.batch_delta (hour);
        COMMENT ON TABLE %1$s.batch_delta IS 'captured events not yet in the batch path, per statement, hour and item';
        CREATE TABLE %1$s.distinct_delta (
            hour        timestamptz NOT NULL,
            sketch      @extschema@.hll NOT NULL,
            captured_at timestamptz NOT NULL DEFAULT now());
        COMMENT ON TABLE %1$s.distinct_delta IS 'HyperLogLog sketches of the distinct column, per statement and hour'$q$,
        s, t);

    -- The two sources.
    EXECUTE format($q$
        CREATE TABLE %1$s.speed_table (
            granularity  text NOT NULL,
            window_start timestamptz NOT NULL,
            window_end   timestamptz NOT NULL,
            sketch       @extschema@.spacesaving NOT NULL,
            events       bigint NOT NULL,
            count        bigint NOT NULL,
            updated_at   timestamptz NOT NULL,
            PRIMARY KEY (granularity, window_start));
        COMMENT ON TABLE %1$s.speed_table IS 'speed path: a space-saving sketch per window not yet final in the batch';
        CREATE TABLE %1$s.batch_table (
            granularity  text NOT NULL,
            window_start timestamptz NOT NULL,
            window_end   timestamptz NOT NULL,
            item         %2$s NOT NULL,
            count        bigint NOT NULL,
            events       bigint NOT NULL,
            PRIMARY KEY (granularity, window_start, item));
        COMMENT ON TABLE %1$s.batch_table IS 'batch path: exact counts per final window and item'$q$,
        s, t);

    -- The top-k lists the dashboards read, and the speed lists the batch replaced.
    EXECUTE format($q$
        CREATE TABLE %1$s.top_lists (
            granularity  text NOT NULL,
            window_start timestamptz NOT NULL,
            window_end   timestamptz NOT NULL,
            rank         integer NOT NULL,
            item         %2$s NOT NULL,
            count        bigint NOT NULL,
            error        bigint NOT NULL,
            source       text NOT NULL CHECK (source IN ('batch', 'speed')),
            PRIMARY KEY (granularity, window_start, rank));
        COMMENT ON TABLE %1$s.top_lists IS 'the top-k list of each window: batch when final, else speed';
        CREATE TABLE %1$s.superseded_speed_lists (
            granularity   text NOT NULL,
            window_start  timestamptz NOT NULL,
            window_end    timestamptz NOT NULL,
            rank          integer NOT NULL,
            item          %2$s NOT NULL,
            count         bigint NOT NULL,
            error         bigint NOT NULL,
            superseded_at timestamptz NOT NULL,
            PRIMARY KEY (granularity, window_start, rank));
        COMMENT ON TABLE %1$s.superseded_speed_lists IS 'the speed top-k lists the batch replaced (see topk.accuracy)';
        CREATE VIEW %1$s.%3$I AS
            SELECT granularity, window_start, window_end, rank, item, count, error, source
            FROM %1$s.top_lists;
        COMMENT ON VIEW %1$s.%3$I IS 'top-k per window: exact (source batch) where the batch has run, else the speed estimate'$q$,
        s, t, 'top_' || p.k);

    -- Distinct counts.
    EXECUTE format($q$
        CREATE TABLE %1$s.distinct_sketches (
            granularity    text NOT NULL,
            window_start   timestamptz NOT NULL,
            window_end     timestamptz NOT NULL,
            sketch         @extschema@.hll NOT NULL,
            distinct_count bigint NOT NULL,
            PRIMARY KEY (granularity, window_start));
        CREATE VIEW %1$s.distinct_counts AS
            SELECT granularity, window_start, window_end, distinct_count
            FROM %1$s.distinct_sketches;
        COMMENT ON VIEW %1$s.distinct_counts IS %2$L$q$,
        s, CASE WHEN p.distinct_column IS NULL THEN 'distinct counts: no distinct column configured'
                ELSE format('distinct %s per window (HyperLogLog)', p.distinct_column) END);

    -- Typed entry points: items come back in the source column's type.
    EXECUTE format($q$
        CREATE FUNCTION %1$s.topk_range("from" timestamptz, "to" timestamptz, n integer DEFAULT 10)
            RETURNS TABLE (rank integer, item %2$s, count bigint, error bigint, exact boolean)
            LANGUAGE sql STABLE AS %3$L;
        COMMENT ON FUNCTION %1$s.topk_range(timestamptz, timestamptz, integer) IS
            'top n of an arbitrary range, from the coarsest stored windows that tile it';
        CREATE FUNCTION %1$s.trending(granularity text, n integer DEFAULT 10)
            RETURNS TABLE (rank integer, item %2$s, previous_count bigint, current_count bigint, growth numeric)
            LANGUAGE sql STABLE AS %4$L;
        COMMENT ON FUNCTION %1$s.trending(text, integer) IS
            'the items whose count grew fastest from the previous window to the current one'$q$,
        s, t,
        format('SELECT * FROM topk.range_top(%L, $1, $2, $3, NULL::%s)', p.name, t),
        format('SELECT * FROM topk.trending(%L, $1, $2, NULL::%s)', p.name, t));

    -- Capture: a statement-level trigger with a transition table. SECURITY DEFINER so
    -- that writers need no rights on the pipeline's tables; fully qualified SQL.
    EXECUTE format($q$
        CREATE FUNCTION %1$s.capture() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS %2$L;
        REVOKE ALL ON FUNCTION %1$s.capture() FROM PUBLIC;
        CREATE TRIGGER %3$I AFTER INSERT ON %4$s
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION %1$s.capture()$q$,
        s,
        format($body$
DECLARE
    lowest_weight bigint;
BEGIN%s;
    IF lowest_weight < 0 THEN
        RAISE EXCEPTION 'topk: negative weight %% in column %%', lowest_weight, %L
            USING HINT = 'Weights count units (items, cents): 0 or more.';
    END IF;
    RETURN NULL;
END$body$, topk._capture_sql(p, 'new_rows', ' INTO lowest_weight'), p.weight_column),
        p.trigger_name, p.source);
END $$;

CREATE FUNCTION topk.create_pipeline(
    name            text,
    source          regclass,
    item_column     text,
    time_column     text,
    weight_column   text DEFAULT NULL,
    k               integer DEFAULT 1000,
    mode            text DEFAULT 'lambda',
    distinct_column text DEFAULT NULL,
    time_zone       text DEFAULT 'UTC',
    backfill        boolean DEFAULT false,
    capacity        integer DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines;
    rel record;
    col_type regtype;
    lowest bigint;
BEGIN
    -- The name becomes a schema and part of the trigger's name.
    IF create_pipeline.name IS NULL OR create_pipeline.name = '' OR octet_length(create_pipeline.name) > 50 THEN
        RAISE EXCEPTION 'topk: a pipeline name must have 1 to 50 bytes'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM topk.pipelines WHERE pipelines.name = create_pipeline.name)
       OR to_regnamespace(quote_ident(create_pipeline.name)) IS NOT NULL THEN
        RAISE EXCEPTION 'topk: a pipeline or schema named % already exists', quote_ident(create_pipeline.name)
            USING ERRCODE = 'duplicate_schema';
    END IF;

    -- The source: a table the caller owns.
    SELECT c.relkind, pg_has_role(c.relowner, 'MEMBER') AS owned INTO rel
    FROM pg_class c WHERE c.oid = create_pipeline.source;
    IF rel.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'topk: % is not a table', create_pipeline.source USING ERRCODE = 'wrong_object_type';
    END IF;
    IF NOT rel.owned THEN
        RAISE EXCEPTION 'topk: must be the owner of table % to create a pipeline on it', create_pipeline.source
            USING ERRCODE = 'insufficient_privilege';
    END IF;

    p.name := create_pipeline.name;
    p.source := create_pipeline.source;
    p.item_column := item_column;
    p.time_column := time_column;
    p.weight_column := weight_column;
    p.distinct_column := distinct_column;
    p.k := k;
    p.mode := mode;
    p.time_zone := time_zone;
    p.trigger_name := 'topk_capture_' || create_pipeline.name;
    p.owner := current_user::regrole;
    p.created_at := now();
    p.allowed_lateness := '5 minutes';
    p.keep_job_log := '30 days';

    IF p.mode IS NULL OR p.mode NOT IN ('lambda', 'kappa') THEN
        RAISE EXCEPTION 'topk: mode must be ''lambda'' or ''kappa'', not %', quote_nullable(p.mode)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p.k IS NULL OR p.k NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION 'topk: k must be from 1 to 100000, not %', quote_nullable(p.k)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    p.capacity := coalesce(create_pipeline.capacity, least(greatest(12000, 12 * p.k), 8388608));
    IF p.capacity < p.k THEN
        RAISE EXCEPTION 'topk: the sketch capacity (%) must be at least k (%)', p.capacity, p.k
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    BEGIN
        PERFORM now() AT TIME ZONE p.time_zone;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'topk: % is not a time zone', quote_nullable(p.time_zone)
            USING ERRCODE = 'invalid_parameter_value';
    END;
    IF p.time_zone IS NULL THEN
        RAISE EXCEPTION 'topk: time_zone must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The columns.
    SELECT format_type(a.atttypid, a.atttypmod) INTO p.item_type
    FROM pg_attribute a
    WHERE a.attrelid = p.source AND a.attname = p.item_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF p.item_type IS NULL THEN
        RAISE EXCEPTION 'topk: table % has no column %', p.source, quote_nullable(p.item_column)
            USING ERRCODE = 'undefined_column';
    END IF;
    SELECT a.atttypid INTO col_type FROM pg_attribute a
    WHERE a.attrelid = p.source AND a.attname = p.time_column AND a.attnum > 0 AND NOT a.attisdropped;
    p.time_type := CASE col_type WHEN 'timestamptz'::regtype THEN 'timestamptz'
                                 WHEN 'timestamp'::regtype THEN 'timestamp'
                                 WHEN 'date'::regtype THEN 'date' END;
    IF col_type IS NULL THEN
        RAISE EXCEPTION 'topk: table % has no column %', p.source, quote_nullable(p.time_column)
            USING ERRCODE = 'undefined_column';
    ELSIF p.time_type IS NULL THEN
        RAISE EXCEPTION 'topk: the time column % is of type %; it must be timestamptz, timestamp or date',
            quote_ident(p.time_column), col_type USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF p.weight_column IS NOT NULL THEN
        col_type := NULL;
        SELECT a.atttypid INTO col_type FROM pg_attribute a
        WHERE a.attrelid = p.source AND a.attname = p.weight_column AND a.attnum > 0 AND NOT a.attisdropped;
        IF col_type IS NULL THEN
            RAISE EXCEPTION 'topk: table % has no column %', p.source, quote_literal(p.weight_column)
                USING ERRCODE = 'undefined_column';
        ELSIF col_type NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'numeric'::regtype) THEN
            RAISE EXCEPTION 'topk: the weight column % is of type %; it must be an integer or numeric',
                quote_ident(p.weight_column), col_type USING ERRCODE = 'datatype_mismatch',
                HINT = 'Weights are summed as bigint: use whole units, such as cents.';
        END IF;
    END IF;
    IF p.distinct_column IS NOT NULL AND NOT EXISTS (
        SELECT FROM pg_attribute a
        WHERE a.attrelid = p.source AND a.attname = p.distinct_column AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'topk: table % has no column %', p.source, quote_literal(p.distinct_column)
            USING ERRCODE = 'undefined_column';
    END IF;

    INSERT INTO topk.pipelines SELECT p.*;
    INSERT INTO topk.progress (pipeline, granularity)
    SELECT p.name, g.granularity FROM topk.granularities g;
    PERFORM topk._create_objects(p);

    -- Existing rows, on request. CREATE TRIGGER waited for the writers in flight and
    -- holds off new ones until this transaction commits, so the rows this statement sees
    -- are exactly the rows the trigger will never see.
    IF backfill THEN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION 'topk: backfill needs the read committed isolation level';
        END IF;
        EXECUTE topk._capture_sql(p, p.source::text) INTO lowest;
        IF lowest < 0 THEN
            RAISE EXCEPTION 'topk: % has negative weights in %', p.source, quote_ident(p.weight_column);
        END IF;
    END IF;
END $$;
COMMENT ON FUNCTION topk.create_pipeline(text, regclass, text, text, text, integer, text, text, text, boolean, integer) IS
    'creates a pipeline: a schema with its tables, views and functions, and the capture of new events';

CREATE FUNCTION topk.drop_pipeline(name text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(drop_pipeline.name);
BEGIN
    PERFORM topk._lock(p.name);
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        PERFORM topk.unschedule(p.name);
    END IF;
    IF EXISTS (SELECT FROM pg_class WHERE oid = p.source) THEN
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', p.trigger_name, p.source);
    END IF;
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', p.name);
    DELETE FROM topk.job_log WHERE job_log.pipeline = p.name;
    DELETE FROM topk.progress WHERE progress.pipeline = p.name;
    DELETE FROM topk.pipelines WHERE pipelines.name = p.name;
END $$;
COMMENT ON FUNCTION topk.drop_pipeline(text) IS
    'removes a pipeline: its capture trigger, its schema, its catalog rows, log and jobs';

---------------------------------------------------------------------------------------
-- The speed path
---------------------------------------------------------------------------------------

-- Folds speed_delta into the window sketches of every granularity (skipping, in lambda
-- mode, the windows the batch has finished), then refreshes those windows' lists; and
-- distinct_delta into the distinct-count sketches.
CREATE FUNCTION topk._fold_speed(pipeline_name text) RETURNS topk.task_result
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline_name);
    r topk.task_result;
    granularities text[];
    starts timestamptz[];
    distinct_read bigint := 0;
    distinct_written bigint := 0;
BEGIN
    EXECUTE format($q$
        WITH taken AS (
            DELETE FROM %1$I.speed_delta RETURNING hour, item, events, count
        ), per_window AS (
            SELECT g.granularity, topk.window_start(g.granularity, t.hour, %2$L) AS window_start,
                   t.item, sum(t.events) AS events, sum(t.count) AS count
            FROM taken t CROSS JOIN topk.granularities g
            GROUP BY 1, 2, 3
        ), sketches AS (
            SELECT w.granularity, w.window_start, topk.window_end(w.granularity, w.window_start, %2$L) AS window_end,
                   @extschema@.topk_agg(w.item, w.count::bigint, %3$s) AS sketch,
                   sum(w.events) AS events, sum(w.count) AS count
            FROM per_window w
            JOIN topk.progress pr ON pr.pipeline = %4$L AND pr.granularity = w.granularity
            WHERE NOT (%5$L AND topk.window_end(w.granularity, w.window_start, %2$L) <= coalesce(pr.done_until, '-infinity'))
              AND NOT (topk.window_end(w.granularity, w.window_start, %2$L) <= coalesce(pr.purged_until, '-infinity'))
            GROUP BY 1, 2
        ), written AS (
            INSERT INTO %1$I.speed_table AS s (granularity, window_start, window_end, sketch, events, count, updated_at)
            SELECT granularity, window_start, window_end, sketch, events, count, now() FROM sketches
            ON CONFLICT (granularity, window_start) DO UPDATE
                SET sketch = @extschema@.topk_merge(s.sketch, excluded.sketch),
                    events = s.events + excluded.events,
                    count = s.count + excluded.count,
                    updated_at = excluded.updated_at
            RETURNING granularity, window_start
        )
        SELECT (SELECT count(*) FROM taken), (SELECT coalesce(sum(events), 0) FROM taken),
               array_agg(granularity ORDER BY granularity, window_start),
               array_agg(window_start ORDER BY granularity, window_start)
        FROM written$q$,
        p.name, p.time_zone, p.capacity, p.name, p.mode = 'lambda')
    INTO r.rows_read, r.events, granularities, starts;
    r.rows_written := coalesce(cardinality(granularities), 0);
    r.windows := r.rows_written;
    IF r.rows_written > 0 THEN
        PERFORM topk._speed_lists(p, granularities, starts);
    END IF;

    IF p.distinct_column IS NOT NULL THEN
        EXECUTE format($q$
            WITH taken AS (
                DELETE FROM %1$I.distinct_delta RETURNING hour, sketch
            ), per_window AS (
                SELECT g.granularity, topk.window_start(g.granularity, t.hour, %2$L) AS window_start,
                       @extschema@.hll_merge_agg(t.sketch) AS sketch
                FROM taken t CROSS JOIN topk.granularities g
                GROUP BY 1, 2
            ), written AS (
                INSERT INTO %1$I.distinct_sketches AS d (granularity, window_start, window_end, sketch, distinct_count)
                SELECT w.granularity, w.window_start, topk.window_end(w.granularity, w.window_start, %2$L),
                       w.sketch, @extschema@.hll_count(w.sketch)
                FROM per_window w
                JOIN topk.progress pr ON pr.pipeline = %3$L AND pr.granularity = w.granularity
                WHERE NOT (topk.window_end(w.granularity, w.window_start, %2$L) <= coalesce(pr.purged_until, '-infinity'))
                ON CONFLICT (granularity, window_start) DO UPDATE
                    SET sketch = @extschema@.hll_merge(d.sketch, excluded.sketch),
                        distinct_count = @extschema@.hll_count(@extschema@.hll_merge(d.sketch, excluded.sketch))
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM written)$q$,
            p.name, p.time_zone, p.name)
        INTO distinct_read, distinct_written;
    END IF;
    r.rows_read := r.rows_read + distinct_read;
    r.rows_written := r.rows_written + distinct_written;
    RETURN r;
END $$;

---------------------------------------------------------------------------------------
-- The batch path
---------------------------------------------------------------------------------------

-- Sets the starting point of the watermarks at a pipeline's first batch run: the
-- earliest captured hour (or the current one). Earlier windows hold no events yet; any
-- that arrive for them later are late events.
CREATE FUNCTION topk._start_progress(p topk.pipelines) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    origin timestamptz;
BEGIN
    IF (SELECT done_until FROM topk.progress WHERE pipeline = p.name AND granularity = 'hour') IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE format(
        'SELECT least((SELECT min(hour) FROM %1$I.batch_delta), (SELECT min(hour) FROM %1$I.speed_delta),
                      (SELECT min(window_start) FROM %1$I.speed_table WHERE granularity = ''hour''))',
        p.name) INTO origin;
    origin := least(origin, topk.window_start('hour', topk._clock(p), p.time_zone));
    UPDATE topk.progress
    SET done_until = topk.window_start(granularity, origin, p.time_zone)
    WHERE pipeline = p.name;
END $$;

-- Late events: batch_delta rows of hours already final are added to the hour row and to
-- every final window above it; those windows' lists are regenerated.
CREATE FUNCTION topk._fold_late(pipeline_name text) RETURNS topk.task_result
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline_name);
    r topk.task_result;
    granularities text[];
    starts timestamptz[];
BEGIN
    EXECUTE format($q$
        WITH taken AS (
            DELETE FROM %1$I.batch_delta
            WHERE hour < (SELECT done_until FROM topk.progress WHERE pipeline = %2$L AND granularity = 'hour')
            RETURNING hour, item, events, count
        ), per_window AS (
            SELECT g.granularity, topk.window_start(g.granularity, t.hour, %3$L) AS window_start,
                   t.item, sum(t.events) AS events, sum(t.count) AS count
            FROM taken t CROSS JOIN topk.granularities g
            GROUP BY 1, 2, 3
        ), written AS (
            INSERT INTO %1$I.batch_table AS b (granularity, window_start, window_end, item, count, events)
            SELECT w.granularity, w.window_start, topk.window_end(w.granularity, w.window_start, %3$L),
                   w.item, w.count, w.events
            FROM per_window w
            JOIN topk.progress pr ON pr.pipeline = %2$L AND pr.granularity = w.granularity
            WHERE topk.window_end(w.granularity, w.window_start, %3$L) <= pr.done_until
              AND NOT (topk.window_end(w.granularity, w.window_start, %3$L) <= coalesce(pr.purged_until, '-infinity'))
            ON CONFLICT (granularity, window_start, item) DO UPDATE
                SET count = b.count + excluded.count, events = b.events + excluded.events
            RETURNING granularity, window_start
        ), windows AS (
            SELECT DISTINCT granularity, window_start FROM written
        )
        SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM written),
               (SELECT coalesce(sum(events), 0) FROM taken),
               (SELECT array_agg(granularity ORDER BY granularity, window_start) FROM windows),
               (SELECT array_agg(window_start ORDER BY granularity, window_start) FROM windows)$q$,
        p.name, p.name, p.time_zone)
    INTO r.rows_read, r.rows_written, r.events, granularities, starts;
    r.windows := coalesce(cardinality(granularities), 0);
    IF granularities IS NOT NULL THEN
        PERFORM topk._batch_lists(p, granularities, starts);
    END IF;
    RETURN r;
END $$;

-- Why a window of a granularity cannot be rolled up now, or NULL if it can: it must be
-- the next one, due by the clock, and its dependencies final.
CREATE FUNCTION topk._not_ready(p topk.pipelines, granularity text, start timestamptz) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g record;
    pr topk.progress;
    dep topk.progress;
    finish timestamptz := topk.window_end(granularity, start, p.time_zone);
BEGIN
    SELECT * INTO g FROM topk.granularities WHERE granularities.granularity = _not_ready.granularity;
    IF NOT FOUND THEN
        RETURN format('%s is not a granularity (hour, day, week, month or year)', quote_literal(granularity));
    END IF;
    IF start <> topk.window_start(granularity, start, p.time_zone) THEN
        RETURN format('%s is not the start of a %s in time zone %s', start, granularity, p.time_zone);
    END IF;
    SELECT * INTO pr FROM topk.progress WHERE pipeline = p.name AND progress.granularity = _not_ready.granularity;
    IF pr.done_until IS NULL THEN
        RETURN 'the pipeline has not started its batch path yet (run topk.run_batch)';
    ELSIF start < pr.done_until THEN
        RETURN format('the %s starting %s is already final', granularity, start);
    ELSIF start > pr.done_until THEN
        RETURN format('the %ss before it are not final yet: the next %s to roll up starts %s',
                      granularity, granularity, pr.done_until);
    ELSIF finish + p.allowed_lateness > topk._clock(p) THEN
        RETURN format('the %s starting %s is not due until %s (its end plus the allowed lateness %s)',
                      granularity, start, finish + p.allowed_lateness, p.allowed_lateness);
    END IF;
    IF g.rolls_up IS NOT NULL THEN
        SELECT * INTO dep FROM topk.progress WHERE pipeline = p.name AND progress.granularity = g.rolls_up;
        IF dep.done_until IS NULL OR finish > dep.done_until THEN
            RETURN format('the %s starting %s needs its %ss, which are final only until %s',
                          granularity, start, g.rolls_up, dep.done_until);
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- Rolls up one window (and, when it has nothing to roll up, the following windows that
-- have nothing either and are ready too), in the caller's transaction. Returns NULL if
-- another run already did it.
CREATE FUNCTION topk._rollup(pipeline_name text, granularity text, start timestamptz) RETURNS topk.task_result
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline_name);
    g record;
    r topk.task_result;
    why text;
    finish timestamptz := topk.window_end(granularity, start, p.time_zone);
    ready_until timestamptz;
    next_input timestamptz;
BEGIN
    IF (SELECT done_until FROM topk.progress pr
        WHERE pr.pipeline = p.name AND pr.granularity = _rollup.granularity) > start THEN
        RETURN NULL;   -- finished by an overlapping run
    END IF;
    why := topk._not_ready(p, granularity, start);
    IF why IS NOT NULL THEN
        RAISE EXCEPTION 'topk: cannot roll up: %', why USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT * INTO g FROM topk.granularities WHERE granularities.granularity = _rollup.granularity;
    r.window_start := start;
    r.rows_read := 0;
    r.rows_written := 0;

    IF p.mode = 'lambda' THEN
        IF granularity = 'hour' THEN
            EXECUTE format($q$
                WITH taken AS (
                    DELETE FROM %1$I.batch_delta WHERE hour = $1 RETURNING item, events, count
                ), written AS (
                    INSERT INTO %1$I.batch_table (granularity, window_start, window_end, item, count, events)
                    SELECT 'hour', $1, $2, item, sum(count), sum(events) FROM taken GROUP BY item
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM written)$q$, p.name)
            INTO r.rows_read, r.rows_written USING start, finish;
        ELSE
            EXECUTE format($q$
                WITH parts AS (
                    SELECT item, count, events FROM %1$I.batch_table
                    WHERE granularity = $3 AND window_start >= $1 AND window_start < $2
                ), written AS (
                    INSERT INTO %1$I.batch_table (granularity, window_start, window_end, item, count, events)
                    SELECT $4, $1, $2, item, sum(count), sum(events) FROM parts GROUP BY item
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM parts), (SELECT count(*) FROM written)$q$, p.name)
            INTO r.rows_read, r.rows_written USING start, finish, g.rolls_up, granularity;
        END IF;
    END IF;

    -- Nothing to roll up (or kappa mode): also finalise the following windows that are
    -- ready and have no input either, as one task.
    IF r.rows_read = 0 THEN
        ready_until := least(topk._clock(p) - p.allowed_lateness,
                             (SELECT done_until FROM topk.progress pr
                              WHERE pr.pipeline = p.name AND pr.granularity = g.rolls_up));
        ready_until := topk.window_start(granularity, ready_until, p.time_zone);
        IF p.mode = 'lambda' THEN
            IF granularity = 'hour' THEN
                EXECUTE format('SELECT min(hour) FROM %I.batch_delta WHERE hour >= $1', p.name)
                INTO next_input USING finish;
            ELSE
                EXECUTE format('SELECT min(window_start) FROM %I.batch_table WHERE granularity = $2 AND window_start >= $1',
                               p.name)
                INTO next_input USING finish, g.rolls_up;
                next_input := topk.window_start(granularity, next_input, p.time_zone);
            END IF;
            ready_until := least(ready_until, next_input);
        END IF;
        finish := greatest(finish, ready_until);
    END IF;
    r.window_end := finish;

    IF p.mode = 'lambda' THEN
        PERFORM topk._supersede_speed(p, granularity, start, finish);
        IF r.rows_written > 0 THEN
            PERFORM topk._batch_lists(p, ARRAY[granularity], ARRAY[start]);
        END IF;
    END IF;
    UPDATE topk.progress pr
    SET done_until = finish,
        last_done = topk.window_start(_rollup.granularity, finish - interval '1 microsecond', p.time_zone)
    WHERE pr.pipeline = p.name AND pr.granularity = _rollup.granularity;
    RETURN r;
END $$;

-- Retention, once the windows above the rows are final.
CREATE FUNCTION topk._retention(pipeline_name text) RETURNS topk.task_result
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline_name);
    r topk.task_result;
    now_ timestamptz := topk._clock(p);
    bound timestamptz;
    n bigint;
    tbl text;
BEGIN
    r.rows_read := 0;
    r.rows_written := 0;
    -- Raw events: once their hour is final (they are in the deltas since their insert).
    IF p.keep_raw_events IS NOT NULL THEN
        bound := least(now_ - p.keep_raw_events,
                       (SELECT done_until FROM topk.progress WHERE pipeline = p.name AND granularity = 'hour'));
        IF bound IS NOT NULL THEN
            EXECUTE format('DELETE FROM %s WHERE %I < %s', p.source, p.time_column, topk._time_literal(p, bound));
            GET DIAGNOSTICS n = ROW_COUNT;
            r.rows_written := r.rows_written + n;
        END IF;
    END IF;
    -- Hourly rows: once their day is final.
    IF p.keep_hours IS NOT NULL THEN
        bound := least(topk.window_start('hour', now_ - p.keep_hours, p.time_zone),
                       (SELECT done_until FROM topk.progress WHERE pipeline = p.name AND granularity = 'day'));
        IF bound IS NOT NULL THEN
            FOREACH tbl IN ARRAY ARRAY['batch_table', 'speed_table', 'top_lists', 'superseded_speed_lists', 'distinct_sketches'] LOOP
                EXECUTE format('DELETE FROM %I.%I WHERE granularity = ''hour'' AND window_end <= $1', p.name, tbl)
                USING bound;
                GET DIAGNOSTICS n = ROW_COUNT;
                r.rows_written := r.rows_written + n;
            END LOOP;
            UPDATE topk.progress SET purged_until = greatest(purged_until, bound)
            WHERE pipeline = p.name AND granularity = 'hour';
        END IF;
    END IF;
    -- Speed sketches (and superseded speed lists) of final windows.
    IF p.keep_speed IS NOT NULL THEN
        EXECUTE format($q$
            DELETE FROM %1$I.speed_table s USING topk.progress pr
            WHERE pr.pipeline = %2$L AND pr.granularity = s.granularity
              AND s.window_end <= pr.done_until AND s.window_end <= $1$q$, p.name, p.name)
        USING now_ - p.keep_speed;
        GET DIAGNOSTICS n = ROW_COUNT;
        r.rows_written := r.rows_written + n;
        EXECUTE format('DELETE FROM %I.superseded_speed_lists WHERE window_end <= $1', p.name)
        USING now_ - p.keep_speed;
        GET DIAGNOSTICS n = ROW_COUNT;
        r.rows_written := r.rows_written + n;
    END IF;
    -- The job log (by the real clock).
    IF p.keep_job_log IS NOT NULL THEN
        DELETE FROM topk.job_log WHERE pipeline = p.name AND started < now() - p.keep_job_log;
        GET DIAGNOSTICS n = ROW_COUNT;
        r.rows_written := r.rows_written + n;
    END IF;
    RETURN r;
END $$;

---------------------------------------------------------------------------------------
-- Procedures: each task is one transaction, logged in topk.job_log
---------------------------------------------------------------------------------------

-- What a session running a task shows other sessions, as its application_name (in
-- pg_stat_activity, read by topk.running): 'topk: <task> [<window start, UTC>] <pipeline>',
-- e.g. 'topk: day 2024-01-01 00:00+00 shop'. PostgreSQL keeps 63 bytes of it and turns
-- other than ASCII into '?': topk.running takes the pipeline from its lock instead.
CREATE FUNCTION topk._task_label(pipeline_name text, task text, start timestamptz) RETURNS text
LANGUAGE sql STABLE
RETURN 'topk: ' || task || coalesce(' ' || to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || '+00', '')
       || ' ' || pipeline_name;

-- A window as a person names it, in the pipeline's time zone: hour 2024-01-01 13:00,
-- day 2024-01-01, week 2024-01-01 (its Monday), month 2024-01, year 2024.
CREATE FUNCTION topk._window_label(granularity text, start timestamptz, time_zone text) RETURNS text
LANGUAGE sql STABLE
RETURN to_char(start AT TIME ZONE time_zone, CASE granularity WHEN 'hour' THEN 'YYYY-MM-DD HH24:MI'
                                                              WHEN 'month' THEN 'YYYY-MM'
                                                              WHEN 'year' THEN 'YYYY'
                                                              ELSE 'YYYY-MM-DD' END);

-- The progress NOTICE of a finished task, or NULL when there is nothing to say (late
-- events and retention that found nothing to do, a window another run finished):
--   topk: shop: speed: 6480 events folded into 43 windows (12 ms)
--   topk: shop: day 2024-01-01 rolled up (936 rows read, 39 written, 3 ms)
--   topk: shop: hour 2024-01-03 00:00 to 2024-01-03 05:00 finalised, no events (6 windows, 1 ms)
CREATE FUNCTION topk._task_notice(p topk.pipelines, task text, r topk.task_result, took interval) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    ms bigint := round(extract(epoch FROM took) * 1000);
    t text := CASE WHEN ms < 10000 THEN ms || ' ms' ELSE round(ms / 1000.0, 1) || ' s' END;
    who text := 'topk: ' || quote_ident(p.name) || ': ';
    last_start timestamptz;
    n bigint;
BEGIN
    IF r IS NULL THEN
        RETURN NULL;
    END IF;
    CASE task
    WHEN 'speed' THEN
        IF coalesce(r.events, 0) = 0 THEN
            RETURN who || 'speed: no new events';
        END IF;
        RETURN format('%sspeed: %s events folded into %s windows (%s)', who, r.events, r.windows, t);
    WHEN 'late' THEN
        IF coalesce(r.rows_read, 0) = 0 THEN
            RETURN NULL;
        END IF;
        RETURN format('%slate events: %s added to %s final windows (%s)', who, r.events, r.windows, t);
    WHEN 'retention' THEN
        IF coalesce(r.rows_written, 0) = 0 THEN
            RETURN NULL;
        END IF;
        RETURN format('%sretention: %s rows deleted (%s)', who, r.rows_written, t);
    ELSE
        IF r.rows_read > 0 THEN
            RETURN format('%s%s %s rolled up (%s rows read, %s written, %s)', who, task,
                          topk._window_label(task, r.window_start, p.time_zone), r.rows_read, r.rows_written, t);
        END IF;
        last_start := topk.window_start(task, r.window_end - interval '1 microsecond', p.time_zone);
        IF last_start <= r.window_start THEN
            RETURN format('%s%s %s finalised%s (%s)', who, task, topk._window_label(task, r.window_start, p.time_zone),
                          CASE WHEN p.mode = 'lambda' THEN ', no events' ELSE '' END, t);
        END IF;
        IF task = 'hour' THEN
            n := round(extract(epoch FROM r.window_end - r.window_start) / 3600);
        ELSE
            SELECT count(*) INTO n
            FROM generate_series(r.window_start AT TIME ZONE p.time_zone, last_start AT TIME ZONE p.time_zone,
                                 ('1 ' || task)::interval);
        END IF;
        RETURN format('%s%s %s to %s finalised%s (%s windows, %s)', who, task,
                      topk._window_label(task, r.window_start, p.time_zone),
                      topk._window_label(task, last_start, p.time_zone),
                      CASE WHEN p.mode = 'lambda' THEN ', no events' ELSE '' END, n, t);
    END CASE;
END $$;

-- Runs one task of a pipeline in a transaction of its own: takes the pipeline's lock,
-- does the work, logs it, commits, and says what it did in a NOTICE (progress for the
-- caller; SET client_min_messages = warning silences it). While it runs, the session's
-- application_name names the task (topk.running shows it to other sessions); it is the
-- session's own again when the task's transaction ends. A task that fails is rolled
-- back, logged as failed (that row is committed), and its error raised again: the next
-- run retries it.
CREATE PROCEDURE topk._run_task(pipeline_name text, task text, start timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
    r topk.task_result;
    err text;
    err_state text;
    err_detail text;
    msg text;
    last_failure timestamptz;
BEGIN
    PERFORM set_config('application_name', topk._task_label(pipeline_name, task, start), true);
    BEGIN
        PERFORM topk._lock(pipeline_name);
        r := CASE task
            WHEN 'speed' THEN topk._fold_speed(pipeline_name)
            WHEN 'late' THEN topk._fold_late(pipeline_name)
            WHEN 'retention' THEN topk._retention(pipeline_name)
            ELSE topk._rollup(pipeline_name, task, start) END;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, err_state = RETURNED_SQLSTATE, err_detail = PG_EXCEPTION_DETAIL;
    END;
    -- Late events and retention with nothing to do are logged only to record a recovery
    -- (topk.pipeline_status.failing).
    IF err IS NULL AND task IN ('late', 'retention') THEN
        SELECT max(j.started) INTO last_failure FROM topk.job_log j
        WHERE j.pipeline = pipeline_name AND j.task = _run_task.task AND j.status = 'failed';
    END IF;
    IF err IS NOT NULL
       OR (NOT r IS NULL AND (task NOT IN ('late', 'retention') OR r.rows_read > 0 OR r.rows_written > 0
                              OR (last_failure IS NOT NULL AND NOT topk._recovered(pipeline_name, task, last_failure)))) THEN
        INSERT INTO topk.job_log (pipeline, task, window_start, window_end, rows_read, rows_written,
                                  started, duration, status, error, pid)
        VALUES (pipeline_name, task, coalesce(r.window_start, start), r.window_end, r.rows_read, r.rows_written,
                started, clock_timestamp() - started,
                CASE WHEN err IS NULL THEN 'ok' ELSE 'failed' END, err, pg_backend_pid());
    END IF;
    COMMIT;
    IF err IS NULL THEN
        msg := topk._task_notice(topk._pipeline(pipeline_name), task, r, clock_timestamp() - started);
        IF msg IS NOT NULL THEN
            RAISE NOTICE '%', msg;
        END IF;
    ELSE
        err := format('topk: task %s%s of pipeline %s failed: %s', task,
                      CASE WHEN start IS NULL THEN '' ELSE ' ' || start END, quote_ident(pipeline_name), err);
        IF coalesce(err_detail, '') = '' THEN
            RAISE EXCEPTION USING ERRCODE = err_state, MESSAGE = err,
                HINT = 'The task was rolled back and logged in topk.job_log; the next run retries it.';
        END IF;
        RAISE EXCEPTION USING ERRCODE = err_state, MESSAGE = err, DETAIL = err_detail,
            HINT = 'The task was rolled back and logged in topk.job_log; the next run retries it.';
    END IF;
END $$;

CREATE PROCEDURE topk.run_speed(name text) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM topk._pipeline(name);
    CALL topk._run_task(name, 'speed');
END $$;
COMMENT ON PROCEDURE topk.run_speed(text) IS
    'speed path: folds the events captured since the last run into the window sketches and their top-k lists';

-- Rolls up one window now, if it is the next of its granularity, due, and its
-- dependencies are final (run_batch does this for every window that is).
CREATE PROCEDURE topk.rollup(name text, granularity text, window_start timestamptz) LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
    why text;
BEGIN
    IF p.mode <> 'lambda' THEN
        RAISE EXCEPTION 'topk: pipeline % is in kappa mode: it has no batch rollups', quote_ident(p.name);
    END IF;
    why := topk._not_ready(p, granularity, window_start);
    IF why IS NOT NULL THEN
        RAISE EXCEPTION 'topk: cannot roll up: %', why USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    CALL topk._run_task(p.name, granularity, window_start);
END $$;

CREATE PROCEDURE topk.run_batch(name text) LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
    g record;
    start timestamptz;
    previous timestamptz;
BEGIN
    PERFORM topk._lock(p.name);
    PERFORM topk._start_progress(p);
    COMMIT;
    IF p.mode = 'lambda' THEN
        CALL topk._run_task(p.name, 'late');
    END IF;
    FOR g IN SELECT granularity FROM topk.granularities ORDER BY level LOOP
        previous := NULL;
        LOOP
            p := topk._pipeline(p.name);     -- settings (the clock) may change between windows
            SELECT done_until INTO start FROM topk.progress
            WHERE pipeline = p.name AND granularity = g.granularity;
            EXIT WHEN start IS NOT DISTINCT FROM previous
                   OR topk._not_ready(p, g.granularity, start) IS NOT NULL;
            CALL topk._run_task(p.name, g.granularity, start);
            previous := start;
        END LOOP;
    END LOOP;
    CALL topk._run_task(p.name, 'retention');
END $$;
COMMENT ON PROCEDURE topk.run_batch(text) IS
    'batch path: late events, then every rollup that is due, in dependency order, then retention';

CREATE PROCEDURE topk.run(name text) LANGUAGE plpgsql AS $$
BEGIN
    CALL topk.run_speed(name);
    CALL topk.run_batch(name);
END $$;
COMMENT ON PROCEDURE topk.run(text) IS 'run_speed, then run_batch';

---------------------------------------------------------------------------------------
-- Scheduling with pg_cron
---------------------------------------------------------------------------------------

CREATE FUNCTION topk._require_pg_cron() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'topk: scheduling needs the pg_cron extension, which is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'install postgresql-15-cron, add pg_cron to shared_preload_libraries, CREATE EXTENSION pg_cron';
    END IF;
END $$;

-- A pg_cron schedule for "every <interval>".
CREATE FUNCTION topk._cron_schedule(every interval) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s bigint := CASE WHEN extract(epoch FROM every) = trunc(extract(epoch FROM every))
                     THEN extract(epoch FROM every) END;
BEGIN
    IF s >= 1 AND s < 60 THEN
        RETURN format('%s seconds', s);
    ELSIF s = 60 THEN
        RETURN '* * * * *';
    ELSIF s < 3600 AND s % 60 = 0 AND 60 % (s / 60) = 0 THEN
        RETURN format('*/%s * * * *', s / 60);
    ELSIF s = 3600 THEN
        RETURN '0 * * * *';
    ELSIF s < 86400 AND s % 3600 = 0 AND 24 % (s / 3600) = 0 THEN
        RETURN format('0 */%s * * *', s / 3600);
    ELSIF s = 86400 THEN
        RETURN '0 0 * * *';
    END IF;
    RAISE EXCEPTION 'topk: pg_cron cannot run a job every %', every
        USING HINT = 'Use 1 to 59 seconds, a divisor of an hour in minutes, a divisor of a day in hours, or 1 day.';
END $$;

CREATE FUNCTION topk.schedule(name text, speed_interval interval DEFAULT '1 minute',
                              batch_interval interval DEFAULT '5 minutes')
RETURNS TABLE (job text, jobid bigint, schedule text) LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
    j record;
BEGIN
    PERFORM topk._require_pg_cron();
    PERFORM topk.unschedule(p.name);
    FOR j IN SELECT * FROM (VALUES
            (format('topk %s speed', p.name), topk._cron_schedule(speed_interval), format('CALL topk.run_speed(%L)', p.name)),
            (format('topk %s batch', p.name), topk._cron_schedule(batch_interval), format('CALL topk.run_batch(%L)', p.name))
        ) v(job, schedule, command)
    LOOP
        job := j.job;
        schedule := j.schedule;
        EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, current_database())'
            INTO jobid USING j.job, j.schedule, j.command;
        RETURN NEXT;
    END LOOP;
END $$;
COMMENT ON FUNCTION topk.schedule(text, interval, interval) IS
    'pg_cron jobs: run_speed every speed_interval, run_batch every batch_interval';

CREATE FUNCTION topk.unschedule(name text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
    n integer;
BEGIN
    PERFORM topk._require_pg_cron();
    EXECUTE 'SELECT count(cron.unschedule(jobid))::int FROM cron.job WHERE jobname IN ($1, $2)'
        INTO n USING format('topk %s speed', p.name), format('topk %s batch', p.name);
    RETURN n;
END $$;
COMMENT ON FUNCTION topk.unschedule(text) IS 'removes the pipeline''s pg_cron jobs; returns how many';

---------------------------------------------------------------------------------------
-- Monitoring
---------------------------------------------------------------------------------------

CREATE FUNCTION topk._status() RETURNS TABLE (
    pipeline          text,
    mode              text,
    lag               interval,
    lag_seconds       double precision,
    pending_events    bigint,
    last_hour         timestamptz,
    last_day          timestamptz,
    last_week         timestamptz,
    last_month        timestamptz,
    last_year         timestamptz,
    failures_last_day bigint,
    clock             timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines;
BEGIN
    FOR p IN SELECT * FROM topk.pipelines ORDER BY name LOOP
        pipeline := p.name;
        mode := p.mode;
        clock := p.clock;
        EXECUTE format('SELECT coalesce(now() - min(captured_at), interval ''0''), coalesce(sum(events), 0)
                        FROM %I.speed_delta', p.name)
            INTO lag, pending_events;
        lag_seconds := extract(epoch FROM lag);
        SELECT max(last_done) FILTER (WHERE pr.granularity = 'hour'),
               max(last_done) FILTER (WHERE pr.granularity = 'day'),
               max(last_done) FILTER (WHERE pr.granularity = 'week'),
               max(last_done) FILTER (WHERE pr.granularity = 'month'),
               max(last_done) FILTER (WHERE pr.granularity = 'year')
        INTO last_hour, last_day, last_week, last_month, last_year
        FROM topk.progress pr WHERE pr.pipeline = p.name;
        SELECT count(*) INTO failures_last_day FROM topk.job_log l
        WHERE l.pipeline = p.name AND l.status = 'failed' AND l.started > now() - interval '1 day';
        RETURN NEXT;
    END LOOP;
END $$;

-- Whether a task of a pipeline has succeeded since a failure: a later 'ok' row of the
-- same task in the job log (rollups advance in order, so a later ok hour means the failed
-- hour was done too; late-event and retention tasks log an ok row after a failure even
-- when they find nothing to do, see topk._run_task).
CREATE FUNCTION topk._recovered(pipeline_name text, task text, failed_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE
RETURN EXISTS (SELECT FROM topk.job_log j
               WHERE j.pipeline = pipeline_name AND j.started > failed_at AND j.task = _recovered.task
                 AND j.status = 'ok');

-- The tasks in progress, for another session to watch: every session of this database
-- that holds or waits for a pipeline's lock (pg_locks: the advisory lock of
-- topk._lock), with the task and window its application_name names (topk._task_label)
-- and, from pg_stat_activity, since when. Nothing here comes from the running
-- transaction's own rows, which no other session can see; tasks_done, rows_read and
-- rows_written sum the tasks this session's current run (its CALL) has committed.
-- pg_locks and application_name are visible to every role; xact_start, query_start and
-- wait_event only for the sessions of roles the viewer is a member of, or with
-- pg_read_all_stats (pg_monitor): otherwise task_started, running_for, run_started and
-- the run's totals are NULL. Rows are those of the pipelines the viewer may see.
CREATE VIEW topk.running WITH (security_invoker = true) AS
SELECT p.name AS pipeline,
       l.pid,
       a.usename,
       CASE WHEN m.label[1] IN (SELECT granularity FROM topk.granularities)
                 OR m.label[1] IN ('speed', 'late', 'retention') THEN m.label[1] END AS task,
       CASE WHEN m.label[1] IN (SELECT granularity FROM topk.granularities) THEN m.label[2]::timestamptz END AS window_start,
       NOT l.granted AS waiting,
       a.wait_event_type || ': ' || a.wait_event AS wait_event,
       a.xact_start AS task_started,
       clock_timestamp() - a.xact_start AS running_for,
       a.query_start AS run_started,
       d.tasks_done,
       d.rows_read,
       d.rows_written
FROM pg_catalog.pg_locks l
JOIN topk.pipelines p ON l.objid = hashtext(p.name)::oid
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
LEFT JOIN LATERAL (
    SELECT regexp_match(a.application_name, '^topk: ([a-z]+)(?: (\d{4}-\d\d-\d\d \d\d:\d\d[+-]\d\d))?') AS label
) m ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS tasks_done, coalesce(sum(j.rows_read), 0)::bigint AS rows_read,
           coalesce(sum(j.rows_written), 0)::bigint AS rows_written
    FROM topk.job_log j
    WHERE j.pipeline = p.name AND j.pid = l.pid AND j.started >= a.query_start
) d ON a.query_start IS NOT NULL
WHERE l.locktype = 'advisory' AND l.classid = hashtext('topk_pg')::oid AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database());
COMMENT ON VIEW topk.running IS
    'the pipeline tasks in progress (or waiting for another run of their pipeline), for another session to watch';
GRANT SELECT ON topk.running TO PUBLIC;

CREATE VIEW topk.pipeline_status WITH (security_invoker = true) AS
SELECT s.*,
       f.started AS last_failure,
       f.task || coalesce(' ' || f.window_start, '') || ': ' || f.error AS last_error,
       EXISTS (SELECT FROM (SELECT DISTINCT ON (j.task) j.task, j.started FROM topk.job_log j
                            WHERE j.pipeline = s.pipeline AND j.status = 'failed'
                            ORDER BY j.task, j.started DESC) last_failed
               WHERE NOT topk._recovered(s.pipeline, last_failed.task, last_failed.started)) AS failing,
       r.task || coalesce(' ' || r.window_start, '') AS running,
       r.running_for
FROM topk._status() s
LEFT JOIN LATERAL (
    SELECT j.started, j.task, j.window_start, j.error FROM topk.job_log j
    WHERE j.pipeline = s.pipeline AND j.status = 'failed'
    ORDER BY j.started DESC LIMIT 1
) f ON true
LEFT JOIN LATERAL (
    SELECT t.task, t.window_start, t.running_for FROM topk.running t
    WHERE t.pipeline = s.pipeline AND NOT t.waiting
    ORDER BY t.task_started LIMIT 1
) r ON true;
-- (lag_seconds: the lag as a number, for monitoring systems and BI tools without intervals)
COMMENT ON VIEW topk.pipeline_status IS
    'per pipeline: lag (age of the oldest event not yet in the speed path), events pending, '
    'the last final window per granularity, failed tasks (in the last day, the last one and '
    'whether its task still fails), the task in progress';
GRANT SELECT ON topk.pipeline_status TO PUBLIC;

-- For a window the batch has finished: how the speed path's top-k (as the dashboard
-- showed it before the batch replaced it) compares with the exact one.
CREATE FUNCTION topk.accuracy(name text, granularity text, window_start timestamptz)
RETURNS TABLE (k integer, exact_items bigint, speed_items bigint, recall numeric,
               max_relative_error numeric, median_relative_error numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
BEGIN
    IF p.mode <> 'lambda' THEN
        RAISE EXCEPTION 'topk: accuracy needs the batch path; pipeline % is in kappa mode', quote_ident(p.name);
    END IF;
    IF NOT EXISTS (SELECT FROM topk.progress pr
                   WHERE pr.pipeline = p.name AND pr.granularity = accuracy.granularity
                     AND topk.window_end(accuracy.granularity, accuracy.window_start, p.time_zone) <= pr.done_until) THEN
        RAISE EXCEPTION 'topk: the batch has not finished the % starting %', accuracy.granularity, accuracy.window_start
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH exact AS (
            SELECT item, count FROM %1$I.top_lists
            WHERE granularity = $1 AND window_start = $2 AND source = 'batch'
        ), speed AS (
            SELECT s.item, s.count, coalesce(b.count, 0) AS exact_count
            FROM %1$I.superseded_speed_lists s
            LEFT JOIN %1$I.batch_table b
              ON b.granularity = s.granularity AND b.window_start = s.window_start AND b.item = s.item
            WHERE s.granularity = $1 AND s.window_start = $2
        ), errors AS (
            SELECT abs(count - exact_count)::numeric / greatest(exact_count, 1) AS e FROM speed
        )
        SELECT %2$s,
               (SELECT count(*) FROM exact),
               (SELECT count(*) FROM speed),
               round((SELECT count(*) FROM exact JOIN speed USING (item))::numeric
                     / nullif((SELECT count(*) FROM exact), 0), 4),
               round((SELECT max(e) FROM errors), 4),
               round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY e) FROM errors)::numeric, 4)$q$,
        p.name, p.k)
    USING accuracy.granularity, accuracy.window_start;
END $$;
COMMENT ON FUNCTION topk.accuracy(text, text, timestamptz) IS
    'recall and relative errors of the speed top-k of a window the batch has finished';

---------------------------------------------------------------------------------------
-- Queries over the stored windows (called by each pipeline's typed functions)
---------------------------------------------------------------------------------------

-- The top n of [from, to) (widened to whole hours): the range is tiled from left to
-- right with the coarsest windows that fit, preferring windows the batch has finished
-- (exact counts); the others come from the speed sketches, merged. exact is true when
-- every tile was final in the batch. For items the merged sketch does not monitor, the
-- speed part is its threshold (an upper bound) and error says so.
CREATE FUNCTION topk.range_top(pipeline text, "from" timestamptz, "to" timestamptz, n integer, type_hint anyelement)
RETURNS TABLE (rank integer, item anyelement, count bigint, error bigint, exact boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline);
    range_start timestamptz := topk.window_start('hour', "from", p.time_zone);
    range_end timestamptz := topk.window_start('hour', "to", p.time_zone);
    pos timestamptz;
    g record;
    finish timestamptz;
    chosen text;
    fallback text;
    exact_g text[] := '{}';
    exact_s timestamptz[] := '{}';
    approx_g text[] := '{}';
    approx_s timestamptz[] := '{}';
    all_exact boolean := true;
BEGIN
    IF range_end < "to" THEN
        range_end := range_end + interval '1 hour';
    END IF;
    IF n IS NULL OR n < 1 OR range_start >= range_end THEN
        RETURN;
    END IF;
    pos := range_start;
    WHILE pos < range_end LOOP
        chosen := NULL;
        fallback := NULL;
        FOR g IN
            SELECT gr.granularity, pr.done_until, pr.purged_until
            FROM topk.granularities gr
            JOIN topk.progress pr ON pr.pipeline = p.name AND pr.granularity = gr.granularity
            ORDER BY gr.level DESC
        LOOP
            CONTINUE WHEN topk.window_start(g.granularity, pos, p.time_zone) <> pos;
            finish := topk.window_end(g.granularity, pos, p.time_zone);
            CONTINUE WHEN finish > range_end;
            fallback := coalesce(fallback, g.granularity);
            IF p.mode = 'lambda' AND finish <= g.done_until AND NOT finish <= coalesce(g.purged_until, '-infinity') THEN
                chosen := g.granularity;
                EXIT;
            END IF;
        END LOOP;
        IF chosen IS NOT NULL THEN
            exact_g := exact_g || chosen;
            exact_s := exact_s || pos;
        ELSE
            chosen := fallback;
            approx_g := approx_g || chosen;
            approx_s := approx_s || pos;
            all_exact := false;
        END IF;
        pos := topk.window_end(chosen, pos, p.time_zone);
    END LOOP;

    RETURN QUERY EXECUTE format($q$
        WITH exact_part AS (
            SELECT b.item, sum(b.count)::bigint AS count
            FROM %1$I.batch_table b
            JOIN unnest($1::text[], $2::timestamptz[]) AS w(granularity, window_start)
              ON b.granularity = w.granularity AND b.window_start = w.window_start
            GROUP BY b.item
        ), merged AS (
            SELECT @extschema@.topk_merge_agg(s.sketch) AS sketch
            FROM %1$I.speed_table s
            JOIN unnest($3::text[], $4::timestamptz[]) AS w(granularity, window_start)
              ON s.granularity = w.granularity AND s.window_start = w.window_start
        ), speed_part AS (
            SELECT i.item, i.count, i.error
            FROM merged CROSS JOIN LATERAL @extschema@.topk_items(merged.sketch, NULL, NULL::%2$s) AS i
            WHERE merged.sketch IS NOT NULL
        ), threshold AS (
            SELECT coalesce(@extschema@.topk_threshold(sketch), 0) AS t FROM merged
        ), combined AS (
            SELECT coalesce(e.item, s.item) AS item,
                   coalesce(e.count, 0) + coalesce(s.count, (SELECT t FROM threshold)) AS count,
                   coalesce(s.error, (SELECT t FROM threshold)) AS error
            FROM exact_part e FULL JOIN speed_part s ON s.item = e.item
        )
        SELECT (row_number() OVER (ORDER BY count DESC, item))::integer, item, count, error, $5
        FROM combined
        ORDER BY count DESC, item
        LIMIT $6$q$, p.name, p.item_type)
    USING exact_g, exact_s, approx_g, approx_s, all_exact, n;
END $$;

-- The items of the current window's list (the latest window of the granularity with a
-- list, not after the clock) whose count grew fastest since the previous window.
-- growth = (current - previous) / max(previous, 1). The previous count is exact where
-- the batch finished the previous window, else taken from its top-k list (0 if absent).
CREATE FUNCTION topk.trending(pipeline text, granularity text, n integer, type_hint anyelement)
RETURNS TABLE (rank integer, item anyelement, previous_count bigint, current_count bigint, growth numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline);
    current_start timestamptz;
    previous_start timestamptz;
    previous_final boolean;
BEGIN
    IF NOT EXISTS (SELECT FROM topk.granularities gr WHERE gr.granularity = trending.granularity) THEN
        RAISE EXCEPTION 'topk: % is not a granularity (hour, day, week, month or year)', quote_nullable(granularity);
    END IF;
    EXECUTE format('SELECT max(window_start) FROM %I.top_lists WHERE granularity = $1 AND window_start <= $2', p.name)
        INTO current_start USING granularity, topk._clock(p);
    IF current_start IS NULL THEN
        RETURN;
    END IF;
    previous_start := topk.window_start(granularity, current_start - interval '1 microsecond', p.time_zone);
    SELECT p.mode = 'lambda' AND topk.window_end(trending.granularity, previous_start, p.time_zone) <= pr.done_until
    INTO previous_final
    FROM topk.progress pr WHERE pr.pipeline = p.name AND pr.granularity = trending.granularity;
    RETURN QUERY EXECUTE format($q$
        WITH now_ AS (
            SELECT item, count FROM %1$I.top_lists WHERE granularity = $1 AND window_start = $2
        ), before AS (
            SELECT c.item,
                   coalesce(CASE WHEN $4 THEN b.count ELSE l.count END, 0) AS count
            FROM now_ c
            LEFT JOIN %1$I.batch_table b ON b.granularity = $1 AND b.window_start = $3 AND b.item = c.item
            LEFT JOIN %1$I.top_lists l ON l.granularity = $1 AND l.window_start = $3 AND l.item = c.item
        ), grown AS (
            SELECT c.item, b.count AS previous_count, c.count AS current_count,
                   round((c.count - b.count)::numeric / greatest(b.count, 1), 4) AS growth
            FROM now_ c JOIN before b USING (item)
        )
        SELECT (row_number() OVER (ORDER BY growth DESC, current_count DESC, item))::integer,
               item, previous_count, current_count, growth
        FROM grown
        ORDER BY growth DESC, current_count DESC, item
        LIMIT $5$q$, p.name)
    USING granularity, current_start, previous_start, coalesce(previous_final, false), n;
END $$;

-- Lets a role read a pipeline's dashboards: its views and tables and its query functions
-- (topk_range, trending, executable by everyone). The role gets no other right: it cannot run the procedures,
-- change the pipeline or see other pipelines.
CREATE FUNCTION topk.grant_read(name text, role regrole) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %s', p.name, role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %s', p.name, role);
END $$;
COMMENT ON FUNCTION topk.grant_read(text, regrole) IS
    'lets a role read a pipeline''s views and call its query functions';

