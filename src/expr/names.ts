/**
 * The names ap_expr knows — variables, functions and operators — and which of them authts
 * evaluates. Lookups are case-insensitive for variables, functions and binary operators and
 * case-sensitive for unary operators, as in httpd's `core_expr_lookup`. A name httpd knows but
 * authts cannot evaluate is a load error that says so, never a silent empty value.
 */

/** Request variables that an {@link ExprContext} supplies through `variable(name)`. */
export const REQUEST_VARIABLES = [
  'REQUEST_METHOD',
  'REQUEST_SCHEME',
  'REQUEST_URI',
  'DOCUMENT_URI',
  'REQUEST_FILENAME',
  'SCRIPT_FILENAME',
  'QUERY_STRING',
  'THE_REQUEST',
  'SERVER_PROTOCOL',
  'REMOTE_ADDR',
  'REMOTE_HOST',
  'CONN_REMOTE_ADDR',
  'REMOTE_USER',
  'AUTH_TYPE',
  'HTTPS',
  'IPV6',
  'SERVER_NAME',
  'SERVER_PORT',
  'DOCUMENT_ROOT',
  'IS_SUBREQ',
] as const;

/** A request variable name, e.g. `REQUEST_URI`. */
export type ExprRequestVariable = (typeof REQUEST_VARIABLES)[number];

/** Variables computed from the clock (local time, as httpd's `apr_time_exp_lt`). */
export const TIME_VARIABLES = [
  'TIME_YEAR', 'TIME_MON', 'TIME_DAY', 'TIME_HOUR', 'TIME_MIN', 'TIME_SEC', 'TIME_WDAY', 'TIME',
] as const;

/** A clock variable name, e.g. `TIME_HOUR`. */
export type ExprTimeVariable = (typeof TIME_VARIABLES)[number];

/** `HTTP_*` variables: shorthands for one request header each (lower-case header name). */
export const HEADER_VARIABLES: Readonly<Record<string, string>> = {
  HTTP_USER_AGENT: 'user-agent',
  HTTP_PROXY_CONNECTION: 'proxy-connection',
  HTTP_REFERER: 'referer',
  HTTP_COOKIE: 'cookie',
  HTTP_FORWARDED: 'forwarded',
  HTTP_HOST: 'host',
  HTTP_ACCEPT: 'accept',
};

/** Variables httpd 2.4 has and authts does not evaluate, with the reason given at load. */
export const UNSUPPORTED_VARIABLES: Readonly<Record<string, string>> = {
  REMOTE_IDENT: 'authts does not do ident lookups',
  REMOTE_PORT: 'the client port is not part of the request authts sees',
  SERVER_ADMIN: 'authts has no ServerAdmin',
  SERVER_SOFTWARE: 'authts is not httpd',
  API_VERSION: 'authts is not httpd',
  PATH_INFO: 'authts does not split PATH_INFO off the path',
  CONTENT_TYPE: 'the response content type is not known during authorization',
  HANDLER: 'authts has no content handlers',
  REQUEST_LOG_ID: 'authts has no request log ids',
  CONN_LOG_ID: 'authts has no connection log ids',
  SCRIPT_USER: 'authts does not stat the file for its owner',
  SCRIPT_GROUP: 'authts does not stat the file for its group',
  LAST_MODIFIED: 'authts does not stat the file for its mtime',
  CONTEXT_PREFIX: 'authts has no Alias context prefix',
  CONTEXT_DOCUMENT_ROOT: 'authts has no Alias context document root',
  REQUEST_STATUS: 'the response status is not known during authorization',
  HTTP2: 'authts does not report the HTTP/2 state',
};

/** String functions authts evaluates (`name(word)` or `%{name:text}`). */
export const FUNCTIONS = [
  'req', 'http', 'req_novary', 'resp', 'reqenv', 'note', 'env', 'osenv',
  'tolower', 'toupper', 'escape', 'unescape', 'base64', 'unbase64', 'md5', 'sha1', 'ldap',
  // authts only: a claim of the Bearer token that authenticated the request.
  'jwt',
] as const;

/** A string function name (canonical lower case). */
export type ExprFunctionName = (typeof FUNCTIONS)[number];

/** Functions httpd 2.4 has and authts does not evaluate. */
export const UNSUPPORTED_FUNCTIONS: Readonly<Record<string, string>> = {
  file: 'reading files would block the request (authts evaluates expressions synchronously)',
  filesize: 'file tests would block the request (authts evaluates expressions synchronously)',
};

/** Unary operators authts evaluates (case-sensitive, as in httpd). */
export const UNARY_OPERATORS = ['n', 'z', 'T', 'R'] as const;

/** Unary operators httpd 2.4 has and authts does not evaluate. */
export const UNSUPPORTED_UNARY: Readonly<Record<string, string>> = {
  d: 'file tests would block the request (authts evaluates expressions synchronously)',
  e: 'file tests would block the request (authts evaluates expressions synchronously)',
  f: 'file tests would block the request (authts evaluates expressions synchronously)',
  s: 'file tests would block the request (authts evaluates expressions synchronously)',
  L: 'file tests would block the request (authts evaluates expressions synchronously)',
  h: 'file tests would block the request (authts evaluates expressions synchronously)',
  x: 'file tests would block the request (authts evaluates expressions synchronously)',
  F: 'authts does not run subrequests',
  U: 'authts does not run subrequests',
  A: 'authts does not run subrequests',
};

/** Binary operators authts evaluates (matched case-insensitively). */
export const BINARY_OPERATORS = ['ipmatch', 'strmatch', 'strcmatch', 'fnmatch'] as const;

const requestVariables: ReadonlySet<string> = new Set(REQUEST_VARIABLES);
const timeVariables: ReadonlySet<string> = new Set(TIME_VARIABLES);
const functions: ReadonlySet<string> = new Set(FUNCTIONS);

/** What a `%{NAME}` resolves to. */
export type VariableLookup =
  | { readonly kind: 'var'; readonly name: ExprRequestVariable }
  | { readonly kind: 'time'; readonly name: ExprTimeVariable }
  | { readonly kind: 'header'; readonly name: string; readonly variable: string }
  | { readonly kind: 'unsupported'; readonly reason: string }
  | { readonly kind: 'unknown' };

/** Resolves a variable name, case-insensitively. @example `lookupVariable('request_uri')` → `{ kind: 'var', name: 'REQUEST_URI' }` */
export function lookupVariable(name: string): VariableLookup {
  const upper = name.toUpperCase();
  if (requestVariables.has(upper)) return { kind: 'var', name: upper as ExprRequestVariable };
  if (timeVariables.has(upper)) return { kind: 'time', name: upper as ExprTimeVariable };
  const header = HEADER_VARIABLES[upper];
  if (header !== undefined) return { kind: 'header', name: header, variable: upper };
  const reason = UNSUPPORTED_VARIABLES[upper];
  if (reason !== undefined) return { kind: 'unsupported', reason };
  return { kind: 'unknown' };
}

/** What a function name resolves to. */
export type FunctionLookup =
  | { readonly kind: 'function'; readonly name: ExprFunctionName }
  | { readonly kind: 'unsupported'; readonly reason: string }
  | { readonly kind: 'unknown' };

/** Resolves a string function name, case-insensitively. @example `lookupFunction('TOLOWER')` → `{ kind: 'function', name: 'tolower' }` */
export function lookupFunction(name: string): FunctionLookup {
  const lower = name.toLowerCase();
  if (functions.has(lower)) return { kind: 'function', name: lower as ExprFunctionName };
  const reason = UNSUPPORTED_FUNCTIONS[lower];
  if (reason !== undefined) return { kind: 'unsupported', reason };
  return { kind: 'unknown' };
}
