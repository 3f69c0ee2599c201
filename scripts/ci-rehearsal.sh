#!/usr/bin/env bash
# CI as it runs after a stop, repeated: each run is a fresh clone of this repository's HEAD with
# ../shared beside it (read-only), `CI=true bash .ci/run < /dev/null`, one run after another.
#
#   scripts/ci-rehearsal.sh [--hog] [COUNT]     default COUNT 1; --hog keeps one core busy
#                                                (node -e 'for(;;){}', started and stopped by pid)
#
# Prints one line per run (time, commit, exit code, seconds, the suite's closing line) and appends it
# to .local/ci-rehearsals.txt; each run's full output stays in .local/ci-rehearsal-N.log. Runs wait
# for /tmp/swarm-engine.lock, so they never share the machine with another engine user.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hog_mode=0
if [ "${1:-}" = "--hog" ]; then
  hog_mode=1
  shift
fi
count="${1:-1}"
[ -d "$ROOT/../shared" ] || { echo "ci-rehearsal: $ROOT/../shared is missing (CI has it beside the clone)" >&2; exit 2; }
mkdir -p "$ROOT/.local"
for i in $(seq 1 "$count"); do
  work=$(mktemp -d /tmp/ci-rehearsal.XXXXXX)
  # mktemp makes the directory 0700; a checkout's parent is normally searchable by everyone, and the
  # tests that run a reader as nobody need that (they say so when it is missing).
  chmod 0755 "$work"
  git clone -q "$ROOT" "$work/main"
  cp -r "$ROOT/../shared" "$work/shared"
  chmod -R a-w "$work/shared"
  rev=$(git -C "$work/main" rev-parse --short HEAD)
  log="$ROOT/.local/ci-rehearsal-$i.log"
  exec 9>/tmp/swarm-engine.lock
  flock 9
  hog=""
  if [ "$hog_mode" = 1 ]; then
    node -e 'for(;;){}' &
    hog=$!
  fi
  started=$(date +%s)
  rc=0
  (cd "$work/main" && CI=true bash .ci/run </dev/null >"$log" 2>&1) || rc=$?
  seconds=$(($(date +%s) - started))
  if [ -n "$hog" ]; then kill "$hog"; wait "$hog" 2>/dev/null || true; fi
  (cd "$work/main" && bash scripts/docker-engine.sh down --purge >/dev/null 2>&1) || true
  flock -u 9
  rm -rf "$work"
  line="$(date -u +%FT%H:%MZ) rev=$rev hog=$hog_mode rc=$rc seconds=$seconds $(grep -E '^tests: ' "$log" | tail -1)"
  echo "$line" | tee -a "$ROOT/.local/ci-rehearsals.txt"
done
