/**
 * Forward-auth without a network: how each proxy's description of a request is read
 * (readForwardedRequest), who is trusted (isTrustedProxy, clientAddress), which spellings are
 * refused (ambiguousSpelling), and the directives (forward_auth module).
 */
import { describe, expect, it } from 'vitest';
import { groupsOfUser, parseGroupFile } from '../../../src/authz/groupfile.js';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigErrors } from '../../../src/errors.js';
import { forwardAuth, parseTrustedProxy, type ForwardAuthSettings } from '../../../src/forward-auth-module.js';
import { silentLogger } from '../../../src/log.js';
import { builtinModules } from '../../../src/modules.js';
import {
  ambiguousSpelling,
  clientAddress,
  isForwardAuthRequest,
  isTrustedProxy,
  readForwardedRequest,
  type ForwardAuthInput,
  type ForwardedResult,
} from '../../../src/server/forward-auth.js';

async function settingsOf(text: string): Promise<ForwardAuthSettings> {
  const config = await loadConfig({ text, modules: builtinModules(), logger: silentLogger });
  const settings = config.serverSettings(forwardAuth);
  await config.close();
  return settings;
}

async function loadErrors(text: string): Promise<string[]> {
  try {
    const config = await loadConfig({ text, modules: builtinModules(), logger: silentLogger });
    await config.close();
    return [];
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    return err.errors.map((e) => `${e.code} ${e.message}`);
  }
}

const BASE = 'AuthTsForwardAuth /_authts\nAuthTsTrustedProxy 127.0.0.1 10.0.0.0/8 ::1\n';

function ask(settings: ForwardAuthSettings, input: Partial<ForwardAuthInput>): ForwardedResult {
  return readForwardedRequest(settings, { url: '/_authts', method: 'GET', headers: {}, peerAddress: '127.0.0.1', ...input });
}

function accepted(result: ForwardedResult) {
  if (!result.ok) throw new Error(`refused: ${result.status} ${result.reason}`);
  return result.request;
}

describe('directives', () => {
  it('reads AuthTsForwardAuth, AuthTsTrustedProxy (adding up) and the default identity headers', async () => {
    const settings = await settingsOf(`${BASE}AuthTsTrustedProxy 192.0.2.1\n`);
    expect(settings.path).toBe('/_authts');
    expect(settings.trustedProxies.map((p) => p.text)).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', '192.0.2.1']);
    expect(settings.headers).toEqual({ user: 'Remote-User', groups: 'Remote-Groups', email: 'Remote-Email' });
  });

  it('renames or turns off identity headers', async () => {
    const settings = await settingsOf(`${BASE}AuthTsForwardAuthHeader user X-Remote-User\nAuthTsForwardAuthHeader email off\n`);
    expect(settings.headers).toEqual({ user: 'X-Remote-User', groups: 'Remote-Groups', email: undefined });
  });

  it('is off without AuthTsForwardAuth', async () => {
    expect((await settingsOf('Listen 127.0.0.1:1\n')).path).toBeUndefined();
  });

  it('refuses AuthTsForwardAuth without a trusted proxy, and bad paths, proxies and headers', async () => {
    expect(await loadErrors('AuthTsForwardAuth /_authts\n')).toEqual([
      'CONFIG_BAD_ARGUMENT AuthTsForwardAuth needs at least one AuthTsTrustedProxy: only the proxies listed there may ask',
    ]);
    for (const path of ['_authts', '/', '/a/', '/a/../b', '/a//b', '/a?x', '/a%2fb']) {
      const errors = await loadErrors(`AuthTsForwardAuth ${path}\nAuthTsTrustedProxy 127.0.0.1\n`);
      expect(errors, path).toHaveLength(1);
      expect(errors[0], path).toMatch(/^CONFIG_BAD_ARGUMENT AuthTsForwardAuth path must/);
    }
    expect(await loadErrors(`${BASE}AuthTsForwardAuth /other\n`)).toEqual(['CONFIG_DUPLICATE AuthTsForwardAuth is already set to /_authts']);
    for (const proxy of ['proxy.example', '10.1', '10.0.0.0/33', '::ffff:10.0.0.1', '1.2.3.4/x', '']) {
      expect(await loadErrors(`${BASE}AuthTsTrustedProxy "${proxy}"\n`), proxy).toEqual([
        `CONFIG_BAD_ARGUMENT AuthTsTrustedProxy: ${JSON.stringify(proxy)} is not an IP address or CIDR range`,
      ]);
    }
    expect(await loadErrors(`${BASE}AuthTsForwardAuthHeader name X-Name\n`)).toEqual([
      'CONFIG_BAD_ARGUMENT AuthTsForwardAuthHeader must name user, groups or email, got "name"',
    ]);
    for (const header of ['WWW-Authenticate', 'Content-Length', 'X-Forwarded-For', 'Bad Name']) {
      expect(await loadErrors(`${BASE}AuthTsForwardAuthHeader user "${header}"\n`), header).toEqual([
        `CONFIG_BAD_ARGUMENT AuthTsForwardAuthHeader: ${JSON.stringify(header)} cannot be an identity header`,
      ]);
    }
    expect(await loadErrors(`${BASE}AuthTsForwardAuthHeader email remote-user\n`)).toEqual([
      'CONFIG_DUPLICATE remote-user is already the user header',
    ]);
    expect(await loadErrors('<Location /x>\nAuthTsForwardAuth /_authts\n</Location>\n')).toEqual([
      expect.stringMatching(/^CONFIG_NOT_ALLOWED_HERE /),
    ]);
  });
});

describe('isForwardAuthRequest', () => {
  it('matches the endpoint, its query and the paths below it, nothing else', async () => {
    const config = await loadConfig({ text: BASE, modules: builtinModules(), logger: silentLogger });
    expect(isForwardAuthRequest(config, '/_authts')).toBe(true);
    expect(isForwardAuthRequest(config, '/_authts?rd=1')).toBe(true);
    expect(isForwardAuthRequest(config, '/_authts/private/x')).toBe(true);
    expect(isForwardAuthRequest(config, '/_authtsx')).toBe(false);
    expect(isForwardAuthRequest(config, '/_auth')).toBe(false);
    expect(isForwardAuthRequest(config, '//_authts')).toBe(false);
    expect(isForwardAuthRequest(config, undefined)).toBe(false);
    await config.close();
    const off = await loadConfig({ text: 'Listen 127.0.0.1:1\n', modules: builtinModules(), logger: silentLogger });
    expect(isForwardAuthRequest(off, '/_authts')).toBe(false);
    await off.close();
  });
});

describe('trust', () => {
  const proxies = ['127.0.0.1', '10.0.0.0/8', '2001:db8::/32'].map((p) => parseTrustedProxy(p)!);

  it('trusts listed addresses and ranges, IPv4-mapped included, and nothing else', () => {
    expect(isTrustedProxy(proxies, '127.0.0.1')).toBe(true);
    expect(isTrustedProxy(proxies, '::ffff:127.0.0.1')).toBe(true);
    expect(isTrustedProxy(proxies, '10.200.3.4')).toBe(true);
    expect(isTrustedProxy(proxies, '2001:db8::7')).toBe(true);
    expect(isTrustedProxy(proxies, '127.0.0.2')).toBe(false);
    expect(isTrustedProxy(proxies, '::1')).toBe(false);
    expect(isTrustedProxy(proxies, '11.0.0.1')).toBe(false);
    expect(isTrustedProxy(proxies, '')).toBe(false);
    expect(isTrustedProxy(proxies, 'localhost')).toBe(false);
  });

  it('finds the client in X-Forwarded-For from the right, skipping trusted proxies (mod_remoteip)', () => {
    expect(clientAddress(proxies, '192.0.2.7')).toEqual({ ok: true, address: '192.0.2.7' });
    // What the client wrote itself (left of the first untrusted entry) is never read.
    expect(clientAddress(proxies, '6.6.6.6, 192.0.2.7')).toEqual({ ok: true, address: '192.0.2.7' });
    expect(clientAddress(proxies, 'junk, 192.0.2.7, 10.0.0.2')).toEqual({ ok: true, address: '192.0.2.7' });
    expect(clientAddress(proxies, '10.0.0.3,10.0.0.2')).toEqual({ ok: true, address: '10.0.0.3' });
    expect(clientAddress(proxies, '[2001:db9::1]')).toEqual({ ok: true, address: '2001:db9::1' });
    expect(clientAddress(proxies, '::ffff:192.0.2.8')).toEqual({ ok: true, address: '192.0.2.8' });
    expect(clientAddress(proxies, undefined)).toEqual({ ok: true, address: '' });
    expect(clientAddress(proxies, ' ')).toEqual({ ok: true, address: '' });
    expect(clientAddress(proxies, 'junk, 10.0.0.2')).toEqual({ ok: false, reason: 'X-Forwarded-For entry "junk" is not an IP address' });
    expect(clientAddress(proxies, '192.0.2.7:4711')).toMatchObject({ ok: false });
  });
});

describe('readForwardedRequest', () => {
  it('refuses a peer that is not a trusted proxy with 403, whatever it sends', async () => {
    const settings = await settingsOf(BASE);
    const headers = { 'x-original-uri': ['/x'], 'x-original-method': ['GET'] };
    expect(ask(settings, { peerAddress: '192.0.2.1', headers })).toEqual({
      ok: false,
      status: 403,
      code: 'FORWARD_AUTH_UNTRUSTED',
      reason: 'peer 192.0.2.1 is not an AuthTsTrustedProxy',
    });
    expect(ask(settings, { peerAddress: '', headers })).toMatchObject({ ok: false, status: 403 });
  });

  it('reads nginx auth_request (X-Original-URI, X-Original-Method)', async () => {
    const settings = await settingsOf(BASE);
    const request = accepted(
      ask(settings, {
        headers: {
          host: ['authts'],
          'x-original-uri': ['/private/a%20b?x=1'],
          'x-original-method': ['post'],
          'x-forwarded-for': ['203.0.113.9, 127.0.0.1'],
          'x-forwarded-host': ['app.example'],
          'x-forwarded-proto': ['https'],
          authorization: ['Basic YTpi'],
          'remote-user': ['admin'],
          'content-length': ['0'],
          connection: ['close'],
        },
      }),
    );
    expect(request).toEqual({
      style: 'nginx',
      method: 'POST',
      target: '/private/a%20b?x=1',
      host: 'app.example',
      tls: true,
      clientAddress: '203.0.113.9',
      headers: {
        host: 'app.example',
        authorization: ['Basic YTpi'],
        'x-forwarded-for': ['203.0.113.9, 127.0.0.1'],
        'x-forwarded-host': ['app.example'],
        'x-forwarded-proto': ['https'],
      },
    });
  });

  it('reads Traefik ForwardAuth and Caddy forward_auth (X-Forwarded-Method/-Uri/-Host/-Proto/-For)', async () => {
    const settings = await settingsOf(BASE);
    const traefik = accepted(
      ask(settings, {
        peerAddress: '::ffff:10.1.1.1',
        headers: {
          'x-forwarded-method': ['DELETE'],
          'x-forwarded-uri': ['/api/items/7'],
          'x-forwarded-host': ['api.example'],
          'x-forwarded-proto': ['http'],
          'x-forwarded-for': ['198.51.100.4'],
          'x-forwarded-port': ['80'],
        },
      }),
    );
    expect(traefik).toMatchObject({ style: 'forwarded', method: 'DELETE', target: '/api/items/7', host: 'api.example', tls: false, clientAddress: '198.51.100.4' });
    expect(traefik.headers).not.toHaveProperty('x-forwarded-uri');
    expect(traefik.headers).not.toHaveProperty('x-forwarded-method');
  });

  it('reads Envoy ext_authz (path_prefix + original path, original method, Host)', async () => {
    const settings = await settingsOf(BASE);
    const envoy = accepted(
      ask(settings, {
        url: '/_authts/private/x?y=1',
        method: 'PUT',
        headers: { host: ['app.example:8443'], 'content-length': ['0'], 'x-forwarded-proto': ['https'], 'x-original-uri': ['/ignored'] },
      }),
    );
    expect(envoy).toEqual({
      style: 'envoy',
      method: 'PUT',
      target: '/private/x?y=1',
      host: 'app.example:8443',
      tls: true,
      clientAddress: '',
      headers: { host: 'app.example:8443', 'x-forwarded-proto': ['https'] },
    });
    expect(accepted(ask(settings, { url: '/_authts/', method: 'GET' })).target).toBe('/');
  });

  it('drops the configured identity headers from what the phases see', async () => {
    const settings = await settingsOf(`${BASE}AuthTsForwardAuthHeader user X-Auth-User\n`);
    const request = accepted(
      ask(settings, { headers: { 'x-original-uri': ['/'], 'x-original-method': ['GET'], 'x-auth-user': ['root'], 'remote-groups': ['admins'] } }),
    );
    expect(request.headers).toEqual({});
  });

  it('refuses an incomplete, doubled or mixed description with 400', async () => {
    const settings = await settingsOf(BASE);
    const cases: Array<[Record<string, string[]>, string]> = [
      [{}, 'no X-Original-URI or X-Forwarded-Uri: the proxy did not describe the original request'],
      [{ 'x-original-uri': ['/x'] }, 'X-Original-URI and X-Original-Method must both be sent'],
      [{ 'x-forwarded-uri': ['/x'] }, 'X-Forwarded-Uri and X-Forwarded-Method must both be sent'],
      [{ 'x-original-uri': ['/x', '/y'], 'x-original-method': ['GET'] }, 'X-Original-URI and X-Original-Method must each be sent once'],
      [
        { 'x-original-uri': ['/public'], 'x-original-method': ['GET'], 'x-forwarded-uri': ['/private'], 'x-forwarded-method': ['GET'] },
        'both X-Original-URI/-Method and X-Forwarded-Uri/-Method: the proxy must send one pair and clear the other',
      ],
      [
        { 'x-forwarded-uri': ['/private'], 'x-forwarded-method': ['GET'], 'x-original-method': ['GET'] },
        'both X-Original-URI/-Method and X-Forwarded-Uri/-Method: the proxy must send one pair and clear the other',
      ],
      [{ 'x-original-uri': ['/x'], 'x-original-method': ['GE T'] }, 'the original method is not an HTTP method token'],
      [{ 'x-original-uri': ['http://h/x'], 'x-original-method': ['GET'] }, 'the original request target must be a path (origin form, starting with "/")'],
      [{ 'x-original-uri': ['*'], 'x-original-method': ['OPTIONS'] }, 'the original request target must be a path (origin form, starting with "/")'],
      [{ 'x-original-uri': ['/x'], 'x-original-method': ['GET'], 'x-forwarded-for': ['nope'] }, 'X-Forwarded-For entry "nope" is not an IP address'],
    ];
    for (const [headers, reason] of cases) {
      expect(ask(settings, { headers }), JSON.stringify(headers)).toEqual({ ok: false, status: 400, code: 'FORWARD_AUTH_BAD_REQUEST', reason });
    }
  });
});

describe('ambiguousSpelling', () => {
  it('accepts plain paths, encoded ordinary characters and anything in the query', () => {
    for (const target of ['/', '/private/x', '/private/', '/%70rivate/x', '/a%20b/%C3%A9', '/x?a=../..;//%25', '/PRIVATE/x', '/a.b/..c/.d']) {
      expect(ambiguousSpelling(target), target).toBeUndefined();
    }
  });

  it('refuses every spelling another server may read as a different path', () => {
    const cases: Array<[string, RegExp]> = [
      ['/private/../public/x', /"\." or "\.\." segment/],
      ['/public/../private/x', /"\." or "\.\." segment/],
      ['/private/./x', /"\." or "\.\." segment/],
      ['/private/x/..', /"\." or "\.\." segment/],
      ['/private/%2e%2E/public', /"\." or "\.\." segment/],
      ['/private/.%2e/public', /"\." or "\.\." segment/],
      ['//private/x', /empty segment/],
      ['/public//private', /empty segment/],
      ['/%2f/..', /"\." or "\.\." segment|empty segment/],
      ['/private;x=1/y', /";"/],
      ['/public/..;/private/x', /";"/],
      ['/private%3bx/y', /";"/],
      ['/public\\..\\private', /backslash/],
      ['/public%5c..%5cprivate', /backslash/],
      ['/%2570rivate/x', /encoded "%"/],
    ];
    for (const [target, reason] of cases) expect(ambiguousSpelling(target), target).toMatch(reason);
  });
});

describe('groupsOfUser', () => {
  it('answers the groups in file order, spelled as the file first spells them', () => {
    const file = parseGroupFile('Admins: alice\nstaff: bob alice\nADMINS: carol\nqa: "j k"\n');
    expect(groupsOfUser(file, 'alice')).toEqual(['Admins', 'staff']);
    expect(groupsOfUser(file, 'carol')).toEqual(['Admins']);
    expect(groupsOfUser(file, 'j k')).toEqual(['qa']);
    expect(groupsOfUser(file, 'nobody')).toEqual([]);
  });
});
