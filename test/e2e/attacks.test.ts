/**
 * Hostile requests against `authts serve` (startServer on 127.0.0.1) guarding a Basic-protected
 * directory: oversized and random Authorization headers, hostile user names, files vanishing
 * at runtime, and every spelling of a path into the protected directory. The invariant: no
 * 200 without valid credentials, and the server keeps answering.
 *
 * Timing is never measured. That an unknown user costs what a wrong password costs is checked
 * by watching which hash the password is verified against (verifyPassword is wrapped in a spy).
 */
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as passwords from '../../src/passwords/index.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { rawRequest, type RawResponse } from '../services/http-client.js';
import { basic, captureLogger, htpasswd, removeTempDirs, tempDir } from './helpers.js';

vi.mock('../../src/passwords/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/passwords/index.js')>();
  return { ...real, verifyPassword: vi.fn(real.verifyPassword) };
});
const verify = vi.mocked(passwords.verifyPassword);

let dir = '';
let htdocs = '';
let usersFile = '';
let groupsFile = '';
let server: RunningServer;
let url = '';
const logged = captureLogger();
const storedHashes = new Set<string>();

beforeAll(async () => {
  dir = await tempDir('attacks');
  htdocs = join(dir, 'htdocs');
  await mkdir(join(htdocs, 'private', 'sub'), { recursive: true });
  await mkdir(join(htdocs, 'public'), { recursive: true });
  await mkdir(join(htdocs, 'team'), { recursive: true });
  await writeFile(join(htdocs, 'private', 'a.txt'), 'private a\n');
  await writeFile(join(htdocs, 'private', 'sub', 'b.txt'), 'private b\n');
  await writeFile(join(htdocs, 'public', 'p.txt'), 'public\n');
  await writeFile(join(htdocs, 'team', 't.txt'), 'team\n');
  // Symlinks from the public tree into the protected one: a file and a directory.
  await symlink(join(htdocs, 'private', 'a.txt'), join(htdocs, 'public', 'link.txt'));
  await symlink(join(htdocs, 'private'), join(htdocs, 'public', 'linkdir'));
  const records = [htpasswd('alice', 'alice-pw'), htpasswd('bob', 'bob-pw'), htpasswd('carol', 'pa:ss:word')];
  for (const r of records) storedHashes.add(r.slice(r.indexOf(':') + 1));
  usersFile = join(dir, 'users');
  await writeFile(usersFile, `${records.join('\n')}\n`);
  groupsFile = join(dir, 'groups');
  await writeFile(groupsFile, 'team: bob\n');
  const configFile = join(dir, 'site.conf');
  await writeFile(
    configFile,
    [
      `DocumentRoot "${htdocs}"`,
      `<Directory "${htdocs}/private">`,
      '    AuthType Basic',
      '    AuthName "Private area"',
      `    AuthUserFile "${usersFile}"`,
      '    Require valid-user',
      '</Directory>',
      `<Directory "${htdocs}/team">`,
      '    AuthType Basic',
      '    AuthName "Team"',
      `    AuthUserFile "${usersFile}"`,
      `    AuthGroupFile "${groupsFile}"`,
      '    Require group team',
      '</Directory>',
      '',
    ].join('\n'),
  );
  server = await startServer({ configFile, logger: logged.log, listen: [{ host: '127.0.0.1', port: 0 }] });
  url = `http://127.0.0.1:${server.addresses[0]!.port}`;
});

afterAll(async () => {
  await server?.close();
  await passwords.closePasswordWorkers();
  await removeTempDirs();
});

beforeEach(() => {
  verify.mockClear();
});

function get(path: string, authorization?: string | string[]): Promise<RawResponse> {
  return rawRequest(url, { path, headers: authorization === undefined ? {} : { Authorization: authorization } });
}

async function stillServing(): Promise<void> {
  expect((await get('/private/a.txt', basic('alice:alice-pw'))).status).toBe(200);
  expect((await get('/private/a.txt')).status).toBe(401);
}

/** mulberry32: a small seeded PRNG, so a failing byte sequence can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(next: () => number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

describe('oversized and random Authorization headers', () => {
  it('a 64 KiB Authorization header is refused (431) and the server still answers', async () => {
    const huge = `Basic ${'A'.repeat(64 * 1024)}`;
    const res = await get('/private/a.txt', huge);
    expect(res.status).toBe(431);
    await stillServing();
  });

  it('a 64 KiB header of valid base64 credentials is refused the same way', async () => {
    const res = await get('/private/a.txt', basic(`alice:${'x'.repeat(48 * 1024)}`));
    expect(res.status).toBe(431);
    await stillServing();
  });

  it('1000 random Authorization values (seed 0x5eed): only 400 or 401, never 200, never a crash', async () => {
    const next = prng(0x5eed);
    const seen = new Map<number, number>();
    const offenders: string[] = [];
    const make = (i: number): string => {
      const bytes = randomBytes(next, 1 + Math.floor(next() * 96));
      switch (i % 4) {
        case 0: // raw bytes as the whole value (latin1 on the wire; CR/LF/NUL break the header)
          return bytes.toString('latin1');
        case 1: // Basic + raw bytes
          return `Basic ${bytes.toString('latin1')}`;
        case 2: // Basic + base64 of random bytes (decodes to anything, maybe with a colon)
          return `Basic ${bytes.toString('base64')}`;
        default: // Basic + base64 of "random:random", reaching the provider
          return `Basic ${Buffer.concat([bytes.subarray(0, bytes.length >> 1), Buffer.from(':'), bytes.subarray(bytes.length >> 1)]).toString('base64')}`;
      }
    };
    const values = Array.from({ length: 1000 }, (_, i) => make(i));
    // Eight at a time: fast, and a fair load on the worker pool.
    for (let i = 0; i < values.length; i += 8) {
      const batch = values.slice(i, i + 8);
      const answers = await Promise.all(batch.map((v) => get('/private/a.txt', v)));
      answers.forEach((res, j) => {
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        if (res.status !== 400 && res.status !== 401) offenders.push(`${res.status} for ${JSON.stringify(batch[j])}`);
      });
    }
    expect(offenders).toEqual([]);
    // Both refusals occur: the fuzz reached the decoder (400) and the provider (401).
    expect(seen.get(400)).toBeGreaterThan(0);
    expect(seen.get(401)).toBeGreaterThan(0);
    await stillServing();
  });
});

describe('hostile user names and passwords', () => {
  it.each([
    ["' OR '1'='1", 'SQL'],
    ["alice'--", 'SQL comment'],
    ['alice"; DROP TABLE users; --', 'SQL statement'],
    ['*', 'LDAP wildcard'],
    ['*)(uid=*))(|(uid=*', 'LDAP filter injection'],
    ['alice)(|(password=*)', 'LDAP filter injection'],
    ['cn=alice,dc=example,dc=org', 'LDAP DN'],
    ['../alice', 'path'],
    ['../../etc/passwd', 'path'],
    ['alice ', 'trailing space'],
    [' alice', 'leading space'],
    ['ALICE', 'case'],
    ['al\u00efce', 'non-ASCII'],
    ['%61lice', 'percent-encoded'],
    ['x'.repeat(10 * 1024), '10 KiB'],
  ])('user %j (%s) → 401', async (user) => {
    const res = await get('/private/a.txt', basic(`${user}:alice-pw`));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Basic realm="Private area"');
  });

  it('a password with colons works when the file has it (only the first colon separates)', async () => {
    expect((await get('/private/a.txt', basic('carol:pa:ss:word'))).status).toBe(200);
    expect((await get('/private/a.txt', basic('carol:pa'))).status).toBe(401);
    expect((await get('/private/a.txt', basic('carol:pa:ss'))).status).toBe(401);
  });

  it.each([
    ['NUL in the user', 'ali\0ce:alice-pw'],
    ['NUL in the password', 'alice:alice-pw\0'],
    ['CR/LF in the password', 'alice:alice-pw\r\nX-Injected: 1'],
    ['LF in the user', 'alice\n:alice-pw'],
  ])('%s → 400, no provider asked', async (_what, credentials) => {
    const res = await get('/private/a.txt', basic(credentials));
    expect(res.status).toBe(400);
    expect(verify).not.toHaveBeenCalled();
  });
});

describe('files vanishing at runtime', () => {
  it('a deleted user file → 500 for requests needing it (not 200, no crash); restored → 200 again', async () => {
    const aside = `${usersFile}.aside`;
    await rename(usersFile, aside);
    try {
      const from = logged.lines.length;
      expect((await get('/private/a.txt', basic('alice:alice-pw'))).status).toBe(500);
      expect((await get('/private/a.txt', basic('nobody:x'))).status).toBe(500);
      // Requests that need no password are not affected.
      expect((await get('/private/a.txt')).status).toBe(401);
      expect((await get('/public/p.txt')).status).toBe(200);
      expect(logged.lines.slice(from).some((l) => l['msg'] === 'authn provider could not answer')).toBe(true);
    } finally {
      await rename(aside, usersFile);
    }
    expect((await get('/private/a.txt', basic('alice:alice-pw'))).status).toBe(200);
  });

  it('an unreadable group file → 401 (not in the group), not 500; readable again → 200', async () => {
    expect((await get('/team/t.txt', basic('bob:bob-pw'))).status).toBe(200);
    const aside = `${groupsFile}.aside`;
    await rename(groupsFile, aside);
    try {
      // Tests run as root, where chmod 000 does not stop a read: a directory in its place does
      // (EISDIR), as a missing file does (ENOENT).
      await mkdir(groupsFile);
      const unreadable = await get('/team/t.txt', basic('bob:bob-pw'));
      expect(unreadable.status).toBe(401);
      expect(unreadable.headers['www-authenticate']).toBe('Basic realm="Team"');
      await rm(groupsFile, { recursive: true });
      expect((await get('/team/t.txt', basic('bob:bob-pw'))).status).toBe(401);
      expect(logged.lines.some((l) => l['code'] === 'FILE_UNREADABLE' && l['file'] === groupsFile)).toBe(true);
    } finally {
      await rm(groupsFile, { recursive: true, force: true });
      await rename(aside, groupsFile);
    }
    expect((await get('/team/t.txt', basic('bob:bob-pw'))).status).toBe(200);
  });
});

describe('spellings of a protected path never reach it without credentials', () => {
  // What each spelling answers without credentials; never 200.
  const spellings: readonly (readonly [string, number])[] = [
    ['/private/a.txt', 401],
    ['/public/../private/a.txt', 401],
    ['/public/./../private/a.txt', 401],
    ['/private/sub/../a.txt', 401],
    ['/%2e%2e/private/a.txt', 400],
    ['/public/%2e%2e/private/a.txt', 401],
    ['/public/.%2E/private/a.txt', 401],
    ['/public/..%2fprivate/a.txt', 404],
    ['/private%2fa.txt', 404],
    ['/private%2Fa.txt', 404],
    ['//private/a.txt', 401],
    ['///private//a.txt', 401],
    ['/private/./a.txt', 401],
    ['/./private/a.txt', 401],
    ['/%70rivate/a.txt', 401],
    ['/private/%61.txt', 401],
    ['/private/a.txt%00', 404],
    ['/private/a.txt/', 401],
    ['/private/a.txt.', 401],
    ['/private/a.txt?x=1', 401],
    ['/private/a.txt;x', 401],
    ['/private\\a.txt', 404],
    ['/PRIVATE/a.txt', 404],
    ['/Private/A.TXT', 404],
    ['http://127.0.0.1/private/a.txt', 401],
    ['/public/link.txt', 401],
    ['/public/linkdir/a.txt', 401],
    ['/public/linkdir/sub/b.txt', 401],
    ['/public/linkdir/sub/../a.txt', 401],
    ['/public/linkdir/', 401],
    ['/%252e%252e/private/a.txt', 404],
    ['/private/a.txt#frag', 400],
    ['/../private/a.txt', 400],
  ];

  it.each(spellings)('GET %s → %i', async (path, expected) => {
    const res = await get(path);
    expect(res.status).toBe(expected);
    expect(res.body).not.toContain('private a');
  });

  it('the same spellings with a wrong password are never 200 either', async () => {
    const answers = await Promise.all(spellings.map(([path]) => get(path, basic('alice:wrong'))));
    const granted = spellings.filter((_, i) => answers[i]!.status === 200).map(([path]) => path);
    expect(granted).toEqual([]);
    expect(answers.map((r) => r.status)).not.toContain(500);
  });

  it('a symlink is protected as its target: with credentials it is served', async () => {
    const res = await get('/public/link.txt', basic('alice:alice-pw'));
    expect(res.status).toBe(200);
    expect(res.body).toBe('private a\n');
  });
});

describe('unknown users cost what wrong passwords cost (no timing measured)', () => {
  it('an unknown user: the password is verified once, against a dummy hash of the file\'s kind, never a stored hash', async () => {
    const res = await get('/private/a.txt', basic('mallory:guess'));
    expect(res.status).toBe(401);
    expect(verify).toHaveBeenCalledTimes(1);
    const [hash, password] = verify.mock.calls[0]!;
    expect(password).toBe('guess');
    expect(storedHashes.has(hash)).toBe(false);
    expect(passwords.hashKind(hash)).toBe('apr1');
    expect(await verify.mock.results[0]!.value).toBe(false);
  });

  it('a known user with a wrong password: verified once, against the stored hash', async () => {
    const res = await get('/private/a.txt', basic('alice:guess'));
    expect(res.status).toBe(401);
    expect(verify).toHaveBeenCalledTimes(1);
    const [hash, password] = verify.mock.calls[0]!;
    expect(password).toBe('guess');
    expect(storedHashes.has(hash)).toBe(true);
  });
});
