import {
  JSON_TYPE,
  NotFoundError,
  sendText,
  type RouteHandler,
  type RouteMethods,
} from '@swarm-oauth/server-kit';
import type { KeySet } from '@swarm-oauth/signing-keys';
import { CLIENT_KEY_ALGS } from '@swarm-oauth/store';
import { CLIENT_AUTH_METHODS } from './client-authentication.js';
import { GRANT_TYPE } from './client-credentials-grant.js';

// What a verifier or a client library needs to find everything from one URL: the RFC 8414 metadata,
// the JWKS (RFC 7517) and the PEM certificates of the signing keys.

export const METADATA_PATH = '/.well-known/oauth-authorization-server';
export const JWKS_PATH = '/.well-known/jwks.json';
export const CERT_PATH = '/api/cert';
export const TOKEN_PATH = '/api/token';

const NO_CACHE = { 'Cache-Control': 'no-cache' } as const;

export interface MetadataRoutesOptions {
  issuer: string;
  keys: KeySet;
  /**
   * scopes_supported as the operator lists it (OAUTH_SCOPES_SUPPORTED); undefined leaves the field
   * out. Never derived from the clients: on the public port that would tell anyone every scope of
   * every client, and RFC 8414 §2 lets a server omit scopes it uses.
   */
  scopesSupported: readonly string[] | undefined;
}

/** Endpoint URLs are the issuer plus the path, so a proxy that maps the issuer's path works too. */
export function endpointUrl(issuer: string, path: string): string {
  return issuer.replace(/\/$/, '') + path;
}

export function authorizationServerMetadata(issuer: string, scopesSupported: readonly string[] | undefined) {
  return {
    issuer,
    token_endpoint: endpointUrl(issuer, TOKEN_PATH),
    jwks_uri: endpointUrl(issuer, JWKS_PATH),
    grant_types_supported: [GRANT_TYPE],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    // What private_key_jwt assertions may be signed with (RFC 8414 §2); never none or HS*.
    token_endpoint_auth_signing_alg_values_supported: [...CLIENT_KEY_ALGS],
    // REQUIRED by RFC 8414 §2; there is no authorization endpoint, so no response type is supported.
    response_types_supported: [],
    ...(scopesSupported === undefined ? {} : { scopes_supported: [...scopesSupported] }),
  };
}

/** The metadata, JWKS and certificate routes, for the service's route table. */
export function metadataRoutes(options: MetadataRoutesOptions): Record<string, RouteMethods> {
  const { issuer, keys } = options;
  const metadataJson = JSON.stringify(authorizationServerMetadata(issuer, options.scopesSupported));

  const metadata: RouteHandler = (_req, res) => {
    sendText(res, 200, JSON_TYPE, metadataJson, { 'Cache-Control': 'public, max-age=300' });
  };

  // No caching by intermediaries: a rotated key must be visible as soon as this replica knows it.
  const jwks: RouteHandler = (_req, res) => {
    sendText(res, 200, JSON_TYPE, keys.jwksJson(), NO_CACHE);
  };

  const certificates: RouteHandler = (_req, res) => {
    sendText(res, 200, 'application/x-pem-file; charset=utf-8', keys.certificatesPem(), NO_CACHE);
  };

  // Spring and other OIDC clients abort on a 200 they cannot parse as OpenID Provider metadata; this
  // server is an OAuth 2.0 authorization server only, so the honest answer is 404.
  const noOpenIdConfiguration: RouteHandler = () => {
    throw new NotFoundError(
      `This is an OAuth 2.0 authorization server, not an OpenID Provider; its metadata is at ${METADATA_PATH}.`,
    );
  };

  const routes: Record<string, RouteMethods> = {
    [METADATA_PATH]: { GET: metadata },
    [JWKS_PATH]: { GET: jwks },
    [CERT_PATH]: { GET: certificates },
    '/.well-known/openid-configuration': { ANY: noOpenIdConfiguration },
  };
  // RFC 8414 §3.1: for an issuer with a path, clients insert the well-known segment before that path.
  const issuerPath = new URL(issuer).pathname.replace(/\/$/, '');
  if (issuerPath !== '') routes[METADATA_PATH + issuerPath] = { GET: metadata };
  return routes;
}
