import { once } from 'node:events';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from '../config/config.js';
import { loadConfig, type LoadOptions } from '../config/load.js';
import { core, type ListenAddress } from '../core-module.js';
import { AuthEngine } from '../engine.js';
import { ConfigErrors } from '../errors.js';
import type { Logger } from '../log.js';
import type { Module } from '../module.js';
import { builtinModules } from '../modules.js';
import { normalizeRequestTarget, openMapped, resolveDocumentRoot, type OpenedMapping } from './paths.js';
import { answerClientError, type RefusedRequest } from './client-error.js';
import { answerForwardAuth, isForwardAuthRequest } from './forward-auth.js';
import { forwardRequest, proxiedRequestInfo, proxyRouteFor, serveUpgrades } from './proxy.js';
import { serveStatic } from './static.js';
import { servedRequestInfo } from './request-info.js';
import { bodyReader } from '../request-body.js';
import { ServerObservability, type RequestTrace } from '../metrics/server-observability.js';
import { auditRefusal, sectionLabel } from '../log-audit.js';
import type { DirConfig } from '../config/config.js';
import type { Verdict } from '../phases.js';
import { plainAddress, type RequestInfo } from '../request-state.js';

/** How to start `authts serve`. */
export interface ServeOptions {
  readonly configFile: string;
  readonly logger: Logger;
  /** User modules besides the built-ins. */
  readonly modules?: readonly Module<any, any>[];
  readonly defines?: ReadonlyMap<string, string | undefined>;
  /** Overrides the config's `Listen` lines (tests use port 0). */
  readonly listen?: readonly ListenAddress[];
  /**
   * How long `close()` lets requests in flight finish before it cuts their connections
   * (default 10 000 ms): a stalled client must not hold a shutdown open.
   */
  readonly drainTimeoutMs?: number;
}

/** A running `authts serve`. */
export interface RunningServer {
  /** The addresses actually bound (port 0 resolved). */
  readonly addresses: readonly ListenAddress[];
  /** The configuration now answering requests. */
  readonly config: () => Config;
  /**
   * Re-reads the configuration; on errors the old one keeps serving and the errors are returned.
   * Requests in flight finish under the configuration they started with, and the old
   * configuration is closed (`Config.close()`) after the last of them; overlapping calls run
   * one after another.
   */
  reload(): Promise<ConfigErrors | undefined>;
  /** Stops accepting, lets requests in flight finish, then closes. */
  close(): Promise<void>;
}

const DEFAULT_INDEX = ['index.html'];

/**
 * Starts `authts serve`: loads the configuration (refusing to start on any error), listens on
 * its `Listen` addresses and, for every request, normalizes the path as httpd does, maps it to
 * the DocumentRoot, runs the phases and serves the file when they allow it.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const log = options.logger;
  const modules = [...builtinModules(), ...(options.modules ?? [])];
  const loadOptions: LoadOptions = {
    file: options.configFile,
    modules,
    logger: log,
    ...(options.defines ? { defines: options.defines } : {}),
  };
  // Access logs (CustomLog) and metrics, per loaded configuration (../metrics/server-observability.ts).
  const observability = new ServerObservability(() => engine.config);
  const loadServed = async (): Promise<AuthEngine> => {
    const config = await loadConfig(loadOptions);
    try {
      observability.attach(config);
    } catch (err) {
      await config.close();
      throw err;
    }
    return new AuthEngine(config, log);
  };
  let engine = await loadServed();
  const listen = options.listen ?? engine.config.serverSettings(core).listen;
  if (listen.length === 0) {
    await engine.config.close();
    throw new Error(`${options.configFile}: no Listen directive: authts does not know where to listen (add e.g. Listen 127.0.0.1:8080)`);
  }

  const servers: Server[] = [];
  // Set by close(): from then on every response ends its connection, so that kept-alive
  // connections do not hold the drain open until their keep-alive timeout.
  let closing = false;
  const closeIdle = (): void => {
    for (const server of servers) server.closeIdleConnections();
  };

  // A configuration replaced by a reload is closed (its pools released) once the last request
  // that started under it has finished, at once when none is in flight.
  const inFlight = new Map<AuthEngine, number>();
  // Set by close() while it waits for the last request to finish.
  let whenIdle: (() => void) | undefined;
  const retired = new Set<AuthEngine>();
  const closingOld = new Set<Promise<void>>();
  const closeOld = (old: AuthEngine): void => {
    retired.delete(old);
    const closed: Promise<void> = old.config
      .close()
      .catch((err: unknown) => log.error({ err }, 'closing the previous configuration failed'))
      .finally(() => closingOld.delete(closed));
    closingOld.add(closed);
  };

  // The response each connection is answering, so that a malformed request after it (HTTP
  // pipelining) never gets an answer cut into that one (./client-error.ts).
  const answering = new WeakMap<Socket, ServerResponse>();
  const refusedUnparsed = (refused: RefusedRequest): void => {
    log.info({ code: refused.code, status: refused.status, client: plainAddress(refused.socket.remoteAddress ?? '') }, 'malformed request refused');
    observability.unparsed(engine.config, { socket: refused.socket, status: refused.status, requestLine: refused.requestLine, at: Date.now() });
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (closing) res.shouldKeepAlive = false;
    const socket = req.socket;
    answering.set(socket, res);
    res.once('close', () => {
      if (answering.get(socket) === res) answering.delete(socket);
      // A response that was already under way when close() began was sent keep-alive: its
      // connection turns idle when it ends, and is closed then.
      if (closing) closeIdle();
    });
    const current = engine;
    inFlight.set(current, (inFlight.get(current) ?? 0) + 1);
    const trace = observability.begin(current.config, req, res);
    handle(current, req, res, log, trace)
      .catch((err: unknown) => {
        log.error({ err }, 'request failed');
        if (!res.headersSent) sendError(res, 500, new Map(), req.method === 'HEAD');
        else res.destroy();
      })
      .finally(() => {
        const left = (inFlight.get(current) ?? 1) - 1;
        if (left > 0) return void inFlight.set(current, left);
        inFlight.delete(current);
        if (retired.has(current)) closeOld(current);
        if (inFlight.size === 0) whenIdle?.();
      });
  };

  const addresses: ListenAddress[] = [];
  for (const address of listen) {
    const server = createServer({ requireHostHeader: false }, handler);
    server.on('clientError', (err: Error, socket: Socket) => answerClientError(err, socket, (s) => answering.has(s), refusedUnparsed));
    // Upgrade requests (WebSocket) take the same path through handler (./proxy.ts).
    serveUpgrades(server, handler);
    try {
      server.listen(address.port, address.host);
      await once(server, 'listening');
    } catch (err) {
      // A later Listen failing (address in use) must not leave the earlier ones bound: the
      // caller gets the error and nothing keeps running.
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      await engine.config.close();
      throw err;
    }
    const bound = server.address() as AddressInfo;
    servers.push(server);
    addresses.push({ host: bound.address, port: bound.port });
    log.info({ host: bound.address, port: bound.port }, 'authts serve listening');
  }

  // Reloads run one after another, so that the last one asked for is the one that stays.
  let reloading: Promise<unknown> = Promise.resolve();
  async function reloadNow(): Promise<ConfigErrors | undefined> {
    try {
      const next = await loadServed();
      const previous = engine;
      engine = next;
      retired.add(previous);
      if (!inFlight.has(previous)) closeOld(previous);
      log.info({ file: options.configFile }, 'configuration reloaded');
      return undefined;
    } catch (err) {
      if (err instanceof ConfigErrors) {
        for (const e of err.errors) log.error({ file: e.file, line: e.line, code: e.code }, e.toString());
        log.error('reload failed: the previous configuration keeps serving');
        return err;
      }
      throw err;
    }
  }

  return {
    addresses,
    config: () => engine.config,
    reload() {
      const result = reloading.then(reloadNow);
      reloading = result.catch(() => undefined);
      return result;
    },
    async close() {
      closing = true;
      let deadlineReached: () => void = () => {};
      const pastDeadline = new Promise<void>((resolve) => (deadlineReached = resolve));
      const deadline = setTimeout(() => {
        log.warn('drain deadline reached: closing connections still in flight');
        for (const server of servers) server.closeAllConnections();
        deadlineReached();
      }, options.drainTimeoutMs ?? 10_000);
      try {
        await Promise.all(
          servers.map(async (server) => {
            const closed = once(server, 'close');
            server.close();
            server.closeIdleConnections();
            await closed;
          }),
        );
        // A request whose client went away has no connection left to hold the server open, but
        // its handler may still be asking a provider: the pools close after it, not under it.
        if (inFlight.size > 0) await Promise.race([new Promise<void>((resolve) => (whenIdle = resolve)), pastDeadline]);
      } finally {
        clearTimeout(deadline);
      }
      // Replaced configurations whose requests were cut at the deadline close now too.
      for (const old of [...retired]) closeOld(old);
      await Promise.all([...closingOld]);
      await engine.config.close();
    },
  };
}

const realRoots = new WeakMap<AuthEngine, string>();

/**
 * The DocumentRoot's real path, resolved once per loaded configuration. While it cannot be
 * resolved (not there yet), each request tries again and fails with 500 until it can.
 */
function realDocumentRoot(engine: AuthEngine, documentRoot: string): string {
  let root = realRoots.get(engine);
  if (root === undefined) {
    root = resolveDocumentRoot(documentRoot);
    realRoots.set(engine, root);
  }
  return root;
}

/**
 * After the phases: tells the request's trace (access log user, metrics) and writes the audit
 * line of a refusal.
 */
function decided(engine: AuthEngine, request: DecidedRequest, verdict: Verdict, dir: DirConfig | undefined, log: Logger, trace: RequestTrace | undefined): void {
  trace?.decided(verdict, dir);
  if (verdict.allowed) return;
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(', ') : (value as string | undefined);
  };
  const contentType = header('content-type');
  auditRefusal(log, {
    status: verdict.status,
    user: verdict.user,
    presentedCredentials:
      header('authorization') !== undefined ||
      request.query.includes('access_token=') ||
      (request.method === 'POST' && contentType !== undefined && contentType.startsWith('application/x-www-form-urlencoded')),
    client: plainAddress(request.client),
    method: request.method,
    path: request.path,
    section: sectionLabel(engine.config, dir),
  });
}

/** The request a decision was about, for its audit line. */
interface DecidedRequest {
  readonly method: string;
  /** The normalized path. */
  readonly path: string;
  readonly query: string;
  readonly client: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

function decidedRequest(req: IncomingMessage, path: string, query: string): DecidedRequest {
  return { method: req.method ?? '', path, query, client: req.socket.remoteAddress ?? '', headers: req.headers };
}

async function handle(engine: AuthEngine, req: IncomingMessage, res: ServerResponse, log: Logger, trace: RequestTrace | undefined): Promise<void> {
  // AuthTsForwardAuth: a proxy asks about a request it serves itself (./forward-auth.ts).
  if (isForwardAuthRequest(engine.config, req.url)) {
    // The decision is about the original request the proxy describes: its client, its path.
    const watch = {
      observer: trace?.observer,
      decided: (info: RequestInfo, verdict: Verdict, dir: DirConfig | undefined): void =>
        decided(engine, { method: info.method, path: info.path, query: info.query ?? '', client: info.remoteAddress, headers: info.headers }, verdict, dir, log, trace),
    };
    return answerForwardAuth(engine, req, res, log, watch);
  }
  const head = req.method === 'HEAD';
  const target = normalizeRequestTarget(req.url ?? '');
  if (!target.ok) {
    log.info({ reason: target.reason }, 'bad request target');
    sendError(res, target.status, new Map(), head);
    return;
  }
  // ProxyPass (./proxy.ts): a proxied URL maps to no file, so only <Location> sections apply.
  const route = proxyRouteFor(engine.config, target.path, req.url ?? '');
  if (route !== undefined) {
    const info = proxiedRequestInfo(req, target.path, target.query);
    const { verdict, dir } = await engine.decide(trace?.observer ? { ...info, observer: trace.observer } : info);
    decided(engine, decidedRequest(req, target.path, target.query), verdict, dir, log, trace);
    if (!verdict.allowed) return sendError(res, verdict.status, verdict.headers, head);
    return forwardRequest(req, res, route, verdict, log);
  }
  const documentRoot = engine.config.serverSettings(core).documentRoot;
  // The mapped file stays open from the access decision to the last byte served (see
  // ./open-file.ts), and is closed whatever happens in between.
  const mapped = documentRoot === undefined ? undefined : openMapped(target.path, realDocumentRoot(engine, documentRoot));
  try {
    await decideAndServe(engine, req, res, head, target.path, target.query, mapped, log, trace);
  } finally {
    mapped?.file?.close();
  }
}

async function decideAndServe(
  engine: AuthEngine,
  req: IncomingMessage,
  res: ServerResponse,
  head: boolean,
  path: string,
  query: string,
  mapped: OpenedMapping | undefined,
  log: Logger,
  trace: RequestTrace | undefined,
): Promise<void> {
  const filename = mapped?.filename;
  const isDirectory = mapped?.isDirectory ?? false;
  const base = {
    ...servedRequestInfo(req, path, query),
    // Read only where a section asks for the form body (AuthTsPassportFormBody On); the reader
    // keeps what it read, so the DirectoryIndex subrequest below sees the same body.
    readBody: bodyReader(req),
    ...(trace?.observer ? { observer: trace.observer } : {}),
  };
  const { verdict, dir } = await engine.decide({ ...base, filename, isDirectory });
  decided(engine, decidedRequest(req, path, query), verdict, dir, log, trace);
  if (!verdict.allowed || dir === undefined) {
    sendError(res, verdict.allowed ? 500 : verdict.status, verdict.headers, head);
    return;
  }
  // The phases' response headers go out whatever the status (httpd's err_headers_out).
  for (const [name, value] of verdict.headers) res.setHeader(name, value);
  // SetHandler: a content handler answers in place of the file, mapped or not.
  const handlerName = dir.get(core).handler;
  if (handlerName !== undefined && handlerName !== 'none') {
    const handler = engine.config.registry.contentHandler(handlerName);
    if (handler === undefined) throw new Error(`content handler "${handlerName}" is not registered`);
    await handler.handle({ req, res, verdict, dir, config: engine.config, path, query, log });
    return;
  }
  if (filename === undefined) {
    sendError(res, 404, new Map(), head);
    return;
  }
  // Only a directory needs its DirectoryIndex: a file request does not match the sections again.
  const directoryConfig = isDirectory ? dir : undefined;
  const directoryIndex = directoryConfig ? (directoryConfig.get(core).directoryIndex ?? DEFAULT_INDEX) : [];
  await serveStatic(req, res, {
    // Path info is never served (httpd's AcceptPathInfo default for files): /file.txt/more,
    // or a path below a missing directory, is looked up whole and not found.
    filename: mapped?.pathInfo ? `${filename}${mapped.pathInfo}` : filename,
    file: mapped?.file,
    urlPath: path,
    directoryIndex,
    // mod_dir's index is an internal subrequest with its own access check: a <Files index.html>
    // section (or a symlinked index) is decided on the index file's real path. As in httpd's
    // ap_process_request_internal, a subrequest under the very same merged configuration keeps
    // the main request's user and decision instead of checking the credentials again (Config
    // hands out one DirConfig per set of matching sections, so identity is the test).
    authorizeIndex: async (index) => {
      const target = { path: index.urlPath, filename: index.filename, isDirectory: false };
      if (engine.config.resolve(target) === directoryConfig) return 'serve';
      const sub = await engine.check({ ...base, ...target });
      if (sub.allowed) return 'serve';
      if ((sub.status >= 300 && sub.status < 400) || (sub.status === 401 && directoryIndex.length === 1)) {
        sendError(res, sub.status, sub.headers, head);
        return 'handled';
      }
      return 'skip';
    },
  });
}

/** Answers with `status`, the verdict's headers and a short HTML body like httpd's. */
export function sendError(res: ServerResponse, status: number, headers: ReadonlyMap<string, string>, head: boolean): void {
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = `<!DOCTYPE html>\n<html><head><title>${status} ${reason}</title></head>\n<body><h1>${reason}</h1></body></html>\n`;
  res.statusCode = status;
  for (const [name, value] of headers) res.setHeader(name, value);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(head ? undefined : body);
}
