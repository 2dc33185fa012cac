/**
 * The two failure types of authts (API misuse uses the built-in `TypeError`).
 *
 * - {@link ConfigError}: a configuration line is wrong. Loading collects every one of them and
 *   refuses to start; nothing config-shaped fails at request time.
 * - {@link AuthTsError}: something failed while answering a request (a file vanished, a handler
 *   threw). Its `code` is one of {@link AuthTsErrorCode}; each has a row in docs/errors.md.
 */

/** Stable codes of configuration errors; each has a row in docs/errors.md. */
export type ConfigErrorCode =
  | 'CONFIG_SYNTAX'
  | 'CONFIG_UNKNOWN_DIRECTIVE'
  | 'CONFIG_NOT_ALLOWED_HERE'
  | 'CONFIG_BAD_ARGUMENT'
  | 'CONFIG_UNDEFINED_VARIABLE'
  | 'CONFIG_INCLUDE'
  | 'CONFIG_UNKNOWN_PROVIDER'
  | 'CONFIG_BAD_REQUIRE'
  | 'CONFIG_BAD_EXPR'
  | 'CONFIG_BAD_REGEX'
  | 'CONFIG_HANDLER'
  | 'CONFIG_DUPLICATE'
  | 'CONFIG_NEEDS_ROOT'
  | 'CONFIG_BAD_KEY'
  | 'CONFIG_CACHE_SECRET';

/** Where a configuration line came from. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

/**
 * One bad configuration line. `message` is what is wrong; `hint` (optional) how to fix it.
 * `toString()` gives the `file:line: Directive: message (hint)` form used by `authts check`.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  readonly file: string;
  readonly line: number;
  readonly directive: string;
  readonly hint: string | undefined;

  constructor(
    code: ConfigErrorCode,
    where: SourceLocation,
    directive: string,
    message: string,
    hint?: string,
  ) {
    super(message);
    this.code = code;
    this.file = where.file;
    this.line = where.line;
    this.directive = directive;
    this.hint = hint;
  }

  override toString(): string {
    const head = `${this.file}:${this.line}: ${this.directive ? `${this.directive}: ` : ''}${this.message}`;
    return this.hint ? `${head} (${this.hint})` : head;
  }
}

/** Thrown by `loadConfig` when at least one line is wrong; `errors` has every one of them. */
export class ConfigErrors extends Error {
  override readonly name = 'ConfigErrors';
  readonly errors: readonly ConfigError[];

  constructor(errors: readonly ConfigError[]) {
    super(errors.map((e) => e.toString()).join('\n'));
    this.errors = errors;
  }
}

/** Stable codes of runtime failures; each has a row in docs/errors.md. */
export type AuthTsErrorCode =
  | 'FILE_UNREADABLE'
  | 'PROVIDER_UNAVAILABLE'
  | 'HANDLER_FAILED'
  | 'HANDLER_BAD_RESULT'
  | 'HASH_UNSUPPORTED'
  | 'AUTHTYPE_WITHOUT_REQUIRE'
  | 'AUTHTYPE_UNHANDLED'
  | 'AUTHNAME_MISSING'
  | 'EXPR_EVAL'
  | 'USER_FILE_INVALID'
  | 'USER_FILE_LOCKED'
  | 'USER_FILE_WRITE'
  | 'BODY_TOO_LARGE'
  | 'BODY_UNREADABLE'
  | 'BODY_UNAVAILABLE'
  | 'STRATEGY_FAILED'
  | 'FORWARD_AUTH_UNTRUSTED'
  | 'FORWARD_AUTH_BAD_REQUEST'
  | 'FORWARD_AUTH_AMBIGUOUS_PATH'
  | 'FORWARD_AUTH_IDENTITY'
  | 'LDAP_NOT_INSTALLED'
  | 'LDAP_NOT_CONFIGURED'
  | 'LDAP_UNAVAILABLE'
  | 'LDAP_TLS_REFUSED'
  | 'LDAP_SERVICE_BIND_FAILED'
  | 'LDAP_OPERATION_FAILED'
  | 'JWT_KEYS_UNAVAILABLE'
  | 'JWT_KEYS_STALE'
  | 'DBD_UNAVAILABLE'
  | 'DBD_QUERY_FAILED'
  | 'DBD_NOT_CONFIGURED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'CACHE_UNAVAILABLE'
  | 'REGULATION_UNAVAILABLE'
  | 'SESSION_UNAVAILABLE'
  | 'SESSION_NOT_ENABLED'
  | 'FORM_CSRF_REFUSED'
  | 'DIGEST_STORE_UNAVAILABLE';

/**
 * Stable codes of audit lines: one per refused or failed request (`src/log-audit.ts`); each has
 * a row in docs/errors.md. They are outcomes, not failures of authts: never thrown.
 */
export type AuditCode =
  | 'AUTHN_FAILED'
  | 'AUTHN_BANNED'
  | 'AUTHZ_DENIED'
  | 'ACCESS_DENIED'
  | 'REQUEST_REFUSED'
  | 'AUTH_UNAVAILABLE';

/** A failure while answering a request. Never carries a password or a token. */
export class AuthTsError extends Error {
  override readonly name = 'AuthTsError';
  readonly code: AuthTsErrorCode;

  constructor(code: AuthTsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
