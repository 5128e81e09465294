-- The build aggregates (hll_agg, cms_agg, topk_agg, heavy_hitters_agg, every form)
-- declared on the item types most used, each with its transition functions declared on
-- the same type. This is what lets Citus run them on its workers (partial aggregation,
-- worker_partial_agg): Citus requires the argument's type to be exactly the declared
-- one (an anyelement aggregate fails there), and calls the transition function without
-- a call expression, so the item type comes from the transition function's declaration
-- (src/fmgr.rs, arg_type). varchar, char(n), name and domains resolve to the forms of
-- their base type or text (implicit casts); every other type uses the anyelement forms
-- of sql/hll.sql, cms.sql, spacesaving.sql and heavy_hitters.sql.
--
-- topk_agg and heavy_hitters_agg over smallint return the integer domains (the items
-- are integers, read back as integer); over uuid and bytea, the base types (read the
-- items with a type hint, topk_items(sketch, n, NULL::uuid)).
--
-- CREATE OR REPLACE: the update from 0.3.0 runs this file too, and replaces the typed
-- topk_agg and heavy_hitters_agg forms of 0.3.0 (whose transition functions were
-- anyelement) in place, keeping the views that use them.
DO $$
DECLARE
    t record;
    params text;
    -- the parameters' types alone (the transition functions' arguments have no names)
    types text;
BEGIN
    FOR t IN SELECT * FROM (VALUES
            -- (item type, final function of topk_agg, of heavy_hitters_agg)
            ('smallint', 'topk_final_integer', 'heavy_hitters_final_integer'),
            ('integer', 'topk_final_integer', 'heavy_hitters_final_integer'),
            ('bigint', 'topk_final_bigint', 'heavy_hitters_final_bigint'),
            ('text', 'topk_final_text', 'heavy_hitters_final_text'),
            ('uuid', 'topk_final', 'heavy_hitters_final'),
            ('bytea', 'topk_final', 'heavy_hitters_final')) v(item, topk_final, hh_final)
    LOOP
        EXECUTE format($f$
            CREATE FUNCTION hll_trans(topk_hll, %1$s) RETURNS topk_hll
                IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_trans';
            CREATE FUNCTION hll_trans(topk_hll, %1$s, integer) RETURNS topk_hll
                IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_trans';
            CREATE OR REPLACE AGGREGATE hll_agg(value %1$s) (
                SFUNC = hll_trans, STYPE = topk_hll, FINALFUNC = hll_final,
                COMBINEFUNC = hll_combine, SSPACE = 16384, PARALLEL = SAFE);
            CREATE OR REPLACE AGGREGATE hll_agg(value %1$s, "precision" integer) (
                SFUNC = hll_trans, STYPE = topk_hll, FINALFUNC = hll_final,
                COMBINEFUNC = hll_combine, SSPACE = 16384, PARALLEL = SAFE)$f$, t.item);
        FOREACH params IN ARRAY ARRAY['', ', weight bigint', ', epsilon double precision, delta double precision',
                                      ', weight bigint, epsilon double precision, delta double precision'] LOOP
            types := regexp_replace(params, '\w+ (bigint|integer|double precision)', '\1', 'g');
            EXECUTE format($f$
                CREATE FUNCTION cms_trans(cms, %1$s %4$s) RETURNS cms
                    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'cms_trans';
                CREATE OR REPLACE AGGREGATE cms_agg(value %1$s %2$s) (
                    SFUNC = cms_trans, STYPE = cms, FINALFUNC = cms_final,
                    COMBINEFUNC = cms_combine, SSPACE = 110000, PARALLEL = SAFE)$f$, t.item, params, NULL, types);
        END LOOP;
        FOREACH params IN ARRAY ARRAY['', ', capacity integer'] LOOP
            types := regexp_replace(params, '\w+ (bigint|integer|double precision)', '\1', 'g');
            EXECUTE format($f$
                CREATE FUNCTION topk_trans(spacesaving, %1$s %4$s) RETURNS spacesaving
                    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_trans';
                CREATE OR REPLACE AGGREGATE topk_agg(value %1$s %2$s) (
                    SFUNC = topk_trans, STYPE = spacesaving, FINALFUNC = %3$I,
                    COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE);
                CREATE FUNCTION topk_trans_weighted(spacesaving, %1$s, bigint %4$s) RETURNS spacesaving
                    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_trans_weighted';
                CREATE OR REPLACE AGGREGATE topk_agg(value %1$s, weight bigint %2$s) (
                    SFUNC = topk_trans_weighted, STYPE = spacesaving, FINALFUNC = %3$I,
                    COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE)$f$,
                t.item, params, t.topk_final, types);
        END LOOP;
        FOREACH params IN ARRAY ARRAY['', ', k integer', ', k integer, epsilon double precision, delta double precision'] LOOP
            types := regexp_replace(params, '\w+ (bigint|integer|double precision)', '\1', 'g');
            EXECUTE format($f$
                CREATE FUNCTION heavy_hitters_trans(heavy_hitters, %1$s %4$s) RETURNS heavy_hitters
                    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_trans';
                CREATE OR REPLACE AGGREGATE heavy_hitters_agg(value %1$s %2$s) (
                    SFUNC = heavy_hitters_trans, STYPE = heavy_hitters, FINALFUNC = %3$I,
                    COMBINEFUNC = heavy_hitters_combine, SSPACE = 1160000, PARALLEL = SAFE);
                CREATE FUNCTION heavy_hitters_trans_weighted(heavy_hitters, %1$s, bigint %4$s) RETURNS heavy_hitters
                    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_trans_weighted';
                CREATE OR REPLACE AGGREGATE heavy_hitters_agg(value %1$s, weight bigint %2$s) (
                    SFUNC = heavy_hitters_trans_weighted, STYPE = heavy_hitters, FINALFUNC = %3$I,
                    COMBINEFUNC = heavy_hitters_combine, SSPACE = 1160000, PARALLEL = SAFE)$f$,
                t.item, params, t.hh_final, types);
        END LOOP;
    END LOOP;
END
$$;
