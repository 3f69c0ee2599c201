import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  backupStore,
  checkStorePermissions,
  decodeArchive,
  encodeArchive,
  InvalidBackupError,
  restoreStore,
  rotateStoreKey,
  sealBytes,
  StorePermissionError,
  VOLUME_SEALED_FILES,
  WrongStoreKeyError,
  type ArchiveEntry,
  type ClientStore,
  type StoreBackup,
} from '../src/index.js';
import {
  newKey,
  RecordingLogger,
  startWorker,
  storeHarness,
  waitForExit,
  waitUntil,
} from './store-harness.js';

const harness = storeHarness();
const CLI = fileURLToPath(new URL('../src/cli/store-cli.js', import.meta.url));
const MOVE_FIXTURE = fileURLToPath(new URL('./fixtures/backup-during-move.js', import.meta.url));
const SIGNING_KEYS = VOLUME_SEALED_FILES[0]!;

async function addClients(store: ClientStore, prefix: string, count: number): Promise<Map<string, string>> {
  const secrets = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const { secret } = await store.add({ clientId: `${prefix}-${i}`, scopes: ['read'] });
    secrets.set(`${prefix}-${i}`, secret);
  }
  return secrets;
}

/** A sealed file where the signing keys live, sealed as packages/signing-keys seals its key files. */
async function writeSigningKeyFile(dir: string, key: Buffer, generation: number): Promise<string> {
  const name = `key-${String(generation).padStart(10, '0')}.sealed`;
  await mkdir(join(dir, SIGNING_KEYS.dir), { recursive: true, mode: 0o700 });
  const sealed = sealBytes(key, SIGNING_KEYS.associatedData(name), Buffer.from(`key material ${generation}`));
  await writeFile(join(dir, SIGNING_KEYS.dir, name), sealed, { mode: 0o600 });
  return `${SIGNING_KEYS.dir}/${name}`;
}

/** Every file under `dir` by relative path, with its bytes and permission bits. */
async function filesOf(dir: string): Promise<Map<string, { bytes: Buffer; mode: number }>> {
  const files = new Map<string, { bytes: Buffer; mode: number }>();
  const visit = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(dir, relative), { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await visit(path);
      else {
        const full = join(dir, path);
        files.set(path, { bytes: await readFile(full), mode: (await stat(full)).mode & 0o777 });
      }
    }
  };
  await visit('');
  return files;
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A store with clients and two signing key files; returns the directory, key and secrets. */
async function populatedStore(count = 5) {
  const dir = join(await harness.tempDir(), 'clients');
  const key = newKey();
  const store = await harness.open({ dir, key });
  const secrets = await addClients(store, 'client', count);
  await store.close();
  await writeSigningKeyFile(dir, key, 1);
  await writeSigningKeyFile(dir, key, 2);
  return { dir, key, secrets };
}

async function throughArchive(entries: readonly ArchiveEntry[]): Promise<ArchiveEntry[]> {
  return decodeArchive(encodeArchive(entries));
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected the promise to reject');
  return err;
}

/** The churn worker's stamp: a record whose metadata matches it is one whole version it wrote. */
function wholeVersion(clientId: string, metadata: Record<string, string>): boolean {
  const { seq, check } = metadata;
  return seq !== undefined && check === createHash('sha256').update(`${clientId}:${seq}`).digest('hex');
}

describe('backupStore and restoreStore', () => {
  it('bring back every client, .store-meta and the signing keys byte for byte, mode 0600 in 0700 directories', async () => {
    const { dir, key, secrets } = await populatedStore(5);
    const before = await filesOf(dir);

    const backup = await backupStore({ dir, key });
    const target = join(await harness.tempDir(), 'restored');
    const restored = await restoreStore({ dir: target, key, entries: await throughArchive(backup.entries) });

    expect({ clients: backup.clients, sealedFiles: backup.sealedFiles, damaged: backup.damaged }).toEqual({
      clients: 5,
      sealedFiles: 2,
      damaged: 0,
    });
    expect(restored).toEqual({ clients: 5, sealedFiles: 2, removed: 0, otherEntries: 0 });
    const after = await filesOf(target);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [path, file] of before) expect(after.get(path)?.bytes.equals(file.bytes)).toBe(true);
    expect(new Set([...after.values()].map((file) => file.mode))).toEqual(new Set([0o600]));
    expect(await modeOf(target)).toBe(0o700);
    expect(await modeOf(join(target, SIGNING_KEYS.dir))).toBe(0o700);
    await expect(checkStorePermissions({ dir: target, keyFiles: [] })).resolves.toBeUndefined();
    const store = await harness.open({ dir: target, key });
    expect(store.size).toBe(5);
    for (const [id, secret] of secrets) expect((await store.authenticate(id, secret))?.clientId).toBe(id);
  });

  it('take, while another process adds, updates, rotates and removes clients, backups that hold every client that existed throughout, every file whole', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    const stable = await addClients(writer, 'stable', 20);
    await writer.close();
    const churn = harness.track(startWorker(key, ['churn', dir, 'churn', '0']));
    let ops = 0;
    churn.stdout?.on('data', (chunk: Buffer) => (ops += chunk.toString().split('"op"').length - 1));
    await waitUntil(() => ops >= 20, 20_000);

    for (let round = 0; round < 4; round++) {
      const opsBefore = ops;
      const backup = await backupStore({ dir, key });
      const target = join(await harness.tempDir(), `restored-${round}`);
      await restoreStore({ dir: target, key, entries: await throughArchive(backup.entries) });
      // The writer is still writing: every backup was taken while it ran.
      await waitUntil(() => ops > opsBefore, 20_000);

      const logger = new RecordingLogger();
      const restored = await harness.open({ dir: target, key, logger });
      expect(logger.warnings).toEqual([]);
      expect(backup.damaged).toBe(0);
      expect(restored.size).toBe(backup.clients);
      for (const [id, secret] of stable) expect((await restored.authenticate(id, secret))?.clientId).toBe(id);
      const churned = restored.list().filter((view) => view.clientId.startsWith('churn-'));
      expect(churned.filter((view) => !wholeVersion(view.clientId, view.metadata))).toEqual([]);
      await restored.close();
    }
    churn.kill('SIGKILL');
  }, 60_000);

  it('keep every client in backup after backup taken while a store key rotation moves every file', async () => {
    const dir = await harness.tempDir();
    const [oldKey, nextKey] = [newKey(), newKey()];
    const writer = await harness.open({ dir, key: oldKey });
    const secrets = await addClients(writer, 'client', 40);
    await writer.close();

    let rotating = true;
    const rotation = rotateStoreKey({ dir, oldKey, newKey: nextKey }).finally(() => (rotating = false));
    const backups: StoreBackup[] = [];
    while (rotating) {
      backups.push(await backupStore({ dir, key: nextKey, previousKeys: [oldKey] }));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await rotation).toMatchObject({ moved: 40 });

    expect(backups.map((backup) => backup.clients)).toEqual(backups.map(() => 40));
    // The one that listed the directory most often: it caught files moving, if any backup did.
    const chosen = backups.reduce((a, b) => (b.listings > a.listings ? b : a));
    const target = join(await harness.tempDir(), 'restored');
    await restoreStore({ dir: target, key: nextKey, previousKeys: [oldKey], entries: chosen.entries });
    const store = await harness.open({ dir: target, key: nextKey, previousKeys: [oldKey] });
    expect(store.size).toBe(40);
    for (const [id, secret] of secrets) expect((await store.authenticate(id, secret))?.clientId).toBe(id);
  }, 60_000);

  it('keeps every client when a store key rotation moves every file between its listing and its reads', async () => {
    const dir = await harness.tempDir();
    const [oldKey, nextKey] = [newKey(), newKey()];
    const writer = await harness.open({ dir, key: oldKey });
    const secrets = await addClients(writer, 'client', 40);
    await writer.close();
    const archive = join(await harness.tempDir(), 'backup.tar');

    const child = harness.track(
      spawn(process.execPath, [MOVE_FIXTURE, dir, archive], {
        env: {
          PATH: process.env.PATH ?? '',
          OLD_KEY: oldKey.toString('base64'),
          NEW_KEY: nextKey.toString('base64'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const result = await waitForExit(child);

    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const summary = JSON.parse(result.stdout) as { clients: number; listings: number; rotation: unknown };
    // The first file it read was gone (moved): it listed again and found every client under its new name.
    expect(summary).toMatchObject({ clients: 40, listings: 2, rotation: { moved: 40 } });
    const target = join(await harness.tempDir(), 'restored');
    const entries = decodeArchive(await readFile(archive));
    await restoreStore({ dir: target, key: nextKey, previousKeys: [oldKey], entries });
    const store = await harness.open({ dir: target, key: nextKey, previousKeys: [oldKey] });
    expect(store.size).toBe(40);
    for (const [id, secret] of secrets) expect((await store.authenticate(id, secret))?.clientId).toBe(id);
  });

  it('refuses a key that is not the store key', async () => {
    const { dir } = await populatedStore(2);

    await expect(backupStore({ dir, key: newKey() })).rejects.toBeInstanceOf(WrongStoreKeyError);
  });

  it('refuses a client file under a key it was not given, naming the file (a store key rotation under way)', async () => {
    const { dir, key } = await populatedStore(2);
    const elsewhere = await harness.tempDir();
    const otherStore = await harness.open({ dir: elsewhere, key: newKey() });
    await addClients(otherStore, 'foreign', 1);
    await otherStore.close();
    const foreign = (await readdir(elsewhere)).find((name) => name.endsWith('.client')) as string;
    await writeFile(join(dir, foreign), await readFile(join(elsewhere, foreign)), { mode: 0o600 });

    const err = await rejectionOf(backupStore({ dir, key }));

    expect((err as { code?: string }).code).toBe('store_key_invalid');
    expect(err.message).toContain(`${join(dir, foreign)} is sealed under a store key that was not given`);
  });

  it('leaves a damaged client file out, counts it and says so once', async () => {
    const { dir, key } = await populatedStore(3);
    const victim = (await readdir(dir)).find((name) => name.endsWith('.client')) as string;
    const bytes = await readFile(join(dir, victim));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0x01;
    await writeFile(join(dir, victim), bytes);
    const logger = new RecordingLogger();

    const backup = await backupStore({ dir, key, logger });

    expect({ clients: backup.clients, damaged: backup.damaged }).toEqual({ clients: 2, damaged: 1 });
    expect(backup.entries.map((entry) => entry.path)).not.toContain(victim);
    expect(logger.warnings).toEqual([
      {
        obj: { code: 'corrupt_record', damaged: 1, files: [victim] },
        msg: 'backup: files that do not open (damaged) are left out; the services skip them as well',
      },
    ]);
  });
});

describe('restoreStore refuses', () => {
  it('a directory that is not empty, and leaves it as it was', async () => {
    const { dir, key } = await populatedStore(2);
    const backup = await backupStore({ dir, key });
    const target = await harness.tempDir();
    await writeFile(join(target, 'notes.txt'), 'mine');

    const err = await rejectionOf(restoreStore({ dir: target, key, entries: backup.entries }));

    expect((err as { code?: string }).code).toBe('restore_target_not_empty');
    expect(err.message).toContain('--replace');
    expect(await readdir(target)).toEqual(['notes.txt']);
  });

  it('nothing with replace: the store files of the directory become the backup, other entries stay', async () => {
    const { dir, key, secrets } = await populatedStore(3);
    const backup = await backupStore({ dir, key });
    const target = join(await harness.tempDir(), 'clients');
    const other = await harness.open({ dir: target, key });
    const otherSecrets = await addClients(other, 'other', 2);
    await other.close();
    await writeSigningKeyFile(target, key, 1);
    await writeSigningKeyFile(target, key, 7);
    await writeFile(join(target, 'notes.txt'), 'mine', { mode: 0o600 });

    const result = await restoreStore({ dir: target, key, entries: backup.entries, replace: true });

    // Removed: the two other clients and key 7; key 1 and .store-meta were replaced by the backup's.
    expect(result).toEqual({ clients: 3, sealedFiles: 2, removed: 3, otherEntries: 1 });
    const after = await filesOf(target);
    const source = await filesOf(dir);
    expect([...after.keys()].sort()).toEqual([...source.keys(), 'notes.txt'].sort());
    for (const [path, file] of source) expect(after.get(path)?.bytes.equals(file.bytes)).toBe(true);
    const store = await harness.open({ dir: target, key });
    for (const [id, secret] of secrets) expect((await store.authenticate(id, secret))?.clientId).toBe(id);
    for (const [id, secret] of otherSecrets) expect(await store.authenticate(id, secret)).toBeUndefined();
  });

  it('an archive in which one byte of a file was changed, and writes nothing', async () => {
    const { dir, key } = await populatedStore(2);
    const backup = await backupStore({ dir, key });
    const entries = backup.entries.map((entry) => ({ ...entry, bytes: Buffer.from(entry.bytes) }));
    const victim = entries.find((entry) => entry.path.endsWith('.client')) as ArchiveEntry;
    victim.bytes[20] = (victim.bytes[20] as number) ^ 0x01;
    const target = join(await harness.tempDir(), 'restored');

    const err = await rejectionOf(restoreStore({ dir: target, key, entries: await throughArchive(entries) }));

    expect(err).toBeInstanceOf(InvalidBackupError);
    expect(err.message).toContain(`${victim.path} in the backup is damaged`);
    expect(await exists(target)).toBe(false);
  });

  it('an archive under another store key, and writes nothing', async () => {
    const { dir, key } = await populatedStore(2);
    const backup = await backupStore({ dir, key });
    const target = join(await harness.tempDir(), 'restored');

    const err = await rejectionOf(restoreStore({ dir: target, key: newKey(), entries: backup.entries }));

    expect(err).toBeInstanceOf(WrongStoreKeyError);
    expect(await exists(target)).toBe(false);
  });

  it('an archive that holds anything but store files, and writes nothing', async () => {
    const { dir, key } = await populatedStore(1);
    const backup = await backupStore({ dir, key });
    const root = await harness.tempDir();
    const target = join(root, 'restored');
    const intruder: ArchiveEntry = {
      path: '../escaped',
      type: 'file',
      bytes: Buffer.from('x'),
      mode: 0o600,
      mtimeMs: 0,
    };

    const err = await rejectionOf(
      restoreStore({ dir: target, key, entries: await throughArchive([...backup.entries, intruder]) }),
    );

    expect(err).toBeInstanceOf(InvalidBackupError);
    expect(err.message).toContain('"../escaped", which is no file of a client store');
    expect(await readdir(root)).toEqual([]);
  });

  it('an archive without .store-meta', async () => {
    const { dir, key } = await populatedStore(1);
    const backup = await backupStore({ dir, key });
    const target = join(await harness.tempDir(), 'restored');

    const err = await rejectionOf(
      restoreStore({ dir: target, key, entries: backup.entries.filter((e) => e.path !== '.store-meta') }),
    );

    expect(err).toBeInstanceOf(InvalidBackupError);
    expect(err.message).toContain('holds no .store-meta');
  });

  it('a directory others can reach', async () => {
    const { dir, key } = await populatedStore(1);
    const backup = await backupStore({ dir, key });
    const target = await harness.tempDir();
    await chmod(target, 0o755);

    await expect(restoreStore({ dir: target, key, entries: backup.entries })).rejects.toBeInstanceOf(
      StorePermissionError,
    );
    expect(await readdir(target)).toEqual([]);
  });
});

describe('the backup archive', () => {
  it('is a tar archive that tar lists, one entry per store file', async () => {
    const { dir, key } = await populatedStore(2);
    const backup = await backupStore({ dir, key });
    const archive = join(await harness.tempDir(), 'backup.tar');
    await writeFile(archive, encodeArchive(backup.entries));

    const listing = await run('tar', ['-tf', archive]);

    expect(listing.code).toBe(0);
    expect(listing.stdout.trim().split('\n').sort()).toEqual(
      backup.entries.map((e) => (e.type === 'directory' ? `${e.path}/` : e.path)).sort(),
    );
  });

  it('is refused when truncated or when a header was changed', async () => {
    const { dir, key } = await populatedStore(2);
    const archive = encodeArchive((await backupStore({ dir, key })).entries);
    const changed = Buffer.from(archive);
    changed[3] = (changed[3] as number) ^ 0x01; // inside the first entry's name

    expect(() => decodeArchive(archive.subarray(0, archive.length - 1024))).toThrow(/truncated/);
    expect(() => decodeArchive(archive.subarray(0, 700))).toThrow(/truncated/);
    expect(() => decodeArchive(changed)).toThrow(/checksum mismatch/);
  });
});

interface Ran {
  code: number | null;
  /** Standard output as bytes (an archive) and as text. */
  output: Buffer;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; input?: Buffer } = {},
): Promise<Ran> {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    // A command that refuses before reading its input closes the pipe first: EPIPE here is not a
    // failure (its exit code and output are the outcome), and unhandled it would fail another test.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin.end(options.input);
    child.on('error', reject);
    child.on('close', (code) => {
      const output = Buffer.concat(chunks);
      resolve({ code, output, stdout: output.toString('utf8'), stderr });
    });
  });
}

async function keyFile(key: Buffer): Promise<string> {
  const file = join(await harness.tempDir(), 'store.key');
  await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600 });
  return file;
}

describe('swarm-oauth-store (the command)', () => {
  it('backs up to a file and restores it, one JSON line each', async () => {
    const { dir, key, secrets } = await populatedStore(3);
    const keyPath = await keyFile(key);
    const archive = join(await harness.tempDir(), 'backup.tar');
    const target = join(await harness.tempDir(), 'restored');

    const backup = await run(process.execPath, [
      CLI,
      'backup',
      '--dir',
      dir,
      '--key-file',
      keyPath,
      '--out',
      archive,
    ]);
    const restore = await run(process.execPath, [
      CLI,
      'restore',
      '--dir',
      target,
      '--key-file',
      keyPath,
      '--in',
      archive,
    ]);

    expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(backup.stdout)).toMatchObject({
      msg: 'store backed up',
      dir,
      out: archive,
      clients: 3,
      signingKeys: 2,
      damaged: 0,
    });
    expect(await modeOf(archive)).toBe(0o600);
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(restore.stdout)).toMatchObject({
      msg: 'store restored',
      dir: target,
      clients: 3,
      signingKeys: 2,
      removed: 0,
    });
    const store = await harness.open({ dir: target, key });
    for (const [id, secret] of secrets) expect((await store.authenticate(id, secret))?.clientId).toBe(id);
  });

  it('streams the archive through standard output and input, with the services settings as defaults', async () => {
    const { dir, key, secrets } = await populatedStore(2);
    const keyPath = await keyFile(key);
    const target = join(await harness.tempDir(), 'restored');

    const backup = await run(process.execPath, [CLI, 'backup', '--out', '-'], {
      env: { OAUTH_STORE_DIR: dir, OAUTH_STORE_KEY_FILE: keyPath },
    });
    const archive = backup.output;
    const restore = await run(process.execPath, [CLI, 'restore', '--in', '-'], {
      env: { OAUTH_STORE_DIR: target, OAUTH_STORE_KEY_FILE: keyPath },
      input: archive,
    });

    expect(backup.code).toBe(0);
    expect(JSON.parse(backup.stderr)).toMatchObject({ msg: 'store backed up', out: '-', clients: 2 });
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: '' });
    const store = await harness.open({ dir: target, key });
    for (const [id, secret] of secrets) expect((await store.authenticate(id, secret))?.clientId).toBe(id);
  });

  it('never overwrites an archive (exit 2) and refuses a non-empty target (exit 1 with its code)', async () => {
    const { dir, key } = await populatedStore(1);
    const keyPath = await keyFile(key);
    const older = join(await harness.tempDir(), 'older.tar');
    await writeFile(older, 'an older backup');
    const archive = join(await harness.tempDir(), 'backup.tar');

    const again = await run(process.execPath, [
      CLI,
      'backup',
      '--dir',
      dir,
      '--key-file',
      keyPath,
      '--out',
      older,
    ]);
    const made = await run(process.execPath, [
      CLI,
      'backup',
      '--dir',
      dir,
      '--key-file',
      keyPath,
      '--out',
      archive,
    ]);
    const intoStore = await run(process.execPath, [
      CLI,
      'restore',
      '--dir',
      dir,
      '--key-file',
      keyPath,
      '--in',
      archive,
    ]);

    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${older} exists already`);
    expect(await readFile(older, 'utf8')).toBe('an older backup');
    expect(made.code).toBe(0);
    expect(intoStore.code).toBe(1);
    expect(JSON.parse(intoStore.stderr)).toMatchObject({ level: 'fatal', code: 'restore_target_not_empty' });
  });

  it('answers a usage error with exit 2 and the usage', async () => {
    const result = await run(process.execPath, [CLI, 'backup']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('backup needs --out');
    expect(result.stderr).toContain('usage:');
  });

  it('gives the restored files the owner of the target directory', async () => {
    const { dir, key } = await populatedStore(1);
    const backup = await backupStore({ dir, key });
    const target = await harness.tempDir();
    // As root (a one-off container), the directory belongs to another user, as a volume does to the
    // services' user; otherwise it is the test's own.
    const owner = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : await stat(target);
    if (process.getuid?.() === 0) await chown(target, owner.uid, owner.gid);

    await restoreStore({ dir: target, key, entries: backup.entries });

    for (const path of ['.store-meta', SIGNING_KEYS.dir, `${SIGNING_KEYS.dir}/key-0000000001.sealed`]) {
      const info = await stat(join(target, path));
      expect({ path, uid: info.uid, gid: info.gid }).toEqual({ path, uid: owner.uid, gid: owner.gid });
    }
  });
});
