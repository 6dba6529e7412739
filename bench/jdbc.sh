#!/usr/bin/env bash
# Ferry's JDBC sink into PostgreSQL vs PostgreSQL's own COPY of the same rows.
#
#   bench/jdbc.sh [--records N] [--runs R]     defaults: 300,000 records, 3 runs
#
# Writes bench/results/jdbc.json; details in bench/README.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/bench"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
exec python3 -u jdbc.py "$@" </dev/null
