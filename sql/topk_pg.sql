-- topk_pg: installed by CREATE EXTENSION topk_pg. Each sql/*.sql file of the source
-- tree is one part of the install script, in the order src/lib.rs lists them.

CREATE FUNCTION topk_pg_version() RETURNS text
    IMMUTABLE PARALLEL SAFE STRICT
    LANGUAGE C AS 'MODULE_PATHNAME', 'topk_pg_version';
COMMENT ON FUNCTION topk_pg_version() IS 'version of the topk_pg extension';
