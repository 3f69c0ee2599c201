#!/usr/bin/env bash
# The stack end to end on a real two-node Docker Swarm (`pnpm test:swarm`):
#
#   1. scripts/swarm-nodes.sh up: a manager and a worker, each engine in its own network namespace,
#      joined over veth (clears whatever an earlier or killed run left first);
#   2. the images, built on the manager (the offline base image, then every service and demo image,
#      tag $TAG, default e2e, and $TAG-next of the token service for the rolling update), then
#      `docker save | docker load` into the worker;
#   3. the e2e jest suite (e2e/test/swarm-lifecycle.test.ts): deploys stack.yml with stack.test.yml
#      and proves the steps it prints, with their figures;
#   4. always, even on failure or Ctrl-C: scripts/swarm-nodes.sh down, which stops both engines by pid
#      and deletes their namespaces, links, mounts and files; then it checks nothing is left.
#
# It fails loudly (non-zero) on any failure and never skips. It never uses the engine of DOCKER_HOST
# or scripts/docker-engine.sh: the root namespace's engine is left alone.
# Settings: TAG, IMAGE_PREFIX.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .local

export TAG="${TAG:-e2e}"
PREFIX="${IMAGE_PREFIX:-swarm-oauth}"
log() { printf '[test-swarm] %s\n' "$*" >&2; }
suite_started=$(date +%s)

teardown_log=.local/test-swarm-teardown.log
teardown() {
  local status=$?
  if ! bash scripts/swarm-nodes.sh down >>"$teardown_log" 2>&1; then
    log "scripts/swarm-nodes.sh down failed (see $teardown_log)"
    status=1
  fi
  local left=""
  left=$(
    ip netns list 2>/dev/null | awk '$1 ~ /^swoauth-e2e/ { print "netns " $1 }'
    ip link show swoauth-e2e-h >/dev/null 2>&1 && echo "link swoauth-e2e-h"
    [ ! -e .local/sw ] || echo "directory .local/sw"
  )
  if [ -n "$left" ]; then
    log "teardown left: $(echo "$left" | tr '\n' ' ')(see $teardown_log)"
    status=1
  fi
  log "the swarm suite took $(($(date +%s) - suite_started)) s in all (nodes, images, tests, teardown)"
  exit "$status"
}
: >"$teardown_log"
trap teardown EXIT
trap 'exit 130' INT TERM

# 1. The two nodes.
t=$(date +%s)
bash scripts/swarm-nodes.sh up
# shellcheck disable=SC1091
. .local/sw/nodes.env
log "two-node swarm up in $(($(date +%s) - t)) s"

# 2. Images on the manager, then the same images on the worker.
t=$(date +%s)
DOCKER_HOST="$E2E_MANAGER_HOST" bash scripts/build-images.sh --tag "$TAG"
# A second tag of the token service with a different image id (one more label), for the rolling update.
printf 'FROM %s\nLABEL org.opencontainers.image.version=%s\n' "$PREFIX/oauth-client-tokens:$TAG" "$TAG-next" |
  DOCKER_HOST="$E2E_MANAGER_HOST" docker build --quiet -t "$PREFIX/oauth-client-tokens:$TAG-next" - \
    >.local/test-swarm-next-image.log 2>&1 || {
  cat .local/test-swarm-next-image.log >&2
  exit 1
}
images=()
for name in oauth-clients oauth-client-tokens auto-registration demo-api demo-caller; do
  images+=("$PREFIX/$name:$TAG")
done
images+=("$PREFIX/oauth-client-tokens:$TAG-next")
DOCKER_HOST="$E2E_MANAGER_HOST" docker save "${images[@]}" | DOCKER_HOST="$E2E_WORKER_HOST" docker load -q >/dev/null
bash scripts/with-pnpm.sh exec turbo run build --filter=@swarm-oauth/e2e --output-logs=errors-only >/dev/null
log "images built on the manager and loaded into the worker, e2e suite built, in $(($(date +%s) - t)) s; running the suite"

# 3. The suite. The swarm is this run's own, so teardown above removes everything it made.
# E2E_JEST_JSON (absolute path): also write jest's results as JSON there (scripts/test.sh adds them up).
bash scripts/with-pnpm.sh --filter @swarm-oauth/e2e test ${E2E_JEST_JSON:+--json "--outputFile=$E2E_JEST_JSON"}
