import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuthTsError, type SourceLocation } from './errors.js';
import { serverPath } from './core-module.js';
import type { Module } from './module.js';
import { callHandler } from './phases.js';
import type { AuthRequest, Phase, PhaseHandler, PhaseResult } from './request.js';

/** One `AuthTsHandler` line. */
export interface HandlerRef {
  readonly phase: Phase;
  readonly file: string;
  /** The export to call: `#name` when given, else `accessHandler`/`authnHandler`/`authzHandler`, else `default`. */
  readonly exportName: string | undefined;
  readonly where: SourceLocation;
}

/** Per-section handlers, by phase; an inner section's list for a phase replaces the outer one. */
export type HandlerSettings = Partial<Record<Phase, readonly HandlerRef[]>>;

const DEFAULT_EXPORT: Readonly<Record<Phase, string>> = {
  access: 'accessHandler',
  authn: 'authnHandler',
  authz: 'authzHandler',
};

const LOADABLE = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);

interface Loaded {
  readonly version: string;
  readonly namespace: Record<string, unknown>;
}

/**
 * Imported handler modules by file, re-imported when the file's mtime or size changes (as
 * `PythonAutoReload On`). A changed file is imported under a new URL (`?v=<mtime>`): Node keeps
 * the old module in memory, so each edit of a handler costs its module's size until restart.
 */
class HandlerCache {
  readonly #loaded = new Map<string, Loaded>();
  readonly #pending = new Map<string, Promise<Loaded>>();

  async namespace(file: string): Promise<Record<string, unknown>> {
    const info = await stat(file);
    const version = `${info.mtimeMs}-${info.size}`;
    const current = this.#loaded.get(file);
    if (current?.version === version) return current.namespace;
    const key = `${file}\0${version}`;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = importVersion(file, version).then((namespace) => {
        const loaded = { version, namespace };
        this.#loaded.set(file, loaded);
        return loaded;
      });
      pending.finally(() => this.#pending.delete(key)).catch(() => {});
      this.#pending.set(key, pending);
    }
    return (await pending).namespace;
  }

  async handler(ref: HandlerRef): Promise<PhaseHandler> {
    const namespace = await this.namespace(ref.file);
    const name = ref.exportName ?? (typeof namespace[DEFAULT_EXPORT[ref.phase]] === 'function' ? DEFAULT_EXPORT[ref.phase] : 'default');
    const fn = namespace[name];
    if (typeof fn !== 'function') {
      throw new AuthTsError('HANDLER_FAILED', `${ref.file} has no function export "${name}"`);
    }
    return fn as PhaseHandler;
  }

  clear(): void {
    this.#loaded.clear();
  }
}

/**
 * Imports `file` (`.ts`/`.mts`/`.cts` through tsx, anything else through `import()`), with
 * `version` in the URL so a changed file is imported afresh.
 */
export async function importVersion(file: string, version: string): Promise<Record<string, unknown>> {
  const url = `${pathToFileURL(file).href}?v=${encodeURIComponent(version)}`;
  const ext = extname(file);
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(url)) as Record<string, unknown>;
}

const cache = new HandlerCache();

async function runHandlers(req: AuthRequest, phase: Phase): Promise<PhaseResult> {
  const refs = req.settings(authTsHandler)[phase];
  if (!refs || refs.length === 0) return 'declined';
  for (const ref of refs) {
    let result: PhaseResult;
    try {
      const handler = await cache.handler(ref);
      result = await callHandler(req, phase, handler);
    } catch (err) {
      req.log.error({ err, code: 'HANDLER_FAILED', handler: ref.file, phase }, 'AuthTsHandler could not be loaded');
      return 500;
    }
    // access: every handler runs; authn/authz: the first that does not decline decides.
    if (phase === 'access' ? result !== 'ok' && result !== 'declined' : result !== 'declined') return result;
  }
  return phase === 'access' ? 'ok' : 'declined';
}

/**
 * `AuthTsHandler access|authn|authz <module>[#export]`: plugs a JavaScript or TypeScript
 * module into a phase for a section, as mod_python's `PythonAccessHandler`,
 * `PythonAuthenHandler` and `PythonAuthzHandler` do. Handlers run at httpd's MIDDLE position:
 * before the built-in Require evaluation of the authz phase, after nothing in access.
 */
export const authTsHandler: Module<HandlerSettings> = {
  name: 'authts_handler',
  createDirSettings: () => ({}),
  mergeDirSettings: (base, add) => ({ ...base, ...add }),
  directives: [
    {
      name: 'AuthTsHandler',
      context: 'section',
      minArgs: 2,
      maxArgs: 2,
      syntax: 'AuthTsHandler access|authn|authz module-path[#export]',
      apply(ctx, [phaseWord, target]) {
        const phase = phaseWord!.toLowerCase();
        if (phase !== 'access' && phase !== 'authn' && phase !== 'authz') {
          return ctx.error('CONFIG_BAD_ARGUMENT', `unknown phase "${phaseWord}"`, 'use access, authn or authz');
        }
        const hash = target!.lastIndexOf('#');
        const file = serverPath(ctx, hash >= 0 ? target!.slice(0, hash) : target!);
        const exportName = hash >= 0 ? target!.slice(hash + 1) : undefined;
        if (!LOADABLE.has(extname(file))) {
          ctx.error('CONFIG_HANDLER', `AuthTsHandler cannot load "${file}"`, 'give a .js, .mjs, .cjs or .ts file');
        }
        const settings = ctx.dir(authTsHandler);
        const ref: HandlerRef = { phase, file, exportName, where: ctx.where };
        settings[phase] = [...(settings[phase] ?? []), ref];
      },
    },
  ],
  async checkConfig(view) {
    // Import every handler once at load, so a missing file or export stops the start.
    for (const { settings } of view.sections) {
      for (const refs of Object.values(settings as HandlerSettings)) {
        for (const ref of refs ?? []) {
          try {
            await cache.handler(ref);
          } catch (err) {
            view.error(ref.where, 'AuthTsHandler', 'CONFIG_HANDLER', `cannot load ${ref.file}: ${(err as Error).message}`);
          }
        }
      }
    }
  },
  hooks: (['access', 'authn', 'authz'] as const).map((phase) => ({
    phase,
    order: 10,
    handler: (req: AuthRequest) => runHandlers(req, phase),
  })),
  async close() {
    cache.clear();
  },
};
