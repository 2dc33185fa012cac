/**
 * The reverse-proxy side of `authts serve` (httpd's mod_proxy_http and mod_proxy_wstunnel):
 * which requests are proxied (`ProxyPass`), what the upstream receives, and how its answer comes
 * back (`ProxyPassReverse`, hop-by-hop headers, 502/504).
 *
 * The transport is http-proxy-3 (a maintained TypeScript rewrite of `http-proxy`; see
 * docs/proxy.md for why it over undici/@fastify/reply-from). authts keeps the security-relevant
 * parts in its own hands and passes the library a finished request: the upstream path, every
 * request header (built here from `rawHeaders`), the status and headers of the answer
 * (`selfHandleResponse`), and the classification of failures.
 */
import { Agent, ServerResponse, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TLSSocket } from 'node:tls';
import { ProxyServer } from 'http-proxy-3';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Verdict } from '../phases.js';
import type { RequestInfo } from '../request-state.js';
import { servedRequestInfo } from './request-info.js';
import {
  DEFAULT_PROXY_TIMEOUT_MS,
  proxyModule,
  type ProxyMapping,
  type ProxyTarget,
  type ReverseMapping,
} from '../proxy-module.js';

/**
 * Where one request goes: what {@link proxyRouteFor} answers for a proxied path.
 *
 * @example
 * ```ts
 * const route: ProxyRoute | undefined = proxyRouteFor(config, '/app/a b', '/app/a%20b?x=1');
 * // route.upstreamPath → '/app/a%20b?x=1', route.target.origin → 'http://127.0.0.1:3000'
 * ```
 */
export interface ProxyRoute {
  readonly target: ProxyTarget;
  /** Path and query the upstream receives (see {@link upstreamPathFor}). */
  readonly upstreamPath: string;
  readonly timeoutMs: number;
  /** The `ProxyPassReverse` lines that apply to this request's path. */
  readonly reverse: readonly ReverseMapping[];
  /** The header that carries the user (`AuthTsUserHeader`). */
  readonly userHeader: string;
  /** The `ProxyPass` line that matched, for logs. */
  readonly mapping: ProxyMapping;
}

/**
 * `prefix` covers `path` as httpd's `alias_match` decides on a normalized path: a plain prefix
 * that ends at a `/` boundary (`/app` covers `/app`, `/app/` and `/app/x`, not `/apple`).
 */
function covers(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  if (prefix.endsWith('/')) return true;
  const next = path[prefix.length];
  return next === undefined || next === '/';
}

/** Bytes of a path segment that go upstream unescaped: RFC 3986 `pchar` and `/`. */
const PATH_SAFE = new Set(
  Array.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/", (c) => c.charCodeAt(0)),
);

/**
 * Percent-encodes a decoded path for the upstream as httpd's `ap_proxy_canonenc` does: UTF-8
 * bytes outside RFC 3986 `pchar` and `/` become `%XX` (upper-case hex); everything else stays.
 *
 * @example
 * ```ts
 * encodePath('/a b/café?#%'); // → '/a%20b/caf%C3%A9%3F%23%25'
 * ```
 */
export function encodePath(decoded: string): string {
  let out = '';
  for (const byte of Buffer.from(decoded, 'utf8')) {
    out += PATH_SAFE.has(byte) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The path and query the upstream receives for `path` under `mapping`.
 *
 * The upstream gets the path that was **authorized**, never the client's spelling: the
 * normalized path (dot segments resolved, `//` merged, unreserved escapes decoded, as
 * `normalizeRequestTarget` made it for the `<Location>` match) with the mapping's prefix
 * replaced by the URL's path and the rest re-encoded by {@link encodePath}. So `/app/../app/x`,
 * `/app/%2e/x` and `/app//x` all reach the upstream as `/app/x`, and `/app/caf%c3%a9` as
 * `/app/caf%C3%A9`. The query is passed as the client sent it (httpd does not touch it either);
 * a `?` with nothing after it is dropped (http-proxy-3 drops it; httpd would keep it).
 *
 * @example
 * ```ts
 * upstreamPathFor(mapping, '/app/x y', 'q=1', true); // mapping /app → http://h/app: '/app/x%20y?q=1'
 * ```
 */
export function upstreamPathFor(mapping: ProxyMapping & { target: ProxyTarget }, path: string, query: string, hasQuery: boolean): string {
  const joined = mapping.target.path + encodePath(path.slice(mapping.prefix.length));
  const withSlash = joined.startsWith('/') ? joined : `/${joined}`;
  return hasQuery && query !== '' ? `${withSlash}?${query}` : withSlash;
}

/**
 * Decides whether a request is proxied, before any filesystem mapping (a proxied URL never maps
 * to the DocumentRoot, as in httpd). The order is httpd's `proxy_trans`: the `ProxyPass` of the
 * innermost matching `<Location>` first, then the top-level lines in configuration order; the
 * first that covers the path decides, and `!` means "not proxied".
 *
 * `path` is the normalized path; `rawTarget` is the request-target as received (`req.url`),
 * from which the query is taken unchanged. Returns `undefined` when the request is not proxied.
 * Costs one settings lookup when the configuration has no `ProxyPass`.
 *
 * @example
 * ```ts
 * const target = normalizeRequestTarget(req.url ?? '');
 * const route = target.ok ? proxyRouteFor(engine.config, target.path, req.url ?? '') : undefined;
 * ```
 */
export function proxyRouteFor(config: Config, path: string, rawTarget: string): ProxyRoute | undefined {
  const server = config.serverSettings(proxyModule);
  if (server.passes.length === 0 && !server.locationPasses) return undefined;
  let mapping: ProxyMapping | undefined;
  let dir = server.locationPasses ? config.resolve({ path }) : undefined;
  const local = dir?.get(proxyModule).pass;
  if (local !== undefined && covers(local.prefix, path)) {
    mapping = local;
  } else {
    mapping = server.passes.find((m) => covers(m.prefix, path));
  }
  if (mapping === undefined || mapping.target === 'exclude') return undefined;
  dir ??= config.resolve({ path });
  const qmark = rawTarget.indexOf('?');
  return {
    target: mapping.target,
    upstreamPath: upstreamPathFor(mapping as ProxyMapping & { target: ProxyTarget }, path, qmark < 0 ? '' : rawTarget.slice(qmark + 1), qmark >= 0),
    timeoutMs: mapping.timeoutMs ?? server.timeoutMs ?? DEFAULT_PROXY_TIMEOUT_MS,
    reverse: dir.get(proxyModule).reverse,
    userHeader: server.userHeader,
    mapping,
  };
}

/**
 * What the phases see of a proxied request: the normalized path and no filename, so only
 * `<Location>` sections apply (as in httpd, where a proxied URL maps to no file).
 *
 * @example
 * ```ts
 * const verdict = await engine.check(proxiedRequestInfo(req, target.path, target.query));
 * ```
 */
export function proxiedRequestInfo(req: IncomingMessage, path: string, query: string): RequestInfo {
  return { ...servedRequestInfo(req, path, query), filename: undefined, isDirectory: false };
}

/** Hop-by-hop headers (RFC 9110 §7.6.1, httpd's list): never forwarded, in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Header names compared as CGI/WSGI/PHP see them: case-folded, `_` the same as `-`. */
function headerKey(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

/** The header names a message's `Connection` headers list (they are hop-by-hop too). */
function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]!.split(',')) {
      const t = token.trim().toLowerCase();
      if (t !== '') tokens.add(t);
    }
  }
  return tokens;
}

/** True for a WebSocket upgrade request (httpd's `upgrade=websocket`, the default). */
function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return (
    req.method === 'GET' &&
    typeof upgrade === 'string' &&
    upgrade.split(',').some((p) => p.trim().toLowerCase() === 'websocket')
  );
}

/** A user name as header bytes: UTF-8, written by Node one byte per character (latin1). */
function userHeaderValue(user: string): string | undefined {
  const bytes = Buffer.from(user, 'utf8').toString('latin1');
  // Control characters cannot be sent in a header; such a name never passes Basic auth (400).
  return /[\x00-\x1f\x7f]/.test(bytes) ? undefined : bytes;
}

/**
 * The request headers the upstream receives, in the client's order:
 *
 * - hop-by-hop headers and every header the client's `Connection` names are dropped, as are
 *   `Host` (replaced by the upstream's), `Expect` (node:http already answered `100 Continue`),
 *   `Content-Length`/`Transfer-Encoding` (set again from what node:http parsed);
 * - every header that **is** the user header whatever its case or its `_`/`-` spelling
 *   (`x-remote-user`, `X_Remote_User`, …) and however often it was sent, is dropped; the
 *   authenticated user, when there is one, is then set under the configured name;
 * - `X-Forwarded-For` and `X-Forwarded-Host` get the client address and the `Host` header
 *   appended (`, `-separated, as httpd's `apr_table_mergen`); `X-Forwarded-Proto` is set to
 *   `http`/`https`, replacing the client's (httpd sets none; see docs/proxy.md).
 */
function upstreamRequestHeaders(req: IncomingMessage, route: ProxyRoute, user: string | undefined, websocket: boolean): Record<string, string | string[]> {
  const raw = req.rawHeaders;
  const hop = connectionTokens(raw);
  const userKey = headerKey(route.userHeader);
  const out: Record<string, string | string[]> = {};
  const add = (name: string, value: string): void => {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  };
  const forwardedFor: string[] = [];
  const forwardedHost: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (HOP_BY_HOP.has(lower) || hop.has(lower) || headerKey(lower) === userKey) continue;
    if (lower === 'host' || lower === 'expect' || lower === 'content-length' || lower === 'x-forwarded-proto') continue;
    if (lower === 'x-forwarded-for') forwardedFor.push(value);
    else if (lower === 'x-forwarded-host') forwardedHost.push(value);
    else add(lower, value);
  }
  out['host'] = route.target.host;
  const length = req.headers['content-length'];
  if (length !== undefined) out['content-length'] = length;
  else if (req.headers['transfer-encoding'] !== undefined) out['transfer-encoding'] = 'chunked';
  if (websocket) {
    out['connection'] = 'Upgrade';
    out['upgrade'] = 'websocket';
  }
  const tls = (req.socket as TLSSocket).encrypted === true;
  forwardedFor.push(req.socket.remoteAddress ?? '');
  out['x-forwarded-for'] = forwardedFor.join(', ');
  const host = req.headers.host;
  if (host !== undefined) forwardedHost.push(host);
  if (forwardedHost.length > 0) out['x-forwarded-host'] = forwardedHost.join(', ');
  out['x-forwarded-proto'] = tls ? 'https' : 'http';
  if (user !== undefined) {
    const value = userHeaderValue(user);
    if (value !== undefined) out[route.userHeader] = value;
  }
  return out;
}

/** `scheme://host[:port]` of this server as the client named it (httpd: `UseCanonicalName Off`). */
function selfOrigin(req: IncomingMessage): string {
  const tls = (req.socket as TLSSocket).encrypted === true;
  const scheme = tls ? 'https' : 'http';
  const defaultPort = tls ? 443 : 80;
  const host = req.headers.host;
  let name: string;
  let port: number;
  const m = host === undefined ? null : /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(host);
  if (m) {
    name = m[1]!;
    port = m[2] !== undefined ? Number(m[2]) : (req.socket.localPort ?? defaultPort);
  } else {
    const local = req.socket.localAddress ?? '127.0.0.1';
    name = local.includes(':') ? `[${local}]` : local;
    port = req.socket.localPort ?? defaultPort;
  }
  return port === defaultPort ? `${scheme}://${name}` : `${scheme}://${name}:${port}`;
}

/**
 * `ProxyPassReverse`, as httpd's `ap_proxy_location_reverse_map`: the first line whose URL is a
 * (case-insensitive) prefix of `value` replaces that prefix by its local path; a result without
 * a scheme is made absolute with this server's origin as the client named it.
 *
 * @example
 * ```ts
 * reverseMap('http://127.0.0.1:3000/app/there', [{ path: '/app', url: 'http://127.0.0.1:3000/app' }], 'http://example.org');
 * // → 'http://example.org/app/there'
 * ```
 */
export function reverseMap(value: string, reverse: readonly ReverseMapping[], origin: string): string {
  for (const { path, url } of reverse) {
    if (value.length >= url.length && value.slice(0, url.length).toLowerCase() === url.toLowerCase()) {
      const mapped = path + value.slice(url.length);
      return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(mapped) ? mapped : origin + mapped;
    }
  }
  return value;
}

/** Headers `ProxyPassReverse` rewrites (httpd: Location, Content-Location, URI). */
const REVERSE_MAPPED = new Set(['location', 'content-location', 'uri']);

/** httpd's canned text for 502 (with `ap_proxyerror`'s reason) and 504. */
function proxyErrorPage(status: 502 | 504, reason: string): { statusMessage: string; body: string } {
  const head = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n<html><head>\n';
  if (status === 504) {
    return {
      statusMessage: 'Gateway Timeout',
      body: `${head}<title>504 Gateway Timeout</title>\n</head><body>\n<h1>Gateway Timeout</h1>\n<p>The gateway did not receive a timely response\nfrom the upstream server or application.</p>\n</body></html>\n`,
    };
  }
  return {
    statusMessage: 'Proxy Error',
    body:
      `${head}<title>502 Proxy Error</title>\n</head><body>\n<h1>Proxy Error</h1>\n` +
      `<p>The proxy server received an invalid\r\nresponse from an upstream server.<br />\r\n` +
      `The proxy server could not handle the request<p>Reason: <strong>${reason}</strong></p></p>\n</body></html>\n`,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What a failed upstream exchange is answered with, and its log code. */
function classify(err: NodeJS.ErrnoException, timedOut: boolean, target: ProxyTarget): { status: 502 | 504; reason: string; code: string } {
  if (timedOut) return { status: 504, reason: 'timeout', code: 'UPSTREAM_TIMEOUT' };
  switch (err.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 502, reason: `DNS lookup failure for: ${escapeHtml(target.host)}`, code: 'UPSTREAM_UNAVAILABLE' };
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return { status: 502, reason: 'Error connecting to remote server', code: 'UPSTREAM_UNAVAILABLE' };
    default:
      return { status: 502, reason: 'Error reading from remote server', code: 'UPSTREAM_UNAVAILABLE' };
  }
}

/** Writes a 502/504 page on `res` (no body for HEAD), with the verdict's headers. */
function sendProxyError(res: ServerResponse, status: 502 | 504, reason: string, verdictHeaders: ReadonlyMap<string, string>, head: boolean): void {
  const page = proxyErrorPage(status, reason);
  res.statusCode = status;
  res.statusMessage = page.statusMessage;
  for (const [name, value] of verdictHeaders) res.setHeader(name, value);
  res.setHeader('Content-Type', 'text/html; charset=iso-8859-1');
  res.setHeader('Content-Length', Buffer.byteLength(page.body, 'latin1'));
  res.end(head ? undefined : page.body, 'latin1');
}

/**
 * Connections to upstreams are kept alive and reused, as httpd's connection pool does for a
 * `ProxyPass` worker. Idle sockets are unref'd by node:http, so they never keep the process up;
 * node:http also honours the upstream's `Keep-Alive: timeout=` hint.
 */
const agent = new Agent({ keepAlive: true });

/** Upgrade requests in flight: the raw socket and the bytes read past their headers. */
const upgrades = new WeakMap<IncomingMessage, { socket: Duplex; head: Buffer }>();

/**
 * Makes `server` answer upgrade requests. node:http hands every request that asks for a
 * protocol upgrade to the `'upgrade'` event instead of the `'request'` handler; this gives it a
 * `ServerResponse` on the raw socket and runs the ordinary `handler`, so an upgrade request goes
 * through the same normalization, `ProxyPass` decision and phases as any other. A refused one is
 * answered with its status and never upgraded; only an allowed WebSocket upgrade on a proxied
 * path is tunnelled (by {@link forwardRequest}); any other is answered as an ordinary request,
 * and the connection is closed after that answer.
 *
 * node:http no longer tracks a socket once it is upgraded, so `server.closeAllConnections()`
 * (what `close()` calls at its drain deadline) is extended to cut these sockets too; without
 * that, one open WebSocket would hold a shutdown open for ever.
 *
 * @example
 * ```ts
 * const server = createServer(handler);
 * serveUpgrades(server, handler);
 * ```
 */
export function serveUpgrades(server: Server, handler: (req: IncomingMessage, res: ServerResponse) => void): void {
  const sockets = new Set<Duplex>();
  const closeAll = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    closeAll();
    for (const socket of sockets) socket.destroy();
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    upgrades.set(req, { socket, head });
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
    res.once('finish', () => {
      res.detachSocket(socket as Parameters<ServerResponse['detachSocket']>[0]);
      socket.end();
    });
    handler(req, res);
  });
}

/**
 * Forwards an allowed request to its upstream and streams the answer back; resolves when the
 * exchange is over (or, for a WebSocket, when the tunnel is open or has failed).
 *
 * - Request: method, the path of {@link upstreamPathFor}, the headers of
 *   {@link upstreamRequestHeaders}, and the body streamed as it arrives.
 * - Answer: status, reason phrase and headers (hop-by-hop ones and those the upstream's
 *   `Connection` names dropped; `Location`, `Content-Location`, `URI` through
 *   `ProxyPassReverse`), plus the phases' response headers; the body streamed.
 * - Failures: no answer within the timeout → **504**; connection refused, reset, or an invalid
 *   answer → **502**, with httpd's page. A failure after the answer started cuts the connection.
 * - An allowed WebSocket upgrade is tunnelled: the upstream's `101` and then both directions.
 *
 * `req.headers` and `req.url` are replaced by what the upstream receives (the phases have run).
 *
 * @example
 * ```ts
 * if (route !== undefined && verdict.allowed) await forwardRequest(req, res, route, verdict, log);
 * ```
 */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, route: ProxyRoute, verdict: Verdict, log: Logger): Promise<void> {
  const upgrade = upgrades.get(req);
  const websocket = upgrade !== undefined && isWebSocketUpgrade(req);
  const headers = upstreamRequestHeaders(req, route, verdict.user, websocket);
  const headRequest = req.method === 'HEAD';
  // Taken before req.headers changes: ProxyPassReverse names this server as the client did.
  const origin = route.reverse.length > 0 ? selfOrigin(req) : '';
  // http-proxy-3 reads both from the request; authts hands it the finished ones.
  req.headers = headers as IncomingMessage['headers'];
  req.url = route.upstreamPath;
  const proxy = new ProxyServer();
  // `deleteLength` would send a chunked DELETE/OPTIONS body under `Content-Length: 0`, turning
  // the body into a second request on the upstream connection; the framing headers are set
  // above instead. The pass list is private in the typings, public at run time (`before`/`after`
  // edit it the same way).
  const passes = proxy as unknown as { webPasses: { name: string }[] };
  passes.webPasses = passes.webPasses.filter((pass) => pass.name !== 'deleteLength');
  const options = {
    target: new URL(route.target.origin),
    // The whole path comes from req.url, used as is (no WHATWG re-parse of the path or query).
    toProxy: true,
    prependPath: false,
    xfwd: false,
    proxyTimeout: route.timeoutMs,
  };
  let timedOut = false;
  return new Promise<void>((resolve) => {
    const fail = (err: NodeJS.ErrnoException): void => {
      const { status, reason, code } = classify(err, timedOut, route.target);
      log.warn(
        { code, status, upstream: route.target.origin, path: route.upstreamPath.split('?')[0], err: { code: err.code, message: err.message } },
        `upstream request failed: ${status}`,
      );
      if (!res.headersSent && !res.destroyed) sendProxyError(res, status, reason, verdict.headers, headRequest);
      else res.destroy();
      resolve();
    };
    if (websocket) {
      let opened = false;
      proxy.on('proxyReqWs', (proxyReq) => {
        proxyReq.setTimeout(route.timeoutMs, () => {
          timedOut = true;
          proxyReq.destroy();
        });
        proxyReq.once('socket', (socket) => {
          if (socket.connecting) socket.setTimeout(route.timeoutMs);
        });
      });
      proxy.on('open', () => {
        opened = true;
        resolve();
      });
      proxy.on('error', (err) => {
        if (!opened) fail(err as NodeJS.ErrnoException);
      });
      // Whatever the upstream answers instead of 101 is relayed by the library; then it closes.
      upgrade.socket.once('close', () => resolve());
      proxy.ws(req, upgrade.socket, upgrade.head, { ...options, agent: false });
      return;
    }
    proxy.on('proxyReq', (proxyReq, _req, _res, _options, socket) => {
      proxyReq.once('timeout', () => {
        timedOut = true;
      });
      // A connect that hangs counts too (node:http starts the request timeout only once connected).
      if (socket.connecting) socket.setTimeout(route.timeoutMs);
    });
    proxy.on('proxyRes', (proxyRes) => {
      relayResponse(res, proxyRes, route, verdict, origin)
        .catch((err: unknown) => log.debug({ err, upstream: route.target.origin }, 'proxied response ended early'))
        .finally(resolve);
    });
    proxy.on('econnreset', () => resolve());
    proxy.on('error', (err) => fail(err as NodeJS.ErrnoException));
    res.once('close', () => resolve());
    proxy.web(req, res, { ...options, agent, selfHandleResponse: true });
  });
}

/** Copies the upstream's answer to `res` (see {@link forwardRequest}) and streams its body. */
async function relayResponse(res: ServerResponse, proxyRes: IncomingMessage, route: ProxyRoute, verdict: Verdict, origin: string): Promise<void> {
  const raw = proxyRes.rawHeaders;
  const hop = connectionTokens(raw);
  const grouped = new Map<string, { name: string; values: string[] }>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || hop.has(lower)) continue;
    let value = raw[i + 1]!;
    if (REVERSE_MAPPED.has(lower) && route.reverse.length > 0) value = reverseMap(value, route.reverse, origin);
    const entry = grouped.get(lower);
    if (entry) entry.values.push(value);
    else grouped.set(lower, { name, values: [value] });
  }
  res.statusCode = proxyRes.statusCode ?? 502;
  const reason = proxyRes.statusMessage;
  if (reason !== undefined && reason !== '' && reason !== STATUS_CODES[res.statusCode]) res.statusMessage = reason;
  for (const { name, values } of grouped.values()) res.setHeader(name, values.length === 1 ? values[0]! : values);
  // The phases' response headers go out whatever the status (httpd's err_headers_out).
  for (const [name, value] of verdict.headers) res.appendHeader(name, value);
  await pipeline(proxyRes, res);
}
