-- Task results.
CREATE TYPE topk.task_result AS (
    window_start timestamptz,
    window_end   timestamptz,
    rows_read    bigint,
    rows_written bigint,
    events       bigint,     -- speed and late tasks: events folded
    windows      bigint      -- speed and late tasks: windows updated
);

-- The dashboards' query (one window's first rows by rank) should read the primary key in
-- rank order and stop after a few rows. Before top_lists has statistics the planner
-- takes a window for a couple of rows and sorts all k of them instead (3 times slower):
-- the first lists written analyze the table; autovacuum keeps the statistics after that.
CREATE FUNCTION topk._analyze_lists(p topk.pipelines) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT c.reltuples < 0 FROM pg_catalog.pg_class c WHERE c.oid = format('%I.top_lists', p.name)::regclass) THEN
        EXECUTE format('ANALYZE %I.top_lists', p.name);
    END IF;
END $$;

-- Regenerates the top-k lists of some windows of a pipeline from its exact counts (in one
-- statement pair, inside the caller's transaction: readers see the old or the new list).
CREATE FUNCTION topk._batch_lists(p topk.pipelines, granularities text[], starts timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        DELETE FROM %1$I.top_lists t
        USING unnest($1, $2) AS w(granularity, window_start)
        WHERE t.granularity = w.granularity AND t.window_start = w.window_start$q$, p.name)
    USING granularities, starts;
    EXECUTE format($q$
        INSERT INTO %1$I.top_lists (granularity, window_start, window_end, rank, item, count, error, source)
        SELECT c.granularity, c.window_start, c.window_end, u.rank, u.item, u.count, 0, 'batch'
        FROM %1$I.batch_counts c
        JOIN unnest($1, $2) AS w(granularity, window_start)
          ON c.granularity = w.granularity AND c.window_start = w.window_start
        CROSS JOIN LATERAL unnest(c.items[1:%2$s], c.counts[1:%2$s]) WITH ORDINALITY AS u(item, count, rank)$q$,
        p.name, p.k)
    USING granularities, starts;
    PERFORM topk._analyze_lists(p);
END $$;

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
        INSERT INTO %1$I.top_lists (granularity, window_start, window_end, rank, item, count, error, source)
        SELECT s.granularity, s.window_start, s.window_end,
               row_number() OVER (PARTITION BY s.granularity, s.window_start
                                  ORDER BY i.count DESC, i.item),
               i.item, i.count, i.error, 'speed'
        FROM %1$I.speed_table s
        JOIN unnest($1, $2) AS w(granularity, window_start)
          ON s.granularity = w.granularity AND s.window_start = w.window_start
        CROSS JOIN LATERAL @extschema@.topk_items(s.sketch, %2$s, NULL::%3$s) AS i$q$,
        p.name, p.k, p.item_type)
    USING granularities, starts;
    PERFORM topk._analyze_lists(p);
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
            RETURNING granularity, window_start, window_end, rank, item, count, error
        )
        INSERT INTO %1$I.superseded_speed_lists AS old
              (granularity, window_start, window_end, rank, item, count, error, superseded_at)
        SELECT granularity, window_start, window_end, rank, item, count, error, now() FROM retired
        ON CONFLICT (granularity, window_start, rank) DO UPDATE
            SET item = excluded.item, count = excluded.count, error = excluded.error,
                superseded_at = excluded.superseded_at$q$, p.name)
    USING granularity, from_start, to_start;
    EXECUTE format('DELETE FROM %I.speed_table WHERE granularity = $1 AND window_start >= $2 AND window_start < $3',
                   p.name)
    USING granularity, from_start, to_start;
END $$;

---------------------------------------------------------------------------------------
