import { open } from 'node:fs/promises';
import { ConfigError } from '@swarm-oauth/server-kit';
import { STACK_NAMESPACE_LABEL, type ClientLabels, type Labels } from './swarm-labels.js';

/**
 * Who may claim what (README.md, "Registration policy"): an allow-list, read once at start from a JSON
 * file, of the scopes, audiences and claims a service may ask for with its labels, per stack namespace
 * or service-name pattern. The labels can then only choose within what the operator granted: a
 * service is registered with the intersection of its labels and the rules that match it.
 *
 *   { "rules": [ { "stack": "payments", "scopes": ["payments:read"], "audiences": ["ledger"],
 *                  "claims": { "team": ["payments"] } },
 *                { "service": "reports_*", "scopes": ["reports:read"] } ] }
 *
 * Rules are grants and add up: a service gets the union of every rule that matches it, so the order of
 * the rules never matters and adding a rule never takes anything away. A service no rule matches gets
 * no scope, no audience and no claim (it is still registered: its identity is its name).
 */

/** Policy files larger than this are refused before they are read: the file is a handful of rules. */
export const POLICY_MAX_BYTES = 64 * 1024;

const RULE_KEYS = ['description', 'stack', 'service', 'scopes', 'audiences', 'claims'] as const;
/** Docker's service and stack names, plus `*` for "any run of characters". */
const PATTERN = /^[A-Za-z0-9_.*-]{1,128}$/;
/** A scope token (RFC 6749 §3.3 NQCHAR: printable ASCII without space, `"` and `\`), an audience. */
const TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
/** The admin API's claim names (printable ASCII without spaces, up to 128); it refuses reserved ones. */
const CLAIM_NAME = /^[\x21-\x7e]{1,128}$/;
const CLAIM_VALUE = /^[^]{0,1024}$/;

export interface PolicyRule {
  readonly description: string | undefined;
  readonly stack: string | undefined;
  readonly service: string | undefined;
  readonly scopes: ReadonlySet<string>;
  readonly audiences: ReadonlySet<string>;
  /** Claim name -> the values a label may give it. */
  readonly claims: ReadonlyMap<string, ReadonlySet<string>>;
}

/** What a service's labels asked for and the policy did not allow. */
export interface PolicyRefusal {
  readonly scopes: readonly string[];
  readonly audiences: readonly string[];
  /** `name=value` of each refused claim label. */
  readonly claims: readonly string[];
  /** How many rules matched the service (0: none, so nothing at all was allowed). */
  readonly matchedRules: number;
}

export interface PolicyDecision {
  /** The labels as the policy allows them: what the client is registered with. */
  readonly granted: ClientLabels;
  /** What was asked beyond the policy; undefined when nothing was. */
  readonly refused: PolicyRefusal | undefined;
}

/** `*` matches any run of characters (none included); everything else matches itself. */
function globMatcher(pattern: string): (value: string) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`);
  return (value) => regex.test(value);
}

/** One pass, in order: what `keep` accepts and what it does not. */
function partition<T>(values: readonly T[], keep: (value: T) => boolean): { kept: T[]; dropped: T[] } {
  const kept: T[] = [];
  const dropped: T[] = [];
  for (const value of values) (keep(value) ? kept : dropped).push(value);
  return { kept, dropped };
}

interface CompiledRule extends PolicyRule {
  matches(serviceName: string, stackNamespace: string | undefined): boolean;
}

export class RegistrationPolicy {
  readonly #rules: readonly CompiledRule[];

  constructor(readonly rules: readonly PolicyRule[]) {
    this.#rules = rules.map((rule) => {
      const stack = rule.stack === undefined ? undefined : globMatcher(rule.stack);
      const service = rule.service === undefined ? undefined : globMatcher(rule.service);
      return {
        ...rule,
        // Every selector a rule has must match; a stack rule never matches a service outside a stack.
        matches: (name, namespace) =>
          (stack === undefined || (namespace !== undefined && stack(namespace))) &&
          (service === undefined || service(name)),
      };
    });
  }

  /** The labels narrowed to the union of the rules matching the service, and what that took away. */
  decide(serviceName: string, labels: Labels, asked: ClientLabels): PolicyDecision {
    const namespace = labels[STACK_NAMESPACE_LABEL];
    const matching = this.#rules.filter((rule) => rule.matches(serviceName, namespace));
    const allows = (pick: (rule: CompiledRule) => ReadonlySet<string> | undefined, value: string) =>
      matching.some((rule) => pick(rule)?.has(value) === true);

    const scopes = partition(asked.scope === undefined ? [] : asked.scope.split(' '), (scope) =>
      allows((rule) => rule.scopes, scope),
    );
    const audiences = partition(asked.audience, (audience) => allows((rule) => rule.audiences, audience));
    const claims = partition(Object.entries(asked.claims), ([name, value]) =>
      allows((rule) => rule.claims.get(name), value),
    );

    const granted: ClientLabels = {
      enabled: asked.enabled,
      scope: scopes.kept.length === 0 ? undefined : scopes.kept.join(' '),
      audience: audiences.kept,
      // fromEntries defines own properties, so a name such as "__proto__" stays plain data.
      claims: Object.fromEntries(claims.kept),
    };
    const refused: PolicyRefusal = {
      scopes: scopes.dropped,
      audiences: audiences.dropped,
      claims: claims.dropped.map(([name, value]) => `${name}=${value}`),
      matchedRules: matching.length,
    };
    const narrowed = refused.scopes.length + refused.audiences.length + refused.claims.length > 0;
    return { granted, refused: narrowed ? refused : undefined };
  }
}

/** A wrong policy file: names the setting, the file, the field and what to do. */
class PolicyFileError extends ConfigError {
  constructor(variable: string, file: string, problem: string, options?: { cause?: unknown }) {
    super(
      variable,
      `${file}: ${problem}; fix the file and start again (README.md, "Registration policy", shows the format).`,
      options,
    );
  }
}

function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses and checks a policy file's text strictly: an unknown key, a wrong type, a rule that matches
 * nothing in particular or an entry the admin API could never store is an error naming its field
 * (`rules[1].scopes[0]`), so a typo fails the start instead of quietly granting less (or more).
 */
export function parseRegistrationPolicy(variable: string, file: string, text: string): RegistrationPolicy {
  const fail = (problem: string): never => {
    throw new PolicyFileError(variable, file, problem);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new PolicyFileError(variable, file, `is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (!isObject(json)) fail(`must be a JSON object {"rules": [...]}, got ${shown(json)}`);
  const top = json as Record<string, unknown>;
  for (const key of Object.keys(top)) if (key !== 'rules') fail(`unknown field "${key}" (only "rules")`);
  if (!Array.isArray(top.rules)) fail(`"rules" must be an array of rules, got ${shown(top.rules)}`);

  const list = (field: string, value: unknown, check: RegExp, what: string): Set<string> => {
    if (value === undefined) return new Set();
    if (!Array.isArray(value)) fail(`${field} must be an array of strings, got ${shown(value)}`);
    (value as unknown[]).forEach((entry, index) => {
      if (typeof entry !== 'string' || !check.test(entry)) {
        fail(`${field}[${index}] must be ${what}, got ${shown(entry)}`);
      }
    });
    return new Set(value as string[]);
  };
  const pattern = (field: string, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !PATTERN.test(value)) {
      fail(
        `${field} must be a name or a pattern of letters, digits, "_", ".", "-" and "*" (any run of characters), up to 128, got ${shown(value)}`,
      );
    }
    return value as string;
  };

  const rules = (top.rules as unknown[]).map((raw, index): PolicyRule => {
    const at = `rules[${index}]`;
    if (!isObject(raw)) fail(`${at} must be an object, got ${shown(raw)}`);
    const rule = raw as Record<string, unknown>;
    for (const key of Object.keys(rule)) {
      if (!(RULE_KEYS as readonly string[]).includes(key)) {
        fail(`${at}: unknown field "${key}" (known: ${RULE_KEYS.join(', ')})`);
      }
    }
    if (rule.description !== undefined && typeof rule.description !== 'string') {
      fail(`${at}.description must be a string, got ${shown(rule.description)}`);
    }
    const stack = pattern(`${at}.stack`, rule.stack);
    const service = pattern(`${at}.service`, rule.service);
    if (stack === undefined && service === undefined) {
      fail(
        `${at} must say whom it is for: "stack" (a stack namespace) or "service" (a service-name pattern)`,
      );
    }
    const claims = new Map<string, ReadonlySet<string>>();
    if (rule.claims !== undefined) {
      if (!isObject(rule.claims)) {
        fail(`${at}.claims must be an object of claim name to allowed values, got ${shown(rule.claims)}`);
      }
      for (const [name, values] of Object.entries(rule.claims as Record<string, unknown>)) {
        if (!CLAIM_NAME.test(name)) {
          fail(
            `${at}.claims: ${shown(name)} is not a claim name (printable ASCII without spaces, up to 128)`,
          );
        }
        claims.set(
          name,
          list(`${at}.claims.${name}`, values, CLAIM_VALUE, 'a string of up to 1024 characters'),
        );
      }
    }
    return {
      description: rule.description as string | undefined,
      stack,
      service,
      scopes: list(`${at}.scopes`, rule.scopes, TOKEN, 'a scope token (RFC 6749 §3.3, no spaces)'),
      audiences: list(`${at}.audiences`, rule.audiences, TOKEN, 'an audience (no spaces or quotes)'),
      claims,
    };
  });
  return new RegistrationPolicy(rules);
}

/** Reads and parses the policy file OAUTH_REGISTRATION_POLICY_FILE names (a Docker config or secret). */
export async function loadRegistrationPolicy(variable: string, file: string): Promise<RegistrationPolicy> {
  let text: string;
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size > POLICY_MAX_BYTES) {
        throw new PolicyFileError(
          variable,
          file,
          `is ${size} bytes, more than the ${POLICY_MAX_BYTES} a policy may have`,
        );
      }
      // Read at most one byte beyond the limit: a file that grew after the stat is refused too.
      const buffer = Buffer.alloc(POLICY_MAX_BYTES + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (bytesRead > POLICY_MAX_BYTES) {
        throw new PolicyFileError(
          variable,
          file,
          `is more than the ${POLICY_MAX_BYTES} bytes a policy may have`,
        );
      }
      text = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      variable,
      `cannot read the policy file ${file} (${code}); mount it (a Docker config, stack.yml shows how) or unset ${variable}.`,
      { cause },
    );
  }
  return parseRegistrationPolicy(variable, file, text);
}
