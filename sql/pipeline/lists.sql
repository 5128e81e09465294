-- Task results.
CREATE TYPE topk.task_result AS (
    window_start timestamptz,
    window_end   timestamptz,
    rows_read    bigint,
    rows_written bigint,
    events       bigint,     -- speed and late tasks: events folded
    windows      bigint      -- speed and late tasks: windows updated
);

-- (The batch lists are written with the exact counts: topk._batch_windows.)

-- The element at `rank` of a list's array (the first is 1), NULL outside it: the views
-- top_<k> read a window's list so, rank by rank in the order of the pipeline's ranks
-- table; each call site reads an array once a query, not once a rank (src/lists.rs).
CREATE FUNCTION topk._list_element(list anyarray, rank integer) RETURNS anyelement
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'topk_list_element';

-- Regenerates the top-k lists of some windows from their speed sketches.
CREATE FUNCTION topk._speed_lists(p topk.pipelines, granularities text[], starts timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        DELETE FROM %1$I.top_lists t
        USING unnest($1, $2) AS w(granularity, window_start)
        WHERE t.granularity = w.granularity AND t.window_start = w.window_start$q$, p.name)
    USING granularities, starts;
    EXECUTE format($q$
        INSERT INTO %1$I.top_lists (granularity, window_start, window_end, source, items, counts, errors)
        SELECT s.granularity, s.window_start, s.window_end, 'speed', l.items, l.counts, l.errors
        FROM %1$I.speed_table s
        JOIN unnest($1, $2) AS w(granularity, window_start)
          ON s.granularity = w.granularity AND s.window_start = w.window_start
        CROSS JOIN LATERAL (
            SELECT array_agg(i.item ORDER BY i.count DESC, i.item) AS items,
                   array_agg(i.count ORDER BY i.count DESC, i.item) AS counts,
                   array_agg(i.error ORDER BY i.count DESC, i.item) AS errors
            FROM @extschema@.topk_items(s.sketch, %2$s, NULL::%3$s) AS i) l
        WHERE l.items IS NOT NULL$q$,
        p.name, p.k, p.item_type)
    USING granularities, starts;
END $$;

-- The speed rows of windows [from, to) of a granularity are superseded by the batch:
-- their top-k list moves to superseded_speed_lists (for topk.accuracy) and their sketches go.
CREATE FUNCTION topk._supersede_speed(p topk.pipelines, granularity text, from_start timestamptz, to_start timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        WITH retired AS (
            DELETE FROM %1$I.top_lists
            WHERE granularity = $1 AND window_start >= $2 AND window_start < $3 AND source = 'speed'
            RETURNING granularity, window_start, window_end, items, counts, errors
        )
        INSERT INTO %1$I.superseded_speed_lists AS old
              (granularity, window_start, window_end, items, counts, errors, superseded_at)
        SELECT granularity, window_start, window_end, items, counts, coalesce(errors, '{}'), now() FROM retired
        ON CONFLICT (granularity, window_start) DO UPDATE
            SET window_end = excluded.window_end, items = excluded.items, counts = excluded.counts,
                errors = excluded.errors, superseded_at = excluded.superseded_at$q$, p.name)
    USING granularity, from_start, to_start;
    EXECUTE format('DELETE FROM %I.speed_table WHERE granularity = $1 AND window_start >= $2 AND window_start < $3',
                   p.name)
    USING granularity, from_start, to_start;
END $$;

---------------------------------------------------------------------------------------
