/**
 * Comparing what Apache's tool and authts's left behind: exit code, stdout, stderr and files.
 * Salted hashes differ between runs, so records are compared by shape (user, format, cost or
 * rounds, length) and each tool must verify the other's hash with the case's password.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { bcryptCost, hashKind, shaCryptParams } from '../../src/passwords/hash-kind.js';
import { verifyPassword } from '../../src/passwords/verify.js';
import type { RunResult, Tools } from './helpers.js';

/** What identifies a hash's format and parameters, salt aside. */
export function hashShape(hash: string): string {
  const kind = hashKind(hash);
  switch (kind) {
    case 'bcrypt':
      return `bcrypt:${hash.slice(0, 4)}:${bcryptCost(hash)}:${hash.length}`;
    case 'sha256':
    case 'sha512':
      return `${kind}:${shaCryptParams(hash).rounds ?? 'default'}:${hash.length}`;
    default:
      return `${kind}:${hash.length}`;
  }
}

/** Apache's `htpasswd -vb` accepts `hash` for `password`. */
export async function apacheVerifies(tools: Tools, user: string, hash: string, password: string | Buffer): Promise<boolean> {
  const dir = await mkdtemp(join(tools.root, 'verify-'));
  try {
    await writeFile(join(dir, 'f'), `${user}:${hash}\n`);
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('/usr/bin/htpasswd', ['-vb', 'f', user, password.toString()], { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
      child.on('error', reject);
      child.on('close', resolve);
    });
    return code === 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Lines of a file or of stdout, each with its newline. */
function lines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl < 0 ? buf.length : nl + 1;
    out.push(buf.subarray(start, end));
    start = end;
  }
  return out;
}

/** A `user:hash` line as htpasswd writes it (no leading space, not a comment), else undefined. */
function record(line: Buffer): { user: string; hash: string } | undefined {
  const text = line.toString('latin1').replace(/\r?\n$/, '');
  if (text === '' || /^\s|^#/.test(text)) return undefined;
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: Buffer.from(text.slice(0, colon), 'latin1').toString('utf8'), hash: text.slice(colon + 1) };
}

/**
 * `theirs` (Apache) and `ours` are the same text except for salted hashes: those must have the
 * same shape, and each must verify under the other tool with `password`.
 */
export async function expectSameRecords(
  tools: Tools,
  what: string,
  theirs: Buffer,
  ours: Buffer,
  password: string | Buffer | undefined,
): Promise<void> {
  const a = lines(theirs);
  const b = lines(ours);
  expect(b.length, `${what}: number of lines`).toBe(a.length);
  for (let i = 0; i < a.length; i++) {
    const la = a[i] ?? Buffer.alloc(0);
    const lb = b[i] ?? Buffer.alloc(0);
    if (la.equals(lb)) continue;
    const ra = record(la);
    const rb = record(lb);
    expect(ra && rb, `${what}: line ${i + 1} differs and is not a record: ${JSON.stringify(la.toString())} vs ${JSON.stringify(lb.toString())}`).toBeTruthy();
    if (!ra || !rb) return;
    expect(rb.user, `${what}: line ${i + 1} user`).toBe(ra.user);
    expect(hashShape(rb.hash), `${what}: line ${i + 1} hash shape`).toBe(hashShape(ra.hash));
    expect(la.subarray(-2).toString() === '\r\n', `${what}: line ${i + 1} ending`).toBe(lb.subarray(-2).toString() === '\r\n');
    expect(password, `${what}: the case must name the password to cross-verify line ${i + 1}`).toBeDefined();
    if (password === undefined) return;
    expect(await verifyPassword(ra.hash, password), `${what}: authts verifies Apache's hash on line ${i + 1}`).toBe(true);
    expect(await apacheVerifies(tools, rb.user, rb.hash, password), `${what}: Apache verifies authts's hash on line ${i + 1}`).toBe(true);
  }
}

/** The regular files of a directory with their contents (name → bytes). */
export async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) out.set(entry.name, await readFile(join(dir, entry.name)));
  }
  return out;
}

/** Exit code and stderr identical, stdout equal up to salts. */
export async function expectSameOutput(tools: Tools, what: string, theirs: RunResult, ours: RunResult, password: string | Buffer | undefined): Promise<void> {
  expect({ code: ours.code, stderr: ours.stderr.toString('latin1') }, what).toEqual({ code: theirs.code, stderr: theirs.stderr.toString('latin1') });
  await expectSameRecords(tools, `${what} (stdout)`, theirs.stdout, ours.stdout, password);
}
