import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { Config } from './config.js';

/**
 * The address a request comes from, per OAUTH_TRUST_PROXY: the socket's, or the X-Forwarded-For hop
 * the trusted proxies vouch for (proxy-addr, the module behind express's `trust proxy`). A hop count n
 * trusts the n nearest hops; an address list trusts exactly those proxies.
 */
export function clientAddress(trustProxy: Config['trustProxy']): (req: IncomingMessage) => string {
  const trust =
    typeof trustProxy === 'number'
      ? (_address: string, hop: number) => hop < trustProxy
      : proxyAddr.compile([...trustProxy]);
  return (req) => proxyAddr(req, trust);
}
