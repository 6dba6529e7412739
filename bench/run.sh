#!/usr/bin/env bash
# Ferry vs Apache Kafka Connect 4.3.1 on the local broker: throughput, CPU,
# peak memory and start-up of the FileStream source and sink, next to the
# broker's own limit measured with Kafka's performance tools; then the JDBC
# sink row (bench/jdbc.sh: Ferry and Kafka Connect with Debezium's JDBC sink
# into PostgreSQL, next to COPY).
#
#   bench/run.sh [--records N] [--runs R] [--smoke] [--keep] [--keep-broker]
#
# Defaults: 1,000,000 records, 3 runs, medians reported. --smoke: 10,000
# records, 1 run, sanity assertions (what CI runs). Starts the broker if
# needed (and stops it again afterwards), builds Ferry in release mode (skipped
# when FERRY_BIN names a binary), prints a table and writes
# bench/results/latest.{json,svg} (smoke.{json,svg} with --smoke) and
# bench/results/jdbc.json (jdbc-smoke.json).
# Details in bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v python3 >/dev/null || { echo "bench: python3 not found" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
python3 -u bench/bench.py "$@" </dev/null
jdbc_args=()
for a in "$@"; do
  [[ $a == --smoke ]] && jdbc_args+=(--smoke)
done
exec python3 -u bench/jdbc.py "${jdbc_args[@]}" </dev/null
