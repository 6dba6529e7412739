#!/usr/bin/env bash
# Kafka -> S3 with Ferry's S3 sink (JSON+gzip and Parquet+snappy) next to
# the same objects uploaded by a plain S3 client, on the local S3 server.
#
#   bench/s3.sh [--records N] [--runs R] [--smoke] [--no-java]    defaults: 1,000,000 records, 3 runs
#
# Parquet with snappy also runs Apache Iceberg's Kafka Connect sink on Apache
# Kafka Connect 4.3.1 beside Ferry (--no-java skips it; --smoke skips it
# unless --java). FERRY_BIN=path uses a built binary instead of building one.
# Writes bench/results/s3.json; details in bench/README.md ("S3 sink").
set -euo pipefail
# FERRY_BIN may be relative to where this was started: made absolute before
# the cd below.
if [[ -n ${FERRY_BIN:-} ]]; then FERRY_BIN=$(realpath -m "$FERRY_BIN"); export FERRY_BIN; fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/bench"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
exec python3 -u s3.py "$@" </dev/null
