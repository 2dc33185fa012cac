/**
 * Parsing the `Authorization: Digest …` credentials of RFC 7616 §3.4, strictly: the auth-param
 * list of RFC 7235 §2.1 (`name = token / quoted-string`, comma separated, optional whitespace),
 * every required field present and well-formed, each name at most once. Anything else is a
 * malformed header (400), never a guess; a different scheme is a 401 (a new challenge).
 */

/** The fields of Digest credentials authts uses, unquoted. */
export interface DigestCredentials {
  /** The user name (from `username`, or the UTF-8 decoded `username*`). */
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  /** The `uri` field: the request-target the client says it hashed. */
  readonly uri: string;
  /** The `response` field (hex), as sent. */
  readonly response: string;
  /** `algorithm` as sent, or undefined (RFC 7616: absent means MD5). */
  readonly algorithm: string | undefined;
  readonly opaque: string | undefined;
  /** `qop` as sent (`auth`, `auth-int`), or undefined for an RFC 2069 style answer. */
  readonly qop: string | undefined;
  /** Present whenever `qop` is. */
  readonly cnonce: string | undefined;
  /** The `nc` field as sent (8 hex digits, hashed as is), present whenever `qop` is. */
  readonly nc: string | undefined;
  /** True when the client sent `userhash=true` (a hashed user name). */
  readonly userhash: boolean;
}

/** Credentials parsed from a Digest header, or why they could not be. */
export type ParsedDigest =
  | { readonly ok: true; readonly credentials: DigestCredentials }
  | { readonly ok: false; readonly status: 400 | 401; readonly reason: string };

/**
 * The longest `Authorization` value authts parses (bytes). Real Digest credentials are a few
 * hundred bytes; node:http already refuses headers over 16 KiB, adapters may allow more.
 */
export const MAX_DIGEST_HEADER = 4096;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
// Control characters can never be part of a field we use, and would corrupt logs.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const NC = /^[0-9a-fA-F]{8}$/;
const HEX = /^[0-9a-fA-F]+$/;

/**
 * Splits an RFC 7235 auth-param list into (lower-cased name, value) pairs, unquoting
 * quoted-strings (`\x` stands for `x`). Returns a reason string when the list is malformed.
 */
export function parseAuthParams(text: string): { name: string; value: string }[] | string {
  const params: { name: string; value: string }[] = [];
  let i = 0;
  const n = text.length;
  const skipSpace = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  while (i < n) {
    skipSpace();
    // Empty list elements (`a=1,,b=2`) are allowed by RFC 7230's #rule.
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (i >= n) break;
    const nameStart = i;
    while (i < n && TOKEN_CHAR.test(text[i]!)) i++;
    const name = text.slice(nameStart, i);
    if (name === '') return `unexpected character at offset ${i}`;
    skipSpace();
    if (text[i] !== '=') return `parameter ${name} has no value`;
    i++;
    skipSpace();
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i]!;
        if (c === '\\') {
          if (i + 1 >= n) break;
          value += text[i + 1];
          i += 2;
        } else if (c === '"') {
          closed = true;
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) return `unterminated quoted value of ${name}`;
    } else {
      const start = i;
      while (i < n && TOKEN_CHAR.test(text[i]!)) i++;
      value = text.slice(start, i);
      if (value === '') return `parameter ${name} has an empty or malformed value`;
    }
    params.push({ name: name.toLowerCase(), value });
    skipSpace();
    if (i < n && text[i] !== ',') return `garbage after the value of ${name}`;
  }
  return params;
}

/** Decodes RFC 8187 `UTF-8''percent-encoded` (the only charset RFC 7616 allows for `username*`). */
function decodeExtValue(value: string): string | undefined {
  const m = /^UTF-8'[^']*'(.*)$/i.exec(value);
  if (!m) return undefined;
  const encoded = m[1]!;
  if (!/^(?:[!#$&+.^_`|~0-9A-Za-z-]|%[0-9a-fA-F]{2})*$/.test(encoded)) return undefined;
  const bytes = Buffer.from(encoded.replace(/%([0-9a-fA-F]{2})/g, (_s, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  return utf8(bytes);
}

/** `bytes` as UTF-8, or undefined when they are not valid UTF-8. */
function utf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Parses the value of an `Authorization` header as Digest credentials. The scheme word is
 * case-insensitive; a different scheme answers 401 (the client gets a Digest challenge).
 * Everything else that is wrong is a 400: a header over {@link MAX_DIGEST_HEADER} bytes, a
 * malformed parameter list, a parameter given twice (RFC 7235: each name at most once; httpd
 * keeps the last), control characters, a missing `username`/`realm`/`nonce`/`uri`/`response`,
 * a `qop` without `cnonce` and `nc`, an `nc` that is not 8 hex digits, a `response` that is
 * not hex, `username` together with `username*`.
 *
 * Node gives header values as latin1 (one character per byte): a user name is taken as the
 * UTF-8 those bytes spell (400 when they are not UTF-8), as user files and databases hold it.
 *
 * @example
 * ```ts
 * const parsed = parseDigestHeader('Digest username="alice", realm="Private", nonce="n", uri="/", response="0a…"');
 * if (parsed.ok) console.log(parsed.credentials.username); // alice
 * ```
 */
export function parseDigestHeader(header: string): ParsedDigest {
  const bad = (reason: string): ParsedDigest => ({ ok: false, status: 400, reason });
  const space = header.search(/[ \t]/);
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== 'digest') {
    return { ok: false, status: 401, reason: 'client used wrong authentication scheme' };
  }
  if (header.length > MAX_DIGEST_HEADER) return bad(`credentials longer than ${MAX_DIGEST_HEADER} bytes`);
  if (/[^\u0000-\u00ff]/.test(header)) return bad('characters outside latin1 in the header');
  if (CONTROL.test(header)) return bad('control characters in the header');
  const list = parseAuthParams(header.slice(scheme.length));
  if (typeof list === 'string') return bad(`malformed Digest credentials: ${list}`);
  const fields = new Map<string, string>();
  for (const { name, value } of list) {
    if (fields.has(name)) return bad(`parameter ${name} given more than once`);
    fields.set(name, value);
  }
  const field = (name: string): string | undefined => fields.get(name);

  let username = field('username');
  const extended = field('username*');
  if (username !== undefined && extended !== undefined) return bad('both username and username* given');
  if (extended !== undefined) {
    username = decodeExtValue(extended);
    if (username === undefined) return bad('username* is not UTF-8\'\'percent-encoded UTF-8');
  } else if (username !== undefined) {
    const decoded = utf8(Buffer.from(username, 'latin1'));
    if (decoded === undefined) return bad('username is not UTF-8');
    username = decoded;
  }
  const realm = field('realm');
  const nonce = field('nonce');
  const uri = field('uri');
  const response = field('response');
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) {
    return bad('missing user, realm, nonce, uri or response in the credentials');
  }
  if (CONTROL.test(username)) return bad('control characters in the user name');
  if (!HEX.test(response)) return bad('response is not hex');
  const qop = field('qop');
  const cnonce = field('cnonce');
  const nc = field('nc');
  if (qop !== undefined && (cnonce === undefined || nc === undefined)) return bad('qop given without cnonce and nc');
  if (nc !== undefined && !NC.test(nc)) return bad('nc is not 8 hex digits');
  if (qop !== undefined && !TOKEN.test(qop)) return bad('qop is not a token');
  const userhash = field('userhash');
  return {
    ok: true,
    credentials: {
      username,
      realm,
      nonce,
      uri,
      response,
      algorithm: field('algorithm'),
      opaque: field('opaque'),
      qop,
      cnonce,
      nc,
      userhash: userhash !== undefined && userhash.toLowerCase() === 'true',
    },
  };
}
