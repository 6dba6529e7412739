#!/usr/bin/env bash
# Local S3 server for the S3 connector's tests and benchmark: s3s-fs, an S3
# API over a directory, built once from crates.io (about 7 minutes on two
# cores) and cached. No Docker. Loopback only, port 19000, path-style
# addressing, access key "ferry-access", secret "ferry-secret".
#
#   s3.sh install            cargo install s3s-fs once into the cache
#   s3.sh start [--no-wait]  start, wait until it answers HTTP
#   s3.sh wait [SECONDS]     wait until it answers (default 30 s)
#   s3.sh stop [--kill]      SIGTERM (SIGKILL with --kill: as a crash)
#   s3.sh status             prints "running" and exits 0 when ready
#   s3.sh env                the endpoint and credentials as shell variables
#
# Environment: FERRY_CACHE (the binary, default ~/.cache/ferry), FERRY_STATE
# (objects, pid and log, default ~/.cache/ferry/state); FERRY_S3_PORT runs a
# second, separate instance (one a test stops and starts) with its own
# FERRY_STATE.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
VERSION=0.14.1
CACHE=${FERRY_CACHE:-$HOME/.cache/ferry}
ROOT="$CACHE/s3s-fs-$VERSION"
BIN="$ROOT/bin/s3s-fs"
STATE="${FERRY_STATE:-$HOME/.cache/ferry/state}/s3"
DATA="$STATE/data"
PIDFILE="$STATE/s3s-fs.pid"
LOG="$STATE/s3s-fs.log"
HOST=127.0.0.1
PORT=${FERRY_S3_PORT:-19000}
ACCESS_KEY=ferry-access
SECRET_KEY=ferry-secret

say() { printf 's3: %s\n' "$*" >&2; }
die() { printf 's3: error: %s\n' "$*" >&2; exit 1; }

cmd_install() {
  [[ -x $BIN ]] && return 0
  command -v cargo >/dev/null || die "cargo is needed to build s3s-fs"
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.s3s-fs.lock"
  flock -w 1200 8 || die "another install holds $CACHE/.s3s-fs.lock"
  [[ -x $BIN ]] && { exec 8>&-; return 0; }
  say "building s3s-fs $VERSION from crates.io (one time, several minutes)"
  # Its own target directory: the workspace's must not be touched, and
  # the build is thrown away once the binary is installed.
  CARGO_TARGET_DIR="$ROOT/build" cargo install s3s-fs --version "$VERSION" \
    --features binary --locked --root "$ROOT" --quiet </dev/null >"$CACHE/s3s-fs-install.log" 2>&1 \
    || { tail -n 30 "$CACHE/s3s-fs-install.log" >&2; die "cargo install s3s-fs failed"; }
  rm -rf "$ROOT/build"
  exec 8>&-
}

lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 120 9 || die "another s3.sh start/stop holds $STATE/.lock"
}

server_pid() {
  local pid
  [[ -f $PIDFILE ]] && pid=$(cat "$PIDFILE" 2>/dev/null) && [[ -n $pid ]] \
    && kill -0 "$pid" 2>/dev/null && grep -q s3s-fs "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
  return 0
}

# Any HTTP answer (an anonymous request is refused with 403) means it serves.
ready() {
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$HOST:$PORT/" 2>/dev/null) || return 1
  [[ $code != 000 ]]
}

wait_ready() {
  local deadline=${1:-30} t0=$SECONDS
  [[ $deadline =~ ^[0-9]+$ ]] || die "wait: not a number of seconds: $deadline"
  while ! ready; do
    if [[ -z $(server_pid) ]] && ((SECONDS - t0 >= 3)); then
      [[ -f $LOG ]] && tail -n 30 "$LOG" >&2
      die "server is not running (deploy/local/s3.sh start)"
    fi
    ((SECONDS - t0 < deadline)) || { tail -n 30 "$LOG" >&2 || true; die "not ready on $HOST:$PORT after $deadline s"; }
    sleep 0.1
  done
  say "ready on $HOST:$PORT after $((SECONDS - t0)) s"
}

cmd_start() {
  local nowait=0
  [[ ${1:-} == --no-wait ]] && nowait=1
  cmd_install
  lock_state
  if [[ -n $(server_pid) ]]; then
    exec 9>&-
    ((nowait)) && return 0
    wait_ready "${FERRY_S3_WAIT_SECS:-30}"
    return 0
  fi
  ready && die "port $PORT answers HTTP but is not this script's s3s-fs"
  mkdir -p "$DATA"
  [[ -f $LOG ]] && mv -f "$LOG" "$LOG.1"
  say "starting s3s-fs (data: $DATA, log: $LOG)"
  # setsid: a Ctrl-C or a process-group kill aimed at the caller must not
  # reach the server; fd 9 (our lock) must not leak into it.
  # shellcheck disable=SC2016
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
    "$BIN" --host "$HOST" --port "$PORT" --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" "$DATA" \
    </dev/null >>"$LOG" 2>&1 9>&- &
  exec 9>&-
  ((nowait)) && return 0
  wait_ready "${FERRY_S3_WAIT_SECS:-30}"
}

cmd_stop() {
  local sig=TERM pid t0=$SECONDS
  [[ ${1:-} == --kill ]] && sig=KILL
  lock_state
  pid=$(server_pid)
  if [[ -z $pid ]]; then rm -f "$PIDFILE"; say "not running"; return 0; fi
  kill -"$sig" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS - t0 < 30)) || { kill -KILL "$pid" 2>/dev/null || true; }
    sleep 0.05
  done
  rm -f "$PIDFILE"
  say "stopped"
}

cmd_status() {
  if [[ -n $(server_pid) ]] && ready; then echo running; return 0; fi
  echo stopped
  return 1
}

cmd_env() {
  printf 'FERRY_S3_URL=http://%s:%s\nFERRY_S3_ACCESS_KEY=%s\nFERRY_S3_SECRET_KEY=%s\nFERRY_S3_DATA=%s\n' \
    "$HOST" "$PORT" "$ACCESS_KEY" "$SECRET_KEY" "$DATA"
}

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
  install) cmd_install ;;
  start)   cmd_start "$@" ;;
  wait)    wait_ready "${1:-${FERRY_S3_WAIT_SECS:-30}}" ;;
  stop)    cmd_stop "$@" ;;
  status)  cmd_status ;;
  env)     cmd_env ;;
  *)       usage ;;
esac
