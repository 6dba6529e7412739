#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) run from
# Maven Central jars: no Docker, no tarball download.
#
#   kafka.sh install             resolve the jars once into the cache
#   kafka.sh start [--no-wait]   format storage once, start, wait until ready
#                                (FERRY_KAFKA_FRESH=1: a broker that is not
#                                running starts on empty storage)
#   kafka.sh wait [SECONDS]      wait until a Metadata request succeeds (default 90 s)
#   kafka.sh stop                SIGTERM, then SIGKILL after a deadline
#   kafka.sh status              prints "running" and exits 0 when ready
#   kafka.sh classpath           classpath glob of the jars (Kafka, tools, Connect)
#   kafka.sh topics ARGS...      TopicCommand against the local broker
#   kafka.sh console-consumer ARGS...  / console-producer ARGS...
#   kafka.sh run CLASS ARGS...   any Kafka tool main class from the same jars
#
# Listeners, all on 127.0.0.1: PLAINTEXT 9092, CONTROLLER 9093, and for
# testing clients' security SASL_PLAINTEXT 9094, SSL 9095, SASL_SSL 9096
# and MTLS 9097 (SSL that requires a client certificate) (SASL mechanisms
# PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; user "ferry", password
# "ferry-secret", the SCRAM credentials created with ConfigCommand once the
# broker is up). The TLS listeners use a test CA and a broker certificate
# for localhost / 127.0.0.1 made with openssl on first start, in
# FERRY_CACHE/tls: ca.pem; client-keystore.pem is a client key and
# certificate the broker accepts (ssl.client.auth=requested, required on
# MTLS); the same as Java stores made with keytool: truststore.jks and
# truststore.p12 (the CA), client.p12 and client.jks (the client's key and
# chain), store password "ferry-store", client.jks's key password
# "ferry-key". A running broker started before these listeners existed is
# restarted with them.
#
# Environment: FERRY_CACHE (jars, default ~/.cache/ferry), FERRY_STATE (data,
# pid and log, default ~/.cache/ferry/state), FERRY_MAVEN_REPO (Maven local
# repository, default under FERRY_CACHE so one directory holds every download),
# JAVA_HOME / JAVA.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
POM="$HERE/kafka/pom.xml"
LOG4J="$HERE/kafka/log4j2.properties"

# The pom is the single source of truth for the version.
KAFKA_VERSION=$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$POM")
CACHE=${FERRY_CACHE:-$HOME/.cache/ferry}
KDIR="$CACHE/kafka-$KAFKA_VERSION"
LIB="$KDIR/lib"
MARKER="$KDIR/.installed"
M2=${FERRY_MAVEN_REPO:-$CACHE/maven-repo}

STATE="${FERRY_STATE:-$HOME/.cache/ferry/state}/kafka"
DATA="$STATE/data"
CONF="$STATE/server.properties"
PIDFILE="$STATE/kafka.pid"
LOG="$STATE/kafka.log"

HOST=127.0.0.1
PORT=9092
CONTROLLER_PORT=9093
BOOTSTRAP="$HOST:$PORT"
SASL_PORT=9094
SSL_PORT=9095
SASL_SSL_PORT=9096
MTLS_PORT=9097
STORE_PASSWORD=ferry-store
KEY_PASSWORD=ferry-key
SASL_USER=ferry
SASL_PASSWORD=ferry-secret
TLS_DIR="$CACHE/tls"
SCRAM_MARKER="$STATE/scram-users"

if [[ -n ${JAVA:-} ]]; then :
elif [[ -n ${JAVA_HOME:-} ]]; then JAVA="$JAVA_HOME/bin/java"
else JAVA=java
fi

say() { printf 'kafka: %s\n' "$*" >&2; }
die() { printf 'kafka: error: %s\n' "$*" >&2; exit 1; }

log_tail() {
  [[ -f $LOG ]] || return 0
  printf -- '--- last lines of %s ---\n' "$LOG" >&2
  tail -n 40 "$LOG" >&2
  printf -- '---\n' >&2
}

# ---------------------------------------------------------------- install

pom_digest() { sha256sum "$POM" | cut -d' ' -f1; }

# Complete only if the marker (written last) matches the current pom.
installed() {
  [[ -d $LIB && -f $MARKER && "$(cat "$MARKER")" == "$(pom_digest)" ]]
}

cmd_install() {
  installed && return 0
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  mkdir -p "$KDIR"
  # Two concurrent first runs must not interleave their copies.
  exec 8>"$KDIR/.install.lock"
  flock -w 900 8 || die "timed out waiting for another install ($KDIR/.install.lock)"
  if installed; then exec 8>&-; return 0; fi

  say "resolving Kafka $KAFKA_VERSION jars from Maven Central into $LIB (one time)"
  local t0=$SECONDS tmp="$KDIR/lib.partial"
  rm -rf "$tmp" "$MARKER"
  # Output goes to a file: -q still leaves errors, and Debian's Maven 3.8
  # writes stray ANSI resets to stdout even in batch mode.
  if ! mvn -B -q -Dstyle.color=never -f "$POM" -Dmaven.repo.local="$M2" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" </dev/null >"$KDIR/install.log" 2>&1; then
    tail -n 30 "$KDIR/install.log" >&2
    die "mvn copy-dependencies failed (is Maven Central reachable?); full output in $KDIR/install.log"
  fi

  # A wrong logging binding silently loses every log line: refuse it here.
  local j
  for j in "kafka_2.13-$KAFKA_VERSION" "kafka-tools-$KAFKA_VERSION" "connect-runtime-$KAFKA_VERSION" \
           "connect-file-$KAFKA_VERSION" slf4j-api-1.7.36 log4j-slf4j-impl- log4j-core-; do
    compgen -G "$tmp/$j*.jar" >/dev/null || die "resolved jars lack $j*.jar"
  done
  if compgen -G "$tmp/log4j-slf4j2-impl-*.jar" >/dev/null; then
    die "log4j-slf4j2-impl resolved; it does not bind slf4j 1.7"
  fi

  rm -rf "$LIB"
  mv "$tmp" "$LIB"
  pom_digest >"$MARKER"
  exec 8>&-
  say "installed $(find "$LIB" -name '*.jar' | wc -l) jars in $((SECONDS - t0)) s"
}

# Runs a Kafka main class from the cached jars; logs WARN+ to stderr so the
# tools' stdout stays clean.
java_tool() {
  local class=$1; shift
  "$JAVA" -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J" -Dferry.log.level=WARN -Dferry.log.target=SYSTEM_ERR \
    -cp "$LIB/*" "$class" "$@"
}

# ---------------------------------------------------------------- probing

# Sends a Kafka Metadata v4 request (no topics) over a raw socket and prints
# "<cluster id> <broker count>". The broker only serves requests on its
# PLAINTEXT listener once startup has finished and it is unfenced, so an
# answer listing >= 1 broker means clients can really use it. Milliseconds,
# versus ~1 s of JVM start for TopicCommand --list. Run under `timeout`.
probe_raw() {
  local host=$1 port=$2
  exec 3<>"/dev/tcp/$host/$port" || exit 1
  # size=20 | api_key=3 (Metadata) | api_version=4 | correlation_id="FERY"
  # | client_id="ferry" | topics=[] (brokers and cluster id only; null would
  # list every topic) | allow_auto_topic_creation=false
  printf '\x00\x00\x00\x14\x00\x03\x00\x04FERY\x00\x05ferry\x00\x00\x00\x00\x00' >&3
  local -a b
  # shellcheck disable=SC2207
  b=($(dd bs=4 count=1 iflag=fullblock <&3 2>/dev/null | od -An -v -tu1))
  ((${#b[@]} == 4)) || exit 1
  local size=$(( (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3] ))
  ((size >= 16 && size <= 1024 * 1024)) || exit 1
  # shellcheck disable=SC2207
  b=($(dd bs="$size" count=1 iflag=fullblock <&3 2>/dev/null | od -An -v -tu1))
  exec 3>&-
  ((${#b[@]} == size)) || exit 1
  [[ "${b[*]:0:4}" == "70 69 82 89" ]] || exit 1   # our correlation id
  local i=8 n k len                                # skip correlation id, throttle_time_ms
  i32() { echo $(( (b[i] << 24) | (b[i+1] << 16) | (b[i+2] << 8) | b[i+3] )); }
  i16() { echo $(( (b[i] << 8) | b[i+1] )); }
  n=$(i32); i=$((i + 4))
  ((n >= 1 && n < 100000)) || exit 1
  for ((k = 0; k < n; k++)); do
    i=$((i + 4))                                   # node_id
    len=$(i16); i=$((i + 2 + len))                 # host
    i=$((i + 4))                                   # port
    len=$(i16); i=$((i + 2)); ((len == 65535)) || i=$((i + len))  # rack (nullable)
  done
  local cluster=unknown
  len=$(i16); i=$((i + 2))
  if ((len != 65535 && i + len <= size)); then
    cluster=$(printf '%b' "$(printf '\\x%02x' "${b[@]:i:len}")")
  fi
  echo "$cluster $n"
}

# Prints "<cluster id> <broker count>" and returns 0 when the broker answers.
probe() {
  timeout 2 bash "$SELF" __probe "$HOST" "$PORT" 2>/dev/null
}

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

is_kafka_pid() {
  alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q ' kafka\.Kafka '
}

# The server.properties a running broker was started with (its state dir).
pid_config() {
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | sed -n '/^kafka\.Kafka$/{n;p;}'
}

listener_pid() {  # port -> pid of the process listening on it (if visible)
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1
}

pidfile_pid() {
  local pid
  [[ -f $PIDFILE ]] && pid=$(cat "$PIDFILE" 2>/dev/null) && is_kafka_pid "$pid" && echo "$pid"
  return 0
}

# Our broker: the pid file's if valid, else whatever Kafka holds our ports
# (e.g. a broker started earlier with another FERRY_STATE).
find_broker() {
  local pid p
  pid=$(pidfile_pid)
  if [[ -z $pid ]]; then
    for p in "$PORT" "$CONTROLLER_PORT"; do
      pid=$(listener_pid "$p")
      if [[ -n $pid ]] && is_kafka_pid "$pid"; then echo "$pid"; return 0; fi
    done
    return 0
  fi
  echo "$pid"
}

# Polls until ready or the deadline; fails fast if the process dies.
wait_ready() {
  local deadline=${1:-90} t0=$SECONDS pid out
  [[ $deadline =~ ^[0-9]+$ ]] || die "wait: not a number of seconds: $deadline"
  while :; do
    if out=$(probe); then
      say "ready on $BOOTSTRAP (cluster ${out% *}) after $((SECONDS - t0)) s"
      return 0
    fi
    pid=$(find_broker)
    # Grace period: right after launch the pid file may not exist yet.
    if [[ -z $pid ]] && ((SECONDS - t0 >= 3)); then
      pid=$(listener_pid "$PORT")
      [[ -n $pid ]] && die "port $PORT is held by pid $pid, which is not a Kafka broker"
      # A pid file left behind means our launch died during startup.
      [[ -f $PIDFILE ]] && { log_tail; die "broker exited during startup (see $LOG)"; }
      die "broker is not running (deploy/local/kafka.sh start)"
    fi
    if ((SECONDS - t0 >= deadline)); then
      log_tail
      die "not ready on $BOOTSTRAP after ${deadline} s (pid ${pid:-none}); a Metadata request did not succeed"
    fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------- start/stop

# A test CA, a broker certificate for localhost and 127.0.0.1, and a client
# certificate, made once. Keys are unencrypted PKCS#8 PEM.
make_certs() {
  [[ -f $TLS_DIR/.complete ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
  local tmp="$TLS_DIR.partial.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  say "making a test CA and certificates in $TLS_DIR (one time)"
  if ! (
    set -e
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.pem \
      -subj "/CN=Ferry local test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    for name in broker client; do
      if [[ $name == broker ]]; then
        usage="subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
      else
        usage="extendedKeyUsage=clientAuth"
      fi
      openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$name.key" -out "$name.csr" \
        -subj "/CN=ferry-$name"
      printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n%s\n' \
        "$usage" >"$name.ext"
      openssl x509 -req -sha256 -days 3650 -in "$name.csr" -CA ca.pem -CAkey ca.key \
        -CAcreateserial -extfile "$name.ext" -out "$name.pem"
      # A PEM key store as Kafka (and Ferry) read it: key, then certificate chain.
      cat "$name.key" "$name.pem" ca.pem >"$name-keystore.pem"
      rm -f "$name.csr" "$name.ext"
    done
  ) >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    die "openssl could not make the test certificates"
  fi
  rm -f "$tmp.log"
  touch "$tmp/.complete"
  rm -rf "$TLS_DIR"
  mv "$tmp" "$TLS_DIR"
}

# The CA and the client's key as Java key stores, as users' worker
# properties name them: JKS and PKCS12 trust stores, a PKCS12 key store
# made by openssl and a JKS one (with its own key password) made by keytool.
make_java_stores() {
  [[ -f $TLS_DIR/.java-stores ]] && return 0
  local keytool="${JAVA_HOME:+$JAVA_HOME/bin/}keytool"
  command -v "$keytool" >/dev/null || die "keytool not found (it comes with the JDK)"
  say "making Java key stores in $TLS_DIR (one time)"
  if ! (
    set -e
    cd "$TLS_DIR"
    rm -f truststore.jks truststore.p12 client.p12 client.jks
    for type in JKS PKCS12; do
      ext=$([[ $type == JKS ]] && echo jks || echo p12)
      "$keytool" -importcert -noprompt -alias ca -file ca.pem -keystore "truststore.$ext" \
        -storetype "$type" -storepass "$STORE_PASSWORD"
    done
    openssl pkcs12 -export -in client.pem -inkey client.key -certfile ca.pem -name client \
      -out client.p12 -passout "pass:$STORE_PASSWORD"
    "$keytool" -importkeystore -noprompt -srckeystore client.p12 -srcstoretype PKCS12 \
      -srcstorepass "$STORE_PASSWORD" -srcalias client -destkeystore client.jks \
      -deststoretype JKS -deststorepass "$STORE_PASSWORD" -destalias client \
      -destkeypass "$KEY_PASSWORD"
  ) >"$TLS_DIR/java-stores.log" 2>&1; then
    cat "$TLS_DIR/java-stores.log" >&2
    die "keytool/openssl could not make the Java key stores"
  fi
  touch "$TLS_DIR/.java-stores"
}

write_config() {
  mkdir -p "$STATE" "$DATA"
  make_certs
  make_java_stores
  local l jaas_plain jaas_scram
  jaas_plain="org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER=\"$SASL_PASSWORD\";"
  jaas_scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
  cat >"$CONF.tmp" <<EOF
# Generated by deploy/local/kafka.sh on every start; edit the script instead.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT,SASL_PLAINTEXT://$HOST:$SASL_PORT,SSL://$HOST:$SSL_PORT,SASL_SSL://$HOST:$SASL_SSL_PORT,MTLS://$HOST:$MTLS_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT,SASL_PLAINTEXT://$HOST:$SASL_PORT,SSL://$HOST:$SSL_PORT,SASL_SSL://$HOST:$SASL_SSL_PORT,MTLS://$HOST:$MTLS_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,MTLS:SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
ssl.client.auth=requested
listener.name.mtls.ssl.client.auth=required
log.dirs=$DATA
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  for l in sasl_plaintext sasl_ssl; do
    {
      echo "listener.name.$l.plain.sasl.jaas.config=$jaas_plain"
      echo "listener.name.$l.scram-sha-256.sasl.jaas.config=$jaas_scram"
      echo "listener.name.$l.scram-sha-512.sasl.jaas.config=$jaas_scram"
    } >>"$CONF.tmp"
  done
  mv "$CONF.tmp" "$CONF"
}

# True when something listens on every SASL/SSL port (a broker started by an
# earlier version of this script has the PLAINTEXT listener only).
has_secure_listeners() {
  local p
  for p in "$SASL_PORT" "$SSL_PORT" "$SASL_SSL_PORT" "$MTLS_PORT"; do
    ss -Hltn "sport = :$p" | grep -q . || return 1
  done
}

# Creates (upserts) the test user's SCRAM credentials once per cluster; the
# broker must be ready.
ensure_scram_users() {
  local cluster
  cluster=$(probe) || return 0
  cluster=${cluster% *}
  [[ -f $SCRAM_MARKER && "$(cat "$SCRAM_MARKER")" == "$cluster $SASL_USER" ]] && return 0
  say "creating SCRAM-SHA-256/512 credentials for user $SASL_USER"
  local m
  # One mechanism per request: the broker refuses two changes to one user's
  # credentials in the same request.
  for m in SCRAM-SHA-256 SCRAM-SHA-512; do
    java_tool kafka.admin.ConfigCommand --bootstrap-server "$BOOTSTRAP" --alter \
      --entity-type users --entity-name "$SASL_USER" --add-config "$m=[password=$SASL_PASSWORD]" \
      >/dev/null || die "ConfigCommand could not create the $m credentials of $SASL_USER"
  done
  mkdir -p "$STATE"
  echo "$cluster $SASL_USER" >"$SCRAM_MARKER"
}

format_once() {
  [[ -f $DATA/meta.properties ]] && return 0
  local id
  id=$(java_tool kafka.tools.StorageTool random-uuid | tail -n1)
  [[ $id =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid printed '$id'"
  say "formatting KRaft storage in $DATA (cluster $id)"
  # --standalone: this node is the only controller voter (pairs with
  # controller.quorum.bootstrap.servers).
  java_tool kafka.tools.StorageTool format -t "$id" -c "$CONF" --standalone >/dev/null \
    || die "StorageTool format failed"
}

lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 180 9 || die "another kafka.sh start/stop holds $STATE/.lock"
}

cmd_start() {
  local nowait=0
  [[ ${1:-} == --no-wait ]] && nowait=1
  cmd_install
  lock_state

  local out pid p conf
  if out=$(probe); then
    pid=$(find_broker)
    conf=""
    [[ -n $pid ]] && conf=$(pid_config "$pid")
    if [[ -n $conf && $conf != "$CONF" ]]; then
      say "already running on $BOOTSTRAP (pid $pid, cluster ${out% *}), started from $conf; reusing it"
      exec 9>&-
      ensure_scram_users
      return 0
    elif [[ -n $pid ]] && ! has_secure_listeners; then
      say "broker pid $pid lacks some SASL/SSL listeners ($SASL_PORT, $SSL_PORT, $SASL_SSL_PORT, $MTLS_PORT); restarting it with them"
      make_certs   # before stopping: a failure here leaves the broker up
      make_java_stores
      exec 9>&-
      cmd_stop
      lock_state
    else
      say "already running on $BOOTSTRAP (pid ${pid:-?}, cluster ${out% *})"
      exec 9>&-
      ensure_scram_users
      return 0
    fi
  fi

  # Something holds our ports without answering yet.
  for p in "$PORT" "$CONTROLLER_PORT"; do
    pid=$(listener_pid "$p")
    [[ -n $pid ]] || { ss -Hltn "sport = :$p" | grep -q . && die "port $p is in use by another user's process"; continue; }
    if is_kafka_pid "$pid"; then
      say "a broker (pid $pid, $(pid_config "$pid")) holds port $p but is not ready yet; waiting for it"
      ((nowait)) && return 0
      exec 9>&-
      wait_ready "${FERRY_KAFKA_WAIT_SECS:-90}"
      ensure_scram_users
      return 0
    fi
    die "port $p is in use by pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-120)); not a Kafka broker"
  done

  pid=$(pidfile_pid)
  if [[ -n $pid ]]; then
    say "broker pid $pid is starting; waiting for it"
  else
    [[ -f $PIDFILE ]] && { say "removing stale pid file"; rm -f "$PIDFILE"; }
    # Topics left by earlier runs pile up (thousands of partitions make the
    # broker take minutes to load them); a test run starts from nothing.
    if [[ ${FERRY_KAFKA_FRESH:-0} == 1 && -d $DATA ]]; then
      say "FERRY_KAFKA_FRESH=1: removing the stopped broker's data in $DATA"
      rm -rf "$DATA" "$SCRAM_MARKER"
    fi
    write_config
    format_once
    [[ -f $LOG ]] && mv -f "$LOG" "$LOG.1"
    say "starting broker (log: $LOG)"
    # setsid: a Ctrl-C or a process-group kill aimed at the caller must not
    # reach the broker. The inner shell records its own pid, then becomes java.
    # fds 8/9 (our locks) must not leak into the long-lived broker.
    # shellcheck disable=SC2016
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
      "$JAVA" -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$LOG4J" \
      -cp "$LIB/*" kafka.Kafka "$CONF" \
      </dev/null >>"$LOG" 2>&1 8>&- 9>&- &
  fi
  exec 9>&-
  ((nowait)) && return 0
  wait_ready "${FERRY_KAFKA_WAIT_SECS:-90}"
  ensure_scram_users
}

cmd_stop() {
  lock_state
  local pid deadline=${FERRY_KAFKA_STOP_SECS:-60} t0=$SECONDS
  pid=$(find_broker)
  if [[ -z $pid ]]; then
    rm -f "$PIDFILE"
    say "not running"
    return 0
  fi
  say "stopping broker pid $pid"
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
  say "stopped in $((SECONDS - t0)) s"
}

cmd_status() {
  local out pid
  pid=$(find_broker)
  if out=$(probe); then
    echo running
    say "$BOOTSTRAP pid ${pid:-?} cluster ${out% *} config ${pid:+$(pid_config "$pid")}"
    return 0
  fi
  if [[ -n $pid ]]; then echo starting; else echo stopped; fi
  return 1
}

# Adds --bootstrap-server for the local broker unless the caller gave one.
with_bootstrap() {
  local class=$1; shift
  local a
  for a in "$@"; do
    [[ $a == --bootstrap-server || $a == --bootstrap-server=* ]] && { java_tool "$class" "$@"; return; }
  done
  java_tool "$class" --bootstrap-server "$BOOTSTRAP" "$@"
}

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
  install)          cmd_install ;;
  start)            cmd_start "$@" ;;
  wait)             wait_ready "${1:-${FERRY_KAFKA_WAIT_SECS:-90}}"; ensure_scram_users ;;
  stop)             cmd_stop ;;
  status)           cmd_status ;;
  classpath)        cmd_install; echo "$LIB/*" ;;
  topics)           cmd_install; with_bootstrap org.apache.kafka.tools.TopicCommand "$@" ;;
  console-consumer) cmd_install; with_bootstrap org.apache.kafka.tools.consumer.ConsoleConsumer "$@" ;;
  console-producer) cmd_install; with_bootstrap org.apache.kafka.tools.ConsoleProducer "$@" ;;
  run)              cmd_install; [[ $# -ge 1 ]] || usage; java_tool "$@" ;;
  __probe)          probe_raw "$@" ;;
  *)                usage ;;
esac
