/**
 * `authts/node`: guards a plain node:http request listener.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Auth } from '../api.js';
import { bodyReader } from '../request-body.js';
import {
  assertAuth,
  decide,
  identityOf,
  requestInfo,
  sendRefusal,
  sendServerError,
  setVerdictHeaders,
  type RequestAuth,
} from './request-info.js';

export type { RequestAuth } from './request-info.js';

/**
 * A request the guard let through: `auth` says who (or that nobody needed to log in).
 *
 * @example
 * ```ts
 * function listener(req: GuardedRequest, res: ServerResponse): void {
 *   res.end(req.auth.user ?? 'guest');
 * }
 * ```
 */
export type GuardedRequest<Req extends IncomingMessage = IncomingMessage> = Req & { readonly auth: RequestAuth };

/**
 * Wraps a node:http request listener so that it runs only for requests the configuration
 * allows. A refused request is answered here with the verdict's status and headers
 * (`401` + `WWW-Authenticate`, `403`, `400`/`404` for a malformed or encoded-slash path, `500`
 * when a provider cannot answer) and a short text body; `listener` never sees it. An allowed
 * request gets the verdict's headers on `res` and `req.auth`, then goes to `listener`.
 *
 * `listener` is called on a later tick, outside any promise, so that an exception it throws
 * behaves as it would in an unguarded listener.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createAuth } from 'authts';
 * import { guard } from 'authts/node';
 *
 * const auth = await createAuth({ config: 'site.conf' });
 * createServer(guard(auth, (req, res) => {
 *   res.end(`hello ${req.auth.user ?? 'guest'}\n`);
 * })).listen(8080, '127.0.0.1');
 * ```
 */
export function guard<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  auth: Auth,
  listener: (req: GuardedRequest<Req>, res: Res) => void,
): (req: Req, res: Res) => void {
  assertAuth(auth, 'authts/node guard');
  if (typeof listener !== 'function') throw new TypeError('authts/node guard: listener must be a function (req, res) => void');
  return function authtsGuardedListener(req: Req, res: Res): void {
    decide(auth, { ...requestInfo(req), readBody: bodyReader(req) }).then((verdict) => {
      if (!verdict.allowed) {
        sendRefusal(req, res, verdict);
        return;
      }
      setVerdictHeaders(res, verdict);
      Object.defineProperty(req, 'auth', { value: identityOf(verdict), enumerable: true, configurable: true });
      process.nextTick(listener, req as GuardedRequest<Req>, res);
    }).catch(() => sendServerError(res));
  };
}
