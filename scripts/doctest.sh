#!/usr/bin/env bash
# Documentation that runs: executes every SQL example of README.md and docs/*.md against
# a fresh private cluster (port 28841, data under /tmp) and compares the output each doc
# shows; the convention is in docs/README.md ("Examples that run") and scripts/doctest.py.
# Run scripts/install.sh first (the installed topk_pg is what runs).
#
#   scripts/doctest.sh                        README.md and docs/*.md
#   scripts/doctest.sh docs/sketches.md ...   only these
#   scripts/doctest.sh --update [--add-missing] [FILE ...]
#                                             write psql's actual output into the docs
#   scripts/doctest.sh -v ...                 also print psql's whole output
#
# Prints ok/FAILED per file with a diff per failing example, and closes with
# 'doctest: N passed, N failed' (examples). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/topk_pg.control" ]; then
    echo "doctest.sh: topk_pg is not installed (run scripts/install.sh)" >&2
    exit 1
fi

opts=()
files=()
for a in "$@"; do
    case "$a" in
        --update|--add-missing|-v|--verbose) opts+=("$a") ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "doctest.sh: unknown option $a" >&2; exit 2 ;;
        *) files+=("$a") ;;
    esac
done
if [ ${#files[@]} -eq 0 ]; then
    files=(README.md)
    for f in docs/*.md; do [ -f "$f" ] && files+=("$f"); done
fi

export TOPK_PORT=${TOPK_DOCTEST_PORT:-28841}
export TOPK_CLUSTER_DIR=/tmp/topk_pg_doctest_$TOPK_PORT
export TOPK_DB=postgres
scripts/cluster.sh destroy
scripts/cluster.sh start
trap 'scripts/cluster.sh destroy' EXIT
eval "$(scripts/cluster.sh env | sed 's/^/export /')"
export PATH="$("$PG_CONFIG" --bindir):$PATH"
# Messages as a reader sees them in any terminal.
export PGCLIENTENCODING=UTF8 LC_ALL=C.UTF-8
unset PGOPTIONS PSQLRC || true

python3 scripts/doctest.py "${opts[@]}" "${files[@]}"
