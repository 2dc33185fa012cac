import { describe, expect, expectTypeOf, it } from 'vitest';
import * as authts from '../../src/index.js';
import type { AuthRequest, PhaseResult } from '../../src/index.js';

describe('the public entry point', () => {
  it('exports the loader, the engine, the built-in modules and the errors', () => {
    expect(Object.keys(authts).sort()).toEqual(
      ['AuthEngine', 'AuthTsError', 'ConnectionCache', 'ConfigError', 'ConfigErrors', 'builtinModules', 'createAuth', 'createLogger', 'fileProvider', 'loadConfig', 'silentLogger', 'startServer'].sort(),
    );
  });

  it('types a phase handler as the README shows it', () => {
    const accessHandler = (req: AuthRequest): PhaseResult => (req.method === 'GET' ? 'ok' : 403);
    expectTypeOf(accessHandler).returns.toEqualTypeOf<PhaseResult>();
    expectTypeOf<PhaseResult>().toEqualTypeOf<'ok' | 'declined' | number>();
  });

  it('answers a request through loadConfig + AuthEngine', async () => {
    const config = await authts.loadConfig({ text: '<Location /x>\nRequire all denied\n</Location>', modules: authts.builtinModules() });
    const engine = new authts.AuthEngine(config, authts.silentLogger);
    const denied = await engine.check({ method: 'GET', path: '/x/y', headers: {}, remoteAddress: '127.0.0.1' });
    const open = await engine.check({ method: 'GET', path: '/y', headers: {}, remoteAddress: '127.0.0.1' });
    expect([denied.status, open.status]).toEqual([403, 200]);
  });
});

describe('the adapters', () => {
  it('are package subpath exports, built from src/adapters', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional: boolean }>;
    };
    const adapters: Record<string, () => Promise<{ guard: unknown }>> = {
      node: () => import('../../src/adapters/node.js'),
      express: () => import('../../src/adapters/express.js'),
      fastify: () => import('../../src/adapters/fastify.js'),
    };
    for (const [name, load] of Object.entries(adapters)) {
      expect(pkg.exports[`./${name}`]).toEqual({ types: `./dist/adapters/${name}.d.ts`, default: `./dist/adapters/${name}.js` });
      expect(typeof (await load()).guard).toBe('function');
    }
    for (const framework of ['express', 'fastify']) {
      expect(pkg.peerDependencies[framework]).toBe('^5.0.0');
      expect(pkg.peerDependenciesMeta[framework]).toEqual({ optional: true });
    }
  });

  it('no file in src/ outside src/adapters imports a web framework', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const src = new URL('../../src/', import.meta.url);
    const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts') && !f.startsWith('adapters/'));
    const offenders: string[] = [];
    for (const file of files) {
      const text = await readFile(new URL(file, src), 'utf8');
      if (/from '(express|fastify|fastify-plugin)(\/[^']*)?'|import\('(express|fastify)/.test(text)) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
