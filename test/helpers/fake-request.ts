/**
 * A plain-object {@link AuthRequest} for unit tests: every field has a harmless default and any
 * of them can be overridden.
 */
import { silentLogger } from '../../src/log.js';
import type { Module } from '../../src/module.js';
import type { AuthRequest } from '../../src/request.js';

/** What {@link fakeRequest} accepts: any request field, plus per-module settings. */
export interface FakeRequestInit {
  readonly method?: string;
  readonly path?: string;
  readonly query?: string;
  readonly unparsedUri?: string;
  readonly filename?: string;
  /** Header names are lower-cased. */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly remoteAddress?: string;
  readonly localAddress?: string;
  readonly tls?: boolean;
  readonly user?: string;
  readonly authType?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly notes?: Readonly<Record<string, unknown>>;
  readonly responseHeaders?: Readonly<Record<string, string>>;
  readonly settings?: ReadonlyMap<Module<any, any>, unknown>;
  readonly serverSettings?: ReadonlyMap<Module<any, any>, unknown>;
}

/**
 * A request as the engine would hand it to providers: `GET /` from 192.0.2.1 to 127.0.0.1
 * unless told otherwise.
 *
 * @example
 * ```ts
 * const req = fakeRequest({ path: '/admin/', query: 'a=1', headers: { 'User-Agent': 'curl' } });
 * ```
 */
export function fakeRequest(init: FakeRequestInit = {}): AuthRequest {
  const path = init.path ?? '/';
  const query = init.query ?? '';
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  const settings = init.settings ?? new Map();
  const serverSettings = init.serverSettings ?? new Map();
  return {
    method: init.method ?? 'GET',
    path,
    query,
    unparsedUri: init.unparsedUri ?? (query ? `${path}?${query}` : path),
    filename: init.filename,
    headers,
    duplicateAuthorization: false,
    remoteAddress: init.remoteAddress ?? '192.0.2.1',
    localAddress: init.localAddress ?? '127.0.0.1',
    tls: init.tls ?? false,
    user: init.user,
    authType: init.authType,
    env: new Map(Object.entries(init.env ?? {})),
    notes: new Map(Object.entries(init.notes ?? {})),
    responseHeaders: new Map(Object.entries(init.responseHeaders ?? {})),
    settings<S>(module: Module<S>): S {
      if (!settings.has(module)) throw new Error(`fakeRequest: no settings for module ${module.name}`);
      return settings.get(module) as S;
    },
    serverSettings<SS>(module: Module<unknown, SS>): SS {
      if (!serverSettings.has(module)) throw new Error(`fakeRequest: no server settings for module ${module.name}`);
      return serverSettings.get(module) as SS;
    },
    log: silentLogger,
  };
}
