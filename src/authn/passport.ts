/**
 * `AuthType passport`: any passport strategy as the authn handler of a section.
 *
 * This file imports nothing from passport: a strategy is any object with `authenticate(req,
 * options)` that answers through the five actions passport adds to it (`success`, `fail`,
 * `error`, `redirect`, `pass`). It is the one place in authts where callbacks become a promise
 * (DESIGN.md §6.5): {@link runStrategy}.
 */
import { onOffDirective } from '../config/args.js';
import { AuthTsError } from '../errors.js';
import type { Module } from '../module.js';
import type { AuthRequest, PhaseResult } from '../request.js';
import { authType } from './core.js';

/**
 * What authts needs of a passport strategy: `authenticate`, called with `this` set to a copy of
 * the strategy that has the five actions (as passport's own middleware does). Every strategy
 * built on `passport-strategy` has this shape.
 *
 * @example
 * ```ts
 * const anyone: PassportStrategyLike = { authenticate() { this.success({ username: 'guest' }); } };
 * ```
 */
export interface PassportStrategyLike {
  readonly name?: string | undefined;
  authenticate(req: any, options?: any): unknown;
}

/**
 * A strategy with what authts should pass to it and say for it.
 *
 * @example
 * ```ts
 * const entry: PassportStrategyEntry = { strategy: new BearerStrategy(verify), challenge: 'Bearer realm="api"' };
 * ```
 */
export interface PassportStrategyEntry {
  readonly strategy: PassportStrategyLike;
  /** The second argument of `authenticate` (what `passport.authenticate(name, options)` gives it: `scope`, …). */
  readonly options?: Readonly<Record<string, unknown>>;
  /**
   * The `WWW-Authenticate` value for a 401 that authz_core answers after this strategy
   * authenticated the user (a `Require` the user does not meet), e.g. `Bearer realm="api"`.
   * Without it such a 401 carries no challenge (use `AuthzSendForbiddenOnFailure On` for a 403).
   */
  readonly challenge?: string;
}

/**
 * Options of {@link passportModule}.
 *
 * @example
 * ```ts
 * const options: PassportModuleOptions = { strategies: { local: new LocalStrategy(verify) }, timeoutMs: 5000 };
 * ```
 */
export interface PassportModuleOptions {
  /** The strategies `AuthTsPassportStrategy` may name, by name (at least one). */
  readonly strategies: Readonly<Record<string, PassportStrategyLike | PassportStrategyEntry>>;
  /**
   * Turns what a strategy gave `success(user, info)` into the user name (`req.user`, what
   * `Require user` compares). Default: a string user as is; otherwise the first non-empty string
   * (or finite number) among `username`, `name`, `id`, `sub`, `email`. `undefined` → 500.
   */
  readonly userName?: (user: unknown, info: unknown) => string | undefined;
  /** How long a strategy may take to call one of its actions (default 30 000 ms; then 500). */
  readonly timeoutMs?: number;
}

/**
 * The per-section settings of the `authts_passport` module.
 *
 * @example
 * ```ts
 * const settings: PassportSettings = req.settings(passport); // { strategies: ['bearer'], formBody: undefined, formSize: undefined }
 * ```
 */
export interface PassportSettings {
  /** `AuthTsPassportStrategy`: tried in order; an inner section's list replaces the outer one. */
  strategies: readonly string[] | undefined;
  /** `AuthTsPassportFormBody` (default Off). */
  formBody: boolean | undefined;
  /** `AuthTsPassportFormSize` in bytes (default {@link DEFAULT_FORM_SIZE}). */
  formSize: number | undefined;
}

/**
 * `AuthTsPassportFormSize` when unset: mod_auth_form's `AuthFormSize` default.
 *
 * @example
 * ```ts
 * const body = await req.readBody?.(DEFAULT_FORM_SIZE);
 * ```
 */
export const DEFAULT_FORM_SIZE = 8192;
const MAX_FORM_SIZE = 10 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const USER_KEYS = ['username', 'name', 'id', 'sub', 'email'] as const;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * What a strategy answered: one of passport's five actions, with its arguments.
 *
 * @example
 * ```ts
 * const outcome: StrategyOutcome = { action: 'fail', challenge: 'Bearer realm="api"', status: undefined };
 * ```
 */
export type StrategyOutcome =
  | { readonly action: 'success'; readonly user: unknown; readonly info: unknown }
  | { readonly action: 'fail'; readonly challenge: unknown; readonly status: unknown }
  | { readonly action: 'redirect'; readonly url: unknown; readonly status: unknown }
  | { readonly action: 'pass' }
  | { readonly action: 'error'; readonly error: unknown };

/**
 * Runs one strategy against `req` and resolves with the first action it calls: the bridge
 * from passport's callbacks to a promise. A strategy that throws, returns a rejected promise, or
 * calls no action within `timeoutMs` answers `error`. Actions called after the first are
 * reported through `late` and otherwise ignored (the answer is already given).
 *
 * @example
 * ```ts
 * const outcome = await runStrategy(new BearerStrategy(verify), { headers: { authorization: 'Bearer t' } }, {}, 5000);
 * if (outcome.action === 'success') console.log(outcome.user);
 * ```
 */
export function runStrategy(
  strategy: PassportStrategyLike,
  req: object,
  options: Readonly<Record<string, unknown>>,
  timeoutMs: number,
  late?: (action: StrategyOutcome['action']) => void,
): Promise<StrategyOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: StrategyOutcome): void => {
      if (settled) {
        late?.(outcome.action);
        return;
      }
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      resolve(outcome);
    };
    // As passport's middleware: the actions live on a per-request copy, never on the shared
    // strategy object, so concurrent requests cannot answer for each other.
    const bound = Object.create(strategy) as PassportStrategyLike & Record<string, unknown>;
    bound['success'] = (user: unknown, info?: unknown) => settle({ action: 'success', user, info });
    bound['fail'] = (challenge?: unknown, status?: unknown) =>
      typeof challenge === 'number'
        ? settle({ action: 'fail', challenge: undefined, status: challenge })
        : settle({ action: 'fail', challenge, status });
    bound['redirect'] = (url: unknown, status?: unknown) => settle({ action: 'redirect', url, status });
    bound['pass'] = () => settle({ action: 'pass' });
    bound['error'] = (error: unknown) => settle({ action: 'error', error });
    timer = setTimeout(() => {
      settle({ action: 'error', error: new AuthTsError('STRATEGY_FAILED', `the strategy called no action within ${timeoutMs} ms`) });
    }, timeoutMs);
    try {
      const returned = bound.authenticate(req, { ...options });
      // An async authenticate() that rejects has failed, whatever it did before.
      if (returned !== null && typeof returned === 'object' && typeof (returned as PromiseLike<unknown>).then === 'function') {
        (returned as PromiseLike<unknown>).then(undefined, (error: unknown) => settle({ action: 'error', error }));
      }
    } catch (error) {
      settle({ action: 'error', error });
    }
  });
}

/**
 * Parses `application/x-www-form-urlencoded` text (or a query string) into an object without a
 * prototype (a field named `__proto__` stays a field); a repeated field becomes an array, as
 * Express's `urlencoded({ extended: false })` does.
 *
 * @example
 * ```ts
 * parseForm('username=alice&password=s%3Dcret&tag=a&tag=b'); // { username: 'alice', password: 's=cret', tag: ['a', 'b'] }
 * ```
 */
export function parseForm(text: string): Record<string, string | string[]> {
  const fields = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(text)) {
    const seen = fields[key];
    fields[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return fields;
}

/** The user name by the default rule of {@link PassportModuleOptions.userName}. */
function defaultUserName(user: unknown): string | undefined {
  if (typeof user === 'string') return user;
  if (user === null || typeof user !== 'object') return undefined;
  for (const key of USER_KEYS) {
    const value = (user as Record<string, unknown>)[key];
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return undefined;
}

/**
 * `info` from `success(user, info)` as `AUTHENTICATE_<KEY>` values, as mod_authnz_ldap exports
 * attributes: each own key upper-cased (other characters than A–Z, 0–9 and `_` become `_`);
 * strings, finite numbers and booleans as text, arrays of them joined with a space (OAuth's
 * `scope`); objects, and text with control characters, are left out.
 */
function infoToEnv(info: unknown, env: Map<string, string>): void {
  if (info === null || typeof info !== 'object' || Array.isArray(info)) return;
  for (const [key, value] of Object.entries(info)) {
    const text = envText(value);
    if (text === undefined || CONTROL.test(text)) continue;
    env.set(`AUTHENTICATE_${key.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`, text);
  }
}

function envText(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) {
    return value.join(' ');
  }
  return undefined;
}

/**
 * The request as a passport strategy sees it: what Express gives strategies (`headers`, `method`,
 * `url`, `originalUrl`, `path`, `query` as an object, `body` when the section reads form bodies,
 * `ip`, `secure`, `protocol`, `get()`), plus `authRequest`, the authts request itself, for
 * strategies written for authts (`passport-custom` verify functions may set `env`).
 */
function passportRequest(req: AuthRequest, body: Record<string, string | string[]> | undefined): object {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = value;
  const protocol = req.tls ? 'https' : 'http';
  const header = (name: string): string | undefined => headers[name.toLowerCase()];
  return {
    method: req.method,
    url: req.unparsedUri,
    originalUrl: req.unparsedUri,
    path: req.path,
    headers,
    query: parseForm(req.query),
    body,
    ip: req.remoteAddress,
    ips: [],
    protocol,
    secure: req.tls,
    hostname: headers['host']?.replace(/:\d+$/, ''),
    socket: { remoteAddress: req.remoteAddress, encrypted: req.tls },
    connection: { remoteAddress: req.remoteAddress, encrypted: req.tls },
    get: header,
    header,
    authRequest: req,
  };
}

/** A strategy option after checking: entries normalized, nothing shared with the caller's object. */
interface CheckedStrategy {
  readonly strategy: PassportStrategyLike;
  readonly options: Readonly<Record<string, unknown>>;
  readonly challenge: string | undefined;
}

function checkOptions(options: PassportModuleOptions): {
  strategies: ReadonlyMap<string, CheckedStrategy>;
  userName: (user: unknown, info: unknown) => string | undefined;
  timeoutMs: number;
} {
  if (options === null || typeof options !== 'object') throw new TypeError('passportModule: options must be an object');
  const given = options.strategies as unknown;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new TypeError('passportModule: options.strategies must be an object of strategies by name');
  }
  const strategies = new Map<string, CheckedStrategy>();
  for (const [name, value] of Object.entries(given as Record<string, unknown>)) {
    if (!/^[^\s"'\\#]+$/.test(name)) {
      throw new TypeError(`passportModule: options.strategies: "${name}" cannot be written in AuthTsPassportStrategy (no spaces, quotes, \\ or #)`);
    }
    const entry = (isStrategy(value) ? { strategy: value } : value) as Partial<PassportStrategyEntry> | null;
    if (entry === null || typeof entry !== 'object' || !isStrategy(entry.strategy)) {
      throw new TypeError(`passportModule: options.strategies.${name} must be a passport strategy (an object with authenticate()) or { strategy, options?, challenge? }`);
    }
    if (entry.options !== undefined && (entry.options === null || typeof entry.options !== 'object')) {
      throw new TypeError(`passportModule: options.strategies.${name}.options must be an object`);
    }
    if (entry.challenge !== undefined && (typeof entry.challenge !== 'string' || entry.challenge === '' || CONTROL.test(entry.challenge))) {
      throw new TypeError(`passportModule: options.strategies.${name}.challenge must be a non-empty header value`);
    }
    strategies.set(name, {
      strategy: entry.strategy,
      options: Object.freeze({ ...entry.options }),
      challenge: entry.challenge,
    });
  }
  if (strategies.size === 0) throw new TypeError('passportModule: options.strategies must name at least one strategy');
  if (options.userName !== undefined && typeof options.userName !== 'function') {
    throw new TypeError('passportModule: options.userName must be a function (user, info) => string | undefined');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2_147_483_647) {
    throw new TypeError('passportModule: options.timeoutMs must be a positive integer number of milliseconds');
  }
  return { strategies, userName: options.userName ?? defaultUserName, timeoutMs };
}

function isStrategy(value: unknown): value is PassportStrategyLike {
  return value !== null && typeof value === 'object' && typeof (value as { authenticate?: unknown }).authenticate === 'function';
}

/** Maps a failed body read onto the answer: 413 too large, 400 client gone, 500 otherwise. */
function bodyFailure(req: AuthRequest, err: unknown): number {
  const code = err instanceof AuthTsError ? err.code : undefined;
  if (code === 'BODY_TOO_LARGE') {
    req.log.info({ code, path: req.path }, 'form body refused: larger than AuthTsPassportFormSize');
    return 413;
  }
  if (code === 'BODY_UNREADABLE') {
    req.log.info({ err, code }, 'form body could not be read');
    return 400;
  }
  req.log.error({ err, code: code ?? 'BODY_UNAVAILABLE' }, 'form body could not be read');
  return 500;
}

/**
 * Creates the `authts_passport` module: `AuthType passport` with the directives
 * `AuthTsPassportStrategy name [name] …`, `AuthTsPassportFormBody On|Off` and
 * `AuthTsPassportFormSize bytes` (docs/passport.md). Pass it in `modules`
 * (`startServer({ modules: [passportModule(…)] })`, `loadConfig({ modules: [...builtinModules(), passportModule(…)] })`).
 *
 * In a section with `AuthType passport`, the authn phase runs the section's strategies in order
 * against a request shim, as `passport.authenticate([names])` does:
 * - `success(user, info)` → `req.user` = the user name, `'ok'`; `info`'s plain values go to
 *   `req.env` as `AUTHENTICATE_<KEY>`; the user object and info are in `req.notes`
 *   (`passport.user`, `passport.info`, `passport.strategy`);
 * - `fail(challenge, status)` → the next strategy; when all failed: the first failure's status
 *   (400–599), else 401 with every string challenge in `WWW-Authenticate`;
 * - `error(err)`, a throw, no action within `timeoutMs`, or a user without a name → 500;
 * - `redirect(url, status)` → the status (3xx, default 302) with `Location`;
 * - `pass()` → declined (a later authn handler may answer; else authn_core's 500).
 *
 * Options are checked now (`TypeError` naming the option); the caller's object is not kept.
 *
 * @example
 * ```ts
 * import { Strategy as BearerStrategy } from 'passport-http-bearer';
 * import { passportModule } from 'authts/passport';
 * const passport = passportModule({
 *   strategies: { bearer: new BearerStrategy((token, done) => done(null, tokens.get(token) ?? false)) },
 * });
 * await startServer({ configFile: 'site.conf', logger, modules: [passport] });
 * // site.conf: <Location /api> AuthType passport / AuthTsPassportStrategy bearer / Require valid-user </Location>
 * ```
 */
export function passportModule(options: PassportModuleOptions): Module<PassportSettings> {
  const { strategies, userName, timeoutMs } = checkOptions(options);

  async function authenticatePassport(req: AuthRequest): Promise<PhaseResult> {
    const type = authType(req);
    if (!type || type.toLowerCase() !== 'passport') return 'declined';
    req.authType = type;
    const settings = req.settings(module);
    const names = settings.strategies ?? [];
    if (names.length === 0) {
      req.log.error({ code: 'STRATEGY_FAILED' }, 'AuthType passport needs AuthTsPassportStrategy');
      return 500;
    }

    let body: Record<string, string | string[]> | undefined;
    if (settings.formBody === true) {
      const contentType = req.headers['content-type'];
      // Only a form body is parsed; any other body is left unread (the strategy sees no body,
      // as behind Express's urlencoded() parser).
      if (contentType !== undefined && /^application\/x-www-form-urlencoded[ \t]*(;|$)/i.test(contentType)) {
        if (!req.readBody) {
          req.log.error({ code: 'BODY_UNAVAILABLE' }, 'AuthTsPassportFormBody On, but this request has no body reader');
          return 500;
        }
        try {
          body = parseForm((await req.readBody(settings.formSize ?? DEFAULT_FORM_SIZE)).toString('utf8'));
        } catch (err) {
          return bodyFailure(req, err);
        }
      }
    }

    const shim = passportRequest(req, body);
    const failures: { challenge: unknown; status: unknown }[] = [];
    for (const name of names) {
      const entry = strategies.get(name);
      if (!entry) {
        // The directive checks names at load: only a module swapped under a config gets here.
        req.log.error({ code: 'STRATEGY_FAILED', strategy: name }, 'unknown passport strategy');
        return 500;
      }
      const outcome = await runStrategy(entry.strategy, shim, entry.options, timeoutMs, (action) =>
        req.log.warn({ strategy: name, action }, 'passport strategy called a second action; ignored'),
      );
      switch (outcome.action) {
        case 'fail':
          failures.push(outcome);
          continue;
        case 'pass':
          req.log.debug({ strategy: name }, 'passport strategy passed');
          return 'declined';
        case 'error':
          req.log.error({ err: outcome.error, code: 'STRATEGY_FAILED', strategy: name }, 'passport strategy failed');
          return 500;
        case 'redirect':
          return redirect(req, name, outcome.url, outcome.status);
        case 'success':
          return succeed(req, name, outcome.user, outcome.info);
      }
    }
    return failed(req, names, failures);
  }

  function succeed(req: AuthRequest, strategy: string, user: unknown, info: unknown): PhaseResult {
    let name: string | undefined;
    try {
      name = user === false || user === null || user === undefined ? undefined : userName(user, info);
    } catch (err) {
      req.log.error({ err, code: 'STRATEGY_FAILED', strategy }, 'userName threw');
      return 500;
    }
    if (typeof name !== 'string' || name === '' || CONTROL.test(name)) {
      req.log.error({ code: 'STRATEGY_FAILED', strategy }, 'passport strategy succeeded without a usable user name');
      return 500;
    }
    req.user = name;
    req.notes.set('passport.strategy', strategy);
    req.notes.set('passport.user', user);
    req.notes.set('passport.info', info);
    infoToEnv(info, req.env);
    return 'ok';
  }

  function redirect(req: AuthRequest, strategy: string, url: unknown, status: unknown): PhaseResult {
    if (typeof url !== 'string' || url === '' || CONTROL.test(url)) {
      req.log.error({ code: 'STRATEGY_FAILED', strategy }, 'passport strategy redirected without a usable URL');
      return 500;
    }
    req.responseHeaders.set('Location', url);
    return typeof status === 'number' && Number.isInteger(status) && status >= 300 && status <= 399 ? status : 302;
  }

  function failed(req: AuthRequest, names: readonly string[], failures: readonly { challenge: unknown; status: unknown }[]): PhaseResult {
    // As passport: the first failure that named a status decides it; 401 otherwise, with the
    // string challenges of every strategy (a strategy's { message } object is not a header).
    const given = failures.map((f) => f.status).find((s) => s !== undefined && s !== null);
    const status = typeof given === 'number' && Number.isInteger(given) && given >= 400 && given <= 599 ? given : 401;
    if (status === 401) {
      const challenges = failures.map((f) => f.challenge).filter((c): c is string => typeof c === 'string' && c !== '' && !CONTROL.test(c));
      if (challenges.length > 0) req.responseHeaders.set('WWW-Authenticate', challenges.join(', '));
    }
    req.log.info({ strategies: names, status, path: req.path }, 'passport authentication failed');
    return status;
  }

  /** The challenge of a 401 that authz_core answers after a passport login (see `challenge`). */
  function notePassportAuthFailure(req: AuthRequest): void {
    const challenges = (req.settings(module).strategies ?? []).flatMap((name) => strategies.get(name)?.challenge ?? []);
    if (challenges.length > 0) req.responseHeaders.set('WWW-Authenticate', challenges.join(', '));
  }

  const module: Module<PassportSettings> = {
    name: 'authts_passport',
    createDirSettings: () => ({ strategies: undefined, formBody: undefined, formSize: undefined }),
    mergeDirSettings: (base, add) => ({
      strategies: add.strategies ?? base.strategies,
      formBody: add.formBody ?? base.formBody,
      formSize: add.formSize ?? base.formSize,
    }),
    authSchemes: [{ name: 'passport', noteAuthFailure: notePassportAuthFailure }],
    directives: [
      {
        name: 'AuthTsPassportStrategy',
        context: 'section',
        minArgs: 1,
        syntax: 'AuthTsPassportStrategy strategy-name [strategy-name] ...',
        apply(ctx, args) {
          for (const name of args) {
            if (!strategies.has(name)) {
              ctx.error('CONFIG_UNKNOWN_PROVIDER', `Unknown passport strategy: ${name}`, `strategies registered with passportModule(): ${[...strategies.keys()].join(', ')}`);
            }
          }
          ctx.dir(module).strategies = Object.freeze([...args]);
        },
      },
      onOffDirective('AuthTsPassportFormBody', 'section', (ctx, on) => {
        ctx.dir(module).formBody = on;
      }),
      {
        name: 'AuthTsPassportFormSize',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsPassportFormSize bytes',
        apply(ctx, [value]) {
          const bytes = /^[0-9]{1,9}$/.test(value!) ? Number(value) : NaN;
          if (!(bytes >= 1 && bytes <= MAX_FORM_SIZE)) {
            ctx.error('CONFIG_BAD_ARGUMENT', `AuthTsPassportFormSize must be a number of bytes from 1 to ${MAX_FORM_SIZE} (got "${value}")`);
          }
          ctx.dir(module).formSize = bytes;
        },
      },
    ],
    hooks: [{ phase: 'authn', order: 10, handler: authenticatePassport }],
  };
  return module;
}
