/**
 * What every adapter shares: node:http's request → {@link CheckRequest}, the identity handed to
 * the application, and the refusal answer. Imports no framework: Express and Fastify both sit
 * on node:http's `IncomingMessage` and `ServerResponse`.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Auth, CheckRequest } from '../api.js';
import type { Verdict } from '../phases.js';

/**
 * Who the phases let through, as the adapters hand it to the application (`req.auth`).
 *
 * @example
 * ```ts
 * const auth: RequestAuth | undefined = req.auth;
 * if (auth?.user !== undefined) console.log(`${auth.user} via ${auth.authType}`, auth.env.get('AUTHENTICATE_MAIL'));
 * ```
 */
export interface RequestAuth {
  /** The authenticated user; `undefined` when the request was allowed without a login. */
  readonly user: string | undefined;
  /** The scheme that authenticated it (`Basic`, …), when one did. */
  readonly authType: string | undefined;
  /** Values set for the application by the phases (`AUTHENTICATE_*`, handler values). */
  readonly env: ReadonlyMap<string, string>;
}

/**
 * The {@link CheckRequest} of a node:http request. `url` defaults to `req.url`; an adapter that
 * sees a rewritten `req.url` (Express inside a mounted router) passes the original one, because
 * sections are written against the URL the client sent. The peer address is the socket's:
 * forwarded-for headers are not trusted here.
 *
 * @example
 * ```ts
 * const verdict = await auth.check(requestInfo(req));
 * ```
 */
export function requestInfo(req: IncomingMessage, url: string = req.url ?? ''): CheckRequest {
  const socket = req.socket as TLSSocket | undefined;
  return {
    method: req.method ?? 'GET',
    url,
    headers: req.headersDistinct,
    remoteAddress: socket?.remoteAddress ?? '',
    localAddress: socket?.localAddress ?? '',
    tls: socket?.encrypted === true,
  };
}

/**
 * The verdict of `auth.check`, or a 500 verdict when the call itself failed (the Auth was
 * closed, …): an adapter never lets a request through on an error.
 *
 * @example
 * ```ts
 * const verdict = await decide(auth, requestInfo(req));
 * ```
 */
export async function decide(auth: Auth, request: CheckRequest): Promise<Verdict> {
  try {
    return await auth.check(request);
  } catch {
    return { allowed: false, status: 500, headers: new Map(), user: undefined, authType: undefined, env: new Map() };
  }
}

/**
 * The identity an allowed verdict carries, as `req.auth`.
 *
 * @example
 * ```ts
 * if (verdict.allowed) req.auth = identityOf(verdict);
 * ```
 */
export function identityOf(verdict: Verdict): RequestAuth {
  return Object.freeze({ user: verdict.user, authType: verdict.authType, env: verdict.env });
}

/**
 * The small plain-text body of a refusal (`401 Unauthorized`). Says nothing about why: the
 * reason is in the log, never in the answer.
 *
 * @example
 * ```ts
 * refusalBody(403); // '403 Forbidden\n'
 * ```
 */
export function refusalBody(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Error'}\n`;
}

/**
 * Answers a refused request on a node:http response: the verdict's status, its headers
 * (`WWW-Authenticate`, a handler's `Location`, …) and {@link refusalBody} (none for HEAD).
 *
 * @example
 * ```ts
 * if (!verdict.allowed) return sendRefusal(req, res, verdict);
 * ```
 */
export function sendRefusal(req: IncomingMessage, res: ServerResponse, verdict: Verdict): void {
  const body = refusalBody(verdict.status);
  res.statusCode = verdict.status;
  for (const [name, value] of verdict.headers) res.setHeader(name, value);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The last resort when answering failed (a handler put an invalid header value in the
 * verdict, …): a bare 500 while nothing was sent, else the connection is cut. Never a pass.
 *
 * @example
 * ```ts
 * answer().catch(() => sendServerError(res));
 * ```
 */
export function sendServerError(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = 500;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(refusalBody(500));
}

/**
 * Puts an allowed verdict's headers on the response: headers a phase set go out whatever the
 * application answers (httpd's `err_headers_out`).
 *
 * @example
 * ```ts
 * if (verdict.allowed) setVerdictHeaders(res, verdict);
 * ```
 */
export function setVerdictHeaders(res: ServerResponse, verdict: Verdict): void {
  for (const [name, value] of verdict.headers) res.setHeader(name, value);
}

/**
 * Throws `TypeError` unless `auth` looks like what `createAuth` returns; `where` names the
 * function for the message.
 *
 * @example
 * ```ts
 * assertAuth(auth, 'authts/express guard');
 * ```
 */
export function assertAuth(auth: unknown, where: string): asserts auth is Auth {
  if (typeof auth !== 'object' || auth === null || typeof (auth as Auth).check !== 'function') {
    throw new TypeError(`${where}: auth must be what createAuth() returns`);
  }
}
