
-- Each pipeline moves over: change marks and capture triggers, and a mark of each hour
-- its deltas held (those events are in the source; its windows hold the rest, which
-- retention may have removed from the source, so nothing else is read again).
DO $$
DECLARE
    p topk.pipelines;
BEGIN
    FOR p IN SELECT * FROM topk.pipelines ORDER BY name LOOP
        PERFORM topk._create_marks(p);
        -- The exact counts move from a row per item to a row per window.
        EXECUTE format('ALTER TABLE %I.batch_table RENAME TO batch_rows_0_3_0', p.name);
        PERFORM topk._create_batch(p);
        EXECUTE format($q$
            INSERT INTO %1$I.batch_counts (granularity, window_start, window_end, items, counts, events)
            SELECT granularity, window_start, window_end, array_agg(item ORDER BY count DESC, item),
                   array_agg(count ORDER BY count DESC, item),
                   CASE WHEN %2$L THEN array_agg(events ORDER BY count DESC, item) END
            FROM %1$I.batch_rows_0_3_0 GROUP BY 1, 2, 3;
            DROP TABLE %1$I.batch_rows_0_3_0$q$, p.name, p.weight_column IS NOT NULL);
        -- created by this script, they would be the extension's (and the updater's): they
        -- are the pipeline's, and its owner's
        EXECUTE format('ALTER EXTENSION topk_pg DROP TABLE %1$I.changes; ALTER EXTENSION topk_pg DROP TABLE %1$I.stale;
                        ALTER EXTENSION topk_pg DROP TABLE %1$I.rejects; ALTER EXTENSION topk_pg DROP TABLE %1$I.batch_counts;
                        ALTER EXTENSION topk_pg DROP VIEW %1$I.batch_table;
                        ALTER TABLE %1$I.changes OWNER TO %2$s; ALTER TABLE %1$I.stale OWNER TO %2$s;
                        ALTER TABLE %1$I.rejects OWNER TO %2$s; ALTER TABLE %1$I.batch_counts OWNER TO %2$s;
                        ALTER VIEW %1$I.batch_table OWNER TO %2$s', p.name, p.owner);
        EXECUTE format('SELECT topk._mark($1, hour, hour + interval ''1 hour'') FROM %I.upgrade_hours', p.name) USING p;
        EXECUTE format('DROP TABLE %I.upgrade_hours', p.name);
    END LOOP;
END $$;
