#!/usr/bin/env bash
# Ferry vs Apache Kafka Connect 4.3.1 as a distributed cluster: three workers
# each, N FileStreamSource connectors created one after another through
# random workers; create time and latency, 409 answers, CPU, threads and
# memory per worker, status reads, a fourth worker joining, a worker killed.
#
#   bench/cluster.sh [--connectors N] [--smoke] [--systems ferry,connect]
#                    [--keep] [--keep-broker]
#
# Defaults: 300 connectors, both systems in one run (Ferry first). --smoke:
# 20 connectors, writes bench/results/cluster-smoke.json instead of
# cluster-latest.json. Builds Ferry in release mode unless FERRY_BIN names a
# binary. Details in bench/README.md ("Cluster").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v python3 >/dev/null || { echo "bench: python3 not found" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
exec python3 -u bench/cluster.py "$@" </dev/null
