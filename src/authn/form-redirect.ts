/**
 * Where a login may send the browser back to: the page first asked for, carried through the
 * login form in the `AuthFormLocation` field. That value comes from the client, so it is an
 * open-redirect vector unless it is held to this site.
 */

/** The longest return-to value accepted. */
export const MAX_RETURN_TO = 2048;

// Only visible ASCII: browsers drop tabs and newlines inside URLs (`/\t/evil.example` becomes
// `//evil.example`), and CR/LF in a Location header would split the response.
const VISIBLE_ASCII = /^[\u0021-\u007e]+$/;
const PLACEHOLDER_ORIGIN = 'http://authts.invalid';

/**
 * The same-site path `value` names, normalized (path, query and fragment), or `undefined` when
 * it is not one: empty, too long, with control characters, spaces or non-ASCII, a backslash
 * anywhere (browsers read `/\evil` as `//evil`), scheme-relative (`//evil`), a non-HTTP scheme
 * (`javascript:`), an absolute URL to any host other than `host`, or with user info.
 *
 * An absolute `http(s)://` URL whose authority is `host` (the request's `Host` header) is
 * accepted and reduced to its path.
 *
 * @example
 * ```ts
 * safeReturnTo('/private/report?x=1', 'example.com'); // '/private/report?x=1'
 * safeReturnTo('//evil.example/', 'example.com');     // undefined
 * ```
 */
export function safeReturnTo(value: string | null | undefined, host: string | undefined): string | undefined {
  if (value === null || value === undefined || value.length > MAX_RETURN_TO) return undefined;
  if (!VISIBLE_ASCII.test(value) || value.includes('\\')) return undefined;
  let url: URL;
  if (value.startsWith('/')) {
    if (value.startsWith('//')) return undefined;
    try {
      url = new URL(value, PLACEHOLDER_ORIGIN);
    } catch {
      return undefined;
    }
    if (url.origin !== PLACEHOLDER_ORIGIN) return undefined;
  } else {
    if (host === undefined || !/^https?:\/\//i.test(value)) return undefined;
    try {
      url = new URL(value);
    } catch {
      return undefined;
    }
    if (url.username !== '' || url.password !== '' || url.host.toLowerCase() !== host.toLowerCase()) return undefined;
  }
  const path = `${url.pathname}${url.search}${url.hash}`;
  return path.startsWith('/') && !path.startsWith('//') ? path : undefined;
}

/**
 * `location` with `field=<returnTo>` added to its query (before any fragment), unless it already
 * names `field` (the administrator placed it with an expression).
 *
 * @example
 * ```ts
 * withReturnTo('/login', 'httpd_location', '/private/?a=1'); // '/login?httpd_location=%2Fprivate%2F%3Fa%3D1'
 * ```
 */
export function withReturnTo(location: string, field: string, returnTo: string): string {
  const hash = location.indexOf('#');
  const base = hash < 0 ? location : location.slice(0, hash);
  const fragment = hash < 0 ? '' : location.slice(hash);
  const query = base.indexOf('?');
  if (query >= 0 && new URLSearchParams(base.slice(query + 1)).has(field)) return location;
  const pair = `${encodeURIComponent(field)}=${encodeURIComponent(returnTo)}`;
  const separator = query < 0 ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}${pair}${fragment}`;
}

/** True when `value` may be sent as a `Location` header (visible ASCII only). */
export function isHeaderSafe(value: string): boolean {
  return VISIBLE_ASCII.test(value);
}
