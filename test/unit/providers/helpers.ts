/**
 * Test doubles for provider tests: a minimal AuthRequest whose `settings(module)` returns what
 * the test gives, a DirectiveContext that records what directives do, and a logger that keeps
 * its lines.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type ConfigErrorCode } from '../../../src/errors.js';
import { createLogger, type Logger } from '../../../src/log.js';
import type { DirectiveContext, Module, RequireParseContext } from '../../../src/module.js';
import type { AuthRequest } from '../../../src/request.js';

/** A logger that keeps every line it is given, parsed. */
export function captureLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { log, lines };
}

/** A request whose merged settings are `settings` (per module) and whose user is `user`. */
export function fakeRequest(options: {
  settings: ReadonlyMap<Module<any, any>, unknown>;
  user?: string;
  log?: Logger;
}): AuthRequest {
  const log = options.log ?? captureLogger().log;
  return {
    method: 'GET',
    path: '/',
    query: '',
    unparsedUri: '/',
    filename: undefined,
    headers: {},
    duplicateAuthorization: false,
    remoteAddress: '127.0.0.1',
    localAddress: '127.0.0.1',
    tls: false,
    user: options.user,
    authType: undefined,
    env: new Map(),
    notes: new Map(),
    responseHeaders: new Map(),
    settings<S>(module: Module<S>): S {
      const value = options.settings.get(module);
      return (value ?? module.createDirSettings?.()) as S;
    },
    serverSettings<SS>(module: Module<unknown, SS>): SS {
      return module.createServerSettings?.() as SS;
    },
    log,
  };
}

/** Applies `module`'s directive `name` as the loader would, into `settings`; returns warnings. */
export function applyDirective<S>(
  module: Module<S>,
  name: string,
  args: readonly string[],
  settings: S,
  serverRoot: string,
): string[] {
  const spec = module.directives?.find((d) => d.name.toLowerCase() === name.toLowerCase());
  if (!spec) throw new Error(`no directive ${name}`);
  const warnings: string[] = [];
  const where = { file: 'test.conf', line: 1 };
  const ctx: DirectiveContext = {
    where,
    name,
    section: undefined,
    limit: undefined,
    serverRoot,
    dir: <T>(m: Module<T, any>): T => {
      if (m !== (module as Module<any, any>)) throw new Error('unexpected module');
      return settings as unknown as T;
    },
    server: <SS>(m: Module<any, SS>): SS => m.createServerSettings?.() as SS,
    error: (code: ConfigErrorCode, message: string, hint?: string): never => {
      throw new ConfigError(code, where, name, message, hint);
    },
    warn: (message: string) => void warnings.push(message),
    authnProvider: () => undefined,
    authzProvider: () => undefined,
    defineAuthnAlias: () => {
      throw new Error('not in this test');
    },
    defineAuthzAlias: () => {
      throw new Error('not in this test');
    },
    registry: { modules: [module] },
  };
  spec.apply(ctx, args, args.join(' '));
  return warnings;
}

/** A RequireParseContext that records warnings and throws ConfigError on `error`. */
export function requireContext(): RequireParseContext & { warnings: string[] } {
  const where = { file: 'test.conf', line: 1 };
  const warnings: string[] = [];
  return {
    where,
    warnings,
    error: (code: ConfigErrorCode, message: string, hint?: string): never => {
      throw new ConfigError(code, where, 'Require', message, hint);
    },
    warn: (message: string) => void warnings.push(message),
  };
}

/** A fresh temporary directory and a function that removes it. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'authts-test-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
