#!/usr/bin/env bash
# The whole test suite: starts the local services (a real Kafka broker),
# builds Ferry, runs unit and end-to-end tests, the third-party REST client
# tests, and the lint gates. Safe to re-run; each test uses its own topics.
#
#   tests/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# Outside the clone, so repeated runs (and clean clones) reuse the build.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
export CARGO_TERM_COLOR=never

step() { printf '\n== %s\n' "$*" >&2; }

step "local services"
# A broker this run starts begins empty: topics of earlier runs only slow it.
# A broker already running is reused as it is (every test names its own topics).
FERRY_KAFKA_FRESH=1 deploy/local/up.sh
# Replication slots an interrupted earlier run left behind hold WAL and
# count against max_replication_slots; no test runs yet, so none is in use.
deploy/local/postgres.sh psql -XAtqc \
  "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE NOT active" >/dev/null

step "lint: rustfmt"
cargo fmt --all -- --check

step "build"
cargo build --workspace --all-targets --locked
# End-to-end tests run the binary users run (the benchmark reuses it).
cargo build --release --locked -p ferry
export FERRY_BIN=$CARGO_TARGET_DIR/release/ferry

step "lint: clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "unit and end-to-end tests"
cargo test --workspace --locked --no-fail-fast -- --show-output

step "REST API suite again, behind basic authentication"
# Every worker requires a user and every request carries one (tests/src/lib.rs).
FERRY_TEST_REST_AUTH=1 cargo test --locked -p ferry-tests --test rest_api -- --show-output

step "third-party Kafka Connect REST client"
tests/clients/run.sh

step "benchmark smoke run"
bench/run.sh --smoke
bench/s3.sh --smoke
