import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AuthTsError } from '../../../src/errors.js';
import { mapToFilesystem, normalizeRequestTarget } from '../../../src/server/paths.js';

/**
 * Recorded from Apache/2.4.71 (Debian), default core settings (AllowEncodedSlashes Off,
 * MergeSlashes On, HttpProtocolOptions Strict), raw requests over node:net so no client touched
 * the target. DocumentRoot held: files `b`, `x`, `x.`, `?`, `s p`, `é.txt`, `.hidden`, `a%2fb`,
 * `a;b`, `a/b`, `a/file.txt`, `sp ace/f`; directories `a/`, `dir/` (with index.html); no index
 * at the root, mod_autoindex loaded without Options Indexes (so a directory without index is
 * 403).
 *
 * `httpd` is the status httpd answered. Rows with `path` are targets httpd accepted: the status
 * then depends on the file the normalized path names, and `path` is httpd's `r->uri` (%U).
 * Rows without `path` are refused before any mapping, with `httpd` as the status.
 */
interface Row {
  readonly target: string;
  readonly httpd: number;
  readonly path?: string;
  readonly query?: string;
}

const TABLE: readonly Row[] = [
  // dot segments and slashes
  { target: '/a/../b', httpd: 200, path: '/b' },
  { target: '/a/./b', httpd: 200, path: '/a/b' },
  { target: '/./b', httpd: 200, path: '/b' },
  { target: '//a/b', httpd: 200, path: '/a/b' },
  { target: '//b', httpd: 200, path: '/b' },
  { target: '/a//b', httpd: 200, path: '/a/b' },
  { target: '/a///..//b', httpd: 200, path: '/b' },
  { target: '/a/..', httpd: 403, path: '/' },
  { target: '/a/.', httpd: 403, path: '/a/' },
  { target: '/.', httpd: 403, path: '/' },
  { target: '/a/b/.', httpd: 404, path: '/a/b/' },
  { target: '/a/b/..', httpd: 403, path: '/a/' },
  { target: '/x;/..', httpd: 403, path: '/' },
  { target: '/..', httpd: 400 },
  { target: '/../x', httpd: 400 },
  { target: '/../../x', httpd: 400 },
  { target: '/a/../..', httpd: 400 },
  { target: '/./../b', httpd: 400 },
  { target: '/a/./../../b', httpd: 400 },
  { target: '/a/b/../../..', httpd: 400 },
  { target: '/a/...', httpd: 404, path: '/a/...' },
  { target: '/a/..b', httpd: 404, path: '/a/..b' },
  { target: '/..a', httpd: 404, path: '/..a' },
  // encoded dots are dots (ap_normalize_path decodes unreserved characters first)
  { target: '/%2e%2e/', httpd: 400 },
  { target: '/%2e%2e/b', httpd: 400 },
  { target: '/.%2e', httpd: 400 },
  { target: '/a/%2e%2e/b', httpd: 200, path: '/b' },
  { target: '/a/%2E%2E/b', httpd: 200, path: '/b' },
  { target: '/a/.%2e/b', httpd: 200, path: '/b' },
  { target: '/a/%2e./b', httpd: 200, path: '/b' },
  { target: '/%2e/b', httpd: 200, path: '/b' },
  { target: '/%2e', httpd: 403, path: '/' },
  { target: '/a/b/%2e%2e', httpd: 403, path: '/a/' },
  { target: '/x%2e', httpd: 200, path: '/x.' },
  { target: '/x%41', httpd: 404, path: '/xA' },
  { target: '/%41%2e%2e/b', httpd: 404, path: '/A../b' },
  // encoded slash and NUL: 404 (AllowEncodedSlashes Off), unless normalization removed them
  { target: '/a%2fb', httpd: 404 },
  { target: '/a%2Fb', httpd: 404 },
  { target: '/%2f', httpd: 404 },
  { target: '/a/b%2f', httpd: 404 },
  { target: '/a/..%2fb', httpd: 404 },
  { target: '/x/..%2F', httpd: 404 },
  { target: '/%00', httpd: 404 },
  { target: '/a%00b', httpd: 404 },
  { target: '/%2f/..', httpd: 403, path: '/' },
  { target: '/%2f/../b', httpd: 200, path: '/b' },
  { target: '/a/%2f/../../b', httpd: 200, path: '/b' },
  { target: '/../%2f', httpd: 400 },
  { target: '/a%252fb', httpd: 200, path: '/a%2fb' },
  { target: '/a%5c..%5cb', httpd: 404, path: '/a\\..\\b' },
  // bad escapes: 400, even inside a segment that ".." removes
  { target: '/%zz', httpd: 400 },
  { target: '/%', httpd: 400 },
  { target: '/%4', httpd: 400 },
  { target: '/%zz/..', httpd: 400 },
  // query: split at the first "?", kept as received, never checked
  { target: '/x?y', httpd: 200, path: '/x', query: 'y' },
  { target: '/x?y?z', httpd: 200, path: '/x', query: 'y?z' },
  { target: '/x?', httpd: 200, path: '/x', query: '' },
  { target: '/x?a%zz', httpd: 200, path: '/x', query: 'a%zz' },
  { target: '/dir?q=1', httpd: 301, path: '/dir', query: 'q=1' },
  { target: '/%3f', httpd: 200, path: '/?' },
  { target: '/%3F', httpd: 200, path: '/?' },
  { target: '/x%23', httpd: 404, path: '/x#' },
  // fragments are refused (AH02421), even after the query
  { target: '/x#frag', httpd: 400 },
  { target: '/x?a#b', httpd: 400 },
  // characters
  { target: '/s%20p', httpd: 200, path: '/s p' },
  { target: '/sp%20ace/f', httpd: 200, path: '/sp ace/f' },
  { target: '/s p', httpd: 400 },
  { target: '/x\u0001', httpd: 400 },
  { target: '/x\u007f', httpd: 400 },
  { target: '/%C3%A9.txt', httpd: 200, path: '/é.txt' },
  { target: '/%c3%a9.txt', httpd: 200, path: '/é.txt' },
  // raw UTF-8 bytes, one character per byte as Node hands them over (Node's parser itself
  // refuses them in a request line; header values such as X-Forwarded-Uri carry them)
  { target: '/\u00c3\u00a9.txt', httpd: 200, path: '/é.txt' },
  { target: '/x"', httpd: 404, path: '/x"' },
  { target: '/x<', httpd: 404, path: '/x<' },
  { target: '/x{', httpd: 404, path: '/x{' },
  { target: '/x|', httpd: 404, path: '/x|' },
  { target: '/x\\', httpd: 404, path: '/x\\' },
  { target: '/x^', httpd: 404, path: '/x^' },
  { target: '/x`', httpd: 404, path: '/x`' },
  { target: '/a;b', httpd: 200, path: '/a;b' },
  { target: '/.hidden', httpd: 200, path: '/.hidden' },
  { target: '/x.', httpd: 200, path: '/x.' },
  { target: '/B', httpd: 404, path: '/B' },
  { target: '/a/b/', httpd: 404, path: '/a/b/' },
  { target: '/a/file.txt/extra', httpd: 404, path: '/a/file.txt/extra' },
  // httpd looks the byte 0xFF up (404: no such file); authts answers 404 without looking
  { target: '/%ff', httpd: 404 },
  // request-target forms
  { target: '*', httpd: 400 },
  { target: 'b', httpd: 400 },
  { target: './b', httpd: 400 },
  { target: 'http://host/b', httpd: 200, path: '/b' },
  { target: 'http://host', httpd: 403, path: '/' },
  { target: 'http://host?q', httpd: 403, path: '/', query: 'q' },
  { target: 'http://host/a/../b', httpd: 200, path: '/b' },
  { target: 'http://host/../b', httpd: 400 },
  { target: 'http://host/%2e%2e/b', httpd: 400 },
  { target: 'http://host/a%2fb', httpd: 404 },
  { target: 'https://h:1/x?q', httpd: 200, path: '/x', query: 'q' },
  { target: 'HTTPS://h/b', httpd: 200, path: '/b' },
  { target: 'hTtP://host/b', httpd: 200, path: '/b' },
  { target: 'http://[::1]/b', httpd: 200, path: '/b' },
  { target: 'http://host:/b', httpd: 200, path: '/b' },
  { target: 'http:///b', httpd: 200, path: '/b' },
  { target: 'http:/b', httpd: 200, path: '/b' },
  { target: 'http:', httpd: 403, path: '/' },
  { target: 'http:?q', httpd: 403, path: '/', query: 'q' },
  { target: 'http:b', httpd: 400 },
  { target: 'http://host:abc/b', httpd: 400 },
  { target: 'http://u@host/b', httpd: 400 },
  { target: 'http://a b/b', httpd: 400 },
  { target: 'http://host#f', httpd: 400 },
  { target: 'ftp://host/b', httpd: 400 },
  { target: 'ws://host/b', httpd: 400 },
  { target: '//host/b', httpd: 404, path: '/host/b' },
  { target: '?x', httpd: 403, path: '/', query: 'x' },
];

describe('normalizeRequestTarget (table recorded from Apache/2.4.71)', () => {
  it.each(TABLE)('$target → httpd $httpd', (row) => {
    const result = normalizeRequestTarget(row.target);
    if (row.path === undefined) {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.status).toBe(row.httpd);
        expect(result.reason).toMatch(/\w/);
      }
    } else {
      expect(result).toEqual({ ok: true, path: row.path, query: row.query ?? '' });
    }
  });

  it('refuses characters above U+00FF (not a wire-form target)', () => {
    expect(normalizeRequestTarget('/\u20ac')).toMatchObject({ ok: false, status: 400 });
  });

  it('refuses a non-string with TypeError', () => {
    expect(() => normalizeRequestTarget(42 as unknown as string)).toThrow(TypeError);
  });
});

describe('mapToFilesystem', () => {
  let tmp: string;
  let root: string;

  beforeAll(async () => {
    tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'authts-paths-')));
    root = path.join(tmp, 'root');
    await mkdir(path.join(root, 'public', 'sub'), { recursive: true });
    await mkdir(path.join(root, 'private'), { recursive: true });
    await mkdir(path.join(tmp, 'outside'), { recursive: true });
    await writeFile(path.join(root, 'private', 'secret.txt'), 'secret');
    await writeFile(path.join(root, 'public', 'file.txt'), 'public');
    await writeFile(path.join(root, 'public', 'x'), 'x');
    await writeFile(path.join(tmp, 'outside', 'o.txt'), 'outside');
    await symlink('../private/secret.txt', path.join(root, 'public', 'link.txt'));
    await symlink('../private', path.join(root, 'public', 'privdir'));
    await symlink(path.join(tmp, 'outside'), path.join(root, 'public', 'out'));
    await symlink('../private/missing.txt', path.join(root, 'public', 'dangling'));
    await symlink('loop', path.join(root, 'public', 'loop'));
    await symlink(root, path.join(tmp, 'rootlink'));
  });

  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('maps a plain file', async () => {
    await expect(mapToFilesystem(root, '/public/file.txt')).resolves.toEqual({
      filename: path.join(root, 'public', 'file.txt'),
      pathInfo: '',
      exists: true,
      isDirectory: false,
      realpathEscapesRoot: false,
    });
  });

  it('maps the root and directories, with or without trailing slash, to the real directory', async () => {
    await expect(mapToFilesystem(root, '/')).resolves.toEqual({
      filename: root,
      pathInfo: '',
      exists: true,
      isDirectory: true,
      realpathEscapesRoot: false,
    });
    for (const p of ['/public', '/public/']) {
      await expect(mapToFilesystem(root, p)).resolves.toMatchObject({
        filename: path.join(root, 'public'),
        exists: true,
        isDirectory: true,
      });
    }
  });

  it('maps a symlink in a public directory to the private real path', async () => {
    await expect(mapToFilesystem(root, '/public/link.txt')).resolves.toEqual({
      filename: path.join(root, 'private', 'secret.txt'),
      pathInfo: '',
      exists: true,
      isDirectory: false,
      realpathEscapesRoot: false,
    });
  });

  it('maps a path through a symlinked directory to the private real path', async () => {
    await expect(mapToFilesystem(root, '/public/privdir/secret.txt')).resolves.toMatchObject({
      filename: path.join(root, 'private', 'secret.txt'),
      exists: true,
    });
  });

  it('resolves the longest existing prefix of a missing path; its first missing component ends the filename (httpd\'s walk)', async () => {
    await expect(mapToFilesystem(root, '/public/privdir/new/deeper.txt')).resolves.toEqual({
      filename: path.join(root, 'private', 'new'),
      pathInfo: '/deeper.txt',
      exists: false,
      isDirectory: false,
      realpathEscapesRoot: false,
    });
  });

  it('reports a symlink that leads outside the DocumentRoot', async () => {
    await expect(mapToFilesystem(root, '/public/out/o.txt')).resolves.toEqual({
      filename: path.join(tmp, 'outside', 'o.txt'),
      pathInfo: '',
      exists: true,
      isDirectory: false,
      realpathEscapesRoot: true,
    });
    await expect(mapToFilesystem(root, '/public/out/missing')).resolves.toMatchObject({
      filename: path.join(tmp, 'outside', 'missing'),
      exists: false,
      realpathEscapesRoot: true,
    });
  });

  it('resolves the DocumentRoot itself when it is a symlink', async () => {
    await expect(mapToFilesystem(path.join(tmp, 'rootlink'), '/public/file.txt')).resolves.toEqual({
      filename: path.join(root, 'public', 'file.txt'),
      pathInfo: '',
      exists: true,
      isDirectory: false,
      realpathEscapesRoot: false,
    });
  });

  it('does not find a file under a trailing slash, but still names its real path', async () => {
    await expect(mapToFilesystem(root, '/public/file.txt/')).resolves.toEqual({
      filename: path.join(root, 'public', 'file.txt'),
      pathInfo: '',
      exists: false,
      isDirectory: false,
      realpathEscapesRoot: false,
    });
    await expect(mapToFilesystem(root, '/public/link.txt/')).resolves.toMatchObject({
      filename: path.join(root, 'private', 'secret.txt'),
      exists: false,
    });
  });

  it('ends the filename at a file met on the way: the rest is path info, and nothing exists', async () => {
    await expect(mapToFilesystem(root, '/public/link.txt/extra')).resolves.toMatchObject({
      filename: path.join(root, 'private', 'secret.txt'),
      pathInfo: '/extra',
      exists: false,
    });
  });

  it('follows Linux: a trailing dot and another case are other names', async () => {
    await expect(mapToFilesystem(root, '/public/x.')).resolves.toMatchObject({
      filename: path.join(root, 'public', 'x.'),
      exists: false,
    });
    await expect(mapToFilesystem(root, '/public/X')).resolves.toMatchObject({
      filename: path.join(root, 'public', 'X'),
      exists: false,
    });
  });

  it('names dangling and looping symlinks lexically, as missing', async () => {
    await expect(mapToFilesystem(root, '/public/dangling')).resolves.toMatchObject({
      filename: path.join(root, 'public', 'dangling'),
      exists: false,
      realpathEscapesRoot: false,
    });
    await expect(mapToFilesystem(root, '/public/loop/x')).resolves.toMatchObject({
      filename: path.join(root, 'public', 'loop'),
      pathInfo: '/x',
      exists: false,
    });
  });

  it('every spelling of a private file maps to the same real path', async () => {
    const spellings = [
      '/private/secret.txt',
      '/public/../private/secret.txt',
      '/public/%2e%2e/private/secret.txt',
      '/public/.%2E/private/./secret.txt',
      '//private//secret.txt',
      '/public/link.txt',
      '/public/privdir/secret.txt',
      '/public/sub/../privdir/secret.txt',
      '/%70rivate/secret%2etxt',
    ];
    for (const spelling of spellings) {
      const target = normalizeRequestTarget(spelling);
      expect(target.ok, spelling).toBe(true);
      if (!target.ok) continue;
      const mapped = await mapToFilesystem(root, target.path);
      expect(mapped.filename, spelling).toBe(path.join(root, 'private', 'secret.txt'));
    }
  });

  it('refuses an unnormalized path with TypeError', async () => {
    await expect(mapToFilesystem(root, '/public/../private')).rejects.toThrow(TypeError);
    await expect(mapToFilesystem(root, 'public')).rejects.toThrow(TypeError);
    await expect(mapToFilesystem('', '/')).rejects.toThrow(TypeError);
  });

  it('fails with FILE_UNREADABLE when the DocumentRoot cannot be resolved', async () => {
    const error = await mapToFilesystem(path.join(tmp, 'nope'), '/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthTsError);
    expect((error as AuthTsError).code).toBe('FILE_UNREADABLE');
  });
});
