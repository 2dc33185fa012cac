import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { ConfigError, ConfigErrors, type ConfigErrorCode, type SourceLocation } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type {
  AuthnProviderRef,
  AuthzProviderRef,
  DirectiveContext,
  MethodLimit,
  Module,
} from '../module.js';
import { Registry } from '../registry.js';
import { Config, type ConfigWarning } from './config.js';
import { harmlessDirectives, knownHttpdModules, suggestDirective } from './known.js';
import type { ConfigNode, DirectiveNode, SectionNode } from './nodes.js';
import { parseConfigFile, parseConfigText } from './parse.js';
import { hasWildcard } from './include.js';
import { pathComponents, type Section, type SectionKind } from './sections.js';

/** Where the configuration comes from and what it may use. */
export interface LoadOptions {
  /** Path of the main configuration file. Exactly one of `file` and `text`. */
  readonly file?: string;
  /** Configuration text; `textName` names it in messages (default `<config>`). */
  readonly text?: string;
  readonly textName?: string;
  /** Every module the configuration may use, built-ins and user modules alike. */
  readonly modules: readonly Module<any, any>[];
  /** Base for relative paths; default: the main file's directory (the working directory for text). */
  readonly serverRoot?: string;
  /** `-D NAME` defines, as `httpd -D` (an `undefined` value: defined for `<IfDefine>` only). */
  readonly defines?: ReadonlyMap<string, string | undefined>;
  /** Variables for `${NAME}` after the defines; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  /**
   * Set when requests will never be mapped to files (`createAuth` without `root`). Then
   * `<Directory>`, `<DirectoryMatch>`, `<Files>` and `<FilesMatch>` could never match, and a
   * section that never matches silently protects nothing: each one is a `CONFIG_NEEDS_ROOT`
   * error with this `hint`, and its contents are still checked.
   */
  readonly noFileMapping?: { readonly hint: string };
  /**
   * `<Location>` and `<LocationMatch>` match URL paths without regard to case, for routers that
   * ignore case (Express by default). Default false: case-sensitive, as httpd.
   */
  readonly caseBlindLocations?: boolean;
}

/** The loader's own sections; everything else comes from the registry. */
const SECTION_KINDS: Readonly<Record<string, { kind: SectionKind; regex: boolean }>> = {
  directory: { kind: 'directory', regex: false },
  directorymatch: { kind: 'directory', regex: true },
  files: { kind: 'files', regex: false },
  filesmatch: { kind: 'files', regex: true },
  location: { kind: 'location', regex: false },
  locationmatch: { kind: 'location', regex: true },
};

/**
 * Loads, checks and freezes a configuration. Every bad line is collected; when there is at
 * least one, a {@link ConfigErrors} listing all of them is thrown and nothing starts.
 */
export async function loadConfig(options: LoadOptions): Promise<Config> {
  if ((options.file === undefined) === (options.text === undefined)) {
    throw new TypeError('loadConfig: give exactly one of options.file and options.text');
  }
  const registry = new Registry(options.modules);
  const mainFile =
    options.file !== undefined ? resolvePath(options.file) : (options.textName ?? '<config>');
  const serverRoot = resolvePath(
    options.serverRoot ?? (options.file !== undefined ? dirname(mainFile) : process.cwd()),
  );
  const parseOptions = {
    serverRoot,
    knownModules: knownHttpdModules,
    ...(options.defines ? { defines: options.defines } : {}),
    ...(options.env ? { env: options.env } : {}),
  };
  const parsed =
    options.file !== undefined
      ? await parseConfigFile(mainFile, parseOptions)
      : await parseConfigText(options.text!, { ...parseOptions, file: mainFile });

  // A `ServerRoot` line in the file moves the base for relative paths, as in httpd.
  const loader = new Loader(registry, parsed.serverRoot, options.logger ?? silentLogger, options.noFileMapping);
  for (const w of parsed.warnings) {
    loader.warnings.push(w);
    loader.log.warn({ file: w.file, line: w.line }, w.message);
  }
  loader.errors.push(...parsed.errors);
  loader.applyTopLevel(parsed.nodes);
  try {
    if (loader.errors.length === 0) await loader.runChecks();
    if (loader.errors.length > 0) throw new ConfigErrors([...loader.errors].sort(byLocation));
  } catch (err) {
    // checkConfig may have opened something for this configuration (dbd warms its pool).
    await loader.release();
    throw err;
  }
  return new Config({
    registry,
    mainFile,
    files: parsed.files,
    serverRoot: parsed.serverRoot,
    baseSettings: loader.base,
    serverSettings: loader.server,
    sections: loader.sections,
    authnAliases: loader.authnAliases,
    authzAliases: loader.authzAliases,
    warnings: loader.warnings,
    caseBlindLocations: options.caseBlindLocations ?? false,
  });
}

function byLocation(a: ConfigError, b: ConfigError): number {
  return a.file === b.file ? a.line - b.line : 0;
}

/** What the loader knows about the place a line is applied in. */
interface Scope {
  readonly settings: Map<Module<any, any>, unknown>;
  readonly section: SectionNode | undefined;
  readonly kind: SectionKind | 'alias' | undefined;
  readonly limit: MethodLimit | undefined;
  readonly parentSection: Section | undefined;
}

/** Thrown through a DirectiveContext's `error`; caught per line so loading goes on. */
class LineError extends Error {
  constructor(readonly configError: ConfigError) {
    super(configError.message);
  }
}

class Loader {
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigWarning[] = [];
  readonly base = new Map<Module<any, any>, unknown>();
  readonly server = new Map<Module<any, any>, unknown>();
  readonly sections: Section[] = [];
  readonly authnAliases = new Map<string, AuthnProviderRef>();
  readonly authzAliases = new Map<string, AuthzProviderRef>();
  readonly #sectionSettings: { where: SourceLocation; settings: Map<Module<any, any>, unknown> }[] = [];

  constructor(
    readonly registry: Registry,
    readonly serverRoot: string,
    readonly log: Logger,
    readonly noFileMapping: { readonly hint: string } | undefined = undefined,
  ) {}

  applyTopLevel(nodes: readonly ConfigNode[]): void {
    const scope: Scope = {
      settings: this.base,
      section: undefined,
      kind: undefined,
      limit: undefined,
      parentSection: undefined,
    };
    this.#sectionSettings.push({ where: { file: '<server>', line: 0 }, settings: this.base });
    this.applyAll(nodes, scope);
  }

  applyAll(nodes: readonly ConfigNode[], scope: Scope): void {
    for (const node of nodes) {
      try {
        if (node.kind === 'directive') this.applyDirective(node, scope);
        else this.applySection(node, scope);
      } catch (err) {
        if (err instanceof LineError) this.errors.push(err.configError);
        else if (err instanceof ConfigError) this.errors.push(err);
        else throw err;
      }
    }
  }

  applyDirective(node: DirectiveNode, scope: Scope): void {
    const owned = this.registry.directive(node.name);
    if (!owned) {
      if (harmlessDirectives.has(node.name.toLowerCase())) {
        this.warn(node, `${node.name} has no effect in authts and is ignored`);
        return;
      }
      const suggestion = suggestDirective(node.name, this.registry.names());
      this.fail(
        node,
        node.name,
        'CONFIG_UNKNOWN_DIRECTIVE',
        `Invalid command '${node.name}', perhaps misspelled or defined by a module not included in authts`,
        suggestion ? `did you mean ${suggestion}?` : undefined,
      );
    }
    const { module, spec } = owned;
    this.checkContext(node, spec.name, spec.context, scope);
    const count = node.args.length;
    if ((spec.minArgs !== undefined && count < spec.minArgs) || (spec.maxArgs !== undefined && count > spec.maxArgs)) {
      const expected =
        spec.minArgs === spec.maxArgs
          ? `${spec.minArgs} argument${spec.minArgs === 1 ? '' : 's'}`
          : spec.maxArgs === undefined
            ? `at least ${spec.minArgs} argument${spec.minArgs === 1 ? '' : 's'}`
            : `${spec.minArgs ?? 0} to ${spec.maxArgs} arguments`;
      this.fail(node, spec.name, 'CONFIG_BAD_ARGUMENT', `takes ${expected}, got ${count}`, `syntax: ${spec.syntax}`);
    }
    spec.apply(this.context(node, spec.name, scope, module), node.args, node.raw);
  }

  applySection(node: SectionNode, scope: Scope): void {
    const lower = node.name.toLowerCase();
    const known = SECTION_KINDS[lower];
    if (known) {
      this.openSection(node, known.kind, known.regex, scope);
      return;
    }
    if (lower === 'limit' || lower === 'limitexcept') {
      this.openLimit(node, lower === 'limitexcept', scope);
      return;
    }
    const owned = this.registry.container(node.name);
    if (!owned) {
      const suggestion = suggestDirective(`<${node.name}>`, this.registry.names());
      this.fail(
        node,
        `<${node.name}>`,
        'CONFIG_UNKNOWN_DIRECTIVE',
        `Invalid command '<${node.name}', perhaps misspelled or defined by a module not included in authts`,
        suggestion ? `did you mean ${suggestion}?` : undefined,
      );
    }
    this.checkContext(node, `<${owned.spec.name}>`, owned.spec.context, scope);
    owned.spec.apply(this.context(node, `<${owned.spec.name}>`, scope, owned.module), node, (children, settings) =>
      this.applyAll(
        children,
        settings
          ? { settings, section: node, kind: 'alias', limit: undefined, parentSection: undefined }
          : scope,
      ),
    );
  }

  openSection(node: SectionNode, kind: SectionKind, isMatch: boolean, scope: Scope): void {
    const tag = `<${node.name}>`;
    if (scope.kind === 'alias' || scope.limit) {
      this.fail(node, tag, 'CONFIG_NOT_ALLOWED_HERE', `${tag} cannot occur within <${scope.section?.name ?? 'Limit'}> section`);
    }
    if (scope.kind !== undefined) {
      const nestedFilesInDir = kind === 'files' && scope.kind === 'directory';
      if (!nestedFilesInDir) {
        this.fail(node, tag, 'CONFIG_NOT_ALLOWED_HERE', `${tag} cannot occur within <${scope.section!.name}> section`);
      }
    }
    if (this.noFileMapping && kind !== 'location') {
      // Reported, not thrown: the section's own lines are still checked below.
      this.errors.push(
        new ConfigError(
          'CONFIG_NEEDS_ROOT',
          { file: node.file, line: node.line },
          tag,
          `${tag} matches files, and requests are not mapped to files here`,
          this.noFileMapping.hint,
        ),
      );
    }
    let regexForm = isMatch;
    let args = node.args;
    if (!isMatch && args[0] === '~') {
      regexForm = true;
      args = args.slice(1);
    }
    if (args.length !== 1) {
      this.fail(node, tag, 'CONFIG_SYNTAX', `${tag} takes exactly one argument`, `syntax: <${node.name} ${kind === 'files' ? 'name' : 'path'}>`);
    }
    const arg = args[0]!;
    let regex: RegExp | undefined;
    let pattern = arg;
    if (regexForm) {
      try {
        regex = new RegExp(arg);
      } catch (err) {
        this.fail(node, tag, 'CONFIG_BAD_REGEX', `Regular expression could not be compiled: ${(err as Error).message}`);
      }
    } else if (kind === 'directory') {
      pattern = this.canonicalDirectory(arg);
    } else if (kind === 'location') {
      pattern = arg.replace(/\/{2,}/g, '/');
    }
    const settings = new Map<Module<any, any>, unknown>();
    const where = { file: node.file, line: node.line };
    const section: Section = {
      id: this.sections.length,
      kind,
      name: node.name,
      where,
      pattern,
      regex,
      components: kind === 'directory' && !regex ? pathComponents(pattern) : 0,
      parent: scope.kind === 'directory' ? scope.parentSection : undefined,
      settings,
    };
    this.sections.push(section);
    this.#sectionSettings.push({ where, settings });
    this.applyAll(node.children, {
      settings,
      section: node,
      kind,
      limit: undefined,
      parentSection: section,
    });
  }

  /**
   * `<Directory>` paths are made absolute against ServerRoot (httpd makes a relative path
   * absolute against its working directory, which is rarely meant; see
   * docs/differences-from-httpd.md) and, when they
   * exist and have no wildcard, resolved through symlinks: requests are matched on real paths,
   * so the section must be too (docs/differences-from-httpd.md).
   */
  canonicalDirectory(arg: string): string {
    let path = isAbsolute(arg) ? arg : resolvePath(this.serverRoot, arg);
    path = path.replace(/\/{2,}/g, '/');
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    if (!hasWildcard(path)) {
      try {
        path = realpathSync(path);
      } catch {
        // A directory that does not exist (yet) is matched as written.
      }
    }
    return path;
  }

  openLimit(node: SectionNode, except: boolean, scope: Scope): void {
    const tag = `<${node.name}>`;
    if (scope.limit) this.fail(node, tag, 'CONFIG_NOT_ALLOWED_HERE', `${tag} cannot be nested in another <Limit> or <LimitExcept>`);
    if (scope.kind === 'alias') this.fail(node, tag, 'CONFIG_NOT_ALLOWED_HERE', `${tag} cannot occur within <${scope.section!.name}>`);
    if (node.args.length === 0) this.fail(node, tag, 'CONFIG_SYNTAX', `${tag} requires at least one method`);
    const methods = new Set(node.args.map((m) => m.toUpperCase()));
    if (methods.has('TRACE') && !except) {
      this.fail(node, tag, 'CONFIG_BAD_ARGUMENT', 'TRACE cannot be controlled by <Limit>, see TraceEnable');
    }
    this.applyAll(node.children, { ...scope, limit: { methods, except } });
  }

  checkContext(node: ConfigNode, name: string, context: 'server' | 'section' | 'any', scope: Scope): void {
    if (context === 'server' && (scope.kind !== undefined || scope.limit)) {
      this.fail(node, name, 'CONFIG_NOT_ALLOWED_HERE', `${name} cannot occur within <${scope.section?.name ?? 'Limit'}> section`);
    }
    if (context === 'section' && scope.kind === undefined) {
      this.fail(
        node,
        name,
        'CONFIG_NOT_ALLOWED_HERE',
        `${name} not allowed here`,
        'put it inside a <Directory>, <Location> or <Files> section',
      );
    }
  }

  context(node: ConfigNode, name: string, scope: Scope, _module: Module<any, any>): DirectiveContext {
    const where = { file: node.file, line: node.line };
    const fail = (code: ConfigErrorCode, message: string, hint?: string): never => this.fail(node, name, code, message, hint);
    return {
      where,
      name,
      section: scope.section,
      limit: scope.limit,
      serverRoot: this.serverRoot,
      registry: this.registry,
      dir: <S>(module: Module<S, any>): S => getOrCreate(scope.settings, module, () => module.createDirSettings?.()) as S,
      server: <SS>(module: Module<any, SS>): SS =>
        getOrCreate(this.server, module, () => module.createServerSettings?.()) as SS,
      error: fail,
      warn: (message: string) => this.warn(node, message),
      authnProvider: (providerName: string) => this.authnProvider(providerName),
      authzProvider: (providerName: string) => this.authzProvider(providerName),
      defineAuthnAlias: (alias: string, ref: AuthnProviderRef) => {
        if (this.authnProvider(alias)) fail('CONFIG_DUPLICATE', `Authn provider ${alias} is already defined`);
        this.authnAliases.set(alias.toLowerCase(), ref);
      },
      defineAuthzAlias: (alias: string, ref: AuthzProviderRef) => {
        if (this.authzProvider(alias)) fail('CONFIG_DUPLICATE', `Authz provider ${alias} is already defined`);
        this.authzAliases.set(alias.toLowerCase(), ref);
      },
    };
  }

  authnProvider(name: string): AuthnProviderRef | undefined {
    const alias = this.authnAliases.get(name.toLowerCase());
    if (alias) return alias;
    const provider = this.registry.authnProvider(name);
    return provider ? { name, provider, aliasSettings: undefined } : undefined;
  }

  authzProvider(name: string): AuthzProviderRef | undefined {
    const alias = this.authzAliases.get(name.toLowerCase());
    if (alias) return alias;
    const provider = this.registry.authzProvider(name);
    return provider ? { name, provider, aliasArgs: undefined, aliasSettings: undefined } : undefined;
  }

  async runChecks(): Promise<void> {
    for (const module of this.registry.modules) {
      if (!module.checkConfig) continue;
      await module.checkConfig({
        sections: this.#sectionSettings
          .filter((s) => s.settings.has(module))
          .map((s) => ({ where: s.where, settings: s.settings.get(module) })),
        serverSettings: <SS>(m: Module<any, SS>): SS => getOrCreate(this.server, m, () => m.createServerSettings?.()) as SS,
        error: (where, directive, code, message, hint) =>
          this.errors.push(new ConfigError(code, where, directive, message, hint)),
      });
    }
  }

  /** Module.release for a configuration that will not be made. */
  async release(): Promise<void> {
    const scope = { serverSettings: <SS>(m: Module<any, SS>): SS => getOrCreate(this.server, m, () => m.createServerSettings?.()) as SS };
    await Promise.allSettled(this.registry.modules.map((m) => m.release?.(scope)));
  }

  fail(node: ConfigNode, directive: string, code: ConfigErrorCode, message: string, hint?: string): never {
    throw new LineError(new ConfigError(code, { file: node.file, line: node.line }, directive, message, hint));
  }

  warn(node: ConfigNode, message: string): void {
    this.warnings.push({ file: node.file, line: node.line, message });
    this.log.warn({ file: node.file, line: node.line }, message);
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V | undefined): V {
  if (!map.has(key)) map.set(key, (make() ?? {}) as V);
  return map.get(key)!;
}
