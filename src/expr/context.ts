/**
 * What an expression may read while it runs: {@link ExprContext}, and
 * {@link requestExprContext}, which supplies it from an {@link AuthRequest}.
 */
import { claimText, claimValue, tokenClaims } from '../authn/claims.js';
import type { AuthRequest } from '../request.js';
import type { ExprRequestVariable } from './names.js';

/**
 * The request as an expression sees it. Every lookup returns `undefined` for "not there", which
 * reads as the empty string (httpd's NULL). Implementations compute values on demand: most
 * expressions read one or two of them.
 *
 * @example
 * ```ts
 * const ctx: ExprContext = {
 *   variable: (name) => (name === 'REQUEST_METHOD' ? 'GET' : undefined),
 *   header: () => undefined, responseHeader: () => undefined, reqEnv: () => undefined,
 *   note: () => undefined, osEnv: () => undefined,
 *   remoteAddress: '192.0.2.1', now: () => Date.now(),
 * };
 * evaluateExpr(parseExpr("%{REQUEST_METHOD} == 'GET'"), ctx); // true
 * ```
 */
export interface ExprContext {
  /** A request variable (`%{REQUEST_URI}`, …). */
  variable(name: ExprRequestVariable): string | undefined;
  /** A request header by lower-case name (`req()`, `http()`, `%{HTTP:…}`, `%{HTTP_*}`). */
  header(lowerName: string): string | undefined;
  /** A response header (`resp()`), any case. */
  responseHeader(name: string): string | undefined;
  /** The request environment (`reqenv()`, httpd's `r->subprocess_env`), any case. */
  reqEnv(name: string): string | undefined;
  /** A request note (`note()`), any case. */
  note(name: string): string | undefined;
  /** The process environment (`osenv()`, and `env()`'s last resort). */
  osEnv(name: string): string | undefined;
  /** The client address, for `-R` (IPv4-mapped addresses in IPv4 form). */
  readonly remoteAddress: string;
  /** The clock for `%{TIME…}`, in milliseconds since the epoch; tests freeze it. */
  now(): number;
  /**
   * `jwt(name)` (authts only): a claim of the Bearer token that authenticated the request, as
   * text (arrays joined with a space, objects as JSON); `undefined` without one.
   */
  tokenClaim?(name: string): string | undefined;
}

/** Facts about the server that {@link AuthRequest} does not carry, for {@link requestExprContext}. */
export interface ExprServerInfo {
  /** `%{DOCUMENT_ROOT}` ('' when not given). */
  readonly documentRoot?: string;
  /** `%{SERVER_PROTOCOL}` and the end of `%{THE_REQUEST}` (default `HTTP/1.1`). */
  readonly protocol?: string;
  /** The clock (default `Date.now`). */
  readonly now?: () => number;
  /** The process environment (default `process.env`). */
  readonly osEnv?: Readonly<Record<string, string | undefined>>;
}

/**
 * The {@link ExprContext} of one request. Values follow httpd with `UseCanonicalName Off` and
 * `HostnameLookups Off`: `SERVER_NAME`/`SERVER_PORT` come from the `Host` header (else the
 * local address and the scheme's default port), `REMOTE_HOST` is the client address.
 *
 * @example
 * ```ts
 * const ok = evaluateExpr(ast, requestExprContext(req));
 * ```
 */
export function requestExprContext(req: AuthRequest, server: ExprServerInfo = {}): ExprContext {
  return new RequestExprContext(req, server);
}

/** One object per request; values are computed when read. */
class RequestExprContext implements ExprContext {
  readonly remoteAddress: string;
  readonly #req: AuthRequest;
  readonly #server: ExprServerInfo;

  constructor(req: AuthRequest, server: ExprServerInfo) {
    this.#req = req;
    this.#server = server;
    this.remoteAddress = req.remoteAddress;
  }

  variable(name: ExprRequestVariable): string | undefined {
    const req = this.#req;
    switch (name) {
      case 'REQUEST_METHOD':
        return req.method;
      case 'REQUEST_SCHEME':
        return req.tls ? 'https' : 'http';
      case 'REQUEST_URI':
        return req.path;
      case 'DOCUMENT_URI':
        return getCaseless(req.env, 'DOCUMENT_URI') ?? req.path;
      case 'REQUEST_FILENAME':
      case 'SCRIPT_FILENAME':
        return req.filename;
      case 'QUERY_STRING':
        return req.query;
      case 'THE_REQUEST':
        return `${req.method} ${req.unparsedUri} ${this.#server.protocol ?? 'HTTP/1.1'}`;
      case 'SERVER_PROTOCOL':
        return this.#server.protocol ?? 'HTTP/1.1';
      case 'REMOTE_ADDR':
      case 'REMOTE_HOST':
      case 'CONN_REMOTE_ADDR':
        return req.remoteAddress;
      case 'REMOTE_USER':
        return req.user;
      case 'AUTH_TYPE':
        return req.authType;
      case 'HTTPS':
        return req.tls ? 'on' : 'off';
      case 'IPV6':
        return req.remoteAddress.includes(':') ? 'on' : 'off';
      case 'SERVER_NAME':
        return this.#serverName();
      case 'SERVER_PORT':
        return this.#serverPort();
      case 'DOCUMENT_ROOT':
        return this.#server.documentRoot;
      case 'IS_SUBREQ':
        return 'false';
    }
  }

  header(lowerName: string): string | undefined {
    const value = this.#req.headers[lowerName];
    return value === undefined ? undefined : headerText(value);
  }

  responseHeader(name: string): string | undefined {
    return getCaseless(this.#req.responseHeaders, name);
  }

  reqEnv(name: string): string | undefined {
    return getCaseless(this.#req.env, name);
  }

  note(name: string): string | undefined {
    const notes = this.#req.notes;
    const value = notes.get(name);
    if (typeof value === 'string') return value;
    if (value !== undefined) return undefined;
    for (const [key, v] of notes) {
      if (typeof v === 'string' && key.toLowerCase() === name.toLowerCase()) return v;
    }
    return undefined;
  }

  osEnv(name: string): string | undefined {
    return (this.#server.osEnv ?? process.env)[name];
  }

  now(): number {
    return this.#server.now ? this.#server.now() : Date.now();
  }

  tokenClaim(name: string): string | undefined {
    const claims = tokenClaims(this.#req);
    return claims ? claimText(claimValue(claims, name)) : undefined;
  }

  /** httpd's `ap_get_server_name_for_url`: the Host header's name (IPv6 in brackets). */
  #serverName(): string {
    const host = splitHost(this.#req.headers['host']);
    if (host) return host.name;
    const local = this.#req.localAddress;
    return local.includes(':') ? `[${local}]` : local;
  }

  /** httpd's `ap_get_server_port` with UseCanonicalName Off. */
  #serverPort(): string {
    const host = splitHost(this.#req.headers['host']);
    if (host?.port) return host.port;
    return this.#req.tls ? '443' : '80';
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Node gives header values as latin1 (one character per byte), while config text — the other
 * side of every comparison — is UTF-8. A value whose bytes are valid UTF-8 is read as UTF-8, so
 * `%{HTTP:X-Name} == 'José'` compares the same bytes httpd compares; other values stay as they are.
 */
function headerText(value: string): string {
  if (!/[^\x00-\x7f]/.test(value) || /[^\x00-\xff]/.test(value)) return value;
  try {
    return UTF8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/** `Host: name[:port]` → lower-case name (IPv6 literals keep their brackets) and port. */
function splitHost(value: string | undefined): { name: string; port: string | undefined } | undefined {
  if (!value) return undefined;
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(value.trim());
  if (!m || !m[1]) return undefined;
  return { name: m[1].toLowerCase().replace(/\.$/, ''), port: m[2] || undefined };
}

/** httpd's tables are case-insensitive: exact key first, then any case. */
function getCaseless(map: ReadonlyMap<string, string>, name: string): string | undefined {
  const exact = map.get(name);
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  for (const [key, value] of map) if (key.toLowerCase() === lower) return value;
  return undefined;
}
