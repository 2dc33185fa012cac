/**
 * The HMAC-SHA256 built from two one-shot hashes must be RFC 2104's HMAC byte for byte: the
 * credential cache's keys in Redis and the regulation keys stay the same across versions.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacSha256Key, hmacKeyOf, hmacSha256Hex } from '../../../src/authn/hmac-sha256.js';
import { credentialCacheKey } from '../../../src/authn/socache.js';

describe('HmacSha256Key', () => {
  // Key lengths around the 64-byte block (a longer key is hashed first); message lengths around
  // SHA-256's padding boundaries (55/56 bytes after the 64-byte key block) and a large one.
  const keyLengths = [1, 16, 32, 63, 64, 65, 200];
  const messageLengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_000];

  it('equals createHmac for every key and message length', () => {
    for (const keyLength of keyLengths) {
      const secret = randomBytes(keyLength);
      const key = new HmacSha256Key(secret);
      for (const messageLength of messageLengths) {
        const message = randomBytes(messageLength);
        expect(key.macHex(message), `key ${keyLength} B, message ${messageLength} B`).toBe(
          createHmac('sha256', secret).update(message).digest('hex'),
        );
      }
    }
  });

  it('matches RFC 4231 test case 2 (key "Jefe")', () => {
    const mac = new HmacSha256Key(Buffer.from('Jefe')).macHex(Buffer.from('what do ya want for nothing?'));
    expect(mac).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('writeAndMac MACs exactly what the writer put in place', () => {
    const secret = randomBytes(32);
    const mac = hmacKeyOf(secret).writeAndMac(5, (buffer, offset) => buffer.write('hello', offset, 'utf8'));
    expect(mac).toBe(createHmac('sha256', secret).update('hello').digest('hex'));
  });

  it('hmacSha256Hex is createHmac over the texts one after the other, in UTF-8', () => {
    const secret = randomBytes(32);
    expect(hmacSha256Hex(secret, 'authts-regulation-user-v1\0', 'zoë')).toBe(
      createHmac('sha256', secret).update('authts-regulation-user-v1\0').update('zoë', 'utf8').digest('hex'),
    );
    expect(hmacSha256Hex(secret)).toBe(createHmac('sha256', secret).digest('hex'));
  });

  it('refuses an empty or non-Buffer key', () => {
    expect(() => new HmacSha256Key(Buffer.alloc(0))).toThrow(TypeError);
    expect(() => new HmacSha256Key('secret' as unknown as Buffer)).toThrow(TypeError);
  });
});

describe('credentialCacheKey keeps its format', () => {
  it('is HMAC-SHA256 of the length-prefixed parts, as earlier versions wrote to Redis', () => {
    const secret = Buffer.from('0123456789abcdef0123456789abcdef');
    const parts = ['authts-authn-cache-v1', 'd:/p/', 'gen', 'alïce', 'pässword'];
    const framed = Buffer.concat(
      parts.flatMap((part) => {
        const bytes = Buffer.from(part, 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bytes.length);
        return [length, bytes];
      }),
    );
    expect(credentialCacheKey(secret, 'd:/p/', 'gen', 'alïce', 'pässword')).toBe(createHmac('sha256', secret).update(framed).digest('hex'));
  });
});
