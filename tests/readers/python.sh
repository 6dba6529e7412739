#!/usr/bin/env bash
# Prints the path of a Python with the readers of requirements.txt
# (boto3, pyarrow, DuckDB, fastavro), in a virtualenv cached under
# ~/.cache/ferry and rebuilt when the requirements change.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${FERRY_CACHE:-$HOME/.cache/ferry}
VENV=$CACHE/venv-readers
STAMP=$VENV/.requirements.sha256
want=$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)
mkdir -p "$CACHE"
exec 9>"$CACHE/.venv-readers.lock"
flock -w 600 9
if [[ ! -x $VENV/bin/python || "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt" >&2
  echo "$want" >"$STAMP"
fi
echo "$VENV/bin/python"
