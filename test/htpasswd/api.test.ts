/**
 * The programmatic API: createHash in every format (checked by authts and by Apache's
 * htpasswd), the file operations and their verdicts, locking, and what an update preserves.
 */
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { chown, lstat, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthTsError } from '../../src/errors.js';
import { closePasswordWorkers } from '../../src/passwords/crypt-pool.js';
import { shaCrypt } from '../../src/passwords/sha-crypt.js';
import {
  addUser,
  checkUserFile,
  checkUserFileText,
  createHash,
  deleteUser,
  setDigestPassword,
  setPassword,
  updateUser,
  verifyPassword,
  verifyUser,
  withFileLock,
  type HashFormat,
} from '../../src/userfile/index.js';
import { breakStaleLock } from '../../src/userfile/lock.js';
import { apacheVerifies } from './compare.js';
import { isRoot, makeTools, removeTools, type Tools } from './helpers.js';

let tools: Tools | undefined;
let dir = '';

beforeAll(async () => {
  tools = await makeTools();
  dir = await mkdtemp(join(tmpdir(), 'authts-userfile-'));
});

afterAll(async () => {
  await removeTools(tools);
  await rm(dir, { recursive: true, force: true });
  await closePasswordWorkers();
});

let counter = 0;
const fresh = (): string => join(dir, `f${counter++}`);

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return err instanceof AuthTsError ? err.code : err instanceof TypeError ? 'TypeError' : String(err);
  }
}

describe('createHash', () => {
  const shapes: Array<[HashFormat, Record<string, number>, RegExp]> = [
    ['apr1', {}, /^\$apr1\$[./0-9A-Za-z]{8}\$[./0-9A-Za-z]{22}$/],
    ['bcrypt', {}, /^\$2y\$05\$[./A-Za-z0-9]{53}$/],
    ['bcrypt', { cost: 10 }, /^\$2y\$10\$[./A-Za-z0-9]{53}$/],
    ['sha256', {}, /^\$5\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{43}$/],
    ['sha512', {}, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/],
    ['sha512', { rounds: 10000 }, /^\$6\$rounds=10000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/],
    ['sha256', { rounds: 1000 }, /^\$5\$rounds=1000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{43}$/],
    ['des', {}, /^[./0-9A-Za-z]{13}$/],
    ['sha1', {}, /^\{SHA\}[A-Za-z0-9+/]{27}=$/],
  ];
  it.each(shapes.map(([f, o, re]) => [`${f} ${JSON.stringify(o)}`, f, o, re] as const))('%s verifies in authts and in Apache', async (_n, format, opts, re) => {
    const hash = await createHash('pässwörd', { format, ...opts });
    expect(hash).toMatch(re);
    expect(await verifyPassword(hash, 'pässwörd')).toBe(true);
    expect(await verifyPassword(hash, 'other')).toBe(false);
    expect(await apacheVerifies(tools as Tools, 'u', hash, 'pässwörd')).toBe(true);
  });

  it('salts are fresh for every hash', async () => {
    const hashes = await Promise.all(Array.from({ length: 8 }, () => createHash('pw', { format: 'apr1' })));
    expect(new Set(hashes).size).toBe(8);
  });

  it('plain stores the password; argon2id uses the library defaults', async () => {
    expect(await createHash('pw', { format: 'plain' })).toBe('pw');
    const argon = await createHash('pw', { format: 'argon2id' });
    expect(argon).toMatch(/^\$argon2id\$v=19\$m=65536,p=4,t=3\$/);
    expect(await verifyPassword(argon, 'pw')).toBe(true);
  });

  it('hashes bytes as they are (not UTF-8)', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x41]);
    for (const format of ['apr1', 'sha512', 'bcrypt', 'sha1', 'des'] as const) {
      const hash = await createHash(bytes, { format });
      expect(await verifyPassword(hash, bytes), format).toBe(true);
      expect(await verifyPassword(hash, bytes.toString('utf8')), format).toBe(false);
    }
  });

  it('refuses bad options with TypeError', async () => {
    const bad: Array<[unknown, unknown]> = [
      ['pw', { format: 'md4' }],
      ['pw', undefined],
      [42, { format: 'apr1' }],
      ['pw', { format: 'apr1', cost: 5 }],
      ['pw', { format: 'bcrypt', cost: 3 }],
      ['pw', { format: 'bcrypt', cost: 18 }],
      ['pw', { format: 'bcrypt', cost: 4.5 }],
      ['pw', { format: 'bcrypt', rounds: 5000 }],
      ['pw', { format: 'sha256', rounds: 999 }],
      ['pw', { format: 'sha512', rounds: 1_000_000_000 }],
    ];
    for (const [password, options] of bad) {
      expect(await code(createHash(password as string, options as { format: 'apr1' })), JSON.stringify(options)).toBe('TypeError');
    }
  });
});

describe('sha-crypt', () => {
  it('matches the system crypt(3) (libxcrypt, through perl)', async () => {
    const settings = ['$5$saltstring', '$6$saltstring', '$5$rounds=1000$abc', '$6$rounds=12345$0123456789abcdefXYZ', '$6$', '$5$rounds=5000$x'];
    const passwords = ['', 'pw', 'Hello world!', 'x'.repeat(100), 'pässwörd'];
    for (const setting of settings) {
      for (const password of passwords) {
        const expected = await new Promise<string>((resolve, reject) => {
          const child = spawn('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, setting]);
          let out = '';
          child.stdout.on('data', (b: Buffer) => (out += b.toString()));
          child.on('error', reject);
          child.on('close', () => resolve(out));
        });
        expect(shaCrypt(Buffer.from(password), setting), `${setting} ${password}`).toBe(expected);
      }
    }
  });

  it('clamps rounds as glibc does and rejects foreign salt characters', () => {
    expect(shaCrypt(Buffer.from('pw'), '$5$rounds=10$abc')?.startsWith('$5$rounds=1000$abc$')).toBe(true);
    expect(shaCrypt(Buffer.from('pw'), '$5$ab:c')).toBeNull();
    expect(shaCrypt(Buffer.from('pw'), '$1$abc')).toBeNull();
  });
});

describe('user file operations', () => {
  it('add, update, set, delete, verify: verdicts and content', async () => {
    const file = fresh();
    expect(await code(setPassword(file, 'alice', 'a', { format: 'apr1' }))).toBe('FILE_UNREADABLE');
    expect(await addUser(file, 'alice', 'a-pw', { format: 'bcrypt', cost: 4, create: true })).toBe('added');
    expect(await addUser(file, 'alice', 'other', { format: 'bcrypt', cost: 4 })).toBe('exists');
    expect(await updateUser(file, 'bob', 'b-pw', { format: 'sha256' })).toBe('not-found');
    expect(await setPassword(file, 'bob', 'b-pw', { format: 'sha256' })).toBe('added');
    expect(await updateUser(file, 'alice', 'a-new', { format: 'sha512', rounds: 2000 })).toBe('updated');
    expect(await setPassword(file, 'bob', 'b-new', { format: 'apr1' })).toBe('updated');
    expect(await verifyUser(file, 'alice', 'a-new')).toBe('granted');
    expect(await verifyUser(file, 'alice', 'a-pw')).toBe('denied');
    expect(await verifyUser(file, 'bob', 'b-new')).toBe('granted');
    expect(await verifyUser(file, 'carol', 'x')).toBe('not-found');
    expect(await deleteUser(file, 'alice')).toBe('deleted');
    expect(await deleteUser(file, 'alice')).toBe('not-found');
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^bob:\$apr1\$[^\n]+\n$/);
  });

  it('keeps comments and blank lines, replaces every duplicate, appends after a line without newline', async () => {
    const file = fresh();
    await writeFile(file, '# c\n\nalice:x\nbob:y\nalice:z');
    expect(await setPassword(file, 'alice', 'pw', { format: 'sha1' })).toBe('updated');
    expect(await readFile(file, 'utf8')).toBe('# c\n\nalice:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\nbob:y\nalice:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n');
    const other = fresh();
    await writeFile(other, 'a:x');
    expect(await setPassword(other, 'b', 'pw', { format: 'sha1' })).toBe('added');
    expect(await readFile(other, 'utf8')).toBe('a:x\nb:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n');
  });

  it('verifyUser: the first record of a user counts, as in httpd', async () => {
    const file = fresh();
    await writeFile(file, 'u:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\nu:{SHA}uE1+cBGmURe+4zihKsjfuHZgJbQ=\n');
    expect(await verifyUser(file, 'u', 'pw')).toBe('granted');
    expect(await verifyUser(file, 'u', 'dave-pw')).toBe('denied');
    expect(await code(verifyUser(fresh(), 'u', 'pw'))).toBe('FILE_UNREADABLE');
  });

  it('refuses a file Apache would call invalid, and leaves it alone', async () => {
    const file = fresh();
    await writeFile(file, 'a:x\nnot a record\n');
    expect(await code(setPassword(file, 'b', 'pw', { format: 'sha1' }))).toBe('USER_FILE_INVALID');
    expect(await code(deleteUser(file, 'a'))).toBe('USER_FILE_INVALID');
    expect(await readFile(file, 'utf8')).toBe('a:x\nnot a record\n');
  });

  it('refuses user names and records that would break the file (TypeError)', async () => {
    const file = fresh();
    for (const user of ['a:b', 'a\nb', 'a\rb', 'a\0b', 'x'.repeat(256)]) {
      expect(await code(setPassword(file, user, 'pw', { format: 'sha1', create: true })), JSON.stringify(user)).toBe('TypeError');
    }
    expect(await code(setPassword(file, 'u'.repeat(200), 'pw', { format: 'argon2id', create: true }))).toBe('TypeError');
    expect(await code(setPassword(file, 'u', 'a\nb', { format: 'plain', create: true }))).toBe('TypeError');
    expect(await code(stat(file))).not.toBeUndefined();
  });

  it('setDigestPassword writes what htdigest writes', async () => {
    const file = fresh();
    expect(await code(setDigestPassword(file, 'r', 'u', 'pw'))).toBe('FILE_UNREADABLE');
    expect(await setDigestPassword(file, 'r', 'u', 'pw', { create: true })).toBe('added');
    expect(await setDigestPassword(file, 'r', 'v', 'pw')).toBe('added');
    expect(await setDigestPassword(file, 'r', 'u', 'pw')).toBe('updated');
    expect(await readFile(file, 'utf8')).toBe('u:r:16cf8470b801169c6eade4e217f239e9\nv:r:fe17e9220275a53fa0dc5f8b93e3ea8c\n');
    expect(await code(setDigestPassword(file, 'r:x', 'u', 'pw'))).toBe('TypeError');
    expect(await code(setDigestPassword(file, 'r', 'u\n', 'pw'))).toBe('TypeError');
  });

  it('checkUserFile reports findings with line numbers', async () => {
    const file = fresh();
    await writeFile(file, 'a:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\nbad\na:x\n');
    const findings = await checkUserFile(file);
    expect(findings.map((f) => [f.line, f.kind])).toEqual([
      [1, 'weak'],
      [2, 'malformed'],
      [3, 'duplicate'],
    ]);
    expect(checkUserFileText('b:$2y$05$HTJbkBlrozYWX1j8SW6ruOlfg.AnorA51YfBQ/bP0UY2j.wLGQ.yO\n', { minBcryptCost: 5 })).toEqual([]);
    expect(checkUserFileText('s:$6$rounds=999$abc$def\n')[0]?.kind).toBe('unusable');
    expect(checkUserFileText('u:r:16cf8470b801169c6eade4e217f239e9\nu:r2:16cf8470b801169c6eade4e217f239e9\n')).toEqual([]);
    expect(await code(checkUserFile(fresh()))).toBe('FILE_UNREADABLE');
  });
});

describe('what an update preserves', () => {
  it('the mode, and (as root) the owner and group', async () => {
    const file = fresh();
    await writeFile(file, 'a:x\n');
    await chmod(file, 0o640);
    if (isRoot) await chown(file, 1234, 5678);
    await setPassword(file, 'b', 'pw', { format: 'sha1' });
    const info = await stat(file);
    expect(info.mode & 0o7777).toBe(0o640);
    if (isRoot) expect([info.uid, info.gid]).toEqual([1234, 5678]);
  });

  it('a symbolic link stays a link; the file it points to is replaced', async () => {
    const target = fresh();
    const link = fresh();
    await writeFile(target, 'a:x\n');
    await symlink(target, link);
    await setPassword(link, 'b', 'pw', { format: 'sha1' });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(target);
    expect(await readFile(target, 'utf8')).toBe('a:x\nb:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n');
  });

  it('a new file gets 0666 minus the umask', async () => {
    const file = fresh();
    await setPassword(file, 'a', 'pw', { format: 'sha1', create: true });
    const umask = process.umask();
    expect((await stat(file)).mode & 0o777).toBe(0o666 & ~umask);
  });
});

describe('the lock', () => {
  const here = `${hostname()} ${readlinkSync('/proc/self/ns/pid')}`;
  const lockText = (pid: number, host = here) => `pid=${pid}\nhost=${host}\nstart=\ntoken=abcdef0123456789\n`;
  /** The PID of a process that has exited. */
  const deadPid = () =>
    new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '']);
      child.on('close', () => resolve(child.pid ?? 0));
    });

  it('breaks a lock whose process is gone', async () => {
    const file = fresh();
    await writeFile(file, 'a:x\n');
    const dead = await deadPid();
    await writeFile(`${file}.lock`, lockText(dead));
    expect(await setPassword(file, 'b', 'pw', { format: 'sha1' })).toBe('added');
    expect((await readdir(dir)).filter((n) => n.startsWith(`${file.split('/').pop()}.lock`))).toEqual([]);
  });

  it('waits for a live owner, then gives up with USER_FILE_LOCKED naming it', async () => {
    const file = fresh();
    await writeFile(file, 'a:x\n');
    await writeFile(`${file}.lock`, lockText(process.pid));
    const err = await setPassword(file, 'b', 'pw', { format: 'sha1', timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthTsError);
    expect((err as AuthTsError).code).toBe('USER_FILE_LOCKED');
    expect((err as AuthTsError).message).toContain(`process ${process.pid}`);
    // A dead PID of another host, or of another PID namespace (container) on this host, is
    // never judged from here.
    await writeFile(`${file}.lock`, lockText(999_999_999, 'another-host'));
    expect(await code(setPassword(file, 'b', 'pw', { format: 'sha1', timeoutMs: 50 }))).toBe('USER_FILE_LOCKED');
    await writeFile(`${file}.lock`, lockText(999_999_999, `${hostname()} pid:[1]`));
    expect(await code(setPassword(file, 'b', 'pw', { format: 'sha1', timeoutMs: 50 }))).toBe('USER_FILE_LOCKED');
    await rm(`${file}.lock`);
    expect(await readFile(file, 'utf8')).toBe('a:x\n');
  });

  it('a breaker whose stale reading is out of date never removes the live lock that replaced it', async () => {
    // The race of 50 concurrent writers: the breaker read the lock of an owner that has since
    // released it and exited; a live writer took the lock in between.
    const lock = `${fresh()}.lock`;
    const dead = await deadPid();
    await writeFile(lock, lockText(process.pid));
    await breakStaleLock(lock, lockText(dead));
    expect(await readFile(lock, 'utf8')).toBe(lockText(process.pid));
    expect(await readdir(dir)).not.toContain(`${lock.split('/').pop()}-breaking`);
    // Still the dead owner's lock: removed.
    await writeFile(lock, lockText(dead));
    await breakStaleLock(lock, lockText(dead));
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('one breaker at a time: the guard of a live breaker stops another; that of a dead one is cleared', async () => {
    const file = fresh();
    await writeFile(file, 'a:x\n');
    const dead = await deadPid();
    await writeFile(`${file}.lock`, lockText(dead));
    await writeFile(`${file}.lock-breaking`, lockText(process.pid));
    await breakStaleLock(`${file}.lock`, lockText(dead));
    expect(await readFile(`${file}.lock`, 'utf8')).toBe(lockText(dead));
    expect(await code(setPassword(file, 'b', 'pw', { format: 'sha1', timeoutMs: 50 }))).toBe('USER_FILE_LOCKED');
    // The guard of a breaker killed mid-break does not block writers for good.
    await writeFile(`${file}.lock-breaking`, lockText(dead));
    expect(await setPassword(file, 'b', 'pw', { format: 'sha1' })).toBe('added');
    expect((await readdir(dir)).filter((n) => n.startsWith(`${file.split('/').pop()}.lock`))).toEqual([]);
  });

  it('an empty break guard (its breaker killed before writing it) blocks for 10 s, then is cleared', async () => {
    const file = fresh();
    await writeFile(file, 'a:x\n');
    await writeFile(`${file}.lock`, lockText(await deadPid()));
    await writeFile(`${file}.lock-breaking`, '');
    // Maybe a breaker writing it right now: left alone.
    expect(await code(setPassword(file, 'b', 'pw', { format: 'sha1', timeoutMs: 50 }))).toBe('USER_FILE_LOCKED');
    const old = new Date(Date.now() - 11_000);
    await utimes(`${file}.lock-breaking`, old, old);
    expect(await setPassword(file, 'b', 'pw', { format: 'sha1' })).toBe('added');
    expect((await readdir(dir)).filter((n) => n.startsWith(`${file.split('/').pop()}.lock`))).toEqual([]);
  });

  it('withFileLock serializes callers in one process and releases on error', async () => {
    const target = fresh();
    const order: string[] = [];
    const first = withFileLock(target, async () => {
      order.push('first-in');
      await new Promise((r) => setImmediate(r));
      order.push('first-out');
      throw new Error('boom');
    });
    const second = withFileLock(target, async (stillHeld) => {
      order.push('second');
      return stillHeld();
    });
    await expect(first).rejects.toThrow('boom');
    expect(await second).toBe(true);
    expect(order).toEqual(['first-in', 'first-out', 'second']);
    await expect(stat(`${target}.lock`)).rejects.toThrow();
  });
});
