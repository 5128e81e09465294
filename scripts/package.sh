#!/usr/bin/env bash
# Builds the installable artefacts of topk_pg for PostgreSQL 15 on Debian (the pg_config
# below) with `cargo pgrx package`:
#   target/package/topk_pg-VERSION-pg15-debian12-ARCH.tar.gz
#       usr/lib/postgresql/15/lib/topk_pg.so and usr/share/postgresql/15/extension/topk_pg*
#       (install: tar -xzf FILE -C /)
#   target/package/postgresql-15-topk-pg_VERSION-1_ARCH.deb
#       the same files as a Debian package that depends on postgresql-15
#       (install: apt install ./FILE.deb)
# then CREATE EXTENSION topk_pg in any cluster of that PostgreSQL.
#
#   scripts/package.sh              optimised build (cargo pgrx package; about 10 minutes
#                                   on 2 cores from scratch, fat LTO)
#   scripts/package.sh --debug      debug build (what the tests already built: fast)
#   scripts/package.sh --out DIR    write the artefacts to DIR instead of target/package
#
# Prints the artefacts' paths (the last two lines). tests/package/run.sh installs them
# into a clean PostgreSQL 15 and runs a query.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
profile=release
out=$REPO/target/package
while [ $# -gt 0 ]; do
    case "$1" in
        --debug) profile=debug ;;
        --out) out=$(realpath -m "$2"); shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "package.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

scripts/setup.sh
command -v dpkg-deb >/dev/null || { echo "package.sh: dpkg-deb is missing" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
pgmajor=$("$PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
arch=$(dpkg --print-architecture)
debian=$(. /etc/os-release && echo "${ID}${VERSION_ID:-}")
name=topk_pg-$version-pg$pgmajor-$debian-$arch
stage=$out/stage
rm -rf "$stage"
mkdir -p "$out"
rm -f "$out"/topk_pg-*.tar.gz "$out"/postgresql-*-topk-pg_*.deb

echo "== cargo pgrx package ($profile build; waits if the build directory is locked)"
args=(--pg-config "$PG_CONFIG" --out-dir "$stage")
[ $profile = debug ] && args+=(--debug)
cargo pgrx package "${args[@]}" 2>&1 | sed "s/\x1b\[[0-9;]*m//g" | grep -v "^\s*\(Copying\|Writing\|Discovered\)" || true

libdir=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)
so=$stage$libdir/topk_pg.so
control=$stage$sharedir/extension/topk_pg.control
sqlfile=$stage$sharedir/extension/topk_pg--$version.sql
for f in "$so" "$control" "$sqlfile"; do
    [ -f "$f" ] || { echo "package.sh: cargo pgrx package did not produce $f" >&2; exit 1; }
done
grep -q "default_version = '$version'" "$control" ||
    { echo "package.sh: $control does not say default_version = '$version'" >&2; exit 1; }
# Debug information is most of a debug build's size; PostgreSQL needs only the symbols.
strip --strip-debug "$so"
docdir=$stage/usr/share/doc/postgresql-$pgmajor-topk-pg
mkdir -p "$docdir"
cp README.md META.json "$docdir/"
[ -d docs ] && cp -r docs "$docdir/"
chmod -R u=rwX,go=rX "$stage"

tarball=$out/$name.tar.gz
tar -C "$stage" --owner=root --group=root --numeric-owner --sort=name -czf "$tarball" usr

# The Debian package: the same tree plus DEBIAN/control.
deb_root=$out/deb
rm -rf "$deb_root"
cp -a "$stage" "$deb_root"
mkdir -p "$deb_root/DEBIAN"
size=$(du -sk "$deb_root/usr" | cut -f1)
cat > "$deb_root/DEBIAN/control" <<CONTROL
Package: postgresql-$pgmajor-topk-pg
Version: $version-1
Architecture: $arch
Maintainer: topk_pg maintainers <maintainers@topk-pg.invalid>
Depends: postgresql-$pgmajor, libc6, libgcc-s1
Section: database
Priority: optional
Installed-Size: $size
Homepage: https://pgxn.org/dist/topk_pg/
Description: Top-K, heavy-hitter and distinct-count sketches for PostgreSQL $pgmajor
 topk_pg adds HyperLogLog (hll), count-min (cms), space-saving (spacesaving)
 and count-min + space-saving (heavy_hitters) sketch types with build and
 merge aggregates, and a Lambda pipeline (speed and batch paths, rollups,
 top_1000 views) as SQL objects. After installing: CREATE EXTENSION topk_pg;
 Built with cargo pgrx ($profile).
CONTROL
deb=$out/postgresql-$pgmajor-topk-pg_${version}-1_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$deb_root" "$deb" >/dev/null
rm -rf "$deb_root" "$stage"

echo "== artefacts ($profile build)"
ls -l "$tarball" "$deb" | awk '{print "   " $5 " bytes  " $9}'
echo "$tarball"
echo "$deb"
