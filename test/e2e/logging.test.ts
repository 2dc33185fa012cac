/**
 * Structured audit lines and the absence of secrets: passwords and tokens go through every way
 * authts accepts them (Basic right and wrong, an unknown user, Bearer in the header, in the query
 * string and in a form body, a forged token) and no log line and no access log line may contain
 * them; each refusal has one audit line with its stable code, the claimed user, the client, the
 * path and the section (file:line).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCodeOf } from '../../src/log-audit.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { forge, makeKey, mint, type TestKey } from '../helpers/jwt.js';
import { basic, captureLogger, htpasswd, removeTempDirs, tempDir, waitFor } from './helpers.js';

const CONFIG = `Listen 127.0.0.1:0
DocumentRoot htdocs
CustomLog access.log combined

<Location /basic>
    AuthType Basic
    AuthName "Basic area"
    AuthUserFile users
    Require valid-user
</Location>

<Location /basic/admin>
    Require user root
</Location>

<Location /api>
    AuthType Bearer
    AuthName "api"
    AuthBearerProvider jwt
    AuthTsJwtKeys key.pem
    AuthTsJwtAllowQueryToken On
    AuthTsJwtAllowFormToken On
    Require valid-user
</Location>

<Location /closed>
    Require all denied
</Location>
`;

describe('audit lines, and no secret in any log', () => {
  let dir: string;
  let server: RunningServer;
  let base: string;
  let key: TestKey;
  const captured = captureLogger();
  const secrets: string[] = [];

  beforeAll(async () => {
    dir = await tempDir('logging');
    key = await makeKey('ES256', 'k1');
    await mkdir(join(dir, 'htdocs', 'basic', 'admin'), { recursive: true });
    await mkdir(join(dir, 'htdocs', 'api'), { recursive: true });
    await writeFile(join(dir, 'htdocs', 'basic', 'a.txt'), 'basic\n');
    await writeFile(join(dir, 'htdocs', 'basic', 'admin', 'a.txt'), 'admin\n');
    await writeFile(join(dir, 'htdocs', 'api', 'a.txt'), 'api\n');
    await writeFile(join(dir, 'users'), `${htpasswd('alice', 'Correct-Horse-1')}\n`);
    await writeFile(join(dir, 'key.pem'), key.publicPem);
    await writeFile(join(dir, 'site.conf'), CONFIG);
    server = await startServer({ configFile: join(dir, 'site.conf'), logger: captured.log });
    base = `http://127.0.0.1:${server.addresses[0]!.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await removeTempDirs();
  });

  const get = async (path: string, init: RequestInit = {}): Promise<number> => (await fetch(`${base}${path}`, init)).status;
  const audits = (): Record<string, unknown>[] => captured.lines.filter((l) => l['audit'] === true);

  it('sends credentials every way and gets the expected answers', async () => {
    const good = await mint(key, { sub: 'alice' });
    const other = await mint(key, { sub: 'bob' });
    const formToken = await mint(key, { sub: 'carol' });
    const forged = forge({ alg: 'ES256', kid: 'k1' }, { sub: 'mallory', exp: 9_999_999_999 }, { signature: 'Zm9yZ2VkLXNpZ25hdHVyZQ' });
    secrets.push('Correct-Horse-1', 'Wrong-Battery-2', 'Unknown-Staple-3', good, other, formToken, forged);
    secrets.push(basic('alice:Correct-Horse-1').slice(6), basic('alice:Wrong-Battery-2').slice(6), basic('nobody:Unknown-Staple-3').slice(6));
    // The signature parts of the tokens: a log that kept only part of a token would still leak it.
    secrets.push(...[good, other, formToken].map((t) => t.split('.')[2]!));

    expect(await get('/basic/a.txt', { headers: { Authorization: basic('alice:Correct-Horse-1') } })).toBe(200);
    expect(await get('/basic/a.txt', { headers: { Authorization: basic('alice:Wrong-Battery-2') } })).toBe(401);
    expect(await get('/basic/a.txt', { headers: { Authorization: basic('nobody:Unknown-Staple-3') } })).toBe(401);
    expect(await get('/basic/admin/a.txt', { headers: { Authorization: basic('alice:Correct-Horse-1') } })).toBe(401);
    expect(await get('/basic/a.txt')).toBe(401);
    expect(await get('/api/a.txt', { headers: { Authorization: `Bearer ${good}` } })).toBe(200);
    expect(await get(`/api/a.txt?access_token=${other}`)).toBe(200);
    expect(
      await get('/api/a.txt', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `access_token=${formToken}&password=Correct-Horse-1` }),
    ).toBe(200);
    expect(await get('/api/a.txt', { headers: { Authorization: `Bearer ${forged}` } })).toBe(401);
    expect(await get('/closed/x')).toBe(403);
    await waitFor('10 access log lines', async () => existsSync(join(dir, 'access.log')) && (await readFile(join(dir, 'access.log'), 'utf8')).split('\n').filter(Boolean).length >= 10);
  });

  it('no log line and no access log line contains a password or a token', async () => {
    const logText = captured.lines.map((l) => JSON.stringify(l)).join('\n');
    const accessLog = await readFile(join(dir, 'access.log'), 'utf8');
    expect(captured.lines.length).toBeGreaterThan(10);
    for (const secret of secrets) {
      expect(logText.includes(secret), `log lines contain ${secret.slice(0, 12)}…`).toBe(false);
      expect(accessLog.includes(secret), `access log contains ${secret.slice(0, 12)}…`).toBe(false);
    }
    // The query-string token is written redacted in the request line.
    expect(accessLog).toContain('"GET /api/a.txt?access_token=[redacted] HTTP/1.1" 200');
  });

  it('one audit line per refusal with credentials, with code, claimed user, client, path, section and status', () => {
    const lines = audits();
    expect(lines).toContainEqual(
      expect.objectContaining({ code: 'AUTHN_FAILED', status: 401, user: 'alice', client: '127.0.0.1', method: 'GET', path: '/basic/a.txt', section: 'site.conf:5', level: 40 }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ code: 'AUTHN_FAILED', status: 401, user: 'nobody', path: '/basic/a.txt' }));
    // An authenticated user that fails Require (httpd answers 401 for Basic).
    expect(lines).toContainEqual(expect.objectContaining({ code: 'AUTHN_FAILED', status: 401, user: 'alice', path: '/basic/admin/a.txt', section: 'site.conf:12' }));
    const forged = lines.find((l) => l['path'] === '/api/a.txt');
    expect(forged).toMatchObject({ code: 'AUTHN_FAILED', status: 401, section: 'site.conf:16' });
    expect(forged).not.toHaveProperty('user');
    expect(lines).toContainEqual(expect.objectContaining({ code: 'ACCESS_DENIED', status: 403, path: '/closed/x', section: 'site.conf:26' }));
    // The challenge without credentials is not a failure: 5 refusals, 5 lines.
    expect(lines).toHaveLength(5);
  });
});

describe('forward-auth decisions are audited and logged as the original request', () => {
  afterAll(removeTempDirs);

  it('the audit line names the original client and path; the access log has the user', async () => {
    const dir = await tempDir('logging-fwd');
    await writeFile(join(dir, 'users'), `${htpasswd('alice', 'Fwd-Secret-9')}\n`);
    await writeFile(
      join(dir, 'site.conf'),
      'Listen 127.0.0.1:0\nAuthTsForwardAuth /_authts\nAuthTsTrustedProxy 127.0.0.1 ::1\nCustomLog access.log "%h %u \\"%r\\" %>s"\n<Location "/private">\n    AuthType Basic\n    AuthName "P"\n    AuthUserFile users\n    Require valid-user\n</Location>\n',
    );
    const captured = captureLogger();
    const server = await startServer({ configFile: join(dir, 'site.conf'), logger: captured.log });
    try {
      const url = `http://127.0.0.1:${server.addresses[0]!.port}/_authts`;
      const ask = (authorization: string): Promise<Response> =>
        fetch(url, { headers: { 'X-Forwarded-Method': 'GET', 'X-Forwarded-Uri': '/private/x?y=1', 'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'app.example', Authorization: authorization } });
      expect((await ask(basic('alice:wrong-fwd'))).status).toBe(401);
      expect((await ask(basic('alice:Fwd-Secret-9'))).status).toBe(200);
      expect(captured.lines.filter((l) => l['audit'] === true)).toEqual([
        expect.objectContaining({ code: 'AUTHN_FAILED', status: 401, user: 'alice', client: '198.51.100.7', method: 'GET', path: '/private/x', section: 'site.conf:5' }),
      ]);
      await waitFor('2 access log lines', async () => existsSync(join(dir, 'access.log')) && (await readFile(join(dir, 'access.log'), 'utf8')).split('\n').filter(Boolean).length >= 2);
      const lines = (await readFile(join(dir, 'access.log'), 'utf8')).split('\n').filter(Boolean);
      expect(lines).toEqual(['127.0.0.1 alice "GET /_authts HTTP/1.1" 401', '127.0.0.1 alice "GET /_authts HTTP/1.1" 200']);
      expect(JSON.stringify(captured.lines)).not.toContain('Fwd-Secret-9');
    } finally {
      await server.close();
    }
  });
});

describe('audit codes', () => {
  it('maps statuses to the stable codes', () => {
    expect(auditCodeOf(200, 'alice', true)).toBeUndefined();
    expect(auditCodeOf(302, undefined, true)).toBeUndefined();
    expect(auditCodeOf(401, undefined, false)).toBeUndefined();
    expect(auditCodeOf(401, undefined, true)).toBe('AUTHN_FAILED');
    expect(auditCodeOf(401, 'alice', false)).toBe('AUTHN_FAILED');
    expect(auditCodeOf(403, 'alice', true)).toBe('AUTHZ_DENIED');
    expect(auditCodeOf(403, undefined, false)).toBe('ACCESS_DENIED');
    expect(auditCodeOf(429, 'alice', true)).toBe('AUTHN_BANNED');
    expect(auditCodeOf(400, undefined, true)).toBe('REQUEST_REFUSED');
    expect(auditCodeOf(500, undefined, true)).toBe('AUTH_UNAVAILABLE');
    expect(auditCodeOf(503, undefined, false)).toBe('AUTH_UNAVAILABLE');
  });
});
