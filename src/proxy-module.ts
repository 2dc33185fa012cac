/**
 * mod_proxy's reverse-proxy directives for `authts serve`: `ProxyPass`, `ProxyPassReverse`,
 * `ProxyTimeout`, and authts' own `AuthTsUserHeader`. This file parses and checks them at load;
 * src/server/proxy.ts decides per request and forwards.
 *
 * Argument checks and messages follow httpd 2.4.71 (`apache2 -t` was asked for each case; see
 * docs/proxy.md): `ProxyPass` may stand at the top level with a path, or in a `<Location>`
 * without one, never in `<Directory>`/`<Files>`.
 */
import type { SourceLocation } from './errors.js';
import { hasWildcard } from './config/include.js';
import type { DirectiveContext, Module } from './module.js';

/** Where a `ProxyPass` sends requests: an `http://` origin and the path written after it. */
export interface ProxyTarget {
  /** `http://host:port`, what the connection is opened to (`ws://` is stored as `http://`). */
  readonly origin: string;
  /** `host[:port]` as the URL spelled it: the `Host` header the upstream receives. */
  readonly host: string;
  /**
   * The path of the URL as written (WHATWG-serialized), or `''` when the URL has no path
   * (`http://127.0.0.1:3000`): the request path's remainder is appended to it literally, as
   * httpd does, so `ProxyPass /app http://h:1` sends `/app/x` as `/x`.
   */
  readonly path: string;
  /** The URL as the configuration wrote it, for messages. */
  readonly url: string;
}

/** One `ProxyPass` line: requests under `prefix` go to `target`, or nowhere (`!`). */
export interface ProxyMapping {
  /** The local URL path (slashes merged); matched at `/` boundaries as httpd's `alias_match`. */
  readonly prefix: string;
  /** `'exclude'` for `ProxyPass /path !`. */
  readonly target: ProxyTarget | 'exclude';
  /** `timeout=` on the line, in milliseconds; `undefined` means `ProxyTimeout`. */
  readonly timeoutMs: number | undefined;
  readonly where: SourceLocation;
}

/** One `ProxyPassReverse` line: response headers starting with `url` are mapped back to `path`. */
export interface ReverseMapping {
  readonly path: string;
  readonly url: string;
}

/** Per-section proxy settings (the top level holds the server's `ProxyPassReverse` lines). */
export interface ProxyDirSettings {
  /** The `ProxyPass` of a `<Location>`; an inner (later) section's replaces an outer one's. */
  readonly pass: ProxyMapping | undefined;
  /** `ProxyPassReverse` lines, outer sections first (httpd appends them when merging). */
  readonly reverse: readonly ReverseMapping[];
}

/** Server-wide proxy settings. */
export interface ProxyServerSettings {
  /** Top-level `ProxyPass` lines in configuration order: the first that matches decides. */
  passes: ProxyMapping[];
  /** True when some `<Location>` has a `ProxyPass` (only then are sections matched first). */
  locationPasses: boolean;
  /** `ProxyTimeout` in milliseconds; `undefined`: {@link DEFAULT_PROXY_TIMEOUT_MS}. */
  timeoutMs: number | undefined;
  /** `AuthTsUserHeader`: the request header that carries the authenticated user upstream. */
  userHeader: string;
}

/** httpd's `ProxyTimeout` defaults to `Timeout`, which is 60 seconds. */
export const DEFAULT_PROXY_TIMEOUT_MS = 60_000;

/** The default of `AuthTsUserHeader`. */
export const DEFAULT_USER_HEADER = 'X-Remote-User';

/** RFC 9110 token characters: what a header name may consist of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Header names `AuthTsUserHeader` must not take: they frame or route the request itself. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

/** Parses `timeout=5` (seconds) or `timeout=500ms`, as httpd's `ap_timeout_parameter_parse`. */
function parseTimeout(value: string): number | undefined {
  const m = /^(\d+)(ms|s)?$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : n * 1000;
  return ms >= 1 ? ms : undefined;
}

/** The `<Location>` path a section-level `ProxyPass`/`ProxyPassReverse` stands for. */
function locationPath(ctx: DirectiveContext, directive: string): string {
  const section = ctx.section;
  const kind = section?.name.toLowerCase();
  if (section === undefined || (kind !== 'location' && kind !== 'locationmatch')) {
    return ctx.error('CONFIG_NOT_ALLOWED_HERE', `${directive} cannot occur within <${section?.name ?? 'Limit'}> section`, 'use it at the top level or in a <Location>');
  }
  if (ctx.limit) {
    return ctx.error('CONFIG_NOT_ALLOWED_HERE', `${directive} cannot occur within <Limit> or <LimitExcept>`);
  }
  const path = section.args.length === 1 ? section.args[0]! : undefined;
  if (kind === 'locationmatch' || path === undefined || hasWildcard(path)) {
    return ctx.error(
      'CONFIG_NOT_ALLOWED_HERE',
      `${directive} in <${section.name} ${section.args.join(' ')}> is not supported by authts: only a plain <Location /path> (no regex, no wildcard)`,
      'use a plain <Location /path>, or the two-argument form at the top level',
    );
  }
  return mergeSlashes(path);
}

function mergeSlashes(path: string): string {
  return path.replace(/\/{2,}/g, '/');
}

/** A local path argument: must be a URL path. */
function localPath(ctx: DirectiveContext, directive: string, value: string): string {
  if (!value.startsWith('/')) {
    return ctx.error('CONFIG_BAD_ARGUMENT', `${directive} path must start with "/": ${value}`, `syntax: ${directive} /path http://host:port/path`);
  }
  return mergeSlashes(value);
}

/** Parses the backend URL of a `ProxyPass` line. */
function parseTarget(ctx: DirectiveContext, value: string): ProxyTarget {
  let url: URL;
  try {
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) throw new Error('not absolute');
    url = new URL(value);
  } catch {
    return ctx.error('CONFIG_BAD_ARGUMENT', `ProxyPass URL must be absolute!: ${value}`, 'e.g. http://127.0.0.1:3000/app');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'ws:') {
    return ctx.error(
      'CONFIG_BAD_ARGUMENT',
      `ProxyPass URL scheme ${url.protocol.slice(0, -1)} is not supported by authts: ${value}`,
      'use http:// (WebSocket upgrades are forwarded on http:// too) or ws://',
    );
  }
  if (url.hostname === '') return ctx.error('CONFIG_BAD_ARGUMENT', `ProxyPass URL has no host: ${value}`);
  if (url.username !== '' || url.password !== '') {
    return ctx.error('CONFIG_BAD_ARGUMENT', `ProxyPass URL must not contain a user name or password: ${value}`, 'the upstream gets the user in the AuthTsUserHeader header');
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    return ctx.error('CONFIG_BAD_ARGUMENT', `ProxyPass URL must not have a query or fragment: ${value}`);
  }
  // httpd appends the rest of the request path to the URL text: remember whether it had a path.
  const hasPath = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*\//.test(value);
  const path = hasPath ? url.pathname : '';
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) {
    return ctx.error('CONFIG_BAD_ARGUMENT', `ProxyPass URL path must not contain "." or ".." segments: ${value}`);
  }
  const port = url.port === '' ? '' : `:${url.port}`;
  return { origin: `http://${url.hostname}${port}`, host: url.host, path, url: value };
}

/** Parses the `key=value` parameters after a `ProxyPass` URL (only `timeout=` is supported). */
function parseParameters(ctx: DirectiveContext, params: readonly string[]): number | undefined {
  let timeoutMs: number | undefined;
  for (const param of params) {
    const eq = param.indexOf('=');
    const key = eq < 0 ? param : param.slice(0, eq);
    if (key.toLowerCase() === 'timeout' && eq > 0) {
      timeoutMs = parseTimeout(param.slice(eq + 1));
      if (timeoutMs === undefined) {
        ctx.error('CONFIG_BAD_ARGUMENT', `ProxyPass timeout must be a positive number of seconds (or NNNms): ${param}`);
      }
      continue;
    }
    ctx.error(
      'CONFIG_BAD_ARGUMENT',
      `ProxyPass parameter ${param} is not supported by authts`,
      'the only parameter authts implements is timeout=seconds; see docs/proxy.md',
    );
  }
  return timeoutMs;
}

/**
 * The `proxy` module: httpd's mod_proxy + mod_proxy_http (+ mod_proxy_wstunnel) directives that
 * `authts serve` needs to protect an existing application, and `AuthTsUserHeader`.
 *
 * @example
 * ```ts
 * const config = await loadConfig({ text: 'ProxyPass /app http://127.0.0.1:3000/app\n', modules: builtinModules() });
 * config.serverSettings(proxyModule).passes[0]?.prefix; // → '/app'
 * ```
 */
export const proxyModule: Module<ProxyDirSettings, ProxyServerSettings> = {
  name: 'proxy',
  createDirSettings: () => ({ pass: undefined, reverse: [] }),
  mergeDirSettings: (base, add) => ({
    pass: add.pass ?? base.pass,
    reverse: base.reverse.length === 0 ? add.reverse : add.reverse.length === 0 ? base.reverse : [...base.reverse, ...add.reverse],
  }),
  createServerSettings: () => ({ passes: [], locationPasses: false, timeoutMs: undefined, userHeader: DEFAULT_USER_HEADER }),
  directives: [
    {
      name: 'ProxyPass',
      context: 'any',
      minArgs: 1,
      syntax: 'ProxyPass [/path] !|http://host[:port][/path] [timeout=seconds]',
      apply(ctx, args) {
        const inSection = ctx.section !== undefined || ctx.limit !== undefined;
        let prefix: string;
        let rest: readonly string[];
        if (inSection) {
          prefix = locationPath(ctx, 'ProxyPass');
          if (args[0]!.startsWith('/')) {
            ctx.error('CONFIG_BAD_ARGUMENT', 'ProxyPass|ProxyPassMatch can not have a path when defined in a location.', 'syntax in a <Location>: ProxyPass http://host:port/path');
          }
          rest = args;
        } else {
          if (args.length < 2) {
            ctx.error('CONFIG_BAD_ARGUMENT', 'ProxyPass|ProxyPassMatch needs a path when not defined in a location', 'syntax: ProxyPass /path http://host:port/path');
          }
          prefix = localPath(ctx, 'ProxyPass', args[0]!);
          rest = args.slice(1);
        }
        const [urlOrBang, ...params] = rest as [string, ...string[]];
        let mapping: ProxyMapping;
        if (urlOrBang === '!') {
          if (params.length > 0) ctx.error('CONFIG_BAD_ARGUMENT', `ProxyPass ${prefix} ! takes no parameters`);
          mapping = { prefix, target: 'exclude', timeoutMs: undefined, where: ctx.where };
        } else {
          const target = parseTarget(ctx, urlOrBang);
          const timeoutMs = parseParameters(ctx, params);
          if (target.path !== '' && prefix.endsWith('/') !== target.path.endsWith('/')) {
            ctx.warn(`ProxyPass ${prefix} ${urlOrBang}: one ends with "/" and the other does not, so paths are joined without or with a doubled "/"`);
          }
          mapping = { prefix, target, timeoutMs, where: ctx.where };
        }
        const server = ctx.server(proxyModule);
        if (inSection) {
          (ctx.dir(proxyModule) as { pass: ProxyMapping | undefined }).pass = mapping;
          server.locationPasses = true;
        } else {
          server.passes.push(mapping);
        }
      },
    },
    {
      name: 'ProxyPassReverse',
      context: 'any',
      minArgs: 1,
      maxArgs: 2,
      syntax: 'ProxyPassReverse [/path] http://host[:port][/path]',
      apply(ctx, args) {
        const inSection = ctx.section !== undefined || ctx.limit !== undefined;
        let path: string;
        let url: string;
        if (inSection) {
          path = locationPath(ctx, 'ProxyPassReverse');
          if (args.length !== 1) {
            ctx.error('CONFIG_BAD_ARGUMENT', 'ProxyPassReverse can not have a path when defined in a location.', 'syntax in a <Location>: ProxyPassReverse http://host:port/path');
          }
          url = args[0]!;
        } else {
          if (args.length !== 2) {
            ctx.error('CONFIG_BAD_ARGUMENT', 'ProxyPassReverse needs a path when not defined in a location', 'syntax: ProxyPassReverse /path http://host:port/path');
          }
          path = localPath(ctx, 'ProxyPassReverse', args[0]!);
          url = args[1]!;
        }
        if (!/^(?:https?|wss?):\/\/[^/?#]+/i.test(url)) {
          ctx.error('CONFIG_BAD_ARGUMENT', `ProxyPassReverse URL must be absolute (http://host[:port][/path]): ${url}`);
        }
        (ctx.dir(proxyModule).reverse as ReverseMapping[]).push({ path, url });
      },
    },
    {
      name: 'ProxyTimeout',
      context: 'server',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'ProxyTimeout seconds',
      apply(ctx, [value]) {
        const seconds = /^\d+$/.test(value!) ? Number(value) : 0;
        if (seconds < 1) ctx.error('CONFIG_BAD_ARGUMENT', 'Proxy Timeout must be at least 1 second.', 'syntax: ProxyTimeout seconds');
        ctx.server(proxyModule).timeoutMs = seconds * 1000;
      },
    },
    {
      name: 'AuthTsUserHeader',
      context: 'server',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'AuthTsUserHeader header-name',
      apply(ctx, [name]) {
        if (!TOKEN.test(name!)) ctx.error('CONFIG_BAD_ARGUMENT', `AuthTsUserHeader: not a valid header name: ${name}`);
        if (RESERVED_HEADERS.has(name!.toLowerCase())) {
          ctx.error('CONFIG_BAD_ARGUMENT', `AuthTsUserHeader cannot be ${name}: that header frames or routes the request`);
        }
        ctx.server(proxyModule).userHeader = name!;
      },
    },
  ],
};
