#!/usr/bin/env bash
# The quick start on a real wiki (`npm run demo`): installs what is missing, starts a fresh local MediaWiki
# (Debian's package under `php -S`, scripts/mediawiki.sh) in a temporary folder, runs
#
#   mw-enrich page-content-change   with connector mediawiki_recentchanges (the wiki's recent changes in)
#                                   and the wiki's own api.php for content
#
# while a few edits, a move, a delete, an undelete and a revision deletion are made, then stops it and
# prints the enriched events. Outputs: out/wiki-page-content-change.ndjson, out/wiki-errors.ndjson.
# Everything it started (the service, the wiki's process group) is stopped by its id on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DOMAIN=wiki.quickstart.test
OUTPUT=out/wiki-page-content-change.ndjson
ERRORS=out/wiki-errors.ndjson
started=$SECONDS

say() { printf '%s\n' "$*"; }

# npm dependencies, when missing or older than package-lock.json. A complete install (with the Kafka
# client compiled, scripts/setup.sh) is renewed by scripts/setup.sh; otherwise the packages are installed
# without their build scripts: only the Kafka connector needs a compiled module, and this run uses none.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if [ -f node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node ]; then
    bash scripts/setup.sh
  else
    say "[quickstart] npm ci (without build scripts: no Kafka client is needed here)"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  fi
fi
# Build when the compiled CLI is missing or older than a source file.
if [ ! -f dist/runtime/cli.js ] || [ -n "$(find src -name '*.ts' -newer dist/runtime/cli.js -print -quit)" ]; then
  say "[quickstart] building"
  npm run --silent build
fi

work="$(mktemp -d)"
service=""
cleanup() {
  if [ -n "$service" ] && kill -0 "$service" 2>/dev/null; then kill -KILL "$service" 2>/dev/null || true; fi
  bash scripts/mediawiki.sh stop "$work/wiki" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

say "[quickstart] starting a local MediaWiki (installs Debian's mediawiki package the first time)"
bash scripts/mediawiki.sh start "$work/wiki" 0 >"$work/wiki.env"
server="$(sed -n 's/^MW_SERVER=//p' "$work/wiki.env")"
# The wiki's name in events (siteinfo servername, meta.domain) must be a host name; requests to it are
# routed to the local port.
printf '<?php\n$wgServer = "http://%s";\n' "$DOMAIN" >"$work/wiki/LocalSettings.extra.php"

cat >"$work/config.yaml" <<EOF
# page_change events derived from the wiki's recent changes, content from the same wiki's api.php.
stream_manager:
  job_name: mw-page-content-change-enrich
  stream_config_uri: examples/stream-config.yaml
  schema_uris: [schemas/primary/jsonschema]
  http_client_routes: { "http://$DOMAIN": "$server" }
  source:
    stream: mediawiki.page_change.v1:1.2.0
    connector: mediawiki_recentchanges
    options:
      api_url: http://$DOMAIN/api.php
      since: now
      poll_interval_ms: 500
      position_file: $work/position.json
      user_agent: mediawiki-event-enrichment-quickstart/0.1 (local demo wiki)
  sink:
    stream: mediawiki.page_content_change.v1:1.2.0
    connector: file
    options: { path: $OUTPUT, append: true }
  error_sink:
    stream: mw-page-content-change-enrich.error:2.1.0
    connector: file
    options: { path: $ERRORS, append: true }
enrich:
  mediawiki_api_endpoint_template: http://{domain}/api.php
  allowed_domains: [$DOMAIN]
  user_agent: mediawiki-event-enrichment-quickstart/0.1 (local demo wiki)
runtime:
  commit_interval_ms: 200
EOF

mkdir -p out
rm -f "$OUTPUT" "$ERRORS"
say "[quickstart] mw-enrich page-content-change, reading the recent changes of http://$DOMAIN (routed to $server)"
node bin/mw-enrich.js page-content-change --config "$work/config.yaml" 2>"$work/service.log" &
service=$!
for _ in $(seq 200); do
  grep -q '"reading recent changes"' "$work/service.log" && break
  kill -0 "$service" 2>/dev/null || { cat "$work/service.log" >&2; exit 1; }
  sleep 0.1
done
grep -q '"reading recent changes"' "$work/service.log" || { cat "$work/service.log" >&2; exit 1; }

say "[quickstart] changing the wiki:"
node scripts/quickstart-wiki-actions.mjs act "$work/wiki.env" "$OUTPUT"

kill -TERM "$service"
status=0
wait "$service" || status=$?
service=""
if [ "$status" -ne 0 ]; then
  cat "$work/service.log" >&2
  exit "$status"
fi
say "[quickstart] the enriched events (kind, page, revision, first characters of the content):"
node scripts/quickstart-wiki-actions.mjs print "$OUTPUT"
grep '^summary:' "$work/service.log"
say "outputs: $(wc -l <"$OUTPUT") in $OUTPUT, error events: $(wc -l <"$ERRORS") in $ERRORS ($((SECONDS - started)) s)"
