#!/usr/bin/env bash
# Concurrency stress for the pipeline, run by tests/sql/pipeline_concurrency.sql:
#   scripts/pipeline_stress.sh DBNAME
# Against pipeline 'stress' on table stress_events (at timestamptz, item int), at once:
# 4 writers (40 transactions of 50 events each, every 5th rolled back), 2 sessions
# calling run_speed, 2 calling run_batch (so runs of the same procedure overlap), and
# one moving the pipeline clock so that hours fall due while they are being written.
# Bounded: a few seconds. Prints nothing and exits 0 when every session succeeded.
set -uo pipefail
db=$1
PSQL="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)/psql"
run() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SET client_min_messages = warning" -c "$1" >/dev/null; }

pids=()
for w in 1 2 3 4; do
    run "DO \$\$
        BEGIN
            FOR i IN 1..40 LOOP
                INSERT INTO stress_events
                SELECT '2024-01-01'::timestamptz + ((g * 7919 + i * 104729 + $w * 15485863) % 50400) * interval '1 second',
                       1 + (g * g + i + $w) % 30
                FROM generate_series(1, 50) g;
                IF i % 5 = 0 THEN ROLLBACK; ELSE COMMIT; END IF;
                PERFORM pg_sleep(0.005);
            END LOOP;
        END \$\$" & pids+=($!)
done
for r in 1 2; do
    run "DO \$\$ BEGIN FOR i IN 1..25 LOOP CALL topk.run_speed('stress'); PERFORM pg_sleep(0.01); END LOOP; END \$\$" & pids+=($!)
    run "DO \$\$ BEGIN FOR i IN 1..12 LOOP CALL topk.run_batch('stress'); PERFORM pg_sleep(0.02); END LOOP; END \$\$" & pids+=($!)
done
run "DO \$\$
    BEGIN
        FOR i IN 1..16 LOOP
            UPDATE topk.pipelines SET clock = '2024-01-01 06:00+00'::timestamptz + i * interval '30 minutes'
            WHERE name = 'stress';
            COMMIT;
            PERFORM pg_sleep(0.05);
        END LOOP;
    END \$\$" & pids+=($!)

failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
if [ "$failed" -gt 0 ]; then echo "pipeline_stress: $failed session(s) failed"; exit 1; fi
