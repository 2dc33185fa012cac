import type {
  AuthScheme,
  AuthnProvider,
  AuthzProvider,
  ContainerSpec,
  ContentHandler,
  DirectiveSpec,
  HookPhase,
  HookSpec,
  Module,
} from './module.js';

/** A directive together with the module that owns it. */
export interface OwnedDirective {
  readonly module: Module<any, any>;
  readonly spec: DirectiveSpec;
}

/** A container directive together with the module that owns it. */
export interface OwnedContainer {
  readonly module: Module<any, any>;
  readonly spec: ContainerSpec;
}

/**
 * Every module of one configuration, indexed: directives and containers by lower-cased name,
 * providers by name, hooks by phase in run order. Registering a second module, directive or
 * provider under a name already taken is an error (a `TypeError`: it is a programming mistake).
 */
export class Registry {
  readonly modules: readonly Module<any, any>[];
  readonly #directives = new Map<string, OwnedDirective>();
  readonly #containers = new Map<string, OwnedContainer>();
  readonly #authn = new Map<string, AuthnProvider>();
  readonly #authz = new Map<string, AuthzProvider>();
  readonly #hooks = new Map<HookPhase, HookSpec[]>();
  readonly #schemes = new Map<string, AuthScheme>();
  readonly #contentHandlers = new Map<string, ContentHandler>();

  constructor(modules: readonly Module<any, any>[]) {
    const names = new Set<string>();
    for (const module of modules) {
      if (names.has(module.name)) throw new TypeError(`module "${module.name}" is registered twice`);
      names.add(module.name);
      for (const spec of module.directives ?? []) {
        addOnce(this.#directives, spec.name.toLowerCase(), { module, spec }, `directive ${spec.name}`);
      }
      for (const spec of module.containers ?? []) {
        addOnce(this.#containers, spec.name.toLowerCase(), { module, spec }, `container <${spec.name}>`);
      }
      for (const [name, provider] of Object.entries(module.authnProviders ?? {})) {
        addOnce(this.#authn, name.toLowerCase(), provider, `authn provider "${name}"`);
      }
      for (const [name, provider] of Object.entries(module.authzProviders ?? {})) {
        addOnce(this.#authz, name.toLowerCase(), provider, `authz provider "${name}"`);
      }
      for (const scheme of module.authSchemes ?? []) {
        addOnce(this.#schemes, scheme.name.toLowerCase(), scheme, `AuthType ${scheme.name}`);
      }
      for (const handler of module.contentHandlers ?? []) {
        addOnce(this.#contentHandlers, handler.name.toLowerCase(), handler, `content handler "${handler.name}"`);
      }
      for (const hook of module.hooks ?? []) {
        const list = this.#hooks.get(hook.phase) ?? [];
        list.push(hook);
        this.#hooks.set(hook.phase, list);
      }
    }
    // Stable sort: equal orders keep module registration order, as httpd's hook sorting does.
    for (const list of this.#hooks.values()) list.sort((a, b) => a.order - b.order);
    this.modules = Object.freeze([...modules]);
  }

  directive(name: string): OwnedDirective | undefined {
    return this.#directives.get(name.toLowerCase());
  }

  container(name: string): OwnedContainer | undefined {
    return this.#containers.get(name.toLowerCase());
  }

  authnProvider(name: string): AuthnProvider | undefined {
    return this.#authn.get(name.toLowerCase());
  }

  authzProvider(name: string): AuthzProvider | undefined {
    return this.#authz.get(name.toLowerCase());
  }

  /** The scheme `AuthType name` selects (case-insensitive), or undefined. */
  authScheme(name: string): AuthScheme | undefined {
    return this.#schemes.get(name.toLowerCase());
  }

  /** Every registered scheme name. */
  authSchemeNames(): string[] {
    return [...this.#schemes.values()].map((s) => s.name);
  }

  /** The content handler `SetHandler name` selects (case-insensitive), or undefined. */
  contentHandler(name: string): ContentHandler | undefined {
    return this.#contentHandlers.get(name.toLowerCase());
  }

  /** The hooks of `phase`, in the order they run. */
  hooks(phase: HookPhase): readonly HookSpec[] {
    return this.#hooks.get(phase) ?? [];
  }

  /** Every directive and container name, as spelled by its module (for "did you mean"). */
  names(): string[] {
    return [
      ...[...this.#directives.values()].map((d) => d.spec.name),
      ...[...this.#containers.values()].map((c) => `<${c.spec.name}>`),
    ];
  }
}

function addOnce<V>(map: Map<string, V>, key: string, value: V, what: string): void {
  if (map.has(key)) throw new TypeError(`${what} is registered twice`);
  map.set(key, value);
}
