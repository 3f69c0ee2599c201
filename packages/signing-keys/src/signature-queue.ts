import { sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';

// Signatures for libuv's thread pool, handed over together once per turn of the event loop.
//
// node:crypto's callback form queues one job on the pool per call. Called from a request handler, that
// is one job at a time: when the event loop is the busier thread (ES256, EdDSA), the signing thread
// finishes each job before the next arrives, goes to sleep, and must be woken for every token, a futex
// wake and a context switch each, with their cost on both threads. Queued here instead, the
// signatures asked for while the event loop handles one batch of ready sockets are submitted together
// in the check phase right after it (setImmediate), so the thread wakes once per batch and works
// through it. ES256 throughput rose with it and RS256, whose jobs queue up anyway, did not change
// (pnpm bench; the figures are in docs/benchmarks.md, "Second pass").

type Submit = () => void;

/** node:crypto's callback form of sign: one job on libuv's thread pool per call. */
export type PoolSign = (
  digest: string | null,
  data: Buffer,
  key: KeyObject | SignKeyObjectInput,
  callback: (err: Error | null, signature: Buffer) => void,
) => void;

export class SignatureQueue {
  #pending: Submit[] = [];
  readonly #sign: PoolSign;

  /** `poolSign` is node's crypto.sign; a test passes a recording wrapper around it. */
  constructor(poolSign: PoolSign = sign) {
    this.#sign = poolSign;
  }

  readonly #flush = () => {
    const submits = this.#pending;
    this.#pending = [];
    for (const submit of submits) submit();
  };

  /** A signature of `data`, made on the thread pool and submitted with the rest of this turn's. */
  sign(digest: string | null, data: Buffer, key: KeyObject | SignKeyObjectInput): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#pending.push(() => {
        try {
          this.#sign(digest, data, key, (err, signature) => (err ? reject(err) : resolve(signature)));
        } catch (err) {
          // node checks its arguments before queuing: only this signature fails, not the batch.
          reject(err as Error);
        }
      });
      if (this.#pending.length === 1) setImmediate(this.#flush);
    });
  }
}
