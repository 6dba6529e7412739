#!/usr/bin/env bash
# The cost of TLS and SASL to Kafka: Ferry's file pipeline over the local
# broker's PLAINTEXT and SASL_SSL (SCRAM-SHA-512, JKS trust store)
# listeners, in the same run.
#
#   FERRY_BIN=target/release/ferry bench/tls.sh [--records N] [--runs R]
#
# Writes bench/results/tls.json; details in bench/README.md ("TLS to Kafka").
set -euo pipefail
if [[ -n ${FERRY_BIN:-} ]]; then FERRY_BIN=$(realpath -m "$FERRY_BIN"); export FERRY_BIN; fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/bench"
exec python3 -u tls.py "$@" </dev/null
