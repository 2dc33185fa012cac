/**
 * `authts serve --workers N` as a real process tree: the primary (the CLI's PID) and its worker
 * processes, found through /proc. Which worker answered is read from the workers' own debug
 * lines ("asking authn provider" carries `worker`); every request is on a new connection, which
 * node:cluster hands to the workers in turn.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../services/http-client.js';
import { freePort } from '../services/net.js';
import { REPO, basic, htpasswd, killLeftovers, removeTempDirs, runCli, startCli, tempDir, tryConnect, waitFor, type CliProcess } from './helpers.js';

afterEach(async () => {
  await killLeftovers();
});
afterAll(async () => {
  await removeTempDirs();
});

/** The PIDs whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

function workerPids(cli: CliProcess): number[] {
  return childrenOf(cli.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('serve-worker.js');
    } catch {
      return false;
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface LogEntry {
  readonly msg?: string;
  readonly worker?: number;
  readonly provider?: string;
}

function logEntries(cli: CliProcess): LogEntry[] {
  return cli
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogEntry);
}

/** The workers (by number) that logged `msg`, one entry per line. */
function workersThatLogged(cli: CliProcess, msg: string): number[] {
  return logEntries(cli)
    .filter((e) => e.msg === msg)
    .map((e) => e.worker ?? 0);
}

interface Site {
  readonly dir: string;
  readonly conf: string;
  readonly port: number;
  readonly url: string;
}

async function makeSite(label: string, server: readonly string[] = [], section: readonly string[] = []): Promise<Site> {
  const dir = await tempDir(`workers-${label}`);
  await mkdir(join(dir, 'htdocs', 'private'), { recursive: true });
  await writeFile(join(dir, 'htdocs', 'private', 'a.txt'), 'private a\n');
  await writeFile(join(dir, 'users'), `${htpasswd('alice', 'alice-pw')}\n`);
  const port = await freePort();
  const conf = join(dir, 'site.conf');
  await writeFile(conf, siteConf(dir, port, server, section, 'Require valid-user'));
  return { dir, conf, port, url: `http://127.0.0.1:${port}` };
}

function siteConf(dir: string, port: number, server: readonly string[], section: readonly string[], require: string): string {
  return [
    `Listen 127.0.0.1:${port}`,
    `DocumentRoot "${dir}/htdocs"`,
    ...server,
    `<Directory "${dir}/htdocs/private">`,
    '    AuthType Basic',
    '    AuthName "Private"',
    `    AuthUserFile "${dir}/users"`,
    ...section.map((line) => `    ${line}`),
    `    ${require}`,
    '</Directory>',
    '',
  ].join('\n');
}

async function serveWorkers(site: Site, workers: number, env: NodeJS.ProcessEnv = {}): Promise<CliProcess> {
  const cli = startCli(['serve', '-f', site.conf, '--workers', String(workers)], { env: { AUTHTS_LOG_LEVEL: 'debug', ...env } });
  await cli.waitForStderr(/"msg":"authts serve: all workers listening"/, 1, 15_000);
  return cli;
}

/** One request on a new connection (rawRequest sends Connection: close). */
async function get(site: Site, auth?: string): Promise<number> {
  const res = await rawRequest(site.url, { path: '/private/a.txt', headers: auth === undefined ? {} : { Authorization: basic(auth) } });
  return res.status;
}

describe('authts serve --workers', () => {
  it('starts N worker processes on one port, and new connections reach every one of them', async () => {
    const site = await makeSite('spread');
    const cli = await serveWorkers(site, 2);
    expect(workerPids(cli)).toHaveLength(2);
    expect(workersThatLogged(cli, 'authts serve listening').sort()).toEqual([1, 2]);
    for (let i = 0; i < 6; i++) expect(await get(site, 'alice:alice-pw')).toBe(200);
    expect(await get(site, 'alice:wrong')).toBe(401);
    const answered = new Set(workersThatLogged(cli, 'asking authn provider'));
    expect([...answered].sort()).toEqual([1, 2]);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit(10_000)).toEqual({ code: 0, signal: null });
  });

  it('SIGHUP reaches every worker: a changed Require is in force on all of them', async () => {
    const site = await makeSite('reload');
    const cli = await serveWorkers(site, 2);
    expect(await get(site, 'alice:alice-pw')).toBe(200);
    await writeFile(site.conf, siteConf(site.dir, site.port, [], [], 'Require user nobody-else'));
    cli.signal('SIGHUP');
    await cli.waitForStderr(/"msg":"configuration reloaded"/, 2);
    expect(workersThatLogged(cli, 'configuration reloaded').sort()).toEqual([1, 2]);
    // Four new connections: two per worker, all under the new rule.
    for (let i = 0; i < 4; i++) expect(await get(site, 'alice:alice-pw')).toBe(401);
    cli.signal('SIGTERM');
    expect((await cli.waitForExit(10_000)).code).toBe(0);
  });

  it('SIGTERM drains every worker and leaves no process behind', async () => {
    const site = await makeSite('term');
    const cli = await serveWorkers(site, 3);
    const pids = workerPids(cli);
    expect(pids).toHaveLength(3);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    expect(pids.filter(alive)).toEqual([]);
    expect(workersThatLogged(cli, 'draining requests in flight, then exiting').sort()).toEqual([1, 2, 3]);
    expect(await tryConnect(site.port)).toBe('ECONNREFUSED');
  });

  it('a worker that dies is replaced, and the port keeps answering', async () => {
    const site = await makeSite('replace');
    const cli = await serveWorkers(site, 2);
    const [victim, survivor] = workerPids(cli);
    process.kill(victim!, 'SIGKILL');
    await waitFor('a new worker in place of the killed one', () => {
      const now = workerPids(cli);
      return now.length === 2 && !now.includes(victim!) && now.includes(survivor!);
    }, 10_000);
    await cli.waitForStderr(/"restartInMs":100,"msg":"a worker died; starting another"/);
    await cli.waitForStderr(/"msg":"authts serve listening"/, 3, 10_000);
    for (let i = 0; i < 4; i++) expect(await get(site, 'alice:alice-pw')).toBe(200);
    // The replacement dies young too: the wait doubles (a worker dying at every start must not spin).
    const replacement = workerPids(cli).find((pid) => pid !== survivor);
    process.kill(replacement!, 'SIGKILL');
    await cli.waitForStderr(/"restartInMs":200,"msg":"a worker died; starting another"/);
    await cli.waitForStderr(/"msg":"authts serve listening"/, 4, 10_000);
    expect(await get(site, 'alice:alice-pw')).toBe(200);
    cli.signal('SIGTERM');
    expect((await cli.waitForExit(10_000)).code).toBe(0);
  });

  it('when the primary is killed outright, its workers go too (no orphan keeps the port)', async () => {
    const site = await makeSite('orphans');
    const cli = await serveWorkers(site, 2);
    const pids = workerPids(cli);
    cli.signal('SIGKILL');
    await cli.waitForExit(5_000);
    await waitFor('the workers to exit', () => pids.every((pid) => !alive(pid)), 10_000);
    expect(await tryConnect(site.port)).toBe('ECONNREFUSED');
  });

  it('a configuration error stops the start in the primary: file:line, exit 1, no worker, port never bound', async () => {
    const site = await makeSite('bad');
    await writeFile(site.conf, siteConf(site.dir, site.port, [], ['AuthBogus on'], 'Require valid-user'));
    const cli = startCli(['serve', '-f', site.conf, '--workers', '2']);
    expect(await cli.waitForExit(10_000)).toEqual({ code: 1, signal: null });
    expect(cli.stderr()).toContain(`${site.conf}:7: AuthBogus: Invalid command 'AuthBogus'`);
    expect(cli.stderr()).toContain('authts serve: configuration errors, not started');
    expect(cli.stderr()).not.toContain('authts serve listening');
    expect(await tryConnect(site.port)).toBe('ECONNREFUSED');
  });

  it('a port already in use: exit 1, and every worker is stopped', async () => {
    const site = await makeSite('inuse');
    const blocker = startCli(['serve', '-f', site.conf, '--workers', '1']);
    await blocker.waitForStderr(/"msg":"authts serve listening"/);
    const cli = startCli(['serve', '-f', site.conf, '--workers', '2']);
    expect(await cli.waitForExit(10_000)).toEqual({ code: 1, signal: null });
    expect(cli.stderr()).toContain('a worker exited before it listened');
    expect(cli.stderr()).toContain('EADDRINUSE');
    await waitFor('no worker left', () => workerPids(cli).length === 0, 5_000);
    blocker.signal('SIGTERM');
    expect((await blocker.waitForExit(10_000)).code).toBe(0);
  });

  it('warns at start that a memory store is one per worker', async () => {
    const site = await makeSite('memory-store', ['AuthTsRegulationStore memory'], ['AuthTsRegulation On']);
    const cli = await serveWorkers(site, 2);
    const warning = logEntries(cli).find((e) => e.msg?.startsWith('AuthTsRegulationStore keeps its store in each worker'));
    expect(warning?.msg).toBe("AuthTsRegulationStore keeps its store in each worker's memory: with 2 workers each has its own; use redis:<host:port> to share one");
    cli.signal('SIGTERM');
    expect((await cli.waitForExit(10_000)).code).toBe(0);
  });

  it.each([['0'], ['two'], ['-1']])('--workers %s is a usage error (exit 2)', async (value) => {
    const cli = startCli(['serve', '-f', '/nonexistent.conf', '--workers', value]);
    const exit = await cli.waitForExit(10_000);
    expect(exit.code).toBe(2);
    expect(cli.stderr()).toContain('--workers');
  });
});

describe('authts serve --workers with Redis: one view across workers', () => {
  const redis = createClient({ url: 'redis://127.0.0.1:6379' });
  let before = new Set<string>();
  let secretFile = '';
  beforeAll(async () => {
    await redis.connect();
    const dir = await tempDir('workers-secret');
    secretFile = join(dir, 'secret');
    await writeFile(secretFile, `${randomBytes(32).toString('hex')}\n`);
  });
  afterEach(async () => {
    // The stores use their default key prefixes through the CLI; this suite's keys are those
    // that were not there before it (keys are keyed hashes under this run's own secret).
    const ours = (await authtsKeys()).filter((key) => !before.has(key));
    if (ours.length > 0) await redis.del(ours);
  });
  afterAll(() => {
    redis.destroy();
  });
  const authtsKeys = async (): Promise<string[]> => [...(await redis.keys('authts:reg:*')), ...(await redis.keys('authts:authn:*'))];

  it('regulation counts failures across workers: the ban comes after MaxRetries in all, not per worker', async () => {
    before = new Set(await authtsKeys());
    const site = await makeSite(
      'regulation',
      ['AuthTsRegulationStore redis:127.0.0.1:6379', `AuthTsRegulationSecret file:${secretFile}`],
      ['AuthTsRegulation On', 'AuthTsRegulationMaxRetries 3', 'AuthTsRegulationFindTime 60', 'AuthTsRegulationBanTime 60', 'AuthTsRegulationMode user'],
    );
    const cli = await serveWorkers(site, 2);
    // Three failures on new connections: spread over both workers.
    for (let i = 0; i < 3; i++) expect(await get(site, 'alice:wrong')).toBe(401);
    expect(new Set(workersThatLogged(cli, 'asking authn provider')).size).toBe(2);
    // Banned on both workers, even with the right password, before any provider is asked.
    const asked = workersThatLogged(cli, 'asking authn provider').length;
    for (let i = 0; i < 2; i++) {
      const res = await rawRequest(site.url, { path: '/private/a.txt', headers: { Authorization: basic('alice:alice-pw') } });
      expect(res.status).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(workersThatLogged(cli, 'asking authn provider')).toHaveLength(asked);
    cli.signal('SIGTERM');
    expect((await cli.waitForExit(10_000)).code).toBe(0);
  });

  it('the credential cache is shared: a password one worker verified is a hit at the other', async () => {
    before = new Set(await authtsKeys());
    const site = await makeSite(
      'cache',
      ['AuthnCacheSOCache redis:127.0.0.1:6379', `AuthTsCacheSecret file:${secretFile}`],
      ['AuthBasicProvider socache file', 'AuthnCacheProvideFor file', 'AuthnCacheTimeout 60'],
    );
    const cli = await serveWorkers(site, 2);
    // Each worker's Redis client connects on its first lookup, and a lookup waits for that at
    // most 250 ms: on a loaded machine the first one may miss. An unknown user's requests warm
    // both workers up until each has made a lookup that reached Redis ("authn cache miss").
    await waitFor('a lookup through Redis on both workers', async () => {
      expect(await get(site, 'nobody:x')).toBe(401);
      return new Set(workersThatLogged(cli, 'authn cache miss')).size === 2;
    }, 10_000);
    const fileAskedBefore = logEntries(cli).filter((e) => e.msg === 'asking authn provider' && e.provider === 'file').length;
    for (let i = 0; i < 6; i++) expect(await get(site, 'alice:alice-pw')).toBe(200);
    // The file provider was asked once for alice; the other five (three on the other worker) were hits.
    const fileAsked = logEntries(cli).filter((e) => e.msg === 'asking authn provider' && e.provider === 'file');
    expect(fileAsked).toHaveLength(fileAskedBefore + 1);
    expect(workersThatLogged(cli, 'authn cache hit').length).toBe(5);
    expect(new Set(workersThatLogged(cli, 'authn cache hit')).size).toBe(2);
    cli.signal('SIGTERM');
    expect((await cli.waitForExit(10_000)).code).toBe(0);
  });
});

describe('authts serve --module and authts check --module', () => {
  const example = join(REPO, 'conf-examples', 'passport');

  /** conf-examples/passport/site.conf on a free port (its own relative paths still resolve in its directory). */
  async function exampleOnFreePort(): Promise<{ conf: string; url: string }> {
    const dir = await tempDir('module-files');
    const port = await freePort();
    const text = readFileSync(join(example, 'site.conf'), 'utf8').replace(/^Listen .*$/m, `Listen 127.0.0.1:${port}`);
    const conf = join(dir, 'site.conf');
    await writeFile(conf, `ServerRoot "${example}"\n${text}`);
    return { conf, url: `http://127.0.0.1:${port}` };
  }

  it('serves conf-examples/passport with its strategies from --module, in every worker', async () => {
    const { conf, url } = await exampleOnFreePort();
    const cli = startCli(['serve', '-f', conf, '--workers', '2', '--module', join(example, 'strategies.mjs')]);
    await cli.waitForStderr(/"msg":"authts serve: all workers listening"/, 1, 15_000);
    for (let i = 0; i < 4; i++) {
      const res = await rawRequest(url, { path: '/api/data.json', headers: { Authorization: 'Bearer alice-token-1' } });
      expect(res.status).toBe(200);
    }
    const refused = await rawRequest(url, { path: '/api/data.json', headers: { Authorization: 'Bearer wrong' } });
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    cli.signal('SIGTERM');
    expect((await cli.waitForExit(10_000)).code).toBe(0);
  });

  it('without the module the strategy is unknown: check and serve stop with file:line', async () => {
    const { conf } = await exampleOnFreePort();
    const checked = await runCli(['check', '-f', conf]);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(/site\.conf:\d+: AuthTsPassportStrategy: /);
    const withModule = await runCli(['check', '-f', conf, '-m', join(example, 'strategies.mjs')]);
    expect(withModule).toMatchObject({ code: 0, stdout: 'Syntax OK\n' });
  });

  it('authts explain takes --module too', async () => {
    const { conf } = await exampleOnFreePort();
    const args = ['explain', '-f', conf, '-m', join(example, 'strategies.mjs'), '--header', 'Authorization: Bearer alice-token-1', 'GET', '/api/data.json'];
    const allowed = await runCli(args);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('200');
    expect(allowed.stdout).not.toContain('alice-token-1');
    const without = await runCli(['explain', '-f', conf, 'GET', '/api/data.json']);
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/site\.conf:\d+: AuthTsPassportStrategy: /);
  });

  it('a file that exports no module is refused by name, before anything listens', async () => {
    const dir = await tempDir('module-bad');
    await writeFile(join(dir, 'nothing.mjs'), 'export const answer = 42;\n');
    await writeFile(join(dir, 'wrong.mjs'), 'export default { nom: "x" };\n');
    const site = await makeSite('module-bad');
    for (const [file, message] of [
      ['nothing.mjs', 'exports neither "modules" nor a default module'],
      ['wrong.mjs', 'is not an authts module (an object with a "name")'],
      ['missing.mjs', 'cannot be imported'],
    ] as const) {
      const cli = startCli(['serve', '-f', site.conf, '--workers', '2', '--module', join(dir, file)]);
      expect((await cli.waitForExit(10_000)).code).toBe(1);
      expect(cli.stderr()).toContain(message);
      expect(await tryConnect(site.port)).toBe('ECONNREFUSED');
    }
  });
});

describe('authts serve with sessions kept in memory', () => {
  const example = join(REPO, 'conf-examples', 'form-login');

  async function formLoginOnFreePort(): Promise<{ conf: string; port: number }> {
    const dir = await tempDir('sessions');
    const port = await freePort();
    const text = readFileSync(join(example, 'site.conf'), 'utf8').replace(/^Listen .*$/m, `Listen 127.0.0.1:${port}`);
    const conf = join(dir, 'site.conf');
    await writeFile(conf, `ServerRoot "${example}"\n${text}`);
    return { conf, port };
  }

  it('by default serves in one process (a session one worker made would be unknown to another)', async () => {
    const { conf, port } = await formLoginOnFreePort();
    const cli = startCli(['serve', '-f', conf]);
    await cli.waitForStderr(/"msg":"authts serve listening"/, 1, 15_000);
    expect(cli.stderr()).toContain('serving in one process: sessions are kept in each process');
    expect(workerPids(cli)).toEqual([]);
    const page = await rawRequest(`http://127.0.0.1:${port}`, { path: '/login' });
    expect(page.status).toBe(200);
    cli.signal('SIGTERM');
    expect((await cli.waitForExit(10_000)).code).toBe(0);
  });

  it('refuses --workers 2 with the reason and the way out', async () => {
    const { conf, port } = await formLoginOnFreePort();
    const cli = startCli(['serve', '-f', conf, '--workers', '2']);
    expect((await cli.waitForExit(10_000)).code).toBe(1);
    expect(cli.stderr()).toMatch(/--workers 2: sessions are kept in each process's memory \(Session On in server config of .*site\.conf, no AuthTsSessionStore redis:…\), which workers cannot share; set AuthTsSessionStore redis:<host:port> or use --workers 1/);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
  });
});
