import { execFileSync } from 'node:child_process';
import { readSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openInDirectory, openReal, type OpenedFile } from '../../../src/server/open-file.js';
import { openMapped } from '../../../src/server/paths.js';

let tmp: string;

beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'authts-open-')));
  await mkdir(path.join(tmp, 'pub'));
  await mkdir(path.join(tmp, 'private'));
  await writeFile(path.join(tmp, 'pub', 'file.txt'), 'public\n');
  await writeFile(path.join(tmp, 'private', 'secret.txt'), 'secret\n');
  await symlink('../private/secret.txt', path.join(tmp, 'pub', 'link.txt'));
  await symlink('link.txt', path.join(tmp, 'pub', 'link2.txt'));
  execFileSync('mkfifo', [path.join(tmp, 'pub', 'fifo')]);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function opened(result: OpenedFile | string): OpenedFile {
  if (typeof result === 'string') throw new Error(`expected a file, got ${result}`);
  return result;
}

function firstBytes(file: OpenedFile, n: number): string {
  const buffer = Buffer.alloc(n);
  const got = readSync(file.fd, buffer, 0, n, 0);
  return buffer.subarray(0, got).toString('utf8');
}

describe('openReal', () => {
  for (const viaProc of [true, false]) {
    const how = viaProc ? 'through /proc/self/fd' : 'through realpath and an inode check';
    it(`learns the real path of a file behind a chain of symlinks (${how})`, () => {
      const file = opened(openReal(path.join(tmp, 'pub', 'link2.txt'), viaProc));
      try {
        expect(file.realPath).toBe(path.join(tmp, 'private', 'secret.txt'));
        expect(file.stats.isFile()).toBe(true);
        expect(firstBytes(file, 6)).toBe('secret');
      } finally {
        file.close();
      }
    });
  }

  it('answers the error code when the name cannot be opened', () => {
    expect(openReal(path.join(tmp, 'pub', 'missing.txt'))).toBe('ENOENT');
    expect(openReal(path.join(tmp, 'pub', 'file.txt', 'below'))).toBe('ENOTDIR');
  });

  it('opens a FIFO without waiting for a writer', () => {
    const fifo = opened(openReal(path.join(tmp, 'pub', 'fifo')));
    expect(fifo.stats.isFIFO()).toBe(true);
    fifo.close();
  });

  it('close() may be called twice', () => {
    const file = opened(openReal(path.join(tmp, 'pub', 'file.txt')));
    file.close();
    expect(() => file.close()).not.toThrow();
  });
});

describe('openInDirectory', () => {
  it('opens inside the directory that was opened, even after its name is swapped for a symlink', async () => {
    const site = path.join(tmp, 'site');
    await mkdir(site);
    await writeFile(path.join(site, 'index.html'), 'site index\n');
    const dir = opened(openReal(site));
    try {
      // Swap: "site" now points at the private directory, which has its own index.html.
      await writeFile(path.join(tmp, 'private', 'index.html'), 'private index\n');
      await rename(site, path.join(tmp, 'site-old'));
      await symlink('private', site);
      const index = opened(openInDirectory(dir, 'index.html'));
      try {
        expect(firstBytes(index, 10)).toBe('site index');
        expect(index.realPath).toBe(path.join(tmp, 'site-old', 'index.html'));
      } finally {
        index.close();
      }
    } finally {
      dir.close();
    }
  });
});

describe('openMapped', () => {
  it('maps onto the real path and keeps the very file open: a symlink swapped in afterwards changes nothing', async () => {
    const root = path.join(tmp, 'root');
    await mkdir(path.join(root, 'pub'), { recursive: true });
    await writeFile(path.join(root, 'pub', 'page.txt'), 'public page\n');
    const mapped = openMapped('/pub/page.txt', root);
    try {
      expect(mapped).toMatchObject({ filename: path.join(root, 'pub', 'page.txt'), exists: true, isDirectory: false });
      await rm(path.join(root, 'pub', 'page.txt'));
      await symlink(path.join(tmp, 'private', 'secret.txt'), path.join(root, 'pub', 'page.txt'));
      expect(firstBytes(mapped.file!, 11)).toBe('public page');
    } finally {
      mapped.file?.close();
    }
  });

  it('opens nothing for a file named with a trailing slash, a missing path or a path below a file', () => {
    const root = path.join(tmp, 'pub');
    expect(openMapped('/file.txt/', root)).toMatchObject({ exists: false, file: undefined, filename: path.join(root, 'file.txt') });
    // As httpd's directory walk: the first missing component, or a file met on the way, ends
    // the filename; the rest is path info.
    expect(openMapped('/nope/deeper', root)).toMatchObject({ exists: false, file: undefined, filename: path.join(root, 'nope'), pathInfo: '/deeper' });
    expect(openMapped('/file.txt/x', root)).toMatchObject({ exists: false, file: undefined, filename: path.join(root, 'file.txt'), pathInfo: '/x' });
  });

  it('opens a directory and says so', () => {
    const mapped = openMapped('/pub/', tmp);
    try {
      expect(mapped).toMatchObject({ exists: true, isDirectory: true, filename: path.join(tmp, 'pub') });
      expect(mapped.file?.stats.isDirectory()).toBe(true);
    } finally {
      mapped.file?.close();
    }
  });

  it('marks a symlink that leads out of the root', () => {
    const mapped = openMapped('/link.txt', path.join(tmp, 'pub'));
    try {
      expect(mapped).toMatchObject({ exists: true, realpathEscapesRoot: true, filename: path.join(tmp, 'private', 'secret.txt') });
    } finally {
      mapped.file?.close();
    }
  });
});
