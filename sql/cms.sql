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
