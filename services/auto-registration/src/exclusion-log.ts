import type { Logger } from '@swarm-oauth/server-kit';

/**
 * The "not registering" warning for a labelled service that is never registered (this service's own
 * stack, this service, `oauth.managed-by=swarm-oauth`), once per change: when the service starts to
 * be excluded, and again only when the reason changes. Every pass decides afresh (each notification,
 * event and periodic reconcile), but a line costs a change of the service, as the policy's line does
 * (PolicyEnforcement).
 *
 * It remembers one entry per excluded labelled service that exists, dropped when the service is gone,
 * unlabelled or no longer excluded; a restart forgets, and the first pass logs each one once more.
 * The same once-per-change line serves any other standing refusal (a client of the service's name
 * that auto-registration did not add), with its own message.
 */
export class ExclusionLog {
  /** Service name -> the reason last logged. */
  readonly #reasons = new Map<string, string>();

  constructor(
    private readonly logger: Logger,
    private readonly message = 'not registering',
  ) {}

  /** What a pass found: the reason a labelled service is excluded, or undefined when it is not. */
  note(serviceName: string, reason: string | undefined): void {
    if (reason === undefined) {
      this.#reasons.delete(serviceName);
      return;
    }
    if (this.#reasons.get(serviceName) === reason) return;
    this.#reasons.set(serviceName, reason);
    this.logger.warn({ swarm_service: serviceName, reason }, this.message);
  }

  /** Excluded services remembered (what memory holds). */
  get size(): number {
    return this.#reasons.size;
  }
}
