#!/usr/bin/env bash
# The whole test suite, as CI runs it: format and lint checks, build, a real Docker Engine for the
# engine-backed tests (brought up here when none is reachable, torn down after), ONE jest run over
# every package, then the swarm end-to-end suite; the output ends with one "N passed, N failed" line
# that adds both up.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .local
# The project's Node.js (.node-version) and the pinned pnpm, whether or not either is installed (a
# fresh machine has only some node and npm).
# shellcheck source=scripts/node-runtime.sh
. scripts/node-runtime.sh
pnpm() { bash scripts/with-pnpm.sh "$@"; }
echo "Testing on Node.js $(node --version) ($(command -v node))"
pnpm exec prettier --check . >/dev/null || { pnpm exec prettier --check . ; echo "Formatting differs: run 'pnpm format'." >&2; exit 1; }
bash scripts/audit.sh
pnpm turbo run lint build --output-logs=errors-only

if [ -x scripts/docker-engine.sh ]; then
  scripts/docker-engine.sh up
  # Quiet, so the last line printed stays the summary.
  trap 'scripts/docker-engine.sh down >>.local/docker-engine-down.log 2>&1' EXIT
  # shellcheck disable=SC1091
  . .local/docker-engine.env
  export DOCKER_HOST
fi

results="$PWD/.local/jest-results.json"
e2e_results="$PWD/.local/jest-e2e-results.json"
rm -f "$results" "$e2e_results"
status=0
bash scripts/debian-packages.sh # promtool and the other languages' OAuth libraries the tests drive
NODE_OPTIONS="--experimental-vm-modules --no-warnings" pnpm exec jest --ci --json --outputFile="$results" "$@" || status=$?

# The whole stack on a real swarm (images, stack.yml, the lifecycle), on the same engine. Skipped only
# when the caller narrowed the run to some tests (arguments given), never silently otherwise.
if [ $# -eq 0 ]; then
  E2E_JEST_JSON="$e2e_results" bash scripts/test-swarm.sh || status=$?
fi

node -e '
  const fs = require("fs");
  const runs = process.argv.slice(1).filter((file) => fs.existsSync(file)).map((file) => JSON.parse(fs.readFileSync(file, "utf8")));
  const sum = (key) => runs.reduce((total, run) => total + run[key], 0);
  if (sum("numTotalTests") === 0) { console.log("tests: 0 passed, 0 failed (no test ran: that is a failure)"); process.exit(1); }
  console.log(`tests: ${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed`);
  if (sum("numFailedTests") > 0) process.exit(1);
' "$results" "$e2e_results" || status=1
exit "$status"
