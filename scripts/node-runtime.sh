#!/usr/bin/env bash
# Puts the Node.js this project runs on (the version in .node-version) first on PATH, installing it
# under .local/node/ the first time from the npm registry's node-linux-<arch> package, whose tarball
# npm checks against the registry's integrity hash and this script against the one pinned below. A
# fresh machine needs only some node and npm to bootstrap: every later command runs on this Node.
#
#   . scripts/node-runtime.sh            (sourced: exports PATH; used by scripts/with-pnpm.sh)
#   bash scripts/node-runtime.sh CMD...  (runs CMD on the project's Node)
#
# A machine whose own node is already that exact version uses it as it is.
set -euo pipefail

_node_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_node_want=$(tr -d '[:space:]' <"$_node_root/.node-version")

# sha512 integrity of node-linux-<arch>@<version>, as `npm view node-linux-<arch>@<version> dist.integrity`
# prints it. Update together with .node-version.
_node_integrity() {
  case "$1" in
    x64@26.12.1) echo 'sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==' ;;
    arm64@26.12.1) echo 'sha512-8Oxs6Y7rDcKufVIM/zYRSwytj46WOrZk7yFCLTKDcs17bBjAeD9HMAqo97hMfMyxozIud0S4vZCs5WB/3iavNQ==' ;;
    *) return 1 ;;
  esac
}

_node_install() {
  local arch dir tmp tarball expected actual
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *)
      echo "node-runtime: no Node.js package for $(uname -m); install Node.js $_node_want yourself." >&2
      return 1
      ;;
  esac
  dir="$_node_root/.local/node/$_node_want-linux-$arch"
  if [ ! -x "$dir/bin/node" ]; then
    mkdir -p "$_node_root/.local/node"
    # One install at a time (parallel commands may all ask); the others then find it installed.
    exec 7>"$_node_root/.local/node/install.lock"
    flock 7
    if [ ! -x "$dir/bin/node" ]; then
      expected=$(_node_integrity "$arch@$_node_want") || {
        echo "node-runtime: no pinned integrity for node-linux-$arch@$_node_want in scripts/node-runtime.sh." >&2
        return 1
      }
      echo "Installing Node.js $_node_want (this project's runtime) into .local/node/ from the npm registry" >&2
      tmp=$(mktemp -d "$_node_root/.local/node/.install.XXXXXX")
      tarball=$(cd "$tmp" && npm pack --silent "node-linux-$arch@$_node_want") || {
        rm -rf "$tmp"
        echo "node-runtime: npm could not fetch node-linux-$arch@$_node_want; is the npm registry reachable?" >&2
        return 1
      }
      actual=$(node -e 'const data = require("fs").readFileSync(process.argv[1]);
        process.stdout.write("sha512-" + require("crypto").createHash("sha512").update(data).digest("base64"))' "$tmp/$tarball")
      if [ "$actual" != "$expected" ]; then
        rm -rf "$tmp"
        echo "node-runtime: node-linux-$arch@$_node_want does not match its pinned integrity; not installed." >&2
        return 1
      fi
      tar -xzf "$tmp/$tarball" -C "$tmp"
      "$tmp/package/bin/node" --version >/dev/null
      mv "$tmp/package" "$dir"
      rm -rf "$tmp"
    fi
    exec 7>&-
  fi
  PATH="$dir/bin:$PATH"
}

if [ "$(node --version 2>/dev/null || true)" != "v$_node_want" ]; then
  _node_install
  export PATH
fi

# Run as a command: the rest of the arguments on this Node.
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then exec "$@"; fi
