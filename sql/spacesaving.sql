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
    STABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_to_json';
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

-- Merge aggregates and the scalar functions for the base type (any item type), then
-- the same for each typed domain, whose results keep the domain, so that topk_items
-- returns the items in their own type.
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

-- The build aggregate for any item type; sql/typed.sql declares it on the item types
-- most used (bigint, integer and text return the typed domains).
CREATE AGGREGATE topk_agg(value anyelement) (
    SFUNC = topk_trans, STYPE = spacesaving, FINALFUNC = topk_final,
    COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE);
CREATE AGGREGATE topk_agg(value anyelement, capacity integer) (
    SFUNC = topk_trans, STYPE = spacesaving, FINALFUNC = topk_final,
    COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE);
CREATE AGGREGATE topk_agg(value anyelement, weight bigint) (
    SFUNC = topk_trans_weighted, STYPE = spacesaving, FINALFUNC = topk_final,
    COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE);
CREATE AGGREGATE topk_agg(value anyelement, weight bigint, capacity integer) (
    SFUNC = topk_trans_weighted, STYPE = spacesaving, FINALFUNC = topk_final,
    COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE);

CREATE AGGREGATE topk_merge_agg(sketch spacesaving) (
    SFUNC = topk_merge_trans, STYPE = spacesaving, FINALFUNC = topk_final,
    COMBINEFUNC = topk_combine, SSPACE = 1048576, PARALLEL = SAFE
);
-- Items of any type, in their text form.
CREATE FUNCTION topk_items(sketch spacesaving, n integer DEFAULT NULL)
    RETURNS TABLE (rank integer, item text, count bigint, error bigint, guaranteed boolean)
    STABLE PARALLEL SAFE ROWS 100 LANGUAGE C AS 'MODULE_PATHNAME', 'topk_items';
-- Items as the type of the hint, e.g. topk_items(s, 10, NULL::uuid).
CREATE FUNCTION topk_items(sketch spacesaving, n integer, type_hint anyelement)
    RETURNS TABLE (rank integer, item anyelement, count bigint, error bigint, guaranteed boolean)
    STABLE PARALLEL SAFE ROWS 100 LANGUAGE C AS 'MODULE_PATHNAME', 'topk_items';

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
