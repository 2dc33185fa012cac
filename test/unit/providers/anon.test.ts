/**
 * mod_authn_anon's `anon` provider through the engine (the answers themselves are checked
 * against httpd in test/conformance/tables.ts): what it logs, and its load errors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { AuthEngine } from '../../../src/engine.js';
import { ConfigErrors } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import { builtinModules } from '../../../src/modules.js';
import { check } from '../../helpers/engine.js';

const engines: AuthEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.config.close()));
});

const site = (lines: string) => `<Location /p>
  AuthType Basic
  AuthName "Guests"
  AuthBasicProvider anon
${lines}
  Require valid-user
</Location>`;

/** An engine whose log lines are kept (JSON objects). */
async function loggingEngine(text: string): Promise<{ engine: AuthEngine; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
  const config = await loadConfig({ text, textName: 'anon.conf', modules: builtinModules() });
  const engine = new AuthEngine(config, logger);
  engines.push(engine);
  return { engine, lines };
}

describe('authn_anon', () => {
  it('logs an accepted e-mail address, and never a password typed by mistake', async () => {
    const { engine, lines } = await loggingEngine(site('  Anonymous guest'));
    expect((await check(engine, { path: '/p/x', basic: 'guest:me@example.org' })).status).toBe(200);
    expect((await check(engine, { path: '/p/x', basic: 'guest:my-real-Passw0rd' })).status).toBe(200);
    const accepted = lines.filter((l) => l['code'] === 'ANONYMOUS_ACCEPTED');
    expect(accepted).toHaveLength(2);
    expect(accepted[0]).toMatchObject({ user: 'guest', email: 'me@example.org' });
    expect(accepted[1]).not.toHaveProperty('email');
    expect(JSON.stringify(lines)).not.toContain('my-real-Passw0rd');
  });

  it('logs nothing with Anonymous_LogEmail Off', async () => {
    const { engine, lines } = await loggingEngine(site('  Anonymous guest\n  Anonymous_LogEmail Off'));
    expect((await check(engine, { path: '/p/x', basic: 'guest:me@example.org' })).status).toBe(200);
    expect(lines.filter((l) => l['code'] === 'ANONYMOUS_ACCEPTED')).toEqual([]);
  });

  it('answers not found where no name is configured, so the next provider decides', async () => {
    const { engine } = await loggingEngine(site('  Anonymous_NoUserID On'));
    const verdict = await check(engine, { path: '/p/x', basic: ':me@example.org' });
    expect(verdict.status).toBe(401);
    expect(verdict.user).toBe('');
  });

  it('refuses an empty name and a bad flag at load, naming the line', async () => {
    const errors = await loadConfig({ text: site('  Anonymous ""\n  Anonymous_VerifyEmail maybe'), textName: 'anon.conf', modules: builtinModules() }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(errors).toBeInstanceOf(ConfigErrors);
    expect((errors as ConfigErrors).errors.map((e) => [e.line, e.code])).toEqual([
      [5, 'CONFIG_BAD_ARGUMENT'],
      [6, 'CONFIG_BAD_ARGUMENT'],
    ]);
    expect((errors as ConfigErrors).errors[0]!.message).toContain('Anonymous string cannot be empty');
  });
});
