/**
 * The same invocations through Apache's htpasswd 2.4.71 and authts-htpasswd, each in its own
 * directory: exit codes, stdout and stderr must be identical (salted hashes aside), and the
 * files they leave must be the same line for line, with each tool verifying the other's hashes.
 */
import { chmod, mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePasswordWorkers } from '../../src/passwords/crypt-pool.js';
import { expectSameOutput, expectSameRecords, filesOf } from './compare.js';
import { isRoot, makeTools, removeTools, runTool, scratchDir, type Tools } from './helpers.js';

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  /** Files in the directory before the run (name → content). */
  readonly files?: Readonly<Record<string, string | Buffer>>;
  /** Symbolic links in the directory before the run (name → target). */
  readonly links?: Readonly<Record<string, string>>;
  readonly stdin?: string | Buffer;
  /** The password of the records the run writes, to cross-verify the hashes. */
  readonly password?: string | Buffer;
  /** Run as nobody, with these modes applied to the files first (root only). */
  readonly nobody?: { readonly modes?: Readonly<Record<string, number>>; readonly dirMode?: number };
  /** htpasswd -c creates the (empty) file before it fails; authts writes nothing. */
  readonly apacheLeavesEmptyFile?: string;
}

const ALICE = 'alice:$apr1$Apdn8x.U$YO4Dt0NSfWxLw/EIGiRwQ/\n'; // alice-pw
const BOB = 'bob:$2y$05$HTJbkBlrozYWX1j8SW6ruOlfg.AnorA51YfBQ/bP0UY2j.wLGQ.yO\n'; // bob-pw
const CAROL = 'carol:$6$DBeRV6/65hFV4yG8$EkaJgth/5SsJgF1B9CfIbV4E9MANFhBVP50FxVcixnw3eeSm28g3c9ptuofnMA/wyRRWAKgTVoa5Qz7AAOE9t.\n'; // carol-pw
const DAVE = 'dave:{SHA}uE1+cBGmURe+4zihKsjfuHZgJbQ=\n'; // dave-pw
const ERIN = 'erin:9AoRZ9ePqSxqw\n'; // erin-pw
const USERS = ALICE + BOB + CAROL + DAVE + ERIN;
const MIXED = `# managed by hand\n\n${ALICE}   \n# bob below\n${BOB}\t# indented comment\n${CAROL}`;
const long = (n: number, ch = 'a'): string => ch.repeat(n);

const cases: Case[] = [
  // ---- -n: every algorithm, warnings ----
  { name: '-nb default (apr1)', args: ['-nb', 'u', 'pw'], password: 'pw' },
  { name: '-nbm', args: ['-nbm', 'u', 'pw'], password: 'pw' },
  { name: '-nbB', args: ['-nbB', 'u', 'pw'], password: 'pw' },
  { name: '-nbB -C 4', args: ['-nbB', '-C', '4', 'u', 'pw'], password: 'pw' },
  { name: '-nbBC6 (attached argument)', args: ['-nbBC6', 'u', 'pw'], password: 'pw' },
  { name: '-nbB -r 6 (-r sets the bcrypt cost too)', args: ['-nbB', '-r', '6', 'u', 'pw'], password: 'pw' },
  { name: '-nbB -C 010 (decimal)', args: ['-nbB', '-C', '010', 'u', 'pw'], password: 'pw' },
  { name: '-nbB -C 4294967301 (32-bit wrap to 5)', args: ['-nbB', '-C', '4294967301', 'u', 'pw'], password: 'pw' },
  { name: '-nb2', args: ['-nb2', 'u', 'pw'], password: 'pw' },
  { name: '-nb5', args: ['-nb5', 'u', 'pw'], password: 'pw' },
  { name: '-nb2 -r 1000', args: ['-nb2', '-r', '1000', 'u', 'pw'], password: 'pw' },
  { name: '-nb5 -r 5000', args: ['-nb5', '-r', '5000', 'u', 'pw'], password: 'pw' },
  { name: '-nb5 -C 1234 (-C sets rounds)', args: ['-nb5', '-C', '1234', 'u', 'pw'], password: 'pw' },
  { name: '-nbd', args: ['-nbd', 'u', 'pw'], password: 'pw' },
  { name: '-nbd long password (truncation warning)', args: ['-nbd', 'u', 'longpassword'], password: 'longpassword' },
  { name: '-nbs', args: ['-nbs', 'u', 'pw'], password: 'pw' },
  { name: '-nbp (warning)', args: ['-nbp', 'u', 'pw'], password: 'pw' },
  { name: '-nbm -C 5 (ignored, warning)', args: ['-nbm', '-C', '5', 'u', 'pw'], password: 'pw' },
  { name: '-nbs -r 999 (ignored, warning)', args: ['-nbs', '-r', '999', 'u', 'pw'], password: 'pw' },
  { name: '-nb -C " 5" (strtol skips spaces)', args: ['-nb', '-C', ' 5', 'u', 'pw'], password: 'pw' },
  { name: '-nb -C +5', args: ['-nb', '-C', '+5', 'u', 'pw'], password: 'pw' },
  { name: '-nb -C 4294967296 (wraps to "not given")', args: ['-nb', '-C', '4294967296', 'u', 'pw'], password: 'pw' },
  { name: 'last algorithm flag wins', args: ['-nbBs', 'u', 'pw'], password: 'pw' },
  { name: 'flags in separate words', args: ['-n', '-b', '-m', 'u', 'pw'], password: 'pw' },
  { name: 'non-ASCII password', args: ['-nbB', 'u', 'pässwörd ü'], password: 'pässwörd ü' },
  { name: 'non-ASCII user', args: ['-nb', 'üser', 'pw'], password: 'pw' },
  { name: 'password with a colon', args: ['-nb', 'u', 'a:b:c'], password: 'a:b:c' },
  { name: 'empty password', args: ['-nb5', 'u', ''], password: '' },
  { name: 'empty user', args: ['-nb', '', 'pw'], password: 'pw' },
  { name: '-- ends the options', args: ['-nb', '--', 'u', 'pw'], password: 'pw' },
  { name: '"-" is a user name', args: ['-nb', '-', 'pw'], password: 'pw' },
  { name: '--anything acts as --', args: ['-nb', '--whatever', 'u', 'pw'], password: 'pw' },
  // ---- -i and prompts (no terminal: stdin, prompts on stderr) ----
  { name: '-ni "pw\\n"', args: ['-ni', 'u'], stdin: 'pw\n', password: 'pw' },
  { name: '-ni "pw\\r\\n"', args: ['-ni', 'u'], stdin: 'pw\r\n', password: 'pw' },
  { name: '-ni "pw" (no newline)', args: ['-ni', 'u'], stdin: 'pw', password: 'pw' },
  { name: '-ni "pw\\n\\n" (one newline stripped)', args: ['-niB', 'u'], stdin: 'pw\n\n', password: 'pw\n' },
  { name: '-ni empty input', args: ['-ni', 'u'], stdin: '', password: '' },
  { name: '-ni 255 bytes', args: ['-ni', 'u'], stdin: long(255), password: long(255) },
  { name: '-ni 255 bytes + newline', args: ['-ni', 'u'], stdin: `${long(255)}\n`, password: long(255) },
  { name: '-ni 256 bytes: too long', args: ['-ni', 'u'], stdin: long(256) },
  { name: '-ni NUL ends the password', args: ['-nis', 'u'], stdin: Buffer.from('ab\0cd\n'), password: 'ab' },
  { name: '-nbi: -i wins over -b', args: ['-nbi', 'u'], stdin: 'pw\n', password: 'pw' },
  { name: '-nib: -b wins over -i', args: ['-nib', 'u', 'pw'], password: 'pw' },
  { name: 'prompt: same twice', args: ['-n', 'u'], stdin: 'pw\npw\n', password: 'pw' },
  { name: 'prompt: mismatch', args: ['-n', 'u'], stdin: 'pw\npx\n' },
  { name: 'prompt: only one line', args: ['-n', 'u'], stdin: 'pw\n' },
  { name: 'prompt: no input at all (empty password twice)', args: ['-n', 'u'], stdin: '', password: '' },
  { name: 'prompt: CR kept', args: ['-ns', 'u'], stdin: 'pw\r\npw\r\n', password: 'pw\r' },
  { name: 'prompt: 256 bytes', args: ['-ns', 'u'], stdin: `${long(256)}\n${long(256)}\n`, password: long(256) },
  { name: 'prompt: 257 bytes: too long', args: ['-n', 'u'], stdin: `${long(257)}\n${long(257)}\n` },
  { name: 'prompt: second line longer, equal in its first 256 bytes', args: ['-ns', 'u'], stdin: `${long(256)}\n${long(257)}\n`, password: long(256) },
  { name: 'prompt: second line differs after 256 bytes', args: ['-ns', 'u'], stdin: `${long(256)}\n${long(256)}b\n`, password: long(256) },
  { name: 'prompt with -C ignored: warning before prompt', args: ['-nm', '-C', '7', 'u'], stdin: 'pw\npw\n', password: 'pw' },
  // ---- command-line errors ----
  { name: 'no arguments', args: [] },
  { name: 'one argument', args: ['f'] },
  { name: 'too many arguments', args: ['f', 'u', 'x'] },
  { name: '-b without password', args: ['-b', 'f', 'u'] },
  { name: '-n with a file name too', args: ['-nb', 'f', 'u', 'pw'] },
  { name: 'illegal option', args: ['-x', 'f', 'u'] },
  { name: 'illegal option inside a cluster', args: ['-bxn', 'u', 'pw'] },
  { name: 'option after the arguments', args: ['-nb', 'u', 'pw', '-x'] },
  { name: '-C without argument', args: ['-nbC'] },
  { name: '-C 0', args: ['-nbC0', 'u', 'pw'] },
  { name: '-C 5x', args: ['-nbC', '5x', 'u', 'pw'] },
  { name: '-C empty', args: ['-nbC', '', 'u', 'pw'] },
  { name: '-C -5', args: ['-nb5', '-C', '-5', 'u', 'pw'] },
  { name: '-r 0x10', args: ['-nbB', '-r', '0x10', 'u', 'pw'] },
  { name: '-B -C 3 (below 4)', args: ['-nbB', '-C', '3', 'u', 'pw'] },
  { name: '-B -C 18 (above 17)', args: ['-nbB', '-C', '18', 'u', 'pw'] },
  { name: '-n -c', args: ['-n', '-c', 'u'] },
  { name: '-cv', args: ['-cv', 'f', 'u'] },
  { name: '-Dv', args: ['-Dv', 'f', 'u'] },
  { name: '-nD', args: ['-nD', 'u'] },
  { name: '-pnc: the -p warning comes first', args: ['-pnc', 'u'] },
  { name: '-p twice: two warnings', args: ['-pp', '-nb', 'u', 'pw'], password: 'pw' },
  { name: 'user with a colon', args: ['-nb', 'a:b', 'pw'] },
  { name: 'user of 255 bytes: record too long', args: ['-nb', long(255), 'pw'] },
  { name: 'user of 256 bytes', args: ['-nb', long(256), 'pw'] },
  { name: 'user of 216 bytes: longest apr1 record', args: ['-nb', long(216), 'pw'], password: 'pw' },
  { name: 'user of 217 bytes: apr1 record too long', args: ['-nb', long(217), 'pw'] },
  { name: 'user of 200 bytes, plain password of 60', args: ['-nbp', long(200), long(60)] },
  { name: 'password of 255 bytes', args: ['-nbs', 'u', long(255)], password: long(255) },
  { name: 'password of 256 bytes', args: ['-nb', 'u', long(256)] },
  { name: 'file name of 4096 bytes', args: ['-b', long(4096), 'u', 'pw'] },
  // ---- files ----
  { name: 'missing file without -c', args: ['-b', 'f', 'u', 'pw'] },
  { name: '-c creates', args: ['-cb', 'f', 'u', 'pw'], password: 'pw' },
  { name: '-c replaces an existing file', args: ['-cbB', 'f', 'u', 'pw'], files: { f: USERS }, password: 'pw' },
  { name: '-c with prompt mismatch', args: ['-c', 'f', 'u'], stdin: 'a\nb\n', apacheLeavesEmptyFile: 'f' },
  { name: '-c in a missing directory', args: ['-cb', 'nodir/f', 'u', 'pw'] },
  { name: 'a directory is not a file', args: ['-b', 'd', 'u', 'pw'], files: { 'd/x': 'x' } },
  { name: '-c on a directory', args: ['-cb', 'd', 'u', 'pw'], files: { 'd/x': 'x' } },
  { name: 'update through a symbolic link', args: ['-bs', 'link', 'u', 'pw'], files: { real: ALICE }, links: { link: 'real' }, password: 'pw' },
  { name: '-c through a dangling link creates its target', args: ['-cbs', 'link', 'u', 'pw'], links: { link: 'real' }, password: 'pw' },
  { name: '-c through a dangling link into a missing directory', args: ['-cb', 'link', 'u', 'pw'], links: { link: 'nodir/real' } },
  { name: 'without -c, a dangling link is a missing file', args: ['-b', 'link', 'u', 'pw'], links: { link: 'real' } },
  { name: 'add a user', args: ['-b', 'f', 'frank', 'pw'], files: { f: USERS }, password: 'pw' },
  { name: 'update a user in the middle', args: ['-b5', 'f', 'carol', 'pw'], files: { f: USERS }, password: 'pw' },
  { name: 'update keeps comments, blank lines, indentation', args: ['-b', 'f', 'bob', 'pw'], files: { f: MIXED }, password: 'pw' },
  { name: 'add to a file with comments', args: ['-bs', 'f', 'zed', 'pw'], files: { f: MIXED }, password: 'pw' },
  { name: 'update every duplicate', args: ['-b', 'f', 'alice', 'pw'], files: { f: ALICE + BOB + ALICE + ALICE }, password: 'pw' },
  { name: 'user after leading whitespace matches', args: ['-b', 'f', 'alice', 'pw'], files: { f: `  ${ALICE}\t${BOB}` }, password: 'pw' },
  { name: 'CRLF file: other lines keep CRLF', args: ['-b', 'f', 'alice', 'pw'], files: { f: USERS.replace(/\n/g, '\r\n') }, password: 'pw' },
  { name: 'CRLF file: add', args: ['-b', 'f', 'zed', 'pw'], files: { f: USERS.replace(/\n/g, '\r\n') }, password: 'pw' },
  { name: 'empty file: add', args: ['-b', 'f', 'u', 'pw'], files: { f: '' }, password: 'pw' },
  { name: 'invalid line: add refused', args: ['-b', 'f', 'u', 'pw'], files: { f: `${ALICE}not a record\n${BOB}` } },
  { name: 'invalid line after the user: "Updating " printed first', args: ['-b', 'f', 'alice', 'pw'], files: { f: `${ALICE}not a record\n` } },
  { name: 'invalid line: -D refused', args: ['-D', 'f', 'bob'], files: { f: `${ALICE}garbage\n${BOB}` } },
  { name: 'comment longer than 255 bytes: second piece is invalid', args: ['-b', 'f', 'u', 'pw'], files: { f: `#${long(300, 'c')}\n${ALICE}` } },
  { name: 'comment longer than 255 bytes with a colon later', args: ['-b', 'f', 'u', 'pw'], files: { f: `#${long(300, 'c')}:\n${ALICE}` }, password: 'pw' },
  { name: 'line of exactly 255 bytes + newline', args: ['-b', 'f', 'u', 'pw'], files: { f: `x:${long(253)}\n${ALICE}` }, password: 'pw' },
  // ---- -D ----
  { name: '-D deletes', args: ['-D', 'f', 'bob'], files: { f: USERS } },
  { name: '-D deletes every duplicate', args: ['-D', 'f', 'alice'], files: { f: ALICE + BOB + ALICE } },
  { name: '-D absent user: exit 0, untouched', args: ['-D', 'f', 'zz'], files: { f: USERS } },
  { name: '-Db takes a password argument it ignores', args: ['-Db', 'f', 'bob', 'x'], files: { f: USERS } },
  { name: '-D the last user leaves an empty file', args: ['-D', 'f', 'alice'], files: { f: ALICE } },
  { name: '-D missing file', args: ['-D', 'f', 'u'] },
  // ---- -v ----
  { name: '-vb apr1 ok', args: ['-vb', 'f', 'alice', 'alice-pw'], files: { f: USERS } },
  { name: '-vb bcrypt ok', args: ['-vb', 'f', 'bob', 'bob-pw'], files: { f: USERS } },
  { name: '-vb sha512 ok', args: ['-vb', 'f', 'carol', 'carol-pw'], files: { f: USERS } },
  { name: '-vb {SHA} ok', args: ['-vb', 'f', 'dave', 'dave-pw'], files: { f: USERS } },
  { name: '-vb DES ok', args: ['-vb', 'f', 'erin', 'erin-pw'], files: { f: USERS } },
  { name: '-vb wrong password', args: ['-vb', 'f', 'alice', 'nope'], files: { f: USERS } },
  { name: '-vb absent user', args: ['-vb', 'f', 'zz', 'x'], files: { f: USERS } },
  { name: '-v prompts "Enter password: " once', args: ['-v', 'f', 'bob'], files: { f: USERS }, stdin: 'bob-pw\n' },
  { name: '-v absent user does not prompt', args: ['-v', 'f', 'zz'], files: { f: USERS }, stdin: 'x\n' },
  { name: '-vi', args: ['-vi', 'f', 'carol'], files: { f: USERS }, stdin: 'carol-pw' },
  { name: '-vi too long: message without program name', args: ['-vi', 'f', 'alice'], files: { f: USERS }, stdin: long(300) },
  { name: '-v prompt too long', args: ['-v', 'f', 'alice'], files: { f: USERS }, stdin: `${long(300)}\n` },
  { name: '-v empty hash', args: ['-vb', 'f', 'v', 'pw'], files: { f: 'v:\n' } },
  { name: '-v checks every duplicate: first ok, second empty', args: ['-vb', 'f', 'alice', 'alice-pw'], files: { f: `${ALICE}alice:\n` } },
  { name: '-v hash up to CR', args: ['-vb', 'f', 'dave', 'dave-pw'], files: { f: DAVE.replace('\n', '\r\n') } },
  { name: '-v hash with a second colon', args: ['-vb', 'f', 'w', 'y'], files: { f: 'w:x:y\n' } },
  { name: '-v invalid line before the user', args: ['-vb', 'f', 'alice', 'alice-pw'], files: { f: `junk\n${ALICE}` } },
  { name: '-v invalid line after the user', args: ['-vb', 'f', 'alice', 'alice-pw'], files: { f: `${ALICE}junk\n` } },
  { name: '-v plain text never verifies', args: ['-vb', 'f', 'p', 'pw'], files: { f: 'p:pw\n' } },
  { name: '-v bcrypt with an invalid setting', args: ['-vb', 'f', 'b', 'pw'], files: { f: 'b:$2y$05$short\n' } },
  { name: '-v bcrypt with cost 99', args: ['-vb', 'f', 'b', 'pw'], files: { f: 'b:$2y$99$abcdefghijklmnopqrstuv\n' } },
  { name: '-v crypt failure token', args: ['-vb', 'f', 'x', 'pw'], files: { f: 'x:*0\n' } },
  { name: '-v missing file', args: ['-vb', 'f', 'u', 'pw'] },
];

/** Permission cases: run as nobody when the tests run as root. */
const permissionCases: Case[] = [
  { name: 'read-only file', args: ['-b', 'f', 'u', 'pw'], files: { f: USERS }, nobody: { modes: { f: 0o444 } } },
  { name: 'unreadable file with -v', args: ['-vb', 'f', 'alice', 'alice-pw'], files: { f: USERS }, nobody: { modes: { f: 0o200 } } },
  { name: 'read-only file with -v is fine', args: ['-vb', 'f', 'alice', 'alice-pw'], files: { f: USERS }, nobody: { modes: { f: 0o444 } } },
  { name: '-c in a read-only directory', args: ['-cb', 'f', 'u', 'pw'], nobody: { dirMode: 0o555 } },
];

let tools: Tools | undefined;

beforeAll(async () => {
  tools = await makeTools();
});

afterAll(async () => {
  await removeTools(tools);
  await closePasswordWorkers();
});

async function runBoth(c: Case): Promise<void> {
  const t = tools;
  if (!t) throw new Error('tools not set up');
  const forNobody = c.nobody !== undefined;
  const dirs = await Promise.all([scratchDir(t, `apache-${c.name}`, forNobody), scratchDir(t, `ours-${c.name}`, forNobody)]);
  for (const dir of dirs) {
    for (const [name, content] of Object.entries(c.files ?? {})) {
      const path = join(dir, name);
      if (name.includes('/')) await mkdir(join(dir, name.split('/')[0] ?? ''), { recursive: true });
      await writeFile(path, content);
      const mode = c.nobody?.modes?.[name];
      if (mode !== undefined) await chmod(path, mode);
    }
    for (const [name, target] of Object.entries(c.links ?? {})) await symlink(target, join(dir, name));
    if (c.nobody?.dirMode !== undefined) await chmod(dir, c.nobody.dirMode);
  }
  const [apacheDir = '', oursDir = ''] = dirs;
  // As root, permission cases run as nobody (root may write anything).
  const options = { ...(c.stdin === undefined ? {} : { input: c.stdin }), asNobody: forNobody && isRoot };
  const theirs = await runTool(t.apacheBin, 'htpasswd', c.args, { cwd: apacheDir, ...options });
  const ours = await runTool(t.oursBin, 'htpasswd', c.args, { cwd: oursDir, ...options });
  await expectSameOutput(t, c.name, theirs, ours, c.password);
  const [apacheFiles, oursFiles] = await Promise.all([filesOf(apacheDir), filesOf(oursDir)]);
  if (c.apacheLeavesEmptyFile) {
    expect(apacheFiles.get(c.apacheLeavesEmptyFile)?.length).toBe(0);
    apacheFiles.delete(c.apacheLeavesEmptyFile);
  }
  expect([...oursFiles.keys()].sort(), `${c.name}: files`).toEqual([...apacheFiles.keys()].sort());
  expect(await linksOf(oursDir), `${c.name}: links`).toEqual(await linksOf(apacheDir));
  for (const [name, content] of apacheFiles) {
    await expectSameRecords(t, `${c.name}: file ${name}`, content, oursFiles.get(name) ?? Buffer.alloc(0), c.password);
  }
}

async function linksOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) out[entry.name] = await readlink(join(dir, entry.name));
  }
  return out;
}

describe('authts-htpasswd against Apache htpasswd 2.4.71', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await runBoth(c);
  });

  describe('permissions', () => {
    it.each(permissionCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await runBoth(c);
    });
  });

  it('ran the compiled tools or the sources', () => {
    expect(['dist', 'tsx']).toContain(tools?.mode);
  });
});
