/**
 * Work for one key (one swarm service) runs one at a time; different keys run side by side up to a
 * limit. Requests coalesce: while a run for a key is waiting, more requests for it join that run
 * instead of adding runs, and a request made while a run is in progress gets exactly one more run
 * after it (the state may have changed since that run read it). The listener's duplicate
 * notifications therefore cost at most one extra pass.
 */
interface Waiter<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

function waiter<T>(): Waiter<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface KeyState<T> {
  running: boolean;
  /** The run requested but not started yet; every request since the last start shares it. */
  next: Waiter<T> | undefined;
}

export class KeyedWorkQueue<T> {
  private readonly keys = new Map<string, KeyState<T>>();
  private readonly ready: string[] = [];
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly work: (key: string) => Promise<T>,
    private readonly concurrency = 4,
  ) {
    if (!(concurrency >= 1)) throw new TypeError('concurrency must be at least 1');
  }

  /** Resolves with the result of a run that starts after this call (rejects with its error). */
  schedule(key: string): Promise<T> {
    let state = this.keys.get(key);
    if (!state) {
      state = { running: false, next: undefined };
      this.keys.set(key, state);
    }
    if (state.next) return state.next.promise;
    const next = waiter<T>();
    state.next = next;
    if (!state.running) this.ready.push(key);
    this.pump();
    return next.promise;
  }

  /** Keys with a run in progress or waiting. */
  get size(): number {
    return this.keys.size;
  }

  /** Resolves once nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.keys.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      const state = this.keys.get(key)!;
      const current = state.next!;
      state.next = undefined;
      state.running = true;
      this.active += 1;
      void this.run(key, state, current);
    }
  }

  private async run(key: string, state: KeyState<T>, current: Waiter<T>): Promise<void> {
    try {
      current.resolve(await this.work(key));
    } catch (err) {
      current.reject(err);
    } finally {
      this.active -= 1;
      state.running = false;
      if (state.next) this.ready.push(key);
      else this.keys.delete(key);
      this.pump();
      if (this.keys.size === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }
}
