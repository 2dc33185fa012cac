import type { AuthnProvider, AuthnProviderRef, DirectiveContext, DirectiveSpec, Module } from '../module.js';
import type { AuthRequest, PhaseResult } from '../request.js';
import { requestConfig } from '../request-state.js';

/** mod_authn_core's per-section settings. */
export interface AuthnCoreSettings {
  /** `AuthType`: a scheme name, `null` for an explicit `AuthType None`, undefined when unset. */
  type: string | null | undefined;
  /** `AuthName`, the realm. */
  name: string | undefined;
}

/** The `AuthType` in force for this request (undefined for none), as `ap_auth_type`. */
export function authType(req: AuthRequest): string | undefined {
  return req.settings(authnCore).type ?? undefined;
}

/** The `AuthName` in force for this request, as `ap_auth_name`. */
export function authName(req: AuthRequest): string | undefined {
  return req.settings(authnCore).name;
}

/**
 * The start every scheme's check_user_id shares (mod_auth_basic, mod_auth_digest, auth_bearer):
 * `'declined'` unless `AuthType` is `scheme` (any case); 500 without `AuthName`; then sets
 * `req.authType` and refuses more than one `Authorization` header with 400 (after
 * `onDuplicate`, where a scheme adds its own challenge). `undefined`: go on.
 *
 * @example
 * ```ts
 * const refused = startSchemeCheck(req, 'basic');
 * if (refused !== undefined) return refused;
 * ```
 */
export function startSchemeCheck(req: AuthRequest, scheme: string, onDuplicate?: () => void): PhaseResult | undefined {
  const type = authType(req);
  if (!type || type.toLowerCase() !== scheme) return 'declined';
  if (authName(req) === undefined) {
    req.log.error({ code: 'AUTHNAME_MISSING' }, 'need AuthName');
    return 500;
  }
  req.authType = type;
  if (req.duplicateAuthorization) {
    req.log.info('refused: more than one Authorization header');
    onDuplicate?.();
    return 400;
  }
  return undefined;
}

/**
 * Adds the challenge of the request's scheme to a 401 answer (`ap_note_auth_failure`).
 * Without an AuthType there is no challenge to send (httpd logs AH00571 and sends none).
 */
export function noteAuthFailure(req: AuthRequest): void {
  const type = authType(req);
  if (!type) {
    req.log.error('need AuthType to note auth failure');
    return;
  }
  requestConfig(req).registry.authScheme(type)?.noteAuthFailure(req);
}

/** Escapes `"` and `\` for a quoted-string header parameter (httpd's `ap_escape_quotes`). */
export function quoteParam(value: string): string {
  return value.replace(/["\\]/g, '\\$&');
}

/**
 * mod_authn_core: `AuthType`, `AuthName`, `<AuthnProviderAlias>`, and the last authn hook that
 * fails a request whose AuthType no scheme handled (500, as httpd's `authenticate_no_user`).
 */
/**
 * `Auth<Scheme>Provider name…` (`AuthBasicProvider`, `AuthBearerProvider`): each name must be a
 * registered authn provider (aliases included) that can do what the scheme asks of it
 * (`checkPassword` for Basic, `checkToken` for Bearer), with httpd's messages otherwise; `set`
 * stores the chain, in order.
 *
 * @example
 * ```ts
 * providerListDirective('AuthBasicProvider', 'Basic', 'checkPassword', (ctx, refs) => {
 *   ctx.dir(authBasic).providers = refs;
 * });
 * ```
 */
export function providerListDirective(
  name: string,
  scheme: string,
  needs: keyof AuthnProvider,
  set: (ctx: DirectiveContext, providers: AuthnProviderRef[]) => void,
): DirectiveSpec {
  return {
    name,
    context: 'section',
    minArgs: 1,
    syntax: `${name} provider-name [provider-name] ...`,
    apply(ctx, args) {
      const refs = args.map((providerName) => {
        const ref = ctx.authnProvider(providerName);
        if (!ref) return ctx.error('CONFIG_UNKNOWN_PROVIDER', `Unknown Authn provider: ${providerName}`);
        if (!ref.provider[needs]) {
          ctx.error('CONFIG_UNKNOWN_PROVIDER', `The '${providerName}' Authn provider doesn't support ${scheme} Authentication`);
        }
        return ref;
      });
      set(ctx, refs);
    },
  };
}

export const authnCore: Module<AuthnCoreSettings> = {
  name: 'authn_core',
  createDirSettings: () => ({ type: undefined, name: undefined }),
  mergeDirSettings: (base, add) => ({
    type: add.type !== undefined ? add.type : base.type,
    name: add.name ?? base.name,
  }),
  directives: [
    {
      name: 'AuthType',
      context: 'section',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'AuthType None|Basic|Digest|Bearer|Form',
      apply(ctx, [value]) {
        if (value!.toLowerCase() === 'none') {
          ctx.dir(authnCore).type = null;
          return;
        }
        const known = ctx.registry.modules.flatMap((m) => (m.authSchemes ?? []).map((s) => s.name));
        const scheme = known.find((s) => s.toLowerCase() === value!.toLowerCase());
        if (!scheme) {
          return ctx.error('CONFIG_BAD_ARGUMENT', `AuthType ${value} is not supported by authts`, `use one of: None, ${known.join(', ')}`);
        }
        ctx.dir(authnCore).type = scheme;
      },
    },
    {
      name: 'AuthName',
      context: 'section',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'AuthName auth-domain',
      apply(ctx, [value]) {
        ctx.dir(authnCore).name = value!;
      },
    },
  ],
  containers: [
    {
      name: 'AuthnProviderAlias',
      context: 'server',
      syntax: '<AuthnProviderAlias baseProvider Alias>',
      apply(ctx, node, applyChildren) {
        const [base, alias, ...extra] = node.args;
        if (!base || !alias || extra.length > 0) {
          return ctx.error('CONFIG_SYNTAX', '<AuthnProviderAlias> takes a base provider and an alias name');
        }
        if (base.toLowerCase() === alias.toLowerCase()) {
          ctx.error('CONFIG_DUPLICATE', 'The alias provider name must be different from the base provider name.');
        }
        const ref = ctx.authnProvider(base);
        if (!ref) return ctx.error('CONFIG_UNKNOWN_PROVIDER', `Unknown Authn provider: ${base}`);
        const settings = new Map<Module<any, any>, unknown>();
        applyChildren(node.children, settings);
        ctx.defineAuthnAlias(alias, { name: alias, provider: ref.provider, aliasSettings: settings });
      },
    },
  ],
  hooks: [
    {
      phase: 'authn',
      order: 20,
      handler(req) {
        const type = authType(req);
        if (!type) return 'ok';
        req.log.error({ code: 'AUTHTYPE_UNHANDLED', authType: type }, 'AuthType configured without corresponding module');
        return 500;
      },
    },
  ],
};
