/**
 * Audit lines: one structured (JSON) line per refused or failed request, with a stable code
 * (docs/errors.md), the user name as claimed, the client address, the method and path (never
 * the query string: it may carry an `access_token`), the section that decided (file:line) and
 * the status. Never a password or a token: nothing here reads a credential.
 */
import { isAbsolute, relative } from 'node:path';
import type { Config, DirConfig } from './config/config.js';
import type { AuditCode, SourceLocation } from './errors.js';
import type { Logger } from './log.js';

/**
 * A request's section as `file:line` of the innermost section that matched (the file relative
 * to the server root when it is inside it), `-` when none did or the request was not matched.
 * The audit lines' `section` and the metrics' `section` label: one value per section of the
 * configuration, so the label's cardinality is bounded by the config.
 */
export function sectionLabel(config: Config, dir: DirConfig | undefined): string {
  const section = dir?.sections.at(-1);
  return section === undefined ? '-' : whereLabel(config, section.where);
}

/** `file:line`, the file relative to the server root when it is inside it. */
export function whereLabel(config: Config, where: SourceLocation): string {
  const rel = relative(config.serverRoot, where.file);
  const file = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : where.file;
  return `${file}:${where.line}`;
}

/** What an audit line says about one refused request. */
export interface AuditFacts {
  readonly status: number;
  /** The user the phases left: authenticated, or for a refused Basic login the name claimed. */
  readonly user: string | undefined;
  /** True when the request carried credentials (an `Authorization` header or a login form). */
  readonly presentedCredentials: boolean;
  readonly client: string;
  readonly method: string;
  /** The normalized URL path, without the query string. */
  readonly path: string;
  /** `file:line` of the innermost section that matched, `-` for none. */
  readonly section: string;
}

/** Longest user name written to a line (a claimed name is the client's text). */
const MAX_USER_LENGTH = 256;

/**
 * The code of a refused request, or `undefined` when it calls for no audit line: a 401 without
 * credentials is the challenge a browser meets first, not a failure; a redirect (to a login
 * page) is not a refusal.
 */
export function auditCodeOf(status: number, user: string | undefined, presentedCredentials: boolean): AuditCode | undefined {
  if (status < 400) return undefined;
  if (status === 401) return presentedCredentials || user !== undefined ? 'AUTHN_FAILED' : undefined;
  if (status === 403) return user === undefined ? 'ACCESS_DENIED' : 'AUTHZ_DENIED';
  if (status === 429) return 'AUTHN_BANNED';
  if (status >= 500) return 'AUTH_UNAVAILABLE';
  return 'REQUEST_REFUSED';
}

/**
 * Writes the audit line for a request the phases refused (`error` for 5xx, `warn` otherwise;
 * `REQUEST_REFUSED` at `info`). Nothing when {@link auditCodeOf} says none.
 *
 * @example
 * ```ts
 * auditRefusal(log, { status: 401, user: 'alice', presentedCredentials: true, client: '10.0.0.7',
 *   method: 'GET', path: '/private/', section: 'site.conf:12' });
 * // {"level":40,"audit":true,"code":"AUTHN_FAILED","status":401,"user":"alice",…,"msg":"authentication failed"}
 * ```
 */
export function auditRefusal(log: Logger, facts: AuditFacts): void {
  const code = auditCodeOf(facts.status, facts.user, facts.presentedCredentials);
  if (code === undefined) return;
  const user = facts.user === undefined ? undefined : facts.user.length > MAX_USER_LENGTH ? `${facts.user.slice(0, MAX_USER_LENGTH)}…` : facts.user;
  const line = {
    audit: true,
    code,
    status: facts.status,
    ...(user === undefined ? {} : { user }),
    client: facts.client,
    method: facts.method,
    path: facts.path,
    section: facts.section,
  };
  if (code === 'AUTH_UNAVAILABLE') log.error(line, MESSAGES[code]);
  else if (code === 'REQUEST_REFUSED') log.info(line, MESSAGES[code]);
  else log.warn(line, MESSAGES[code]);
}

const MESSAGES: Readonly<Record<AuditCode, string>> = {
  AUTHN_FAILED: 'authentication failed',
  AUTHN_BANNED: 'authentication refused: too many failures',
  AUTHZ_DENIED: 'authorization failed',
  ACCESS_DENIED: 'access denied',
  REQUEST_REFUSED: 'request refused',
  AUTH_UNAVAILABLE: 'request could not be checked',
};
