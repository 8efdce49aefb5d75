#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what is missing, typechecks, lints, builds,
# starts a Kafka broker (and stops it afterwards if it started it), then runs unit, integration and
# end-to-end tests in one node:test run, so that one summary line covers everything. Real
# MediaWiki tests start and stop their own wiki.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
# Lint includes the rule that keeps dependencies pointing inward (eslint.config.js).
npx eslint src test bench
npm run --silent build
# helm, kubernetes-validate and hadolint in .cache/ for the deployment checks (built once).
bash scripts/deploy-tools.sh >/dev/null

started_kafka=0
if ! bash scripts/kafka.sh status >/dev/null 2>&1; then
  bash scripts/kafka.sh start >&2
  started_kafka=1
fi
cleanup() { if [ "$started_kafka" = 1 ]; then bash scripts/kafka.sh stop >&2 || true; fi; }
trap cleanup EXIT

export KAFKA_BOOTSTRAP=${KAFKA_BOOTSTRAP:-127.0.0.1:${KAFKA_PORT:-9092}}
bash scripts/run-tests.sh test/unit test/integration test/e2e
