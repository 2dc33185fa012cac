/*
 * authts serves files with the libraries `send` is made of (etag, fresh, range-parser,
 * mime-types) instead of `send` itself (see src/server/static.ts). This suite is the proof that
 * nothing changed for clients: every conditional and range request below goes to a server using
 * `send` and to one using serveStatic, on the same files, and the answers must agree.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import send from 'send';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { normalizeRequestTarget, openMapped } from '../../../src/server/paths.js';
import { serveStatic } from '../../../src/server/static.js';

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

let tmp: string;
const servers: http.Server[] = [];
let ours = 0;
let theirs = 0;

function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function request(port: number, method: string, target: string, headers: http.OutgoingHttpHeaders): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'authts-send-oracle-')));
  await writeFile(path.join(tmp, 'small.txt'), 'abcdefghijklmnopqrstuvwxyz\n');
  // Larger than the synchronous-read limit (64 KiB): streamed from the descriptor.
  await writeFile(path.join(tmp, 'large.bin'), randomBytes(200 * 1024 + 7));
  await writeFile(path.join(tmp, 'empty.css'), '');
  await writeFile(path.join(tmp, 'data.unknownext'), 'xyz');

  ours = await listen((req, res) => {
    const target = normalizeRequestTarget(req.url ?? '');
    if (!target.ok) {
      res.statusCode = 599;
      res.end();
      return;
    }
    const mapped = openMapped(target.path, tmp);
    serveStatic(req, res, { filename: mapped.filename, file: mapped.file, urlPath: target.path, directoryIndex: [] })
      .catch((error: unknown) => {
        res.statusCode = 599;
        res.end(String(error));
      })
      .finally(() => mapped.file?.close());
  });
  theirs = await listen((req, res) => {
    const file = path.join(tmp, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    send(req, file, { dotfiles: 'allow', index: false, cacheControl: false }).pipe(res);
  });
});

afterAll(async () => {
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(tmp, { recursive: true, force: true });
});

/** What must agree: the status, the entity headers and, for 2xx, the bytes. */
function comparable(reply: Reply): Record<string, unknown> {
  const pick = ['etag', 'last-modified', 'content-type', 'content-range', 'accept-ranges'] as const;
  const headers: Record<string, unknown> = {};
  const ok = reply.status < 300 || reply.status === 304;
  for (const name of pick) {
    // Error bodies differ on purpose (httpd's error documents), and so do their headers.
    if (ok || name === 'content-range') headers[name] = reply.headers[name];
  }
  return {
    status: reply.status,
    headers,
    ...(ok ? { length: reply.headers['content-length'], body: reply.body.toString('base64') } : {}),
  };
}

type Case = readonly [name: string, headers: (v: { etag: string; lastModified: string; earlier: string; later: string }) => http.OutgoingHttpHeaders];

const CASES: readonly Case[] = [
  ['no condition', () => ({})],
  ['If-None-Match: the ETag', (v) => ({ 'If-None-Match': v.etag })],
  ['If-None-Match: another ETag', () => ({ 'If-None-Match': '"other"' })],
  ['If-None-Match: a list holding the ETag', (v) => ({ 'If-None-Match': `"a", ${v.etag}` })],
  ['If-None-Match: *', () => ({ 'If-None-Match': '*' })],
  ['If-None-Match with Cache-Control: no-cache', (v) => ({ 'If-None-Match': v.etag, 'Cache-Control': 'no-cache' })],
  ['If-Modified-Since: Last-Modified', (v) => ({ 'If-Modified-Since': v.lastModified })],
  ['If-Modified-Since: earlier', (v) => ({ 'If-Modified-Since': v.earlier })],
  ['If-Modified-Since: garbage', () => ({ 'If-Modified-Since': 'not a date' })],
  ['If-None-Match wins over If-Modified-Since', (v) => ({ 'If-None-Match': '"other"', 'If-Modified-Since': v.later })],
  ['If-Match: the ETag', (v) => ({ 'If-Match': v.etag })],
  ['If-Match: the strong form of the weak ETag', (v) => ({ 'If-Match': v.etag.replace(/^W\//, '') })],
  ['If-Match: another ETag', () => ({ 'If-Match': '"other"' })],
  ['If-Match: *', () => ({ 'If-Match': '*' })],
  ['If-Unmodified-Since: earlier', (v) => ({ 'If-Unmodified-Since': v.earlier })],
  ['If-Unmodified-Since: later', (v) => ({ 'If-Unmodified-Since': v.later })],
  ['Range: first bytes', () => ({ Range: 'bytes=0-4' })],
  ['Range: open-ended', () => ({ Range: 'bytes=5-' })],
  ['Range: suffix', () => ({ Range: 'bytes=-3' })],
  ['Range: beyond the end is clipped', () => ({ Range: 'bytes=2-99999999' })],
  ['Range: two ranges (whole file)', () => ({ Range: 'bytes=0-0,2-3' })],
  ['Range: adjacent ranges combined', () => ({ Range: 'bytes=0-1,2-3' })],
  ['Range: unsatisfiable', () => ({ Range: 'bytes=99999999-' })],
  ['Range: malformed', () => ({ Range: 'bytes=abc' })],
  ['Range: another unit', () => ({ Range: 'items=0-1' })],
  ['Range with If-Range: the ETag', (v) => ({ Range: 'bytes=0-4', 'If-Range': v.etag })],
  ['Range with If-Range: another ETag', () => ({ Range: 'bytes=0-4', 'If-Range': '"other"' })],
  ['Range with If-Range: Last-Modified', (v) => ({ Range: 'bytes=0-4', 'If-Range': v.lastModified })],
  ['Range with If-Range: earlier', (v) => ({ Range: 'bytes=0-4', 'If-Range': v.earlier })],
  ['Range with a fresh If-None-Match (304 first)', (v) => ({ Range: 'bytes=0-4', 'If-None-Match': v.etag })],
];

describe('serveStatic answers as send does', () => {
  for (const file of ['small.txt', 'large.bin', 'empty.css', 'data.unknownext']) {
    for (const method of ['GET', 'HEAD']) {
      it(`${method} /${file}: every conditional and range case`, async () => {
        const first = await request(theirs, 'GET', `/${file}`, {});
        expect(first.status).toBe(200);
        const etag = String(first.headers.etag);
        const lastModified = String(first.headers['last-modified']);
        const mtime = Date.parse(lastModified);
        const values = {
          etag,
          lastModified,
          earlier: new Date(mtime - 3_600_000).toUTCString(),
          later: new Date(mtime + 3_600_000).toUTCString(),
        };
        for (const [name, headersFor] of CASES) {
          const headers = headersFor(values);
          const [a, b] = await Promise.all([
            request(ours, method, `/${file}`, headers),
            request(theirs, method, `/${file}`, headers),
          ]);
          expect({ case: name, ...comparable(a) }).toEqual({ case: name, ...comparable(b) });
        }
      });
    }
  }

  it('covers the statuses it claims to (200, 206, 304, 412, 416)', async () => {
    const statuses = new Set<number>();
    const first = await request(ours, 'GET', '/small.txt', {});
    const values = { etag: String(first.headers.etag), lastModified: String(first.headers['last-modified']), earlier: 'Thu, 01 Jan 1970 00:00:00 GMT', later: 'Fri, 01 Jan 2100 00:00:00 GMT' };
    for (const [, headersFor] of CASES) statuses.add((await request(ours, 'GET', '/small.txt', headersFor(values))).status);
    expect([...statuses].sort()).toEqual([200, 206, 304, 412, 416]);
  });
});
