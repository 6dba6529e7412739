#!/usr/bin/env bash
# Local MariaDB for the JDBC connector tests, from Debian's packages: no
# Docker. Loopback only, port 53306; database `ferry`, user `ferry`,
# password `ferry` (also root through the unix socket).
#
#   mariadb.sh install            apt-get install mariadb-server if missing
#   mariadb.sh start [--no-wait]  initialize once, start, wait until ready
#   mariadb.sh wait [SECONDS]     wait until the ferry user can query (default 60 s)
#   mariadb.sh stop               clean shutdown
#   mariadb.sh status             prints "running" and exits 0 when ready
#   mariadb.sh client ARGS...     mariadb client as ferry against the local server
#
# Environment: FERRY_STATE (data, socket and log, default ~/.cache/ferry/state).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
STATE="${FERRY_STATE:-$HOME/.cache/ferry/state}/mariadb"
DATA="$STATE/data"
LOG="$STATE/mariadb.log"
SOCK="$STATE/mariadb.sock"
PIDFILE="$STATE/mariadb.pid"
HOST=127.0.0.1
PORT=53306

say() { printf 'mariadb: %s\n' "$*" >&2; }
die() { printf 'mariadb: error: %s\n' "$*" >&2; exit 1; }

cmd_install() {
  command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null && return 0
  [[ $(id -u) == 0 ]] || die "MariaDB is not installed; run as root or: sudo apt-get install -y mariadb-server"
  say "installing mariadb-server from Debian's packages (one time)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q mariadb-server </dev/null >/dev/null 2>&1 \
    || { apt-get update -q </dev/null >/dev/null && apt-get install -y -q mariadb-server </dev/null >/dev/null; } \
    || die "apt-get install mariadb-server failed"
}

lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 120 9 || die "another mariadb.sh start/stop holds $STATE/.lock"
}

client() { mariadb --no-defaults -h "$HOST" -P "$PORT" -u ferry -pferry "$@"; }

ready() { client -N -B -e 'SELECT 1' ferry 2>/dev/null | grep -qx 1; }

server_pid() {
  local pid
  [[ -f $PIDFILE ]] && pid=$(cat "$PIDFILE" 2>/dev/null) && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  return 0
}

# Creates the test user and database once the server answers on its socket
# (idempotent). The user may grant, so a test can make users of its own.
bootstrap() {
  mariadb --no-defaults -S "$SOCK" -u root -e \
    "CREATE DATABASE IF NOT EXISTS ferry; CREATE USER IF NOT EXISTS 'ferry'@'%' IDENTIFIED BY 'ferry'; GRANT ALL ON *.* TO 'ferry'@'%' WITH GRANT OPTION; FLUSH PRIVILEGES;" \
    2>/dev/null
}

wait_ready() {
  local deadline=${1:-60} t0=$SECONDS
  [[ $deadline =~ ^[0-9]+$ ]] || die "wait: not a number of seconds: $deadline"
  while ! ready; do
    [[ -S $SOCK ]] && bootstrap || true
    if [[ -z $(server_pid) ]] && ((SECONDS - t0 >= 5)); then
      [[ -f $LOG ]] && tail -n 30 "$LOG" >&2
      die "server is not running (deploy/local/mariadb.sh start)"
    fi
    ((SECONDS - t0 < deadline)) || { tail -n 30 "$LOG" >&2 || true; die "not ready on $HOST:$PORT after $deadline s"; }
    sleep 0.3
  done
  # A server set up by an earlier version of this script gets today's grants.
  [[ -S $SOCK ]] && bootstrap || true
  say "ready on $HOST:$PORT after $((SECONDS - t0)) s"
}

cmd_start() {
  local nowait=0
  [[ ${1:-} == --no-wait ]] && nowait=1
  cmd_install
  lock_state
  if ready; then say "already running on $HOST:$PORT"; return 0; fi
  local user_opt=()
  [[ $(id -u) == 0 ]] && user_opt=(--user=root)
  if [[ ! -d $DATA/mysql ]]; then
    say "initializing $DATA"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$DATA" \
      --auth-root-authentication-method=normal --skip-test-db >"$STATE/install.log" 2>&1 \
      || { tail -n 30 "$STATE/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  if [[ -z $(server_pid) ]]; then
    say "starting (log: $LOG)"
    # Test database: skip syncing to disk for speed; a clean restart
    # keeps everything, which is what the tests need.
    setsid nohup mariadbd --no-defaults "${user_opt[@]}" --datadir="$DATA" \
      --port="$PORT" --bind-address="$HOST" --socket="$SOCK" --pid-file="$PIDFILE" \
      --log-error="$LOG" --skip-name-resolve --max-connections=300 \
      --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --character-set-server=utf8mb4 \
      </dev/null >/dev/null 2>&1 9>&- &
  fi
  exec 9>&-
  ((nowait)) && return 0
  wait_ready "${FERRY_MARIADB_WAIT_SECS:-60}"
}

cmd_stop() {
  lock_state
  local pid t0=$SECONDS
  pid=$(server_pid)
  if [[ -z $pid ]]; then say "not running"; return 0; fi
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS - t0 < 60)) || { kill -KILL "$pid" 2>/dev/null || true; break; }
    sleep 0.2
  done
  say "stopped"
}

cmd_status() {
  if ready; then echo running; return 0; fi
  if [[ -n $(server_pid) ]]; then echo starting; else echo stopped; fi
  return 1
}

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
  install) cmd_install ;;
  start)   cmd_start "$@" ;;
  wait)    wait_ready "${1:-${FERRY_MARIADB_WAIT_SECS:-60}}" ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  client)  client "$@" ;;
  *)       usage ;;
esac
