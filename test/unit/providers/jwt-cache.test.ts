/**
 * The cache of verified tokens (`AuthTsJwtCache`, `AuthTsJwtCacheEntries`): each safety rule with
 * an injected clock — a repeat costs no verification, entries never outlive `exp`, `AuthTsJwtMaxAge`
 * or the key that verified them, the size is bounded (LRU), a tampered token sharing the valid
 * one's prefix is verified (and refused), refusals are never cached, concurrent requests share
 * one verification, and a grant under one section's policy is never reused under another's.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { AuthEngine } from '../../../src/engine.js';
import { AuthTsError, ConfigErrors } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { builtinModules } from '../../../src/modules.js';
import { tokenCacheKey, VerifiedTokenCache } from '../../../src/providers/jwt/cache.js';
import { createAuthnzJwtModule, jwtProvider, type JwtProviderOptions, type JwtTokenChecker } from '../../../src/providers/jwt/index.js';
import { epoch, makeKey, mint, startJwksServer, type JwksServer, type TestKey } from '../../helpers/jwt.js';

let dir: string;
let es: TestKey;
let rsa: TestKey;
let k1: TestKey;
let k2: TestKey;
let k3: TestKey;
let jwks: JwksServer;
/** The injected clock: every provider of this file reads it. */
let now = Date.parse('2030-06-01T12:00:00Z');
const T0 = now;
const T = epoch(T0);
const providers: JwtTokenChecker[] = [];

async function provider(options: Partial<JwtProviderOptions> = {}): Promise<JwtTokenChecker> {
  const p = await jwtProvider({ keys: [join(dir, 'es.jwks'), join(dir, 'rsa.pem')], now: () => now, ...options });
  providers.push(p);
  return p;
}

const good = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ sub: 'alice', iat: T - 10, exp: T + 600, ...extra });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authts-jwt-cache-'));
  [es, rsa, k1, k2, k3] = await Promise.all([
    makeKey('ES256', 'es-1'), makeKey('RS256', 'rsa-1'), makeKey('ES256', 'k1'), makeKey('ES256', 'k2'), makeKey('ES256', 'k3'),
  ]);
  await writeFile(join(dir, 'es.jwks'), JSON.stringify({ keys: [es.publicJwk] }));
  await writeFile(join(dir, 'rsa.pem'), rsa.publicPem);
  jwks = await startJwksServer([k1.publicJwk]);
});

afterEach(() => {
  now = T0;
  jwks.keys = [k1.publicJwk];
  jwks.mode = 'ok';
  jwks.fetches = 0;
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await jwks.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the cache: hits', () => {
  it('a repeated token is answered from the cache: one verification, the same frozen answer', async () => {
    const p = await provider();
    const token = await mint(es, good({ realm_access: { roles: ['admin'] } }));
    const first = await p.checkToken(token);
    expect(first).toMatchObject({ result: 'granted', user: 'alice' });
    expect(p.cache!.stats()).toEqual({ hits: 0, misses: 1, entries: 1, evictions: 0 });
    for (let i = 0; i < 5; i++) expect(await p.checkToken(token)).toBe(first);
    expect(p.cache!.stats()).toMatchObject({ hits: 5, misses: 1, entries: 1 });
    // The shared answer cannot be changed by one request for the next: claims are deeply frozen.
    const roles = (first as unknown as { claims: { realm_access: { roles: string[] } } }).claims.realm_access.roles;
    expect(() => roles.push('root')).toThrow(TypeError);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('is keyed by the SHA-256 of the token under a scope: the token is never part of the key', async () => {
    const token = await mint(es, good());
    const key = tokenCacheKey('s1', token);
    expect(key).toMatch(/^s1:[A-Za-z0-9_-]{43}$/);
    for (const segment of token.split('.')) expect(key).not.toContain(segment.slice(0, 12));
  });

  it('cache: false verifies every time; cacheEntries and cache are checked eagerly', async () => {
    const p = await provider({ cache: false });
    expect(p.cache).toBeUndefined();
    const token = await mint(es, good());
    expect((await p.checkToken(token)).result).toBe('granted');
    expect((await p.checkToken(token)).result).toBe('granted');
    await expect(jwtProvider({ keys: [join(dir, 'rsa.pem')], cacheEntries: 0 })).rejects.toThrow(/options\.cacheEntries/);
    await expect(jwtProvider({ keys: [join(dir, 'rsa.pem')], cacheEntries: 2_000_000 })).rejects.toThrow(/options\.cacheEntries/);
    await expect(jwtProvider({ keys: [join(dir, 'rsa.pem')], cache: 'yes' as unknown as boolean })).rejects.toThrow(/options\.cache/);
    expect(() => new VerifiedTokenCache(0)).toThrow(TypeError);
  });
});

describe('the cache: time', () => {
  it('never outlives exp: the entry stops at exp, not at exp + clock skew', async () => {
    const p = await provider();
    const token = await mint(es, good({ exp: T + 100 }));
    expect((await p.checkToken(token)).result).toBe('granted');
    now = T0 + 99_999;
    expect((await p.checkToken(token)).result).toBe('granted');
    expect(p.cache!.stats()).toMatchObject({ hits: 1, misses: 1 });
    // At exp: no longer from the cache. Verification still accepts it within the 60 s skew, and
    // does not store it again (the entry would already be past exp).
    now = T0 + 100_000;
    expect((await p.checkToken(token)).result).toBe('granted');
    expect(p.cache!.stats()).toMatchObject({ hits: 1, misses: 2, entries: 0 });
    now = T0 + 161_000;
    expect(await p.checkToken(token)).toEqual({ result: 'denied', reason: 'the token expired' });
    expect(p.cache!.stats()).toMatchObject({ hits: 1, misses: 3, entries: 0 });
  });

  it('with no clock skew, the first request at exp is refused', async () => {
    const p = await provider({ clockSkew: 0 });
    const token = await mint(es, good({ exp: T + 5 }));
    expect((await p.checkToken(token)).result).toBe('granted');
    now = T0 + 5_000;
    expect(await p.checkToken(token)).toEqual({ result: 'denied', reason: 'the token expired' });
  });

  it('never outlives AuthTsJwtMaxAge: the entry stops at iat + max age', async () => {
    const p = await provider({ maxAge: 30 });
    const token = await mint(es, good({ iat: T - 10 }));
    expect((await p.checkToken(token)).result).toBe('granted');
    now = T0 + 19_999;
    expect((await p.checkToken(token)).result).toBe('granted');
    expect(p.cache!.stats()).toMatchObject({ hits: 1, misses: 1 });
    now = T0 + 20_000;
    await p.checkToken(token);
    expect(p.cache!.stats()).toMatchObject({ hits: 1, misses: 2 });
    now = T0 + 20_000 + 61_000;
    expect(await p.checkToken(token)).toEqual({ result: 'denied', reason: 'the token is too old' });
  });

  it('a clock stepped back before nbf (or iat) − skew does not answer from the cache', async () => {
    const p = await provider();
    const token = await mint(es, good({ nbf: T, iat: T }));
    expect((await p.checkToken(token)).result).toBe('granted');
    now = T0 - 60_000;
    expect((await p.checkToken(token)).result).toBe('granted');
    expect(p.cache!.stats()).toMatchObject({ hits: 1, misses: 1 });
    now = T0 - 61_000;
    expect(await p.checkToken(token)).toEqual({ result: 'denied', reason: 'the token is not valid yet' });
    expect(p.cache!.stats()).toMatchObject({ hits: 1, misses: 2 });
  });

  it('a token without exp (AuthTsJwtRequireClaims None) is never cached', async () => {
    const p = await provider({ requiredClaims: [] });
    const { SignJWT } = await import('jose');
    const noExp = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'ES256', kid: 'es-1' }).sign(es.privateKey);
    expect((await p.checkToken(noExp)).result).toBe('granted');
    expect((await p.checkToken(noExp)).result).toBe('granted');
    expect(p.cache!.stats()).toMatchObject({ hits: 0, misses: 2, entries: 0 });
  });
});

describe('the cache: refusals and tampering', () => {
  it('refused and not-found answers are never cached', async () => {
    const p = await provider({ audience: 'api' });
    const wrongAud = await mint(es, good({ aud: 'other' }));
    const unknownKid = await mint(es, good({ aud: 'api' }), { kid: 'nobody' });
    for (let i = 0; i < 3; i++) {
      expect(await p.checkToken(wrongAud)).toEqual({ result: 'denied', reason: 'the token audience is not accepted' });
      expect(await p.checkToken(unknownKid)).toEqual({ result: 'not-found', reason: 'the token key id is unknown' });
    }
    expect(p.cache!.stats()).toMatchObject({ hits: 0, misses: 6, entries: 0 });
  });

  it('a tampered token with the valid token\'s prefix is verified, and refused, while the valid one stays cached', async () => {
    const p = await provider();
    const token = await mint(rsa, good({ scope: 'read' }), { kid: null });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    expect((await p.checkToken(token)).result).toBe('granted');
    const escalated = Buffer.from(JSON.stringify({ ...good({ scope: 'read admin' }) })).toString('base64url');
    // A character inside the signature (the last one may hold only padding bits of base64url).
    const flipped = signature[10] === 'A' ? 'B' : 'A';
    const tampered = [
      `${header}.${escalated}.${signature}`, // same header, other claims, the valid signature
      `${header}.${payload}.${signature.slice(0, 10)}${flipped}${signature.slice(11)}`, // one signature character changed
      `${header}.${payload}.${signature.slice(0, -4)}`, // truncated
      `${token}AAAA`, // extended
    ];
    for (const t of tampered) expect((await p.checkToken(t)).result, t.slice(-8)).toBe('denied');
    expect(p.cache!.stats()).toMatchObject({ hits: 0, misses: 5, entries: 1 });
    expect((await p.checkToken(token)).result).toBe('granted');
    expect(p.cache!.stats()).toMatchObject({ hits: 1 });
  });

  it('a key set that cannot be fetched is an error, never a cached answer', async () => {
    jwks.mode = 'fail';
    const p = await provider({ keys: [jwks.url], keysCooldown: 0 });
    const token = await mint(k1, good());
    await expect(p.checkToken(token)).rejects.toSatisfy((e: unknown) => e instanceof AuthTsError && e.code === 'JWT_KEYS_UNAVAILABLE');
    expect(p.cache!.stats()).toMatchObject({ entries: 0 });
    jwks.mode = 'ok';
    expect((await p.checkToken(token)).result).toBe('granted');
    expect(p.cache!.stats()).toMatchObject({ hits: 0, misses: 2, entries: 1 });
  });
});

describe('the cache: key rotation', () => {
  /** Waits for the background refresh a hit started (an unknown kid joins the fetch in flight; within the cooldown it starts none). */
  async function refreshed(p: JwtTokenChecker, fetches: number): Promise<void> {
    await p.keySets[0]!.keys('no-such-kid');
    expect(jwks.fetches).toBe(fetches);
  }

  it('a rotation drops entries whose key is gone; the token is then refused with the new set', async () => {
    const p = await provider({ keys: [jwks.url], keysMaxAge: 600, keysCooldown: 30 });
    const token = await mint(k1, good({ exp: T + 7200 }));
    expect((await p.checkToken(token)).result).toBe('granted');
    expect(jwks.fetches).toBe(1);
    // The issuer rotates k1 out. Until the set is old enough to refresh, the entry serves, as the
    // held keys would (the uncached answer is the same).
    jwks.keys = [k2.publicJwk];
    now = T0 + 599_000;
    expect((await p.checkToken(token)).result).toBe('granted');
    expect(jwks.fetches).toBe(1);
    // Past AuthTsJwtKeysMaxAge, a hit starts the refresh (no verification runs to start it)…
    now = T0 + 601_000;
    expect((await p.checkToken(token)).result).toBe('granted');
    await refreshed(p, 2);
    // …and once the new set is in, the entry is gone and the token verifies against k2 only.
    expect(await p.checkToken(token)).toEqual({ result: 'not-found', reason: 'the token key id is unknown' });
    expect(p.cache!.stats()).toMatchObject({ hits: 2, misses: 2, entries: 0 });
    expect((await p.checkToken(await mint(k2, good({ exp: T + 7200 })))).result).toBe('granted');
  });

  it('a key removed while others stay drops its entries; a refresh bringing the same keys keeps them', async () => {
    jwks.keys = [k1.publicJwk, k3.publicJwk];
    const p = await provider({ keys: [jwks.url], keysMaxAge: 600, keysCooldown: 30 });
    const t1 = await mint(k1, good({ exp: T + 7200 }));
    const t3 = await mint(k3, good({ exp: T + 7200 }));
    expect((await p.checkToken(t1)).result).toBe('granted');
    expect((await p.checkToken(t3)).result).toBe('granted');
    // Same keys again (new objects, same key material): nothing is dropped.
    now = T0 + 601_000;
    expect((await p.checkToken(t1)).result).toBe('granted');
    await refreshed(p, 2);
    expect((await p.checkToken(t1)).result).toBe('granted');
    expect((await p.checkToken(t3)).result).toBe('granted');
    expect(p.cache!.stats()).toMatchObject({ hits: 3, misses: 2, entries: 2 });
    // k1 removed, k3 kept: the next refresh drops what was cached from the old set.
    jwks.keys = [k3.publicJwk];
    now = T0 + 1_202_000;
    expect((await p.checkToken(t3)).result).toBe('granted');
    await refreshed(p, 3);
    expect(await p.checkToken(t1)).toEqual({ result: 'not-found', reason: 'the token key id is unknown' });
    expect((await p.checkToken(t3)).result).toBe('granted');
    expect(p.cache!.stats()).toMatchObject({ hits: 4, misses: 4, entries: 1 });
  });
});

describe('the cache: bound', () => {
  it('holds at most cacheEntries tokens, evicting the least recently used', async () => {
    const p = await provider({ cacheEntries: 3 });
    const tokens = await Promise.all(['a', 'b', 'c', 'd'].map((sub) => mint(es, good({ sub }))));
    const [a, b, c, d] = tokens as [string, string, string, string];
    for (const t of [a, b, c]) await p.checkToken(t);
    expect(p.cache!.stats()).toMatchObject({ misses: 3, entries: 3, evictions: 0 });
    await p.checkToken(a); // a is now the most recently used: b is the oldest
    await p.checkToken(d);
    expect(p.cache!.stats()).toMatchObject({ hits: 1, misses: 4, entries: 3, evictions: 1 });
    await p.checkToken(a);
    await p.checkToken(c);
    await p.checkToken(d);
    expect(p.cache!.stats()).toMatchObject({ hits: 4, misses: 4 });
    expect((await p.checkToken(b)).result).toBe('granted'); // evicted: verified again
    expect(p.cache!.stats()).toMatchObject({ hits: 4, misses: 5, entries: 3, evictions: 2 });
  });

  it('many distinct tokens never grow it past the bound', async () => {
    const p = await provider({ cacheEntries: 10 });
    for (let i = 0; i < 40; i++) expect((await p.checkToken(await mint(es, good({ sub: `u${i}` })))).result).toBe('granted');
    expect(p.cache!.stats()).toMatchObject({ misses: 40, entries: 10, evictions: 30 });
  });
});

describe('the cache: concurrency', () => {
  it('concurrent requests with one uncached token share one verification (and one key fetch)', async () => {
    jwks.mode = 'slow';
    jwks.delayMs = 100;
    const p = await provider({ keys: [jwks.url] });
    const token = await mint(k1, good());
    const answers = await Promise.all(Array.from({ length: 20 }, () => p.checkToken(token)));
    expect(answers.every((a) => a.result === 'granted' && a.user === 'alice')).toBe(true);
    expect(p.cache!.stats()).toMatchObject({ hits: 19, misses: 1, entries: 1 });
    expect(jwks.fetches).toBe(1);
  });

  it('concurrent valid and tampered tokens: each gets its own answer', async () => {
    const p = await provider();
    const token = await mint(es, good({ scope: 'read' }));
    const [h, , s] = token.split('.') as [string, string, string];
    const forged = `${h}.${Buffer.from(JSON.stringify(good({ scope: 'admin', sub: 'mallory' }))).toString('base64url')}.${s}`;
    const mixed = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? token : forged));
    const answers = await Promise.all(mixed.map((t) => p.checkToken(t)));
    answers.forEach((a, i) => expect(a.result, `request ${i}`).toBe(i % 2 === 0 ? 'granted' : 'denied'));
    expect(answers.some((a) => a.result === 'granted' && a.user === 'mallory')).toBe(false);
    expect(p.cache!.stats()).toMatchObject({ misses: 2, entries: 1 });
  });

  it('a request that joins a verification after exp is not granted by it', async () => {
    const p = await provider({ clockSkew: 0, keys: [jwks.url] });
    jwks.mode = 'slow';
    jwks.delayMs = 50;
    const token = await mint(k1, good({ exp: T + 10 }));
    const first = p.checkToken(token); // starts at T0: waits for the key set
    await new Promise((r) => setTimeout(r, 10));
    now = T0 + 10_000; // the second request arrives at exp and joins the first one's verification
    const second = p.checkToken(token);
    expect((await first).result).toBe('granted');
    expect(await second).toEqual({ result: 'denied', reason: 'the token expired' });
  });
});

describe('the cache in a configuration (AuthTsJwtCache, AuthTsJwtCacheEntries)', () => {
  async function engine(text: string): Promise<{ check: (path: string, token: string) => Promise<number>; close: () => Promise<void> }> {
    const jwt = createAuthnzJwtModule({ now: () => now });
    const config = await loadConfig({ text, textName: 'cache.conf', modules: [...builtinModules().filter((m) => m.name !== 'authnz_jwt'), jwt], logger: silentLogger });
    const e = new AuthEngine(config, silentLogger);
    return {
      check: async (path, token) =>
        (await e.check({ method: 'GET', path, query: '', unparsedUri: path, filename: undefined, isDirectory: false, headers: { authorization: `Bearer ${token}` }, remoteAddress: '127.0.0.1' })).status,
      close: () => config.close(),
    };
  }

  const site = (extra = ''): string => `
${extra}
<Location "/a">
    AuthType Bearer
    AuthName "a"
    AuthTsJwtKeys "${dir}/es.jwks"
    AuthTsJwtAudience a
    Require valid-user
</Location>
<Location "/b">
    AuthType Bearer
    AuthName "b"
    AuthTsJwtKeys "${dir}/es.jwks"
    AuthTsJwtAudience b
    Require valid-user
</Location>
<Location "/a2">
    AuthType Bearer
    AuthName "a2"
    AuthTsJwtKeys "${dir}/es.jwks"
    AuthTsJwtAudience a
    Require valid-user
</Location>
<Location "/nocache">
    AuthType Bearer
    AuthName "nocache"
    AuthTsJwtKeys "${dir}/es.jwks"
    AuthTsJwtCache Off
    Require valid-user
</Location>
`;

  it('a grant under one section\'s policy is never reused under another\'s; expiry uses the injected clock', async () => {
    const e = await engine(site());
    try {
      const token = await mint(es, good({ aud: 'a', exp: T + 100 }));
      expect(await e.check('/a/x', token)).toBe(200);
      expect(await e.check('/a/x', token)).toBe(200);
      expect(await e.check('/b/x', token)).toBe(401); // audience b: verified, refused
      expect(await e.check('/a2/x', token)).toBe(200); // the same policy and keys: may share
      expect(await e.check('/nocache/x', token)).toBe(200);
      now = T0 + 161_000;
      expect(await e.check('/a/x', token)).toBe(401);
    } finally {
      await e.close();
    }
  });

  it('AuthTsJwtCacheEntries 0 turns it off; bad values are load errors', async () => {
    const e = await engine(site('AuthTsJwtCacheEntries 0'));
    try {
      const token = await mint(es, good({ aud: 'a' }));
      expect(await e.check('/a/x', token)).toBe(200);
      expect(await e.check('/a/x', token)).toBe(200);
    } finally {
      await e.close();
    }
    for (const bad of ['AuthTsJwtCacheEntries -1', 'AuthTsJwtCacheEntries 2000000', 'AuthTsJwtCacheEntries many']) {
      await expect(engine(site(bad))).rejects.toBeInstanceOf(ConfigErrors);
    }
    await expect(engine(site().replace('AuthTsJwtCache Off', 'AuthTsJwtCache Maybe'))).rejects.toBeInstanceOf(ConfigErrors);
  });
});
