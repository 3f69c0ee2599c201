#!/usr/bin/env bash
# Runs the pnpm version pinned in package.json ("packageManager") on the project's Node.js
# (scripts/node-runtime.sh), fetching pnpm through npm when the machine has no matching pnpm, so a
# fresh machine needs nothing but some Node.js and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node-runtime.sh
. scripts/node-runtime.sh
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$want" ]; then
  exec pnpm "$@"
fi
exec npx --yes "pnpm@$want" "$@"
