/** CSRF protection of the login post: the double-submit token and the browser's own origin headers. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkCsrfToken, csrfToken, isCsrfNonce, newCsrfNonce, sameSiteRefusal } from '../../../src/authn/form-csrf.js';

const secret = randomBytes(32);

describe('CSRF token', () => {
  it('accepts the token made for the nonce, under the same secret', () => {
    const nonce = newCsrfNonce();
    expect(isCsrfNonce(nonce)).toBe(true);
    expect(checkCsrfToken(nonce, csrfToken(nonce, secret), secret)).toBe(true);
    expect(checkCsrfToken(nonce, csrfToken(nonce))).toBe(true);
  });

  it('refuses another nonce, another secret, a changed or missing token, a malformed nonce', () => {
    const nonce = newCsrfNonce();
    const token = csrfToken(nonce, secret);
    expect(checkCsrfToken(newCsrfNonce(), token, secret)).toBe(false);
    expect(checkCsrfToken(nonce, token, randomBytes(32))).toBe(false);
    expect(checkCsrfToken(nonce, `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, secret)).toBe(false);
    expect(checkCsrfToken(nonce, token.slice(0, -1), secret)).toBe(false);
    expect(checkCsrfToken(nonce, `${token}A`, secret)).toBe(false);
    expect(checkCsrfToken(nonce, '', secret)).toBe(false);
    expect(checkCsrfToken(nonce, null, secret)).toBe(false);
    expect(checkCsrfToken(undefined, token, secret)).toBe(false);
    expect(checkCsrfToken('short', csrfToken('short', secret), secret)).toBe(false);
    expect(checkCsrfToken(`${nonce}!`, csrfToken(`${nonce}!`, secret), secret)).toBe(false);
  });

  it('the token is not the nonce (a page never shows the cookie value)', () => {
    const nonce = newCsrfNonce();
    expect(csrfToken(nonce, secret)).not.toContain(nonce);
  });
});

describe('sameSiteRefusal', () => {
  const host = 'app.example:8443';
  it.each([
    [{}],
    [{ 'sec-fetch-site': 'same-origin' }],
    [{ 'sec-fetch-site': 'none' }],
    [{ origin: 'https://app.example:8443' }],
    [{ origin: 'http://APP.example:8443', 'sec-fetch-site': 'same-origin' }],
  ])('allows %j', (headers) => {
    expect(sameSiteRefusal(headers, host)).toBeUndefined();
  });

  it.each([
    [{ 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site is cross-site'],
    [{ 'sec-fetch-site': 'same-site' }, 'Sec-Fetch-Site is same-site'],
    [{ origin: 'https://evil.example' }, 'is another site'],
    [{ origin: 'https://app.example' }, 'is another site'],
    [{ origin: 'https://app.example.evil.example:8443' }, 'is another site'],
    [{ origin: 'https://app.example:8443.evil.example' }, 'Origin is not a URL'],
    [{ origin: 'null' }, 'Origin is not a URL'],
    [{ origin: 'not a url' }, 'Origin is not a URL'],
  ])('refuses %j', (headers, reason) => {
    expect(sameSiteRefusal(headers, host)).toContain(reason);
  });

  it('refuses any Origin when the request named no Host', () => {
    expect(sameSiteRefusal({ origin: 'https://app.example:8443' }, undefined)).toContain('another site');
  });
});
