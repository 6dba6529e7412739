#!/usr/bin/env bash
# The quick-start demo: a local Kafka broker, then Ferry running a file →
# topic → file pipeline with the example configs, printing its progress.
#
#   deploy/local/demo.sh [LINES]      default 200000 lines
#
# Starts Kafka if needed, builds Ferry (release), writes an input file,
# runs `ferry standalone`, and stops it once every line reached the output.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
LINES=${1:-200000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
DEMO=${FERRY_STATE:-$HOME/.cache/ferry/state}/demo

deploy/local/up.sh
echo "demo: building ferry (release)" >&2
cargo build --release --locked -p ferry
FERRY=$CARGO_TARGET_DIR/release/ferry

# A fresh pipeline each run: new input, output, offsets and topic.
rm -rf "$DEMO" && mkdir -p "$DEMO"
TOPIC=demo-lines-$(date +%s)
seq -f "demo line %08g: the quick brown fox jumps over the lazy dog" 1 "$LINES" >"$DEMO/input.txt"
PORT=${FERRY_DEMO_PORT:-8083}
sed -e "s#^offset.storage.file.filename=.*#offset.storage.file.filename=$DEMO/offsets#" \
    -e "s#^listeners=.*#listeners=http://127.0.0.1:$PORT#" \
    -e "s#^file.connectors.allowed.paths=.*#file.connectors.allowed.paths=$DEMO#" \
    configs/connect-standalone.properties >"$DEMO/worker.properties"
sed -e "s#^file=.*#file=$DEMO/input.txt#" -e "s#^topic=.*#topic=$TOPIC#" \
    configs/connect-file-source.properties >"$DEMO/source.properties"
sed -e "s#^file=.*#file=$DEMO/output.txt#" -e "s#^topics=.*#topics=$TOPIC#" \
    configs/connect-file-sink.properties >"$DEMO/sink.properties"

echo "demo: ferry standalone worker.properties source.properties sink.properties (REST on :$PORT, log in $DEMO/ferry.log)" >&2
"$FERRY" standalone "$DEMO/worker.properties" "$DEMO/source.properties" "$DEMO/sink.properties" \
  >"$DEMO/ferry.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT

deadline=$((SECONDS + 300))
until curl -sf "http://127.0.0.1:$PORT/" >/dev/null; do
  kill -0 $PID 2>/dev/null || { echo "demo: ferry exited; log:" >&2; tail -20 "$DEMO/ferry.log" >&2; exit 1; }
  ((SECONDS < deadline)) || { echo "demo: REST API did not come up" >&2; exit 1; }
  sleep 0.2
done
echo "demo: connectors: $(curl -s "http://127.0.0.1:$PORT/connectors")" >&2

start=$SECONDS
while :; do
  done_lines=$( (wc -l <"$DEMO/output.txt") 2>/dev/null || echo 0)
  printf 'demo: %8d / %d lines delivered file → %s → file\n' "$done_lines" "$LINES" "$TOPIC" >&2
  ((done_lines >= LINES)) && break
  kill -0 $PID 2>/dev/null || { echo "demo: ferry exited; log:" >&2; tail -20 "$DEMO/ferry.log" >&2; exit 1; }
  ((SECONDS < deadline)) || { echo "demo: pipeline did not finish in time" >&2; exit 1; }
  sleep 1
done
echo "demo: status: $(curl -s "http://127.0.0.1:$PORT/connectors?expand=status")" >&2
if cmp -s "$DEMO/input.txt" "$DEMO/output.txt"; then
  echo "demo: output.txt is identical to input.txt ($LINES lines in $((SECONDS - start)) s)" >&2
else
  echo "demo: output differs from input" >&2
  exit 1
fi
kill -TERM $PID
wait $PID || true
trap - EXIT
echo "demo: done. Files in $DEMO" >&2
