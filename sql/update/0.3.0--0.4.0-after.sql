
-- Each pipeline moves over: change marks and capture triggers, and a mark of
-- everything, so that its next run reads every window again from the source (what the
-- deltas held but had not folded is in the source too).
DO $$
DECLARE
    p topk.pipelines;
BEGIN
    FOR p IN SELECT * FROM topk.pipelines ORDER BY name LOOP
        PERFORM topk._create_marks(p);
        -- created by this script, they would be the extension's: they are the pipeline's
        EXECUTE format('ALTER EXTENSION topk_pg DROP TABLE %1$I.changes; ALTER EXTENSION topk_pg DROP TABLE %1$I.stale;
                        ALTER EXTENSION topk_pg DROP TABLE %1$I.rejects', p.name);
        EXECUTE format('INSERT INTO %I.changes (first_hour, last_hour, marked_at) VALUES (NULL, NULL, now())', p.name);
    END LOOP;
END $$;
