/**
 * What the stores of the credential cache (./socache.ts), brute-force regulation
 * (./regulation.ts), Digest nonces (./digest.ts) and sessions (../session/module.ts) share: the
 * store argument (`memory`, `redis:…`) and its directive; one store and key secret per loaded
 * configuration, made on first use and released with the configuration; the load-time rule that
 * a Redis store needs a shared secret; and finding the module among a configuration's modules.
 */
import { randomBytes } from 'node:crypto';
import { AuthTsError, type AuthTsErrorCode, type SourceLocation } from '../errors.js';
import type { CheckView, DirectiveContext, DirectiveSpec, Module } from '../module.js';

/** A store that can be closed (memory or Redis). */
export interface ClosableStore {
  close(): Promise<void>;
}

/** Where a store lives, as its directive gave it. */
export type StoreSpec = { readonly kind: 'memory' } | { readonly kind: 'redis'; readonly url: string };

/**
 * Parses `AuthnCacheSOCache`'s argument: `memory`, `shmcb`, `shmcb:…` (httpd's shared-memory
 * cache, taken as the in-process store so httpd configurations load), `redis:host:port`,
 * `redis:redis://…` / `redis:rediss://…`; `undefined` for anything else.
 *
 * @example
 * ```ts
 * parseStoreSpec('redis:127.0.0.1:6379'); // { kind: 'redis', url: 'redis://127.0.0.1:6379' }
 * ```
 */
export function parseStoreSpec(arg: string): StoreSpec | undefined {
  const lower = arg.toLowerCase();
  if (lower === 'memory' || lower === 'shmcb' || lower.startsWith('shmcb:')) return { kind: 'memory' };
  if (!lower.startsWith('redis:')) return undefined;
  const rest = arg.slice('redis:'.length);
  if (/^rediss?:\/\/[^/\s]+/i.test(rest)) return { kind: 'redis', url: rest };
  if (/^[A-Za-z0-9.-]+:\d{1,5}$/.test(rest) || /^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/.test(rest)) {
    return { kind: 'redis', url: `redis://${rest}` };
  }
  return undefined;
}

/**
 * A server-level `<name> memory|redis:…` directive of a store that, unlike the credential cache,
 * has no httpd counterpart: `shmcb` is refused (it is accepted only where httpd configurations
 * name it, `AuthnCacheSOCache`). `what` names the store in the error.
 *
 * @example
 * ```ts
 * storeDirective('AuthTsSessionStore', 'session store', (ctx) => ctx.server(sessionModule));
 * ```
 */
export function storeDirective(
  name: string,
  what: string,
  settingsOf: (ctx: DirectiveContext) => { store: StoreSpec | undefined; storeWhere: SourceLocation | undefined },
): DirectiveSpec {
  return {
    name,
    context: 'server',
    minArgs: 1,
    maxArgs: 1,
    syntax: `${name} memory|redis:<host:port>|redis:<redis://URL>`,
    apply(ctx, [arg]) {
      const spec = arg?.toLowerCase().startsWith('shmcb') ? undefined : parseStoreSpec(arg ?? '');
      if (!spec) ctx.error('CONFIG_BAD_ARGUMENT', `unknown ${what} "${arg ?? ''}"`, 'use memory, redis:host:port or redis:redis://host:port');
      const settings = settingsOf(ctx);
      settings.store = spec;
      settings.storeWhere = ctx.where;
    },
  };
}

/** The server settings both modules keep: the store, where it was set, and the key secret. */
export interface StoreServerSettings {
  readonly store: StoreSpec | undefined;
  readonly storeWhere: SourceLocation | undefined;
  readonly secret: Buffer | undefined;
}

/** One configuration's store (opening, or open) and its key secret. */
export interface StoreRuntime<S extends ClosableStore> {
  readonly store: Promise<S>;
  readonly secret: Buffer;
}

/**
 * The stores of every configuration a module serves. A configuration's store opens on its first
 * request and closes when the configuration is released; a late request under a released
 * configuration gets `unavailable` (it never reopens a connection).
 *
 * @example
 * ```ts
 * const stores = new PerConfigurationStores<MyStore>('CACHE_UNAVAILABLE', 'its credential cache');
 * const runtime = stores.runtimeFor(server, (spec) => openStore(spec));
 * ```
 */
export class PerConfigurationStores<S extends ClosableStore> {
  readonly #runtimes = new WeakMap<StoreServerSettings, StoreRuntime<S>>();
  readonly #all = new Set<StoreRuntime<S>>();
  readonly #released = new WeakSet<StoreServerSettings>();
  readonly #unavailable: AuthTsErrorCode;
  readonly #what: string;

  /** `unavailable` and `what` make the error of a request under a released configuration. */
  constructor(unavailable: AuthTsErrorCode, what: string) {
    this.#unavailable = unavailable;
    this.#what = what;
  }

  /**
   * The runtime of `server`, opening its store with `open` on first use. checkConfig refuses a
   * Redis store without a shared secret, so a missing secret means memory: a random
   * per-process one is used.
   */
  runtimeFor(server: StoreServerSettings, open: (spec: StoreSpec) => Promise<S>): StoreRuntime<S> {
    let runtime = this.#runtimes.get(server);
    if (runtime) return runtime;
    if (this.#released.has(server)) {
      throw new AuthTsError(this.#unavailable, `the configuration was closed: ${this.#what} is released`);
    }
    const store = open(server.store ?? { kind: 'memory' });
    store.catch(() => {});
    runtime = { store, secret: server.secret ?? randomBytes(32) };
    this.#runtimes.set(server, runtime);
    this.#all.add(runtime);
    return runtime;
  }

  /** Closes the store of one configuration (`Module.release`). */
  async release(server: StoreServerSettings): Promise<void> {
    this.#released.add(server);
    const runtime = this.#runtimes.get(server);
    if (!runtime) return;
    this.#runtimes.delete(server);
    this.#all.delete(runtime);
    await (await runtime.store.catch(() => undefined))?.close();
  }

  /** Closes every store (`Module.close`). */
  async closeAll(): Promise<void> {
    const open = [...this.#all];
    this.#all.clear();
    await Promise.all(open.map(async (runtime) => (await runtime.store.catch(() => undefined))?.close()));
  }
}

/**
 * The load-time rule of both modules: a Redis store is shared between processes, so it needs
 * the same secret everywhere (`secretDirective`); a per-process random one would make every
 * process miss the others' entries, or count apart.
 */
export function requireSecretForRedis(
  view: CheckView,
  module: Module<any, StoreServerSettings>,
  storeDirective: string,
  secretDirective: string,
  what: string,
): void {
  const server = view.serverSettings(module);
  if (server.store?.kind === 'redis' && server.secret === undefined) {
    const file = secretDirective === 'AuthTsCacheSecret' ? 'cache-secret' : 'regulation-secret';
    view.error(
      server.storeWhere ?? { file: '', line: 0 },
      storeDirective,
      'CONFIG_CACHE_SECRET',
      `a Redis ${what} is shared between processes: it needs ${secretDirective} (the same secret on every authts using it)`,
      `${secretDirective} file:/etc/authts/${file} (made with: openssl rand -hex 32)`,
    );
  }
}

/**
 * Marks modules of one kind and finds one among a configuration's modules (memoized per module
 * list), for the Basic scheme to reach the cache and regulation of the configuration it runs in.
 *
 * @example
 * ```ts
 * const kind = moduleKind<RegulationModule>();
 * kind.mark(module);
 * kind.find(requestConfig(req).registry.modules)?.bannedFor(req, user);
 * ```
 */
export function moduleKind<M extends Module<any, any>>(): {
  mark(module: M): void;
  find(modules: readonly Module<any, any>[]): M | undefined;
} {
  const marked = new WeakSet<Module<any, any>>();
  const foundIn = new WeakMap<readonly Module<any, any>[], M | null>();
  return {
    mark(module) {
      marked.add(module);
    },
    find(modules) {
      let found = foundIn.get(modules);
      if (found === undefined) {
        found = (modules.find((m) => marked.has(m)) as M | undefined) ?? null;
        foundIn.set(modules, found);
      }
      return found ?? undefined;
    },
  };
}
