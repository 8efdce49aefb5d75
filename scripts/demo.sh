#!/usr/bin/env bash
# The quick start: enriches examples/page-change.ndjson into out/ against a local stand-in for the
# Action API (no wiki is reachable from here), then prints the outcome counts and the first output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent build

work=$(mktemp -d)
node --import tsx examples/example-api-server.ts 0 >"$work/server.out" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/server.out" && break; sleep 0.1; done
endpoint="$(sed -n 's/^listening on //p' "$work/server.out")/w/api.php"
printf 'enrich:\n  mediawiki_api_endpoint_template: %s\n' "$endpoint" >"$work/local.yaml"

rm -f out/page-content-change.ndjson out/errors.ndjson
node bin/mw-enrich.js page-content-change --config examples/config.yaml --config "$work/local.yaml"
echo
echo "outputs: $(wc -l <out/page-content-change.ndjson) in out/page-content-change.ndjson," \
  "error events: $(wc -l <out/errors.ndjson) in out/errors.ndjson"
echo "the first enriched output's slots:"
node -e '
  const lines = require("fs").readFileSync("out/page-content-change.ndjson", "utf8").trim().split("\n");
  const e = lines.map((l) => JSON.parse(l)).find((e) => e.revision.content_slots?.main?.content_body !== undefined);
  console.log(e.page_change_kind, e.wiki_id, e.page.page_title, "rev", e.revision.rev_id);
  console.log(JSON.stringify(e.revision.content_slots, null, 2));'
