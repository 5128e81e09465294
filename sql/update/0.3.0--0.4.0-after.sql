
-- Each pipeline moves over: change marks and capture triggers, and a mark of each hour
-- its deltas held (those events are in the source; its windows hold the rest, which
-- retention may have removed from the source, so nothing else is read again).
DO $$
DECLARE
    p topk.pipelines;
    grant_sql text;
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
            FROM %1$I.batch_rows_0_3_0 GROUP BY 1, 2, 3$q$, p.name, p.weight_column IS NOT NULL);
        -- The top-k lists move from a row per rank to a row per window.
        EXECUTE format('ALTER TABLE %1$I.top_lists RENAME TO top_lists_0_3_0;
                        ALTER TABLE %1$I.superseded_speed_lists RENAME TO superseded_speed_lists_0_3_0', p.name);
        -- (the view top_<k> is replaced, keeping its grants and the views on it: for the
        -- while, a member of the extension, which may replace only its own objects)
        EXECUTE format('ALTER EXTENSION topk_pg ADD VIEW %I.%I', p.name, 'top_' || p.k);
        PERFORM topk._create_lists(p);
        EXECUTE format('ALTER EXTENSION topk_pg DROP VIEW %I.%I', p.name, 'top_' || p.k);
        EXECUTE format($q$
            INSERT INTO %1$I.top_lists (granularity, window_start, window_end, source, items, counts, errors)
            SELECT granularity, window_start, window_end, min(source), array_agg(item ORDER BY rank),
                   array_agg(count ORDER BY rank),
                   CASE WHEN min(source) = 'speed' THEN array_agg(error ORDER BY rank) END
            FROM %1$I.top_lists_0_3_0 GROUP BY 1, 2, 3;
            INSERT INTO %1$I.superseded_speed_lists (granularity, window_start, window_end, items, counts, errors,
                                                     superseded_at)
            SELECT granularity, window_start, window_end, array_agg(item ORDER BY rank), array_agg(count ORDER BY rank),
                   array_agg(error ORDER BY rank), max(superseded_at)
            FROM %1$I.superseded_speed_lists_0_3_0 GROUP BY 1, 2, 3$q$, p.name);
        -- who could read the old tables can read the new ones
        FOR grant_sql IN
            SELECT format('GRANT %s ON %I.%I TO %s', a.privilege_type, p.name, t.new,
                          CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END)
            FROM (VALUES ('top_lists_0_3_0', 'top_lists'), ('superseded_speed_lists_0_3_0', 'superseded_speed_lists'),
                         ('batch_rows_0_3_0', 'batch_counts'), ('batch_rows_0_3_0', 'batch_table')) t(old, new)
            JOIN pg_catalog.pg_class c ON c.oid = format('%I.%I', p.name, t.old)::regclass
            CROSS JOIN LATERAL aclexplode(c.relacl) a
            WHERE a.grantee <> c.relowner LOOP
            EXECUTE grant_sql;
        END LOOP;
        EXECUTE format('DROP TABLE %1$I.top_lists_0_3_0, %1$I.superseded_speed_lists_0_3_0, %1$I.batch_rows_0_3_0', p.name);
        -- created by this script, they would be the extension's (and the updater's): they
        -- are the pipeline's, and its owner's
        EXECUTE format('ALTER EXTENSION topk_pg DROP TABLE %1$I.changes; ALTER EXTENSION topk_pg DROP TABLE %1$I.stale;
                        ALTER EXTENSION topk_pg DROP TABLE %1$I.rejects; ALTER EXTENSION topk_pg DROP TABLE %1$I.batch_counts;
                        ALTER EXTENSION topk_pg DROP VIEW %1$I.batch_table;
                        ALTER EXTENSION topk_pg DROP TABLE %1$I.top_lists; ALTER EXTENSION topk_pg DROP TABLE %1$I.ranks;
                        ALTER EXTENSION topk_pg DROP TABLE %1$I.superseded_speed_lists;
                        ALTER TABLE %1$I.top_lists OWNER TO %2$s; ALTER TABLE %1$I.superseded_speed_lists OWNER TO %2$s;
                        ALTER TABLE %1$I.ranks OWNER TO %2$s;
                        ALTER TABLE %1$I.changes OWNER TO %2$s; ALTER TABLE %1$I.stale OWNER TO %2$s;
                        ALTER TABLE %1$I.rejects OWNER TO %2$s; ALTER TABLE %1$I.batch_counts OWNER TO %2$s;
                        ALTER VIEW %1$I.batch_table OWNER TO %2$s', p.name, p.owner);
        EXECUTE format('SELECT topk._mark($1, hour, hour + interval ''1 hour'') FROM %I.upgrade_hours', p.name) USING p;
        EXECUTE format('DROP TABLE %I.upgrade_hours', p.name);
    END LOOP;
END $$;

-- Items shown as text depend on settings such as DateStyle.
ALTER FUNCTION topk_to_json(spacesaving) STABLE;
ALTER FUNCTION topk_items(spacesaving, integer) STABLE;
ALTER FUNCTION topk_items(spacesaving, integer, anyelement) STABLE;
ALTER FUNCTION heavy_hitters_to_json(heavy_hitters) STABLE;
ALTER FUNCTION heavy_hitters_items(heavy_hitters, integer) STABLE;
ALTER FUNCTION heavy_hitters_items(heavy_hitters, integer, anyelement) STABLE;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               WHERE a.atttypid IN ('topk_hll'::regtype, 'cms'::regtype, 'spacesaving'::regtype, 'heavy_hitters'::regtype)
                 AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm')) THEN
        RAISE NOTICE 'topk_pg 0.4.0 counts items of types other than integers, text, bytea and uuid by their binary form, and domains as their base type'
            USING DETAIL = 'Stored sketches of such items built by 0.3.0 still read, but do not merge with new sketches.',
                  HINT = 'Build such sketches again from their rows.';
    END IF;
END $$;
