#!/usr/bin/env bash
# The demo: installs what is missing, builds and installs topk_pg, starts a private
# PostgreSQL cluster (port 28815, data under /tmp), loads sample sales events and
# prints a top-10 dashboard. Leaves the cluster running for you to explore:
#   scripts/cluster.sh psql      # connect
#   scripts/cluster.sh destroy   # remove it
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== building and installing topk_pg (release)"
scripts/install.sh --release
echo "== starting the private cluster"
scripts/cluster.sh start
scripts/cluster.sh psql -q -v ON_ERROR_STOP=1 -f sql/demo/demo.sql
echo
echo "The cluster is still running: 'scripts/cluster.sh psql' connects, 'scripts/cluster.sh destroy' removes it."
