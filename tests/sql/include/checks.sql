-- Checks of the pipelines against GROUP BY over their sources, shared by the scenarios
-- (\i tests/sql/include/checks.sql, from the repository), tests/replication/run.sh and tests/dump/run.sh.

-- Every final window of every granularity against GROUP BY over the source: windows,
-- rows, and rows that differ (in either direction); the distinct counts too.
CREATE FUNCTION check_exact(pipeline text)
RETURNS TABLE (granularity text, windows bigint, batch_rows bigint, mismatches bigint)
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines;
    g record;
BEGIN
    SELECT * INTO p FROM topk.pipelines WHERE name = pipeline;
    FOR g IN SELECT pr.granularity, pr.done_until FROM topk.progress pr JOIN topk.granularities gr USING (granularity)
             WHERE pr.pipeline = p.name AND pr.done_until IS NOT NULL ORDER BY gr.level LOOP
        RETURN QUERY EXECUTE format($q$
            WITH b AS (
                SELECT window_start, item, count FROM %1$I.batch_table WHERE granularity = $1
            ), s AS (
                SELECT topk.window_start($1, e.%2$I, %4$L) AS window_start, e.%3$I AS item, %5$s AS count
                FROM %6$s e
                WHERE e.%3$I IS NOT NULL AND e.%2$I > '-infinity' AND e.%2$I < 'infinity'
                  AND topk.window_end($1, topk.window_start($1, e.%2$I, %4$L), %4$L) <= $2 AND %7$s
                GROUP BY 1, 2
            )
            SELECT $1, (SELECT count(DISTINCT window_start) FROM b), (SELECT count(*) FROM b),
                   (SELECT count(*) FROM ((SELECT * FROM b EXCEPT ALL SELECT * FROM s)
                                          UNION ALL (SELECT * FROM s EXCEPT ALL SELECT * FROM b)) d)$q$,
            p.name, p.time_column, p.item_column, p.time_zone,
            CASE WHEN p.weight_column IS NULL THEN 'count(*)' ELSE format('sum(e.%I)::bigint', p.weight_column) END,
            p.source, CASE WHEN p.weight_column IS NULL THEN 'true' ELSE format('e.%I >= 0', p.weight_column) END)
        USING g.granularity, g.done_until;
    END LOOP;
END $$;

-- All pipelines at once: final windows (of all granularities) and mismatches.
CREATE FUNCTION check_all() RETURNS TABLE (pipeline text, final_windows numeric, batch_rows numeric, mismatches numeric)
LANGUAGE sql AS $$
    SELECT p.name, sum(c.windows), sum(c.batch_rows), sum(c.mismatches)
    FROM topk.pipelines p, check_exact(p.name) c GROUP BY 1 ORDER BY 1
$$;

-- The speed path: each open hour's sketch counts the surviving events of that hour.
-- (The source is grouped by hour first: Citus cannot join a distributed source with a
-- table of the coordinator row by row.)
CREATE FUNCTION check_speed(pipeline text) RETURNS TABLE (speed_hours bigint, wrong_totals bigint)
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines;
BEGIN
    SELECT * INTO p FROM topk.pipelines WHERE name = pipeline;
    RETURN QUERY EXECUTE format($q$
        WITH e AS MATERIALIZED (
            SELECT topk.window_start('hour', e.%3$I, %5$L) AS hour, count(*) AS events FROM %2$s e
            WHERE e.%4$I IS NOT NULL AND e.%3$I > '-infinity' AND e.%3$I < 'infinity' GROUP BY 1
        )
        SELECT count(*), count(*) FILTER (WHERE s.events IS DISTINCT FROM coalesce(e.events, 0))
        FROM %1$I.speed_table s LEFT JOIN e ON e.hour = s.window_start
        WHERE s.granularity = 'hour'$q$, p.name, p.source, p.time_column, p.item_column, p.time_zone);
END $$;

-- The view top_<k> against the lists it shows: every rank of every window (item, count,
-- error, source), in either direction.
CREATE FUNCTION check_view(pipeline text) RETURNS TABLE (windows bigint, view_rows bigint, mismatches bigint)
LANGUAGE plpgsql AS $$
DECLARE
    p topk.pipelines;
BEGIN
    SELECT * INTO p FROM topk.pipelines WHERE name = pipeline;
    RETURN QUERY EXECUTE format($q$
        WITH v AS (
            SELECT granularity, window_start, window_end, rank, item, count, error, source FROM %1$I.%2$I
        ), l AS (
            SELECT l.granularity, l.window_start, l.window_end, u.rank::integer, u.item, u.count,
                   coalesce(u.error, 0), l.source
            FROM %1$I.top_lists l, unnest(l.items, l.counts, l.errors) WITH ORDINALITY AS u(item, count, error, rank)
        )
        SELECT (SELECT count(*) FROM %1$I.top_lists), (SELECT count(*) FROM v),
               (SELECT count(*) FROM ((SELECT * FROM v EXCEPT ALL SELECT * FROM l)
                                      UNION ALL (SELECT * FROM l EXCEPT ALL SELECT * FROM v)) d)$q$,
        p.name, 'top_' || p.k);
END $$;
