/**
 * The session cookie's seal (JWE dir + A256GCM): what opens, and everything that must not —
 * tampering in every part, another key, another algorithm, a wrong shape, expiry — answered as
 * "no session", never a throw.
 */
import { CompactEncrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { keyFromPassphrase, MAX_COOKIE_VALUE, newSessionId, openSession, runSessionKey, sealSession } from '../../../src/session/cookie.js';

const key = keyFromPassphrase(Buffer.from('a passphrase of enough length for the tests'));
const otherKey = keyFromPassphrase(Buffer.from('another passphrase, another key entirely'));
const NOW = 1_700_000_000_000;
const claims = { sid: 'c2Vzc2lvbi1pZC1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA', user: 'alice', exp: NOW + 60_000 };

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * `text` with the base64url character at `at` changed in its highest bit: a change that alters
 * the decoded bytes even in a part's last character, whose low bits may be padding.
 */
function flip(text: string, at: number): string {
  const index = ALPHABET.indexOf(text[at]!);
  return text.slice(0, at) + ALPHABET[(index + 32) % 64]! + text.slice(at + 1);
}

async function sealRaw(payload: unknown, sealKey = key, enc: 'A256GCM' | 'A128GCM' = 'A256GCM'): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'dir', enc }).encrypt(enc === 'A256GCM' ? sealKey : sealKey.slice(0, 16));
}

describe('session cookie seal', () => {
  it('derives one 32-byte key per passphrase, the same every time', () => {
    expect(key).toHaveLength(32);
    expect(keyFromPassphrase(Buffer.from('a passphrase of enough length for the tests'))).toEqual(key);
    expect(otherKey).not.toEqual(key);
    expect(runSessionKey()).toHaveLength(32);
    expect(runSessionKey()).toEqual(runSessionKey());
  });

  it('makes session ids of 32 random bytes', () => {
    const a = newSessionId();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newSessionId()).not.toBe(a);
  });

  it('opens what it sealed, and the value hides the user name', async () => {
    const value = await sealSession(claims, key);
    expect(value.split('.')).toHaveLength(5);
    expect(value).not.toContain('alice');
    expect(Buffer.from(value.split('.')[0]!, 'base64url').toString()).toBe('{"alg":"dir","enc":"A256GCM"}');
    expect(await openSession(value, [key], NOW)).toEqual(claims);
  });

  it('refuses a change of one character in any of the five parts', async () => {
    const value = await sealSession(claims, key);
    const parts = value.split('.');
    let offset = 0;
    for (const part of parts) {
      if (part.length > 0) {
        for (const at of [0, Math.floor(part.length / 2), part.length - 1]) {
          expect(await openSession(flip(value, offset + at), [key], NOW), `part at ${offset}+${at}`).toBeUndefined();
        }
      }
      offset += part.length + 1;
    }
  });

  it('refuses truncated, extended, empty, oversized and non-base64url values', async () => {
    const value = await sealSession(claims, key);
    for (const bad of [value.slice(0, -1), `${value}A`, value.slice(0, value.lastIndexOf('.')), '', 'x'.repeat(MAX_COOKIE_VALUE + 1), `${value} `, value.replace(/\./g, '!'), 'a.b.c.d.e']) {
      expect(await openSession(bad, [key], NOW)).toBeUndefined();
    }
  });

  it('refuses a value sealed with another key', async () => {
    expect(await openSession(await sealSession(claims, otherKey), [key], NOW)).toBeUndefined();
  });

  it('opens with an older key listed after the current one (passphrase rotation)', async () => {
    const old = await sealSession(claims, otherKey);
    expect(await openSession(old, [key, otherKey], NOW)).toEqual(claims);
  });

  it('refuses another content algorithm, and an unsecured JWT-shaped value', async () => {
    expect(await openSession(await sealRaw({ v: 1, ...claims }, key, 'A128GCM'), [key], NOW)).toBeUndefined();
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ v: 1, ...claims })).toString('base64url')}.`;
    expect(await openSession(none, [key], NOW)).toBeUndefined();
  });

  it('refuses plaintexts of the wrong shape, even correctly sealed', async () => {
    const shapes: unknown[] = [
      [claims],
      'alice',
      null,
      { ...claims },
      { v: 2, ...claims },
      { v: 1, sid: 1, user: 'alice', exp: claims.exp },
      { v: 1, sid: claims.sid, user: ['alice'], exp: claims.exp },
      { v: 1, sid: claims.sid, user: 'alice', exp: String(claims.exp) },
      { v: 1, sid: claims.sid, user: 'alice' },
    ];
    for (const shape of shapes) {
      expect(await openSession(await sealRaw(shape), [key], NOW), JSON.stringify(shape)).toBeUndefined();
    }
  });

  it('refuses a cookie at or after its absolute end', async () => {
    const value = await sealSession(claims, key);
    expect(await openSession(value, [key], claims.exp - 1)).toEqual(claims);
    expect(await openSession(value, [key], claims.exp)).toBeUndefined();
    expect(await openSession(value, [key], claims.exp + 1)).toBeUndefined();
  });
});
