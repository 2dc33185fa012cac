import { describe, expect, it } from 'vitest';
import type { ProviderAnswer } from '../../src/observe.js';
import type { AuthRequest } from '../../src/request.js';
import { engineFor } from '../helpers/engine.js';
import { memoryModule } from '../helpers/memory-provider.js';

const config = `
<Location /private>
  AuthType Basic
  AuthName "private"
  AuthBasicProvider memory
  <RequireAny>
    Require memory-group staff
    Require user bob
  </RequireAny>
</Location>
`;

describe('request observers see provider answers, not credentials', () => {
  const module = memoryModule({ users: { alice: 'pw', bob: 'pw2' }, groups: { staff: ['alice'] }, broken: ['carol'] });

  async function answersFor(authorization: string | undefined): Promise<{ status: number; answers: ProviderAnswer[] }> {
    const engine = await engineFor(config, [module]);
    const answers: ProviderAnswer[] = [];
    const verdict = await engine.check({
      method: 'GET',
      path: '/private/x',
      headers: authorization === undefined ? {} : { authorization },
      remoteAddress: '192.0.2.1',
      observer: { providerAnswered: (_req: AuthRequest, answer) => answers.push(answer) },
    });
    await engine.config.close();
    return { status: verdict.status, answers };
  }

  const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

  it('reports the authn provider and each Require line evaluated, in order', async () => {
    const { status, answers } = await answersFor(basic('bob:pw2'));
    expect(status).toBe(200);
    expect(answers.map(({ kind, provider, result, require }) => ({ kind, provider, result, require }))).toEqual([
      // access_ex evaluates the tree without a user first.
      { kind: 'authz', provider: 'memory-group', result: 'denied-no-user', require: 'Require memory-group staff' },
      { kind: 'authz', provider: 'user', result: 'denied-no-user', require: 'Require user bob' },
      { kind: 'authn', provider: 'memory', result: 'granted', require: undefined },
      { kind: 'authz', provider: 'memory-group', result: 'denied', require: 'Require memory-group staff' },
      { kind: 'authz', provider: 'user', result: 'granted', require: 'Require user bob' },
    ]);
    for (const answer of answers) expect(answer.durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(answers)).not.toContain('pw2');
  });

  it('reports a provider that throws as error, and the request still fails closed', async () => {
    const { status, answers } = await answersFor(basic('carol:x'));
    expect(status).toBe(500);
    expect(answers.filter((a) => a.kind === 'authn')).toEqual([expect.objectContaining({ provider: 'memory', result: 'error' })]);
  });
});
