/**
 * The `uri` check of mod_auth_digest: the `uri` field of Digest credentials must name the
 * request-target the request was sent with, or the response (which hashes `uri`) could be
 * replayed against another resource.
 */
import type { AuthRequest } from '../request.js';

/** A request-target split as apr_uri_parse splits it; host and port only for absolute-form. */
interface Target {
  readonly host: string | undefined;
  /** The port as written, or undefined when none was. */
  readonly port: number | undefined;
  readonly path: string;
  readonly query: string | undefined;
}

function parseTarget(text: string): Target | undefined {
  let rest = text;
  let host: string | undefined;
  let port: number | undefined;
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(.*)$/s.exec(text);
  if (absolute) {
    const authority = absolute[1]!.replace(/^.*@/s, '');
    const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(authority);
    if (!hostPort) return undefined;
    host = hostPort[1]!;
    if (hostPort[2] !== undefined && hostPort[2] !== '') port = Number(hostPort[2]);
    rest = absolute[2]!;
  } else if (!text.startsWith('/')) {
    return undefined;
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  return { host, port, path: q < 0 ? rest : rest.slice(0, q), query: q < 0 ? undefined : rest.slice(q + 1) };
}

/** Percent-decodes to bytes (as ap_unescape_url), or undefined when a `%` is not followed by two hex digits. */
function unescape(text: string): Buffer | undefined {
  if (/%(?![0-9a-fA-F]{2})/.test(text)) return undefined;
  return Buffer.from(text.replace(/%([0-9a-fA-F]{2})/g, (_s, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
}

function sameUnescaped(a: string, b: string): boolean {
  const x = unescape(a);
  const y = unescape(b);
  return x !== undefined && y !== undefined && x.equals(y);
}

/**
 * True when the Digest `uri` field names this request's target, by httpd's rules: the same
 * text as the request-target (path and query as received); otherwise, after percent-decoding,
 * the same path and the same query (a query on one side only is a mismatch: httpd's MSIE
 * "query string hack" is not offered), and for an absolute `uri` (`http://host:port/path`) the
 * host of the request (case-insensitive) and its port (when the `uri` has no port: the default
 * port of the scheme the request came in by).
 *
 * @example
 * ```ts
 * digestUriMatches('/private/a%20b.txt?x=1', req); // req sent GET /private/a b.txt?x=1 → true
 * ```
 */
export function digestUriMatches(uri: string, req: AuthRequest): boolean {
  if (uri === req.unparsedUri) return true;
  const sent = parseTarget(uri);
  const target = parseTarget(req.unparsedUri);
  if (!sent || !target) return false;
  if (sent.host !== undefined && sent.host !== '') {
    const requestHost = target.host !== undefined ? { host: target.host, port: target.port } : hostHeader(req.headers['host']);
    if (!requestHost || sent.host.toLowerCase() !== requestHost.host.toLowerCase()) return false;
    const defaultPort = req.tls ? 443 : 80;
    if ((sent.port ?? defaultPort) !== (requestHost.port ?? defaultPort)) return false;
  }
  if (!sameUnescaped(sent.path, target.path)) return false;
  if (sent.query === undefined || target.query === undefined) return sent.query === target.query;
  return sameUnescaped(sent.query, target.query);
}

function hostHeader(value: string | undefined): { host: string; port: number | undefined } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(value.trim());
  if (!m || m[1] === '') return undefined;
  return { host: m[1]!, port: m[2] === undefined ? undefined : Number(m[2]) };
}
