#!/usr/bin/env bash
# Builds the offline Node.js base image the service images start FROM, without pulling anything:
# a root file system holding this machine's own `node`, the shared libraries `ldd` lists for it (plus
# the glibc name-service modules it loads at run time, so service names resolve), and a static busybox
# (Debian's busybox-static, installed if missing) for a shell and the usual tools; then `docker import`.
#
#   scripts/build-base-image.sh [tag]        default tag: swarm-oauth/node-base:local
#   scripts/build-base-image.sh --force [tag] rebuild even if an identical image exists
#
# Talks to $DOCKER_HOST, or to the engine in .local/docker-engine.env (scripts/docker-engine.sh up).
# Idempotent and fast when nothing changed: the image carries a fingerprint of its inputs as the label
# swarm-oauth.base-fingerprint and is rebuilt only when node, its libraries or busybox differ.
# Prints the tag on stdout. Build service images with `FROM ${BASE_IMAGE}` (ARG BASE_IMAGE=<tag>).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
force=0
if [ "${1:-}" = "--force" ]; then
  force=1
  shift
fi
TAG="${1:-swarm-oauth/node-base:local}"

log() { printf 'build-base-image: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

if [ -z "${DOCKER_HOST:-}" ] && [ -s "$ROOT/.local/docker-engine.env" ]; then
  # shellcheck disable=SC1091
  . "$ROOT/.local/docker-engine.env"
fi
export DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"
timeout 10 docker version >/dev/null 2>&1 || die "no Docker Engine answers at $DOCKER_HOST; run scripts/docker-engine.sh up."

# One build at a time (parallel test workers may all ask for the image); the others then find it built.
mkdir -p "$ROOT/.local"
exec 8>"$ROOT/.local/build-base-image.lock"
flock 8

# The project's Node.js (.node-version), installed under .local/node/ if this machine has another.
# shellcheck source=scripts/node-runtime.sh
. "$ROOT/scripts/node-runtime.sh"
NODE=$(command -v node) || die "node is not installed on this machine."
NODE=$(readlink -f "$NODE")

BUSYBOX=""
for candidate in /bin/busybox /usr/bin/busybox; do
  if [ -x "$candidate" ] && file -L "$candidate" 2>/dev/null | grep -q 'statically linked'; then
    BUSYBOX=$candidate
    break
  fi
done
if [ -z "$BUSYBOX" ]; then
  log "installing busybox-static from the Debian archive"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq busybox-static; } >&2 || die "cannot install busybox-static."
  BUSYBOX=$(command -v busybox) || die "busybox-static installed but busybox is not on PATH."
fi

# Every library node links (absolute paths from ldd), the dynamic loader, and glibc's NSS modules and
# resolver, which getaddrinfo loads with dlopen (ldd cannot see them) to read /etc/hosts and DNS.
libs() {
  ldd "$NODE" | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]+ \(/ { print $1 }'
  local libdir
  libdir=$(dirname "$(ldd "$NODE" | awk '/libc\.so/ { print $3 }')")
  ls "$libdir"/libnss_files.so.* "$libdir"/libnss_dns.so.* "$libdir"/libresolv.so.* 2>/dev/null || true
}
mapfile -t LIBS < <(libs | sort -u)
[ "${#LIBS[@]}" -gt 0 ] || die "ldd listed no libraries for $NODE."

fingerprint=$(
  {
    echo "v2"
    sha256sum "$NODE" "$BUSYBOX"
    for lib in "${LIBS[@]}"; do sha256sum "$(readlink -f "$lib")"; done
  } | sha256sum | cut -c1-32
)
existing=$(docker image inspect --format '{{ index .Config.Labels "swarm-oauth.base-fingerprint" }}' "$TAG" 2>/dev/null || true)
if [ "$force" = 0 ] && [ "$existing" = "$fingerprint" ]; then
  log "$TAG is up to date (fingerprint $fingerprint)"
  echo "$TAG"
  exit 0
fi

previous=$(docker image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,usr/bin,etc,tmp,root,app,run/secrets,proc,sys,dev}
chmod 1777 "$rootfs/tmp"

cp "$NODE" "$rootfs/usr/bin/node"
# Keep each library at the path the loader looks in, and at its resolved file, so symlinked names work.
for lib in "${LIBS[@]}"; do
  real=$(readlink -f "$lib")
  mkdir -p "$rootfs$(dirname "$lib")" "$rootfs$(dirname "$real")"
  [ -e "$rootfs$real" ] || cp "$real" "$rootfs$real"
  [ "$lib" = "$real" ] || ln -sf "$real" "$rootfs$lib"
done
# Debian is merged-/usr: /lib64 and /lib may be symlinks on the host; the copies above already hold
# files at both spellings because ldd reports the loader as /lib64/... and libraries as /lib/...

cp "$BUSYBOX" "$rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] && continue
  [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
done

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000:node:/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"

log "importing $TAG from $(du -sh "$rootfs" | cut -f1) ($NODE $("$NODE" --version), ${#LIBS[@]} libraries, busybox)"
tar -C "$rootfs" --numeric-owner -c . |
  docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'ENV NODE_ENV=production' \
    --change 'WORKDIR /app' \
    --change "LABEL swarm-oauth.base-fingerprint=$fingerprint" \
    --change "LABEL org.nodejs.version=$("$NODE" --version | sed 's/^v//')" \
    --change 'LABEL org.opencontainers.image.description="Offline Node.js base image built from the host node"' \
    --change 'CMD ["node"]' \
    - "$TAG" >/dev/null || die "docker import failed."

# The image must really run node (a missing library shows here, not in a service later).
out=$(docker run --rm --network none "$TAG" node -e 'process.stdout.write(String(1 + 1))' 2>&1) ||
  die "a container from $TAG cannot run node: $out"
[ "$out" = 2 ] || die "a container from $TAG printed '$out' instead of 2."
# The image this one replaced, unless images built FROM it still need it (then rm refuses).
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$TAG")" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
log "built $TAG (fingerprint $fingerprint)"
echo "$TAG"
