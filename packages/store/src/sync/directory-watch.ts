import { watch, type FSWatcher } from 'node:fs';

export interface DirectoryWatch {
  close(): void;
}

/**
 * fs.watch on a directory as a hint that something changed: `onChange(name)` for a named entry,
 * `onChange(undefined)` when the platform does not say which. Watching is only an accelerator (it does
 * not work on network volumes, and inotify watches can run out), so any failure, at start or later,
 * calls `onFailure` once and the watch stops; polling carries on regardless.
 */
export function watchDirectory(
  dir: string,
  onChange: (name: string | undefined) => void,
  onFailure: (err: unknown) => void,
): DirectoryWatch {
  let watcher: FSWatcher | undefined;
  const fail = (err: unknown): void => {
    if (!watcher) return;
    watcher.close();
    watcher = undefined;
    onFailure(err);
  };
  try {
    watcher = watch(dir, { persistent: false }, (_event, name) => onChange(name ?? undefined));
    watcher.on('error', fail);
  } catch (err) {
    onFailure(err);
  }
  return {
    close: () => {
      watcher?.close();
      watcher = undefined;
    },
  };
}
