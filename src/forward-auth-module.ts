/**
 * The directives of forward-auth (`authts serve` answering nginx `auth_request`, Traefik
 * ForwardAuth, Caddy `forward_auth` and Envoy `ext_authz`): `AuthTsForwardAuth`,
 * `AuthTsTrustedProxy` and `AuthTsForwardAuthHeader`. What the endpoint does with them is in
 * src/server/forward-auth.ts; docs/forward-auth.md describes both.
 */
import ipaddr from 'ipaddr.js';
import type { SourceLocation } from './errors.js';
import type { Module } from './module.js';
import { normalizeRequestTarget } from './server/paths.js';

/** One `AuthTsTrustedProxy` entry: an address or a CIDR range. */
export interface TrustedProxy {
  /** As written in the configuration (for logs and errors). */
  readonly text: string;
  readonly range: [ipaddr.IPv4 | ipaddr.IPv6, number];
}

/** The identity headers of a 2xx answer; `undefined` = not sent (`off`). */
export interface IdentityHeaderNames {
  user: string | undefined;
  groups: string | undefined;
  email: string | undefined;
}

/** Which identity header `AuthTsForwardAuthHeader` names. */
export type IdentityHeaderKind = keyof IdentityHeaderNames;

/** Server-wide settings of the `forward_auth` module. */
export interface ForwardAuthSettings {
  /** The `AuthTsForwardAuth` URL path (no trailing slash), or `undefined`: no endpoint. */
  path: string | undefined;
  /** Where `AuthTsForwardAuth` was written (for the cross-directive check). */
  where: SourceLocation | undefined;
  /** Every `AuthTsTrustedProxy` entry, in configuration order. */
  trustedProxies: TrustedProxy[];
  headers: IdentityHeaderNames;
  /** Where each `AuthTsForwardAuthHeader` was written. */
  headerWhere: Partial<Record<IdentityHeaderKind, SourceLocation>>;
}

/** The identity header names used when no `AuthTsForwardAuthHeader` says otherwise (Authelia's). */
export const DEFAULT_IDENTITY_HEADERS: Readonly<IdentityHeaderNames> = Object.freeze({
  user: 'Remote-User',
  groups: 'Remote-Groups',
  email: 'Remote-Email',
});

/** RFC 9110 `token`: what a header name may be made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Headers an identity header must not be: the ones that frame or route the message, and the
 * ones forward-auth reads itself (an answer carrying one of them would be misread by a proxy).
 */
const RESERVED_HEADERS = new Set([
  'connection',
  'content-length',
  'content-type',
  'host',
  'keep-alive',
  'location',
  'proxy-authenticate',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'www-authenticate',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-method',
  'x-forwarded-proto',
  'x-forwarded-uri',
  'x-original-method',
  'x-original-uri',
]);

/**
 * Parses one `AuthTsTrustedProxy` word: an IPv4 address in four-part decimal, an IPv6 address,
 * or either with `/prefix-length`. Host names are refused (mod_remoteip resolves them once at
 * startup; a name that later moves would silently trust someone else).
 *
 * @example
 * ```ts
 * parseTrustedProxy('10.0.0.0/8');   // { text: '10.0.0.0/8', range: [IPv4 10.0.0.0, 8] }
 * parseTrustedProxy('::1');          // { text: '::1', range: [IPv6 ::1, 128] }
 * parseTrustedProxy('proxy.local');  // undefined
 * ```
 */
export function parseTrustedProxy(text: string): TrustedProxy | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const bits = slash < 0 ? undefined : text.slice(slash + 1);
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) parsed = ipaddr.IPv4.parse(address);
  else if (ipaddr.IPv6.isValid(address) && !address.includes('%')) parsed = ipaddr.IPv6.parse(address);
  else return undefined;
  // An IPv4-mapped IPv6 range would never match: client addresses are compared in IPv4 form.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) return undefined;
  const max = parsed.kind() === 'ipv4' ? 32 : 128;
  let prefix = max;
  if (bits !== undefined) {
    if (!/^\d{1,3}$/.test(bits)) return undefined;
    prefix = Number(bits);
    if (prefix > max) return undefined;
  }
  return { text, range: [parsed, prefix] };
}

/**
 * Creates the `forward_auth` module. Its directives are server-level only: one endpoint per
 * server, and trust is a property of the network, not of a URL.
 *
 * - `AuthTsForwardAuth url-path`: answer forward-auth requests at `url-path` (and, for Envoy,
 *   below it). The path must be normalized (what `normalizeRequestTarget` leaves unchanged),
 *   must not be `/` and has no trailing slash.
 * - `AuthTsTrustedProxy address|cidr …`: the peers allowed to ask (repeatable, adds up).
 * - `AuthTsForwardAuthHeader user|groups|email header-name|off`: rename or drop an identity header.
 *
 * `AuthTsForwardAuth` without any `AuthTsTrustedProxy` is a configuration error: nobody could
 * ask, and a silent "403 for everyone" is worse than a refusal to start.
 *
 * @example
 * ```ts
 * const config = await loadConfig({
 *   text: 'Listen 127.0.0.1:9091\nAuthTsForwardAuth /_authts\nAuthTsTrustedProxy 127.0.0.1 ::1\n',
 *   modules: builtinModules(),
 * });
 * config.serverSettings(forwardAuth).path; // '/_authts'
 * ```
 */
export function createForwardAuthModule(): Module<unknown, ForwardAuthSettings> {
  const module: Module<unknown, ForwardAuthSettings> = {
    name: 'forward_auth',
    createServerSettings: () => ({
      path: undefined,
      where: undefined,
      trustedProxies: [],
      headers: { ...DEFAULT_IDENTITY_HEADERS },
      headerWhere: {},
    }),
    directives: [
      {
        name: 'AuthTsForwardAuth',
        context: 'server',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthTsForwardAuth url-path',
        apply(ctx, [value]) {
          const path = value ?? '';
          const settings = ctx.server(module);
          if (settings.path !== undefined) {
            ctx.error('CONFIG_DUPLICATE', `AuthTsForwardAuth is already set to ${settings.path}`, 'give one AuthTsForwardAuth line');
          }
          const target = path.includes('?') ? undefined : normalizeRequestTarget(path);
          if (!path.startsWith('/') || target === undefined || !target.ok || target.path !== path) {
            ctx.error('CONFIG_BAD_ARGUMENT', `AuthTsForwardAuth path must be a normalized URL path, got ${JSON.stringify(path)}`, 'e.g. AuthTsForwardAuth /_authts');
          }
          if (path === '/' || path.endsWith('/')) {
            ctx.error('CONFIG_BAD_ARGUMENT', `AuthTsForwardAuth path must not end with "/": ${path}`, 'e.g. AuthTsForwardAuth /_authts');
          }
          settings.path = path;
          settings.where = ctx.where;
        },
      },
      {
        name: 'AuthTsTrustedProxy',
        context: 'server',
        minArgs: 1,
        syntax: 'AuthTsTrustedProxy address|address/prefix-length ...',
        apply(ctx, args) {
          for (const word of args) {
            const proxy = parseTrustedProxy(word);
            if (!proxy) {
              return ctx.error(
                'CONFIG_BAD_ARGUMENT',
                `AuthTsTrustedProxy: ${JSON.stringify(word)} is not an IP address or CIDR range`,
                'e.g. AuthTsTrustedProxy 127.0.0.1 ::1 10.0.0.0/8 (host names are not resolved)',
              );
            }
            ctx.server(module).trustedProxies.push(proxy);
          }
        },
      },
      {
        name: 'AuthTsForwardAuthHeader',
        context: 'server',
        minArgs: 2,
        maxArgs: 2,
        syntax: 'AuthTsForwardAuthHeader user|groups|email header-name|off',
        apply(ctx, [kindWord, name]) {
          const kind = (kindWord ?? '').toLowerCase();
          if (kind !== 'user' && kind !== 'groups' && kind !== 'email') {
            return ctx.error('CONFIG_BAD_ARGUMENT', `AuthTsForwardAuthHeader must name user, groups or email, got ${JSON.stringify(kindWord)}`);
          }
          const header = name ?? '';
          const off = header.toLowerCase() === 'off';
          if (!off && (!TOKEN.test(header) || RESERVED_HEADERS.has(header.toLowerCase()))) {
            ctx.error(
              'CONFIG_BAD_ARGUMENT',
              `AuthTsForwardAuthHeader: ${JSON.stringify(header)} cannot be an identity header`,
              'use a header name of your own, e.g. X-Remote-User, or off',
            );
          }
          const settings = ctx.server(module);
          settings.headers[kind] = off ? undefined : header;
          settings.headerWhere[kind] = ctx.where;
        },
      },
    ],
    checkConfig(view) {
      const settings = view.serverSettings(module);
      if (settings.path !== undefined && settings.where !== undefined && settings.trustedProxies.length === 0) {
        view.error(
          settings.where,
          'AuthTsForwardAuth',
          'CONFIG_BAD_ARGUMENT',
          'AuthTsForwardAuth needs at least one AuthTsTrustedProxy: only the proxies listed there may ask',
          'e.g. AuthTsTrustedProxy 127.0.0.1 ::1 when nginx runs on the same host',
        );
      }
      const seen = new Map<string, IdentityHeaderKind>();
      for (const kind of ['user', 'groups', 'email'] as const) {
        const header = settings.headers[kind];
        if (header === undefined) continue;
        const other = seen.get(header.toLowerCase());
        const where = settings.headerWhere[kind] ?? settings.headerWhere[other ?? kind];
        if (other !== undefined && where !== undefined) {
          view.error(where, 'AuthTsForwardAuthHeader', 'CONFIG_DUPLICATE', `${header} is already the ${other} header`, 'give each identity its own header');
        }
        seen.set(header.toLowerCase(), kind);
      }
    },
  };
  return module;
}

/**
 * The built-in `forward_auth` module (registered by `builtinModules()`).
 *
 * @example
 * ```ts
 * const { path, trustedProxies } = engine.config.serverSettings(forwardAuth);
 * ```
 */
export const forwardAuth: Module<unknown, ForwardAuthSettings> = createForwardAuthModule();
