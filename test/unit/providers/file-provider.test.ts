import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileProvider } from '../../../src/index.js';
import { AuthTsError } from '../../../src/errors.js';
import { closePasswordWorkers } from '../../../src/passwords/index.js';
import { FIXTURES_DIR, manifest } from '../passwords/fixtures.js';
import { tempDir } from './helpers.js';

let dir = '';
let remove: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir, remove } = await tempDir());
});
afterEach(async () => {
  await remove();
});
afterAll(async () => {
  await closePasswordWorkers();
});

const alice = manifest.passwords['alice']!;
const bob = manifest.passwords['bob']!;

describe('fileProvider (the file provider on its own)', () => {
  it('answers granted, denied and not-found from an htpasswd file', async () => {
    const users = await fileProvider({ userFile: join(FIXTURES_DIR, 'bcrypt-cost5.htpasswd') });
    expect(users.name).toBe('file');
    expect(await users.checkPassword('alice', alice)).toBe('granted');
    expect(await users.checkPassword('alice', bob)).toBe('denied');
    expect(await users.checkPassword('mallory', alice)).toBe('not-found');
    await users.close();
  });

  it('resolves a relative path against the working directory', async () => {
    const users = await fileProvider({ userFile: relative(process.cwd(), join(FIXTURES_DIR, 'apr1.htpasswd')) });
    expect(await users.checkPassword('bob', bob)).toBe('granted');
  });

  it('follows changes to the file', async () => {
    const path = join(dir, 'users');
    await writeFile(path, '');
    const users = await fileProvider({ userFile: path });
    expect(await users.checkPassword('alice', alice)).toBe('not-found');
    const line = (await readFile(join(FIXTURES_DIR, 'sha512.htpasswd'), 'utf8')).split('\n').find((l) => l.startsWith('alice:'));
    await writeFile(path, `${line}\n`);
    expect(await users.checkPassword('alice', alice)).toBe('granted');
  });

  it('fails at creation on a missing file, and at check time while the file is gone', async () => {
    const missing = join(dir, 'nope');
    const err = await fileProvider({ userFile: missing }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthTsError);
    expect((err as AuthTsError).code).toBe('FILE_UNREADABLE');

    const path = join(dir, 'users');
    await writeFile(path, 'alice:{SHA}x\n');
    const users = await fileProvider({ userFile: path });
    await rm(path);
    await expect(users.checkPassword('alice', alice)).rejects.toMatchObject({ code: 'FILE_UNREADABLE' });
  });

  it('rejects misuse with TypeError naming the option', async () => {
    await expect(fileProvider({ userFile: '' })).rejects.toThrow(/options\.userFile/);
    await expect(fileProvider({} as never)).rejects.toThrow(TypeError);
    const users = await fileProvider({ userFile: join(FIXTURES_DIR, 'apr1.htpasswd') });
    await expect(users.checkPassword(42 as never, 'x')).rejects.toThrow(TypeError);
  });
});
