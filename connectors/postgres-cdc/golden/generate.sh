#!/usr/bin/env bash
# Regenerates expected.json: runs setup.sql and changes.sql under Debezium
# 3.6.1's Postgres connector on Apache Kafka Connect 4.3.1 (fetched and
# started by deploy/local/connect-plugin.sh and connect.sh) against the
# local PostgreSQL and Kafka, and records every key, value and header it
# wrote. Needs deploy/local/up.sh kafka postgres.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$ROOT"
exec cargo test -p ferry-tests --test postgres_cdc_golden -- --ignored generate_with_debezium --nocapture </dev/null
