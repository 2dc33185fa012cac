/**
 * `authts serve` as a reverse proxy (ProxyPass/ProxyPassReverse) in front of real upstreams on
 * 127.0.0.1: a node:http app that reports what it received, a `ws` WebSocket server on it, a
 * port nothing listens on, and a slow route. Every answer is checked on the wire: statuses,
 * headers, bodies, and what exactly reached the upstream.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { loadConfig } from '../../src/config/load.js';
import { ConfigErrors } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { builtinModules } from '../../src/modules.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { rawRequest } from '../services/http-client.js';
import { basic, captureLogger, htpasswd, removeTempDirs, tempDir } from './helpers.js';

/** What the upstream app saw of one request. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

const ALICE = basic('alice:alice-pw');
const seen: Seen[] = [];
const wsSeen: { url: string; rawHeaders: readonly string[] }[] = [];
/** Streaming handshakes: the upstream waits on these between chunks. */
let releaseResponse: () => void = () => undefined;
let requestFirstChunk: (chunk: string) => void = () => undefined;

let upstream: Server;
let wss: WebSocketServer;
let upPort = 0;
let downPort = 0;
let server: RunningServer;
let base = '';
let dir = '';
const logged = captureLogger();
const slowTimers = new Set<NodeJS.Timeout>();

/** Headers of a Seen request, by lower-case name, every value kept in order. */
function headersOf(rawHeaders: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    out.set(name, [...(out.get(name) ?? []), rawHeaders[i + 1]!]);
  }
  return out;
}

/** Header names of a Seen request, normalized as CGI would (`_` = `-`), lower-case. */
function cgiNames(rawHeaders: readonly string[]): string[] {
  const names: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) names.push(rawHeaders[i]!.toLowerCase().replace(/_/g, '-'));
  return names;
}

function upstreamApp(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let first = true;
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    if (first) requestFirstChunk(chunk.toString());
    first = false;
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: body.toString() });
    const url = req.url ?? '';
    if (url.startsWith('/app/redirect')) {
      res.writeHead(302, {
        Location: `http://127.0.0.1:${upPort}/app/landing?from=redirect`,
        'Content-Location': `http://127.0.0.1:${upPort}/app/landing`,
        'X-Other': `http://127.0.0.1:${upPort}/app/untouched`,
      });
      res.end('moved');
      return;
    }
    if (url.startsWith('/app/elsewhere-redirect')) {
      res.writeHead(301, { Location: 'http://unrelated.example/x' });
      res.end();
      return;
    }
    if (url.startsWith('/app/slow') || url.startsWith('/elsewhere/slow')) {
      const timer = setTimeout(() => {
        slowTimers.delete(timer);
        res.end('too late');
      }, 3_000);
      slowTimers.add(timer);
      return;
    }
    if (url.startsWith('/app/hop')) {
      res.writeHead(200, { Connection: 'keep-alive, X-Hop', 'X-Hop': 'secret', 'Keep-Alive': 'timeout=5', 'X-End': 'kept' });
      res.end('hop');
      return;
    }
    if (url.startsWith('/app/stream')) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first;');
      new Promise<void>((resolve) => (releaseResponse = resolve)).then(() => res.end('second'));
      return;
    }
    if (url.startsWith('/app/upload')) {
      res.writeHead(201, { 'Content-Type': 'text/plain', 'X-Upstream-Status-Note': 'created' });
      res.end(`${body.length}:${createHash('sha256').update(body).digest('hex')}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Set-Cookie': ['a=1', 'b=2'] });
    res.end(JSON.stringify({ url }));
  });
}

beforeAll(async () => {
  upstream = createServer(upstreamApp);
  wss = new WebSocketServer({ server: upstream, path: '/ws/echo' });
  wss.on('connection', (socket, req) => {
    wsSeen.push({ url: req.url ?? '', rawHeaders: req.rawHeaders });
    socket.on('message', (data) => socket.send(`echo:${data.toString()}`));
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upPort = (upstream.address() as AddressInfo).port;
  // A port that was free a moment ago and that nothing listens on now.
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  downPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

  dir = await tempDir('proxy');
  const htdocs = join(dir, 'htdocs');
  await mkdir(join(htdocs, 'app', 'static'), { recursive: true });
  await writeFile(join(htdocs, 'app', 'static', 'hello.txt'), 'static hello\n');
  await writeFile(join(dir, 'users'), `${htpasswd('alice', 'alice-pw')}\n${htpasswd('bob', 'bob-pw')}\n`);
  const up = `http://127.0.0.1:${upPort}`;
  await writeFile(
    join(dir, 'site.conf'),
    [
      'Listen 127.0.0.1:0',
      `DocumentRoot "${htdocs}"`,
      'ProxyTimeout 1',
      'ProxyPass /app/static !',
      `ProxyPass /app ${up}/app`,
      `ProxyPassReverse /app ${up}/app`,
      `ProxyPass /ws ${up}/ws`,
      `ProxyPass /down http://127.0.0.1:${downPort}/down`,
      '<Location /app>',
      '    AuthType Basic',
      '    AuthName "App"',
      '    AuthUserFile users',
      '    Require valid-user',
      '</Location>',
      '<Location /app/public>',
      '    Require all granted',
      '</Location>',
      '<Location /app/special>',
      `    ProxyPass ${up}/elsewhere`,
      '</Location>',
      '<Location /app/local-excluded>',
      '    ProxyPass !',
      '</Location>',
      '<Location /fast>',
      `    ProxyPass ${up}/elsewhere timeout=300ms`,
      '    Require all granted',
      '</Location>',
      '<Location /ws>',
      '    AuthType Basic',
      '    AuthName "WS"',
      '    AuthUserFile users',
      '    Require user alice',
      '</Location>',
      '<Location /down>',
      '    Require all granted',
      '</Location>',
      '',
    ].join('\n'),
  );
  server = await startServer({ configFile: join(dir, 'site.conf'), logger: logged.log, listen: [{ host: '127.0.0.1', port: 0 }] });
  base = `http://127.0.0.1:${server.addresses[0]!.port}`;
});

afterAll(async () => {
  await server?.close();
  for (const timer of slowTimers) clearTimeout(timer);
  for (const client of wss?.clients ?? []) client.terminate();
  await new Promise((resolve) => wss?.close(resolve));
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
  await removeTempDirs();
});

beforeEach(() => {
  seen.length = 0;
  wsSeen.length = 0;
});

describe('protected proxying', () => {
  it('answers 401 with the challenge and never contacts the upstream without credentials', async () => {
    const res = await rawRequest(base, { path: '/app/x' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Basic realm="App"');
    expect(seen).toEqual([]);
  });

  it('answers 401 for a wrong password, 200 with the user in X-Remote-User for a right one', async () => {
    const wrong = await rawRequest(base, { path: '/app/x', headers: { Authorization: basic('alice:nope') } });
    expect(wrong.status).toBe(401);
    expect(seen).toEqual([]);
    const res = await rawRequest(base, { path: '/app/x?q=1', headers: { Authorization: ALICE } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.rawHeaders.filter(([n]) => n.toLowerCase() === 'set-cookie').map(([, v]) => v)).toEqual(['a=1', 'b=2']);
    expect(JSON.parse(res.body)).toEqual({ url: '/app/x?q=1' });
    expect(seen).toHaveLength(1);
    const headers = headersOf(seen[0]!.rawHeaders);
    expect(headers.get('x-remote-user')).toEqual(['alice']);
    expect(headers.get('host')).toEqual([`127.0.0.1:${upPort}`]);
    // httpd's mod_proxy passes Authorization on; authts does the same.
    expect(headers.get('authorization')).toEqual([ALICE]);
  });

  it('adds X-Forwarded-For/-Host (appended, as httpd) and sets X-Forwarded-Proto', async () => {
    const res = await rawRequest(base, {
      path: '/app/public/xf',
      headers: { Host: 'front.example:8443', 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' },
    });
    expect(res.status).toBe(200);
    const headers = headersOf(seen[0]!.rawHeaders);
    expect(headers.get('x-forwarded-for')).toEqual(['203.0.113.9, 127.0.0.1']);
    expect(headers.get('x-forwarded-host')).toEqual(['front.example:8443']);
    expect(headers.get('x-forwarded-proto')).toEqual(['http']);
  });
});

describe('the user header', () => {
  const forged: [string, string][] = [
    ['X-Remote-User', 'mallory'],
    ['x-remote-user', 'mallory2'],
    ['X-REMOTE-USER', 'mallory3'],
    ['X_Remote_User', 'mallory4'],
    ['x-remote_user', 'mallory5'],
    ['X-Remote-User', 'alice, mallory6'],
  ];

  it('strips every client-sent spelling and duplicate, then sets the authenticated user once', async () => {
    const res = await rawRequest(base, { path: '/app/y', headers: [['Authorization', ALICE], ...forged] });
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    const names = cgiNames(seen[0]!.rawHeaders).filter((n) => n === 'x-remote-user');
    expect(names).toEqual(['x-remote-user']);
    expect(headersOf(seen[0]!.rawHeaders).get('x-remote-user')).toEqual(['alice']);
    expect(JSON.stringify(seen[0]!.rawHeaders)).not.toContain('mallory');
  });

  it('strips them on a request allowed without authentication too', async () => {
    const res = await rawRequest(base, { path: '/app/public/page', headers: forged });
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(cgiNames(seen[0]!.rawHeaders)).not.toContain('x-remote-user');
    expect(JSON.stringify(seen[0]!.rawHeaders)).not.toContain('mallory');
  });

  it('never lets a forged header through a refused request (nothing reaches the upstream)', async () => {
    const res = await rawRequest(base, { path: '/app/y', headers: forged });
    expect(res.status).toBe(401);
    expect(seen).toEqual([]);
  });
});

describe('the path the upstream receives', () => {
  const cases: [string, string][] = [
    ['/app/../app/x', '/app/x'],
    ['/app/./x', '/app/x'],
    ['/app/%2e/x', '/app/x'],
    ['/app/sub/%2E%2E/x', '/app/x'],
    ['/app//x', '/app/x'],
    ['/app/a%20b', '/app/a%20b'],
    ['/app/caf%c3%a9', '/app/caf%C3%A9'],
    ['/app/%41%62c', '/app/Abc'],
    ['/app/%7euser', '/app/~user'],
    ['/app/q%3fmark%23hash%25pct', '/app/q%3Fmark%23hash%25pct'],
    ["/app/!$&'()*+,;=:@", "/app/!$&'()*+,;=:@"],
    ['/app/x?raw=%2e%20&b=../c', '/app/x?raw=%2e%20&b=../c'],
    ['/app/x?', '/app/x'],
    ['/app', '/app'],
    ['/app/', '/app/'],
  ];
  for (const [sent, expected] of cases) {
    it(`${sent} reaches the upstream as ${expected}`, async () => {
      const res = await rawRequest(base, { path: sent, headers: { Authorization: ALICE } });
      expect(res.status).toBe(200);
      expect(seen.map((s) => s.url)).toEqual([expected]);
    });
  }

  it('authorizes the normalized path: /app/public/../x needs credentials', async () => {
    const res = await rawRequest(base, { path: '/app/public/../x' });
    expect(res.status).toBe(401);
    expect(seen).toEqual([]);
  });

  it('answers 404 for an encoded slash and 400 for a climb above the root, without forwarding', async () => {
    expect((await rawRequest(base, { path: '/app/a%2fb', headers: { Authorization: ALICE } })).status).toBe(404);
    expect((await rawRequest(base, { path: '/app/../../etc', headers: { Authorization: ALICE } })).status).toBe(400);
    expect(seen).toEqual([]);
  });

  it('does not proxy /apple (a ProxyPass prefix ends at a "/")', async () => {
    const res = await rawRequest(base, { path: '/apple', headers: { Authorization: ALICE } });
    expect(res.status).toBe(404);
    expect(seen).toEqual([]);
  });
});

describe('ProxyPass order and exclusions', () => {
  it('ProxyPass /app/static ! serves from the DocumentRoot (after the <Location> auth)', async () => {
    expect((await rawRequest(base, { path: '/app/static/hello.txt' })).status).toBe(401);
    const res = await rawRequest(base, { path: '/app/static/hello.txt', headers: { Authorization: ALICE } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('static hello\n');
    expect(seen).toEqual([]);
  });

  it('a <Location> ProxyPass wins over the top-level one and maps its own prefix', async () => {
    const res = await rawRequest(base, { path: '/app/special/deep/x', headers: { Authorization: ALICE } });
    expect(res.status).toBe(200);
    expect(seen.map((s) => s.url)).toEqual(['/elsewhere/deep/x']);
  });

  it('a <Location> ProxyPass ! excludes its path: not proxied, no file → 404', async () => {
    const res = await rawRequest(base, { path: '/app/local-excluded/x', headers: { Authorization: ALICE } });
    expect(res.status).toBe(404);
    expect(seen).toEqual([]);
  });
});

describe('answers from the upstream', () => {
  it('ProxyPassReverse maps Location and Content-Location of a 302 back to this server', async () => {
    const res = await rawRequest(base, { path: '/app/redirect', headers: { Authorization: ALICE, Host: 'front.example:8443' } });
    expect(res.status).toBe(302);
    expect(res.headers['location']).toBe('http://front.example:8443/app/landing?from=redirect');
    expect(res.headers['content-location']).toBe('http://front.example:8443/app/landing');
    expect(res.headers['x-other']).toBe(`http://127.0.0.1:${upPort}/app/untouched`);
    expect(res.body).toBe('moved');
  });

  it('uses the Host without a port as the client gave it, and leaves unrelated URLs alone', async () => {
    const res = await rawRequest(base, { path: '/app/redirect', headers: { Authorization: ALICE, Host: 'front.example' } });
    expect(res.headers['location']).toBe(`http://front.example:${server.addresses[0]!.port}/app/landing?from=redirect`);
    const other = await rawRequest(base, { path: '/app/elsewhere-redirect', headers: { Authorization: ALICE } });
    expect(other.status).toBe(301);
    expect(other.headers['location']).toBe('http://unrelated.example/x');
  });

  it('drops hop-by-hop headers in both directions', async () => {
    const res = await rawRequest(base, {
      path: '/app/hop',
      headers: [
        ['Authorization', ALICE],
        ['Connection', 'close, X-Client-Hop'],
        ['X-Client-Hop', 'client-secret'],
        ['TE', 'trailers'],
        ['Keep-Alive', 'timeout=9'],
        ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
        ['X-End-To-End', 'yes'],
      ],
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-hop']).toBeUndefined();
    expect(res.headers['keep-alive']).toBeUndefined();
    expect(res.headers['x-end']).toBe('kept');
    const headers = headersOf(seen[0]!.rawHeaders);
    for (const name of ['x-client-hop', 'te', 'keep-alive', 'proxy-authorization']) expect(headers.get(name), name).toBeUndefined();
    expect(headers.get('x-end-to-end')).toEqual(['yes']);
  });

  it('streams a POST body to the upstream as it arrives, and its answer back', async () => {
    const firstSeen = new Promise<string>((resolve) => (requestFirstChunk = resolve));
    const answer = new Promise<{ status: number; body: string; note: string | undefined }>((resolve, reject) => {
      const req = request(`${base}/app/upload`, { method: 'POST', agent: false, headers: { Authorization: ALICE } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, note: res.headers['x-upstream-status-note'] as string | undefined }));
      });
      req.on('error', reject);
      req.write('part-one;');
      // The second part is sent only once the upstream has the first: a buffering proxy would hang here.
      void firstSeen.then(() => req.end('part-two'));
    });
    expect(await firstSeen).toBe('part-one;');
    const res = await answer;
    const sent = Buffer.from('part-one;part-two');
    expect(res).toEqual({ status: 201, body: `${sent.length}:${createHash('sha256').update(sent).digest('hex')}`, note: 'created' });
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.body).toBe('part-one;part-two');
    // The client sent chunked; the upstream got it chunked too (framing set from the parsed request).
    expect(headersOf(seen[0]!.rawHeaders).get('transfer-encoding')).toEqual(['chunked']);
  });

  it('streams a response body: the first part arrives before the upstream finishes', async () => {
    const result = await new Promise<string>((resolve, reject) => {
      const req = request(`${base}/app/stream`, { agent: false, headers: { Authorization: ALICE } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
          if (body === 'first;') releaseResponse();
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    expect(result).toBe('first;second');
  });

  it('answers HEAD without a body', async () => {
    const res = await rawRequest(base, { method: 'HEAD', path: '/app/x', headers: { Authorization: ALICE } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(seen[0]!.method).toBe('HEAD');
  });
});

describe('upstream failures', () => {
  it('answers 502 with httpd\'s Proxy Error page when the upstream is down', async () => {
    const res = await rawRequest(base, { path: '/down/x' });
    expect(res.status).toBe(502);
    expect(res.statusText).toBe('Proxy Error');
    expect(res.headers['content-type']).toBe('text/html; charset=iso-8859-1');
    expect(res.body).toContain('<title>502 Proxy Error</title>');
    expect(res.body).toContain('The proxy server received an invalid');
    expect(res.body).toContain('Reason: <strong>Error connecting to remote server</strong>');
    expect(logged.lines.some((l) => l['code'] === 'UPSTREAM_UNAVAILABLE' && l['status'] === 502)).toBe(true);
  });

  it('answers 504 when the upstream does not answer within ProxyTimeout (1 s)', async () => {
    const started = Date.now();
    const res = await rawRequest(base, { path: '/app/slow', headers: { Authorization: ALICE } });
    const took = Date.now() - started;
    expect(res.status).toBe(504);
    expect(res.body).toContain('<title>504 Gateway Timeout</title>');
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(2_900);
    expect(logged.lines.some((l) => l['code'] === 'UPSTREAM_TIMEOUT' && l['status'] === 504)).toBe(true);
  });

  it('honours timeout= on the ProxyPass line (300 ms)', async () => {
    const started = Date.now();
    const res = await rawRequest(base, { path: '/fast/slow' });
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('WebSocket upgrades', () => {
  function connect(headers: Record<string, string>): Promise<{ ws: WebSocket } | { status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.addresses[0]!.port}/ws/echo`, { headers });
      ws.once('open', () => resolve({ ws }));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once('error', reject);
    });
  }

  it('tunnels an allowed upgrade, with the user header set and the forged one dropped', async () => {
    const result = await connect({ Authorization: ALICE, 'X-Remote-User': 'mallory' });
    expect('ws' in result).toBe(true);
    if (!('ws' in result)) return;
    const reply = new Promise<string>((resolve) => result.ws.once('message', (data) => resolve(data.toString())));
    result.ws.send('hello');
    expect(await reply).toBe('echo:hello');
    const closed = once(result.ws, 'close');
    result.ws.close();
    await closed;
    expect(wsSeen).toHaveLength(1);
    expect(wsSeen[0]!.url).toBe('/ws/echo');
    const headers = headersOf(wsSeen[0]!.rawHeaders);
    expect(headers.get('x-remote-user')).toEqual(['alice']);
    expect(headers.get('upgrade')).toEqual(['websocket']);
  });

  it('refuses an upgrade without credentials with 401 and never upgrades', async () => {
    const result = await connect({});
    expect(result).toMatchObject({ status: 401 });
    expect(wsSeen).toEqual([]);
  });

  it('refuses a user the Require line does not allow with 401', async () => {
    const result = await connect({ Authorization: basic('bob:bob-pw') });
    expect(result).toMatchObject({ status: 401 });
    expect(wsSeen).toEqual([]);
  });

  it('answers an upgrade request for a non-proxied path as an ordinary request', async () => {
    const res = await rawRequest(base, {
      path: '/app/static/hello.txt',
      headers: { Authorization: ALICE, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('static hello\n');
  });
});

describe('shutdown with an open WebSocket tunnel', () => {
  it('close() waits for the tunnel until the drain deadline, then cuts it', async () => {
    const conf = join(dir, 'drain.conf');
    await writeFile(conf, `ProxyPass /ws http://127.0.0.1:${upPort}/ws\n`);
    const own = await startServer({ configFile: conf, logger: silentLogger, listen: [{ host: '127.0.0.1', port: 0 }], drainTimeoutMs: 300 });
    const ws = new WebSocket(`ws://127.0.0.1:${own.addresses[0]!.port}/ws/echo`);
    await once(ws, 'open');
    const closedByServer = once(ws, 'close');
    const started = Date.now();
    await own.close();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3_000);
    await closedByServer;
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });
});

describe('configuration errors name file and line', () => {
  async function errorsOf(text: string): Promise<{ line: number; code: string; message: string; text: string }[]> {
    const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.conf`);
    await writeFile(file, text);
    try {
      const config = await loadConfig({ file, modules: builtinModules(), logger: silentLogger });
      await config.close();
      return [];
    } catch (err) {
      if (!(err instanceof ConfigErrors)) throw err;
      for (const e of err.errors) expect(e.file).toBe(file);
      return err.errors.map((e) => ({ line: e.line, code: e.code, message: e.message, text: e.toString() }));
    }
  }

  it('reports a bad URL, a wrong context and a missing path, all at once', async () => {
    const errors = await errorsOf(
      [
        'ProxyPass /a notaurl',
        '<Directory /tmp>',
        '    ProxyPass http://127.0.0.1:1/',
        '</Directory>',
        'ProxyPass /b',
        '<Location /c>',
        '    ProxyPass /c http://127.0.0.1:1/c',
        '</Location>',
        'ProxyPass /d https://127.0.0.1:1/d',
        'ProxyTimeout 0',
        'ProxyPass /e http://127.0.0.1:1/e retry=0',
        'ProxyPassReverse /f',
        '<LocationMatch ^/g>',
        '    ProxyPass http://127.0.0.1:1/g',
        '</LocationMatch>',
        'AuthTsUserHeader Content-Length',
        '',
      ].join('\n'),
    );
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [1, 'CONFIG_BAD_ARGUMENT'],
      [3, 'CONFIG_NOT_ALLOWED_HERE'],
      [5, 'CONFIG_BAD_ARGUMENT'],
      [7, 'CONFIG_BAD_ARGUMENT'],
      [9, 'CONFIG_BAD_ARGUMENT'],
      [10, 'CONFIG_BAD_ARGUMENT'],
      [11, 'CONFIG_BAD_ARGUMENT'],
      [12, 'CONFIG_BAD_ARGUMENT'],
      [14, 'CONFIG_NOT_ALLOWED_HERE'],
      [16, 'CONFIG_BAD_ARGUMENT'],
    ]);
    // httpd's own wording where httpd has one.
    expect(errors[0]!.text).toMatch(/bad-\w+\.conf:1: ProxyPass: ProxyPass URL must be absolute!: notaurl/);
    expect(errors[1]!.message).toBe('ProxyPass cannot occur within <Directory> section');
    expect(errors[2]!.message).toBe('ProxyPass|ProxyPassMatch needs a path when not defined in a location');
    expect(errors[3]!.message).toBe('ProxyPass|ProxyPassMatch can not have a path when defined in a location.');
    expect(errors[5]!.message).toBe('Proxy Timeout must be at least 1 second.');
  });

  it('loads a good configuration without warnings, and warns about a slash mismatch', async () => {
    expect(await errorsOf('ProxyPass /a/ http://127.0.0.1:1/a/\nProxyTimeout 5\nAuthTsUserHeader X-User\n')).toEqual([]);
    const file = join(dir, 'warn.conf');
    await writeFile(file, 'ProxyPass /a/ http://127.0.0.1:1/a\n');
    const config = await loadConfig({ file, modules: builtinModules(), logger: silentLogger });
    expect(config.warnings.map((w) => [w.line, w.message])).toEqual([[1, expect.stringContaining('one ends with "/"')]]);
    await config.close();
  });
});
