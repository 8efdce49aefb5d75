#!/usr/bin/env bash
# A throwaway MediaWiki (Debian's package, SQLite, `php -S`) for integration and end-to-end tests.
#
#   scripts/mediawiki.sh start  [DIR] [PORT]   install what is missing, create the wiki in DIR if new, serve it
#   scripts/mediawiki.sh stop   [DIR]          stop the server's process group
#   scripts/mediawiki.sh status [DIR]          exit 0 and print the environment if it answers, 3 if not
#
# DIR defaults to .mediawiki-local in the repository, PORT to 8089 (0 picks a free one). `start` prints
# KEY=VALUE lines (also written to DIR/mediawiki.env): MW_API_URL, MW_SERVER, MW_DIR, MW_PGID,
# MW_ADMIN_USER, MW_ADMIN_PASS, MW_BOT_USER, MW_BOT_PASS. Every command is idempotent. All wiki state
# lives in DIR: MW_CONFIG_FILE (MediaWiki >= 1.38) points the entry points and maintenance scripts at
# DIR/LocalSettings.php, so nothing under /etc/mediawiki or /var/lib/mediawiki is used.
set -euo pipefail

MW_ROOT=/usr/share/mediawiki
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMMAND="${1:-}"
DIR="${2:-$REPO_ROOT/.mediawiki-local}"
PORT="${3:-8089}"
PACKAGES=(mediawiki php-cli php-cgi php-sqlite3 php-intl php-mbstring php-xml php-apcu)
STUB_NAME=enrichment-test-httpd-placeholder

log() { echo "mediawiki.sh: $*" >&2; }
die() { log "$*"; exit 1; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# `mediawiki` depends on `apache2 | httpd`. An empty package that provides `httpd` satisfies it without
# putting a web server (and its service) on the machine; php -S serves the wiki instead.
install_httpd_placeholder() {
  if installed "$STUB_NAME" || installed apache2; then return; fi
  local build
  build="$(mktemp -d)"
  mkdir -p "$build/pkg/DEBIAN"
  cat >"$build/pkg/DEBIAN/control" <<EOF
Package: $STUB_NAME
Version: 1.0
Architecture: all
Maintainer: mediawiki-event-enrichment tests <nobody@localhost>
Provides: httpd
Description: Satisfies "httpd" so that the mediawiki package does not pull in a web server
EOF
  dpkg-deb --build "$build/pkg" "$build/$STUB_NAME.deb" >/dev/null
  dpkg -i "$build/$STUB_NAME.deb" >/dev/null
  rm -rf "$build"
}

ensure_packages() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
  [[ ${#missing[@]} -eq 0 ]] && return
  [[ $(id -u) -eq 0 ]] || die "packages missing (${missing[*]}) and not root: install them with apt-get"
  log "installing ${missing[*]}"
  install_httpd_placeholder
  # Package scripts must not start services; a deny-all policy-rc.d says so (removed again afterwards).
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local status=0
  {
    apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  } || status=$?
  [[ $own_policy -eq 1 ]] && rm -f /usr/sbin/policy-rc.d
  [[ $status -eq 0 ]] || die "apt-get failed with status $status"
}

free_port() {
  php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);'
}

# A random secret from the given alphabet; bot passwords must match ^[0-9a-w]{32,}$ or action=login treats
# them as a main-account password and fails.
secret() { LC_ALL=C tr -dc "$1" </dev/urandom | head -c "$2" || true; }

env_file() { echo "$DIR/mediawiki.env"; }
env_value() {
  [[ -f "$(env_file)" ]] || return 0
  sed -n "s/^$1=//p" "$(env_file)" | tail -n 1
}
mw() { MW_CONFIG_FILE="$DIR/LocalSettings.php" php "$MW_ROOT/maintenance/$1.php" "${@:2}"; }

create_wiki() {
  local admin_pass bot_pass
  admin_pass="Admin-$(secret 'A-Za-z0-9' 16)"
  bot_pass="$(secret '0-9a-w' 32)"
  mkdir -p "$DIR/data" "$DIR/tmp" "$DIR/cache" "$DIR/images"
  (cd "$MW_ROOT" && mw install --quiet --dbtype sqlite --dbpath "$DIR/data" --dbname wiki \
    --server "http://127.0.0.1:$PORT" --scriptpath '' --confpath "$DIR" --lang en \
    --pass "$admin_pass" EnrichmentTestWiki Admin) >"$DIR/install.log" 2>&1 ||
    die "install.php failed: $(tail -n 20 "$DIR/install.log")"
  echo 'require __DIR__ . "/LocalSettings.local.php";' >>"$DIR/LocalSettings.php"
  write_local_settings
  mw createAndPromote --force --bot --custom-groups suppress Admin >>"$DIR/install.log" 2>&1
  mw createBotPassword --appid tests \
    --grants basic,highvolume,editpage,editprotected,createeditmovepage,delete,oversight,viewdeleted \
    Admin "$bot_pass" >>"$DIR/install.log" 2>&1 || die "createBotPassword failed: $(tail -n 5 "$DIR/install.log")"
  {
    echo "MW_ADMIN_USER=Admin"
    echo "MW_ADMIN_PASS=$admin_pass"
    echo "MW_BOT_USER=Admin@tests"
    echo "MW_BOT_PASS=$bot_pass"
  } >"$DIR/credentials.env"
}

# Rewritten on every start: the port may change between runs, and tests log in many times.
write_local_settings() {
  cat >"$DIR/LocalSettings.local.php" <<EOF
<?php
\$wgServer = "http://127.0.0.1:$PORT";
\$wgUploadDirectory = "$DIR/images";
\$wgTmpDirectory = "$DIR/tmp";
\$wgCacheDirectory = "$DIR/cache";
\$wgPasswordAttemptThrottle = [];
\$wgShowExceptionDetails = true;
if (is_file(__DIR__ . "/LocalSettings.extra.php")) { require __DIR__ . "/LocalSettings.extra.php"; }
EOF
}

answers() {
  local url="$1"
  php -r '$b = @file_get_contents($argv[1], false, stream_context_create(["http" => ["timeout" => 2]]));
    exit($b !== false && strpos($b, "\"sitename\"") !== false ? 0 : 1);' \
    "$url?action=query&meta=siteinfo&format=json" 2>/dev/null
}

group_alive() { [[ -n "$1" ]] && kill -0 -- "-$1" 2>/dev/null; }

print_env() { cat "$(env_file)"; }

cmd_start() {
  ensure_packages
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd)"
  local pgid
  pgid="$(env_value MW_PGID)"
  if group_alive "$pgid" && answers "$(env_value MW_API_URL)"; then
    print_env
    return
  fi
  [[ "$PORT" == 0 ]] && PORT="$(free_port)"
  # credentials.env is written last: without it an earlier creation was interrupted, so start afresh.
  if [[ ! -f "$DIR/credentials.env" ]]; then
    rm -rf "$DIR/LocalSettings.php" "$DIR/data"
    create_wiki
  fi
  write_local_settings
  # setsid: the server gets its own process group. With PHP_CLI_SERVER_WORKERS the parent forks workers
  # that keep serving the port if only the parent is killed, so stop signals the whole group.
  MW_CONFIG_FILE="$DIR/LocalSettings.php" PHP_CLI_SERVER_WORKERS=4 \
    setsid php -q -S "127.0.0.1:$PORT" -t "$MW_ROOT" >"$DIR/server.log" 2>&1 </dev/null &
  pgid=$!
  local api="http://127.0.0.1:$PORT/api.php"
  for _ in $(seq 1 100); do
    if answers "$api"; then
      {
        echo "MW_API_URL=$api"
        echo "MW_SERVER=http://127.0.0.1:$PORT"
        echo "MW_DIR=$DIR"
        echo "MW_PGID=$pgid"
        cat "$DIR/credentials.env"
      } >"$(env_file)"
      print_env
      return
    fi
    group_alive "$pgid" || die "php -S exited: $(tail -n 20 "$DIR/server.log")"
    sleep 0.2
  done
  kill -- "-$pgid" 2>/dev/null || true
  die "api.php did not answer on port $PORT within 20 s: $(tail -n 20 "$DIR/server.log")"
}

cmd_stop() {
  local pgid
  pgid="$(env_value MW_PGID)"
  if group_alive "$pgid"; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      group_alive "$pgid" || break
      sleep 0.1
    done
    group_alive "$pgid" && kill -KILL -- "-$pgid" 2>/dev/null
  fi
  [[ -f "$(env_file)" ]] && sed -i '/^MW_PGID=/d' "$(env_file)"
  return 0
}

cmd_status() {
  local pgid
  pgid="$(env_value MW_PGID)"
  if group_alive "$pgid" && answers "$(env_value MW_API_URL)"; then
    print_env
    return 0
  fi
  log "not running (DIR=$DIR)"
  return 3
}

case "$COMMAND" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
  echo "usage: $0 start|stop|status [DIR] [PORT]" >&2
  exit 2
  ;;
esac
