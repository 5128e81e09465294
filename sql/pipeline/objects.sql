-- Creating and dropping pipelines
---------------------------------------------------------------------------------------

-- A pipeline's change marks: what the capture triggers append (src/capture.rs writes
-- the three columns of <name>.changes, in this order), the hours the runs still have to
-- read again, and the rows they left out; and the capture triggers on the source and on
-- each of its partitions.
--
-- On a distributed source (shard_key: its distribution column) also the shards' marks,
-- <name>.shard_changes: the columns of changes and a distribution key (always NULL),
-- distributed co-located with the source, so that every node with a shard of the
-- source has one of it.
CREATE FUNCTION topk._create_marks(p topk.pipelines, shard_key text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s text := quote_ident(p.name);
    tbl regclass;
BEGIN
    IF shard_key IS NOT NULL THEN
        EXECUTE format($q$
            CREATE TABLE %1$s.shard_changes (
                first_hour bigint,
                last_hour  bigint,
                marked_at  timestamptz NOT NULL,
                shard_key  %2$s);
            COMMENT ON TABLE %1$s.shard_changes IS 'marks written on the workers by the capture on the source''s shards (the columns of changes)';
            SELECT create_distributed_table(%3$L, 'shard_key', colocate_with => %4$L)$q$,
            s, (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                WHERE a.attrelid = p.source AND a.attname = shard_key),
            format('%s.shard_changes', s), p.source::text);
    END IF;
    EXECUTE format($q$
        CREATE TABLE %1$s.changes (
            first_hour bigint,
            last_hour  bigint,
            marked_at  timestamptz NOT NULL);
        COMMENT ON TABLE %1$s.changes IS 'hours of the source changed since the last run (hours since 1970 on the time column''s clock; NULL, NULL: everything; NULL, -1: rows without a usable time)';
        CREATE TABLE %1$s.stale (
            hour      timestamptz PRIMARY KEY,
            speed     boolean NOT NULL,
            batch     boolean NOT NULL,
            marked_at timestamptz NOT NULL);
        COMMENT ON TABLE %1$s.stale IS 'hours to read again from the source, by the speed and by the batch path';
        CREATE TABLE %1$s.rejects (
            hour       timestamptz PRIMARY KEY,
            events     bigint NOT NULL,
            counted_at timestamptz NOT NULL);
        COMMENT ON TABLE %1$s.rejects IS 'rows of the source left out (no item, weight out of range) per hour; -infinity: rows without a usable time'$q$,
        s);

    FOREACH tbl IN ARRAY topk._members(p.source) LOOP
        PERFORM topk._install_capture(p, tbl);
    END LOOP;
END $$;

-- The compression of the arrays of counts and lists: lz4 where the server has it (on the
-- benchmark's windows 15 times faster to compress than the default pglz, for 18% more
-- bytes), else the default.
CREATE FUNCTION topk._compression() RETURNS text LANGUAGE sql STABLE
RETURN CASE WHEN EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))
            THEN ' COMPRESSION lz4' ELSE '' END;

-- A pipeline's exact counts: a row per final window with its items and their counts in
-- arrays, largest count first (ties by item): a few bytes per item once TOAST has
-- compressed them, against a row of its own per item; the first k are the window's list.
-- The view batch_table shows them a row per item.
CREATE FUNCTION topk._create_batch(p topk.pipelines) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        CREATE TABLE %1$s.batch_counts (
            granularity  text NOT NULL,
            window_start timestamptz NOT NULL,
            window_end   timestamptz NOT NULL,
            items        %2$s[]%3$s NOT NULL,
            counts       bigint[]%3$s NOT NULL,
            events       bigint[]%3$s,
            PRIMARY KEY (granularity, window_start));
        COMMENT ON TABLE %1$s.batch_counts IS 'batch path: exact counts per final window, items by count (largest first); events NULL: the counts';
        CREATE VIEW %1$s.batch_table AS
            SELECT c.granularity, c.window_start, c.window_end, u.item, u.count, coalesce(u.events, u.count) AS events
            FROM %1$s.batch_counts c
            CROSS JOIN LATERAL unnest(c.items, c.counts, c.events) AS u(item, count, events);
        COMMENT ON VIEW %1$s.batch_table IS 'batch path: exact counts per final window and item'$q$,
        quote_ident(p.name), p.item_type, topk._compression());
END $$;

-- A pipeline's top-k lists: a row per window with its first k items, their counts and
-- their errors in arrays, by rank (errors NULL: exact, all 0), and their length. The view
-- top_<k> shows them a row per rank: it walks the table of ranks 1..k in order and reads
-- each rank of the arrays (topk._list_element), so that a dashboard's `ORDER BY rank
-- LIMIT n` over one window reads n ranks in order (a nested loop over the ranks' primary
-- key) instead of unnesting and sorting the whole list. Also the speed lists the batch
-- replaced, for topk.accuracy.
CREATE FUNCTION topk._create_lists(p topk.pipelines) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        CREATE TABLE %1$s.top_lists (
            granularity  text NOT NULL,
            window_start timestamptz NOT NULL,
            window_end   timestamptz NOT NULL,
            source       text NOT NULL CHECK (source IN ('batch', 'speed')),
            items        %2$s[]%4$s NOT NULL,
            counts       bigint[]%4$s NOT NULL,
            errors       bigint[]%4$s,
            length       integer GENERATED ALWAYS AS (cardinality(items)) STORED,
            PRIMARY KEY (granularity, window_start));
        COMMENT ON TABLE %1$s.top_lists IS 'the top-k list of each window, by rank: batch when final, else speed; errors NULL: all 0';
        -- (autovacuum visits it once, soon: then an index-only scan of it reads no heap)
        CREATE TABLE %1$s.ranks (rank integer PRIMARY KEY)
            WITH (autovacuum_vacuum_insert_threshold = 0, autovacuum_vacuum_insert_scale_factor = 0);
        INSERT INTO %1$s.ranks SELECT generate_series(1, %5$s);
        ANALYZE %1$s.ranks;
        COMMENT ON TABLE %1$s.ranks IS 'the ranks 1..k of the view %3$s, in the order it reads them';
        CREATE TABLE %1$s.superseded_speed_lists (
            granularity   text NOT NULL,
            window_start  timestamptz NOT NULL,
            window_end    timestamptz NOT NULL,
            items         %2$s[]%4$s NOT NULL,
            counts        bigint[]%4$s NOT NULL,
            errors        bigint[]%4$s NOT NULL,
            superseded_at timestamptz NOT NULL,
            PRIMARY KEY (granularity, window_start));
        COMMENT ON TABLE %1$s.superseded_speed_lists IS 'the speed top-k lists the batch replaced, by rank (see topk.accuracy)';
        CREATE OR REPLACE VIEW %1$s.%3$I AS
            SELECT l.granularity, l.window_start, l.window_end, r.rank, topk._list_element(l.items, r.rank) AS item,
                   topk._list_element(l.counts, r.rank) AS count,
                   coalesce(topk._list_element(l.errors, r.rank), 0) AS error, l.source
            FROM %1$s.ranks r
            JOIN %1$s.top_lists l ON r.rank <= l.length;
        COMMENT ON VIEW %1$s.%3$I IS 'top-k per window: exact (source batch) where the batch has run, else the speed estimate'$q$,
        quote_ident(p.name), p.item_type, 'top_' || p.k, topk._compression(), p.k);
END $$;

CREATE FUNCTION topk._create_objects(p topk.pipelines, shard_key text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s text := quote_ident(p.name);   -- the pipeline's schema
    t text := p.item_type;
    ddl text;
BEGIN
    EXECUTE format('CREATE SCHEMA %s', s);
    EXECUTE format('COMMENT ON SCHEMA %s IS %L', s,
        format('topk_pg pipeline over %s (%s by %s)', p.source, p.item_column, p.time_column));

    PERFORM topk._create_marks(p, shard_key);
    -- On Citus, the rest are tables, views and functions of the coordinator alone: Citus
    -- need not propagate them (nor warn that it does not).
    ddl := current_setting('citus.enable_ddl_propagation', true);
    IF ddl IS NOT NULL THEN
        PERFORM set_config('citus.enable_ddl_propagation', 'off', true);
    END IF;

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
        COMMENT ON TABLE %1$s.speed_table IS 'speed path: a space-saving sketch per window not yet final in the batch'$q$,
        s);
    PERFORM topk._create_batch(p);

    PERFORM topk._create_lists(p);

    -- Distinct counts.
    EXECUTE format($q$
        CREATE TABLE %1$s.distinct_sketches (
            granularity    text NOT NULL,
            window_start   timestamptz NOT NULL,
            window_end     timestamptz NOT NULL,
            sketch         @extschema@.topk_hll NOT NULL,
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
    IF ddl IS NOT NULL THEN
        PERFORM set_config('citus.enable_ddl_propagation', ddl, true);
    END IF;
END $$;

-- Citus: the distribution column of a source that is a hash-distributed table, NULL for
-- a table of this node (a Citus local table is one). Its rows live in shards on the
-- workers, and so do its capture triggers (created with citus.enable_unsafe_triggers):
-- they write their marks into <name>.shard_changes, co-located with the source
-- (src/capture.rs), and the runs read the source through Citus. Reference tables and
-- the other kinds of distributed table are refused. Citus' catalog is read only when
-- Citus is there, by a dynamic query: no dependency on Citus.
CREATE FUNCTION topk._shard_key(source regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RETURN NULL;
    END IF;
    EXECUTE $q$SELECT partmethod, repmodel, colocationid,
                      CASE WHEN partmethod = 'h' THEN column_to_column_name(logicalrelid, partkey) END AS key
               FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1$q$
        INTO d USING source;
    IF d.partmethod IS NULL OR (d.partmethod = 'n' AND d.repmodel <> 't' AND d.colocationid = 0) THEN
        RETURN NULL;
    ELSIF d.partmethod = 'h' THEN
        RETURN d.key;
    END IF;
    RAISE EXCEPTION 'topk: table % is a Citus % table: a pipeline needs a hash-distributed table or a table of this node',
        source, CASE WHEN d.repmodel = 't' THEN 'reference' WHEN d.partmethod = 'n' THEN 'single-shard' ELSE 'append- or range-distributed' END
        USING ERRCODE = 'feature_not_supported',
        HINT = 'Distribute the events with create_distributed_table(table, column), or create the pipeline on a local table.';
END $$;

-- Whether a pipeline's source is distributed (its marks come from the shards).
CREATE FUNCTION topk._distributed(p topk.pipelines) RETURNS boolean LANGUAGE sql STABLE
RETURN to_regclass(format('%I.shard_changes', p.name)) IS NOT NULL;

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
    shard_key text;
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
    shard_key := topk._shard_key(create_pipeline.source);

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

    -- The columns (followed by number: a rename is followed, see topk._ddl_watch).
    SELECT format_type(a.atttypid, NULL), a.attnum INTO p.item_type, p.item_attnum
    FROM pg_attribute a
    WHERE a.attrelid = p.source AND a.attname = p.item_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF p.item_type IS NULL THEN
        RAISE EXCEPTION 'topk: table % has no column %', p.source, quote_nullable(p.item_column)
            USING ERRCODE = 'undefined_column';
    END IF;
    IF p.item_type NOT IN ('integer', 'bigint', 'text', 'character varying', 'uuid') THEN
        RAISE EXCEPTION 'topk: the item column % is of type %; a pipeline counts items of type integer, bigint, text, varchar or uuid',
            quote_ident(p.item_column), p.item_type USING ERRCODE = 'datatype_mismatch',
            HINT = 'Add a generated column of one of these types (e.g. item_id bigint GENERATED ALWAYS AS (col::bigint) STORED) and count that.';
    END IF;
    IF EXISTS (SELECT FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
               WHERE a.attrelid = p.source AND a.attnum = p.item_attnum AND NOT c.collisdeterministic) THEN
        RAISE EXCEPTION 'topk: the item column % has a nondeterministic collation; a pipeline counts text items by their bytes',
            quote_ident(p.item_column) USING ERRCODE = 'feature_not_supported',
            HINT = 'Count a generated column of the form you want items compared in, e.g. item_key text GENERATED ALWAYS AS (lower(col)) STORED.';
    END IF;
    SELECT a.atttypid, a.attnum INTO col_type, p.time_attnum FROM pg_attribute a
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
        SELECT a.atttypid, a.attnum INTO col_type, p.weight_attnum FROM pg_attribute a
        WHERE a.attrelid = p.source AND a.attname = p.weight_column AND a.attnum > 0 AND NOT a.attisdropped;
        IF col_type IS NULL THEN
            RAISE EXCEPTION 'topk: table % has no column %', p.source, quote_literal(p.weight_column)
                USING ERRCODE = 'undefined_column';
        ELSIF col_type NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
            RAISE EXCEPTION 'topk: the weight column % is of type %; it must be smallint, integer or bigint',
                quote_ident(p.weight_column), col_type USING ERRCODE = 'datatype_mismatch',
                HINT = 'Weights are summed exactly as whole units: for money use cents, e.g. a generated column '
                       'amount_cents bigint GENERATED ALWAYS AS ((amount * 100)::bigint) STORED.';
        END IF;
        p.weight_type := format_type(col_type, NULL);
    END IF;
    IF p.distinct_column IS NOT NULL THEN
        SELECT format_type(a.atttypid, NULL), a.attnum INTO p.distinct_type, p.distinct_attnum
        FROM pg_attribute a
        WHERE a.attrelid = p.source AND a.attname = p.distinct_column AND a.attnum > 0 AND NOT a.attisdropped;
        IF p.distinct_type IS NULL THEN
            RAISE EXCEPTION 'topk: table % has no column %', p.source, quote_literal(p.distinct_column)
                USING ERRCODE = 'undefined_column';
        END IF;
        -- (Citus splits hll_agg only in its typed forms, sql/typed.sql)
        IF shard_key IS NOT NULL
           AND p.distinct_type NOT IN ('smallint', 'integer', 'bigint', 'text', 'character varying', 'uuid', 'bytea') THEN
            RAISE EXCEPTION 'topk: on a distributed table the distinct column % must be of type smallint, integer, bigint, text, varchar, uuid or bytea, not %',
                quote_ident(p.distinct_column), p.distinct_type USING ERRCODE = 'datatype_mismatch',
                HINT = 'Count a generated column of one of these types, e.g. user_key text GENERATED ALWAYS AS (col::text) STORED.';
        END IF;
    END IF;
    IF (SELECT relpersistence FROM pg_class WHERE oid = p.source) = 't' THEN
        RAISE EXCEPTION 'topk: % is a temporary table: a pipeline needs a table every session sees', p.source
            USING ERRCODE = 'wrong_object_type';
    END IF;

    INSERT INTO topk.pipelines SELECT p.*;
    INSERT INTO topk.progress (pipeline, granularity)
    SELECT p.name, g.granularity FROM topk.granularities g;
    PERFORM topk._create_objects(p, shard_key);

    -- Existing rows, on request: everything is marked, and the first run reads it. The
    -- triggers see every later change.
    IF backfill THEN
        EXECUTE format('INSERT INTO %I.changes (first_hour, last_hour, marked_at) VALUES (NULL, NULL, now())', p.name);
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
    PERFORM set_config('topk.own_ddl', 'on', true);
    IF topk._distributed(p) THEN
        -- Citus makes a shard it moves from the table's definition, TRUNCATE trigger
        -- included, but drops the triggers of the shards without it: those are dropped
        -- here, on every worker, before this transaction locks a shard (the command runs
        -- in sessions of its own; it waits 10 s at most for a lock, and if it fails the
        -- leftover triggers, harmless without the pipeline's schema, stay).
        PERFORM run_command_on_workers(format($c$SET lock_timeout = '10s'; DO $d$
            DECLARE
                t record;
            BEGIN
                FOR t IN SELECT tgname, tgrelid::regclass AS tbl FROM pg_catalog.pg_trigger
                         WHERE tgname ~ '_trunc_[0-9]+$' AND regexp_replace(tgname, '_trunc_[0-9]+$', '') = %L LOOP
                    EXECUTE format('DROP TRIGGER %%I ON %%s', t.tgname, t.tbl);
                END LOOP;
            END $d$ $c$, p.trigger_name));
        -- (Citus drops a schema with a distributed table over one connection per node,
        -- and refuses to after the parallel DROP TRIGGER on the shards)
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
    PERFORM topk._drop_capture(p);
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', p.name);
    DELETE FROM topk.job_log WHERE job_log.pipeline = p.name;
    DELETE FROM topk.progress WHERE progress.pipeline = p.name;
    DELETE FROM topk.pipelines WHERE pipelines.name = p.name;
    PERFORM set_config('topk.own_ddl', 'off', true);
END $$;
COMMENT ON FUNCTION topk.drop_pipeline(text) IS
    'removes a pipeline: its capture trigger, its schema, its catalog rows, log and jobs';

