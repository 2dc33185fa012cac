/**
 * Requests node:http refuses before they become requests (its `clientError` event: a malformed
 * request line or header, headers too large, a request too slow to arrive). node:http answers
 * them by itself and tells nobody; `authts serve` answers them the same way and logs them, as
 * httpd writes an access line for every request it answers, malformed ones included.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/** httpd's `LimitRequestLine` default: the longest request line it reads. */
const MAX_REQUEST_LINE = 8_190;

/** A request refused by node:http's parser, once it has been answered. */
export interface RefusedRequest {
  readonly socket: Socket;
  /** The status it was answered with. */
  readonly status: number;
  /**
   * The request line as httpd would log it ({@link loggedRequestLine}); `undefined` when none
   * was received (a timeout), or when what node:http shows of the request may not begin with
   * it (the request came in several reads, or after an earlier one on the same connection):
   * a header line, which may hold a credential, is never taken for it.
   */
  readonly requestLine: string | undefined;
  /** node:http's error code (`HPE_INVALID_METHOD`, `HPE_HEADER_OVERFLOW`, …). */
  readonly code: string | undefined;
}

/**
 * The status node:http's own answer has for an error code: 431 for headers too large, 413 for
 * chunk extensions too large, 408 for a request too slow to arrive, 400 for anything else.
 *
 * @example
 * ```ts
 * clientErrorStatus('HPE_HEADER_OVERFLOW'); // 431
 * ```
 */
export function clientErrorStatus(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

/**
 * The request line at the start of `raw` as httpd logs a request line it refused
 * (`ap_parse_request_line` rebuilds it from its first three words, method, target and protocol,
 * joined by single spaces, and drops any text after them), read as latin1 (one character per
 * byte, as node:http reads request lines) and cut at httpd's 8,190 bytes; `undefined` when
 * there is no word.
 *
 * @example
 * ```ts
 * loggedRequestLine(Buffer.from('GET /a  b c HTTP/1.1\r\nHost: x\r\n\r\n')); // 'GET /a b'
 * ```
 */
export function loggedRequestLine(raw: Buffer): string | undefined {
  const end = raw.indexOf(0x0a);
  const line = raw.subarray(0, Math.min(end < 0 ? raw.length : end, MAX_REQUEST_LINE)).toString('latin1');
  const words = line.split(/[\t\v\f\r ]+/).filter((word) => word !== '');
  return words.length === 0 ? undefined : words.slice(0, 3).join(' ');
}

/**
 * Handles node:http's `clientError` for `authts serve`: answers as node:http's default does
 * (the status line and `Connection: close`, then the connection is closed) and calls `refused`;
 * when the connection cannot take an answer — it is no longer writable, or a response of its
 * own is under way (`busy`), which an answer would cut into — it is only closed.
 *
 * @example
 * ```ts
 * server.on('clientError', (err, socket) => answerClientError(err, socket, busy, (r) => log(r)));
 * ```
 */
export function answerClientError(
  err: Error & { code?: string; rawPacket?: Buffer },
  socket: Socket,
  busy: (socket: Socket) => boolean,
  refused: (request: RefusedRequest) => void,
): void {
  if (!socket.writable || busy(socket)) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(err.code);
  // Closed once the answer is out, without waiting for the client to close its side.
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\n\r\n`, () => socket.destroy());
  // rawPacket is the last chunk read, which begins the request only when it is all the
  // connection ever received.
  const raw = err.rawPacket;
  const requestLine = raw !== undefined && raw.length === socket.bytesRead ? loggedRequestLine(raw) : undefined;
  refused({ socket, status, requestLine, code: err.code });
}
