/**
 * SHA-crypt (`$5$` SHA-256, `$6$` SHA-512), Ulrich Drepper's specification as glibc implements
 * it, over the password's bytes. Pure computation: callers run it on the worker pool.
 *
 * Written here rather than taken from a package because the one authts used before allocated an
 * array of `rounds` elements, so a large `rounds=` (up to 999999999 is valid) exhausted the heap
 * instead of just taking long.
 */
import { createHash } from 'node:crypto';

const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SALT_RE = /^[./0-9A-Za-z]*$/;

/** glibc's bounds: a `rounds=` value outside them is clamped (libxcrypt refuses it instead). */
export const SHA_CRYPT_ROUNDS_MIN = 1000;
export const SHA_CRYPT_ROUNDS_MAX = 999_999_999;
/** Rounds used when the setting names none. */
export const SHA_CRYPT_ROUNDS_DEFAULT = 5000;

/** Byte order of the final digest in the encoded hash: triples, then the tail. */
const ORDER_256 = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
] as const;
const ORDER_512 = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
] as const;

/**
 * `crypt(password, setting)` for a `$5$[rounds=N$]salt[$…]` or `$6$…` setting: the full hash
 * string, or `null` when the setting is not of that shape or its salt has characters outside
 * `./0-9A-Za-z`. As in glibc: the salt ends at the next `$` and is cut to 16 characters,
 * `rounds=` counts only when its digits are followed by `$`, is clamped to 1000..999999999 and is
 * then written back into the result.
 *
 * @example
 * ```ts
 * shaCrypt(Buffer.from('pw'), '$5$rounds=1000$abc');
 * // '$5$rounds=1000$abc$zdUXQ3de2d3x/8MYX1t30oZjPfJThZR5heHeVDYi8j6'
 * ```
 */
export function shaCrypt(password: Uint8Array, setting: string): string | null {
  const id = setting.startsWith('$5$') ? '5' : setting.startsWith('$6$') ? '6' : undefined;
  if (id === undefined) return null;
  let rest = setting.slice(3);
  let rounds = SHA_CRYPT_ROUNDS_DEFAULT;
  let customRounds = false;
  const m = /^rounds=(\d+)\$/.exec(rest);
  if (m) {
    const asked = Number(m[1]);
    rounds = Math.max(SHA_CRYPT_ROUNDS_MIN, Math.min(asked, SHA_CRYPT_ROUNDS_MAX));
    customRounds = true;
    rest = rest.slice(m[0].length);
  }
  const end = rest.indexOf('$');
  const saltText = (end < 0 ? rest : rest.slice(0, end)).slice(0, 16);
  if (!SALT_RE.test(saltText)) return null;
  const algorithm = id === '5' ? 'sha256' : 'sha512';
  const digest = compute(algorithm, Buffer.from(password), Buffer.from(saltText, 'latin1'), rounds);
  const head = `$${id}$${customRounds ? `rounds=${rounds}$` : ''}${saltText}$`;
  return head + encode(digest, id);
}

function hash(algorithm: string, ...parts: Uint8Array[]): Buffer {
  const h = createHash(algorithm);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** `length` bytes of `block` repeated (the spec's P and S sequences). */
function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let off = 0; off < length; off += block.length) block.copy(out, off, 0, Math.min(block.length, length - off));
  return out;
}

function compute(algorithm: string, p: Buffer, s: Buffer, rounds: number): Buffer {
  const b = hash(algorithm, p, s, p);
  const size = b.length;
  const a = createHash(algorithm).update(p).update(s);
  let cnt = p.length;
  for (; cnt > size; cnt -= size) a.update(b);
  a.update(b.subarray(0, cnt));
  for (let len = p.length; len > 0; len >>= 1) a.update(len & 1 ? b : p);
  let c = a.digest();

  const dpHash = createHash(algorithm);
  for (let i = 0; i < p.length; i++) dpHash.update(p);
  const pSeq = repeatTo(dpHash.digest(), p.length);

  const dsHash = createHash(algorithm);
  for (let i = 0; i < 16 + (c[0] ?? 0); i++) dsHash.update(s);
  const sSeq = repeatTo(dsHash.digest(), s.length);

  for (let i = 0; i < rounds; i++) {
    const h = createHash(algorithm);
    h.update(i & 1 ? pSeq : c);
    if (i % 3 !== 0) h.update(sSeq);
    if (i % 7 !== 0) h.update(pSeq);
    h.update(i & 1 ? c : pSeq);
    c = h.digest();
  }
  return c;
}

function encode24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ALPHABET[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

function encode(d: Buffer, id: '5' | '6'): string {
  const at = (i: number): number => d[i] ?? 0;
  let out = '';
  for (const [x, y, z] of id === '5' ? ORDER_256 : ORDER_512) out += encode24(at(x), at(y), at(z), 4);
  return out + (id === '5' ? encode24(0, at(31), at(30), 3) : encode24(0, 0, at(63), 2));
}
