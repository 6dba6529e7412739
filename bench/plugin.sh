#!/usr/bin/env bash
# Ferry's file connectors compiled in vs loaded as a native plugin from
# plugin.path (the same source, connectors/file and connectors/file/plugin):
# source and sink throughput side by side in one run, and the plugin's share.
#
#   bench/plugin.sh [--records N] [--runs N] [--smoke]
#
# Builds, in release mode, a worker without its file connectors and the
# plugin library; the built-in side is FERRY_BIN or a release build. Details
# in bench/README.md ("Plugins").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v python3 >/dev/null || { echo "bench: python3 not found" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
exec python3 -u bench/plugin.py "$@" </dev/null
