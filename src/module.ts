import type { ConfigErrorCode, SourceLocation } from './errors.js';
import type { AuthRequest, Phase, PhaseHandler } from './request.js';
import type { ConfigNode, SectionNode } from './config/nodes.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config, DirConfig } from './config/config.js';
import type { Logger } from './log.js';
import type { Verdict } from './phases.js';

/** What an authn provider answers; it throws only when it cannot answer (→ 500). */
export type AuthnResult = 'granted' | 'denied' | 'not-found';

/** An authn provider (`AuthBasicProvider file`, `ldap`, `dbd`, …), as httpd's `authn_provider`. */
export interface AuthnProvider {
  /** Check a user name and password. Unknown users must cost what wrong passwords cost. */
  checkPassword?(req: AuthRequest, user: string, password: string): Promise<AuthnResult>;
  /** For Digest: the stored `MD5(user:realm:password)` in hex, or `undefined` when not found. */
  getRealmHash?(req: AuthRequest, user: string, realm: string): Promise<string | undefined>;
  /**
   * For Bearer (`AuthBearerProvider`): check an access token. Only `'not-found'` (the token is
   * not this provider's: no key of its for the token) moves on to the next provider.
   */
  checkToken?(req: AuthRequest, token: string): Promise<TokenResult>;
  /**
   * For the credential cache (`AuthnCacheProvideFor`): a string that changes whenever what this
   * provider would answer may have changed (the user file's identity: device, inode, size,
   * times), made part of every cache key so that entries die at once with such a change; or
   * `undefined` when the provider cannot vouch for its source right now (file unreadable, or
   * changed too recently for its identity to be trusted), and nothing may be cached or reused.
   * A provider without it is cached by TTL alone.
   */
  cacheIdentity?(req: AuthRequest): string | undefined;
}

/**
 * What a token check answers. `granted` names the user and carries the token's claims;
 * `denied` and `not-found` carry a short reason fit for RFC 6750's `error_description` (never
 * the token or a claim value). Throws only when the provider cannot answer (key set unreachable
 * and none cached → 500).
 *
 * @example
 * ```ts
 * const answer: TokenResult = { result: 'denied', reason: 'the token expired' };
 * ```
 */
export type TokenResult =
  | { readonly result: 'granted'; readonly user: string; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly result: 'denied' | 'not-found'; readonly reason: string };

/**
 * A token provider used on its own, outside any configuration (`jwtProvider`): the Bearer
 * counterpart of {@link PasswordChecker}.
 *
 * @example
 * ```ts
 * const jwt: TokenChecker = await jwtProvider({ keys: ['keys/issuer.pem'], audience: 'api' });
 * const answer = await jwt.checkToken(token);
 * if (answer.result === 'granted') console.log(answer.user, answer.claims['scope']);
 * await jwt.close();
 * ```
 */
export interface TokenChecker {
  /** The provider's name, as `AuthBearerProvider` spells it (`jwt`). */
  readonly name: string;
  /** See {@link TokenResult}. Throws `AuthTsError` only when the provider cannot answer. */
  checkToken(token: string): Promise<TokenResult>;
  /** Releases what the provider holds. */
  close(): Promise<void>;
}

/**
 * An authn provider used on its own, outside any configuration (`fileProvider`, and the LDAP,
 * SQL and JWT providers): what `authts/passport` turns into a passport strategy.
 *
 * @example
 * ```ts
 * const users: PasswordChecker = await fileProvider({ userFile: '/etc/authts/users' });
 * if ((await users.checkPassword('alice', 'secret')) === 'granted') {
 *   // signed in
 * }
 * await users.close();
 * ```
 */
export interface PasswordChecker {
  /** The provider's name, as `AuthBasicProvider` spells it (`file`, `ldap`, `dbd`…). */
  readonly name: string;
  /**
   * `'granted'`, `'denied'` or `'not-found'`; an unknown user costs what a wrong password costs.
   * Throws `AuthTsError` only when the provider cannot answer (file unreadable, server down).
   */
  checkPassword(user: string, password: string): Promise<AuthnResult>;
  /** Releases what the provider holds (indexes, connections). */
  close(): Promise<void>;
}

/** What an authz provider answers for one `Require` line, as httpd's `authz_status`. */
export type AuthzResult = 'granted' | 'denied' | 'neutral' | 'denied-no-user';

/** Facts an authz provider may use while parsing its `Require` arguments at load time. */
export interface RequireParseContext {
  readonly where: SourceLocation;
  /** Throw a ConfigError for this `Require` line. */
  error(code: ConfigErrorCode, message: string, hint?: string): never;
  warn(message: string): void;
}

/**
 * An authz provider (`Require user`, `Require ip`, …), as httpd's `authz_provider`.
 * `parseRequire` runs once at load (throwing through `ctx.error` on bad arguments); its result is
 * handed back to `checkAuthorization` for every request.
 */
export interface AuthzProvider<P = unknown> {
  parseRequire(args: string, ctx: RequireParseContext): P;
  checkAuthorization(req: AuthRequest, parsed: P): AuthzResult | Promise<AuthzResult>;
}

/** Where a directive may appear, as httpd's `RSRC_CONF` / `OR_AUTHCFG` / both. */
export type DirectiveContextKind = 'server' | 'section' | 'any';

/** What a directive's `apply` is given. */
export interface DirectiveContext {
  readonly where: SourceLocation;
  /** The directive's name as the config spelled it. */
  readonly name: string;
  /** The section the directive is in (`undefined` at server level). */
  readonly section: SectionNode | undefined;
  /** The methods of the enclosing `<Limit>` / `<LimitExcept>`, if any. */
  readonly limit: MethodLimit | undefined;
  /** Directory the config file lives in; relative paths in directives resolve against it. */
  readonly serverRoot: string;
  /** The per-section settings of `module` being built (the server's base settings at top level). */
  dir<S>(module: Module<S, any>): S;
  /** The server-wide settings of `module`. */
  server<SS>(module: Module<any, SS>): SS;
  /** Throw a ConfigError for this line. */
  error(code: ConfigErrorCode, message: string, hint?: string): never;
  /** Log a load-time warning naming this line. */
  warn(message: string): void;
  /** The authn provider registered under `name` (aliases included), or undefined. */
  authnProvider(name: string): AuthnProviderRef | undefined;
  /** The authz provider registered under `name` (aliases included), or undefined. */
  authzProvider(name: string): AuthzProviderRef | undefined;
  /** Make `alias` name `ref` for `AuthBasicProvider` & co. (`<AuthnProviderAlias>`). */
  defineAuthnAlias(alias: string, ref: AuthnProviderRef): void;
  /** Make `alias` name `ref` for `Require` (`<AuthzProviderAlias>`). */
  defineAuthzAlias(alias: string, ref: AuthzProviderRef): void;
  /** Every module of this configuration. */
  readonly registry: RegistryView;
}

/** A `<Limit>`: the listed methods (upper-case), or all but them for `<LimitExcept>`. */
export interface MethodLimit {
  readonly methods: ReadonlySet<string>;
  readonly except: boolean;
}

/** True when `method` falls under `limit` (no limit: every method). GET implies HEAD. */
export function methodInLimit(limit: MethodLimit | undefined, method: string): boolean {
  if (!limit) return true;
  const m = method === 'HEAD' ? 'GET' : method;
  const listed = limit.methods.has(m) || limit.methods.has(method);
  return limit.except ? !listed : listed;
}

/** A resolved provider name: the provider plus, for an alias, the settings it runs with. */
export interface AuthnProviderRef {
  readonly name: string;
  readonly provider: AuthnProvider;
  /** For `<AuthnProviderAlias>`: the alias's own per-section settings. */
  readonly aliasSettings: ReadonlyMap<Module<any, any>, unknown> | undefined;
}

/** A resolved `Require` provider name; an `<AuthzProviderAlias>` carries its fixed arguments. */
export interface AuthzProviderRef {
  readonly name: string;
  readonly provider: AuthzProvider;
  readonly aliasArgs: string | undefined;
  readonly aliasSettings: ReadonlyMap<Module<any, any>, unknown> | undefined;
}

/** Read-only view of the registry for directive handlers. */
export interface RegistryView {
  readonly modules: readonly Module<any, any>[];
}

/**
 * One configuration directive. `args` are the words as httpd's `ap_getword_conf` splits them
 * (quotes removed); `raw` is the text after the directive name, for directives that parse it
 * themselves (`Require expr …`).
 */
export interface DirectiveSpec {
  readonly name: string;
  readonly context: DirectiveContextKind;
  readonly minArgs?: number;
  readonly maxArgs?: number;
  /** One-line syntax for errors and docs, e.g. `AuthType None|Basic`. */
  readonly syntax: string;
  apply(ctx: DirectiveContext, args: readonly string[], raw: string): void;
}

/**
 * A container directive (`<RequireAll>`, `<AuthnProviderAlias>`) that its module interprets
 * itself, children included. (`<Directory>`, `<Location>`, `<Files>`, `<Limit>` are the loader's.)
 */
export interface ContainerSpec {
  readonly name: string;
  readonly context: DirectiveContextKind;
  readonly syntax: string;
  apply(ctx: DirectiveContext, node: SectionNode, applyChildren: ApplyChildren): void;
}

/**
 * Applies `children` through the loader, each line with its own file:line and errors collected.
 * Without `settings` they apply where the container stands (`<RequireAll>`: same section); with
 * `settings` they build a separate settings map (`<AuthnProviderAlias>`: the alias's own).
 */
export type ApplyChildren = (
  children: readonly ConfigNode[],
  settings?: Map<Module<any, any>, unknown>,
) => void;

/**
 * The hook points, as httpd's: `access` (access_checker, every handler runs), `access_ex`
 * (access_checker_ex, first non-declined wins: the userless `Require` pass), `authn`
 * (check_user_id) and `authz` (auth_checker), both first non-declined wins.
 */
export type HookPhase = Phase | 'access_ex';

/**
 * An auth scheme named by `AuthType`. `noteAuthFailure` adds the challenge to a 401 answer
 * (httpd's `ap_note_auth_failure` hook), e.g. `WWW-Authenticate: Basic realm="…"`.
 */
export interface AuthScheme {
  /** As `AuthType` spells it; matched case-insensitively. */
  readonly name: string;
  noteAuthFailure(req: AuthRequest): void;
  /**
   * The answer when an authenticated user fails `Require` (authz_core's authz pass), when the
   * scheme has its own: Bearer answers 403 `insufficient_scope` (RFC 6750). Without it, authz_core
   * answers as httpd (401 + challenge, or 403 with `AuthzSendForbiddenOnFailure On`).
   */
  authzFailure?(req: AuthRequest): number;
}

/** A phase handler with its position among the others, as httpd's hook order. */
export interface HookSpec {
  readonly phase: HookPhase;
  /** Lower runs first: httpd's FIRST = 0, MIDDLE = 10, LAST = 20. */
  readonly order: number;
  readonly handler: PhaseHandler;
}

/**
 * A module bundles directives, per-section settings, providers and phase handlers — the shape of
 * built-ins and of user modules alike.
 *
 * Settings follow httpd: `createDirSettings` makes an empty settings object for one section,
 * `mergeDirSettings(base, add)` merges an inner section over an outer one (and must not mutate
 * either); `createServerSettings` makes the server-wide settings. Loaded settings are frozen.
 *
 * @example
 * ```ts
 * const hello: Module<{ greeting?: string }> = {
 *   name: 'hello',
 *   createDirSettings: () => ({}),
 *   mergeDirSettings: (base, add) => ({ ...base, ...add }),
 *   directives: [{ name: 'HelloGreeting', context: 'section', minArgs: 1, maxArgs: 1,
 *     syntax: 'HelloGreeting text', apply: (ctx, [text]) => { ctx.dir(hello).greeting = text; } }],
 * };
 * ```
 */
export interface Module<S = unknown, SS = unknown> {
  readonly name: string;
  readonly directives?: readonly DirectiveSpec[];
  readonly containers?: readonly ContainerSpec[];
  createDirSettings?(): S;
  mergeDirSettings?(base: S, add: S): S;
  createServerSettings?(): SS;
  readonly authnProviders?: Readonly<Record<string, AuthnProvider>>;
  readonly authzProviders?: Readonly<Record<string, AuthzProvider<any>>>;
  readonly hooks?: readonly HookSpec[];
  /** Auth schemes (`AuthType Basic`, …) this module implements. */
  readonly authSchemes?: readonly AuthScheme[];
  /** Content handlers (`SetHandler name`) this module implements. */
  readonly contentHandlers?: readonly ContentHandler[];
  /**
   * The groups `user` is in, from this module's sources under `req`'s settings (`AuthGroupFile`,
   * …), as the source spells them; `[]` when the module has no source for `req`. Forward-auth
   * answers them in `Remote-Groups`. Throws `AuthTsError` when a configured source cannot answer.
   */
  userGroups?(req: AuthRequest, user: string): Promise<readonly string[]>;
  /**
   * Cross-directive checks after the whole config is applied (and async preparation such as
   * importing `AuthTsHandler` modules); report problems through `view.error`.
   */
  checkConfig?(view: CheckView): void | Promise<void>;
  /** Release what the module holds (pools, watchers, workers), for every configuration. */
  close?(): Promise<void>;
  /**
   * Release what the module holds for one configuration only, leaving what other loaded
   * configurations still use (a module object is shared by every configuration loaded with it:
   * across a reload, the old and the new one). `Config.close()` calls it instead of `close()`
   * when the module has it, and `loadConfig` calls it for a configuration that failed to load
   * (after `checkConfig` may have opened something). It must tolerate a configuration that
   * holds nothing, and being called twice.
   */
  release?(config: ModuleScope): Promise<void>;
}

/**
 * The configuration {@link Module.release} releases: its server-wide settings, by module.
 *
 * @example
 * ```ts
 * async release(config: ModuleScope) { await pools.get(config.serverSettings(myModule))?.close(); }
 * ```
 */
export interface ModuleScope {
  serverSettings<SS>(module: Module<any, SS>): SS;
}

/** What `checkConfig` sees: every section's settings and a way to report. */
export interface CheckView {
  /** Each section's own (unmerged) settings of this module, with where the section starts. */
  readonly sections: readonly { where: SourceLocation; settings: unknown }[];
  serverSettings<SS>(module: Module<any, SS>): SS;
  error(where: SourceLocation, directive: string, code: ConfigErrorCode, message: string, hint?: string): void;
}

/**
 * A content handler, as httpd's `SetHandler`: it answers a request the phases allowed, in place
 * of the file `authts serve` would have sent (`form-login-handler`, a status page, …). Only
 * `authts serve` runs content handlers; the adapters leave the answer to the application.
 */
export interface ContentHandler {
  /** The name `SetHandler` selects; case-insensitive. */
  readonly name: string;
  /**
   * Answers the request. It owns `ctx.res` from here on and must end it; a throw before headers
   * are sent becomes a 500.
   */
  handle(ctx: ContentContext): Promise<void>;
}

/** What a {@link ContentHandler} is given. */
export interface ContentContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The phases' decision: the user, `AUTHENTICATE_*` values, the headers they set. */
  readonly verdict: Verdict;
  /** The merged settings of the request's sections. */
  readonly dir: DirConfig;
  /** The configuration answering the request (server-wide settings, the registry). */
  readonly config: Config;
  /** The normalized URL path and the query string (without `?`). */
  readonly path: string;
  readonly query: string;
  readonly log: Logger;
}
