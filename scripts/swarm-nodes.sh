#!/usr/bin/env bash
# A real two-node Docker Swarm on this one machine, for the swarm end-to-end suite (scripts/test-swarm.sh):
#
#   scripts/swarm-nodes.sh up       clear what an earlier run left, then start both nodes and form the swarm
#   scripts/swarm-nodes.sh down     stop both engines by pid, unmount and delete everything they left
#   scripts/swarm-nodes.sh status   print the nodes; exit 0 when both engines answer
#
# Layout (every name carries the prefix swoauth-e2e, and only such names are ever cleaned up):
#
#   root namespace          netns swoauth-e2e-lan           netns swoauth-e2e-mgr / -wkr
#   swoauth-e2e-h  <-veth->  host0 ┐
#   10.231.7.1/24                  ├ bridge swoauth-e2e0
#                   swoe2e-m0 ─────┤  <-veth->  eth0 10.231.7.2/24   dockerd (swarm manager)
#                   swoe2e-w0 ─────┘  <-veth->  eth0 10.231.7.3/24   dockerd (swarm worker)
#
# The bridge lives in its own namespace, not the root one: the root namespace filters bridged frames
# through its iptables (bridge-nf-call-iptables), whose FORWARD chain belongs to another engine and is
# never touched here. The root end of the third veth lets the test runner reach each node's address
# (published ports); the nodes have no default route, so no traffic leaves these namespaces.
#
# Each engine runs in its node's namespace (`nsenter --net`, which keeps /sys and the cgroup mounts),
# WITH iptables and the default bridge (overlay networks need both), vfs storage, and its own data
# root, exec root, socket and pid file under .local/sw/<node>/. `up` writes .local/sw/nodes.env
# (sourceable): E2E_MANAGER_HOST, E2E_WORKER_HOST (unix:// sockets), E2E_MANAGER_ADDR, E2E_WORKER_ADDR.
#
# Must run as root (network namespaces). Settings: SWARM_NODES_TIMEOUT (seconds to wait for an engine
# or for the swarm, default 120).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.local/sw"
ENVFILE="$STATE/nodes.env"
PREFIX=swoauth-e2e
LAN_NS="$PREFIX-lan"
BRIDGE="${PREFIX}0"
HOST_IF="$PREFIX-h"
SUBNET_PREFIX=10.231.7
HOST_ADDR="$SUBNET_PREFIX.1"
NODES=(mgr wkr)
declare -A NODE_ADDR=([mgr]="$SUBNET_PREFIX.2" [wkr]="$SUBNET_PREFIX.3")
declare -A LAN_IF=([mgr]=swoe2e-m0 [wkr]=swoe2e-w0)
TIMEOUT="${SWARM_NODES_TIMEOUT:-120}"

log() { printf 'swarm-nodes: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

node_ns() { echo "$PREFIX-$1"; }
node_dir() { echo "$STATE/$1"; }
node_host() { echo "unix://$(node_dir "$1")/docker.sock"; }
in_ns() {
  local ns=$1
  shift
  nsenter --net="/var/run/netns/$ns" "$@"
}

# Unix socket paths must fit in sun_path (108 bytes); containerd's socket is the longest under an exec root.
LONGEST="$STATE/mgr/exec/containerd/containerd.sock"
if [ "${#LONGEST}" -gt 100 ]; then
  die "the state directory $STATE is too long for the engines' unix sockets; move the checkout to a shorter path."
fi

# The pid of the dockerd this script started for node $1, if it still runs (not a recycled number).
engine_pid() {
  local pidfile pid
  pidfile="$(node_dir "$1")/dockerd.pid"
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$(node_dir "$1")/docker.sock" || return 1
  echo "$pid"
}

answers() { DOCKER_HOST="$(node_host "$1")" timeout 10 docker info --format '{{.ID}}' >/dev/null 2>&1; }

# Stops process $1 with SIGTERM, then SIGKILL after $2 seconds.
stop_pid() {
  local pid=$1 grace=$2 waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge "$((grace * 5))" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

# Every process whose command line names a path under $STATE: the engines' containerd, its shims and
# docker-proxy, started by an earlier run of this script (also one that was killed).
state_pids() {
  local pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$pid" = "$$" ] && continue
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$STATE/" && echo "$pid"
  done
  return 0
}

cmd_down() {
  local node pid
  for node in "${NODES[@]}"; do
    if pid=$(engine_pid "$node"); then
      # Leaving the swarm removes its tasks; stopping dockerd then stops its containers and containerd.
      DOCKER_HOST="$(node_host "$node")" timeout 30 docker swarm leave --force >/dev/null 2>&1 || true
      stop_pid "$pid" 40
      log "stopped the $node engine (pid $pid)"
    fi
  done
  # What a killed run can leave: containers of our engines (runc state under our exec roots), then the
  # containerd, shims and proxies that name our paths, then any process left in our namespaces.
  for node in "${NODES[@]}"; do
    local runc_root
    runc_root="$(node_dir "$node")/exec/runtime-runc/moby"
    if [ -d "$runc_root" ] && command -v runc >/dev/null 2>&1; then
      for id in $(runc --root "$runc_root" list -q 2>/dev/null); do
        runc --root "$runc_root" delete --force "$id" >/dev/null 2>&1 || true
      done
    fi
  done
  for pid in $(state_pids); do stop_pid "$pid" 10; done
  for ns in "$(node_ns mgr)" "$(node_ns wkr)" "$LAN_NS"; do
    if [ -e "/var/run/netns/$ns" ]; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid" 10; done
    fi
  done
  # Mounts the engines left under their roots (network namespaces under exec/netns, vfs layers, the
  # secrets tmpfs of each container), deepest first; then the namespaces and the host end of the veth.
  if [ -d "$STATE" ]; then
    awk -v prefix="$STATE/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r mount; do umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true; done
  fi
  for ns in "$(node_ns mgr)" "$(node_ns wkr)" "$LAN_NS"; do
    if [ -e "/var/run/netns/$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
  done
  if ip link show "$HOST_IF" >/dev/null 2>&1; then ip link del "$HOST_IF" 2>/dev/null || true; fi
  if [ -d "$STATE" ]; then
    rm -rf "$STATE" 2>/dev/null || {
      sleep 1
      rm -rf "$STATE" || die "cannot delete $STATE (something is still mounted there?)"
    }
  fi
}

network_up() {
  local node ns
  ip netns add "$LAN_NS"
  in_ns "$LAN_NS" ip link set lo up
  in_ns "$LAN_NS" ip link add "$BRIDGE" type bridge
  in_ns "$LAN_NS" ip link set "$BRIDGE" up
  ip link add "$HOST_IF" type veth peer name host0 netns "$LAN_NS"
  in_ns "$LAN_NS" ip link set host0 master "$BRIDGE" up
  ip addr add "$HOST_ADDR/24" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  for node in "${NODES[@]}"; do
    ns=$(node_ns "$node")
    ip netns add "$ns"
    in_ns "$ns" ip link set lo up
    ip link add "${LAN_IF[$node]}" netns "$LAN_NS" type veth peer name eth0 netns "$ns"
    in_ns "$LAN_NS" ip link set "${LAN_IF[$node]}" master "$BRIDGE" up
    in_ns "$ns" ip addr add "${NODE_ADDR[$node]}/24" dev eth0
    in_ns "$ns" ip link set eth0 up
  done
}

engine_up() {
  local node=$1 dir ns launched waited=0
  dir=$(node_dir "$node")
  ns=$(node_ns "$node")
  mkdir -p "$dir/data" "$dir/exec"
  echo '{}' >"$dir/daemon.json"
  # setsid: the engine is not killed with the caller's process group; the script stops it by pid.
  in_ns "$ns" setsid dockerd --config-file "$dir/daemon.json" \
    --storage-driver=vfs --ip6tables=false \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "$(node_host "$node")" >>"$dir/dockerd.log" 2>&1 </dev/null 9>&- &
  launched=$!
  until answers "$node"; do
    if ! kill -0 "$launched" 2>/dev/null && ! engine_pid "$node" >/dev/null; then
      tail -n 20 "$dir/dockerd.log" >&2 || true
      die "the $node engine exited during start-up (see $dir/dockerd.log)."
    fi
    [ "$waited" -lt "$((TIMEOUT * 2))" ] || die "the $node engine did not answer within ${TIMEOUT}s (see $dir/dockerd.log)."
    sleep 0.5
    waited=$((waited + 1))
  done
}

swarm_up() {
  local mgr wkr token waited=0
  mgr=$(node_host mgr)
  wkr=$(node_host wkr)
  DOCKER_HOST="$mgr" docker swarm init --advertise-addr "${NODE_ADDR[mgr]}" \
    --listen-addr "${NODE_ADDR[mgr]}:2377" >/dev/null || die "docker swarm init failed."
  token=$(DOCKER_HOST="$mgr" docker swarm join-token -q worker)
  DOCKER_HOST="$wkr" docker swarm join --token "$token" --advertise-addr "${NODE_ADDR[wkr]}" \
    --listen-addr "${NODE_ADDR[wkr]}:2377" "${NODE_ADDR[mgr]}:2377" >/dev/null || die "docker swarm join failed."
  until [ "$(DOCKER_HOST="$mgr" docker node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$')" = 2 ]; do
    [ "$waited" -lt "$((TIMEOUT * 2))" ] || die "the two nodes were not Ready within ${TIMEOUT}s."
    sleep 0.5
    waited=$((waited + 1))
  done
}

write_env() {
  local tmp="$ENVFILE.$$"
  {
    echo '# Written by scripts/swarm-nodes.sh up; source it to reach the two nodes.'
    echo "E2E_MANAGER_HOST=$(node_host mgr)"
    echo "E2E_WORKER_HOST=$(node_host wkr)"
    echo "E2E_MANAGER_ADDR=${NODE_ADDR[mgr]}"
    echo "E2E_WORKER_ADDR=${NODE_ADDR[wkr]}"
    echo 'export E2E_MANAGER_HOST E2E_WORKER_HOST E2E_MANAGER_ADDR E2E_WORKER_ADDR'
  } >"$tmp"
  mv -f "$tmp" "$ENVFILE"
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "network namespaces need root."
  command -v dockerd >/dev/null 2>&1 || die "dockerd is not installed (scripts/docker-engine.sh installs docker.io)."
  cmd_down
  mkdir -p "$STATE"
  network_up
  local node
  for node in "${NODES[@]}"; do engine_up "$node" & done
  local job failed=0
  for job in $(jobs -p); do wait "$job" || failed=1; done
  [ "$failed" = 0 ] || die "an engine did not start."
  swarm_up
  write_env
  log "two-node swarm up: manager ${NODE_ADDR[mgr]} (pid $(engine_pid mgr)), worker ${NODE_ADDR[wkr]} (pid $(engine_pid wkr))"
}

cmd_status() {
  local node ok=0 pid
  for node in "${NODES[@]}"; do
    if pid=$(engine_pid "$node") && answers "$node"; then
      echo "$node: dockerd pid $pid, ${NODE_ADDR[$node]}, $(node_host "$node"), swarm: $(DOCKER_HOST="$(node_host "$node")" docker info --format '{{.Swarm.LocalNodeState}}')"
    else
      echo "$node: not running"
      ok=1
    fi
  done
  return "$ok"
}

mkdir -p "$ROOT/.local"
# One up/down at a time in this checkout.
exec 9>"$ROOT/.local/swarm-nodes.lock"
flock 9

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up | down | status" >&2
    exit 2
    ;;
esac
