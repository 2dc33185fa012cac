/**
 * mod_authnz_ldap + mod_ldap: the `ldap` authn provider, the `ldap-user`, `ldap-group`,
 * `ldap-dn`, `ldap-attribute` and `ldap-filter` authz providers, the `AuthLDAP*` (per section)
 * and `LDAP*` (server) directives.
 *
 * This module is built in (so `authts serve` understands `AuthBasicProvider ldap` with no
 * registration) but imports `ldapts` only when the first LDAP connection is opened.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseChoice, parseOnOff } from '../../config/args.js';
import { AuthTsError } from '../../errors.js';
import type { AuthnProvider, AuthnResult, AuthzProvider, AuthzResult, DirectiveContext, DirectiveSpec, Module, ModuleScope } from '../../module.js';
import type { AuthRequest } from '../../request.js';
import { splitUserList } from '../../authz/user.js';
import { DEFAULT_CONNECTION_SETTINGS, DEFAULT_POOL_SIZE, LdapConnections, type LdapConnectionSettings } from './connections.js';
import {
  authenticate,
  checkLdapAttribute,
  checkLdapDn,
  checkLdapFilter,
  checkLdapGroup,
  checkLdapUser,
  DEFAULT_REFERRAL_HOP_LIMIT,
  lookupUser,
  type LdapQuerySettings,
  type LdapUserCredentials,
  type LdapUserEntry,
} from './directory.js';
import { parseDn } from './escape.js';
import { checkFilterSyntax, LdapUrlError, parseLdapUrl, type LdapUrl } from './url.js';

/** Per-section settings of `authnz_ldap` (see {@link LdapQuerySettings} for the meaning). */
export interface AuthnzLdapSettings {
  /**
   * Set once any `AuthLDAP*` directive appears in the section. As in httpd (mod_authnz_ldap has
   * no merge function), such a section's LDAP settings replace the outer section's entirely;
   * a section without any keeps the outer ones.
   */
  touched: boolean;
  url: LdapUrl | undefined;
  bindDn: string | undefined;
  bindPassword: string | undefined;
  bindAuthoritative: boolean;
  initialBindAsUser: boolean;
  initialBindPattern: { regex: RegExp; subst: string };
  searchAsUser: boolean;
  compareAsUser: boolean;
  remoteUserAttribute: string | undefined;
  remoteUserIsDn: boolean;
  derefAliases: LdapQuerySettings['derefAliases'];
  groupAttributes: string[];
  groupAttributeIsDn: boolean;
  maxSubGroupDepth: number;
  subGroupAttributes: string[];
  subGroupClasses: string[];
  compareDnOnServer: boolean;
  authorizePrefix: string;
  /** `LDAPReferrals` (default on), `LDAPReferralHopLimit` (default 5, libldap's). */
  referrals: LdapQuerySettings['referrals'];
  referralHopLimit: number;
}

/** Server-wide settings of mod_ldap's directives, in ms where httpd says seconds. */
export interface LdapServerSettings {
  ca: Buffer[] | undefined;
  verifyServerCert: boolean;
  timeoutMs: number;
  connectTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
  poolTtlMs: number;
  /** `AuthTsLDAPPoolSize`: connections per server and pool (service / user binds). */
  poolSize: number;
}

/** The user LDAP found for this request (authn or an authz-time lookup), and the password for *AsUser. */
interface RequestState {
  entry: LdapUserEntry | undefined;
  /** Only when LDAP authenticated the user: for AuthLDAPSearchAsUser / CompareAsUser. */
  credentials: LdapUserCredentials | undefined;
  /** `r->user` the entry belongs to; a different user (another provider won later) invalidates it. */
  forUser: string | undefined;
}

function defaults(): AuthnzLdapSettings {
  return {
    touched: false,
    url: undefined,
    bindDn: undefined,
    bindPassword: undefined,
    bindAuthoritative: true,
    initialBindAsUser: false,
    initialBindPattern: { regex: /^(.*)$/s, subst: '$1' },
    searchAsUser: false,
    compareAsUser: false,
    remoteUserAttribute: undefined,
    remoteUserIsDn: false,
    derefAliases: 'always',
    groupAttributes: [],
    groupAttributeIsDn: true,
    maxSubGroupDepth: 10,
    subGroupAttributes: [],
    subGroupClasses: [],
    // httpd documents On, but its code starts sections with Off (a string comparison there).
    compareDnOnServer: false,
    authorizePrefix: 'AUTHORIZE_',
    referrals: 'on',
    referralHopLimit: DEFAULT_REFERRAL_HOP_LIMIT,
  };
}

function querySettings(s: AuthnzLdapSettings, url: LdapUrl): LdapQuerySettings {
  return {
    url,
    bind: s.bindDn !== undefined ? { dn: s.bindDn, password: s.bindPassword ?? '' } : undefined,
    bindAuthoritative: s.bindAuthoritative,
    initialBindAsUser: s.initialBindAsUser,
    initialBindPattern: s.initialBindPattern,
    searchAsUser: s.searchAsUser,
    compareAsUser: s.compareAsUser,
    remoteUserAttribute: s.remoteUserAttribute,
    remoteUserIsDn: s.remoteUserIsDn,
    derefAliases: s.derefAliases,
    groupAttributes: s.groupAttributes.length > 0 ? s.groupAttributes : ['member', 'uniqueMember'],
    groupAttributeIsDn: s.groupAttributeIsDn,
    maxSubGroupDepth: s.maxSubGroupDepth,
    subGroupAttributes: s.subGroupAttributes.length > 0 ? s.subGroupAttributes : ['member', 'uniqueMember'],
    subGroupClasses: s.subGroupClasses.length > 0 ? s.subGroupClasses : ['groupOfNames', 'groupOfUniqueNames'],
    compareDnOnServer: s.compareDnOnServer,
    referrals: s.referrals,
    referralHopLimit: s.referralHopLimit,
  };
}

/** `AUTHENTICATE_UID`, … : prefix + upper-cased attribute name. */
function setVars(req: AuthRequest, prefix: string, url: LdapUrl, entry: LdapUserEntry): void {
  url.attributes.forEach((attr, i) => req.env.set(`${prefix}${attr.toUpperCase()}`, entry.values[i] ?? ''));
}

/** Parses a positive-or-zero integer argument, as httpd's `atoi` directives, but strictly. */
function intArg(ctx: DirectiveContext, value: string, min: number): number {
  if (!/^-?\d+$/.test(value) || Number(value) < min) {
    return ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name} needs a whole number ≥ ${min} (got "${value}")`);
  }
  return Number(value);
}

/** `AuthLDAPBindPassword exec:/path/to/program args`: the program's first output line, run at load. */
function execPassword(ctx: DirectiveContext, command: string): string {
  const words = command.split(/\s+/).filter(Boolean);
  const [program, ...args] = words;
  if (!program) return ctx.error('CONFIG_BAD_ARGUMENT', 'AuthLDAPBindPassword exec: needs a program');
  try {
    const out = execFileSync(resolve(ctx.serverRoot, program), args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const line = out.split(/\r?\n/)[0] ?? '';
    if (line === '') ctx.error('CONFIG_BAD_ARGUMENT', `AuthLDAPBindPassword exec:${program} printed nothing`);
    return line;
  } catch (err) {
    if (err instanceof Error && err.name === 'ConfigError') throw err;
    return ctx.error('CONFIG_BAD_ARGUMENT', `AuthLDAPBindPassword exec:${program} failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** A parsed `Require ldap-attribute` line. */
interface AttributePairs {
  readonly pairs: readonly { readonly attribute: string; readonly value: string }[];
}

/** A parsed `Require ldap-user` line. */
interface UserList {
  readonly line: string;
  readonly words: readonly string[];
}

/**
 * Creates the `authnz_ldap` module (with mod_ldap's server directives). Each loaded
 * configuration gets its own connection pools, made on first use from its server settings;
 * `release` (`Config.close()`) closes that configuration's, `close()` closes them all (the next
 * request opens new ones).
 *
 * @example
 * ```ts
 * const ldap = createAuthnzLdapModule();
 * const config = await loadConfig({ file: 'site.conf', modules: [...builtinModules().filter((m) => m.name !== 'authnz_ldap'), ldap] });
 * ```
 */
export function createAuthnzLdapModule(): AuthnzLdapModule {
  const pools = new Map<LdapServerSettings, LdapConnections>();
  const states = new WeakMap<Map<string, unknown>, RequestState>();

  function connections(req: AuthRequest): LdapConnections {
    const server = req.serverSettings(module);
    let pool = pools.get(server);
    if (!pool) {
      const { poolSize, ...rest } = server;
      const settings: LdapConnectionSettings = { ...rest, ca: server.ca, maxPerKey: poolSize };
      pool = new LdapConnections(settings);
      pools.set(server, pool);
    }
    return pool;
  }

  function stateOf(req: AuthRequest): RequestState {
    let state = states.get(req.notes);
    if (!state) {
      state = { entry: undefined, credentials: undefined, forUser: undefined };
      states.set(req.notes, state);
    }
    return state;
  }

  const authn: AuthnProvider = {
    checkPassword: async function ldapCheckPassword(req, user, password): Promise<AuthnResult> {
      const s = req.settings(module);
      if (!s.url) {
        throw new AuthTsError('LDAP_NOT_CONFIGURED', 'the "ldap" authn provider is used where no AuthLDAPURL is set');
      }
      const q = querySettings(s, s.url);
      const outcome = await authenticate(connections(req), q, user, password);
      if (outcome.result !== 'granted') {
        req.log.info({ user, reason: outcome.reason }, `LDAP authentication: ${outcome.result}`);
        return outcome.result;
      }
      const state = stateOf(req);
      state.entry = outcome.entry;
      state.credentials = { dn: outcome.entry.dn, password };
      setVars(req, 'AUTHENTICATE_', s.url, outcome.entry);
      let remoteUser = user;
      if (s.remoteUserIsDn) remoteUser = outcome.entry.dn;
      if (s.remoteUserAttribute !== undefined) {
        if (outcome.entry.remoteUser !== undefined) remoteUser = outcome.entry.remoteUser;
        else req.log.warn({ attribute: s.remoteUserAttribute }, 'AuthLDAPRemoteUserAttribute: the entry has no such attribute; REMOTE_USER falls back');
      }
      req.user = remoteUser;
      state.forUser = remoteUser;
      return 'granted';
    },
  };

  /**
   * What every ldap-* authz provider does first (httpd's preamble): no user → denied-no-user; no
   * AuthLDAPURL → denied; the user's entry from authn, or searched now for users another provider
   * authenticated (not found → denied). Errors reaching the directory → denied, logged (httpd).
   */
  function authz<P>(
    name: string,
    parse: AuthzProvider<P>['parseRequire'],
    check: (conns: LdapConnections, q: LdapQuerySettings, entry: LdapUserEntry, parsed: P, asUser: LdapUserCredentials | undefined) => Promise<boolean>,
  ): AuthzProvider<P> {
    return {
      parseRequire: parse,
      checkAuthorization: async function ldapCheckAuthorization(req, parsed): Promise<AuthzResult> {
        if (req.user === undefined) return 'denied-no-user';
        const s = req.settings(module);
        if (!s.url) {
          req.log.warn(`Require ${name}: no AuthLDAPURL for this location`);
          return 'denied';
        }
        const q = querySettings(s, s.url);
        const conns = connections(req);
        const state = stateOf(req);
        try {
          if (state.entry === undefined || state.forUser !== req.user) {
            state.credentials = undefined;
            state.entry = await lookupUser(conns, q, req.user);
            state.forUser = req.user;
            if (state.entry === undefined) {
              req.log.info({ user: req.user }, `Require ${name}: the user's DN was not found`);
              return 'denied';
            }
            setVars(req, 'AUTHENTICATE_', s.url, state.entry);
          }
          if (await check(conns, q, state.entry, parsed, state.credentials)) {
            setVars(req, s.authorizePrefix, s.url, state.entry);
            return 'granted';
          }
          req.log.info({ user: req.user }, `Require ${name}: authorization denied`);
          return 'denied';
        } catch (err) {
          req.log.error(
            { err, code: err instanceof AuthTsError ? err.code : 'LDAP_OPERATION_FAILED', user: req.user },
            `Require ${name}: the directory could not answer; denied`,
          );
          return 'denied';
        }
      },
    };
  }

  const warnExpr = (args: string, ctx: { warn(m: string): void }, name: string): void => {
    if (args.includes('%{')) ctx.warn(`Require ${name}: authts does not evaluate %{…} expressions here; the text is taken literally`);
  };
  const unquote = (text: string): string => {
    const t = text.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
  };

  const authzProviders = {
    'ldap-user': authz<UserList>(
      'ldap-user',
      (args, ctx) => {
        warnExpr(args, ctx, 'ldap-user');
        const words = splitUserList(args);
        if (words.length === 0) ctx.error('CONFIG_BAD_REQUIRE', "'Require ldap-user' needs at least one user name");
        return Object.freeze({ line: args.trim(), words: Object.freeze(words) });
      },
      (conns, q, entry, parsed, asUser) => checkLdapUser(conns, q, entry, parsed.line, parsed.words, asUser),
    ),
    'ldap-group': authz<string>(
      'ldap-group',
      (args, ctx) => {
        warnExpr(args, ctx, 'ldap-group');
        const dn = unquote(args);
        if (dn === '' || parseDn(dn) === undefined) ctx.error('CONFIG_BAD_REQUIRE', `'Require ldap-group' needs a group DN (got "${args.trim()}")`);
        return dn;
      },
      (conns, q, entry, dn, asUser) => checkLdapGroup(conns, q, entry, dn, asUser),
    ),
    'ldap-dn': authz<string>(
      'ldap-dn',
      (args, ctx) => {
        warnExpr(args, ctx, 'ldap-dn');
        const dn = unquote(args);
        if (dn === '' || parseDn(dn) === undefined) ctx.error('CONFIG_BAD_REQUIRE', `'Require ldap-dn' needs a DN (got "${args.trim()}")`);
        return dn;
      },
      (conns, q, entry, dn, asUser) => checkLdapDn(conns, q, entry, dn, asUser),
    ),
    'ldap-attribute': authz<AttributePairs>(
      'ldap-attribute',
      (args, ctx) => {
        warnExpr(args, ctx, 'ldap-attribute');
        const pairs: { attribute: string; value: string }[] = [];
        const re = /\s*([^=\s]+)=(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(\S*))/gy;
        let m: RegExpExecArray | null;
        let end = 0;
        while ((m = re.exec(args)) !== null) {
          pairs.push({ attribute: m[1]!, value: (m[2] ?? m[3])?.replace(/\\(.)/g, '$1') ?? m[4]! });
          end = re.lastIndex;
        }
        if (pairs.length === 0 || args.slice(end).trim() !== '') {
          ctx.error('CONFIG_BAD_REQUIRE', `'Require ldap-attribute' needs attribute=value pairs (got "${args.trim()}")`);
        }
        return Object.freeze({ pairs: Object.freeze(pairs) });
      },
      (conns, q, entry, parsed, asUser) => checkLdapAttribute(conns, q, entry, parsed.pairs, asUser),
    ),
    'ldap-filter': authz<string>(
      'ldap-filter',
      (args, ctx) => {
        warnExpr(args, ctx, 'ldap-filter');
        let filter = unquote(args);
        if (filter.startsWith('(')) {
          ctx.warn("Require ldap-filter: httpd wraps the filter in parentheses itself, so there this line never matches; write it without the outer parentheses");
        } else {
          filter = `(${filter})`;
        }
        const problem = checkFilterSyntax(filter);
        if (problem) ctx.error('CONFIG_BAD_REQUIRE', `'Require ldap-filter': bad filter ${filter}: ${problem}`);
        return filter;
      },
      (conns, q, entry, filter, asUser) => checkLdapFilter(conns, q, entry, filter, asUser),
    ),
  };

  /** A section directive of mod_authnz_ldap: marks the section's LDAP settings as its own. */
  const dirDirective = (
    name: string,
    syntax: string,
    minArgs: number,
    maxArgs: number,
    apply: (ctx: DirectiveContext, s: AuthnzLdapSettings, args: readonly string[]) => void,
  ): DirectiveSpec => ({
    name,
    context: 'section',
    minArgs,
    maxArgs,
    syntax,
    apply(ctx, args) {
      const s = ctx.dir(module);
      s.touched = true;
      apply(ctx, s, args);
    },
  });
  const serverDirective = (
    name: string,
    syntax: string,
    minArgs: number,
    maxArgs: number,
    apply: (ctx: DirectiveContext, s: LdapServerSettings, args: readonly string[]) => void,
  ): DirectiveSpec => ({ name, context: 'server', minArgs, maxArgs, syntax, apply: (ctx, args) => apply(ctx, ctx.server(module), args) });
  const onOff = (name: string, key: 'bindAuthoritative' | 'initialBindAsUser' | 'searchAsUser' | 'compareAsUser' | 'remoteUserIsDn' | 'groupAttributeIsDn' | 'compareDnOnServer'): DirectiveSpec =>
    dirDirective(name, `${name} On|Off`, 1, 1, (ctx, s, [v]) => {
      s[key] = parseOnOff(ctx, v!);
    });
  const seconds = (ctx: DirectiveContext, v: string, min: number): number => intArg(ctx, v, min) * 1000;
  const noop = (name: string, syntax: string, context: 'server' | 'section'): DirectiveSpec => ({
    name,
    context,
    minArgs: 1,
    maxArgs: 2,
    syntax,
    // mod_ldap's search/compare caches: authts keeps none (every request asks the directory, over
    // pooled connections), so these are accepted and have no effect.
    apply: () => {},
  });

  const module: AuthnzLdapModule = {
    name: 'authnz_ldap',
    createDirSettings: defaults,
    mergeDirSettings: (base, add) => (add.touched ? { ...add } : { ...base }),
    createServerSettings: () => ({
      ca: undefined,
      verifyServerCert: DEFAULT_CONNECTION_SETTINGS.verifyServerCert,
      timeoutMs: DEFAULT_CONNECTION_SETTINGS.timeoutMs,
      connectTimeoutMs: DEFAULT_CONNECTION_SETTINGS.connectTimeoutMs,
      retries: DEFAULT_CONNECTION_SETTINGS.retries,
      retryDelayMs: DEFAULT_CONNECTION_SETTINGS.retryDelayMs,
      poolTtlMs: DEFAULT_CONNECTION_SETTINGS.poolTtlMs,
      poolSize: DEFAULT_POOL_SIZE,
    }),
    directives: [
      dirDirective('AuthLDAPURL', 'AuthLDAPURL url [NONE|SSL|TLS|STARTTLS]', 1, 2, (ctx, s, [url, mode]) => {
        try {
          s.url = parseLdapUrl(url!, mode);
        } catch (err) {
          if (err instanceof LdapUrlError) ctx.error('CONFIG_BAD_ARGUMENT', `AuthLDAPURL: ${err.message}`);
          throw err;
        }
      }),
      dirDirective('AuthLDAPBindDN', 'AuthLDAPBindDN dn', 1, 1, (ctx, s, [dn]) => {
        if (parseDn(dn!) === undefined) ctx.error('CONFIG_BAD_ARGUMENT', `AuthLDAPBindDN: "${dn}" is not a valid DN`);
        s.bindDn = dn!;
      }),
      dirDirective('AuthLDAPBindPassword', 'AuthLDAPBindPassword password|exec:/path/to/program [args]', 1, 1, (ctx, s, [pw]) => {
        s.bindPassword = pw!.startsWith('exec:') ? execPassword(ctx, pw!.slice(5)) : pw!;
      }),
      onOff('AuthLDAPBindAuthoritative', 'bindAuthoritative'),
      onOff('AuthLDAPInitialBindAsUser', 'initialBindAsUser'),
      dirDirective('AuthLDAPInitialBindPattern', 'AuthLDAPInitialBindPattern regex substitution', 2, 2, (ctx, s, [re, subst]) => {
        try {
          s.initialBindPattern = { regex: new RegExp(re!, 'u'), subst: subst! };
        } catch (err) {
          ctx.error('CONFIG_BAD_REGEX', `AuthLDAPInitialBindPattern: ${(err as Error).message}`);
        }
      }),
      onOff('AuthLDAPSearchAsUser', 'searchAsUser'),
      onOff('AuthLDAPCompareAsUser', 'compareAsUser'),
      onOff('AuthLDAPRemoteUserIsDN', 'remoteUserIsDn'),
      dirDirective('AuthLDAPRemoteUserAttribute', 'AuthLDAPRemoteUserAttribute attribute', 1, 1, (_ctx, s, [a]) => {
        s.remoteUserAttribute = a!;
      }),
      dirDirective('AuthLDAPDereferenceAliases', 'AuthLDAPDereferenceAliases never|searching|finding|always', 1, 1, (ctx, s, [v]) => {
        const word = parseChoice(ctx, v!, ['never', 'searching', 'finding', 'always']);
        s.derefAliases = word === 'searching' ? 'search' : word === 'finding' ? 'find' : word;
      }),
      dirDirective('AuthLDAPGroupAttribute', 'AuthLDAPGroupAttribute attribute', 1, 1, (_ctx, s, [a]) => {
        s.groupAttributes = [...s.groupAttributes, a!];
      }),
      onOff('AuthLDAPGroupAttributeIsDN', 'groupAttributeIsDn'),
      dirDirective('AuthLDAPMaxSubGroupDepth', 'AuthLDAPMaxSubGroupDepth number', 1, 1, (ctx, s, [n]) => {
        s.maxSubGroupDepth = intArg(ctx, n!, 0);
      }),
      dirDirective('AuthLDAPSubGroupAttribute', 'AuthLDAPSubGroupAttribute attribute', 1, 1, (_ctx, s, [a]) => {
        s.subGroupAttributes = [...s.subGroupAttributes, a!];
      }),
      dirDirective('AuthLDAPSubGroupClass', 'AuthLDAPSubGroupClass objectClass', 1, 1, (_ctx, s, [c]) => {
        s.subGroupClasses = [...s.subGroupClasses, c!];
      }),
      onOff('AuthLDAPCompareDNOnServer', 'compareDnOnServer'),
      dirDirective('LDAPReferrals', 'LDAPReferrals On|Off|default', 1, 1, (ctx, s, [v]) => {
        const word = v!.toLowerCase();
        if (word !== 'on' && word !== 'off' && word !== 'default') {
          ctx.error('CONFIG_BAD_ARGUMENT', `LDAPReferrals must be On, Off or default (got "${v}")`);
        }
        s.referrals = word as AuthnzLdapSettings['referrals'];
      }),
      dirDirective('LDAPReferralHopLimit', 'LDAPReferralHopLimit number', 1, 1, (ctx, s, [n]) => {
        s.referralHopLimit = intArg(ctx, n!, 1);
      }),
      dirDirective('AuthLDAPAuthorizePrefix', 'AuthLDAPAuthorizePrefix prefix', 1, 1, (_ctx, s, [p]) => {
        s.authorizePrefix = p!;
      }),
      serverDirective('LDAPTrustedGlobalCert', 'LDAPTrustedGlobalCert CA_BASE64|CA_DER file-path', 2, 3, (ctx, s, [type, file]) => {
        const kind = parseChoice(ctx, type!, ['CA_BASE64', 'CA_DER', 'CERT_BASE64', 'CERT_DER', 'KEY_BASE64', 'KEY_DER']);
        if (!kind.startsWith('CA_')) ctx.error('CONFIG_BAD_ARGUMENT', `LDAPTrustedGlobalCert ${kind}: client certificates are not supported; only CA_BASE64 and CA_DER`);
        const path = resolve(ctx.serverRoot, file!);
        let data: Buffer;
        try {
          data = readFileSync(path);
        } catch (err) {
          return ctx.error('CONFIG_BAD_ARGUMENT', `LDAPTrustedGlobalCert: cannot read ${path}: ${(err as Error).message}`);
        }
        const pem = kind === 'CA_DER' ? Buffer.from(`-----BEGIN CERTIFICATE-----\n${data.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`) : data;
        if (!pem.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) ctx.error('CONFIG_BAD_ARGUMENT', `LDAPTrustedGlobalCert: ${path} holds no PEM certificate`);
        s.ca = [...(s.ca ?? []), pem];
      }),
      serverDirective('LDAPVerifyServerCert', 'LDAPVerifyServerCert On|Off', 1, 1, (ctx, s, [v]) => {
        s.verifyServerCert = parseOnOff(ctx, v!);
        if (!s.verifyServerCert) ctx.warn('LDAPVerifyServerCert Off: any certificate is accepted, so TLS does not protect the passwords sent to the directory');
      }),
      serverDirective('LDAPTimeout', 'LDAPTimeout seconds', 1, 1, (ctx, s, [v]) => {
        s.timeoutMs = seconds(ctx, v!, 1);
      }),
      serverDirective('LDAPConnectionTimeout', 'LDAPConnectionTimeout seconds', 1, 1, (ctx, s, [v]) => {
        s.connectTimeoutMs = seconds(ctx, v!, 1);
      }),
      serverDirective('LDAPRetries', 'LDAPRetries number', 1, 1, (ctx, s, [v]) => {
        s.retries = intArg(ctx, v!, 0);
      }),
      serverDirective('LDAPRetryDelay', 'LDAPRetryDelay seconds', 1, 1, (ctx, s, [v]) => {
        s.retryDelayMs = seconds(ctx, v!, 0);
      }),
      serverDirective('LDAPConnectionPoolTTL', 'LDAPConnectionPoolTTL -1|0|seconds', 1, 1, (ctx, s, [v]) => {
        const n = intArg(ctx, v!, -1);
        s.poolTtlMs = n === -1 ? -1 : n * 1000;
      }),
      serverDirective('AuthTsLDAPPoolSize', 'AuthTsLDAPPoolSize number', 1, 1, (ctx, s, [v]) => {
        s.poolSize = intArg(ctx, v!, 1);
      }),
      noop('LDAPCacheEntries', 'LDAPCacheEntries number', 'server'),
      noop('LDAPCacheTTL', 'LDAPCacheTTL seconds', 'server'),
      noop('LDAPOpCacheEntries', 'LDAPOpCacheEntries number', 'server'),
      noop('LDAPOpCacheTTL', 'LDAPOpCacheTTL seconds', 'server'),
      noop('LDAPSharedCacheSize', 'LDAPSharedCacheSize bytes', 'server'),
    ],
    authnProviders: { ldap: authn },
    authzProviders,
    checkConfig(view) {
      for (const { where, settings } of view.sections) {
        const s = settings as AuthnzLdapSettings;
        if (s.bindDn !== undefined && s.bindPassword === undefined) {
          view.error(where, 'AuthLDAPBindDN', 'CONFIG_BAD_ARGUMENT', 'AuthLDAPBindDN is set without AuthLDAPBindPassword', 'add AuthLDAPBindPassword (exec: keeps it out of the file)');
        }
        if ((s.searchAsUser || s.compareAsUser) && s.url === undefined) {
          view.error(where, 'AuthLDAPSearchAsUser', 'CONFIG_BAD_ARGUMENT', 'AuthLDAPSearchAsUser / AuthLDAPCompareAsUser need an AuthLDAPURL in the same section');
        }
      }
    },
    // Config.close(): only this configuration's pools (a newer configuration keeps its own).
    release: async function releaseAuthnzLdap(config): Promise<void> {
      const server = config.serverSettings(module);
      const pool = pools.get(server);
      pools.delete(server);
      await pool?.close();
    },
    close: async function closeAuthnzLdap(): Promise<void> {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.close()));
    },
    poolTotals(config: ModuleScope) {
      return pools.get(config.serverSettings(module))?.totals();
    },
  };
  return module;
}

/** The `authnz_ldap` module, with the connection counts of a configuration's pools. */
export interface AuthnzLdapModule extends Module<AuthnzLdapSettings, LdapServerSettings> {
  /**
   * The connections `config` holds to its LDAP servers (metrics, status page); `undefined` when
   * it has opened none (no LDAP section, or no request yet).
   *
   * @example
   * ```ts
   * authnzLdap.poolTotals(server.config()); // { open: 2, idle: 2, waiting: 0 }
   * ```
   */
  poolTotals(config: ModuleScope): { open: number; idle: number; waiting: number } | undefined;
}

/**
 * The built-in `authnz_ldap` module (`AuthBasicProvider ldap`, `Require ldap-*`, `AuthLDAP*`,
 * `LDAP*`). `ldapts` is imported when the first connection opens.
 *
 * @example
 * ```ts
 * new Registry([authnCore, authBasic, authzCore, authnzLdap]); // then AuthLDAPURL and Require ldap-group load
 * ```
 */
export const authnzLdap: AuthnzLdapModule = createAuthnzLdapModule();
