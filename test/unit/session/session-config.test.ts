/**
 * The session directives at load: passphrases (literal, file:, env:, a passphrase file, with
 * rotation order), cookie attributes and their merge, lifetimes; and that every directive of
 * the session and form modules is documented in docs/directives.md, every code in errors.md.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authForm } from '../../../src/authn/form.js';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigErrors } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { builtinModules } from '../../../src/modules.js';
import { createAuthRequest } from '../../../src/request-state.js';
import { keyFromPassphrase } from '../../../src/session/cookie.js';
import { authTsSession } from '../../../src/session/module.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authts-session-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(text: string) {
  const config = await loadConfig({ text, textName: 'test.conf', modules: builtinModules(), logger: silentLogger });
  const settings = (path: string) => config.resolve({ path }).get(authTsSession);
  return { config, settings };
}

describe('session directives', () => {
  it('reads a passphrase file in order, skipping blanks and comments (first encrypts)', async () => {
    const file = join(dir, 'passphrases');
    await writeFile(file, '# current first\nthe-new-passphrase-0123456789\n\n  the-old-passphrase-0123456789  \n');
    const { config, settings } = await load(`SessionCryptoPassphraseFile ${file}\n<Location /a>\nSessionCryptoPassphrase "a-literal-passphrase-for-a"\n</Location>\n`);
    expect(settings('/x').keys).toEqual([keyFromPassphrase(Buffer.from('the-new-passphrase-0123456789')), keyFromPassphrase(Buffer.from('the-old-passphrase-0123456789'))]);
    expect(settings('/a/x').keys).toEqual([keyFromPassphrase(Buffer.from('a-literal-passphrase-for-a'))]);
    expect(config.warnings).toEqual([]);
    await config.close();
  });

  it('reads file: and env: passphrases, and warns about a short literal', async () => {
    const file = join(dir, 'one');
    await writeFile(file, 'from-a-file-0123456789abcdef\n');
    process.env['AUTHTS_TEST_SESSION_PASSPHRASE'] = 'from-the-environment-0123456789';
    try {
      const { config, settings } = await load(`SessionCryptoPassphrase file:${file} env:AUTHTS_TEST_SESSION_PASSPHRASE\n<Location /s>\nSessionCryptoPassphrase short\n</Location>\n`);
      expect(settings('/').keys).toEqual([keyFromPassphrase(Buffer.from('from-a-file-0123456789abcdef')), keyFromPassphrase(Buffer.from('from-the-environment-0123456789'))]);
      expect(config.warnings.map((w) => `${w.line}: ${w.message}`)).toEqual([expect.stringMatching(/^3: SessionCryptoPassphrase is 5 bytes/)]);
      await config.close();
    } finally {
      delete process.env['AUTHTS_TEST_SESSION_PASSPHRASE'];
    }
  });

  it('refuses exec:, a missing or empty passphrase file', async () => {
    const empty = join(dir, 'empty');
    await writeFile(empty, '# nothing\n\n');
    const error = await load(`SessionCryptoPassphrase exec:/bin/echo\nSessionCryptoPassphraseFile ${join(dir, 'missing')}\nSessionCryptoPassphraseFile ${empty}\n`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigErrors);
    expect((error as ConfigErrors).errors.map((e) => [e.line, e.code])).toEqual([
      [1, 'CONFIG_BAD_ARGUMENT'],
      [2, 'CONFIG_CACHE_SECRET'],
      [3, 'CONFIG_CACHE_SECRET'],
    ]);
  });

  it('parses cookie attributes; an inner SessionCookieName replaces name and attributes together', async () => {
    const { config, settings } = await load(
      'SessionCookieName outer "path=/app; domain=example.com; secure; httponly; samesite=Strict; version=1"\n<Location /in>\nSessionCookieName inner\n</Location>\n<Location /keep>\nSessionMaxAge 60\n</Location>\n',
    );
    expect(settings('/x')).toMatchObject({ cookieName: 'outer', cookie: { path: '/app', domain: 'example.com', secure: true, sameSite: 'strict' } });
    expect(settings('/in/x')).toMatchObject({ cookieName: 'inner', cookie: { path: '/', domain: undefined, secure: false, sameSite: 'lax' } });
    expect(settings('/keep/x')).toMatchObject({ cookieName: 'outer', maxAge: 60, cookie: { path: '/app' } });
    await config.close();
  });

  it('SessionMaxAge 0 means the default absolute limit, not none', async () => {
    const { config, settings } = await load('SessionMaxAge 0\n');
    expect(settings('/').maxAge).toBeUndefined();
    await config.close();
  });

  it('refuses bad cookie attributes', async () => {
    const error = await load('SessionCookieName a path=relative\nSessionCookieName b "domain=a b"\nSessionCookieName c partitioned\nSessionCookieName d max-age=5\n').catch((e: unknown) => e);
    expect((error as ConfigErrors).errors.map((e) => e.line)).toEqual([1, 2, 3, 4]);
  });
});

describe('documentation', () => {
  const directivesDoc = readFileSync(new URL('../../../docs/directives.md', import.meta.url), 'utf8');
  const errorsDoc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  for (const spec of [...(authForm.directives ?? []), ...(authTsSession.directives ?? [])]) {
    it(`docs/directives.md documents ${spec.name}`, () => {
      const start = directivesDoc.indexOf(`\n### ${spec.name}\n`);
      expect(start, spec.name).toBeGreaterThan(0);
      const entry = directivesDoc.slice(start, directivesDoc.indexOf('\n### ', start + 5));
      for (const field of ['Description', 'Syntax', 'Default', 'Context', 'Module']) expect(entry, `${spec.name} ${field}`).toContain(`- **${field}:**`);
      expect(entry).toContain(`\`${spec.syntax}\``);
      expect(directivesDoc).toContain(`| [\`${spec.name}\`](#${spec.name.toLowerCase()}) |`);
    });
  }
  it('docs/errors.md has a row for each session and form code', () => {
    for (const code of ['SESSION_UNAVAILABLE', 'SESSION_NOT_ENABLED', 'FORM_CSRF_REFUSED']) expect(errorsDoc).toContain(`| \`${code}\` |`);
  });
});

describe('session cookie attributes on the wire', () => {
  async function startCookie(conf: string, tls: boolean): Promise<string> {
    const { config } = await load(`Session On\n${conf}\n`);
    try {
      const req = createAuthRequest(config, config.resolve({ path: '/login' }), { method: 'POST', path: '/login', headers: {}, remoteAddress: '192.0.2.1', tls }, silentLogger);
      return await authTsSession.start(req, 'alice');
    } finally {
      await config.close();
    }
  }

  it('is Secure when the request came over TLS, and not over plain HTTP', async () => {
    expect(await startCookie('', true)).toMatch(/^authts_session=[\w.-]+; Max-Age=28800; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(await startCookie('', false)).toMatch(/^authts_session=[\w.-]+; Max-Age=28800; Path=\/; HttpOnly; SameSite=Lax$/);
  });

  it('is always Secure with the secure attribute (behind a TLS-terminating proxy), with the configured name, path, domain and SameSite', async () => {
    expect(await startCookie('SessionCookieName app "path=/app;domain=example.com;secure;samesite=strict"\nSessionMaxAge 600', false)).toMatch(
      /^app=[\w.-]+; Max-Age=600; Domain=example\.com; Path=\/app; HttpOnly; Secure; SameSite=Strict$/,
    );
  });

  it('clears with Max-Age=0 under the same name and attributes', async () => {
    const { config } = await load('SessionCookieName app "path=/app;secure"\n');
    const req = createAuthRequest(config, config.resolve({ path: '/x' }), { method: 'GET', path: '/x', headers: {}, remoteAddress: '192.0.2.1' }, silentLogger);
    expect(authTsSession.clearCookie(req)).toBe('app=; Max-Age=0; Path=/app; HttpOnly; Secure; SameSite=Lax');
    await config.close();
  });
});
