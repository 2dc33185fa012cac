/**
 * Remote key sets against a real JWKS server on 127.0.0.1 (port 0): fetches are counted, the
 * server rotates keys, fails, answers garbage and stalls. The clock of the key sets is injected.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthTsError } from '../../../src/errors.js';
import { jwtProvider, type JwtTokenChecker } from '../../../src/providers/jwt/index.js';
import { makeKey, mint, startJwksServer, type JwksServer, type TestKey } from '../../helpers/jwt.js';

let server: JwksServer;
let k1: TestKey;
let k2: TestKey;
let ed: TestKey;
let clock = 0;
const providers: JwtTokenChecker[] = [];

async function provider(extra: Record<string, unknown> = {}): Promise<JwtTokenChecker> {
  const p = await jwtProvider({ keys: [server.url], now: () => Date.now() + clock, keysCooldown: 30, keysMaxAge: 600, keysTimeout: 1, ...extra });
  providers.push(p);
  return p;
}

beforeAll(async () => {
  [k1, k2, ed] = await Promise.all([makeKey('ES256', 'k1'), makeKey('RS256', 'k2'), makeKey('EdDSA', 'ed')]);
  server = await startJwksServer([k1.publicJwk]);
});

afterEach(() => {
  server.keys = [k1.publicJwk];
  server.mode = 'ok';
  server.fetches = 0;
  server.discoveryFetches = 0;
  server.issuer = `${server.origin}/issuer`;
  clock = 0;
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await server.close();
});

describe('remote JWKS', () => {
  it('fetches once, then answers from the cache across tokens', async () => {
    const p = await provider();
    expect(server.fetches).toBe(0);
    for (let i = 0; i < 5; i++) expect((await p.checkToken(await mint(k1, { sub: `u${i}` }))).result).toBe('granted');
    expect(server.fetches).toBe(1);
  });

  it('concurrent first requests share one in-flight fetch', async () => {
    const p = await provider();
    server.mode = 'slow';
    server.delayMs = 150;
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => mint(k1, { sub: `u${i}` })));
    const answers = await Promise.all(tokens.map((t) => p.checkToken(t)));
    expect(answers.every((a) => a.result === 'granted')).toBe(true);
    expect(server.fetches).toBe(1);
  });

  it('unknown kids trigger at most one fetch per cooldown, and a rotated-in key is found', async () => {
    const p = await provider();
    expect((await p.checkToken(await mint(k1, { sub: 'a' }))).result).toBe('granted');
    expect(server.fetches).toBe(1);
    // A stream of made-up kids: the first (cooldown passed) fetches again, the rest do not.
    clock = 31_000;
    for (let i = 0; i < 10; i++) {
      expect(await p.checkToken(await mint(k1, { sub: 'a' }, { kid: `made-up-${i}` }))).toEqual({ result: 'not-found', reason: 'the token key id is unknown' });
    }
    expect(server.fetches).toBe(2);
    // The issuer rotates in k2: within the cooldown its kid is not fetched for…
    server.keys = [k1.publicJwk, k2.publicJwk];
    expect((await p.checkToken(await mint(k2, { sub: 'b' }))).result).toBe('not-found');
    expect(server.fetches).toBe(2);
    // …after it, the first k2 token fetches the new set and is granted.
    clock = 62_000;
    expect(await p.checkToken(await mint(k2, { sub: 'b' }))).toMatchObject({ result: 'granted', user: 'b' });
    expect(server.fetches).toBe(3);
    // Rotated out: k1 tokens stop verifying once the set is refreshed (here: by age).
    server.keys = [k2.publicJwk];
    clock = 62_000 + 601_000;
    await p.checkToken(await mint(k2, { sub: 'b' })); // starts the background refresh
    await expect.poll(() => server.fetches).toBe(4);
    await new Promise((r) => setTimeout(r, 50));
    expect(await p.checkToken(await mint(k1, { sub: 'a' }))).toEqual({ result: 'not-found', reason: 'the token key id is unknown' });
  });

  it('keeps the last good keys while the endpoint is down, and recovers', async () => {
    const p = await provider();
    expect((await p.checkToken(await mint(k1, { sub: 'a' }))).result).toBe('granted');
    server.mode = 'fail';
    clock = 601_000; // stale: a refresh is due
    expect((await p.checkToken(await mint(k1, { sub: 'a' }))).result).toBe('granted');
    await expect.poll(() => server.fetches).toBe(2);
    await new Promise((r) => setTimeout(r, 50));
    // Still down: within the cooldown nothing is fetched, and the old keys keep serving.
    for (let i = 0; i < 5; i++) expect((await p.checkToken(await mint(k1, { sub: 'a' }))).result).toBe('granted');
    expect(server.fetches).toBe(2);
    server.mode = 'garbage';
    clock = 632_000;
    expect((await p.checkToken(await mint(k1, { sub: 'a' }))).result).toBe('granted');
    await expect.poll(() => server.fetches).toBe(3);
    server.mode = 'ok';
    server.keys = [k1.publicJwk, k2.publicJwk];
    clock = 663_000;
    expect((await p.checkToken(await mint(k2, { sub: 'b' }))).result).toBe('granted');
    expect(server.fetches).toBe(4);
  });

  it('a set never fetched fails with JWT_KEYS_UNAVAILABLE, without a fetch per request during the cooldown', async () => {
    const p = await provider();
    server.mode = 'fail';
    const token = await mint(k1, { sub: 'a' });
    const first = await p.checkToken(token).catch((err: unknown) => err);
    expect(first).toBeInstanceOf(AuthTsError);
    expect((first as AuthTsError).code).toBe('JWT_KEYS_UNAVAILABLE');
    expect((first as AuthTsError).message).toContain('HTTP 503');
    for (let i = 0; i < 5; i++) await expect(p.checkToken(token)).rejects.toMatchObject({ code: 'JWT_KEYS_UNAVAILABLE' });
    expect(server.fetches).toBe(1);
    server.mode = 'ok';
    clock = 31_000;
    expect((await p.checkToken(token)).result).toBe('granted');
    expect(server.fetches).toBe(2);
  });

  it('a slow endpoint times out (keysTimeout) instead of holding requests', async () => {
    const p = await provider();
    server.mode = 'slow';
    server.delayMs = 3_000;
    const started = Date.now();
    await expect(p.checkToken(await mint(k1, { sub: 'a' }))).rejects.toMatchObject({ code: 'JWT_KEYS_UNAVAILABLE', message: expect.stringContaining('no answer within 1000 ms') });
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('ignores symmetric and private keys served in a JWKS, and verifies Ed25519 (EdDSA) keys', async () => {
    server.keys = [{ kty: 'oct', k: 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', kid: 'oct' }, ed.publicJwk];
    const p = await provider();
    expect(await p.checkToken(await mint(ed, { sub: 'e' }))).toMatchObject({ result: 'granted', user: 'e' });
    const { forge } = await import('../../helpers/jwt.js');
    const hs = forge({ alg: 'HS256', kid: 'oct' }, { sub: 'x', exp: 4_000_000_000 }, { hmacKey: Buffer.from('c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', 'base64url') });
    expect(await p.checkToken(hs)).toEqual({ result: 'denied', reason: 'the token algorithm is not accepted' });
  });
});

describe('OpenID Connect discovery', () => {
  it('finds jwks_uri from <issuer>/.well-known/openid-configuration, once, and checks iss by default', async () => {
    const issuer = `${server.origin}/issuer`;
    const p = await provider({ keys: undefined, discovery: issuer });
    expect((await p.checkToken(await mint(k1, { sub: 'a', iss: issuer }))).result).toBe('granted');
    expect(await p.checkToken(await mint(k1, { sub: 'a', iss: 'https://other' }))).toEqual({ result: 'denied', reason: 'the token issuer is not accepted' });
    expect((await p.checkToken(await mint(k1, { sub: 'b', iss: issuer }))).result).toBe('granted');
    expect([server.discoveryFetches, server.fetches]).toEqual([1, 1]);
  });

  it('refuses a discovery document for another issuer', async () => {
    server.issuer = 'https://evil.example';
    const p = await provider({ keys: undefined, discovery: `${server.origin}/issuer` });
    await expect(p.checkToken(await mint(k1, { sub: 'a', iss: `${server.origin}/issuer` }))).rejects.toMatchObject({
      code: 'JWT_KEYS_UNAVAILABLE',
      message: expect.stringContaining('its "issuer" is not'),
    });
    expect(server.fetches).toBe(0);
  });
});
