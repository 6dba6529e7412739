#!/usr/bin/env bash
# Reference Apache Kafka Connect, run from the same Maven jars as the local
# broker (deploy/local/kafka.sh): the baseline for benchmarks and for
# generating golden files.
#
#   connect.sh start  WORKER_PROPS [CONNECTOR_PROPS...]  start, wait until ready
#   connect.sh wait   WORKER_PROPS [CONNECTOR_PROPS...]  REST answers and every
#                                                        given connector RUNNING
#   connect.sh stop   WORKER_PROPS                       SIGTERM, then SIGKILL
#   connect.sh status WORKER_PROPS                       prints "running", exit 0
#
# Standalone mode unless the worker properties set group.id (distributed).
# Standalone passes CONNECTOR_PROPS to ConnectStandalone; distributed submits
# them over REST once the worker is up (simple key=value lines only).
# The REST port comes from `listeners` in WORKER_PROPS (default 8083); pid and
# log live in $FERRY_STATE/connect/<port>/, so several workers can coexist.
# FileStream connectors (connect-file) are on the classpath: leave plugin.path
# unset for them, or they are found twice.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG4J="$HERE/kafka/log4j2.properties"
STATE_ROOT="${FERRY_STATE:-$HOME/.cache/ferry/state}/connect"
WAIT_SECS=${FERRY_CONNECT_WAIT_SECS:-120}

if [[ -n ${JAVA:-} ]]; then :
elif [[ -n ${JAVA_HOME:-} ]]; then JAVA="$JAVA_HOME/bin/java"
else JAVA=java
fi

say() { printf 'connect: %s\n' "$*" >&2; }
die() { printf 'connect: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

# Value of KEY in a .properties file (last one wins, like java.util.Properties
# for simple files).
prop() {
  sed -n "s/^[[:space:]]*$2[[:space:]]*[=:][[:space:]]*//p" "$1" | tail -n1 | sed 's/[[:space:]]*$//'
}

cmd=${1:-}
[[ $# -ge 2 ]] || usage
shift
[[ -f $1 ]] || die "no such file: $1"
WORKER=$(realpath "$1")
shift
CONNECTORS=()
for f in "$@"; do
  [[ -f $f ]] || die "no such file: $f"
  CONNECTORS+=("$(realpath "$f")")
done

# REST endpoint: the first http listener; a wildcard host is reached on loopback.
listener=$(prop "$WORKER" listeners | tr ',' '\n' | grep -m1 '^http://' || true)
listener=${listener:-http://:8083}
REST_HOST=${listener#http://}; REST_HOST=${REST_HOST%:*}
REST_PORT=${listener##*:}
[[ -z $REST_HOST || $REST_HOST == 0.0.0.0 ]] && REST_HOST=127.0.0.1
[[ $REST_PORT =~ ^[0-9]+$ ]] || die "cannot read the REST port from listeners=$listener"
REST="http://$REST_HOST:$REST_PORT"

STATE="$STATE_ROOT/$REST_PORT"
PIDFILE="$STATE/connect.pid"
LOG="$STATE/connect.log"

if [[ -n $(prop "$WORKER" group.id) ]]; then
  MODE=distributed; MAIN=org.apache.kafka.connect.cli.ConnectDistributed
else
  MODE=standalone; MAIN=org.apache.kafka.connect.cli.ConnectStandalone
fi

log_tail() {
  [[ -f $LOG ]] || return 0
  printf -- '--- last lines of %s ---\n' "$LOG" >&2
  tail -n 40 "$LOG" >&2
  printf -- '---\n' >&2
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" || true; }
# A write may take as long as Kafka Connect's own REST request timeout
# (90 s): a worker still warming up on a busy machine answers late, not never.
write_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 90 "$@" || true; }

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
is_connect_pid() {
  alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q ' org\.apache\.kafka\.connect\.cli\.Connect'
}

# Our worker: the pid file's if valid, else a Connect worker on our port.
find_worker() {
  local pid
  [[ -f $PIDFILE ]] && pid=$(cat "$PIDFILE" 2>/dev/null) && is_connect_pid "$pid" && { echo "$pid"; return 0; }
  pid=$(ss -Hltnp "sport = :$REST_PORT" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1)
  [[ -n $pid ]] && is_connect_pid "$pid" && echo "$pid"
  return 0
}

# Minimal .properties -> JSON object for the REST API.
props_json() {
  awk '
    /^[[:space:]]*([#!]|$)/ { next }
    {
      line = $0; sub(/^[[:space:]]+/, "", line)
      i = match(line, /[[:space:]]*[=:][[:space:]]*/)
      if (i == 0) next
      k = substr(line, 1, i - 1); v = substr(line, i + RLENGTH); sub(/[[:space:]]+$/, "", v)
      gsub(/\\/, "\\\\", k); gsub(/"/, "\\\"", k); gsub(/\\/, "\\\\", v); gsub(/"/, "\\\"", v)
      out = out (n++ ? "," : "") "\"" k "\":\"" v "\""
    }
    END { print "{" out "}" }' "$1"
}

submit_connectors() {
  local f name code
  for f in "${CONNECTORS[@]}"; do
    name=$(prop "$f" name)
    [[ -n $name ]] || die "$f has no name="
    code=$(write_code -X PUT -H 'Content-Type: application/json' --data "$(props_json "$f")" "$REST/connectors/$name/config")
    [[ $code == 200 || $code == 201 ]] || die "PUT $REST/connectors/$name/config answered $code"
    say "submitted connector $name"
  done
}

# Ready when GET /connectors answers 200 and every given connector (and each
# of its tasks) reports RUNNING. Fails fast on FAILED or a dead worker.
cmd_wait() {
  local t0=$SECONDS pid f name body states
  while [[ $(http_code "$REST/connectors") != 200 ]]; do
    pid=$(find_worker)
    if [[ -z $pid ]] && ((SECONDS - t0 >= 3)); then log_tail; die "worker is not running (see $LOG)"; fi
    ((SECONDS - t0 < WAIT_SECS)) || { log_tail; die "GET $REST/connectors did not answer 200 within ${WAIT_SECS} s"; }
    sleep 0.5
  done
  for f in "${CONNECTORS[@]}"; do
    name=$(prop "$f" name)
    while :; do
      body=$(curl -s --max-time 3 "$REST/connectors/$name/status" || true)
      # First "state" is the connector's, the rest its tasks'.
      states=$(grep -o '"state":"[A-Z_]*"' <<<"$body" | cut -d'"' -f4 | tr '\n' ' ' || true)
      if [[ $states == *FAILED* ]]; then
        printf '%s\n' "$body" >&2
        die "connector $name failed"
      fi
      # Connector plus at least one task, all RUNNING.
      if [[ $states =~ ^RUNNING\ RUNNING ]] && [[ ! $states =~ (UNASSIGNED|PAUSED|STOPPED|RESTARTING) ]]; then
        break
      fi
      if [[ -z $(find_worker) ]]; then log_tail; die "worker exited while starting connector $name"; fi
      ((SECONDS - t0 < WAIT_SECS)) || { log_tail; die "connector $name not RUNNING within ${WAIT_SECS} s (states: ${states:-none})"; }
      sleep 0.5
    done
  done
  say "$MODE worker ready at $REST (${#CONNECTORS[@]} connector(s) running) after $((SECONDS - t0)) s"
}

cmd_start() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 180 9 || die "another connect.sh holds $STATE/.lock"
  local pid cp
  pid=$(find_worker)
  if [[ -n $pid ]]; then
    say "worker already running on port $REST_PORT (pid $pid); stop it to change its configuration"
    exec 9>&-
    cmd_wait
    return 0
  fi
  if ss -Hltn "sport = :$REST_PORT" | grep -q .; then
    die "port $REST_PORT is in use by a process that is not a Connect worker"
  fi
  [[ -f $PIDFILE ]] && rm -f "$PIDFILE"
  cp=$("$HERE/kafka.sh" classpath)
  local args=("$WORKER")
  [[ $MODE == standalone ]] && args+=("${CONNECTORS[@]}")
  [[ -f $LOG ]] && mv -f "$LOG" "$LOG.1"
  say "starting $MODE worker on $REST (log: $LOG)"
  # Same process layout as kafka.sh: own session, pid recorded by the shell
  # that becomes java, lock fd not inherited.
  # shellcheck disable=SC2086,SC2016
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
    "$JAVA" ${FERRY_CONNECT_HEAP_OPTS:--Xms256m -Xmx1g} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J" \
    -cp "$cp" "$MAIN" "${args[@]}" \
    </dev/null >>"$LOG" 2>&1 9>&- &
  exec 9>&-
  if [[ $MODE == distributed && ${#CONNECTORS[@]} -gt 0 ]]; then
    local saved=("${CONNECTORS[@]}")
    CONNECTORS=()
    cmd_wait
    CONNECTORS=("${saved[@]}")
    submit_connectors
  fi
  cmd_wait
}

cmd_stop() {
  local pid t0=$SECONDS deadline=${FERRY_CONNECT_STOP_SECS:-60}
  pid=$(find_worker)
  if [[ -z $pid ]]; then
    rm -f "$PIDFILE"
    say "not running (port $REST_PORT)"
    return 0
  fi
  say "stopping worker pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid"; do
    if ((SECONDS - t0 >= deadline)); then
      say "still alive after ${deadline} s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      t0=$SECONDS
      while alive "$pid"; do
        ((SECONDS - t0 < 10)) || die "pid $pid survived SIGKILL"
        sleep 0.2
      done
      break
    fi
    sleep 0.2
  done
  rm -f "$PIDFILE"
  say "stopped"
}

cmd_status() {
  local pid
  pid=$(find_worker)
  if [[ $(http_code "$REST/connectors") == 200 ]]; then
    echo running
    say "$MODE worker pid ${pid:-?} at $REST"
    return 0
  fi
  if [[ -n $pid ]]; then echo starting; else echo stopped; fi
  return 1
}

case $cmd in
  start)  cmd_start ;;
  wait)   cmd_wait ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  *)      usage ;;
esac
