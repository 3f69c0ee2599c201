/**
 * Work for one key (one swarm service) runs one at a time; different keys run side by side up to a
 * limit. Requests coalesce: while a run for a key is waiting, more requests for it join that run
 * instead of adding runs, and a request made while a run is in progress gets exactly one more run
 * after it (the state may have changed since that run read it). The listener's duplicate
 * notifications therefore cost at most one extra pass.
 *
 * `offer` is for requests anyone can make (notifications): it refuses a new key once `capacity` runs
 * are waiting, so memory and backlog stay bounded whatever arrives. `schedule` always queues; it is
 * for requests whose number the swarm itself bounds (the full reconcile, engine events).
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
  // A caller may fire and forget (a notification): its failure is handled by the work itself
  // (logged, retried), so a run nobody awaits must not become an unhandled rejection. One handler
  // per run, not per caller, keeps duplicates free.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface KeyState<T> {
  running: boolean;
  /** The run requested but not started yet; every request since the last start shares it. */
  next: Waiter<T> | undefined;
}

export class KeyedWorkQueue<T> {
  private readonly keys = new Map<string, KeyState<T>>();
  /** Keys whose run may start now, in arrival order (a Set: O(1) at both ends, each key once). */
  private readonly ready = new Set<string>();
  private active = 0;
  private waitingRuns = 0;
  private peakWaiting = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly work: (key: string) => Promise<T>,
    private readonly concurrency = 4,
    private readonly capacity = Number.POSITIVE_INFINITY,
  ) {
    if (!(concurrency >= 1)) throw new TypeError('concurrency must be at least 1');
    if (!(capacity >= 1)) throw new TypeError('capacity must be at least 1');
  }

  /** Resolves with the result of a run that starts after this call (rejects with its error). */
  schedule(key: string): Promise<T> {
    return this.enqueue(key, false)!;
  }

  /**
   * As `schedule`, but undefined (nothing queued) when the key has no run waiting and `capacity`
   * runs already wait. A key that has one waiting joins it, full or not: that costs nothing.
   */
  offer(key: string): Promise<T> | undefined {
    return this.enqueue(key, true);
  }

  /** Keys with a run in progress or waiting. */
  get size(): number {
    return this.keys.size;
  }

  /** Runs requested and not started yet (one per key at most). */
  get waiting(): number {
    return this.waitingRuns;
  }

  /** The most runs ever waiting at once. */
  get peak(): number {
    return this.peakWaiting;
  }

  private enqueue(key: string, bounded: boolean): Promise<T> | undefined {
    let state = this.keys.get(key);
    if (state?.next) return state.next.promise;
    if (bounded && this.waitingRuns >= this.capacity) return undefined;
    if (!state) {
      state = { running: false, next: undefined };
      this.keys.set(key, state);
    }
    const next = waiter<T>();
    state.next = next;
    this.waitingRuns += 1;
    this.peakWaiting = Math.max(this.peakWaiting, this.waitingRuns);
    if (!state.running) this.ready.add(key);
    this.pump();
    return next.promise;
  }

  /** Resolves once nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.keys.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active < this.concurrency && this.ready.size > 0) {
      const key = this.ready.values().next().value!;
      this.ready.delete(key);
      const state = this.keys.get(key)!;
      const current = state.next!;
      state.next = undefined;
      this.waitingRuns -= 1;
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
      if (state.next) this.ready.add(key);
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
