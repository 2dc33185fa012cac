import { observeProvider } from '../observe.js';
import { onOffDirective } from '../config/args.js';
import type { AuthnProviderRef, AuthnResult, Module } from '../module.js';
import type { AuthRequest, PhaseResult } from '../request.js';
import { requestConfig, withAliasSettings } from '../request-state.js';
import { authName, providerListDirective, quoteParam, startSchemeCheck } from './core.js';
import { realmHash, sameHex } from './digest-hash.js';
import { findRegulationModule } from './regulation.js';
import { findSocacheModule } from './socache.js';

/** mod_auth_basic's per-section settings. */
export interface AuthBasicSettings {
  /** `AuthBasicProvider` list; an inner section's list replaces the outer one. */
  providers: readonly AuthnProviderRef[] | undefined;
  /** `AuthBasicAuthoritative` (default On). */
  authoritative: boolean | undefined;
  /** `AuthBasicUseDigestAlgorithm`: `MD5` checks against the providers' realm hashes (default Off). */
  useDigestAlgorithm: 'MD5' | 'Off' | undefined;
}

/** Credentials decoded from a `Basic` header, or why they could not be. */
export type BasicCredentials =
  | { readonly ok: true; readonly user: string; readonly password: string }
  | { readonly ok: false; readonly status: 400 | 401; readonly reason: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// Control characters (NUL, CR, LF, …) can never be part of a user name in any file or database
// we check, and would corrupt logs.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Decodes the value of an `Authorization` header for Basic (RFC 7617): the scheme word is
 * case-insensitive; after it only spaces and tabs are skipped (as httpd); the user is the text
 * before the first `:`, the password everything after it. Unlike httpd, which decodes leniently
 * up to the first bad character, malformed input is refused: bad base64, no colon, or control
 * characters give 400 (docs/differences-from-httpd.md). A different scheme gives 401.
 */
export function decodeBasic(header: string): BasicCredentials {
  const space = header.search(/[ \t]/);
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== 'basic') {
    return { ok: false, status: 401, reason: 'client used wrong authentication scheme' };
  }
  const token = header.slice(scheme.length).replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
  if (!BASE64.test(token) || token.length % 4 === 1) {
    return { ok: false, status: 400, reason: 'malformed Basic credentials: not base64' };
  }
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { ok: false, status: 400, reason: 'malformed Basic credentials: no colon' };
  if (CONTROL.test(decoded)) {
    return { ok: false, status: 400, reason: 'malformed Basic credentials: control characters' };
  }
  return { ok: true, user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Adds `WWW-Authenticate: Basic realm="…"` (set, not appended, as httpd). */
export function noteBasicAuthFailure(req: AuthRequest): void {
  req.responseHeaders.set('WWW-Authenticate', `Basic realm="${quoteParam(authName(req) ?? '')}"`);
}

/**
 * Runs `check` on each provider in order; only `'not-found'` moves on to the next (a wrong
 * password stops the chain, as httpd). An alias runs with its own settings merged in. A provider
 * that throws cannot answer: the error propagates (→ 500).
 */
export async function runProviderChain(
  req: AuthRequest,
  providers: readonly AuthnProviderRef[],
  check: (target: AuthRequest, ref: AuthnProviderRef) => Promise<AuthnResult>,
): Promise<AuthnResult> {
  let result: AuthnResult = 'not-found';
  for (const ref of providers) {
    const target = ref.aliasSettings ? withAliasSettings(req, ref.aliasSettings) : req;
    result = await observeProvider(req, 'authn', ref.name, () => check(target, ref), (answer) => answer);
    if (result !== 'not-found') break;
  }
  return result;
}

/** mod_auth_basic's check_user_id hook. */
async function authenticateBasic(req: AuthRequest): Promise<PhaseResult> {
  const refused = startSchemeCheck(req, 'basic');
  if (refused !== undefined) return refused;
  const header = req.headers['authorization'];
  if (header === undefined) {
    noteBasicAuthFailure(req);
    return 401;
  }
  const credentials = decodeBasic(header);
  if (!credentials.ok) {
    req.log.info({ reason: credentials.reason }, 'Basic credentials refused');
    if (credentials.status === 401) noteBasicAuthFailure(req);
    return credentials.status;
  }
  req.user = credentials.user;
  const settings = req.settings(authBasic);
  const modules = requestConfig(req).registry.modules;
  // Brute-force regulation: a banned user name or address is refused before any provider (the
  // cache included) is asked, with the same answer whether the user exists or not.
  const regulation = findRegulationModule(modules);
  const retryAfter = regulation ? await regulation.bannedFor(req, credentials.user) : 0;
  if (retryAfter > 0) {
    req.log.info({ code: 'REGULATION_BAN', user: credentials.user, path: req.path }, 'refused: too many authentication failures');
    req.responseHeaders.set('Retry-After', String(retryAfter));
    return 429;
  }
  let result: AuthnResult;
  try {
    const chain = settings.providers ?? [defaultProvider(req)];
    const cache = findSocacheModule(modules);
    result = await runProviderChain(req, chain, async (target, ref) => {
      if (cache && ref.provider === cache.provider) {
        // mod_authn_socache: a live entry grants; anything else moves on to the next provider.
        return cache.lookup(req, chain, credentials.user, credentials.password);
      }
      if (!ref.provider.checkPassword) throw new Error(`provider ${ref.name} cannot check passwords`);
      req.log.debug({ provider: ref.name }, 'asking authn provider');
      const answer =
        settings.useDigestAlgorithm === 'MD5'
          ? await checkRealmHash(target, ref, credentials.user, credentials.password)
          : await ref.provider.checkPassword(target, credentials.user, credentials.password);
      // Only a grant is ever cached (never denied, not-found or an error).
      if (answer === 'granted' && cache) await cache.store(req, chain, ref, credentials.user, credentials.password);
      return answer;
    });
  } catch (err) {
    if (settings.authoritative === false) return 'declined';
    req.log.error({ err, user: credentials.user }, 'authn provider could not answer');
    return 500;
  }
  if (result === 'granted') {
    // Not awaited: a success is never slowed by the store.
    if (regulation) void regulation.record(req, credentials.user, true);
    return 'ok';
  }
  if (settings.authoritative === false && result === 'not-found') return 'declined';
  // An unknown user counts as a wrong password does: the ban never tells them apart.
  if (regulation) await regulation.record(req, credentials.user, false);
  req.log.info(
    { user: credentials.user, path: req.path },
    result === 'denied' ? 'authentication failure: Password Mismatch' : 'user not found',
  );
  noteBasicAuthFailure(req);
  return 401;
}

/**
 * `AuthBasicUseDigestAlgorithm MD5`, as mod_auth_basic: `MD5(user:realm:password)`, the realm
 * being `AuthName`, compared with the realm hash the provider keeps for Digest (an htdigest
 * file, `AuthDBDUserRealmQuery`), so that one such source serves Basic and Digest alike. A
 * provider without realm hashes cannot answer (→ 500, as httpd).
 */
async function checkRealmHash(req: AuthRequest, ref: AuthnProviderRef, user: string, password: string): Promise<AuthnResult> {
  if (!ref.provider.getRealmHash) throw new Error(`provider ${ref.name} has no realm hashes for AuthBasicUseDigestAlgorithm MD5`);
  const realm = authName(req) ?? '';
  // Made before the lookup: an unknown user costs what a known one does.
  const sent = realmHash('md5', user, realm, password);
  const stored = await ref.provider.getRealmHash(req, user, realm);
  if (stored === undefined) return 'not-found';
  return sameHex(sent, stored) ? 'granted' : 'denied';
}

/** With no `AuthBasicProvider`, httpd uses `file`. */
function defaultProvider(req: AuthRequest): AuthnProviderRef {
  const provider = requestConfig(req).registry.authnProvider('file');
  if (!provider) throw new Error('no authn provider configured');
  return { name: 'file', provider, aliasSettings: undefined };
}

/** mod_auth_basic: `AuthType Basic`, `AuthBasicProvider`, `AuthBasicAuthoritative`, `AuthBasicUseDigestAlgorithm`. */
export const authBasic: Module<AuthBasicSettings> = {
  name: 'auth_basic',
  createDirSettings: () => ({ providers: undefined, authoritative: undefined, useDigestAlgorithm: undefined }),
  mergeDirSettings: (base, add) => ({
    providers: add.providers ?? base.providers,
    authoritative: add.authoritative ?? base.authoritative,
    useDigestAlgorithm: add.useDigestAlgorithm ?? base.useDigestAlgorithm,
  }),
  authSchemes: [{ name: 'Basic', noteAuthFailure: noteBasicAuthFailure }],
  directives: [
    providerListDirective('AuthBasicProvider', 'Basic', 'checkPassword', (ctx, providers) => {
      ctx.dir(authBasic).providers = providers;
    }),
    onOffDirective('AuthBasicAuthoritative', 'section', (ctx, on) => {
      ctx.dir(authBasic).authoritative = on;
    }),
    {
      name: 'AuthBasicUseDigestAlgorithm',
      context: 'section',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'AuthBasicUseDigestAlgorithm MD5|Off',
      apply(ctx, [value]) {
        const algorithm = (value ?? '').toLowerCase();
        if (algorithm !== 'md5' && algorithm !== 'off') {
          ctx.error('CONFIG_BAD_ARGUMENT', `Invalid algorithm in AuthBasicUseDigestAlgorithm: ${value ?? ''}`, 'use MD5 or Off');
        }
        ctx.dir(authBasic).useDigestAlgorithm = algorithm === 'md5' ? 'MD5' : 'Off';
      },
    },
  ],
  hooks: [{ phase: 'authn', order: 10, handler: authenticateBasic }],
};
