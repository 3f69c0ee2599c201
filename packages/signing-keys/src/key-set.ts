import type { SigningKey } from './signing-key.js';
import type { KeySetView } from './key-timeline.js';

/** What the token service needs from its keys; the same for keys on the volume and from a file. */
export interface KeySet {
  /** 'volume': generated and rotated on the shared volume; 'file': provided by the operator. */
  readonly source: 'volume' | 'file';
  /** The key that signs now. */
  activeKey(): SigningKey;
  /** A compact JWS over `claims`, signed by the active key (header: alg, typ, kid). */
  signJwt(claims: object): Promise<string>;
  /** Every key a verifier may meet now, newest first. */
  publishedKeys(): readonly SigningKey[];
  /** The JWKS, serialised once per change. */
  jwksJson(): string;
  /** The PEM certificates of the published keys, concatenated. */
  certificatesPem(): string;
  /** Re-reads the key source now (tests, admin); polling does this on its own. */
  refresh(): Promise<void>;
  /** Throws, with a message safe to show, when the keys are not usable (for readiness checks). */
  checkUsable(): void;
  /** Stops polling. */
  close(): void;
}

export interface KeySetLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

/** Shared behaviour: a view that is recomputed only when the clock passes its validity. */
export abstract class KeySetBase implements KeySet {
  abstract readonly source: 'volume' | 'file';
  protected abstract view: KeySetView;
  protected abstract viewAt(now: number): KeySetView;

  constructor(protected readonly now: () => number) {}

  protected current(): KeySetView {
    const now = this.now();
    if (now >= this.view.validUntil) this.view = this.viewAt(now);
    return this.view;
  }

  activeKey(): SigningKey {
    return this.current().active;
  }

  signJwt(claims: object): Promise<string> {
    return this.current().active.signJwt(claims);
  }

  publishedKeys(): readonly SigningKey[] {
    return this.current().published;
  }

  jwksJson(): string {
    return this.current().jwksJson;
  }

  certificatesPem(): string {
    return this.current().certificatesPem;
  }

  abstract refresh(): Promise<void>;
  abstract checkUsable(): void;
  abstract close(): void;
}
