/**
 * The programmatic API: {@link createAuth} loads a configuration once and answers requests
 * with it, from any server. The adapters (`authts/node`, `authts/express`, `authts/fastify`)
 * are thin wrappers around {@link Auth.check}.
 */
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from './config/config.js';
import { loadConfig, type LoadOptions } from './config/load.js';
import { AuthEngine } from './engine.js';
import { silentLogger, type Logger } from './log.js';
import type { BodyReader } from './request-body.js';
import type { Module } from './module.js';
import { builtinModules } from './modules.js';
import type { Verdict } from './phases.js';
import type { RequestInfo } from './request-state.js';
import { mapToFilesystem, normalizeRequestTarget } from './server/paths.js';

/**
 * Configuration text given in place of a file. `name` is what error messages cite
 * (`name:line`, default `<inline>`); relative paths in the text resolve against the working
 * directory.
 *
 * @example
 * ```ts
 * const inline: InlineConfig = { text: '<Location "/admin">\n  Require ip 127.0.0.1\n</Location>', name: 'admin.conf' };
 * ```
 */
export interface InlineConfig {
  readonly text: string;
  readonly name?: string;
}

/**
 * Options of {@link createAuth}.
 *
 * @example
 * ```ts
 * const options: CreateAuthOptions = { config: 'conf/site.conf', root: 'public' };
 * ```
 */
export interface CreateAuthOptions {
  /**
   * A path to a configuration file (relative paths in it resolve against its directory, as
   * `authts serve` does), or {@link InlineConfig} text.
   */
  readonly config: string | InlineConfig;
  /** User modules, registered after the built-in ones (a duplicate name is a `TypeError`). */
  readonly modules?: readonly Module<any, any>[];
  /** Where load warnings and request failures are logged; nothing is logged by default. */
  readonly logger?: Logger;
  /** `-D NAME[=value]` defines, as `httpd -D` (an `undefined` value defines the name for `<IfDefine>` only). */
  readonly defines?: Readonly<Record<string, string | undefined>> | ReadonlyMap<string, string | undefined>;
  /**
   * The directory URL paths map to, as `DocumentRoot` does for `authts serve` (relative to the
   * working directory; it must exist). `<Directory>`, `<DirectoryMatch>`, `<Files>` and
   * `<FilesMatch>` sections match the real path of the file a URL names under it. Without
   * `root`, a configuration with such a section does not load (`CONFIG_NEEDS_ROOT`): only
   * `<Location>` sections can match. A `DocumentRoot` line is not used by `createAuth`.
   */
  readonly root?: string;
  /**
   * How `<Location>` sections compare URL paths: `'sensitive'` (default, as httpd) or
   * `'insensitive'`, for an application whose router ignores case — Express's does unless every
   * router is made case-sensitive. A path the router would route must meet the rules of every
   * section it could reach, so there `<Location /private>` must also cover `/PRIVATE`.
   * `authts/express` refuses a case-sensitive `Auth` unless told the routes are case-sensitive.
   */
  readonly locationCase?: 'sensitive' | 'insensitive';
}

/**
 * One request as it arrived, in the shape node:http gives it; what {@link Auth.check} takes
 * and what every adapter builds.
 *
 * @example
 * ```ts
 * const request: CheckRequest = {
 *   method: req.method ?? 'GET',
 *   url: req.url ?? '/',
 *   headers: req.headersDistinct,
 *   remoteAddress: req.socket.remoteAddress ?? '',
 * };
 * ```
 */
export interface CheckRequest {
  readonly method: string;
  /** The request target as received (`req.url`: path and query, not yet decoded). */
  readonly url: string;
  /**
   * Header values (`headersDistinct` keeps repeated headers apart, so two `Authorization`
   * headers are seen as two and answered 400, as httpd does).
   */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The peer's address (an IPv4-mapped `::ffff:a.b.c.d` is matched as `a.b.c.d`). */
  readonly remoteAddress: string;
  readonly localAddress?: string;
  /** True when the request came over TLS (`%{HTTPS}` in `Require expr`). */
  readonly tls?: boolean;
  /**
   * Reads the request body, for sections that need the form body (`AuthTsPassportFormBody
   * On`); without it such a section answers 500 (`BODY_UNAVAILABLE`). For node:http,
   * `bodyReader(req)` from `authts/passport` (`authts/node` passes it).
   */
  readonly readBody?: BodyReader;
}

/**
 * A loaded configuration, answering requests. Made by {@link createAuth}.
 *
 * @example
 * ```ts
 * const auth: Auth = await createAuth({ config: 'conf/site.conf' });
 * const verdict = await auth.check({ method: 'GET', url: '/private/', headers: {}, remoteAddress: '127.0.0.1' });
 * await auth.close();
 * ```
 */
export interface Auth {
  /** The loaded, frozen configuration (sections, warnings, files read). */
  readonly config: Config;
  /** How `<Location>` sections compare URL paths ({@link CreateAuthOptions.locationCase}). */
  readonly locationCase: 'sensitive' | 'insensitive';
  /**
   * Decides one request: the request target is normalized exactly as `authts serve` does
   * (a malformed target is a 400 verdict; an encoded `/`, NUL or non-UTF-8 path a 404), mapped
   * under `root` when there is one, then the access → authn → authz phases run. Resolves to
   * a {@link Verdict} whatever happens while deciding (a provider that cannot answer is a 500
   * verdict: a failure never allows). Rejects only on misuse: a `request` of the wrong shape, or
   * a call after {@link Auth.close} (`TypeError`).
   */
  check(request: CheckRequest): Promise<Verdict>;
  /**
   * Refuses new checks, waits for the checks already under way to finish, then releases what
   * the modules hold (file indexes, pools). Later calls return the same promise.
   */
  close(): Promise<void>;
}

const OPTION_NAMES = new Set(['config', 'modules', 'logger', 'defines', 'root', 'locationCase']);

const NO_ROOT_HINT =
  "pass createAuth's root option (the directory URL paths map to) so that requests are mapped to files, or use <Location>";

function misuse(message: string): TypeError {
  return new TypeError(`createAuth: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function definesMap(defines: CreateAuthOptions['defines']): ReadonlyMap<string, string | undefined> {
  const entries = defines instanceof Map ? [...defines.entries()] : isRecord(defines) ? Object.entries(defines) : undefined;
  if (!entries) throw misuse('options.defines must be an object or a Map of names to string values');
  for (const [name, value] of entries) {
    if (typeof name !== 'string' || name === '' || (value !== undefined && typeof value !== 'string')) {
      throw misuse(`options.defines: ${String(name)} must be a non-empty name with a string value (or undefined)`);
    }
  }
  return new Map(entries as [string, string | undefined][]);
}

function isLogger(value: unknown): value is Logger {
  return (
    isRecord(value) &&
    ['debug', 'info', 'warn', 'error', 'child'].every((method) => typeof value[method] === 'function')
  );
}

/** The real path of `root`, checked to be a directory now rather than at the first request. */
function realRoot(root: unknown): { root: string; real: string } {
  if (typeof root !== 'string' || root === '') throw misuse('options.root must be a non-empty directory path');
  const absolute = resolve(root);
  let real: string;
  try {
    real = realpathSync.native(absolute);
  } catch (err) {
    throw misuse(`options.root ${absolute} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!statSync(real).isDirectory()) throw misuse(`options.root ${absolute} is not a directory`);
  return { root: absolute, real };
}

function checkRequestShape(request: unknown): asserts request is CheckRequest {
  const fail = (what: string): never => {
    throw new TypeError(`Auth.check: ${what}`);
  };
  if (!isRecord(request)) fail('request must be an object ({ method, url, headers, remoteAddress })');
  const r = request as Record<string, unknown>;
  if (typeof r['method'] !== 'string' || r['method'] === '') fail('request.method must be a non-empty string');
  if (typeof r['url'] !== 'string') fail('request.url must be the request target as a string (req.url)');
  if (!isRecord(r['headers'])) fail('request.headers must be an object (req.headersDistinct)');
  if (typeof r['remoteAddress'] !== 'string') fail('request.remoteAddress must be a string');
  if (r['localAddress'] !== undefined && typeof r['localAddress'] !== 'string') fail('request.localAddress must be a string');
  if (r['tls'] !== undefined && typeof r['tls'] !== 'boolean') fail('request.tls must be a boolean');
  if (r['readBody'] !== undefined && typeof r['readBody'] !== 'function') fail('request.readBody must be a function');
}

/** A verdict reached before the phases (bad target) or instead of them (mapping failed). */
function refusedBeforePhases(status: number): Verdict {
  return { allowed: false, status, headers: new Map(), user: undefined, authType: undefined, env: new Map() };
}

/**
 * Loads a configuration (refusing it with `ConfigErrors` listing every bad line, as
 * `authts check` does) and returns an {@link Auth} that decides requests with it.
 *
 * Throws `TypeError` for bad options, naming the option: `config` that is neither a path nor
 * `{ text }`, an unknown option, a `root` that is not an existing directory, …
 *
 * @example
 * ```ts
 * import { createAuth } from 'authts';
 *
 * const auth = await createAuth({
 *   config: {
 *     name: 'inline.conf',
 *     text: [
 *       '<Location "/private">',
 *       '  AuthType Basic',
 *       '  AuthName "Private area"',
 *       '  AuthUserFile conf/users',
 *       '  Require valid-user',
 *       '</Location>',
 *     ].join('\n'),
 *   },
 * });
 * const verdict = await auth.check({ method: 'GET', url: '/private/x', headers: {}, remoteAddress: '127.0.0.1' });
 * verdict.status; // 401
 * verdict.headers.get('WWW-Authenticate'); // 'Basic realm="Private area"'
 * await auth.close();
 * ```
 */
export async function createAuth(options: CreateAuthOptions): Promise<Auth> {
  if (!isRecord(options as unknown)) throw misuse('options must be an object ({ config, … })');
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) throw misuse(`unknown option ${JSON.stringify(key)} (known: ${[...OPTION_NAMES].join(', ')})`);
  }
  const { config } = options;
  let source: Pick<LoadOptions, 'file' | 'text' | 'textName'>;
  if (typeof config === 'string') {
    if (config === '') throw misuse('options.config must be a file path or { text }, got an empty string');
    source = { file: config };
  } else if (isRecord(config) && typeof config['text'] === 'string') {
    if (config.name !== undefined && (typeof config.name !== 'string' || config.name === '')) {
      throw misuse('options.config.name must be a non-empty string');
    }
    source = { text: config.text, textName: config.name ?? '<inline>' };
  } else {
    throw misuse(`options.config must be a file path or { text, name? }, got ${config === null ? 'null' : typeof config}`);
  }
  if (options.modules !== undefined && (!Array.isArray(options.modules) || options.modules.some((m: unknown) => !isRecord(m)))) {
    throw misuse('options.modules must be an array of modules');
  }
  if (options.logger !== undefined && !isLogger(options.logger)) {
    throw misuse('options.logger must be a logger (debug, info, warn, error, child), e.g. createLogger()');
  }
  const log = options.logger ?? silentLogger;
  const defines = options.defines === undefined ? undefined : definesMap(options.defines);
  const root = options.root === undefined ? undefined : realRoot(options.root);
  const locationCase = options.locationCase ?? 'sensitive';
  if (locationCase !== 'sensitive' && locationCase !== 'insensitive') {
    throw misuse(`options.locationCase must be 'sensitive' or 'insensitive', got ${String(locationCase)}`);
  }

  const loaded = await loadConfig({
    ...source,
    modules: [...builtinModules(), ...(options.modules ?? [])],
    logger: log,
    ...(defines ? { defines } : {}),
    ...(root ? {} : { noFileMapping: { hint: NO_ROOT_HINT } }),
    caseBlindLocations: locationCase === 'insensitive',
  });
  const engine = new AuthEngine(loaded, log);
  let closing: Promise<void> | undefined;
  // Checks under way: close() releases the pools after the last of them, not under it.
  let inFlight = 0;
  let whenIdle: (() => void) | undefined;

  return Object.freeze({
    config: loaded,
    locationCase,
    check: async function check(request: CheckRequest): Promise<Verdict> {
      checkRequestShape(request);
      if (closing) throw new TypeError('Auth.check: called after close()');
      const target = normalizeRequestTarget(request.url);
      if (!target.ok) {
        log.info({ reason: target.reason, status: target.status }, 'bad request target');
        return refusedBeforePhases(target.status);
      }
      let filename: string | undefined;
      let isDirectory = false;
      if (root) {
        try {
          const mapped = await mapToFilesystem(root.root, target.path, root.real);
          filename = mapped.filename;
          isDirectory = mapped.isDirectory;
        } catch (err) {
          // The root vanished or cannot be read: no section can be matched safely.
          log.error({ err, code: 'FILE_UNREADABLE' }, 'request could not be mapped under root');
          return refusedBeforePhases(500);
        }
      }
      const info: RequestInfo = {
        method: request.method,
        path: target.path,
        query: target.query,
        unparsedUri: request.url,
        filename,
        isDirectory,
        headers: request.headers,
        remoteAddress: request.remoteAddress,
        ...(request.localAddress !== undefined ? { localAddress: request.localAddress } : {}),
        ...(request.tls !== undefined ? { tls: request.tls } : {}),
        ...(request.readBody !== undefined ? { readBody: request.readBody } : {}),
      };
      inFlight++;
      try {
        return await engine.check(info);
      } finally {
        if (--inFlight === 0) whenIdle?.();
      }
    },
    close: function close(): Promise<void> {
      closing ??= (async () => {
        if (inFlight > 0) await new Promise<void>((resolve) => (whenIdle = resolve));
        await loaded.close();
      })();
      return closing;
    },
  });
}
