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
    STABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_to_json';
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
        -- (the build aggregates for the typed domains: sql/typed.sql)
        IF t.sketch = 'heavy_hitters' THEN
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
        END IF;
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
    STABLE PARALLEL SAFE ROWS 100 LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_items';
CREATE FUNCTION heavy_hitters_items(sketch heavy_hitters, n integer, type_hint anyelement)
    RETURNS TABLE (rank integer, item anyelement, count bigint, error bigint, guaranteed boolean)
    STABLE PARALLEL SAFE ROWS 100 LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_items';
CREATE FUNCTION heavy_hitters_estimate(sketch heavy_hitters, value anyelement) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_estimate';
CREATE FUNCTION heavy_hitters_total(sketch heavy_hitters) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'heavy_hitters_total';
