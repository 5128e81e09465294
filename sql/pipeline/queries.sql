---------------------------------------------------------------------------------------
-- Queries over the stored windows (called by each pipeline's typed functions)
---------------------------------------------------------------------------------------

-- The top n of [from, to), honest about what it knows: the whole hours inside the range
-- are tiled from left to right with the coarsest stored windows that fit, preferring
-- windows the batch has finished (exact counts); the others come from the speed sketches,
-- merged (count an upper bound, count - error a lower one; for items a sketch does not
-- monitor, its threshold). The parts of hours at the edges, and hours whose windows
-- retention removed, are read from the source while it still has their events (and the
-- caller may read it); else they are bounded by a stored window around them, which adds
-- its count to count and to error. exact is true when every part was exact; always
-- count - error <= the true count <= count (as of the last run).
CREATE FUNCTION topk.range_top(pipeline text, "from" timestamptz, "to" timestamptz, n integer, type_hint anyelement)
RETURNS TABLE (rank integer, item anyelement, count bigint, error bigint, exact boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline);
    lambda boolean := p.mode = 'lambda';
    raw_from timestamptz := topk._raw_kept_from(p);
    readable boolean := has_table_privilege(p.source, 'SELECT');
    hour_done timestamptz;
    hours_purged timestamptz;
    day_done timestamptz;
    inner_start timestamptz;
    inner_end timestamptz;
    edge_lo timestamptz[];
    edge_hi timestamptz[];
    pos timestamptz;
    finish timestamptz;
    h timestamptz;
    g record;
    chosen text;
    fallback text;
    exact_g text[] := '{}';     -- windows read from the batch (exact)
    exact_s timestamptz[] := '{}';
    approx_g text[] := '{}';    -- windows read from the speed sketches
    approx_s timestamptz[] := '{}';
    bound_g text[] := '{}';     -- batch windows around a part (upper bound)
    bound_s timestamptz[] := '{}';
    loose_g text[] := '{}';     -- speed windows around a part (upper bound)
    loose_s timestamptz[] := '{}';
    source_lo timestamptz[] := '{}';  -- parts read from the source (exact)
    source_hi timestamptz[] := '{}';
    source_sql text := '';
BEGIN
    IF n IS NULL OR n < 1 OR "from" IS NULL OR "to" IS NULL OR "from" >= "to" THEN
        RETURN;
    END IF;
    IF NOT isfinite("from") OR NOT isfinite("to") THEN
        RAISE EXCEPTION 'topk: a range needs finite bounds, not [%, %)', "from", "to"
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give the first and the last moment of interest, e.g. ''2024-01-01'' and now().';
    END IF;
    SELECT max(pr.done_until) FILTER (WHERE pr.granularity = 'hour'),
           coalesce(max(pr.purged_until) FILTER (WHERE pr.granularity = 'hour'), '-infinity'),
           max(pr.done_until) FILTER (WHERE pr.granularity = 'day')
    INTO hour_done, hours_purged, day_done
    FROM topk.progress pr WHERE pr.pipeline = p.name;
    IF NOT lambda THEN
        hour_done := '-infinity';
        day_done := '-infinity';
    END IF;

    -- The whole hours inside the range, and the edges around them.
    inner_start := topk.window_start('hour', "from", p.time_zone);
    IF inner_start < "from" THEN
        inner_start := topk.window_end('hour', inner_start, p.time_zone);
    END IF;
    inner_end := topk.window_start('hour', "to", p.time_zone);
    edge_lo := ARRAY["from", greatest(inner_end, least(inner_start, "to"))];
    edge_hi := ARRAY[least(inner_start, "to"), "to"];

    FOR i IN 1..2 LOOP
        CONTINUE WHEN edge_lo[i] >= edge_hi[i];
        h := topk.window_start('hour', edge_lo[i], p.time_zone);
        IF readable AND edge_lo[i] >= raw_from THEN
            source_lo := source_lo || edge_lo[i];
            source_hi := source_hi || edge_hi[i];
        ELSIF topk.window_end('hour', h, p.time_zone) <= hour_done
              AND topk.window_end('hour', h, p.time_zone) > hours_purged THEN
            bound_g := bound_g || 'hour'::text;
            bound_s := bound_s || h;
        ELSIF topk.window_end('day', topk.window_start('day', h, p.time_zone), p.time_zone) <= day_done THEN
            bound_g := bound_g || 'day'::text;
            bound_s := bound_s || topk.window_start('day', h, p.time_zone);
        ELSE
            loose_g := loose_g || 'hour'::text;
            loose_s := loose_s || h;
        END IF;
    END LOOP;

    pos := inner_start;
    WHILE pos < inner_end LOOP
        chosen := NULL;
        fallback := NULL;
        FOR g IN
            SELECT gr.granularity, pr.done_until, pr.purged_until
            FROM topk.granularities gr
            JOIN topk.progress pr ON pr.pipeline = p.name AND pr.granularity = gr.granularity
            ORDER BY gr.level DESC
        LOOP
            CONTINUE WHEN topk.window_start(g.granularity, pos, p.time_zone) <> pos;
            finish := topk.window_end(g.granularity, pos, p.time_zone);
            CONTINUE WHEN finish > inner_end;
            fallback := coalesce(fallback, g.granularity);
            IF lambda AND finish <= g.done_until AND NOT finish <= coalesce(g.purged_until, '-infinity') THEN
                chosen := g.granularity;
                EXIT;
            END IF;
        END LOOP;
        finish := topk.window_end(coalesce(chosen, fallback), pos, p.time_zone);
        IF chosen IS NOT NULL THEN
            exact_g := exact_g || chosen;
            exact_s := exact_s || pos;
        ELSIF lambda AND finish <= hours_purged THEN
            -- A final hour retention removed: from the source, else bounded by its day.
            IF readable AND pos >= raw_from THEN
                IF source_hi[cardinality(source_hi)] = pos THEN
                    source_hi[cardinality(source_hi)] := finish;
                ELSE
                    source_lo := source_lo || pos;
                    source_hi := source_hi || finish;
                END IF;
            ELSE
                h := topk.window_start('day', pos, p.time_zone);
                bound_g := bound_g || 'day'::text;
                bound_s := bound_s || h;
                finish := least(topk.window_end('day', h, p.time_zone), inner_end);
            END IF;
        ELSE
            approx_g := approx_g || fallback;
            approx_s := approx_s || pos;
        END IF;
        pos := finish;
    END LOOP;

    -- The parts read from the source, one scan each (bounds as literals: the time index serves).
    FOR i IN 1..cardinality(source_lo) LOOP
        source_sql := source_sql || format(' UNION ALL SELECT e.%I::%s, %s FROM %s AS e WHERE %s AND %s',
            p.item_column, p.item_type,
            CASE WHEN p.weight_column IS NULL THEN '1::bigint' ELSE format('e.%I::bigint', p.weight_column) END,
            p.source, topk._valid_sql(p, 'e'),
            topk._within_sql(p, 'e', format('%L::timestamptz', source_lo[i]), format('%L::timestamptz', source_hi[i])));
    END LOOP;

    RETURN QUERY EXECUTE format($q$
        WITH exact_part AS (
            SELECT x.item, sum(x.count)::bigint AS count
            FROM (SELECT b.item, b.count
                  FROM %1$I.batch_table b
                  JOIN unnest($1::text[], $2::timestamptz[]) AS w(granularity, window_start)
                    ON b.granularity = w.granularity AND b.window_start = w.window_start
                  %3$s) AS x
            GROUP BY x.item
        ), bound_part AS (
            SELECT b.item, sum(b.count)::bigint AS count
            FROM %1$I.batch_table b
            JOIN (SELECT DISTINCT * FROM unnest($7::text[], $8::timestamptz[])) AS w(granularity, window_start)
              ON b.granularity = w.granularity AND b.window_start = w.window_start
            GROUP BY b.item
        ), merged AS (
            SELECT (SELECT @extschema@.topk_merge_agg(s.sketch)
                    FROM %1$I.speed_table s
                    JOIN unnest($3::text[], $4::timestamptz[]) AS w(granularity, window_start)
                      ON s.granularity = w.granularity AND s.window_start = w.window_start) AS approx,
                   (SELECT @extschema@.topk_merge_agg(s.sketch)
                    FROM %1$I.speed_table s
                    JOIN (SELECT DISTINCT * FROM unnest($9::text[], $10::timestamptz[])) AS w(granularity, window_start)
                      ON s.granularity = w.granularity AND s.window_start = w.window_start) AS loose
        ), thresholds AS (
            SELECT coalesce(@extschema@.topk_threshold(approx), 0) AS approx,
                   coalesce(@extschema@.topk_threshold(loose), 0) AS loose
            FROM merged
        ), speed_part AS (
            SELECT i.item, i.count, i.error
            FROM merged CROSS JOIN LATERAL @extschema@.topk_items(merged.approx, NULL, NULL::%2$s) AS i
            WHERE merged.approx IS NOT NULL
        ), loose_part AS (
            SELECT i.item, i.count
            FROM merged CROSS JOIN LATERAL @extschema@.topk_items(merged.loose, NULL, NULL::%2$s) AS i
            WHERE merged.loose IS NOT NULL
        ), items AS (
            SELECT item FROM exact_part UNION SELECT item FROM bound_part
            UNION SELECT item FROM speed_part UNION SELECT item FROM loose_part
        ), combined AS (
            SELECT i.item,
                   coalesce(e.count, 0) + coalesce(b.count, 0)
                   + coalesce(s.count, t.approx) + coalesce(l.count, t.loose) AS count,
                   coalesce(b.count, 0) + coalesce(s.error, t.approx) + coalesce(l.count, t.loose) AS error
            FROM items i CROSS JOIN thresholds t
            LEFT JOIN exact_part e ON e.item = i.item
            LEFT JOIN bound_part b ON b.item = i.item
            LEFT JOIN speed_part s ON s.item = i.item
            LEFT JOIN loose_part l ON l.item = i.item
        )
        SELECT (row_number() OVER (ORDER BY count DESC, item))::integer, item, count, error, $5
        FROM combined
        ORDER BY count DESC, item
        LIMIT $6$q$, p.name, p.item_type, source_sql)
    USING exact_g, exact_s, approx_g, approx_s,
          cardinality(approx_g) = 0 AND cardinality(bound_g) = 0 AND cardinality(loose_g) = 0, n,
          bound_g, bound_s, loose_g, loose_s;
END $$;

-- The items of the current window's list (the latest window of the granularity with a
-- list, not after the clock) whose count grew fastest since the previous window.
-- growth = (current - previous) / max(previous, 1). The previous count is exact where
-- the batch finished the previous window, else taken from its top-k list (0 if absent).
CREATE FUNCTION topk.trending(pipeline text, granularity text, n integer, type_hint anyelement)
RETURNS TABLE (rank integer, item anyelement, previous_count bigint, current_count bigint, growth numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline);
    current_start timestamptz;
    previous_start timestamptz;
    previous_final boolean;
BEGIN
    IF NOT EXISTS (SELECT FROM topk.granularities gr WHERE gr.granularity = trending.granularity) THEN
        RAISE EXCEPTION 'topk: % is not a granularity (hour, day, week, month or year)', quote_nullable(granularity);
    END IF;
    EXECUTE format('SELECT max(window_start) FROM %I.top_lists WHERE granularity = $1 AND window_start <= $2', p.name)
        INTO current_start USING granularity, topk._clock(p);
    IF current_start IS NULL THEN
        RETURN;
    END IF;
    previous_start := topk.window_start(granularity, current_start - interval '1 microsecond', p.time_zone);
    SELECT p.mode = 'lambda' AND topk.window_end(trending.granularity, previous_start, p.time_zone) <= pr.done_until
    INTO previous_final
    FROM topk.progress pr WHERE pr.pipeline = p.name AND pr.granularity = trending.granularity;
    RETURN QUERY EXECUTE format($q$
        WITH now_ AS (
            SELECT u.item, u.count FROM %1$I.top_lists l, unnest(l.items, l.counts) AS u(item, count)
            WHERE l.granularity = $1 AND l.window_start = $2
        ), listed AS (
            SELECT u.item, u.count FROM %1$I.top_lists l, unnest(l.items, l.counts) AS u(item, count)
            WHERE l.granularity = $1 AND l.window_start = $3
        ), before AS (
            SELECT c.item,
                   coalesce(CASE WHEN $4 THEN b.count ELSE l.count END, 0) AS count
            FROM now_ c
            LEFT JOIN %1$I.batch_table b ON $4 AND b.granularity = $1 AND b.window_start = $3 AND b.item = c.item
            LEFT JOIN listed l ON l.item = c.item
        ), grown AS (
            SELECT c.item, b.count AS previous_count, c.count AS current_count,
                   round((c.count - b.count)::numeric / greatest(b.count, 1), 4) AS growth
            FROM now_ c JOIN before b USING (item)
        )
        SELECT (row_number() OVER (ORDER BY growth DESC, current_count DESC, item))::integer,
               item, previous_count, current_count, growth
        FROM grown
        ORDER BY growth DESC, current_count DESC, item
        LIMIT $5$q$, p.name)
    USING granularity, current_start, previous_start, coalesce(previous_final, false), n;
END $$;

-- Lets a role read a pipeline's dashboards: its views and tables and its query functions
-- (topk_range, trending, executable by everyone). The role gets no other right: it cannot run the procedures,
-- change the pipeline or see other pipelines.
CREATE FUNCTION topk.grant_read(name text, role regrole) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines := topk._pipeline(name);
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %s', p.name, role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %s', p.name, role);
END $$;
COMMENT ON FUNCTION topk.grant_read(text, regrole) IS
    'lets a role read a pipeline''s views and call its query functions';

