#!/usr/bin/env bash
# The packaging test: builds the artefacts with scripts/package.sh, installs each one into
# a CLEAN PostgreSQL 15 (exactly the files of Debian's postgresql-15 package, copied into
# a root of its own under /tmp: no topk_pg, no other extension) and, on a cluster of that
# PostgreSQL (port 28844), runs CREATE EXTENSION topk_pg and queries. The system
# installation is never touched (PostgreSQL finds its lib and share directories relative
# to its binaries, so the copied server loads only what the artefact put beside it).
# Also checks META.json and topk_pg.control.
#
#   tests/package/run.sh             package.sh (release build: ~10 minutes from scratch)
#   tests/package/run.sh --debug     package.sh --debug (reuses the tests' debug build)
#   tests/package/run.sh --no-build  test the artefacts already in target/package
#
# Closes with 'package: N passed, N failed'.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
build=()
case "${1:-}" in
    "") ;;
    --debug) build=(--debug) ;;
    --no-build) build=(none) ;;
    *) echo "usage: $0 [--debug|--no-build]" >&2; exit 2 ;;
esac

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok     $1"; }
fail() { failed=$((failed + 1)); echo "FAILED $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       /'; return 0; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)

# META.json (PGXN) and the control file.
if meta=$(python3 - "$version" <<'PY'
import json, re, sys
version = sys.argv[1]
m = json.load(open("META.json"))
for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    assert key in m, f"META.json has no {key}"
assert m["name"] == "topk_pg", m["name"]
assert m["version"] == version, f"META.json version {m['version']} is not Cargo.toml's {version}"
assert m["meta-spec"]["version"] == "1.0.0", m["meta-spec"]
assert re.fullmatch(r"\d+\.\d+\.\d+", m["version"]), "not a semantic version"
p = m["provides"]["topk_pg"]
assert p["version"] == version, f"provides.topk_pg.version {p['version']}"
assert m["prereqs"]["runtime"]["requires"]["PostgreSQL"].startswith("15"), m["prereqs"]
assert m.get("release_status", "stable") in ("stable", "testing", "unstable")
control = dict(re.findall(r"^(\w+)\s*=\s*'?([^'\n]*)'?\s*$", open("topk_pg.control").read(), re.M))
assert len(control.get("comment", "")) > 40, "topk_pg.control: no real comment"
assert control["default_version"] == "@CARGO_VERSION@", control["default_version"]
assert control.get("requires") == "plpgsql", control.get("requires")
assert control.get("superuser") == "true" and control.get("trusted") == "false"
print(f"META.json {m['version']} ({m['license']}), topk_pg.control requires {control['requires']}")
PY
); then
    ok "$meta"
else
    fail "META.json / topk_pg.control" "$meta"
fi

if [ "${build[0]:-}" != none ]; then
    scripts/package.sh "${build[@]}"
fi
tarball=$(ls -t target/package/topk_pg-"$version"-pg15-*.tar.gz 2>/dev/null | head -1)
deb=$(ls -t target/package/postgresql-15-topk-pg_"$version"-1_*.deb 2>/dev/null | head -1)
if [ -z "$tarball" ] || [ -z "$deb" ]; then
    fail "no artefacts in target/package (run scripts/package.sh)"
    echo "package: $passed passed, $failed failed"
    exit 1
fi

# What the artefacts hold: exactly the extension's files, the docs, and nothing else
# (and the update scripts from earlier versions, for ALTER EXTENSION topk_pg UPDATE).
expected=$({
    echo "usr/lib/postgresql/15/lib/topk_pg.so"
    echo "usr/share/postgresql/15/extension/topk_pg--$version.sql"
    echo "usr/share/postgresql/15/extension/topk_pg.control"
    for f in sql/topk_pg--*--*.sql; do
        if [ -f "$f" ]; then echo "usr/share/postgresql/15/extension/$(basename "$f")"; fi
    done
} | sort)
files=$(tar -tzf "$tarball" | grep -v '/$' | grep -v '^usr/share/doc/postgresql-15-topk-pg/' | grep . | sort)
if [ "$files" = "$expected" ]; then
    ok "$(basename "$tarball") holds the library, the control file, the install and update scripts (and docs)"
else
    fail "$(basename "$tarball") holds" "$files"
fi
deb_files=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./||' | grep -v '/$' | grep -v '^usr/share/doc/postgresql-15-topk-pg/' | grep . | sort)
deb_info=$(dpkg-deb --field "$deb" Package Version Architecture Depends)
if [ "$deb_files" = "$expected" ] && echo "$deb_info" | grep -q "^Package: postgresql-15-topk-pg$" &&
   echo "$deb_info" | grep -q "^Version: $version-1$" && echo "$deb_info" | grep -q "^Depends: postgresql-15"; then
    ok "$(basename "$deb"): the same files, package postgresql-15-topk-pg $version-1, depends on postgresql-15"
else
    fail "$(basename "$deb")" "$deb_files
$deb_info"
fi

# A clean PostgreSQL 15: the files of Debian's postgresql-15 package, nothing else.
base=/tmp/topk_pg_package_test
rm -rf "$base"
mkdir -p "$base"
clean=$base/clean
mkdir -p "$clean"
dpkg -L postgresql-15 | grep -E '^/usr/(lib|share)/postgresql/15/' | grep -v '/bitcode' |
    while read -r f; do [ -d "$f" ] || echo "${f#/}"; done > "$base/files"
tar -C / --no-recursion -cf - -T "$base/files" | tar -C "$clean" -xf -
if ls "$clean"/usr/lib/postgresql/15/lib/topk_pg* "$clean"/usr/share/postgresql/15/extension/topk_pg* >/dev/null 2>&1; then
    fail "the clean PostgreSQL copy has topk_pg files"
fi

port=${TOPK_PACKAGE_PORT:-28844}
if [ "$(id -u)" = 0 ]; then RUN=(runuser -u postgres --); OWNER=postgres; else RUN=(); OWNER=$(id -un); fi
server=""
cleanup() {
    if [ -n "$server" ]; then "${RUN[@]}" "$server/usr/lib/postgresql/15/bin/pg_ctl" -D "$server/data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$base"
}
trap cleanup EXIT

# Installs one artefact into a copy of the clean PostgreSQL, starts it, and queries.
try_artefact() {
    local what=$1 root=$2
    server=$root
    local bin=$root/usr/lib/postgresql/15/bin
    chown -R "$OWNER" "$root"
    "${RUN[@]}" "$bin/initdb" -D "$root/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$root/initdb.log" 2>&1 ||
        { fail "$what: initdb of the clean PostgreSQL" "$(tail -5 "$root/initdb.log")"; return; }
    mkdir -p "$root/socket" && chown "$OWNER" "$root/socket"
    "${RUN[@]}" env RUST_BACKTRACE=0 "$bin/pg_ctl" -D "$root/data" -l "$root/server.log" -w \
        -o "-p $port -k $root/socket -c listen_addresses='' -c jit=off" start >/dev/null ||
        { fail "$what: starting the clean PostgreSQL" "$(tail -5 "$root/server.log")"; return; }
    local out
    if out=$(psql -X -q -At -v ON_ERROR_STOP=1 -h "$root/socket" -p "$port" -U postgres -d postgres 2>&1 <<'SQL'
SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR';
CREATE EXTENSION topk_pg;
SELECT extversion FROM pg_extension WHERE extname = 'topk_pg';
SELECT probin FROM pg_proc WHERE proname = 'topk_pg_version';
SELECT topk_pg_version();
SELECT hll_count(hll_agg(g)) FROM generate_series(1, 1000) g;
SELECT string_agg(item || ':' || count, ',' ORDER BY rank)
FROM topk_items((SELECT topk_agg(g % 7) FROM generate_series(1, 700) g), 3);
CREATE TABLE events (at timestamptz NOT NULL, item bigint NOT NULL);
SELECT topk.create_pipeline('sales', 'events', 'item', 'at');
INSERT INTO events SELECT '2024-01-01'::timestamptz + g * interval '1 minute', g % 3 FROM generate_series(1, 300) g;
SET client_min_messages = warning;
CALL topk.run_speed('sales');
SELECT count(*) FROM sales.top_1000 WHERE granularity = 'day';
SQL
    ); then
        local want="$root/usr/lib/postgresql/15/lib
0.1.0
\$libdir/topk_pg
0.1.0
1000
0:100,1:100,2:100

3"
        want=${want//0.1.0/$version}
        if [ "$out" = "$want" ]; then
            ok "$what: CREATE EXTENSION topk_pg and queries (sketches, a pipeline) on a clean PostgreSQL 15 with only the artefact"
        else
            fail "$what: unexpected query results" "$(diff <(echo "$want") <(echo "$out") || true)"
        fi
    else
        fail "$what: CREATE EXTENSION or a query failed" "$out"
    fi
    "${RUN[@]}" "$bin/pg_ctl" -D "$root/data" -m fast stop >/dev/null 2>&1 || true
    server=""
}

root=$base/from_tarball
cp -a "$clean" "$root"
tar -C "$root" -xzf "$tarball"
try_artefact "tarball" "$root"

root=$base/from_deb
cp -a "$clean" "$root"
dpkg-deb -x "$deb" "$root"
try_artefact ".deb" "$root"

echo "package: $passed passed, $failed failed"
[ "$failed" = 0 ]
