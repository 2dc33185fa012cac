/**
 * The claims of the token that authenticated a request (`AuthType Bearer`), kept beside the
 * request for `Require jwt-claim`, `Require jwt-scope` and the `jwt()` function of `Require expr`.
 *
 * They are keyed by the request's `notes` map (shared by a request and its provider-alias views)
 * in a module-private WeakMap: handlers cannot forge them by writing a note, and they go away
 * with the request.
 */
import type { AuthRequest } from '../request.js';

const claimsOf = new WeakMap<Map<string, unknown>, Readonly<Record<string, unknown>>>();

/**
 * Records the verified claims of the token that authenticated `req` (the Bearer scheme does).
 *
 * @example
 * ```ts
 * setTokenClaims(req, { sub: 'alice', scope: 'read write' });
 * ```
 */
export function setTokenClaims(req: AuthRequest, claims: Readonly<Record<string, unknown>>): void {
  claimsOf.set(req.notes, claims);
}

/**
 * The verified claims of the token that authenticated `req`, or `undefined` (no token, or not
 * authenticated yet).
 *
 * @example
 * ```ts
 * const scope = tokenClaims(req)?.['scope'];
 * ```
 */
export function tokenClaims(req: AuthRequest): Readonly<Record<string, unknown>> | undefined {
  return claimsOf.get(req.notes);
}

/**
 * A claim by name: the top-level claim of that exact name first (names may contain dots, e.g.
 * `https://example.org/roles`), else a dotted path into nested objects (`realm_access.roles`).
 *
 * @example
 * ```ts
 * claimValue({ realm_access: { roles: ['admin'] } }, 'realm_access.roles'); // ['admin']
 * ```
 */
export function claimValue(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(claims, name)) return claims[name];
  if (!name.includes('.')) return undefined;
  let value: unknown = claims;
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.prototype.hasOwnProperty.call(value, part)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * A claim value as text: strings as they are, numbers and booleans printed, arrays of those
 * joined with one space (as OAuth's `scope`), anything else as JSON; `undefined` and `null`
 * give `undefined`.
 *
 * @example
 * ```ts
 * claimText(['admin', 'dev']); // 'admin dev'
 * ```
 */
export function claimText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
    return value.map(String).join(' ');
  }
  return JSON.stringify(value);
}

/**
 * The values a claim holds, for matching: a string, number or boolean is one value; an array
 * gives its primitive members; anything else none.
 *
 * @example
 * ```ts
 * claimValues(['admin', 7, { x: 1 }]); // ['admin', '7']
 * ```
 */
export function claimValues(value: unknown): string[] {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) {
    return value.filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean').map(String);
  }
  return [];
}
