/**
 * `authts/express`: Express 5 middleware. Uses Express's types only; nothing of Express is
 * loaded at run time.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Auth } from '../api.js';
import type { Verdict } from '../phases.js';
import {
  assertAuth,
  decide,
  identityOf,
  refusalBody,
  requestInfo,
  sendRefusal,
  sendServerError,
  setVerdictHeaders,
  type RequestAuth,
} from './request-info.js';

export type { RequestAuth } from './request-info.js';

declare global {
  // Express's own way to type what middleware adds to `req` (declaration merging).
  namespace Express {
    interface Request {
      /** Set by authts's `guard` on every request it lets through. */
      auth?: RequestAuth;
    }
  }
}

/**
 * Options of {@link guard}.
 *
 * @example
 * ```ts
 * app.use(guard(auth, { refusals: 'next' })); // refusals go to your error handler
 * ```
 */
export interface ExpressGuardOptions {
  /**
   * `'respond'` (default): a refusal is answered by the guard, with the verdict's status and
   * headers and a short text body. `'next'`: it is passed on as `next(new AuthRefusedError(…))`,
   * for an error handler of yours to render; its `status` and `headers` (with
   * `WWW-Authenticate`) are what Express's default handler uses.
   */
  readonly refusals?: 'respond' | 'next';
  /**
   * How the application's routes compare paths. Express ignores case unless told otherwise
   * (`app.set('case sensitive routing', true)` and `express.Router({ caseSensitive: true })`
   * for every router), while `<Location>` compares case as httpd does: `/PRIVATE/x` would meet
   * no `<Location /private>` and still reach the `/private/x` route. So the guard takes an `Auth`
   * made with `locationCase: 'insensitive'`, or this option set to `'case-sensitive'` by an
   * application whose every router is case-sensitive; anything else is a `TypeError` here.
   */
  readonly routes?: 'case-sensitive';
}

/**
 * A refused request, handed to Express's error handlers with `refusals: 'next'`. `status`,
 * `statusCode`, `headers` and `expose` follow the http-errors convention Express's final
 * handler reads.
 *
 * @example
 * ```ts
 * app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
 *   if (!(err instanceof AuthRefusedError)) return next(err);
 *   res.status(err.status).set(err.headers).send(`<h1>${err.message}</h1>`);
 * });
 * ```
 */
export class AuthRefusedError extends Error {
  override readonly name = 'AuthRefusedError';
  readonly status: number;
  readonly statusCode: number;
  /** The verdict's headers (`WWW-Authenticate`, …), to be sent with the answer. */
  readonly headers: Readonly<Record<string, string>>;
  /** The refusal's message (`Unauthorized`, …) says nothing secret: safe to show. */
  readonly expose = true;
  readonly verdict: Verdict;

  constructor(verdict: Verdict) {
    super(refusalBody(verdict.status).trim().replace(/^\d+ /, ''));
    this.status = verdict.status;
    this.statusCode = verdict.status;
    this.headers = Object.freeze(Object.fromEntries(verdict.headers));
    this.verdict = verdict;
  }
}

/**
 * Express middleware that lets a request on only when the configuration allows it.
 *
 * The decision uses `req.originalUrl` (the URL the client sent, also inside a mounted router),
 * the socket's peer address (not `X-Forwarded-For`: `trust proxy` does not apply), and the
 * headers as received. An allowed request gets the verdict's headers on `res` and a typed
 * `req.auth` ({@link RequestAuth}); a refused one is answered (or passed to `next(err)`, see
 * {@link ExpressGuardOptions}): `401` with `WWW-Authenticate`, `403`, `400`/`404` for a
 * malformed or encoded-slash path, `500` when a provider cannot answer. Nothing is ever let
 * through on an error.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createAuth } from 'authts';
 * import { guard } from 'authts/express';
 *
 * const auth = await createAuth({ config: 'site.conf' });
 * const app = express();
 * app.use(guard(auth));
 * app.get('/private/', (req, res) => { res.send(`hello ${req.auth?.user}`); });
 * ```
 */
export function guard(auth: Auth, options: ExpressGuardOptions = {}): RequestHandler {
  assertAuth(auth, 'authts/express guard');
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('authts/express guard: options must be an object');
  }
  const refusals = options.refusals ?? 'respond';
  if (refusals !== 'respond' && refusals !== 'next') {
    throw new TypeError(`authts/express guard: options.refusals must be 'respond' or 'next', got ${String(refusals)}`);
  }
  if (options.routes !== undefined && options.routes !== 'case-sensitive') {
    throw new TypeError(`authts/express guard: options.routes must be 'case-sensitive', got ${String(options.routes)}`);
  }
  if (auth.locationCase !== 'insensitive' && options.routes !== 'case-sensitive') {
    throw new TypeError(
      "authts/express guard: Express routes ignore case by default, but this Auth's <Location> sections do not " +
        "(/PRIVATE would pass <Location /private> and reach the /private route). Create it with " +
        "createAuth({ …, locationCase: 'insensitive' }), or make every router case-sensitive and pass " +
        "guard(auth, { routes: 'case-sensitive' }).",
    );
  }
  return async function authtsGuard(req: Request, res: Response, next: NextFunction): Promise<void> {
    const verdict = await decide(auth, requestInfo(req, req.originalUrl ?? req.url));
    try {
      if (!verdict.allowed) {
        if (refusals === 'next') next(new AuthRefusedError(verdict));
        else sendRefusal(req, res, verdict);
        return;
      }
      setVerdictHeaders(res, verdict);
    } catch {
      sendServerError(res);
      return;
    }
    req.auth = identityOf(verdict);
    next();
  };
}
