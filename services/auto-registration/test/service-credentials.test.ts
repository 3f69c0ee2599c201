import { describe, expect, it } from '@jest/globals';
import type Dockerode from 'dockerode';
import type { ManagedSecret } from '../src/docker-secrets.js';
import {
  hasCredentials,
  mountedSecret,
  secretFileOwner,
  withCredentials,
  withoutCredentials,
} from '../src/service-credentials.js';

const ours: ManagedSecret = {
  id: 'sec1',
  name: 'oauth-client-api-0a1b2c3d',
  serviceName: 'api',
  secretId: 's1',
};
const next: ManagedSecret = {
  id: 'sec2',
  name: 'oauth-client-api-4e5f6071',
  serviceName: 'api',
  secretId: 's2',
};
const credentials = {
  clientId: 'api',
  tokenUrl: 'http://oauth-client-tokens/api/token',
  kind: 'secret' as const,
  secret: ours,
};
const operatorSecret = {
  File: { Name: 'db_password', UID: '0', GID: '0', Mode: 0o444 },
  SecretID: 'db',
  SecretName: 'db',
};

function spec(
  container: Dockerode.ContainerSpec = {},
  labels: Record<string, string> = {},
): Dockerode.ServiceSpec {
  return { Name: 'api', Labels: labels, TaskTemplate: { ContainerSpec: { Image: 'api:1', ...container } } };
}

function container(s: Dockerode.ServiceSpec | undefined): Dockerode.ContainerSpec {
  return (s!.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec!;
}

describe('withCredentials', () => {
  it('mounts the secret at oauth_client_secret and sets the three variables, keeping what the operator set', () => {
    const result = withCredentials(spec({ Env: ['PORT=8080'], Secrets: [operatorSecret] }), credentials, [
      ours,
    ]);
    expect(container(result).Secrets).toEqual([
      operatorSecret,
      {
        File: { Name: 'oauth_client_secret', UID: '0', GID: '0', Mode: 0o444 },
        SecretID: 'sec1',
        SecretName: ours.name,
      },
    ]);
    expect(container(result).Env).toEqual([
      'PORT=8080',
      'OAUTH_CLIENT_ID=api',
      'OAUTH_CLIENT_SECRET_FILE=/run/secrets/oauth_client_secret',
      'OAUTH_TOKEN_URL=http://oauth-client-tokens/api/token',
    ]);
    expect(container(result).Image).toBe('api:1');
  });

  it('answers undefined (nothing to write) for a spec that already carries exactly these credentials', () => {
    const once = withCredentials(spec({ Env: ['PORT=8080'] }), credentials, [ours])!;
    // The engine returns fields in its own order; that must not look like a change.
    const reordered = structuredClone(once);
    const ref = container(reordered).Secrets![0]!;
    container(reordered).Secrets = [
      { SecretName: ref.SecretName, SecretID: ref.SecretID, File: { ...ref.File } },
    ];
    expect(withCredentials(reordered, credentials, [ours])).toBeUndefined();
  });

  it('replaces an older managed secret in place and overrides stale variables without duplicating them', () => {
    const mounted = withCredentials(
      spec({ Env: ['OAUTH_CLIENT_ID=old', 'A=1', 'OAUTH_CLIENT_ID=older'] }),
      credentials,
      [ours],
    )!;
    const rotated = withCredentials(mounted, { ...credentials, secret: next }, [ours, next]);
    expect(container(rotated).Secrets).toEqual([
      {
        File: { Name: 'oauth_client_secret', UID: '0', GID: '0', Mode: 0o444 },
        SecretID: 'sec2',
        SecretName: next.name,
      },
    ]);
    expect(container(rotated).Env).toEqual([
      'OAUTH_CLIENT_ID=api',
      'A=1',
      'OAUTH_CLIENT_SECRET_FILE=/run/secrets/oauth_client_secret',
      'OAUTH_TOKEN_URL=http://oauth-client-tokens/api/token',
    ]);
  });

  it('does not change the spec it was given', () => {
    const original = spec({ Env: ['A=1'] });
    const copy = structuredClone(original);
    withCredentials(original, credentials, [ours]);
    expect(original).toEqual(copy);
  });
});

describe('secretFileOwner', () => {
  it("gives the file to the spec's numeric user with mode 0400", () => {
    expect(secretFileOwner(spec({ User: '1000:1001' }))).toEqual({ UID: '1000', GID: '1001', Mode: 0o400 });
    expect(secretFileOwner(spec({ User: '1000' }))).toEqual({ UID: '1000', GID: '0', Mode: 0o400 });
    expect(secretFileOwner(spec({ User: '0' }))).toEqual({ UID: '0', GID: '0', Mode: 0o400 });
  });

  it('takes oauth.secret-uid and oauth.secret-gid over the spec user', () => {
    const labelled = spec({ User: 'node' }, { 'oauth.secret-uid': '1000', 'oauth.secret-gid': '1000' });
    expect(secretFileOwner(labelled)).toEqual({ UID: '1000', GID: '1000', Mode: 0o400 });
  });

  it("keeps Docker's default root 0444 when the user is a name or comes from the image", () => {
    expect(secretFileOwner(spec({ User: 'node' }))).toEqual({ UID: '0', GID: '0', Mode: 0o444 });
    expect(secretFileOwner(spec())).toEqual({ UID: '0', GID: '0', Mode: 0o444 });
    expect(secretFileOwner(spec({}, { 'oauth.secret-uid': 'nobody' }))).toEqual({
      UID: '0',
      GID: '0',
      Mode: 0o444,
    });
  });
});

describe('withoutCredentials', () => {
  it('removes our secret and the three variables and keeps everything else', () => {
    const mounted = withCredentials(spec({ Env: ['A=1'], Secrets: [operatorSecret] }), credentials, [ours])!;
    const cleaned = withoutCredentials(mounted, [ours]);
    expect(container(cleaned).Secrets).toEqual([operatorSecret]);
    expect(container(cleaned).Env).toEqual(['A=1']);
  });

  it('recognises our mount by name even when its Docker secret is already gone', () => {
    const mounted = withCredentials(spec(), credentials, [ours])!;
    const cleaned = withoutCredentials(mounted, []);
    expect(container(cleaned).Secrets).toBeUndefined();
    expect(container(cleaned).Env).toBeUndefined();
  });

  it('leaves a service alone that mounts nothing of ours, even if it sets OAUTH_CLIENT_ID itself', () => {
    expect(
      withoutCredentials(spec({ Env: ['OAUTH_CLIENT_ID=manual'], Secrets: [operatorSecret] }), []),
    ).toBeUndefined();
  });
});

describe('mountedSecret and hasCredentials', () => {
  it('find the managed secret mounted at the target, and only ours', () => {
    const mounted = withCredentials(spec({ Secrets: [operatorSecret] }), credentials, [ours])!;
    expect(mountedSecret(mounted, [ours, next])).toEqual(ours);
    expect(mountedSecret(mounted, [next])).toBeUndefined();
    expect(hasCredentials(mounted, [])).toBe(true);
    expect(hasCredentials(spec({ Env: ['OAUTH_CLIENT_ID=manual'], Secrets: [operatorSecret] }), [])).toBe(
      false,
    );
  });
});
