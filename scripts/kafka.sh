#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, broker + controller in one JVM) on 127.0.0.1 for tests and demos.
#
#   scripts/kafka.sh start     resolve jars (first time), format storage (first time), start, wait, print
#                              KAFKA_BOOTSTRAP=127.0.0.1:PORT; only prints when already running
#   scripts/kafka.sh stop      stop the process group this script started (from its pid file)
#   scripts/kafka.sh restart   stop + start on the same data (for broker-restart tests)
#   scripts/kafka.sh status    exit 0 when the broker answers
#
# Environment (defaults in brackets):
#   KAFKA_PORT [9092]  KAFKA_CONTROLLER_PORT [KAFKA_PORT+1]  KAFKA_VERSION [3.9.2]
#   KAFKA_CACHE [<repo>/.cache/kafka]  KAFKA_STATE_DIR [<repo>/.cache/kafka-state]
#   KAFKA_HEAP_OPTS [-Xms128m -Xmx512m]  KAFKA_START_TIMEOUT [90] seconds  KAFKA_NUM_PARTITIONS [3]
#   KAFKA_JVM_OPTS [-XX:+UseSerialGC -XX:TieredStopAtLevel=1]: C1 only starts the broker about
#   0.7 s faster, which matters more to tests than the broker's peak throughput.
#
# Measured on the 2-CPU test machine: cold start (Maven download, format, start) 10-14 s; start with
# cached jars 2.2-2.6 s (with or without formatting); restart 2.4 s; start when running 0.02 s.
#
# A broker answers when `kcat -L` lists it; the pid file holds the process group made by setsid,
# and stop signals only that group.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)

port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
version=${KAFKA_VERSION:-3.9.2}
cache_dir=${KAFKA_CACHE:-$repo_dir/.cache/kafka}
state_dir=${KAFKA_STATE_DIR:-$repo_dir/.cache/kafka-state}
heap_opts=${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
jvm_opts=${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}
start_timeout=${KAFKA_START_TIMEOUT:-90}
num_partitions=${KAFKA_NUM_PARTITIONS:-3}

lib_dir=$cache_dir/$version/lib
pid_file=$state_dir/kafka.pid
config_file=$state_dir/server.properties
bootstrap=127.0.0.1:$port

log() { echo "kafka.sh: $*" >&2; }

ensure_debian_packages() {
  local wanted=(kcat libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev)
  local missing=() p
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; then
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
  fi
}

# Maven resolves the broker and its whole runtime classpath; its local repository lives in the cache
# too, so nothing outside the repo is touched and a warm start never goes to the network.
ensure_jars() {
  [ -f "$lib_dir/.complete" ] && return 0
  local work=$cache_dir/$version
  mkdir -p "$work"
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.test</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
EOF
  log "resolving org.apache.kafka:kafka_2.13:$version from Maven Central (first run only)"
  rm -rf "$lib_dir"
  if ! mvn -B -q -f "$work/pom.xml" -Dmaven.repo.local="$cache_dir/m2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib_dir" >"$work/mvn.log" 2>&1; then
    cat "$work/mvn.log" >&2
    return 1
  fi
  touch "$lib_dir/.complete"
}

write_config() {
  mkdir -p "$state_dir/data" "$state_dir/logs"
  cat >"$config_file" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$state_dir/data
num.partitions=$num_partitions
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
# Fewer internal partitions than the default 50 make the first group and transaction much quicker.
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
group.initial.rebalance.delay.ms=0
EOF
  cat >"$state_dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$state_dir/logs/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

# Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding; one starting with '-'
# would be read as an option, so draw again (as Kafka's own Uuid.randomUuid does).
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    [ "${id:0:1}" != "-" ] && { echo "$id"; return; }
  done
}

format_storage() {
  [ -f "$state_dir/data/meta.properties" ] && return 0
  log "formatting KRaft storage in $state_dir/data"
  java -cp "$lib_dir/*" -Dlog4j.configuration="file:$state_dir/log4j.properties" \
    kafka.tools.StorageTool format -t "$(new_cluster_id)" -c "$config_file" >&2
}

# The pid file holds the pid of the session leader that `setsid` made, which is also the group id.
# It counts as ours only while that pid still runs our broker with our config file.
our_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(cat "$pid_file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $config_file" || return 1
  echo "$pid"
}

# kill -0 would also succeed for a zombie; an exited process has an empty cmdline.
alive() { our_pid >/dev/null; }

# A closed port is refused at once; kcat alone would wait out its metadata timeout first.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

answers() {
  port_open && kcat -L -b "$bootstrap" -m 3 2>/dev/null | grep -q ' 1 brokers:'
}

wait_until_answers() {
  local deadline=$((SECONDS + start_timeout))
  until answers; do
    if ! alive; then
      log "broker exited during start; last lines of $state_dir/kafka.out and server.log:"
      tail -n 30 "$state_dir/kafka.out" "$state_dir/logs/server.log" >&2 || true
      rm -f "$pid_file"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "broker did not answer on $bootstrap within ${start_timeout}s (see $state_dir/logs/server.log)"
      return 1
    fi
    sleep 0.3
  done
}

start() {
  local pid
  if pid=$(our_pid); then
    wait_until_answers
    echo "KAFKA_BOOTSTRAP=$bootstrap"
    return 0
  fi
  if port_open; then
    log "something else already listens on $bootstrap; not starting a second broker"
    return 1
  fi
  ensure_debian_packages
  command -v java >/dev/null || { log "java is required"; return 1; }
  ensure_jars
  write_config
  format_storage
  # shellcheck disable=SC2086 # heap_opts is a list of JVM flags
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" \
    java $heap_opts $jvm_opts -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$state_dir/log4j.properties" -Dkafka.logs.dir="$state_dir/logs" \
    -cp "$lib_dir/*" kafka.Kafka "$config_file" >"$state_dir/kafka.out" 2>&1 </dev/null 9>&- &
  local deadline=$((SECONDS + 10))
  until pid=$(our_pid); do
    if [ $SECONDS -ge $deadline ]; then
      log "broker process did not start; see $state_dir/kafka.out"
      return 1
    fi
    sleep 0.05
  done
  wait_until_answers
  echo "KAFKA_BOOTSTRAP=$bootstrap"
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$pid_file"
    log "not running"
    return 0
  fi
  kill -TERM -- "-$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while alive; do
    if [ $SECONDS -ge $deadline ]; then
      log "broker did not stop within 60s; killing its process group"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    sleep 0.1
  done
  rm -f "$pid_file"
  log "stopped"
}

status() {
  if answers; then
    echo "KAFKA_BOOTSTRAP=$bootstrap"
    return 0
  fi
  log "not answering on $bootstrap"
  return 1
}

# Concurrent start/stop calls (test files starting the broker at the same time) take turns.
lock() {
  mkdir -p "$state_dir"
  exec 9>"$state_dir/kafka.lock"
  flock 9
}

case "${1:-}" in
  start) lock && start ;;
  stop) lock && stop ;;
  restart) lock && stop && start ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|restart|status" >&2
    exit 64
    ;;
esac
