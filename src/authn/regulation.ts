/**
 * Brute-force regulation (`AuthTsRegulation*`; httpd has none): at most `MaxRetries` failed
 * Basic logins within `FindTime` seconds per user name and/or per client address, then a ban of
 * `BanTime` seconds during which the request is answered 429 with `Retry-After` before any
 * provider (the credential cache included) is asked.
 *
 * - An unknown user and a wrong password are both failures, and a banned request is refused
 *   before the provider chain: the answer never tells whether the user exists.
 * - User names are counted under an HMAC-SHA256 (per-deployment `AuthTsRegulationSecret`, a
 *   random per-process one for `memory`) of their NFC, lower-cased form; addresses under an
 *   HMAC of the address (IPv4, or the /64 of an IPv6 address). The store never sees a password
 *   or a user name.
 * - A success forgets that user's failures only; it never clears the address's counter, so one
 *   valid account does not launder a password-spraying run from the same address.
 * - A store that cannot answer (Redis down or slow, bounded wait) fails open: the provider
 *   decides as without regulation, and a warning `REGULATION_UNAVAILABLE` is logged.
 */
import { createHmac } from 'node:crypto';
import type { SourceLocation } from '../errors.js';
import { parseAddress } from '../expr/ipsubnet.js';
import { onOffDirective } from '../config/args.js';
import type { DirectiveSpec, Module } from '../module.js';
import type { AuthRequest } from '../request.js';
import { createMemoryRegulationStore, createRedisRegulationStore, type RegulationStore } from './regulation-store.js';
import { readSecretArgument } from './secret.js';
import type { CacheStoreSpec } from './socache.js';
import { moduleKind, PerConfigurationStores, requireSecretForRedis, storeDirective, type StoreRuntime } from './shared-stores.js';

/** What `AuthTsRegulationMode` counts. */
export interface RegulationMode {
  readonly user: boolean;
  readonly ip: boolean;
}

/** Per-section settings (also given at server level, as the base of every section). */
export interface RegulationSettings {
  enabled: boolean | undefined;
  maxRetries: number | undefined;
  findTime: number | undefined;
  banTime: number | undefined;
  mode: RegulationMode | undefined;
}

/** Server-wide settings. */
export interface RegulationServerSettings {
  store: CacheStoreSpec | undefined;
  storeWhere: SourceLocation | undefined;
  secret: Buffer | undefined;
}

/** Defaults: 5 failures within 10 minutes ban for 10 minutes, per user and per address. */
export const REGULATION_DEFAULTS = { maxRetries: 5, findTime: 600, banTime: 600, mode: { user: true, ip: true } } as const;

/** Options of {@link createRegulationModule}. */
export interface RegulationOptions {
  /** The clock of the in-process store, in ms (default `Date.now`); tests inject their own. */
  readonly now?: () => number;
  /** Keys in Redis start with this (default `authts:reg:`); tests use their own. */
  readonly redisPrefix?: string;
  /** The longest a Redis operation may take (default 250 ms). */
  readonly redisTimeoutMs?: number;
}

/** What Basic asks before and after its provider chain. */
export interface RegulationModule extends Module<RegulationSettings, RegulationServerSettings> {
  /** Remaining ban in whole seconds (>= 1) when `req` (with `user`) is banned; 0 otherwise. Never throws. */
  bannedFor(req: AuthRequest, user: string): Promise<number>;
  /** Records the outcome of a login: a failure counts, a success forgets the user's failures. Never throws. */
  record(req: AuthRequest, user: string, success: boolean): Promise<void>;
  /**
   * Counts since the module was made, over every configuration using it (metrics, status page):
   * `bans` started, and `refused` logins answered 429 because of a ban.
   *
   * @example
   * ```ts
   * authTsRegulation.stats(); // { bans: 1, refused: 4 }
   * ```
   */
  stats(): RegulationStats;
}

/** What {@link RegulationModule.stats} counts. */
export interface RegulationStats {
  readonly bans: number;
  readonly refused: number;
}

type Runtime = StoreRuntime<RegulationStore>;

/**
 * The regulation key of a user name: `u:` and the hex HMAC-SHA256 under `secret` of its NFC,
 * lower-cased form (so `Alice` and `alice` share one counter, as a case-insensitive directory
 * would treat them).
 *
 * @example
 * ```ts
 * regulationUserKey(secret, 'Alice') === regulationUserKey(secret, 'alice'); // true
 * ```
 */
export function regulationUserKey(secret: Buffer, user: string): string {
  return `u:${createHmac('sha256', secret).update('authts-regulation-user-v1\0').update(user.normalize('NFC').toLowerCase(), 'utf8').digest('hex')}`;
}

/**
 * The regulation key of a client address: `i:` and the hex HMAC of the IPv4 address, or of the
 * /64 an IPv6 address is in (one host commonly holds a whole /64).
 *
 * @example
 * ```ts
 * regulationAddressKey(secret, '::ffff:192.0.2.1') === regulationAddressKey(secret, '192.0.2.1'); // true
 * ```
 */
export function regulationAddressKey(secret: Buffer, address: string): string {
  const parsed = parseAddress(address);
  const text = parsed === undefined ? `?${address}` : parsed.family === 4 ? `4:${parsed.words[0]}` : `6:${parsed.words[0]}:${parsed.words[1]}`;
  return `i:${createHmac('sha256', secret).update('authts-regulation-ip-v1\0').update(text, 'utf8').digest('hex')}`;
}

function secondsDirective(name: string, key: 'maxRetries' | 'findTime' | 'banTime', module: () => RegulationModule): DirectiveSpec {
  return {
    name,
    context: 'any',
    minArgs: 1,
    maxArgs: 1,
    syntax: `${name} ${key === 'maxRetries' ? 'count' : 'seconds'}`,
    apply(ctx, [arg]) {
      const value = arg ?? '';
      if (!/^\d{1,9}$/.test(value) || Number(value) < 1) {
        ctx.error('CONFIG_BAD_ARGUMENT', `${name} must be a whole number >= 1 (got "${value}")`);
      }
      ctx.dir(module())[key] = Number(value);
    },
  };
}

/**
 * Creates the regulation module: `AuthTsRegulation`, `AuthTsRegulationMaxRetries`,
 * `AuthTsRegulationFindTime`, `AuthTsRegulationBanTime`, `AuthTsRegulationMode` (server level or
 * in a section), `AuthTsRegulationStore` and `AuthTsRegulationSecret` (server level).
 *
 * @example
 * ```ts
 * const regulation = createRegulationModule({ now: () => clock });
 * // AuthTsRegulation On / AuthTsRegulationMaxRetries 3
 * ```
 */
export function createRegulationModule(options: RegulationOptions = {}): RegulationModule {
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('createRegulationModule: options.now must be a function');
  const stores = new PerConfigurationStores<RegulationStore>('REGULATION_UNAVAILABLE', 'its regulation store');
  const counts = { bans: 0, refused: 0 };

  function runtimeFor(server: RegulationServerSettings): Runtime {
    return stores.runtimeFor(server, (spec) =>
      spec.kind === 'memory'
        ? Promise.resolve(createMemoryRegulationStore({ now }))
        : createRedisRegulationStore({
            url: spec.url,
            ...(options.redisPrefix === undefined ? {} : { prefix: options.redisPrefix }),
            ...(options.redisTimeoutMs === undefined ? {} : { timeoutMs: options.redisTimeoutMs }),
          }),
    );
  }

  function keysOf(req: AuthRequest, runtime: Runtime, user: string): string[] {
    const mode = req.settings(module).mode ?? REGULATION_DEFAULTS.mode;
    const keys: string[] = [];
    if (mode.user) keys.push(regulationUserKey(runtime.secret, user));
    if (mode.ip) keys.push(regulationAddressKey(runtime.secret, req.remoteAddress));
    return keys;
  }

  async function bannedFor(req: AuthRequest, user: string): Promise<number> {
    if (req.settings(module).enabled !== true) return 0;
    try {
      const runtime = runtimeFor(req.serverSettings(module));
      const ms = await (await runtime.store).bannedFor(keysOf(req, runtime, user));
      if (ms > 0) counts.refused++;
      return ms > 0 ? Math.max(1, Math.ceil(ms / 1000)) : 0;
    } catch (err) {
      req.log.warn({ code: 'REGULATION_UNAVAILABLE', err }, 'regulation store could not answer; the provider decides');
      return 0;
    }
  }

  async function record(req: AuthRequest, user: string, success: boolean): Promise<void> {
    const settings = req.settings(module);
    if (settings.enabled !== true) return;
    try {
      const runtime = runtimeFor(req.serverSettings(module));
      const store = await runtime.store;
      if (success) {
        if ((settings.mode ?? REGULATION_DEFAULTS.mode).user) await store.forget(regulationUserKey(runtime.secret, user));
        return;
      }
      const banned = await store.fail(keysOf(req, runtime, user), {
        maxRetries: settings.maxRetries ?? REGULATION_DEFAULTS.maxRetries,
        findTimeMs: (settings.findTime ?? REGULATION_DEFAULTS.findTime) * 1000,
        banMs: (settings.banTime ?? REGULATION_DEFAULTS.banTime) * 1000,
      });
      if (banned > 0) counts.bans++;
      if (banned > 0) req.log.warn({ code: 'REGULATION_BAN', user, seconds: Math.ceil(banned / 1000) }, 'too many authentication failures: banned');
    } catch (err) {
      req.log.warn({ code: 'REGULATION_UNAVAILABLE', err }, 'regulation store could not record a login');
    }
  }

  const module: RegulationModule = {
    name: 'authts_regulation',
    bannedFor,
    record,
    stats: () => ({ ...counts }),
    createDirSettings: () => ({ enabled: undefined, maxRetries: undefined, findTime: undefined, banTime: undefined, mode: undefined }),
    mergeDirSettings: (base, add) => ({
      enabled: add.enabled ?? base.enabled,
      maxRetries: add.maxRetries ?? base.maxRetries,
      findTime: add.findTime ?? base.findTime,
      banTime: add.banTime ?? base.banTime,
      mode: add.mode ?? base.mode,
    }),
    createServerSettings: () => ({ store: undefined, storeWhere: undefined, secret: undefined }),
    directives: [
      onOffDirective('AuthTsRegulation', 'any', (ctx, on) => {
        ctx.dir(module).enabled = on;
      }),
      secondsDirective('AuthTsRegulationMaxRetries', 'maxRetries', () => module),
      secondsDirective('AuthTsRegulationFindTime', 'findTime', () => module),
      secondsDirective('AuthTsRegulationBanTime', 'banTime', () => module),
      {
        name: 'AuthTsRegulationMode',
        context: 'any',
        minArgs: 1,
        maxArgs: 2,
        syntax: 'AuthTsRegulationMode user|ip|user ip',
        apply(ctx, args) {
          const words = args.map((a) => a.toLowerCase());
          if (words.some((w) => w !== 'user' && w !== 'ip') || new Set(words).size !== words.length) {
            ctx.error('CONFIG_BAD_ARGUMENT', `AuthTsRegulationMode takes user, ip or both (got "${args.join(' ')}")`);
          }
          ctx.dir(module).mode = { user: words.includes('user'), ip: words.includes('ip') };
        },
      },
      storeDirective('AuthTsRegulationStore', 'regulation store', (ctx) => ctx.server(module)),
      {
        name: 'AuthTsRegulationSecret',
        context: 'server',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsRegulationSecret file:<path>|env:<NAME>',
        apply(ctx, [arg]) {
          ctx.server(module).secret = readSecretArgument(ctx, arg ?? '');
        },
      },
    ],
    checkConfig(view) {
      requireSecretForRedis(view, module, 'AuthTsRegulationStore', 'AuthTsRegulationSecret', 'regulation store');
    },
    release: function releaseRegulation(config): Promise<void> {
      return stores.release(config.serverSettings(module));
    },
    close: function closeRegulation(): Promise<void> {
      return stores.closeAll();
    },
  };
  regulationKind.mark(module);
  return module;
}

const regulationKind = moduleKind<RegulationModule>();

/**
 * The regulation module among `modules` (a configuration's registry), or `undefined`.
 *
 * @example
 * ```ts
 * const retryAfter = await findRegulationModule(requestConfig(req).registry.modules)?.bannedFor(req, user);
 * ```
 */
export function findRegulationModule(modules: readonly Module<any, any>[]): RegulationModule | undefined {
  return regulationKind.find(modules);
}

/**
 * The built-in regulation module.
 *
 * @example
 * ```ts
 * new Registry([authnCore, authnFile, authBasic, authTsRegulation]);
 * ```
 */
export const authTsRegulation: RegulationModule = createRegulationModule();
