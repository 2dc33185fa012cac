/**
 * Proves the private-httpd harness (test/services/httpd.ts) and the raw client
 * (test/services/http-client.ts) against Debian's real apache2 and htpasswd.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './http-client.js';
import { httpdConfigTest, startHttpd, type HttpdInstance } from './httpd.js';

const run = promisify(execFile);
const HTPASSWD = '/usr/bin/htpasswd';
const basic = (userPass: string): string => `Basic ${Buffer.from(userPass).toString('base64')}`;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('startHttpd: Basic auth on a <Directory>, fixtures made by the real htpasswd', () => {
  let fixtures = '';
  let docroot = '';
  let httpd: HttpdInstance | undefined;

  beforeAll(async () => {
    // mkdtemp makes a 0700 directory: httpd's children (www-data when we run as root) could not
    // read the htpasswd file or DocumentRoot inside it, so open it up.
    fixtures = await mkdtemp(join(tmpdir(), 'authts-httpd-fixtures-'));
    await chmod(fixtures, 0o755);
    docroot = join(fixtures, 'docs');
    await mkdir(join(docroot, 'private'), { recursive: true });
    await writeFile(join(docroot, 'public.txt'), 'public body\n');
    await writeFile(join(docroot, 'private', 'secret.txt'), 'secret body\n');
    const users = join(fixtures, 'users.htpasswd');
    await run(HTPASSWD, ['-b', '-c', users, 'alice', 's3cret']);
    await run(HTPASSWD, ['-b', '-B', users, 'bob', 'hunter2']);
    await chmod(users, 0o644);
    httpd = await startHttpd({
      documentRoot: docroot,
      config: [
        `<Directory "${docroot}/private">`,
        '  AuthType Basic',
        '  AuthName "Private area"',
        `  AuthUserFile "${users}"`,
        '  Require valid-user',
        '</Directory>',
      ].join('\n'),
    });
  });

  afterAll(async () => {
    await httpd?.stop();
    if (fixtures) await rm(fixtures, { recursive: true, force: true });
  });

  const h = (): HttpdInstance => {
    if (!httpd) throw new Error('httpd did not start');
    return httpd;
  };

  it('listens on 127.0.0.1 and exposes its pid and directory', async () => {
    expect(h().url).toBe(`http://127.0.0.1:${h().port}`);
    expect(isRunning(h().pid)).toBe(true);
    expect(await exists(join(h().dir, 'httpd.conf'))).toBe(true);
    expect((await stat(h().dir)).mode & 0o777).toBe(0o755);
  });

  it('answers 401 with the Basic challenge when no credentials are sent', async () => {
    const res = await rawRequest(h().url, { path: '/private/secret.txt' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Basic realm="Private area"');
    // LogLevel authz_core:debug shows the Require evaluation.
    expect(await h().errorLog()).toContain('AH01626: authorization result of Require valid-user : denied (no authenticated user yet)');
  });

  it('answers 200 with the body for the right password (crypt-MD5 and bcrypt entries)', async () => {
    const alice = await rawRequest(h().url, { path: '/private/secret.txt', headers: { Authorization: basic('alice:s3cret') } });
    expect(alice.status).toBe(200);
    expect(alice.body).toBe('secret body\n');
    expect(alice.headers['www-authenticate']).toBeUndefined();
    const bob = await rawRequest(h().url, { path: '/private/secret.txt', headers: { Authorization: basic('bob:hunter2') } });
    expect(bob.status).toBe(200);
  });

  it('answers 401 for a wrong password and for an unknown user', async () => {
    for (const cred of ['alice:wrong', 'mallory:s3cret', 'alice:']) {
      const res = await rawRequest(h().url, { path: '/private/secret.txt', headers: { Authorization: basic(cred) } });
      expect(res.status, cred).toBe(401);
      expect(res.headers['www-authenticate'], cred).toBe('Basic realm="Private area"');
    }
  });

  it('serves a public file without credentials', async () => {
    const res = await rawRequest(h().url, { path: '/public.txt' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('public body\n');
  });

  it('records the user httpd saw in the access log (%u)', async () => {
    const res = await rawRequest(h().url, { path: '/private/secret.txt?log-probe', headers: { Authorization: basic('alice:s3cret') } });
    expect(res.status).toBe(200);
    // The log line is written after the response is sent: poll briefly.
    let log = '';
    for (let i = 0; i < 50 && !log.includes('log-probe'); i++) {
      log = await h().accessLog();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(log).toContain('127.0.0.1 "alice" "GET /private/secret.txt?log-probe HTTP/1.1" 200');
  });

  it('sends the path verbatim: httpd itself resolves dot segments and %-escapes', async () => {
    const dotted = await rawRequest(h().url, { path: '/private/../public.txt' });
    expect(dotted.status).toBe(200);
    expect(dotted.body).toBe('public body\n');
    const escaped = await rawRequest(h().url, { path: '/%70rivate/secret.txt' });
    expect(escaped.status).toBe(401);
  });

  it('sends duplicate Authorization lines (httpd joins them; the first credentials decide)', async () => {
    const goodFirst = await rawRequest(h().url, {
      path: '/private/secret.txt',
      headers: [
        ['Authorization', basic('alice:s3cret')],
        ['Authorization', basic('alice:wrong')],
      ],
    });
    expect(goodFirst.status).toBe(200);
    const badFirst = await rawRequest(h().url, {
      path: '/private/secret.txt',
      headers: [
        ['Authorization', basic('alice:wrong')],
        ['Authorization', basic('alice:s3cret')],
      ],
    });
    expect(badFirst.status).toBe(401);
  });

  it('sends huge headers: httpd refuses a field over LimitRequestFieldSize (8190) with 400', async () => {
    const near = await rawRequest(h().url, { path: '/public.txt', headers: { 'X-Pad': 'a'.repeat(8000) } });
    expect(near.status).toBe(200);
    const over = await rawRequest(h().url, { path: '/public.txt', headers: { 'X-Pad': 'a'.repeat(9000) } });
    expect(over.status).toBe(400);
    const huge = await rawRequest(h().url, { path: '/private/secret.txt', headers: { Authorization: `Basic ${'A'.repeat(200_000)}` } });
    expect(huge.status).toBe(400);
  });

  it('can omit the default Host header (HTTP/1.1 without Host is a 400 in httpd)', async () => {
    const res = await rawRequest(h().url, { path: '/public.txt', defaultHeaders: false });
    expect(res.status).toBe(400);
  });
});

describe('startHttpd: files, ${AUTHTS_*} defines, extra modules', () => {
  let httpd: HttpdInstance | undefined;

  beforeAll(async () => {
    // htpasswd -n prints the entry instead of writing a file.
    const { stdout: users } = await run(HTPASSWD, ['-n', '-b', 'carol', 'pw-carol']);
    httpd = await startHttpd({
      modules: ['headers', 'mod_auth_digest'],
      files: { 'users.htpasswd': users, 'htdocs/private/a.txt': 'A\n', 'htdocs/digest/d.txt': 'D\n' },
      config: [
        '<Directory "${AUTHTS_DOCROOT}/private">',
        '  AuthType Basic',
        '  AuthName "Files"',
        '  AuthUserFile "${AUTHTS_HTTPD_DIR}/users.htpasswd"',
        '  Require user carol',
        // How a conformance test reads the user httpd settled on, synchronously with the answer.
        '  Header always set X-Remote-User "expr=%{REMOTE_USER}"',
        '</Directory>',
        '<Location /digest>',
        '  AuthType Digest',
        '  AuthName "dig"',
        '  AuthUserFile "${AUTHTS_HTTPD_DIR}/none.htdigest"',
        '  Require valid-user',
        '</Location>',
      ].join('\n'),
    });
  });

  afterAll(async () => {
    await httpd?.stop();
  });

  const h = (): HttpdInstance => {
    if (!httpd) throw new Error('httpd did not start');
    return httpd;
  };

  it('writes files readable by httpd and expands ${AUTHTS_HTTPD_DIR}/${AUTHTS_DOCROOT}', async () => {
    expect(h().documentRoot).toBe(join(h().dir, 'htdocs'));
    const ok = await rawRequest(h().url, { path: '/private/a.txt', headers: { Authorization: basic('carol:pw-carol') } });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('A\n');
    expect(ok.headers['x-remote-user']).toBe('carol');
  });

  it('exposes REMOTE_USER through mod_headers, also on a 401 after a wrong password', async () => {
    const wrong = await rawRequest(h().url, { path: '/private/a.txt', headers: { Authorization: basic('carol:nope') } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['x-remote-user']).toBe('carol');
    const none = await rawRequest(h().url, { path: '/private/a.txt' });
    expect(none.status).toBe(401);
    expect(none.headers['x-remote-user']).toBe('');
  });

  it('loads extra modules by any spelling (mod_auth_digest → Digest challenge)', async () => {
    const res = await rawRequest(h().url, { path: '/digest/d.txt' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Digest realm="dig", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
  });
});

describe('two instances at once', () => {
  const started: HttpdInstance[] = [];

  afterAll(async () => {
    await Promise.allSettled(started.map((i) => i.stop()));
  });

  it('run side by side on different ports with their own configs', async () => {
    const config = (realm: string): string =>
      `<Location /p>\n  AuthType Basic\n  AuthName "${realm}"\n  AuthUserFile /nonexistent\n  Require valid-user\n</Location>\n`;
    const results = await Promise.allSettled([startHttpd({ config: config('one') }), startHttpd({ config: config('two') })]);
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    const [one, two] = started;
    if (!one || !two) throw new Error('unreachable');
    expect(one.port).not.toBe(two.port);
    expect(one.pid).not.toBe(two.pid);
    expect(one.dir).not.toBe(two.dir);
    const [a, b] = await Promise.all([rawRequest(one.url, { path: '/p' }), rawRequest(two.url, { path: '/p' })]);
    expect(a.headers['www-authenticate']).toBe('Basic realm="one"');
    expect(b.headers['www-authenticate']).toBe('Basic realm="two"');
  });
});

describe('stop()', () => {
  it('ends the process, removes the directory, keeps the final error log, and is idempotent', async () => {
    const httpd = await startHttpd({ config: '' });
    try {
      expect((await rawRequest(httpd.url, { path: '/nothing' })).status).toBe(404);
    } finally {
      await httpd.stop();
    }
    expect(isRunning(httpd.pid)).toBe(false);
    expect(await exists(httpd.dir)).toBe(false);
    expect(await httpd.errorLog()).toContain('caught SIGTERM, shutting down');
    await httpd.stop();
    await expect(rawRequest(httpd.url, { timeoutMs: 2000 })).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('startHttpd failures', () => {
  it('rejects with httpd’s own message for a bad config and leaves nothing behind', async () => {
    const error: unknown = await startHttpd({ config: 'AuthType Basic\nNoSuchDirective on\n' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/Syntax error on line 1 of \S+\/auth\.conf/);
    const dir = /of (\S+)\/auth\.conf/.exec(message)?.[1];
    expect(dir).toBeDefined();
    expect(await exists(dir ?? '/nonexistent')).toBe(false);
  });

  it('refuses a DocumentRoot that httpd’s unprivileged user could not reach', async () => {
    if (process.getuid?.() !== 0) return; // only root switches users
    const closed = await mkdtemp(join(tmpdir(), 'authts-httpd-closed-')); // mode 0700
    try {
      await mkdir(join(closed, 'docs'));
      await expect(startHttpd({ config: '', documentRoot: join(closed, 'docs') })).rejects.toThrow(/not searchable.*chmod 755/);
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  });

  it('refuses an unknown module by name', async () => {
    await expect(startHttpd({ config: '', modules: ['no_such_thing'] })).rejects.toThrow(/mod_no_such_thing\.so/);
  });

  it('checks its options', async () => {
    await expect(startHttpd({ config: 42 as unknown as string })).rejects.toThrow(TypeError);
    await expect(startHttpd({ config: '', modules: ['../evil'] })).rejects.toThrow(TypeError);
    await expect(startHttpd({ config: '', files: { '../x': '' } })).rejects.toThrow(TypeError);
  });
});

describe('httpdConfigTest', () => {
  it('reports a bad directive as an error naming its line in the given config', async () => {
    const { ok, output } = await httpdConfigTest('<Location /x>\n  AuthType Basic\n  AuthBogus on\n</Location>\n');
    expect(ok).toBe(false);
    expect(output).toMatch(/Syntax error on line 3 of \S+\/auth\.conf/);
    expect(output).toContain("Invalid command 'AuthBogus'");
  });

  it('reports load-time errors of the auth modules (unknown Require provider, AuthType outside a section)', async () => {
    const provider = await httpdConfigTest('<Location /x>\n  Require bogus-provider\n</Location>\n');
    expect(provider.ok).toBe(false);
    expect(provider.output).toContain('Unknown Authz provider: bogus-provider');
    const context = await httpdConfigTest('AuthType Basic\n');
    expect(context.ok).toBe(false);
    expect(context.output).toMatch(/line 1 of .*\n?.*AuthType not allowed here/);
  });

  it('accepts a good config', async () => {
    const result = await httpdConfigTest('<Location /x>\n  AuthType Basic\n  AuthName "x"\n  Require valid-user\n</Location>\n');
    expect(result).toEqual({ ok: true, output: 'Syntax OK\n' });
  });
});

describe('rawRequest on the wire', () => {
  let server: Server | undefined;
  let port = 0;
  const received: Buffer[] = [];
  let reply = (): string => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  let keepOpen = false;

  beforeAll(async () => {
    server = createServer((socket) => {
      let data = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        if (data.includes('\r\n\r\n')) {
          received.push(data);
          if (keepOpen) socket.write(reply());
          else socket.end(reply());
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address && typeof address === 'object') port = address.port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('writes the request line and headers byte for byte, duplicates and case included', async () => {
    const res = await rawRequest(`http://127.0.0.1:${port}`, {
      method: 'PROPFIND',
      path: '/a/../b/./c%2e%2E x?y=1#frag',
      headers: [
        ['authorization', 'Basic one'],
        ['AUTHORIZATION', 'Basic two'],
        ['X-Big', 'z'.repeat(100_000)],
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
    const text = received.at(-1)?.toString('latin1') ?? '';
    expect(text.startsWith(`PROPFIND /a/../b/./c%2e%2E x?y=1#frag HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`)).toBe(true);
    expect(text).toContain('\r\nauthorization: Basic one\r\nAUTHORIZATION: Basic two\r\n');
    expect(text).toContain(`\r\nX-Big: ${'z'.repeat(100_000)}\r\n`);
    expect(text.endsWith('Connection: close\r\n\r\n')).toBe(true);
  });

  it('decodes chunked bodies, joins repeated response headers, skips 100 Continue, ends without close', async () => {
    keepOpen = true; // the response end must be found from the chunked framing
    reply = () =>
      'HTTP/1.1 100 Continue\r\n\r\n' +
      'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="a"\r\nWWW-Authenticate: Digest realm="b"\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n';
    const res = await rawRequest(`http://127.0.0.1:${port}/`, { headers: { Connection: 'keep-alive' } });
    expect(res.status).toBe(401);
    expect(res.statusText).toBe('Unauthorized');
    expect(res.headers['www-authenticate']).toBe('Basic realm="a", Digest realm="b"');
    expect(res.rawHeaders.filter(([n]) => n === 'WWW-Authenticate')).toHaveLength(2);
    expect(res.body).toBe('abcde');
  });
});
