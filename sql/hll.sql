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
