/**
 * Forward-auth: `authts serve` deciding for a proxy that serves the content itself (nginx
 * `auth_request`, Traefik ForwardAuth, Caddy `forward_auth`, Envoy `ext_authz` in HTTP mode).
 *
 * The proxy describes the original request (method, path, host, client address); authts runs
 * the phases for it with the same `<Location>` sections and the same path normalization as a
 * request it serves itself, and answers 2xx with identity headers, 401 with the challenge, 403,
 * or the failure status. docs/forward-auth.md is the user's side of this file.
 *
 * Contracts kept here:
 * - Only peers listed by `AuthTsTrustedProxy` may ask; anyone else gets 403 (the description of
 *   a request is only worth what its sender is).
 * - The decision never maps to the DocumentRoot: the proxy's upstream serves the content, so
 *   `<Directory>` and `<Files>` sections do not apply (as for httpd's own proxied requests).
 * - A spelling of the path that another server may read as a different path (`..`, `//`, `;`,
 *   `\`, `%25`) is refused with 400 instead of decided: the upstream receives the raw spelling.
 * - A 2xx always carries every configured identity header, empty when there is no value, so
 *   that a proxy copying them onto the upstream request overwrites what the client sent.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import ipaddr from 'ipaddr.js';
import type { Config, DirConfig } from '../config/config.js';
import type { AuthEngine } from '../engine.js';
import { AuthTsError } from '../errors.js';
import { forwardAuth, type ForwardAuthSettings, type TrustedProxy } from '../forward-auth-module.js';
import type { Logger } from '../log.js';
import type { RequestObserver } from '../observe.js';
import type { Verdict } from '../phases.js';
import { createAuthRequest, type RequestInfo } from '../request-state.js';
import { normalizeRequestTarget } from './paths.js';

/** Which proxy convention described the original request. */
export type ForwardAuthStyle = 'nginx' | 'forwarded' | 'envoy';

/** The auth request as it reached the endpoint. */
export interface ForwardAuthInput {
  /** The auth request's own target (`req.url`). */
  readonly url: string;
  /** The auth request's own method. */
  readonly method: string;
  /** Its headers, lower-case names (node:http's `headersDistinct` or `headers`). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The address of the peer that sent it (the proxy). */
  readonly peerAddress: string;
}

/** The original request, as a trusted proxy described it. */
export interface ForwardedRequest {
  readonly style: ForwardAuthStyle;
  /** The original method (upper-case token). */
  readonly method: string;
  /** The original request target, raw (origin form: path and query). */
  readonly target: string;
  /** The original `Host`, when the proxy told it. */
  readonly host: string | undefined;
  /** True when the proxy says the client used https. */
  readonly tls: boolean;
  /** The client's address from `X-Forwarded-For`; '' when the proxy did not say. */
  readonly clientAddress: string;
  /** The headers the phases see (see {@link readForwardedRequest}). */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
}

/** Log codes of refused forward-auth requests; each has a row in docs/errors.md. */
export type ForwardAuthRefusalCode = 'FORWARD_AUTH_UNTRUSTED' | 'FORWARD_AUTH_BAD_REQUEST' | 'FORWARD_AUTH_AMBIGUOUS_PATH';

/** What {@link readForwardedRequest} answers. */
export type ForwardedResult =
  | { readonly ok: true; readonly request: ForwardedRequest }
  | { readonly ok: false; readonly status: 400 | 403; readonly code: ForwardAuthRefusalCode; readonly reason: string };

/** Headers that describe the hop, not the original request; never shown to the phases. */
const HOP_HEADERS = new Set([
  'connection',
  'content-length',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'x-original-uri',
  'x-original-method',
  'x-forwarded-uri',
  'x-forwarded-method',
]);

/** RFC 9110 `token`, what a method is made of. */
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * True when the request `url` is for the forward-auth endpoint: its path is the configured one,
 * or below it (Envoy's `path_prefix` + original path). Cheap enough to run first for every
 * request (one Map lookup when forward-auth is off).
 *
 * @example
 * ```ts
 * // AuthTsForwardAuth /_authts
 * isForwardAuthRequest(config, '/_authts');           // true  (nginx, Traefik, Caddy)
 * isForwardAuthRequest(config, '/_authts/private/x'); // true  (Envoy)
 * isForwardAuthRequest(config, '/_authtsx');          // false
 * ```
 */
export function isForwardAuthRequest(config: Config, url: string | undefined): boolean {
  const path = config.serverSettings(forwardAuth).path;
  if (path === undefined || url === undefined || !url.startsWith(path)) return false;
  const next = url.charCodeAt(path.length);
  return Number.isNaN(next) || next === 0x2f || next === 0x3f;
}

/** An IP address as a proxy writes it; IPv4-mapped IPv6 comes back as IPv4. */
function parseIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (!ipaddr.IPv6.isValid(bare)) return undefined;
  const v6 = ipaddr.IPv6.parse(bare);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

function inList(proxies: readonly TrustedProxy[], address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return proxies.some((proxy) => proxy.range[0].kind() === address.kind() && address.match(proxy.range));
}

/**
 * True when `address` (a socket's remote address) is covered by an `AuthTsTrustedProxy` entry.
 *
 * @example
 * ```ts
 * isTrustedProxy([parseTrustedProxy('10.0.0.0/8')!], '::ffff:10.1.2.3'); // true
 * isTrustedProxy([parseTrustedProxy('10.0.0.0/8')!], '192.0.2.1');       // false
 * ```
 */
export function isTrustedProxy(proxies: readonly TrustedProxy[], address: string): boolean {
  const parsed = parseIp(address);
  return parsed !== undefined && inList(proxies, parsed);
}

/**
 * The client's address from `X-Forwarded-For`, as mod_remoteip finds it: walk the list from the
 * right (the entry the nearest proxy added) and skip trusted proxies; the first address that is
 * not one is the client. When every entry is trusted, the leftmost is. Entries left of the client
 * were written by someone untrusted and are never read, so a client cannot choose its address by
 * sending its own `X-Forwarded-For`.
 *
 * No header gives `''`: the client is unknown, and `Require ip`/`Require local` match nothing.
 * An entry that is not an IP address, reached before the client, is a refusal.
 *
 * @example
 * ```ts
 * const trusted = [parseTrustedProxy('10.0.0.0/8')!];
 * clientAddress(trusted, '6.6.6.6, 192.0.2.7, 10.0.0.2'); // { ok: true, address: '192.0.2.7' }
 * clientAddress(trusted, undefined);                      // { ok: true, address: '' }
 * ```
 */
export function clientAddress(
  proxies: readonly TrustedProxy[],
  forwardedFor: string | undefined,
): { readonly ok: true; readonly address: string } | { readonly ok: false; readonly reason: string } {
  if (forwardedFor === undefined || forwardedFor.trim() === '') return { ok: true, address: '' };
  const entries = forwardedFor.split(',').map((entry) => entry.trim());
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i] ?? '';
    const parsed = parseIp(entry);
    if (!parsed) return { ok: false, reason: `X-Forwarded-For entry ${JSON.stringify(entry.slice(0, 64))} is not an IP address` };
    if (i === 0 || !inList(proxies, parsed)) return { ok: true, address: parsed.toString() };
  }
  return { ok: true, address: '' };
}

/**
 * Why a raw request target may be read as another path by the server behind the proxy, or
 * `undefined` when it cannot. authts decides on the normalized path, but the upstream receives
 * the raw spelling, so where the two can differ the only safe answer is a refusal:
 *
 * - a `.` or `..` segment, also percent-encoded (`/private/../public` is `/public` to authts and
 *   may be `/private/…` to a server that matches prefixes on the raw path);
 * - an empty segment (`//`): a URL parser reads `//a/b` as host `a`, path `/b`;
 * - `;` (Tomcat, Jetty and Spring cut a segment at `;`: `/private;x/y` is `/private/y` there);
 * - `\` (read as `/` by some servers);
 * - an encoded `%` (`%25`): a server that decodes twice reads another path.
 *
 * The query is not looked at. Call it on a target {@link normalizeRequestTarget} accepted.
 *
 * @example
 * ```ts
 * ambiguousSpelling('/private/x?a=..');   // undefined
 * ambiguousSpelling('/public/../private'); // 'a "." or ".." segment …'
 * ambiguousSpelling('/private;jsessionid=1/x'); // 'a ";" …'
 * ```
 */
export function ambiguousSpelling(target: string): string | undefined {
  const qmark = target.indexOf('?');
  const raw = qmark < 0 ? target : target.slice(0, qmark);
  const decoded = raw.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  if (decoded.includes('%')) return 'an encoded "%" (%25): a server that decodes twice would read another path';
  if (decoded.includes('\\')) return 'a backslash: some servers read it as "/"';
  if (decoded.includes(';')) return 'a ";": servers with path parameters (Tomcat, Jetty, Spring) cut the segment there';
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === '.' || segment === '..') return 'a "." or ".." segment: the server behind the proxy may resolve it differently';
    if (segment === '' && i < segments.length - 1) return 'an empty segment ("//"): a URL parser reads "//a/b" as host "a"';
  }
  return undefined;
}

/** All values of a header, joined as one line (`undefined` when absent). */
function joined(headers: ForwardAuthInput['headers'], name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.length === 0 ? undefined : value.join(', ');
}

/** The one value of a header; `null` when it came more than once (ambiguous). */
function single(headers: ForwardAuthInput['headers'], name: string): string | undefined | null {
  const value = headers[name];
  if (value === undefined || typeof value === 'string') return value;
  if (value.length > 1) return null;
  return value[0];
}

/** The first element of a comma-separated header (the one the client-facing proxy wrote). */
function first(headers: ForwardAuthInput['headers'], name: string): string | undefined {
  const value = joined(headers, name)?.split(',')[0]?.trim();
  return value === '' ? undefined : value;
}

function refuse(status: 400 | 403, code: ForwardAuthRefusalCode, reason: string): ForwardedResult {
  return { ok: false, status, code, reason };
}

/**
 * Reads the original request out of a forward-auth request. The style is told by the request:
 *
 * - a URL below the endpoint (`/_authts/private/x?q`) is **Envoy** `ext_authz`: `path_prefix`
 *   + the original path and query; the method is the auth request's own; the host its `Host`;
 * - otherwise `X-Original-URI` + `X-Original-Method` is **nginx** `auth_request`;
 * - otherwise `X-Forwarded-Uri` + `X-Forwarded-Method` is **Traefik** ForwardAuth or **Caddy**
 *   `forward_auth`.
 *
 * Both nginx and Traefik/Caddy headers at once is a refusal, never a choice: each proxy passes
 * the client's other headers through, so a client could add the other style's pair. A missing
 * method header is a refusal too (nginx's subrequest is always a GET; guessing would decide
 * `<Limit POST>` sections wrongly). In every style `X-Forwarded-Host` (else `Host`) is the host,
 * `X-Forwarded-Proto` says https, and `X-Forwarded-For` gives the client (see
 * {@link clientAddress}).
 *
 * The phases see the auth request's headers without hop-by-hop ones, `Content-Length`, the
 * description headers above and the configured identity headers (a client-supplied
 * `Remote-User` never reaches a handler); `Host` is the original host.
 *
 * Trust is checked first: a peer not covered by `AuthTsTrustedProxy` is refused with 403,
 * whatever it sent.
 *
 * @example
 * ```ts
 * const result = readForwardedRequest(settings, {
 *   url: '/_authts', method: 'GET', peerAddress: '127.0.0.1',
 *   headers: { 'x-original-uri': '/private/x', 'x-original-method': 'POST', 'x-forwarded-for': '192.0.2.7' },
 * });
 * // { ok: true, request: { style: 'nginx', method: 'POST', target: '/private/x', clientAddress: '192.0.2.7', … } }
 * ```
 */
export function readForwardedRequest(settings: ForwardAuthSettings, input: ForwardAuthInput): ForwardedResult {
  const endpoint = settings.path;
  if (endpoint === undefined) throw new TypeError('readForwardedRequest: AuthTsForwardAuth is not configured');
  if (!isTrustedProxy(settings.trustedProxies, input.peerAddress)) {
    return refuse(403, 'FORWARD_AUTH_UNTRUSTED', `peer ${input.peerAddress || '(unknown)'} is not an AuthTsTrustedProxy`);
  }
  const h = input.headers;
  let style: ForwardAuthStyle;
  let method: string | undefined | null;
  let target: string | undefined | null;
  if (input.url.startsWith(`${endpoint}/`)) {
    style = 'envoy';
    method = input.method;
    target = input.url.slice(endpoint.length);
  } else {
    const nginx = h['x-original-uri'] !== undefined || h['x-original-method'] !== undefined;
    const forwarded = h['x-forwarded-uri'] !== undefined || h['x-forwarded-method'] !== undefined;
    if (nginx && forwarded) {
      return refuse(400, 'FORWARD_AUTH_BAD_REQUEST', 'both X-Original-URI/-Method and X-Forwarded-Uri/-Method: the proxy must send one pair and clear the other');
    }
    if (!nginx && !forwarded) {
      return refuse(400, 'FORWARD_AUTH_BAD_REQUEST', 'no X-Original-URI or X-Forwarded-Uri: the proxy did not describe the original request');
    }
    style = nginx ? 'nginx' : 'forwarded';
    const prefix = nginx ? 'x-original-' : 'x-forwarded-';
    target = single(h, `${prefix}uri`);
    method = single(h, `${prefix}method`);
    const names = nginx ? 'X-Original-URI and X-Original-Method' : 'X-Forwarded-Uri and X-Forwarded-Method';
    if (target === null || method === null) return refuse(400, 'FORWARD_AUTH_BAD_REQUEST', `${names} must each be sent once`);
    if (target === undefined || method === undefined) return refuse(400, 'FORWARD_AUTH_BAD_REQUEST', `${names} must both be sent`);
  }
  if (!METHOD.test(method)) return refuse(400, 'FORWARD_AUTH_BAD_REQUEST', 'the original method is not an HTTP method token');
  if (!target.startsWith('/')) {
    return refuse(400, 'FORWARD_AUTH_BAD_REQUEST', 'the original request target must be a path (origin form, starting with "/")');
  }
  const client = clientAddress(settings.trustedProxies, joined(h, 'x-forwarded-for'));
  if (!client.ok) return refuse(400, 'FORWARD_AUTH_BAD_REQUEST', client.reason);

  const host = first(h, 'x-forwarded-host') ?? single(h, 'host') ?? undefined;
  const proto = first(h, 'x-forwarded-proto')?.toLowerCase();
  const identity = new Set(
    [settings.headers.user, settings.headers.groups, settings.headers.email]
      .filter((name): name is string => name !== undefined)
      .map((name) => name.toLowerCase()),
  );
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined || HOP_HEADERS.has(name) || identity.has(name) || name === 'host') continue;
    headers[name] = value;
  }
  if (host !== undefined) headers['host'] = host;
  return {
    ok: true,
    request: {
      style,
      method: method.toUpperCase(),
      target,
      host,
      tls: proto === 'https' || proto === 'wss',
      clientAddress: client.address,
      headers,
    },
  };
}

/** A header value made of `text`: UTF-8 bytes, one character per byte, as node:http writes them. */
function headerValue(text: string, what: string): string {
  // A control character would end the header line (or be refused by node:http): no identity
  // that needs one can be told to the proxy.
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(text)) {
    throw new AuthTsError('FORWARD_AUTH_IDENTITY', `the ${what} contains a control character and cannot be sent in a header`);
  }
  return Buffer.from(text, 'utf8').toString('latin1');
}

/**
 * The identity headers of a 2xx: the user, the user's groups (asked of every module that has
 * `userGroups`, under the request's sections, in module order, without repeats) and the e-mail
 * from the verdict's `AUTHENTICATE_MAIL` or `AUTHENTICATE_EMAIL`. Every configured header is
 * present, empty when there is no value. Throws `AuthTsError` when a group source cannot answer
 * or a value cannot be put into a header.
 *
 * @example
 * ```ts
 * await identityHeaders(engine, info, verdict, settings, log);
 * // Map { 'Remote-User' => 'alice', 'Remote-Groups' => 'admins,staff', 'Remote-Email' => '' }
 * ```
 */
export async function identityHeaders(
  engine: AuthEngine,
  info: RequestInfo,
  verdict: Verdict,
  settings: ForwardAuthSettings,
  log: Logger,
): Promise<Map<string, string>> {
  const names = settings.headers;
  const out = new Map<string, string>();
  const user = verdict.user;
  if (names.user !== undefined) out.set(names.user, headerValue(user ?? '', 'user name'));
  if (names.groups !== undefined) {
    const groups: string[] = [];
    if (user !== undefined) {
      const config = engine.config;
      const dir = config.resolve({ path: info.path, filename: undefined, isDirectory: false });
      const req = createAuthRequest(config, dir, info, log);
      for (const module of config.registry.modules) {
        if (!module.userGroups) continue;
        for (const group of await module.userGroups(req, user)) if (!groups.includes(group)) groups.push(group);
      }
    }
    out.set(names.groups, headerValue(groups.join(','), 'group list'));
  }
  if (names.email !== undefined) {
    const email = verdict.env.get('AUTHENTICATE_MAIL') ?? verdict.env.get('AUTHENTICATE_EMAIL') ?? '';
    out.set(names.email, headerValue(email, 'e-mail address'));
  }
  return out;
}

/** Sends the answer: 2xx with no body; anything else with a short HTML body, as httpd's. */
function respond(res: ServerResponse, status: number, headers: ReadonlyMap<string, string>, head: boolean): void {
  res.statusCode = status;
  for (const [name, value] of headers) res.setHeader(name, value);
  if (status >= 200 && status < 300) {
    res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = `<!DOCTYPE html>\n<html><head><title>${status} ${reason}</title></head>\n<body><h1>${reason}</h1></body></html>\n`;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(head ? undefined : body);
}

/**
 * The {@link RequestInfo} the phases decide on for the original request a proxy describes, its
 * target normalized: no file (only `<Location>` sections apply), the client's address and TLS
 * as the proxy tells them — not how the proxy reached authts.
 *
 * @example
 * ```ts
 * const info = originalRequestInfo(read.request, normalized, req.socket.localAddress ?? '');
 * ```
 */
export function originalRequestInfo(original: ForwardedRequest, target: { readonly path: string; readonly query: string }, localAddress = ''): RequestInfo {
  return {
    method: original.method,
    path: target.path,
    query: target.query,
    unparsedUri: original.target,
    filename: undefined,
    isDirectory: false,
    headers: original.headers,
    remoteAddress: original.clientAddress,
    localAddress,
    tls: original.tls,
  };
}

/**
 * How `authts serve` watches a forward-auth decision (access log user, metrics, audit line;
 * `../metrics/server-observability.ts`): `observer` goes on the original request's info, and
 * `decided` is told the original request and its verdict.
 */
export interface DecisionWatch {
  readonly observer?: RequestObserver | undefined;
  decided(info: RequestInfo, verdict: Verdict, dir: DirConfig | undefined): void;
}

/**
 * Answers one forward-auth request (one for which {@link isForwardAuthRequest} is true):
 * 403 for an untrusted peer; 400 for a request that does not describe an original request or
 * describes one whose path is ambiguous ({@link ambiguousSpelling}); 400/404 where
 * `normalizeRequestTarget` refuses the original target (as `authts serve` would); otherwise the
 * verdict of the phases for the original request: 200 with identity headers, or its status and
 * headers (401 + `WWW-Authenticate`, 403, 500, a handler's redirect). A group source that cannot
 * answer, or an identity that cannot go into a header, is 500.
 *
 * @example
 * ```ts
 * // in the server's request handler, before anything else:
 * if (isForwardAuthRequest(engine.config, req.url)) return answerForwardAuth(engine, req, res, log);
 * ```
 */
export async function answerForwardAuth(engine: AuthEngine, req: IncomingMessage, res: ServerResponse, log: Logger, watch?: DecisionWatch): Promise<void> {
  const head = req.method === 'HEAD';
  const settings = engine.config.serverSettings(forwardAuth);
  const read = readForwardedRequest(settings, {
    url: req.url ?? '',
    method: req.method ?? 'GET',
    headers: req.headersDistinct,
    peerAddress: req.socket.remoteAddress ?? '',
  });
  if (!read.ok) {
    log.warn({ code: read.code, peer: req.socket.remoteAddress }, `forward-auth request refused: ${read.reason}`);
    respond(res, read.status, new Map(), head);
    return;
  }
  const original = read.request;
  const target = normalizeRequestTarget(original.target);
  if (!target.ok) {
    log.info({ reason: target.reason, style: original.style }, 'forward-auth: bad original request target');
    respond(res, target.status, new Map(), head);
    return;
  }
  const ambiguous = ambiguousSpelling(original.target);
  if (ambiguous !== undefined) {
    log.warn({ code: 'FORWARD_AUTH_AMBIGUOUS_PATH', path: target.path, style: original.style }, `forward-auth request refused: the path has ${ambiguous}`);
    respond(res, 400, new Map(), head);
    return;
  }
  const info = originalRequestInfo(original, target, req.socket.localAddress ?? '');
  const { verdict, dir } = await engine.decide(watch?.observer ? { ...info, observer: watch.observer } : info);
  watch?.decided(info, verdict, dir);
  if (!verdict.allowed) {
    respond(res, verdict.status, verdict.headers, head);
    return;
  }
  let identity: Map<string, string>;
  try {
    identity = await identityHeaders(engine, info, verdict, settings, log);
  } catch (err) {
    const code = err instanceof AuthTsError ? err.code : 'FORWARD_AUTH_IDENTITY';
    log.error({ err, code, path: target.path }, 'forward-auth: the identity could not be answered');
    respond(res, 500, new Map(), head);
    return;
  }
  respond(res, 200, new Map([...verdict.headers, ...identity]), head);
}
