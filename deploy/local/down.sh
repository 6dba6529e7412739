#!/usr/bin/env bash
# Stops the local services started by up.sh, in reverse order.
#
#   deploy/local/down.sh [SERVICE...]   default: all of $FERRY_SERVICES
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
read -r -a services <<<"${FERRY_SERVICES:-kafka postgres mariadb s3}"
[[ $# -gt 0 ]] && services=("$@")

rc=0
for ((i = ${#services[@]} - 1; i >= 0; i--)); do
  # Keep going so one failure does not leave the others running.
  "$HERE/${services[i]}.sh" stop || rc=1
done
exit "$rc"
