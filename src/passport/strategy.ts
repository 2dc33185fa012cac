/**
 * Every authts provider as a passport strategy: {@link AuthTsStrategy} wraps a
 * {@link PasswordChecker} (`fileProvider`, and the LDAP, SQL and JWT providers) so that an
 * Express app using passport checks users against an htpasswd file without authts' config.
 *
 * Nothing here imports passport or passport-strategy: passport only needs `name` and
 * `authenticate`, and gives each request a copy of the strategy carrying the actions
 * (`success`, `fail`, `error`, `redirect`, `pass`); the class declares them for the type checker.
 */
import { decodeBasic } from '../authn/basic.js';
import { quoteParam } from '../authn/core.js';
import type { PasswordChecker } from '../module.js';

/** Options shared by both kinds of credentials. */
interface StrategyCommonOptions {
  /** The provider that checks the names and passwords. */
  readonly checker: PasswordChecker;
  /** The name passport registers the strategy under (default `authts`). */
  readonly name?: string;
}

/**
 * Credentials from `Authorization: Basic`, with a realm challenge, as passport-http's BasicStrategy.
 *
 * @example
 * ```ts
 * const options: BasicStrategyOptions = { checker: users, realm: 'Staff' };
 * ```
 */
export interface BasicStrategyOptions extends StrategyCommonOptions {
  /** Default `'basic'`. */
  readonly credentials?: 'basic';
  /** The realm of `WWW-Authenticate: Basic realm="…"` (default `Users`, as passport-http). */
  readonly realm?: string;
}

/**
 * Credentials from form fields of `req.body`, as passport-local (needs a body parser before passport).
 *
 * @example
 * ```ts
 * const options: FormStrategyOptions = { checker: users, credentials: 'form', usernameField: 'email' };
 * ```
 */
export interface FormStrategyOptions extends StrategyCommonOptions {
  readonly credentials: 'form';
  /** Default `username`. */
  readonly usernameField?: string;
  /** Default `password`. */
  readonly passwordField?: string;
}

/**
 * Options of {@link AuthTsStrategy}: `credentials` picks the kind, and the options of that kind.
 *
 * @example
 * ```ts
 * new AuthTsStrategy({ checker: users, credentials: 'form' } satisfies AuthTsStrategyOptions);
 * ```
 */
export type AuthTsStrategyOptions = BasicStrategyOptions | FormStrategyOptions;

/**
 * What the strategy reads of a request (an Express request, or any node:http request with `body`).
 *
 * @example
 * ```ts
 * const req: StrategyRequest = { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } };
 * ```
 */
export interface StrategyRequest {
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body?: unknown;
}

/**
 * The user a successful check hands to `success()`.
 *
 * @example
 * ```ts
 * app.get('/me', passport.authenticate('authts', { session: false }), (req, res) => res.send((req.user as AuthTsUser).name));
 * ```
 */
export interface AuthTsUser {
  readonly name: string;
}

/**
 * Why a form login failed, as passport-local's `{ message }` (for `failureFlash`, `failureMessage`).
 *
 * @example
 * ```ts
 * passport.authenticate('login', { failureMessage: true }); // req.session.messages gets the message
 * ```
 */
export interface FailureMessage {
  readonly message: string;
}

const CONTROL = /[\u0000-\u001f\u007f]/;
/** One answer for a wrong password and an unknown user: it must not tell which. */
const INVALID: FailureMessage = Object.freeze({ message: 'Invalid username or password' });
const MISSING: FailureMessage = Object.freeze({ message: 'Missing credentials' });

/**
 * A passport strategy that checks a user name and password with any {@link PasswordChecker}.
 *
 * - `credentials: 'basic'` (default): reads `Authorization: Basic`; none or another scheme →
 *   `fail('Basic realm="…"')` (passport answers 401 with that challenge); malformed →
 *   `fail(400)`.
 * - `credentials: 'form'`: reads `req.body[usernameField]` and `req.body[passwordField]` (not
 *   the query string: credentials there end up in access logs); missing or not a string →
 *   `fail({ message: 'Missing credentials' }, 400)`, as passport-local.
 * - `'granted'` → `success({ name }, { provider })`; `'denied'` and `'not-found'` → the same
 *   `fail` (the Basic challenge, or `{ message: 'Invalid username or password' }`): nothing tells
 *   an unknown user from a wrong password, and the checker makes both cost the same time;
 * - the checker throwing (`AuthTsError`: file unreadable, server down) → `error(err)`.
 *
 * Options are checked in the constructor (`TypeError` naming the option) and copied.
 *
 * @example
 * ```ts
 * import passport from 'passport';
 * import { fileProvider } from 'authts';
 * import { AuthTsStrategy } from 'authts/passport';
 * passport.use(new AuthTsStrategy({ checker: await fileProvider({ userFile: 'users' }), realm: 'Staff' }));
 * app.get('/private', passport.authenticate('authts', { session: false }), (req, res) => res.send(req.user.name));
 * ```
 */
export class AuthTsStrategy {
  /** The name passport registers the strategy under. */
  readonly name: string;
  /** Where the credentials come from. */
  readonly credentials: 'basic' | 'form';
  // TS `private`, not `#`: passport calls authenticate on Object.create(strategy), which would
  // not see #private fields.
  private readonly checker: PasswordChecker;
  private readonly challenge: string;
  private readonly usernameField: string;
  private readonly passwordField: string;

  /** Set by passport on the per-request copy: authenticates `user`. */
  declare success: (user: AuthTsUser, info?: { readonly provider: string }) => void;
  /** Set by passport on the per-request copy: refuses, with a challenge and/or status. */
  declare fail: ((challenge?: string | FailureMessage, status?: number) => void) & ((status: number) => void);
  /** Set by passport on the per-request copy: the check could not be made. */
  declare error: (err: unknown) => void;
  /** Set by passport on the per-request copy (unused by this strategy). */
  declare redirect: (url: string, status?: number) => void;
  /** Set by passport on the per-request copy (unused by this strategy). */
  declare pass: () => void;

  constructor(options: AuthTsStrategyOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('AuthTsStrategy: options must be an object');
    const checker = options.checker as Partial<PasswordChecker> | null | undefined;
    if (checker === null || typeof checker !== 'object' || typeof checker.checkPassword !== 'function') {
      throw new TypeError('AuthTsStrategy: options.checker must be a PasswordChecker (e.g. await fileProvider({ userFile }))');
    }
    const credentials = options.credentials ?? 'basic';
    if (credentials !== 'basic' && credentials !== 'form') {
      throw new TypeError(`AuthTsStrategy: options.credentials must be 'basic' or 'form' (got ${JSON.stringify(credentials)})`);
    }
    const name = options.name ?? 'authts';
    if (typeof name !== 'string' || name === '') throw new TypeError('AuthTsStrategy: options.name must be a non-empty string');
    const realm = 'realm' in options && options.realm !== undefined ? options.realm : 'Users';
    if (typeof realm !== 'string' || CONTROL.test(realm)) {
      throw new TypeError('AuthTsStrategy: options.realm must be a string without control characters');
    }
    const fields: Partial<FormStrategyOptions> = options.credentials === 'form' ? options : {};
    const usernameField = fields.usernameField ?? 'username';
    const passwordField = fields.passwordField ?? 'password';
    for (const [option, value] of [['usernameField', usernameField], ['passwordField', passwordField]] as const) {
      if (typeof value !== 'string' || value === '') throw new TypeError(`AuthTsStrategy: options.${option} must be a non-empty string`);
    }
    this.name = name;
    this.credentials = credentials;
    this.checker = checker as PasswordChecker;
    this.challenge = `Basic realm="${quoteParam(realm)}"`;
    this.usernameField = usernameField;
    this.passwordField = passwordField;
  }

  /**
   * Called by passport with `this` bound to a per-request copy carrying the actions; answers
   * through exactly one of them (never before the checker answered, for a complete pair).
   */
  authenticate(req: StrategyRequest, _options?: unknown): void {
    const pair = this.credentials === 'basic' ? this.fromBasic(req) : this.fromForm(req);
    if (pair === undefined) return;
    const refuse = this.credentials === 'basic' ? this.challenge : INVALID;
    const provider = this.checker.name;
    this.checker.checkPassword(pair.user, pair.password).then(
      (result) => (result === 'granted' ? this.success({ name: pair.user }, { provider }) : this.fail(refuse)),
      (err: unknown) => this.error(err),
    );
  }

  /** The Basic pair, or undefined after answering `fail`. */
  private fromBasic(req: StrategyRequest): { user: string; password: string } | undefined {
    const header = req.headers?.['authorization'];
    if (header === undefined || header === '') {
      this.fail(this.challenge);
      return undefined;
    }
    if (typeof header !== 'string') {
      this.fail(400);
      return undefined;
    }
    const decoded = decodeBasic(header);
    if (!decoded.ok) {
      if (decoded.status === 401) this.fail(this.challenge);
      else this.fail(400);
      return undefined;
    }
    return { user: decoded.user, password: decoded.password };
  }

  /** The form pair, or undefined after answering `fail`. */
  private fromForm(req: StrategyRequest): { user: string; password: string } | undefined {
    const user = ownString(req.body, this.usernameField);
    const password = ownString(req.body, this.passwordField);
    if (user === undefined || password === undefined || user === '' || password === '') {
      this.fail(MISSING, 400);
      return undefined;
    }
    return { user, password };
  }
}

/** `body[field]` when it is the body's own string property (never one from a prototype). */
function ownString(body: unknown, field: string): string | undefined {
  if (body === null || typeof body !== 'object' || !Object.prototype.hasOwnProperty.call(body, field)) return undefined;
  const value = (body as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

