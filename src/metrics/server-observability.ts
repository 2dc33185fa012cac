/**
 * What `authts serve` watches about the requests it answers, per loaded configuration: the
 * access logs it names (`CustomLog`) and, when one of its sections serves `authts-metrics` or
 * `authts-status`, the server's metrics. A configuration with neither costs a request one
 * WeakMap lookup.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Config, DirConfig } from '../config/config.js';
import { core } from '../core-module.js';
import type { RequestObserver } from '../observe.js';
import type { Verdict } from '../phases.js';
import { openAccessLogs, type AccessLogs } from '../server/access-log.js';
import { ServerMetrics } from './metrics.js';

/** The content handlers that need the server's figures. */
const FIGURE_HANDLERS = new Set(['authts-metrics', 'authts-status']);

/** True when a section of `config` serves the metrics or the status page. */
export function wantsMetrics(config: Config): boolean {
  return config.sections.some((section) => {
    const settings = section.settings.get(core) as { handler?: string | undefined } | undefined;
    return settings?.handler !== undefined && FIGURE_HANDLERS.has(settings.handler);
  });
}

/** One request being watched; see {@link ServerObservability.begin}. */
export interface RequestTrace {
  /** For the request's `RequestInfo.observer` (provider latencies), when metrics are on. */
  readonly observer: RequestObserver | undefined;
  /** The phases decided: the user for `%u`, the section and outcome for the metrics. */
  decided(verdict: Verdict, dir: DirConfig | undefined): void;
}

interface Watched {
  readonly accessLogs: AccessLogs | undefined;
  readonly metrics: ServerMetrics | undefined;
}

const metricsOfConfig = new WeakMap<Config, ServerMetrics>();

/**
 * The metrics of the server a configuration answers in (for the `authts-metrics` and
 * `authts-status` content handlers); `undefined` outside `authts serve`.
 */
export function serverMetricsFor(config: Config): ServerMetrics | undefined {
  return metricsOfConfig.get(config);
}

/**
 * The observability of one `authts serve`: its metrics (made when the first configuration that
 * wants them is attached, then kept across reloads) and each configuration's access logs.
 *
 * @example
 * ```ts
 * const watch = new ServerObservability(() => engine.config);
 * watch.attach(config); // throws ConfigErrors when a CustomLog file cannot be opened
 * const trace = watch.begin(config, req, res);
 * ```
 */
export class ServerObservability {
  readonly #current: () => Config;
  readonly #watched = new WeakMap<Config, Watched>();
  #metrics: ServerMetrics | undefined;

  constructor(current: () => Config) {
    this.#current = current;
  }

  /**
   * Prepares `config` for serving: opens its access logs (closed by `config.close()`) and binds
   * it to the server's metrics when it wants them. Throws `ConfigErrors` naming each log that
   * cannot be opened; nothing stays open then.
   */
  attach(config: Config): void {
    const accessLogs = openAccessLogs(config);
    let metrics: ServerMetrics | undefined;
    if (wantsMetrics(config)) {
      metrics = this.#metrics ??= new ServerMetrics(this.#current);
      metrics.configLoaded(config);
      metricsOfConfig.set(config, metrics);
    }
    if (accessLogs === undefined && metrics === undefined) return;
    this.#watched.set(config, { accessLogs, metrics });
  }

  /**
   * Starts watching one request under `config`; `undefined` when `config` logs nothing and has
   * no metrics. The access log line and the request's figures are written when the response
   * has been sent ('finish'), or when it is cut off ('close').
   */
  begin(config: Config, req: IncomingMessage, res: ServerResponse): RequestTrace | undefined {
    const watched = this.#watched.get(config);
    if (watched === undefined) return undefined;
    const startedAt = Date.now();
    const startedPerf = performance.now();
    const { accessLogs, metrics } = watched;
    let verdict: Verdict | undefined;
    let dir: DirConfig | undefined;
    const counter = accessLogs === undefined ? undefined : countBodyBytes(req, res);
    const release = accessLogs?.hold();
    // Written when the response is handed to the kernel ('finish'), so lines come in the order
    // responses went out, before the client can send its next request; a response cut off
    // before that is written at 'close'.
    let written = false;
    const done = (): void => {
      if (written) return;
      written = true;
      accessLogs?.write({ req, res, startedAt, startedPerf, user: verdict?.user, bodyBytes: counter?.bytes ?? 0 });
      release?.();
      metrics?.record(config, verdict, dir, res.statusCode, (performance.now() - startedPerf) / 1000);
    };
    res.once('finish', done);
    res.once('close', done);
    return {
      observer: metrics?.observer,
      decided(v, d) {
        verdict = v;
        dir = d;
      },
    };
  }

  /**
   * Logs a request that node:http refused before it was a request (a malformed request line or
   * header, headers too large, a request too slow to arrive), as httpd logs its 400s: `%r` is
   * the request line as httpd rebuilds it (`-` when there is none to trust), and there is no
   * user, no header and no body. Counted in the metrics too.
   */
  unparsed(config: Config, request: UnparsedRequest): void {
    const watched = this.#watched.get(config);
    if (watched === undefined) return;
    const now = performance.now();
    const req = { method: undefined, url: undefined, httpVersion: '', headers: {}, socket: request.socket };
    const res = { statusCode: request.status, getHeader: () => undefined };
    watched.accessLogs?.write({ req, res, rawRequestLine: request.requestLine ?? '-', startedAt: request.at, startedPerf: now, user: undefined, bodyBytes: 0 });
    watched.metrics?.record(config, undefined, undefined, request.status, 0);
  }
}

/** A request node:http could not parse, as {@link ServerObservability.unparsed} logs it. */
export interface UnparsedRequest {
  readonly socket: Socket;
  /** The status it was answered with (400, 408, 431, …). */
  readonly status: number;
  /** The request line as httpd would log it (client-error.ts), or `undefined` (logged as `-`). */
  readonly requestLine: string | undefined;
  /** When the answer went out, for `%t`. */
  readonly at: number;
}

/**
 * Counts the body bytes `res` sends (httpd's `%b`): what goes through `write` and `end`; none
 * for HEAD (node:http sends no body then).
 */
function countBodyBytes(req: IncomingMessage, res: ServerResponse): { bytes: number } {
  const counter = { bytes: 0 };
  if (req.method === 'HEAD') return counter;
  const count = (chunk: unknown, encoding: unknown): void => {
    if (typeof chunk === 'string') counter.bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else if (chunk instanceof Uint8Array) counter.bytes += chunk.byteLength;
  };
  const write = res.write;
  const end = res.end;
  res.write = function countedWrite(this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
    count(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  res.end = function countedEnd(this: ServerResponse, ...args: unknown[]): ServerResponse {
    if (typeof args[0] !== 'function') count(args[0], args[1]);
    return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['end'];
  return counter;
}
