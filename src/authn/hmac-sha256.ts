/**
 * HMAC-SHA256 (RFC 2104) under a key that is used for many messages: the credential cache's key
 * of every request, the regulation keys.
 *
 * Why not `createHmac` per message: it builds an OpenSSL MAC context each time, and inside
 * `authts serve` under load that construction was the most expensive step of a cache hit
 * (docs/caching.md, "Performance"). Here the key's two padded blocks are made once, and each MAC
 * is two one-shot `crypto.hash` calls over buffers; the result is the same HMAC, byte for byte
 * (tested against `createHmac`).
 */
import { hash } from 'node:crypto';

/** SHA-256's block size: keys are padded (or first hashed) to it. */
const BLOCK = 64;

/** A key ready to MAC messages; see {@link HmacSha256Key.writeAndMac}. */
export class HmacSha256Key {
  /** K ⊕ ipad, 64 bytes. */
  readonly #innerBlock: Buffer;
  /** K ⊕ opad, 64 bytes. */
  readonly #outerBlock: Buffer;

  /** @param key the secret (any length; longer than 64 bytes it is hashed first, as RFC 2104 says) */
  constructor(key: Buffer) {
    if (!Buffer.isBuffer(key) || key.length === 0) throw new TypeError('HmacSha256Key: key must be a non-empty Buffer');
    const padded = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? hash('sha256', key, 'buffer') : key).copy(padded);
    this.#innerBlock = Buffer.alloc(BLOCK);
    this.#outerBlock = Buffer.alloc(BLOCK);
    for (let i = 0; i < BLOCK; i++) {
      this.#innerBlock[i] = (padded[i] ?? 0) ^ 0x36;
      this.#outerBlock[i] = (padded[i] ?? 0) ^ 0x5c;
    }
    padded.fill(0);
  }

  /**
   * The hex MAC of a message of `size` bytes that `write(buffer, offset)` puts into `buffer` at
   * `offset` (so the caller frames it in place, with no copy). Every buffer that held the message
   * or key material is zeroed before this returns.
   *
   * @example
   * ```ts
   * const key = new HmacSha256Key(secret);
   * key.writeAndMac(5, (buf, at) => buf.write('hello', at, 'utf8')) === createHmac('sha256', secret).update('hello').digest('hex'); // true
   * ```
   */
  writeAndMac(size: number, write: (buffer: Buffer, offset: number) => void): string {
    const inner = Buffer.allocUnsafe(BLOCK + size);
    this.#innerBlock.copy(inner, 0);
    write(inner, BLOCK);
    const innerDigest = hash('sha256', inner, 'buffer');
    inner.fill(0);
    const outer = Buffer.allocUnsafe(BLOCK + innerDigest.length);
    this.#outerBlock.copy(outer, 0);
    innerDigest.copy(outer, BLOCK);
    const mac = hash('sha256', outer, 'hex');
    outer.fill(0);
    innerDigest.fill(0);
    return mac;
  }

  /** The hex MAC of `message`. */
  macHex(message: Buffer): string {
    return this.writeAndMac(message.length, (buffer, offset) => message.copy(buffer, offset));
  }
}

/** The key made from each secret Buffer, made once (a secret lives as long as its configuration). */
const keys = new WeakMap<Buffer, HmacSha256Key>();

/**
 * The {@link HmacSha256Key} of `secret`, made on first use and kept as long as `secret` is.
 *
 * @example
 * ```ts
 * hmacKeyOf(secret) === hmacKeyOf(secret); // true
 * ```
 */
export function hmacKeyOf(secret: Buffer): HmacSha256Key {
  let key = keys.get(secret);
  if (key === undefined) {
    key = new HmacSha256Key(secret);
    keys.set(secret, key);
  }
  return key;
}

/**
 * The hex HMAC-SHA256 under `secret` of the UTF-8 bytes of `texts`, one after the other: what
 * `createHmac('sha256', secret).update(a).update(b)….digest('hex')` gives.
 */
export function hmacSha256Hex(secret: Buffer, ...texts: string[]): string {
  let size = 0;
  for (const text of texts) size += Buffer.byteLength(text, 'utf8');
  return hmacKeyOf(secret).writeAndMac(size, (buffer, offset) => {
    let at = offset;
    for (const text of texts) at += buffer.write(text, at, 'utf8');
  });
}
