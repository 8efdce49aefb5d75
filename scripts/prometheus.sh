#!/usr/bin/env bash
# A throwaway Prometheus on 127.0.0.1 for tests and for looking at a local run: Debian's `prometheus`
# binary (scripts/setup.sh installs it) as a process of its own, never the system service.
#
#   scripts/prometheus.sh start CONFIG   start on CONFIG (a prometheus.yml, or a folder holding one),
#                                        wait until it is ready, print PROMETHEUS_URL=http://127.0.0.1:PORT;
#                                        only prints when already running on the same CONFIG
#   scripts/prometheus.sh stop           stop the process this script started (from its pid file) and
#                                        remove its storage
#   scripts/prometheus.sh reload         re-read CONFIG and its rule files (SIGHUP)
#   scripts/prometheus.sh status         exit 0 and print the URL when it answers
#
# Environment (defaults in brackets):
#   PROMETHEUS_STATE_DIR [<repo>/.cache/prometheus]  pid file, port, log; one Prometheus per folder,
#                        so a test gives each Prometheus a folder of its own
#   PROMETHEUS_PORT [a free port]  PROMETHEUS_START_TIMEOUT [30] seconds
#
# The storage is a fresh temporary folder on every start (nothing is kept between runs), and
# `rule_files` in CONFIG are relative to CONFIG, as Prometheus reads them.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)

state_dir=${PROMETHEUS_STATE_DIR:-$repo_dir/.cache/prometheus}
start_timeout=${PROMETHEUS_START_TIMEOUT:-30}
pid_file=$state_dir/prometheus.pid
port_file=$state_dir/port
config_file_record=$state_dir/config
storage_record=$state_dir/storage
log_file=$state_dir/prometheus.log

log() { echo "prometheus.sh: $*" >&2; }

# A closed port is refused at once.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first line of an HTTP answer, by bash alone (curl is not among the packages setup.sh installs).
http_status_line() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
    timeout 2 head -n 1 <&3
  ) 2>/dev/null
}

ready() {
  local port
  port=$(cat "$port_file" 2>/dev/null) || return 1
  http_status_line "$port" /-/ready | grep -q ' 200 '
}

# The pid file's process counts as ours only while it still runs prometheus on our listen address.
our_pid() {
  [ -f "$pid_file" ] && [ -f "$port_file" ] || return 1
  local pid port
  pid=$(cat "$pid_file")
  port=$(cat "$port_file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--web.listen-address=127.0.0.1:$port " || return 1
  echo "$pid"
}

alive() { our_pid >/dev/null; }

# A port nothing listens on, from a random start in the dynamic range; Prometheus failing to bind
# it (taken between the check and the start) makes `start` try another.
free_port() {
  local port=$((20000 + RANDOM % 30000)) _
  for _ in $(seq 1 200); do
    port_open "$port" || { echo "$port"; return 0; }
    port=$((port + 1))
  done
  log "found no free port"
  return 1
}

resolve_config() {
  local given=$1
  [ -d "$given" ] && given=$given/prometheus.yml
  [ -f "$given" ] || { log "no config file at $given"; return 1; }
  echo "$(cd "$(dirname "$given")" && pwd)/$(basename "$given")"
}

remove_storage() {
  local storage
  storage=$(cat "$storage_record" 2>/dev/null) || return 0
  # Only ever a folder this script made with mktemp.
  [[ "$(basename "$storage")" == prometheus-data.* ]] && rm -rf "$storage"
  rm -f "$storage_record"
}

launch() {
  local config=$1 port=$2 storage
  storage=$(mktemp -d "${TMPDIR:-/tmp}/prometheus-data.XXXXXX")
  echo "$storage" >"$storage_record"
  echo "$port" >"$port_file"
  echo "$config" >"$config_file_record"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" \
    prometheus --config.file="$config" --web.listen-address="127.0.0.1:$port" \
    --storage.tsdb.path="$storage" --storage.tsdb.retention.time=1d --log.level=warn \
    >"$log_file" 2>&1 </dev/null 9>&- &
}

# 0: ready; 1: exited (the log says why); 2: still not ready at the deadline.
wait_until_ready() {
  local deadline=$((SECONDS + start_timeout))
  until ready; do
    if ! alive; then
      local pid
      pid=$(cat "$pid_file" 2>/dev/null || true)
      # The pid file is written by the child; it may not be there yet.
      if [ -z "$pid" ] || [ -d "/proc/$pid" ]; then
        sleep 0.05
        [ $SECONDS -lt $deadline ] && continue
      fi
      return 1
    fi
    [ $SECONDS -ge $deadline ] && return 2
    sleep 0.1
  done
}

start() {
  local config port attempt status
  config=$(resolve_config "${1:?usage: $0 start CONFIG}")
  if alive; then
    if [ "$(cat "$config_file_record")" != "$config" ]; then
      log "already running on $(cat "$config_file_record") (state in $state_dir); stop it first"
      return 1
    fi
    wait_until_ready || { log "running but not ready; see $log_file"; return 1; }
    echo "PROMETHEUS_URL=http://127.0.0.1:$(cat "$port_file")"
    return 0
  fi
  command -v prometheus >/dev/null || { log "prometheus is not installed: run scripts/setup.sh"; return 1; }
  # A config error is reported at once, with the file and line.
  local checked
  if ! checked=$(promtool check config --syntax-only "$config" 2>&1); then
    echo "$checked" >&2
    return 1
  fi
  for attempt in 1 2 3; do
    if [ -n "${PROMETHEUS_PORT:-}" ]; then port=$PROMETHEUS_PORT; else port=$(free_port); fi
    remove_storage
    launch "$config" "$port"
    status=0
    wait_until_ready || status=$?
    if [ $status -eq 0 ]; then
      echo "PROMETHEUS_URL=http://127.0.0.1:$port"
      return 0
    fi
    if [ $status -eq 2 ]; then
      log "not ready on 127.0.0.1:$port within ${start_timeout}s; see $log_file"
      stop >/dev/null 2>&1 || true
      return 1
    fi
    remove_storage
    rm -f "$pid_file"
    if [ -z "${PROMETHEUS_PORT:-}" ] && grep -q 'address already in use' "$log_file"; then
      log "port $port was taken meanwhile; trying another ($attempt)"
      continue
    fi
    log "prometheus exited during start; last lines of $log_file:"
    tail -n 20 "$log_file" >&2
    return 1
  done
  return 1
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$pid_file"
    remove_storage
    log "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while alive; do
    if [ $SECONDS -ge $deadline ]; then
      log "did not stop within 30s; killing pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.05
  done
  rm -f "$pid_file"
  remove_storage
  log "stopped"
}

reload() {
  local pid
  pid=$(our_pid) || { log "not running"; return 1; }
  promtool check config "$(cat "$config_file_record")" >&2 || return 1
  kill -HUP "$pid"
}

status() {
  if alive && ready; then
    echo "PROMETHEUS_URL=http://127.0.0.1:$(cat "$port_file")"
    return 0
  fi
  log "not running (state in $state_dir)"
  return 1
}

# Concurrent start/stop calls on one state folder take turns.
lock() {
  mkdir -p "$state_dir"
  exec 9>"$state_dir/prometheus.lock"
  flock 9
}

case "${1:-}" in
  start) lock && start "${2:-}" ;;
  stop) lock && stop ;;
  reload) lock && reload ;;
  status) status ;;
  *)
    echo "usage: $0 start CONFIG|stop|reload|status" >&2
    exit 64
    ;;
esac
