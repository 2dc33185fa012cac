/**
 * `--module <file>`: user modules (passport strategies, providers of one's own) for the CLI,
 * as `startServer({ modules })` takes them in code. A file exports `modules` (an array of
 * modules) or a default export that is one module or an array of them; TypeScript files load
 * through tsx as `AuthTsHandler` files do.
 */
import { resolve } from 'node:path';
import { importVersion } from '../authts-handler.js';
import type { Module } from '../module.js';

/** A `--module` file that cannot be used; the message names the file and what is wrong. */
export class ModuleFileError extends Error {
  override readonly name = 'ModuleFileError';
}

function asModules(file: string, value: unknown): Module<any, any>[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((entry, i) => {
    const name = (entry as { name?: unknown } | null)?.name;
    if (typeof entry !== 'object' || entry === null || typeof name !== 'string' || name === '') {
      throw new ModuleFileError(`${file}: export ${Array.isArray(value) ? `[${i}] ` : ''}is not an authts module (an object with a "name")`);
    }
    return entry as Module<any, any>;
  });
}

/** Imports every file (relative to `cwd`) and returns their modules, in order. */
export async function loadModuleFiles(files: readonly string[], cwd = process.cwd()): Promise<Module<any, any>[]> {
  const modules: Module<any, any>[] = [];
  for (const given of files) {
    const file = resolve(cwd, given);
    let exported: Record<string, unknown>;
    try {
      exported = await importVersion(file, 'cli');
    } catch (err) {
      throw new ModuleFileError(`${given}: cannot be imported: ${(err as Error).message}`, { cause: err });
    }
    const value = exported['modules'] ?? exported['default'];
    if (value === undefined) throw new ModuleFileError(`${given}: exports neither "modules" nor a default module`);
    modules.push(...asModules(given, value));
  }
  return modules;
}
