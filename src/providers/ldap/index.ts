/**
 * `authts/providers/ldap`: the LDAP provider on its own (`ldapProvider`), the module, and the
 * RFC 4514/4515 helpers. Importing this entry loads `ldapts` only when a connection opens.
 *
 * @example
 * ```ts
 * import { ldapProvider } from 'authts/providers/ldap';
 * const ldap = await ldapProvider({ url: 'ldap://ldap.example.org/ou=people,dc=example,dc=org?uid', tls: 'STARTTLS' });
 * await ldap.checkPassword('alice', 'secret'); // 'granted' | 'denied' | 'not-found'
 * await ldap.close();
 * ```
 */
import type { PasswordChecker } from '../../module.js';
import type { Logger } from '../../log.js';
import { DEFAULT_CONNECTION_SETTINGS, DEFAULT_POOL_SIZE, LdapConnections, loadLdapts } from './connections.js';
import { authenticate, DEFAULT_REFERRAL_HOP_LIMIT, type LdapQuerySettings, type LdapUserEntry } from './directory.js';
import { LdapUrlError, parseLdapUrl } from './url.js';

export { escapeDnValue, escapeFilterValue, normalizeDn, parseDn } from './escape.js';
export { parseLdapUrl, LdapUrlError, type LdapUrl, type LdapHost, type LdapSecurity } from './url.js';
export { authnzLdap, createAuthnzLdapModule, type AuthnzLdapSettings, type LdapServerSettings } from './module.js';
export type { LdapUserEntry } from './directory.js';

/**
 * Options of {@link ldapProvider}; the directive each one mirrors is named.
 *
 * @example
 * ```ts
 * const options: LdapProviderOptions = { url: 'ldaps://ldap.example.org/ou=people,dc=example,dc=org?uid', retries: 1 };
 * ```
 */
export interface LdapProviderOptions {
  /** `AuthLDAPURL`: `ldap[s]://host[:port][ host…]/basedn?attribute[,more]?scope?filter`. */
  readonly url: string;
  /** The second argument of `AuthLDAPURL` (default: `SSL` for ldaps://, else `NONE`). */
  readonly tls?: 'NONE' | 'SSL' | 'TLS' | 'STARTTLS';
  /** `AuthLDAPBindDN` / `AuthLDAPBindPassword` (omit both for anonymous searches). */
  readonly bindDN?: string;
  readonly bindPassword?: string;
  /** `LDAPTrustedGlobalCert`: PEM text or buffers of the CAs to trust (default: Node's CA store). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** `LDAPVerifyServerCert` (default true). */
  readonly verifyServerCert?: boolean;
  /** `AuthLDAPBindAuthoritative` (default true). */
  readonly bindAuthoritative?: boolean;
  /** `AuthLDAPInitialBindAsUser` and `AuthLDAPInitialBindPattern` (a RegExp and a `$1` substitution). */
  readonly initialBindAsUser?: boolean;
  readonly initialBindPattern?: { readonly regex: RegExp; readonly subst: string };
  /** `AuthLDAPDereferenceAliases` (default `always`). */
  readonly derefAliases?: 'never' | 'search' | 'find' | 'always';
  /**
   * `LDAPReferrals` (default `'on'`: search references are chased bound as the search was;
   * `'default'`: chased anonymously; `'off'`: ignored) and `LDAPReferralHopLimit` (default 5).
   */
  readonly referrals?: 'on' | 'off' | 'default';
  readonly referralHopLimit?: number;
  /** `LDAPTimeout` (ms, default 60 000), `LDAPConnectionTimeout` (ms, default 10 000). */
  readonly timeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** `LDAPRetries` (default 3), `LDAPRetryDelay` (ms, default 0). */
  readonly retries?: number;
  readonly retryDelayMs?: number;
  /** `LDAPConnectionPoolTTL` (ms; -1 forever, the default; 0 never keeps a connection). */
  readonly poolTtlMs?: number;
  /**
   * `AuthTsLDAPPoolSize`: connections per server and pool (default 32, opened as load needs
   * them): at most this many user binds at once; service searches share connections, 32
   * operations in flight on each before another opens.
   */
  readonly maxConnections?: number;
  /** Where refusals are logged (at info; never the password). */
  readonly logger?: Logger;
}

/**
 * An LDAP {@link PasswordChecker} that can also give the user's entry.
 *
 * @example
 * ```ts
 * const r = await ldap.authenticate('alice', 'secret');
 * if (r.result === 'granted') console.log(r.entry.dn, r.entry.values);
 * ```
 */
export interface LdapPasswordChecker extends PasswordChecker {
  /** Like `checkPassword`, with the user's entry (DN, URL attribute values) when granted. */
  authenticate(user: string, password: string): Promise<{ result: 'granted'; entry: LdapUserEntry } | { result: 'denied' | 'not-found' }>;
}

function nonNegative(name: string, value: number | undefined, fallback: number, allowMinusOne = false): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value < 0 && !(allowMinusOne && value === -1))) {
    throw new TypeError(`ldapProvider: options.${name} must be an integer ≥ 0${allowMinusOne ? ' or -1' : ''}`);
  }
  return value;
}

/**
 * The `ldap` provider on its own: search-then-bind against a directory exactly as
 * `AuthBasicProvider ldap` does, over pooled connections (see docs/providers/ldap.md). Checks
 * options eagerly (`TypeError`) and that `ldapts` is installed (`AuthTsError`
 * `LDAP_NOT_INSTALLED`); connects on the first check.
 *
 * @example
 * ```ts
 * const ldap = await ldapProvider({
 *   url: 'ldap://127.0.0.1:389/ou=people,dc=example,dc=org?uid', tls: 'STARTTLS',
 *   bindDN: 'cn=authts,ou=services,dc=example,dc=org', bindPassword: process.env.LDAP_PW!,
 *   ca: readFileSync('/etc/ssl/ldap-ca.pem'),
 * });
 * await ldap.checkPassword('alice', 'secret'); // 'granted'
 * await ldap.close();
 * ```
 */
export async function ldapProvider(options: LdapProviderOptions): Promise<LdapPasswordChecker> {
  if (typeof options !== 'object' || options === null) throw new TypeError('ldapProvider: options must be an object');
  if (typeof options.url !== 'string' || options.url === '') throw new TypeError('ldapProvider: options.url must be an AuthLDAPURL string');
  let url;
  try {
    url = parseLdapUrl(options.url, options.tls);
  } catch (err) {
    if (err instanceof LdapUrlError) throw new TypeError(`ldapProvider: options.url: ${err.message}`);
    throw err;
  }
  if ((options.bindDN === undefined) !== (options.bindPassword === undefined)) {
    throw new TypeError('ldapProvider: options.bindDN and options.bindPassword go together');
  }
  if (options.bindDN !== undefined && (typeof options.bindDN !== 'string' || typeof options.bindPassword !== 'string')) {
    throw new TypeError('ldapProvider: options.bindDN and options.bindPassword must be strings');
  }
  if (options.referrals !== undefined && !['on', 'off', 'default'].includes(options.referrals)) {
    throw new TypeError("ldapProvider: options.referrals must be 'on', 'off' or 'default'");
  }
  if (options.referralHopLimit !== undefined && nonNegative('referralHopLimit', options.referralHopLimit, 0) < 1) {
    throw new TypeError('ldapProvider: options.referralHopLimit must be an integer ≥ 1');
  }
  const ca = options.ca === undefined ? undefined : Array.isArray(options.ca) ? [...options.ca] : [options.ca as string | Buffer];
  const timeoutMs = nonNegative('timeoutMs', options.timeoutMs, DEFAULT_CONNECTION_SETTINGS.timeoutMs);
  const conns = new LdapConnections({
    ca,
    verifyServerCert: options.verifyServerCert ?? true,
    timeoutMs: Math.max(1, timeoutMs),
    connectTimeoutMs: Math.max(1, nonNegative('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_CONNECTION_SETTINGS.connectTimeoutMs)),
    retries: nonNegative('retries', options.retries, DEFAULT_CONNECTION_SETTINGS.retries),
    retryDelayMs: nonNegative('retryDelayMs', options.retryDelayMs, 0),
    poolTtlMs: nonNegative('poolTtlMs', options.poolTtlMs, -1, true),
    maxPerKey: nonNegative('maxConnections', options.maxConnections, DEFAULT_POOL_SIZE) || DEFAULT_POOL_SIZE,
  });
  const settings: LdapQuerySettings = {
    url,
    bind: options.bindDN !== undefined ? { dn: options.bindDN, password: options.bindPassword! } : undefined,
    bindAuthoritative: options.bindAuthoritative ?? true,
    initialBindAsUser: options.initialBindAsUser ?? false,
    initialBindPattern: options.initialBindPattern ?? { regex: /^(.*)$/s, subst: '$1' },
    searchAsUser: false,
    compareAsUser: false,
    remoteUserAttribute: undefined,
    remoteUserIsDn: false,
    derefAliases: options.derefAliases ?? 'always',
    groupAttributes: ['member', 'uniqueMember'],
    groupAttributeIsDn: true,
    maxSubGroupDepth: 10,
    subGroupAttributes: ['member', 'uniqueMember'],
    subGroupClasses: ['groupOfNames', 'groupOfUniqueNames'],
    compareDnOnServer: true,
    referrals: options.referrals ?? 'on',
    referralHopLimit: options.referralHopLimit ?? DEFAULT_REFERRAL_HOP_LIMIT,
  };
  await loadLdapts();
  const log = options.logger;
  const check = async (user: string, password: string): Promise<Awaited<ReturnType<LdapPasswordChecker['authenticate']>>> => {
    if (typeof user !== 'string' || typeof password !== 'string') throw new TypeError('checkPassword: user and password must be strings');
    const outcome = await authenticate(conns, settings, user, password);
    if (outcome.result === 'granted') return outcome;
    log?.info({ user, reason: outcome.reason }, `LDAP authentication: ${outcome.result}`);
    return { result: outcome.result };
  };
  return {
    name: 'ldap',
    checkPassword: async function checkPassword(user, password) {
      return (await check(user, password)).result;
    },
    authenticate: check,
    close: function close() {
      return conns.close();
    },
  };
}
