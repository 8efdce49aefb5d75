#!/usr/bin/env bash
# Property-based fuzzing for longer than the test suite does: the in-process properties
# (test/integration/fuzz-job.test.ts) and the CLI property (test/e2e/fuzz-cli.test.ts), each for
# FUZZ_SECONDS (default 200, so about 10 minutes for the three) unless FUZZ_RUNS ends it first.
# A failure prints fast-check's seed and path: FUZZ_SEED=<seed> FUZZ_PATH=<path> replays it.
# Other files may be named as arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_SECONDS="${FUZZ_SECONDS:-200}"
if (($# == 0)); then set -- test/integration/fuzz-job.test.ts test/e2e/fuzz-cli.test.ts; fi
exec node --import tsx --test --test-concurrency=1 "$@"
