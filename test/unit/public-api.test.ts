import { describe, expect, expectTypeOf, it } from 'vitest';
import * as authts from '../../src/index.js';
import type { AuthRequest, PhaseResult } from '../../src/index.js';

describe('the public entry point', () => {
  it('exports the loader, the engine, the built-in modules and the errors', () => {
    expect(Object.keys(authts).sort()).toEqual(
      ['AuthEngine', 'AuthTsError', 'ConnectionCache', 'ConfigError', 'ConfigErrors', 'builtinModules', 'createLogger', 'fileProvider', 'loadConfig', 'silentLogger', 'startServer'].sort(),
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
