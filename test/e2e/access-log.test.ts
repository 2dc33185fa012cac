/**
 * CustomLog / LogFormat / TransferLog of `authts serve`: the `combined` and `common` lines are
 * compared with what a real httpd writes for the same raw requests (time normalized; the body
 * size of error pages too, since the two servers' error pages differ), including `%u` for a
 * refused Basic login and httpd's escaping of quotes, backslashes and non-ASCII bytes. Also: a
 * reload (SIGHUP) reopens the files (rotation), an unwritable log stops the start naming
 * file:line, and credentials never reach the access log.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigErrors } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { builtinModules } from '../../src/modules.js';
import { clfTime, compileLogFormat, escapeLogItem, openAccessLogs, redactTarget, type AccessRecord } from '../../src/server/access-log.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { rawRequest } from '../services/http-client.js';
import { startHttpd, type HttpdInstance } from '../services/httpd.js';
import { basic, htpasswd, killLeftovers, listeningPort, removeTempDirs, startCli, tempDir, waitFor } from './helpers.js';

const AUTH_BLOCK = (users: string): string =>
  [
    '<Location /private>',
    '    AuthType Basic',
    '    AuthName "Private area"',
    `    AuthUserFile "${users}"`,
    '    Require valid-user',
    '</Location>',
  ].join('\n');

/** The requests both servers get, byte for byte. */
const REQUESTS: { method?: string; path: string; headers?: [string, string][] }[] = [
  { path: '/a.txt', headers: [['Referer', 'http://example.org/from?q="quoted"'], ['User-Agent', 'Mozilla/5.0 (X11; back\\slash "quote")']] },
  { path: '/a.txt?x=1&y=%22two%22' },
  { method: 'HEAD', path: '/a.txt' },
  { path: '/missing.txt' },
  { path: '/private/a.txt' },
  { path: '/private/a.txt', headers: [['Authorization', basic('alice:wrong-password')]] },
  { path: '/private/a.txt', headers: [['Authorization', basic('alice:alice-pw')]] },
  { path: '/private/a.txt', headers: [['Authorization', basic('jo"sé:nope')]] },
  { path: '/a.txt', headers: [['User-Agent', 'caf\xe9\tbar']] },
  // Refused by the parser (node:http's clientError; httpd's read_request): the line as received.
  { path: '/a b c' },
  { path: '/a.txt?x=1', headers: [['Bad Header', 'x']] },
  { path: '/a\x01b' },
  { path: '/a  b' },
  { method: 'G(T', path: '/a.txt' },
];

/**
 * Sends `chunks` on one connection, each in its own write 100 ms after the one before (so that
 * the server reads them separately), and resolves with everything the server sent until it
 * closed the connection.
 */
async function rawExchange(port: number, chunks: readonly string[]): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const received: Buffer[] = [];
  socket.on('data', (data: Buffer) => received.push(data));
  const closed = once(socket, 'close');
  for (const [i, chunk] of chunks.entries()) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    if (!socket.writable) break;
    socket.write(chunk, 'latin1');
  }
  await closed;
  return Buffer.concat(received).toString('latin1');
}

/** A log line with its time replaced, and the body size of an error answer (the pages differ). */
function normalize(line: string): string {
  const timed = line.replace(/\[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]/, '[TIME]');
  return timed.replace(/" (\d{3}) (\d+|-)/, (whole, status: string) => (Number(status) >= 400 ? `" ${status} SIZE` : whole));
}

async function lines(file: string, count: number): Promise<string[]> {
  await waitFor(`${count} lines in ${file}`, async () => existsSync(file) && (await readFile(file, 'utf8')).split('\n').filter(Boolean).length >= count);
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean);
}

describe('access log formats against a real httpd', () => {
  let httpd: HttpdInstance;
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('access-log');
    const usersLine = htpasswd('alice', 'alice-pw');
    httpd = await startHttpd({
      config: [
        'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined',
        'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common',
        'CustomLog "${AUTHTS_HTTPD_DIR}/combined.log" combined',
        'CustomLog "${AUTHTS_HTTPD_DIR}/common.log" common',
        AUTH_BLOCK('${AUTHTS_HTTPD_DIR}/users'),
      ].join('\n'),
      files: { users: `${usersLine}\n`, 'htdocs/a.txt': 'hello, log\n', 'htdocs/private/a.txt': 'secret file\n' },
    });
    await mkdir(join(dir, 'htdocs', 'private'), { recursive: true });
    await writeFile(join(dir, 'htdocs', 'a.txt'), 'hello, log\n');
    await writeFile(join(dir, 'htdocs', 'private', 'a.txt'), 'secret file\n');
    await writeFile(join(dir, 'users'), `${usersLine}\n`);
    await writeFile(
      join(dir, 'site.conf'),
      ['Listen 127.0.0.1:0', 'DocumentRoot htdocs', 'CustomLog logs/combined.log combined', 'CustomLog logs/common.log common', AUTH_BLOCK('users'), ''].join('\n'),
    );
    await mkdir(join(dir, 'logs'));
    server = await startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger });
    const authts = `http://127.0.0.1:${server.addresses[0]!.port}`;
    for (const r of REQUESTS) {
      const options = { method: r.method ?? 'GET', path: r.path, headers: r.headers ?? [] };
      const [a, b] = await Promise.all([rawRequest(httpd.url, options), rawRequest(authts, options)]);
      expect(b.status, `${options.method} ${r.path}`).toBe(a.status);
    }
  });
  afterAll(async () => {
    await server?.close();
    await httpd?.stop();
    await removeTempDirs();
  });

  it('writes the combined format as httpd does', async () => {
    const expected = await lines(join(httpd.dir, 'combined.log'), REQUESTS.length);
    const actual = await lines(join(dir, 'logs', 'combined.log'), REQUESTS.length);
    expect(actual.map(normalize)).toEqual(expected.map(normalize));
    // Spot checks of what the comparison covers.
    expect(actual[5]).toMatch(/^127\.0\.0\.1 - alice \[/);
    expect(actual[0]).toContain('"http://example.org/from?q=\\"quoted\\"" "Mozilla/5.0 (X11; back\\\\slash \\"quote\\")"');
    expect(actual[7]).toContain(' jo\\"s\\xc3\\xa9 [');
    expect(actual[8]).toContain('"caf\\xe9\\tbar"');
    expect(actual[2]).toMatch(/"HEAD \/a\.txt HTTP\/1\.1" 200 - "-" "-"$/);
  });

  it('writes the common format as httpd does', async () => {
    const expected = await lines(join(httpd.dir, 'common.log'), REQUESTS.length);
    const actual = await lines(join(dir, 'logs', 'common.log'), REQUESTS.length);
    expect(actual.map(normalize)).toEqual(expected.map(normalize));
    expect(actual[0]).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/a\.txt HTTP\/1\.1" 200 11$/);
  });

  it('never writes a password (the Authorization header is not logged)', async () => {
    const text = await readFile(join(dir, 'logs', 'combined.log'), 'utf8');
    expect(text).not.toContain('alice-pw');
    expect(text).not.toContain('wrong-password');
    expect(text).not.toContain(basic('alice:alice-pw').slice(6));
  });
});

describe('access log files', () => {
  afterAll(async () => {
    await killLeftovers();
    await removeTempDirs();
  });

  it('logs requests refused by the parser, never taking a later header line for the request line', async () => {
    const dir = await tempDir('access-unparsed');
    await writeFile(join(dir, 'site.conf'), 'Listen 127.0.0.1:0\nDocumentRoot .\nTransferLog access.log\nCustomLog plain.log "%>s \\"%r\\" %m %U%q %H %{User-Agent}i %b"\n');
    const server = await startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger });
    try {
      const port = server.addresses[0]!.port;
      // A bad header in a second read: what node:http shows of the request then starts with
      // that header line, which must not reach the log.
      const split = await rawExchange(port, ['GET /a.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\r\n', 'X-Api-Key : secret-value\r\n\r\n']);
      expect(split).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\n\r\n$/);
      // Headers over node:http's 16 KiB: 431, as node:http answers it.
      const large = await rawExchange(port, [`GET /a.txt?x=1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(17_000)}\r\n\r\n`]);
      expect(large).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
      const bad = await rawExchange(port, ['GET /a.txt?access_token=tok123 HTTP/1.1 extra\r\nHost: x\r\n\r\n']);
      expect(bad).toMatch(/^HTTP\/1\.1 400 /);
      const plain = await lines(join(dir, 'plain.log'), 3);
      expect(plain[0]).toBe('400 "-" - - - - -');
      // The large request came in one read or in several: its line, or "-" (never a header).
      expect(plain[1]).toMatch(/^431 "(GET \/a\.txt\?x=1 HTTP\/1\.1|-)" - - - - -$/);
      expect(plain[2]).toBe('400 "GET /a.txt?access_token=[redacted] HTTP/1.1" - - - - -');
      const common = await lines(join(dir, 'access.log'), 3);
      expect(common[0]).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "-" 400 -$/);
      const text = `${common.join('\n')}${plain.join('\n')}`;
      expect(text).not.toContain('secret-value');
      expect(text).not.toContain('tok123');
    } finally {
      await server.close();
    }
  });

  it('authts serve: SIGHUP after logrotate moved the file writes to a new file; stdout works too', async () => {
    const dir = await tempDir('access-sighup');
    await writeFile(join(dir, 'site.conf'), 'Listen 127.0.0.1:0\nTransferLog access.log\nCustomLog stdout "%>s %U"\n');
    const cli = startCli(['serve', '-f', join(dir, 'site.conf'), '--workers', '1']);
    await cli.waitForStderr(/"msg":"authts serve listening"/);
    const url = `http://127.0.0.1:${listeningPort(cli.stderr())}`;
    expect((await fetch(`${url}/before`)).status).toBe(404);
    await lines(join(dir, 'access.log'), 1);
    await rename(join(dir, 'access.log'), join(dir, 'access.log.1'));
    cli.signal('SIGHUP');
    await cli.waitForStderr(/"msg":"configuration reloaded"/);
    expect((await fetch(`${url}/after`)).status).toBe(404);
    expect(await lines(join(dir, 'access.log'), 1)).toEqual([expect.stringMatching(/"GET \/after HTTP\/1\.1" 404 \d+$/)]);
    expect(await readFile(join(dir, 'access.log.1'), 'utf8')).toMatch(/^[^\n]*"GET \/before HTTP\/1\.1" 404 \d+\n$/);
    await waitFor('two stdout lines', () => cli.stdout().split('\n').filter(Boolean).length >= 2);
    expect(cli.stdout()).toBe('404 /before\n404 /after\n');
    cli.signal('SIGTERM');
    expect((await cli.waitForExit()).code).toBe(0);
  });

  it('a reload (SIGHUP) reopens the files: a rotated log gets no more lines', async () => {
    const dir = await tempDir('access-rotate');
    await mkdir(join(dir, 'htdocs'));
    await writeFile(join(dir, 'htdocs', 'index.html'), 'hi\n');
    await writeFile(join(dir, 'site.conf'), 'Listen 127.0.0.1:0\nDocumentRoot htdocs\nTransferLog access.log\n');
    const server = await startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger });
    try {
      const url = `http://127.0.0.1:${server.addresses[0]!.port}`;
      expect((await fetch(`${url}/index.html`)).status).toBe(200);
      await lines(join(dir, 'access.log'), 1);
      await rename(join(dir, 'access.log'), join(dir, 'access.log.1'));
      expect(await server.reload()).toBeUndefined();
      expect((await fetch(`${url}/second`)).status).toBe(404);
      const fresh = await lines(join(dir, 'access.log'), 1);
      expect(fresh).toHaveLength(1);
      expect(fresh[0]).toMatch(/"GET \/second HTTP\/1\.1" 404 \d+$/);
      expect((await readFile(join(dir, 'access.log.1'), 'utf8')).trim().split('\n')).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('a log that cannot be opened stops the start, naming file:line', async () => {
    const dir = await tempDir('access-bad');
    await writeFile(join(dir, 'site.conf'), 'Listen 127.0.0.1:0\n\nCustomLog no-such-dir/access.log combined\n');
    const started = startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger });
    await expect(started).rejects.toBeInstanceOf(ConfigErrors);
    const err = (await started.catch((e: unknown) => e)) as ConfigErrors;
    expect(err.errors[0]).toMatchObject({ line: 3, directive: 'CustomLog', code: 'CONFIG_BAD_ARGUMENT' });
    expect(err.errors[0]!.message).toContain('ENOENT');
  });

  it('a reload whose log cannot be opened keeps the previous configuration', async () => {
    const dir = await tempDir('access-reload-bad');
    await writeFile(join(dir, 'site.conf'), 'Listen 127.0.0.1:0\nTransferLog access.log\n');
    const server = await startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger });
    try {
      const before = server.config();
      await writeFile(join(dir, 'site.conf'), 'Listen 127.0.0.1:0\nTransferLog missing/access.log\n');
      const errors = await server.reload();
      expect(errors?.errors[0]).toMatchObject({ line: 2, directive: 'TransferLog' });
      expect(server.config()).toBe(before);
    } finally {
      await server.close();
    }
  });

  it('refuses at load what it cannot do, naming the line', async () => {
    const text = [
      'CustomLog "|/usr/bin/rotatelogs x 86400" combined',
      'CustomLog a.log "%h %{Authorization}i"',
      'CustomLog c.log combined env=!dontlog',
      'LogFormat "%h %Z" odd',
    ].join('\n');
    const err = (await loadConfig({ text, textName: 'x.conf', modules: builtinModules(), logger: silentLogger }).catch((e: unknown) => e)) as ConfigErrors;
    expect(err).toBeInstanceOf(ConfigErrors);
    expect(err.errors.map((e) => [e.line, e.code])).toEqual([
      [1, 'CONFIG_BAD_ARGUMENT'],
      [2, 'CONFIG_BAD_ARGUMENT'],
      [3, 'CONFIG_BAD_ARGUMENT'],
      [4, 'CONFIG_BAD_ARGUMENT'],
    ]);
    expect(err.errors[1]!.message).toContain('credentials');
    expect(err.errors[3]!.message).toContain('%Z');
  });

  it('refuses a nickname no LogFormat defines (httpd would log the word itself), and resolves one defined later', async () => {
    const bad = (await loadConfig({ text: 'CustomLog b.log combind\n', textName: 'y.conf', modules: builtinModules(), logger: silentLogger }).catch((e: unknown) => e)) as ConfigErrors;
    expect(bad).toBeInstanceOf(ConfigErrors);
    expect(bad.errors[0]).toMatchObject({ line: 1, directive: 'CustomLog', code: 'CONFIG_BAD_ARGUMENT' });
    expect(bad.errors[0]!.message).toContain('no LogFormat nickname "combind"');
    const good = await loadConfig({ text: 'CustomLog b.log mine\nLogFormat "%h %u" mine\n', textName: 'z.conf', modules: builtinModules(), logger: silentLogger });
    expect(good.warnings).toEqual([]);
    await good.close();
  });

  it('closing a configuration waits for the line of a request still being answered', async () => {
    const dir = await tempDir('access-late');
    await writeFile(join(dir, 'site.conf'), 'LogFormat "%m %U"\nTransferLog late.log\n');
    const config = await loadConfig({ file: join(dir, 'site.conf'), modules: builtinModules(), logger: silentLogger });
    const logs = openAccessLogs(config)!;
    const release = logs.hold();
    let closed = false;
    const closing = config.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    const record = { req: { method: 'GET', url: '/late?x', headers: {}, socket: {} }, res: {}, startedAt: 0, startedPerf: 0, user: undefined, bodyBytes: 0 } as unknown as AccessRecord;
    logs.write(record);
    release();
    await closing;
    expect(await readFile(join(dir, 'late.log'), 'utf8')).toBe('GET /late\n');
  });

  it('loading (authts check) opens no file', async () => {
    const dir = await tempDir('access-check');
    await writeFile(join(dir, 'site.conf'), 'CustomLog access.log combined\n');
    const config = await loadConfig({ file: join(dir, 'site.conf'), modules: builtinModules(), logger: silentLogger });
    await config.close();
    expect(existsSync(join(dir, 'access.log'))).toBe(false);
  });
});

describe('access log items', () => {
  it("escapes as httpd's ap_escape_logitem", () => {
    expect(escapeLogItem('plain text/ok')).toBe('plain text/ok');
    expect(escapeLogItem('a"b\\c')).toBe('a\\"b\\\\c');
    expect(escapeLogItem('\b\n\r\t\v\x01\x7f\xff')).toBe('\\b\\n\\r\\t\\v\\x01\\x7f\\xff');
    expect(escapeLogItem('é', 'utf8')).toBe('\\xc3\\xa9');
  });

  it('formats %t as [dd/Mon/yyyy:hh:mm:ss +zzzz]', () => {
    expect(clfTime(Date.UTC(2000, 9, 10, 13, 55, 36))).toMatch(/^\[\d{2}\/(Oct)\/2000:\d{2}:\d{2}:36 [+-]\d{4}\]$/);
  });

  it('redacts an access_token in the request line and query string', () => {
    expect(redactTarget('/api?access_token=eyJabc.def&x=1')).toBe('/api?access_token=[redacted]&x=1');
    expect(redactTarget('/api?x=1&access_token=tok')).toBe('/api?x=1&access_token=[redacted]');
    expect(redactTarget('/api?x=1')).toBe('/api?x=1');
  });

  it('compiles literal text, %% and escapes in the format', () => {
    const format = compileLogFormat('100%% %m\\t%U%q');
    const record = {
      req: { method: 'GET', url: '/p?q=1', httpVersion: '1.1', headers: {}, socket: {} },
      res: { statusCode: 200, getHeader: () => undefined },
      startedAt: 0,
      startedPerf: 0,
      user: undefined,
      bodyBytes: 0,
    } as unknown as Parameters<typeof format>[0];
    expect(format(record)).toBe('100% GET\t/p?q=1');
  });
});
