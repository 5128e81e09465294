---------------------------------------------------------------------------------------
-- The speed path
---------------------------------------------------------------------------------------
-- The hours marked stale are read again from the source: a space-saving sketch per hour
-- that is not final (every hour in kappa mode) and a HyperLogLog sketch of the distinct
-- column per hour. The windows above them are merged from their parts: a day from its
-- hours, a week and a month from their days, a year from its months, where a part the
-- batch has finished contributes a sketch of its exact counts. Replacement, not
-- increments: the sketches of a window always describe the source as it was read.

-- Hours less than a day apart, as clusters read with one range scan each.
CREATE FUNCTION topk._clusters(hours timestamptz[]) RETURNS SETOF timestamptz[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(x ORDER BY x) FROM (
        SELECT x, sum(gap) OVER (ORDER BY x) AS cluster FROM (
            SELECT x, CASE WHEN x - lag(x) OVER (ORDER BY x) <= interval '1 day' THEN 0 ELSE 1 END AS gap
            FROM unnest(hours) x) gaps) numbered
    GROUP BY cluster ORDER BY cluster
$$;

-- Recomputes the sketches of some hours from the source. Returns the events read.
CREATE FUNCTION topk._speed_hours(p topk.pipelines, hours timestamptz[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    bucket record := topk._hour_sql(p, 'e');
    cluster timestamptz[];
    final boolean;
    events bigint := 0;
    n bigint;
    final_until timestamptz := CASE WHEN p.mode = 'lambda' THEN
        (SELECT done_until FROM topk.progress WHERE pipeline = p.name AND granularity = 'hour') END;
BEGIN
    EXECUTE format('DELETE FROM %I.speed_table WHERE granularity = ''hour'' AND window_start = ANY ($1)', p.name)
    USING hours;
    EXECUTE format('DELETE FROM %I.distinct_sketches WHERE granularity = ''hour'' AND window_start = ANY ($1)', p.name)
    USING hours;
    -- (the final hours of a cluster, in lambda mode, get a distinct-count sketch only)
    FOR cluster, final IN SELECT array_agg(h ORDER BY h), h < coalesce(final_until, '-infinity')
                          FROM topk._clusters(hours) WITH ORDINALITY AS c(hours, i), unnest(c.hours) h
                          GROUP BY c.i, 2 ORDER BY c.i, 2 DESC LOOP
        EXECUTE format($q$
            WITH per_hour AS MATERIALIZED (
                SELECT %1$s AS hour, sketch, events, count, distinct_sketch
                FROM (SELECT %2$s AS bucket, %3$s AS sketch,
                             count(*) AS events, %4$s AS count, %5$s AS distinct_sketch
                      FROM %6$s AS e
                      WHERE %7$s AND %8$s
                      GROUP BY 1) b
            ), speed AS (
                INSERT INTO %9$I.speed_table (granularity, window_start, window_end, sketch, events, count, updated_at)
                SELECT 'hour', hour, %10$s, sketch, events, count, now()
                FROM per_hour WHERE hour = ANY ($1) AND NOT hour < $2
            ), distinct_counts AS (
                INSERT INTO %9$I.distinct_sketches (granularity, window_start, window_end, sketch, distinct_count)
                SELECT 'hour', hour, %10$s, distinct_sketch,
                       @extschema@.hll_count(distinct_sketch)
                FROM per_hour WHERE hour = ANY ($1) AND distinct_sketch IS NOT NULL
            )
            SELECT coalesce(sum(events), 0) FROM per_hour WHERE hour = ANY ($1)$q$,
            format(bucket.hour, 'bucket'), bucket.key,
            CASE WHEN final THEN 'NULL::@extschema@.spacesaving'
                 ELSE format('@extschema@.topk_agg(e.%I%s, %s)', p.item_column,
                             CASE WHEN p.weight_column IS NULL THEN '' ELSE format(', e.%I::bigint', p.weight_column) END,
                             p.capacity) END,
            CASE WHEN p.weight_column IS NULL THEN 'count(*)' ELSE format('sum(e.%I)', p.weight_column) END,
            CASE WHEN p.distinct_column IS NULL THEN 'NULL::@extschema@.topk_hll'
                 ELSE format('@extschema@.hll_agg(e.%I)', p.distinct_column) END,
            p.source, topk._valid_sql(p, 'e') || ' AND ' || topk._horizon_sql(p, 'e'),
            topk._range_sql(p, 'e', '$3', '$4'), p.name, format(bucket.hour_end, 'hour'))
        INTO n
        USING cluster, coalesce(final_until, '-infinity'), cluster[1],
              topk.window_end('hour', cluster[cardinality(cluster)], p.time_zone);
        events := events + n;
    END LOOP;
    RETURN events;
END $$;

-- Merges again the windows above some hours from their parts: the speed sketches of the
-- windows not final (all in kappa mode), the distinct-count sketches of all (but those
-- whose hours retention removed). Returns the speed windows it wrote or emptied.
CREATE FUNCTION topk._speed_parents(p topk.pipelines, hours timestamptz[],
                                    OUT granularities text[], OUT starts timestamptz[])
LANGUAGE plpgsql AS $$
DECLARE
    g record;
    windows timestamptz[];
    lambda boolean := p.mode = 'lambda';
    hours_purged timestamptz := (SELECT purged_until FROM topk.progress
                                 WHERE pipeline = p.name AND granularity = 'hour');
BEGIN
    granularities := '{}';
    starts := '{}';
    FOR g IN SELECT gr.granularity, gr.rolls_up, pr.done_until
             FROM topk.granularities gr JOIN topk.progress pr ON pr.pipeline = p.name AND pr.granularity = gr.granularity
             WHERE gr.level > 1 ORDER BY gr.level LOOP
        windows := topk._windows_of(g.granularity, hours, p.time_zone);
        -- speed sketches
        EXECUTE format($q$
            SELECT array_agg(s) FROM unnest($1) s
            WHERE NOT ($2 AND topk.window_end(%1$L, s, %2$L) <= coalesce($3, '-infinity'))$q$,
            g.granularity, p.time_zone)
        INTO windows USING windows, lambda, g.done_until;
        IF windows IS NOT NULL THEN
            EXECUTE format('DELETE FROM %I.speed_table WHERE granularity = $1 AND window_start = ANY ($2)', p.name)
            USING g.granularity, windows;
            EXECUTE format($q$
                WITH w AS MATERIALIZED (
                    SELECT s AS window_start, topk.window_end(%2$L, s, %3$L) AS window_end FROM unnest($1) s
                ), parts AS (
                    SELECT w.window_start, w.window_end, s.sketch, s.events, s.count
                    FROM w JOIN %1$I.speed_table s
                      ON s.granularity = %4$L AND s.window_start >= w.window_start AND s.window_start < w.window_end
                    UNION ALL
                    SELECT x.window_start, x.window_end, topk._tally_sketch(x.tally, %5$s), t.events, t.count
                    FROM (SELECT w.window_start, w.window_end, topk._tally_parts(b.items, b.counts, b.events) AS tally
                          FROM w JOIN %1$I.batch_counts b
                            ON b.granularity = %4$L AND b.window_start >= w.window_start AND b.window_start < w.window_end
                          WHERE $2
                          GROUP BY 1, 2) x
                    CROSS JOIN LATERAL topk._tally_totals(x.tally) t
                )
                INSERT INTO %1$I.speed_table (granularity, window_start, window_end, sketch, events, count, updated_at)
                SELECT %2$L, window_start, window_end, @extschema@.topk_merge_agg(sketch), sum(events), sum(count), now()
                FROM parts GROUP BY window_start, window_end$q$,
                p.name, g.granularity, p.time_zone, g.rolls_up, p.capacity)
            USING windows, lambda;
            granularities := granularities || array_fill(g.granularity, ARRAY[cardinality(windows)]);
            starts := starts || windows;
        END IF;
        -- distinct-count sketches
        IF p.distinct_column IS NOT NULL THEN
            SELECT array_agg(w ORDER BY w) INTO windows FROM unnest(topk._windows_of(g.granularity, hours, p.time_zone)) w
            WHERE NOT (g.rolls_up = 'hour' AND topk.window_end(g.granularity, w, p.time_zone) <= coalesce(hours_purged, '-infinity'));
            CONTINUE WHEN windows IS NULL;
            EXECUTE format('DELETE FROM %I.distinct_sketches WHERE granularity = $1 AND window_start = ANY ($2)', p.name)
            USING g.granularity, windows;
            EXECUTE format($q$
                WITH w AS MATERIALIZED (
                    SELECT s AS window_start, topk.window_end(%2$L, s, %3$L) AS window_end FROM unnest($1) s
                )
                INSERT INTO %1$I.distinct_sketches (granularity, window_start, window_end, sketch, distinct_count)
                SELECT %2$L, w.window_start, w.window_end, @extschema@.hll_merge_agg(d.sketch),
                       @extschema@.hll_count(@extschema@.hll_merge_agg(d.sketch))
                FROM w
                JOIN %1$I.distinct_sketches d
                  ON d.granularity = %4$L AND d.window_start >= w.window_start AND d.window_start < w.window_end
                GROUP BY w.window_start, w.window_end$q$,
                p.name, g.granularity, p.time_zone, g.rolls_up)
            USING windows;
        END IF;
    END LOOP;
END $$;

-- The speed task: takes the new change marks, reads the stale hours again from the
-- source, merges the windows above them and refreshes their top-k lists.
CREATE FUNCTION topk._fold_speed(pipeline_name text) RETURNS topk.task_result
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline_name);
    r topk.task_result;
    hours timestamptz[];
    unread timestamptz[];   -- the hours to read again
    listed timestamptz[];
    parents record;
BEGIN
    r.rows_read := topk._collect(p);
    -- (hours more than a day ahead of the clock stay marked until they are not)
    -- (and hours whose raw events retention removed are not read again)
    -- (a final hour the batch read after its last change has its distinct-count sketch
    -- from that read: it is not read again, only merged into the windows above it)
    EXECUTE format('WITH taken AS (UPDATE %1$I.stale SET speed = false WHERE speed AND hour < $1 RETURNING hour, batch)
                    SELECT array_agg(hour ORDER BY hour) FILTER (WHERE hour >= $2),
                           array_agg(hour ORDER BY hour) FILTER (WHERE hour >= $2 AND (batch OR NOT hour < coalesce($3, ''-infinity'')))
                    FROM taken', p.name)
    INTO hours, unread USING topk._clock(p) + interval '1 day', topk._raw_kept_from(p),
        CASE WHEN p.mode = 'lambda' THEN (SELECT done_until FROM topk.progress
                                          WHERE pipeline = p.name AND granularity = 'hour') END;
    EXECUTE format('DELETE FROM %I.stale WHERE NOT speed AND NOT batch', p.name);
    r.events := 0;
    r.windows := 0;
    r.rows_written := 0;
    IF hours IS NULL THEN
        RETURN r;
    END IF;
    IF unread IS NOT NULL THEN
        r.events := topk._speed_hours(p, unread);
    END IF;
    parents := topk._speed_parents(p, hours);
    SELECT array_agg(h) INTO listed FROM unnest(hours) h
    WHERE NOT (p.mode = 'lambda' AND h < coalesce((SELECT done_until FROM topk.progress
                                                    WHERE pipeline = p.name AND granularity = 'hour'), '-infinity'));
    listed := coalesce(listed, '{}');
    PERFORM topk._speed_lists(p, array_fill('hour'::text, ARRAY[cardinality(listed)]) || parents.granularities,
                              listed || parents.starts);
    r.windows := cardinality(listed) + cardinality(parents.starts);
    r.rows_written := r.windows;
    RETURN r;
END $$;
