#!/usr/bin/env bash
# The full suite, N times in a row (default 3), with every core kept busy by a CPU hog beside it:
# the check that no test depends on an idle machine. Stops at the first failing run; the hog
# (one busy shell loop per core, at the suite's own priority) ends with this script.
#   bash scripts/test-loaded.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
cores="$(nproc)"
hogs=()
stop_hogs() { for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_hogs EXIT
for _ in $(seq "$cores"); do
  bash -c 'while :; do :; done' &
  hogs+=("$!")
done
echo "CPU hog: ${#hogs[@]} busy loops on ${cores} cores (pids ${hogs[*]})"
npx tsc -b packages/runtime packages/lab
npm run lint:imports
for run in $(seq "$runs"); do
  start="$(date +%s)"
  echo "=== loaded run ${run}/${runs} started $(date -u +%FT%TZ)"
  if ! node scripts/run-tests.mjs; then
    echo "=== loaded run ${run}/${runs} FAILED after $(( $(date +%s) - start )) s"
    exit 1
  fi
  echo "=== loaded run ${run}/${runs} passed in $(( $(date +%s) - start )) s"
done
echo "=== ${runs} loaded runs passed"
