import type { DirConfig, Config } from './config/config.js';
import type { Logger } from './log.js';
import type { Module } from './module.js';
import type { RequestObserver } from './observe.js';
import type { AuthRequest } from './request.js';
import { requestBodyReader, type BodyReader } from './request-body.js';

/** The request as it arrived, before any phase ran; what adapters and the server hand in. */
export interface RequestInfo {
  readonly method: string;
  readonly path: string;
  readonly query?: string;
  readonly unparsedUri?: string;
  readonly filename?: string | undefined;
  readonly isDirectory?: boolean | undefined;
  /** Header values as node:http gives them (`IncomingMessage.headersDistinct` shape or plain). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly remoteAddress: string;
  readonly localAddress?: string;
  readonly tls?: boolean;
  /**
   * Reads the body, at most `limit` bytes (`bodyReader(req)` from `src/request-body.ts` for
   * node:http); called only when a handler asks for the body. See `BodyReader` for the contract.
   */
  readonly readBody?: BodyReader | undefined;
  /** Watches the provider answers of this request (see ./observe.ts). */
  readonly observer?: RequestObserver | undefined;
}

const configOf = new WeakMap<AuthRequest, Config>();

/** The configuration a request is being answered under (for the built-in modules). */
export function requestConfig(req: AuthRequest): Config {
  const config = configOf.get(req);
  if (!config) throw new TypeError('this AuthRequest was not made by authts');
  return config;
}

/** Strips the IPv4-mapped prefix so `::ffff:10.0.0.1` is matched as `10.0.0.1`. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Builds the {@link AuthRequest} for one request under `config`. */
export function createAuthRequest(config: Config, dir: DirConfig, info: RequestInfo, log: Logger): AuthRequest {
  const headers: Record<string, string | undefined> = {};
  let duplicateAuthorization = false;
  for (const [rawName, value] of Object.entries(info.headers)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (typeof value === 'string') {
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      continue;
    }
    if (name === 'authorization' && value.length > 1) {
      duplicateAuthorization = true;
    }
    headers[name] = value.join(', ');
  }
  const req: AuthRequest = {
    method: info.method.toUpperCase(),
    path: info.path,
    query: info.query ?? '',
    unparsedUri: info.unparsedUri ?? (info.query ? `${info.path}?${info.query}` : info.path),
    filename: info.filename,
    headers: Object.freeze(headers),
    duplicateAuthorization,
    remoteAddress: plainAddress(info.remoteAddress),
    localAddress: plainAddress(info.localAddress ?? ''),
    tls: info.tls ?? false,
    user: undefined,
    authType: undefined,
    env: new Map(),
    notes: new Map(),
    responseHeaders: new Map(),
    settings: <S>(module: Module<S, any>): S => dir.get(module),
    serverSettings: <SS>(module: Module<any, SS>): SS => config.serverSettings(module),
    log,
    readBody: requestBodyReader(info.readBody, headers),
    observer: info.observer,
  };
  configOf.set(req, config);
  return req;
}

/**
 * The request as a provider alias sees it: the alias's own settings merged over the request's
 * (httpd merges the alias's `sec_auth` over `r->per_dir_config` for the call). Changes to
 * `user`, `env`… go to the original request.
 */
export function withAliasSettings(
  req: AuthRequest,
  aliasSettings: ReadonlyMap<Module<any, any>, unknown>,
): AuthRequest {
  const view = Object.create(req, {
    settings: {
      value: <S>(module: Module<S, any>): S => {
        const base = req.settings(module);
        if (!aliasSettings.has(module)) return base;
        const add = aliasSettings.get(module) as S;
        return module.mergeDirSettings ? module.mergeDirSettings(base, add) : add;
      },
    },
    user: {
      get: () => req.user,
      set: (value: string | undefined) => {
        req.user = value;
      },
    },
    authType: {
      get: () => req.authType,
      set: (value: string | undefined) => {
        req.authType = value;
      },
    },
  }) as AuthRequest;
  configOf.set(view, requestConfig(req));
  return view;
}
