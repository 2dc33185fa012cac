/**
 * Static files for `authts serve`, answering as httpd 2.4's core `default_handler`, mod_dir and
 * mod_autoindex (without `Options Indexes`) do. The bytes, ETag, Last-Modified, Range and
 * conditional requests come from the `send` package; this file decides what is served.
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
 * is send's weak `W/"size-mtime"` (httpd's is strong); there is no `Cache-Control`.
 */
import { realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { finished } from 'node:stream';
import type { TLSSocket } from 'node:tls';

import send from 'send';

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

/** Headers `send` may have set before it failed; removed before an error response. */
const SEND_HEADERS = [
  'accept-ranges', 'cache-control', 'content-length', 'content-range', 'content-type', 'etag',
  'last-modified',
] as const;

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

type Kind = 'file' | 'directory' | 'other' | 'missing';

/**
 * Stats `filename`; a path whose realpath is not itself (a symlink appeared since it was mapped,
 * i.e. since the access decision) is missing. Synchronous on purpose: it runs right before the
 * file is handed to `send`, and metadata calls are cheap next to a thread-pool round trip.
 */
function kindOf(filename: string): Kind {
  try {
    if (realpathSync.native(filename) !== path.resolve(filename)) return 'missing';
    const info = statSync(filename);
    if (info.isFile()) return 'file';
    return info.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'missing';
  }
}

/** A `DirectoryIndex` name usable inside the directory (httpd's absolute-URL form is not supported). */
function isRelativeName(name: string): boolean {
  return name !== '' && !name.startsWith('/') && !name.split('/').some((s) => s === '..' || s === '.');
}

async function findIndex(
  directory: string,
  urlPath: string,
  names: readonly string[],
  authorize: ServeStaticOptions['authorizeIndex'],
): Promise<DirectoryIndexCandidate | 'handled' | undefined> {
  for (const name of names) {
    if (!isRelativeName(name)) continue;
    let filename: string;
    try {
      filename = realpathSync.native(path.join(directory, name));
      if (!statSync(filename).isFile()) continue;
    } catch {
      continue;
    }
    const candidate: DirectoryIndexCandidate = { filename, urlPath: urlPath + name };
    const decision = authorize ? await authorize(candidate) : 'serve';
    if (decision === 'handled') return 'handled';
    if (decision === 'serve') return candidate;
  }
  return undefined;
}

/** Hands a regular file to `send`, mapping its failures to httpd's statuses. */
async function sendFile(req: IncomingMessage, res: ServerResponse, filename: string): Promise<void> {
  const completed = done(res);
  let failed: Promise<void> | undefined;
  // send percent-decodes the path it is given; escape "%" so the real name reaches fs untouched.
  const stream = send(req, filename.replaceAll('%', '%25'), {
    dotfiles: 'allow',
    index: false,
    extensions: false,
    cacheControl: false,
    etag: true,
    lastModified: true,
    acceptRanges: true,
  });
  stream.on('error', (error: Error & { status?: number; code?: string; headers?: Record<string, string> }) => {
    if (res.headersSent) {
      res.destroy(error);
      return;
    }
    for (const name of SEND_HEADERS) res.removeHeader(name);
    const status = error.code === 'EACCES' || error.code === 'EPERM' ? 403 : (error.status ?? 500);
    failed = respondError(req, res, status, error.headers ?? {});
  });
  stream.pipe(res);
  await completed;
  await failed;
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
  let filename = opts.filename;
  let kind = kindOf(filename);
  let trailingSlashOnFile = kind === 'file' && opts.urlPath.endsWith('/');

  // mod_dir runs in the fixups, before any handler: whatever the method.
  if (kind === 'directory') {
    if (!opts.urlPath.endsWith('/')) {
      const location = directoryLocation(req, opts.urlPath);
      return respond(req, res, 301, { Location: location }, errorDocument(
        301,
        'Moved Permanently',
        `<p>The document has moved <a href="${escapeHtml(location)}">here</a>.</p>`,
      ));
    }
    const index = await findIndex(filename, opts.urlPath, opts.directoryIndex, opts.authorizeIndex);
    if (index === 'handled') return;
    if (index !== undefined) {
      filename = index.filename;
      kind = 'file';
      trailingSlashOnFile = false;
    } else if (method === 'GET' || method === 'HEAD') {
      // mod_autoindex without Options Indexes (AH01276).
      return respondError(req, res, 403);
    }
  }

  // The core default_handler.
  if (!KNOWN_METHODS.has(method)) return respondError(req, res, 501, { Allow: ALLOW });
  if (method === 'OPTIONS') return respond(req, res, 200, { Allow: ALLOW }, '');
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
    return respondError(req, res, 405, { Allow: ALLOW });
  }
  if (kind === 'missing' || kind === 'directory' || trailingSlashOnFile) return respondError(req, res, 404);
  if (kind === 'other') return respondError(req, res, 403);
  // An unreadable file fails send's open with EACCES, answered 403 in sendFile.
  return sendFile(req, res, filename);
}
