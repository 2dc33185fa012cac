/**
 * `createHash`: new password hashes in every format `htpasswd` writes, plus `$argon2id$`, with
 * salts from node:crypto and the hashing itself off the event loop.
 */
import { createHash as nodeHash, randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { makeBcryptHash } from './bcrypt.js';
import { AuthTsError } from '../errors.js';
import { runCrypt } from './crypt-pool.js';
import { SHA_CRYPT_ROUNDS_MAX, SHA_CRYPT_ROUNDS_MIN } from './sha-crypt.js';

/**
 * The formats {@link createHash} writes, with the `htpasswd` flag that writes the same:
 * `apr1` (`-m`, the default), `bcrypt` (`-B`, as `$2y$`), `sha256` (`-2`), `sha512` (`-5`),
 * `des` (`-d`), `sha1` (`-s`, `{SHA}`), `plain` (`-p`), and `argon2id` (authts only: httpd
 * cannot verify it, authts can).
 */
export type HashFormat = 'apr1' | 'bcrypt' | 'sha256' | 'sha512' | 'des' | 'sha1' | 'plain' | 'argon2id';

/** Options of {@link createHash}. */
export interface CreateHashOptions {
  /** The format to write. */
  readonly format: HashFormat;
  /**
   * bcrypt only: the cost (log2 of the rounds), an integer from 4 to 17 — the range in which
   * Apache's `htpasswd -B -C` succeeds (APR's bcrypt refuses the rest). Default 5, as htpasswd.
   */
  readonly cost?: number;
  /**
   * sha256/sha512 only: `rounds=N` in the hash, an integer from 1000 to 999999999. Outside
   * that range Debian's libxcrypt (which httpd uses to verify these) refuses the setting and
   * `htpasswd` would store the unusable `*0`. Default: no `rounds=` (5000, as htpasswd).
   */
  readonly rounds?: number;
}

const FORMATS: ReadonlySet<string> = new Set<HashFormat>(['apr1', 'bcrypt', 'sha256', 'sha512', 'des', 'sha1', 'plain', 'argon2id']);
const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** bcrypt costs Apache's htpasswd (APR's crypt_blowfish as built into apr-util 1.6) accepts. */
export const BCRYPT_COST_MIN = 4;
export const BCRYPT_COST_MAX = 17;
/** `htpasswd -B` without `-C`. */
export const BCRYPT_COST_DEFAULT = 5;

/**
 * A new hash of `password` in `options.format`, with a fresh random salt. A string password is
 * hashed as its UTF-8 bytes (what `htpasswd` hashes in a UTF-8 terminal); bytes are hashed as
 * given. Everything that httpd can verify (all but `argon2id`) is accepted by Apache's
 * `htpasswd -v` and by {@link verifyPassword}.
 *
 * - apr1, sha256/sha512 and DES are computed on the password worker pool; bcrypt and argon2 are
 *   native and run on libuv's thread pool.
 * - `des` uses only the first 8 bytes of the password (as crypt(3) does); `plain` stores it as
 *   it is and never verifies in httpd on Linux.
 * - `argon2id` uses the argon2 package's defaults (m=65536 KiB, t=3, p=4, 32-byte hash,
 *   16-byte salt).
 *
 * Throws `TypeError` for an unknown format, a `cost` or `rounds` that is not an integer in its
 * range, or given for a format that has no such parameter; `AuthTsError`
 * `PROVIDER_UNAVAILABLE` when the worker pool fails.
 *
 * @example
 * ```ts
 * await createHash('secret', { format: 'apr1' });                 // '$apr1$Vb4yXk1Q$…'
 * await createHash('secret', { format: 'bcrypt', cost: 10 });     // '$2y$10$…'
 * await createHash('secret', { format: 'sha512', rounds: 10000 }); // '$6$rounds=10000$…'
 * ```
 */
export async function createHash(password: string | Uint8Array, options: CreateHashOptions): Promise<string> {
  checkOptions(password, options);
  const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : Buffer.from(password);
  switch (options.format) {
    case 'apr1':
      return crypted(await runCrypt({ scheme: 'md5', password: bytes, setting: `$apr1$${cryptSalt(8)}` }));
    case 'sha256':
    case 'sha512': {
      const id = options.format === 'sha256' ? '5' : '6';
      const rounds = options.rounds === undefined ? '' : `rounds=${options.rounds}$`;
      return crypted(await runCrypt({ scheme: 'sha-crypt', password: bytes, setting: `$${id}$${rounds}${cryptSalt(16)}` }));
    }
    case 'des':
      return crypted(await runCrypt({ scheme: 'des', password: bytes, setting: cryptSalt(2) }));
    case 'bcrypt': {
      // A fresh 16-byte salt; written `$2y$` as Apache writes it.
      return makeBcryptHash(Buffer.from(bytes), options.cost ?? BCRYPT_COST_DEFAULT);
    }
    case 'sha1':
      return `{SHA}${nodeHash('sha1').update(bytes).digest('base64')}`;
    case 'plain':
      return bytes.toString('utf8');
    case 'argon2id':
      return argon2.hash(bytes, { type: argon2.argon2id, salt: randomBytes(16) });
  }
}

function checkOptions(password: unknown, options: CreateHashOptions): void {
  if (typeof password !== 'string' && !(password instanceof Uint8Array)) {
    throw new TypeError('createHash: password must be a string or a Uint8Array');
  }
  if (typeof options !== 'object' || options === null || !FORMATS.has(options.format)) {
    throw new TypeError(`createHash: options.format must be one of ${[...FORMATS].join(', ')}`);
  }
  const { format, cost, rounds } = options;
  if (cost !== undefined) {
    if (format !== 'bcrypt') throw new TypeError(`createHash: options.cost applies to bcrypt only, not ${format}`);
    if (!Number.isInteger(cost) || cost < BCRYPT_COST_MIN || cost > BCRYPT_COST_MAX) {
      throw new TypeError(`createHash: options.cost must be an integer from ${BCRYPT_COST_MIN} to ${BCRYPT_COST_MAX}`);
    }
  }
  if (rounds !== undefined) {
    if (format !== 'sha256' && format !== 'sha512') {
      throw new TypeError(`createHash: options.rounds applies to sha256 and sha512 only, not ${format}`);
    }
    if (!Number.isInteger(rounds) || rounds < SHA_CRYPT_ROUNDS_MIN || rounds > SHA_CRYPT_ROUNDS_MAX) {
      throw new TypeError(`createHash: options.rounds must be an integer from ${SHA_CRYPT_ROUNDS_MIN} to ${SHA_CRYPT_ROUNDS_MAX}`);
    }
  }
}

/** `n` salt characters from `./0-9A-Za-z`, uniformly (256 is a multiple of 64). */
function cryptSalt(n: number): string {
  let out = '';
  for (const byte of randomBytes(n)) out += CRYPT_ALPHABET[byte & 0x3f];
  return out;
}

/** The worker answers null only for a setting it rejects, which a fresh salt never is. */
function crypted(hash: string | null): string {
  if (hash === null) throw new AuthTsError('PROVIDER_UNAVAILABLE', 'the password hashing worker rejected a freshly made salt');
  return hash;
}
