
-- Each pipeline moves over: change marks and capture triggers, and a mark of each hour
-- its deltas held (those events are in the source; its windows hold the rest, which
-- retention may have removed from the source, so nothing else is read again).
DO $$
DECLARE
    p topk.pipelines;
BEGIN
    FOR p IN SELECT * FROM topk.pipelines ORDER BY name LOOP
        PERFORM topk._create_marks(p);
        -- created by this script, they would be the extension's: they are the pipeline's
        EXECUTE format('ALTER EXTENSION topk_pg DROP TABLE %1$I.changes; ALTER EXTENSION topk_pg DROP TABLE %1$I.stale;
                        ALTER EXTENSION topk_pg DROP TABLE %1$I.rejects', p.name);
        EXECUTE format('SELECT topk._mark($1, hour, hour + interval ''1 hour'') FROM %I.upgrade_hours', p.name) USING p;
        EXECUTE format('DROP TABLE %I.upgrade_hours', p.name);
    END LOOP;
END $$;
