/**
 * `authts explain` as users run it: the built CLI (`node dist/cli/authts.js explain …`, built by
 * `npm test` first) on conf-examples/require-trees and on sites made here (Bearer, ProxyPass,
 * forward-auth), checking the report, the exit codes, that no secret is printed, and that its
 * final status is what `authts serve` answers for the same request.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { ExplainReport, TreeNodeShown } from '../../src/explain/explain.js';
import { silentLogger } from '../../src/log.js';
import { closePasswordWorkers } from '../../src/passwords/crypt-pool.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { mintHmac } from '../helpers/jwt.js';
import { rawRequest } from '../services/http-client.js';
import { basic, CLI, htpasswd, REPO, removeTempDirs, tempDir } from './helpers.js';

const TREES = join(REPO, 'conf-examples', 'require-trees', 'site.conf');
const JWT_SECRET = 'an-hmac-secret-for-explain-tests-of-32+-bytes';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `authts explain …args` to its end (bounded), optionally writing `stdin`. */
function explain(args: readonly string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'explain', ...args], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, AUTHTS_LOG_LEVEL: 'info' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`authts explain ${args.join(' ')} did not end within 20 s; stderr:\n${stderr}`));
    }, 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

/** `explain --json …`: the parsed report, with the exit code. */
async function explainJson(args: readonly string[], stdin?: string): Promise<{ code: number | null; report: ExplainReport; stderr: string }> {
  const run = await explain(['--json', ...args], stdin);
  if (run.stdout === '') throw new Error(`no report (exit ${run.code}); stderr:\n${run.stderr}`);
  return { code: run.code, report: JSON.parse(run.stdout) as ExplainReport, stderr: run.stderr };
}

/** A Writable that appends what it is given to a string. */
function sink(append: (s: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      append(chunk.toString());
      done();
    },
  });
}

/**
 * `main(['explain', …args])` in this process, for the tables below (the same code as the
 * built CLI, without a process start per row); no terminal, `stdin` as standard input.
 */
async function explainHere(args: readonly string[], stdin = ''): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const input = new PassThrough();
  input.end(stdin);
  const code = await main(['explain', ...args], {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    stdin: input,
    openTerminal: () => undefined,
  });
  return { code, stdout, stderr };
}

/** The tree as [depth, text, userless, user] rows, in order. */
function rows(node: TreeNodeShown | null, depth = 0, out: [number, string, string | null, string | null][] = []): typeof out {
  if (node === null) return out;
  out.push([depth, node.text, node.userless, node.user]);
  for (const child of node.children ?? []) rows(child, depth + 1, out);
  return out;
}

let site: string;

beforeAll(async () => {
  site = await tempDir('explain');
  await writeFile(join(site, 'users'), `${htpasswd('carol', 'carol-pw-1234')}\n`);
  await writeFile(join(site, 'jwt-secret'), `${JWT_SECRET}\n`);
  await writeFile(
    join(site, 'site.conf'),
    `Listen 127.0.0.1:8099
AuthTsForwardAuth /_authts
AuthTsTrustedProxy 127.0.0.1

ProxyPass /app http://127.0.0.1:9/backend
<Location "/app">
    AuthType Basic
    AuthName "App"
    AuthUserFile users
    Require valid-user
</Location>

<Location "/api">
    AuthType Bearer
    AuthName "api"
    AuthBearerProvider jwt
    AuthTsJwtSecret file:jwt-secret
    AuthTsJwtAlgorithms HS256
    Require jwt-scope read
</Location>

<Location "/fa">
    AuthType Basic
    AuthName "Forwarded"
    AuthUserFile users
    Require user carol
</Location>
`,
  );
  await writeFile(join(site, 'broken.conf'), 'Listen 127.0.0.1:8099\n<Location "/x">\n    Require nosuchprovider x\n</Location>\nAuthType\n');
});

afterAll(async () => {
  await removeTempDirs();
  await closePasswordWorkers();
});

describe('authts explain on conf-examples/require-trees', () => {
  it('asks for credentials on /staff/: the tree without a user, the challenge, exit 1', async () => {
    const { code, report } = await explainJson(['-f', TREES, 'GET', '/staff/']);
    expect(code).toBe(1);
    expect(report.status).toBe(401);
    expect(report.allowed).toBe(false);
    expect(report.headers).toEqual({ 'WWW-Authenticate': 'Basic realm="Staff"' });
    expect(report.decidedBy).toBeNull();
    expect(report.sections.map((s) => [s.kind, s.line])).toEqual([
      ['directory', 9],
      ['directory', 15],
    ]);
    expect(rows(report.tree)).toEqual([
      [0, 'implicit <RequireAny> of a section', 'denied-no-user', null],
      [1, '<RequireAll>', 'denied-no-user', null],
      [2, '<RequireAny>', 'granted', null],
      [3, 'Require ip 192.0.2.0/24', 'denied', null],
      [3, 'Require local', 'granted', null],
      [2, 'Require group staff', 'denied-no-user', null],
      // RequireNone: the denied-no-user of its line becomes neutral.
      [2, '<RequireNone>', 'neutral', null],
      [3, 'Require user mallory', 'denied-no-user', null],
    ]);
    expect(report.phases).toEqual([
      { step: 'require-userless', outcome: 'denied-no-user: authentication needed' },
      { step: 'authn', outcome: 'no user authenticated: 401' },
    ]);
  });

  it('allows alice with the right password: the user pass decides, exit 0', async () => {
    const { code, report } = await explainJson(['-f', TREES, '--user', 'alice', '--password-stdin', 'GET', '/staff/'], 'alice-secret\n');
    expect(code).toBe(0);
    expect(report.status).toBe(200);
    expect(report.user).toBe('alice');
    expect(report.authType).toBe('Basic');
    expect(report.decidedBy).toBe('user');
    expect(rows(report.tree).map((r) => r[3])).toEqual(['granted', 'granted', 'granted', 'denied', 'granted', 'granted', 'neutral', 'denied']);
    expect(report.providers.filter((p) => p.pass === 'authn')).toEqual([expect.objectContaining({ kind: 'authn', provider: 'file', result: 'granted' })]);
    expect(report.next).toMatch(/^a directory: serves its DirectoryIndex \(index\.html\)/);
  });

  it('refuses alice with a wrong password: the provider says denied, 401, no user pass', async () => {
    const { code, report } = await explainJson(['-f', TREES, '--user', 'alice', '--password', 'not-her-password', 'GET', '/staff/']);
    expect(code).toBe(1);
    expect(report.status).toBe(401);
    expect(report.user).toBeNull();
    expect(report.phases[1]).toEqual({ step: 'authn', outcome: 'user "alice" not authenticated: 401' });
    expect(report.providers.filter((p) => p.pass === 'authn').map((p) => p.result)).toEqual(['denied']);
    expect(report.providers.some((p) => p.pass === 'user')).toBe(false);
    expect(report.headers['WWW-Authenticate']).toBe('Basic realm="Staff"');
  });

  it('refuses mallory through <RequireNone>: the negated line is granted, so the container is denied', async () => {
    const { code, report } = await explainJson(['-f', TREES, '--user', 'mallory', '--password', 'mallory-secret', 'GET', '/staff/']);
    expect(code).toBe(1);
    expect(report.status).toBe(401);
    expect(report.decidedBy).toBe('user');
    const tree = rows(report.tree);
    expect(tree.find((r) => r[1] === 'Require user mallory')?.[3]).toBe('granted');
    expect(report.providers.find((p) => p.pass === 'user' && p.require === 'Require user mallory')?.result).toBe('granted');
    expect(tree.find((r) => r[1] === '<RequireNone>')?.[3]).toBe('denied');
    expect(tree[0]?.[3]).toBe('denied');
    expect(report.log).toContainEqual({ level: 'info', msg: 'authorization failure' });
  });

  it('decides a POST on /staff/reports/ in the userless pass: AuthMerging And with a denied expr is 403', async () => {
    const { code, report } = await explainJson(['-f', TREES, '--user', 'alice', '--password', 'alice-secret', 'POST', '/staff/reports/q1.txt']);
    expect(code).toBe(1);
    expect(report.status).toBe(403);
    expect(report.headers).toEqual({});
    expect(report.decidedBy).toBe('userless');
    expect(report.tree?.text).toBe('AuthMerging And');
    expect(report.tree?.userless).toBe('denied');
    // The credentials were never checked.
    expect(report.providers.some((p) => p.pass === 'authn')).toBe(false);
  });

  it('grants /staff/board/ with the board key header alone (AuthMerging Or)', async () => {
    const { code, report } = await explainJson(['-f', TREES, '--header', 'X-Board-Key: open-sesame', 'GET', '/staff/board/notes.txt']);
    expect(code).toBe(0);
    expect(report.decidedBy).toBe('userless');
    expect(report.tree?.text).toBe('AuthMerging Or');
    expect(report.request.headers).toEqual({ 'x-board-key': 'open-sesame' });
    expect(report.next).toBe('serves the file');
  });

  it('uses --ip for Require ip and Require local', async () => {
    const inside = await explainJson(['-f', TREES, '--ip', '192.0.2.7', 'GET', '/staff/']);
    const inner = rows(inside.report.tree);
    expect(inner.find((r) => r[1] === 'Require ip 192.0.2.0/24')?.[2]).toBe('granted');
    // The <RequireAny> stops at its first grant: Require local is not evaluated.
    expect(inner.find((r) => r[1] === 'Require local')?.[2]).toBeNull();
    expect(inside.report.request.remoteAddress).toBe('192.0.2.7');

    const outside = await explainJson(['-f', TREES, '--ip', '198.51.100.9', 'GET', '/staff/']);
    expect(outside.code).toBe(1);
    expect(outside.report.status).toBe(403);
    expect(outside.report.decidedBy).toBe('userless');
    const outer = rows(outside.report.tree);
    expect(outer.find((r) => r[1] === 'Require ip 192.0.2.0/24')?.[2]).toBe('denied');
    expect(outer.find((r) => r[1] === 'Require local')?.[2]).toBe('denied');
    expect(outer.find((r) => r[1] === '<RequireAll>')?.[2]).toBe('denied');
  });

  it('refuses a target that climbs above the root with 400 before any phase', async () => {
    const { code, report } = await explainJson(['-f', TREES, 'GET', '/staff/../../etc/passwd']);
    expect(code).toBe(1);
    expect(report.status).toBe(400);
    expect(report.normalized).toEqual({ ok: false, status: 400, reason: 'path climbs above the root' });
    expect(report.sections).toEqual([]);
    expect(report.tree).toBeNull();
  });

  it('normalizes the path and maps it as serve does; an https URL means TLS and its host is the Host header', async () => {
    const { report } = await explainJson(['-f', TREES, 'GET', 'https://files.example:8443/staff/./x/..//holidays.txt?y=1']);
    expect(report.request.tls).toBe(true);
    expect(report.request.headers['host']).toBe('files.example:8443');
    expect(report.normalized).toEqual({ ok: true, path: '/staff/holidays.txt', query: 'y=1' });
    expect(report.route).toEqual({
      kind: 'file',
      documentRoot: join(REPO, 'conf-examples', 'require-trees', 'htdocs'),
      filename: join(REPO, 'conf-examples', 'require-trees', 'htdocs', 'staff', 'holidays.txt'),
      pathInfo: '',
      exists: true,
      isDirectory: false,
    });
    expect(report.sections.map((s) => s.kind)).toEqual(['directory', 'directory', 'location']);
    expect(report.status).toBe(200);
  });

  it('maps a missing path as the directory walk ends: the first missing component, then path info', async () => {
    const { report } = await explainJson(['-f', TREES, 'GET', '/staff/ghost/deeper/x.txt']);
    expect(report.route).toEqual({
      kind: 'file',
      documentRoot: join(REPO, 'conf-examples', 'require-trees', 'htdocs'),
      filename: join(REPO, 'conf-examples', 'require-trees', 'htdocs', 'staff', 'ghost'),
      pathInfo: '/deeper/x.txt',
      exists: false,
      isDirectory: false,
    });
    const text = await explain(['-f', TREES, 'GET', '/staff/ghost/deeper/x.txt']);
    expect(text.stdout).toContain('/staff/ghost (does not exist; path info /deeper/x.txt, seen by no section)\n');
  });

  it('prints the text report: sections with file:line, the tree with both passes, answers, status and headers', async () => {
    const run = await explain(['-f', TREES, '--user', 'bob', '--password', 'bob-secret', 'GET', '/staff/']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    const out = run.stdout;
    expect(out).toContain('request: GET /staff/ from 127.0.0.1\n');
    expect(out).toContain('  credentials: Basic, user "bob", password (hidden, 10 bytes)\n');
    expect(out).toMatch(/1\. <Directory "[^"]*\/require-trees\/htdocs">\s+conf-examples\/require-trees\/site\.conf:9\n/);
    expect(out).toMatch(/decided by the user pass/);
    expect(out).toMatch(/\n {6}Require group staff\s+denied-no-user\s+denied\s+conf-examples\/require-trees\/site\.conf:25\n/);
    expect(out).toMatch(/\n {2}authn\s+file\s+granted\s+[0-9.]+ ms\n/);
    expect(out).toContain('  authentication: user "bob" authenticated (Basic)\n');
    expect(out).toContain('  status: 401 Unauthorized (refused)\n  WWW-Authenticate: Basic realm="Staff"\n');
  });
});

describe('docs/explain.md', () => {
  it('shows the output of a real run of its example (durations aside)', async () => {
    const doc = await readFile(join(REPO, 'docs', 'explain.md'), 'utf8');
    const command = '$ echo mallory-secret | npx authts explain -f conf-examples/require-trees/site.conf --user mallory --password-stdin GET /staff/\n';
    const start = doc.indexOf(command);
    const end = doc.indexOf('$ echo $?\n1\n', start);
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const shown = doc.slice(start + command.length, end);
    const run = await explain(['-f', 'conf-examples/require-trees/site.conf', '--user', 'mallory', '--password-stdin', 'GET', '/staff/'], 'mallory-secret\n');
    expect(run.code).toBe(1);
    // Durations differ from run to run, and so does the width of their column.
    const steady = (text: string) => text.replace(/ +[0-9]+\.[0-9] ms +/g, ' N ms ').replace(/ +[0-9]+\.[0-9] ms$/gm, ' N ms');
    expect(steady(run.stdout)).toBe(steady(shown));
  });
});

describe('authts explain: Bearer, ProxyPass, forward-auth', () => {
  const conf = () => join(site, 'site.conf');

  it('checks a Bearer token with the real JWT provider and hides it', async () => {
    const token = await mintHmac(Buffer.from(JWT_SECRET), { sub: 'svc-1', scope: 'read write' });
    const run = await explain(['-f', conf(), '--json', '--token', token, 'GET', '/api/items']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain(token);
    const report = JSON.parse(run.stdout) as ExplainReport;
    expect(report.user).toBe('svc-1');
    expect(report.authType).toBe('Bearer');
    expect(report.request.credentials).toEqual({ scheme: 'bearer', token: `(hidden, ${token.length} bytes)` });
    expect(report.providers.map((p) => [p.pass, p.provider, p.result])).toEqual([
      ['userless', 'jwt-scope', 'denied-no-user'],
      ['authn', 'jwt', 'granted'],
      ['user', 'jwt-scope', 'granted'],
    ]);

    const narrow = await mintHmac(Buffer.from(JWT_SECRET), { sub: 'svc-2', scope: 'write' });
    const refused = await explainJson(['-f', conf(), '--token', narrow, 'GET', '/api/items']);
    expect(refused.code).toBe(1);
    expect(refused.report.status).toBe(403);
    expect(refused.report.headers['WWW-Authenticate']).toMatch(/error="insufficient_scope"/);

    const forged = await explainJson(['-f', conf(), '--token', `${token.slice(0, -4)}AAAA`, 'GET', '/api/items']);
    expect(forged.report.status).toBe(401);
    expect(forged.report.headers['WWW-Authenticate']).toMatch(/error="invalid_token"/);
  });

  it('says when a URL is a ProxyPass route, and decides it on <Location> only, without connecting', async () => {
    const { code, report } = await explainJson(['-f', conf(), '--user', 'carol', '--password', 'carol-pw-1234', 'GET', '/app/a%20b?q=1']);
    expect(code).toBe(0);
    expect(report.route).toEqual({ kind: 'proxy', prefix: '/app', upstream: 'http://127.0.0.1:9/backend/a%20b?q=1', file: conf(), line: 5 });
    expect(report.sections.map((s) => [s.kind, s.pattern])).toEqual([['location', '/app']]);
    expect(report.next).toBe('proxied to http://127.0.0.1:9/backend/a%20b?q=1');
    const text = await explain(['-f', conf(), 'GET', '/app/x']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('ProxyPass /app');
    expect(text.stdout).toContain('proxied to http://127.0.0.1:9/backend/x');
  });

  it('decides a forward-auth request as serve does: trusted peer only, the original request decided', async () => {
    const describe = ['--header', 'X-Original-URI: /fa/page', '--header', 'X-Original-Method: GET'];
    const asked = await explainJson(['-f', conf(), ...describe, '--user', 'carol', '--password', 'carol-pw-1234', 'GET', '/_authts']);
    expect(asked.code).toBe(0);
    expect(asked.report.route).toEqual({
      kind: 'forward-auth',
      endpoint: '/_authts',
      original: { style: 'nginx', method: 'GET', target: '/fa/page', clientAddress: '', tls: false },
    });
    expect(asked.report.user).toBe('carol');

    const untrusted = await explainJson(['-f', conf(), ...describe, '--ip', '192.0.2.50', 'GET', '/_authts']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.report.status).toBe(403);
    expect(untrusted.report.phases[0]?.outcome).toMatch(/^FORWARD_AUTH_UNTRUSTED: /);
  });
});

describe('authts explain: --tls and --ip reach the expressions', () => {
  it('%{HTTPS} is on with --tls or an https URL, off otherwise; %{REMOTE_ADDR} is --ip', async () => {
    const file = join(site, 'tls.conf');
    await writeFile(file, `<Location "/">\n    Require expr "%{HTTPS} == 'on' && %{REMOTE_ADDR} == '2001:db8::7'"\n</Location>\n`);
    const plain = await explainHere(['-f', file, '--ip', '2001:db8::7', 'GET', '/x']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toContain('status: 403 Forbidden (refused)');
    const flag = await explainHere(['-f', file, '--ip', '2001:db8::7', '--tls', 'GET', '/x']);
    expect(flag.code).toBe(0);
    expect(flag.stdout).toContain('request: GET /x from 2001:db8::7 over TLS\n');
    const url = await explainHere(['-f', file, '--ip', '2001:db8::7', 'GET', 'https://example.org/x']);
    expect(url.code).toBe(0);
    const otherIp = await explainHere(['-f', file, '--ip', '2001:db8::8', '--tls', 'GET', '/x']);
    expect(otherIp.code).toBe(1);
  });
});

describe('authts explain starts no server', () => {
  it('decides under a configuration whose Listen address is taken (serve could not start there)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const file = join(site, 'taken.conf');
      await writeFile(file, `Listen 127.0.0.1:${port}\n<Location "/">\n    Require all granted\n</Location>\n`);
      const run = await explain(['-f', file, 'GET', '/anything']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('status: 200 OK (allowed)');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('authts explain keeps secrets out of its output', () => {
  const password = 'Zq9-very-secret-pw';
  const attempts: [string, string[], string?][] = [
    ['--password, wrong', ['--user', 'alice', '--password', password, 'GET', '/staff/']],
    ['--password-stdin, wrong', ['--user', 'alice', '--password-stdin', 'GET', '/staff/'], `${password}\n`],
    ['unknown user', ['--user', 'nobody', '--password', password, 'GET', '/staff/']],
    ['Authorization via --header', ['--header', `Authorization: Basic ${Buffer.from(`alice:${password}`).toString('base64')}`, 'GET', '/staff/']],
  ];
  for (const [name, args, stdin] of attempts) {
    for (const json of [false, true]) {
      it(`${name}${json ? ' (--json)' : ''}: neither the password nor its base64 is printed`, async () => {
        const run = await explain(['-f', TREES, ...(json ? ['--json'] : []), ...args], stdin);
        expect(run.code).toBe(1);
        const all = run.stdout + run.stderr;
        expect(all).toContain('401');
        expect(all).not.toContain(password);
        expect(all).not.toContain(Buffer.from(`alice:${password}`).toString('base64'));
        expect(all).not.toContain(Buffer.from(`nobody:${password}`).toString('base64'));
      });
    }
  }

  it('prompts for the password when none is given (main in-process, no terminal: prompt on stderr)', async () => {
    const run = await explainHere(['-f', TREES, '--user', 'alice', 'GET', '/staff/'], 'alice-secret\n');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('Password for alice: ');
    expect(run.stdout).toContain('status: 200 OK (allowed)');
    expect(run.stdout).not.toContain('alice-secret');
  });
});

describe('authts explain: usage and configuration errors exit 2', () => {
  it('prints each configuration error with file:line, as authts check', async () => {
    const run = await explain(['-f', join(site, 'broken.conf'), 'GET', '/x']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`${join(site, 'broken.conf')}:3: Require: Unknown Authz provider: nosuchprovider`);
    expect(run.stderr).toMatch(/broken\.conf:5: AuthType: /);
    expect(run.stderr).toMatch(/2 errors in .*broken\.conf\n$/);
  });

  const cases: [string[], RegExp][] = [
    [['-f', join(REPO, 'no-such-dir', 'nope.conf'), 'GET', '/'], /no-such-dir\/nope\.conf/],
    [['-f', TREES, '--user', 'a', '--token', 't', 'GET', '/'], /give --user or --token, not both/],
    [['-f', TREES, '--password', 'x', 'GET', '/'], /--password and --password-stdin need --user/],
    [['-f', TREES, '--ip', '300.1.1.1', 'GET', '/'], /--ip 300\.1\.1\.1: expected an IPv4 or IPv6 address/],
    [['-f', TREES, '--header', 'no colon', 'GET', '/'], /expected "Name: value"/],
    [['-f', TREES, 'G E T', '/'], /is not an HTTP method/],
    [['-f', TREES, 'GET', 'ftp://example/x'], /URL scheme ftp/],
    [['-f', TREES, 'GET', 'http://u:p@example/x'], /use --user/],
    [['-f', TREES, 'GET'], /missing required argument 'url'/],
    [['-f', TREES, '--password', 'x', '--password-stdin', '--user', 'a', 'GET', '/'], /give --password or --password-stdin, not both/],
    [['-f', TREES, '--user', 'a:b', '--password', 'x', 'GET', '/'], /a Basic user name cannot contain ":"/],
    [['-f', TREES, '--user', 'a', '--password', 'x', '--header', 'Authorization: Basic eA==', 'GET', '/'], /cannot be combined with --user/],
  ];
  for (const [args, message] of cases) {
    it(`exit 2 for ${args.slice(2).join(' ')}`, async () => {
      const run = await explainHere(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    });
  }

  it('the built CLI exits 2 on a usage error too', async () => {
    const run = await explain(['-f', TREES, '--ip', 'not-an-ip', 'GET', '/']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('authts explain: --ip not-an-ip: expected an IPv4 or IPv6 address\n');
  });
});

describe('explain decides what authts serve answers', () => {
  let server: RunningServer;
  let base: string;

  beforeAll(async () => {
    server = await startServer({ configFile: TREES, logger: silentLogger, listen: [{ host: '127.0.0.1', port: 0 }] });
    base = `http://127.0.0.1:${server.addresses[0]!.port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  const cases: { method: string; path: string; user?: [string, string]; headers?: Record<string, string> }[] = [
    { method: 'GET', path: '/' },
    { method: 'GET', path: '/staff/' },
    { method: 'GET', path: '/staff/', user: ['alice', 'alice-secret'] },
    { method: 'GET', path: '/staff/', user: ['alice', 'wrong'] },
    { method: 'GET', path: '/staff/', user: ['bob', 'bob-secret'] },
    { method: 'GET', path: '/staff/', user: ['mallory', 'mallory-secret'] },
    { method: 'POST', path: '/staff/reports/q1.txt', user: ['alice', 'alice-secret'] },
    { method: 'GET', path: '/staff/board/notes.txt', headers: { 'X-Board-Key': 'open-sesame' } },
    { method: 'GET', path: '/staff/holidays.txt' },
    { method: 'GET', path: '/staff/%2e%2e/%2e%2e/x' },
    { method: 'GET', path: '/staff%2fholidays.txt' },
  ];
  for (const c of cases) {
    it(`${c.method} ${c.path}${c.user ? ` as ${c.user[0]}:${c.user[1]}` : ''}${c.headers ? ' with a header' : ''}`, async () => {
      const headers: Record<string, string> = { ...c.headers };
      if (c.user) headers['Authorization'] = basic(`${c.user[0]}:${c.user[1]}`);
      const served = await rawRequest(base, { method: c.method, path: c.path, headers, ...(c.method === 'POST' ? { body: '' } : {}) });
      const args = ['-f', TREES, c.method, c.path];
      for (const [name, value] of Object.entries(c.headers ?? {})) args.unshift('--header', `${name}: ${value}`);
      if (c.user) args.unshift('--user', c.user[0], '--password', c.user[1]);
      const run = await explainHere(['--json', ...args]);
      const report = JSON.parse(run.stdout) as ExplainReport;
      const code = run.code;
      expect(report.status).toBe(served.status);
      expect(code).toBe(served.status === 200 ? 0 : 1);
      expect(report.headers['WWW-Authenticate']).toBe(served.headers['www-authenticate']);
    });
  }
});
