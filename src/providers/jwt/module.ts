/**
 * The `authnz_jwt` module: the `jwt` provider of `AuthBearerProvider`, the `AuthTsJwt*`
 * directives, and `Require jwt-claim` / `Require jwt-scope`. Claims are also readable in
 * `Require expr` through the `jwt()` function (src/expr).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { claimValue, claimValues, tokenClaims } from '../../authn/claims.js';
import { noteMissingScopes } from '../../authn/bearer.js';
import { splitUserList } from '../../authz/user.js';
import { onOffDirective } from '../../config/args.js';
import { AuthTsError } from '../../errors.js';
import type { AuthnProvider, AuthzProvider, AuthzResult, DirectiveContext, Module, TokenResult } from '../../module.js';
import type { AuthRequest } from '../../request.js';
import { ASYMMETRIC_ALGORITHMS, HMAC_MIN_BYTES, isHmac, isJwsAlgorithm, KeyError, parseKeyText, readSecret, type JwsAlgorithm, type VerifyKey } from './keys.js';
import { DEFAULT_REMOTE_OPTIONS, discoverJwksUri, isSafeKeyUrl, RemoteKeySet } from './remote.js';
import { checkTokenCached, DEFAULT_CACHE_ENTRIES, MAX_CACHE_ENTRIES, scopeOf, VerifiedTokenCache } from './cache.js';
import { DEFAULT_POLICY, verifyJwt, type JwtPolicy, type KeySources } from './verify.js';

/** One argument of `AuthTsJwtKeys`: keys read at load, or a JWKS URL fetched when needed. @example `const spec: KeySpec = { kind: 'url', url: 'https://idp.example.org/jwks' };` */
export type KeySpec =
  | { readonly kind: 'local'; readonly keys: readonly VerifyKey[] }
  | { readonly kind: 'url'; readonly url: string };

/** Per-section settings of `authnz_jwt`; each directive inherits on its own (inner wins). @example `req.settings(authnzJwt).audiences` → `['api']` with `AuthTsJwtAudience api` */
export interface AuthnzJwtSettings {
  keys: readonly KeySpec[] | undefined;
  secret: Uint8Array | undefined;
  discovery: string | undefined;
  issuers: readonly string[] | undefined;
  audiences: readonly string[] | undefined;
  algorithms: readonly JwsAlgorithm[] | undefined;
  clockSkewSec: number | undefined;
  userClaim: string | undefined;
  /** `AuthTsJwtRequireClaims` (`None`: an empty list). */
  requiredClaims: readonly string[] | undefined;
  /** `AuthTsJwtType` (`None`: `null`, not checked). */
  type: string | null | undefined;
  maxTokenBytes: number | undefined;
  maxAgeSec: number | undefined;
  /** `AuthTsJwtCache` (default On). */
  cache: boolean | undefined;
}

/** Server-wide settings: how remote key sets are refreshed, and the sets themselves. @example `req.serverSettings(authnzJwt).cooldownMs` → `30000` by default */
export interface AuthnzJwtServerSettings {
  maxAgeMs: number;
  cooldownMs: number;
  timeoutMs: number;
  /** `AuthTsJwtCacheEntries`: the capacity of the cache of verified tokens; 0 turns it off. */
  cacheEntries: number;
  /** The remote sets of this configuration, one per URL or issuer, shared by every section. */
  readonly remotes: Map<string, RemoteKeySet>;
}

/** What a section's settings compile to: the policy, the keys, and the cache scope (`undefined`: `AuthTsJwtCache Off`). */
interface Compiled {
  readonly policy: JwtPolicy;
  readonly sources: KeySources;
  readonly scope: string | undefined;
}

/** Options of {@link createAuthnzJwtModule}. @example `const options: AuthnzJwtModuleOptions = { now: () => Date.parse('2030-01-01') };` */
export interface AuthnzJwtModuleOptions {
  /** The clock for `exp`/`nbf`/`iat` and key-set ages (ms since the epoch; default `Date.now`). */
  readonly now?: () => number;
}

const SETTING_KEYS: readonly (keyof AuthnzJwtSettings)[] = [
  'keys', 'secret', 'discovery', 'issuers', 'audiences', 'algorithms', 'clockSkewSec', 'userClaim',
  'requiredClaims', 'type', 'maxTokenBytes', 'maxAgeSec', 'cache',
];

function emptySettings(): AuthnzJwtSettings {
  return {
    keys: undefined, secret: undefined, discovery: undefined, issuers: undefined, audiences: undefined,
    algorithms: undefined, clockSkewSec: undefined, userClaim: undefined, requiredClaims: undefined,
    type: undefined, maxTokenBytes: undefined, maxAgeSec: undefined, cache: undefined,
  };
}

/** A whole number of seconds (or bytes) within [min, max], or a load error. */
function integerArg(ctx: DirectiveContext, value: string, min: number, max: number, unit: string): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    return ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name} takes a whole number of ${unit} from ${min} to ${max} (got "${value}")`);
  }
  return Number(value);
}

/** A URL keys may be fetched from, or a load error. */
function keyUrl(ctx: DirectiveContext, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name}: "${value}" is not a URL`);
  }
  if (!isSafeKeyUrl(url)) {
    ctx.error('CONFIG_BAD_KEY', `${ctx.name}: keys must come over https (got ${url.protocol}//${url.host})`,
      'keys fetched over plain http can be replaced by anyone on the path; http is accepted only for 127.0.0.0/8, [::1] and localhost');
  }
  return value;
}

/** The claims a `Require jwt-*` line reads, or why there are none. */
function claimsFor(req: AuthRequest): Readonly<Record<string, unknown>> | AuthzResult {
  const claims = tokenClaims(req);
  if (claims) return claims;
  // No token yet: authenticate. A user authenticated another way has no claims to grant with.
  return req.user === undefined ? 'denied-no-user' : 'denied';
}

/** The scopes a token grants: `scope` (space-separated, RFC 8693) or `scp` (string or array). @example `tokenScopes({ scope: 'a b', scp: ['c'] })` → `Set {'a', 'b', 'c'}` */
export function tokenScopes(claims: Readonly<Record<string, unknown>>): Set<string> {
  const out = new Set<string>();
  for (const name of ['scope', 'scp']) {
    const value = claims[name];
    if (typeof value === 'string') for (const s of value.split(' ')) if (s) out.add(s);
    if (Array.isArray(value)) for (const s of value) if (typeof s === 'string' && s) out.add(s);
  }
  return out;
}

/** A parsed `Require jwt-claim` line. */
interface ClaimRequirement {
  readonly claim: string;
  readonly values: ReadonlySet<string>;
}

/**
 * `Require jwt-claim <name> <value>…`: granted when the claim (a top-level name, else a dotted
 * path) equals one of the values, or, for an array claim, holds one of them.
 */
const jwtClaimProvider: AuthzProvider<ClaimRequirement> = {
  parseRequire(args, ctx) {
    const [claim, ...values] = splitUserList(args);
    if (claim === undefined || values.length === 0) {
      return ctx.error('CONFIG_BAD_REQUIRE', "'Require jwt-claim' needs a claim name and at least one value", 'e.g. Require jwt-claim role admin editor');
    }
    return { claim, values: new Set(values) };
  },
  checkAuthorization(req, parsed) {
    const claims = claimsFor(req);
    if (typeof claims === 'string') return claims;
    return claimValues(claimValue(claims, parsed.claim)).some((v) => parsed.values.has(v)) ? 'granted' : 'denied';
  },
};

/**
 * `Require jwt-scope <scope>…`: granted when the token grants **every** listed scope (`scope`
 * or `scp`); missing ones are named in the 403's `scope` attribute.
 */
const jwtScopeProvider: AuthzProvider<readonly string[]> = {
  parseRequire(args, ctx) {
    const scopes = splitUserList(args);
    if (scopes.length === 0) ctx.error('CONFIG_BAD_REQUIRE', "'Require jwt-scope' needs at least one scope");
    return Object.freeze(scopes);
  },
  checkAuthorization(req, scopes) {
    const claims = claimsFor(req);
    if (typeof claims === 'string') return claims;
    const granted = tokenScopes(claims);
    const missing = scopes.filter((s) => !granted.has(s));
    if (missing.length === 0) return 'granted';
    noteMissingScopes(req, scopes);
    return 'denied';
  },
};

/**
 * Creates the `authnz_jwt` module. Each loaded configuration has its own remote key sets (one
 * per URL or issuer, shared by its sections), fetched when a request first needs them.
 *
 * @example
 * ```ts
 * const frozen = createAuthnzJwtModule({ now: () => Date.parse('2030-01-01T00:00:00Z') });
 * const config = await loadConfig({ file: 'site.conf', modules: [...builtinModules().filter((m) => m.name !== 'authnz_jwt'), frozen] });
 * ```
 */
export function createAuthnzJwtModule(options: AuthnzJwtModuleOptions = {}): Module<AuthnzJwtSettings, AuthnzJwtServerSettings> {
  if (options === null || typeof options !== 'object') throw new TypeError('createAuthnzJwtModule: options must be an object');
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('createAuthnzJwtModule: options.now must be a function');
  const now = options.now ?? Date.now;
  const compiled = new WeakMap<AuthnzJwtSettings, Compiled>();
  /** The cache of verified tokens of each loaded configuration (made at its first token). */
  const caches = new WeakMap<AuthnzJwtServerSettings, VerifiedTokenCache>();

  function tokenCache(req: AuthRequest): VerifiedTokenCache | undefined {
    const server = req.serverSettings(module);
    if (server.cacheEntries === 0) return undefined;
    let cache = caches.get(server);
    if (!cache) caches.set(server, (cache = new VerifiedTokenCache(server.cacheEntries)));
    return cache;
  }

  function remoteSet(req: AuthRequest, key: string, make: (server: AuthnzJwtServerSettings) => () => Promise<string>): RemoteKeySet {
    const server = req.serverSettings(module);
    let set = server.remotes.get(key);
    if (!set) {
      set = new RemoteKeySet(key, make(server), {
        maxAgeMs: server.maxAgeMs,
        cooldownMs: server.cooldownMs,
        timeoutMs: server.timeoutMs,
        maxBytes: DEFAULT_REMOTE_OPTIONS.maxBytes,
        now,
        log: req.log,
      });
      server.remotes.set(key, set);
    }
    return set;
  }

  /** Policy and key sources for the merged settings of `req` (memoized per settings object). */
  function compile(req: AuthRequest): Compiled {
    const s = req.settings(module);
    const memo = compiled.get(s);
    if (memo) return memo;
    const local: VerifyKey[] = [];
    const remotes: RemoteKeySet[] = [];
    for (const spec of s.keys ?? []) {
      if (spec.kind === 'local') local.push(...spec.keys);
      else remotes.push(remoteSet(req, spec.url, () => async () => spec.url));
    }
    if (s.discovery !== undefined) {
      const issuer = s.discovery;
      remotes.push(remoteSet(req, `discovery ${issuer}`, (server) => discoverJwksUri(issuer, server.timeoutMs, DEFAULT_REMOTE_OPTIONS.maxBytes)));
    }
    const secret = s.secret;
    const algorithms = s.algorithms ?? [
      ...ASYMMETRIC_ALGORITHMS,
      ...(secret ? (['HS256', 'HS384', 'HS512'] as const).filter((a) => secret.length >= HMAC_MIN_BYTES[a]!) : []),
    ];
    const policy: JwtPolicy = {
      algorithms,
      issuers: s.issuers ?? (s.discovery !== undefined ? [s.discovery] : DEFAULT_POLICY.issuers),
      audiences: s.audiences ?? DEFAULT_POLICY.audiences,
      clockSkewSec: s.clockSkewSec ?? DEFAULT_POLICY.clockSkewSec,
      requiredClaims: s.requiredClaims ?? DEFAULT_POLICY.requiredClaims,
      type: s.type === null ? undefined : s.type ?? DEFAULT_POLICY.type,
      maxTokenBytes: s.maxTokenBytes ?? DEFAULT_POLICY.maxTokenBytes,
      maxAgeSec: s.maxAgeSec ?? DEFAULT_POLICY.maxAgeSec,
      userClaim: s.userClaim ?? DEFAULT_POLICY.userClaim,
    };
    const sources: KeySources = { local, secret, remotes };
    const result: Compiled = { policy, sources, scope: s.cache === false ? undefined : scopeOf(policy, sources) };
    compiled.set(s, result);
    return result;
  }

  const jwtAuthn: AuthnProvider = {
    async checkToken(req: AuthRequest, token: string): Promise<TokenResult> {
      const { policy, sources, scope } = compile(req);
      if (sources.local.length === 0 && sources.secret === undefined && sources.remotes.length === 0) {
        throw new AuthTsError('JWT_KEYS_UNAVAILABLE', 'no AuthTsJwtKeys, AuthTsJwtSecret or AuthTsJwtDiscovery applies to this request');
      }
      const cache = scope === undefined ? undefined : tokenCache(req);
      if (cache === undefined || scope === undefined) return verifyJwt(token, policy, sources, now());
      return checkTokenCached(token, policy, sources, now(), cache, scope);
    },
  };

  const list = (field: 'issuers' | 'audiences', what: string) => ({
    context: 'section' as const,
    minArgs: 1,
    apply(ctx: DirectiveContext, args: readonly string[]) {
      if (args.some((a) => a === '')) ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name}: an empty ${what}`);
      ctx.dir(module)[field] = Object.freeze([...args]);
    },
  });

  const module: Module<AuthnzJwtSettings, AuthnzJwtServerSettings> = {
    name: 'authnz_jwt',
    createDirSettings: emptySettings,
    mergeDirSettings(base, add) {
      const merged = emptySettings() as unknown as Record<string, unknown>;
      for (const key of SETTING_KEYS) merged[key] = add[key] !== undefined ? add[key] : base[key];
      return merged as unknown as AuthnzJwtSettings;
    },
    createServerSettings: () => ({
      maxAgeMs: DEFAULT_REMOTE_OPTIONS.maxAgeMs,
      cooldownMs: DEFAULT_REMOTE_OPTIONS.cooldownMs,
      timeoutMs: DEFAULT_REMOTE_OPTIONS.timeoutMs,
      cacheEntries: DEFAULT_CACHE_ENTRIES,
      remotes: new Map(),
    }),
    authnProviders: { jwt: jwtAuthn },
    authzProviders: { 'jwt-claim': jwtClaimProvider, 'jwt-scope': jwtScopeProvider },
    directives: [
      {
        name: 'AuthTsJwtKeys',
        context: 'section',
        minArgs: 1,
        syntax: 'AuthTsJwtKeys file|https-url [file|https-url] ...',
        apply(ctx, args) {
          ctx.dir(module).keys = Object.freeze(args.map((arg): KeySpec => {
            if (/^https?:\/\//i.test(arg)) return { kind: 'url', url: keyUrl(ctx, arg) };
            const path = resolve(ctx.serverRoot, arg);
            let text: string;
            try {
              text = readFileSync(path, 'utf8');
            } catch (err) {
              return ctx.error('CONFIG_BAD_KEY', `cannot read ${arg}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
            }
            try {
              return { kind: 'local', keys: Object.freeze(parseKeyText(text, arg)) };
            } catch (err) {
              if (err instanceof KeyError) return ctx.error('CONFIG_BAD_KEY', err.message);
              throw err;
            }
          }));
        },
      },
      {
        name: 'AuthTsJwtSecret',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtSecret file:path|env:NAME',
        apply(ctx, [spec]) {
          try {
            ctx.dir(module).secret = readSecret(spec!, (p) => readFileSync(resolve(ctx.serverRoot, p)), process.env);
          } catch (err) {
            if (err instanceof KeyError) ctx.error('CONFIG_BAD_KEY', `AuthTsJwtSecret: ${err.message}`, 'e.g. AuthTsJwtSecret file:/etc/authts/jwt.secret (at least 32 random bytes)');
            throw err;
          }
        },
      },
      {
        name: 'AuthTsJwtDiscovery',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtDiscovery issuer-url',
        apply(ctx, [issuer]) {
          ctx.dir(module).discovery = keyUrl(ctx, issuer!);
        },
      },
      { name: 'AuthTsJwtIssuer', syntax: 'AuthTsJwtIssuer issuer [issuer] ...', ...list('issuers', 'issuer') },
      { name: 'AuthTsJwtAudience', syntax: 'AuthTsJwtAudience audience [audience] ...', ...list('audiences', 'audience') },
      {
        name: 'AuthTsJwtAlgorithms',
        context: 'section',
        minArgs: 1,
        syntax: 'AuthTsJwtAlgorithms alg [alg] ...',
        apply(ctx, args) {
          ctx.dir(module).algorithms = Object.freeze(args.map((alg) => {
            if (alg.toLowerCase() === 'none') {
              return ctx.error('CONFIG_BAD_ARGUMENT', 'AuthTsJwtAlgorithms: "none" (unsigned tokens) is never accepted');
            }
            if (!isJwsAlgorithm(alg)) {
              return ctx.error('CONFIG_BAD_ARGUMENT', `AuthTsJwtAlgorithms: unknown algorithm "${alg}"`, 'use HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519');
            }
            return alg;
          }));
        },
      },
      {
        name: 'AuthTsJwtClockSkew',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtClockSkew seconds',
        apply(ctx, [value]) {
          ctx.dir(module).clockSkewSec = integerArg(ctx, value!, 0, 3600, 'seconds');
        },
      },
      {
        name: 'AuthTsJwtUserClaim',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtUserClaim claim',
        apply(ctx, [claim]) {
          if (claim === '') ctx.error('CONFIG_BAD_ARGUMENT', 'AuthTsJwtUserClaim: an empty claim name');
          ctx.dir(module).userClaim = claim!;
        },
      },
      {
        name: 'AuthTsJwtRequireClaims',
        context: 'section',
        minArgs: 1,
        syntax: 'AuthTsJwtRequireClaims None|claim [claim] ...',
        apply(ctx, args) {
          const none = args.length === 1 && args[0]!.toLowerCase() === 'none';
          ctx.dir(module).requiredClaims = Object.freeze(none ? [] : [...args]);
        },
      },
      {
        name: 'AuthTsJwtType',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtType None|type',
        apply(ctx, [type]) {
          ctx.dir(module).type = type!.toLowerCase() === 'none' ? null : type!;
        },
      },
      {
        name: 'AuthTsJwtMaxTokenSize',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtMaxTokenSize bytes',
        apply(ctx, [value]) {
          ctx.dir(module).maxTokenBytes = integerArg(ctx, value!, 64, 65_536, 'bytes');
        },
      },
      {
        name: 'AuthTsJwtMaxAge',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtMaxAge seconds',
        apply(ctx, [value]) {
          ctx.dir(module).maxAgeSec = integerArg(ctx, value!, 1, 31_536_000, 'seconds');
        },
      },
      onOffDirective('AuthTsJwtCache', 'section', (ctx, on) => {
        ctx.dir(module).cache = on;
      }),
      {
        name: 'AuthTsJwtCacheEntries',
        context: 'server',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtCacheEntries entries',
        apply(ctx, [value]) {
          ctx.server(module).cacheEntries = integerArg(ctx, value!, 0, MAX_CACHE_ENTRIES, 'entries');
        },
      },
      {
        name: 'AuthTsJwtKeysMaxAge',
        context: 'server',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtKeysMaxAge seconds',
        apply(ctx, [value]) {
          ctx.server(module).maxAgeMs = integerArg(ctx, value!, 1, 604_800, 'seconds') * 1000;
        },
      },
      {
        name: 'AuthTsJwtKeysCooldown',
        context: 'server',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtKeysCooldown seconds',
        apply(ctx, [value]) {
          ctx.server(module).cooldownMs = integerArg(ctx, value!, 0, 86_400, 'seconds') * 1000;
        },
      },
      {
        name: 'AuthTsJwtKeysTimeout',
        context: 'server',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsJwtKeysTimeout seconds',
        apply(ctx, [value]) {
          ctx.server(module).timeoutMs = integerArg(ctx, value!, 1, 300, 'seconds') * 1000;
        },
      },
    ],
    checkConfig(view) {
      const sections = view.sections.map((s) => ({ where: s.where, settings: s.settings as AuthnzJwtSettings }));
      const anySecret = sections.some((s) => s.settings.secret !== undefined);
      for (const { where, settings } of sections) {
        const hmac = (settings.algorithms ?? []).filter(isHmac);
        if (hmac.length > 0 && !anySecret) {
          view.error(where, 'AuthTsJwtAlgorithms', 'CONFIG_BAD_KEY', `${hmac.join(', ')} listed, and no AuthTsJwtSecret is configured anywhere`,
            'HMAC tokens verify only with AuthTsJwtSecret; remove them from AuthTsJwtAlgorithms or add the secret');
        }
        if (settings.secret !== undefined) {
          for (const alg of hmac) {
            if (settings.secret.length < HMAC_MIN_BYTES[alg]!) {
              view.error(where, 'AuthTsJwtAlgorithms', 'CONFIG_BAD_KEY', `${alg} needs a secret of at least ${HMAC_MIN_BYTES[alg]} bytes; AuthTsJwtSecret has ${settings.secret.length}`);
            }
          }
        }
      }
    },
  };
  return module;
}

/**
 * The built-in `authnz_jwt` module (`AuthBearerProvider jwt`, `Require jwt-claim`,
 * `Require jwt-scope`, `AuthTsJwt*`).
 *
 * @example
 * ```ts
 * builtinModules().includes(authnzJwt); // true
 * ```
 */
export const authnzJwt = createAuthnzJwtModule();
