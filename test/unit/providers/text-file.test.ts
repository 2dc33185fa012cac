import { mkdir, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthTsError } from '../../../src/errors.js';
import {
  createTextFileIndex,
  type TextFileIndex,
  type TextFileIndexOptions,
} from '../../../src/providers/text-file.js';
import { tempDir } from './helpers.js';

let dir = '';
let remove: () => Promise<void> = async () => {};

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
});
afterEach(async () => {
  await remove();
});

/**
 * An index whose parse counts its calls and returns the text with the call number. The files
 * of these tests are seconds old at most, so by default every read would be "racy"; tests of
 * the stat logic itself turn that off.
 */
function countingIndex(
  path: string,
  options: TextFileIndexOptions = { racyWindowMs: 0 },
): { index: TextFileIndex<string>; parses: () => number } {
  let parses = 0;
  const index = createTextFileIndex(
    path,
    (text) => {
      parses++;
      return `${parses}:${text}`;
    },
    options,
  );
  return { index, parses: () => parses };
}

/** Writes `text` to `path` and sets both its times to 2020-01-01: an old, settled file. */
async function writeSettled(path: string, text: string): Promise<void> {
  const when = new Date('2020-01-01T00:00:00Z');
  await writeFile(path, text);
  await utimes(path, when, when);
}

async function rejection(promise: Promise<unknown>): Promise<AuthTsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthTsError);
  return err as AuthTsError;
}

describe('createTextFileIndex', () => {
  it('reads nothing until the first get, then parses once while the file is unchanged', async () => {
    const path = join(dir, 'users');
    await writeFile(path, 'a');
    const { index, parses } = countingIndex(path);
    expect(index.path).toBe(path);
    expect(parses()).toBe(0);
    expect(await index.get()).toBe('1:a');
    expect(await index.get()).toBe('1:a');
    expect(await index.get()).toBe('1:a');
    expect(parses()).toBe(1);
  });

  it('shares one read among concurrent calls', async () => {
    const path = join(dir, 'users');
    await writeFile(path, 'a');
    const { index, parses } = countingIndex(path);
    const results = await Promise.all([index.get(), index.get(), index.get(), index.get()]);
    expect(results).toEqual(['1:a', '1:a', '1:a', '1:a']);
    expect(parses()).toBe(1);
  });

  it('re-reads when the size changes', async () => {
    const path = join(dir, 'users');
    await writeFile(path, 'a');
    const { index } = countingIndex(path);
    expect(await index.get()).toBe('1:a');
    await writeFile(path, 'ab');
    expect(await index.get()).toBe('2:ab');
  });

  it('re-reads when only the modification time changes (same size, same inode)', async () => {
    const path = join(dir, 'users');
    await writeFile(path, 'a');
    await utimes(path, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    const { index } = countingIndex(path);
    const before = await stat(path);
    expect(await index.get()).toBe('1:a');
    await writeFile(path, 'b');
    await utimes(path, new Date('2020-01-02T00:00:00Z'), new Date('2020-01-02T00:00:00Z'));
    const after = await stat(path);
    expect(after.ino).toBe(before.ino);
    expect(after.size).toBe(before.size);
    expect(await index.get()).toBe('2:b');
  });

  it('re-reads when the file is replaced by another inode with the same size and mtime', async () => {
    const path = join(dir, 'users');
    const next = join(dir, 'users.new');
    await writeSettled(path, 'a');
    const { index } = countingIndex(path);
    expect(await index.get()).toBe('1:a');
    await writeSettled(next, 'b');
    await rename(next, path);
    expect(await index.get()).toBe('2:b');
  });

  it('throws FILE_UNREADABLE while the file is missing, and recovers when it is back', async () => {
    const path = join(dir, 'users');
    await writeFile(path, 'a');
    const { index } = countingIndex(path);
    expect(await index.get()).toBe('1:a');
    await rm(path);
    const err = await rejection(index.get());
    expect(err.code).toBe('FILE_UNREADABLE');
    expect(err.message).toContain(path);
    expect(err.message).toContain('ENOENT');
    expect((await rejection(index.get())).code).toBe('FILE_UNREADABLE');
    await writeFile(path, 'back');
    expect(await index.get()).toBe('2:back');
  });

  it('throws FILE_UNREADABLE for a file that never existed and for a directory', async () => {
    const missing = countingIndex(join(dir, 'nope')).index;
    expect((await rejection(missing.get())).code).toBe('FILE_UNREADABLE');
    await mkdir(join(dir, 'sub'));
    const directory = countingIndex(join(dir, 'sub')).index;
    const err = await rejection(directory.get());
    expect(err.code).toBe('FILE_UNREADABLE');
    expect(err.message).toContain('EISDIR');
  });

  it('clear() makes the next get read the file again', async () => {
    const path = join(dir, 'users');
    await writeFile(path, 'a');
    const { index, parses } = countingIndex(path);
    expect(await index.get()).toBe('1:a');
    index.clear();
    expect(await index.get()).toBe('2:a');
    expect(parses()).toBe(2);
  });

  it('re-reads a file changed moments ago on every call, parsing again only when the text differs', async () => {
    const path = join(dir, 'users');
    await writeFile(path, 'a');
    const { index, parses } = countingIndex(path, {});
    expect(await index.get()).toBe('1:a');
    expect(await index.get()).toBe('1:a');
    expect(parses()).toBe(1);
    await writeFile(path, 'b');
    expect(await index.get()).toBe('2:b');
  });

  // The next two guard the check against a shortcut that watches the old file instead of the
  // path (an open descriptor): the old file is still there, unchanged but for where it is.
  it('sees a file renamed away and another put in its place at once (same size and mtime)', async () => {
    const path = join(dir, 'users');
    await writeSettled(path, 'a');
    const { index } = countingIndex(path);
    expect(await index.get()).toBe('1:a');
    await rename(path, `${path}.old`);
    await writeSettled(path, 'b');
    expect(await index.get()).toBe('2:b');
  });

  it('sees a symbolic link re-pointed to another file at once (same size and mtime)', async () => {
    const path = join(dir, 'users');
    await writeSettled(join(dir, 'v1'), 'a');
    await writeSettled(join(dir, 'v2'), 'b');
    await symlink('v1', path);
    const { index } = countingIndex(path);
    expect(await index.get()).toBe('1:a');
    await symlink('v2', `${path}.next`);
    await rename(`${path}.next`, path);
    expect(await index.get()).toBe('2:b');
  });

  it('checks its arguments eagerly', () => {
    expect(() => createTextFileIndex('', (t) => t)).toThrow(TypeError);
    expect(() => createTextFileIndex('/x', 42 as unknown as (t: string) => string)).toThrow(TypeError);
    expect(() => createTextFileIndex('/x', (t) => t, { racyWindowMs: -1 })).toThrow(/racyWindowMs/);
  });
});
