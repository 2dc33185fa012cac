/**
 * `AuthType Bearer` (RFC 6750): the access token from the `Authorization` header (and, only when
 * enabled, from the query string or a form body), checked by the providers of
 * `AuthBearerProvider` (default `jwt`), with RFC 6750's errors:
 *
 * - no token (or another scheme): 401, `WWW-Authenticate: Bearer realm="…"`, no error attribute;
 * - a malformed request (two `Authorization` headers, a `Bearer` header that is not a token, a
 *   token sent in more than one way): 400, `error="invalid_request"`;
 * - a token that does not verify: 401, `error="invalid_token"` with an `error_description`;
 * - a valid token that fails `Require`: 403, `error="insufficient_scope"` (with `scope="…"` when
 *   a `Require jwt-scope` line failed).
 *
 * httpd 2.4 has no Bearer scheme; the directive names follow httpd trunk's mod_auth_bearer.
 */
import { observeProvider } from '../observe.js';
import { onOffDirective } from '../config/args.js';
import { AuthTsError } from '../errors.js';
import type { AuthnProviderRef, Module, TokenResult } from '../module.js';
import type { AuthRequest, PhaseResult } from '../request.js';
import { requestConfig, withAliasSettings } from '../request-state.js';
import { setTokenClaims } from './claims.js';
import { authName, providerListDirective, quoteParam, startSchemeCheck } from './core.js';

/** auth_bearer's per-section settings. @example `req.settings(authBearer).allowQueryToken` → `true` with `AuthTsJwtAllowQueryToken On` */
export interface AuthBearerSettings {
  /** `AuthBearerProvider` list; an inner section's list replaces the outer one. */
  providers: readonly AuthnProviderRef[] | undefined;
  /** `AuthTsJwtAllowQueryToken` (default Off). */
  allowQueryToken: boolean | undefined;
  /** `AuthTsJwtAllowFormToken` (default Off). */
  allowFormToken: boolean | undefined;
}

/** RFC 6750's `b64token` (RFC 6750 §2.1). */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** The largest form body read for `access_token` (`AuthTsJwtAllowFormToken On`). @example `await req.readBody(FORM_TOKEN_BODY_LIMIT)` */
export const FORM_TOKEN_BODY_LIMIT = 65_536;

/** A Bearer error (RFC 6750 §3.1). @example `const e: BearerError = { error: 'invalid_token', description: 'the token expired' };` */
export interface BearerError {
  readonly error: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  readonly description?: string;
  readonly scope?: string;
}

/** Only what RFC 6750 allows inside a quoted attribute (%x20-21 / %x23-5B / %x5D-7E). */
function attribute(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '?');
}

/**
 * Sets `WWW-Authenticate: Bearer realm="…"` (set, not appended), with RFC 6750's `error`,
 * `error_description` and `scope` when given.
 *
 * @example
 * ```ts
 * noteBearerChallenge(req, { error: 'invalid_token', description: 'the token expired' });
 * // WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="the token expired"
 * ```
 */
export function noteBearerChallenge(req: AuthRequest, error?: BearerError): void {
  let value = `Bearer realm="${quoteParam(authName(req) ?? '')}"`;
  if (error) {
    value += `, error="${error.error}"`;
    if (error.description) value += `, error_description="${attribute(error.description)}"`;
    if (error.scope) value += `, scope="${attribute(error.scope)}"`;
  }
  req.responseHeaders.set('WWW-Authenticate', value);
}

const failedScopes = new WeakMap<Map<string, unknown>, Set<string>>();

/**
 * Remembers scopes a `Require jwt-scope` line found missing, for the `scope` attribute of the
 * 403 `insufficient_scope` challenge.
 *
 * @example
 * ```ts
 * noteMissingScopes(req, ['write']);
 * ```
 */
export function noteMissingScopes(req: AuthRequest, scopes: readonly string[]): void {
  let set = failedScopes.get(req.notes);
  if (!set) failedScopes.set(req.notes, (set = new Set()));
  for (const s of scopes) set.add(s);
}

/** The answer to an authenticated user who fails `Require`: 403 `insufficient_scope`. */
function bearerAuthzFailure(req: AuthRequest): number {
  const scopes = failedScopes.get(req.notes);
  req.log.info({ user: req.user, path: req.path }, 'authorization failure: insufficient_scope');
  noteBearerChallenge(req, {
    error: 'insufficient_scope',
    description: 'the token does not grant access to this resource',
    ...(scopes && scopes.size > 0 ? { scope: [...scopes].join(' ') } : {}),
  });
  return 403;
}

/** The token of a request, or why there is none. */
type TokenSearch =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'bad'; readonly description: string }
  | { readonly kind: 'status'; readonly status: number };

/** Finds the token: header always, query and form body only when enabled; one way only. */
async function findToken(req: AuthRequest, settings: AuthBearerSettings): Promise<TokenSearch> {
  const found: string[] = [];
  const header = req.headers['authorization'];
  if (header !== undefined) {
    const m = /^([^ \t]+)[ \t]*([\s\S]*)$/.exec(header);
    if (m && m[1]!.toLowerCase() === 'bearer') {
      const token = m[2]!.replace(/[ \t]+$/, '');
      if (!B64TOKEN.test(token)) return { kind: 'bad', description: 'the Authorization header does not hold a Bearer token' };
      found.push(token);
    }
  }
  if (req.query.includes('access_token')) {
    const values = new URLSearchParams(req.query).getAll('access_token');
    if (values.length > 0) {
      if (!settings.allowQueryToken) {
        req.log.info('access_token in the query string ignored (AuthTsJwtAllowQueryToken Off)');
      } else {
        if (values.length > 1) return { kind: 'bad', description: 'more than one access_token parameter' };
        if (!B64TOKEN.test(values[0]!)) return { kind: 'bad', description: 'the access_token parameter is not a token' };
        found.push(values[0]!);
      }
    }
  }
  if (settings.allowFormToken && isFormPost(req)) {
    let body: Buffer;
    try {
      if (!req.readBody) throw new AuthTsError('BODY_UNAVAILABLE', 'this request has no body reader');
      body = await req.readBody(FORM_TOKEN_BODY_LIMIT);
    } catch (err) {
      const code = err instanceof AuthTsError ? err.code : undefined;
      req.log.error({ code, err }, 'the form body could not be read for access_token');
      return { kind: 'status', status: code === 'BODY_TOO_LARGE' ? 413 : code === 'BODY_UNREADABLE' ? 400 : 500 };
    }
    const values = new URLSearchParams(body.toString('utf8')).getAll('access_token');
    if (values.length > 1) return { kind: 'bad', description: 'more than one access_token parameter' };
    if (values.length === 1) {
      if (!B64TOKEN.test(values[0]!)) return { kind: 'bad', description: 'the access_token parameter is not a token' };
      found.push(values[0]!);
    }
  }
  if (found.length > 1) return { kind: 'bad', description: 'the token was sent in more than one way' };
  return found.length === 1 ? { kind: 'token', token: found[0]! } : { kind: 'none' };
}

/** RFC 6750 §2.2: a single-part `application/x-www-form-urlencoded` body, not GET. */
function isFormPost(req: AuthRequest): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  const type = req.headers['content-type'];
  return type !== undefined && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type);
}

/** The `AUTHENTICATE_*` values of each claims object (a cached grant shares its claims across requests). */
const claimEnvOf = new WeakMap<object, readonly (readonly [string, string])[]>();

/** Claims whose names are plain words become `AUTHENTICATE_<NAME>` values, as mod_authnz_ldap's attributes. */
function setClaimEnv(req: AuthRequest, claims: Readonly<Record<string, unknown>>): void {
  let values = claimEnvOf.get(claims);
  if (values === undefined) {
    const list: (readonly [string, string])[] = [];
    for (const [name, value] of Object.entries(claims)) {
      if (!/^[A-Za-z0-9_]+$/.test(name) || value === null || value === undefined) continue;
      let text: string;
      if (typeof value === 'string') text = value;
      else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
      else if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) text = value.join(' ');
      else text = JSON.stringify(value);
      list.push([`AUTHENTICATE_${name.toUpperCase()}`, text]);
    }
    values = list;
    // Only frozen claims are remembered: a mutable object could change after the first request.
    if (Object.isFrozen(claims)) claimEnvOf.set(claims, values);
  }
  for (const [name, text] of values) req.env.set(name, text);
}

/** With no `AuthBearerProvider`, the `jwt` provider. */
function defaultProvider(req: AuthRequest): AuthnProviderRef {
  const provider = requestConfig(req).registry.authnProvider('jwt');
  if (!provider) throw new Error('no Bearer provider configured (AuthBearerProvider)');
  return { name: 'jwt', provider, aliasSettings: undefined };
}

/** auth_bearer's check_user_id hook. */
async function authenticateBearer(req: AuthRequest): Promise<PhaseResult> {
  const refused = startSchemeCheck(req, 'bearer', () =>
    noteBearerChallenge(req, { error: 'invalid_request', description: 'more than one Authorization header' }),
  );
  if (refused !== undefined) return refused;
  const settings = req.settings(authBearer);
  const search = await findToken(req, settings);
  if (search.kind === 'status') return search.status;
  if (search.kind === 'none') {
    noteBearerChallenge(req);
    return 401;
  }
  if (search.kind === 'bad') {
    req.log.info({ reason: search.description }, 'Bearer request refused');
    noteBearerChallenge(req, { error: 'invalid_request', description: search.description });
    return 400;
  }
  let answer: TokenResult = { result: 'not-found', reason: 'no provider knows the token' };
  try {
    for (const ref of settings.providers ?? [defaultProvider(req)]) {
      if (!ref.provider.checkToken) throw new Error(`provider ${ref.name} cannot check tokens`);
      const target = ref.aliasSettings ? withAliasSettings(req, ref.aliasSettings) : req;
      const checkToken = ref.provider.checkToken.bind(ref.provider);
      answer = await observeProvider(req, 'authn', ref.name, () => checkToken(target, search.token), (token) => token.result);
      if (answer.result !== 'not-found') break;
    }
  } catch (err) {
    req.log.error({ code: err instanceof AuthTsError ? err.code : undefined, err }, 'Bearer provider could not answer');
    return 500;
  }
  if (answer.result === 'granted') {
    req.user = answer.user;
    setTokenClaims(req, answer.claims);
    setClaimEnv(req, answer.claims);
    return 'ok';
  }
  req.log.info({ reason: answer.reason, path: req.path }, 'Bearer token refused');
  noteBearerChallenge(req, { error: 'invalid_token', description: answer.reason });
  return 401;
}

/**
 * auth_bearer: `AuthType Bearer`, `AuthBearerProvider`, `AuthTsJwtAllowQueryToken`,
 * `AuthTsJwtAllowFormToken`.
 *
 * @example
 * ```apache
 * <Location "/api">
 *     AuthType Bearer
 *     AuthName "api"
 *     AuthBearerProvider jwt
 *     AuthTsJwtKeys keys/issuer.pem
 *     Require jwt-scope read
 * </Location>
 * ```
 */
export const authBearer: Module<AuthBearerSettings> = {
  name: 'auth_bearer',
  createDirSettings: () => ({ providers: undefined, allowQueryToken: undefined, allowFormToken: undefined }),
  mergeDirSettings: (base, add) => ({
    providers: add.providers ?? base.providers,
    allowQueryToken: add.allowQueryToken ?? base.allowQueryToken,
    allowFormToken: add.allowFormToken ?? base.allowFormToken,
  }),
  authSchemes: [{ name: 'Bearer', noteAuthFailure: (req) => noteBearerChallenge(req), authzFailure: bearerAuthzFailure }],
  directives: [
    providerListDirective('AuthBearerProvider', 'Bearer', 'checkToken', (ctx, providers) => {
      ctx.dir(authBearer).providers = providers;
    }),
    onOffDirective('AuthTsJwtAllowQueryToken', 'section', (ctx, on) => {
      ctx.dir(authBearer).allowQueryToken = on;
    }),
    onOffDirective('AuthTsJwtAllowFormToken', 'section', (ctx, on) => {
      ctx.dir(authBearer).allowFormToken = on;
    }),
  ],
  hooks: [{ phase: 'authn', order: 10, handler: authenticateBearer }],
};
