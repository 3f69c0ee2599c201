import type { Logger } from '@swarm-oauth/server-kit';
import type { RegistrationMetrics } from './registration-metrics.js';
import type { PolicyRefusal, RegistrationPolicy } from './registration-policy.js';
import type { ClientLabels, Labels } from './swarm-labels.js';

/** Refused asks named in one log line, per kind; the counts say how many there were in all. */
const LOGGED_PER_KIND = 10;
/** Characters of one refused ask in a log line (a label value can be long). */
const LOGGED_LENGTH = 100;

function logged(values: readonly string[]): string[] {
  return values
    .slice(0, LOGGED_PER_KIND)
    .map((value) => (value.length > LOGGED_LENGTH ? `${value.slice(0, LOGGED_LENGTH)}…` : value));
}

/**
 * Applies the registration policy to every registration and says so once per change: a service whose
 * labels ask beyond the policy is logged when it starts to, again only when what is refused changes,
 * and once more when it asks for nothing beyond it any more. Every pass over a service (each
 * notification, event and periodic reconcile) decides afresh, but one who can deploy labelled services
 * cannot turn that into log lines: a line costs a change of the service's labels.
 *
 * What it remembers is one entry per service currently narrowed, dropped when the service is
 * de-registered or gone, so memory follows the swarm's labelled services. A restart forgets, and the
 * first pass after it logs each narrowed service once more.
 *
 * Without a policy, the labels are taken as they are and nothing is logged or counted.
 */
export class PolicyEnforcement {
  /** Service name -> what was refused on its last pass, as JSON, while it is narrowed. */
  readonly #narrowed = new Map<string, string>();

  constructor(
    private readonly policy: RegistrationPolicy | undefined,
    private readonly logger: Logger,
    private readonly metrics: RegistrationMetrics,
  ) {}

  /** What the service is registered with: its labels, narrowed to the policy. */
  apply(serviceName: string, labels: Labels, asked: ClientLabels): ClientLabels {
    if (this.policy === undefined) return asked;
    const { granted, refused } = this.policy.decide(serviceName, labels, asked);
    if (refused === undefined) this.#withinPolicy(serviceName);
    else this.#narrowedBy(serviceName, refused);
    return granted;
  }

  /** The service is no longer registered (gone, label off, another instance's): nothing to report. */
  forget(serviceName: string): void {
    if (this.#narrowed.delete(serviceName)) this.metrics.policyNarrowedServices.set(this.#narrowed.size);
  }

  #narrowedBy(serviceName: string, refused: PolicyRefusal): void {
    const outcome = JSON.stringify(refused);
    if (this.#narrowed.get(serviceName) === outcome) return;
    this.#narrowed.set(serviceName, outcome);
    this.metrics.policyNarrowedServices.set(this.#narrowed.size);
    this.metrics.policyRefusals.inc({ kind: 'scope' }, refused.scopes.length);
    this.metrics.policyRefusals.inc({ kind: 'audience' }, refused.audiences.length);
    this.metrics.policyRefusals.inc({ kind: 'claim' }, refused.claims.length);
    this.logger.warn(
      {
        swarm_service: serviceName,
        matched_rules: refused.matchedRules,
        refused_scopes: logged(refused.scopes),
        refused_audiences: logged(refused.audiences),
        refused_claims: logged(refused.claims),
        refused: {
          scopes: refused.scopes.length,
          audiences: refused.audiences.length,
          claims: refused.claims.length,
        },
      },
      refused.matchedRules === 0
        ? 'registering without what the labels ask: no rule of the registration policy matches this service'
        : 'registering with less than the labels ask: the registration policy does not allow the rest',
    );
  }

  #withinPolicy(serviceName: string): void {
    if (!this.#narrowed.delete(serviceName)) return;
    this.metrics.policyNarrowedServices.set(this.#narrowed.size);
    this.logger.info(
      { swarm_service: serviceName },
      'the labels ask for nothing beyond the registration policy any more',
    );
  }
}
