/**
 * `AuthType passport`: real strategies from npm (passport-http-bearer, passport-local,
 * passport-custom, passport-oauth2) and authts' own AuthTsStrategy as the authn handler of a
 * section, checked through `AuthEngine.check` with a real body reader, and through a node:http
 * server on 127.0.0.1 that calls `engine.check` with `bodyReader(req)`.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Strategy as CustomStrategy } from 'passport-custom';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import { Strategy as LocalStrategy } from 'passport-local';
import OAuth2Strategy from 'passport-oauth2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passportModule, runStrategy } from '../../../src/authn/passport.js';
import { loadConfig } from '../../../src/config/load.js';
import { AuthEngine } from '../../../src/engine.js';
import { AuthTsError, ConfigErrors } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { PasswordChecker } from '../../../src/module.js';
import { builtinModules } from '../../../src/modules.js';
import { AuthTsStrategy } from '../../../src/passport/strategy.js';
import { fileProvider } from '../../../src/providers/file.js';
import type { Verdict } from '../../../src/phases.js';
import { bodyReader } from '../../../src/request-body.js';
import type { RequestInfo } from '../../../src/request-state.js';
import { htpasswd, removeTempDirs, tempDir } from '../../e2e/helpers.js';

const CONFIG = `
<Location /api>
    AuthType passport
    AuthTsPassportStrategy bearer
    Require valid-user
</Location>
<Location /api/admin>
    Require user alice
</Location>
<Location /api/strict>
    AuthzSendForbiddenOnFailure On
    Require user alice
</Location>
<Location /either>
    AuthType passport
    AuthTsPassportStrategy bearer header
    Require valid-user
</Location>
<Location /login>
    AuthType passport
    AuthTsPassportStrategy local
    AuthTsPassportFormBody On
    AuthTsPassportFormSize 64
    Require valid-user
</Location>
<Location /login-unread>
    AuthType passport
    AuthTsPassportStrategy local
    Require valid-user
</Location>
<Location /form>
    AuthType passport
    AuthTsPassportStrategy authts-form
    AuthTsPassportFormBody On
    Require valid-user
</Location>
<Location /basic>
    AuthType passport
    AuthTsPassportStrategy authts-basic
    Require valid-user
</Location>
<Location /sso>
    AuthType passport
    AuthTsPassportStrategy oauth2
    Require valid-user
</Location>
<Location /broken>
    AuthType passport
    AuthTsPassportStrategy broken
    Require valid-user
</Location>
<Location /throws>
    AuthType passport
    AuthTsPassportStrategy throws
    Require valid-user
</Location>
<Location /anonymous>
    AuthType passport
    AuthTsPassportStrategy anonymous
    Require valid-user
</Location>
<Location /nameless>
    AuthType passport
    AuthTsPassportStrategy nameless
    Require valid-user
</Location>
<Location /forbidden>
    AuthType passport
    AuthTsPassportStrategy forbid
    Require valid-user
</Location>
<Location /no-strategy>
    AuthType passport
    Require valid-user
</Location>
<Location /open>
    AuthType passport
    AuthTsPassportStrategy throws
    Require all granted
</Location>
`;

/** Bearer tokens and what they stand for. */
const tokens = new Map([
  ['alice-token', { user: { username: 'alice' }, info: { scope: ['read', 'write'], level: 3, nested: { no: 1 } } }],
  ['bob-token', { user: { username: 'bob' }, info: { scope: 'read' } }],
]);

let users: PasswordChecker;
let engine: AuthEngine;
let server: Server;
let port = 0;

beforeAll(async () => {
  const dir = await tempDir('passport-bridge');
  const userFile = join(dir, 'users');
  await writeFile(userFile, `${htpasswd('alice', 'wonderland')}\n${htpasswd('bob', 'builder', 'B', 5)}\n`);
  users = await fileProvider({ userFile });
  const local = new LocalStrategy((username, password, done) => {
    users.checkPassword(username, password).then(
      (result) => done(null, result === 'granted' ? { username } : false, { message: 'bad' }),
      (err: unknown) => done(err),
    );
  });
  const module = passportModule({
    strategies: {
      bearer: {
        strategy: new BearerStrategy({ realm: 'api' }, (token: string, done: (err: unknown, user?: unknown, info?: string | { scope: string | string[] }) => void) => {
          const found = tokens.get(token);
          done(null, found?.user ?? false, found?.info ?? 'unknown token');
        }),
        challenge: 'Bearer realm="api", error="insufficient_scope"',
      },
      header: new CustomStrategy((req, done) => {
        const user = req.headers['x-user'];
        done(null, typeof user === 'string' ? { id: user } : false);
      }),
      local,
      'authts-form': new AuthTsStrategy({ checker: users, credentials: 'form', usernameField: 'login' }),
      'authts-basic': new AuthTsStrategy({ checker: users, realm: 'Staff "only"' }),
      oauth2: {
        strategy: new OAuth2Strategy(
          {
            authorizationURL: 'https://idp.example/authorize',
            tokenURL: 'https://idp.example/token',
            clientID: 'authts',
            clientSecret: 'secret',
            callbackURL: '/sso/callback',
          },
          (_access: string, _refresh: string, _profile: unknown, done: (err: unknown, user?: unknown) => void) => done(null, false),
        ),
        options: { scope: ['openid', 'email'] },
      },
      broken: new CustomStrategy((_req, done) => done(new AuthTsError('PROVIDER_UNAVAILABLE', 'directory down'))),
      throws: {
        authenticate() {
          throw new Error('bug in strategy');
        },
      },
      anonymous: {
        authenticate(this: { pass(): void }) {
          this.pass();
        },
      },
      nameless: new CustomStrategy((_req, done) => done(null, { roles: ['x'] })),
      forbid: {
        authenticate(this: { fail(c: unknown, s: number): void }) {
          this.fail({ message: 'blocked' }, 403);
        },
      },
    },
    // Generous: password checks run on a worker pool that a busy test machine slows down.
    timeoutMs: 10_000,
  });
  const config = await loadConfig({ text: CONFIG, textName: 'passport.conf', modules: [...builtinModules(), module], logger: silentLogger });
  engine = new AuthEngine(config, silentLogger);

  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    engine
      .check({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.search.slice(1),
        unparsedUri: req.url ?? '/',
        headers: req.headersDistinct,
        remoteAddress: req.socket.remoteAddress ?? '',
        localAddress: req.socket.localAddress ?? '',
        readBody: bodyReader(req),
      })
      .then((verdict) => {
        for (const [name, value] of verdict.headers) res.setHeader(name, value);
        res.statusCode = verdict.status;
        res.end(verdict.allowed ? `hello ${verdict.user ?? ''}` : `status ${verdict.status}`);
      }, (err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await engine?.config.close();
  await users?.close();
  await removeTempDirs();
});

/** Checks a request through the engine; `body` is given to it through a real stream reader. */
function check(path: string, init: { method?: string; headers?: Record<string, string>; body?: string; query?: string } = {}): Promise<Verdict> {
  const headers: Record<string, string> = { ...init.headers };
  const info: RequestInfo = {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    path,
    query: init.query ?? '',
    headers,
    remoteAddress: '127.0.0.1',
    ...(init.body === undefined ? {} : { readBody: bodyReader(Readable.from([Buffer.from(init.body)])) }),
  };
  if (init.body !== undefined) headers['content-length'] ??= String(Buffer.byteLength(init.body));
  return engine.check(info);
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (pair: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(pair).toString('base64')}` });

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One real HTTP request to the node:http server on 127.0.0.1. */
function send(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('AuthType passport through AuthEngine.check', () => {
  it('success: the user name, AUTHENTICATE_* from info, the user object in notes', async () => {
    const v = await check('/api/data', { headers: { authorization: 'Bearer alice-token' } });
    expect(v.status).toBe(200);
    expect(v.user).toBe('alice');
    expect(v.authType).toBe('passport');
    expect(Object.fromEntries(v.env)).toEqual({ AUTHENTICATE_SCOPE: 'read write', AUTHENTICATE_LEVEL: '3' });
  });

  it('fail: 401 with the strategy challenge as WWW-Authenticate', async () => {
    const none = await check('/api/data');
    expect(none.status).toBe(401);
    expect(none.headers.get('WWW-Authenticate')).toBe('Bearer realm="api"');
    const wrong = await check('/api/data', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('WWW-Authenticate')).toBe('Bearer realm="api", error="invalid_token", error_description="unknown token"');
  });

  it('fail with a status: the status (400 for a malformed bearer header), no challenge', async () => {
    const v = await check('/api/data', { headers: { authorization: 'Bearer a b' } });
    expect(v.status).toBe(400);
    expect(v.headers.has('WWW-Authenticate')).toBe(false);
    const forbidden = await check('/forbidden/x');
    expect(forbidden.status).toBe(403);
  });

  it('authz denial after a passport login: 401 with the configured challenge, or 403 with AuthzSendForbiddenOnFailure On', async () => {
    const denied = await check('/api/admin/x', { headers: { authorization: 'Bearer bob-token' } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('WWW-Authenticate')).toBe('Bearer realm="api", error="insufficient_scope"');
    expect((await check('/api/admin/x', { headers: { authorization: 'Bearer alice-token' } })).status).toBe(200);
    const strict = await check('/api/strict/x', { headers: { authorization: 'Bearer bob-token' } });
    expect(strict.status).toBe(403);
    expect(strict.headers.has('WWW-Authenticate')).toBe(false);
  });

  it('several strategies: tried in order; all failing gives every string challenge', async () => {
    expect((await check('/either/x', { headers: { 'x-user': 'carol' } })).user).toBe('carol');
    expect((await check('/either/x', { headers: { authorization: 'Bearer bob-token' } })).user).toBe('bob');
    const none = await check('/either/x');
    expect(none.status).toBe(401);
    expect(none.headers.get('WWW-Authenticate')).toBe('Bearer realm="api"');
  });

  it('passport-local reads the form body through readBody', async () => {
    const ok = await check('/login', { headers: form, body: 'username=alice&password=wonderland' });
    expect([ok.status, ok.user]).toEqual([200, 'alice']);
    const bcrypt = await check('/login', { headers: form, body: 'username=bob&password=builder' });
    expect([bcrypt.status, bcrypt.user]).toEqual([200, 'bob']);
  });

  it('passport-local: wrong password and unknown user get the same answer', async () => {
    const wrong = await check('/login', { headers: form, body: 'username=alice&password=nope' });
    const unknown = await check('/login', { headers: form, body: 'username=mallory&password=nope' });
    for (const v of [wrong, unknown]) {
      expect(v.status).toBe(401);
      expect(v.headers.has('WWW-Authenticate')).toBe(false);
      expect(v.user).toBeUndefined();
    }
  });

  it('passport-local: missing credentials are 400 (no body, another content type, FormBody Off)', async () => {
    expect((await check('/login')).status).toBe(400);
    expect((await check('/login', { headers: { 'content-type': 'application/json' }, body: '{"username":"alice"}' })).status).toBe(400);
    expect((await check('/login-unread', { headers: form, body: 'username=alice&password=wonderland' })).status).toBe(400);
  });

  it('a form body over AuthTsPassportFormSize is 413, by Content-Length or by what arrives', async () => {
    const body = `username=alice&password=${'x'.repeat(80)}`;
    expect((await check('/login', { headers: form, body })).status).toBe(413);
    // A lying Content-Length: the reader stops at the limit all the same.
    expect((await check('/login', { headers: { ...form, 'content-length': '10' }, body })).status).toBe(413);
  });

  it('a form body with no reader: 500 (BODY_UNAVAILABLE), never a guess', async () => {
    const v = await engine.check({ method: 'POST', path: '/login', headers: { ...form, 'content-length': '30' }, remoteAddress: '127.0.0.1' });
    expect(v.status).toBe(500);
  });

  it("authts' own strategies inside the bridge: form fields and Basic with a realm", async () => {
    expect((await check('/form', { headers: form, body: 'login=alice&password=wonderland' })).user).toBe('alice');
    expect((await check('/form', { headers: form, body: 'login=alice&password=x' })).status).toBe(401);
    const ok = await check('/basic', { headers: basic('bob:builder') });
    expect([ok.status, ok.user, ok.env.get('AUTHENTICATE_PROVIDER')]).toEqual([200, 'bob', 'file']);
    const wrong = await check('/basic', { headers: basic('bob:x') });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('WWW-Authenticate')).toBe('Basic realm="Staff \\"only\\""');
  });

  it('redirect (passport-oauth2 to its authorization URL): the 3xx with Location', async () => {
    const v = await check('/sso/start');
    expect(v.status).toBe(302);
    const location = new URL(v.headers.get('Location') ?? '');
    expect(location.origin + location.pathname).toBe('https://idp.example/authorize');
    expect(location.searchParams.get('client_id')).toBe('authts');
    expect(location.searchParams.get('scope')).toBe('openid email');
    expect(location.searchParams.get('response_type')).toBe('code');
  });

  it('error, a throw and a user without a name are 500, never a grant', async () => {
    for (const path of ['/broken/x', '/throws/x', '/nameless/x']) {
      const v = await check(path);
      expect(v.status, path).toBe(500);
      expect(v.allowed, path).toBe(false);
      expect(v.user, path).toBeUndefined();
    }
  });

  it('pass declines: with AuthType passport and no other authn handler, authn_core answers 500', async () => {
    expect((await check('/anonymous/x')).status).toBe(500);
  });

  it('AuthType passport without AuthTsPassportStrategy is 500', async () => {
    expect((await check('/no-strategy/x')).status).toBe(500);
  });

  it('no strategy runs when Require is granted without a user', async () => {
    expect((await check('/open/x')).status).toBe(200);
  });
});

describe('AuthType passport through a node:http server on 127.0.0.1', () => {
  it('bearer success and challenge', async () => {
    const ok = await send('/api/data', { headers: { authorization: 'Bearer alice-token' } });
    expect([ok.status, ok.body]).toEqual([200, 'hello alice']);
    const none = await send('/api/data');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('a posted form, read from the socket', async () => {
    const ok = await send('/login', { method: 'POST', headers: form, body: 'username=alice&password=wonderland' });
    expect([ok.status, ok.body]).toEqual([200, 'hello alice']);
    const wrong = await send('/login', { method: 'POST', headers: form, body: 'username=alice&password=wrong' });
    expect(wrong.status).toBe(401);
    const unknown = await send('/login', { method: 'POST', headers: form, body: 'username=nobody&password=wrong' });
    expect([unknown.status, unknown.body, unknown.headers['www-authenticate']]).toEqual([wrong.status, wrong.body, wrong.headers['www-authenticate']]);
  });

  it('a chunked form body larger than the limit is 413', async () => {
    const res = await send('/login', {
      method: 'POST',
      headers: { ...form, 'transfer-encoding': 'chunked' },
      body: `username=alice&password=${'y'.repeat(4000)}`,
    });
    expect(res.status).toBe(413);
    expect(res.body).toBe('status 413');
  });

  it('a strategy error is 500', async () => {
    const res = await send('/broken/x');
    expect([res.status, res.body]).toEqual([500, 'status 500']);
  });

  it('redirect with Location', async () => {
    const res = await send('/sso/start');
    expect(res.status).toBe(302);
    expect(String(res.headers['location'])).toMatch(/^https:\/\/idp\.example\/authorize\?/);
  });
});

describe('runStrategy', () => {
  it('keeps the first action; a later one is reported, not answered', async () => {
    const late: string[] = [];
    const outcome = await runStrategy(
      {
        authenticate(this: { success(u: unknown): void; fail(): void }) {
          this.success('x');
          this.fail();
        },
      },
      {},
      {},
      1000,
      (action) => late.push(action),
    );
    expect(outcome).toEqual({ action: 'success', user: 'x', info: undefined });
    expect(late).toEqual(['fail']);
  });

  it('an async authenticate that rejects is an error', async () => {
    const outcome = await runStrategy({ authenticate: async () => Promise.reject(new Error('nope')) }, {}, {}, 1000);
    expect(outcome.action).toBe('error');
  });

  it('never puts the actions on the shared strategy object', async () => {
    const strategy = {
      authenticate(this: { pass(): void }) {
        this.pass();
      },
    };
    await runStrategy(strategy, {}, {}, 1000);
    expect(Object.keys(strategy)).toEqual(['authenticate']);
  });
});

describe('passportModule options and directives', () => {
  const strategy = { authenticate() {} };

  it('throws TypeError naming the option', () => {
    expect(() => passportModule(undefined as never)).toThrow(/options must be an object/);
    expect(() => passportModule({ strategies: {} })).toThrow(/options\.strategies must name at least one/);
    expect(() => passportModule({ strategies: { x: {} as never } })).toThrow(/options\.strategies\.x must be a passport strategy/);
    expect(() => passportModule({ strategies: { 'a b': strategy } })).toThrow(/cannot be written in AuthTsPassportStrategy/);
    expect(() => passportModule({ strategies: { x: { strategy, challenge: 'a\r\nb' } } })).toThrow(/options\.strategies\.x\.challenge/);
    expect(() => passportModule({ strategies: { x: strategy }, timeoutMs: 0 })).toThrow(/options\.timeoutMs/);
    expect(() => passportModule({ strategies: { x: strategy }, userName: 'id' as never })).toThrow(/options\.userName/);
  });

  it('does not keep or change the caller objects', () => {
    const options = { strategies: { x: { strategy, options: { scope: 'a' } } } };
    const before = JSON.stringify(options);
    passportModule(options);
    expect(JSON.stringify(options)).toBe(before);
  });

  it('reports an unknown strategy name and bad arguments at load, with file:line', async () => {
    const module = passportModule({ strategies: { bearer: strategy } });
    const text = '<Location /x>\nAuthType passport\nAuthTsPassportStrategy bearer beraer\nAuthTsPassportFormBody Maybe\nAuthTsPassportFormSize 0\nRequire valid-user\n</Location>\n';
    const err = await loadConfig({ text, textName: 't.conf', modules: [...builtinModules(), module] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigErrors);
    expect((err as ConfigErrors).errors.map((e) => [e.line, e.code])).toEqual([
      [3, 'CONFIG_UNKNOWN_PROVIDER'],
      [4, 'CONFIG_BAD_ARGUMENT'],
      [5, 'CONFIG_BAD_ARGUMENT'],
    ]);
    expect((err as ConfigErrors).errors[0]!.toString()).toContain('Unknown passport strategy: beraer (strategies registered with passportModule(): bearer)');
  });

  it('a strategy that calls no action within timeoutMs is 500', async () => {
    const module = passportModule({ strategies: { silent: { authenticate() {} } }, timeoutMs: 50 });
    const config = await loadConfig({ text: '<Location />\nAuthType passport\nAuthTsPassportStrategy silent\nRequire valid-user\n</Location>\n', modules: [...builtinModules(), module] });
    const v = await new AuthEngine(config, silentLogger).check({ method: 'GET', path: '/', headers: {}, remoteAddress: '127.0.0.1' });
    expect([v.status, v.allowed, v.user]).toEqual([500, false, undefined]);
    await config.close();
  });

  it('uses userName to name the user', async () => {
    const module = passportModule({
      strategies: { c: new CustomStrategy((_req, done) => done(null, { email: 'x@example.org', id: 7 })) },
      userName: (user) => (user as { email: string }).email,
    });
    const config = await loadConfig({ text: '<Location />\nAuthType passport\nAuthTsPassportStrategy c\nRequire valid-user\n</Location>\n', modules: [...builtinModules(), module] });
    const v = await new AuthEngine(config, silentLogger).check({ method: 'GET', path: '/', headers: {}, remoteAddress: '127.0.0.1' });
    expect([v.status, v.user]).toEqual([200, 'x@example.org']);
    await config.close();
  });
});
