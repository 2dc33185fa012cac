/**
 * `AuthType Form` end to end through `authts serve` and fetch: the redirect to the login page,
 * the built-in page, the login POST (CSRF, origin, provider chain, regulation), the session
 * cookie's attributes, logout and the replay of a logged-out cookie, tampered cookies, open
 * redirect attempts, and the Redis store (working, and unreachable: fail closed).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_FAILED_MESSAGE } from '../../src/authn/form.js';
import { ConfigErrors } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { htpasswd, removeTempDirs, tempDir } from './helpers.js';

const COOKIE = 'members';

/** The part of one Set-Cookie line before the first `;` (name=value), and its attributes. */
function setCookies(res: Response): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) found.set(line.slice(0, line.indexOf('=')), line);
  return found;
}

function cookieValue(line: string | undefined): string {
  if (line === undefined) throw new Error('no such Set-Cookie');
  return line.slice(line.indexOf('=') + 1, line.indexOf(';'));
}

/** One site: protected /private, login, logout, and a few special locations. */
function siteConf(store: string, extra = ''): string {
  return [
    'Listen 127.0.0.1:0',
    'DocumentRoot htdocs',
    `AuthTsSessionStore ${store}`,
    'Session On',
    `SessionCookieName ${COOKIE} path=/`,
    'SessionCryptoPassphrase file:passphrase',
    'SessionMaxAge 3600',
    'AuthTsSessionIdleTimeout 600',
    '<Location /private>',
    '  AuthType Form',
    '  AuthName "Members <area> & \\"friends\\""',
    '  AuthFormProvider file',
    '  AuthUserFile users',
    '  AuthFormLoginRequiredLocation /login',
    '  Require valid-user',
    '</Location>',
    '<Location /private/bob-only>',
    '  Require user bob',
    '</Location>',
    '<Location /api>',
    '  AuthType Form',
    '  Require valid-user',
    '</Location>',
    '<Location /nosession>',
    '  Session Off',
    '  AuthType Form',
    '  Require valid-user',
    '</Location>',
    '<Location /login>',
    '  SetHandler form-login-handler',
    '  AuthName "Members <area> & \\"friends\\""',
    '  AuthFormProvider file',
    '  AuthUserFile users',
    '  AuthFormLoginSuccessLocation /private/',
    '  AuthFormSize 512',
    '  AuthTsRegulation On',
    '  AuthTsRegulationMaxRetries 3',
    '  AuthTsRegulationMode user',
    '</Location>',
    '<Location /logout>',
    '  SetHandler form-logout-handler',
    '  AuthFormLogoutLocation /login?signed-out',
    '</Location>',
    extra,
    '',
  ].join('\n');
}

let dir: string;

beforeAll(async () => {
  dir = await tempDir('form');
  await mkdir(join(dir, 'htdocs', 'private', 'bob-only'), { recursive: true });
  await mkdir(join(dir, 'htdocs', 'api'), { recursive: true });
  await mkdir(join(dir, 'htdocs', 'nosession'), { recursive: true });
  await writeFile(join(dir, 'htdocs', 'private', 'index.html'), 'members only\n');
  await writeFile(join(dir, 'htdocs', 'private', 'page.txt'), 'a page\n');
  await writeFile(join(dir, 'htdocs', 'private', 'bob-only', 'index.html'), 'bob only\n');
  await writeFile(join(dir, 'htdocs', 'api', 'index.html'), 'api\n');
  await writeFile(join(dir, 'htdocs', 'nosession', 'index.html'), 'x\n');
  await writeFile(join(dir, 'users'), `${htpasswd('alice', 'alice-pw')}\n${htpasswd('bob', 'bob-pw')}\n${htpasswd('carol', 'carol-pw')}\n`);
  await writeFile(join(dir, 'passphrase'), `${randomBytes(32).toString('hex')}\n`);
});

afterAll(async () => {
  await removeTempDirs();
});

/** A client of one server: fetch without following redirects, and the login steps. */
function client(base: () => string) {
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base()}${path}`, { redirect: 'manual', headers });
  async function loginForm(query = ''): Promise<{ nonce: string; token: string; html: string; res: Response }> {
    const res = await get(`/login${query}`);
    const html = await res.text();
    const nonce = cookieValue(setCookies(res).get('authts_login_csrf'));
    const token = /name="authts_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token === undefined) throw new Error('no CSRF field in the login page');
    return { nonce, token, html, res };
  }
  async function post(fields: Record<string, string>, options: { nonce?: string; headers?: Record<string, string>; cookie?: string } = {}): Promise<Response> {
    const cookie = [options.nonce === undefined ? undefined : `authts_login_csrf=${options.nonce}`, options.cookie].filter(Boolean).join('; ');
    return fetch(`${base()}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...options.headers },
      body: new URLSearchParams(fields).toString(),
    });
  }
  /** Logs in; answers the POST's response and the session cookie (`name=value`). */
  async function login(user: string, password: string, extra: Record<string, string> = {}, cookie?: string): Promise<{ res: Response; session: string | undefined }> {
    const { nonce, token } = await loginForm();
    const res = await post({ authts_csrf: token, httpd_username: user, httpd_password: password, ...extra }, { nonce, ...(cookie ? { cookie } : {}) });
    const line = setCookies(res).get(COOKIE);
    return { res, session: line === undefined || res.status !== 303 ? undefined : `${COOKIE}=${cookieValue(line)}` };
  }
  return { get, loginForm, post, login };
}

describe('AuthType Form with the in-process session store', () => {
  let server: RunningServer;
  let base = '';
  const { get, loginForm, post, login } = client(() => base);

  beforeAll(async () => {
    await writeFile(join(dir, 'memory.conf'), siteConf('memory'));
    server = await startServer({ configFile: join(dir, 'memory.conf'), logger: silentLogger });
    base = `http://127.0.0.1:${server.addresses[0]!.port}`;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sends an unauthenticated request to the login location, carrying the URL it asked for', async () => {
    const res = await get('/private/page.txt?x=1&y=2');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login?httpd_location=%2Fprivate%2Fpage.txt%3Fx%3D1%26y%3D2');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('answers 401 where no AuthFormLoginRequiredLocation is set (as httpd)', async () => {
    const res = await get('/api/');
    expect(res.status).toBe(401);
    expect(res.headers.get('location')).toBeNull();
  });

  it('refuses with 500 where AuthType Form runs without Session On', async () => {
    expect((await get('/nosession/')).status).toBe(500);
  });

  it('serves the login page: escaped realm, labels, hidden CSRF and return-to fields, no script, strict headers', async () => {
    const { html, res, nonce } = await loginForm('?httpd_location=%2Fprivate%2Fpage.txt');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; form-action 'self'; frame-ancestors 'none'/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(html).toContain('<p class="realm">Members &lt;area&gt; &amp; &quot;friends&quot;</p>');
    expect(html).not.toContain('<area>');
    expect(html).toContain('<label for="username">User name</label>');
    expect(html).toContain('<label for="password">Password</label>');
    expect(html).toContain('name="httpd_username" type="text" autocomplete="username"');
    expect(html).toContain('name="httpd_password" type="password" autocomplete="current-password"');
    expect(html).toContain('<input type="hidden" name="httpd_location" value="/private/page.txt">');
    expect(html).toContain('<form method="post" action="/login">');
    expect(html).not.toMatch(/<script|<link|src=/i);
    const csrf = setCookies(res).get('authts_login_csrf')!;
    expect(csrf).toContain('HttpOnly');
    expect(csrf).toContain('SameSite=Strict');
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('does not carry a foreign return-to into the login page', async () => {
    const { html } = await loginForm('?httpd_location=%2F%2Fevil.example%2F');
    expect(html).not.toContain('evil.example');
    expect(html).not.toContain('name="httpd_location"');
  });

  it('HEAD on the login page sends the headers only', async () => {
    const res = await fetch(`${base}/login`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('logs in: 303 to the return-to path with an HttpOnly, SameSite=Lax session cookie; the page is then reachable', async () => {
    const { res, session } = await login('alice', 'alice-pw', { httpd_location: '/private/page.txt' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/private/page.txt');
    const line = setCookies(res).get(COOKIE)!;
    expect(line).toMatch(/^members=[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(line).not.toContain('Secure');
    expect(line).not.toContain('alice');
    expect(setCookies(res).get('authts_login_csrf')).toContain('Max-Age=0');
    const page = await get('/private/page.txt', { cookie: session! });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('a page\n');
  });

  it('goes to AuthFormLoginSuccessLocation without a return-to', async () => {
    const { res } = await login('alice', 'alice-pw');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/private/');
  });

  it('re-shows the form with 401 and one message for a wrong password and for an unknown user', async () => {
    const wrong = await login('alice', 'nope');
    const unknown = await login('nobody', 'nope');
    for (const { res, session } of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(session).toBeUndefined();
      expect(setCookies(res).has(COOKIE)).toBe(false);
      const html = await res.text();
      expect(html).toContain(`<p class="notice" role="alert" id="login-error">${LOGIN_FAILED_MESSAGE}</p>`);
      expect(html).not.toMatch(/not found|unknown|no such/i);
    }
  });

  it('refuses a post without the CSRF token, with a token of another nonce, or from another origin (403)', async () => {
    const { nonce, token } = await loginForm();
    const other = await loginForm();
    const fields = { httpd_username: 'alice', httpd_password: 'alice-pw' };
    const attempts = [
      await post(fields, { nonce }),
      await post({ ...fields, authts_csrf: token }),
      await post({ ...fields, authts_csrf: token }, { nonce: other.nonce }),
      await post({ ...fields, authts_csrf: token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA') }, { nonce }),
      await post({ ...fields, authts_csrf: token }, { nonce, headers: { origin: 'http://evil.example' } }),
      await post({ ...fields, authts_csrf: token }, { nonce, headers: { origin: 'null' } }),
      await post({ ...fields, authts_csrf: token }, { nonce, headers: { 'sec-fetch-site': 'cross-site' } }),
      await post({ ...fields, authts_csrf: token }, { nonce, headers: { 'sec-fetch-site': 'same-site' } }),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(403);
      expect(setCookies(res).has(COOKIE)).toBe(false);
      expect(await res.text()).toContain('did not come from this site');
    }
    // The same token with its own nonce and a same-origin browser is accepted.
    const ok = await post({ ...fields, authts_csrf: token }, { nonce, headers: { origin: base, 'sec-fetch-site': 'same-origin' } });
    expect(ok.status).toBe(303);
  });

  it('never redirects off the site after login (open-redirect attempts fall back to the success location)', async () => {
    const attacks = [
      '//evil.example/',
      '///evil.example/',
      '/\\evil.example/',
      '\\\\evil.example',
      'https://evil.example/',
      'http://evil.example/private/',
      `http://evil.example@127.0.0.1:${new URL(base).port}/`,
      'javascript:alert(1)',
      'data:text/html,hi',
      '/\t/evil.example/',
      '/private/\r\nSet-Cookie: x=1',
      'private/relative',
    ];
    for (const attack of attacks) {
      const { res } = await login('alice', 'alice-pw', { httpd_location: attack });
      expect(res.status, attack).toBe(303);
      expect(res.headers.get('location'), attack).toBe('/private/');
    }
    const sameHost = await login('alice', 'alice-pw', { httpd_location: `${base}/private/page.txt?q=1` });
    expect(sameHost.res.headers.get('location')).toBe('/private/page.txt?q=1');
  });

  it('logs out: the cookie is cleared, the server-side session destroyed, and a replayed copy refused', async () => {
    const { session } = await login('alice', 'alice-pw');
    expect((await get('/private/', { cookie: session! })).status).toBe(200);
    const out = await get('/logout', { cookie: session! });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login?signed-out');
    expect(setCookies(out).get(COOKIE)).toBe('members=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax');
    const replay = await get('/private/', { cookie: session! });
    expect(replay.status).toBe(302);
    expect(replay.headers.get('location')).toBe('/login?httpd_location=%2Fprivate%2F');
  });

  it('treats a tampered, truncated, foreign or garbage cookie as no session (302, never 500)', async () => {
    const { session } = await login('alice', 'alice-pw');
    const value = session!.slice(`${COOKIE}=`.length);
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    const forged = [
      flip(value, value.length - 5),
      flip(value, value.lastIndexOf('.') - 3),
      value.slice(0, -10),
      value.split('.').slice(0, 4).join('.'),
      'garbage',
      'eyJhbGciOiJub25lIn0.eyJzaWQiOiJ4IiwidXNlciI6ImFsaWNlIn0.',
      'x'.repeat(5000),
      '',
      '%ZZ%00',
    ];
    for (const cookie of forged) {
      const res = await get('/private/', { cookie: `${COOKIE}=${cookie}` });
      expect(res.status, cookie.slice(0, 40)).toBe(302);
    }
    expect((await get('/private/', { cookie: session! })).status).toBe(200);
  });

  it('starts a new session at login and ends the one the browser carried (no fixation)', async () => {
    const first = await login('alice', 'alice-pw');
    const second = await login('carol', 'carol-pw', {}, first.session);
    expect(second.session).not.toBe(first.session);
    expect((await get('/private/', { cookie: first.session! })).status).toBe(302);
    expect((await get('/private/', { cookie: second.session! })).status).toBe(200);
  });

  it('answers 403 to a signed-in user whom Require refuses', async () => {
    const { session } = await login('alice', 'alice-pw');
    expect((await get('/private/bob-only/', { cookie: session! })).status).toBe(403);
    const bob = await login('bob', 'bob-pw');
    expect((await get('/private/bob-only/', { cookie: bob.session! })).status).toBe(200);
  });

  it('refuses bodies over AuthFormSize (413), non-form bodies (415), other methods (405), empty fields (400)', async () => {
    const { nonce, token } = await loginForm();
    const big = await post({ authts_csrf: token, httpd_username: 'alice', httpd_password: 'x'.repeat(1000) }, { nonce });
    expect(big.status).toBe(413);
    const json = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    const put = await fetch(`${base}/login`, { method: 'PUT', redirect: 'manual' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    const empty = await post({ authts_csrf: token, httpd_username: 'alice', httpd_password: '' }, { nonce });
    expect(empty.status).toBe(400);
    const control = await post({ authts_csrf: token, httpd_username: 'al\nice', httpd_password: 'alice-pw' }, { nonce });
    expect(control.status).toBe(400);
    const notUtf8 = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `authts_login_csrf=${nonce}` },
      body: Buffer.concat([Buffer.from(`authts_csrf=${token}&httpd_username=`), Buffer.from([0xff, 0xfe]), Buffer.from('&httpd_password=x')]),
    });
    expect(notUtf8.status).toBe(400);
  });

  it('bans a user name after AuthTsRegulationMaxRetries failures (429 + Retry-After), whether it exists or not', async () => {
    for (const user of ['bob', 'ghost']) {
      for (let i = 0; i < 3; i++) expect((await login(user, `wrong${i}`)).res.status).toBe(401);
      const banned = await login(user, user === 'bob' ? 'bob-pw' : 'x');
      expect(banned.res.status).toBe(429);
      expect(Number(banned.res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(banned.session).toBeUndefined();
    }
  });

  it('logout without a session still clears the cookie', async () => {
    const res = await get('/logout');
    expect(res.status).toBe(303);
    expect(setCookies(res).get(COOKIE)).toContain('Max-Age=0');
  });
});

describe('AuthType Form with the Redis session store', () => {
  let server: RunningServer;
  let base = '';
  const { get, login } = client(() => base);

  beforeAll(async () => {
    await writeFile(join(dir, 'redis.conf'), siteConf('redis:127.0.0.1:6379'));
    server = await startServer({ configFile: join(dir, 'redis.conf'), logger: silentLogger });
    base = `http://127.0.0.1:${server.addresses[0]!.port}`;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('logs in, reaches the page, logs out, and refuses the replayed cookie', async () => {
    // The client connects in the background: the first login may find it not yet connected.
    let first = await login('alice', 'alice-pw');
    for (let i = 0; i < 50 && first.res.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 50));
      first = await login('alice', 'alice-pw');
    }
    expect(first.res.status).toBe(303);
    expect((await get('/private/', { cookie: first.session! })).status).toBe(200);
    expect((await get('/logout', { cookie: first.session! })).status).toBe(303);
    expect((await get('/private/', { cookie: first.session! })).status).toBe(302);
  });

  it('a second server on the same Redis and passphrase sees the same sessions and the same logouts', async () => {
    const other = await startServer({ configFile: join(dir, 'redis.conf'), logger: silentLogger });
    try {
      const otherBase = `http://127.0.0.1:${other.addresses[0]!.port}`;
      const { session } = await login('bob', 'bob-pw');
      let seen = await fetch(`${otherBase}/private/`, { redirect: 'manual', headers: { cookie: session! } });
      for (let i = 0; i < 50 && seen.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 50));
        seen = await fetch(`${otherBase}/private/`, { redirect: 'manual', headers: { cookie: session! } });
      }
      expect(seen.status).toBe(200);
      expect((await fetch(`${otherBase}/logout`, { redirect: 'manual', headers: { cookie: session! } })).status).toBe(303);
      expect((await get('/private/', { cookie: session! })).status).toBe(302);
    } finally {
      await other.close();
    }
  });
});

describe('AuthType Form with an unreachable Redis session store: fail closed', () => {
  let server: RunningServer;
  let memory: RunningServer;
  let base = '';
  let memoryBase = '';
  const { get, login } = client(() => base);
  const viaMemory = client(() => memoryBase);

  beforeAll(async () => {
    // Port 1 on 127.0.0.1: nothing listens there.
    await writeFile(join(dir, 'down.conf'), siteConf('redis:127.0.0.1:1'));
    await writeFile(join(dir, 'memory2.conf'), siteConf('memory'));
    server = await startServer({ configFile: join(dir, 'down.conf'), logger: silentLogger });
    memory = await startServer({ configFile: join(dir, 'memory2.conf'), logger: silentLogger });
    base = `http://127.0.0.1:${server.addresses[0]!.port}`;
    memoryBase = `http://127.0.0.1:${memory.addresses[0]!.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await memory?.close();
  });

  it('a login with the right password is answered 503 and sets no session cookie', async () => {
    const { res, session } = await login('alice', 'alice-pw');
    expect(res.status).toBe(503);
    expect(session).toBeUndefined();
    expect(setCookies(res).has(COOKIE)).toBe(false);
  });

  it('a well-sealed cookie is answered 503, never 200', async () => {
    // Sealed with the same passphrase by a server whose store works.
    const { session } = await viaMemory.login('alice', 'alice-pw');
    expect(session).toBeDefined();
    const res = await get('/private/', { cookie: session! });
    expect(res.status).toBe(503);
  });

  it('logout cannot confirm the end of the session: 503, and the cookie is cleared anyway', async () => {
    const { session } = await viaMemory.login('alice', 'alice-pw');
    const res = await get('/logout', { cookie: session! });
    expect(res.status).toBe(503);
    expect(setCookies(res).get(COOKIE)).toContain('Max-Age=0');
  });
});

describe('AuthType Form configuration errors stop the start, naming file and line', () => {
  const cases: [string, string, string][] = [
    ['AuthFormFakeBasicAuth On', 'AuthFormFakeBasicAuth On is not supported', 'CONFIG_BAD_ARGUMENT'],
    ['AuthFormSize 0', 'AuthFormSize must be a whole number of bytes', 'CONFIG_BAD_ARGUMENT'],
    ['AuthFormUsername "user name"', 'is not a usable form field name', 'CONFIG_BAD_ARGUMENT'],
    ['AuthFormLoginRequiredLocation "%{BOGUS"', 'Cannot parse expression', 'CONFIG_BAD_EXPR'],
    ['AuthFormProvider nosuch', 'Unknown Authn provider: nosuch', 'CONFIG_UNKNOWN_PROVIDER'],
    ['SessionCookieName s expires=Tue', 'expires is not set here', 'CONFIG_BAD_ARGUMENT'],
    ['SessionCookieName s samesite=none', 'samesite=none needs secure', 'CONFIG_BAD_ARGUMENT'],
    ['SessionCookieName "bad name"', 'is not a cookie name', 'CONFIG_BAD_ARGUMENT'],
    ['SessionCryptoPassphrase env:AUTHTS_TEST_NO_SUCH_VARIABLE', 'is not set', 'CONFIG_CACHE_SECRET'],
    ['SessionMaxAge -1', 'SessionMaxAge must be a whole number of seconds', 'CONFIG_BAD_ARGUMENT'],
    ['AuthTsSessionIdleTimeout 0', 'AuthTsSessionIdleTimeout must be a whole number of seconds >= 1', 'CONFIG_BAD_ARGUMENT'],
  ];
  for (const [line, message, code] of cases) {
    it(line, async () => {
      const file = join(dir, `bad-${randomBytes(4).toString('hex')}.conf`);
      await writeFile(file, `Listen 127.0.0.1:0\n<Location /x>\n  ${line}\n</Location>\n`);
      const error = await startServer({ configFile: file, logger: silentLogger }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigErrors);
      const [first] = (error as ConfigErrors).errors;
      expect(first?.file).toBe(file);
      expect(first?.line).toBe(3);
      expect(first?.code).toBe(code);
      expect(first?.toString()).toContain(message);
    });
  }

  it('AuthTsSessionStore is refused inside a section and for an unknown store', async () => {
    const file = join(dir, 'store.conf');
    await writeFile(file, 'Listen 127.0.0.1:0\nAuthTsSessionStore shmcb\n<Location /x>\n  AuthTsSessionStore memory\n</Location>\n');
    const error = await startServer({ configFile: file, logger: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigErrors);
    expect((error as ConfigErrors).errors.map((e) => e.line)).toEqual([2, 4]);
  });
});
