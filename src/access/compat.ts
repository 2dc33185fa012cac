import { parseChoice } from '../config/args.js';
import { methodInLimit, type DirectiveContext, type MethodLimit, type Module } from '../module.js';
import type { AuthRequest } from '../request.js';
import { hasEnv } from '../authz/core.js';
import { inDomain, remoteHostName } from '../authz/host.js';
import { parseAddress, parseSubnet, subnetContains, type IpSubnet } from '../expr/ipsubnet.js';

/** One `Allow from` / `Deny from` entry. */
type Rule =
  | { readonly type: 'all' }
  | { readonly type: 'env'; readonly name: string; readonly negate: boolean }
  | { readonly type: 'ip'; readonly subnet: IpSubnet }
  | { readonly type: 'host'; readonly name: string };

interface LimitedValue<T> {
  readonly limit: MethodLimit | undefined;
  readonly value: T;
}

type Order = 'deny,allow' | 'allow,deny' | 'mutual-failure';

/** mod_access_compat's per-section settings. */
export interface AccessCompatSettings {
  orders: LimitedValue<Order>[];
  allows: LimitedValue<Rule>[];
  denies: LimitedValue<Rule>[];
  satisfies: LimitedValue<'any' | 'all'>[];
}

function lastFor<T>(list: readonly LimitedValue<T>[], method: string): T | undefined {
  for (let i = list.length - 1; i >= 0; i--) {
    const entry = list[i]!;
    if (methodInLimit(entry.limit, method)) return entry.value;
  }
  return undefined;
}

/** `Satisfy` for this request's method (`all` unless set). */
export function satisfyFor(req: AuthRequest): 'any' | 'all' {
  return lastFor(req.settings(accessCompat).satisfies, req.method) ?? 'all';
}

async function ruleMatches(req: AuthRequest, rule: Rule): Promise<boolean> {
  switch (rule.type) {
    case 'all':
      return true;
    case 'env':
      return hasEnv(req, rule.name) !== rule.negate;
    case 'ip': {
      const addr = parseAddress(req.remoteAddress);
      return addr !== undefined && subnetContains(rule.subnet, addr);
    }
    case 'host': {
      // Host names need double-reverse DNS, as httpd's `Allow from name`.
      const host = await remoteHostName(req);
      return host !== undefined && inDomain(rule.name, host);
    }
  }
}

async function anyMatches(req: AuthRequest, rules: readonly LimitedValue<Rule>[]): Promise<boolean> {
  for (const entry of rules) {
    if (methodInLimit(entry.limit, req.method) && (await ruleMatches(req, entry.value))) return true;
  }
  return false;
}

/** mod_access_compat's access hook (`check_dir_access`): 'ok' or 403. */
async function checkDirAccess(req: AuthRequest): Promise<'ok' | number> {
  const settings = req.settings(accessCompat);
  if (settings.allows.length === 0 && settings.denies.length === 0 && settings.orders.length === 0) return 'ok';
  const order = lastFor(settings.orders, req.method) ?? 'deny,allow';
  let allowed: boolean;
  if (order === 'allow,deny') {
    allowed = (await anyMatches(req, settings.allows)) && !(await anyMatches(req, settings.denies));
  } else if (order === 'deny,allow') {
    allowed = !(await anyMatches(req, settings.denies)) || (await anyMatches(req, settings.allows));
  } else {
    allowed = (await anyMatches(req, settings.allows)) && !(await anyMatches(req, settings.denies));
  }
  if (allowed) return 'ok';
  req.log.info({ path: req.path }, 'client denied by server configuration');
  return 403;
}

function parseRules(ctx: DirectiveContext, args: readonly string[]): Rule[] {
  if (args[0]?.toLowerCase() !== 'from' || args.length < 2) {
    ctx.error('CONFIG_SYNTAX', `${ctx.name} must be followed by 'from'`, `syntax: ${ctx.name} from all|host|ip|env=[!]var ...`);
  }
  return args.slice(1).map((word): Rule => {
    const lower = word.toLowerCase();
    if (lower === 'all') return { type: 'all' };
    if (lower.startsWith('env=')) {
      const name = word.slice(4);
      const negate = name.startsWith('!');
      const bare = negate ? name.slice(1) : name;
      if (!bare) ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name}: env= needs a variable name`);
      return { type: 'env', name: bare, negate };
    }
    const slash = word.indexOf('/');
    const subnet = slash < 0 ? parseSubnet(word, undefined) : parseSubnet(word.slice(0, slash), word.slice(slash + 1));
    if (typeof subnet !== 'string') return { type: 'ip', subnet };
    if (subnet !== 'not-ip' || slash >= 0) {
      return ctx.error('CONFIG_BAD_ARGUMENT', `An IP address '${word}' appears to be invalid`);
    }
    return { type: 'host', name: word.toLowerCase() };
  });
}

/**
 * mod_access_compat: `Order`, `Allow`, `Deny`, `Satisfy` (httpd 2.2-style host access control,
 * still found in many configs). A section that uses any of these directives inherits none of
 * them from outer sections, as httpd documents.
 */
export const accessCompat: Module<AccessCompatSettings> = {
  name: 'access_compat',
  createDirSettings: () => ({ orders: [], allows: [], denies: [], satisfies: [] }),
  // Whole-module replacement: httpd's module has no merge function.
  mergeDirSettings: (_base, add) => add,
  directives: [
    {
      name: 'Order',
      context: 'section',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'Order Deny,Allow|Allow,Deny|Mutual-failure',
      apply(ctx, [value]) {
        const order = parseChoice(ctx, value!, ['Deny,Allow', 'Allow,Deny', 'Mutual-failure']).toLowerCase() as Order;
        ctx.dir(accessCompat).orders.push({ limit: ctx.limit, value: order });
      },
    },
    {
      name: 'Allow',
      context: 'section',
      minArgs: 2,
      syntax: 'Allow from all|host|ip|env=[!]var ...',
      apply(ctx, args) {
        const settings = ctx.dir(accessCompat);
        for (const rule of parseRules(ctx, args)) settings.allows.push({ limit: ctx.limit, value: rule });
      },
    },
    {
      name: 'Deny',
      context: 'section',
      minArgs: 2,
      syntax: 'Deny from all|host|ip|env=[!]var ...',
      apply(ctx, args) {
        const settings = ctx.dir(accessCompat);
        for (const rule of parseRules(ctx, args)) settings.denies.push({ limit: ctx.limit, value: rule });
      },
    },
    {
      name: 'Satisfy',
      context: 'section',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'Satisfy Any|All',
      apply(ctx, [value]) {
        const satisfy = parseChoice(ctx, value!, ['Any', 'All']).toLowerCase() as 'any' | 'all';
        ctx.dir(accessCompat).satisfies.push({ limit: ctx.limit, value: satisfy });
      },
    },
  ],
  hooks: [{ phase: 'access', order: 10, handler: checkDirAccess }],
};
