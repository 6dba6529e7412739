#!/usr/bin/env bash
# PostgreSQL change data capture: Ferry's Postgres connector next to
# Debezium 3.6.1's on Apache Kafka Connect 4.3.1, on the same database:
# (a) the snapshot of a table, (b) streaming a backlog of inserts from the
# slot, (c) commit -> Kafka latency under 10,000 rows/s.
#
#   bench/cdc.sh [--records N] [--runs R] [--latency-seconds S]
#                defaults: 1,000,000 records, 3 runs, 30 s of load
#
# Writes bench/results/cdc.json; details in bench/README.md ("Change data capture").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/bench"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
exec python3 -u cdc.py "$@" </dev/null
