/**
 * CSRF protection of the login POST (login CSRF signs a victim in as the attacker).
 *
 * The login page sets a pre-session cookie holding a random nonce (HttpOnly, SameSite=Strict)
 * and puts `HMAC-SHA256(run secret, nonce)` in a hidden field. A POST is accepted only when the
 * field matches the cookie's nonce (compared in constant time), and, when the browser says
 * where the form came from (`Sec-Fetch-Site`, `Origin`), only from this site. Another site can
 * neither read the cookie nor make the token; the run secret is shared by every worker of one
 * run, and a form served before a restart is refused (the page is shown again, fresh).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { runSecret } from '../run-secret.js';

/** The pre-session cookie. */
export const CSRF_COOKIE = 'authts_login_csrf';
/** The hidden form field. */
export const CSRF_FIELD = 'authts_csrf';
/** How long a login form stays usable, in seconds. */
export const CSRF_MAX_AGE = 3600;

const NONCE = /^[A-Za-z0-9_-]{43}$/;

/** A new nonce for the pre-session cookie (32 random bytes, base64url). */
export function newCsrfNonce(): string {
  return randomBytes(32).toString('base64url');
}

/** True when `value` has the shape of a nonce this module made. */
export function isCsrfNonce(value: string | undefined): value is string {
  return value !== undefined && NONCE.test(value);
}

/**
 * The hidden field's value for `nonce`.
 *
 * @example
 * ```ts
 * const token = csrfToken(nonce); // in <input type="hidden" name="authts_csrf">
 * ```
 */
export function csrfToken(nonce: string, secret: Buffer = runSecret()): string {
  return createHmac('sha256', secret).update('authts-form-csrf-v1\0').update(nonce, 'utf8').digest('base64url');
}

/**
 * True when `token` (the posted field) was made for `nonce` (the cookie); false when either is
 * missing or malformed. Constant time in the token.
 *
 * @example
 * ```ts
 * if (!checkCsrfToken(cookies[CSRF_COOKIE], form.get(CSRF_FIELD))) refuse(403);
 * ```
 */
export function checkCsrfToken(nonce: string | undefined, token: string | null | undefined, secret: Buffer = runSecret()): boolean {
  if (!isCsrfNonce(nonce) || typeof token !== 'string') return false;
  const expected = Buffer.from(csrfToken(nonce, secret), 'utf8');
  const given = Buffer.from(token, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Whether the browser's own account of the request allows a login post: `Sec-Fetch-Site`, when
 * sent, must be `same-origin` or `none` (typed or bookmarked); `Origin`, when sent, must name
 * `host` (the `Host` header; the scheme is not compared, as a TLS-terminating proxy in front
 * changes it). Answers the reason for a refusal, or `undefined`.
 *
 * @example
 * ```ts
 * sameSiteRefusal({ origin: 'https://evil.example' }, 'example.com'); // 'Origin https://evil.example is another site'
 * ```
 */
export function sameSiteRefusal(headers: Readonly<Record<string, string | undefined>>, host: string | undefined): string | undefined {
  const fetchSite = headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    return `Sec-Fetch-Site is ${fetchSite}`;
  }
  const origin = headers['origin'];
  if (origin === undefined) return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return 'Origin is not a URL';
  }
  if (origin === 'null' || host === undefined || originHost.toLowerCase() !== host.toLowerCase()) {
    return `Origin ${origin.slice(0, 100)} is another site`;
  }
  return undefined;
}
