#!/usr/bin/env bash
# One command: install what is missing, build, and run the whole test suite.
# With CI=true (as CI runs it) or MIGSCOPE_FULL_TESTS=1 it also builds and runs
# the suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (scripts/sanitize.sh) and runs each libFuzzer target for 30 seconds
# (scripts/fuzz.sh), failing on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
full=0
if [ "${CI:-}" = "true" ] || [ "${MIGSCOPE_FULL_TESTS:-}" = "1" ]; then full=1; fi
if [ $full = 1 ]; then bash scripts/install-deps.sh --full; else bash scripts/install-deps.sh; fi
bash scripts/build.sh
(cd build && ctest --output-on-failure --parallel 2 "$@")
if [ $full = 1 ]; then
  echo "== sanitizer build (ASan + UBSan)"
  sh scripts/sanitize.sh
  echo "== fuzzers, 30 s each"
  MERGE=0 sh scripts/fuzz.sh 30  # CI checks; runs that grow tests/fuzz/corpus are scripts/fuzz.sh without MERGE=0
fi
