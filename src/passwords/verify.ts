/**
 * `verifyPassword`: apr_password_validate as httpd runs it on Linux.
 */
import { createHash } from 'node:crypto';
import argon2 from 'argon2';
import { AuthTsError } from '../errors.js';
import { constantTimeEqual } from './constant-time.js';
import { verifyBcryptHash } from './bcrypt.js';
import { runCrypt } from './crypt-pool.js';
import { hashKind, md5Setting, shaCryptParams, shaCryptSetting } from './hash-kind.js';

/**
 * True when `password` matches the `stored` hash. The format is chosen by prefix (see
 * {@link hashKind}); a wrong password and a malformed hash both give `false`, never a throw.
 *
 * - Recomputations in pure JavaScript (apr1, md5-crypt, sha-crypt, DES) run on a worker pool;
 *   bcrypt and argon2 (native) run on libuv's thread pool; `{SHA}` is one SHA-1.
 *   The event loop never spends a hash's cost.
 * - Recomputed strings are compared in constant time.
 * - A string password is hashed as its UTF-8 bytes (what `htpasswd` hashes when typed in a
 *   UTF-8 terminal); bytes (a `Uint8Array`) are hashed as they are.
 * - `$2y$` is bcrypt's `$2b$` under another name (the fixed crypt_blowfish); `$2a$`, `$2b$`
 *   and `$2y$` verify alike (./bcrypt.ts).
 * - Plain text never verifies: on Linux httpd hands any unrecognized string to the system
 *   `crypt()`, which does not return the stored text, so a `htpasswd -p` record always fails.
 *   authts gives the same answer.
 *
 * Throws `AuthTsError` `HASH_UNSUPPORTED` for formats httpd's system `crypt()` verifies but
 * authts cannot ({@link hashKind} `'unsupported'`, e.g. yescrypt copied from /etc/shadow), and
 * `PROVIDER_UNAVAILABLE` when the worker pool fails: both are "cannot answer" (→ 500).
 *
 * @example
 * ```ts
 * await verifyPassword('$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/', 'password'); // true or false
 * ```
 */
export async function verifyPassword(stored: string, password: string | Uint8Array): Promise<boolean> {
  switch (hashKind(stored)) {
    case 'apr1':
    case 'md5':
      return matches(await runCrypt({ scheme: 'md5', password, setting: md5Setting(stored) }), stored);
    case 'sha256':
    case 'sha512':
      return matches(
        await runCrypt({ scheme: 'sha-crypt', password, setting: shaCryptSetting(shaCryptParams(stored)) }),
        stored,
      );
    case 'des':
      return matches(await runCrypt({ scheme: 'des', password, setting: stored.slice(0, 2) }), stored);
    case 'bcrypt':
      return verifyBcrypt(stored, password);
    case 'sha1':
      return constantTimeEqual(`{SHA}${createHash('sha1').update(bytesOf(password)).digest('base64')}`, stored);
    case 'argon2':
      return verifyArgon2(stored, password);
    case 'unsupported':
      throw new AuthTsError('HASH_UNSUPPORTED', `password hash format "${prefixOf(stored)}" is not supported by authts`);
    case 'plain':
      return false;
  }
}

/** The identifying prefix of a hash (`$y$`, `_`): enough to name the format, nothing secret. */
function prefixOf(stored: string): string {
  if (stored.startsWith('$md5,')) return '$md5,';
  const end = stored.indexOf('$', 1);
  return end > 0 ? stored.slice(0, end + 1) : stored.slice(0, 1);
}

function matches(recomputed: string | null, stored: string): boolean {
  return recomputed !== null && constantTimeEqual(recomputed, stored);
}

/**
 * bcrypt is verified natively (./bcrypt.ts; false for a malformed hash) as async work on libuv's
 * thread pool. Measured against running it on the piscina pool, this costs less CPU per request
 * (docs/performance.md): the pool's hand-offs and its extra threads competing with the event
 * loop cost more than the file reads that wait behind a hash.
 */
function verifyBcrypt(stored: string, password: string | Uint8Array): Promise<boolean> {
  return verifyBcryptHash(stored, bytesOf(password));
}

async function verifyArgon2(stored: string, password: string | Uint8Array): Promise<boolean> {
  try {
    return await argon2.verify(stored, bytesOf(password));
  } catch {
    // argon2 throws (rather than answering false) on a malformed PHC string.
    return false;
  }
}

function bytesOf(password: string | Uint8Array): Buffer {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : Buffer.from(password);
}
