/**
 * mod_authn_socache: the credential cache. `AuthBasicProvider socache file` with
 * `AuthnCacheProvideFor file` remembers, for `AuthnCacheTimeout` seconds, that a user name and
 * password were granted by `file`, so the next request with them skips the provider entirely.
 *
 * Unlike httpd (which caches the stored hash and verifies it again on every request), authts
 * caches the verified credential itself, safely:
 * - the cache key is HMAC-SHA256 under a per-deployment secret (`AuthTsCacheSecret`; a random
 *   per-process secret for `memory`) of the context, the providers' source identities, the user
 *   and the whole password, each length-prefixed: no framing ambiguity, no length cut;
 * - the store holds only such keys (and an expiry): never the password, nor an unkeyed hash;
 * - only `'granted'` is stored, and only when the granting provider is in `AuthnCacheProvideFor`;
 *   `'denied'`, `'not-found'` and errors never are;
 * - the identity of each cached provider's source (the `AuthUserFile`'s device, inode, size and
 *   times) is part of the key, so a change to the file makes every entry miss at once; while the
 *   file is unreadable or changed too recently to be trusted, nothing is looked up or stored;
 * - a store that cannot answer (Redis down or slow, bounded wait) is a miss: the provider is
 *   asked, never a grant from nothing; an expired entry is never used, provider outage or not.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { SourceLocation } from '../errors.js';
import type { AuthnProviderRef, AuthnResult, AuthnProvider, Module } from '../module.js';
import type { AuthRequest } from '../request.js';
import { withAliasSettings } from '../request-state.js';
import {
  createMemoryCredentialStore,
  createRedisCredentialStore,
  type CredentialStore,
} from './credential-store.js';
import { MIN_SECRET_BYTES, readSecretArgument } from './secret.js';
import { moduleKind, parseStoreSpec, PerConfigurationStores, requireSecretForRedis, type StoreRuntime, type StoreSpec } from './shared-stores.js';

export { parseStoreSpec };

/** Per-section settings of `authn_socache`. */
export interface AuthnSocacheSettings {
  /** `AuthnCacheProvideFor`: the providers whose grants are cached. */
  provideFor: readonly string[] | undefined;
  /** `AuthnCacheTimeout` in seconds (default 300). */
  timeout: number | undefined;
  /** `AuthnCacheContext`: `directory` (default), `server`, or a custom string. */
  context: string | undefined;
}

/** What `AuthnCacheSOCache` chose. */
/** Where a cache lives: `memory` (also `shmcb`) or Redis. */
export type CacheStoreSpec = StoreSpec;

/** Server-wide settings of `authn_socache`. */
export interface AuthnSocacheServerSettings {
  store: CacheStoreSpec | undefined;
  storeWhere: SourceLocation | undefined;
  /** `AuthTsCacheSecret`, read at load. */
  secret: Buffer | undefined;
  secretWhere: SourceLocation | undefined;
  /** `AuthnCacheEnable` was given. */
  enabled: boolean;
}

/** Default `AuthnCacheTimeout`, as httpd's. */
export const DEFAULT_CACHE_TIMEOUT_SECONDS = 300;
/** The shortest `AuthTsCacheSecret` accepted, in bytes. */
export { MIN_SECRET_BYTES };

/**
 * The cache key of one credential: hex HMAC-SHA256 under `secret` of a version tag, `context`,
 * `generation` (the cached providers' source identities), `user` and `password`, each as a
 * 4-byte big-endian length followed by its UTF-8 bytes. Nothing is cut: every byte of every
 * part changes the key, and no two different tuples frame to the same bytes.
 *
 * @example
 * ```ts
 * credentialCacheKey(secret, '/private', 'file=…', 'alice', 'secret') !==
 *   credentialCacheKey(secret, '/private', 'file=…', 'alice:', 'ecret'); // true
 * ```
 */
export function credentialCacheKey(
  secret: Buffer,
  context: string,
  generation: string,
  user: string,
  password: string,
): string {
  if (!Buffer.isBuffer(secret) || secret.length === 0) throw new TypeError('credentialCacheKey: secret must be a non-empty Buffer');
  let key = hmacKeys.get(secret);
  if (key === undefined) {
    key = createSecretKey(secret);
    hmacKeys.set(secret, key);
  }
  // One buffer, one update: each part as its 4-byte big-endian length then its UTF-8 bytes.
  const parts = ['authts-authn-cache-v1', context, generation, user, password];
  let size = 0;
  for (const part of parts) size += 4 + Buffer.byteLength(part, 'utf8');
  const framed = Buffer.allocUnsafe(size);
  let at = 0;
  for (const part of parts) {
    const length = framed.write(part, at + 4, 'utf8');
    framed.writeUInt32BE(length, at);
    at += 4 + length;
  }
  const digest = createHmac('sha256', key).update(framed).digest('hex');
  // The framed buffer holds the password: clear it rather than leave it to the allocator pool.
  framed.fill(0);
  return digest;
}

/** The HMAC key made from each secret Buffer, made once (a secret lives as long as its configuration). */
const hmacKeys = new WeakMap<Buffer, KeyObject>();

/** Options of {@link createAuthnSocacheModule}. */
export interface AuthnSocacheOptions {
  /** The clock of the in-process store, in ms (default `Date.now`); tests inject their own. */
  readonly now?: () => number;
  /** Keys in Redis start with this (default `authts:authn:`); tests use their own. */
  readonly redisPrefix?: string;
  /** The longest a Redis operation may take before it counts as a miss (default 250 ms). */
  readonly redisTimeoutMs?: number;
  /** Size of the in-process store (default 10 000 entries). */
  readonly maxEntries?: number;
}

/** A configuration's store and secret, made on first use. */
type Runtime = StoreRuntime<CredentialStore>;

/** The `authn_socache` module plus the two calls `AuthBasicProvider` makes into it. */
export interface AuthnSocacheModule extends Module<AuthnSocacheSettings, AuthnSocacheServerSettings> {
  /** The `socache` provider: a hit answers `'granted'`, anything else `'not-found'`. */
  readonly provider: AuthnProvider;
  /**
   * Looks the credential up for `req` whose provider chain is `chain`: `'granted'` on a live
   * entry, `'not-found'` otherwise (no entry, expired, store down, source unreadable or racy).
   * Never throws.
   */
  lookup(req: AuthRequest, chain: readonly AuthnProviderRef[], user: string, password: string): Promise<AuthnResult>;
  /** After `ref` granted: remembers the credential when `ref` is in `AuthnCacheProvideFor`. Never throws. */
  store(req: AuthRequest, chain: readonly AuthnProviderRef[], ref: AuthnProviderRef, user: string, password: string): Promise<void>;
  /**
   * Lookups since the module was made, over every configuration using it (metrics, status page):
   * a `miss` is every lookup that did not answer `'granted'` (no entry, store down, …).
   *
   * @example
   * ```ts
   * authnSocache.stats(); // { hits: 12, misses: 3 }
   * ```
   */
  stats(): AuthnCacheStats;
}

/** What {@link AuthnSocacheModule.stats} counts. */
export interface AuthnCacheStats {
  readonly hits: number;
  readonly misses: number;
}

/**
 * Creates the `authn_socache` module: directives `AuthnCacheSOCache`, `AuthnCacheEnable`,
 * `AuthTsCacheSecret` (server config), `AuthnCacheProvideFor`, `AuthnCacheTimeout`,
 * `AuthnCacheContext` (section), and the authn provider `socache`.
 *
 * @example
 * ```ts
 * const socache = createAuthnSocacheModule({ now: () => clock });
 * // AuthBasicProvider socache file / AuthnCacheProvideFor file
 * ```
 */
export function createAuthnSocacheModule(options: AuthnSocacheOptions = {}): AuthnSocacheModule {
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('createAuthnSocacheModule: options.now must be a function');
  const stores = new PerConfigurationStores<CredentialStore>('CACHE_UNAVAILABLE', 'its credential cache');
  const counts = { hits: 0, misses: 0 };

  function runtimeFor(server: AuthnSocacheServerSettings): Runtime {
    return stores.runtimeFor(server, (spec) =>
      spec.kind === 'memory'
        ? Promise.resolve(createMemoryCredentialStore({ now, ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }) }))
        : createRedisCredentialStore({
            url: spec.url,
            ...(options.redisPrefix === undefined ? {} : { prefix: options.redisPrefix }),
            ...(options.redisTimeoutMs === undefined ? {} : { timeoutMs: options.redisTimeoutMs }),
          }),
    );
  }

  /** The context of the key, as httpd's construct_key: the directory of the URI by default. */
  function contextOf(req: AuthRequest): string {
    const context = req.settings(module).context ?? 'directory';
    if (context === 'directory') return `d:${req.path.slice(0, req.path.lastIndexOf('/') + 1)}`;
    if (context === 'server') return 's:';
    return `c:${context}`;
  }

  /**
   * The identities of the cached providers in the chain (each under its alias's settings), or
   * `undefined` when one of them cannot vouch for its source now, or nothing is cached here.
   */
  function generationOf(req: AuthRequest, chain: readonly AuthnProviderRef[]): string | undefined {
    const provideFor = req.settings(module).provideFor;
    if (!provideFor || provideFor.length === 0) return undefined;
    const parts: string[] = [];
    for (const ref of chain) {
      if (!provideFor.includes(ref.name)) continue;
      const target = ref.aliasSettings ? withAliasSettings(req, ref.aliasSettings) : req;
      let identity: string | undefined = '';
      if (ref.provider.cacheIdentity) {
        try {
          identity = ref.provider.cacheIdentity(target);
        } catch {
          identity = undefined;
        }
      }
      if (identity === undefined) return undefined;
      parts.push(`${ref.name.length}:${ref.name}:${identity.length}:${identity}`);
    }
    return parts.length === 0 ? undefined : parts.join(';');
  }

  function ttlMs(req: AuthRequest): number {
    return (req.settings(module).timeout ?? DEFAULT_CACHE_TIMEOUT_SECONDS) * 1000;
  }

  async function lookup(req: AuthRequest, chain: readonly AuthnProviderRef[], user: string, password: string): Promise<AuthnResult> {
    const result = await lookupUncounted(req, chain, user, password);
    if (result === 'granted') counts.hits++;
    else counts.misses++;
    return result;
  }

  async function lookupUncounted(req: AuthRequest, chain: readonly AuthnProviderRef[], user: string, password: string): Promise<AuthnResult> {
    try {
      if (ttlMs(req) <= 0) return 'not-found';
      const generation = generationOf(req, chain);
      if (generation === undefined) return 'not-found';
      const runtime = runtimeFor(req.serverSettings(module));
      const key = credentialCacheKey(runtime.secret, contextOf(req), generation, user, password);
      const hit = await (await runtime.store).has(key);
      req.log.debug({ user, cache: hit ? 'hit' : 'miss' }, hit ? 'authn cache hit' : 'authn cache miss');
      return hit ? 'granted' : 'not-found';
    } catch (err) {
      req.log.warn({ code: 'CACHE_UNAVAILABLE', err }, 'authn cache lookup failed; asking the provider');
      return 'not-found';
    }
  }

  async function store(
    req: AuthRequest,
    chain: readonly AuthnProviderRef[],
    ref: AuthnProviderRef,
    user: string,
    password: string,
  ): Promise<void> {
    try {
      const provideFor = req.settings(module).provideFor;
      if (!provideFor?.includes(ref.name)) return;
      const ttl = ttlMs(req);
      if (ttl <= 0) return;
      const generation = generationOf(req, chain);
      if (generation === undefined) return;
      const runtime = runtimeFor(req.serverSettings(module));
      const key = credentialCacheKey(runtime.secret, contextOf(req), generation, user, password);
      await (await runtime.store).put(key, ttl);
      req.log.debug({ user, cache: 'stored', provider: ref.name }, 'authn cache stored');
    } catch (err) {
      req.log.warn({ code: 'CACHE_UNAVAILABLE', err }, 'authn cache store failed');
    }
  }

  const provider: AuthnProvider = {
    // Used outside AuthBasicProvider (which calls lookup with its chain), there is no chain
    // whose grants could have been cached: never a grant.
    checkPassword: async function socacheCheckPassword(): Promise<AuthnResult> {
      return 'not-found';
    },
    // `AuthDigestProvider socache …` loads as in httpd, whose socache keeps the realm hash
    // MD5(user:realm:password). That hash is a password equivalent (it answers any Digest
    // challenge) and a fast unkeyed hash of the password, which no store of authts ever holds:
    // every Digest lookup goes on to the next provider. The answer is the same; only httpd's
    // saving is not made.
    getRealmHash: async function socacheGetRealmHash(): Promise<string | undefined> {
      return undefined;
    },
  };

  const module: AuthnSocacheModule = {
    name: 'authn_socache',
    provider,
    lookup,
    store,
    stats: () => ({ ...counts }),
    createDirSettings: () => ({ provideFor: undefined, timeout: undefined, context: undefined }),
    mergeDirSettings: (base, add) => ({
      provideFor: add.provideFor ?? base.provideFor,
      timeout: add.timeout ?? base.timeout,
      context: add.context ?? base.context,
    }),
    createServerSettings: () => ({ store: undefined, storeWhere: undefined, secret: undefined, secretWhere: undefined, enabled: false }),
    authnProviders: { socache: provider },
    directives: [
      {
        name: 'AuthnCacheSOCache',
        context: 'server',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthnCacheSOCache memory|shmcb[:args]|redis:<host:port>|redis:<redis://URL>',
        apply(ctx, [arg]) {
          const spec = parseStoreSpec(arg ?? '');
          if (!spec) {
            ctx.error('CONFIG_BAD_ARGUMENT', `unknown cache store "${arg ?? ''}"`, 'use memory, shmcb, redis:host:port or redis:redis://host:port');
          }
          const server = ctx.server(module);
          server.store = spec;
          server.storeWhere = ctx.where;
        },
      },
      {
        name: 'AuthnCacheEnable',
        context: 'server',
        minArgs: 0,
        maxArgs: 0,
        syntax: 'AuthnCacheEnable',
        apply(ctx) {
          ctx.server(module).enabled = true;
        },
      },
      {
        name: 'AuthTsCacheSecret',
        context: 'server',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsCacheSecret file:<path>|env:<NAME>',
        apply(ctx, [arg]) {
          const server = ctx.server(module);
          server.secret = readSecretArgument(ctx, arg ?? '');
          server.secretWhere = ctx.where;
        },
      },
      {
        name: 'AuthnCacheProvideFor',
        context: 'section',
        minArgs: 0,
        syntax: 'AuthnCacheProvideFor provider-name [provider-name] …',
        apply(ctx, args) {
          for (const name of args) {
            if (name === 'socache') ctx.error('CONFIG_BAD_ARGUMENT', 'the cache cannot cache itself: name the providers it stands in front of');
            if (!ctx.authnProvider(name)) ctx.error('CONFIG_UNKNOWN_PROVIDER', `Unknown Authn provider: ${name}`);
          }
          ctx.dir(module).provideFor = [...args];
        },
      },
      {
        name: 'AuthnCacheTimeout',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthnCacheTimeout seconds',
        apply(ctx, [arg]) {
          const value = arg ?? '';
          if (!/^\d{1,9}$/.test(value)) ctx.error('CONFIG_BAD_ARGUMENT', `AuthnCacheTimeout must be a whole number of seconds (got "${value}")`);
          ctx.dir(module).timeout = Number(value);
        },
      },
      {
        name: 'AuthnCacheContext',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthnCacheContext directory|server|custom-string',
        apply(ctx, [arg]) {
          if (!arg) ctx.error('CONFIG_BAD_ARGUMENT', 'AuthnCacheContext needs directory, server or a string');
          ctx.dir(module).context = arg;
        },
      },
    ],
    checkConfig(view) {
      requireSecretForRedis(view, module, 'AuthnCacheSOCache', 'AuthTsCacheSecret', 'cache');
    },
    release: function releaseSocache(config): Promise<void> {
      return stores.release(config.serverSettings(module));
    },
    close: function closeSocache(): Promise<void> {
      return stores.closeAll();
    },
  };
  socacheKind.mark(module);
  return module;
}

const socacheKind = moduleKind<AuthnSocacheModule>();

/**
 * The `authn_socache` module among `modules` (a configuration's registry), or `undefined`.
 *
 * @example
 * ```ts
 * findSocacheModule(requestConfig(req).registry.modules)?.store(req, chain, ref, user, password);
 * ```
 */
export function findSocacheModule(modules: readonly Module<any, any>[]): AuthnSocacheModule | undefined {
  return socacheKind.find(modules);
}

/**
 * The built-in `authn_socache` module.
 *
 * @example
 * ```ts
 * new Registry([authnCore, authnFile, authBasic, authnSocache]);
 * ```
 */
export const authnSocache: AuthnSocacheModule = createAuthnSocacheModule();
