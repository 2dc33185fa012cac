/**
 * Dummy hashes: what an unknown user's password is checked against, so that "no such user"
 * costs what "wrong password" costs and response time does not reveal which names exist.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import argon2 from 'argon2';
import { makeBcryptHash } from './bcrypt.js';
import { runCrypt } from './crypt-pool.js';
import { argon2Params, bcryptCost, hashKind, shaCryptParams, shaCryptSetting } from './hash-kind.js';

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** bcrypt's valid cost range; outside it verification fails at once, and so does the dummy. */
const BCRYPT_MIN_COST = 4;
const BCRYPT_MAX_COST = 31;
const ARGON2_TYPES = { argon2d: argon2.argon2d, argon2i: argon2.argon2i, argon2id: argon2.argon2id } as const;

/**
 * A hash of a random password in the same format and at the same cost as `likeStored`: the same
 * bcrypt cost, sha-crypt rounds, argon2 memory/time/parallelism and lengths, a fresh salt.
 * Verifying any password against it takes as long as verifying against `likeStored` and never
 * succeeds (the password is 144 random bits, forgotten at once).
 *
 * A `likeStored` that cannot verify anything (plain text, malformed, unsupported) gives a
 * random plain string, which fails as fast as such a record does.
 *
 * @example
 * ```ts
 * const dummy = await makeDummyHash(firstHashOfTheFile);
 * await verifyPassword(dummy, password); // false, in the time a real check takes
 * ```
 */
export async function makeDummyHash(likeStored: string): Promise<string> {
  const password = randomBytes(18).toString('base64url');
  switch (hashKind(likeStored)) {
    case 'apr1':
      return orPlain(await runCrypt({ scheme: 'md5', password, setting: `$apr1$${salt(8)}` }));
    case 'md5':
      return orPlain(await runCrypt({ scheme: 'md5', password, setting: `$1$${salt(8)}` }));
    case 'sha256':
    case 'sha512': {
      const { id, rounds } = shaCryptParams(likeStored);
      const setting = shaCryptSetting({ id, rounds, salt: salt(16) });
      return orPlain(await runCrypt({ scheme: 'sha-crypt', password, setting }));
    }
    case 'des':
      return orPlain(await runCrypt({ scheme: 'des', password, setting: salt(2) }));
    case 'bcrypt': {
      const cost = bcryptCost(likeStored);
      if (cost === undefined || cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) return plainDummy();
      // Keep the stored variant ($2y$/$2a$) so that the dummy takes the same path in verification.
      const variant = likeStored.slice(0, 4);
      return makeBcryptHash(Buffer.from(password), cost, variant === '$2a$' || variant === '$2b$' ? variant : '$2y$');
    }
    case 'sha1':
      return `{SHA}${createHash('sha1').update(password).digest('base64')}`;
    case 'argon2': {
      const p = argon2Params(likeStored);
      if (!p) return plainDummy();
      try {
        return await argon2.hash(password, {
          type: ARGON2_TYPES[p.type],
          memoryCost: p.memoryCost,
          timeCost: p.timeCost,
          parallelism: p.parallelism,
          hashLength: p.hashLength,
          salt: randomBytes(p.saltLength),
          ...(p.version === undefined ? {} : { version: p.version }),
        });
      } catch {
        // Parameters argon2 rejects make the stored hash fail at once too.
        return plainDummy();
      }
    }
    case 'unsupported':
    case 'plain':
      return plainDummy();
  }
}

function salt(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += CRYPT_ALPHABET[randomInt(CRYPT_ALPHABET.length)];
  return out;
}

function plainDummy(): string {
  return randomBytes(18).toString('base64url');
}

function orPlain(hash: string | null): string {
  return hash ?? plainDummy();
}
