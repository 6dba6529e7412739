#!/usr/bin/env bash
# Local PostgreSQL 15 for the JDBC connector tests, from Debian's packages:
# no Docker. Loopback only, port 55432, trust authentication (user postgres).
#
#   postgres.sh install            apt-get install postgresql-15 if missing
#   postgres.sh start [--no-wait]  initdb once, start, wait until ready
#   postgres.sh wait [SECONDS]     wait until a query succeeds (default 60 s)
#   postgres.sh stop [--immediate] fast shutdown, or an immediate one (as a crash)
#   postgres.sh status             prints "running" and exits 0 when ready
#   postgres.sh psql ARGS...       psql against the local server
#
# Environment: FERRY_STATE (data, socket and log, default ~/.cache/ferry/state);
# FERRY_POSTGRES_PORT (default 55432) and FERRY_POSTGRES_SETTINGS (extra
# `-c name=value` server settings, after the defaults so they win) run a
# second, separate instance, e.g. one a test restarts or one with
# wal_level=replica, with its own FERRY_STATE. FERRY_POSTGRES_TLS=1 makes
# that instance accept TCP connections over TLS only: a test CA and a
# server certificate for 127.0.0.1 and localhost are made with openssl in
# <state>/postgres/tls (ca.crt is what clients verify against).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
PGBIN=/usr/lib/postgresql/15/bin
STATE="${FERRY_STATE:-$HOME/.cache/ferry/state}/postgres"
DATA="$STATE/data"
LOG="$STATE/postgres.log"
HOST=127.0.0.1
PORT=${FERRY_POSTGRES_PORT:-55432}

say() { printf 'postgres: %s\n' "$*" >&2; }
die() { printf 'postgres: error: %s\n' "$*" >&2; exit 1; }

# The server refuses to run as root: as root it runs as the `postgres`
# system user the package creates.
if [[ $(id -u) == 0 ]]; then
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

cmd_install() {
  [[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl ]] && return 0
  [[ $(id -u) == 0 ]] || die "PostgreSQL 15 is not installed; run as root or: sudo apt-get install -y postgresql-15"
  say "installing postgresql-15 from Debian's packages (one time)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql-15 </dev/null >/dev/null 2>&1 \
    || { apt-get update -q </dev/null >/dev/null && apt-get install -y -q postgresql-15 </dev/null >/dev/null; } \
    || die "apt-get install postgresql-15 failed"
}

lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 120 9 || die "another postgres.sh start/stop holds $STATE/.lock"
}

# The postgres user must be able to reach the data directory under root's
# home: grant search (not read) permission on each directory above it.
grant_path() {
  [[ $(id -u) == 0 ]] || return 0
  chown postgres "$STATE"
  local d=$STATE
  while [[ $d != / ]]; do
    d=$(dirname "$d")
    runuser -u postgres -- test -x "$d" 2>/dev/null || chmod o+x "$d"
  done
}

ready() {
  as_pg "$PGBIN/psql" -h "$HOST" -p "$PORT" -U postgres -d postgres -XAtqc 'SELECT 1' 2>/dev/null | grep -qx 1
}

server_pid() {
  [[ -f $DATA/postmaster.pid ]] || return 0
  local pid
  pid=$(head -n1 "$DATA/postmaster.pid" 2>/dev/null || true)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  return 0
}

wait_ready() {
  local deadline=${1:-60} t0=$SECONDS
  [[ $deadline =~ ^[0-9]+$ ]] || die "wait: not a number of seconds: $deadline"
  while ! ready; do
    if [[ -z $(server_pid) ]] && ((SECONDS - t0 >= 5)); then
      [[ -f $LOG ]] && tail -n 30 "$LOG" >&2
      die "server is not running (deploy/local/postgres.sh start)"
    fi
    ((SECONDS - t0 < deadline)) || { tail -n 30 "$LOG" >&2 || true; die "not ready on $HOST:$PORT after $deadline s"; }
    sleep 0.3
  done
  say "ready on $HOST:$PORT after $((SECONDS - t0)) s"
}

# A test CA and a server certificate signed by it, once per state
# directory; the server's key readable by its owner only.
make_tls() {
  local dir=$STATE/tls
  [[ -f $dir/server.crt ]] && return 0
  command -v openssl >/dev/null || die "FERRY_POSTGRES_TLS needs openssl"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Ferry test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null || die "openssl: the test CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null || die "openssl: the server key"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 3650 -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null || die "openssl: the server certificate"
  chmod 600 "$dir/server.key"
  [[ $(id -u) == 0 ]] && chown -R postgres "$dir"
  return 0
}

cmd_start() {
  local nowait=0
  [[ ${1:-} == --no-wait ]] && nowait=1
  cmd_install
  lock_state
  if ready; then say "already running on $HOST:$PORT"; return 0; fi
  grant_path
  if [[ ! -f $DATA/PG_VERSION ]]; then
    say "initializing $DATA"
    rm -rf "$DATA"
    as_pg "$PGBIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null \
      || die "initdb failed"
  fi
  local tls=""
  if [[ ${FERRY_POSTGRES_TLS:-} == 1 ]]; then
    make_tls
    tls="-c ssl=on -c ssl_cert_file=$STATE/tls/server.crt -c ssl_key_file=$STATE/tls/server.key"
    # TCP without TLS refused (psql here, sslmode=prefer, uses TLS).
    grep -q '^hostnossl' "$DATA/pg_hba.conf" \
      || as_pg sed -i '1i hostnossl all all all reject' "$DATA/pg_hba.conf"
  fi
  if [[ -z $(server_pid) ]]; then
    say "starting (log: $LOG)"
    # Test database: durability across a clean restart is all the tests
    # need, so skip fsync for speed. setsid keeps a Ctrl-C of the caller away.
    as_pg setsid "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -s start -o \
      "-p $PORT -k $STATE -c listen_addresses=$HOST -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c wal_level=logical -c max_replication_slots=64 -c max_wal_senders=64 $tls ${FERRY_POSTGRES_SETTINGS:-}" \
      </dev/null >/dev/null 2>&1 9>&- || { tail -n 30 "$LOG" >&2 || true; die "pg_ctl start failed"; }
  fi
  exec 9>&-
  ((nowait)) && return 0
  wait_ready "${FERRY_POSTGRES_WAIT_SECS:-60}"
}

cmd_stop() {
  local mode=fast
  [[ ${1:-} == --immediate ]] && mode=immediate
  lock_state
  if [[ -z $(server_pid) ]]; then say "not running"; return 0; fi
  as_pg "$PGBIN/pg_ctl" -D "$DATA" -m "$mode" -w -t 60 -s stop || die "pg_ctl stop failed"
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
  wait)    wait_ready "${1:-${FERRY_POSTGRES_WAIT_SECS:-60}}" ;;
  stop)    cmd_stop "$@" ;;
  status)  cmd_status ;;
  psql)    as_pg "$PGBIN/psql" -h "$HOST" -p "$PORT" -U postgres -d postgres "$@" ;;
  *)       usage ;;
esac
