/**
 * The string functions of ap_expr that do not read the request: `tolower`, `toupper`, `escape`,
 * `unescape`, `base64`, `unbase64`, `md5`, `sha1`, `ldap`. Each returns what httpd 2.4 returns
 * (checked against Apache/2.4.71); where httpd works on bytes, authts works on the UTF-8 bytes
 * of the string and decodes results as UTF-8.
 */
import { createHash } from 'node:crypto';

/** ASCII-only lower-casing, as `ap_str_tolower` in the C locale. @example `asciiLower('ÉA')` → `'Éa'` */
export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/** ASCII-only upper-casing, as `ap_str_toupper`. @example `asciiUpper('éa')` → `'éA'` */
export function asciiUpper(s: string): string {
  return /[a-z]/.test(s) ? s.replace(/[a-z]+/g, (m) => m.toUpperCase()) : s;
}

const HEX = '0123456789abcdef';

/** Characters `ap_escape_uri` leaves alone (APR's `T_OS_ESCAPE_PATH` complement). */
const URI_SAFE = /^[A-Za-z0-9$\-_.+!*'(),:;@&=/~]*$/;

/**
 * `escape()`: `ap_escape_uri` — percent-encodes every byte outside the path-safe set, in lower-case hex.
 * @example `escapeUri('a b?')` → `'a%20b%3f'`
 */
export function escapeUri(s: string): string {
  if (URI_SAFE.test(s)) return s;
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && URI_SAFE.test(ch) ? ch : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/**
 * `unescape()`: `ap_unescape_url_keep2f` — decodes `%XX`, keeps `%2F`/`%2f` as written, and
 * answers '' for a malformed escape or an encoded NUL (as httpd does when the call fails).
 * @example `unescapeUrl('a%20b%2f')` → `'a b%2f'`; `unescapeUrl('%zz')` → `''`
 */
export function unescapeUrl(s: string): string {
  let at = s.indexOf('%');
  if (at < 0) return s;
  const parts: Buffer[] = [];
  let last = 0;
  while (at >= 0) {
    if (at > last) parts.push(Buffer.from(s.slice(last, at), 'utf8'));
    const hex = s.slice(at + 1, at + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return '';
    const value = parseInt(hex, 16);
    if (value === 0) return '';
    parts.push(value === 0x2f ? Buffer.from(`%${hex}`, 'latin1') : Buffer.of(value));
    last = at + 3;
    at = s.indexOf('%', last);
  }
  parts.push(Buffer.from(s.slice(last), 'utf8'));
  return Buffer.concat(parts).toString('utf8');
}

/** `base64()`: standard alphabet with padding, of the UTF-8 bytes. @example `base64Encode('a')` → `'YQ=='` */
export function base64Encode(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

/**
 * `unbase64()`: decodes the leading run of base64 characters (decoding stops at the first other
 * character, `=` included) and ends the result at a decoded NUL, as `ap_pbase64decode` does.
 * @example `base64Decode('aGV sbG8=')` → `'he'`
 */
export function base64Decode(s: string): string {
  const run = /^[A-Za-z0-9+/]*/.exec(s)![0];
  const bytes = Buffer.from(run, 'base64');
  const nul = bytes.indexOf(0);
  return (nul < 0 ? bytes : bytes.subarray(0, nul)).toString('utf8');
}

/** `md5()`: lower-case hex MD5 of the UTF-8 bytes. @example `md5Hex('x')` → `'9dd4e461268c8034f5c8564e155c67a6'` */
export function md5Hex(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}

/** `sha1()`: lower-case hex SHA-1 of the UTF-8 bytes. @example `sha1Hex('x')` → `'11f6ad8ec52a2984abaafd7c3b516503785c2072'` */
export function sha1Hex(s: string): string {
  return createHash('sha1').update(s, 'utf8').digest('hex');
}

const LDAP_SPECIAL = '"()*+,;<>\\';

/**
 * `ldap()`: `apr_escape_ldap(…, APR_ESCAPE_LDAP_ALL)` — escapes what RFC 4514 DNs and RFC 4515
 * filters need (`" ( ) * + , ; < > \`), control characters and non-ASCII bytes as `\hh`.
 * @example `ldapEscape('a*(b)')` → `'a\2a\28b\29'`
 */
export function ldapEscape(s: string): string {
  if (/^[\x20-\x7e]*$/.test(s) && !/["()*+,;<>\\]/.test(s)) return s;
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x20 || byte >= 0x7f || LDAP_SPECIAL.includes(ch) ? `\\${HEX[byte >> 4]}${HEX[byte & 15]}` : ch;
  }
  return out;
}
