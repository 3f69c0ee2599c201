#!/usr/bin/env node
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { writeFileDurably } from '../volume/atomic-file.js';
import { decodeArchive, encodeArchive, MAX_ARCHIVE_BYTES } from '../backup/store-archive.js';
import { backupStore } from '../backup/store-backup.js';
import { errnoCode, toStoreIoError } from '../volume/io-error.js';
import { InvalidBackupError, StoreError } from '../store-errors.js';
import { loadStoreKeyFiles } from '../sealing/store-key.js';
import { checkStorePermissions } from '../volume/store-permissions.js';
import { restoreStore } from '../backup/store-restore.js';
import { ConfigReader } from '@swarm-oauth/settings';
import { DEFAULT_STORE_DIR, DEFAULT_STORE_KEY_FILE } from '../store-settings.js';

// swarm-oauth-store backup|restore: a consistent copy of the clients volume while the services run,
// and bringing it back (docs/operations.md). The store directory and key files default to the
// services' own settings, so `docker exec <oauth-clients task> swarm-oauth-store backup --out -`
// needs nothing else. One JSON line says what was done; exit 0 on success, 1 on failure, 2 on a usage
// error. Key material is never printed.

const USAGE = `usage:
  swarm-oauth-store backup  --out <archive file | -> [store options]
  swarm-oauth-store restore --in <archive file | -> [--replace] [store options]

  backup   copies the store (client files, .store-meta, signing keys) into a tar archive while the
           services run; '-' writes it to standard output. An existing file is never overwritten.
  restore  checks every file of the archive with the store key, then writes it into the store
           directory, which must be new or empty (stop the services first). --replace: the directory
           may hold a store already; its store files are replaced by the backup's.

store options (the services' settings are the defaults):
  --dir <dir>                 the store directory (OAUTH_STORE_DIR, else /clients)
  --key-file <file>           the store key (OAUTH_STORE_KEY_FILE, else /run/secrets/oauth_store_key)
  --previous-key-file <file>  a key being rotated away, repeatable (OAUTH_STORE_PREVIOUS_KEY_FILES)`;

class UsageError extends Error {}

interface StoreOptions {
  readonly dir: string;
  readonly keyFile: string;
  readonly previousKeyFiles: readonly string[];
}

/** The command line, with the services' environment variables as defaults; read once, here. */
function parseCommand(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      dir: { type: 'string' },
      'key-file': { type: 'string' },
      'previous-key-file': { type: 'string', multiple: true },
      out: { type: 'string' },
      in: { type: 'string' },
      replace: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  const command = positionals[0];
  if (values.help) return { command: 'help' as const };
  if (positionals.length !== 1 || (command !== 'backup' && command !== 'restore')) {
    throw new UsageError(
      positionals.length === 0
        ? 'name a command'
        : `unknown command ${JSON.stringify(positionals.join(' '))}`,
    );
  }
  const read = new ConfigReader(process.env);
  const store: StoreOptions = {
    dir: values.dir ?? read.string('OAUTH_STORE_DIR', DEFAULT_STORE_DIR),
    keyFile: values['key-file'] ?? read.string('OAUTH_STORE_KEY_FILE', DEFAULT_STORE_KEY_FILE),
    previousKeyFiles: values['previous-key-file'] ?? read.list('OAUTH_STORE_PREVIOUS_KEY_FILES'),
  };
  if (command === 'backup') {
    if (values.in !== undefined || values.replace)
      throw new UsageError('backup takes --out, not --in or --replace');
    if (!values.out) throw new UsageError('backup needs --out <archive file | ->');
    return { command: 'backup' as const, store, out: values.out };
  }
  if (values.out !== undefined) throw new UsageError('restore takes --in, not --out');
  if (!values.in) throw new UsageError('restore needs --in <archive file | ->');
  return { command: 'restore' as const, store, from: values.in, replace: values.replace === true };
}

async function loadKeys(store: StoreOptions) {
  await checkStorePermissions({ dir: store.dir, keyFiles: [store.keyFile, ...store.previousKeyFiles] });
  return loadStoreKeyFiles(store.keyFile, store.previousKeyFiles);
}

const warn = (obj: object, msg: string): void => {
  console.error(JSON.stringify({ level: 'warn', ...obj, msg }));
};

async function backup(store: StoreOptions, out: string): Promise<void> {
  if (out === '-' && process.stdout.isTTY) {
    throw new UsageError('the archive is binary: redirect standard output to a file (--out - > backup.tar)');
  }
  // An earlier backup of the same name is never replaced.
  if (out !== '-' && (await exists(out)))
    throw new UsageError(`${out} exists already; name a new archive file`);
  const started = Date.now();
  const keys = await loadKeys(store);
  const result = await backupStore({
    dir: store.dir,
    key: keys.storeKey,
    previousKeys: keys.previousStoreKeys,
    logger: { warn },
  });
  const archive = encodeArchive(result.entries);
  if (out === '-') {
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(archive, (err) => (err ? reject(err) : resolve())),
    );
  } else {
    // Through a temp file and a rename (not a link: backups go to file systems without hard links
    // too), so a failed run leaves no half file.
    await writeFileDurably(out, archive);
  }
  const summary = {
    msg: 'store backed up',
    dir: store.dir,
    out,
    clients: result.clients,
    signingKeys: result.sealedFiles,
    damaged: result.damaged,
    listings: result.listings,
    bytes: archive.length,
    ms: Date.now() - started,
  };
  // With the archive on standard output, the summary goes to standard error.
  (out === '-' ? console.error : console.log)(JSON.stringify(summary));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw toStoreIoError(err, 'inspect', path);
  }
}

async function readArchive(from: string): Promise<Buffer> {
  try {
    return await readWholeArchive(from);
  } catch (err) {
    throw err instanceof StoreError ? err : toStoreIoError(err, 'read the backup', from);
  }
}

async function readWholeArchive(from: string): Promise<Buffer> {
  if (from !== '-') {
    const size = (await stat(from)).size;
    if (size > MAX_ARCHIVE_BYTES)
      throw new InvalidBackupError(`${from} is ${size} bytes, larger than any store backup`);
    return readFile(from);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of process.stdin) {
    length += (chunk as Buffer).length;
    if (length > MAX_ARCHIVE_BYTES)
      throw new InvalidBackupError('standard input is larger than any store backup');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function restore(store: StoreOptions, from: string, replace: boolean): Promise<void> {
  const started = Date.now();
  const keys = await loadKeys(store);
  const entries = decodeArchive(await readArchive(from));
  const result = await restoreStore({
    dir: store.dir,
    key: keys.storeKey,
    previousKeys: keys.previousStoreKeys,
    entries,
    replace,
  });
  console.log(
    JSON.stringify({
      msg: 'store restored',
      dir: store.dir,
      from,
      clients: result.clients,
      signingKeys: result.sealedFiles,
      removed: result.removed,
      otherEntries: result.otherEntries,
      ms: Date.now() - started,
    }),
  );
}

async function main(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    console.error(`swarm-oauth-store: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (command.command === 'help') {
    console.log(USAGE);
    return 0;
  }
  try {
    if (command.command === 'backup') await backup(command.store, command.out);
    else await restore(command.store, command.from, command.replace);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`swarm-oauth-store: ${err.message}`);
      return 2;
    }
    const code = err instanceof StoreError ? err.code : ((err as { code?: string }).code ?? 'error');
    console.error(
      JSON.stringify({
        level: 'fatal',
        msg: `store ${command.command} failed`,
        code,
        error: (err as Error).message,
      }),
    );
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
