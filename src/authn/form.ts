/**
 * mod_auth_form: `AuthType Form`, its directives, and the `form-login-handler` /
 * `form-logout-handler` content handlers, on top of the session module (../session/module.ts).
 *
 * - A request to a protected location with a live session is authenticated as its user; with
 *   none (no cookie, tampered, expired, logged out), it is sent (302) to
 *   `AuthFormLoginRequiredLocation` with the URL it asked for in the `AuthFormLocation` field,
 *   or answered 401 when no login location is set (as httpd).
 * - `form-login-handler` serves a built-in login page on GET and checks the POST: CSRF token
 *   and same-site origin, then the `AuthFormProvider` chain (as Basic's: only `not-found` moves
 *   on); a success starts a new server-side session and redirects (303) to the return-to path,
 *   held to this site, or `AuthFormLoginSuccessLocation`.
 * - `form-logout-handler` destroys the server-side session, clears the cookie and redirects to
 *   `AuthFormLogoutLocation` (or shows a signed-out page).
 *
 * Brute-force regulation (`AuthTsRegulation On` at the login location) counts failed logins as
 * it does for Basic, before any provider is asked.
 */
import type { IncomingMessage } from 'node:http';
import { parseCookie, stringifySetCookie } from 'cookie';
import { onOffDirective, parseOnOff } from '../config/args.js';
import { AuthTsError } from '../errors.js';
import type { StringExprAst } from '../expr/ast.js';
import { requestExprContext } from '../expr/context.js';
import { evaluateStringExpr } from '../expr/evaluate.js';
import { parseStringExpr } from '../expr/parse.js';
import { ExprSyntaxError } from '../expr/syntax-error.js';
import type { AuthnProviderRef, AuthnResult, ContentContext, ContentHandler, DirectiveSpec, Module } from '../module.js';
import type { AuthRequest, PhaseResult } from '../request.js';
import { bodyReader } from '../request-body.js';
import { createAuthRequest, requestConfig } from '../request-state.js';
import { findSessionModule, type SessionLookup, type SessionModule } from '../session/module.js';
import { runProviderChain } from './basic.js';
import { authName, authType, providerListDirective } from './core.js';
import { checkCsrfToken, CSRF_COOKIE, CSRF_FIELD, CSRF_MAX_AGE, csrfToken, isCsrfNonce, newCsrfNonce, sameSiteRefusal } from './form-csrf.js';
import { renderLoginPage, renderMessagePage, sendPage } from './form-page.js';
import { isHeaderSafe, safeReturnTo, withReturnTo } from './form-redirect.js';
import { findRegulationModule } from './regulation.js';
import { servedRequestInfo } from '../server/request-info.js';

/** A location directive's value: an httpd string expression, parsed at load. */
export interface LocationExpr {
  readonly text: string;
  readonly expr: StringExprAst;
}

/** mod_auth_form's per-section settings. */
export interface AuthFormSettings {
  providers: readonly AuthnProviderRef[] | undefined;
  authoritative: boolean | undefined;
  loginRequiredLocation: LocationExpr | undefined;
  loginSuccessLocation: LocationExpr | undefined;
  logoutLocation: LocationExpr | undefined;
  usernameField: string | undefined;
  passwordField: string | undefined;
  locationField: string | undefined;
  /** `AuthFormSize`: the largest login body read, in bytes. */
  size: number | undefined;
}

/** httpd's defaults. */
export const AUTH_FORM_DEFAULTS = {
  usernameField: 'httpd_username',
  passwordField: 'httpd_password',
  locationField: 'httpd_location',
  size: 8192,
} as const;

/** The largest `AuthFormSize` accepted (1 MiB): a login form is small. */
export const MAX_AUTH_FORM_SIZE = 1024 * 1024;

const FIELD_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
// Control characters never belong in a user name and would corrupt logs (as Basic refuses them).
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The message of a failed login: the same whether the user exists or not. */
export const LOGIN_FAILED_MESSAGE = 'The user name or password is incorrect.';

function locationDirective(name: string, key: 'loginRequiredLocation' | 'loginSuccessLocation' | 'logoutLocation'): DirectiveSpec {
  return {
    name,
    context: 'section',
    minArgs: 1,
    maxArgs: 1,
    syntax: `${name} url`,
    apply(ctx, [text]) {
      let expr: StringExprAst;
      try {
        expr = parseStringExpr(text!);
      } catch (err) {
        if (err instanceof ExprSyntaxError) return ctx.error('CONFIG_BAD_EXPR', `Cannot parse expression: ${err.message}`);
        throw err;
      }
      ctx.dir(authForm)[key] = { text: text!, expr };
    },
  };
}

function fieldDirective(name: string, key: 'usernameField' | 'passwordField' | 'locationField'): DirectiveSpec {
  return {
    name,
    context: 'section',
    minArgs: 1,
    maxArgs: 1,
    syntax: `${name} fieldname`,
    apply(ctx, [field]) {
      if (!FIELD_NAME.test(field!)) {
        ctx.error('CONFIG_BAD_ARGUMENT', `${name}: "${field!}" is not a usable form field name`, 'letters, digits, _ . : - (at most 64)');
      }
      ctx.dir(authForm)[key] = field!;
    },
  };
}

/** Evaluates a location expression for `req`; `undefined` (logged) when it fails or is not header-safe. */
function evaluateLocation(req: AuthRequest, location: LocationExpr, directive: string): string | undefined {
  let value: string;
  try {
    value = evaluateStringExpr(location.expr, requestExprContext(req));
  } catch (err) {
    req.log.error({ code: 'EXPR_EVAL', directive }, `${directive}: cannot evaluate "${location.text}": ${(err as Error).message}`);
    return undefined;
  }
  if (value === '' || !isHeaderSafe(value)) {
    req.log.error({ code: 'EXPR_EVAL', directive }, `${directive}: "${location.text}" gave an empty or unsafe URL`);
    return undefined;
  }
  return value;
}

/** The session module of `req`'s configuration when `Session On` is in force; logs and answers undefined otherwise. */
function sessionFor(req: AuthRequest): SessionModule | undefined {
  const session = findSessionModule(requestConfig(req).registry.modules);
  if (session === undefined || !session.enabled(req)) {
    req.log.error({ code: 'SESSION_NOT_ENABLED', path: req.path }, 'AuthType Form needs Session On for this location');
    return undefined;
  }
  return session;
}

/** mod_auth_form's check_user_id hook. */
async function authenticateForm(req: AuthRequest): Promise<PhaseResult> {
  const type = authType(req);
  if (!type || type.toLowerCase() !== 'form') return 'declined';
  req.authType = type;
  const session = sessionFor(req);
  if (session === undefined) return 500;
  let lookup: SessionLookup;
  try {
    lookup = await session.current(req);
  } catch (err) {
    req.log.error({ code: 'SESSION_UNAVAILABLE', err, path: req.path }, 'session store could not answer: refused');
    return 503;
  }
  if (lookup.state === 'live') {
    req.user = lookup.user;
    return 'ok';
  }
  const settings = req.settings(authForm);
  if (settings.authoritative === false) return 'declined';
  req.responseHeaders.set('Cache-Control', 'no-store');
  if (settings.loginRequiredLocation === undefined) return 401;
  const login = evaluateLocation(req, settings.loginRequiredLocation, 'AuthFormLoginRequiredLocation');
  if (login === undefined) return 500;
  // Carried only when it is a same-site path that the login handler will accept again.
  const returnTo = safeReturnTo(req.unparsedUri, req.headers['host']);
  const field = settings.locationField ?? AUTH_FORM_DEFAULTS.locationField;
  req.responseHeaders.set('Location', returnTo === undefined ? login : withReturnTo(login, field, returnTo));
  return 302;
}

/** The request as the phases saw it, for a content handler (settings, providers, log). */
function handlerRequest(ctx: ContentContext): AuthRequest {
  const req: IncomingMessage = ctx.req;
  return createAuthRequest(
    ctx.config,
    ctx.dir,
    { ...servedRequestInfo(req, ctx.path, ctx.query), readBody: bodyReader(req) },
    ctx.log,
  );
}

function cookiesOf(req: AuthRequest): Record<string, string | undefined> {
  const header = req.headers['cookie'];
  return header === undefined ? {} : parseCookie(header, { decode: (value) => value });
}

function csrfCookie(req: AuthRequest, nonce: string, maxAge: number): string {
  return stringifySetCookie(
    { name: CSRF_COOKIE, value: nonce, maxAge, path: '/', httpOnly: true, secure: req.tls, sameSite: 'strict' },
    { encode: (text) => text },
  );
}

/** With no `AuthFormProvider`, httpd uses `file`. */
function providersOf(req: AuthRequest): readonly AuthnProviderRef[] {
  const configured = req.settings(authForm).providers;
  if (configured !== undefined) return configured;
  const provider = requestConfig(req).registry.authnProvider('file');
  if (!provider) throw new Error('no authn provider configured');
  return [{ name: 'file', provider, aliasSettings: undefined }];
}

/** Reads the login form; a status when it cannot be read (413 too large, 415 not a form, 400). */
async function readLoginForm(req: AuthRequest): Promise<URLSearchParams | number> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return 415;
  const size = req.settings(authForm).size ?? AUTH_FORM_DEFAULTS.size;
  try {
    const body = await req.readBody!(size);
    return new URLSearchParams(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    if (err instanceof AuthTsError && err.code === 'BODY_TOO_LARGE') return 413;
    req.log.info({ err: err instanceof AuthTsError ? err.code : String(err) }, 'login form could not be read');
    return 400;
  }
}

/** The `form-login-handler`: the login page (GET/HEAD) and the login itself (POST). */
async function handleLogin(ctx: ContentContext): Promise<void> {
  const req = handlerRequest(ctx);
  const head = req.method === 'HEAD';
  const settings = req.settings(authForm);
  const fields = {
    usernameField: settings.usernameField ?? AUTH_FORM_DEFAULTS.usernameField,
    passwordField: settings.passwordField ?? AUTH_FORM_DEFAULTS.passwordField,
    locationField: settings.locationField ?? AUTH_FORM_DEFAULTS.locationField,
  };
  const host = req.headers['host'];
  const cookies = cookiesOf(req);

  /** Shows the form (again), with a fresh pre-session nonce unless the current one is reused. */
  const showForm = (status: number, options: { returnTo: string | undefined; username?: string; error?: string; extra?: Record<string, string> }): void => {
    const existing = cookies[CSRF_COOKIE];
    const nonce = isCsrfNonce(existing) ? existing : newCsrfNonce();
    const html = renderLoginPage({
      realm: authName(req),
      action: ctx.path,
      ...fields,
      returnTo: options.returnTo,
      csrfField: CSRF_FIELD,
      csrfToken: csrfToken(nonce),
      username: options.username,
      error: options.error,
    });
    sendPage(ctx.res, status, html, head, { 'Set-Cookie': csrfCookie(req, nonce, CSRF_MAX_AGE), ...options.extra });
  };

  if (req.method === 'GET' || req.method === 'HEAD') {
    const returnTo = safeReturnTo(new URLSearchParams(ctx.query).get(fields.locationField), host);
    showForm(200, { returnTo });
    return;
  }
  if (req.method !== 'POST') {
    sendPage(ctx.res, 405, renderMessagePage('Method not allowed', 'Use the sign-in form.'), false, { Allow: 'GET, HEAD, POST' });
    return;
  }

  const form = await readLoginForm(req);
  if (typeof form === 'number') {
    const message = form === 413 ? 'The form is too large.' : form === 415 ? 'Send the sign-in form as a form.' : 'The form could not be read.';
    sendPage(ctx.res, form, renderMessagePage('Sign-in refused', message, { href: ctx.path, text: 'Back to sign in' }), false);
    return;
  }
  const returnTo = safeReturnTo(form.get(fields.locationField), host);
  const refusal = sameSiteRefusal(req.headers, host);
  if (refusal !== undefined || !checkCsrfToken(cookies[CSRF_COOKIE], form.get(CSRF_FIELD))) {
    req.log.warn({ code: 'FORM_CSRF_REFUSED', reason: refusal ?? 'missing or wrong CSRF token', path: req.path }, 'login post refused');
    // A new nonce: whatever the refused post carried is not reused.
    cookies[CSRF_COOKIE] = undefined;
    showForm(403, { returnTo, error: 'This sign-in form has expired or did not come from this site. Please sign in again.' });
    return;
  }
  const user = form.get(fields.usernameField) ?? '';
  const password = form.get(fields.passwordField) ?? '';
  if (user === '' || password === '' || CONTROL.test(user)) {
    showForm(400, { returnTo, username: CONTROL.test(user) ? '' : user, error: 'Enter your user name and password.' });
    return;
  }

  const session = sessionFor(req);
  if (session === undefined) {
    sendPage(ctx.res, 500, renderMessagePage('Sign-in unavailable', 'Signing in is not possible right now.'), false);
    return;
  }
  const regulation = findRegulationModule(requestConfig(req).registry.modules);
  const retryAfter = regulation ? await regulation.bannedFor(req, user) : 0;
  if (retryAfter > 0) {
    req.log.info({ code: 'REGULATION_BAN', user, path: req.path }, 'refused: too many authentication failures');
    showForm(429, { returnTo, username: user, error: 'Too many failed sign-ins. Please wait and try again later.', extra: { 'Retry-After': String(retryAfter) } });
    return;
  }
  let result: AuthnResult;
  try {
    result = await runProviderChain(req, providersOf(req), async (target, ref) => {
      if (!ref.provider.checkPassword) throw new Error(`provider ${ref.name} cannot check passwords`);
      return ref.provider.checkPassword(target, user, password);
    });
  } catch (err) {
    req.log.error({ err, user }, 'authn provider could not answer');
    sendPage(ctx.res, 500, renderMessagePage('Sign-in unavailable', 'Signing in is not possible right now. Please try again later.'), false);
    return;
  }
  if (result !== 'granted') {
    if (regulation) await regulation.record(req, user, false);
    req.log.info({ user, path: req.path }, result === 'denied' ? 'authentication failure: Password Mismatch' : 'user not found');
    showForm(401, { returnTo, username: user, error: LOGIN_FAILED_MESSAGE });
    return;
  }
  if (regulation) void regulation.record(req, user, true);

  let sessionCookie: string;
  try {
    sessionCookie = await session.start(req, user);
  } catch (err) {
    req.log.error({ code: 'SESSION_UNAVAILABLE', err, user }, 'session store could not keep the new session');
    sendPage(ctx.res, 503, renderMessagePage('Sign-in unavailable', 'Signing in is not possible right now. Please try again later.'), false);
    return;
  }
  const success = settings.loginSuccessLocation === undefined ? undefined : evaluateLocation(req, settings.loginSuccessLocation, 'AuthFormLoginSuccessLocation');
  const target = returnTo ?? success ?? '/';
  req.log.info({ user, path: req.path }, 'signed in');
  sendPage(ctx.res, 303, renderMessagePage('Signed in', 'You are signed in.', { href: target, text: 'Continue' }, true), head, {
    Location: target,
    'Set-Cookie': [sessionCookie, csrfCookie(req, '', 0)],
  });
}

/** The `form-logout-handler`: destroys the session, clears its cookie, redirects. */
async function handleLogout(ctx: ContentContext): Promise<void> {
  const req = handlerRequest(ctx);
  if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'HEAD') {
    sendPage(ctx.res, 405, renderMessagePage('Method not allowed', 'Use GET or POST to sign out.'), false, { Allow: 'GET, HEAD, POST' });
    return;
  }
  const head = req.method === 'HEAD';
  const session = sessionFor(req);
  if (session === undefined) {
    sendPage(ctx.res, 500, renderMessagePage('Sign-out unavailable', 'Signing out is not possible right now.'), head);
    return;
  }
  // The cookie is cleared whatever happens; the server-side session must be gone too, or the
  // answer says so (a copy of the cookie would still work).
  const clear = session.clearCookie(req);
  try {
    await session.end(req);
  } catch (err) {
    req.log.error({ code: 'SESSION_UNAVAILABLE', err }, 'session store could not destroy the session');
    sendPage(ctx.res, 503, renderMessagePage('Sign-out incomplete', 'The server could not end your session. Please try again.'), head, { 'Set-Cookie': clear });
    return;
  }
  const settings = req.settings(authForm);
  const target = settings.logoutLocation === undefined ? undefined : evaluateLocation(req, settings.logoutLocation, 'AuthFormLogoutLocation');
  if (target === undefined) {
    sendPage(ctx.res, 200, renderMessagePage('Signed out', 'You are signed out.', { href: '/', text: 'Home' }, true), head, { 'Set-Cookie': clear });
    return;
  }
  sendPage(ctx.res, 303, renderMessagePage('Signed out', 'You are signed out.', { href: target, text: 'Continue' }, true), head, { 'Set-Cookie': clear, Location: target });
}

const loginHandler: ContentHandler = { name: 'form-login-handler', handle: handleLogin };
const logoutHandler: ContentHandler = { name: 'form-logout-handler', handle: handleLogout };

/** mod_auth_form: `AuthType Form`, its directives, and the login and logout handlers. */
export const authForm: Module<AuthFormSettings> = {
  name: 'auth_form',
  createDirSettings: () => ({
    providers: undefined,
    authoritative: undefined,
    loginRequiredLocation: undefined,
    loginSuccessLocation: undefined,
    logoutLocation: undefined,
    usernameField: undefined,
    passwordField: undefined,
    locationField: undefined,
    size: undefined,
  }),
  mergeDirSettings: (base, add) => ({
    providers: add.providers ?? base.providers,
    authoritative: add.authoritative ?? base.authoritative,
    loginRequiredLocation: add.loginRequiredLocation ?? base.loginRequiredLocation,
    loginSuccessLocation: add.loginSuccessLocation ?? base.loginSuccessLocation,
    logoutLocation: add.logoutLocation ?? base.logoutLocation,
    usernameField: add.usernameField ?? base.usernameField,
    passwordField: add.passwordField ?? base.passwordField,
    locationField: add.locationField ?? base.locationField,
    size: add.size ?? base.size,
  }),
  // A signed-in user whom `Require` refuses gets 403: a 401 without a challenge would only send
  // the browser nowhere (docs/differences-from-httpd.md).
  authSchemes: [{ name: 'Form', noteAuthFailure: () => {}, authzFailure: () => 403 }],
  contentHandlers: [loginHandler, logoutHandler],
  directives: [
    providerListDirective('AuthFormProvider', 'Form', 'checkPassword', (ctx, providers) => {
      ctx.dir(authForm).providers = providers;
    }),
    onOffDirective('AuthFormAuthoritative', 'section', (ctx, on) => {
      ctx.dir(authForm).authoritative = on;
    }),
    locationDirective('AuthFormLoginRequiredLocation', 'loginRequiredLocation'),
    locationDirective('AuthFormLoginSuccessLocation', 'loginSuccessLocation'),
    locationDirective('AuthFormLogoutLocation', 'logoutLocation'),
    fieldDirective('AuthFormUsername', 'usernameField'),
    fieldDirective('AuthFormPassword', 'passwordField'),
    fieldDirective('AuthFormLocation', 'locationField'),
    {
      name: 'AuthFormFakeBasicAuth',
      context: 'section',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'AuthFormFakeBasicAuth On|Off',
      apply(ctx, [value]) {
        if (parseOnOff(ctx, value!)) {
          ctx.error(
            'CONFIG_BAD_ARGUMENT',
            'AuthFormFakeBasicAuth On is not supported: authts never forges an Authorization header carrying the password',
            'remove it (Off is the default); the application reads the user from REMOTE_USER / the verdict',
          );
        }
      },
    },
    {
      name: 'AuthFormSize',
      context: 'section',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'AuthFormSize bytes',
      apply(ctx, [value]) {
        if (!/^\d{1,8}$/.test(value!) || Number(value) < 1 || Number(value) > MAX_AUTH_FORM_SIZE) {
          ctx.error('CONFIG_BAD_ARGUMENT', `AuthFormSize must be a whole number of bytes from 1 to ${MAX_AUTH_FORM_SIZE} (got "${value!}")`);
        }
        ctx.dir(authForm).size = Number(value);
      },
    },
  ],
  hooks: [{ phase: 'authn', order: 10, handler: authenticateForm }],
};
