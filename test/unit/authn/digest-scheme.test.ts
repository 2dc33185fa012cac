/**
 * `AuthType Digest` through the engine, with an injected clock and secret: the challenge, a
 * correct answer, each refusal with its status and challenge, stale nonces, replays, one-time
 * nonces, qop none, SHA-256 and -sess, the provider chain, and the configuration errors.
 * Requests are answered with test/e2e/digest-client.ts, which hashes independently of src/.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authDigest, createAuthDigestModule } from '../../../src/authn/digest.js';
import { createMemoryNonceStore } from '../../../src/authn/digest-nonce.js';
import { loadConfig } from '../../../src/config/load.js';
import { AuthEngine } from '../../../src/engine.js';
import { ConfigErrors } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { builtinModules } from '../../../src/modules.js';
import type { Verdict } from '../../../src/phases.js';
import { challengeParams, digestAuthorization, type DigestAnswer } from '../../e2e/digest-client.js';
import { memoryModule } from '../../helpers/memory-provider.js';
import { tempDir } from '../providers/helpers.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

let dir: string;
let remove: () => Promise<void>;
let clock = 1_800_000_000_000;
const engines: AuthEngine[] = [];

beforeAll(async () => {
  ({ dir, remove } = await tempDir());
  await writeFile(
    join(dir, 'users'),
    [
      // Written by Apache's `htdigest -c users "Private Area" alice` (password alice-pw).
      'alice:Private Area:113917e31a49f8306673ae21820ee02f',
      `bob:Private Area:${md5('bob:Private Area:bob-pw')}`,
      `q"u\\x:Private Area:${md5('q"u\\x:Private Area:quote-pw')}`,
      `carol:Other:${md5('carol:Other:carol-pw')}`,
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'users-sha256'), `alice:Private Area:${sha256('alice:Private Area:alice-pw')}\nmd5only:Private Area:${md5('md5only:Private Area:x')}\n`);
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.config.close()));
  await remove();
});

async function engineWith(body: string, options: { head?: string; oneStore?: boolean } = {}): Promise<AuthEngine> {
  const digest = createAuthDigestModule({ now: () => clock, secret: Buffer.alloc(32, 1), store: createMemoryNonceStore(1000) });
  const modules = builtinModules().map((m) => (m === authDigest ? digest : m));
  const text = `${options.head ?? ''}
<Location /private>
  AuthType Digest
  AuthName "Private Area"
  AuthUserFile "${dir}/users"
  Require valid-user
${body}
</Location>`;
  const config = await loadConfig({ text, textName: 'test.conf', modules: [...modules, memoryModule({ users: {} })], logger: silentLogger });
  const engine = new AuthEngine(config, silentLogger);
  engines.push(engine);
  return engine;
}

function send(engine: AuthEngine, target: string, authorization?: string | string[], method = 'GET'): Promise<Verdict> {
  const q = target.indexOf('?');
  return engine.check({
    method,
    path: decodeURIComponent(q < 0 ? target : target.slice(0, q)),
    query: q < 0 ? '' : target.slice(q + 1),
    unparsedUri: target,
    headers: { host: 'www.example.org', ...(authorization === undefined ? {} : { authorization }) },
    remoteAddress: '192.0.2.1',
    localAddress: '127.0.0.1',
  });
}

/** Gets a challenge for `target`, answers it with `answer`; the answer's verdict and the challenge. */
async function login(engine: AuthEngine, target: string, answer: Omit<DigestAnswer, 'uri'> & { uri?: string }, method = 'GET'): Promise<{ verdict: Verdict; challenge: string }> {
  const first = await send(engine, target, undefined, method);
  expect(first.status).toBe(401);
  const challenge = first.headers.get('WWW-Authenticate')!;
  const verdict = await send(engine, target, digestAuthorization(challenge, { uri: target, method, ...answer }), method);
  return { verdict, challenge };
}

const CHALLENGE = /^Digest realm="Private Area", nonce="[A-Za-z0-9_-]{64}", algorithm=MD5, opaque="[0-9a-f]{16}", qop="auth"$/;

describe('AuthType Digest: the challenge and a correct answer', () => {
  it('challenges a request without credentials as httpd does (realm, nonce, algorithm, opaque, qop)', async () => {
    const engine = await engineWith('');
    const verdict = await send(engine, '/private/a.txt');
    expect(verdict.status).toBe(401);
    expect(verdict.headers.get('WWW-Authenticate')).toMatch(CHALLENGE);
  });

  it('grants the right password, with Authentication-Info whose rspauth proves the server knows HA1', async () => {
    const engine = await engineWith('');
    const target = '/private/a.txt?x=1&y=%20';
    const { verdict, challenge } = await login(engine, target, { user: 'alice', password: 'alice-pw', cnonce: 'c1' });
    expect(verdict.status).toBe(200);
    expect(verdict.user).toBe('alice');
    expect(verdict.authType).toBe('Digest');
    const nonce = challengeParams(challenge)['nonce']!;
    const rspauth = md5(`${md5('alice:Private Area:alice-pw')}:${nonce}:00000001:c1:auth:${md5(`:${target}`)}`);
    expect(verdict.headers.get('Authentication-Info')).toBe(`rspauth="${rspauth}", cnonce="c1", nc=00000001, qop=auth`);
  });

  it('answers the domain, and a user whose name holds " and \\', async () => {
    const engine = await engineWith('AuthDigestDomain /private/ http://mirror.example.org/private/');
    const { verdict, challenge } = await login(engine, '/private/a.txt', { user: 'q"u\\x', password: 'quote-pw' });
    expect(challenge).toMatch(/, domain="\/private\/ http:\/\/mirror\.example\.org\/private\/", qop="auth"$/);
    expect(verdict.status).toBe(200);
    expect(verdict.user).toBe('q"u\\x');
  });

  it('lets a client go on with the same nonce and increasing counts', async () => {
    const engine = await engineWith('');
    const { challenge } = await login(engine, '/private/a.txt', { user: 'alice', password: 'alice-pw' });
    for (const nc of [2, 3, 7]) {
      const v = await send(engine, '/private/b.txt', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/b.txt', nc }));
      expect(v.status).toBe(200);
    }
  });
});

describe('AuthType Digest: refusals', () => {
  it('401 for a wrong password and for an unknown user, each with a fresh challenge and no stale', async () => {
    const engine = await engineWith('');
    for (const answer of [{ user: 'alice', password: 'nope' }, { user: 'nobody', password: 'alice-pw' }, { user: 'carol', password: 'carol-pw' }]) {
      const { verdict } = await login(engine, '/private/a.txt', answer);
      expect(verdict.status).toBe(401);
      expect(verdict.headers.get('WWW-Authenticate')).toMatch(CHALLENGE);
    }
  });

  it('401 for the realm of another section, a tampered opaque, another algorithm, a missing opaque', async () => {
    const engine = await engineWith('');
    const first = await send(engine, '/private/a.txt');
    const challenge = first.headers.get('WWW-Authenticate')!;
    const other = challenge.replace('realm="Private Area"', 'realm="Other"');
    const cases: [string, string][] = [
      ['realm of another section', digestAuthorization(other, { user: 'carol', password: 'carol-pw', uri: '/private/a.txt' })],
      ['tampered opaque', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt', override: { opaque: '"0000000000000000"' } })],
      ['missing opaque', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt', override: { opaque: undefined } })],
      ['algorithm downgrade to MD5-sess', digestAuthorization(challenge.replace('algorithm=MD5', 'algorithm=MD5-sess'), { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' })],
      ['algorithm SHA-256 where MD5 is configured', digestAuthorization(challenge.replace('algorithm=MD5', 'algorithm=SHA-256'), { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' })],
      ['an RFC 2069 answer (no qop) where qop=auth was asked', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt', noQop: true })],
      ['qop=auth-int', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt', override: { qop: 'auth-int' } })],
      ['userhash=true', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt', override: { userhash: 'true' } })],
      ['a nonce of our own, from another realm', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt', override: { nonce: '"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"' } })],
      ['a response in upper case', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' }).replace(/response="([0-9a-f]+)"/, (_s, r: string) => `response="${r.toUpperCase()}"`)],
    ];
    for (const [name, header] of cases) {
      const v = await send(engine, '/private/a.txt', header);
      expect(v.status, name).toBe(401);
      expect(v.headers.get('WWW-Authenticate'), name).toMatch(/^Digest realm="Private Area", nonce=/);
      expect(v.allowed, name).toBe(false);
    }
  });

  it('a tampered opaque or a foreign nonce with the right response is answered stale=true (as httpd: the password was proven)', async () => {
    const engine = await engineWith('');
    const challenge = (await send(engine, '/private/a.txt')).headers.get('WWW-Authenticate')!;
    const tampered = challenge.replace(/opaque="[0-9a-f]+"/, 'opaque="0000000000000000"');
    const v = await send(engine, '/private/a.txt', digestAuthorization(tampered, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' }));
    expect(v.status).toBe(401);
    expect(v.headers.get('WWW-Authenticate')).toMatch(/, stale=true, qop="auth"$/);
  });

  it('400 for a uri that is not the request-target: another path, another query, no query, another host or port', async () => {
    const engine = await engineWith('');
    const challenge = (await send(engine, '/private/a.txt?x=1')).headers.get('WWW-Authenticate')!;
    for (const uri of ['/private/b.txt?x=1', '/private/a.txt?x=2', '/private/a.txt', 'http://evil.example/private/a.txt?x=1', 'http://www.example.org:8080/private/a.txt?x=1', 'private/a.txt?x=1', '*', '/private/a.txt%zz?x=1']) {
      const v = await send(engine, '/private/a.txt?x=1', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri }));
      expect(v.status, uri).toBe(400);
      expect(v.headers.get('WWW-Authenticate'), uri).toBeUndefined();
    }
  });

  it('a uri matches after percent-decoding, and in absolute form with the request host (as httpd)', async () => {
    const engine = await engineWith('');
    const target = '/private/a%20b.txt?q=%41';
    const challenge = (await send(engine, target)).headers.get('WWW-Authenticate')!;
    const uris = ['/private/a b.txt?q=A', '/private/a%20b.txt?q=A', 'http://WWW.example.org/private/a%20b.txt?q=%41', 'http://www.example.org:80/private/a%20b.txt?q=%41'];
    for (const [i, uri] of uris.entries()) {
      const v = await send(engine, target, digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri, nc: i + 1 }));
      expect(v.status, uri).toBe(200);
    }
  });

  it('400 for malformed credentials and for two Authorization headers; 401 for another scheme', async () => {
    const engine = await engineWith('');
    expect((await send(engine, '/private/a.txt', 'Digest username="alice", realm="Private Area"')).status).toBe(400);
    expect((await send(engine, '/private/a.txt', `Digest username="${'a'.repeat(5000)}"`)).status).toBe(400);
    const challenge = (await send(engine, '/private/a.txt')).headers.get('WWW-Authenticate')!;
    const good = digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' });
    expect((await send(engine, '/private/a.txt', [good, good])).status).toBe(400);
    const basic = await send(engine, '/private/a.txt', 'Basic YWxpY2U6YWxpY2UtcHc=');
    expect(basic.status).toBe(401);
    expect(basic.headers.get('WWW-Authenticate')).toMatch(CHALLENGE);
  });
});

describe('AuthType Digest: nonces', () => {
  it('an expired nonce with the right response → 401 stale=true; with a wrong one → 401 without stale', async () => {
    const engine = await engineWith('AuthDigestNonceLifetime 60');
    const challenge = (await send(engine, '/private/a.txt')).headers.get('WWW-Authenticate')!;
    clock += 60_000;
    expect((await send(engine, '/private/a.txt', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' }))).status).toBe(200);
    clock += 1_001;
    const stale = await send(engine, '/private/a.txt', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt', nc: 2 }));
    expect(stale.status).toBe(401);
    expect(stale.headers.get('WWW-Authenticate')).toMatch(/^Digest realm="Private Area", nonce="[^"]+", algorithm=MD5, opaque="[0-9a-f]+", stale=true, qop="auth"$/);
    const wrong = await send(engine, '/private/a.txt', digestAuthorization(challenge, { user: 'alice', password: 'bad', uri: '/private/a.txt', nc: 3 }));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('WWW-Authenticate')).not.toContain('stale');
    // The new nonce works at once.
    const fresh = stale.headers.get('WWW-Authenticate')!;
    expect((await send(engine, '/private/a.txt', digestAuthorization(fresh, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' }))).status).toBe(200);
  });

  it('the default lifetime is 300 s; a negative one never expires', async () => {
    const byDefault = await engineWith('');
    const c1 = (await send(byDefault, '/private/a.txt')).headers.get('WWW-Authenticate')!;
    clock += 300_001;
    expect((await send(byDefault, '/private/a.txt', digestAuthorization(c1, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' }))).headers.get('WWW-Authenticate')).toContain('stale=true');
    const never = await engineWith('AuthDigestNonceLifetime -1');
    const c2 = (await send(never, '/private/a.txt')).headers.get('WWW-Authenticate')!;
    clock += 86_400_000 * 30;
    expect((await send(never, '/private/a.txt', digestAuthorization(c2, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' }))).status).toBe(200);
  });

  it('a nonce from the future is refused', async () => {
    const engine = await engineWith('');
    const challenge = (await send(engine, '/private/a.txt')).headers.get('WWW-Authenticate')!;
    clock -= 5_000;
    const v = await send(engine, '/private/a.txt', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' }));
    clock += 5_000;
    expect(v.status).toBe(401);
  });

  it('replays: the same nc twice → 401 (no stale); a lower nc → 401; a higher one → 200', async () => {
    const engine = await engineWith('');
    const challenge = (await send(engine, '/private/a.txt')).headers.get('WWW-Authenticate')!;
    const at = (nc: number): string => digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt', nc });
    expect((await send(engine, '/private/a.txt', at(5))).status).toBe(200);
    const replay = await send(engine, '/private/a.txt', at(5));
    expect(replay.status).toBe(401);
    expect(replay.headers.get('WWW-Authenticate')).toMatch(CHALLENGE);
    expect((await send(engine, '/private/a.txt', at(4))).status).toBe(401);
    expect((await send(engine, '/private/a.txt', at(6))).status).toBe(200);
  });

  it('AuthDigestNonceLifetime 0: each nonce once (again → 401 stale=true); Authentication-Info carries the nextnonce', async () => {
    const engine = await engineWith('AuthDigestNonceLifetime 0');
    const { verdict, challenge } = await login(engine, '/private/a.txt', { user: 'alice', password: 'alice-pw' });
    expect(verdict.status).toBe(200);
    const info = verdict.headers.get('Authentication-Info')!;
    const next = /^nextnonce="([A-Za-z0-9_-]{64})", rspauth=/.exec(info)?.[1];
    expect(next).toBeDefined();
    const again = await send(engine, '/private/a.txt', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt', nc: 2 }));
    expect(again.status).toBe(401);
    expect(again.headers.get('WWW-Authenticate')).toContain('stale=true');
    const withNext = challenge.replace(/nonce="[^"]+"/, `nonce="${next!}"`);
    expect((await send(engine, '/private/a.txt', digestAuthorization(withNext, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' }))).status).toBe(200);
  });
});

describe('AuthType Digest: qop none, SHA-256, -sess', () => {
  it('AuthDigestQop none: no qop in the challenge; an RFC 2069 answer is granted; qop=auth is refused', async () => {
    const engine = await engineWith('AuthDigestQop none');
    const { verdict, challenge } = await login(engine, '/private/a.txt', { user: 'alice', password: 'alice-pw' });
    expect(challenge).toMatch(/^Digest realm="Private Area", nonce="[^"]+", algorithm=MD5, opaque="[0-9a-f]{16}"$/);
    expect(verdict.status).toBe(200);
    const withQop = challenge + ', qop="auth"';
    expect((await send(engine, '/private/a.txt', digestAuthorization(withQop, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' }))).status).toBe(401);
  });

  it('AuthDigestQop none with lifetime 0: a nonce is used once', async () => {
    const engine = await engineWith('AuthDigestQop none\nAuthDigestNonceLifetime 0');
    const { verdict, challenge } = await login(engine, '/private/a.txt', { user: 'alice', password: 'alice-pw' });
    expect(verdict.status).toBe(200);
    expect(verdict.headers.get('Authentication-Info')).toMatch(/^nextnonce="[A-Za-z0-9_-]{64}"$/);
    expect((await send(engine, '/private/a.txt', digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' }))).status).toBe(401);
  });

  it('SHA-256 with a SHA-256 HA1; a user whose stored HA1 is MD5 cannot answer it', async () => {
    const engine = await engineWith(`AuthDigestAlgorithm SHA-256\nAuthUserFile "${dir}/users-sha256"`);
    const { verdict, challenge } = await login(engine, '/private/a.txt', { user: 'alice', password: 'alice-pw' });
    expect(challenge).toContain('algorithm=SHA-256');
    expect(verdict.status).toBe(200);
    expect(verdict.headers.get('Authentication-Info')).toMatch(/^rspauth="[0-9a-f]{64}"/);
    expect((await login(engine, '/private/a.txt', { user: 'md5only', password: 'x' })).verdict.status).toBe(401);
    // The MD5 answer to a SHA-256 challenge: a downgrade, refused.
    const md5Answer = digestAuthorization(challenge.replace('algorithm=SHA-256', 'algorithm=MD5'), { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' });
    expect((await send(engine, '/private/a.txt', md5Answer)).status).toBe(401);
  });

  it('MD5-sess and SHA-256-sess', async () => {
    const md5sess = await engineWith('AuthDigestAlgorithm MD5-sess');
    expect((await login(md5sess, '/private/a.txt', { user: 'alice', password: 'alice-pw' })).verdict.status).toBe(200);
    const shaSess = await engineWith(`AuthDigestAlgorithm SHA-256-sess\nAuthUserFile "${dir}/users-sha256"`);
    expect((await login(shaSess, '/private/a.txt', { user: 'alice', password: 'alice-pw' })).verdict.status).toBe(200);
  });
});

describe('AuthType Digest: providers and configuration', () => {
  it('fails closed with 500 when the provider cannot answer, and without AuthName', async () => {
    const missing = await engineWith(`AuthUserFile "${dir}/no-such-file"`);
    expect((await login(missing, '/private/a.txt', { user: 'alice', password: 'alice-pw' })).verdict.status).toBe(500);
    const config = await loadConfig({ text: '<Location /p>\nAuthType Digest\nRequire valid-user\n</Location>', textName: 't.conf', modules: builtinModules(), logger: silentLogger });
    const engine = new AuthEngine(config, silentLogger);
    engines.push(engine);
    expect((await send(engine, '/p/x')).status).toBe(500);
  });

  it('an inner AuthDigestProvider list replaces the outer one', async () => {
    const engine = await engineWith('AuthDigestProvider file\n</Location>\n<Location /private/inner>\nAuthDigestProvider dbd');
    // Inner: dbd without AuthDBDUserRealmQuery cannot answer (500) — the file is no longer asked.
    expect((await login(engine, '/private/inner/a.txt', { user: 'alice', password: 'alice-pw' })).verdict.status).toBe(500);
    expect((await login(engine, '/private/a.txt', { user: 'alice', password: 'alice-pw' })).verdict.status).toBe(200);
  });

  it('a section with any AuthDigest* directive replaces the outer digest settings whole, as httpd (no merger)', async () => {
    const engine = await engineWith('AuthDigestDomain /private/\nAuthDigestQop none\n</Location>\n<Location /private/inner>\nAuthDigestNonceLifetime 0\n</Location>\n<Location /private/plain>\nAuthName "Plain"');
    const outer = (await send(engine, '/private/a.txt')).headers.get('WWW-Authenticate');
    expect(outer).toMatch(/^Digest realm="Private Area", nonce="[^"]+", algorithm=MD5, opaque="[0-9a-f]{16}", domain="\/private\/"$/);
    // Inner: lifetime 0 set, so qop and domain are back to their defaults.
    const inner = (await send(engine, '/private/inner/a.txt')).headers.get('WWW-Authenticate');
    expect(inner).toMatch(/^Digest realm="Private Area", nonce="[^"]+", algorithm=MD5, opaque="[0-9a-f]{16}", qop="auth"$/);
    // A section without AuthDigest* directives inherits them.
    const plain = (await send(engine, '/private/plain/a.txt')).headers.get('WWW-Authenticate');
    expect(plain).toMatch(/^Digest realm="Plain", nonce="[^"]+", algorithm=MD5, opaque="[0-9a-f]{16}", domain="\/private\/"$/);
  });

  it.each([
    ['AuthDigestQop auth-int', 'AuthDigestQop auth-int is not implemented (nor is it in httpd)'],
    ['AuthDigestQop none auth', 'AuthDigestQop none cannot be combined with another qop'],
    ['AuthDigestQop sometimes', 'AuthDigestQop must be one of: none, auth, auth-int (got "sometimes")'],
    ['AuthDigestNonceLifetime soon', 'AuthDigestNonceLifetime takes a whole number of seconds (got "soon")'],
    ['AuthDigestAlgorithm SHA-512', 'AuthDigestAlgorithm must be one of: MD5, MD5-sess, SHA-256, SHA-256-sess (got "SHA-512")'],
    ['AuthDigestProvider memory', "The 'memory' Authn provider doesn't support Digest Authentication"],
    ['AuthDigestProvider nosuch', 'Unknown Authn provider: nosuch'],
    ['AuthDigestDomain "/a b"', 'AuthDigestDomain: "/a b" is not a URI'],
  ])('refuses `%s` at load with file:line', async (line, message) => {
    const error = await engineWith(line).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigErrors);
    const first = (error as ConfigErrors).errors[0]!;
    expect(first.message).toBe(message);
    expect(first.file).toBe('test.conf');
    expect(first.line).toBe(7);
  });

  it('accepts AuthDigestShmemSize at server level only', async () => {
    await expect(engineWith('', { head: 'AuthDigestShmemSize 64K' })).resolves.toBeInstanceOf(AuthEngine);
    const error = await engineWith('AuthDigestShmemSize 1000').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigErrors);
    const bad = await engineWith('', { head: 'AuthDigestShmemSize lots' }).catch((err: unknown) => err);
    expect((bad as ConfigErrors).errors[0]!.message).toBe('AuthDigestShmemSize takes a size in bytes, K or M (got "lots")');
  });

  it('counts Digest failures for brute-force regulation: a banned user gets 429 before any provider is asked', async () => {
    const engine = await engineWith('', { head: 'AuthTsRegulation On\nAuthTsRegulationMaxRetries 2\nAuthTsRegulationMode user' });
    for (let i = 0; i < 2; i++) expect((await login(engine, '/private/a.txt', { user: 'bob', password: 'wrong' })).verdict.status).toBe(401);
    const banned = (await login(engine, '/private/a.txt', { user: 'bob', password: 'bob-pw' })).verdict;
    expect(banned.status).toBe(429);
    expect(Number(banned.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect((await login(engine, '/private/a.txt', { user: 'alice', password: 'alice-pw' })).verdict.status).toBe(200);
  });

  it('accepts AuthDigestNcCheck (section): On silently, Off with a warning, since counts are always checked', async () => {
    const on = await engineWith('AuthDigestNcCheck On');
    expect(on.config.warnings).toEqual([]);
    const off = await engineWith('AuthDigestNcCheck Off');
    expect(off.config.warnings.map((w) => w.message)).toEqual(['AuthDigestNcCheck Off: authts always checks nonce counts (replays are refused)']);
    const challenge = (await send(off, '/private/a.txt')).headers.get('WWW-Authenticate')!;
    const header = digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/private/a.txt' });
    expect((await send(off, '/private/a.txt', header)).status).toBe(200);
    expect((await send(off, '/private/a.txt', header)).status).toBe(401);
  });

  it('createAuthDigestModule checks its options eagerly', () => {
    expect(() => createAuthDigestModule({ now: 5 as unknown as () => number })).toThrow('createAuthDigestModule: options.now must be a function');
    expect(() => createAuthDigestModule({ secret: Buffer.alloc(4) })).toThrow('options.secret must be a Buffer of at least 16 bytes');
    expect(() => createAuthDigestModule({ redisTimeoutMs: 0 })).toThrow('options.redisTimeoutMs must be > 0');
  });

  it('challenges again (401) when an authenticated user fails Require', async () => {
    const engine = await engineWith('</Location>\n<Location /private/bob>\nRequire user bob');
    const { verdict } = await login(engine, '/private/bob/a.txt', { user: 'alice', password: 'alice-pw' });
    expect(verdict.status).toBe(401);
    expect(challengeParams(verdict.headers.get('WWW-Authenticate')!)).toMatchObject({ realm: 'Private Area', algorithm: 'MD5', qop: 'auth' });
    expect(verdict.headers.has('Authentication-Info')).toBe(false);
  });
});
