#!/usr/bin/env bash
# Backup and restore: pg_dump of a database with stored sketches and two pipelines, in
# the custom format (pg_restore), in plain SQL (psql -f) and in the directory format
# (pg_restore -j 2), each restored into a fresh database of the same cluster, without an
# error. In each restored database:
#   1. the sketch columns of a user table (hll, cms, spacesaving, heavy_hitters) equal the
#      originals, as text and by their estimate functions;
#   2. every table of the pipelines (their schemas, and topk.pipelines, topk.progress,
#      topk.job_log with the sequence of its ids) has the content it had when dumped, the
#      pending change marks included; the capture triggers exist once on each table of the
#      sources' partition trees, each in its mode; the numbers of the columns a pipeline
#      reads are those of the restored tables (the sources had dropped columns, which
#      pg_dump does not keep);
#   3. the pipelines go on exactly: more events (INSERT, UPDATE, DELETE, a new partition
#      created and one attached after the restore, a column renamed), the clock moved on,
#      CALL topk.run; every final window of every granularity equals GROUP BY over the
#      source, and the restored database ends up with the same windows, lists, progress
#      and job_log ids as the original database after the same statements.
# Pipeline "shop": a source partitioned by day, a distinct column. Pipeline "revenue":
# a plain source, weighted. What a restore runs into is in sql/pipeline/capture.sql
# (topk._ddl_watch) and sql/pipeline/catalog.sql (topk.progress, topk._pipelines_columns).
# A private cluster (port 28850, data under /tmp/topk_pg_dump), destroyed at the end.
# Run scripts/install.sh first. About 50 s. Closes with 'dump: N passed'.
set -euo pipefail
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control" ]; then
    echo "tests/dump/run.sh: topk_pg is not installed (run scripts/install.sh)" >&2
    exit 1
fi

export TOPK_PORT=28850
export TOPK_CLUSTER_DIR=/tmp/topk_pg_dump
export TOPK_DB=topk_dump
BINDIR=$("$PG_CONFIG" --bindir)
work=$(mktemp -d /tmp/topk_pg_dump_work.XXXXXX)
cleanup() {
    scripts/cluster.sh destroy
    rm -rf "$work"
}
scripts/cluster.sh destroy
trap cleanup EXIT
scripts/cluster.sh start
# The connection settings for pg_dump, pg_restore, createdb.
eval "export $(scripts/cluster.sh env)"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "dump: $1 ok"; }
fail() { failed=$((failed + 1)); echo "dump: $1 FAILED"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       /'; return 0; }
q() { scripts/cluster.sh psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
# check NAME EXPECTED DB SQL: the query's output in database DB must be EXPECTED.
check() {
    local got
    got=$(q -d "$3" -c "$4" 2>&1) || true
    if [ "$got" = "$2" ]; then ok "$1"; else fail "$1" "expected: $2
got:      $got"; fi
}
# remember KEY SQL: the query's output in the original database, for same().
remember() {
    q -d "$TOPK_DB" -c "$2" > "$work/orig_$1"
}
# same KEY NAME DB SQL: the query's output in DB equals what remember KEY saw in the
# original database at the same point of the scenario.
same() {
    local got
    got=$(q -d "$3" -c "$4" 2>&1) || true
    if [ "$got" = "$(cat "$work/orig_$1")" ]; then ok "$3: $2"
    else fail "$3: $2" "$(diff "$work/orig_$1" <(echo "$got") | head -20)"; fi
}
t0=$SECONDS

###########################################################################################
# The original database.
q >/dev/null <<'SQL'
CREATE EXTENSION topk_pg;
SET client_min_messages = warning;

-- (a) Stored sketches: a user table with a sketch column of each kind.
CREATE TABLE sketches AS
SELECT g % 3 AS grp,
       hll_agg(g) AS distinct_ids,
       cms_agg(g % 97) AS frequencies,
       topk_agg(g % 50) AS top_ints,
       topk_agg('w' || (g * g) % 40) AS top_words,
       heavy_hitters_agg(g % 30) AS hitters
FROM generate_series(1, 20000) g GROUP BY 1;
CREATE TABLE more_sketches (id serial PRIMARY KEY, s spacesaving, h topk_hll);
INSERT INTO more_sketches (s, h)
SELECT topk_agg(g % 7), hll_agg(g % 1000) FROM generate_series(1, 500) g;

-- (b) Pipeline shop: a source partitioned by day (the days 2024-01-01 to 04), a distinct
-- column; pipeline revenue: a plain source, weighted.
CREATE TABLE events (
    id    bigint NOT NULL,
    note  text,
    at    timestamptz NOT NULL,
    item  text,
    buyer integer,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE events_0101 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
CREATE TABLE events_0102 PARTITION OF events FOR VALUES FROM ('2024-01-02') TO ('2024-01-03');
CREATE TABLE events_0103 PARTITION OF events FOR VALUES FROM ('2024-01-03') TO ('2024-01-04');
CREATE TABLE events_0104 PARTITION OF events FOR VALUES FROM ('2024-01-04') TO ('2024-01-05');
CREATE TABLE sales (
    id      bigserial PRIMARY KEY,
    legacy  integer,
    at      timestamptz NOT NULL,
    product bigint NOT NULL,
    cents   integer NOT NULL
);
-- Dropped columns: the restored tables number their columns differently (pg_dump
-- does not keep dropped columns), the pipelines follow their columns by name then.
ALTER TABLE events DROP COLUMN note;
ALTER TABLE sales DROP COLUMN legacy;
SELECT topk.create_pipeline('shop', 'events', 'item', 'at', k => 5, distinct_column => 'buyer');
SELECT topk.create_pipeline('revenue', 'sales', 'product', 'at', weight_column => 'cents', k => 3);
-- The hours until 2024-01-03 06:00 and the days 2024-01-01 and 02 are final.
UPDATE topk.pipelines SET clock = '2024-01-03 06:05+00';

-- Events on 2024-01-01 to 04, in a few hours of each day (an hour with events is a task
-- of its own; the empty hours between are finalised at once).
INSERT INTO events
SELECT g, timestamptz '2024-01-01 09:00' + (g / 600) * interval '1 day' + (g % 600) * interval '24 seconds',
       'p' || (g * g % 11), g % 17
FROM generate_series(0, 2399) g;   -- 09:00 to 12:59
INSERT INTO sales (at, product, cents)
SELECT timestamptz '2024-01-01 14:00' + (g / 500) * interval '1 day' + (g % 500) * interval '20 seconds',
       1 + g * g % 13, 50 + g % 400
FROM generate_series(0, 1999) g;   -- 14:00 to 16:46
CALL topk.run('shop');
CALL topk.run('revenue');

-- Changes not yet run: late rows in final hours, rows in open hours, an UPDATE and a
-- DELETE; shop's speed path runs once more, so that its batch path still has stale hours.
INSERT INTO events SELECT 100000 + g, timestamptz '2024-01-01 10:00' + g * interval '1 minute', 'late', g % 5
FROM generate_series(0, 99) g;
UPDATE events SET item = 'moved' WHERE id % 50 = 0;
DELETE FROM events WHERE id % 37 = 0;
CALL topk.run_speed('shop');
INSERT INTO events SELECT 200000 + g, timestamptz '2024-01-03 07:00' + g * interval '1 minute', 'pending', g % 3
FROM generate_series(0, 99) g;
INSERT INTO sales (at, product, cents)
SELECT timestamptz '2024-01-02 03:00' + g * interval '2 minutes', 99, 1000 FROM generate_series(0, 50) g;
UPDATE sales SET cents = cents + 7 WHERE id % 9 = 0;
DELETE FROM sales WHERE id % 31 = 0;

-- The checks' functions (dumped and restored with the rest).
CREATE SCHEMA dumptest;
-- Every final window of every granularity against GROUP BY over the source: the
-- scenarios' check_exact, made in this schema.
SET search_path = dumptest;
\i tests/sql/include/checks.sql
RESET search_path;
-- The content of every table of the given schemas: rows and a digest of their text.
CREATE FUNCTION dumptest.tables(schemas text[]) RETURNS TABLE (tbl text, n bigint, digest text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND ns.nspname = ANY (schemas) ORDER BY 1 LOOP
        -- (the columns' numbers in topk.pipelines follow the restored table: checked apart)
        RETURN QUERY EXECUTE format('SELECT %L, count(*), md5(coalesce(string_agg(j::text, E''\n'' ORDER BY j::text), ''''))
                                     FROM %s t, LATERAL (SELECT to_jsonb(t) - %L::text[]) x(j)', r.t, r.t,
                                    '{item_attnum,time_attnum,weight_attnum,distinct_attnum}');
    END LOOP;
END $$;
-- What a pipeline has computed, without the times its tasks ran: a digest per table.
CREATE FUNCTION dumptest.results(pipeline text) RETURNS TABLE (tbl text, n bigint, digest text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
            ('batch_table', '*'), ('top_lists', '*'), ('distinct_sketches', '*'),
            ('speed_table', 'granularity, window_start, window_end, events, count'),
            ('superseded_speed_lists', 'granularity, window_start, window_end, items, counts, errors'),
            ('stale', 'hour, speed, batch'), ('rejects', 'hour, events'), ('changes', 'first_hour, last_hour')) v(t, cols) LOOP
        RETURN QUERY EXECUTE format('SELECT %3$L, count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), ''''))
                                     FROM (SELECT %2$s FROM %1$I.%3$I) t', pipeline, r.cols, r.t);
    END LOOP;
END $$;
-- The capture triggers, per table: pipeline, number, each with its mode (O: ordinary
-- sessions, R: replica sessions, A: always).
CREATE VIEW dumptest.capture AS
SELECT tgrelid::regclass::text AS tbl, substring(tgname FROM '^topk_capture_(.*)_[a-z]+$') AS pipeline,
       count(*) AS triggers, string_agg(substring(tgname FROM '_([a-z]+)$') || '=' || tgenabled::text, ',' ORDER BY tgname) AS ops
FROM pg_trigger WHERE tgname LIKE 'topk\_capture\_%' GROUP BY 1, 2;
SQL
echo "   original database ready ($((SECONDS - t0)) s)"

# What the restored databases are compared with, taken before the dump.
SKETCHES="SELECT grp, md5(distinct_ids::text), md5(frequencies::text), md5(top_ints::text), md5(top_words::text),
                 md5(hitters::text), hll_count(distinct_ids), cms_total(frequencies), cms_estimate(frequencies, 5),
                 topk_total(top_ints), (SELECT string_agg(item || ':' || count || ':' || error, ' ' ORDER BY rank) FROM topk_items(top_ints, 5) i),
                 (SELECT string_agg(item || ':' || count, ' ' ORDER BY rank) FROM topk_items(top_words, 5) i),
                 heavy_hitters_total(hitters),
                 (SELECT string_agg(item || ':' || count, ' ' ORDER BY rank) FROM heavy_hitters_items(hitters, 5) i)
          FROM sketches ORDER BY grp"
MORE_SKETCHES="SELECT id, s::text, h::text, topk_estimate(s, 3), hll_count(h) FROM more_sketches ORDER BY id"
TABLES="SELECT * FROM dumptest.tables(ARRAY['shop', 'revenue', 'topk', 'public'])"
SEQUENCES="SELECT 'job_log_id_seq', last_value, is_called FROM topk.job_log_id_seq
           UNION ALL SELECT 'sales_id_seq', last_value, is_called FROM public.sales_id_seq
           UNION ALL SELECT 'more_sketches_id_seq', last_value, is_called FROM public.more_sketches_id_seq"
CAPTURE="SELECT * FROM dumptest.capture ORDER BY tbl, pipeline"
# The numbers of the columns a pipeline reads, where they are those of its named columns.
ATTNUMS="SELECT name, time_attnum, item_attnum, weight_attnum, distinct_attnum FROM topk.pipelines p
         WHERE (time_attnum, item_attnum, weight_attnum, distinct_attnum) IS NOT DISTINCT FROM
               ((SELECT attnum FROM pg_attribute WHERE attrelid = p.source AND attname = p.time_column AND NOT attisdropped),
                       (SELECT attnum FROM pg_attribute WHERE attrelid = p.source AND attname = p.item_column AND NOT attisdropped),
                       (SELECT attnum FROM pg_attribute WHERE attrelid = p.source AND attname = p.weight_column AND NOT attisdropped),
                       (SELECT attnum FROM pg_attribute WHERE attrelid = p.source AND attname = p.distinct_column AND NOT attisdropped))
         ORDER BY name"
remember sketches "$SKETCHES"
remember more_sketches "$MORE_SKETCHES"
remember tables "$TABLES"
remember sequences "$SEQUENCES"
remember capture "$CAPTURE"
check "the original has pending changes for both pipelines, stale hours for shop's batch path" "t" "$TOPK_DB" \
      "SELECT (SELECT count(*) FROM shop.changes) > 0 AND (SELECT count(*) FROM revenue.changes) > 0
              AND (SELECT count(*) FROM shop.stale WHERE batch) > 0"
check "the original: the pipelines' column numbers (after dropped columns)" "revenue|3|4|5|
shop|3|4||5" "$TOPK_DB" "$ATTNUMS"
check "the original: capture triggers on the 5 tables of events (4 on the parent, 5 on tables with rows) and on sales" \
      "events|shop|4|del=O,ins=O,trunc=A,upd=O
events_0101|shop|5|del=O,ins=O,row=R,trunc=A,upd=O
events_0102|shop|5|del=O,ins=O,row=R,trunc=A,upd=O
events_0103|shop|5|del=O,ins=O,row=R,trunc=A,upd=O
events_0104|shop|5|del=O,ins=O,row=R,trunc=A,upd=O
sales|revenue|5|del=O,ins=O,row=R,trunc=A,upd=O" "$TOPK_DB" "$CAPTURE"

###########################################################################################
# Dump, and restore into fresh databases.
"$BINDIR/pg_dump" -Fc -f "$work/dump.custom" "$TOPK_DB"
"$BINDIR/pg_dump" -Fp -f "$work/dump.sql" "$TOPK_DB"
"$BINDIR/pg_dump" -Fd -j 2 -f "$work/dump.dir" "$TOPK_DB"
ok "pg_dump -Fc, -Fp and -Fd ($((SECONDS - t0)) s)"

"$BINDIR/createdb" restored_custom
rc=0
"$BINDIR/pg_restore" -d restored_custom "$work/dump.custom" >"$work/restore_custom.log" 2>&1 || rc=$?
if [ $rc = 0 ] && ! grep -qE "ERROR|WARNING" "$work/restore_custom.log"; then
    ok "pg_restore -Fc into a fresh database: no error"
else
    fail "pg_restore -Fc into a fresh database: exit $rc" "$(head -30 "$work/restore_custom.log")"
fi
"$BINDIR/createdb" restored_plain
rc=0
"$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d restored_plain -f "$work/dump.sql" >"$work/restore_plain.log" 2>&1 || rc=$?
if [ $rc = 0 ] && ! grep -qE "ERROR|WARNING" "$work/restore_plain.log"; then
    ok "psql -f of the plain dump into a fresh database (ON_ERROR_STOP): no error"
else
    fail "psql -f of the plain dump into a fresh database: exit $rc" "$(head -30 "$work/restore_plain.log")"
fi
# A parallel restore orders the steps differently (data and post-data of different
# tables interleave).
"$BINDIR/createdb" restored_parallel
rc=0
"$BINDIR/pg_restore" -j 2 -d restored_parallel "$work/dump.dir" >"$work/restore_parallel.log" 2>&1 || rc=$?
if [ $rc = 0 ] && ! grep -qE "ERROR|WARNING" "$work/restore_parallel.log"; then
    ok "pg_restore -j 2 of the -Fd dump into a fresh database: no error"
else
    fail "pg_restore -j 2 of the -Fd dump into a fresh database: exit $rc" "$(head -30 "$work/restore_parallel.log")"
fi
DBS=(restored_custom restored_plain restored_parallel)

for db in "${DBS[@]}"; do
    echo "== $db: as dumped ($((SECONDS - t0)) s)"
    same sketches "the sketches of table sketches equal the originals (text, counts, estimates, items)" "$db" "$SKETCHES"
    same more_sketches "the sketches of table more_sketches equal the originals" "$db" "$MORE_SKETCHES"
    same tables "every table of the pipelines, of topk and of public has its rows as dumped" "$db" "$TABLES"
    same sequences "the sequences (topk.job_log_id_seq among them) have their values as dumped" "$db" "$SEQUENCES"
    same capture "the capture triggers are as in the original: once per table, each in its mode" "$db" "$CAPTURE"
    check "$db: the next id of topk.job_log is past its restored rows" "t" "$db" \
          "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END > (SELECT max(id) FROM topk.job_log) FROM topk.job_log_id_seq"
    check "$db: the pipelines' column numbers are those of the restored tables (the dropped columns are gone)" \
          "revenue|2|3|4|
shop|2|3||4" "$db" "$ATTNUMS"
done

###########################################################################################
# The pipelines go on: the same statements in the original and in the restored databases.
AFTER=$(cat <<'SQL'
SET client_min_messages = warning;
-- The clock moves on: hours, days and the week of 2024-01-01 final.
UPDATE topk.pipelines SET clock = '2024-01-08 01:00+00';
-- A column the pipeline reads is renamed (followed by its number).
ALTER TABLE sales RENAME COLUMN product TO product_id;
-- A partition created, one attached (with rows already in it).
CREATE TABLE events_0105 PARTITION OF events FOR VALUES FROM ('2024-01-05') TO ('2024-01-06');
CREATE TABLE events_0106 (LIKE events INCLUDING ALL);
INSERT INTO events_0106 SELECT 300000 + g, timestamptz '2024-01-06' + g * interval '30 seconds', 'attached', g % 7
FROM generate_series(0, 199) g;
ALTER TABLE events ATTACH PARTITION events_0106 FOR VALUES FROM ('2024-01-06') TO ('2024-01-07');
INSERT INTO events SELECT 400000 + g, timestamptz '2024-01-04 20:00' + (g / 200) * interval '1 day' + (g % 200) * interval '30 seconds',
                          'p' || g % 4, g % 9
FROM generate_series(0, 599) g;   -- into three partitions
INSERT INTO events_0105 SELECT 500000 + g, timestamptz '2024-01-05' + g * interval '1 minute', 'direct', g % 3
FROM generate_series(0, 99) g;
UPDATE events SET item = 'updated' WHERE id % 41 = 0;
UPDATE events SET at = at - interval '1 day' WHERE id BETWEEN 300000 AND 300199 AND id % 10 = 0;   -- to events_0105
DELETE FROM events WHERE id % 43 = 0;
INSERT INTO sales (at, product_id, cents)
SELECT timestamptz '2024-01-04 20:00' + (g / 100) * interval '1 day' + (g % 100) * interval '1 minute', 1 + g % 5, 10 * g
FROM generate_series(0, 300) g;
UPDATE sales SET cents = cents * 2 WHERE id % 11 = 0;
DELETE FROM sales WHERE id % 29 = 0;
CALL topk.run('shop');
CALL topk.run('revenue');
SQL
)
log_mark=$(q -c "SELECT max(id) FROM topk.job_log")
echo "== the original: the same statements ($((SECONDS - t0)) s)"
q -d "$TOPK_DB" >/dev/null <<<"$AFTER"
RESULTS="SELECT 'shop', * FROM dumptest.results('shop') UNION ALL SELECT 'revenue', * FROM dumptest.results('revenue')"
JOB_LOG="SELECT pipeline, count(*), min(id), max(id), count(DISTINCT id), count(*) FILTER (WHERE status <> 'ok')
         FROM topk.job_log GROUP BY 1 ORDER BY 1"
PROGRESS="SELECT pipeline, granularity, done_until, last_done FROM topk.progress ORDER BY 1, 2"
remember results "$RESULTS"
remember job_log "$JOB_LOG"
remember progress "$PROGRESS"
remember exact "SELECT 'shop', * FROM dumptest.check_exact('shop') UNION ALL SELECT 'revenue', * FROM dumptest.check_exact('revenue')"

for db in "${DBS[@]}"; do
    echo "== $db: the pipelines go on ($((SECONDS - t0)) s)"
    rc=0
    q -d "$db" >"$work/after_$db.log" 2>&1 <<<"$AFTER" || rc=$?
    if [ $rc = 0 ]; then ok "$db: INSERT, UPDATE, DELETE, a new and an attached partition, CALL topk.run"
    else fail "$db: the statements after the restore" "$(cat "$work/after_$db.log")"; fi
    check "$db: every final window of every granularity equals GROUP BY over the source" \
          "revenue|day|7|t|0
revenue|hour|21|t|0
revenue|month|0|f|0
revenue|week|1|t|0
revenue|year|0|f|0
shop|day|6|t|0
shop|hour|28|t|0
shop|month|0|f|0
shop|week|1|t|0
shop|year|0|f|0" "$db" \
          "SELECT 'shop', granularity, windows, batch_rows > 0, mismatches FROM dumptest.check_exact('shop')
           UNION ALL SELECT 'revenue', granularity, windows, batch_rows > 0, mismatches FROM dumptest.check_exact('revenue') ORDER BY 1, 2"
    same exact "the final windows and their rows are those of the original" "$db" "SELECT 'shop', * FROM dumptest.check_exact('shop') UNION ALL SELECT 'revenue', * FROM dumptest.check_exact('revenue')"
    check "$db: nothing left pending but the hours more than a day ahead of the clock" "0|0" "$db" \
          "SELECT (SELECT count(*) FROM shop.changes) + (SELECT count(*) FROM revenue.changes),
                  (SELECT count(*) FROM shop.stale WHERE batch) + (SELECT count(*) FROM revenue.stale WHERE batch)"
    check "$db: the created and the attached partition are captured (5 triggers each), once" \
          "events|shop|4|del=O,ins=O,trunc=A,upd=O
events_0101|shop|5|del=O,ins=O,row=R,trunc=A,upd=O
events_0102|shop|5|del=O,ins=O,row=R,trunc=A,upd=O
events_0103|shop|5|del=O,ins=O,row=R,trunc=A,upd=O
events_0104|shop|5|del=O,ins=O,row=R,trunc=A,upd=O
events_0105|shop|5|del=O,ins=O,row=R,trunc=A,upd=O
events_0106|shop|5|del=O,ins=O,row=R,trunc=A,upd=O
sales|revenue|5|del=O,ins=O,row=R,trunc=A,upd=O" "$db" "$CAPTURE"
    check "$db: the rows of the new partitions are counted (days 2024-01-05 and 06)" "t" "$db" \
          "SELECT (SELECT sum(count) FROM shop.batch_table WHERE granularity = 'day' AND window_start >= '2024-01-05')
                  = (SELECT count(*) FROM events WHERE at >= '2024-01-05' AND item IS NOT NULL)
              AND (SELECT count(*) FROM events_0105) > 100 AND (SELECT count(*) FROM events_0106) > 100"
    check "$db: job_log: the runs logged their tasks after the dumped rows, none failed" "t" "$db" \
          "SELECT count(*) > 0 AND bool_and(status = 'ok') AND min(started) > (SELECT max(started) FROM topk.job_log WHERE id <= $log_mark)
           FROM topk.job_log WHERE id > $log_mark"
    check "$db: the renamed column is followed (by the number it has in the restored table)" "product_id
revenue|2|3|4|
shop|2|3||4" "$db" "SELECT item_column FROM topk.pipelines WHERE name = 'revenue'; $ATTNUMS"
    same job_log "job_log: the same tasks with the same ids as the original's" "$db" "$JOB_LOG"
    same progress "progress: the same watermarks as the original's" "$db" "$PROGRESS"
    same results "batch_table, top_lists, distinct_sketches, speed_table, stale, rejects, changes: as the original's" "$db" "$RESULTS"
done

echo "   total $((SECONDS - t0)) s"
if [ "$failed" -gt 0 ]; then
    echo "dump: $passed passed, $failed failed"
    exit 1
fi
echo "dump: $passed passed"
