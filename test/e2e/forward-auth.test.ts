/**
 * `authts serve` as a forward-auth endpoint, asked directly over HTTP the way each proxy asks:
 * Traefik ForwardAuth and Caddy forward_auth (X-Forwarded-*), Envoy ext_authz in HTTP mode
 * (path_prefix + original path, original method, Host) and nginx's headers (the real nginx is in
 * forward-auth-nginx.test.ts). Also: trust, identity headers, and what forward-auth does not do
 * (map to the DocumentRoot).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { rawRequest, type RawResponse } from '../services/http-client.js';
import { basic, captureLogger, htpasswd, removeTempDirs, tempDir } from './helpers.js';

let dir = '';
let server: RunningServer;
let url = '';
const logged = captureLogger();

beforeAll(async () => {
  dir = await tempDir('fwd');
  await mkdir(join(dir, 'htdocs', 'files'), { recursive: true });
  await writeFile(join(dir, 'htdocs', 'files', 'a.txt'), 'a\n');
  await writeFile(join(dir, 'users'), `${htpasswd('alice', 'alice-pw')}\n${htpasswd('bob', 'bob-pw')}\n${htpasswd('josé', 'pw')}\n`);
  await writeFile(join(dir, 'groups'), 'Admins: alice\nstaff: alice bob\n');
  await writeFile(
    join(dir, 'mail.mjs'),
    "export function accessHandler(req) {\n  req.env.set('AUTHENTICATE_MAIL', 'alice@example.org');\n  return 'ok';\n}\n",
  );
  await writeFile(
    join(dir, 'site.conf'),
    `Listen 127.0.0.1:0
DocumentRoot htdocs
AuthTsForwardAuth /_authts
AuthTsTrustedProxy 127.0.0.1 ::1
<Location "/private">
    AuthType Basic
    AuthName "Private area"
    AuthUserFile users
    AuthGroupFile groups
    Require valid-user
</Location>
<Location "/admin">
    AuthType Basic
    AuthName "Admins"
    AuthUserFile users
    AuthGroupFile groups
    Require group Admins
    AuthzSendForbiddenOnFailure On
</Location>
<Location "/mail">
    AuthType Basic
    AuthName "Mail"
    AuthUserFile users
    AuthTsHandler access mail.mjs
    Require valid-user
</Location>
<Location "/broken-groups">
    AuthType Basic
    AuthName "Broken"
    AuthUserFile users
    AuthGroupFile missing-groups
    Require valid-user
</Location>
<Location "/partners">
    Require ip 192.0.2.0/24
</Location>
<Location "/closed">
    Require all denied
</Location>
# A <Directory> section: forward-auth requests are not mapped to files, so it never applies to them.
<Directory "htdocs/files">
    Require all denied
</Directory>
`,
  );
  server = await startServer({ configFile: join(dir, 'site.conf'), logger: logged.log, listen: [{ host: '127.0.0.1', port: 0 }] });
  url = `http://127.0.0.1:${server.addresses[0]!.port}`;
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

/** Traefik ForwardAuth's request: GET to the address, the original in X-Forwarded-*. */
function traefik(method: string, uri: string, extra: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(url, {
    path: '/_authts',
    headers: {
      'X-Forwarded-Method': method,
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'app.example',
      'X-Forwarded-Uri': uri,
      'X-Forwarded-For': '198.51.100.7',
      ...extra,
    },
  });
}

/** Caddy forward_auth: GET `uri /_authts`, X-Forwarded-Method/-Uri plus reverse_proxy's -For/-Proto/-Host. */
function caddy(method: string, uri: string, extra: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(url, {
    path: '/_authts',
    headers: { 'X-Forwarded-Method': method, 'X-Forwarded-Uri': uri, 'X-Forwarded-For': '198.51.100.8', 'X-Forwarded-Proto': 'http', 'X-Forwarded-Host': 'app.example', ...extra },
  });
}

/** Envoy ext_authz (HTTP): the original method, path_prefix + original path, the original Host. */
function envoy(method: string, path: string, extra: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(url, { method, path: `/_authts${path}`, headers: { Host: 'app.example', 'Content-Length': '0', ...extra } });
}

function identity(res: RawResponse): [string | undefined, string | undefined, string | undefined] {
  return [res.headers['remote-user'], res.headers['remote-groups'], res.headers['remote-email']];
}

describe('Traefik ForwardAuth / Caddy forward_auth', () => {
  for (const [name, ask] of [['Traefik', traefik], ['Caddy', caddy]] as const) {
    it(`${name}: 401 with the challenge, 200 with the identity`, async () => {
      const none = await ask('GET', '/private/x?y=1');
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Basic realm="Private area"');
      expect(none.headers['remote-user']).toBeUndefined();
      expect(none.body).toContain('<h1>Unauthorized</h1>');
      const ok = await ask('GET', '/private/x?y=1', { Authorization: basic('alice:alice-pw') });
      expect(ok.status).toBe(200);
      expect(identity(ok)).toEqual(['alice', 'Admins,staff', '']);
      expect(ok.body).toBe('');
      const bob = await ask('POST', '/admin/x', { Authorization: basic('bob:bob-pw') });
      expect(bob.status).toBe(403);
    });
  }

  it('answers 200 with empty identity headers for a public path, whatever the client sent', async () => {
    const res = await traefik('GET', '/public', { 'Remote-User': 'admin', 'Remote-Groups': 'Admins' });
    expect(res.status).toBe(200);
    expect(identity(res)).toEqual(['', '', '']);
  });

  it('passes Remote-Email from AUTHENTICATE_MAIL', async () => {
    const res = await traefik('GET', '/mail/inbox', { Authorization: basic('alice:alice-pw') });
    expect(res.status).toBe(200);
    expect(identity(res)).toEqual(['alice', '', 'alice@example.org']);
  });

  it('sends a UTF-8 user name as its UTF-8 bytes', async () => {
    const res = await traefik('GET', '/private/x', { Authorization: basic('josé:pw') });
    expect(res.status).toBe(200);
    const raw = res.rawHeaders.find(([name]) => name.toLowerCase() === 'remote-user')?.[1];
    expect(Buffer.from(raw ?? '', 'latin1').toString('utf8')).toBe('josé');
  });

  it('answers 500 when the group file cannot be read (the groups would be wrong)', async () => {
    const res = await traefik('GET', '/broken-groups/x', { Authorization: basic('alice:alice-pw') });
    expect(res.status).toBe(500);
    expect(res.headers['remote-user']).toBeUndefined();
    expect(logged.lines.some((l) => l['code'] === 'FILE_UNREADABLE' && l['msg'] === 'forward-auth: the identity could not be answered')).toBe(true);
  });

  it('decides Require ip on the client from X-Forwarded-For, not on the proxy', async () => {
    expect((await traefik('GET', '/partners/x', { 'X-Forwarded-For': '192.0.2.9' })).status).toBe(200);
    // The rightmost untrusted entry is the client: what is left of it was written by the client.
    expect((await traefik('GET', '/partners/x', { 'X-Forwarded-For': '192.0.2.9, 203.0.113.5' })).status).toBe(403);
    expect((await traefik('GET', '/partners/x', { 'X-Forwarded-For': '203.0.113.5, 192.0.2.9, 127.0.0.1' })).status).toBe(200);
    // No X-Forwarded-For: the client is unknown and matches no address (not the proxy's).
    const res = await rawRequest(url, { path: '/_authts', headers: { 'X-Forwarded-Method': 'GET', 'X-Forwarded-Uri': '/partners/x' } });
    expect(res.status).toBe(403);
  });

  it('refuses a mixed or incomplete description with 400', async () => {
    expect((await traefik('GET', '/public', { 'X-Original-URI': '/public', 'X-Original-Method': 'GET' })).status).toBe(400);
    expect((await rawRequest(url, { path: '/_authts', headers: { 'X-Forwarded-Uri': '/public' } })).status).toBe(400);
    expect((await rawRequest(url, { path: '/_authts' })).status).toBe(400);
    expect(logged.lines.filter((l) => l['code'] === 'FORWARD_AUTH_BAD_REQUEST').length).toBeGreaterThanOrEqual(3);
  });

  it('refuses ambiguous spellings with 400, and answers 400/404 where authts serve would', async () => {
    expect((await traefik('GET', '/public/../private/x')).status).toBe(400);
    expect((await traefik('GET', '/private;a/x')).status).toBe(400);
    expect((await traefik('GET', '/a%2fb')).status).toBe(404);
    expect((await traefik('GET', '/%2e%2e/x')).status).toBe(400);
    expect((await traefik('GET', '/%70rivate/x')).status).toBe(401);
  });
});

describe('Envoy ext_authz (HTTP)', () => {
  it('takes the original path from below the endpoint and the method from the request', async () => {
    const none = await envoy('GET', '/private/x?y=1');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="Private area"');
    const ok = await envoy('DELETE', '/private/x', { Authorization: basic('alice:alice-pw'), 'X-Forwarded-For': '198.51.100.9' });
    expect(ok.status).toBe(200);
    expect(identity(ok)).toEqual(['alice', 'Admins,staff', '']);
    expect((await envoy('GET', '/public/x')).status).toBe(200);
    expect((await envoy('GET', '/')).status).toBe(200);
    expect((await envoy('POST', '/closed/x')).status).toBe(403);
  });

  it('refuses ambiguous spellings of the original path', async () => {
    expect((await envoy('GET', '/public/../private/x')).status).toBe(400);
    expect((await envoy('GET', '//private/x')).status).toBe(400);
  });

  it('answers HEAD without a body', async () => {
    const res = await envoy('HEAD', '/private/x');
    expect(res.status).toBe(401);
    expect(res.body).toBe('');
  });
});

describe('nginx auth_request headers', () => {
  it('reads X-Original-URI and X-Original-Method', async () => {
    const ask = (method: string, uri: string, extra: Record<string, string> = {}) =>
      rawRequest(url, { path: '/_authts', headers: { 'X-Original-URI': uri, 'X-Original-Method': method, 'X-Forwarded-For': '127.0.0.1', ...extra } });
    expect((await ask('GET', '/private/x')).status).toBe(401);
    const ok = await ask('POST', '/admin/x', { Authorization: basic('alice:alice-pw') });
    expect(ok.status).toBe(200);
    expect(identity(ok)).toEqual(['alice', 'Admins,staff', '']);
    expect((await rawRequest(url, { path: '/_authts', headers: { 'X-Original-URI': '/private/x' } })).status).toBe(400);
  });
});

describe('what forward-auth leaves alone', () => {
  it('does not map the original path to the DocumentRoot: <Directory> sections do not apply', async () => {
    // Served by authts itself, /files/a.txt is denied by <Directory htdocs/files>...
    expect((await rawRequest(url, { path: '/files/a.txt' })).status).toBe(403);
    // ...but asked about by a proxy, it is a URL of the proxy's upstream: only <Location> counts.
    expect((await traefik('GET', '/files/a.txt')).status).toBe(200);
  });

  it('serves other paths as before, the endpoint only at its own path', async () => {
    expect((await rawRequest(url, { path: '/_authtsx' })).status).toBe(404);
    expect((await rawRequest(url, { path: '/private/x' })).status).toBe(401);
  });
});

describe('trust', () => {
  let untrusted: RunningServer;
  const untrustedLog = captureLogger();

  beforeAll(async () => {
    await writeFile(
      join(dir, 'untrusted.conf'),
      'Listen 127.0.0.1:0\nAuthTsForwardAuth /_authts\nAuthTsTrustedProxy 192.0.2.1 10.0.0.0/8\n<Location "/">\n    Require all granted\n</Location>\n',
    );
    untrusted = await startServer({ configFile: join(dir, 'untrusted.conf'), logger: untrustedLog.log, listen: [{ host: '127.0.0.1', port: 0 }] });
  });

  afterAll(async () => {
    await untrusted?.close();
  });

  it('refuses with 403 a forward-auth request from a peer not listed by AuthTsTrustedProxy', async () => {
    const base = `http://127.0.0.1:${untrusted.addresses[0]!.port}`;
    for (const headers of [
      { 'X-Original-URI': '/x', 'X-Original-Method': 'GET' },
      { 'X-Forwarded-Uri': '/x', 'X-Forwarded-Method': 'GET', 'X-Forwarded-For': '192.0.2.1' },
    ]) {
      const res = await rawRequest(base, { path: '/_authts', headers });
      expect(res.status).toBe(403);
      expect(res.headers['remote-user']).toBeUndefined();
    }
    expect((await rawRequest(base, { path: '/_authts/x' })).status).toBe(403);
    expect(untrustedLog.lines.filter((l) => l['code'] === 'FORWARD_AUTH_UNTRUSTED')).toHaveLength(3);
    // Ordinary requests are not forward-auth requests: no trust needed.
    expect((await rawRequest(base, { path: '/x' })).status).toBe(404);
  });
});
