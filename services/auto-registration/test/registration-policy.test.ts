import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@swarm-oauth/server-kit';
import {
  loadRegistrationPolicy,
  parseRegistrationPolicy,
  POLICY_MAX_BYTES,
  type RegistrationPolicy,
} from '../src/registration-policy.js';
import { readClientLabels, type Labels } from '../src/swarm-labels.js';

const VARIABLE = 'OAUTH_REGISTRATION_POLICY_FILE';
const FILE = '/etc/policy.json';
const FIX = '; fix the file and start again (README.md, "Registration policy", shows the format).';

function parse(json: unknown): RegistrationPolicy {
  return parseRegistrationPolicy(VARIABLE, FILE, typeof json === 'string' ? json : JSON.stringify(json));
}

/** The message parse() fails with, or undefined when it does not. */
function refusal(json: unknown): string | undefined {
  try {
    parse(json);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(VARIABLE);
    return (err as Error).message;
  }
}

const policy = parse({
  rules: [
    {
      description: 'the payments stack',
      stack: 'payments',
      scopes: ['payments:read', 'payments:write'],
      audiences: ['ledger'],
      claims: { team: ['payments'] },
    },
    { service: 'reports_*', scopes: ['reports:read'], audiences: ['warehouse'] },
    { stack: 'payments', service: '*_batch', scopes: ['ledger:write'] },
  ],
});

function decide(name: string, labels: Labels) {
  return policy.decide(name, labels, readClientLabels(labels));
}

describe('RegistrationPolicy.decide', () => {
  it('grants what a matching rule allows, exactly as asked, and refuses nothing', () => {
    const labels = {
      'com.docker.stack.namespace': 'payments',
      'oauth.client': 'true',
      'oauth.scope': 'payments:write payments:read',
      'oauth.audience': 'ledger',
      'oauth.claim.team': 'payments',
    };
    expect(decide('payments_api', labels)).toEqual({
      granted: {
        enabled: true,
        scope: 'payments:write payments:read',
        audience: ['ledger'],
        claims: { team: 'payments' },
      },
      refused: undefined,
    });
  });

  it('keeps only the intersection and lists every refused scope, audience and claim', () => {
    const labels = {
      'com.docker.stack.namespace': 'payments',
      'oauth.client': 'true',
      'oauth.scope': 'payments:read admin',
      'oauth.audience': 'ledger, billing',
      'oauth.claim.team': 'security',
      'oauth.claim.role': 'admin',
    };
    expect(decide('payments_api', labels)).toEqual({
      granted: { enabled: true, scope: 'payments:read', audience: ['ledger'], claims: {} },
      refused: {
        scopes: ['admin'],
        audiences: ['billing'],
        claims: ['team=security', 'role=admin'],
        matchedRules: 1,
      },
    });
  });

  it('gives a service that no rule matches no scope, no audience and no claim', () => {
    const labels = {
      'oauth.client': 'true',
      'oauth.scope': 'payments:read',
      'oauth.audience': 'ledger',
      'oauth.claim.team': 'payments',
    };
    // Named like a payments service, but outside the stack: the stack rule does not match it.
    expect(decide('payments_api', labels)).toEqual({
      granted: { enabled: true, scope: undefined, audience: [], claims: {} },
      refused: {
        scopes: ['payments:read'],
        audiences: ['ledger'],
        claims: ['team=payments'],
        matchedRules: 0,
      },
    });
  });

  it('matches service-name patterns, with * for any run of characters and everything else literal', () => {
    const asked = { 'oauth.client': 'true', 'oauth.scope': 'reports:read' };
    expect(decide('reports_daily', asked).refused).toBeUndefined();
    expect(decide('reports_', asked).refused).toBeUndefined();
    expect(decide('reportsXdaily', asked).refused?.scopes).toEqual(['reports:read']);
    expect(decide('my_reports_daily', asked).refused?.scopes).toEqual(['reports:read']);
    const dotted = parse({ rules: [{ service: 'a.b', scopes: ['x'] }] });
    expect(dotted.decide('aXb', {}, readClientLabels({ 'oauth.scope': 'x' })).refused?.scopes).toEqual(['x']);
    expect(dotted.decide('a.b', {}, readClientLabels({ 'oauth.scope': 'x' })).refused).toBeUndefined();
  });

  it('needs every selector of a rule to match, and adds up all matching rules (order does not matter)', () => {
    const stackLabel = { 'com.docker.stack.namespace': 'payments', 'oauth.client': 'true' };
    const asked = { ...stackLabel, 'oauth.scope': 'ledger:write payments:read' };
    // payments_nightly_batch matches rule 0 (stack) and rule 2 (stack and *_batch): both grants.
    expect(decide('payments_nightly_batch', asked)).toEqual({
      granted: { enabled: true, scope: 'ledger:write payments:read', audience: [], claims: {} },
      refused: undefined,
    });
    // payments_api matches rule 0 only.
    expect(decide('payments_api', asked).refused).toEqual({
      scopes: ['ledger:write'],
      audiences: [],
      claims: [],
      matchedRules: 1,
    });
    // A *_batch service outside the stack matches no rule.
    expect(
      decide('other_batch', { ...asked, 'com.docker.stack.namespace': 'other' }).refused?.matchedRules,
    ).toBe(0);
  });

  it('refuses nothing when the labels ask for nothing', () => {
    expect(decide('anything', { 'oauth.client': 'true' })).toEqual({
      granted: { enabled: true, scope: undefined, audience: [], claims: {} },
      refused: undefined,
    });
  });

  it('allows a claim only with a listed value, and keeps a claim named __proto__ plain data', () => {
    // As text: in an object literal, __proto__ would set the prototype instead of a key.
    const claims = parse('{"rules": [{"service": "*", "claims": {"team": ["a", "b"], "__proto__": ["x"]}}]}');
    const asked = readClientLabels({ 'oauth.claim.team': 'b', 'oauth.claim.__proto__': 'x' });
    const { granted, refused } = claims.decide('svc', {}, asked);
    expect(refused).toBeUndefined();
    expect(Object.getPrototypeOf(granted.claims)).toBe(Object.prototype);
    expect(Object.entries(granted.claims)).toEqual([
      ['team', 'b'],
      ['__proto__', 'x'],
    ]);
    expect(claims.decide('svc', {}, readClientLabels({ 'oauth.claim.team': 'c' })).refused?.claims).toEqual([
      'team=c',
    ]);
  });

  it('lets an empty rule list grant nothing to anyone', () => {
    const none = parse({ rules: [] });
    expect(none.rules).toEqual([]);
    expect(none.decide('svc', {}, readClientLabels({ 'oauth.scope': 'a' })).refused?.matchedRules).toBe(0);
  });
});

describe('parseRegistrationPolicy', () => {
  it('reads each rule with its defaults: no scopes, audiences or claims unless listed', () => {
    expect(parse({ rules: [{ service: 'x_*' }] }).rules).toEqual([
      {
        description: undefined,
        stack: undefined,
        service: 'x_*',
        scopes: new Set(),
        audiences: new Set(),
        claims: new Map(),
      },
    ]);
  });

  it.each([
    ['{"rules": [', 'is not valid JSON: Unexpected end of JSON input'],
    [
      '{\n  "rules": [\n    {,\n  ]\n}',
      "is not valid JSON: Expected property name or '}' in JSON at position 20 (line 3 column 6)",
    ],
    ['[]', 'must be a JSON object {"rules": [...]}, got an array'],
    [{}, '"rules" must be an array of rules, got undefined'],
    [{ rules: {} }, '"rules" must be an array of rules, got an object'],
    [{ rules: [], rule: [] }, 'unknown field "rule" (only "rules")'],
    [{ rules: ['payments'] }, 'rules[0] must be an object, got "payments"'],
    [
      { rules: [{ stack: 'a', scope: ['x'] }] },
      'rules[0]: unknown field "scope" (known: description, stack, service, scopes, audiences, claims)',
    ],
    [
      { rules: [{ scopes: ['x'] }] },
      'rules[0] must say whom it is for: "stack" (a stack namespace) or "service" (a service-name pattern)',
    ],
    [
      { rules: [{ service: 'a' }, { service: 'a b' }] },
      'rules[1].service must be a name or a pattern of letters, digits, "_", ".", "-" and "*" (any run of characters), up to 128, got "a b"',
    ],
    [
      { rules: [{ stack: '' }] },
      'rules[0].stack must be a name or a pattern of letters, digits, "_", ".", "-" and "*" (any run of characters), up to 128, got ""',
    ],
    [{ rules: [{ stack: 'a', scopes: 'x y' }] }, 'rules[0].scopes must be an array of strings, got "x y"'],
    [
      { rules: [{ stack: 'a', scopes: ['x', 'y z'] }] },
      'rules[0].scopes[1] must be a scope token (RFC 6749 §3.3, no spaces), got "y z"',
    ],
    [
      { rules: [{ stack: 'a', scopes: [7] }] },
      'rules[0].scopes[0] must be a scope token (RFC 6749 §3.3, no spaces), got 7',
    ],
    [
      { rules: [{ stack: 'a', audiences: [null] }] },
      'rules[0].audiences[0] must be an audience (no spaces or quotes), got null',
    ],
    [
      { rules: [{ stack: 'a', claims: ['team'] }] },
      'rules[0].claims must be an object of claim name to allowed values, got an array',
    ],
    [
      { rules: [{ stack: 'a', claims: { 'my team': ['x'] } }] },
      'rules[0].claims: "my team" is not a claim name (printable ASCII without spaces, up to 128)',
    ],
    [
      { rules: [{ stack: 'a', claims: { team: 'x' } }] },
      'rules[0].claims.team must be an array of strings, got "x"',
    ],
    [
      { rules: [{ stack: 'a', claims: { team: [true] } }] },
      'rules[0].claims.team[0] must be a string of up to 1024 characters, got true',
    ],
    [{ rules: [{ stack: 'a', description: 3 }] }, 'rules[0].description must be a string, got 3'],
  ])('refuses %j, naming the file and the field', (json, problem) => {
    expect(refusal(json)).toBe(`${VARIABLE}: ${FILE}: ${problem}${FIX}`);
  });

  it('cuts a long value short in the message', () => {
    expect(refusal({ rules: [{ stack: 'a', scopes: ['x'.repeat(300)] }] })).toBe(
      `${VARIABLE}: ${FILE}: rules[0].scopes[0] must be a scope token (RFC 6749 §3.3, no spaces), got "${'x'.repeat(40)}…"${FIX}`,
    );
  });
});

describe('loadRegistrationPolicy', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registration-policy-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the file', async () => {
    const file = join(dir, 'policy.json');
    await writeFile(file, JSON.stringify({ rules: [{ stack: 'payments', scopes: ['a'] }] }));
    expect((await loadRegistrationPolicy(VARIABLE, file)).rules.map((rule) => rule.stack)).toEqual([
      'payments',
    ]);
  });

  it('names the file and what to do when it cannot be read', async () => {
    const file = join(dir, 'missing.json');
    await expect(loadRegistrationPolicy(VARIABLE, file)).rejects.toThrow(
      `${VARIABLE}: cannot read the policy file ${file} (ENOENT); mount it (a Docker config, stack.yml shows how) or unset ${VARIABLE}.`,
    );
  });

  it('refuses a file over the size bound without parsing it', async () => {
    const file = join(dir, 'big.json');
    await writeFile(file, ' '.repeat(POLICY_MAX_BYTES + 1));
    await expect(loadRegistrationPolicy(VARIABLE, file)).rejects.toThrow(
      `${VARIABLE}: ${file}: is ${POLICY_MAX_BYTES + 1} bytes, more than the ${POLICY_MAX_BYTES} a policy may have${FIX}`,
    );
  });

  it('accepts a file of exactly the size bound', async () => {
    const file = join(dir, 'edge.json');
    const json = '{"rules":[]}';
    await writeFile(file, json + ' '.repeat(POLICY_MAX_BYTES - json.length));
    expect((await loadRegistrationPolicy(VARIABLE, file)).rules).toEqual([]);
  });
});
