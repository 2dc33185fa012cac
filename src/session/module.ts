/**
 * mod_session (+ mod_session_cookie, mod_session_crypto) for `AuthType Form`: `Session`,
 * `SessionCookieName`, `SessionCryptoPassphrase`, `SessionCryptoPassphraseFile`,
 * `SessionMaxAge`, and authts's
 * `AuthTsSessionIdleTimeout` and `AuthTsSessionStore`.
 *
 * Unlike httpd, whose session lives in the cookie alone, a session is also known to the server
 * (memory or Redis): the cookie is an encrypted, authenticated pointer to it (./cookie.ts), and
 * the store decides whether it is alive. Logout destroys it there, so a copy of the cookie
 * replayed afterwards is refused. A session ends at the first of: logout, `SessionMaxAge`
 * seconds after login (absolute), `AuthTsSessionIdleTimeout` seconds without a request (idle).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCookie, stringifySetCookie, type SetCookie } from 'cookie';
import type { SourceLocation } from '../errors.js';
import { onOffDirective } from '../config/args.js';
import type { DirectiveContext, DirectiveSpec, Module } from '../module.js';
import type { AuthRequest } from '../request.js';
import type { CacheStoreSpec } from '../authn/socache.js';
import { MIN_SECRET_BYTES, readSecretArgument } from '../authn/secret.js';
import { moduleKind, PerConfigurationStores, storeDirective } from '../authn/shared-stores.js';
import { keyFromPassphrase, newSessionId, openSession, runSessionKey, sealSession, type SessionKey } from './cookie.js';
import { createMemorySessionStore, createRedisSessionStore, type SessionStore } from './store.js';

/** The cookie's attributes from `SessionCookieName name attributes`. */
export interface SessionCookieAttributes {
  readonly path: string;
  readonly domain: string | undefined;
  /** `secure` given: set even over plain HTTP (it is always set over TLS). */
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
}

/** Per-section settings (also given at server level, as the base of every section). */
export interface SessionSettings {
  enabled: boolean | undefined;
  cookieName: string | undefined;
  cookie: SessionCookieAttributes | undefined;
  /** The first seals; all open (several `SessionCryptoPassphrase` values rotate keys). */
  keys: readonly SessionKey[] | undefined;
  /** `SessionMaxAge`: the absolute lifetime, in seconds. */
  maxAge: number | undefined;
  /** `AuthTsSessionIdleTimeout`, in seconds. */
  idleTimeout: number | undefined;
}

/** Server-wide settings. */
export interface SessionServerSettings {
  store: CacheStoreSpec | undefined;
  storeWhere: SourceLocation | undefined;
  /** Unused (the stores share the credential cache's plumbing, which has a key secret). */
  secret: Buffer | undefined;
}

/** Defaults: the cookie `authts_session`, 8 hours absolute, 30 minutes idle. */
export const SESSION_DEFAULTS = {
  cookieName: 'authts_session',
  maxAge: 8 * 3600,
  idleTimeout: 30 * 60,
  cookie: { path: '/', domain: undefined, secure: false, sameSite: 'lax' },
} as const satisfies { cookieName: string; maxAge: number; idleTimeout: number; cookie: SessionCookieAttributes };

/** The session a request carries. */
export type SessionLookup = { readonly state: 'none' } | { readonly state: 'live'; readonly user: string };

/** Options of {@link createSessionModule}. */
export interface SessionOptions {
  /** The clock, in ms (default `Date.now`); tests inject their own. */
  readonly now?: () => number;
  /** Keys in Redis start with this (default `authts:session:`); tests use their own. */
  readonly redisPrefix?: string;
  /** The longest a Redis operation may take (default 250 ms). */
  readonly redisTimeoutMs?: number;
}

/** What `AuthType Form` and its handlers ask of the session module. */
export interface SessionModule extends Module<SessionSettings, SessionServerSettings> {
  /** True when `Session On` is in force for `req`. */
  enabled(req: AuthRequest): boolean;
  /**
   * The live session of `req`'s cookie (its idle time restarted), or `none` for no cookie or a
   * bad, expired, destroyed or foreign one. Throws `AuthTsError` `SESSION_UNAVAILABLE` when the
   * store cannot answer: the caller fails closed.
   */
  current(req: AuthRequest): Promise<SessionLookup>;
  /**
   * Starts a new session for `user` (after a login) and answers its `Set-Cookie` value. A
   * session the request already carried is destroyed first (no fixation). Throws
   * `SESSION_UNAVAILABLE` when the store cannot keep it.
   */
  start(req: AuthRequest, user: string): Promise<string>;
  /**
   * Destroys the session of `req`'s cookie, if any (logout). Throws `SESSION_UNAVAILABLE` when
   * the store cannot forget it.
   */
  end(req: AuthRequest): Promise<void>;
  /** The `Set-Cookie` value that clears the session cookie in the browser. */
  clearCookie(req: AuthRequest): string;
}

/** A cookie name: an RFC 6265 token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A cookie path or domain attribute value: no controls, no `;`, no spaces. */
const ATTRIBUTE_VALUE = /^[\u0021-\u003a\u003c-\u007e]+$/;

/**
 * Parses httpd's cookie attribute string (`path=/;domain=example.com;httponly;secure`).
 * `HttpOnly` is always set; the lifetime is `SessionMaxAge`'s, so `expires`/`max-age` are
 * refused; `version` is accepted and ignored (httpd passes it on; browsers ignore it).
 */
export function parseCookieAttributes(ctx: DirectiveContext, text: string): SessionCookieAttributes {
  let path: string = SESSION_DEFAULTS.cookie.path;
  let domain: string | undefined;
  let secure = false;
  let sameSite: SessionCookieAttributes['sameSite'] = SESSION_DEFAULTS.cookie.sameSite;
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : part.slice(eq + 1).trim();
    if ((name === 'path' || name === 'domain') && (value === undefined || !ATTRIBUTE_VALUE.test(value))) {
      ctx.error('CONFIG_BAD_ARGUMENT', `SessionCookieName: bad ${name} attribute "${part}"`);
    }
    if (name === 'path') {
      if (!value!.startsWith('/')) ctx.error('CONFIG_BAD_ARGUMENT', `SessionCookieName: the path must start with / (got "${value!}")`);
      path = value!;
    } else if (name === 'domain') domain = value;
    else if (name === 'secure' && value === undefined) secure = true;
    else if (name === 'httponly' && value === undefined) continue;
    else if (name === 'samesite' && value !== undefined && /^(lax|strict|none)$/i.test(value)) {
      sameSite = value.toLowerCase() as SessionCookieAttributes['sameSite'];
    } else if (name === 'version') continue;
    else if (name === 'expires' || name === 'max-age') {
      ctx.error('CONFIG_BAD_ARGUMENT', `SessionCookieName: ${name} is not set here`, 'the session lifetime is SessionMaxAge (absolute) and AuthTsSessionIdleTimeout');
    } else {
      ctx.error('CONFIG_BAD_ARGUMENT', `SessionCookieName: unknown cookie attribute "${part}"`, 'known: path=, domain=, secure, httponly, samesite=lax|strict|none');
    }
  }
  if (sameSite === 'none' && !secure) {
    ctx.error('CONFIG_BAD_ARGUMENT', 'SessionCookieName: samesite=none needs secure', 'browsers drop a SameSite=None cookie without Secure');
  }
  return { path, domain, secure, sameSite };
}

/**
 * Reads one `SessionCryptoPassphrase` argument as httpd does (the literal passphrase), plus
 * authts's `file:<path>` and `env:<NAME>` so that it need not be written in the configuration.
 */
function readPassphrase(ctx: DirectiveContext, arg: string): Buffer {
  if (arg.startsWith('file:') || arg.startsWith('env:')) return readSecretArgument(ctx, arg);
  if (arg.startsWith('exec:')) {
    return ctx.error('CONFIG_BAD_ARGUMENT', 'SessionCryptoPassphrase exec: is not supported', 'use file:<path> or env:<NAME>');
  }
  const passphrase = Buffer.from(arg, 'utf8');
  if (passphrase.length < MIN_SECRET_BYTES) {
    ctx.warn(`SessionCryptoPassphrase is ${passphrase.length} bytes: use at least ${MIN_SECRET_BYTES} random bytes (openssl rand -hex 32), kept in a file (file:<path>)`);
  }
  return passphrase;
}

/**
 * httpd's `SessionCryptoPassphraseFile`: one passphrase per line (blank lines and `#` comments
 * skipped), the first encrypting, read at load relative to the server root.
 */
function readPassphraseFile(ctx: DirectiveContext, file: string): Buffer[] {
  const path = resolve(ctx.serverRoot, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return ctx.error('CONFIG_CACHE_SECRET', `cannot read the passphrase file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const passphrases = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => Buffer.from(line, 'utf8'));
  if (passphrases.length === 0) return ctx.error('CONFIG_CACHE_SECRET', `the passphrase file ${path} holds no passphrase`);
  if (passphrases.some((p) => p.length < MIN_SECRET_BYTES)) {
    ctx.warn(`a passphrase in ${path} is shorter than ${MIN_SECRET_BYTES} bytes: use random ones (openssl rand -hex 32)`);
  }
  return passphrases;
}

function secondsDirective(name: string, key: 'maxAge' | 'idleTimeout', module: () => SessionModule): DirectiveSpec {
  return {
    name,
    context: 'any',
    minArgs: 1,
    maxArgs: 1,
    syntax: `${name} seconds`,
    apply(ctx, [arg]) {
      const value = arg ?? '';
      // SessionMaxAge 0 is httpd's "no limit": authts keeps its default absolute limit instead.
      const min = key === 'maxAge' ? 0 : 1;
      if (!/^\d{1,9}$/.test(value) || Number(value) < min) {
        ctx.error('CONFIG_BAD_ARGUMENT', `${name} must be a whole number of seconds >= ${min} (got "${value}")`);
      }
      ctx.dir(module())[key] = Number(value) === 0 ? undefined : Number(value);
    },
  };
}

/**
 * Creates the session module.
 *
 * @example
 * ```ts
 * const session = createSessionModule({ now: () => clock });
 * // Session On / SessionCookieName members path=/ / SessionMaxAge 3600
 * ```
 */
export function createSessionModule(options: SessionOptions = {}): SessionModule {
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('createSessionModule: options.now must be a function');
  const stores = new PerConfigurationStores<SessionStore>('SESSION_UNAVAILABLE', 'its session store');

  function storeOf(req: AuthRequest): Promise<SessionStore> {
    return stores.runtimeFor(req.serverSettings(module), (spec) =>
      spec.kind === 'memory'
        ? Promise.resolve(createMemorySessionStore())
        : createRedisSessionStore({
            url: spec.url,
            ...(options.redisPrefix === undefined ? {} : { prefix: options.redisPrefix }),
            ...(options.redisTimeoutMs === undefined ? {} : { timeoutMs: options.redisTimeoutMs }),
          }),
    ).store;
  }

  function cookieValue(req: AuthRequest): string | undefined {
    const header = req.headers['cookie'];
    if (header === undefined) return undefined;
    const name = req.settings(module).cookieName ?? SESSION_DEFAULTS.cookieName;
    // Values are ours (JWE compact: base64url and dots), never percent-encoded.
    return parseCookie(header, { decode: (value) => value })[name];
  }

  function setCookie(req: AuthRequest, value: string, maxAge: number): string {
    const settings = req.settings(module);
    const attributes = settings.cookie ?? SESSION_DEFAULTS.cookie;
    const cookie: SetCookie = {
      name: settings.cookieName ?? SESSION_DEFAULTS.cookieName,
      value,
      maxAge,
      path: attributes.path,
      httpOnly: true,
      secure: attributes.secure || req.tls,
      sameSite: attributes.sameSite,
      ...(attributes.domain === undefined ? {} : { domain: attributes.domain }),
    };
    return stringifySetCookie(cookie, { encode: (text) => text });
  }

  function keysOf(req: AuthRequest): readonly SessionKey[] {
    return req.settings(module).keys ?? [runSessionKey()];
  }

  async function current(req: AuthRequest): Promise<SessionLookup> {
    const value = cookieValue(req);
    if (value === undefined) return { state: 'none' };
    const at = now();
    const claims = await openSession(value, keysOf(req), at);
    if (claims === undefined) {
      req.log.info({ path: req.path }, 'session cookie refused: not sealed by this server, or expired');
      return { state: 'none' };
    }
    const settings = req.settings(module);
    const record = await (await storeOf(req)).touch(claims.sid, at, (settings.idleTimeout ?? SESSION_DEFAULTS.idleTimeout) * 1000);
    if (record === undefined) {
      req.log.info({ user: claims.user, path: req.path }, 'session ended (logout, idle or absolute timeout)');
      return { state: 'none' };
    }
    if (record.user !== claims.user || record.expiresAt !== claims.exp) {
      req.log.warn({ user: claims.user, path: req.path }, 'session cookie does not match its server-side session: refused');
      return { state: 'none' };
    }
    return { state: 'live', user: record.user };
  }

  async function destroyCarried(req: AuthRequest, store: SessionStore): Promise<void> {
    const value = cookieValue(req);
    if (value === undefined) return;
    // An expired cookie still names a session to forget: opened as if at its own start.
    const claims = await openSession(value, keysOf(req), Number.NEGATIVE_INFINITY);
    if (claims !== undefined) await store.destroy(claims.sid);
  }

  async function start(req: AuthRequest, user: string): Promise<string> {
    const settings = req.settings(module);
    const store = await storeOf(req);
    await destroyCarried(req, store);
    const at = now();
    const maxAge = settings.maxAge ?? SESSION_DEFAULTS.maxAge;
    const sid = newSessionId();
    const expiresAt = at + maxAge * 1000;
    await store.create(sid, { user, createdAt: at, expiresAt }, at, (settings.idleTimeout ?? SESSION_DEFAULTS.idleTimeout) * 1000);
    const [key] = keysOf(req);
    return setCookie(req, await sealSession({ sid, user, exp: expiresAt }, key!), maxAge);
  }

  async function end(req: AuthRequest): Promise<void> {
    await destroyCarried(req, await storeOf(req));
  }

  const module: SessionModule = {
    name: 'session',
    enabled: (req) => req.settings(module).enabled === true,
    current,
    start,
    end,
    clearCookie: (req) => setCookie(req, '', 0),
    createDirSettings: () => ({ enabled: undefined, cookieName: undefined, cookie: undefined, keys: undefined, maxAge: undefined, idleTimeout: undefined }),
    mergeDirSettings: (base, add) => ({
      enabled: add.enabled ?? base.enabled,
      // The name and its attributes come from one SessionCookieName line.
      cookieName: add.cookieName ?? base.cookieName,
      cookie: add.cookieName !== undefined ? add.cookie : base.cookie,
      keys: add.keys ?? base.keys,
      maxAge: add.maxAge ?? base.maxAge,
      idleTimeout: add.idleTimeout ?? base.idleTimeout,
    }),
    createServerSettings: () => ({ store: undefined, storeWhere: undefined, secret: undefined }),
    directives: [
      onOffDirective('Session', 'any', (ctx, on) => {
        ctx.dir(module).enabled = on;
      }),
      {
        name: 'SessionCookieName',
        context: 'any',
        minArgs: 1,
        maxArgs: 2,
        syntax: 'SessionCookieName name [attributes]',
        apply(ctx, [name, attributes]) {
          if (!COOKIE_NAME.test(name ?? '')) ctx.error('CONFIG_BAD_ARGUMENT', `SessionCookieName: "${name ?? ''}" is not a cookie name`);
          const settings = ctx.dir(module);
          settings.cookieName = name;
          settings.cookie = parseCookieAttributes(ctx, attributes ?? '');
        },
      },
      {
        name: 'SessionCryptoPassphrase',
        context: 'any',
        minArgs: 1,
        syntax: 'SessionCryptoPassphrase passphrase|file:<path>|env:<NAME> [older ...]',
        apply(ctx, args) {
          ctx.dir(module).keys = args.map((arg) => keyFromPassphrase(readPassphrase(ctx, arg)));
        },
      },
      {
        name: 'SessionCryptoPassphraseFile',
        context: 'any',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'SessionCryptoPassphraseFile filename',
        apply(ctx, [file]) {
          ctx.dir(module).keys = readPassphraseFile(ctx, file!).map(keyFromPassphrase);
        },
      },
      secondsDirective('SessionMaxAge', 'maxAge', () => module),
      secondsDirective('AuthTsSessionIdleTimeout', 'idleTimeout', () => module),
      storeDirective('AuthTsSessionStore', 'session store', (ctx) => ctx.server(module)),
    ],
    release: function releaseSession(config): Promise<void> {
      return stores.release(config.serverSettings(module));
    },
    close: function closeSession(): Promise<void> {
      return stores.closeAll();
    },
  };
  sessionKind.mark(module);
  return module;
}

const sessionKind = moduleKind<SessionModule>();

/**
 * The session module among `modules` (a configuration's registry), or `undefined`.
 *
 * @example
 * ```ts
 * const session = findSessionModule(requestConfig(req).registry.modules);
 * ```
 */
export function findSessionModule(modules: readonly Module<any, any>[]): SessionModule | undefined {
  return sessionKind.find(modules);
}

/**
 * The built-in session module.
 *
 * @example
 * ```ts
 * new Registry([authnCore, authnFile, authTsSession, authForm]);
 * ```
 */
export const authTsSession: SessionModule = createSessionModule();
