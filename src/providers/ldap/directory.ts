/**
 * What mod_authnz_ldap asks the directory, independent of configuration: search-then-bind
 * authentication (`util_ldap_cache_checkuserid`) and the authorization checks (compare, DN
 * compare, nested groups, filter), each translated into authts verdicts at this boundary.
 */
import type { Client, Entry } from 'ldapts';
import { AuthTsError } from '../../errors.js';
import type { AuthnResult } from '../../module.js';
import { escapeDnValue, escapeFilterValue, normalizeDn } from './escape.js';
import { ldapResultCode, ldapSearch, type LdapBindIdentity, type LdapConnections } from './connections.js';
import { parseLdapUrl, type LdapUrl } from './url.js';

/** How one section talks to the directory (mod_authnz_ldap's per-directory settings, resolved). */
export interface LdapQuerySettings {
  readonly url: LdapUrl;
  /** `AuthLDAPBindDN` / `AuthLDAPBindPassword`; undefined: anonymous searches. */
  readonly bind: LdapBindIdentity | undefined;
  /** `AuthLDAPBindAuthoritative` (default true). */
  readonly bindAuthoritative: boolean;
  /** `AuthLDAPInitialBindAsUser` + `AuthLDAPInitialBindPattern`. */
  readonly initialBindAsUser: boolean;
  readonly initialBindPattern: { readonly regex: RegExp; readonly subst: string };
  /** `AuthLDAPSearchAsUser`, `AuthLDAPCompareAsUser`. */
  readonly searchAsUser: boolean;
  readonly compareAsUser: boolean;
  /** `AuthLDAPRemoteUserAttribute`; `AuthLDAPRemoteUserIsDN`. */
  readonly remoteUserAttribute: string | undefined;
  readonly remoteUserIsDn: boolean;
  /** `AuthLDAPDereferenceAliases` (default `always`). */
  readonly derefAliases: 'never' | 'search' | 'find' | 'always';
  /** `AuthLDAPGroupAttribute` (default member, uniqueMember), `…IsDN` (default on). */
  readonly groupAttributes: readonly string[];
  readonly groupAttributeIsDn: boolean;
  /** `AuthLDAPMaxSubGroupDepth` (default 10; 0 = no nested groups). */
  readonly maxSubGroupDepth: number;
  /** `AuthLDAPSubGroupAttribute` (default member, uniqueMember), `AuthLDAPSubGroupClass` (default groupOfNames, groupOfUniqueNames). */
  readonly subGroupAttributes: readonly string[];
  readonly subGroupClasses: readonly string[];
  /** `AuthLDAPCompareDNOnServer` (default off, as httpd's code; its docs say on). */
  readonly compareDnOnServer: boolean;
  /**
   * `LDAPReferrals` (default `on`): search result references (continuation references) of the
   * user search are chased — `on` with the same bind as the search (httpd's rebind), `default`
   * anonymously (libldap's own chasing, without httpd's rebind), `off` not at all.
   */
  readonly referrals: 'on' | 'off' | 'default';
  /** `LDAPReferralHopLimit` (default {@link DEFAULT_REFERRAL_HOP_LIMIT}, libldap's). */
  readonly referralHopLimit: number;
}

/**
 * `LDAPReferralHopLimit` when not set: httpd leaves it to the SDK, and OpenLDAP's libldap (what
 * Debian's and most httpd builds link) has `LDAP_DEFAULT_REFHOPLIMIT 5`.
 */
export const DEFAULT_REFERRAL_HOP_LIMIT = 5;

/** The user an LDAP authentication (or an authz-time lookup) found. */
export interface LdapUserEntry {
  readonly dn: string;
  /** The name as the client sent it (mod_authnz_ldap's `req->user`). */
  readonly user: string;
  /** The value of each URL attribute (multiple values joined with `; `), in URL order; '' when absent. */
  readonly values: readonly string[];
  /** The `AuthLDAPRemoteUserAttribute` value, when the entry has it. */
  readonly remoteUser: string | undefined;
  /**
   * Where the entry lives: the configured URL, or the server a referral led to (operations on
   * the entry itself — the user's bind, `ldap-user`/`ldap-attribute` compares, `ldap-filter` —
   * go there).
   */
  readonly at?: LdapUrl;
}

/** The outcome of {@link authenticate}: a verdict, the entry when granted, and why otherwise (for logs). */
export type LdapAuthnOutcome =
  | { readonly result: 'granted'; readonly entry: LdapUserEntry }
  | { readonly result: Exclude<AuthnResult, 'granted'>; readonly reason: string };

/** LDAP result codes mod_authnz_ldap answers DENIED for (security errors and constraint violation). */
const DENIED_CODES = new Set([19, 47, 48, 49, 50]);
const NO_SUCH_OBJECT = 32;

/**
 * The search filter for `user`, as `authn_ldap_build_filter` makes it but escaped per RFC 4515:
 * `(&<url filter>(<attribute>=<user>))`.
 *
 * @example
 * ```ts
 * userFilter(parseLdapUrl('ldap://h/dc=x?uid??(objectClass=person)'), 'a*'); // '(&(objectClass=person)(uid=a\\2a))'
 * ```
 */
export function userFilter(url: LdapUrl, user: string, filter: string = url.filter): string {
  return `(&${filter}(${url.attributes[0]}=${escapeFilterValue(user)}))`;
}

/**
 * The bind DN for `AuthLDAPInitialBindAsUser`: `subst` with `$0`…`$9` replaced by the
 * pattern's captures of `user`, each escaped per RFC 4514 (httpd substitutes them raw); the user
 * name itself when the pattern does not match, as httpd.
 *
 * @example
 * ```ts
 * initialBindDn('alice', { regex: /^(.+)$/, subst: 'uid=$1,ou=people,dc=example,dc=org' }); // 'uid=alice,ou=people,…'
 * ```
 */
export function initialBindDn(user: string, pattern: { readonly regex: RegExp; readonly subst: string }): string {
  const m = pattern.regex.exec(user);
  if (!m) return user;
  return pattern.subst.replace(/\\\$|\$(\d)/g, (all, digit: string | undefined) =>
    digit === undefined ? '$' : escapeDnValue(m[Number(digit)] ?? ''),
  );
}

function attributeValue(entry: Entry, attr: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (key === undefined) return undefined;
  const raw = entry[key];
  const list = Array.isArray(raw) ? raw : [raw];
  const strings = list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
  return strings.length === 0 ? undefined : strings.join('; ');
}

function toUserEntry(entry: Entry, user: string, s: LdapQuerySettings, at: LdapUrl = s.url): LdapUserEntry {
  return {
    ...(at !== s.url ? { at } : {}),
    dn: entry.dn,
    user,
    values: s.url.attributes.map((a) => attributeValue(entry, a) ?? ''),
    remoteUser: s.remoteUserAttribute === undefined ? undefined : attributeValue(entry, s.remoteUserAttribute),
  };
}

function searchAttributes(s: LdapQuerySettings): string[] {
  const attrs = [...s.url.attributes];
  if (s.remoteUserAttribute !== undefined && !attrs.some((a) => a.toLowerCase() === s.remoteUserAttribute!.toLowerCase())) {
    attrs.push(s.remoteUserAttribute);
  }
  return attrs;
}

/** One search for `user` at `url`: the entries and the continuation references (RFC 4511 §4.5.3). */
async function searchOnce(client: Client, s: LdapQuerySettings, user: string, url: LdapUrl): Promise<{ entries: Entry[]; refs: string[] }> {
  const { searchEntries, searchReferences } = await ldapSearch(client, url.baseDn, {
    scope: url.scope,
    filter: userFilter(s.url, user),
    attributes: searchAttributes(s),
    derefAliases: s.derefAliases,
    sizeLimit: 2,
  });
  return { entries: searchEntries, refs: s.referrals === 'off' ? [] : searchReferences };
}

/**
 * Where a continuation reference points, as a URL to search with the original search's
 * attributes, scope and filter (scope `one` becomes `base`, RFC 4511 §4.5.3), or why it is not
 * followed. Transport security never gets weaker than `from`'s: an `ldap://` reference met on
 * an ldaps:// or StartTLS connection is followed with StartTLS, never in plain text.
 *
 * @example
 * ```ts
 * referralTarget('ldap://127.0.0.1:3389/ou=people,dc=example,dc=org??sub', parseLdapUrl('ldap://h/dc=example,dc=org', 'STARTTLS'));
 * // { hosts: [{ host: '127.0.0.1', port: 3389 }], security: 'starttls', baseDn: 'ou=people,dc=example,dc=org', … }
 * ```
 */
export function referralTarget(ref: string, from: LdapUrl): LdapUrl | string {
  let target: LdapUrl;
  try {
    // Only scheme, host and DN are taken from the reference; extensions are not supported.
    target = parseLdapUrl(ref.replace(/\?.*$/s, ''));
  } catch (err) {
    return `the referral ${JSON.stringify(ref)} is not usable: ${describe(err)}`;
  }
  if (target.hosts.length !== 1) return `the referral ${JSON.stringify(ref)} names ${target.hosts.length} hosts`;
  const security = target.security === 'ssl' ? 'ssl' : from.security === 'none' ? 'none' : 'starttls';
  return Object.freeze({
    hosts: target.hosts,
    security,
    baseDn: target.baseDn === '' ? from.baseDn : target.baseDn,
    attributes: from.attributes,
    scope: from.scope === 'one' ? 'base' : from.scope,
    filter: from.filter,
  });
}

/** Runs an operation at a URL, bound as the original operation was (or anonymously). */
type RunAt = <T>(url: LdapUrl, fn: (client: Client) => Promise<T>) => Promise<T>;

/** An entry and where it was found. */
interface Located {
  readonly entry: Entry;
  readonly at: LdapUrl;
}

/**
 * Chases `refs` (met at `from`, `hops` referrals deep), with `LDAPReferrals on` bound as the
 * original search (`run`), with `default` anonymously; adds what they find to `found`. More
 * than `LDAPReferralHopLimit` levels is an error (libldap's `LDAP_REFERRAL_LIMIT_EXCEEDED`).
 */
async function chase(
  conns: LdapConnections,
  s: LdapQuerySettings,
  user: string,
  run: RunAt,
  refs: readonly string[],
  from: LdapUrl,
  hops: number,
  found: Located[],
): Promise<void> {
  if (refs.length === 0) return;
  if (hops + 1 > s.referralHopLimit) {
    throw new AuthTsError('LDAP_OPERATION_FAILED', `LDAP referral hop limit exceeded (LDAPReferralHopLimit ${s.referralHopLimit}): ${refs.join(' ')}`);
  }
  const runHere: RunAt = s.referrals === 'default' ? (url, fn) => conns.asService(url, undefined, fn) : run;
  for (const ref of refs) {
    const target = referralTarget(ref, from);
    if (typeof target === 'string') throw new AuthTsError('LDAP_OPERATION_FAILED', target);
    const result = await runHere(target, (client) => searchOnce(client, s, user, target));
    for (const entry of result.entries) found.push({ entry, at: target });
    if (found.length > 1) return;
    await chase(conns, s, user, run, result.refs, target, hops + 1, found);
  }
}

/** Searches for `user` (chasing referrals as configured); exactly one entry or a reason why not. */
async function findUser(conns: LdapConnections, s: LdapQuerySettings, user: string, run: RunAt, first?: { entries: Entry[]; refs: string[] }): Promise<Located | string> {
  const result = first ?? (await run(s.url, (client) => searchOnce(client, s, user, s.url)));
  const found: Located[] = result.entries.map((entry) => ({ entry, at: s.url }));
  if (found.length <= 1) await chase(conns, s, user, run, result.refs, s.url, 0, found);
  if (found.length === 0) return 'User not found';
  if (found.length > 1) return 'User is not unique (search found two or more matches)';
  return found[0]!;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/**
 * Authenticates `user` / `password` as mod_authnz_ldap: an empty password is `'denied'` before
 * the server is asked; the user is searched (as the service account, or as the user with
 * InitialBindAsUser) with the URL's filter and attribute; exactly one entry, or `'not-found'`;
 * then a bind as that entry's DN decides. With `bindAuthoritative` off every failure is
 * `'not-found'`; with it on, `noSuchObject` is `'not-found'`, security errors and constraint
 * violations (locked accounts) are `'denied'`, anything else throws `AuthTsError` (→ 500).
 *
 * @example
 * ```ts
 * const outcome = await authenticate(connections, settings, 'alice', 'secret');
 * if (outcome.result === 'granted') console.log(outcome.entry.dn);
 * ```
 */
export async function authenticate(
  conns: LdapConnections,
  s: LdapQuerySettings,
  user: string,
  password: string,
): Promise<LdapAuthnOutcome> {
  if (password === '') return { result: 'denied', reason: 'empty password (refused before asking the server)' };
  try {
    let found: Located | string;
    if (s.initialBindAsUser) {
      const initialDn = initialBindDn(user, s.initialBindPattern);
      const run: RunAt = (url, fn) => conns.asUser(url, initialDn, password, fn);
      let boundHere = false;
      const first = await conns.asUser(s.url, initialDn, password, async (client) => {
        const result = await searchOnce(client, s, user, s.url);
        // No referral to chase: bind as the entry on this connection, as httpd.
        if (result.refs.length === 0 && result.entries.length === 1) {
          await client.bind(result.entries[0]!.dn, password);
          boundHere = true;
        }
        return result;
      });
      found = await findUser(conns, s, user, run, first);
      if (typeof found !== 'string' && !boundHere) await conns.asUser(found.at, found.entry.dn, password, async () => undefined);
    } else {
      found = await findUser(conns, s, user, (url, fn) => conns.asService(url, s.bind, fn));
      if (typeof found !== 'string') {
        await conns.asUser(found.at, found.entry.dn, password, async () => undefined);
      }
    }
    if (typeof found === 'string') {
      return { result: 'not-found', reason: found };
    }
    return { result: 'granted', entry: toUserEntry(found.entry, user, s, found.at) };
  } catch (err) {
    const code = ldapResultCode(err);
    if (!s.bindAuthoritative) return { result: 'not-found', reason: `${describe(err)} (not authoritative)` };
    if (code === NO_SUCH_OBJECT) return { result: 'not-found', reason: describe(err) };
    if (code !== undefined && DENIED_CODES.has(code)) return { result: 'denied', reason: describe(err) };
    if (err instanceof AuthTsError) throw err;
    throw new AuthTsError('LDAP_OPERATION_FAILED', `LDAP authentication of a user failed: ${describe(err)}`, { cause: err });
  }
}

/**
 * Finds the entry of a user authenticated by another provider (`get_dn_for_nonldap_authn`):
 * exactly one entry, else `undefined`.
 *
 * @example
 * ```ts
 * const entry = await lookupUser(connections, settings, req.user);
 * ```
 */
export async function lookupUser(conns: LdapConnections, s: LdapQuerySettings, user: string): Promise<LdapUserEntry | undefined> {
  const found = await findUser(conns, s, user, (url, fn) => conns.asService(url, s.bind, fn));
  return typeof found === 'string' ? undefined : toUserEntry(found.entry, user, s, found.at);
}

/** Credentials of the user authenticated by LDAP in this request, for Search/CompareAsUser. */
export interface LdapUserCredentials {
  readonly dn: string;
  readonly password: string;
}

/** Runs `fn` as the service account, or as the user when `asUser` and their credentials are known. */
function runAs<T>(
  conns: LdapConnections,
  s: LdapQuerySettings,
  asUser: LdapUserCredentials | undefined,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  return asUser ? conns.asUser(s.url, asUser.dn, asUser.password, fn) : conns.asService(s.url, s.bind, fn);
}

/** The settings with the URL of the server holding `entry` (another one when a referral led there). */
function atEntry(s: LdapQuerySettings, entry: LdapUserEntry): LdapQuerySettings {
  return entry.at === undefined ? s : { ...s, url: entry.at };
}

/** A compare that answers false for "no such attribute/object" (as util_ldap's compare). */
async function compare(client: Client, dn: string, attribute: string, value: string): Promise<boolean> {
  try {
    return await client.compare(dn, attribute, value);
  } catch (err) {
    const code = ldapResultCode(err);
    if (code === 16 || code === NO_SUCH_OBJECT || code === 17 || code === 18) return false;
    throw err;
  }
}

/**
 * `Require ldap-user`: the whole line, then each word, compared with the user entry's search
 * attribute on the server (so the attribute's matching rule decides, as httpd).
 *
 * @example
 * ```ts
 * await checkLdapUser(connections, settings, entry, 'alice "john smith"', ['alice', 'john smith'], undefined);
 * ```
 */
export async function checkLdapUser(
  conns: LdapConnections,
  s: LdapQuerySettings,
  entry: LdapUserEntry,
  line: string,
  words: readonly string[],
  asUser: LdapUserCredentials | undefined,
): Promise<boolean> {
  const attribute = s.url.attributes[0]!;
  return runAs(conns, atEntry(s, entry), s.compareAsUser ? asUser : undefined, async (client) => {
    for (const value of [line, ...words]) {
      if (value !== '' && (await compare(client, entry.dn, attribute, value))) return true;
    }
    return false;
  });
}

/**
 * `Require ldap-attribute a=v …`: any pair compared true on the user's entry.
 *
 * @example
 * ```ts
 * await checkLdapAttribute(connections, settings, entry, [{ attribute: 'employeeType', value: 'active' }], undefined);
 * ```
 */
export async function checkLdapAttribute(
  conns: LdapConnections,
  s: LdapQuerySettings,
  entry: LdapUserEntry,
  pairs: readonly { readonly attribute: string; readonly value: string }[],
  asUser: LdapUserCredentials | undefined,
): Promise<boolean> {
  return runAs(conns, atEntry(s, entry), s.compareAsUser ? asUser : undefined, async (client) => {
    for (const { attribute, value } of pairs) {
      if (await compare(client, entry.dn, attribute, value)) return true;
    }
    return false;
  });
}

/**
 * `Require ldap-dn dn`: the user's DN equals `dn`. With `compareDnOnServer` the server names the
 * required entry (a base search) and the two DNs are compared normalized; without, both are
 * normalized here (RFC 4514: types and values case-folded, escapes decoded).
 *
 * @example
 * ```ts
 * await checkLdapDn(connections, settings, entry, 'uid=alice,ou=people,dc=example,dc=org', undefined);
 * ```
 */
export async function checkLdapDn(
  conns: LdapConnections,
  s: LdapQuerySettings,
  entry: LdapUserEntry,
  dn: string,
  asUser: LdapUserCredentials | undefined,
): Promise<boolean> {
  const mine = normalizeDn(entry.dn);
  if (mine === undefined) return false;
  if (!s.compareDnOnServer) return normalizeDn(dn) === mine;
  return runAs(conns, s, s.searchAsUser ? asUser : undefined, async (client) => {
    try {
      const { searchEntries } = await ldapSearch(client, dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'], derefAliases: s.derefAliases });
      return searchEntries.length === 1 && normalizeDn(searchEntries[0]!.dn) === mine;
    } catch (err) {
      const code = ldapResultCode(err);
      if (code === NO_SUCH_OBJECT || code === 34) return false;
      throw err;
    }
  });
}

/**
 * `Require ldap-filter f`: a base search on the user's entry with `(&(f)(attr=user))` finds it.
 *
 * @example
 * ```ts
 * await checkLdapFilter(connections, settings, entry, '(employeeType=active)', undefined);
 * ```
 */
export async function checkLdapFilter(
  conns: LdapConnections,
  s: LdapQuerySettings,
  entry: LdapUserEntry,
  filter: string,
  asUser: LdapUserCredentials | undefined,
): Promise<boolean> {
  return runAs(conns, atEntry(s, entry), s.searchAsUser ? asUser : undefined, async (client) => {
    try {
      const { searchEntries } = await ldapSearch(client, entry.dn, {
        scope: 'base',
        filter: userFilter(s.url, entry.user, filter),
        attributes: ['1.1'],
        derefAliases: s.derefAliases,
      });
      return searchEntries.length === 1;
    } catch (err) {
      if (ldapResultCode(err) === NO_SUCH_OBJECT) return false;
      throw err;
    }
  });
}

/**
 * `Require ldap-group dn`: the group's `AuthLDAPGroupAttribute`s compared with the user's DN (or
 * name, with `…IsDN off`) on the server; then, up to `maxSubGroupDepth` levels down, the
 * members of class `AuthLDAPSubGroupClass` reached through `AuthLDAPSubGroupAttribute`, breadth
 * first. A group seen once is not visited again, so cycles end.
 *
 * @example
 * ```ts
 * await checkLdapGroup(connections, settings, entry, 'cn=staff,ou=groups,dc=example,dc=org', undefined);
 * ```
 */
export async function checkLdapGroup(
  conns: LdapConnections,
  s: LdapQuerySettings,
  entry: LdapUserEntry,
  groupDn: string,
  asUser: LdapUserCredentials | undefined,
): Promise<boolean> {
  const value = s.groupAttributeIsDn ? entry.dn : entry.user;
  const compareIn = async (client: Client, group: string): Promise<boolean> => {
    for (const attribute of s.groupAttributes) {
      if (await compare(client, group, attribute, value)) return true;
    }
    return false;
  };
  const direct = await runAs(conns, s, s.compareAsUser ? asUser : undefined, (client) => compareIn(client, groupDn));
  if (direct || s.maxSubGroupDepth <= 0) return direct;
  const classFilter = `(|${s.subGroupClasses.map((c) => `(objectClass=${escapeFilterValue(c)})`).join('')})`;
  return runAs(conns, s, s.compareAsUser && s.searchAsUser ? asUser : undefined, async (client) => {
    const seen = new Set<string>([normalizeDn(groupDn) ?? groupDn]);
    let level = [groupDn];
    for (let depth = 1; depth <= s.maxSubGroupDepth && level.length > 0; depth++) {
      const next: string[] = [];
      for (const group of level) {
        for (const sub of await subGroups(client, group)) {
          const key = normalizeDn(sub) ?? sub;
          if (seen.has(key)) continue;
          seen.add(key);
          if (await compareIn(client, sub)) return true;
          next.push(sub);
        }
      }
      level = next;
    }
    return false;
  });

  /** The members of `group` (through the sub-group attributes) that are groups themselves. */
  async function subGroups(client: Client, group: string): Promise<string[]> {
    let members: string[];
    try {
      const { searchEntries } = await ldapSearch(client, group, {
        scope: 'base',
        filter: classFilter,
        attributes: [...s.subGroupAttributes],
        derefAliases: s.derefAliases,
      });
      const e = searchEntries[0];
      if (!e) return [];
      members = s.subGroupAttributes.flatMap((a) => {
        const key = Object.keys(e).find((k) => k.toLowerCase() === a.toLowerCase());
        const raw = key === undefined ? [] : e[key];
        return (Array.isArray(raw) ? raw : [raw]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
      });
    } catch (err) {
      if (ldapResultCode(err) === NO_SUCH_OBJECT) return [];
      throw err;
    }
    const groups: string[] = [];
    for (const member of members) {
      try {
        const { searchEntries } = await ldapSearch(client, member, {
          scope: 'base',
          filter: classFilter,
          attributes: ['1.1'],
          derefAliases: s.derefAliases,
        });
        if (searchEntries.length === 1) groups.push(searchEntries[0]!.dn);
      } catch (err) {
        const code = ldapResultCode(err);
        if (code === NO_SUCH_OBJECT || code === 34) continue;
        throw err;
      }
    }
    return groups;
  }
}
