#!/usr/bin/env node
// `pnpm oauthctl ...` (or `npm run oauthctl -- ...`) at the workspace root: the built oauthctl of
// packages/cli, with the arguments as given. Settings as the CLI reads them (--url / OAUTH_ADMIN_URL,
// --token-file / OAUTH_ADMIN_TOKEN_FILE); `npm start` prints the two for the local run.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'cli', 'dist', 'src', 'main.js');
if (!existsSync(main)) {
  console.error(
    'oauthctl: packages/cli is not built; run `pnpm build` (or `npm start`, which builds it) first.',
  );
  process.exit(2);
}
await import(pathToFileURL(main).href);
