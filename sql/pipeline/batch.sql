---------------------------------------------------------------------------------------
-- The batch path
---------------------------------------------------------------------------------------

-- Exact counts (src/tally.rs): topk._tally(item, weight) over events and
-- topk._tally_parts(items, counts, events) over the arrays of finer windows count a
-- window in a hash map; topk._tally_arrays(tally, NULL::item_type) returns its items,
-- counts and events as arrays, largest count first, ties by item. topk._tally is also
-- declared on each item type of a pipeline, with a combine function: on a Citus
-- distributed source each worker tallies its shards (worker_partial_agg) and the
-- coordinator sums the tallies, so an hour moves a tally per shard, not its events.
CREATE FUNCTION topk._tally_trans(bytea, anyelement, bigint) RETURNS bytea
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_tally_trans';
CREATE FUNCTION topk._tally_combine(bytea, bytea) RETURNS bytea
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_tally_combine';
CREATE AGGREGATE topk._tally(anyelement, bigint) (SFUNC = topk._tally_trans, STYPE = bytea,
                                                  COMBINEFUNC = topk._tally_combine, SSPACE = 65536);
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['integer', 'bigint', 'text', 'uuid'] LOOP
        EXECUTE format($f$
            CREATE FUNCTION topk._tally_trans(bytea, %1$s, bigint) RETURNS bytea
                IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_tally_trans';
            CREATE AGGREGATE topk._tally(%1$s, bigint) (SFUNC = topk._tally_trans, STYPE = bytea,
                                                        COMBINEFUNC = topk._tally_combine, SSPACE = 65536)$f$, t);
    END LOOP;
END $$;
CREATE FUNCTION topk._tally_parts_trans(bytea, anyarray, bigint[], bigint[]) RETURNS bytea
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_tally_parts_trans';
CREATE AGGREGATE topk._tally_parts(anyarray, bigint[], bigint[]) (SFUNC = topk._tally_parts_trans, STYPE = bytea,
                                                                 SSPACE = 65536);
CREATE FUNCTION topk._tally_arrays(tally bytea, item anyelement, OUT items anyarray, OUT counts bigint[],
                                   OUT events bigint[])
    IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_tally_arrays';
-- (for the speed path: a space-saving sketch of exact counts, and their sums)
CREATE FUNCTION topk._tally_sketch(tally bytea, capacity integer) RETURNS @extschema@.spacesaving
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_tally_sketch';
CREATE FUNCTION topk._tally_totals(tally bytea, OUT count bigint, OUT events bigint)
    IMMUTABLE PARALLEL SAFE STRICT LANGUAGE C AS 'MODULE_PATHNAME', 'topk_tally_totals';

-- Sets the starting point of the watermarks at a pipeline's first batch run: the
-- earliest captured hour (or the current one). Earlier windows hold no events yet; any
-- that arrive for them later are late events.
CREATE FUNCTION topk._start_progress(p topk.pipelines) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    origin timestamptz;
BEGIN
    IF (SELECT done_until FROM topk.progress WHERE pipeline = p.name AND granularity = 'hour') IS NOT NULL THEN
        RETURN;
    END IF;
    PERFORM topk._collect(p);
    EXECUTE format(
        'SELECT least((SELECT min(hour) FROM %1$I.stale WHERE batch),
                      (SELECT min(window_start) FROM %1$I.speed_table WHERE granularity = ''hour''))',
        p.name) INTO origin;
    origin := least(origin, topk.window_start('hour', topk._clock(p), p.time_zone));
    UPDATE topk.progress
    SET done_until = topk.window_start(granularity, origin, p.time_zone)
    WHERE pipeline = p.name;
END $$;

-- Records the rows of the source left out of an hour (or, hour -infinity, of every
-- window: rows without a usable time).
CREATE FUNCTION topk._count_rejects(p topk.pipelines, hour timestamptz, events bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF events > 0 THEN
        EXECUTE format('INSERT INTO %I.rejects AS r (hour, events, counted_at) VALUES ($1, $2, now())
                        ON CONFLICT (hour) DO UPDATE SET events = excluded.events, counted_at = excluded.counted_at',
                       p.name) USING hour, events;
    ELSE
        EXECUTE format('DELETE FROM %I.rejects WHERE hour = $1', p.name) USING hour;
    END IF;
END $$;

-- The exact counts of some windows of a granularity, computed again: hours from the
-- source, the others from their parts (a day from its hours, or from the source when
-- retention removed them). Replaces the windows' rows; returns the rows read and written.
CREATE FUNCTION topk._batch_windows(p topk.pipelines, granularity text, windows timestamptz[],
                                    OUT rows_read bigint, OUT rows_written bigint)
LANGUAGE plpgsql AS $$
DECLARE
    g record;
    bucket record := topk._hour_sql(p, 'e');
    from_source timestamptz[];
    from_parts timestamptz[];
    cluster timestamptz[];
    w timestamptz;
    n bigint;
    m bigint;
    hours_purged timestamptz := (SELECT purged_until FROM topk.progress
                                 WHERE pipeline = p.name AND progress.granularity = 'hour');
    -- a row's weight, and the events of each item when they differ from its count
    weight_sql text := CASE WHEN p.weight_column IS NULL THEN '1' ELSE format('e.%I::bigint', p.weight_column) END;
    events_sql text := CASE WHEN p.weight_column IS NULL THEN 'NULL::bigint[]' ELSE 'a.events' END;
    bad bigint;
    -- the windows' lists: the first k of their counts, written with them
    returning_sql text := format('RETURNING granularity, window_start, window_end, items[1:%s] AS items, '
                                 'counts[1:%s] AS counts, cardinality(items) AS n', p.k, p.k);
    listed_sql text := format($l$, listed AS (
                    INSERT INTO %I.top_lists (granularity, window_start, window_end, source, items, counts, errors)
                    SELECT granularity, window_start, window_end, 'batch', items, counts, NULL FROM written
                )$l$, p.name);
BEGIN
    rows_read := 0;
    rows_written := 0;
    SELECT * INTO g FROM topk.granularities gr WHERE gr.granularity = _batch_windows.granularity;
    EXECUTE format('DELETE FROM %I.batch_counts WHERE granularity = $1 AND window_start = ANY ($2)', p.name)
    USING granularity, windows;
    EXECUTE format('DELETE FROM %I.top_lists WHERE granularity = $1 AND window_start = ANY ($2)', p.name)
    USING granularity, windows;
    SELECT array_agg(x) FILTER (WHERE g.rolls_up IS NULL
                                OR (g.rolls_up = 'hour' AND topk.window_end(granularity, x, p.time_zone)
                                                            <= coalesce(hours_purged, '-infinity'))),
           array_agg(x) FILTER (WHERE NOT (g.rolls_up IS NULL
                                OR (g.rolls_up = 'hour' AND topk.window_end(granularity, x, p.time_zone)
                                                            <= coalesce(hours_purged, '-infinity'))))
    INTO from_source, from_parts FROM unnest(windows) x;
    -- hours: one scan of the source per cluster of hours (less than a day apart), grouped
    -- by hour and item
    IF granularity = 'hour' THEN
        EXECUTE format('DELETE FROM %I.rejects WHERE hour = ANY ($1)', p.name) USING from_source;
        -- (and, from the same scan, the hours' distinct-count sketches)
        EXECUTE format('DELETE FROM %I.distinct_sketches WHERE granularity = ''hour'' AND window_start = ANY ($1)', p.name)
        USING from_source;
        FOR cluster IN SELECT c FROM topk._clusters(from_source) c LOOP
            EXECUTE format($q$
                WITH grouped AS MATERIALIZED (
                    SELECT %8$s AS hour, tally, events, rejected, distinct_sketch
                    FROM (SELECT %9$s AS bucket, topk._tally(e.%2$I, %3$s) FILTER (WHERE %5$s) AS tally,
                                 %14$s AS distinct_sketch,
                                 count(*) FILTER (WHERE %5$s) AS events, count(*) FILTER (WHERE NOT (%5$s)) AS rejected
                          FROM %4$s AS e
                          WHERE %6$s
                          GROUP BY 1) b
                ), wanted AS MATERIALIZED (
                    SELECT g.* FROM grouped g JOIN unnest($1) AS w(hour) ON w.hour = g.hour
                ), written AS (
                    INSERT INTO %1$I.batch_counts (granularity, window_start, window_end, items, counts, events)
                    SELECT 'hour', hour, %10$s, a.items, a.counts, %7$s
                    FROM wanted CROSS JOIN LATERAL topk._tally_arrays(tally, NULL::%11$s) a
                    WHERE tally IS NOT NULL
                    %12$s
                )%13$s, rejected AS (
                    INSERT INTO %1$I.rejects (hour, events, counted_at)
                    SELECT hour, rejected, now() FROM wanted WHERE rejected > 0
                ), distinct_counts AS (
                    INSERT INTO %1$I.distinct_sketches (granularity, window_start, window_end, sketch, distinct_count)
                    SELECT 'hour', hour, %10$s, distinct_sketch, @extschema@.hll_count(distinct_sketch)
                    FROM wanted WHERE distinct_sketch IS NOT NULL
                )
                SELECT coalesce(sum(events), 0), (SELECT coalesce(sum(n), 0) FROM written), coalesce(sum(rejected), 0)
                FROM wanted$q$,
                p.name, p.item_column, weight_sql, p.source, topk._valid_sql(p, 'e'), topk._range_sql(p, 'e', '$2', '$3'),
                events_sql, format(bucket.hour, 'bucket'), bucket.key, format(bucket.hour_end, 'hour'), p.item_type,
                returning_sql, listed_sql,
                CASE WHEN p.distinct_column IS NULL THEN 'NULL::@extschema@.topk_hll'
                     ELSE format('@extschema@.hll_agg(e.%I) FILTER (WHERE %s)', p.distinct_column,
                                 topk._valid_sql(p, 'e')) END)
            INTO n, m, bad USING cluster, cluster[1], topk.window_end('hour', cluster[cardinality(cluster)], p.time_zone);
            rows_read := rows_read + n + bad;
            rows_written := rows_written + m;
        END LOOP;
        from_source := NULL;
    END IF;
    -- other windows from the source (where retention removed their hours): one at a time
    FOREACH w IN ARRAY coalesce(from_source, '{}') LOOP
        EXECUTE format($q$
            WITH grouped AS MATERIALIZED (
                SELECT topk._tally(e.%2$I, %3$s) AS tally, count(*) AS events
                FROM %4$s AS e
                WHERE %5$s AND %6$s
            ), written AS (
                INSERT INTO %1$I.batch_counts (granularity, window_start, window_end, items, counts, events)
                SELECT $1, $2, $3, a.items, a.counts, %7$s
                FROM grouped CROSS JOIN LATERAL topk._tally_arrays(tally, NULL::%8$s) a
                WHERE tally IS NOT NULL
                %9$s
            )%10$s
            SELECT (SELECT events FROM grouped), (SELECT coalesce(sum(n), 0) FROM written)$q$,
            p.name, p.item_column, weight_sql, p.source, topk._valid_sql(p, 'e'), topk._range_sql(p, 'e', '$2', '$3'),
            events_sql, p.item_type, returning_sql, listed_sql)
        INTO n, m USING granularity, w, topk.window_end(granularity, w, p.time_zone);
        rows_read := rows_read + n;
        rows_written := rows_written + m;
    END LOOP;
    IF from_parts IS NOT NULL THEN
        EXECUTE format($q$
            WITH w AS MATERIALIZED (
                SELECT s AS window_start, topk.window_end($1, s, %2$L) AS window_end FROM unnest($2) s
            ), grouped AS MATERIALIZED (
                SELECT w.window_start, w.window_end, topk._tally_parts(b.items, b.counts, b.events) AS tally,
                       sum(cardinality(b.items)) AS parts
                FROM w
                JOIN %1$I.batch_counts b
                  ON b.granularity = $3 AND b.window_start >= w.window_start AND b.window_start < w.window_end
                GROUP BY w.window_start, w.window_end
            ), written AS (
                INSERT INTO %1$I.batch_counts (granularity, window_start, window_end, items, counts, events)
                SELECT $1, window_start, window_end, a.items, a.counts, %3$s
                FROM grouped CROSS JOIN LATERAL topk._tally_arrays(tally, NULL::%4$s) a
                WHERE tally IS NOT NULL
                %5$s
            )%6$s
            SELECT (SELECT coalesce(sum(parts), 0) FROM grouped), (SELECT coalesce(sum(n), 0) FROM written)$q$,
            p.name, p.time_zone, events_sql, p.item_type, returning_sql, listed_sql)
        INTO n, m USING granularity, from_parts, g.rolls_up;
        rows_read := rows_read + n;
        rows_written := rows_written + m;
    END IF;
END $$;

-- Changed final windows: up to a day of stale hours that the batch has finished are read
-- again from the source, then every final window above them is summed again from its
-- parts, and those windows' lists are regenerated; the open windows above them merge
-- again (their final parts changed). A long backlog takes several tasks (run_batch
-- loops), each a transaction of its own.
CREATE FUNCTION topk._fold_late(pipeline_name text) RETURNS topk.task_result
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline_name);
    r topk.task_result;
    hours timestamptz[];
    g record;
    windows timestamptz[];
    starts timestamptz[] := '{}';
    done record;
    parents record;
BEGIN
    PERFORM topk._collect(p);
    EXECUTE format($q$
        WITH taken AS (
            UPDATE %1$I.stale SET batch = false
            WHERE hour IN (SELECT hour FROM %1$I.stale
                           WHERE batch AND hour < (SELECT done_until FROM topk.progress
                                                   WHERE pipeline = %2$L AND granularity = 'hour')
                           ORDER BY hour LIMIT 24)
            RETURNING hour
        )
        SELECT array_agg(hour ORDER BY hour) FILTER (WHERE hour >= $1) FROM taken$q$, p.name, p.name)
    INTO hours USING topk._raw_kept_from(p);
    EXECUTE format('DELETE FROM %I.stale WHERE NOT speed AND NOT batch', p.name);
    r.rows_read := 0;
    r.rows_written := 0;
    r.events := 0;
    IF hours IS NULL THEN
        r.windows := 0;
        RETURN r;
    END IF;
    FOR g IN SELECT gr.granularity, pr.done_until, pr.purged_until
             FROM topk.granularities gr JOIN topk.progress pr ON pr.pipeline = p.name AND pr.granularity = gr.granularity
             ORDER BY gr.level LOOP
        SELECT array_agg(w ORDER BY w) INTO windows
        FROM unnest(topk._windows_of(g.granularity, hours, p.time_zone)) w,
             LATERAL (SELECT topk.window_end(g.granularity, w, p.time_zone) AS e) e
        WHERE e.e <= g.done_until AND NOT e.e <= coalesce(g.purged_until, '-infinity');
        CONTINUE WHEN windows IS NULL;
        done := topk._batch_windows(p, g.granularity, windows);
        IF g.granularity = 'hour' THEN
            r.events := done.rows_read;
        END IF;
        r.rows_read := r.rows_read + done.rows_read;
        r.rows_written := r.rows_written + done.rows_written;
        starts := starts || windows;
    END LOOP;
    r.windows := cardinality(starts);
    parents := topk._speed_parents(p, hours);
    PERFORM topk._speed_lists(p, parents.granularities, parents.starts);
    RETURN r;
END $$;

-- Why a window of a granularity cannot be rolled up now, or NULL if it can: it must be
-- the next one, due by the clock, and its dependencies final.
CREATE FUNCTION topk._not_ready(p topk.pipelines, granularity text, start timestamptz) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g record;
    pr topk.progress;
    dep topk.progress;
    finish timestamptz := topk.window_end(granularity, start, p.time_zone);
BEGIN
    SELECT * INTO g FROM topk.granularities WHERE granularities.granularity = _not_ready.granularity;
    IF NOT FOUND THEN
        RETURN format('%s is not a granularity (hour, day, week, month or year)', quote_literal(granularity));
    END IF;
    IF start <> topk.window_start(granularity, start, p.time_zone) THEN
        RETURN format('%s is not the start of a %s in time zone %s', start, granularity, p.time_zone);
    END IF;
    SELECT * INTO pr FROM topk.progress WHERE pipeline = p.name AND progress.granularity = _not_ready.granularity;
    IF pr.done_until IS NULL THEN
        RETURN 'the pipeline has not started its batch path yet (run topk.run_batch)';
    ELSIF start < pr.done_until THEN
        RETURN format('the %s starting %s is already final', granularity, start);
    ELSIF start > pr.done_until THEN
        RETURN format('the %ss before it are not final yet: the next %s to roll up starts %s',
                      granularity, granularity, pr.done_until);
    ELSIF finish + p.allowed_lateness > topk._clock(p) THEN
        RETURN format('the %s starting %s is not due until %s (its end plus the allowed lateness %s)',
                      granularity, start, finish + p.allowed_lateness, p.allowed_lateness);
    END IF;
    IF g.rolls_up IS NOT NULL THEN
        SELECT * INTO dep FROM topk.progress WHERE pipeline = p.name AND progress.granularity = g.rolls_up;
        IF dep.done_until IS NULL OR finish > dep.done_until THEN
            RETURN format('the %s starting %s needs its %ss, which are final only until %s',
                          granularity, start, g.rolls_up, dep.done_until);
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- How much one rollup task does at most: after an outage (or a backfill) the batch works
-- through its backlog in transactions of up to about 2M events of the source (hours, by
-- the planner's estimate; the setting topk.events_per_task changes it) and up to 31
-- windows of the other granularities.
CREATE FUNCTION topk._events_per_task() RETURNS bigint LANGUAGE sql STABLE
RETURN greatest(coalesce(nullif(current_setting('topk.events_per_task', true), '')::bigint, 2000000), 1);
CREATE FUNCTION topk._windows_per_task(granularity text) RETURNS integer LANGUAGE sql IMMUTABLE
RETURN CASE granularity WHEN 'hour' THEN 24 * 31 ELSE 31 END;

-- The planner's estimate of the source's rows in the hours [lo, hi).
CREATE FUNCTION topk._estimate_rows(p topk.pipelines, lo timestamptz, hi timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT FROM %s AS e WHERE %s', p.source,
                   topk._range_sql(p, 'e', quote_literal(lo) || '::timestamptz', quote_literal(hi) || '::timestamptz'))
    INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint;
END $$;

-- Rolls up the next window of a granularity and the ones after it that are ready too (up
-- to _windows_per_task and _events_per_task), in the caller's transaction; when none of
-- them has anything to roll up, also the following windows that have nothing either and
-- are ready. Returns NULL if another run already did it.
CREATE FUNCTION topk._rollup(pipeline_name text, granularity text, start timestamptz) RETURNS topk.task_result
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline_name);
    g record;
    r topk.task_result;
    why text;
    finish timestamptz := topk.window_end(granularity, start, p.time_zone);
    ready_until timestamptz;
    next_input timestamptz;
    windows timestamptz[] := ARRAY[start];
    estimate bigint;
BEGIN
    IF (SELECT done_until FROM topk.progress pr
        WHERE pr.pipeline = p.name AND pr.granularity = _rollup.granularity) > start THEN
        RETURN NULL;   -- finished by an overlapping run
    END IF;
    why := topk._not_ready(p, granularity, start);
    IF why IS NOT NULL THEN
        RAISE EXCEPTION 'topk: cannot roll up: %', why USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT * INTO g FROM topk.granularities WHERE granularities.granularity = _rollup.granularity;
    r.window_start := start;
    r.rows_read := 0;
    r.rows_written := 0;
    -- the windows are ready until the clock (less the allowed lateness) and the end of
    -- the final windows they roll up
    ready_until := least(topk._clock(p) - p.allowed_lateness,
                         (SELECT done_until FROM topk.progress pr
                          WHERE pr.pipeline = p.name AND pr.granularity = g.rolls_up));
    ready_until := topk.window_start(granularity, ready_until, p.time_zone);
    -- (after a failed attempt at a task that may have held this window, one window at a
    -- time: the windows before the one that fails become final)
    IF NOT EXISTS (SELECT FROM topk.job_log j
                   WHERE j.pipeline = p.name AND j.status = 'failed' AND j.task = _rollup.granularity
                     AND j.window_start <= start
                     AND j.window_start > start - (topk._windows_per_task(granularity) || ' ' || granularity)::interval) THEN
        IF granularity = 'hour' AND (topk._hour_sql(p, 'e')).uniform THEN
            -- (hours of an hour each)
            windows := windows || ARRAY(SELECT generate_series(finish, ready_until - interval '1 hour', interval '1 hour')
                                        LIMIT topk._windows_per_task(granularity) - 1);
            finish := windows[cardinality(windows)] + interval '1 hour';
        END IF;
        WHILE finish < ready_until AND cardinality(windows) < topk._windows_per_task(granularity) LOOP
            windows := windows || finish;
            finish := topk.window_end(granularity, finish, p.time_zone);
        END LOOP;
    END IF;
    IF granularity = 'hour' AND cardinality(windows) > 1 AND p.mode = 'lambda' THEN
        estimate := topk._estimate_rows(p, start, finish);
        IF estimate > topk._events_per_task() THEN
            windows := windows[1:greatest(1, (cardinality(windows) * topk._events_per_task() / estimate)::integer)];
            finish := topk.window_end(granularity, windows[cardinality(windows)], p.time_zone);
        END IF;
    END IF;

    IF p.mode = 'lambda' THEN
        IF granularity = 'hour' THEN
            EXECUTE format('UPDATE %I.stale SET batch = false WHERE batch AND hour >= $1 AND hour < $2', p.name)
            USING start, finish;
        END IF;
        -- (the speed lists of the windows move aside before the batch lists replace them)
        PERFORM topk._supersede_speed(p, granularity, start, finish);
        SELECT d.rows_read, d.rows_written INTO r.rows_read, r.rows_written
        FROM topk._batch_windows(p, granularity, windows) d;
    END IF;
    r.window_end := finish;

    -- Nothing to roll up (or kappa mode): also finalise the following windows that are
    -- ready and have no input either, as one task.
    IF r.rows_read = 0 THEN
        IF p.mode = 'lambda' THEN
            IF granularity = 'hour' THEN
                EXECUTE format('SELECT min(hour) FROM %I.stale WHERE batch AND hour >= $1', p.name)
                INTO next_input USING finish;
            ELSE
                EXECUTE format('SELECT min(window_start) FROM %I.batch_counts WHERE granularity = $2 AND window_start >= $1',
                               p.name)
                INTO next_input USING finish, g.rolls_up;
                next_input := topk.window_start(granularity, next_input, p.time_zone);
            END IF;
            ready_until := least(ready_until, next_input);
        END IF;
        finish := greatest(finish, ready_until);
    END IF;
    IF p.mode = 'lambda' AND finish > r.window_end THEN
        PERFORM topk._supersede_speed(p, granularity, r.window_end, finish);
    END IF;
    r.window_end := finish;
    UPDATE topk.progress pr
    SET done_until = finish,
        last_done = topk.window_start(_rollup.granularity, finish - interval '1 microsecond', p.time_zone)
    WHERE pr.pipeline = p.name AND pr.granularity = _rollup.granularity;
    RETURN r;
END $$;
