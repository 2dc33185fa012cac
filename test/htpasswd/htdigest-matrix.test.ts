/**
 * The same invocations through Apache's htdigest 2.4.71 and authts-htdigest. htdigest records
 * have no salt, so exit code, stdout, stderr and the resulting files must be byte-identical.
 * htdigest has no -b: passwords go through its prompts, which read standard input when there
 * is no terminal.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesOf } from './compare.js';
import { isRoot, makeTools, removeTools, runTool, scratchDir, type Tools } from './helpers.js';

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly files?: Readonly<Record<string, string | Buffer>>;
  /** Default: "pw\npw\n". */
  readonly stdin?: string | Buffer;
  readonly nobody?: { readonly modes?: Readonly<Record<string, number>> };
  /** htdigest -c opens (creates) the file before prompting; authts writes nothing on failure. */
  readonly apacheLeavesEmptyFile?: string;
}

const U_R = 'u:r:16cf8470b801169c6eade4e217f239e9\n'; // u, r, pw
const V_R = 'v:r:1e29daaa510f43861ec7523af965e126\n';
const long = (n: number, ch = 'a'): string => ch.repeat(n);

const cases: Case[] = [
  { name: 'no arguments', args: [] },
  { name: 'two arguments', args: ['f', 'r'] },
  { name: 'four arguments without -c first', args: ['-x', 'f', 'r', 'u'] },
  { name: 'five arguments', args: ['-c', 'f', 'r', 'u', 'x'] },
  { name: '-c with two more arguments: "-c" is the file', args: ['-c', 'f', 'r'] },
  { name: '-c creates', args: ['-c', 'f', 'r', 'u'] },
  { name: '-c in a missing directory', args: ['-c', 'nodir/f', 'r', 'u'] },
  { name: '-c on a directory', args: ['-c', 'd', 'r', 'u'], files: { 'd/x': 'x' } },
  { name: '-c with a password mismatch', args: ['-c', 'f', 'r', 'u'], stdin: 'pw\npx\n', apacheLeavesEmptyFile: 'f' },
  { name: '-c with a password too long', args: ['-c', 'f', 'r', 'u'], stdin: `${long(256)}\n${long(256)}\n`, apacheLeavesEmptyFile: 'f' },
  { name: 'missing file', args: ['f', 'r', 'u'] },
  { name: 'add a user', args: ['f', 'r', 'w'], files: { f: U_R + V_R } },
  { name: 'change a user', args: ['f', 'r', 'v'], files: { f: U_R + V_R } },
  { name: 'same user, another realm: added', args: ['f', 'r2', 'u'], files: { f: U_R + V_R } },
  { name: 'password mismatch: file untouched', args: ['f', 'r', 'u'], files: { f: U_R }, stdin: 'pw\npx\n' },
  { name: 'only one line of input', args: ['f', 'r', 'u'], files: { f: U_R }, stdin: 'pw\n' },
  { name: 'no input: empty password twice', args: ['f', 'r', 'u'], files: { f: U_R }, stdin: '' },
  { name: 'password of 255 bytes', args: ['f', 'r', 'u'], files: { f: U_R }, stdin: `${long(255)}\n${long(255)}\n` },
  { name: 'password of 256 bytes: too long', args: ['f', 'r', 'u'], files: { f: U_R }, stdin: `${long(256)}\n${long(256)}\n` },
  { name: 'second line longer than the first', args: ['f', 'r', 'u'], files: { f: U_R }, stdin: `${long(255)}\n${long(256)}\n` },
  { name: 'CR stays in the password', args: ['f', 'r', 'u'], files: { f: U_R }, stdin: 'pw\r\npw\r\n' },
  { name: 'comments and blank lines kept', args: ['f', 'r', 'v'], files: { f: `# users\n\n${U_R}  # indented\n${V_R}\n` } },
  { name: 'only the first duplicate changes', args: ['f', 'r', 'u'], files: { f: U_R + V_R + U_R } },
  { name: 'CRLF line matches', args: ['f', 'r', 'u'], files: { f: `${U_R.replace('\n', '\r\n')}${V_R.replace('\n', '\r\n')}` } },
  { name: 'leading space: not the same user', args: ['f', 'r', 'u'], files: { f: ` ${U_R}` } },
  { name: 'a line with user and realm only', args: ['f', 'r', 'u'], files: { f: 'u:r\n' } },
  { name: 'a line without colon', args: ['f', 'r', 'u'], files: { f: `junk\n${U_R}` } },
  { name: 'user field of 256 bytes before the match: refused', args: ['f', 'r', 'u'], files: { f: `${long(256)}:r:x\n${U_R}` } },
  { name: 'realm field of 256 bytes before the match: refused', args: ['f', 'r', 'u'], files: { f: `u:${long(256)}:x\n${U_R}` } },
  { name: 'fields of 255 bytes are fine', args: ['f', 'r', 'u'], files: { f: `${long(255)}:${long(255)}:x\n${U_R}` } },
  { name: 'long field after the match is not read', args: ['f', 'r', 'u'], files: { f: `${U_R}${long(300)}:r:x\n` } },
  { name: 'long comment is copied', args: ['f', 'r', 'u'], files: { f: `#${long(300)}\n${U_R}` } },
  { name: 'line of 765 bytes + newline is one line', args: ['f', 'r', 'u'], files: { f: `u:r:${long(761, 'h')}\n${V_R}` } },
  { name: 'line of 766 bytes + newline is two pieces', args: ['f', 'r', 'u'], files: { f: `u:r:${long(762, 'h')}\n${V_R}` } },
  { name: 'line of 1000 bytes', args: ['f', 'r', 'u'], files: { f: `u:r:${long(1000, 'h')}\n${V_R}` } },
  { name: 'empty user and realm', args: ['f', '', ''], files: { f: U_R } },
  { name: 'non-ASCII user and realm', args: ['f', 'Réalm', 'üser'], files: { f: U_R } },
  { name: 'realm with spaces', args: ['f', 'Private Area', 'u'], files: { f: U_R } },
];

const permissionCases: Case[] = [
  { name: 'unreadable file', args: ['f', 'r', 'u'], files: { f: U_R }, nobody: { modes: { f: 0o200 } } },
  { name: '-c on a read-only file', args: ['-c', 'f', 'r', 'u'], files: { f: U_R }, nobody: { modes: { f: 0o444 } } },
];

let tools: Tools | undefined;

beforeAll(async () => {
  tools = await makeTools();
});

afterAll(async () => {
  await removeTools(tools);
});

async function runBoth(c: Case): Promise<void> {
  const t = tools;
  if (!t) throw new Error('tools not set up');
  const forNobody = c.nobody !== undefined;
  const dirs = await Promise.all([scratchDir(t, `apache-${c.name}`, forNobody), scratchDir(t, `ours-${c.name}`, forNobody)]);
  for (const dir of dirs) {
    for (const [name, content] of Object.entries(c.files ?? {})) {
      if (name.includes('/')) await mkdir(join(dir, name.split('/')[0] ?? ''), { recursive: true });
      await writeFile(join(dir, name), content);
      const mode = c.nobody?.modes?.[name];
      if (mode !== undefined) await chmod(join(dir, name), mode);
    }
  }
  const [apacheDir = '', oursDir = ''] = dirs;
  const options = { input: c.stdin ?? 'pw\npw\n', asNobody: forNobody && isRoot };
  const theirs = await runTool(t.apacheBin, 'htdigest', c.args, { cwd: apacheDir, ...options });
  const ours = await runTool(t.oursBin, 'htdigest', c.args, { cwd: oursDir, ...options });
  const view = (r: typeof theirs) => ({ code: r.code, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1') });
  expect(view(ours), c.name).toEqual(view(theirs));
  const [apacheFiles, oursFiles] = await Promise.all([filesOf(apacheDir), filesOf(oursDir)]);
  if (c.apacheLeavesEmptyFile) {
    expect(apacheFiles.get(c.apacheLeavesEmptyFile)?.length).toBe(0);
    apacheFiles.delete(c.apacheLeavesEmptyFile);
  }
  const text = (files: Map<string, Buffer>) => Object.fromEntries([...files].map(([k, v]) => [k, v.toString('latin1')]));
  expect(text(oursFiles), `${c.name}: files`).toEqual(text(apacheFiles));
}

describe('authts-htdigest against Apache htdigest 2.4.71', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await runBoth(c);
  });

  describe('permissions', () => {
    it.each(permissionCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await runBoth(c);
    });
  });
});
