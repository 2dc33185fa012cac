/**
 * `AuthLDAPURL` as mod_authnz_ldap reads it (RFC 4516 with several hosts):
 * `ldap[s]://host[:port][ host[:port]…]/basedn?attribute[,attribute…]?scope?filter`.
 */
import { parseDn } from './escape.js';

/** How a connection is secured: plain, ldaps:// (`SSL`), or StartTLS on ldap:// (`TLS`/`STARTTLS`). */
export type LdapSecurity = 'none' | 'ssl' | 'starttls';

/** One server of an `AuthLDAPURL`. */
export interface LdapHost {
  readonly host: string;
  readonly port: number;
}

/** A parsed `AuthLDAPURL`. */
export interface LdapUrl {
  /** Tried in order on connect failure. */
  readonly hosts: readonly LdapHost[];
  readonly security: LdapSecurity;
  /** The search base (percent-decoded); may be empty. */
  readonly baseDn: string;
  /** The attributes to fetch; the first is the one user names are searched by (default `uid`). */
  readonly attributes: readonly string[];
  readonly scope: 'base' | 'one' | 'sub';
  /** The URL's filter, parenthesised (default `(objectClass=*)`). */
  readonly filter: string;
}

/**
 * Thrown by {@link parseLdapUrl}; the message says what is wrong.
 *
 * @example
 * ```ts
 * try { parseLdapUrl('http://x'); } catch (err) { if (err instanceof LdapUrlError) console.error(err.message); }
 * ```
 */
export class LdapUrlError extends Error {
  override readonly name = 'LdapUrlError';
}

/**
 * Parses an `AuthLDAPURL` and its optional second argument (`NONE`, `SSL`, `TLS`, `STARTTLS`,
 * case-insensitive). `ldaps://` means SSL whatever the second argument; `SSL` on an `ldap://`
 * URL connects with TLS from the start (default port 636). Throws {@link LdapUrlError}.
 *
 * @example
 * ```ts
 * parseLdapUrl('ldap://ldap1 ldap2:3389/ou=people,dc=example,dc=org?uid,mail?sub?(objectClass=person)', 'STARTTLS');
 * // { hosts: [{ host: 'ldap1', port: 389 }, { host: 'ldap2', port: 3389 }], security: 'starttls', … }
 * ```
 */
export function parseLdapUrl(url: string, mode?: string): LdapUrl {
  const m = /^(ldaps?):\/\/([^/?]*)(?:\/([^?]*))?(?:\?([^?]*))?(?:\?([^?]*))?(?:\?([^?]*))?(?:\?(.*))?$/i.exec(url.trim());
  if (!m) throw new LdapUrlError(`not an ldap:// or ldaps:// URL: ${url}`);
  const scheme = m[1]!.toLowerCase();
  let security: LdapSecurity = scheme === 'ldaps' ? 'ssl' : 'none';
  if (mode !== undefined) {
    const word = mode.toUpperCase();
    if (!['NONE', 'SSL', 'TLS', 'STARTTLS'].includes(word)) {
      throw new LdapUrlError(`the connection mode must be NONE, SSL, TLS or STARTTLS (got "${mode}")`);
    }
    if (scheme === 'ldaps' && (word === 'TLS' || word === 'STARTTLS')) {
      throw new LdapUrlError('StartTLS cannot be used on an ldaps:// URL; use ldap:// with STARTTLS, or ldaps:// alone');
    }
    if (scheme === 'ldap') security = word === 'SSL' ? 'ssl' : word === 'NONE' ? 'none' : 'starttls';
  }
  if (m[7] !== undefined && m[7] !== '') throw new LdapUrlError('extensions in an LDAP URL are not supported');
  const defaultPort = security === 'ssl' ? 636 : 389;
  const hosts: LdapHost[] = [];
  for (const item of decode(m[2]!).split(/\s+/).filter(Boolean)) {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+)(?::(\d{1,5}))?$/.exec(item);
    if (!hp) throw new LdapUrlError(`bad host "${item}"`);
    const port = hp[2] === undefined ? defaultPort : Number(hp[2]);
    if (port < 1 || port > 65535) throw new LdapUrlError(`bad port in "${item}"`);
    hosts.push({ host: hp[1]!.replace(/^\[|\]$/g, ''), port });
  }
  if (hosts.length === 0) throw new LdapUrlError('the URL names no host (authts does not guess a default server)');
  const baseDn = decode(m[3] ?? '');
  if (parseDn(baseDn) === undefined) throw new LdapUrlError(`the base DN "${baseDn}" is not a valid DN`);
  const attributes = decode(m[4] ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  for (const a of attributes) {
    if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)(;[A-Za-z0-9-]+)*$/.test(a)) throw new LdapUrlError(`bad attribute name "${a}"`);
  }
  const scopeWord = decode(m[5] ?? '').toLowerCase() || 'sub';
  if (scopeWord !== 'base' && scopeWord !== 'one' && scopeWord !== 'sub') {
    throw new LdapUrlError(`the scope must be base, one or sub (got "${scopeWord}")`);
  }
  let filter = decode(m[6] ?? '').trim() || '(objectClass=*)';
  if (!filter.startsWith('(')) filter = `(${filter})`;
  const problem = checkFilterSyntax(filter);
  if (problem) throw new LdapUrlError(`bad filter "${filter}": ${problem}`);
  return Object.freeze({
    hosts: Object.freeze(hosts),
    security,
    baseDn,
    attributes: Object.freeze(attributes.length > 0 ? attributes : ['uid']),
    scope: scopeWord,
    filter,
  });
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new LdapUrlError(`bad %-escape in "${text}"`);
  }
}

/**
 * A light syntax check of an RFC 4515 filter written in a configuration: balanced parentheses,
 * each item an `&`, `|`, `!` or `attr op value` with a valid attribute description and escapes.
 * Returns what is wrong, or `undefined`.
 *
 * @example
 * ```ts
 * checkFilterSyntax('(&(objectClass=person)(mail=*@example.org))'); // undefined
 * checkFilterSyntax('(uid=a'); // 'unbalanced parentheses'
 * ```
 */
export function checkFilterSyntax(filter: string): string | undefined {
  let i = 0;
  const item = (): string | undefined => {
    if (filter[i] !== '(') return `expected "(" at offset ${i}`;
    i++;
    const op = filter[i];
    if (op === '&' || op === '|' || op === '!') {
      i++;
      let count = 0;
      while (filter[i] === '(') {
        const problem = item();
        if (problem) return problem;
        count++;
      }
      if (count === 0 || (op === '!' && count !== 1)) return `"${op}" needs ${op === '!' ? 'one' : 'at least one'} filter`;
    } else {
      const end = findClose(filter, i);
      if (end < 0) return 'unbalanced parentheses';
      const body = filter.slice(i, end);
      const m = /^([A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9-]+)*(?::[^=]*)?(=|~=|>=|<=|:=)([\s\S]*)$/.exec(body);
      if (!m) return `"${body}" is not attribute=value`;
      if (/\\(?![0-9a-fA-F]{2})/.test(m[3]!)) return `bad escape in "${body}"`;
      i = end;
    }
    if (filter[i] !== ')') return 'unbalanced parentheses';
    i++;
    return undefined;
  };
  const problem = item();
  if (problem) return problem;
  return i === filter.length ? undefined : 'text after the filter';
}

function findClose(filter: string, from: number): number {
  for (let i = from; i < filter.length; i++) {
    if (filter[i] === '(') return -1;
    if (filter[i] === ')') return i;
  }
  return -1;
}
