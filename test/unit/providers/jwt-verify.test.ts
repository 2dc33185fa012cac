/**
 * `jwtProvider`: tokens minted with jose, and an attack table of hand-made tokens. Time is
 * injected (`now`) wherever exp/nbf/iat decide.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, FlattenedSign, SignJWT } from 'jose';
import { jwtProvider, type JwtTokenChecker } from '../../../src/providers/jwt/index.js';
import { epoch, forge, makeKey, mint, mintHmac, type TestKey } from '../../helpers/jwt.js';

let dir: string;
let rsa: TestKey;
let es: TestKey;
let other: TestKey;
let jwt: JwtTokenChecker;
const secret = new Uint8Array(Buffer.from('0123456789abcdef0123456789abcdef', 'utf8'));
const ISS = 'https://issuer.example';
const AUD = 'api';
/** The frozen clock of most tests. */
const NOW = Date.parse('2030-06-01T12:00:00Z');
const T = epoch(NOW);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authts-jwt-'));
  [rsa, es, other] = await Promise.all([makeKey('RS256', 'rsa-1'), makeKey('ES256', 'es-1'), makeKey('RS256', 'other')]);
  await writeFile(join(dir, 'rsa.pem'), rsa.publicPem);
  await writeFile(join(dir, 'keys.jwks'), JSON.stringify({ keys: [es.publicJwk] }));
  jwt = await jwtProvider({ keys: [join(dir, 'rsa.pem'), join(dir, 'keys.jwks')], issuer: ISS, audience: AUD, now: () => NOW });
});

afterAll(async () => {
  await jwt.close();
  await rm(dir, { recursive: true, force: true });
});

const good = { sub: 'alice', iss: ISS, aud: AUD, iat: T - 10, exp: T + 600 };

/** A correctly signed JWS with `b64: false` (RFC 7797), in compact form. */
async function unencoded(payload: string): Promise<string> {
  const jws = await new FlattenedSign(Buffer.from(payload)).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1', b64: false, crit: ['b64'] }).sign(rsa.privateKey);
  return `${jws.protected}.${payload}.${jws.signature}`;
}

describe('jwtProvider: valid tokens', () => {
  it('grants an RS256 token from a PEM key and an ES256 token from a JWKS file, with the claims', async () => {
    const a = await jwt.checkToken(await mint(rsa, { ...good, scope: 'read write' }));
    expect(a).toMatchObject({ result: 'granted', user: 'alice' });
    expect(a.result === 'granted' && a.claims['scope']).toBe('read write');
    expect(await jwt.checkToken(await mint(es, { ...good, sub: 'bob' }))).toMatchObject({ result: 'granted', user: 'bob' });
  });

  it('a PEM key without kid verifies tokens whatever kid they carry; a JWKS key only its own kid', async () => {
    expect((await jwt.checkToken(await mint(rsa, good, { kid: 'anything' }))).result).toBe('granted');
    expect((await jwt.checkToken(await mint(rsa, good, { kid: null }))).result).toBe('granted');
    expect(await jwt.checkToken(await mint(es, good, { kid: 'es-2' }))).toEqual({ result: 'not-found', reason: 'the token key id is unknown' });
  });

  it('accepts exp/nbf within the clock skew (default 60 s), refuses beyond it', async () => {
    expect((await jwt.checkToken(await mint(rsa, { ...good, exp: T - 30 }))).result).toBe('granted');
    expect(await jwt.checkToken(await mint(rsa, { ...good, exp: T - 61 }))).toEqual({ result: 'denied', reason: 'the token expired' });
    expect((await jwt.checkToken(await mint(rsa, { ...good, nbf: T + 30 }))).result).toBe('granted');
    expect(await jwt.checkToken(await mint(rsa, { ...good, nbf: T + 61 }))).toEqual({ result: 'denied', reason: 'the token is not valid yet' });
    expect(await jwt.checkToken(await mint(rsa, { ...good, iat: T + 120 }))).toEqual({ result: 'denied', reason: 'the token was issued in the future' });
  });

  it('AuthTsJwtClockSkew 0 (clockSkew: 0) refuses a token one second past exp', async () => {
    const strict = await jwtProvider({ keys: [join(dir, 'rsa.pem')], clockSkew: 0, now: () => NOW });
    expect(await strict.checkToken(await mint(rsa, { ...good, exp: T }))).toEqual({ result: 'denied', reason: 'the token expired' });
    expect((await strict.checkToken(await mint(rsa, { ...good, exp: T + 1 }))).result).toBe('granted');
  });

  it('takes the user from another claim (userClaim), and refuses a token without a usable one', async () => {
    const byEmail = await jwtProvider({ keys: [join(dir, 'rsa.pem')], userClaim: 'email', now: () => NOW });
    expect(await byEmail.checkToken(await mint(rsa, { ...good, email: 'a@example.org' }))).toMatchObject({ result: 'granted', user: 'a@example.org' });
    expect(await byEmail.checkToken(await mint(rsa, good))).toEqual({ result: 'denied', reason: 'the token has no usable "email" claim' });
    expect(await byEmail.checkToken(await mint(rsa, { ...good, email: 'a\nb' }))).toMatchObject({ result: 'denied' });
  });

  it('checks required claims, typ and maximum age', async () => {
    const strict = await jwtProvider({ keys: [join(dir, 'rsa.pem')], requiredClaims: ['exp', 'jti'], type: 'at+jwt', maxAge: 300, now: () => NOW });
    const ok = { ...good, jti: 'j1' };
    expect((await strict.checkToken(await mint(rsa, ok, { header: { typ: 'at+jwt' } }))).result).toBe('granted');
    expect((await strict.checkToken(await mint(rsa, ok, { header: { typ: 'application/at+jwt' } }))).result).toBe('granted');
    expect(await strict.checkToken(await mint(rsa, ok, { header: { typ: 'JWT' } }))).toEqual({ result: 'denied', reason: 'the token type is not accepted' });
    expect(await strict.checkToken(await mint(rsa, good, { header: { typ: 'at+jwt' } }))).toEqual({ result: 'denied', reason: 'the token has no "jti" claim' });
    expect(await strict.checkToken(await mint(rsa, { ...ok, iat: T - 1000 }, { header: { typ: 'at+jwt' } }))).toEqual({ result: 'denied', reason: 'the token is too old' });
    const noExp = await mint(rsa, { ...good, exp: undefined });
    expect(await jwt.checkToken(noExp)).toEqual({ result: 'denied', reason: 'the token has no "exp" claim' });
  });

  it('accepts any of several issuers and audiences; aud may be an array', async () => {
    const multi = await jwtProvider({ keys: [join(dir, 'rsa.pem')], issuer: ['https://a', 'https://b'], audience: ['x', 'y'], now: () => NOW });
    expect((await multi.checkToken(await mint(rsa, { ...good, iss: 'https://b', aud: ['z', 'y'] }))).result).toBe('granted');
    expect((await multi.checkToken(await mint(rsa, { ...good, iss: 'https://c', aud: 'x' }))).result).toBe('denied');
  });

  it('verifies HS256 with a configured secret', async () => {
    const hs = await jwtProvider({ secret, now: () => NOW });
    expect((await hs.checkToken(await mintHmac(secret, good))).result).toBe('granted');
    expect((await hs.checkToken(await mintHmac(new Uint8Array(32), good))).result).toBe('denied');
  });
});

describe('jwtProvider: the attack table', () => {
  const header = { alg: 'RS256', kid: 'rsa-1' };
  const cases: { name: string; token: () => Promise<string>; expected: { result: string; reason: string } }[] = [
    { name: 'alg none, no signature', token: async () => forge({ alg: 'none' }, good), expected: { result: 'denied', reason: 'the token is not a signed JWT' } },
    { name: 'alg none with a dummy signature', token: async () => forge({ alg: 'none' }, good, { signature: 'AAAA' }), expected: { result: 'denied', reason: 'the token algorithm is not accepted' } },
    { name: 'alg NONE (case games)', token: async () => forge({ alg: 'NONE' }, good, { signature: 'AAAA' }), expected: { result: 'denied', reason: 'the token algorithm is not accepted' } },
    {
      name: 'HS256 signed with the RSA public key PEM (key confusion)',
      token: async () => forge({ alg: 'HS256', kid: 'rsa-1' }, good, { hmacKey: rsa.publicPem }),
      expected: { result: 'denied', reason: 'the token algorithm is not accepted' },
    },
    {
      name: 'RS256 header, signature by another key',
      token: async () => mint(other, good, { kid: 'rsa-1' }),
      expected: { result: 'denied', reason: 'the token signature is invalid' },
    },
    { name: 'unknown kid (JWKS keys only match their kid)', token: async () => mint(es, good, { kid: 'nope' }), expected: { result: 'not-found', reason: 'the token key id is unknown' } },
    { name: 'expired', token: async () => mint(rsa, { ...good, exp: T - 3600 }), expected: { result: 'denied', reason: 'the token expired' } },
    { name: 'nbf in the future', token: async () => mint(rsa, { ...good, nbf: T + 3600 }), expected: { result: 'denied', reason: 'the token is not valid yet' } },
    { name: 'wrong iss', token: async () => mint(rsa, { ...good, iss: 'https://evil.example' }), expected: { result: 'denied', reason: 'the token issuer is not accepted' } },
    { name: 'wrong aud', token: async () => mint(rsa, { ...good, aud: 'other-api' }), expected: { result: 'denied', reason: 'the token audience is not accepted' } },
    { name: 'no aud', token: async () => mint(rsa, { ...good, aud: undefined }), expected: { result: 'denied', reason: 'the token has no "aud" claim' } },
    {
      name: 'crit header the server does not understand',
      token: async () => new SignJWT(good).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1', crit: ['x-must'], 'x-must': 1 }).sign(rsa.privateKey, { crit: { 'x-must': true } }),
      expected: { result: 'denied', reason: 'the token has a critical header this server does not understand' },
    },
    {
      name: 'b64: false (unencoded payload), correctly signed',
      token: async () => unencoded(JSON.stringify(good)),
      expected: { result: 'denied', reason: 'the token is not a signed JWT' },
    },
    {
      name: 'b64: false with a base64url-looking payload, correctly signed',
      token: async () => unencoded('abc'),
      expected: { result: 'denied', reason: 'the token claims are not a JSON object' },
    },
    { name: 'oversize (> 8192 bytes)', token: async () => mint(rsa, { ...good, pad: 'x'.repeat(9000) }), expected: { result: 'denied', reason: 'the token is longer than 8192 bytes' } },
    { name: 'two segments', token: async () => (await mint(rsa, good)).split('.').slice(0, 2).join('.'), expected: { result: 'denied', reason: 'the token is not a signed JWT' } },
    { name: 'four segments', token: async () => `${await mint(rsa, good)}.AAAA`, expected: { result: 'denied', reason: 'the token is not a signed JWT' } },
    { name: 'a JWE (five segments)', token: async () => 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.AAAA.AAAA', expected: { result: 'denied', reason: 'the token is not a signed JWT' } },
    { name: 'header not JSON', token: async () => `${Buffer.from('{nope').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.AAAA`, expected: { result: 'denied', reason: 'the token header is malformed' } },
    { name: 'padding / non-base64url characters', token: async () => `${(await mint(rsa, good)).replace('.', '=.')}`, expected: { result: 'denied', reason: 'the token is not a signed JWT' } },
    { name: 'payload is a JSON array', token: async () => forge(header, [] as unknown as Record<string, unknown>, { signature: 'AAAA' }), expected: { result: 'denied', reason: 'the token signature is invalid' } },
    { name: 'empty string', token: async () => '', expected: { result: 'denied', reason: 'the token is not a signed JWT' } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      expect(await jwt.checkToken(await c.token())).toEqual(c.expected);
    });
  }

  it('jku, x5u and an embedded jwk never pick the key: a token signed by an attacker key is refused', async () => {
    const attacker = await makeKey('RS256', 'rsa-1');
    for (const extra of [
      { jku: 'http://127.0.0.1:1/attacker.jwks' },
      { x5u: 'http://127.0.0.1:1/attacker.pem' },
      { jwk: attacker.publicJwk },
      { x5c: ['MIIB'] },
    ]) {
      expect(await jwt.checkToken(await mint(attacker, good, { header: extra }))).toEqual({ result: 'denied', reason: 'the token signature is invalid' });
    }
    // The same header extras on a token signed by the configured key change nothing.
    expect((await jwt.checkToken(await mint(rsa, good, { header: { jku: 'http://127.0.0.1:1/x', jwk: attacker.publicJwk } }))).result).toBe('granted');
  });

  it('an RSA public key never verifies an HS256 token, even when HS256 is allowed with a secret', async () => {
    const both = await jwtProvider({ keys: [join(dir, 'rsa.pem')], secret, algorithms: ['RS256', 'HS256'], now: () => NOW });
    const confused = forge({ alg: 'HS256' }, good, { hmacKey: rsa.publicPem });
    expect(await both.checkToken(confused)).toEqual({ result: 'denied', reason: 'the token signature is invalid' });
    const confusedDer = forge({ alg: 'HS256' }, good, { hmacKey: Buffer.from(rsa.publicPem.replace(/-----[^-]+-----|\s/g, ''), 'base64') });
    expect(await both.checkToken(confusedDer)).toEqual({ result: 'denied', reason: 'the token signature is invalid' });
    expect((await both.checkToken(await mintHmac(secret, good))).result).toBe('granted');
    // Without a secret, HS256 is not even on the default list.
    expect(await jwt.checkToken(await mintHmac(secret, good))).toEqual({ result: 'denied', reason: 'the token algorithm is not accepted' });
  });

  it('an algorithm allow-list refuses algorithms the key could verify', async () => {
    const esOnly = await jwtProvider({ keys: [join(dir, 'rsa.pem'), join(dir, 'keys.jwks')], algorithms: ['ES256'], now: () => NOW });
    expect(await esOnly.checkToken(await mint(rsa, good))).toEqual({ result: 'denied', reason: 'the token algorithm is not accepted' });
    expect((await esOnly.checkToken(await mint(es, good))).result).toBe('granted');
  });

  it('a JWK with an alg verifies only that alg (an ES256 key is not tried for ES384)', async () => {
    const forged = forge({ alg: 'ES384', kid: 'es-1' }, good, { signature: 'A'.repeat(128) });
    expect(await jwt.checkToken(forged)).toEqual({ result: 'not-found', reason: 'the token key id is unknown' });
  });
});

describe('jwtProvider: keys and options', () => {
  it('reads an X.509 certificate and several PEM blocks', async () => {
    // A self-signed certificate is not needed to show the PEM path: two public keys in one file.
    const file = join(dir, 'two.pem');
    await writeFile(file, `${other.publicPem}\n${rsa.publicPem}`);
    const two = await jwtProvider({ keys: [file], now: () => NOW });
    expect((await two.checkToken(await mint(rsa, good, { kid: null }))).result).toBe('granted');
    expect((await two.checkToken(await mint(other, good, { kid: null }))).result).toBe('granted');
  });

  it('refuses private keys, symmetric JWKs, small RSA keys and unreadable files (TypeError naming the option)', async () => {
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const files: Record<string, string> = {
      'private.pem': priv.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      'oct.jwk': JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' }),
      'private.jwk': JSON.stringify(await exportJWK(priv.privateKey)),
      'small.pem': small.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      'junk.txt': 'hello',
    };
    const messages: Record<string, RegExp> = {
      'private.pem': /a private key; give the public key/,
      'oct.jwk': /symmetric \("oct"\) JWK; HMAC secrets go in AuthTsJwtSecret/,
      'private.jwk': /a private JWK/,
      'small.pem': /RSA key of 1024 bits/,
      'junk.txt': /neither PEM nor JSON/,
    };
    for (const [name, text] of Object.entries(files)) {
      await writeFile(join(dir, name), text);
      await expect(jwtProvider({ keys: [join(dir, name)] })).rejects.toThrow(messages[name]!);
      await expect(jwtProvider({ keys: [join(dir, name)] })).rejects.toBeInstanceOf(TypeError);
    }
    await expect(jwtProvider({ keys: [join(dir, 'missing.pem')] })).rejects.toThrow(/options.keys: cannot read .*ENOENT/);
  });

  it('refuses bad options with a TypeError naming the option', async () => {
    const bad: [unknown, RegExp][] = [
      [null, /options must be an object/],
      [{}, /at least one of options.keys, options.secret and options.discovery/],
      [{ secret: new Uint8Array(16) }, /options.secret has 16 bytes/],
      [{ secret: 'text' }, /options.secret must be a Uint8Array/],
      [{ secret, algorithms: ['none'] }, /options.algorithms: "none"/],
      [{ keys: ['http://idp.example.org/jwks'] }, /keys must come over https/],
      [{ discovery: 'not a url' }, /options.discovery: "not a url" is not a URL/],
      [{ secret, algorithms: ['HS512'] }, /HS512 needs options.secret of at least 64 bytes/],
      [{ secret, clockSkew: -1 }, /options.clockSkew must be a whole number/],
      [{ secret, audience: [] }, /options.audience must be/],
    ];
    for (const [options, message] of bad) {
      const attempt = jwtProvider(options as never);
      await expect(attempt).rejects.toBeInstanceOf(TypeError);
      await expect(jwtProvider(options as never)).rejects.toThrow(message);
    }
  });

  it('checkToken after close() is a TypeError', async () => {
    const p = await jwtProvider({ secret });
    await p.close();
    await expect(p.checkToken('a.b.c')).rejects.toBeInstanceOf(TypeError);
  });
});
