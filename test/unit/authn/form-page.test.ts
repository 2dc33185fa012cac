/** The built-in login page: every value escaped, labels tied to fields, and a CSP that admits exactly its style. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { escapeHtml, PAGE_HEADERS, renderLoginPage, renderMessagePage } from '../../../src/authn/form-page.js';

const page = {
  realm: 'Members',
  action: '/login',
  usernameField: 'httpd_username',
  passwordField: 'httpd_password',
  locationField: 'httpd_location',
  returnTo: '/private/',
  csrfField: 'authts_csrf',
  csrfToken: 'tok',
};

describe('login page', () => {
  it('escapes & < > " \' everywhere a value goes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
    const hostile = '"><script>alert(1)</script>';
    const html = renderLoginPage({ ...page, realm: hostile, action: hostile, returnTo: hostile, username: hostile, error: hostile, csrfToken: hostile });
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('"><');
    // title, realm, error, action, token, return-to, user name
    expect(html.match(/&lt;script&gt;/g)).toHaveLength(7);
  });

  it('ties every visible field to a label, and the error to the form', () => {
    const html = renderLoginPage({ ...page, error: 'Nope.', username: 'alice' });
    for (const id of ['username', 'password']) {
      expect(html).toContain(`<label for="${id}">`);
      expect(html).toContain(`<input id="${id}"`);
    }
    expect(html).toContain('<p class="notice" role="alert" id="login-error">Nope.</p>');
    expect(html).toContain('aria-describedby="login-error"');
    // The password gets the focus when the user name is already filled in.
    expect(html).toMatch(/type="password" autocomplete="current-password" required autofocus>/);
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  });

  it('leaves out the realm line and the return-to field when there are none', () => {
    const html = renderLoginPage({ ...page, realm: undefined, returnTo: undefined });
    expect(html).not.toContain('class="realm"');
    expect(html).not.toContain('httpd_location');
    expect(html).toContain('<title>Sign in</title>');
  });

  it("the CSP admits the page's own style by hash and nothing else", () => {
    const html = renderMessagePage('Signed out', 'You are signed out.', { href: '/', text: 'Home' }, true);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const hash = createHash('sha256').update(style, 'utf8').digest('base64');
    expect(PAGE_HEADERS['Content-Security-Policy']).toBe(`default-src 'none'; style-src 'sha256-${hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`);
    expect(html).toContain('role="status"');
  });
});
