#!/usr/bin/env bash
# Runs the pnpm version pinned in package.json ("packageManager"), fetching it through npm when the
# machine has no matching pnpm, so a fresh machine needs nothing but Node.js and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$want" ]; then
  exec pnpm "$@"
fi
exec npx --yes "pnpm@$want" "$@"
