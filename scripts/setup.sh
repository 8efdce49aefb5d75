#!/usr/bin/env bash
# Installs what the service and its tests need on a fresh Debian machine, doing nothing that is
# already done: the C libraries librdkafka is built against, kcat, strace (the schema confinement
# test watches file access with it), prometheus (its promtool checks the metrics and the alert
# rules, and a test scrapes the service with it), chromium (the status page's browser test), then the npm dependencies (@confluentinc/kafka-javascript
# compiles librdkafka from source, about 80 s, linked dynamically against the system libraries).
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev kcat strace prometheus chromium)
missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "[setup] installing Debian packages: ${missing[*]}" >&2
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Reinstall when package-lock.json changed since the last install, or the native module is missing.
stamp=node_modules/.setup-stamp
native=node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node
if [ ! -f "$stamp" ] || [ ! -f "$native" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[setup] npm ci (builds librdkafka; takes a minute or two the first time)" >&2
  CKJS_LINKING=dynamic npm ci --no-audit --no-fund --loglevel=error
  [ -f "$native" ] || CKJS_LINKING=dynamic npm rebuild @confluentinc/kafka-javascript --loglevel=error
  touch "$stamp"
fi
