/**
 * The credential cache through `authts serve` (build first: `npm run build`): a bcrypt cost-10
 * user is checked by the `file` provider once, then answered from the cache. Provider calls are
 * counted from the server's own debug lines ("asking authn provider", one per provider call);
 * the two latencies are measured and compared only loosely.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, expect, it } from 'vitest';
import { rawRequest } from '../services/http-client.js';
import { freePort } from '../services/net.js';
import { basic, htpasswd, killLeftovers, listeningPort, removeTempDirs, startCli, tempDir } from './helpers.js';

afterEach(async () => {
  await killLeftovers();
});
afterAll(async () => {
  await removeTempDirs();
});

/** The JSON log lines of `stderr` whose msg is `msg` (and provider, when given). */
function logLines(stderr: string, msg: string, provider?: string): number {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; provider?: string })
    .filter((entry) => entry.msg === msg && (provider === undefined || entry.provider === provider)).length;
}

async function get(url: string, auth: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await rawRequest(url, { path: '/private/a.txt', headers: { Authorization: basic(auth) } });
  return { status: res.status, ms: performance.now() - started };
}

it('answers a bcrypt cost-10 user from the cache on the second request', async () => {
  const dir = await tempDir('authn-cache');
  const htdocs = join(dir, 'htdocs');
  await mkdir(join(htdocs, 'private'), { recursive: true });
  await writeFile(join(htdocs, 'private', 'a.txt'), 'private a\n');
  const users = join(dir, 'users');
  await writeFile(users, `${htpasswd('alice', 'alice-pw', 'B', 10)}\n`);
  const port = await freePort();
  const conf = join(dir, 'site.conf');
  await writeFile(
    conf,
    [
      `Listen 127.0.0.1:${port}`,
      `DocumentRoot "${htdocs}"`,
      'AuthnCacheSOCache shmcb',
      `<Directory "${htdocs}/private">`,
      '    AuthType Basic',
      '    AuthName "Private"',
      '    AuthBasicProvider socache file',
      `    AuthUserFile "${users}"`,
      '    AuthnCacheProvideFor file',
      '    AuthnCacheTimeout 60',
      '    Require valid-user',
      '</Directory>',
      '',
    ].join('\n'),
  );
  // A user file changed less than 2.5 s ago is not trusted by the cache (a further change could
  // keep its size and times): wait that window out, as a real deployment's file would be.
  await new Promise((r) => setTimeout(r, 2_600));

  const cli = startCli(['serve', '-f', conf, '--workers', '1'], { env: { AUTHTS_LOG_LEVEL: 'debug' } });
  await cli.waitForStderr(/"msg":"authts serve listening"/);
  const url = `http://127.0.0.1:${listeningPort(cli.stderr())}`;

  const first = await get(url, 'alice:alice-pw');
  const second = await get(url, 'alice:alice-pw');
  expect(first.status).toBe(200);
  expect(second.status).toBe(200);
  await cli.waitForStderr(/"msg":"authn cache hit"/);
  const stderr = cli.stderr();
  expect(logLines(stderr, 'asking authn provider', 'file')).toBe(1);
  expect(logLines(stderr, 'authn cache stored')).toBe(1);
  expect(logLines(stderr, 'authn cache hit')).toBe(1);
  expect(stderr).not.toContain('alice-pw');
  // Loosely: the second request skipped bcrypt (cost 10, tens of ms), so it was the cheaper one.
  expect(second.ms).toBeLessThan(first.ms);

  // A wrong password is not answered from the cache, and asks the provider.
  expect((await get(url, 'alice:wrong')).status).toBe(401);
  await cli.waitForStderr(/"msg":"asking authn provider"/, 2);
  expect(logLines(cli.stderr(), 'authn cache hit')).toBe(1);
});
