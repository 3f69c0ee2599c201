import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

const ANSWERED = Symbol('answered');
type TrackedSocket = Socket & { [ANSWERED]?: true; _httpMessage?: unknown };

/**
 * The keep-alive connections that sit between two requests, so they can be closed to make room or to
 * drain. node's own server.closeIdleConnections() counts a connection whose request is still
 * arriving as idle on current node lines, so a slow but honest sender would lose its answer; this
 * closes only a connection that got at least one request and has none in progress (node keeps the
 * response in progress on the socket as `_httpMessage`).
 */
export class IdleConnections {
  readonly #sockets = new Set<TrackedSocket>();

  constructor(server: Server, tls: boolean) {
    // Over TLS the HTTP layer's socket is the TLS one, announced by secureConnection.
    server.on(tls ? 'secureConnection' : 'connection', (socket: TrackedSocket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage) => {
      (req.socket as TrackedSocket)[ANSWERED] = true;
    });
  }

  /** Closes every connection between two requests; returns how many. */
  close(): number {
    let closed = 0;
    for (const socket of this.#sockets) {
      if (socket[ANSWERED] && socket._httpMessage == null) {
        // The last response may still be in the socket's buffer: end, and destroy once it is out.
        this.#sockets.delete(socket);
        socket.end(() => socket.destroy());
        closed++;
      }
    }
    return closed;
  }
}
