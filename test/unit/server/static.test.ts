import { chmod, mkdir, mkdtemp, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { mapToFilesystem, normalizeRequestTarget } from '../../../src/server/paths.js';
import {
  type DirectoryIndexCandidate,
  type DirectoryIndexDecision,
  serveStatic,
} from '../../../src/server/static.js';

/*
 * Statuses, Location and Allow below were checked against Apache/2.4.71 with the same layout
 * (mod_dir, mod_autoindex without Options Indexes, TraceEnable Off).
 */

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

let tmp: string;
let root: string;
let server: http.Server;
let port: number;
let directoryIndex: readonly string[] = ['index.html'];
let authorizeIndex:
  | ((candidate: DirectoryIndexCandidate, res: http.ServerResponse) => Promise<DirectoryIndexDecision>)
  | undefined;
const seenIndexes: DirectoryIndexCandidate[] = [];

function request(method: string, target: string, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: target, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'authts-static-')));
  root = path.join(tmp, 'root');
  await mkdir(path.join(root, 'dir'), { recursive: true });
  await mkdir(path.join(root, 'empty'));
  await mkdir(path.join(root, 'multi', 'index.html'), { recursive: true });
  await mkdir(path.join(root, 'sp ace'));
  await mkdir(path.join(root, 'private'));
  await mkdir(path.join(root, 'linked'));
  await writeFile(path.join(root, 'hello.txt'), 'hello, world\n');
  await writeFile(path.join(root, 'data.bin'), Buffer.from([0, 1, 2, 3]));
  await writeFile(path.join(root, 'dir', 'index.html'), '<p>index</p>\n');
  await writeFile(path.join(root, 'multi', 'default.txt'), 'default\n');
  await writeFile(path.join(root, '.hidden'), 'hidden\n');
  await writeFile(path.join(root, '100%.txt'), 'percent\n');
  await writeFile(path.join(root, 'unreadable.txt'), 'nope\n');
  await chmod(path.join(root, 'unreadable.txt'), 0o000);
  await writeFile(path.join(root, 'private', 'index.html'), '<p>private</p>\n');
  await symlink('../private/index.html', path.join(root, 'linked', 'index.html'));
  await symlink('hello.txt', path.join(root, 'hello-link.txt'));

  server = http.createServer((req, res) => {
    void (async () => {
      const target = normalizeRequestTarget(req.url ?? '');
      if (!target.ok) {
        res.statusCode = target.status;
        res.end();
        return;
      }
      const mapped = await mapToFilesystem(root, target.path);
      // The stale-path test serves the symlink's own name instead of its real path.
      const filename = req.headers['x-raw-filename'] === '1' ? path.join(root, target.path) : mapped.filename + mapped.pathInfo;
      await serveStatic(req, res, {
        filename,
        urlPath: target.path,
        directoryIndex,
        ...(authorizeIndex ? { authorizeIndex: (candidate) => authorizeIndex!(candidate, res) } : {}),
      });
    })().catch((error: unknown) => {
      res.statusCode = 599;
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  await rm(tmp, { recursive: true, force: true });
});

describe('serveStatic: files', () => {
  it('serves a file with Content-Type, ETag, Last-Modified, Accept-Ranges and no Cache-Control', async () => {
    const reply = await request('GET', '/hello.txt');
    const info = await stat(path.join(root, 'hello.txt'));
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('hello, world\n');
    expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(reply.headers['content-length']).toBe('13');
    expect(reply.headers['etag']).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    expect(reply.headers['last-modified']).toBe(info.mtime.toUTCString());
    expect(reply.headers['accept-ranges']).toBe('bytes');
    expect(reply.headers['cache-control']).toBeUndefined();
  });

  it('answers HEAD with the same headers and no body', async () => {
    const get = await request('GET', '/hello.txt');
    const head = await request('HEAD', '/hello.txt');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe('13');
    expect(head.headers['etag']).toBe(get.headers['etag']);
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
  });

  it('answers a Range request with 206 and Content-Range', async () => {
    const reply = await request('GET', '/hello.txt', { Range: 'bytes=0-4' });
    expect(reply.status).toBe(206);
    expect(reply.headers['content-range']).toBe('bytes 0-4/13');
    expect(reply.body).toBe('hello');
  });

  it('answers an unsatisfiable Range with 416 and Content-Range', async () => {
    const reply = await request('GET', '/hello.txt', { Range: 'bytes=100-200' });
    expect(reply.status).toBe(416);
    expect(reply.headers['content-range']).toBe('bytes */13');
    expect(reply.headers['etag']).toBeUndefined();
  });

  it('answers 304 to If-None-Match and If-Modified-Since', async () => {
    const first = await request('GET', '/hello.txt');
    const etag = first.headers['etag'] ?? '';
    const byEtag = await request('GET', '/hello.txt', { 'If-None-Match': etag });
    expect(byEtag.status).toBe(304);
    expect(byEtag.body).toBe('');
    expect(byEtag.headers['etag']).toBe(etag);
    const byDate = await request('GET', '/hello.txt', { 'If-Modified-Since': first.headers['last-modified'] ?? '' });
    expect(byDate.status).toBe(304);
    const changed = await request('GET', '/hello.txt', { 'If-None-Match': 'W/"other"' });
    expect(changed.status).toBe(200);
  });

  it('sends an unknown type as application/octet-stream', async () => {
    const reply = await request('GET', '/data.bin');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/octet-stream');
  });

  it('serves dot files, as httpd does', async () => {
    const reply = await request('GET', '/.hidden');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('hidden\n');
  });

  it('serves a file whose name contains "%" (the name reaches the filesystem undecoded)', async () => {
    const reply = await request('GET', '/100%25.txt');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('percent\n');
  });

  it('serves a symlinked file through its real path', async () => {
    const reply = await request('GET', '/hello-link.txt');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('hello, world\n');
  });

  it('answers 404 for a missing file, with httpd\'s error document', async () => {
    const reply = await request('GET', '/missing.txt');
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toBe('text/html; charset=iso-8859-1');
    expect(reply.body).toContain('<title>404 Not Found</title>');
    const head = await request('HEAD', '/missing.txt');
    expect(head.status).toBe(404);
    expect(head.body).toBe('');
  });

  it('answers 404 for a file requested with a trailing slash or path info', async () => {
    expect((await request('GET', '/hello.txt/')).status).toBe(404);
    expect((await request('GET', '/hello.txt/extra')).status).toBe(404);
  });

  it('answers 404 when the filename is not a real path (a symlink appeared after mapping)', async () => {
    const reply = await request('GET', '/hello-link.txt', { 'X-Raw-Filename': '1' });
    expect(reply.status).toBe(404);
  });

});

describe('serveStatic: directories', () => {
  it('redirects a directory without trailing slash with 301, keeping the query', async () => {
    const plain = await request('GET', '/dir');
    expect(plain.status).toBe(301);
    expect(plain.headers['location']).toBe(`http://127.0.0.1:${port}/dir/`);
    expect(plain.body).toContain(`<a href="http://127.0.0.1:${port}/dir/">here</a>`);
    const withQuery = await request('GET', '/dir?a=1&b');
    expect(withQuery.headers['location']).toBe(`http://127.0.0.1:${port}/dir/?a=1&b`);
    const emptyQuery = await request('GET', '/dir?');
    expect(emptyQuery.headers['location']).toBe(`http://127.0.0.1:${port}/dir/?`);
  });

  it('escapes the redirect Location as ap_escape_uri does and uses the Host header', async () => {
    const reply = await request('GET', '/sp%20ace', { Host: 'example.org:8080' });
    expect(reply.status).toBe(301);
    expect(reply.headers['location']).toBe('http://example.org:8080/sp%20ace/');
  });

  it('takes the redirect host from an absolute-form target, as httpd does', async () => {
    const reply = await request('GET', 'http://example.com:81/dir?z');
    expect(reply.status).toBe(301);
    expect(reply.headers['location']).toBe('http://example.com:81/dir/?z');
  });

  it('redirects whatever the method (mod_dir runs before the handler)', async () => {
    for (const method of ['HEAD', 'POST', 'DELETE', 'OPTIONS', 'PURGE']) {
      const reply = await request(method, '/dir');
      expect(reply.status, method).toBe(301);
    }
  });

  it('serves the DirectoryIndex file for a directory with trailing slash', async () => {
    const reply = await request('GET', '/dir/');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('<p>index</p>\n');
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it('answers 403 for a directory without index to GET/HEAD, 404 to POST', async () => {
    expect((await request('GET', '/empty/')).status).toBe(403);
    expect((await request('HEAD', '/empty/')).status).toBe(403);
    expect((await request('POST', '/empty/')).status).toBe(404);
    expect((await request('GET', '/')).status).toBe(403);
  });

  it('tries DirectoryIndex names in order and skips a directory of that name', async () => {
    directoryIndex = ['index.html', 'default.txt'];
    try {
      const reply = await request('GET', '/multi/');
      expect(reply.status).toBe(200);
      expect(reply.body).toBe('default\n');
    } finally {
      directoryIndex = ['index.html'];
    }
  });

  it('asks authorizeIndex about the real path of each index, and obeys it', async () => {
    seenIndexes.length = 0;
    authorizeIndex = async (candidate) => {
      seenIndexes.push(candidate);
      if (candidate.filename.startsWith(path.join(root, 'private'))) {
        return 'skip';
      }
      return 'serve';
    };
    try {
      expect((await request('GET', '/linked/')).status).toBe(403);
      expect(seenIndexes).toEqual([
        { filename: path.join(root, 'private', 'index.html'), urlPath: '/linked/index.html' },
      ]);
      expect((await request('GET', '/dir/')).status).toBe(200);
    } finally {
      authorizeIndex = undefined;
    }
  });

  it('leaves the response to authorizeIndex when it answers handled', async () => {
    authorizeIndex = async (_candidate, res) => {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' }).end();
      return 'handled';
    };
    try {
      const reply = await request('GET', '/dir/');
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toBe('Basic realm="x"');
    } finally {
      authorizeIndex = undefined;
    }
  });
});

describe('serveStatic: methods (as httpd 2.4 default_handler)', () => {
  it('serves POST like GET', async () => {
    const reply = await request('POST', '/hello.txt');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('hello, world\n');
    expect((await request('POST', '/missing.txt')).status).toBe(404);
    expect((await request('POST', '/dir/')).status).toBe(200);
  });

  it('answers OPTIONS with 200 and Allow, for files, missing files and directories', async () => {
    for (const target of ['/hello.txt', '/missing.txt', '/empty/', '/dir/']) {
      const reply = await request('OPTIONS', target);
      expect(reply.status, target).toBe(200);
      expect(reply.headers['allow'], target).toBe('HEAD,GET,POST,OPTIONS');
      expect(reply.body, target).toBe('');
    }
  });

  it('answers other known methods with 405 and Allow, before looking for the file', async () => {
    for (const [method, target] of [
      ['PUT', '/hello.txt'],
      ['DELETE', '/hello.txt'],
      ['DELETE', '/missing.txt'],
      ['PATCH', '/hello.txt'],
      ['PROPFIND', '/hello.txt'],
      ['TRACE', '/hello.txt'],
      ['DELETE', '/empty/'],
    ] as const) {
      const reply = await request(method, target);
      expect(reply.status, `${method} ${target}`).toBe(405);
      expect(reply.headers['allow']).toBe('HEAD,GET,POST,OPTIONS');
      if (method !== 'TRACE') expect(reply.body).toContain(`The requested method ${method} is not allowed`);
    }
  });

  it('answers methods httpd does not know with 501 and Allow', async () => {
    for (const method of ['PURGE', 'SEARCH', 'LINK', 'MKCALENDAR']) {
      const reply = await request(method, '/hello.txt');
      expect(reply.status, method).toBe(501);
      expect(reply.headers['allow']).toBe('HEAD,GET,POST,OPTIONS');
    }
  });
});

describe('serveStatic: misuse', () => {
  it('rejects a relative filename or a bad urlPath with TypeError', async () => {
    const req = new http.IncomingMessage(null as never);
    const res = new http.ServerResponse(req);
    await expect(serveStatic(req, res, { filename: 'rel', urlPath: '/', directoryIndex: [] })).rejects.toThrow(
      TypeError,
    );
    await expect(serveStatic(req, res, { filename: '/x', urlPath: 'x', directoryIndex: [] })).rejects.toThrow(
      TypeError,
    );
  });
});
