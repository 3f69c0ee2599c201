import { ADMIN_PATHS, type ClientPageJson, type RemovedClientJson } from '@swarm-oauth/admin-api';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { methodNotAllowed, NotFoundError } from '@swarm-oauth/server-kit';
import { KeyedMutex, type ClientJwk, type ClientStore } from '@swarm-oauth/store';
import { callerOf } from './admin-auth.js';
import type { AuditLog, Operation } from './audit-log.js';
import { clientJson, createdClientJson, rotatedSecretJson } from './client-json.js';
import {
  applyChanges,
  parseAddRequest,
  parseClientId,
  parseEmptyBody,
  parseListQuery,
  parsePatchRequest,
  parseRemoveRequest,
  parseRotateRequest,
  parseSecretId,
} from './client-input.js';
import { jsonBody } from './json-body.js';
import { toHttpError } from './store-http-errors.js';

export interface ClientRoutesOptions {
  store: ClientStore;
  audit: AuditLog;
  bodyLimitBytes: number;
  now: () => Date;
}

function clientNotFound(clientId: string): NotFoundError {
  return new NotFoundError(`Client ${clientId} does not exist.`, { code: 'client_not_found' });
}

/** The admin API under /api/clients. Routes are thin: parse, change the store, audit, answer. */
export function clientRoutes(options: ClientRoutesOptions): Router {
  const { store, audit } = options;
  const router = Router();
  const body = jsonBody(options.bodyLimitBytes);
  const queue = new KeyedMutex();

  /** Runs one change of one client, one at a time per client; audits it whatever the outcome. */
  async function change<T>(
    res: Response,
    what: {
      operation: Operation;
      clientId: string;
      secretId?: (result: T) => string | undefined;
      details?: Record<string, unknown>;
    },
    task: () => Promise<T>,
  ): Promise<T> {
    const caller = callerOf(res);
    try {
      const result = await queue.run(what.clientId, task);
      const secretId = what.secretId?.(result);
      audit.record(caller, {
        operation: what.operation,
        clientId: what.clientId,
        ...(secretId === undefined ? {} : { secretId }),
        result: 'ok',
        ...(what.details ? { details: what.details } : {}),
      });
      return result;
    } catch (err) {
      const mapped = toHttpError(err);
      const code = (mapped as { code?: unknown }).code;
      audit.record(caller, {
        operation: what.operation,
        clientId: what.clientId,
        result: typeof code === 'string' ? code : 'server_error',
      });
      throw mapped;
    }
  }

  const clientIdParam = (req: Request): string => parseClientId(req.params.id);

  const add: RequestHandler = async (req, res) => {
    const input = parseAddRequest(req.body);
    const { client, secret } = await change(
      res,
      {
        operation: 'client.add',
        clientId: input.clientId,
        secretId: (r) => r.client.secrets[0]?.id,
        ...(input.publicKeys === undefined || input.publicKeys.length === 0
          ? {}
          : { details: { jwks_kids: (input.publicKeys as ClientJwk[]).map((key) => key.kid) } }),
      },
      () => store.add(input),
    );
    res
      .status(201)
      .location(`/api/clients/${encodeURIComponent(client.clientId)}`)
      .json(createdClientJson(client, secret));
  };

  const remove: RequestHandler = async (req, res) => {
    const clientId = parseRemoveRequest(req.body);
    await change(res, { operation: 'client.remove', clientId }, () => store.remove(clientId));
    res.json({ client_id: clientId, removed: true } satisfies RemovedClientJson);
  };

  const list: RequestHandler = (req, res) => {
    const { after, limit } = parseListQuery(req.query as Record<string, unknown>);
    // One more than asked tells whether another page follows.
    const page = store.list({ ...(after === undefined ? {} : { after }), limit: limit + 1 });
    const clients = page.slice(0, limit);
    const last = clients.at(-1);
    res.json({
      clients: clients.map(clientJson),
      ...(page.length > limit && last ? { next_after: last.clientId } : {}),
    } satisfies ClientPageJson);
  };

  const get: RequestHandler = async (req, res) => {
    const clientId = clientIdParam(req);
    const client = await store.get(clientId).catch((err: unknown) => Promise.reject(toHttpError(err)));
    if (!client) throw clientNotFound(clientId);
    res.json(clientJson(client));
  };

  const update: RequestHandler = async (req, res) => {
    const clientId = clientIdParam(req);
    const changes = parsePatchRequest(req.body);
    const fields = Object.keys(changes).map(
      (field) => ({ scopes: 'scope', audiences: 'audience', publicKeys: 'jwks' })[field] ?? field,
    );
    // The kids the client has after the change: enough to tell which key came or went.
    const kids =
      changes.publicKeys === undefined ? {} : { jwks_kids: changes.publicKeys.map((key) => key.kid) };
    const client = await change(
      res,
      { operation: 'client.update', clientId, details: { fields, ...kids } },
      async () => {
        const current = await store.get(clientId);
        if (!current) throw clientNotFound(clientId);
        return store.update(clientId, applyChanges(current, changes));
      },
    );
    res.json(clientJson(client));
  };

  const rotate: RequestHandler = async (req, res) => {
    const clientId = clientIdParam(req);
    const { expiresIn } = parseRotateRequest(req.body);
    const result = await change(
      res,
      {
        operation: 'secret.rotate',
        clientId,
        secretId: (r) => r.secretId,
        ...(expiresIn === undefined ? {} : { details: { old_secrets_expire_in: expiresIn } }),
      },
      // The old secrets' expiry goes into the record in the same write as the new secret, so every
      // token service replica refuses them after it by itself, whether or not this service runs.
      () =>
        store.addSecret(
          clientId,
          expiresIn === undefined
            ? {}
            : { othersExpireAt: new Date(options.now().getTime() + expiresIn * 1000) },
        ),
    );
    res.status(201).json(rotatedSecretJson(result.client, result.secret, result.secretId));
  };

  const retire: RequestHandler = async (req, res) => {
    const clientId = clientIdParam(req);
    const secretId = parseSecretId(req.params.secretId);
    parseEmptyBody(req.body);
    const client = await change(res, { operation: 'secret.retire', clientId, secretId: () => secretId }, () =>
      store.removeSecret(clientId, secretId),
    );
    res.json(clientJson(client));
  };

  router.route(ADMIN_PATHS.add).post(body, add);
  router.route(ADMIN_PATHS.remove).post(body, remove);
  router.route(ADMIN_PATHS.clients).get(list).all(methodNotAllowed('GET'));
  router
    .route('/api/clients/:id')
    .get(get)
    .patch(body, update)
    .all((req, res, next) => {
      // add and remove are POST routes of their own (names from the design notes); a client may
      // still be called "add" and read or patched here.
      const id = req.params.id;
      const allowed = id === 'add' || id === 'remove' ? ['GET', 'PATCH', 'POST'] : ['GET', 'PATCH'];
      methodNotAllowed(...allowed)(req, res, next);
    });
  router.route('/api/clients/:id/secrets').post(body, rotate).all(methodNotAllowed('POST'));
  router.route('/api/clients/:id/secrets/:secretId').delete(body, retire).all(methodNotAllowed('DELETE'));
  return router;
}
