#!/usr/bin/env bash
# Concurrency stress for the pipeline, run by tests/sql/pipeline_concurrency.sql:
#   scripts/pipeline_stress.sh DBNAME
# Against pipeline 'stress' on table stress_events (at timestamptz, item int), at once:
# 4 writers (40 transactions of 50 events each, every 5th rolled back), one writer
# using COPY (10 × 40 events), one inserting single rows (100 statements), 2 sessions
# calling run_speed, 2 calling run_batch (so runs of the same procedure overlap), one
# moving the pipeline clock so that hours fall due while they are being written, and 2
# readers of the dashboard view stress.top_10 that record, for each read, every window
# they see with its number of sources (into stress_reads: reader, read, granularity,
# window_start, sources, rows). Bounded: a few seconds. Prints nothing and exits 0 when
# every session succeeded (a deadlock would fail its session).
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
tmp=$(mktemp -d /tmp/topk_pg_stress.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for c in $(seq 1 10); do
    for g in $(seq 1 40); do
        echo "2024-01-01 00:00:00+00,$(( (g * 31 + c) % 30 + 1 ))" | sed "s/00:00:00/$(printf '%02d:%02d:%02d' $(( (g * c) % 14 )) $(( g % 60 )) $(( c * 5 )))/"
    done > "$tmp/copy$c.csv"
done
(for c in $(seq 1 10); do
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -c "\copy stress_events (at, item) FROM '$tmp/copy$c.csv' WITH (FORMAT csv)" >/dev/null || exit 1
    sleep 0.02
done) & pids+=($!)
(for i in $(seq 1 100); do
    echo "INSERT INTO stress_events VALUES ('2024-01-01 00:00+00'::timestamptz + $(( (i * 479) % 50400 )) * interval '1 second', $(( i % 30 + 1 )));"
    echo "SELECT pg_sleep(0.002);"
done | "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null) & pids+=($!)
for r in 1 2; do
    # 40 reads that see windows (the first runs may not have listed any yet), 400 at most
    run "DO \$\$
        DECLARE
            n bigint;
            seen integer := 0;
        BEGIN
            FOR i IN 1..400 LOOP
                INSERT INTO stress_reads
                SELECT $r, i, granularity, window_start, count(DISTINCT source), count(*)
                FROM stress.top_10 GROUP BY granularity, window_start;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n > 0 THEN
                    seen := seen + 1;
                END IF;
                EXIT WHEN seen >= 40;
                COMMIT;
                PERFORM pg_sleep(0.01);
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
