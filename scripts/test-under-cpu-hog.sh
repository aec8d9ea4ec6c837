#!/usr/bin/env bash
# Runs a test command next to a CPU hog: one busy-looping process per core (issue 13: the suite
# must pass on a busy machine, because tests wait on events and their timeouts only end hangs).
#   bash scripts/test-under-cpu-hog.sh                 # npm test
#   bash scripts/test-under-cpu-hog.sh npx vitest run tests/integration/x.test.ts
# HOG_PROCESSES overrides the number of busy loops (default: the number of cores). The hogs run at
# normal priority, like another tenant's build would, and are stopped however the command ends.
set -uo pipefail
cd "$(dirname "$0")/.."
count="${HOG_PROCESSES:-$(nproc)}"
pids=()
stop_hogs() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; }
trap stop_hogs EXIT INT TERM
for _ in $(seq 1 "$count"); do
  node -e 'for (;;) {}' &
  pids+=("$!")
done
echo "CPU hog: ${count} busy loops (pids ${pids[*]}) on $(nproc) cores; running: ${*:-npm test}"
started=$(date +%s)
if [ $# -gt 0 ]; then "$@"; else npm test; fi
status=$?
echo "under the CPU hog: exit ${status} after $(( $(date +%s) - started )) s"
exit "$status"
