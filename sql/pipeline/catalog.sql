-- The Lambda pipeline: schema topk.
--
-- Point topk_pg at an events table, schedule two procedures, and every dashboard
-- becomes `SELECT … FROM <pipeline>.top_1000`:
--
--   SELECT topk.create_pipeline('sales', 'sales_events', 'product_id', 'event_time');
--   SELECT topk.schedule('sales');          -- pg_cron: run_speed every minute, run_batch every 5
--   SELECT item, count FROM sales.top_1000
--   WHERE granularity = 'day' AND window_start = '2024-01-01' ORDER BY rank LIMIT 10;
--
-- How it works (docs/pipeline.md is the DBA's guide):
--
-- THE SOURCE IS THE TRUTH. The events table belongs to the application; the pipeline
--   reads it. topk.create_pipeline puts four statement triggers (INSERT, UPDATE, DELETE,
--   TRUNCATE; the TRUNCATE one ENABLE ALWAYS) on the source and on each of its
--   partitions, and on each table that holds rows a row trigger ENABLE REPLICA: sessions
--   with session_replication_role = replica (a logical replication apply worker, which
--   fires no statement triggers for rows; bulk loaders) are marked row by row. topk._capture (src/capture.rs) only marks
--   which hours a statement touched: one row per run of hours in <name>.changes, written
--   without SQL; TRUNCATE marks everything; it raises no error of its own. The event
--   triggers topk_ddl_watch and topk_drop_watch give new partitions their triggers, mark
--   the rows of partitions that are attached or detached (a dropped one marks
--   everything), follow a renamed column, and refuse a retyped or dropped column and a
--   dropped source with an error naming the pipeline. On a Citus distributed source the
--   triggers are on its shards and mark into <name>.shard_changes, co-located with it.
--
-- EXACT BY REPLACEMENT. The runs move the marks into <name>.stale (an hour per row,
--   flagged for the speed and the batch path) and recompute those hours from the
--   source, and every window above them from its parts: never increments, so UPDATE,
--   DELETE, TRUNCATE and reloads come out right, and a run that repeats work is
--   harmless. A mark committed after a run took the marks stays for the next run; a row
--   committed before it is in the source the run reads. Every task takes the pipeline's
--   advisory lock (transaction scope), so runs of one pipeline never interleave.
--   topk.refresh(name, from, to) marks a range by hand (changes nothing could mark).
--
-- SPEED PATH (topk.run_speed). Reads the stale hours not yet final from the source into
--   a space-saving sketch per hour (and a HyperLogLog sketch of the distinct column) in
--   <name>.speed_table, merges the windows above them (day, week, month, year) from their
--   parts, where a part the batch has finished contributes its exact counts, and
--   regenerates those windows' top-k lists. Rows more than a day ahead of the clock wait.
--
-- BATCH PATH (topk.run_batch). Exact counts in <name>.batch_counts, a row per window with
--   its items and counts in arrays, largest first (the view batch_table: a row per item). Progress is one watermark per granularity
--   in topk.progress: every window ending at or before done_until is final. run_batch
--   runs, each task in its own transaction (COMMIT between windows):
--     1. late: up to a day of stale hours already final are read again from the source,
--        the final windows above them summed again from their parts, and their top-k
--        lists regenerated (a long backlog takes several tasks);
--     2. rollups in dependency order, each window only when it is due (its end plus the
--        allowed lateness has passed by the pipeline clock) and its dependencies are
--        final (a day needs its hours, a week and a month their days, a year its months):
--        hour = GROUP BY over the source, the others = sums of their parts. Each rollup
--        writes its counts, retires the speed rows it supersedes (their top-k list is
--        kept in <name>.superseded_speed_lists for topk.accuracy) and swaps in the exact
--        top-k; a run of windows with nothing to roll up is finalised as one task;
--     3. retention (settings keep_raw_events, keep_hours, keep_speed, keep_job_log).
--   Kappa mode (mode => 'kappa') has no batch path: the speed sketches are the answer,
--   and run_batch only closes windows (for status and retention).
--
-- BAD ROWS. Rows without an item or a usable time (NULL, ±infinity), and weights below 0
--   or above topk._max_weight(), are left out of every count and counted per hour in
--   <name>.rejects; topk.pipeline_status shows the total (rejected_events).
--
-- PROGRESS. Each task prints a NOTICE when it has committed (one per window rolled up,
--   one per run_speed), and while it runs its session's application_name names it, so
--   that topk.running shows other sessions the tasks in progress (with pg_locks);
--   topk.pipeline_status is what monitoring polls (lag, last final windows, failures).
--
-- READ PATH. <name>.top_lists holds, for each window, the batch top-k when the batch has
--   finished that window, else the speed top-k; the procedures swap a window's list in
--   one transaction, a row of arrays per window. <name>.top_<k> is a plain view over it
--   that reads the arrays rank by rank in the order of <name>.ranks: a dashboard query
--   for one window's first n ranks reads n ranks and sorts nothing.
--
-- Windows are aligned in the pipeline's time zone (default UTC; weeks start on
-- Monday). The pipeline clock is now(), or topk.pipelines.clock when set (tests, replays).
-- Procedures are SECURITY INVOKER and work for a non-superuser who owns the source;
-- writers need no rights on the pipeline's tables (the capture trigger writes its marks
-- without SQL). The SECURITY DEFINER functions are the two event trigger functions, with
-- their search_path set. Every identifier in dynamic SQL goes through format('%I').

CREATE SCHEMA topk;
COMMENT ON SCHEMA topk IS 'topk_pg Lambda pipeline: catalog, procedures and views';
GRANT USAGE ON SCHEMA topk TO PUBLIC;

---------------------------------------------------------------------------------------
-- Catalog
---------------------------------------------------------------------------------------

CREATE TABLE topk.pipelines (
    name             text PRIMARY KEY,
    source           regclass NOT NULL,
    item_column      text NOT NULL,
    time_column      text NOT NULL,
    weight_column    text,
    distinct_column  text,
    k                integer NOT NULL,
    mode             text NOT NULL CHECK (mode IN ('lambda', 'kappa')),
    item_type        text NOT NULL,            -- format_type() of the item column
    time_type        text NOT NULL CHECK (time_type IN ('timestamptz', 'timestamp', 'date')),
    time_zone        text NOT NULL,            -- windows are aligned in this zone
    capacity         integer NOT NULL,         -- space-saving capacity of the speed sketches
    trigger_name     text NOT NULL,            -- the capture triggers are <trigger_name>_ins, _upd, _del, _trunc
    -- settings (UPDATE topk.pipelines SET … WHERE name = …)
    allowed_lateness interval NOT NULL DEFAULT '5 minutes' CHECK (allowed_lateness >= '0'),
    keep_raw_events  interval CHECK (keep_raw_events >= '0'),  -- NULL: keep for ever
    keep_hours       interval CHECK (keep_hours >= '0'),
    keep_speed       interval CHECK (keep_speed >= '0'),
    keep_job_log     interval DEFAULT '30 days' CHECK (keep_job_log >= '0'),
    clock            timestamptz,              -- NULL: the pipeline clock is now()
    owner            regrole NOT NULL DEFAULT current_user::regrole,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- the columns read, by number (renames are followed) and type (since 0.4.0)
    item_attnum      smallint NOT NULL,
    time_attnum      smallint NOT NULL,
    weight_attnum    smallint,
    distinct_attnum  smallint,
    weight_type      text,
    distinct_type    text
);
COMMENT ON TABLE topk.pipelines IS
    'one row per pipeline; the settings (allowed_lateness, keep_*, clock) can be changed with UPDATE';

-- No foreign key to topk.pipelines: pg_restore -j loads the rows of the extension's
-- tables (pg_extension_config_dump) in parallel, these maybe before those of
-- topk.pipelines, and the key would refuse them. drop_pipeline deletes them; the policy
-- below admits only rows of one's own pipelines.
CREATE TABLE topk.progress (
    pipeline     text NOT NULL,             -- a pipeline of topk.pipelines
    granularity  text NOT NULL,
    done_until   timestamptz,   -- every window of this granularity ending at or before this is final
    last_done    timestamptz,   -- start of the last window a task finalised
    purged_until timestamptz,   -- retention removed the rows of windows ending at or before this
    PRIMARY KEY (pipeline, granularity)
);
COMMENT ON TABLE topk.progress IS 'per pipeline and granularity: how far the windows are final';

CREATE TABLE topk.job_log (
    id           bigserial PRIMARY KEY,
    pipeline     text NOT NULL,
    task         text NOT NULL,         -- speed, late, hour, day, week, month, year, retention
    window_start timestamptz,
    window_end   timestamptz,
    rows_read    bigint,
    rows_written bigint,
    started      timestamptz NOT NULL,
    duration     interval,
    status       text NOT NULL CHECK (status IN ('ok', 'failed')),
    error        text,
    pid          integer DEFAULT pg_backend_pid()   -- the session that ran the task
);
CREATE INDEX job_log_pipeline_started ON topk.job_log (pipeline, started);
CREATE INDEX job_log_failures ON topk.job_log (pipeline, started) WHERE status = 'failed';
COMMENT ON TABLE topk.job_log IS 'one row per task run of the pipelines';
COMMENT ON COLUMN topk.job_log.pid IS 'process id of the session that ran the task (see topk.running)';

SELECT pg_catalog.pg_extension_config_dump('topk.pipelines', '');
SELECT pg_catalog.pg_extension_config_dump('topk.progress', '');
SELECT pg_catalog.pg_extension_config_dump('topk.job_log', '');
SELECT pg_catalog.pg_extension_config_dump('topk.job_log_id_seq', '');   -- so that pg_dump keeps its value

-- Anyone may create pipelines on the tables they own; each role sees and changes only the
-- pipelines of the roles it is a member of.
GRANT SELECT, INSERT, UPDATE, DELETE ON topk.pipelines, topk.progress, topk.job_log TO PUBLIC;
GRANT USAGE ON SEQUENCE topk.job_log_id_seq TO PUBLIC;
ALTER TABLE topk.pipelines ENABLE ROW LEVEL SECURITY;
ALTER TABLE topk.progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE topk.job_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_pipelines ON topk.pipelines
    USING (pg_has_role(owner, 'MEMBER'));
-- Readers of a pipeline (USAGE on its schema, as topk.grant_read gives) see its row too,
-- so that its query functions (topk_range, trending) work for them; they still cannot
-- change it or run its procedures.
CREATE POLICY read_pipelines ON topk.pipelines FOR SELECT
    USING (EXISTS (SELECT FROM pg_catalog.pg_namespace n
                   WHERE n.nspname = name AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')));
CREATE POLICY own_pipelines ON topk.progress
    USING (pipeline IN (SELECT name FROM topk.pipelines));
CREATE POLICY own_pipelines ON topk.job_log
    USING (pipeline IN (SELECT name FROM topk.pipelines));

-- (Update scripts replay the pipeline's SQL from here on: scripts/update-script.sh.)

-- The shape of a pipeline is fixed when it is created; only its settings change (and
-- the column names, when topk._ddl_watch follows a rename).
CREATE FUNCTION topk._pipelines_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('topk.following', true) = 'on' THEN
        RETURN NEW;
    END IF;
    IF (NEW.name, NEW.source, NEW.item_column, NEW.time_column, NEW.weight_column,
        NEW.distinct_column, NEW.k, NEW.mode, NEW.item_type, NEW.time_type, NEW.time_zone,
        NEW.capacity, NEW.trigger_name, NEW.owner)
       IS DISTINCT FROM
       (OLD.name, OLD.source, OLD.item_column, OLD.time_column, OLD.weight_column,
        OLD.distinct_column, OLD.k, OLD.mode, OLD.item_type, OLD.time_type, OLD.time_zone,
        OLD.capacity, OLD.trigger_name, OLD.owner) THEN
        RAISE EXCEPTION 'topk: only the settings of pipeline % can change', OLD.name
            USING HINT = 'allowed_lateness, keep_raw_events, keep_hours, keep_speed, keep_job_log '
                         'and clock are settings; for anything else drop and re-create the pipeline.';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER guard BEFORE UPDATE ON topk.pipelines
    FOR EACH ROW EXECUTE FUNCTION topk._pipelines_guard();

-- The number of a table's column (NULL: no such column).
CREATE FUNCTION topk._attnum(tbl regclass, name text) RETURNS smallint
LANGUAGE sql STABLE
RETURN (SELECT a.attnum FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = tbl AND a.attname = name AND a.attnum > 0 AND NOT a.attisdropped);

-- A catalog row's column numbers are those of its source as it is when the row comes in.
-- pg_restore loads the dumped rows (pg_extension_config_dump) into tables pg_dump made
-- again without their dropped columns, where the columns may have other numbers; their
-- names are right at that moment (topk._ddl_watch follows renames by number from then
-- on). ALWAYS: also when session_replication_role is replica.
CREATE FUNCTION topk._pipelines_columns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.item_attnum := coalesce(topk._attnum(NEW.source, NEW.item_column), NEW.item_attnum);
    NEW.time_attnum := coalesce(topk._attnum(NEW.source, NEW.time_column), NEW.time_attnum);
    NEW.weight_attnum := coalesce(topk._attnum(NEW.source, NEW.weight_column), NEW.weight_attnum);
    NEW.distinct_attnum := coalesce(topk._attnum(NEW.source, NEW.distinct_column), NEW.distinct_attnum);
    RETURN NEW;
END $$;
CREATE TRIGGER columns BEFORE INSERT ON topk.pipelines
    FOR EACH ROW EXECUTE FUNCTION topk._pipelines_columns();
ALTER TABLE topk.pipelines ENABLE ALWAYS TRIGGER columns;

