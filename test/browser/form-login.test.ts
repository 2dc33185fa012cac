/**
 * `AuthType Form` in a real browser: Debian's headless Chromium driven by playwright-core, with
 * JavaScript off (the login page must work without it) and a fresh profile in a temp directory.
 * Visit a protected page → the login page → a wrong password → sign in → the page first asked
 * for → sign out → the protected page sends the browser to the login page again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { htpasswd, removeTempDirs, tempDir } from '../e2e/helpers.js';

/** Debian's chromium, with the flags a root, sandbox-less, offline CI needs. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('form login in headless Chromium (JavaScript off)', () => {
  let server: RunningServer;
  let context: BrowserContext;
  let page: Page;
  let base = '';

  beforeAll(async () => {
    const dir = await tempDir('form-browser');
    await mkdir(join(dir, 'htdocs', 'private'), { recursive: true });
    await writeFile(join(dir, 'htdocs', 'private', 'report.html'), '<!DOCTYPE html><title>Report</title><h1>The report</h1><a href="/logout">Sign out</a>\n');
    await writeFile(join(dir, 'users'), `${htpasswd('alice', 'alice-secret')}\n`);
    await writeFile(
      join(dir, 'site.conf'),
      [
        'Listen 127.0.0.1:0',
        'DocumentRoot htdocs',
        'Session On',
        '<Directory htdocs/private>',
        '  AuthType Form',
        '  AuthName "Members area"',
        '  AuthUserFile users',
        '  AuthFormLoginRequiredLocation /login',
        '  Require valid-user',
        '</Directory>',
        '<Location /login>',
        '  SetHandler form-login-handler',
        '  AuthName "Members area"',
        '  AuthUserFile users',
        '</Location>',
        '<Location /logout>',
        '  SetHandler form-logout-handler',
        '  AuthFormLogoutLocation /login',
        '</Location>',
        '',
      ].join('\n'),
    );
    server = await startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger });
    base = `http://127.0.0.1:${server.addresses[0]!.port}`;
    context = await chromium.launchPersistentContext(await tempDir('chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      javaScriptEnabled: false,
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await removeTempDirs();
  });

  it('sends the browser from a protected page to the login page', async () => {
    const res = await page.goto(`${base}/private/report.html`);
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(new URL(page.url()).searchParams.get('httpd_location')).toBe('/private/report.html');
    expect(await page.title()).toBe('Sign in: Members area');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    expect(await page.locator('.realm').textContent()).toBe('Members area');
  });

  it('shows an error for a wrong password, keeping the user name', async () => {
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('wrong');
    const [res] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(res?.status()).toBe(401);
    expect(await page.getByRole('alert').textContent()).toBe('The user name or password is incorrect.');
    expect(await page.getByLabel('User name').inputValue()).toBe('alice');
  });

  it('signs in and lands on the page first asked for, with an HttpOnly, SameSite=Lax cookie', async () => {
    await page.getByLabel('Password').fill('alice-secret');
    await Promise.all([page.waitForURL(`${base}/private/report.html`), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('The report');
    const cookie = (await context.cookies(base)).find((c) => c.name === 'authts_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false });
  });

  it('signs out, and the protected page sends the browser to the login page again', async () => {
    const kept = (await context.cookies(base)).find((c) => c.name === 'authts_session')!;
    await Promise.all([page.waitForURL(`${base}/login`), page.getByRole('link', { name: 'Sign out' }).click()]);
    expect((await context.cookies(base)).find((c) => c.name === 'authts_session')).toBeUndefined();
    await page.goto(`${base}/private/report.html`);
    expect(new URL(page.url()).pathname).toBe('/login');
    // The old cookie, put back, is refused too: the session is gone on the server.
    await context.addCookies([{ name: kept.name, value: kept.value, domain: kept.domain, path: kept.path, httpOnly: true, sameSite: 'Lax' }]);
    const res = await page.goto(`${base}/private/report.html`);
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/login');
  });
});
