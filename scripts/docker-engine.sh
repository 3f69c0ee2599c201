#!/usr/bin/env bash
# A real Docker Engine in swarm mode for the engine-backed tests and the swarm end-to-end run.
#
#   scripts/docker-engine.sh up       reuse a reachable swarm-mode engine, or start a private one
#   scripts/docker-engine.sh down     stop the private engine this script started (and only that one)
#   scripts/docker-engine.sh status   print what is running; exit 0 when the engine answers
#
# `up` writes .local/docker-engine.env (sourceable: DOCKER_HOST=unix://...). It is idempotent and fast
# when the engine is already up. The private engine keeps everything under .local/docker/ (data root,
# exec root, socket, pid file, log), touches no system-wide path, and runs with the flags these
# machines need: no iptables, no default bridge, vfs storage (see ../shared/DESIGN.md). Swarm tasks
# that must reach each other or the host use the `host` network.
#
# Settings (environment): DOCKER_ENGINE_TIMEOUT (seconds to wait for dockerd, default 60).
# `down --purge` also deletes the private data root (images included), so the next `up` starts empty.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.local/docker"
SOCKET="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
LOGFILE="$STATE/dockerd.log"
ENVFILE="$ROOT/.local/docker-engine.env"
OWN_HOST="unix://$SOCKET"
TIMEOUT="${DOCKER_ENGINE_TIMEOUT:-60}"

log() { printf 'docker-engine: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# A unix socket path must fit in sun_path (108 bytes with the terminating NUL).
if [ "${#SOCKET}" -gt 100 ]; then
  die "the socket path $SOCKET is too long for a unix socket; move the checkout to a shorter path."
fi

# The swarm state of the engine at $1 ("active", "inactive", ...), or nothing when it does not answer.
swarm_state() {
  DOCKER_HOST="$1" timeout 10 docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true
}

own_pid() {
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # The pid must still be a dockerd using our socket, not a recycled number.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$SOCKET" || return 1
  echo "$pid"
}

write_env() {
  mkdir -p "$(dirname "$ENVFILE")"
  local tmp="$ENVFILE.$$"
  printf '# Written by scripts/docker-engine.sh up; source it to talk to the engine.\nDOCKER_HOST=%s\nexport DOCKER_HOST\n' "$1" >"$tmp"
  mv -f "$tmp" "$ENVFILE"
}

ensure_installed() {
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || die "dockerd is not installed and apt-get is not available to install docker.io."
  log "installing docker.io from the Debian archive"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed."
  apt-get install -y -qq docker.io >&2 || die "apt-get install docker.io failed."
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is not on PATH."
}

ensure_swarm() {
  local host="$1" state
  state=$(swarm_state "$host")
  case "$state" in
    active) return 0 ;;
    inactive) ;;
    *)
      log "swarm state is '$state'; leaving it before init"
      DOCKER_HOST="$host" docker swarm leave --force >/dev/null 2>&1 || true
      ;;
  esac
  DOCKER_HOST="$host" docker swarm init --advertise-addr 127.0.0.1 >/dev/null ||
    die "docker swarm init failed (see $LOGFILE)."
}

start_own() {
  ensure_installed
  mkdir -p "$STATE/data" "$STATE/exec"
  rm -f "$PIDFILE" "$SOCKET"
  log "starting dockerd on $SOCKET (log: $LOGFILE)"
  # setsid: the engine outlives this script and is not killed with the caller's process group; 9>&-:
  # it must not inherit (and so hold forever) the lock of this script.
  setsid dockerd \
    --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
    --data-root "$STATE/data" --exec-root "$STATE/exec" --pidfile "$PIDFILE" \
    -H "$OWN_HOST" >>"$LOGFILE" 2>&1 </dev/null 9>&- &
  local launched=$! waited=0
  until [ -n "$(swarm_state "$OWN_HOST")" ]; do
    if ! kill -0 "$launched" 2>/dev/null; then
      tail -n 20 "$LOGFILE" >&2 || true
      die "dockerd exited during start-up (see $LOGFILE)."
    fi
    if [ "$waited" -ge "$((TIMEOUT * 5))" ]; then
      kill -TERM "$launched" 2>/dev/null || true
      die "dockerd did not answer within ${TIMEOUT}s (see $LOGFILE)."
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

cmd_up() {
  # 1. An engine the caller already points at (or the system socket) that runs a swarm: use it as is.
  local candidate="${DOCKER_HOST:-}"
  if [ -z "$candidate" ] && [ -S /var/run/docker.sock ]; then candidate=unix:///var/run/docker.sock; fi
  if [ -n "$candidate" ] && [ "$candidate" != "$OWN_HOST" ] && [ "$(swarm_state "$candidate")" = active ]; then
    write_env "$candidate"
    log "reusing the swarm-mode engine at $candidate"
    return 0
  fi
  # 2. Our private engine, already running, or started now.
  if ! own_pid >/dev/null || [ -z "$(swarm_state "$OWN_HOST")" ]; then
    if pid=$(own_pid); then
      die "dockerd (pid $pid) runs but does not answer on $SOCKET; run '$0 down' first."
    fi
    start_own
  fi
  ensure_swarm "$OWN_HOST"
  write_env "$OWN_HOST"
  log "engine up: DOCKER_HOST=$OWN_HOST (pid $(cat "$PIDFILE"))"
}

cmd_down() {
  local pid
  if ! pid=$(own_pid); then
    log "no engine started by this script is running"
    rm -f "$PIDFILE"
  else
    # Leave the swarm first: that removes its services, secrets and tasks, so no task survives into
    # the next `up`.
    DOCKER_HOST="$OWN_HOST" timeout 30 docker swarm leave --force >/dev/null 2>&1 || true
    kill -TERM "$pid"
    local waited=0
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$waited" -ge 150 ]; then
        log "dockerd (pid $pid) did not stop within 30s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
      waited=$((waited + 1))
    done
    log "stopped dockerd (pid $pid)"
    rm -f "$PIDFILE" "$SOCKET"
  fi
  # dockerd can leave its network namespace bind-mounted under its exec root (netns/default); such a
  # mount makes the folder impossible to delete. Unmount whatever is still mounted under our state.
  awk -v prefix="$STATE/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount; do umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true; done
  if grep -qs "^DOCKER_HOST=$OWN_HOST\$" "$ENVFILE"; then rm -f "$ENVFILE"; fi
  if [ "${1:-}" = "--purge" ]; then
    # vfs and containerd leave read-only and immutable-free trees; plain rm is enough once stopped.
    rm -rf "$STATE"
    log "removed $STATE"
  fi
}

cmd_status() {
  local pid
  if pid=$(own_pid); then echo "private dockerd pid $pid, socket $SOCKET, swarm: $(swarm_state "$OWN_HOST")"; fi
  if [ -s "$ENVFILE" ]; then
    # shellcheck disable=SC1090
    host=$(. "$ENVFILE" && echo "$DOCKER_HOST")
    state=$(swarm_state "$host")
    echo "env file: DOCKER_HOST=$host, swarm: ${state:-not answering}"
    [ -n "$state" ]
  else
    echo "no $ENVFILE; run '$0 up'"
    return 1
  fi
}

mkdir -p "$ROOT/.local"
# One up/down at a time: several test runs may share the engine.
exec 9>"$ROOT/.local/docker-engine.lock"
flock 9

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down "${2:-}" ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up | down [--purge] | status" >&2
    exit 2
    ;;
esac
