/**
 * Static files for `authts serve`, answering as httpd 2.4's core `default_handler`, mod_dir and
 * mod_autoindex (without `Options Indexes`) do. ETags come from `etag`, conditional requests
 * from `fresh`, ranges from `range-parser` and types from `mime-types`: the libraries the
 * `send` package is made of, applied in send's order (test/unit/server/static-send.test.ts
 * checks the answers against send's own). The bytes are read from the descriptor that the
 * access decision was made about (see ./open-file.ts): small files synchronously, larger ones
 * streamed. send itself stats, opens, reads and closes by name through the thread pool, which
 * cost more than half of an unprotected request here (docs/performance.md).
 *
 * Checked against Apache/2.4.71 (see test/unit/server/static.test.ts):
 *
 * | request | answer |
 * | --- | --- |
 * | directory without trailing slash, any method | 301, `Location: http://host/dir/?query` |
 * | directory with slash | first `DirectoryIndex` file that is a regular file |
 * | … and none: GET/HEAD | 403 |
 * | … and none: POST | 404 |
 * | unknown method (`PURGE`, `SEARCH`, …) | 501 + `Allow` |
 * | `OPTIONS` (file, missing file or directory) | 200 + `Allow`, empty body |
 * | other known methods (`PUT`, `DELETE`, `PATCH`, WebDAV) | 405 + `Allow` |
 * | `GET`, `HEAD`, `POST` on a file | 200 (httpd serves POST like GET) |
 * | missing file, `/file.txt/`, `/file.txt/extra` | 404 |
 * | unreadable file | 403 |
 *
 * Deviations: `TRACE` is 405 and absent from `Allow` (as httpd with `TraceEnable Off`); a file
 * of unknown type is sent as `application/octet-stream` (httpd sends no Content-Type); the ETag
 * is weak `W/"size-mtime"` as send's (httpd's is strong); there is no `Cache-Control`; a
 * multi-range request gets the whole file (200), as from send.
 */
import { createReadStream, readSync, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { finished } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TLSSocket } from 'node:tls';

import etag from 'etag';
import fresh from 'fresh';
import { contentType } from 'mime-types';
import parseRange from 'range-parser';

import { openInDirectory, openReal, type OpenedFile } from './open-file.js';

/**
 * A `DirectoryIndex` file found for a directory request, before it is served.
 *
 * @example
 * ```ts
 * // GET /docs/ with /srv/www/docs/index.html → /srv/shared/index.html (a symlink):
 * const candidate: DirectoryIndexCandidate = { filename: '/srv/shared/index.html', urlPath: '/docs/index.html' };
 * ```
 */
export interface DirectoryIndexCandidate {
  /** The real path of the index file (symlinks resolved). */
  readonly filename: string;
  /** The URL path of the index file: the directory's URL path plus the index name. */
  readonly urlPath: string;
}

/**
 * What the `authorizeIndex` hook decides for a {@link DirectoryIndexCandidate}:
 * `'serve'` it, `'skip'` to the next `DirectoryIndex` name, or `'handled'` when the hook has
 * already written the response. mod_dir passes a subrequest's redirect on, and its 401 only
 * when there is a single `DirectoryIndex` name; any other refusal means "try the next name".
 *
 * @example
 * ```ts
 * const decide = async (index: DirectoryIndexCandidate): Promise<DirectoryIndexDecision> =>
 *   (await allowed(index.filename)) ? 'serve' : 'skip';
 * ```
 */
export type DirectoryIndexDecision = 'serve' | 'skip' | 'handled';

/**
 * Options of {@link serveStatic}.
 *
 * @example
 * ```ts
 * const opts: ServeStaticOptions = {
 *   filename: '/srv/www/docs',
 *   urlPath: '/docs/',
 *   directoryIndex: ['index.html', 'index.htm'],
 * };
 * ```
 */
export interface ServeStaticOptions {
  /** The real path from `mapToFilesystem` (a stale one, whose realpath has changed, is 404). */
  readonly filename: string;
  /**
   * `filename`, already opened (`openMapped`'s `file`): served from this descriptor without
   * looking the name up again. The caller keeps ownership and closes it.
   */
  readonly file?: OpenedFile | undefined;
  /** The normalized URL path from `normalizeRequestTarget`; a trailing slash matters. */
  readonly urlPath: string;
  /** `DirectoryIndex` names, tried in order (httpd's default is `['index.html']`). */
  readonly directoryIndex: readonly string[];
  /**
   * Runs the access/authn/authz phases for an index file, as mod_dir's subrequest does in
   * httpd, so `<Files index.html>` and the index's real directory are honoured. Without it the
   * index is served on the authority of the directory request: the server pipeline must pass it.
   */
  readonly authorizeIndex?: (candidate: DirectoryIndexCandidate) => Promise<DirectoryIndexDecision>;
}

/** Methods httpd 2.4 registers (`ap_method_number_of`); others are 501, these are 405. */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND',
  'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'VERSION-CONTROL', 'CHECKOUT',
  'UNCHECKOUT', 'CHECKIN', 'UPDATE', 'LABEL', 'REPORT', 'MKWORKSPACE', 'MKACTIVITY',
  'BASELINE-CONTROL', 'MERGE',
]);

/** httpd's `Allow` for static files, without TRACE (see the deviations above). */
const ALLOW = 'HEAD,GET,POST,OPTIONS';

/**
 * Files up to this size are read with one synchronous `read` (microseconds from the page cache,
 * as nginx reads without aio); larger ones are streamed so that no request holds the loop long.
 */
const SYNC_READ_MAX = 64 * 1024;

const REASONS: Readonly<Record<number, readonly [title: string, text: string]>> = {
  400: ['Bad Request', '<p>Your browser sent a request that this server could not understand.<br />\n</p>'],
  403: ['Forbidden', "<p>You don't have permission to access this resource.</p>"],
  404: ['Not Found', '<p>The requested URL was not found on this server.</p>'],
  412: ['Precondition Failed', '<p>The precondition on the request for this URL evaluated to false.</p>'],
  416: [
    'Requested Range Not Satisfiable',
    '<p>None of the range-specifier values in the Range\nrequest-header field overlap the current extent\nof the selected resource.</p>',
  ],
  500: [
    'Internal Server Error',
    '<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>',
  ],
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** httpd's error document: same markup, iso-8859-1 as httpd labels it (the text is ASCII). */
function errorDocument(status: number, title: string, text: string): string {
  return (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n' +
    `<html><head>\n<title>${status} ${title}</title>\n</head><body>\n<h1>${title}</h1>\n${text}\n</body></html>\n`
  );
}

function done(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    // A client that goes away mid-response is not a failure of ours.
    finished(res, () => resolve());
  });
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): Promise<void> {
  const completed = done(res);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (body !== '') res.setHeader('Content-Type', 'text/html; charset=iso-8859-1');
  res.setHeader('Content-Length', Buffer.byteLength(body, 'latin1'));
  res.end(req.method === 'HEAD' ? undefined : body, 'latin1');
  await completed;
}

function respondError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>> = {},
): Promise<void> {
  const method = escapeHtml(req.method ?? '');
  let reason: readonly [string, string];
  if (status === 405) {
    reason = ['Method Not Allowed', `<p>The requested method ${method} is not allowed for this URL.</p>`];
  } else if (status === 501) {
    reason = ['Not Implemented', `<p>${method} not supported for current URL.<br />\n</p>`];
  } else {
    reason = REASONS[status] ?? REASONS[500] ?? ['Error', ''];
  }
  return respond(req, res, status, headers, errorDocument(status, reason[0], reason[1]));
}

/** `ap_escape_uri`: keep alphanumerics and `$-_.+!*'(),:;@&=/~`, escape the rest (lower-case hex). */
function escapeUri(urlPath: string): string {
  let out = '';
  for (const byte of Buffer.from(urlPath, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9$\-_.+!*'(),:;@&=/~]/.test(ch) ? ch : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

const HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::[0-9]{1,5})?$/;

/**
 * mod_dir's absolute Location: scheme, the host of an absolute-form target or else the Host
 * header (or else the local address), the escaped path, and the query as received.
 */
function directoryLocation(req: IncomingMessage, urlPath: string): string {
  const socket = req.socket as Partial<TLSSocket>;
  const scheme = socket.encrypted === true ? 'https' : 'http';
  const url = req.url ?? '';
  let host = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url)?.[1] ?? req.headers.host;
  if (host === undefined || !HOST_HEADER.test(host)) {
    const address = socket.localAddress ?? '127.0.0.1';
    host = `${address.includes(':') ? `[${address}]` : address}:${socket.localPort ?? 80}`;
  }
  const qmark = url.indexOf('?');
  const query = qmark < 0 ? '' : url.slice(qmark);
  return `${scheme}://${host}${escapeUri(urlPath)}/${query}`;
}

type Kind = 'file' | 'directory' | 'other' | 'missing' | 'unreadable';

function kindOfStats(stats: Stats): Kind {
  if (stats.isFile()) return 'file';
  return stats.isDirectory() ? 'directory' : 'other';
}

/**
 * Opens `filename` for a caller that did not: a path whose real path is not itself (a symlink
 * appeared since it was mapped, i.e. since the access decision) is missing.
 */
function openExact(filename: string): OpenedFile | 'missing' | 'unreadable' {
  const opened = openReal(filename);
  if (typeof opened === 'string') return opened === 'EACCES' || opened === 'EPERM' ? 'unreadable' : 'missing';
  if (opened.realPath !== path.resolve(filename)) {
    opened.close();
    return 'missing';
  }
  return opened;
}

/** A `DirectoryIndex` name usable inside the directory (httpd's absolute-URL form is not supported). */
function isRelativeName(name: string): boolean {
  return name !== '' && !name.startsWith('/') && !name.split('/').some((s) => s === '..' || s === '.');
}

/** The first `DirectoryIndex` file of `directory` that is a regular file and is allowed, opened. */
async function findIndex(
  directory: OpenedFile,
  urlPath: string,
  names: readonly string[],
  authorize: ServeStaticOptions['authorizeIndex'],
): Promise<OpenedFile | 'handled' | undefined> {
  for (const name of names) {
    if (!isRelativeName(name)) continue;
    const opened = openInDirectory(directory, name);
    if (typeof opened === 'string') continue;
    let keep = false;
    try {
      if (!opened.stats.isFile()) continue;
      const candidate: DirectoryIndexCandidate = { filename: opened.realPath, urlPath: urlPath + name };
      const decision = authorize ? await authorize(candidate) : 'serve';
      if (decision === 'handled') return 'handled';
      if (decision === 'serve') {
        keep = true;
        return opened;
      }
    } finally {
      if (!keep) opened.close();
    }
  }
  return undefined;
}

/** Comma- and space-separated tokens of a header (`If-Match`), as send splits them. */
function tokens(header: string): string[] {
  return header.split(/[ ,]+/).filter((token) => token !== '');
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** `If-Match` / `If-Unmodified-Since` fail (RFC 9110 §13.1.1–2, with send's weak comparison). */
function preconditionFails(req: IncomingMessage, tag: string, lastModified: string): boolean {
  const match = headerValue(req, 'if-match');
  if (match) {
    return match !== '*' && tokens(match).every((m) => m !== tag && m !== `W/${tag}` && `W/${m}` !== tag);
  }
  const unmodifiedSince = Date.parse(headerValue(req, 'if-unmodified-since') ?? '');
  if (!Number.isNaN(unmodifiedSince)) return Date.parse(lastModified) > unmodifiedSince;
  return false;
}

/** Whether `If-Range` (an ETag or a date) still names this version of the file. */
function rangeStillValid(req: IncomingMessage, tag: string, lastModified: string): boolean {
  const ifRange = headerValue(req, 'if-range');
  if (!ifRange) return true;
  if (ifRange.includes('"')) return ifRange.includes(tag);
  return Date.parse(lastModified) <= Date.parse(ifRange);
}

/** Reads `length` bytes at `position` with blocking reads; fewer when the file shrank. */
function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

/**
 * Sends an opened regular file: ETag, Last-Modified, Content-Type, conditional requests (412,
 * 304) and a single byte range (206, 416), in send's order. Resolves when the response is done.
 */
async function sendFile(req: IncomingMessage, res: ServerResponse, file: OpenedFile): Promise<void> {
  const { stats } = file;
  const tag = etag(stats);
  const lastModified = stats.mtime.toUTCString();
  const conditional =
    req.headers['if-match'] !== undefined ||
    req.headers['if-unmodified-since'] !== undefined ||
    req.headers['if-none-match'] !== undefined ||
    req.headers['if-modified-since'] !== undefined;
  if (conditional) {
    if (preconditionFails(req, tag, lastModified)) return respondError(req, res, 412);
    if (fresh(req.headers, { etag: tag, 'last-modified': lastModified })) {
      res.statusCode = 304;
      res.setHeader('Accept-Ranges', 'bytes');
      res.setHeader('ETag', tag);
      res.setHeader('Last-Modified', lastModified);
      const completed = done(res);
      res.end();
      return completed;
    }
  }

  let start = 0;
  let length = stats.size;
  let status = 200;
  let contentRange: string | undefined;
  const range = headerValue(req, 'range');
  if (range !== undefined && /^ *bytes=/.test(range)) {
    const ranges = rangeStillValid(req, tag, lastModified) ? parseRange(stats.size, range, { combine: true }) : -2;
    if (ranges === -1) return respondError(req, res, 416, { 'Content-Range': `bytes */${stats.size}` });
    // A malformed or multiple range is answered with the whole file, as send does.
    if (ranges !== -2 && ranges.length === 1) {
      const only = ranges[0]!;
      status = 206;
      start = only.start;
      length = only.end - only.start + 1;
      contentRange = `bytes ${only.start}-${only.end}/${stats.size}`;
    }
  }

  res.statusCode = status;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Last-Modified', lastModified);
  res.setHeader('ETag', tag);
  res.setHeader('Content-Type', contentType(path.extname(file.realPath)) || 'application/octet-stream');
  if (contentRange !== undefined) res.setHeader('Content-Range', contentRange);
  res.setHeader('Content-Length', length);
  const completed = done(res);
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return completed;
  }
  if (length <= SYNC_READ_MAX) {
    const body = readAt(file.fd, start, length);
    // The file shrank under us: what was promised cannot be sent; end the connection.
    if (body.length !== length) res.destroy(new Error('file changed while being read'));
    else res.end(body);
    return completed;
  }
  const stream = createReadStream('', { fd: file.fd, start, end: start + length - 1, autoClose: false });
  // A client going away (or a read error after the headers) destroys both; nothing to answer.
  await pipeline(stream, res).catch(() => undefined);
  return completed;
}

/**
 * Answers a request for a static file or directory under the DocumentRoot as httpd 2.4 does
 * (see the table at the top of this file), after the auth phases have allowed it. The file is
 * sent with `send` (ETag, Last-Modified, Range, HEAD, Content-Type, conditional requests),
 * given the absolute `filename`, so no path resolution other than ours applies. Dot files are
 * served, as httpd does. Resolves once the response has been written (or the client has gone).
 *
 * @example
 * ```ts
 * const target = normalizeRequestTarget(req.url ?? '/');
 * if (target.ok) {
 *   const mapped = await mapToFilesystem(root, target.path);
 *   // … access/authn/authz on mapped.filename …
 *   await serveStatic(req, res, {
 *     filename: mapped.filename,
 *     urlPath: target.path,
 *     directoryIndex: ['index.html'],
 *     authorizeIndex: async (index) => ((await runPhases(index)) === 'ok' ? 'serve' : 'skip'),
 *   });
 * }
 * ```
 */
export async function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  opts: ServeStaticOptions,
): Promise<void> {
  if (typeof opts?.filename !== 'string' || !path.isAbsolute(opts.filename)) {
    throw new TypeError('serveStatic: opts.filename must be an absolute path');
  }
  if (typeof opts.urlPath !== 'string' || !opts.urlPath.startsWith('/')) {
    throw new TypeError('serveStatic: opts.urlPath must be a normalized path starting with "/"');
  }
  if (!Array.isArray(opts.directoryIndex)) {
    throw new TypeError('serveStatic: opts.directoryIndex must be an array of file names');
  }
  const method = req.method ?? 'GET';
  // What this call opened itself (and so closes); a caller's `file` stays the caller's.
  const owned: OpenedFile[] = [];
  try {
    let file: OpenedFile | undefined = opts.file;
    let kind: Kind;
    if (file !== undefined) {
      kind = kindOfStats(file.stats);
    } else {
      const opened = openExact(opts.filename);
      if (typeof opened === 'string') {
        kind = opened;
      } else {
        owned.push(opened);
        file = opened;
        kind = kindOfStats(opened.stats);
      }
    }
    let trailingSlashOnFile = kind === 'file' && opts.urlPath.endsWith('/');

    // mod_dir runs in the fixups, before any handler: whatever the method.
    if (kind === 'directory' && file !== undefined) {
      if (!opts.urlPath.endsWith('/')) {
        const location = directoryLocation(req, opts.urlPath);
        return await respond(req, res, 301, { Location: location }, errorDocument(
          301,
          'Moved Permanently',
          `<p>The document has moved <a href="${escapeHtml(location)}">here</a>.</p>`,
        ));
      }
      const index = await findIndex(file, opts.urlPath, opts.directoryIndex, opts.authorizeIndex);
      if (index === 'handled') return;
      if (index !== undefined) {
        owned.push(index);
        file = index;
        kind = 'file';
        trailingSlashOnFile = false;
      } else if (method === 'GET' || method === 'HEAD') {
        // mod_autoindex without Options Indexes (AH01276).
        return await respondError(req, res, 403);
      }
    }

    // The core default_handler.
    if (!KNOWN_METHODS.has(method)) return await respondError(req, res, 501, { Allow: ALLOW });
    if (method === 'OPTIONS') return await respond(req, res, 200, { Allow: ALLOW }, '');
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      return await respondError(req, res, 405, { Allow: ALLOW });
    }
    if (kind === 'missing' || kind === 'directory' || trailingSlashOnFile) return await respondError(req, res, 404);
    if (kind === 'other' || kind === 'unreadable' || file === undefined) return await respondError(req, res, 403);
    return await sendFile(req, res, file);
  } finally {
    for (const opened of owned) opened.close();
  }
}
