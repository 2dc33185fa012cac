/**
 * Reading a request body during the phases, bounded in size.
 *
 * The server or adapter hands a {@link BodyReader} in `RequestInfo.readBody` (for node:http,
 * `bodyReader(req)`); the engine wraps it as `AuthRequest.readBody` with {@link requestBodyReader},
 * which adds the checks every caller needs (Content-Length over the limit, no reader at all).
 * Nothing reads a body unless a handler asks: the passport bridge does only in sections with
 * `AuthTsPassportFormBody On`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { AuthTsError } from './errors.js';

/**
 * Reads the whole request body, at most `limit` bytes. Contract: resolves with the body when it
 * has at most `limit` bytes; rejects with `AuthTsError` `BODY_TOO_LARGE` when it has more, and
 * `BODY_UNREADABLE` when the stream fails or the client goes away. Every call after the first
 * answers from the first read (a stream is read once; the `DirectoryIndex` subrequest and later
 * handlers see the same body).
 *
 * @example
 * ```ts
 * const readBody: BodyReader = bodyReader(req);
 * const form = new URLSearchParams((await readBody(8192)).toString('utf8'));
 * ```
 */
export type BodyReader = (limit: number) => Promise<Buffer>;

/**
 * A node:http request, or any readable stream of the body (headers are optional).
 *
 * @example
 * ```ts
 * const stream: BodyStream = Readable.from([Buffer.from('a=1')]);
 * ```
 */
export type BodyStream = Readable & { readonly headers?: IncomingHttpHeaders };

/** The outcome of the one read of a stream, kept for every later call. */
type ReadOutcome = { readonly body: Buffer } | { readonly error: AuthTsError; readonly limit: number };

/**
 * The {@link BodyReader} of a node:http request (or any readable stream of a body). Nothing is
 * read until the first call. Beyond the limit the reader stops keeping data and rejects at once
 * with `BODY_TOO_LARGE`; the rest of the body is left to node:http, which discards it after the
 * response (so a 413 can still be sent on the connection).
 *
 * @example
 * ```ts
 * createServer(async (req, res) => {
 *   const verdict = await engine.check({ method: req.method ?? 'GET', path: '/login', headers: req.headersDistinct,
 *     remoteAddress: req.socket.remoteAddress ?? '', readBody: bodyReader(req) });
 * });
 * ```
 */
export function bodyReader(stream: BodyStream): BodyReader {
  let read: Promise<ReadOutcome> | undefined;
  return function readBody(limit: number): Promise<Buffer> {
    checkLimit(limit);
    read ??= readStream(stream, limit);
    return read.then((outcome) => {
      if ('error' in outcome) throw outcome.error;
      if (outcome.body.length > limit) throw tooLarge(limit);
      return outcome.body;
    });
  };
}

function readStream(stream: BodyStream, limit: number): Promise<ReadOutcome> {
  return new Promise((resolve) => {
    if (stream.readableEnded) {
      // Someone consumed the stream before us: what it held is gone.
      resolve({ error: new AuthTsError('BODY_UNREADABLE', 'the request body was already read by someone else'), limit });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (outcome: ReadOutcome): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      resolve(outcome);
    };
    const onData = (chunk: Buffer | string): void => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > limit) {
        finish({ error: tooLarge(limit), limit });
        return;
      }
      chunks.push(buffer);
    };
    const onEnd = (): void => finish({ body: Buffer.concat(chunks, size) });
    const onError = (err: Error): void =>
      finish({ error: new AuthTsError('BODY_UNREADABLE', 'the request body could not be read', { cause: err }), limit });
    // 'close' before 'end': the client went away mid-body (node:http's 'aborted').
    const onClose = (): void => {
      if (!stream.readableEnded) finish({ error: new AuthTsError('BODY_UNREADABLE', 'the client closed the connection before the end of the body'), limit });
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * Wraps the reader a server or adapter supplied (or none) as `AuthRequest.readBody`:
 * - `limit` must be a non-negative safe integer (`TypeError` otherwise: a programming mistake);
 * - a `Content-Length` over the limit rejects with `BODY_TOO_LARGE` before a byte is read;
 * - without a reader, a request that declares no body (no `Transfer-Encoding`, no or zero
 *   `Content-Length`) has an empty one; one that declares a body rejects with
 *   `BODY_UNAVAILABLE` (the server or adapter did not wire `readBody`: a 500, never a guess);
 * - a body longer than the limit is refused even when the reader ignored the limit.
 *
 * @example
 * ```ts
 * const readBody = requestBodyReader(info.readBody, { 'content-length': '12' });
 * const body = await readBody(8192);
 * ```
 */
export function requestBodyReader(
  reader: BodyReader | undefined,
  headers: Readonly<Record<string, string | undefined>>,
): BodyReader {
  return async function readBody(limit: number): Promise<Buffer> {
    checkLimit(limit);
    const length = headers['content-length'];
    if (length !== undefined && /^\s*\d+\s*$/.test(length) && Number(length) > limit) throw tooLarge(limit);
    if (!reader) {
      if (headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0)) {
        return Buffer.alloc(0);
      }
      throw new AuthTsError('BODY_UNAVAILABLE', 'the request has a body, but the server or adapter gave authts no readBody to read it with');
    }
    const body = await reader(limit);
    if (body.length > limit) throw tooLarge(limit);
    return body;
  };
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new TypeError(`readBody: limit must be a non-negative integer number of bytes (got ${String(limit)})`);
  }
}

function tooLarge(limit: number): AuthTsError {
  return new AuthTsError('BODY_TOO_LARGE', `the request body is larger than ${limit} bytes`);
}
