/**
 * mod_authz_host: `Require ip`, `Require host`, `Require forward-dns`, `Require local`. All four
 * answer granted or denied, never denied-no-user: they do not depend on a user.
 */
import * as dns from 'node:dns/promises';
import { isIP } from 'node:net';
import type { StringExprAst } from '../expr/ast.js';
import { requestExprContext } from '../expr/context.js';
import { evaluateStringExpr } from '../expr/evaluate.js';
import { parseAddress, parseSubnet, sameAddress, SUBNET_ERROR_TEXT, subnetContains, type IpSubnet } from '../expr/ipsubnet.js';
import { parseStringExpr } from '../expr/parse.js';
import { ExprSyntaxError } from '../expr/syntax-error.js';
import type { AuthzProvider, AuthzResult, Module, RequireParseContext } from '../module.js';
import { getWordConf } from '../providers/getword.js';
import type { AuthRequest } from '../request.js';

/**
 * The DNS lookups `Require host` and `Require forward-dns` make, as httpd makes them through the
 * system resolver (so `/etc/hosts` counts).
 */
export interface HostResolver {
  /** The host name of an address (`getnameinfo` with `NI_NAMEREQD`); rejects when there is none. */
  reverse(address: string): Promise<string>;
  /** Every address of a host name (`getaddrinfo`); rejects when it has none. */
  lookup(name: string): Promise<readonly string[]>;
}

/**
 * {@link HostResolver} through `node:dns` (`lookupService` and `lookup`, i.e. getnameinfo/getaddrinfo).
 * @example `await systemResolver.lookup('localhost')` → `['127.0.0.1']`
 */
export const systemResolver: HostResolver = {
  async reverse(address) {
    return (await dns.lookupService(address, 0)).hostname;
  },
  async lookup(name) {
    return (await dns.lookup(name, { all: true, verbatim: true })).map((entry) => entry.address);
  },
};

/** Options of {@link createAuthzHost}. */
export interface AuthzHostOptions {
  /** Where DNS answers come from (default {@link systemResolver}). */
  readonly resolver?: HostResolver;
}

/** A parsed `Require host` / `Require forward-dns` line: a string expression giving the names. */
export interface HostNames {
  readonly expr: StringExprAst;
  /** The line as written, for log messages. */
  readonly line: string;
}

/** The note (per request) that caches the double-reverse lookup, as httpd caches it per connection. */
const REMOTE_HOST_NOTE = 'authz_host:remote-host';

const LOOPBACK_V4 = parseSubnet('127.0.0.0', '8') as IpSubnet;
const LOOPBACK_V6 = parseSubnet('::1', '128') as IpSubnet;

/**
 * mod_authz_host with its own resolver (tests pass a fake one).
 *
 * @example
 * ```ts
 * const module = createAuthzHost({ resolver: { reverse: async () => 'a.example.org', lookup: async () => ['192.0.2.1'] } });
 * ```
 */
export function createAuthzHost(options: AuthzHostOptions = {}): Module {
  if (options === null || typeof options !== 'object') throw new TypeError('createAuthzHost: options must be an object');
  const resolver = options.resolver ?? systemResolver;
  if (typeof resolver.reverse !== 'function' || typeof resolver.lookup !== 'function') {
    throw new TypeError('createAuthzHost: options.resolver needs reverse() and lookup() functions');
  }
  return {
    name: 'authz_host',
    authzProviders: {
      ip: ipProvider,
      host: hostProvider(resolver),
      'forward-dns': forwardDnsProvider(resolver),
      local: localProvider,
    },
  };
}

/**
 * `Require ip 10.1 192.168.0.0/16 10.0.0.0/255.0.0.0 2001:db8::/32 …`: the client address
 * (IPv4-mapped IPv6 counts as IPv4) is in one of the subnets. Subnets are parsed at load with
 * httpd's rules and messages (`'require ip' requires an argument`,
 * `ip address '%s' appears to be invalid`).
 *
 * @example
 * ```apache
 * Require ip 10.1 192.168.0.0/16 172.16.0.0/255.240.0.0 2001:db8::/32
 * ```
 */
export const ipProvider: AuthzProvider<readonly IpSubnet[]> = {
  parseRequire(args, ctx) {
    const subnets: IpSubnet[] = [];
    for (const word of confWords(args)) {
      const slash = word.indexOf('/');
      const subnet = slash < 0 ? parseSubnet(word, undefined) : parseSubnet(word.slice(0, slash), word.slice(slash + 1));
      if (typeof subnet === 'string') {
        // APR_EINVAL ("looked nothing like an IP address") has no detail; the others do.
        const detail = subnet === 'not-ip' ? '' : `: ${SUBNET_ERROR_TEXT[subnet]}`;
        return ctx.error('CONFIG_BAD_REQUIRE', `ip address '${word}' appears to be invalid${detail}`);
      }
      subnets.push(subnet);
    }
    if (subnets.length === 0) ctx.error('CONFIG_BAD_REQUIRE', "'require ip' requires an argument");
    return Object.freeze(subnets);
  },
  checkAuthorization(req, subnets) {
    const addr = parseAddress(req.remoteAddress);
    if (addr) for (const subnet of subnets) if (subnetContains(subnet, addr)) return 'granted';
    return 'denied';
  },
};

/**
 * `Require local`: the client is 127.0.0.0/8 or ::1, or connects from the address it connects
 * to. Arguments are ignored, as httpd ignores them.
 *
 * @example
 * ```apache
 * Require local
 * ```
 */
export const localProvider: AuthzProvider<null> = {
  parseRequire(args, ctx) {
    if (args.trim() !== '') ctx.warn(`'Require local' takes no arguments; "${args.trim()}" is ignored`);
    return null;
  },
  checkAuthorization(req) {
    const remote = parseAddress(req.remoteAddress);
    if (!remote) return 'denied';
    if (subnetContains(LOOPBACK_V4, remote) || subnetContains(LOOPBACK_V6, remote)) return 'granted';
    const local = parseAddress(req.localAddress);
    return local !== undefined && sameAddress(local, remote) ? 'granted' : 'denied';
  },
};

/**
 * `Require host name…`: double-reverse DNS — the client address's host name, which must
 * resolve back to that address — ends with one of the names on a label boundary
 * (`example.org` matches `a.example.org` and `example.org`, not `badexample.org`), compared
 * case-insensitively. Any failed lookup is denied. The names are a string expression
 * (`%{…}` allowed), evaluated per request.
 *
 * @example
 * ```apache
 * Require host example.org .corp.example.net
 * ```
 */
export function hostProvider(resolver: HostResolver): AuthzProvider<HostNames> {
  return {
    parseRequire: (args, ctx) => parseNames('host', args, ctx),
    async checkAuthorization(req, parsed) {
      const names = evaluateNames('host', req, parsed);
      if (names.length === 0) return 'denied';
      const remoteHost = await remoteHostName(req, resolver);
      if (remoteHost === undefined) {
        req.log.debug(`authz_host: access check of '${parsed.line}' to ${req.path} failed, reason: unable to get the remote host name`);
        return 'denied';
      }
      for (const name of names) if (inDomain(name, remoteHost)) return 'granted';
      return 'denied';
    },
  };
}

/**
 * `Require forward-dns name…`: one of the names resolves to the client address. A name that
 * does not resolve is skipped (and logged). The names are a string expression, as for `host`.
 *
 * @example
 * ```apache
 * Require forward-dns home.dyndns.example.org
 * ```
 */
export function forwardDnsProvider(resolver: HostResolver): AuthzProvider<HostNames> {
  return {
    parseRequire: (args, ctx) => parseNames('forward-dns', args, ctx),
    async checkAuthorization(req, parsed): Promise<AuthzResult> {
      const client = parseAddress(req.remoteAddress);
      if (!client) return 'denied';
      for (const name of evaluateNames('forward-dns', req, parsed)) {
        let addresses: readonly string[];
        try {
          addresses = await resolver.lookup(name);
        } catch {
          req.log.warn(`authz_host: No sockaddr info for "${name}"`);
          continue;
        }
        for (const address of addresses) {
          const addr = parseAddress(address);
          if (addr && sameAddress(addr, client)) return 'granted';
        }
      }
      return 'denied';
    },
  };
}

/**
 * httpd's `in_domain`: `host` ends with `domain` (any case), and the match starts at a label
 * boundary (or `domain` starts with a dot).
 *
 * @example
 * ```ts
 * inDomain('example.org', 'a.example.org'); // true
 * inDomain('example.org', 'badexample.org'); // false
 * ```
 */
export function inDomain(domain: string, host: string): boolean {
  const dl = domain.length;
  const wl = host.length;
  if (wl < dl) return false;
  if (host.slice(wl - dl).toLowerCase() !== domain.toLowerCase()) return false;
  return wl === dl || domain.startsWith('.') || host[wl - dl - 1] === '.';
}

/** mod_authz_host with the system resolver, as registered by default. @example `builtinModules()` includes it. */
export const authzHost: Module = createAuthzHost();

/** httpd's loop `while ((w = ap_getword_conf(…)) && w[0])`: the words up to the first empty one. */
function confWords(text: string): string[] {
  const words: string[] = [];
  let rest = text;
  for (;;) {
    const { word, rest: after } = getWordConf(rest);
    if (word === '') return words;
    words.push(word);
    rest = after;
  }
}

function parseNames(provider: string, args: string, ctx: RequireParseContext): HostNames {
  let expr: StringExprAst;
  try {
    expr = parseStringExpr(args);
  } catch (err) {
    if (err instanceof ExprSyntaxError) {
      return ctx.error('CONFIG_BAD_EXPR', `Cannot parse expression in require line: ${err.message}`);
    }
    throw err;
  }
  if (args.includes('#')) {
    ctx.warn(`'Require ${provider}': text after '#' is a comment and is ignored`);
  }
  return Object.freeze({ expr, line: `Require ${provider} ${args}` });
}

/**
 * Evaluates the names; an evaluation error denies (logged), as httpd's AH02593/AH03354. Text
 * from a `#` on is a comment; a line that is only a comment names nothing.
 */
function evaluateNames(provider: string, req: AuthRequest, parsed: HostNames): string[] {
  let text: string;
  try {
    text = evaluateStringExpr(parsed.expr, requestExprContext(req));
  } catch (err) {
    req.log.error(`authz_host: ${provider}: Can't evaluate require expression: ${(err as Error).message}`);
    return [];
  }
  const hash = text.indexOf('#');
  if (hash >= 0) {
    if (text.slice(0, hash).trim() === '') {
      req.log.error(`authz_host authorize: dubious empty '${parsed.line}' with only comment`);
      return [];
    }
    req.log.warn(`authz_host authorize: ignoring comment in '${parsed.line}'`);
    text = text.slice(0, hash);
  }
  return confWords(text);
}

/**
 * The client's double-reverse host name (lower case), as httpd's `REMOTE_DOUBLE_REV`: undefined
 * when the reverse lookup fails, gives an address, or the name does not resolve back to the
 * client. Looked up once per request (kept in `req.notes`), shared by every `Require host` line
 * and `Allow from host` rule.
 *
 * @example
 * ```ts
 * const host = await remoteHostName(req); // 'localhost' for 127.0.0.1 on most systems
 * const ok = host !== undefined && inDomain('example.org', host);
 * ```
 */
export function remoteHostName(req: AuthRequest, resolver: HostResolver = systemResolver): Promise<string | undefined> {
  const cached = req.notes.get(REMOTE_HOST_NOTE) as Promise<string | undefined> | undefined;
  if (cached) return cached;
  const pending = lookupDoubleReverse(req.remoteAddress, resolver);
  req.notes.set(REMOTE_HOST_NOTE, pending);
  return pending;
}

async function lookupDoubleReverse(address: string, resolver: HostResolver): Promise<string | undefined> {
  const client = parseAddress(address);
  if (!client) return undefined;
  let name: string;
  let addresses: readonly string[];
  // An IPv4-mapped address is looked up as the IPv4 address it is.
  const query = client.family === 4 && address.includes(':') ? dotted(client.words[0]) : address;
  try {
    name = await resolver.reverse(query);
    if (!name || isIP(name) !== 0) return undefined;
    addresses = await resolver.lookup(name);
  } catch {
    return undefined;
  }
  for (const candidate of addresses) {
    const addr = parseAddress(candidate);
    if (addr && sameAddress(addr, client)) return name.toLowerCase();
  }
  return undefined;
}

function dotted(v4: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 0xff}.${(v4 >>> 8) & 0xff}.${v4 & 0xff}`;
}
