/**
 * The {@link RequestInfo} of a request `authts serve` answers, built in one place for the
 * server, its ProxyPass routes and the content handlers that decide again (the form login).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { RequestInfo } from '../request-state.js';

/**
 * What the phases see of `req` once its target is normalized to `path` and `query`: method,
 * headers (repeated ones kept apart), the connection's addresses and TLS. No body reader and no
 * file: the caller adds what its route has.
 *
 * @example
 * ```ts
 * const info = { ...servedRequestInfo(req, target.path, target.query), readBody: bodyReader(req) };
 * ```
 */
export function servedRequestInfo(req: IncomingMessage, path: string, query: string): RequestInfo {
  return {
    method: req.method ?? 'GET',
    path,
    query,
    unparsedUri: req.url ?? '',
    headers: req.headersDistinct,
    remoteAddress: req.socket.remoteAddress ?? '',
    localAddress: req.socket.localAddress ?? '',
    tls: (req.socket as TLSSocket).encrypted === true,
  };
}
