/**
 * mod_authn_anon: the `anon` authn provider and its `Anonymous*` directives. Listed user names
 * (`Anonymous guest anonymous`, compared without regard to ASCII case; `*` for any name) get in with
 * any password, which by convention is the visitor's e-mail address, as anonymous FTP did.
 */
import { onOffDirective } from '../config/args.js';
import { asciiLower } from '../expr/functions.js';
import type { AuthnResult, Module } from '../module.js';
import type { AuthRequest } from '../request.js';

/** Per-section settings of `authn_anon`. */
export interface AuthnAnonSettings {
  /** `Anonymous` names, lower-cased in ASCII only (httpd compares them with `strcasecmp`). */
  readonly users: string[];
  /** `Anonymous *`: any non-empty name. */
  anyUser: boolean;
  /** `Anonymous_NoUserID` (default Off): an empty name is accepted too. */
  noUserId: boolean;
  /** `Anonymous_MustGiveEmail` (default On): an empty password is refused. */
  mustGiveEmail: boolean;
  /** `Anonymous_VerifyEmail` (default Off): the password must hold an `@` and a `.`. */
  verifyEmail: boolean;
  /** `Anonymous_LogEmail` (default On): the accepted address is logged. */
  logEmail: boolean;
  /**
   * Whether this section used an `Anonymous*` directive. mod_authn_anon has no merge function,
   * so in httpd a section that uses one of its directives starts again from the defaults, and
   * one that uses none keeps the outer section's settings.
   */
  set: boolean;
}

/** Looks like an e-mail address as mod_authn_anon checks it: an `@` and a `.` somewhere. */
const looksLikeEmail = (text: string): boolean => text.includes('@') && text.includes('.');

/**
 * The `anon` provider's check (`check_anonymous`): `'not-found'` unless the name is listed
 * (or empty with `Anonymous_NoUserID On`); a listed name is granted when the password passes
 * `Anonymous_MustGiveEmail` and `Anonymous_VerifyEmail`, and `'denied'` otherwise.
 */
function checkAnonymous(req: AuthRequest, user: string, password: string): AuthnResult {
  const s = req.settings(authnAnon);
  if (s.users.length === 0 && !s.anyUser) return 'not-found';
  const listed = user === '' ? s.noUserId : s.anyUser || s.users.includes(asciiLower(user));
  if (!listed) return 'not-found';
  if ((s.mustGiveEmail && password === '') || (s.verifyEmail && !looksLikeEmail(password))) return 'denied';
  if (s.logEmail) {
    // httpd logs whatever was typed; a password typed here by mistake must not reach a log.
    const email = looksLikeEmail(password) ? password : undefined;
    req.log.info({ code: 'ANONYMOUS_ACCEPTED', user, ...(email === undefined ? {} : { email }) }, 'Anonymous: accepted');
  }
  return 'granted';
}

const defaults = (): AuthnAnonSettings => ({
  users: [],
  anyUser: false,
  noUserId: false,
  mustGiveEmail: true,
  verifyEmail: false,
  logEmail: true,
  set: false,
});

/** Marks this section's settings (made from the defaults) as its own: they replace the outer ones. */
function own(settings: AuthnAnonSettings): AuthnAnonSettings {
  settings.set = true;
  return settings;
}

/**
 * The built-in `authn_anon` module: `Anonymous`, `Anonymous_NoUserID`,
 * `Anonymous_MustGiveEmail`, `Anonymous_VerifyEmail`, `Anonymous_LogEmail` and the provider
 * `anon`.
 *
 * @example
 * ```ts
 * // AuthBasicProvider file anon
 * // Anonymous guest anonymous
 * // Anonymous_VerifyEmail On
 * ```
 */
export const authnAnon: Module<AuthnAnonSettings> = {
  name: 'authn_anon',
  createDirSettings: defaults,
  mergeDirSettings: (base, add) => (add.set ? add : base),
  authnProviders: {
    anon: {
      checkPassword: async function anonCheckPassword(req, user, password): Promise<AuthnResult> {
        return checkAnonymous(req, user, password);
      },
    },
  },
  directives: [
    {
      name: 'Anonymous',
      context: 'section',
      minArgs: 1,
      syntax: 'Anonymous user [user] ...',
      apply(ctx, args) {
        const settings = own(ctx.dir(authnAnon));
        for (const user of args) {
          if (user === '') ctx.error('CONFIG_BAD_ARGUMENT', 'Anonymous string cannot be empty, use Anonymous_NoUserId');
          if (user === '*') settings.anyUser = true;
          else settings.users.push(asciiLower(user));
        }
      },
    },
    onOffDirective('Anonymous_NoUserID', 'section', (ctx, on) => {
      own(ctx.dir(authnAnon)).noUserId = on;
    }),
    onOffDirective('Anonymous_MustGiveEmail', 'section', (ctx, on) => {
      own(ctx.dir(authnAnon)).mustGiveEmail = on;
    }),
    onOffDirective('Anonymous_VerifyEmail', 'section', (ctx, on) => {
      own(ctx.dir(authnAnon)).verifyEmail = on;
    }),
    onOffDirective('Anonymous_LogEmail', 'section', (ctx, on) => {
      own(ctx.dir(authnAnon)).logEmail = on;
    }),
  ],
};
