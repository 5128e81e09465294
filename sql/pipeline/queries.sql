---------------------------------------------------------------------------------------
-- Queries over the stored windows (called by each pipeline's typed functions)
---------------------------------------------------------------------------------------

-- The top n of [from, to) (widened to whole hours): the range is tiled from left to
-- right with the coarsest windows that fit, preferring windows the batch has finished
-- (exact counts); the others come from the speed sketches, merged. exact is true when
-- every tile was final in the batch. For items the merged sketch does not monitor, the
-- speed part is its threshold (an upper bound) and error says so.
CREATE FUNCTION topk.range_top(pipeline text, "from" timestamptz, "to" timestamptz, n integer, type_hint anyelement)
RETURNS TABLE (rank integer, item anyelement, count bigint, error bigint, exact boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines := topk._pipeline(pipeline);
    range_start timestamptz := topk.window_start('hour', "from", p.time_zone);
    range_end timestamptz := topk.window_start('hour', "to", p.time_zone);
    pos timestamptz;
    g record;
    finish timestamptz;
    chosen text;
    fallback text;
    exact_g text[] := '{}';
    exact_s timestamptz[] := '{}';
    approx_g text[] := '{}';
    approx_s timestamptz[] := '{}';
    all_exact boolean := true;
BEGIN
    IF range_end < "to" THEN
        range_end := range_end + interval '1 hour';
    END IF;
    IF n IS NULL OR n < 1 OR range_start >= range_end THEN
        RETURN;
    END IF;
    pos := range_start;
    WHILE pos < range_end LOOP
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
            CONTINUE WHEN finish > range_end;
            fallback := coalesce(fallback, g.granularity);
            IF p.mode = 'lambda' AND finish <= g.done_until AND NOT finish <= coalesce(g.purged_until, '-infinity') THEN
                chosen := g.granularity;
                EXIT;
            END IF;
        END LOOP;
        IF chosen IS NOT NULL THEN
            exact_g := exact_g || chosen;
            exact_s := exact_s || pos;
        ELSE
            chosen := fallback;
            approx_g := approx_g || chosen;
            approx_s := approx_s || pos;
            all_exact := false;
        END IF;
        pos := topk.window_end(chosen, pos, p.time_zone);
    END LOOP;

    RETURN QUERY EXECUTE format($q$
        WITH exact_part AS (
            SELECT b.item, sum(b.count)::bigint AS count
            FROM %1$I.batch_table b
            JOIN unnest($1::text[], $2::timestamptz[]) AS w(granularity, window_start)
              ON b.granularity = w.granularity AND b.window_start = w.window_start
            GROUP BY b.item
        ), merged AS (
            SELECT @extschema@.topk_merge_agg(s.sketch) AS sketch
            FROM %1$I.speed_table s
            JOIN unnest($3::text[], $4::timestamptz[]) AS w(granularity, window_start)
              ON s.granularity = w.granularity AND s.window_start = w.window_start
        ), speed_part AS (
            SELECT i.item, i.count, i.error
            FROM merged CROSS JOIN LATERAL @extschema@.topk_items(merged.sketch, NULL, NULL::%2$s) AS i
            WHERE merged.sketch IS NOT NULL
        ), threshold AS (
            SELECT coalesce(@extschema@.topk_threshold(sketch), 0) AS t FROM merged
        ), combined AS (
            SELECT coalesce(e.item, s.item) AS item,
                   coalesce(e.count, 0) + coalesce(s.count, (SELECT t FROM threshold)) AS count,
                   coalesce(s.error, (SELECT t FROM threshold)) AS error
            FROM exact_part e FULL JOIN speed_part s ON s.item = e.item
        )
        SELECT (row_number() OVER (ORDER BY count DESC, item))::integer, item, count, error, $5
        FROM combined
        ORDER BY count DESC, item
        LIMIT $6$q$, p.name, p.item_type)
    USING exact_g, exact_s, approx_g, approx_s, all_exact, n;
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
            SELECT item, count FROM %1$I.top_lists WHERE granularity = $1 AND window_start = $2
        ), before AS (
            SELECT c.item,
                   coalesce(CASE WHEN $4 THEN b.count ELSE l.count END, 0) AS count
            FROM now_ c
            LEFT JOIN %1$I.batch_table b ON b.granularity = $1 AND b.window_start = $3 AND b.item = c.item
            LEFT JOIN %1$I.top_lists l ON l.granularity = $1 AND l.window_start = $3 AND l.item = c.item
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

