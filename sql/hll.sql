-- HyperLogLog: type topk_hll (not hll: postgresql-hll's type has that name, and both
-- extensions can live in one schema; for the same reason its I/O functions and
-- topk_hll_empty carry the type's name), the hll_agg and hll_merge_agg aggregates and their functions.

CREATE TYPE topk_hll;

CREATE FUNCTION topk_hll_in(cstring) RETURNS topk_hll
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_in';
CREATE FUNCTION topk_hll_out(topk_hll) RETURNS cstring
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_out';
CREATE FUNCTION topk_hll_recv(internal) RETURNS topk_hll
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_recv';
CREATE FUNCTION topk_hll_send(topk_hll) RETURNS bytea
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_send';

CREATE TYPE topk_hll (
    INPUT = topk_hll_in,
    OUTPUT = topk_hll_out,
    RECEIVE = topk_hll_recv,
    SEND = topk_hll_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = external
);
COMMENT ON TYPE topk_hll IS 'HyperLogLog sketch of distinct values (topk_pg)';

CREATE FUNCTION hll_to_json(topk_hll) RETURNS jsonb
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_to_json';
CREATE CAST (topk_hll AS jsonb) WITH FUNCTION hll_to_json(topk_hll);

-- Aggregate support. The state is the topk_hll type itself, kept while aggregating as an
-- expanded object: the sketch is updated in place and flattened only by the final
-- function, between parallel workers, or when the state is written out (see
-- src/state.rs). A real state type, not internal, lets Citus push the aggregate down.
CREATE FUNCTION hll_trans(topk_hll, anyelement) RETURNS topk_hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_trans';
CREATE FUNCTION hll_trans(topk_hll, anyelement, integer) RETURNS topk_hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_trans';
CREATE FUNCTION hll_merge_trans(topk_hll, topk_hll) RETURNS topk_hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_merge_trans';
CREATE FUNCTION hll_combine(topk_hll, topk_hll) RETURNS topk_hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_combine';
CREATE FUNCTION hll_final(topk_hll) RETURNS topk_hll
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_final';

CREATE AGGREGATE hll_agg(value anyelement) (
    SFUNC = hll_trans, STYPE = topk_hll, FINALFUNC = hll_final,
    COMBINEFUNC = hll_combine, SSPACE = 16384, PARALLEL = SAFE
);
CREATE AGGREGATE hll_agg(value anyelement, "precision" integer) (
    SFUNC = hll_trans, STYPE = topk_hll, FINALFUNC = hll_final,
    COMBINEFUNC = hll_combine, SSPACE = 16384, PARALLEL = SAFE
);
COMMENT ON AGGREGATE hll_agg(anyelement) IS
    'HyperLogLog sketch of the distinct non-NULL values, precision 14 (0.81% standard error)';
COMMENT ON AGGREGATE hll_agg(anyelement, integer) IS
    'HyperLogLog sketch of the distinct non-NULL values at a precision from 4 to 18';

CREATE AGGREGATE hll_merge_agg(sketch topk_hll) (
    SFUNC = hll_merge_trans, STYPE = topk_hll, FINALFUNC = hll_final,
    COMBINEFUNC = hll_combine, SSPACE = 16384, PARALLEL = SAFE
);
COMMENT ON AGGREGATE hll_merge_agg(topk_hll) IS 'union of hll sketches';

-- Scalar functions.
CREATE FUNCTION topk_hll_empty("precision" integer DEFAULT 14) RETURNS topk_hll
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_empty';
CREATE FUNCTION hll_add(sketch topk_hll, value anyelement) RETURNS topk_hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_add';
CREATE FUNCTION hll_merge(a topk_hll, b topk_hll) RETURNS topk_hll
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'hll_merge';
CREATE FUNCTION hll_count(sketch topk_hll) RETURNS bigint
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_count';
CREATE FUNCTION hll_stderr(sketch topk_hll) RETURNS double precision
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_stderr';
CREATE FUNCTION hll_precision(sketch topk_hll) RETURNS integer
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_precision';
CREATE FUNCTION hll_count_bounds(sketch topk_hll, confidence double precision DEFAULT 0.95,
                                 OUT lower bigint, OUT upper bigint)
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'hll_count_bounds';
COMMENT ON FUNCTION hll_count(topk_hll) IS 'estimated number of distinct values (exact for small sets)';
COMMENT ON FUNCTION hll_stderr(topk_hll) IS 'relative standard error of hll_count (0 while exact)';
