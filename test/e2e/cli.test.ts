/**
 * The `authts` CLI as users run it: `node dist/cli/authts.js` as a child process (build first:
 * `npm run build`; `npm test` does), on 127.0.0.1, with real signals.
 *
 * Requests "in flight" are made deterministic with a gate: an access handler that writes a
 * marker file when a request reaches it and holds the request until the test creates the gate
 * file. The signal is sent only after the marker exists, so it always lands mid-request.
 */
import { request as httpRequest, Agent, type IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../services/http-client.js';
import { freePort } from '../services/net.js';
import {
  basic,
  CLI,
  htpasswd,
  killLeftovers,
  listeningPort,
  removeTempDirs,
  runCli,
  startCli,
  tempDir,
  tryConnect,
  waitFor,
  type CliProcess,
} from './helpers.js';

afterEach(async () => {
  await killLeftovers();
});
afterAll(async () => {
  await removeTempDirs();
});

it('the CLI has been built (npm run build)', () => {
  expect(existsSync(CLI)).toBe(true);
});

/** A site: htdocs with /index.html, /private/a.txt, /slow.txt and a 20 MB /big.bin. */
async function makeSite(name: string): Promise<{ dir: string; htdocs: string; users: string; gate: string; entered: string }> {
  const dir = await tempDir(name);
  const htdocs = join(dir, 'htdocs');
  await mkdir(join(htdocs, 'private'), { recursive: true });
  await writeFile(join(htdocs, 'index.html'), 'home\n');
  await writeFile(join(htdocs, 'private', 'a.txt'), 'private a\n');
  await writeFile(join(htdocs, 'slow.txt'), 'slow\n');
  const users = join(dir, 'users');
  await writeFile(
    users,
    [htpasswd('alice', 'alice-pw'), htpasswd('bob', 'bob-pw'), htpasswd('slow', 'slow-pw', 'B', 12), ''].join('\n'),
  );
  const gate = join(dir, 'gate');
  const entered = join(dir, 'entered');
  // Holds a request until the gate file exists (at most 10 s, then 503 so a stuck test fails loudly).
  await writeFile(
    join(dir, 'gate.mjs'),
    `import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
export async function accessHandler() {
  writeFileSync(${JSON.stringify(entered)}, '');
  for (let i = 0; i < 500; i++) {
    if (existsSync(${JSON.stringify(gate)})) return 'ok';
    await sleep(20);
  }
  return 503;
}
`,
  );
  return { dir, htdocs, users, gate, entered };
}

function siteConf(site: { dir: string; htdocs: string; users: string }, port: number, require: string, extra = ''): string {
  return [
    `Listen 127.0.0.1:${port}`,
    `DocumentRoot "${site.htdocs}"`,
    `<Directory "${site.htdocs}/private">`,
    '    AuthType Basic',
    '    AuthName "Private area"',
    `    AuthUserFile "${site.users}"`,
    `    ${require}`,
    '</Directory>',
    '<Location "/slow.txt">',
    '    AuthTsHandler access gate.mjs',
    '    Require all granted',
    '</Location>',
    extra,
    '',
  ].join('\n');
}

async function serve(configFile: string): Promise<{ cli: CliProcess; url: string; port: number }> {
  const cli = startCli(['serve', '-f', configFile, '--workers', '1']);
  await cli.waitForStderr(/"msg":"authts serve listening"/);
  const port = listeningPort(cli.stderr());
  return { cli, url: `http://127.0.0.1:${port}`, port };
}

async function status(url: string, path: string, auth?: string): Promise<number> {
  const res = await rawRequest(url, { path, headers: auth === undefined ? {} : { Authorization: basic(auth) } });
  return res.status;
}

describe('authts check', () => {
  it('a good configuration: stdout is exactly "Syntax OK\\n", nothing on stderr, exit 0', async () => {
    const site = await makeSite('check-good');
    const conf = join(site.dir, 'good.conf');
    await writeFile(conf, siteConf(site, 8080, 'Require valid-user'));
    const result = await runCli(['check', '-f', conf]);
    expect(result).toEqual({ code: 0, signal: null, stdout: 'Syntax OK\n', stderr: '' });
  });

  it('every bad line, in the main file and in an Included one, as file:line: Directive: message (hint); exit 1', async () => {
    const dir = await tempDir('check-bad');
    const bad = join(dir, 'bad.conf');
    const included = join(dir, 'conf.d', 'extra.conf');
    await mkdir(join(dir, 'conf.d'));
    await writeFile(included, '# included\nAuthFrobnicate yes\n');
    await writeFile(
      bad,
      [
        `DocumentRoot "${dir}"`,
        'Listen 127.0.0.1:8080',
        `<Directory "${dir}/private">`,
        '    AuthType Basic',
        '    AuthName "Private"',
        `    AuthUsrFile "${dir}/users"`,
        '    Require all maybe',
        '    Listen 127.0.0.1:8081',
        '</Directory>',
        'Include conf.d/*.conf',
        '',
      ].join('\n'),
    );
    const result = await runCli(['check', '-f', bad]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      `${bad}:6: AuthUsrFile: Invalid command 'AuthUsrFile', perhaps misspelled or defined by a module not included in authts (did you mean AuthUserFile?)`,
      `${bad}:7: Require: Argument for 'Require all' must be 'granted' or 'denied'`,
      `${bad}:8: Listen: Listen cannot occur within <Directory> section`,
      `${included}:2: AuthFrobnicate: Invalid command 'AuthFrobnicate', perhaps misspelled or defined by a module not included in authts`,
      `4 errors in ${bad}`,
      '',
    ]);
  });

  it('an undefined ${VAR} is an error naming file:line; -D defines it', async () => {
    const dir = await tempDir('check-var');
    const conf = join(dir, 'vars.conf');
    await writeFile(conf, `Listen 127.0.0.1:8080\nDocumentRoot "${dir}"\n<Directory "\${SITE_UNDEFINED_E2E}/private">\n    Require all denied\n</Directory>\n`);
    const result = await runCli(['check', '-f', conf]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${escape(conf)}:3: .*Config variable \\$\\{SITE_UNDEFINED_E2E\\} is not defined`));
    expect(lines[1]).toBe(`1 error in ${conf}`);

    const defined = await runCli(['check', '-f', conf, '-D', `SITE_UNDEFINED_E2E=${dir}`]);
    expect(defined).toMatchObject({ code: 0, stdout: 'Syntax OK\n' });
  });

  it('a configuration file that does not exist: exit 1 with the path', async () => {
    const dir = await tempDir('check-missing');
    const missing = join(dir, 'nope.conf');
    const result = await runCli(['check', '-f', missing]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`Could not open configuration file ${missing}`);
  });
});

describe('bad usage: exit 2 with a message', () => {
  it('an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });

  it('check without -f', async () => {
    const result = await runCli(['check']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("required option '-f, --config <file>' not specified");
  });

  it('serve without -f', async () => {
    const result = await runCli(['serve']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("required option '-f, --config <file>' not specified");
  });

  it('demo with a port that is not a number (nothing is written or started)', async () => {
    const dir = await tempDir('demo-badport');
    const result = await runCli(['demo', '--port', 'eighty', '--dir', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("argument 'eighty' is invalid");
    expect(existsSync(join(dir, 'site.conf'))).toBe(false);
  });

  it('--help is not an error', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: authts');
  });
});

describe('authts serve', () => {
  it('serves 200/401 as configured, then SIGTERM exits 0', async () => {
    const site = await makeSite('serve');
    const conf = join(site.dir, 'site.conf');
    await writeFile(conf, siteConf(site, await freePort(), 'Require user alice'));
    const { cli, url } = await serve(conf);
    expect(await status(url, '/index.html')).toBe(200);
    const challenge = await rawRequest(url, { path: '/private/a.txt' });
    expect(challenge.status).toBe(401);
    expect(challenge.headers['www-authenticate']).toBe('Basic realm="Private area"');
    expect(await status(url, '/private/a.txt', 'alice:alice-pw')).toBe(200);
    expect(await status(url, '/private/a.txt', 'alice:wrong')).toBe(401);
    expect(await status(url, '/private/a.txt', 'bob:bob-pw')).toBe(401);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('refuses to start on a bad configuration: exit 1, every error printed, the port never bound', async () => {
    const site = await makeSite('serve-bad');
    const conf = join(site.dir, 'site.conf');
    const port = await freePort();
    await writeFile(conf, siteConf(site, port, 'Require all maybe', 'AuthBogus on'));
    const cli = startCli(['serve', '-f', conf, '--workers', '1']);
    const exit = await cli.waitForExit();
    expect(exit).toEqual({ code: 1, signal: null });
    expect(cli.stderr()).toContain(`${conf}:7: Require: Argument for 'Require all' must be 'granted' or 'denied'`);
    expect(cli.stderr()).toContain(`${conf}:13: AuthBogus: Invalid command 'AuthBogus'`);
    expect(cli.stderr()).toContain('authts serve: configuration errors, not started');
    expect(cli.stderr()).not.toContain('authts serve listening');
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
  });

  it('a Listen address already in use: exit 1 with the error, and the other Listen is released', async () => {
    const site = await makeSite('serve-inuse');
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const taken = (blocker.address() as { port: number }).port;
      const first = await freePort();
      const conf = join(site.dir, 'site.conf');
      await writeFile(conf, siteConf(site, first, 'Require valid-user', `Listen 127.0.0.1:${taken}`));
      const cli = startCli(['serve', '-f', conf, '--workers', '1']);
      expect(await cli.waitForExit()).toEqual({ code: 1, signal: null });
      expect(cli.stderr()).toContain(`authts serve: listen EADDRINUSE: address already in use 127.0.0.1:${taken}`);
      expect(await tryConnect(first)).toBe('ECONNREFUSED');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('a TypeScript AuthTsHandler runs in the real process (tsx), and an edit on disk is used by the next request', async () => {
    const site = await makeSite('serve-ts');
    const handler = join(site.dir, 'office.ts');
    const write = async (answer: string, bump: number): Promise<void> => {
      await writeFile(
        handler,
        `import type { AuthRequest, PhaseResult } from ${JSON.stringify(join(CLI, '..', '..', 'request.js'))};
interface Rule { readonly prefix: string; readonly answer: PhaseResult }
const rule: Rule = { prefix: '/private/', answer: ${answer} };
export function accessHandler(req: AuthRequest): PhaseResult {
  return req.path.startsWith(rule.prefix) ? rule.answer : 'ok';
}
`,
      );
      const when = new Date(Date.now() + bump * 1_000);
      await utimes(handler, when, when);
    };
    await write('403', 0);
    const conf = join(site.dir, 'site.conf');
    await writeFile(conf, siteConf(site, await freePort(), 'Require valid-user', '<Location "/">\n    AuthTsHandler access office.ts\n</Location>'));
    const { cli, url } = await serve(conf);
    expect(await status(url, '/index.html')).toBe(200);
    expect(await status(url, '/private/a.txt', 'alice:alice-pw')).toBe(403);
    await write("'ok'", 10);
    expect(await status(url, '/private/a.txt', 'alice:alice-pw')).toBe(200);
    expect(await status(url, '/private/a.txt')).toBe(401);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('SIGHUP reloads: the new rule applies, a request in flight completes, a broken config keeps the old one', async () => {
    const site = await makeSite('reload');
    const conf = join(site.dir, 'site.conf');
    const port = await freePort();
    await writeFile(conf, siteConf(site, port, 'Require user alice slow'));
    const { cli, url } = await serve(conf);
    expect(await status(url, '/private/a.txt', 'alice:alice-pw')).toBe(200);
    expect(await status(url, '/private/a.txt', 'bob:bob-pw')).toBe(401);

    // A request held in the access phase while the configuration is replaced.
    const held = rawRequest(url, { path: '/slow.txt' });
    await waitFor('the held request to reach its handler', () => existsSync(site.entered));
    // And one verifying a bcrypt cost-12 password (~250 ms) when the signal comes.
    const slow = rawRequest(url, { path: '/private/a.txt', headers: { Authorization: basic('slow:slow-pw') } });
    await new Promise((r) => setTimeout(r, 50));

    await writeFile(conf, siteConf(site, port, 'Require user bob slow'));
    cli.signal('SIGHUP');
    await cli.waitForStderr(/"msg":"configuration reloaded"/);
    await writeFile(site.gate, '');
    expect((await held).status).toBe(200);
    expect((await slow).status).toBe(200);
    expect(await status(url, '/private/a.txt', 'alice:alice-pw')).toBe(401);
    expect(await status(url, '/private/a.txt', 'bob:bob-pw')).toBe(200);

    // A broken configuration: errors logged with file:line, the previous one keeps serving.
    await writeFile(conf, siteConf(site, port, 'Require user alice', 'AuthUsrFile users'));
    cli.signal('SIGHUP');
    await cli.waitForStderr(/reload failed: the previous configuration keeps serving/);
    const failed = cli
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"code":"CONFIG_UNKNOWN_DIRECTIVE"'))
      .map((l) => JSON.parse(l) as { file: string; line: number; msg: string; level: number });
    expect(failed).toEqual([
      expect.objectContaining({
        level: 50,
        file: conf,
        line: 13,
        msg: `${conf}:13: AuthUsrFile: Invalid command 'AuthUsrFile', perhaps misspelled or defined by a module not included in authts (did you mean AuthUserFile?)`,
      }),
    ]);
    expect(await status(url, '/private/a.txt', 'alice:alice-pw')).toBe(401);
    expect(await status(url, '/private/a.txt', 'bob:bob-pw')).toBe(200);

    // A configuration file that vanished: the same.
    await rm(conf);
    cli.signal('SIGHUP');
    await cli.waitForStderr(/reload failed: the previous configuration keeps serving/, 2);
    expect(await status(url, '/private/a.txt', 'bob:bob-pw')).toBe(200);

    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM drains: requests in flight complete, new connections are refused, exit 0 promptly', async () => {
    const site = await makeSite('drain');
    await writeFile(join(site.htdocs, 'big.bin'), Buffer.alloc(20 * 1024 * 1024, 0x61));
    const conf = join(site.dir, 'site.conf');
    await writeFile(conf, siteConf(site, await freePort(), 'Require valid-user'));
    const { cli, url, port } = await serve(conf);

    // 1. a request held in the access phase;
    const held = rawRequest(url, { path: '/slow.txt' });
    await waitFor('the held request to reach its handler', () => existsSync(site.entered));
    // 2. a download on a keep-alive connection, its headers received, its body not yet read.
    const agent = new Agent({ keepAlive: true });
    const download = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port, path: '/big.bin', agent }, resolve).on('error', reject).end();
    });
    download.pause();
    expect(download.statusCode).toBe(200);
    expect(download.headers['connection']).toBe('keep-alive');

    cli.signal('SIGTERM');
    await cli.waitForStderr(/draining requests in flight, then exiting/);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');

    await writeFile(site.gate, '');
    const heldResponse = await held;
    expect(heldResponse.status).toBe(200);
    expect(heldResponse.body).toBe('slow\n');
    let bytes = 0;
    const ended = new Promise<void>((resolve, reject) => {
      download.on('data', (chunk: Buffer) => (bytes += chunk.length));
      download.once('end', resolve);
      download.once('error', reject);
    });
    download.resume();
    await ended;
    expect(bytes).toBe(20 * 1024 * 1024);
    // The kept-alive connection is closed once its response is done, so the exit does not wait
    // for the keep-alive timeout (5 s).
    expect(await cli.waitForExit(4_000)).toEqual({ code: 0, signal: null });
    agent.destroy();
  });
});

describe('authts demo', () => {
  it('prints the URL and credentials, serves /, /private/ (htpasswd and SQLite users) and /private/admin/ as described, SIGTERM exits 0', async () => {
    const dir = await tempDir('demo');
    const port = await freePort();
    const cli = startCli(['demo', '--port', String(port), '--dir', dir]);
    await cli.waitForStderr(/"msg":"authts serve listening"/, 1, 10_000);
    expect(cli.stdout()).toBe(
      `authts demo: http://127.0.0.1:${port}/ (public) and http://127.0.0.1:${port}/private/ (user "demo", password "demo")\n` +
        `SQLite users too (${join(dir, 'users.db')}, no server needed): user "sam", password "sam" (also admin)\n` +
        `configuration: ${join(dir, 'site.conf')}\n`,
    );
    const url = `http://127.0.0.1:${port}`;
    const home = await rawRequest(url, { path: '/' });
    expect(home.status).toBe(200);
    expect(home.body).toContain('This page is public.');
    const challenge = await rawRequest(url, { path: '/private/' });
    expect(challenge.status).toBe(401);
    expect(challenge.headers['www-authenticate']).toBe('Basic realm="authts demo"');
    const inside = await rawRequest(url, { path: '/private/', headers: { Authorization: basic('demo:demo') } });
    expect(inside.status).toBe(200);
    expect(inside.body).toContain('You are in.');
    expect(await status(url, '/private/', 'demo:wrong')).toBe(401);
    expect(await status(url, '/private/admin/', 'demo:demo')).toBe(401);
    expect(await status(url, '/private/admin/', 'root:root-demo')).toBe(200);
    // From SQLite (AuthBasicProvider file dbd; Require dbd-group admins).
    expect(await status(url, '/private/', 'sam:sam')).toBe(200);
    expect(await status(url, '/private/', 'sam:wrong')).toBe(401);
    expect(await status(url, '/private/admin/', 'sam:sam')).toBe(200);
    expect(await status(url, '/private/', 'eve:eve-demo')).toBe(200);
    expect(await status(url, '/private/admin/', 'eve:eve-demo')).toBe(401);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toEqual({ code: 0, signal: null });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
