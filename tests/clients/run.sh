#!/usr/bin/env bash
# Drives a real Ferry worker with third-party Kafka Connect REST clients.
# The virtualenv is cached under ~/.cache/ferry and rebuilt when the
# requirements change.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${FERRY_CACHE:-$HOME/.cache/ferry}
VENV=$CACHE/venv-clients
STAMP=$VENV/.requirements.sha256
want=$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)
if [[ ! -x $VENV/bin/python || "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$want" >"$STAMP"
fi
export FERRY_BIN=${FERRY_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}/debug/ferry}
[[ -x $FERRY_BIN ]] || { echo "clients: $FERRY_BIN not built (cargo build -p ferry)" >&2; exit 1; }
cd "$ROOT"
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$HERE"
