#!/usr/bin/env bash
# The whole test suite, as CI runs it: format and lint checks, build, a real Docker Engine for the
# engine-backed tests (brought up here when none is reachable, torn down after), then ONE jest run over
# every package, so the output ends with one summary and one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .local
pnpm exec prettier --check . >/dev/null || { pnpm exec prettier --check . ; echo "Formatting differs: run 'pnpm format'." >&2; exit 1; }
pnpm turbo run lint build --output-logs=errors-only

if [ -x scripts/docker-engine.sh ]; then
  scripts/docker-engine.sh up
  trap 'scripts/docker-engine.sh down' EXIT
  # shellcheck disable=SC1091
  . .local/docker-engine.env
  export DOCKER_HOST
fi

results=.local/jest-results.json
rm -f "$results"
status=0
NODE_OPTIONS="--experimental-vm-modules --no-warnings" pnpm exec jest --ci --json --outputFile="$results" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (r.numTotalTests === 0) { console.log("tests: 0 passed, 0 failed (no test ran: that is a failure)"); process.exit(1); }
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$results" || status=1
exit "$status"
