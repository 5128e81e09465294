---------------------------------------------------------------------------------------
-- Change marks: which hours of the source changed since the last run
---------------------------------------------------------------------------------------
-- The source table is the truth. Its writers pay only for a mark of the hours their
-- statement touched: topk._capture() (src/capture.rs), an AFTER … FOR EACH STATEMENT
-- trigger with transition tables on the source and on every partition of it, appends
-- (first_hour, last_hour) runs to <name>.changes; TRUNCATE marks everything. It raises no
-- error of its own, so it never fails the application's statement. The runs move the
-- marks into <name>.stale (one row per hour window of the pipeline) and recompute those
-- hours, and the windows above them, from the source: replacement, never increments, so
-- UPDATE, DELETE, TRUNCATE and reloads come out right.
--
-- Partitions: statement triggers fire on the table a statement names, so every table of
-- the partition tree has them; the event trigger topk._ddl_watch() gives new partitions
-- their triggers, and marks everything when a partition is attached, detached or
-- dropped. It also follows a rename of a column the pipeline reads, and refuses a change
-- of its type, a drop of it, and a drop of the source, with an error naming the pipeline.

CREATE FUNCTION topk._capture() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'topk_capture';
COMMENT ON FUNCTION topk._capture() IS
    'statement trigger of a pipeline''s source: marks the hours a statement changed in <pipeline>.changes';

-- The tables of a source's partition tree (the source itself when it is not partitioned),
-- from the catalog: like pg_partition_tree(), but it locks none of them (see _ddl_watch).
-- A partition being detached (DETACH … CONCURRENTLY) has left it.
CREATE FUNCTION topk._members(source regclass) RETURNS regclass[]
LANGUAGE sql STABLE
RETURN (WITH RECURSIVE tree (relid, level) AS (
            SELECT source::oid, 0
            UNION ALL
            SELECT i.inhrelid, t.level + 1 FROM tree t
            JOIN pg_catalog.pg_inherits i ON i.inhparent = t.relid AND NOT i.inhdetachpending
            JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid AND c.relispartition)
        SELECT array_agg(t.relid::regclass ORDER BY t.level, t.relid) FROM tree t);

-- The capture triggers of a pipeline on one table: one per operation (a trigger with
-- transition tables serves one event), named <trigger_name>_ins/_upd/_del/_trunc, and on
-- a table that holds rows <trigger_name>_row for replica sessions.
CREATE FUNCTION topk._install_capture(p topk.pipelines, tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    args text := format('%L, %L', p.name, p.time_column);
    own_ddl text;
    unsafe_triggers text := current_setting('citus.enable_unsafe_triggers', true);
BEGIN
    IF topk._captured(p, tbl) THEN
        RETURN;
    END IF;
    IF topk._distributed(p) THEN
        -- Citus creates them on the shards too (the TRUNCATE trigger only here: Citus
        -- truncates a distributed table through its table on the coordinator)
        PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    END IF;
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION topk._capture(%s)', p.trigger_name || '_ins', tbl, args);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION topk._capture(%s)', p.trigger_name || '_upd', tbl, args);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION topk._capture(%s)', p.trigger_name || '_del', tbl, args);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION topk._capture(%s)', p.trigger_name || '_trunc', tbl, args);
    own_ddl := current_setting('topk.own_ddl', true);
    PERFORM set_config('topk.own_ddl', 'on', true);   -- no work for topk._ddl_watch
    -- When session_replication_role is replica (the logical replication apply worker, bulk
    -- loads that skip triggers) the statement triggers do not fire: the apply worker fires
    -- no statement triggers for rows. A row trigger, enabled for replica sessions only,
    -- marks their rows instead; TRUNCATE fires always (replicated TRUNCATEs too).
    -- (Not on a distributed source: on the workers the shards are written by Citus'
    -- sessions, in the origin role, and a shard move replicates rows into the new
    -- placement as replica; those are no changes of the events.)
    IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = tbl) = 'r' AND NOT topk._distributed(p) THEN
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION topk._capture(%s)', p.trigger_name || '_row', tbl, args);
        EXECUTE format('ALTER TABLE %s ENABLE REPLICA TRIGGER %I', tbl, p.trigger_name || '_row');
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', tbl, p.trigger_name || '_trunc');
    PERFORM set_config('topk.own_ddl', coalesce(own_ddl, 'off'), true);
    IF topk._distributed(p) THEN
        PERFORM set_config('citus.enable_unsafe_triggers', coalesce(unsafe_triggers, 'off'), true);
    END IF;
END $$;

-- Whether a table has the capture triggers of a pipeline.
CREATE FUNCTION topk._captured(p topk.pipelines, tbl regclass) RETURNS boolean
LANGUAGE sql STABLE
RETURN EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = tbl AND tgname = p.trigger_name || '_ins');

-- Marks the hours of every row of one table (a partition that joins or leaves the
-- source), and its rows without a usable time.
CREATE FUNCTION topk._mark_table(p topk.pipelines, tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz;
    hi timestamptz;
    cast_sql text := CASE p.time_type WHEN 'timestamptz' THEN '%s' WHEN 'timestamp' THEN format('(%%s AT TIME ZONE %L)', p.time_zone)
                          ELSE format('(%%s::timestamp AT TIME ZONE %L)', p.time_zone) END;
BEGIN
    EXECUTE format('SELECT %2$s, %3$s FROM %1$s AS e WHERE e.%4$I > %5$L AND e.%4$I < %6$L', tbl,
                   format(cast_sql, format('min(e.%I)', p.time_column)), format(cast_sql, format('max(e.%I)', p.time_column)),
                   p.time_column, '-infinity', 'infinity')
    INTO lo, hi;
    IF lo IS NOT NULL THEN
        PERFORM topk._mark(p, lo, hi + CASE p.time_type WHEN 'date' THEN interval '1 day' ELSE interval '1 hour' END);
    END IF;
    EXECUTE format('INSERT INTO %I.changes (first_hour, last_hour, marked_at) VALUES (NULL, -1, now())', p.name);
END $$;

-- Drops the capture triggers of a pipeline (from one table, or from all).
CREATE FUNCTION topk._drop_capture(p topk.pipelines, tbl regclass DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    own_ddl text := current_setting('topk.own_ddl', true);
    unsafe_triggers text := current_setting('citus.enable_unsafe_triggers', true);
BEGIN
    PERFORM set_config('topk.own_ddl', 'on', true);   -- no work for topk._drop_watch
    IF topk._distributed(p) THEN
        PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);   -- (Citus refuses it else)
    END IF;
    FOR t IN SELECT tg.tgname, tg.tgrelid::regclass AS tbl FROM pg_catalog.pg_trigger tg
             WHERE tg.tgname IN (p.trigger_name || '_ins', p.trigger_name || '_upd', p.trigger_name || '_del',
                                 p.trigger_name || '_trunc', p.trigger_name || '_row')
               AND (_drop_capture.tbl IS NULL OR tg.tgrelid = _drop_capture.tbl)
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.tbl);
    END LOOP;
    PERFORM set_config('topk.own_ddl', coalesce(own_ddl, 'off'), true);
    IF topk._distributed(p) THEN
        PERFORM set_config('citus.enable_unsafe_triggers', coalesce(unsafe_triggers, 'off'), true);
    END IF;
END $$;

-- Marks [from, to) of the source changed, as the trigger does: in hour numbers (hours
-- since 1970-01-01 on the time column's own clock: UTC for timestamptz, the wall clock in
-- the pipeline's time zone for timestamp and date).
CREATE FUNCTION topk._mark(p topk.pipelines, "from" timestamptz, "to" timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lo double precision := CASE WHEN p.time_type = 'timestamptz' THEN extract(epoch FROM "from")
                                ELSE extract(epoch FROM "from" AT TIME ZONE p.time_zone) END;
    hi double precision := CASE WHEN p.time_type = 'timestamptz' THEN extract(epoch FROM "to")
                                ELSE extract(epoch FROM "to" AT TIME ZONE p.time_zone) END;
BEGIN
    EXECUTE format('INSERT INTO %I.changes (first_hour, last_hour, marked_at) VALUES ($1, $2, now())', p.name)
    USING floor(lo / 3600)::bigint, ceil(hi / 3600)::bigint - 1;
END $$;

-- SQL for the moments an hour number of a mark stands for ([lo, hi) of the marked run
-- first .. last): exact for timestamptz; for timestamp and date the wall clock read in
-- the time zone, widened by an hour on each side (a wall-clock hour is ambiguous or
-- missing across a DST change).
CREATE FUNCTION topk._mark_range_sql(p topk.pipelines, OUT lo text, OUT hi text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p.time_type = 'timestamptz' THEN
        lo := 'to_timestamp(first_hour * 3600.0)';
        hi := 'to_timestamp((last_hour + 1) * 3600.0)';
    ELSE
        lo := format('((timestamp ''1970-01-01'' + (first_hour - 1) * interval ''1 hour'') AT TIME ZONE %L)', p.time_zone);
        hi := format('((timestamp ''1970-01-01'' + (last_hour + 2) * interval ''1 hour'') AT TIME ZONE %L)', p.time_zone);
    END IF;
END $$;

-- Moves the marks of <name>.changes into <name>.stale: every hour window of the pipeline
-- that meets a marked range, flagged for the speed and the batch path. A mark of
-- everything stands for every hour the pipeline holds or the source has. Runs under the
-- pipeline's lock, inside the task that then reads the source: marks committed after
-- this statement stay for the next run, and rows committed before it are in the source
-- as the task reads it. Returns the number of marks taken.
CREATE FUNCTION topk._collect(p topk.pipelines) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    m bigint;
    everything boolean;
    undated boolean;
    bucket record := topk._hour_sql(p, 'e');
    mark record := topk._mark_range_sql(p);
    q topk.pipelines := p;
    moment record;  -- the hour bucket of a moment x.x (timestamptz)
    member regclass;
BEGIN
    q.time_type := 'timestamptz';
    q.time_column := 'x';
    moment := topk._hour_sql(q, 'x');
    IF topk._distributed(p) THEN
        -- partitions that joined a distributed source since the last run (Citus has
        -- distributed them by now): their triggers, and their rows marked
        FOREACH member IN ARRAY topk._members(p.source) LOOP
            CONTINUE WHEN topk._captured(p, member);
            PERFORM topk._install_capture(p, member);
            PERFORM topk._mark_table(p, member);
        END LOOP;
        -- the marks of the shards, from the workers (in this transaction: a mark that
        -- commits on its node after this statement stays for the next run)
        EXECUTE format($q$
            WITH taken AS (DELETE FROM %1$I.shard_changes RETURNING first_hour, last_hour, marked_at)
            INSERT INTO %1$I.changes (first_hour, last_hour, marked_at) SELECT * FROM taken$q$, p.name);
    END IF;
    EXECUTE format($q$
        WITH taken AS (
            DELETE FROM %1$I.changes RETURNING first_hour, last_hour, marked_at
        ), ranges AS (
            SELECT %2$s AS lo, %3$s AS hi, marked_at
            FROM taken WHERE first_hour IS NOT NULL AND first_hour <= last_hour
              AND first_hour > -2000000000 AND last_hour < 2000000000
        ), hours AS (
            SELECT %4$s AS hour, min(r.marked_at) AS marked_at
            FROM ranges r
            CROSS JOIN LATERAL generate_series(r.lo, r.hi - interval '1 microsecond', interval '15 minutes') x
            GROUP BY 1
        ), written AS (
            INSERT INTO %1$I.stale AS s (hour, speed, batch, marked_at)
            SELECT hour, true, true, marked_at FROM hours
            ON CONFLICT (hour) DO UPDATE SET speed = true, batch = true, marked_at = least(s.marked_at, excluded.marked_at)
        )
        SELECT count(*), coalesce(bool_or(first_hour IS NULL AND last_hour IS NULL), false),
               coalesce(bool_or(first_hour IS NULL AND last_hour = -1), false) FROM taken$q$,
        p.name, mark.lo, mark.hi, moment.key)
    INTO n, everything, undated;
    IF everything OR undated THEN
        EXECUTE format('SELECT count(*) FROM %s AS e WHERE e.%2$I IS NULL OR e.%2$I = %3$L OR e.%2$I = %4$L',
                       p.source, p.time_column, '-infinity', 'infinity')
        INTO m;
        PERFORM topk._count_rejects(p, '-infinity', m);
    END IF;
    IF everything THEN
        EXECUTE format($q$
            INSERT INTO %1$I.stale AS s (hour, speed, batch, marked_at)
            SELECT hour, true, true, now() FROM (
                SELECT window_start AS hour FROM %1$I.batch_counts WHERE granularity = 'hour'
                UNION SELECT window_start FROM %1$I.speed_table WHERE granularity = 'hour'
                UNION SELECT window_start FROM %1$I.distinct_sketches WHERE granularity = 'hour'
                UNION SELECT %2$s FROM (SELECT DISTINCT %3$s AS bucket FROM %4$s AS e WHERE %5$s) b) h
            ON CONFLICT (hour) DO UPDATE SET speed = true, batch = true, marked_at = least(s.marked_at, excluded.marked_at)$q$,
            p.name, format(bucket.hour, 'bucket'), bucket.key, p.source, topk._valid_sql(p, 'e'));
    END IF;
    RETURN n;
END $$;

-- Recomputes the windows of [from, to) from the source: after a restore from a backup
-- that did not include the pipeline's tables, or a change that bypassed the triggers
-- (ALTER TABLE … DISABLE TRIGGER, a write into a table outside the partition tree that
-- was then attached without its rows being marked). NULL, NULL: everything.
CREATE PROCEDURE topk.refresh(name text, "from" timestamptz DEFAULT NULL, "to" timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
BEGIN
    PERFORM topk._require_autocommit('topk.refresh');
    IF ("from" IS NULL) <> ("to" IS NULL) OR "from" >= "to" THEN
        RAISE EXCEPTION 'topk: refresh needs a range from < to, or neither (everything)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF "from" IS NULL THEN
        EXECUTE format('INSERT INTO %I.changes (first_hour, last_hour, marked_at) VALUES (NULL, NULL, now())', p.name);
    ELSE
        PERFORM topk._mark(p, "from", "to");
    END IF;
    COMMIT;
    CALL topk.run(p.name);
END $$;
COMMENT ON PROCEDURE topk.refresh(text, timestamptz, timestamptz) IS
    'recomputes the windows of a range (default: everything) from the source, then runs the pipeline';

---------------------------------------------------------------------------------------
-- Watching DDL on the sources
---------------------------------------------------------------------------------------

-- The column of a source with attribute number attnum, and its type.
CREATE FUNCTION topk._column(source regclass, attnum smallint, OUT name text, OUT type regtype)
LANGUAGE sql STABLE AS $$
    SELECT a.attname::text, a.atttypid::regtype FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = source AND a.attnum = _column.attnum AND NOT a.attisdropped
$$;

-- Whether a command (an event trigger's pg_event_trigger_ddl_commands().command) is an
-- ALTER TABLE that attached a partition (src/capture.rs).
CREATE FUNCTION topk._attaches_partition(command pg_ddl_command) RETURNS boolean
    STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_attaches_partition';
REVOKE EXECUTE ON FUNCTION topk._attaches_partition(pg_ddl_command) FROM PUBLIC;

-- After DDL on a source or its partitions: a renamed column is followed; a retyped or
-- dropped column is refused; a table that joined the partition tree gets the capture
-- triggers and one that left it loses them, and the hours of their rows are marked.
--
-- pg_dump and pg_restore: a restore creates the extension (empty catalog), the tables,
-- their partitions, loads every table's rows (topk.pipelines and the pipelines' tables
-- among them: pg_extension_config_dump), then adds the constraints and the capture
-- triggers as they were dumped, each with ALTER TABLE … ENABLE ALWAYS TRIGGER. Those
-- ALTER TABLEs fire this watch while members of the tree still lack the triggers the
-- restore creates next: only a CREATE TABLE or an ATTACH PARTITION makes a table join,
-- so only then are missing triggers installed (else the restore's own CREATE TRIGGER
-- fails: already exists). (The columns' numbers in the restored catalog rows are those
-- of the restored tables: topk._pipelines_columns.) It reads the partition trees from
-- pg_inherits, taking no lock: pg_restore -j runs ALTER TABLEs of several partitions at
-- once, and their watches would deadlock on each other's partition.
CREATE FUNCTION topk._ddl_watch() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p topk.pipelines;
    c record;
    touched oid[];
    joining boolean;   -- the command may have added tables to a partition tree
    members oid[];
    member oid;
    col record;
    i int;
    cols text[];
    nums smallint[];
    types regtype[];
BEGIN
    IF NOT EXISTS (SELECT FROM topk.pipelines) OR current_setting('topk.own_ddl', true) = 'on' THEN
        RETURN;
    END IF;
    SELECT array_agg(objid), bool_or(command_tag = 'CREATE TABLE' OR topk._attaches_partition(command))
    INTO touched, joining FROM pg_event_trigger_ddl_commands()
    WHERE classid = 'pg_class'::regclass AND object_type IN ('table', 'table column');
    IF touched IS NULL THEN
        RETURN;
    END IF;
    FOR p IN SELECT * FROM topk.pipelines ORDER BY name LOOP
        CONTINUE WHEN NOT EXISTS (SELECT FROM pg_catalog.pg_class WHERE oid = p.source);
        SELECT array_agg(t::oid) INTO members FROM unnest(topk._members(p.source)) t;
        CONTINUE WHEN NOT (touched && members OR touched && ARRAY[p.source::oid]
                           OR EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = ANY (touched)
                                      AND inhparent = ANY (members)));
        -- the columns the pipeline reads, followed by attribute number
        cols := ARRAY[p.item_column, p.time_column, p.weight_column, p.distinct_column];
        nums := ARRAY[p.item_attnum, p.time_attnum, p.weight_attnum, p.distinct_attnum];
        types := ARRAY[p.item_type::regtype, p.time_type::regtype, p.weight_type::regtype, p.distinct_type::regtype];
        FOR i IN 1..4 LOOP
            CONTINUE WHEN cols[i] IS NULL;
            SELECT * INTO col FROM topk._column(p.source, nums[i]);
            IF col.name IS NULL THEN
                RAISE EXCEPTION 'topk: column % of % is read by pipeline %: it cannot be dropped',
                    quote_ident(cols[i]), p.source, quote_ident(p.name)
                    USING ERRCODE = 'dependent_objects_still_exist',
                          HINT = format('Drop the pipeline first: SELECT topk.drop_pipeline(%L); then create it again.', p.name);
            ELSIF col.type IS DISTINCT FROM types[i] THEN
                RAISE EXCEPTION 'topk: column % of % is read by pipeline % as %: its type cannot change to %',
                    quote_ident(cols[i]), p.source, quote_ident(p.name), types[i], col.type
                    USING ERRCODE = 'dependent_objects_still_exist',
                          HINT = format('Drop the pipeline first: SELECT topk.drop_pipeline(%L); then create it again.', p.name);
            ELSIF col.name <> cols[i] THEN
                cols[i] := col.name;
            END IF;
        END LOOP;
        -- tables that left the partition tree: their rows leave the counts
        FOR c IN SELECT tg.tgrelid::regclass AS tbl FROM pg_catalog.pg_trigger tg
                 WHERE tg.tgname = p.trigger_name || '_ins' AND tg.tgrelid <> ALL (members) LOOP
            PERFORM topk._mark_table(p, c.tbl);
            PERFORM topk._drop_capture(p, c.tbl);
        END LOOP;
        IF cols IS DISTINCT FROM ARRAY[p.item_column, p.time_column, p.weight_column, p.distinct_column] THEN
            PERFORM set_config('topk.following', 'on', true);
            UPDATE topk.pipelines SET item_column = cols[1], time_column = cols[2], weight_column = cols[3],
                                      distinct_column = cols[4]
            WHERE name = p.name RETURNING * INTO p;
            PERFORM set_config('topk.following', 'off', true);
            PERFORM topk._drop_capture(p);   -- their arguments name the time column
            FOREACH member IN ARRAY members LOOP
                PERFORM topk._install_capture(p, member);
            END LOOP;
        END IF;
        -- tables that joined it (created or attached as partitions): captured, and their
        -- rows (if any) counted
        CONTINUE WHEN NOT coalesce(joining, false);
        -- (A distributed source: Citus distributes a new partition after this watch, and
        -- refuses one with triggers; the next run gives it its triggers: topk._collect.)
        CONTINUE WHEN topk._distributed(p);
        FOREACH member IN ARRAY members LOOP
            CONTINUE WHEN topk._captured(p, member);
            PERFORM topk._install_capture(p, member);
            PERFORM topk._mark_table(p, member);
        END LOOP;
    END LOOP;
END $$;

-- A source that is dropped would leave a pipeline reading nothing: refused. A dropped
-- partition takes its rows (and its capture triggers) with it: everything is marked.
CREATE FUNCTION topk._drop_watch() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p topk.pipelines;
    dropped text;
BEGIN
    IF NOT EXISTS (SELECT FROM topk.pipelines) OR current_setting('topk.own_ddl', true) = 'on' THEN
        RETURN;
    END IF;
    FOR p IN SELECT * FROM topk.pipelines ORDER BY name LOOP
        SELECT d.object_identity INTO dropped FROM pg_event_trigger_dropped_objects() d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = p.source AND d.objsubid = 0;
        IF FOUND THEN
            RAISE EXCEPTION 'topk: table % is the source of pipeline %', dropped, quote_ident(p.name)
                USING ERRCODE = 'dependent_objects_still_exist',
                      HINT = format('Drop the pipeline first: SELECT topk.drop_pipeline(%L);', p.name);
        END IF;
        IF EXISTS (SELECT FROM pg_event_trigger_dropped_objects() d
                   WHERE d.object_type = 'trigger' AND d.object_identity LIKE quote_ident(p.trigger_name || '_ins') || ' on %') THEN
            EXECUTE format('INSERT INTO %I.changes (first_hour, last_hour, marked_at) VALUES (NULL, NULL, now())', p.name);
        END IF;
    END LOOP;
END $$;

CREATE EVENT TRIGGER topk_ddl_watch ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE')
    EXECUTE FUNCTION topk._ddl_watch();
CREATE EVENT TRIGGER topk_drop_watch ON sql_drop
    EXECUTE FUNCTION topk._drop_watch();
