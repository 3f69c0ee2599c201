#!/usr/bin/env bash
# Builds the project's images with one command (`pnpm images`), all with the same tag:
#
#   IMAGE                          PACKAGE                           TARGET
#   swarm-oauth/oauth-clients       @swarm-oauth/oauth-clients         service
#   swarm-oauth/oauth-client-tokens @swarm-oauth/oauth-client-tokens   service
#   swarm-oauth/auto-registration   @swarm-oauth/auto-registration     service
#   swarm-oauth/demo-api            @swarm-oauth/demo-api              service (demo)
#   swarm-oauth/demo-caller         @swarm-oauth/demo-caller           worker  (demo, no HTTP server)
#
#   scripts/build-images.sh [--tag TAG] [--in-docker] [IMAGE...]
#
# Two ways (see Dockerfile):
#   default      build and prune on this machine (turbo build, `pnpm deploy --prod --legacy` into
#                .local/images/<image>), then `docker build --target prebuilt` with that tree as the
#                context: no registry needed. The base image is $BASE_IMAGE, or, when unset, the
#                offline one scripts/build-base-image.sh makes from this machine's node.
#   --in-docker  the whole multi-stage build inside Docker (prune, install, build, deploy); needs a
#                registry for the base image ($BASE_IMAGE, default the official node:26 image) and npm.
#
# Settings: TAG (default local), IMAGE_PREFIX (default swarm-oauth), BASE_IMAGE, DOCKER_HOST (else
# .local/docker-engine.env). Prints one line per image with its build time and size.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

TAG="${TAG:-local}"
PREFIX="${IMAGE_PREFIX:-swarm-oauth}"
mode=host
selected=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tag)
      [ $# -ge 2 ] || { echo "build-images: --tag needs a value" >&2; exit 2; }
      TAG=$2
      shift 2
      ;;
    --in-docker)
      mode=docker
      shift
      ;;
    -h | --help)
      sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
      exit 0
      ;;
    -*)
      echo "build-images: unknown option '$1'" >&2
      exit 2
      ;;
    *)
      selected+=("$1")
      shift
      ;;
  esac
done

log() { printf 'build-images: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# image name -> workspace package and Dockerfile target (the offline target is prebuilt[-worker]).
declare -A PACKAGE=(
  [oauth-clients]=@swarm-oauth/oauth-clients
  [oauth-client-tokens]=@swarm-oauth/oauth-client-tokens
  [auto-registration]=@swarm-oauth/auto-registration
  [demo-api]=@swarm-oauth/demo-api
  [demo-caller]=@swarm-oauth/demo-caller
)
declare -A TARGET=(
  [oauth-clients]=service
  [oauth-client-tokens]=service
  [auto-registration]=service
  [demo-api]=service
  [demo-caller]=worker
)
ALL=(oauth-clients oauth-client-tokens auto-registration demo-api demo-caller)
[ "${#selected[@]}" -gt 0 ] || selected=("${ALL[@]}")
for name in "${selected[@]}"; do
  [ -n "${PACKAGE[$name]:-}" ] || die "unknown image '$name' (one of: ${ALL[*]})."
done

if [ -z "${DOCKER_HOST:-}" ] && [ -s .local/docker-engine.env ]; then
  # shellcheck disable=SC1091
  . .local/docker-engine.env
fi
timeout 10 docker version >/dev/null 2>&1 ||
  die "no Docker Engine answers${DOCKER_HOST:+ at $DOCKER_HOST}; start one (scripts/docker-engine.sh up)."

# OCI labels on every image (what an image scanner or `docker inspect` shows): where it came from, the
# commit, when, the tag; and the Node.js inside (offline: this project's Node, the base image's).
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source_url=$(git config --get remote.origin.url 2>/dev/null | sed -E 's#//[^/@]*@#//#' || true)
labels=(
  --label "org.opencontainers.image.source=${source_url:-file://$ROOT}"
  --label "org.opencontainers.image.revision=$revision"
  --label "org.opencontainers.image.version=$TAG"
  --label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
)

report() {
  local image=$1 started=$2 size
  size=$(docker image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1000000 }')
  log "built $image in $(($(date +%s) - started))s ($size)"
}

if [ "$mode" = docker ]; then
  default_base=$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)
  base_args=(--label "org.opencontainers.image.base.name=${BASE_IMAGE:-$default_base}")
  if [ -n "${BASE_IMAGE:-}" ]; then base_args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE"); fi
  for name in "${selected[@]}"; do
    started=$(date +%s)
    docker build --quiet --target "${TARGET[$name]}" "${base_args[@]}" "${labels[@]}" \
      --label "org.opencontainers.image.title=$name" \
      --build-arg "PACKAGE=${PACKAGE[$name]}" -t "$PREFIX/$name:$TAG" . >/dev/null
    report "$PREFIX/$name:$TAG" "$started"
  done
  exit 0
fi

# Host-prepared: compile once for all selected packages (turbo caches), then one pruned,
# production-only tree per image.
base="${BASE_IMAGE:-}"
if [ -z "$base" ]; then base=$(bash scripts/build-base-image.sh); fi
labels+=(--label "org.opencontainers.image.base.name=$base")
node_version=$(docker image inspect --format '{{ index .Config.Labels "org.nodejs.version" }}' "$base" 2>/dev/null || true)
if [ -n "$node_version" ]; then labels+=(--label "org.nodejs.version=$node_version"); fi

filters=()
for name in "${selected[@]}"; do filters+=("--filter=${PACKAGE[$name]}..."); done
started=$(date +%s)
bash scripts/with-pnpm.sh exec turbo run build "${filters[@]}" --output-logs=errors-only >&2 ||
  die "the workspace build failed."
log "workspace built in $(($(date +%s) - started))s"

# The commands of a deployed tree, as the image's PATH finds them (Dockerfile: /app/bin, then
# /app/node_modules/.bin). pnpm writes each link in node_modules/.bin as a small sh script naming the
# tree's path on this machine (its NODE_PATH); in the image the tree is /app. Every link must reach a
# file that is there, or `docker exec <task> <command>` would fail only when an operator needs it.
link_commands() {
  local tree=$1 abs link target
  abs=$(cd "$tree" && pwd)
  [ -d "$tree/node_modules/.bin" ] || return 0
  for link in "$tree"/node_modules/.bin/*; do
    [ -f "$link" ] || continue
    sed -i "s#$abs#/app#g" "$link"
    target=$(sed -n 's#^ *exec node  *"$basedir/\([^"]*\)".*#\1#p' "$link" | head -n 1)
    if [ -z "$target" ] || [ ! -f "$tree/node_modules/.bin/$target" ]; then
      log "error: $link does not lead to a file (${target:-no target found})"
      return 1
    fi
  done
  for link in "$tree"/bin/*; do
    [ -f "$link" ] || continue
    [ -x "$link" ] || {
      log "error: $link is not executable"
      return 1
    }
  done
}

mkdir -p .local/images
for name in "${selected[@]}"; do
  started=$(date +%s)
  tree=".local/images/$name"
  rm -rf "$tree"
  # --legacy: copies workspace dependencies as packed packages (their `files`, i.e. dist/src),
  # without needing inject-workspace-packages; --prod: no devDependencies.
  bash scripts/with-pnpm.sh --filter "${PACKAGE[$name]}" deploy --prod --legacy --prefer-offline "$tree" \
    >"$tree.log" 2>&1 || {
    cat "$tree.log" >&2
    die "pnpm deploy of ${PACKAGE[$name]} failed."
  }
  rm -f "$tree.log"
  link_commands "$tree" || die "the command links of $tree are broken."
  target=prebuilt
  if [ "${TARGET[$name]}" = worker ]; then target=prebuilt-worker; fi
  docker build --quiet -f Dockerfile --target "$target" --build-arg "BASE_IMAGE=$base" "${labels[@]}" \
    --label "org.opencontainers.image.title=$name" -t "$PREFIX/$name:$TAG" "$tree" >/dev/null 2>"$tree.log" || {
    cat "$tree.log" >&2
    die "docker build of $PREFIX/$name:$TAG failed."
  }
  rm -f "$tree.log"
  report "$PREFIX/$name:$TAG" "$started"
done
