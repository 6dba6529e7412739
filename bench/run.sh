#!/usr/bin/env bash
# Ferry vs Apache Kafka Connect 4.3.1 on the local broker: throughput, CPU,
# peak memory and start-up of the FileStream source and sink, next to the
# broker's own limit measured with Kafka's performance tools; then the JDBC
# sink row (bench/jdbc.sh: Ferry and Kafka Connect with Debezium's JDBC sink
# into PostgreSQL, next to COPY).
#
#   bench/run.sh [--records N] [--runs R] [--smoke] [--workloads W,...]
#                [--keep] [--keep-broker] [--no-jdbc]
#
# Defaults: 10,000,000 records, 3 runs, medians reported. --smoke: 10,000
# records, 1 run, sanity assertions (what CI runs). --workloads picks some of
# source,sink,sink-lz4,sink-zstd; --no-jdbc leaves out the JDBC row. Starts the broker if
# needed (and stops it again afterwards), builds Ferry in release mode (skipped
# when FERRY_BIN names a binary), prints a table and writes
# bench/results/latest.{json,svg} (smoke.{json,svg} with --smoke) and
# bench/results/jdbc.json (jdbc-smoke.json).
# Details in bench/README.md. Distributed clusters with many connectors are
# bench/cluster.sh's (not run from here).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v python3 >/dev/null || { echo "bench: python3 not found" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
args=() jdbc_args=() jdbc=1
for a in "$@"; do
  case $a in
    --no-jdbc) jdbc=0 ;;
    --smoke) args+=("$a"); jdbc_args+=(--smoke) ;;
    *) args+=("$a") ;;
  esac
done
python3 -u bench/bench.py "${args[@]}" </dev/null
[[ $jdbc == 1 ]] || exit 0
exec python3 -u bench/jdbc.py "${jdbc_args[@]}" </dev/null
