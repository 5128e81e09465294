#!/usr/bin/env bash
# Client tests: what a BI tool (JDBC) and a Python notebook see of topk_pg, against a
# fresh private cluster (port 28842, data under /tmp) loaded with tests/clients/fixture.sql,
# connected over TCP to 127.0.0.1 as the read-only role `dashboard`.
#
#   tests/clients/run.sh            both
#   tests/clients/run.sh jdbc       tests/clients/jdbc/TopkJdbcTest.java with Debian's
#                                   PostgreSQL JDBC driver and the machine's Java 17
#   tests/clients/run.sh python     tests/clients/python/top10_over_time.py (psycopg from
#                                   PyPI, in a venv) must write a real PNG
#
# Installs what is missing (libpostgresql-jdbc-java, a JDK; a venv with psycopg[binary] and
# matplotlib from PyPI, or Debian's python3-psycopg/python3-matplotlib when PyPI is out of
# reach). Run scripts/install.sh first. Closes with 'clients: N passed, N failed'.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
what=${1:-all}
case "$what" in all|jdbc|python) ;; *) echo "usage: $0 [all|jdbc|python]" >&2; exit 2 ;; esac

source scripts/apt.sh

if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control" ]; then
    echo "tests/clients/run.sh: topk_pg is not installed (run scripts/install.sh)" >&2
    exit 1
fi

# Tools first, so that a missing one fails before the cluster starts.
JDBC_JAR=/usr/share/java/postgresql.jar
if [ "$what" != python ]; then
    command -v javac >/dev/null || apt_install openjdk-17-jdk-headless
    apt_install libpostgresql-jdbc-java
fi
PY=""
if [ "$what" != jdbc ]; then
    VENV=${TOPK_CLIENTS_VENV:-/tmp/topk_pg_clients_venv}
    have_mods() { "$1" -c 'import psycopg, matplotlib' >/dev/null 2>&1; }
    if [ -x "$VENV/bin/python" ] && have_mods "$VENV/bin/python"; then
        PY=$VENV/bin/python
    else
        echo "== a venv with psycopg[binary] and matplotlib from PyPI ($VENV)"
        if python3 -m venv "$VENV" >/dev/null 2>&1 &&
           "$VENV/bin/pip" install -q --disable-pip-version-check 'psycopg[binary]' matplotlib &&
           have_mods "$VENV/bin/python"; then
            PY=$VENV/bin/python
        else
            echo "   PyPI is out of reach: using Debian's python3-psycopg and python3-matplotlib"
            apt_install python3-psycopg python3-matplotlib
            PY=/usr/bin/python3
            have_mods "$PY" || { echo "tests/clients/run.sh: cannot import psycopg and matplotlib" >&2; exit 1; }
        fi
    fi
fi

export TOPK_PORT=${TOPK_CLIENTS_PORT:-28842}
export TOPK_CLUSTER_DIR=/tmp/topk_pg_clients_$TOPK_PORT
export TOPK_DB=topk_clients
scripts/cluster.sh destroy
scripts/cluster.sh start
out=$(mktemp -d /tmp/topk_pg_clients_out.XXXXXX)
trap 'scripts/cluster.sh destroy; rm -rf "$out"' EXIT
echo "== loading tests/clients/fixture.sql (port $TOPK_PORT, database $TOPK_DB)"
if ! scripts/cluster.sh psql -q -v ON_ERROR_STOP=1 -f tests/clients/fixture.sql >"$out/fixture.log" 2>&1; then
    cat "$out/fixture.log"
    echo "clients: 0 passed, 1 failed"
    exit 1
fi

passed=0
failed=0
if [ "$what" != python ]; then
    echo "== JDBC ($(java -version 2>&1 | head -1); $(basename "$(readlink -f "$JDBC_JAR")"))"
    mkdir -p "$out/classes"
    javac -Xlint:all -Werror -cp "$JDBC_JAR" -d "$out/classes" tests/clients/jdbc/TopkJdbcTest.java
    set +e
    java -cp "$out/classes:$JDBC_JAR" TopkJdbcTest \
        "jdbc:postgresql://127.0.0.1:$TOPK_PORT/$TOPK_DB?user=dashboard&ApplicationName=topk_pg_jdbc_test" | tee "$out/jdbc.log"
    rc=${PIPESTATUS[0]}
    set -e
    line=$(grep -E '^jdbc: [0-9]+ passed, [0-9]+ failed$' "$out/jdbc.log" || true)
    if [ -n "$line" ]; then
        passed=$((passed + $(echo "$line" | awk '{print $2}')))
        failed=$((failed + $(echo "$line" | awk '{print $4}')))
    fi
    if [ "$rc" != 0 ] && [ -z "$line" ]; then failed=$((failed + 1)); fi
fi

if [ "$what" != jdbc ]; then
    echo "== Python example ($("$PY" -c 'import psycopg, matplotlib; print("psycopg", psycopg.__version__, "matplotlib", matplotlib.__version__)'))"
    png=$out/top10.png
    if "$PY" tests/clients/python/top10_over_time.py --out "$png" \
            "host=127.0.0.1 port=$TOPK_PORT dbname=$TOPK_DB user=dashboard application_name=topk_pg_python_test" &&
       "$PY" - "$png" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert w >= 600 and h >= 400, f"PNG is only {w}x{h}"
assert len(data) > 20000, f"PNG is only {len(data)} bytes: an empty plot?"
print(f"ok     PNG {w}x{h}, {len(data)} bytes")
PY
    then
        passed=$((passed + 1))
        [ -n "${TOPK_CLIENTS_KEEP_PNG:-}" ] && cp "$png" "$TOPK_CLIENTS_KEEP_PNG"
    else
        echo "FAILED the Python example"
        failed=$((failed + 1))
    fi
fi

echo "clients: $passed passed, $failed failed"
[ "$failed" = 0 ]
