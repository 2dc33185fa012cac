/**
 * mod_auth_digest: `AuthType Digest` (RFC 7616), with `AuthDigestProvider`, `AuthDigestQop`,
 * `AuthDigestNonceLifetime`, `AuthDigestAlgorithm`, `AuthDigestDomain` and
 * `AuthDigestShmemSize`. See docs/digest.md.
 *
 * A request is checked in httpd's order: credentials parsed (malformed → 400), `uri` matched
 * against the request-target (mismatch → 400), realm, algorithm and qop (→ 401), the stored
 * HA1 looked up through the provider chain (a provider that cannot answer → 500), the response
 * compared in constant time (unknown user: against a dummy HA1, so it costs the same → 401),
 * and last the nonce: not ours, expired or already used once → 401 with `stale=true` (the
 * response proved the password: the client may retry at once with a new nonce); a nonce count
 * that does not increase → 401 (a replay).
 */
import { randomBytes } from 'node:crypto';
import { parseChoice, parseOnOff } from '../config/args.js';
import type { AuthnProviderRef, Module } from '../module.js';
import type { AuthRequest, PhaseResult } from '../request.js';
import { requestConfig } from '../request-state.js';
import { runSecret } from '../run-secret.js';
import { runProviderChain } from './basic.js';
import { authName, providerListDirective, quoteParam, startSchemeCheck } from './core.js';
import { parseDigestHeader, type DigestCredentials } from './digest-header.js';
import {
  DIGEST_ALGORITHMS,
  digestResponse,
  digestRspauth,
  hexLength,
  sameHex,
  type DigestAlgorithm,
  type ResponseInput,
} from './digest-hash.js';
import {
  createMemoryNonceStore,
  createRedisNonceStore,
  issueNonce,
  newOpaque,
  nonceIssuedAt,
  type NonceCountStore,
  type NonceUse,
} from './digest-nonce.js';
import { digestUriMatches } from './digest-uri.js';
import { findRegulationModule } from './regulation.js';
import { findSocacheModule } from './socache.js';
import { PerConfigurationStores, storeDirective, type StoreServerSettings } from './shared-stores.js';

/**
 * mod_auth_digest's per-section settings. As in httpd (which has no merger for them), a section
 * with any `AuthDigest*` directive replaces the outer section's settings as a whole (what it does
 * not set is the default); a section with none inherits them.
 */
export interface AuthDigestSettings {
  /** `AuthDigestProvider` list; an inner section's list replaces the outer one. */
  providers: readonly AuthnProviderRef[] | undefined;
  /** `AuthDigestQop` (default `auth`). */
  qop: 'none' | 'auth' | undefined;
  /** `AuthDigestNonceLifetime` in seconds (default 300; < 0 never expires; 0 one-time). */
  nonceLifetime: number | undefined;
  /** `AuthDigestAlgorithm` (default MD5). */
  algorithm: DigestAlgorithm | undefined;
  /** `AuthDigestDomain` URIs. */
  domain: readonly string[] | undefined;
  /** `AuthDigestNcCheck` as given (authts checks nonce counts either way). */
  ncCheck: boolean | undefined;
}

/**
 * mod_auth_digest's server settings: `AuthDigestShmemSize`, and where nonce counts are kept
 * (`AuthTsDigestNonceStore`; `secret` stays undefined: the store holds only public nonces).
 */
export interface AuthDigestServerSettings extends StoreServerSettings {
  /** `AuthDigestShmemSize` in bytes, as given: accepted for httpd configs, without effect. */
  shmemSize: number | undefined;
  store: StoreServerSettings['store'];
  storeWhere: StoreServerSettings['storeWhere'];
}

/** Options of {@link createAuthDigestModule} (tests inject a clock and a store). */
export interface AuthDigestOptions {
  /** The clock in ms (default `Date.now`). */
  readonly now?: () => number;
  /** The in-process nonce-count store (default: one of 100 000 nonces, shared by every configuration). */
  readonly store?: NonceCountStore;
  /** Keys of an `AuthTsDigestNonceStore redis:` store start with this (default `authts:digest:`). */
  readonly redisPrefix?: string;
  /** The longest a Redis operation may take before the request fails (default 250 ms). */
  readonly redisTimeoutMs?: number;
  /** The secret nonces are signed with (default: the run secret, shared by the workers). */
  readonly secret?: Buffer;
}

/** The default `AuthDigestNonceLifetime`, in seconds. */
export const DEFAULT_NONCE_LIFETIME = 300;
/** Clock difference tolerated before a nonce from the future is refused (ms). */
const CLOCK_SKEW_MS = 1_000;
const STALE_NOTE = 'auth_digest:stale';

/**
 * Creates the `auth_digest` module (the built-in one is {@link authDigest}).
 *
 * @example
 * ```ts
 * let clock = Date.now();
 * const digest = createAuthDigestModule({ now: () => clock });
 * const modules = builtinModules().map((m) => (m === authDigest ? digest : m));
 * ```
 */
export function createAuthDigestModule(options: AuthDigestOptions = {}): Module<AuthDigestSettings, AuthDigestServerSettings> {
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('createAuthDigestModule: options.now must be a function');
  if (options.secret !== undefined && !(Buffer.isBuffer(options.secret) && options.secret.length >= 16)) {
    throw new TypeError('createAuthDigestModule: options.secret must be a Buffer of at least 16 bytes');
  }
  if (options.redisTimeoutMs !== undefined && !(options.redisTimeoutMs > 0)) {
    throw new TypeError('createAuthDigestModule: options.redisTimeoutMs must be > 0');
  }
  const memoryStore = options.store ?? createMemoryNonceStore();
  const redisOptions = {
    ...(options.redisPrefix === undefined ? {} : { prefix: options.redisPrefix }),
    ...(options.redisTimeoutMs === undefined ? {} : { timeoutMs: options.redisTimeoutMs }),
  };
  const redisStores = new PerConfigurationStores<NonceCountStore>('DIGEST_STORE_UNAVAILABLE', 'its Digest nonce store');

  /** The store of the request's configuration: Redis when `AuthTsDigestNonceStore` names it. */
  function storeFor(req: AuthRequest): Promise<NonceCountStore> {
    const server = req.serverSettings(module);
    if (server.store?.kind !== 'redis') return Promise.resolve(memoryStore);
    return redisStores.runtimeFor(server, (spec) =>
      spec.kind === 'redis'
        ? createRedisNonceStore({ url: spec.url, now, ...redisOptions })
        : Promise.resolve(memoryStore),
    ).store;
  }
  const secret = (): Buffer => options.secret ?? runSecret();
  // Unknown users are checked against this, so that they cost what a wrong password costs.
  const dummyHa1 = { md5: randomBytes(16).toString('hex'), sha256: randomBytes(32).toString('hex') };

  function algorithmOf(req: AuthRequest): DigestAlgorithm {
    return req.settings(module).algorithm ?? 'MD5';
  }

  /** The challenge, as httpd's note_digest_auth_failure (merged into one header: one scheme). */
  function challenge(req: AuthRequest, stale: boolean): string {
    const settings = req.settings(module);
    const realm = authName(req) ?? '';
    const algorithm = algorithmOf(req);
    const opaque = newOpaque();
    const nonce = issueNonce(secret(), now(), { realm, opaque, algorithm });
    let value = `Digest realm="${quoteParam(realm)}", nonce="${nonce}", algorithm=${algorithm}, opaque="${opaque}"`;
    if (settings.domain && settings.domain.length > 0) value += `, domain="${quoteParam(settings.domain.join(' '))}"`;
    if (stale) value += ', stale=true';
    if ((settings.qop ?? 'auth') === 'auth') value += ', qop="auth"';
    return value;
  }

  function noteDigestAuthFailure(req: AuthRequest): void {
    // A user who authenticated but fails `Require` gets a 401: no Authentication-Info with it
    // (httpd adds that header only once the request is allowed).
    req.responseHeaders.delete('Authentication-Info');
    req.responseHeaders.set('WWW-Authenticate', challenge(req, req.notes.get(STALE_NOTE) === true));
  }

  function unauthorized(req: AuthRequest, stale = false): number {
    if (stale) req.notes.set(STALE_NOTE, true);
    noteDigestAuthFailure(req);
    return 401;
  }

  /** The stored HA1 of (user, realm) through the provider chain, or undefined when not found. Throws when a provider cannot answer. */
  async function lookupHa1(req: AuthRequest, user: string, realm: string): Promise<string | undefined> {
    const chain = req.settings(module).providers ?? [defaultProvider(req)];
    let found: string | undefined;
    await runProviderChain(req, chain, async (target, ref) => {
      if (!ref.provider.getRealmHash) throw new Error(`provider ${ref.name} cannot look up realm hashes`);
      req.log.debug({ provider: ref.name }, 'asking authn provider');
      const hash = await ref.provider.getRealmHash(target, user, realm);
      if (hash === undefined) return 'not-found';
      found = hash;
      return 'granted';
    });
    return found;
  }

  async function authenticateDigest(req: AuthRequest): Promise<PhaseResult> {
    const refused = startSchemeCheck(req, 'digest');
    if (refused !== undefined) return refused;
    const realm = authName(req) ?? '';
    const header = req.headers['authorization'];
    if (header === undefined) return unauthorized(req);
    const parsed = parseDigestHeader(header);
    if (!parsed.ok) {
      req.log.info({ reason: parsed.reason }, 'Digest credentials refused');
      return parsed.status === 401 ? unauthorized(req) : 400;
    }
    const c = parsed.credentials;
    req.user = c.username;
    if (!digestUriMatches(c.uri, req)) {
      req.log.info({ user: c.username, uri: c.uri, path: req.path }, 'uri mismatch: the Digest uri does not match the request-target');
      return 400;
    }
    const settings = req.settings(module);
    const algorithm = algorithmOf(req);
    const refusal = refusedParameters(c, realm, algorithm, settings.qop ?? 'auth');
    if (refusal !== undefined) {
      req.log.info({ user: c.username, reason: refusal }, 'Digest credentials refused');
      return unauthorized(req);
    }

    const modules = requestConfig(req).registry.modules;
    const regulation = findRegulationModule(modules);
    const retryAfter = regulation ? await regulation.bannedFor(req, c.username) : 0;
    if (retryAfter > 0) {
      req.log.info({ code: 'REGULATION_BAN', user: c.username, path: req.path }, 'refused: too many authentication failures');
      req.responseHeaders.set('Retry-After', String(retryAfter));
      return 429;
    }

    let stored: string | undefined;
    try {
      stored = await lookupHa1(req, c.username, realm);
    } catch (err) {
      req.log.error({ err, user: c.username }, 'authn provider could not answer');
      return 500;
    }
    const length = hexLength(algorithm);
    let ha1 = stored?.toLowerCase();
    if (ha1 !== undefined && !new RegExp(`^[0-9a-f]{${length}}$`).test(ha1)) {
      req.log.warn(
        { user: c.username, algorithm },
        `the stored realm hash of this user is not ${length} hex digits: it cannot answer ${algorithm} (an MD5 HA1 under SHA-256?)`,
      );
      ha1 = undefined;
    }
    const input: ResponseInput = {
      algorithm,
      method: req.method,
      uri: c.uri,
      nonce: c.nonce,
      qop: c.qop,
      nc: c.nc,
      cnonce: c.cnonce,
    };
    const expected = digestResponse(ha1 ?? (length === 64 ? dummyHa1.sha256 : dummyHa1.md5), input);
    const matches = sameHex(c.response, expected);
    if (ha1 === undefined || !matches) {
      if (regulation) await regulation.record(req, c.username, false);
      req.log.info(
        { user: c.username, path: req.path },
        stored === undefined ? 'user not found' : 'authentication failure: Password Mismatch',
      );
      return unauthorized(req);
    }

    // The response proves the password; what is left is whether this nonce may be used.
    const nonceUse = await checkNonce(req, c, realm, algorithm);
    if (nonceUse !== 'ok') return nonceUse;
    if (regulation) void regulation.record(req, c.username, true);
    req.responseHeaders.set('Authentication-Info', authenticationInfo(req, c, realm, algorithm, ha1, input));
    return 'ok';
  }

  /** 'ok', or the status answering a nonce that is not ours, expired, or replayed. */
  async function checkNonce(req: AuthRequest, c: DigestCredentials, realm: string, algorithm: DigestAlgorithm): Promise<'ok' | number> {
    const issuedAt = nonceIssuedAt(secret(), c.nonce, { realm, opaque: c.opaque ?? '', algorithm });
    if (issuedAt === undefined) {
      req.log.info({ user: c.username }, 'invalid nonce: not issued here for this realm, opaque and algorithm (or before a restart); sending a new one');
      return unauthorized(req, true);
    }
    const lifetime = req.settings(module).nonceLifetime ?? DEFAULT_NONCE_LIFETIME;
    const at = now();
    if (lifetime > 0) {
      if (issuedAt > at + CLOCK_SKEW_MS) {
        req.log.info({ user: c.username }, 'invalid nonce: issued in the future');
        return unauthorized(req, true);
      }
      if (at - issuedAt > lifetime * 1000) {
        req.log.info({ user: c.username, ageSeconds: Math.floor((at - issuedAt) / 1000), lifetime }, 'nonce expired; sending a new one');
        return unauthorized(req, true);
      }
    }
    let use: NonceUse = 'ok';
    const expiresAt = lifetime > 0 ? issuedAt + lifetime * 1000 : undefined;
    try {
      if (c.nc !== undefined) use = await (await storeFor(req)).use(c.nonce, issuedAt, parseInt(c.nc, 16), lifetime === 0, expiresAt);
      else if (lifetime === 0) use = await (await storeFor(req)).use(c.nonce, issuedAt, 0, true, expiresAt);
    } catch (err) {
      req.log.error({ err, user: c.username }, 'the Digest nonce-count store could not answer');
      return 500;
    }
    if (use === 'replay' && lifetime !== 0) {
      req.log.warn({ user: c.username, path: req.path }, 'possible replay attack: the nonce count did not increase');
      return unauthorized(req);
    }
    if (use !== 'ok') {
      req.log.info({ user: c.username }, use === 'replay' ? 'one-time nonce used again; sending a new one' : 'nonce no longer known; sending a new one');
      return unauthorized(req, true);
    }
    return 'ok';
  }

  /** `Authentication-Info` (RFC 7616 §3.5): `rspauth` with qop, and a `nextnonce` for one-time nonces. */
  function authenticationInfo(req: AuthRequest, c: DigestCredentials, realm: string, algorithm: DigestAlgorithm, ha1: string, input: ResponseInput): string {
    const parts: string[] = [];
    if ((req.settings(module).nonceLifetime ?? DEFAULT_NONCE_LIFETIME) === 0) {
      parts.push(`nextnonce="${issueNonce(secret(), now(), { realm, opaque: c.opaque ?? '', algorithm })}"`);
    }
    if (input.qop !== undefined) {
      parts.push(`rspauth="${digestRspauth(ha1, input)}"`, `cnonce="${quoteParam(c.cnonce ?? '')}"`, `nc=${c.nc ?? ''}`, 'qop=auth');
    }
    return parts.join(', ');
  }

  const module: Module<AuthDigestSettings, AuthDigestServerSettings> = {
    name: 'auth_digest',
    createDirSettings: () => ({ providers: undefined, qop: undefined, nonceLifetime: undefined, algorithm: undefined, domain: undefined, ncCheck: undefined }),
    mergeDirSettings: (base, add) => (Object.values(add).some((value) => value !== undefined) ? { ...add } : { ...base }),
    createServerSettings: () => ({ shmemSize: undefined, store: undefined, storeWhere: undefined, secret: undefined }),
    authSchemes: [{ name: 'Digest', noteAuthFailure: noteDigestAuthFailure }],
    directives: [
      providerListDirective('AuthDigestProvider', 'Digest', 'getRealmHash', (ctx, providers) => {
        const socache = findSocacheModule(ctx.registry.modules)?.provider;
        if (socache !== undefined && providers.some((ref) => ref.provider === socache)) {
          ctx.warn('socache keeps no Digest realm hashes (each is a password equivalent, which authts never stores): Digest lookups go to the next provider');
        }
        ctx.dir(module).providers = providers;
      }),
      {
        name: 'AuthDigestQop',
        context: 'section',
        minArgs: 1,
        syntax: 'AuthDigestQop none|auth [auth]',
        apply(ctx, args) {
          const values = new Set(args.map((arg) => parseChoice(ctx, arg, ['none', 'auth', 'auth-int'])));
          if (values.has('auth-int')) {
            ctx.error('CONFIG_BAD_ARGUMENT', 'AuthDigestQop auth-int is not implemented (nor is it in httpd)', 'use AuthDigestQop auth');
          }
          if (values.has('none') && values.size > 1) ctx.error('CONFIG_BAD_ARGUMENT', 'AuthDigestQop none cannot be combined with another qop');
          ctx.dir(module).qop = values.has('none') ? 'none' : 'auth';
        },
      },
      {
        name: 'AuthDigestNonceLifetime',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthDigestNonceLifetime seconds',
        apply(ctx, [value]) {
          if (!/^-?\d{1,9}$/.test(value ?? '')) {
            ctx.error('CONFIG_BAD_ARGUMENT', `AuthDigestNonceLifetime takes a whole number of seconds (got "${value ?? ''}")`, '300 (the default); a negative number: never expires; 0: one request per nonce');
          }
          ctx.dir(module).nonceLifetime = Number(value);
        },
      },
      {
        name: 'AuthDigestAlgorithm',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthDigestAlgorithm MD5|MD5-sess|SHA-256|SHA-256-sess',
        apply(ctx, [value]) {
          ctx.dir(module).algorithm = parseChoice(ctx, value ?? '', DIGEST_ALGORITHMS);
        },
      },
      {
        name: 'AuthDigestDomain',
        context: 'section',
        minArgs: 1,
        syntax: 'AuthDigestDomain URI [URI] ...',
        apply(ctx, args) {
          for (const uri of args) {
            if (/[\s"\\]/.test(uri) || uri === '') ctx.error('CONFIG_BAD_ARGUMENT', `AuthDigestDomain: "${uri}" is not a URI`);
          }
          ctx.dir(module).domain = [...args];
        },
      },
      {
        // httpd checks nonce counts only with `AuthDigestNcCheck On` (default Off); authts always
        // does (with qop=auth), so `On` changes nothing and `Off` cannot be honoured.
        name: 'AuthDigestNcCheck',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthDigestNcCheck On|Off',
        apply(ctx, [value]) {
          const on = parseOnOff(ctx, value ?? '');
          if (!on) ctx.warn('AuthDigestNcCheck Off: authts always checks nonce counts (replays are refused)');
          ctx.dir(module).ncCheck = on;
        },
      },
      {
        name: 'AuthDigestShmemSize',
        context: 'server',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthDigestShmemSize size[K|M]',
        apply(ctx, [value]) {
          const m = /^(\d+)([KkMm]?)$/.exec(value ?? '');
          if (!m) return ctx.error('CONFIG_BAD_ARGUMENT', `AuthDigestShmemSize takes a size in bytes, K or M (got "${value ?? ''}")`);
          const unit = m[2]!.toLowerCase() === 'k' ? 1024 : m[2]!.toLowerCase() === 'm' ? 1024 * 1024 : 1;
          ctx.server(module).shmemSize = Number(m[1]) * unit;
        },
      },
      storeDirective('AuthTsDigestNonceStore', 'Digest nonce store', (ctx) => ctx.server(module)),
    ],
    hooks: [{ phase: 'authn', order: 10, handler: authenticateDigest }],
    release: async function releaseAuthDigest(config): Promise<void> {
      await redisStores.release(config.serverSettings(module));
    },
    close: async function closeAuthDigest(): Promise<void> {
      await redisStores.closeAll();
      await memoryStore.close();
    },
  };
  return module;
}

/**
 * Why credentials whose realm, algorithm or qop this section does not accept are refused, or
 * undefined when they are accepted (each refusal answers 401 with a new challenge).
 */
function refusedParameters(c: DigestCredentials, realm: string, algorithm: DigestAlgorithm, qop: 'none' | 'auth'): string | undefined {
  if (c.realm !== realm) return 'realm mismatch';
  if ((c.algorithm ?? 'MD5').toLowerCase() !== algorithm.toLowerCase()) return `algorithm ${c.algorithm ?? 'MD5 (none given)'} is not ${algorithm}`;
  if (c.userhash) return 'userhash is not supported';
  if (qop === 'auth' && c.qop?.toLowerCase() !== 'auth') return c.qop === undefined ? 'no qop: an RFC 2069 answer where qop=auth was asked' : `invalid qop ${c.qop}`;
  if (qop === 'none' && (c.qop !== undefined || c.nc !== undefined)) return 'qop or nc given where AuthDigestQop is none';
  if (algorithm.endsWith('-sess') && c.cnonce === undefined) return `${algorithm} needs a cnonce`;
  return undefined;
}

/** With no `AuthDigestProvider`, httpd uses `file`. */
function defaultProvider(req: AuthRequest): AuthnProviderRef {
  const provider = requestConfig(req).registry.authnProvider('file');
  if (!provider) throw new Error('no authn provider configured');
  return { name: 'file', provider, aliasSettings: undefined };
}

/**
 * The built-in `auth_digest` module: nonces signed with the run secret, counts in an
 * in-process store of 100 000 nonces.
 *
 * @example
 * ```ts
 * new Registry([authnCore, authnFile, authDigest]); // then `AuthType Digest` loads
 * ```
 */
export const authDigest: Module<AuthDigestSettings, AuthDigestServerSettings> = createAuthDigestModule();
