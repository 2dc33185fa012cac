/**
 * The URL and filesystem side of `authts serve`: httpd 2.4's request-target parsing and path
 * normalization (`ap_parse_uri`, `ap_normalize_path`, `ap_unescape_url` with
 * `AllowEncodedSlashes Off` and `MergeSlashes On`), and the mapping of a normalized path onto a
 * DocumentRoot with every symlink resolved, so `<Directory>` sections see the real path.
 *
 * The outcomes were checked against Apache/2.4.71 with raw requests; see
 * test/unit/server/paths.test.ts for the recorded table.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

import { AuthTsError } from '../errors.js';
import { openReal, type OpenedFile } from './open-file.js';

/**
 * What {@link normalizeRequestTarget} answers.
 *
 * @example
 * ```ts
 * const t: NormalizedTarget = normalizeRequestTarget('/a/../b?x');
 * if (!t.ok) res.writeHead(t.status).end(); // 400 or 404, before any auth phase, as httpd
 * ```
 */
export type NormalizedTarget =
  | {
      readonly ok: true;
      /** Percent-decoded, dot segments resolved, `//` merged; always starts with `/`. */
      readonly path: string;
      /** Everything after the first `?`, as received ('' when there is none). */
      readonly query: string;
    }
  | {
      readonly ok: false;
      /** 400 for a malformed target, 404 for an encoded `/` or NUL (as httpd). */
      readonly status: 400 | 404;
      /** A short, log-safe description of what is wrong. */
      readonly reason: string;
    };

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function isHex(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66)
  );
}

/** RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~" (httpd's T_URI_UNRESERVED). */
function isUnreserved(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x2d ||
    code === 0x2e ||
    code === 0x5f ||
    code === 0x7e
  );
}

function bad(status: 400 | 404, reason: string): NormalizedTarget {
  return { ok: false, status, reason };
}

/**
 * Splits an absolute-form target (`http://host:port/path`) into its path, as `apr_uri_parse`
 * does for httpd; returns a reason string when httpd would answer 400.
 */
function pathOfAbsoluteForm(scheme: string, rest: string): { path: string } | { reason: string } {
  const lower = scheme.toLowerCase();
  if (lower !== 'http' && lower !== 'https') {
    return { reason: `request-target scheme ${lower} is not http or https` };
  }
  let remainder = rest;
  if (remainder.startsWith('//')) {
    const end = remainder.indexOf('/', 2);
    const authority = end < 0 ? remainder.slice(2) : remainder.slice(2, end);
    remainder = end < 0 ? '' : remainder.slice(end);
    if (authority.includes('@')) {
      return { reason: 'request-target must not contain a username/password' };
    }
    let port: string | undefined;
    if (authority.startsWith('[')) {
      const close = authority.indexOf(']');
      if (close < 0) return { reason: 'request-target has an unterminated IPv6 literal' };
      const after = authority.slice(close + 1);
      if (after !== '' && !after.startsWith(':')) {
        return { reason: 'request-target has junk after an IPv6 literal' };
      }
      port = after === '' ? undefined : after.slice(1);
    } else {
      const colon = authority.indexOf(':');
      port = colon < 0 ? undefined : authority.slice(colon + 1);
    }
    if (port !== undefined && !/^[0-9]*$/.test(port)) {
      return { reason: 'request-target has a non-numeric port' };
    }
  }
  // httpd: an absolute-form target without a path means "/".
  if (remainder === '') return { path: '/' };
  if (!remainder.startsWith('/')) return { reason: 'request-target path is not absolute' };
  return { path: remainder };
}

/**
 * Parses and normalizes an HTTP request-target exactly as httpd 2.4 does before it maps a URL
 * to a file or matches `<Location>` sections.
 *
 * - `target` is the wire form, one character per byte, as Node gives it in `req.url` (and in
 *   header values such as `X-Forwarded-Uri`): characters U+0080..U+00FF are bytes, anything
 *   above U+00FF is refused with 400.
 * - The query is split off at the first `?` and returned as received (httpd does not check it).
 * - Origin form (`/path`) and absolute form (`http://host/path`, `https://…`) are accepted;
 *   `*`, relative paths and other schemes are 400; an empty path is `/`.
 * - Control characters, spaces, a `#` anywhere (httpd: "URI must not contain a fragment"),
 *   userinfo in an absolute-form target, a bad `%` escape, and a `..` that climbs above `/`
 *   (also when spelled `%2e%2e`, `.%2e`, …) are 400.
 * - An encoded `/` (`%2f`, `%2F`) or NUL (`%00`) that survives normalization is 404, as with
 *   httpd's `AllowEncodedSlashes Off`.
 * - Percent-decoded bytes must be UTF-8; other bytes can name no file through Node's string
 *   APIs, so they are 404 (httpd would look the bytes up and answer 404 unless they exist).
 *
 * The order of the steps is httpd's: `ap_normalize_path` first decodes only unreserved escapes
 * (so `%2e` is a dot, `%2f` is not a slash) and resolves `.`/`..` and `//`; `ap_unescape_url`
 * then decodes the rest. So `/%2f/..` is `/`, while `/a/..%2f` is 404.
 *
 * @example
 * ```ts
 * normalizeRequestTarget('/a/./b/../c//d?x=1');
 * // → { ok: true, path: '/a/c/d', query: 'x=1' }
 * normalizeRequestTarget('/%2e%2e/etc/passwd');
 * // → { ok: false, status: 400, reason: 'path climbs above the root' }
 * normalizeRequestTarget('/a%2fb');
 * // → { ok: false, status: 404, reason: 'encoded "/" in path (AllowEncodedSlashes Off)' }
 * ```
 */
export function normalizeRequestTarget(target: string): NormalizedTarget {
  if (typeof target !== 'string') {
    throw new TypeError('normalizeRequestTarget: target must be a string');
  }
  // Request-line checks (httpd's HttpProtocolOptions Strict): no CTL, no whitespace.
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return bad(400, 'control character or whitespace in request-target');
    if (code > 0xff) return bad(400, 'request-target is not in wire form (character above U+00FF)');
  }
  if (target.includes('#')) return bad(400, 'request-target must not contain a fragment');

  const qmark = target.indexOf('?');
  const beforeQuery = qmark < 0 ? target : target.slice(0, qmark);
  const query = qmark < 0 ? '' : target.slice(qmark + 1);

  let rawPath: string;
  if (beforeQuery.startsWith('/')) {
    rawPath = beforeQuery;
  } else if (beforeQuery === '') {
    rawPath = '/';
  } else if (beforeQuery === '*') {
    return bad(400, 'asterisk-form request-target ("OPTIONS *" is answered by the server)');
  } else {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(beforeQuery);
    if (!scheme) return bad(400, 'request-target path is not absolute');
    const parsed = pathOfAbsoluteForm(scheme[1] ?? '', beforeQuery.slice(scheme[0].length));
    if ('reason' in parsed) return bad(400, parsed.reason);
    rawPath = parsed.path;
  }

  // ap_normalize_path, step 1: every % must start a valid escape; unreserved escapes are decoded.
  let partly = '';
  let badEscape = false;
  for (let i = 0; i < rawPath.length; i++) {
    const ch = rawPath[i] ?? '';
    if (ch !== '%') {
      partly += ch;
      continue;
    }
    const h1 = rawPath.charCodeAt(i + 1);
    const h2 = rawPath.charCodeAt(i + 2);
    if (!isHex(h1) || !isHex(h2)) {
      badEscape = true;
      partly += ch;
      continue;
    }
    const value = Number.parseInt(rawPath.slice(i + 1, i + 3), 16);
    partly += isUnreserved(value) ? String.fromCharCode(value) : rawPath.slice(i, i + 3);
    i += 2;
  }
  if (badEscape) return bad(400, 'bad percent-escape in path');

  // ap_normalize_path, step 2: drop "." segments, pop on "..", merge "//" (MergeSlashes On).
  const segments = partly.slice(1).split('/');
  const out: string[] = [];
  let trailingSlash = false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? '';
    const last = i === segments.length - 1;
    if (segment === '' || segment === '.') {
      trailingSlash = last;
      continue;
    }
    if (segment === '..') {
      if (out.length === 0) return bad(400, 'path climbs above the root');
      out.pop();
      trailingSlash = last;
      continue;
    }
    out.push(segment);
    trailingSlash = false;
  }
  const normalized = `/${out.join('/')}${trailingSlash && out.length > 0 ? '/' : ''}`;

  // ap_unescape_url: decode what is left; an encoded "/" or NUL is 404.
  const bytes: number[] = [];
  for (let i = 0; i < normalized.length; i++) {
    const code = normalized.charCodeAt(i);
    if (code !== 0x25) {
      bytes.push(code);
      continue;
    }
    const value = Number.parseInt(normalized.slice(i + 1, i + 3), 16);
    if (value === 0x2f) return bad(404, 'encoded "/" in path (AllowEncodedSlashes Off)');
    if (value === 0) return bad(404, 'encoded NUL in path');
    bytes.push(value);
    i += 2;
  }
  let decoded: string;
  try {
    decoded = UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return bad(404, 'path is not valid UTF-8');
  }
  return { ok: true, path: decoded, query };
}

/**
 * What {@link mapToFilesystem} answers.
 *
 * @example
 * ```ts
 * const m: FilesystemMapping = await mapToFilesystem('/srv/www', '/pub/link.txt');
 * // { filename: '/srv/www/private/secret.txt', exists: true, isDirectory: false, realpathEscapesRoot: false }
 * ```
 */
export interface FilesystemMapping {
  /**
   * The real path of the mapped path, what `<Directory>` and `<Files>` sections match on. For
   * a path that does not exist it ends where httpd's directory walk ends: at the first missing
   * component, appended to the real path of the existing directory above it, or at a file met
   * on the way (`/file.txt/more`); what follows is path info, which no section sees.
   */
  readonly filename: string;
  /** What follows `filename` in a path that does not exist (`/x.txt` of `/ghost/x.txt`), or `''`. */
  readonly pathInfo: string;
  /**
   * True when the whole path exists; a path with a trailing slash exists only when it names a
   * directory (`/file.txt/` does not exist, as on Linux and in httpd).
   */
  readonly exists: boolean;
  /** True when the whole path exists and is a directory (after following symlinks). */
  readonly isDirectory: boolean;
  /** True when `filename` is not the real DocumentRoot nor under it (a symlink led outside). */
  readonly realpathEscapesRoot: boolean;
}

function isInside(root: string, candidate: string): boolean {
  if (candidate === root) return true;
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return candidate.startsWith(prefix);
}

/**
 * The real path of a DocumentRoot, resolved once per configuration (serve.ts) instead of per
 * request. Throws `AuthTsError` `FILE_UNREADABLE` when it cannot be resolved.
 */
export function resolveDocumentRoot(documentRoot: string): string {
  try {
    return realpathSync.native(documentRoot);
  } catch (error) {
    throw new AuthTsError('FILE_UNREADABLE', `DocumentRoot ${documentRoot} cannot be resolved`, { cause: error });
  }
}

/**
 * Maps a path from {@link normalizeRequestTarget} onto `documentRoot` and resolves every
 * symlink with `realpath(3)`, so that no spelling of a path (symlink, `..`, `%2e`, `//`) reaches
 * a file without being seen as its real path. For a path that does not exist, the longest
 * existing prefix is resolved and the first missing component appended: `/pub/link/new.txt`,
 * with `pub/link` a symlink to `/srv/private`, maps to `/srv/private/new.txt`, and
 * `/pub/ghost/x.txt` to `/srv/www/pub/ghost` (as httpd, whose `<Directory>` sections never
 * apply to a directory that is not there).
 *
 * Deviation from httpd (which matches `<Directory>` on the lexical DocumentRoot + URL path and
 * only checks symlinks against `Options FollowSymLinks`): authts matches on the real path, so a
 * symlink can never carry a request out of a protected directory's sections.
 *
 * `realRoot` is the DocumentRoot's real path from {@link resolveDocumentRoot}, computed once
 * per configuration. `authts serve` uses {@link openMapped}, which also keeps the file open.
 *
 * Linux semantics apply: names are case-sensitive and a trailing dot is part of the name
 * (`/x.` is the file `x.`, never `x`).
 *
 * Throws `TypeError` when `path` is not a normalized absolute path, and an `AuthTsError`
 * (`FILE_UNREADABLE`) when the DocumentRoot itself cannot be resolved.
 *
 * @example
 * ```ts
 * const target = normalizeRequestTarget(req.url ?? '/');
 * if (target.ok) {
 *   const m = await mapToFilesystem('/srv/www', target.path);
 *   // m.filename → '/srv/www/docs/index.html', m.exists → true, m.isDirectory → false
 * }
 * ```
 */
export async function mapToFilesystem(
  documentRoot: string,
  urlPath: string,
  realRoot?: string,
): Promise<FilesystemMapping> {
  if (typeof documentRoot !== 'string' || documentRoot === '') {
    throw new TypeError('mapToFilesystem: documentRoot must be a non-empty string');
  }
  const { file, ...mapping } = openMapped(urlPath, realRoot ?? resolveDocumentRoot(documentRoot));
  file?.close();
  return mapping;
}

/** What {@link openMapped} answers: the mapping, and the file it names, opened. */
export interface OpenedMapping extends FilesystemMapping {
  /**
   * The file or directory itself when `exists` and it could be opened (an unreadable file
   * exists but is not opened); `filename` is its real path. The caller must `close()` it.
   */
  readonly file: OpenedFile | undefined;
}

/**
 * {@link mapToFilesystem} for `authts serve`: maps `urlPath` under the real DocumentRoot
 * `realRoot` and opens what it names, so that the bytes later served come from the very file
 * whose real path the sections were matched on (a symlink swapped in meanwhile changes
 * nothing). Synchronous: on a local filesystem these calls take microseconds, less than one
 * round trip through libuv's thread pool (docs/performance.md).
 *
 * @example
 * ```ts
 * const mapped = openMapped('/pub/file.txt', resolveDocumentRoot('/srv/www'));
 * try {
 *   // decide on mapped.filename, serve from mapped.file
 * } finally {
 *   mapped.file?.close();
 * }
 * ```
 */
export function openMapped(urlPath: string, realRoot: string): OpenedMapping {
  if (typeof urlPath !== 'string' || !urlPath.startsWith('/')) {
    throw new TypeError('mapToFilesystem: path must be a normalized path starting with "/"');
  }
  const segments = urlPath.split('/').filter((s) => s !== '');
  for (const segment of segments) {
    if (segment === '.' || segment === '..' || segment.includes('\0')) {
      throw new TypeError('mapToFilesystem: path must be normalized (no "." or ".." segments, no NUL)');
    }
  }
  const trailingSlash = urlPath.endsWith('/') && segments.length > 0;

  const opened = openReal(segments.length > 0 ? path.join(realRoot, ...segments) : realRoot);
  if (typeof opened !== 'string') {
    const isDirectory = opened.stats.isDirectory();
    // "/file.txt/" does not exist, as on Linux and in httpd.
    const exists = !trailingSlash || isDirectory;
    if (!exists) opened.close();
    return {
      filename: opened.realPath,
      pathInfo: '',
      exists,
      isDirectory: exists && isDirectory,
      realpathEscapesRoot: !isInside(realRoot, opened.realPath),
      file: exists ? opened : undefined,
    };
  }

  // Not openable (missing, unreadable, below a file…): the longest prefix that resolves.
  // Whatever error stops a prefix (ENOENT, ENOTDIR, EACCES, ELOOP) also stops this process
  // from opening anything below it, so appending the rest lexically cannot name a reachable
  // file under some other real directory.
  let resolved = segments.length;
  let base = realRoot;
  for (; resolved > 0; resolved--) {
    try {
      base = realpathSync.native(path.join(realRoot, ...segments.slice(0, resolved)));
      break;
    } catch {
      // try the parent
    }
  }
  const rest = segments.slice(resolved);
  // Undefined when it vanished between realpath and stat: not there.
  const info = statSync(base, { throwIfNoEntry: false });
  // httpd's directory walk stops at the first component that is missing (or at a file): the
  // sections see the path up to there, the rest is path info.
  const intoDirectory = rest.length > 0 && info?.isDirectory() !== false;
  const filename = intoDirectory ? path.join(base, rest[0]!) : base;
  const after = intoDirectory ? rest.slice(1) : rest;
  const pathInfo = after.length > 0 ? `/${after.join('/')}` : '';

  let exists = false;
  let isDirectory = false;
  if (rest.length === 0 && info) {
    isDirectory = info.isDirectory();
    exists = !trailingSlash || isDirectory;
  }
  return {
    filename,
    pathInfo,
    exists,
    isDirectory: exists && isDirectory,
    realpathEscapesRoot: !isInside(realRoot, filename),
    file: undefined,
  };
}
