import { onOffDirective, parseChoice } from '../config/args.js';
import type { AuthzProviderRef, DirectiveContext, Module, RequireParseContext } from '../module.js';
import type { AuthRequest } from '../request.js';
import { noteAuthFailure } from '../authn/core.js';
import { authType } from '../authn/core.js';
import { requestConfig } from '../request-state.js';
import { reportTree, treeTraceFor } from '../observe.js';
import { evaluateTree, unionLimited, type AuthzNode, type ContainerNode, type Limited } from './tree.js';

/** mod_authz_core's per-section settings. */
export interface AuthzCoreSettings {
  /** The section's Require tree (an implicit `<RequireAny>`); undefined: no authz directives. */
  tree: ContainerNode | undefined;
  /** `AuthMerging`, when set in this section (never inherited). */
  merging: 'off' | 'and' | 'or' | undefined;
  /** `AuthzSendForbiddenOnFailure`, when set. */
  forbiddenOnFailure: boolean | undefined;
  /** While a `<RequireAll|Any|None>` is being loaded: where its `Require` lines go. Load time only. */
  building?: MutableContainer | undefined;
}

type MutableContainer = { -readonly [K in keyof ContainerNode]: ContainerNode[K] } & { children: AuthzNode[] };

const SECTION_LABEL = '<Directory>, <Location>, or similar';

function emptyContainer(op: 'and' | 'or', negate: boolean, label: string, ctx: DirectiveContext): MutableContainer {
  return { type: 'container', op, negate, limited: [], where: ctx.where, label, children: [] };
}

/** Appends `node` to the container being built, with httpd's check on negation under OR. */
function addToContainer(ctx: DirectiveContext, settings: AuthzCoreSettings, node: AuthzNode, what: string): void {
  let target = settings.building;
  if (!target) {
    target = (settings.tree as MutableContainer | undefined) ?? emptyContainer('or', false, SECTION_LABEL, ctx);
    settings.tree = target;
  }
  if (node.negate && target.op === 'or') {
    ctx.error('CONFIG_BAD_REQUIRE', `negative ${what} directive has no effect in ${target.label} directive`,
      'wrap the negated lines and at least one positive one in <RequireAll>');
  }
  target.limited = unionLimited(target.limited, node.limited);
  target.children.push(node);
}

function limitedHere(ctx: DirectiveContext): Limited {
  return ctx.limit ? [ctx.limit] : 'all';
}

/** Parses `Require [not] provider args` into a node (provider args parsed once, here). */
function parseRequireLine(ctx: DirectiveContext, raw: string): AuthzNode {
  let rest = raw.trim();
  let negate = false;
  let name = firstWord(rest);
  if (name.word.toLowerCase() === 'not') {
    negate = true;
    rest = name.rest;
    name = firstWord(rest);
  }
  if (!name.word) ctx.error('CONFIG_BAD_REQUIRE', 'Require needs a provider name', 'e.g. Require valid-user');
  const ref: AuthzProviderRef | undefined = ctx.authzProvider(name.word);
  if (!ref) return ctx.error('CONFIG_UNKNOWN_PROVIDER', `Unknown Authz provider: ${name.word}`);
  if (ref.aliasArgs !== undefined && name.rest !== '') {
    ctx.warn(`Require ${name.word} is an <AuthzProviderAlias> with fixed arguments; "${name.rest}" is ignored`);
  }
  const args = ref.aliasArgs ?? name.rest;
  const parseCtx: RequireParseContext = { where: ctx.where, error: ctx.error, warn: ctx.warn };
  const parsed = ref.provider.parseRequire(args, parseCtx);
  return {
    type: 'require',
    negate,
    limited: limitedHere(ctx),
    where: ctx.where,
    text: `Require ${raw.trim()}`,
    provider: ref,
    parsed,
  };
}

/** httpd's environment table is case-insensitive; so is the lookup here. */
export function hasEnv(req: AuthRequest, name: string): boolean {
  if (req.env.has(name)) return true;
  const lower = name.toLowerCase();
  for (const key of req.env.keys()) if (key.toLowerCase() === lower) return true;
  return false;
}

function firstWord(text: string): { word: string; rest: string } {
  const m = /^\s*(\S*)\s*([\s\S]*)$/.exec(text)!;
  return { word: m[1]!, rest: m[2]! };
}

/** True when a container holds at least one non-negated line (AH01624 otherwise). */
function hasPositive(node: ContainerNode): boolean {
  return node.children.some((child) => !child.negate);
}

/**
 * mod_authz_core: `Require`, `<RequireAll>`, `<RequireAny>`, `<RequireNone>`, `AuthMerging`,
 * `AuthzSendForbiddenOnFailure`, `<AuthzProviderAlias>`; providers `all`, `env`, `method`; and the
 * two hooks that evaluate the tree — without a user (access_ex) and with one (authz).
 */
export const authzCore: Module<AuthzCoreSettings> = {
  name: 'authz_core',
  createDirSettings: () => ({ tree: undefined, merging: undefined, forbiddenOnFailure: undefined }),
  mergeDirSettings(base, add) {
    let merged: AuthzCoreSettings;
    if (add.merging === undefined && !add.tree && base.tree) {
      merged = { ...base };
    } else if (add.merging === 'off' || add.merging === undefined || !(base.tree || add.tree)) {
      merged = { ...add };
    } else {
      let tree: ContainerNode | undefined;
      if (base.tree && add.tree) {
        tree = {
          type: 'container',
          op: add.merging === 'and' ? 'and' : 'or',
          negate: false,
          limited: unionLimited(base.tree.limited, add.tree.limited),
          where: add.tree.where,
          label: `AuthMerging ${add.merging === 'and' ? 'And' : 'Or'}`,
          children: [base.tree, add.tree],
        };
      } else {
        tree = base.tree ?? add.tree;
      }
      merged = { tree, merging: add.merging, forbiddenOnFailure: undefined };
    }
    merged.forbiddenOnFailure = add.forbiddenOnFailure ?? base.forbiddenOnFailure;
    merged.building = undefined;
    return merged;
  },
  directives: [
    {
      name: 'Require',
      context: 'section',
      minArgs: 1,
      syntax: 'Require [not] entity-name [entity-name] ...',
      apply(ctx, _args, raw) {
        const node = parseRequireLine(ctx, raw);
        addToContainer(ctx, ctx.dir(authzCore), node, 'Require');
      },
    },
    {
      name: 'AuthMerging',
      context: 'section',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'AuthMerging Off|And|Or',
      apply(ctx, [value]) {
        ctx.dir(authzCore).merging = parseChoice(ctx, value!, ['Off', 'And', 'Or']).toLowerCase() as 'off' | 'and' | 'or';
      },
    },
    onOffDirective('AuthzSendForbiddenOnFailure', 'section', (ctx, on) => {
      ctx.dir(authzCore).forbiddenOnFailure = on;
    }),
  ],
  containers: [
    ...(['RequireAll', 'RequireAny', 'RequireNone'] as const).map((name) => ({
      name,
      context: 'section' as const,
      syntax: `<${name}> … </${name}>`,
      apply(ctx: DirectiveContext, node: { args: readonly string[]; children: readonly unknown[] }, applyChildren: (c: any) => void) {
        if (node.args.length > 0) ctx.error('CONFIG_SYNTAX', `<${name}> does not take arguments`);
        const settings = ctx.dir(authzCore);
        const outer = settings.building;
        const container = emptyContainer(name === 'RequireAll' ? 'and' : 'or', name === 'RequireNone', `<${name}>`, ctx);
        settings.building = container;
        try {
          applyChildren(node.children);
        } finally {
          settings.building = outer;
        }
        if (container.children.length === 0) {
          ctx.error('CONFIG_BAD_REQUIRE', `<${name}> directive contains no authorization directives`);
        }
        if (!hasPositive(container)) {
          ctx.error('CONFIG_BAD_REQUIRE', `<${name}> directive contains only negative authorization directives`,
            'add a positive Require line, e.g. Require all granted');
        }
        addToContainer(ctx, settings, container, `<${name}>`);
      },
    })),
    {
      name: 'AuthzProviderAlias',
      context: 'server',
      syntax: '<AuthzProviderAlias baseProvider Alias Require-Parameters>',
      apply(ctx, node, applyChildren) {
        const [base, alias, ...params] = node.args;
        if (!base || !alias) return ctx.error('CONFIG_SYNTAX', '<AuthzProviderAlias> needs a base provider and an alias name');
        if (params.length > 1) ctx.warn('AuthzProviderAlias takes a single Require-Parameters word; the others are ignored (AH10142)');
        const ref = ctx.authzProvider(base);
        if (!ref) return ctx.error('CONFIG_UNKNOWN_PROVIDER', `Unknown Authz provider: ${base}`);
        if (base.toLowerCase() === alias.toLowerCase()) {
          ctx.error('CONFIG_DUPLICATE', 'The alias provider name must be different from the base provider name.');
        }
        const settings = new Map<Module<any, any>, unknown>();
        applyChildren(node.children, settings);
        ctx.defineAuthzAlias(alias, {
          name: alias,
          provider: ref.provider,
          aliasArgs: params[0] ?? '',
          aliasSettings: settings,
        });
      },
    },
  ],
  authzProviders: {
    all: {
      parseRequire(args, ctx) {
        const v = args.trim().toLowerCase();
        if (v !== 'granted' && v !== 'denied') {
          ctx.error('CONFIG_BAD_REQUIRE', "Argument for 'Require all' must be 'granted' or 'denied'");
        }
        return v === 'granted';
      },
      checkAuthorization: (_req, granted: boolean) => (granted ? 'granted' : 'denied'),
    },
    env: {
      parseRequire(args, ctx) {
        const names = args.split(/\s+/).filter(Boolean);
        if (names.length === 0) ctx.error('CONFIG_BAD_REQUIRE', "'Require env' requires at least one variable name");
        return names;
      },
      checkAuthorization: (req, names: string[]) => (names.some((n) => hasEnv(req, n)) ? 'granted' : 'denied'),
    },
    method: {
      parseRequire(args, ctx) {
        const methods = new Set(args.split(/\s+/).filter(Boolean).map((m) => m.toUpperCase()));
        if (methods.size === 0) ctx.error('CONFIG_BAD_REQUIRE', "'Require method' requires at least one method");
        if (methods.has('TRACE')) ctx.error('CONFIG_BAD_REQUIRE', 'TRACE cannot be controlled by Require method');
        if (methods.has('GET')) methods.add('HEAD');
        return methods;
      },
      checkAuthorization: (req, methods: Set<string>) => (methods.has(req.method) ? 'granted' : 'denied'),
    },
  },
  hooks: [
    { phase: 'access_ex', order: 20, handler: authorizeUserless },
    { phase: 'authz', order: 20, handler: authorizeUser },
  ],
};

/**
 * The access_ex pass (`authorize_userless`): evaluate the tree with no user. Granted → allowed
 * without authentication; denied-no-user → declined (authenticate); denied/neutral → 403.
 */
async function authorizeUserless(req: AuthRequest): Promise<'ok' | 'declined' | number> {
  const { tree } = req.settings(authzCore);
  if (!tree) {
    if (authType(req)) {
      req.log.error({ code: 'AUTHTYPE_WITHOUT_REQUIRE' }, 'AuthType configured with no corresponding authorization directives');
      return 500;
    }
    return 'ok';
  }
  // Recorded only for an observer that asks (authts explain); see ../observe.ts.
  const trace = treeTraceFor(req);
  const result = await evaluateTree(req, tree, 'and', trace);
  reportTree(req, 'userless', trace);
  if (result === 'granted') return 'ok';
  if (result === 'denied-no-user') return 'declined';
  if (result === 'error') return 500;
  req.log.info({ path: req.path }, 'client denied by server configuration');
  return 403;
}

/**
 * The authz pass (`authorize_user`), after authentication: denied-no-user → 401 with the
 * challenge; denied/neutral → 401 with the challenge, or 403 with `AuthzSendForbiddenOnFailure
 * On` or without an AuthType.
 */
async function authorizeUser(req: AuthRequest): Promise<'ok' | 'declined' | number> {
  const settings = req.settings(authzCore);
  if (!settings.tree) {
    if (authType(req)) return 500;
    return 'ok';
  }
  const trace = treeTraceFor(req);
  const result = await evaluateTree(req, settings.tree, 'and', trace);
  reportTree(req, 'user', trace);
  if (result === 'granted') return 'ok';
  if (result === 'error') return 500;
  // A scheme with its own answer for an authenticated user who fails (Bearer: 403
  // insufficient_scope, RFC 6750 §3.1) gives it; asking again for credentials cannot help there.
  const type = authType(req);
  const authenticatedBy = req.user !== undefined && type !== undefined && req.authType?.toLowerCase() === type.toLowerCase();
  const scheme = authenticatedBy ? requestConfig(req).registry.authScheme(type) : undefined;
  if (scheme?.authzFailure) return scheme.authzFailure(req);
  if (result === 'denied-no-user') {
    noteAuthFailure(req);
    return 401;
  }
  if (!authType(req)) {
    req.log.info({ path: req.path }, 'client denied by server configuration');
    return 403;
  }
  req.log.info({ user: req.user, path: req.path }, 'authorization failure');
  if (settings.forbiddenOnFailure) return 403;
  noteAuthFailure(req);
  return 401;
}
