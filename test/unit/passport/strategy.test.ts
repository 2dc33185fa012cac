/**
 * AuthTsStrategy: an authts PasswordChecker as a passport strategy, used by a real Express 5
 * app with real passport, over real HTTP on 127.0.0.1, against an htpasswd file made by
 * Apache's htpasswd. No authts configuration is involved.
 */
import express from 'express';
import { writeFile, chmod } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Passport } from 'passport';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { AuthTsError } from '../../../src/errors.js';
import type { PasswordChecker } from '../../../src/module.js';
import * as subpath from '../../../src/passport/index.js';
import { AuthTsStrategy, type AuthTsStrategyOptions, type AuthTsUser } from '../../../src/passport/strategy.js';
import { fileProvider } from '../../../src/providers/file.js';
import { htpasswd, removeTempDirs, tempDir } from '../../e2e/helpers.js';

let users: PasswordChecker;
let server: Server;
let base = '';

/** A checker that cannot answer, as a provider whose file or server is gone. */
const down: PasswordChecker = {
  name: 'ldap',
  checkPassword: () => Promise.reject(new AuthTsError('PROVIDER_UNAVAILABLE', 'directory down')),
  close: async () => {},
};

beforeAll(async () => {
  const dir = await tempDir('passport-strategy');
  const userFile = join(dir, 'users');
  await writeFile(userFile, `${htpasswd('alice', 'wonderland')}\n${htpasswd('bob', 'builder', 'B', 5)}\n`);
  await chmod(userFile, 0o600);
  users = await fileProvider({ userFile });

  const passport = new Passport();
  passport.use(new AuthTsStrategy({ checker: users, realm: 'Staff' }));
  passport.use(new AuthTsStrategy({ checker: users, credentials: 'form', name: 'login', usernameField: 'user', passwordField: 'pass' }));
  passport.use(new AuthTsStrategy({ checker: down, name: 'down' }));

  const app = express();
  app.use(express.urlencoded({ extended: false, limit: 1024 }));
  app.use(passport.initialize());
  const hello = (req: express.Request, res: express.Response): void => {
    res.json({ user: (req.user as AuthTsUser).name, info: req.authInfo });
  };
  app.get('/private', passport.authenticate('authts', { session: false }), hello);
  app.post('/login', passport.authenticate('login', { session: false, failureRedirect: '/login?failed=1' }), hello);
  app.post('/login-401', passport.authenticate('login', { session: false }), hello);
  app.get('/down', passport.authenticate('down', { session: false }), hello);
  // Express 5's default error handler answers 500 for the error the strategy passes on.
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await users?.close();
  await removeTempDirs();
});

const basic = (pair: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(pair).toString('base64')}` });
const form = (body: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body,
  redirect: 'manual',
});

describe('AuthTsStrategy in an Express 5 app with passport', () => {
  it('Basic: a right password is the user { name }', async () => {
    for (const [pair, name] of [['alice:wonderland', 'alice'], ['bob:builder', 'bob']] as const) {
      const res = await fetch(`${base}/private`, { headers: basic(pair) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ user: name, info: { provider: 'file' } });
    }
  });

  it('Basic: wrong password and unknown user get the same 401 with the realm challenge', async () => {
    const answers = [];
    for (const pair of ['alice:nope', 'mallory:nope']) {
      const res = await fetch(`${base}/private`, { headers: basic(pair) });
      answers.push([res.status, res.headers.get('www-authenticate'), await res.text()]);
    }
    expect(answers[0]).toEqual([401, 'Basic realm="Staff"', 'Unauthorized']);
    expect(answers[1]).toEqual(answers[0]);
  });

  it('Basic: no credentials or another scheme is 401 with the challenge; malformed is 400', async () => {
    const none = await fetch(`${base}/private`);
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, 'Basic realm="Staff"']);
    const bearer = await fetch(`${base}/private`, { headers: { authorization: 'Bearer abc' } });
    expect([bearer.status, bearer.headers.get('www-authenticate')]).toEqual([401, 'Basic realm="Staff"']);
    const malformed = await fetch(`${base}/private`, { headers: { authorization: 'Basic !!!' } });
    expect([malformed.status, malformed.headers.get('www-authenticate')]).toEqual([400, null]);
  });

  it('form: right password, then wrong password and unknown user redirect alike', async () => {
    const ok = await fetch(`${base}/login`, form('user=alice&pass=wonderland'));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ user: 'alice', info: { provider: 'file' } });
    for (const body of ['user=alice&pass=nope', 'user=mallory&pass=nope']) {
      const res = await fetch(`${base}/login`, form(body));
      expect([res.status, res.headers.get('location')]).toEqual([302, '/login?failed=1']);
    }
  });

  it('form: wrong password without failureRedirect is 401 with no challenge header', async () => {
    const res = await fetch(`${base}/login-401`, form('user=alice&pass=nope'));
    expect([res.status, res.headers.get('www-authenticate'), await res.text()]).toEqual([401, null, 'Unauthorized']);
  });

  it('form: missing credentials are 400', async () => {
    for (const body of ['user=alice', 'pass=x', '', 'user=&pass=x']) {
      const res = await fetch(`${base}/login-401`, form(body));
      expect(res.status, body).toBe(400);
    }
    const repeated = await fetch(`${base}/login-401`, form('user=alice&user=bob&pass=wonderland'));
    expect(repeated.status).toBe(400);
  });

  it('a checker that cannot answer is error() → 500, never a grant', async () => {
    const res = await fetch(`${base}/down`, { headers: basic('alice:wonderland') });
    expect(res.status).toBe(500);
  });
});

describe('AuthTsStrategy options', () => {
  const checker = down;

  it('throws TypeError naming the option', () => {
    expect(() => new AuthTsStrategy(undefined as never)).toThrow(/options must be an object/);
    expect(() => new AuthTsStrategy({ checker: {} as never })).toThrow(/options\.checker/);
    expect(() => new AuthTsStrategy({ checker, credentials: 'cookie' as never })).toThrow(/options\.credentials/);
    expect(() => new AuthTsStrategy({ checker, name: '' })).toThrow(/options\.name/);
    expect(() => new AuthTsStrategy({ checker, realm: 'a\nb' })).toThrow(/options\.realm/);
    expect(() => new AuthTsStrategy({ checker, credentials: 'form', usernameField: '' })).toThrow(/options\.usernameField/);
  });

  it('has the names passport uses', () => {
    expect(new AuthTsStrategy({ checker }).name).toBe('authts');
    expect(new AuthTsStrategy({ checker, name: 'staff' }).name).toBe('staff');
    expect(subpath.Strategy).toBe(AuthTsStrategy);
  });

  it('types: credentials pick the options that apply', () => {
    expectTypeOf<{ checker: PasswordChecker }>().toExtend<AuthTsStrategyOptions>();
    expectTypeOf<{ checker: PasswordChecker; credentials: 'form'; usernameField: string }>().toExtend<AuthTsStrategyOptions>();
    // Object literals: an option of the other kind of credentials is a type error.
    const basicWithField = (): AuthTsStrategy =>
      // @ts-expect-error usernameField applies to form credentials only
      new AuthTsStrategy({ checker, credentials: 'basic', usernameField: 'user' });
    const formWithRealm = (): AuthTsStrategy =>
      // @ts-expect-error realm applies to Basic credentials only
      new AuthTsStrategy({ checker, credentials: 'form', realm: 'x' });
    expectTypeOf(basicWithField).returns.toEqualTypeOf<AuthTsStrategy>();
    expectTypeOf(formWithRealm).returns.toEqualTypeOf<AuthTsStrategy>();
    expectTypeOf<{ credentials: 'basic' }>().not.toExtend<AuthTsStrategyOptions>();
    expectTypeOf<AuthTsStrategy>().toExtend<import('passport').Strategy>();
    expectTypeOf(subpath.passportModule).parameter(0).toHaveProperty('strategies');
  });
});
