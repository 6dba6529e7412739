#!/usr/bin/env bash
# Starts every local service the tests need and waits until each is ready.
# Idempotent: services already running are reused, so a second run is a no-op.
#
#   deploy/local/up.sh [SERVICE...]     default: all of $FERRY_SERVICES
#
# Each service is a deploy/local/<service>.sh supporting
# `start --no-wait`, `wait`, `stop` and `status`. All are launched first and
# waited on afterwards, so slow starters overlap.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Add opensearch... here once its script exists.
read -r -a services <<<"${FERRY_SERVICES:-kafka postgres mariadb s3}"
[[ $# -gt 0 ]] && services=("$@")

t0=$SECONDS
for s in "${services[@]}"; do
  [[ -x $HERE/$s.sh ]] || { echo "up: no script $HERE/$s.sh" >&2; exit 1; }
  "$HERE/$s.sh" start --no-wait
done
for s in "${services[@]}"; do
  "$HERE/$s.sh" wait
done
echo "up: ${services[*]} ready in $((SECONDS - t0)) s" >&2
