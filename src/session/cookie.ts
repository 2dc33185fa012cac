/**
 * The session cookie's value: a JWE (compact, `dir` + `A256GCM`, jose) whose plaintext names the
 * server-side session, its user and its absolute end. AES-GCM both hides and authenticates it:
 * a cookie changed by one bit, made with another key, or cut short does not open, and is
 * treated as no session at all.
 *
 * Keys: `SessionCryptoPassphrase` is stretched with PBKDF2-HMAC-SHA256 (600 000 iterations, a
 * fixed salt naming this use) once per passphrase and process; without one, a key is derived
 * with HKDF from the run secret (every worker of one run shares it; a restart signs everyone
 * out, which fails closed).
 */
import { createHash, hkdfSync, pbkdf2Sync, randomBytes } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { runSecret } from '../run-secret.js';

/** A 256-bit AES-GCM key. */
export type SessionKey = Uint8Array;

/** What a session cookie carries. `exp` is the absolute end, in ms since the epoch. */
export interface SessionClaims {
  /** The server-side session id (32 random bytes, base64url). */
  readonly sid: string;
  readonly user: string;
  readonly exp: number;
}

/** PBKDF2 iterations for a passphrase (OWASP's figure for PBKDF2-HMAC-SHA256). */
export const PASSPHRASE_ITERATIONS = 600_000;

/** The longest cookie value opened; anything longer is refused before any decryption. */
export const MAX_COOKIE_VALUE = 4096;

const PASSPHRASE_SALT = 'authts-session-cookie-key-v1';
const derived = new Map<string, SessionKey>();

/**
 * The cookie key of a passphrase (memoized per process by the passphrase's SHA-256, so that a
 * reload or a second configuration does not stretch it again).
 *
 * @example
 * ```ts
 * const key = keyFromPassphrase(Buffer.from('correct horse battery staple'));
 * ```
 */
export function keyFromPassphrase(passphrase: Buffer): SessionKey {
  const id = createHash('sha256').update(passphrase).digest('hex');
  let key = derived.get(id);
  if (key === undefined) {
    key = new Uint8Array(pbkdf2Sync(passphrase, PASSPHRASE_SALT, PASSPHRASE_ITERATIONS, 32, 'sha256'));
    derived.set(id, key);
  }
  return key;
}

let runKey: SessionKey | undefined;

/** The cookie key when no passphrase is configured: from the run secret, for this run only. */
export function runSessionKey(): SessionKey {
  runKey ??= new Uint8Array(hkdfSync('sha256', runSecret(), Buffer.alloc(0), 'authts-session-cookie-key-v1', 32));
  return runKey;
}

/** A new session id: 32 random bytes, base64url. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Seals `claims` under `key`.
 *
 * @example
 * ```ts
 * const value = await sealSession({ sid: newSessionId(), user: 'alice', exp: Date.now() + 3600_000 }, key);
 * ```
 */
export async function sealSession(claims: SessionClaims, key: SessionKey): Promise<string> {
  const plaintext = new TextEncoder().encode(JSON.stringify({ v: 1, sid: claims.sid, user: claims.user, exp: claims.exp }));
  return new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(key);
}

/**
 * Opens a cookie value with the first of `keys` that fits (the first key seals; the others are
 * older passphrases still accepted, as httpd's several `SessionCryptoPassphrase`s). Answers
 * `undefined` for anything that is not a live session cookie sealed by one of them: malformed,
 * tampered, other key, other algorithm, wrong shape, or past `exp` at `now`. Never throws.
 *
 * @example
 * ```ts
 * const claims = await openSession(cookieValue, [key], Date.now());
 * if (claims === undefined) redirectToLogin();
 * ```
 */
export async function openSession(value: string, keys: readonly SessionKey[], now: number): Promise<SessionClaims | undefined> {
  if (value.length === 0 || value.length > MAX_COOKIE_VALUE || !/^[A-Za-z0-9_.-]+$/.test(value)) return undefined;
  for (const key of keys) {
    let plaintext: Uint8Array;
    try {
      ({ plaintext } = await compactDecrypt(value, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] }));
    } catch {
      continue;
    }
    return claimsOf(plaintext, now);
  }
  return undefined;
}

function claimsOf(plaintext: Uint8Array, now: number): SessionClaims | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { v, sid, user, exp } = parsed as Record<string, unknown>;
  if (v !== 1 || typeof sid !== 'string' || typeof user !== 'string' || typeof exp !== 'number') return undefined;
  if (!(exp > now)) return undefined;
  return { sid, user, exp };
}
