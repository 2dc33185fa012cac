#!/usr/bin/env node
// Takes the screenshots (each in a fresh browser context, JavaScript off) of the built-in login page shown in docs/form-login.md, with Debian's
// headless Chromium (playwright-core) against conf-examples/form-login on a free port:
//   docs/img/form-login-desktop.png        1280×800, light
//   docs/img/form-login-mobile.png         390×844 (a phone), light
//   docs/img/form-login-error-dark.png     1280×800, dark mode, after a wrong password
// Run after `npm run build`:  node scripts/form-login-screenshots.mjs
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { silentLogger } from '../dist/log.js';
import { startServer } from '../dist/server/serve.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(repo, 'docs', 'img');
const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

await mkdir(out, { recursive: true });
const server = await startServer({
  configFile: join(repo, 'conf-examples', 'form-login', 'site.conf'),
  logger: silentLogger,
  listen: [{ host: '127.0.0.1', port: 0 }],
});
const base = `http://127.0.0.1:${server.addresses[0].port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args });
try {
  const shots = [
    { file: 'form-login-desktop.png', viewport: { width: 1280, height: 800 }, colorScheme: 'light', scale: 1 },
    { file: 'form-login-mobile.png', viewport: { width: 390, height: 844 }, colorScheme: 'light', scale: 2 },
    { file: 'form-login-error-dark.png', viewport: { width: 1280, height: 800 }, colorScheme: 'dark', scale: 1, wrong: true },
  ];
  for (const shot of shots) {
    const context = await browser.newContext({ viewport: shot.viewport, deviceScaleFactor: shot.scale, colorScheme: shot.colorScheme, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${base}/private/`);
    if (shot.wrong) {
      await page.getByLabel('User name').fill('alice');
      await page.getByLabel('Password').fill('not-her-password');
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
    }
    await page.screenshot({ path: join(out, shot.file) });
    await context.close();
    console.log(`wrote docs/img/${shot.file}`);
  }
} finally {
  await browser.close();
  await server.close();
}
