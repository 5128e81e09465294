#!/usr/bin/env bash
# Writes the update script sql/topk_pg--0.3.0--0.4.0.sql: sql/update/0.3.0--0.4.0-before.sql,
# then the pipeline's SQL files in the order src/lib.rs installs them (the catalog from its
# replay mark on: its tables exist and keep their rows), then …-after.sql, then sql/typed.sql
# (it creates or replaces the typed build aggregates). So the update
# creates the very code a fresh install does (tests/sql/upgrade.sql compares the two).
#   scripts/update-script.sh           write it
#   scripts/update-script.sh --check   fail if the committed file is not what it would write
set -euo pipefail
cd "$(dirname "$0")/.."
out=sql/topk_pg--0.3.0--0.4.0.sql
generate() {
    cat sql/update/0.3.0--0.4.0-before.sql
    for f in $(grep -o '"\.\./sql/pipeline/[a-z_]*\.sql"' src/lib.rs | tr -d '"' | sed 's|^\.\./||'); do
        echo
        echo "-- $f"
        if [ "$f" = sql/pipeline/catalog.sql ]; then
            sed -n '/^-- (Update scripts replay the pipeline.s SQL from here on/,$p' "$f"
        else
            cat "$f"
        fi
    done
    cat sql/update/0.3.0--0.4.0-after.sql
    echo
    echo "-- sql/typed.sql"
    cat sql/typed.sql
}
if [ "${1:-}" = --check ]; then
    if ! generate | cmp -s - "$out"; then
        echo "$out is not what scripts/update-script.sh writes from sql/pipeline/ and sql/update/: run it and commit" >&2
        exit 1
    fi
    echo "update script: $out is up to date"
else
    generate > "$out"
    echo "wrote $out ($(wc -l < "$out") lines)"
fi
