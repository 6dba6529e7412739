#!/usr/bin/env bash
# Kafka -> S3 with Ferry's S3 sink (JSON+gzip and Parquet+snappy) next to
# the same objects uploaded by a plain S3 client, on the local S3 server.
#
#   bench/s3.sh [--records N] [--runs R] [--smoke]    defaults: 1,000,000 records, 3 runs
#
# Writes bench/results/s3.json; details in bench/README.md ("S3 sink").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/bench"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
exec python3 -u s3.py "$@" </dev/null
