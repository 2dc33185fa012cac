/**
 * A raw HTTP/1.x client for conformance tests: the request line and headers go on the wire
 * exactly as given, so tests can send what real clients (and attackers) send — un-normalized
 * paths (`/a/../b`, `%2e%2e`, spaces), duplicate `Authorization` lines, oversized headers,
 * odd header case — which `node:http` would refuse or rewrite.
 */
import { createConnection } from 'node:net';

/** A request header list: an object (an array value sends the header once per element) or ordered pairs. */
export type RawHeaders = Readonly<Record<string, string | readonly string[]>> | ReadonlyArray<readonly [string, string]>;

/** Options of {@link rawRequest}. */
export interface RawRequestOptions {
  /** Default `GET`. Sent verbatim. */
  readonly method?: string;
  /** The request target, sent verbatim (no normalization, no escaping). Default `/`. */
  readonly path?: string;
  /** Headers, sent verbatim in order. */
  readonly headers?: RawHeaders;
  /** Request body; `Content-Length` is added unless a `Content-Length`/`Transfer-Encoding` header is given. */
  readonly body?: string | Uint8Array;
  /** Default `HTTP/1.1`. */
  readonly httpVersion?: string;
  /**
   * Add `Host: <host:port of url>` and `Connection: close` unless the caller gave them
   * (case-insensitively). Default true; false sends exactly `headers`.
   */
  readonly defaultHeaders?: boolean;
  /** Give up after this many milliseconds (default 10 000). */
  readonly timeoutMs?: number;
}

/** The parsed response of {@link rawRequest}. */
export interface RawResponse {
  readonly status: number;
  /** The reason phrase of the status line. */
  readonly statusText: string;
  /** Headers by lower-case name; repeated headers are joined with `, ` (`set-cookie` too). */
  readonly headers: Readonly<Record<string, string>>;
  /** Every header line in order, name as sent by the server. */
  readonly rawHeaders: ReadonlyArray<readonly [string, string]>;
  /** The body decoded as UTF-8 (chunked transfer coding removed). */
  readonly body: string;
  /** The body bytes. */
  readonly bodyBytes: Buffer;
}

function headerPairs(headers: RawHeaders | undefined): Array<[string, string]> {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return (headers as ReadonlyArray<readonly [string, string]>).map(([n, v]) => [n, v]);
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers as Readonly<Record<string, string | readonly string[]>>)) {
    if (typeof value === 'string') pairs.push([name, value]);
    else for (const v of value) pairs.push([name, v]);
  }
  return pairs;
}

function decodeChunked(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', pos);
    if (eol < 0) throw new Error('rawRequest: truncated chunked body');
    const size = Number.parseInt(data.subarray(pos, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) throw new Error('rawRequest: bad chunk size');
    if (size === 0) return Buffer.concat(parts);
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

interface Head {
  readonly status: number;
  readonly statusText: string;
  readonly rawHeaders: Array<[string, string]>;
  readonly bodyStart: number;
}

function parseHead(data: Buffer, from: number): Head | undefined {
  const end = data.indexOf('\r\n\r\n', from);
  if (end < 0) return undefined;
  const lines = data.subarray(from, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!m) throw new Error(`rawRequest: bad status line ${JSON.stringify(lines[0])}`);
  const rawHeaders: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) rawHeaders.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { status: Number(m[1]), statusText: m[2] ?? '', rawHeaders, bodyStart: end + 4 };
}

function parseResponse(data: Buffer, method: string): RawResponse {
  let head = parseHead(data, 0);
  // Skip interim 1xx responses (100 Continue, 103 Early Hints).
  while (head && head.status >= 100 && head.status < 200 && head.status !== 101) {
    head = parseHead(data, head.bodyStart);
  }
  if (!head) {
    throw new Error(`rawRequest: incomplete response (${data.length} bytes): ${JSON.stringify(data.toString('latin1').slice(0, 200))}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of head.rawHeaders) {
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  let body = data.subarray(head.bodyStart);
  const noBody = method.toUpperCase() === 'HEAD' || head.status === 204 || head.status === 304;
  if (noBody) body = Buffer.alloc(0);
  else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) body = decodeChunked(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return {
    status: head.status,
    statusText: head.statusText,
    headers,
    rawHeaders: head.rawHeaders,
    body: body.toString('utf8'),
    bodyBytes: Buffer.from(body),
  };
}

/** True when `data` holds a whole final response whose end is known without the connection closing. */
function complete(data: Buffer, method: string): boolean {
  let head: Head | undefined;
  try {
    head = parseHead(data, 0);
    while (head && head.status >= 100 && head.status < 200 && head.status !== 101) head = parseHead(data, head.bodyStart);
  } catch {
    return false;
  }
  if (!head) return false;
  if (method.toUpperCase() === 'HEAD' || head.status === 204 || head.status === 304) return true;
  const get = (name: string): string | undefined => head.rawHeaders.find(([n]) => n.toLowerCase() === name)?.[1];
  const bodyLength = data.length - head.bodyStart;
  if (/\bchunked\b/i.test(get('transfer-encoding') ?? '')) {
    try {
      decodeChunked(data.subarray(head.bodyStart));
      return data.subarray(head.bodyStart).subarray(-4).toString('latin1') === '\r\n\r\n';
    } catch {
      return false;
    }
  }
  const length = get('content-length');
  return length !== undefined && bodyLength >= Number(length);
}

/**
 * Sends one request on a fresh connection and reads the response until the server closes it
 * (`Connection: close` is sent by default). The path and headers are written byte for byte
 * (latin1), so duplicates, odd case and huge values reach the server as given. If the server
 * answers early and resets the connection while a huge request is still being written, the
 * response received so far is returned.
 *
 * @example
 * ```ts
 * const res = await rawRequest(httpd.url, {
 *   path: '/private/../private/a.txt',
 *   headers: [['Authorization', 'Basic YTpi'], ['Authorization', 'Basic Yzpk']],
 * });
 * res.status; // 200, 400, 401 ...
 * res.headers['www-authenticate']; // 'Basic realm="Private area"'
 * ```
 */
export async function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const target = new URL(url);
  if (target.protocol !== 'http:') throw new TypeError(`rawRequest: url must be http:, got ${target.protocol}`);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || 80);
  const method = options.method ?? 'GET';
  const path = options.path ?? '/';
  const pairs = headerPairs(options.headers);
  const has = (name: string): boolean => pairs.some(([n]) => n.toLowerCase() === name);
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  if (options.defaultHeaders !== false) {
    if (!has('host')) pairs.unshift(['Host', target.host]);
    if (!has('connection')) pairs.push(['Connection', 'close']);
  }
  if (body !== undefined && !has('content-length') && !has('transfer-encoding')) {
    pairs.push(['Content-Length', String(body.length)]);
  }
  const head = `${method} ${path} ${options.httpVersion ?? 'HTTP/1.1'}\r\n${pairs.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  const request = body === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]);
  const timeoutMs = options.timeoutMs ?? 10_000;

  const data = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const received = Buffer.concat(chunks);
      // A reset after the server already answered (huge request refused mid-upload) is an answer.
      if (error && received.length === 0) reject(error);
      else resolve(received);
    };
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => finish(new Error(`rawRequest: no response from ${url} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // Kept-alive connections (the caller sent its own Connection header) end with the message.
      if (complete(Buffer.concat(chunks), method)) finish();
    });
    socket.once('end', () => finish());
    socket.once('close', () => finish());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // EPIPE: the server stopped reading; its answer may still arrive, so wait for end/close.
      if (error.code === 'EPIPE') return;
      finish(error);
    });
    socket.once('connect', () => socket.write(request));
  });
  return parseResponse(data, method);
}
