#!/usr/bin/env bash
# Logical replication for real: a publisher database and a subscriber database in one
# private cluster (port 28852, wal_level = logical, data under /tmp/topk_pg_replication),
# a subscription between them, and pipelines on the subscriber's copy of the events
# table (partitioned there by day, not on the publisher). The apply worker fires row
# triggers, never statement triggers: the pipeline's row triggers (enabled for replica
# sessions) mark what it applies. Checks, each after the subscriber has caught up and
# CALL topk.run: every final window of every granularity equals GROUP BY over the
# subscriber's table (tests/sql/include/checks.sql), and the open hours' speed sketches
# count its events, for
#   1. the initial copy of existing rows;
#   2. replicated INSERTs (single rows and a bulk INSERT … SELECT), UPDATEs of the item,
#      the time (a row moves to another day's partition) and the weight, DELETEs;
#   3. a replicated TRUNCATE and a reload;
#   4. INSERT … ON CONFLICT DO UPDATE on the publisher.
# Run scripts/install.sh first. About 30 s. Closes with 'replication: N passed'.
set -euo pipefail
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control" ]; then
    echo "tests/replication/run.sh: topk_pg is not installed (run scripts/install.sh)" >&2
    exit 1
fi
WAIT=${TOPK_REPLICATION_WAIT:-120}

export TOPK_PORT=${TOPK_REPLICATION_PORT:-28852}
export TOPK_CLUSTER_DIR=/tmp/topk_pg_replication
export TOPK_DB=subscriber
scripts/cluster.sh destroy
scripts/cluster.sh start
trap 'scripts/cluster.sh destroy' EXIT
cat >> "$TOPK_CLUSTER_DIR/data/postgresql.conf" <<CONF
wal_level = logical
max_replication_slots = 4
max_wal_senders = 4
CONF
scripts/cluster.sh stop
scripts/cluster.sh start
eval "$(scripts/cluster.sh env | sed 's/^/export /')"
export PGOPTIONS="-c client_min_messages=warning"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok     $1"; }
fail() { failed=$((failed + 1)); echo "FAILED $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       /'; return 0; }
pub() { scripts/cluster.sh psql -d publisher -qAtX -v ON_ERROR_STOP=1 "$@"; }
sub() { scripts/cluster.sh psql -d subscriber -qAtX -v ON_ERROR_STOP=1 "$@"; }

# A fingerprint of the events table, to know when the subscriber has caught up.
FINGERPRINT="SELECT count(*) || '/' || coalesce(sum(id * 31 + qty + extract(epoch FROM at)::bigint), 0)
             || '/' || coalesce(md5(string_agg(id || item, ',' ORDER BY id)), '') FROM events"
caught_up() {
    local start=$SECONDS want
    want=$(pub -c "$FINGERPRINT")
    while [ $((SECONDS - start)) -lt "$WAIT" ]; do
        [ "$(sub -c "$FINGERPRINT")" = "$want" ] && return 0
        sleep 0.5
    done
    echo "the subscriber did not catch up within ${WAIT}s: publisher $want, subscriber $(sub -c "$FINGERPRINT")" >&2
    return 1
}
# Runs both pipelines (marks present before: at least $1) and checks them against the table.
check() {
    local what=$1 marks out
    marks=$(sub -c "SELECT (SELECT count(*) FROM views.changes) || ' ' || (SELECT count(*) FROM units.changes)")
    sub -c "CALL topk.run('views')" -c "CALL topk.run('units')" >/dev/null
    out=$(sub -c "SELECT coalesce(sum(final_windows), 0) || ' ' || coalesce(sum(mismatches), 0) FROM check_all()" \
              -c "SELECT string_agg(speed_hours || ' ' || wrong_totals, ' ') FROM (SELECT * FROM check_speed('views') UNION ALL SELECT * FROM check_speed('units')) s")
    local windows mismatches speed
    windows=$(echo "$out" | sed -n 1p | cut -d' ' -f1)
    mismatches=$(echo "$out" | sed -n 1p | cut -d' ' -f2)
    speed=$(echo "$out" | sed -n 2p)
    if [ "$mismatches" = 0 ] && [ "$windows" -gt 0 ] && [ "$(echo "$speed" | awk '{print $2 + $4}')" = 0 ] &&
       [ "$(echo "$marks" | awk '{print ($1 > 0 && $2 > 0)}')" = 1 ]; then
        ok "$what: marked by the apply worker ($marks marks), then $windows final windows, 0 mismatches; speed hours $speed (hours, wrong)"
    else
        fail "$what: marks $marks, final windows $windows, mismatches $mismatches, speed (hours wrong hours wrong) $speed" \
             "$(sub -c "SELECT * FROM check_all()" -c "TABLE views.stale" 2>&1 | head -20)"
    fi
}

q() { scripts/cluster.sh psql -d postgres -qAtX -v ON_ERROR_STOP=1 "$@"; }
q -c "CREATE DATABASE publisher" >/dev/null
# The publisher: a plain table with a key; a day of clicks, three items in ten.
pub >/dev/null <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, item text NOT NULL, qty int NOT NULL);
INSERT INTO events SELECT g, timestamptz '2024-05-01' + g * interval '29 seconds', 'i' || (g * g % 10), 1 + g % 4
FROM generate_series(1, 3000) g;
-- The whole old row identifies it (the subscriber's key includes the time).
ALTER TABLE events REPLICA IDENTITY FULL;
CREATE PUBLICATION events_pub FOR TABLE events;
-- In one cluster, the slot is made beforehand (CREATE SUBSCRIPTION would wait for itself).
SELECT pg_create_logical_replication_slot('events_sub', 'pgoutput');
SQL
# The subscriber: the same table partitioned by day, two pipelines (one weighted, one with a
# distinct column), the checks.
sub >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION topk_pg;
CREATE TABLE events (id bigint NOT NULL, at timestamptz NOT NULL, item text NOT NULL, qty int NOT NULL)
    PARTITION BY RANGE (at);
CREATE TABLE events_0501 PARTITION OF events FOR VALUES FROM ('2024-05-01') TO ('2024-05-02');
CREATE TABLE events_0502 PARTITION OF events FOR VALUES FROM ('2024-05-02') TO ('2024-05-03');
CREATE TABLE events_rest PARTITION OF events DEFAULT;
ALTER TABLE events ADD PRIMARY KEY (id, at);
SELECT topk.create_pipeline('views', 'events', 'item', 'at', distinct_column => 'qty');
SELECT topk.create_pipeline('units', 'events', 'item', 'at', weight_column => 'qty');
UPDATE topk.pipelines SET clock = '2024-05-02 12:05+00';
\i tests/sql/include/checks.sql
SQL
sub -c "CREATE SUBSCRIPTION events_sub CONNECTION 'host=$PGHOST port=$PGPORT dbname=publisher user=$PGUSER'
        PUBLICATION events_pub WITH (create_slot = false, slot_name = 'events_sub')" >/dev/null
echo "== subscription events_sub: publisher -> subscriber on port $PGPORT"

# 1. The initial copy.
caught_up
check "initial copy of 3,000 rows"

# 2. Replicated INSERTs, UPDATEs and DELETEs, in old hours and in open ones.
pub >/dev/null <<'SQL'
INSERT INTO events VALUES (10001, '2024-05-01 03:10', 'late', 2);
INSERT INTO events SELECT 20000 + g, timestamptz '2024-05-02 10:00' + g * interval '7 seconds', 'bulk' || g % 3, 1
FROM generate_series(1, 1500) g;
UPDATE events SET item = 'renamed' WHERE id % 17 = 0;
UPDATE events SET at = at + interval '1 day' WHERE id BETWEEN 100 AND 140;   -- into the next day's partition
UPDATE events SET qty = qty + 10 WHERE id BETWEEN 500 AND 520;
DELETE FROM events WHERE id % 13 = 0;
BEGIN;
INSERT INTO events VALUES (10002, '2024-05-01 05:00', 'in a transaction', 3);
DELETE FROM events WHERE id BETWEEN 900 AND 950;
COMMIT;
SQL
caught_up
check "replicated INSERT, UPDATE (item, time, weight), DELETE"

# 3. TRUNCATE and a reload.
pub -c "TRUNCATE events" >/dev/null
caught_up
pub >/dev/null <<'SQL'
INSERT INTO events SELECT g, timestamptz '2024-05-01 06:00' + g * interval '41 seconds', 'r' || (g % 5), 1 + g % 3
FROM generate_series(1, 2000) g;
SQL
caught_up
check "replicated TRUNCATE, then a reload"

# 4. ON CONFLICT DO UPDATE on the publisher (replicated as inserts and updates).
pub >/dev/null <<'SQL'
INSERT INTO events SELECT g, timestamptz '2024-05-01 07:00' + g * interval '13 seconds', 'upserted', 5
FROM generate_series(1500, 2500) g
ON CONFLICT (id) DO UPDATE SET item = excluded.item, qty = excluded.qty;
SQL
caught_up
check "replicated INSERT … ON CONFLICT DO UPDATE"

rows=$(sub -c "SELECT count(*) FROM events")
top=$(sub -c "SELECT item || ' ' || count FROM views.top_1000 WHERE granularity = 'day' AND window_start = '2024-05-01' AND rank = 1")
want=$(sub -c "SELECT item || ' ' || count(*) FROM events WHERE at >= '2024-05-01' AND at < '2024-05-02' GROUP BY item ORDER BY count(*) DESC, item LIMIT 1")
if [ -n "$top" ] && [ "$top" = "$want" ]; then
    ok "the subscriber's top_1000 for 2024-05-01 starts with '$top' like GROUP BY over its $rows rows"
else
    fail "top_1000 says '$top', GROUP BY says '$want'"
fi

sub -c "DROP SUBSCRIPTION events_sub" >/dev/null
echo "replication: $passed passed, $failed failed"
[ "$failed" = 0 ]
