/**
 * `authts/fastify`: a Fastify 5 plugin with an `onRequest` hook.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Auth } from '../api.js';
import { assertAuth, decide, identityOf, refusalBody, requestInfo, type RequestAuth } from './request-info.js';

export type { RequestAuth } from './request-info.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by authts's `guard` hook on every request it lets through. */
    auth?: RequestAuth;
  }
}

/**
 * Options of {@link guard}.
 *
 * @example
 * ```ts
 * await app.register(guard(auth, {}));
 * ```
 */
export interface FastifyGuardOptions {
  /**
   * `'respond'` (default): a refusal is answered by the hook with the verdict's status and
   * headers and a short text body. `'error'`: it is thrown as an error with `statusCode` and
   * `headers`, for your `setErrorHandler` to render (the headers, `WWW-Authenticate` included,
   * are already on the reply).
   */
  readonly refusals?: 'respond' | 'error';
}

/**
 * The error thrown for a refusal with `refusals: 'error'`.
 *
 * @example
 * ```ts
 * app.setErrorHandler((err, request, reply) => {
 *   if (err instanceof AuthRefusedError) return reply.code(err.statusCode).send({ error: err.message });
 *   return reply.send(err);
 * });
 * ```
 */
export class AuthRefusedError extends Error {
  override readonly name = 'AuthRefusedError';
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, headers: ReadonlyMap<string, string>) {
    super(refusalBody(status).trim().replace(/^\d+ /, ''));
    this.statusCode = status;
    this.headers = Object.freeze(Object.fromEntries(headers));
  }
}

/**
 * A Fastify plugin (made with fastify-plugin, so it applies to the context it is registered
 * in, not only its own) whose `onRequest` hook decides every request before routing work is
 * done: a refusal is answered with the verdict's status and headers (`401` +
 * `WWW-Authenticate`, `403`, `400`/`404` for a malformed or encoded-slash path, `500` when a
 * provider cannot answer) and a short text body; an allowed request gets the verdict's headers
 * on the reply and a typed `request.auth` ({@link RequestAuth}).
 *
 * The decision uses the URL the client sent (`request.originalUrl`) and the socket's peer
 * address (not `X-Forwarded-For`: `trustProxy` does not apply).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createAuth } from 'authts';
 * import { guard } from 'authts/fastify';
 *
 * const auth = await createAuth({ config: 'site.conf' });
 * const app = Fastify();
 * await app.register(guard(auth));
 * app.get('/private/', async (request) => `hello ${request.auth?.user}`);
 * ```
 */
export function guard(auth: Auth, options: FastifyGuardOptions = {}): FastifyPluginAsync {
  assertAuth(auth, 'authts/fastify guard');
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('authts/fastify guard: options must be an object');
  }
  const refusals = options.refusals ?? 'respond';
  if (refusals !== 'respond' && refusals !== 'error') {
    throw new TypeError(`authts/fastify guard: options.refusals must be 'respond' or 'error', got ${String(refusals)}`);
  }

  async function authtsGuardHook(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const verdict = await decide(auth, requestInfo(request.raw, request.originalUrl));
    for (const [name, value] of verdict.headers) reply.header(name, value);
    if (!verdict.allowed) {
      if (refusals === 'error') throw new AuthRefusedError(verdict.status, verdict.headers);
      // An async hook that sent a reply returns it: the request ends here, no handler runs.
      return reply.code(verdict.status).type('text/plain; charset=utf-8').send(refusalBody(verdict.status));
    }
    request.auth = identityOf(verdict);
    return undefined;
  }

  return fp(
    async function authtsGuard(app) {
      // One decorator per context, whichever number of guards is registered in it.
      if (!app.hasRequestDecorator('auth')) app.decorateRequest('auth', undefined);
      app.addHook('onRequest', authtsGuardHook);
    },
    { fastify: '5.x', name: 'authts-guard' },
  );
}
