/**
 * `AuthType Digest` through `authts serve` (in process, on a free port) with the real `curl
 * --digest` as the client: htdigest files written by Apache's `htdigest` and by
 * `authts-htdigest` (MD5 and `--sha256`; build first: `npm run build`), the dbd provider with
 * SQLite, and attacks on the wire (replays, another path's uri, a forged nonce, huge headers).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { rawRequest } from '../services/http-client.js';
import { digestAuthorization } from './digest-client.js';
import { REPO, removeTempDirs, tempDir } from './helpers.js';

const run = promisify(execFile);
const HTDIGEST_BIN = join(REPO, 'dist', 'cli', 'htdigest-bin.js');

let server: RunningServer | undefined;
let base = '';
let shaRecords = '';
let shaFile = '';

/** Runs a password tool that prompts twice, feeding `password` on stdin. */
function withPassword(command: string, args: readonly string[], password: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(command, args, (err) => (err ? reject(err) : resolvePromise()));
    child.stdin!.end(`${password}\n${password}\n`);
  });
}

/** `curl --digest` (plus `extra`), answering with the status and body. */
async function curl(path: string, user: string | undefined, extra: readonly string[] = []): Promise<{ status: number; body: string }> {
  const auth = user === undefined ? [] : ['--digest', '-u', user];
  const { stdout } = await run('curl', ['-s', '-g', '-w', '\n%{http_code}', ...auth, ...extra, `${base}${path}`], { timeout: 10_000 });
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

async function challengeOf(path: string): Promise<string> {
  const res = await rawRequest(base, { path });
  expect(res.status).toBe(401);
  return res.headers['www-authenticate']!;
}

beforeAll(async () => {
  const dir = await tempDir('digest');
  const htdocs = join(dir, 'htdocs');
  for (const sub of ['apache', 'authts', 'sha256', 'dbd', 'quote', 'cached']) {
    await mkdir(join(htdocs, sub), { recursive: true });
    await writeFile(join(htdocs, sub, 'a.txt'), `${sub} a\n`);
  }
  const apacheFile = join(dir, 'apache.htdigest');
  const authtsFile = join(dir, 'authts.htdigest');
  shaFile = join(dir, 'sha256.htdigest');
  await withPassword('htdigest', ['-c', apacheFile, 'Apache Realm', 'alice'], 'alice-pw');
  await withPassword('htdigest', [apacheFile, 'Apache Realm', 'q"u\\x'], 'quote-pw');
  await withPassword(process.execPath, [HTDIGEST_BIN, '-c', authtsFile, 'Authts Realm', 'bob'], 'bob-pw');
  await withPassword(process.execPath, [HTDIGEST_BIN, '--sha256', '-c', shaFile, 'SHA Realm', 'carol'], 'carol-pw');
  shaRecords = await readFile(shaFile, 'utf8');

  const dbFile = join(dir, 'users.db');
  const db = new Database(dbFile);
  db.exec('CREATE TABLE digest_users (username TEXT NOT NULL, realm TEXT NOT NULL, ha1 TEXT NOT NULL, PRIMARY KEY (username, realm))');
  const { createHash } = await import('node:crypto');
  db.prepare('INSERT INTO digest_users VALUES (?, ?, ?)').run('dave', 'DB Realm', createHash('md5').update('dave:DB Realm:dave-pw').digest('hex'));
  db.close();

  const conf = join(dir, 'site.conf');
  await writeFile(
    conf,
    `Listen 127.0.0.1:0
DocumentRoot "${htdocs}"
DBDriver sqlite3
DBDParams "${dbFile}"
AuthnCacheSOCache memory
<Directory "${htdocs}/apache">
  AuthType Digest
  AuthName "Apache Realm"
  AuthUserFile "${apacheFile}"
  Require valid-user
</Directory>
<Directory "${htdocs}/quote">
  AuthType Digest
  AuthName "Apache Realm"
  AuthUserFile "${apacheFile}"
  Require valid-user
</Directory>
<Directory "${htdocs}/authts">
  AuthType Digest
  AuthName "Authts Realm"
  AuthDigestProvider file
  AuthUserFile "${authtsFile}"
  Require valid-user
</Directory>
<Directory "${htdocs}/sha256">
  AuthType Digest
  AuthName "SHA Realm"
  AuthDigestAlgorithm SHA-256
  AuthUserFile "${shaFile}"
  Require valid-user
</Directory>
<Directory "${htdocs}/dbd">
  AuthType Digest
  AuthName "DB Realm"
  AuthDigestProvider dbd
  AuthDBDUserRealmQuery "SELECT ha1 FROM digest_users WHERE username = %s AND realm = %s"
  Require valid-user
</Directory>
<Directory "${htdocs}/cached">
  AuthType Digest
  AuthName "DB Realm"
  AuthDigestProvider socache dbd
  AuthnCacheProvideFor dbd
  AuthDBDUserRealmQuery "SELECT ha1 FROM digest_users WHERE username = %s AND realm = %s"
  Require valid-user
</Directory>
`,
  );
  server = await startServer({ configFile: conf, logger: silentLogger, listen: [{ host: '127.0.0.1', port: 0 }] });
  base = `http://127.0.0.1:${server.addresses[0]!.port}`;
}, 30_000);

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

describe('curl --digest against authts serve', () => {
  it('a file written by Apache htdigest: right password 200, wrong password and unknown user 401', async () => {
    expect(await curl('/apache/a.txt', 'alice:alice-pw')).toEqual({ status: 200, body: 'apache a\n' });
    expect((await curl('/apache/a.txt?x=1&y=2', 'alice:alice-pw')).status).toBe(200);
    expect((await curl('/apache/a.txt', 'alice:wrong')).status).toBe(401);
    expect((await curl('/apache/a.txt', 'mallory:alice-pw')).status).toBe(401);
    expect((await curl('/apache/a.txt', undefined)).status).toBe(401);
  });

  it('a user whose name holds " and \\ (curl escapes them in the quoted username)', async () => {
    expect(await curl('/quote/a.txt', 'q"u\\x:quote-pw')).toEqual({ status: 200, body: 'quote a\n' });
    expect((await curl('/quote/a.txt', 'q"u\\x:wrong')).status).toBe(401);
  });

  it('a file written by authts-htdigest', async () => {
    expect(await curl('/authts/a.txt', 'bob:bob-pw')).toEqual({ status: 200, body: 'authts a\n' });
    expect((await curl('/authts/a.txt', 'bob:nope')).status).toBe(401);
  });

  it('SHA-256 with a record written by authts-htdigest --sha256', async () => {
    const { createHash } = await import('node:crypto');
    expect(shaRecords).toBe(`carol:SHA Realm:${createHash('sha256').update('carol:SHA Realm:carol-pw').digest('hex')}\n`);
    const { stdout } = await run(process.execPath, [HTDIGEST_BIN, '--check', shaFile]);
    expect(stdout).toBe(`${shaFile}: no problems found\n`);
    expect(await challengeOf('/sha256/a.txt')).toMatch(/^Digest realm="SHA Realm", nonce="[^"]+", algorithm=SHA-256, opaque="[0-9a-f]{16}", qop="auth"$/);
    expect(await curl('/sha256/a.txt', 'carol:carol-pw')).toEqual({ status: 200, body: 'sha256 a\n' });
    expect((await curl('/sha256/a.txt', 'carol:nope')).status).toBe(401);
  });

  it('the dbd provider with SQLite (AuthDBDUserRealmQuery)', async () => {
    expect(await curl('/dbd/a.txt', 'dave:dave-pw')).toEqual({ status: 200, body: 'dbd a\n' });
    expect((await curl('/dbd/a.txt', 'dave:nope')).status).toBe(401);
    expect((await curl('/dbd/a.txt', "x' OR '1'='1:dave-pw")).status).toBe(401);
  });

  it("httpd's AuthDigestProvider socache dbd loads and decides as without the cache (socache keeps no realm hash)", async () => {
    expect(await curl('/cached/a.txt', 'dave:dave-pw')).toEqual({ status: 200, body: 'cached a\n' });
    expect(await curl('/cached/a.txt', 'dave:dave-pw')).toEqual({ status: 200, body: 'cached a\n' });
    expect((await curl('/cached/a.txt', 'dave:nope')).status).toBe(401);
    expect((await curl('/cached/a.txt', 'mallory:dave-pw')).status).toBe(401);
  });

  it('the realm of another section is refused (a file user of Apache Realm at Authts Realm)', async () => {
    expect((await curl('/authts/a.txt', 'alice:alice-pw')).status).toBe(401);
  });
});

describe('Digest attacks on the wire', () => {
  const answer = (challenge: string, extra: Partial<Parameters<typeof digestAuthorization>[1]> = {}): string =>
    digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/apache/a.txt', ...extra });

  it('a captured request replayed: the first 200, the replay 401', async () => {
    const header = answer(await challengeOf('/apache/a.txt'));
    expect((await rawRequest(`${base}/apache/a.txt`, { path: '/apache/a.txt', headers: { Authorization: header } })).status).toBe(200);
    const replay = await rawRequest(`${base}/apache/a.txt`, { path: '/apache/a.txt', headers: { Authorization: header } });
    expect(replay.status).toBe(401);
    expect(replay.headers['www-authenticate']).toMatch(/^Digest realm="Apache Realm", nonce=/);
  });

  it('credentials for one path sent to another: 400', async () => {
    const header = answer(await challengeOf('/apache/a.txt'));
    const res = await rawRequest(`${base}/apache/other.txt`, { path: '/apache/other.txt', headers: { Authorization: header } });
    expect(res.status).toBe(400);
  });

  it('a uri naming the path but hashed for another (response mismatch): 401', async () => {
    const header = answer(await challengeOf('/apache/a.txt'), { hashedUri: '/apache/b.txt' });
    expect((await rawRequest(`${base}/apache/a.txt`, { path: '/apache/a.txt', headers: { Authorization: header } })).status).toBe(401);
  });

  it('a forged nonce with a wrong password: 401 without stale', async () => {
    const challenge = (await challengeOf('/apache/a.txt')).replace(/nonce="[^"]+"/, `nonce="${'A'.repeat(64)}"`);
    const res = await rawRequest(`${base}/apache/a.txt`, { path: '/apache/a.txt', headers: { Authorization: answer(challenge, { password: 'guess' }) } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).not.toContain('stale');
  });

  it('an algorithm downgrade at a SHA-256 section: 401', async () => {
    const challenge = (await challengeOf('/sha256/a.txt')).replace('algorithm=SHA-256', 'algorithm=MD5');
    const header = digestAuthorization(challenge, { user: 'carol', password: 'carol-pw', uri: '/sha256/a.txt' });
    expect((await rawRequest(`${base}/sha256/a.txt`, { path: '/sha256/a.txt', headers: { Authorization: header } })).status).toBe(401);
  });

  it('a huge header: 400 from authts below node\'s limit, 431 from node:http above it; the server keeps serving', async () => {
    const big = `Digest username="${'a'.repeat(6000)}", realm="Apache Realm", nonce="n", uri="/apache/a.txt", response="00"`;
    expect((await rawRequest(`${base}/apache/a.txt`, { path: '/apache/a.txt', headers: { Authorization: big } })).status).toBe(400);
    const huge = `Digest username="${'a'.repeat(20_000)}"`;
    expect((await rawRequest(`${base}/apache/a.txt`, { path: '/apache/a.txt', headers: { Authorization: huge } })).status).toBe(431);
    expect((await curl('/apache/a.txt', 'alice:alice-pw')).status).toBe(200);
  });

  it('malformed credentials: 400', async () => {
    for (const header of ['Digest username="alice', 'Digest username="alice", username="bob", realm="Apache Realm", nonce="n", uri="/apache/a.txt", response="00"', 'Digest realm="Apache Realm"']) {
      expect((await rawRequest(`${base}/apache/a.txt`, { path: '/apache/a.txt', headers: { Authorization: header } })).status, header).toBe(400);
    }
  });
});
