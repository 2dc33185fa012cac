/** Loads config text with the built-in modules (plus extras) and checks requests through the engine. */
import { loadConfig } from '../../src/config/load.js';
import { AuthEngine } from '../../src/engine.js';
import { silentLogger } from '../../src/log.js';
import type { Module } from '../../src/module.js';
import { builtinModules } from '../../src/modules.js';
import type { Verdict } from '../../src/phases.js';

export interface TestRequest {
  readonly method?: string;
  readonly path?: string;
  readonly filename?: string;
  readonly remoteAddress?: string;
  /** `user:password` sent as Basic. */
  readonly basic?: string;
  readonly headers?: Record<string, string | string[]>;
}

export async function engineFor(text: string, modules: readonly Module<any, any>[] = []): Promise<AuthEngine> {
  const config = await loadConfig({ text, textName: 'test.conf', modules: [...builtinModules(), ...modules] });
  return new AuthEngine(config, silentLogger);
}

export function check(engine: AuthEngine, request: TestRequest = {}): Promise<Verdict> {
  const headers: Record<string, string | string[]> = { ...request.headers };
  if (request.basic !== undefined) headers['authorization'] = `Basic ${Buffer.from(request.basic).toString('base64')}`;
  return engine.check({
    method: request.method ?? 'GET',
    path: request.path ?? '/',
    filename: request.filename,
    headers,
    remoteAddress: request.remoteAddress ?? '192.0.2.1',
    localAddress: '127.0.0.1',
  });
}
