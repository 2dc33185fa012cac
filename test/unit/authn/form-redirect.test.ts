/** The return-to check of the login form: same-site paths only, against a list of open-redirect tricks. */
import { describe, expect, it } from 'vitest';
import { isHeaderSafe, MAX_RETURN_TO, safeReturnTo, withReturnTo } from '../../../src/authn/form-redirect.js';

const HOST = 'app.example:8443';

describe('safeReturnTo', () => {
  it.each([
    ['/', '/'],
    ['/private/', '/private/'],
    ['/private/report.txt?x=1&y=%2F', '/private/report.txt?x=1&y=%2F'],
    ['/a/b#section', '/a/b#section'],
    ['/a/../b', '/b'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    ['https://app.example:8443/private/?q=1', '/private/?q=1'],
    ['http://APP.example:8443/x', '/x'],
  ])('accepts %s as %s', (value, expected) => {
    expect(safeReturnTo(value, HOST)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['scheme-relative', '//evil.example/'],
    ['three slashes', '///evil.example/'],
    ['backslash after slash', '/\\evil.example'],
    ['two backslashes', '\\\\evil.example'],
    ['backslash inside', '/private\\..\\..\\evil'],
    ['tab that browsers drop', '/\t/evil.example'],
    ['newline that browsers drop', '/\n/evil.example'],
    ['CR LF header injection', '/private\r\nSet-Cookie: x=1'],
    ['NUL', '/private\u0000'],
    ['DEL', '/private\u007f'],
    ['space', '/private page'],
    ['non-ASCII', '/caf\u00e9'],
    ['another host', 'https://evil.example/'],
    ['same host name, other port', 'https://app.example/'],
    ['user info naming our host', 'https://app.example:8443@evil.example/'],
    ['user info on our host', 'https://user:pw@app.example:8443/'],
    ['javascript', 'javascript:alert(1)'],
    ['data', 'data:text/html,<script>alert(1)</script>'],
    ['relative path', 'private/x'],
    ['dot relative', './x'],
    ['ftp', 'ftp://app.example:8443/'],
    ['too long', `/${'a'.repeat(MAX_RETURN_TO)}`],
  ])('refuses %s', (_what, value) => {
    expect(safeReturnTo(value, HOST)).toBeUndefined();
  });

  it('refuses absolute URLs when the request named no host, and null/undefined', () => {
    expect(safeReturnTo('https://app.example:8443/x', undefined)).toBeUndefined();
    expect(safeReturnTo(null, HOST)).toBeUndefined();
    expect(safeReturnTo(undefined, HOST)).toBeUndefined();
  });

  it('never answers anything a browser would read as another host', () => {
    const tricky = ['/\\/evil', '/./\\evil', '/%09/evil', '/..//evil.example', '/.//evil.example'];
    for (const value of tricky) {
      const answer = safeReturnTo(value, HOST);
      if (answer !== undefined) {
        expect(answer.startsWith('/') && !answer.startsWith('//') && !answer.includes('\\')).toBe(true);
        expect(new URL(answer, 'https://app.example:8443').host).toBe(HOST);
      }
    }
  });
});

describe('withReturnTo', () => {
  it('adds the field to the query, encoded', () => {
    expect(withReturnTo('/login', 'httpd_location', '/private/?a=1&b=2')).toBe('/login?httpd_location=%2Fprivate%2F%3Fa%3D1%26b%3D2');
    expect(withReturnTo('/login?lang=en', 'httpd_location', '/p')).toBe('/login?lang=en&httpd_location=%2Fp');
    expect(withReturnTo('/login?', 'f', '/p')).toBe('/login?f=%2Fp');
    expect(withReturnTo('https://sso.example/login#top', 'f', '/p')).toBe('https://sso.example/login?f=%2Fp#top');
  });

  it('leaves a location that already names the field alone', () => {
    expect(withReturnTo('/login?httpd_location=/home', 'httpd_location', '/p')).toBe('/login?httpd_location=/home');
  });
});

describe('isHeaderSafe', () => {
  it('allows visible ASCII only', () => {
    expect(isHeaderSafe('/login?x=1')).toBe(true);
    expect(isHeaderSafe('/login\r\nX: y')).toBe(false);
    expect(isHeaderSafe('/a b')).toBe(false);
    expect(isHeaderSafe('')).toBe(false);
  });
});
