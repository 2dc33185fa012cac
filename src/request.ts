import type { Logger } from './log.js';
import type { Module } from './module.js';
import type { RequestObserver } from './observe.js';

/**
 * The one object every phase handler and provider sees: Apache's `request_rec`, trimmed.
 *
 * Everything a handler may change is a field below marked mutable (`user`, `authType`) or a
 * mutable collection (`env`, `notes`, `responseHeaders`); the rest describes the request as it
 * arrived and is read-only.
 */
export interface AuthRequest {
  /** Upper-case HTTP method, e.g. `GET`. */
  readonly method: string;
  /** The URL path after percent-decoding and normalization (`//` merged, dot segments resolved). */
  readonly path: string;
  /** The query string without the `?` ('' when there is none), as received. */
  readonly query: string;
  /** The request target exactly as received (path and query). */
  readonly unparsedUri: string;
  /**
   * The real filesystem path the URL maps to (symlinks resolved), when the request is mapped to
   * a document root; `undefined` for requests that do not map to files.
   */
  readonly filename: string | undefined;
  /** Request headers with lower-case names; repeated headers are joined with `, ` (see `duplicateAuthorization`). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** True when the request carried more than one `Authorization` header. */
  readonly duplicateAuthorization: boolean;
  /** The client address (IPv4-mapped IPv6 addresses are given in their IPv4 form). */
  readonly remoteAddress: string;
  /** The local address the request arrived on. */
  readonly localAddress: string;
  /** True when the request arrived over TLS. */
  readonly tls: boolean;
  /** The authenticated (or claimed, during authn) user, as `r->user`. */
  user: string | undefined;
  /** The auth scheme that authenticated the user, as `r->ap_auth_type`. */
  authType: string | undefined;
  /** Values for the application (`AUTHENTICATE_*`, …), as `r->subprocess_env`. */
  readonly env: Map<string, string>;
  /** Scratch space shared by the handlers of one request, as `r->notes`. */
  readonly notes: Map<string, unknown>;
  /** Headers for the response, whatever its status (`WWW-Authenticate`, …), as `r->err_headers_out`. */
  readonly responseHeaders: Map<string, string>;
  /** The merged per-section settings of `module` for this request. */
  settings<S>(module: Module<S>): S;
  /** The server-wide settings of `module`. */
  serverSettings<SS>(module: Module<unknown, SS>): SS;
  /** A logger bound to this request. Never give it a password or a token. */
  readonly log: Logger;
  /**
   * Reads the request body, at most `limit` bytes (every request authts builds has it; optional
   * so that hand-made requests need not). Rejects with `AuthTsError` `BODY_TOO_LARGE` beyond the
   * limit (answer 413), `BODY_UNREADABLE` when the client went away, `BODY_UNAVAILABLE` when the
   * request has a body but the server or adapter supplied no reader. A body is read once: later
   * calls answer from that read. Nothing reads a body unless a handler asks.
   */
  readonly readBody?: (limit: number) => Promise<Buffer>;
  /** Who watches this request's provider answers (`authts explain`, metrics); usually none. */
  readonly observer?: RequestObserver | undefined;
}

/**
 * What a phase handler answers, as httpd's hooks do: `'ok'` (handled / allowed), `'declined'`
 * (not mine, ask the next), or an HTTP status that ends the request.
 */
export type PhaseResult = 'ok' | 'declined' | number;

/** A phase handler: the shape of built-in handlers and of `AuthTsHandler` modules alike. */
export type PhaseHandler = (req: AuthRequest) => PhaseResult | Promise<PhaseResult>;

/** The three phases, in the order they run. */
export type Phase = 'access' | 'authn' | 'authz';
