#!/usr/bin/env bash
# The stack end to end on a real Docker Swarm (`pnpm test:swarm`):
#
#   1. a swarm-mode engine: the one DOCKER_HOST (or .local/docker-engine.env) names, else a private
#      one started by scripts/docker-engine.sh up (and stopped again at the end);
#   2. the images: the offline base image once, then every service and demo image
#      (scripts/build-images.sh, tag $TAG, default e2e);
#   3. the e2e jest suite (e2e/test/swarm-lifecycle.test.ts): deploys stack.yml with stack.test.yml
#      and proves the six steps of issue 7, printing each with its timings;
#   4. always, even on failure or Ctrl-C: removes what the run made (the test's services, the stack
#      `oauthe2e`, its volume, the test's secrets) and stops the engine if this script started it.
#
# It fails loudly (non-zero) on any failure and never skips. The last lines are jest's summary.
# Settings: TAG, IMAGE_PREFIX, E2E_CLIENTS_PORT, E2E_AUTOREG_PORT, E2E_TOKENS_PORT_PREFIX,
# E2E_DEMO_API_PORT (see e2e/src/e2e-settings.ts for the defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .local

export TAG="${TAG:-e2e}"
STACK=oauthe2e
INSTANCE=e2e
log() { printf '[test-swarm] %s\n' "$*" >&2; }

# 1. The engine. Remember whether one was already up: only an engine this run started is stopped.
engine_was_up=0
if [ -n "${DOCKER_HOST:-}" ] && [ "$(timeout 10 docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = active ]; then
  engine_was_up=1
elif bash scripts/docker-engine.sh status >/dev/null 2>&1; then
  engine_was_up=1
fi
bash scripts/docker-engine.sh up
# shellcheck disable=SC1091
. .local/docker-engine.env
export DOCKER_HOST

# The suite labels this node for stack.yml's placement unless it is labelled already; remember which,
# so the safety net removes the label only if this run added it.
node_id=$(docker info --format '{{.Swarm.NodeID}}')
label_before=$(docker node inspect "$node_id" --format '{{index .Spec.Labels "oauth.clients-volume"}}')

teardown_log=.local/test-swarm-teardown.log
# Shell-level safety net after the suite's own teardown (which normally leaves nothing): only names
# and labels this run uses, so nothing else on a shared engine is touched. Quiet unless it fails.
teardown() {
  local status=$?
  {
    set +e
    services=$(docker service ls -q --filter label=swarm-oauth.e2e=true)
    [ -z "$services" ] || docker service rm $services
    if [ -n "$(docker service ls -q --filter label=com.docker.stack.namespace=$STACK)" ]; then
      docker stack rm "$STACK"
    fi
    for _ in $(seq 1 120); do
      [ -z "$(docker ps -aq --filter label=com.docker.stack.namespace=$STACK)" ] &&
        [ -z "$(docker ps -aq --filter label=swarm-oauth.e2e=true)" ] && break
      sleep 0.5
    done
    if docker volume inspect "${STACK}_clients" >/dev/null 2>&1; then
      for _ in $(seq 1 20); do docker volume rm "${STACK}_clients" && break || sleep 1; done
    fi
    secrets=$(
      docker secret ls -q --filter label=swarm-oauth.managed=$INSTANCE
      docker secret ls --format '{{.ID}} {{.Name}}' | awk -v p="${STACK}_" 'index($2, p) == 1 { print $1 }'
    )
    [ -z "$secrets" ] || docker secret rm $secrets
    if [ -z "$label_before" ] &&
      [ -n "$(docker node inspect "$node_id" --format '{{index .Spec.Labels "oauth.clients-volume"}}')" ]; then
      docker node update --label-rm oauth.clients-volume "$node_id"
    fi
    if [ "$engine_was_up" = 0 ]; then bash scripts/docker-engine.sh down; fi
  } >>"$teardown_log" 2>&1
  local left=""
  if [ "$engine_was_up" = 1 ]; then
    left=$(
      {
        docker service ls -q --filter label=com.docker.stack.namespace=$STACK
        docker service ls -q --filter label=swarm-oauth.e2e=true
        docker secret ls -q --filter label=swarm-oauth.managed=$INSTANCE
      } 2>>"$teardown_log"
    )
  fi
  if [ -n "$left" ]; then
    log "teardown could not remove everything (see $teardown_log)"
    status=1
  fi
  exit "$status"
}
: >"$teardown_log"
trap teardown EXIT
trap 'exit 130' INT TERM

# 2. Images: the offline base image (built once, reused while node and its libraries are unchanged)
# and the project's images, all from the host-prepared trees.
t=$(date +%s)
bash scripts/build-images.sh --tag "$TAG"
bash scripts/with-pnpm.sh exec turbo run build --filter=@swarm-oauth/e2e --output-logs=errors-only >/dev/null
log "images and e2e suite built in $(($(date +%s) - t))s; running the suite"

# 3. The suite. Its own afterAll tears the stack down; the trap above is the safety net.
# No output after it: jest's summary stays the last thing printed.
# E2E_JEST_JSON (absolute path): also write jest's results as JSON there (scripts/test.sh adds them up).
bash scripts/with-pnpm.sh --filter @swarm-oauth/e2e test ${E2E_JEST_JSON:+--json "--outputFile=$E2E_JEST_JSON"}
