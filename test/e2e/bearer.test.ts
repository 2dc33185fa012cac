/**
 * `AuthType Bearer` end to end: through createAuth (every RFC 6750 answer, combined Require
 * trees, claims in Require expr, provider aliases, load errors with file:line) and through
 * `authts serve` (startServer) over real HTTP (query and form-body tokens, a remote JWKS).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth, type Auth } from '../../src/api.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigErrors } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { builtinModules } from '../../src/modules.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { epoch, forge, makeKey, mint, mintHmac, startJwksServer, type JwksServer, type TestKey } from '../helpers/jwt.js';
import { removeTempDirs, tempDir } from './helpers.js';

const ISS = 'https://issuer.example';
const secretText = 'a-test-secret-of-more-than-32-bytes!';
let dir: string;
let rsa: TestKey;
let es: TestKey;
let partner: TestKey;
let remoteKey: TestKey;
let jwks: JwksServer;
let auth: Auth;

function site(): string {
  return `
<Location "/api">
    AuthGroupFile "${dir}/groups"
    AuthType Bearer
    AuthName "api"
    AuthTsJwtKeys "${dir}/rsa.pem" "${dir}/keys.jwks"
    AuthTsJwtIssuer ${ISS}
    AuthTsJwtAudience api
    Require jwt-scope read
</Location>

<Location "/api/admin">
    <RequireAll>
        Require jwt-claim role admin
        <RequireAny>
            Require ip 127.0.0.1
            Require group ops
        </RequireAny>
        Require method GET POST
        <RequireNone>
            Require user mallory
        </RequireNone>
    </RequireAll>
</Location>

<Location "/api/expr">
    Require expr "jwt('scope') =~ /(^| )write( |$)/ && %{REQUEST_METHOD} == 'POST'"
</Location>

<Location "/api/nested">
    Require expr "%{jwt:realm_access.roles} =~ /(^| )auditor( |$)/"
</Location>

<Location "/api/or">
    AuthMerging Or
    Require ip 10.0.0.0/8
</Location>

<Location "/api/users">
    Require user alice bob
</Location>

<Location "/api/query">
    AuthTsJwtAllowQueryToken On
    Require valid-user
</Location>

<Location "/hs">
    AuthType Bearer
    AuthName "hs"
    AuthTsJwtSecret "file:${dir}/secret"
    AuthTsJwtAlgorithms HS256
    AuthTsJwtUserClaim email
    Require valid-user
</Location>

<AuthnProviderAlias jwt partner-jwt>
    AuthTsJwtKeys "${dir}/partner.pem"
    AuthTsJwtIssuer https://partner.example
</AuthnProviderAlias>

<Location "/both">
    AuthType Bearer
    AuthName "both"
    AuthBearerProvider jwt partner-jwt
    AuthTsJwtKeys "${dir}/keys.jwks"
    AuthTsJwtIssuer ${ISS}
    Require valid-user
</Location>

<Location "/remote">
    AuthType Bearer
    AuthName "remote"
    AuthTsJwtKeys ${jwks.url}
    Require valid-user
</Location>

<Location "/down">
    AuthType Bearer
    AuthName "down"
    AuthTsJwtKeys http://127.0.0.1:9/jwks.json
    Require valid-user
</Location>

<Location "/no-realm">
    AuthType Bearer
    AuthTsJwtKeys "${dir}/rsa.pem"
    Require valid-user
</Location>
`;
}

beforeAll(async () => {
  dir = await tempDir('bearer');
  [rsa, es, partner, remoteKey] = await Promise.all([makeKey('RS256', 'rsa'), makeKey('ES256', 'es'), makeKey('ES256', 'p1'), makeKey('ES256', 'r1')]);
  jwks = await startJwksServer([remoteKey.publicJwk]);
  await writeFile(join(dir, 'rsa.pem'), rsa.publicPem);
  await writeFile(join(dir, 'partner.pem'), partner.publicPem);
  await writeFile(join(dir, 'keys.jwks'), JSON.stringify({ keys: [es.publicJwk] }));
  await writeFile(join(dir, 'secret'), `${secretText}\n`);
  await writeFile(join(dir, 'groups'), 'ops: carol\n');
  auth = await createAuth({ config: { text: site(), name: 'bearer.conf' }, logger: silentLogger });
});

afterAll(async () => {
  await auth?.close();
  await jwks?.close();
  await removeTempDirs();
});

const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ iss: ISS, aud: 'api', sub: 'alice', scope: 'read', ...extra });

function ask(path: string, token: string | undefined, init: { method?: string; from?: string; headers?: Record<string, string | string[]> } = {}) {
  return auth.check({
    method: init.method ?? 'GET',
    url: path,
    headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
    remoteAddress: init.from ?? '127.0.0.1',
  });
}

describe('AuthType Bearer through createAuth: RFC 6750 answers', () => {
  it('no token: 401 with a bare challenge, no error attribute', async () => {
    const v = await ask('/api/x', undefined);
    expect(v.status).toBe(401);
    expect(v.headers.get('WWW-Authenticate')).toBe('Bearer realm="api"');
  });

  it('another scheme counts as no token: 401, no error attribute', async () => {
    const v = await ask('/api/x', undefined, { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } });
    expect([v.status, v.headers.get('WWW-Authenticate')]).toEqual([401, 'Bearer realm="api"']);
  });

  it('malformed requests: 400 invalid_request', async () => {
    const bad = await ask('/api/x', undefined, { headers: { authorization: 'Bearer two words' } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('WWW-Authenticate')).toBe('Bearer realm="api", error="invalid_request", error_description="the Authorization header does not hold a Bearer token"');
    const empty = await ask('/api/x', undefined, { headers: { authorization: 'Bearer' } });
    expect(empty.status).toBe(400);
    const token = await mint(rsa, claims());
    const twice = await ask('/api/x', undefined, { headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] } });
    expect(twice.status).toBe(400);
    expect(twice.headers.get('WWW-Authenticate')).toContain('error="invalid_request"');
  });

  it('a token that does not verify: 401 invalid_token with a description (never the token)', async () => {
    const expired = await mint(rsa, claims({ exp: epoch() - 3600 }));
    const v = await ask('/api/x', expired);
    expect(v.status).toBe(401);
    expect(v.headers.get('WWW-Authenticate')).toBe('Bearer realm="api", error="invalid_token", error_description="the token expired"');
    const forged = forge({ alg: 'none' }, claims());
    expect((await ask('/api/x', forged)).headers.get('WWW-Authenticate')).toBe('Bearer realm="api", error="invalid_token", error_description="the token is not a signed JWT"');
    const unknownKid = await mint(es, claims(), { kid: 'who' });
    expect((await ask('/api/x', unknownKid)).headers.get('WWW-Authenticate')).toBe('Bearer realm="api", error="invalid_token", error_description="the token key id is unknown"');
    const wrongAud = await mint(rsa, claims({ aud: 'other' }));
    expect((await ask('/api/x', wrongAud)).headers.get('WWW-Authenticate')).toContain('error_description="the token audience is not accepted"');
    const confused = forge({ alg: 'HS256' }, claims({ exp: epoch() + 60 }), { hmacKey: rsa.publicPem });
    expect((await ask('/api/x', confused)).status).toBe(401);
  });

  it('a valid token without the scope: 403 insufficient_scope naming the scope', async () => {
    const v = await ask('/api/x', await mint(rsa, claims({ scope: 'profile' })));
    expect(v.status).toBe(403);
    expect(v.headers.get('WWW-Authenticate')).toBe('Bearer realm="api", error="insufficient_scope", error_description="the token does not grant access to this resource", scope="read"');
    expect(v.user).toBe('alice');
  });

  it('a valid token: 200, the user, and the claims as AUTHENTICATE_* values', async () => {
    const v = await ask('/api/x', await mint(rsa, claims({ scope: 'read write', groups: ['a', 'b'], 'https://x.example/tenant': 't1' })));
    expect(v.status).toBe(200);
    expect([v.user, v.authType]).toEqual(['alice', 'Bearer']);
    expect(v.env.get('AUTHENTICATE_SUB')).toBe('alice');
    expect(v.env.get('AUTHENTICATE_SCOPE')).toBe('read write');
    expect(v.env.get('AUTHENTICATE_GROUPS')).toBe('a b');
    expect(v.env.get('AUTHENTICATE_ISS')).toBe(ISS);
    expect([...v.env.keys()].some((k) => k.includes('TENANT'))).toBe(false);
    expect(v.headers.has('WWW-Authenticate')).toBe(false);
    // An ES256 token from the JWKS file is as good.
    expect((await ask('/api/x', await mint(es, claims()))).status).toBe(200);
  });

  it('AuthType Bearer without AuthName is a 500, as Basic', async () => {
    expect((await ask('/no-realm/x', await mint(rsa, claims()))).status).toBe(500);
  });
});

describe('AuthType Bearer: claims inside Require trees', () => {
  const admin = (extra: Record<string, unknown> = {}) => mint(rsa, claims({ role: 'admin', ...extra }));

  it('RequireAll of jwt-claim, <RequireAny> ip|group, method, <RequireNone> user', async () => {
    expect((await ask('/api/admin/x', await admin())).status).toBe(200);
    expect((await ask('/api/admin/x', await admin(), { method: 'POST' })).status).toBe(200);
    expect((await ask('/api/admin/x', await admin(), { method: 'DELETE' })).status).toBe(403);
    expect((await ask('/api/admin/x', await admin(), { from: '192.0.2.5' })).status).toBe(403);
    expect((await ask('/api/admin/x', await admin({ sub: 'carol' }), { from: '192.0.2.5' })).status).toBe(200);
    expect((await ask('/api/admin/x', await admin({ sub: 'mallory' }))).status).toBe(403);
    expect((await ask('/api/admin/x', await admin({ role: ['viewer', 'admin'] }))).status).toBe(200);
    const viewer = await ask('/api/admin/x', await mint(rsa, claims({ role: 'viewer' })));
    expect([viewer.status, viewer.headers.get('WWW-Authenticate')]).toEqual([403, 'Bearer realm="api", error="insufficient_scope", error_description="the token does not grant access to this resource"']);
    // Without a token the claim requirement asks for one.
    expect((await ask('/api/admin/x', undefined)).status).toBe(401);
    // The inner section replaced the jwt-scope tree of /api (no AuthMerging): a token without "read" passes.
    expect((await ask('/api/admin/x', await admin({ scope: '' }))).status).toBe(200);
  });

  it("Require expr with jwt(): denied-no-user without a token (401), then the claims decide", async () => {
    expect((await ask('/api/expr/x', undefined, { method: 'POST' })).status).toBe(401);
    expect((await ask('/api/expr/x', await mint(rsa, claims({ scope: 'read write' })), { method: 'POST' })).status).toBe(200);
    expect((await ask('/api/expr/x', await mint(rsa, claims({ scope: 'read write' })))).status).toBe(403);
    expect((await ask('/api/expr/x', await mint(rsa, claims({ scope: 'read writer' })), { method: 'POST' })).status).toBe(403);
    expect((await ask('/api/nested/x', await mint(rsa, claims({ realm_access: { roles: ['auditor'] } })))).status).toBe(200);
    expect((await ask('/api/nested/x', await mint(rsa, claims({ realm_access: { roles: ['user'] } })))).status).toBe(403);
  });

  it('AuthMerging Or: an address grants without a token; otherwise the jwt-scope tree applies', async () => {
    expect((await ask('/api/or/x', undefined, { from: '10.1.2.3' })).status).toBe(200);
    expect((await ask('/api/or/x', undefined)).status).toBe(401);
    expect((await ask('/api/or/x', await mint(rsa, claims()))).status).toBe(200);
  });

  it('Require user names the token user', async () => {
    expect((await ask('/api/users/x', await mint(rsa, claims({ sub: 'bob' })))).status).toBe(200);
    expect((await ask('/api/users/x', await mint(rsa, claims({ sub: 'eve' })))).status).toBe(403);
  });
});

describe('AuthType Bearer: where the token comes from, keys and providers', () => {
  it('a query-string token is ignored unless AuthTsJwtAllowQueryToken On; two ways at once is 400', async () => {
    const token = await mint(rsa, claims());
    expect((await ask(`/api/x?access_token=${token}`, undefined)).status).toBe(401);
    expect((await ask(`/api/x?access_token=${token}`, undefined)).headers.get('WWW-Authenticate')).toBe('Bearer realm="api"');
    expect((await ask(`/api/query/x?access_token=${token}`, undefined)).status).toBe(200);
    expect((await ask(`/api/query/x?access_token=${token}&access_token=${token}`, undefined)).status).toBe(400);
    const both = await ask(`/api/query/x?access_token=${token}`, token);
    expect([both.status, both.headers.get('WWW-Authenticate')]).toEqual([400, 'Bearer realm="api", error="invalid_request", error_description="the token was sent in more than one way"']);
  });

  it('HS256 with AuthTsJwtSecret file:, the user from AuthTsJwtUserClaim; an RS256 token is refused there', async () => {
    const secret = new Uint8Array(Buffer.from(secretText));
    const v = await ask('/hs/x', await mintHmac(secret, { email: 'dev@example.org' }));
    expect([v.status, v.user]).toEqual([200, 'dev@example.org']);
    const rs = await ask('/hs/x', await mint(rsa, { email: 'dev@example.org' }));
    expect([rs.status, rs.headers.get('WWW-Authenticate')]).toEqual([401, 'Bearer realm="hs", error="invalid_token", error_description="the token algorithm is not accepted"']);
    const hs512 = await ask('/hs/x', await mintHmac(secret, { email: 'dev@example.org' }, 'HS384'));
    expect(hs512.status).toBe(401);
  });

  it('AuthBearerProvider jwt partner-jwt: a token no key of the first knows goes to the alias, with its own keys and issuer', async () => {
    expect((await ask('/both/x', await mint(es, claims()))).status).toBe(200);
    expect((await ask('/both/x', await mint(partner, { sub: 'p', iss: 'https://partner.example' }))).status).toBe(200);
    // The partner alias checks its own issuer.
    const wrongIss = await ask('/both/x', await mint(partner, { sub: 'p', iss: ISS }));
    expect([wrongIss.status, wrongIss.headers.get('WWW-Authenticate')]).toEqual([401, 'Bearer realm="both", error="invalid_token", error_description="the token issuer is not accepted"']);
    // A key only /api knows (rsa.pem) is not known here.
    expect((await ask('/both/x', await mint(rsa, claims()))).status).toBe(401);
  });

  it('a remote JWKS is fetched once across requests; an unreachable one is a 500, never a grant', async () => {
    const before = jwks.fetches;
    for (let i = 0; i < 3; i++) expect((await ask('/remote/x', await mint(remoteKey, { sub: `r${i}` }))).status).toBe(200);
    expect(jwks.fetches - before).toBe(1);
    expect((await ask('/down/x', await mint(remoteKey, { sub: 'r' }))).status).toBe(500);
  });
});

describe('AuthTsJwt* load errors, with file:line', () => {
  async function errorsOf(text: string): Promise<string[]> {
    try {
      await loadConfig({ text, textName: 'jwt.conf', modules: builtinModules(), logger: silentLogger });
    } catch (err) {
      if (err instanceof ConfigErrors) return err.errors.map((e) => `${e.line} ${e.code} ${e.message}`);
      throw err;
    }
    return [];
  }

  it('reports every bad line at once', async () => {
    delete process.env['AUTHTS_TEST_NO_SUCH_SECRET'];
    const errors = await errorsOf([
      '<Location "/a">', //                                          1
      '  AuthType Bearer', //                                        2
      '  AuthTsJwtAlgorithms RS256 none', //                         3
      '  AuthTsJwtKeys /nonexistent/key.pem', //                     4
      '  AuthTsJwtKeys http://idp.example.org/jwks.json', //         5
      '  AuthTsJwtSecret env:AUTHTS_TEST_NO_SUCH_SECRET', //          6
      '  AuthTsJwtSecret plain-text-secret', //                      7
      '  AuthTsJwtClockSkew soon', //                                8
      '  AuthBearerProvider file', //                                9
      '  Require jwt-claim role', //                                 10
      '  Require jwt-scope', //                                      11
      '  AuthTsJwtAllowQueryToken maybe', //                         12
      '</Location>',
    ].join('\n'));
    expect(errors).toEqual([
      '3 CONFIG_BAD_ARGUMENT AuthTsJwtAlgorithms: "none" (unsigned tokens) is never accepted',
      '4 CONFIG_BAD_KEY cannot read /nonexistent/key.pem: ENOENT',
      '5 CONFIG_BAD_KEY AuthTsJwtKeys: keys must come over https (got http://idp.example.org)',
      '6 CONFIG_BAD_KEY AuthTsJwtSecret: the environment variable AUTHTS_TEST_NO_SUCH_SECRET is not set',
      '7 CONFIG_BAD_KEY AuthTsJwtSecret: the secret must be given as file:<path> or env:<NAME>, never inline',
      '8 CONFIG_BAD_ARGUMENT AuthTsJwtClockSkew takes a whole number of seconds from 0 to 3600 (got "soon")',
      "9 CONFIG_UNKNOWN_PROVIDER The 'file' Authn provider doesn't support Bearer Authentication",
      "10 CONFIG_BAD_REQUIRE 'Require jwt-claim' needs a claim name and at least one value",
      "11 CONFIG_BAD_REQUIRE 'Require jwt-scope' needs at least one scope",
      '12 CONFIG_BAD_ARGUMENT AuthTsJwtAllowQueryToken must be one of: On, Off (got "maybe")',
    ]);
  });

  it('HMAC algorithms without any AuthTsJwtSecret, and a secret too short for HS512', async () => {
    process.env['AUTHTS_TEST_SECRET_32'] = 'x'.repeat(32);
    try {
      expect(await errorsOf('<Location "/a">\n  AuthTsJwtAlgorithms HS256\n</Location>')).toEqual([
        '1 CONFIG_BAD_KEY HS256 listed, and no AuthTsJwtSecret is configured anywhere',
      ]);
      expect(await errorsOf('<Location "/a">\n  AuthTsJwtSecret env:AUTHTS_TEST_SECRET_32\n  AuthTsJwtAlgorithms HS512\n</Location>')).toEqual([
        '1 CONFIG_BAD_KEY HS512 needs a secret of at least 64 bytes; AuthTsJwtSecret has 32',
      ]);
      expect(await errorsOf('<Location "/a">\n  AuthTsJwtSecret env:AUTHTS_TEST_SECRET_32\n  AuthTsJwtAlgorithms HS256\n</Location>')).toEqual([]);
    } finally {
      delete process.env['AUTHTS_TEST_SECRET_32'];
    }
  });
});

describe('AuthType Bearer through authts serve', () => {
  let server: RunningServer;
  let port = 0;

  beforeAll(async () => {
    const root = await tempDir('bearer-serve');
    await mkdir(join(root, 'htdocs', 'api'), { recursive: true });
    await writeFile(join(root, 'htdocs', 'api', 'data.txt'), 'secret data\n');
    await writeFile(join(root, 'rsa.pem'), rsa.publicPem);
    await writeFile(
      join(root, 'site.conf'),
      [
        'Listen 127.0.0.1:0',
        'DocumentRoot htdocs',
        '<Location "/api">',
        '    AuthType Bearer',
        '    AuthName "api"',
        '    AuthTsJwtKeys rsa.pem',
        `    AuthTsJwtKeys ${jwks.url} rsa.pem`,
        '    AuthTsJwtAllowQueryToken On',
        '    AuthTsJwtAllowFormToken On',
        '    Require jwt-scope read',
        '</Location>',
        '',
      ].join('\n'),
    );
    server = await startServer({ configFile: join(root, 'site.conf'), logger: silentLogger, listen: [{ host: '127.0.0.1', port: 0 }] });
    port = server.addresses[0]!.port;
  });

  afterAll(async () => {
    await server?.close();
  });

  function http(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; challenge: string | undefined; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'], body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('serves the file for a token in the header, the query string or a form body', async () => {
    const token = await mint(rsa, { sub: 'alice', scope: 'read' });
    expect(await http('GET', '/api/data.txt', { authorization: `Bearer ${token}` })).toEqual({ status: 200, challenge: undefined, body: 'secret data\n' });
    expect((await http('GET', `/api/data.txt?access_token=${token}`, {})).status).toBe(200);
    const form = await http('POST', '/api/data.txt', { 'content-type': 'application/x-www-form-urlencoded' }, `access_token=${token}&x=1`);
    expect(form.status).toBe(200);
    const remote = await mint(remoteKey, { sub: 'r', scope: 'read' });
    expect((await http('GET', '/api/data.txt', { authorization: `Bearer ${remote}` })).status).toBe(200);
  });

  it('answers RFC 6750 errors on the wire', async () => {
    expect(await http('GET', '/api/data.txt', {})).toMatchObject({ status: 401, challenge: 'Bearer realm="api"' });
    expect(await http('GET', '/api/data.txt', { authorization: 'Bearer x y' })).toMatchObject({ status: 400, challenge: expect.stringContaining('error="invalid_request"') });
    const expired = await mint(rsa, { sub: 'alice', scope: 'read', exp: epoch() - 600 });
    expect(await http('GET', '/api/data.txt', { authorization: `Bearer ${expired}` })).toMatchObject({ status: 401, challenge: 'Bearer realm="api", error="invalid_token", error_description="the token expired"' });
    const noScope = await mint(rsa, { sub: 'alice', scope: 'write' });
    expect(await http('GET', '/api/data.txt', { authorization: `Bearer ${noScope}` })).toMatchObject({ status: 403, challenge: expect.stringContaining('error="insufficient_scope"') });
    const token = await mint(rsa, { sub: 'alice', scope: 'read' });
    const both = await http('POST', `/api/data.txt?access_token=${token}`, { 'content-type': 'application/x-www-form-urlencoded' }, `access_token=${token}`);
    expect(both).toMatchObject({ status: 400, challenge: expect.stringContaining('more than one way') });
  });

  it('with the token cached (AuthTsJwtCache On by default), tokens sharing its prefix are still refused, and Require still decides', async () => {
    const token = await mint(rsa, { sub: 'alice', scope: 'read' });
    const [h, p, sig] = token.split('.') as [string, string, string];
    for (let i = 0; i < 3; i++) expect((await http('GET', '/api/data.txt', { authorization: `Bearer ${token}` })).status).toBe(200);
    const escalated = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', scope: 'read', exp: epoch() + 600 })).toString('base64url')}.${sig}`;
    const flipped = `${h}.${p}.${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
    for (const bad of [escalated, flipped, `${h}.${p}.${sig.slice(0, -4)}`]) {
      expect(await http('GET', '/api/data.txt', { authorization: `Bearer ${bad}` })).toMatchObject({ status: 401, challenge: expect.stringContaining('error="invalid_token"') });
    }
    // A cached token that lacks the scope is still refused by Require (403), every time.
    const noScope = await mint(rsa, { sub: 'alice', scope: 'write' });
    for (let i = 0; i < 2; i++) expect((await http('GET', '/api/data.txt', { authorization: `Bearer ${noScope}` })).status).toBe(403);
    expect((await http('GET', '/api/data.txt', { authorization: `Bearer ${token}` })).status).toBe(200);
  });
});
