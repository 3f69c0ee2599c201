// oidc-provider ships no type declarations; the benchmark uses only its constructor and callback.
declare module 'oidc-provider' {
  import type { RequestListener } from 'node:http';
  export default class Provider {
    constructor(issuer: string, configuration: object);
    callback(): RequestListener;
    on(event: string, listener: (...args: never[]) => void): this;
  }
}
