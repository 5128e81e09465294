-- For the benchmark only: the same aggregates with the former `internal` state
-- (serial/deserial between parallel workers), to compare with the expanded-object
-- state the extension uses. Load into a database that has topk_pg.
CREATE FUNCTION hll_trans_internal(internal, anyelement) RETURNS internal
    LANGUAGE C PARALLEL SAFE AS '$libdir/topk_pg', 'hll_trans_internal';
CREATE FUNCTION topk_trans_internal(internal, anyelement) RETURNS internal
    LANGUAGE C PARALLEL SAFE AS '$libdir/topk_pg', 'topk_trans_internal';
CREATE FUNCTION cms_trans_internal(internal, anyelement) RETURNS internal
    LANGUAGE C PARALLEL SAFE AS '$libdir/topk_pg', 'cms_trans_internal';
CREATE FUNCTION heavy_hitters_trans_internal(internal, anyelement) RETURNS internal
    LANGUAGE C PARALLEL SAFE AS '$libdir/topk_pg', 'heavy_hitters_trans_internal';
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('hll', 'hll'), ('topk', 'spacesaving'), ('cms', 'cms'),
                                   ('heavy_hitters', 'heavy_hitters')) v(p, typ) LOOP
        EXECUTE format($f$
            CREATE FUNCTION %1$s_combine_internal(internal, internal) RETURNS internal
                LANGUAGE C PARALLEL SAFE AS '$libdir/topk_pg', '%1$s_combine_internal';
            CREATE FUNCTION %1$s_serial_internal(internal) RETURNS bytea
                LANGUAGE C STRICT PARALLEL SAFE AS '$libdir/topk_pg', '%1$s_serial_internal';
            CREATE FUNCTION %1$s_deserial_internal(bytea, internal) RETURNS internal
                LANGUAGE C STRICT PARALLEL SAFE AS '$libdir/topk_pg', '%1$s_deserial_internal';
            CREATE FUNCTION %1$s_final_internal(internal) RETURNS %2$s
                LANGUAGE C STRICT PARALLEL SAFE AS '$libdir/topk_pg', '%1$s_final_internal';
            CREATE AGGREGATE %3$s_internal(anyelement) (
                SFUNC = %1$s_trans_internal, STYPE = internal, FINALFUNC = %1$s_final_internal,
                COMBINEFUNC = %1$s_combine_internal, SERIALFUNC = %1$s_serial_internal,
                DESERIALFUNC = %1$s_deserial_internal, PARALLEL = SAFE)$f$,
            t.p, t.typ, CASE t.p WHEN 'topk' THEN 'topk_agg' ELSE t.p || '_agg' END);
    END LOOP;
END
$$;
