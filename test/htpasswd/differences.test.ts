/**
 * Where authts-htpasswd / authts-htdigest deliberately differ from Apache's tools: each test
 * shows what Apache does (so that the difference stays real) and what authts does instead.
 * docs/cli.md lists the same differences.
 */
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePasswordWorkers } from '../../src/passwords/crypt-pool.js';
import { verifyPassword } from '../../src/passwords/verify.js';
import { apacheVerifies } from './compare.js';
import { isRoot, makeTools, removeTools, runTool, scratchDir, type RunResult, type Tool, type Tools } from './helpers.js';

let tools: Tools | undefined;

beforeAll(async () => {
  tools = await makeTools();
});

afterAll(async () => {
  await removeTools(tools);
  await closePasswordWorkers();
});

interface Outcome {
  readonly result: RunResult;
  readonly file: string | undefined;
  readonly dir: string;
}

/** Runs `tool args` under Apache and under authts, each in a directory holding `files`. */
async function both(tool: Tool, args: readonly string[], files: Record<string, string | Buffer> = {}, input?: string, asNobody = false) {
  const t = tools;
  if (!t) throw new Error('tools not set up');
  const run = async (bin: string, side: string): Promise<Outcome> => {
    const dir = await scratchDir(t, `${side}-${tool}`, asNobody);
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    const result = await runTool(bin, tool, args, { cwd: dir, ...(input === undefined ? {} : { input }), asNobody });
    const file = await readFile(join(dir, 'f'), 'latin1').catch(() => undefined);
    return { result, file, dir };
  };
  return { apache: await run(t.apacheBin, 'apache'), ours: await run(t.oursBin, 'ours'), tools: t };
}

const text = (b: Buffer): string => b.toString('latin1');

describe('htpasswd: deliberate differences', () => {
  it('-r outside 1000..999999999 for SHA-2: Apache stores "*0" and exits 0; authts refuses (exit 3)', async () => {
    for (const rounds of ['999', '1000000000', '4294967295']) {
      const { apache, ours } = await both('htpasswd', ['-nb5', '-r', rounds, 'u', 'pw']);
      expect({ code: apache.result.code, out: text(apache.result.stdout) }).toEqual({ code: 0, out: 'u:*0\n\n' });
      expect({ code: ours.result.code, out: text(ours.result.stdout), err: text(ours.result.stderr) }).toEqual({
        code: 3,
        out: '',
        err: 'htpasswd: Unable to encode with SHA-2 crypt: rounds must be from 1000 to 999999999\n',
      });
    }
  });

  it('a user name with a newline or CR: Apache corrupts the file; authts refuses (exit 6)', async () => {
    const { apache, ours } = await both('htpasswd', ['-cb', 'f', 'x\ny', 'pw']);
    expect(apache.result.code).toBe(0);
    expect(apache.file).toMatch(/^x\ny:\$apr1\$/);
    expect({ code: ours.result.code, err: text(ours.result.stderr), file: ours.file }).toEqual({
      code: 6,
      err: "htpasswd: username contains illegal character '\\n'\n",
      file: undefined,
    });
    const cr = await both('htpasswd', ['-nb', 'x\ry', 'pw']);
    expect(cr.apache.result.code).toBe(0);
    expect({ code: cr.ours.result.code, err: text(cr.ours.result.stderr) }).toEqual({ code: 6, err: "htpasswd: username contains illegal character '\\r'\n" });
  });

  it('a plain text password with a line break: Apache corrupts the file; authts refuses (exit 7)', async () => {
    const { apache, ours } = await both('htpasswd', ['-cbp', 'f', 'u', 'a\nb']);
    expect(apache.file).toBe('u:a\nb\n');
    expect(ours.result.code).toBe(7);
    expect(ours.file).toBeUndefined();
  });

  it('a last line without newline: Apache glues the new record onto it; authts starts a new line', async () => {
    const { apache, ours } = await both('htpasswd', ['-bs', 'f', 'b', 'pw'], { f: 'a:x' });
    expect(apache.file).toBe('a:xb:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n');
    expect(ours.file).toBe('a:x\nb:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n');
    expect(text(ours.result.stderr)).toBe(text(apache.result.stderr));
  });

  it('a NUL byte in a line: Apache drops the rest of the line, newline included; authts keeps it', async () => {
    const { apache, ours } = await both('htpasswd', ['-bs', 'f', 'c', 'pw'], { f: Buffer.from('a:x\0junk\nb:y\n') });
    expect(apache.file).toBe('a:xb:y\nc:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n');
    expect(ours.file).toBe('a:x\0junk\nb:y\nc:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n');
  });

  it('--argon2 writes $argon2id$ with the library defaults; authts verifies it, Apache cannot', async () => {
    const { ours, tools: t } = await both('htpasswd', ['-cb', '--argon2', 'f', 'u', 'pw']);
    expect(ours.result.code).toBe(0);
    const hash = (ours.file ?? '').trim().slice(2);
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=65536,p=4,t=3\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword(hash, 'pw')).toBe(true);
    expect(await verifyPassword(hash, 'px')).toBe(false);
    expect(await apacheVerifies(t, 'u', hash, 'pw')).toBe(false);
    const verify = await runTool(t.oursBin, 'htpasswd', ['-vb', 'f', 'u', 'pw'], { cwd: ours.dir });
    expect({ code: verify.code, err: text(verify.stderr) }).toEqual({ code: 0, err: 'Password for user u correct.\n' });
    const ignored = await both('htpasswd', ['-nb', '--argon2', '-C', '12', 'u', 'pw']);
    expect(text(ignored.ours.result.stderr)).toBe('Warning: Ignoring -C/-r argument for this algorithm.\n');
  });

  it('--help prints the usage, the extensions and the exit codes on stdout (Apache: "--help" ends its options)', async () => {
    const { apache, ours } = await both('htpasswd', ['--help']);
    expect(apache.result.code).toBe(2);
    expect(ours.result.code).toBe(0);
    const help = text(ours.result.stdout);
    expect(help.startsWith(text(apache.result.stderr))).toBe(true);
    for (const word of ['--argon2', '--check', 'Exit codes']) expect(help).toContain(word);
  });

  it('--check reports malformed lines, duplicates and weak hashes with line numbers; exit 7, or 0 when clean', async () => {
    const file = [
      '# users',
      'alice:$apr1$Apdn8x.U$YO4Dt0NSfWxLw/EIGiRwQ/',
      'no colon here',
      'alice:{SHA}uE1+cBGmURe+4zihKsjfuHZgJbQ=',
      'dave:{SHA}uE1+cBGmURe+4zihKsjfuHZgJbQ=',
      'erin:9AoRZ9ePqSxqw',
      'bob:$2y$05$HTJbkBlrozYWX1j8SW6ruOlfg.AnorA51YfBQ/bP0UY2j.wLGQ.yO',
      'p:plaintext',
      'x:*0',
      'e:',
      '',
    ].join('\n');
    const { ours } = await both('htpasswd', ['--check', 'f'], { f: file });
    expect(ours.result.code).toBe(7);
    const lines = text(ours.result.stdout).trim().split('\n').map((l) => l.split(': ').slice(0, 2).join(': '));
    expect(lines).toEqual([
      'f:3: malformed',
      'f:4: duplicate',
      'f:5: weak',
      'f:6: weak',
      'f:7: weak',
      'f:8: unusable',
      'f:9: unusable',
      'f:10: unusable',
    ]);
    expect(text(ours.result.stderr)).toBe('htpasswd: 8 problems in f\n');
    const clean = await both('htpasswd', ['--check', 'f'], { f: '# ok\nalice:$apr1$Apdn8x.U$YO4Dt0NSfWxLw/EIGiRwQ/\n' });
    expect({ code: clean.ours.result.code, out: text(clean.ours.result.stdout) }).toEqual({ code: 0, out: 'f: no problems found\n' });
    const missing = await both('htpasswd', ['--check', 'f']);
    expect(missing.ours.result.code).toBe(1);
    const misuse = await both('htpasswd', ['--check', '-b', 'f']);
    expect(misuse.ours.result.code).toBe(2);
  });

  it.runIf(isRoot)('a writable file in a directory that is not: Apache copies over it; authts needs the directory (exit 1)', async () => {
    const t = tools;
    if (!t) throw new Error('tools not set up');
    const outcome = async (bin: string) => {
      const dir = await scratchDir(t, 'ro-dir', true);
      await writeFile(join(dir, 'f'), 'a:x\n');
      await chmod(join(dir, 'f'), 0o666);
      await chmod(dir, 0o555);
      const result = await runTool(bin, 'htpasswd', ['-bs', 'f', 'b', 'pw'], { cwd: dir, asNobody: true });
      return { code: result.code, err: text(result.stderr), file: await readFile(join(dir, 'f'), 'utf8') };
    };
    const apache = await outcome(t.apacheBin);
    expect(apache).toEqual({ code: 0, err: 'Adding password for user b\n', file: 'a:x\nb:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n' });
    const ours = await outcome(t.oursBin);
    expect(ours.code).toBe(1);
    expect(ours.err).toMatch(/^htpasswd: unable to update file f\nhtpasswd: cannot create the lock .*f\.lock: EACCES/);
    expect(ours.file).toBe('a:x\n');
  });

  it('the file is replaced by rename and keeps its mode; no lock or temp file is left', async () => {
    const t = tools;
    if (!t) throw new Error('tools not set up');
    const dir = await scratchDir(t, 'mode');
    await writeFile(join(dir, 'f'), 'a:x\n');
    await chmod(join(dir, 'f'), 0o640);
    const r = await runTool(t.oursBin, 'htpasswd', ['-b', 'f', 'b', 'pw'], { cwd: dir });
    expect(r.code).toBe(0);
    expect((await stat(join(dir, 'f'))).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(['f']);
  });
});

describe('htdigest: deliberate differences', () => {
  const U_R = 'u:r:16cf8470b801169c6eade4e217f239e9\n';

  it('-c on an existing file: Apache overwrites its start without truncating; authts replaces it', async () => {
    const { apache, ours } = await both('htdigest', ['-c', 'f', 'r', 'u'], { f: `# a long comment line here\n${U_R}x:y:z\n` }, 'pw\npw\n');
    // The 37-byte record lands on the first 37 bytes; the rest of the old file stays behind it.
    const old = `# a long comment line here\n${U_R}x:y:z\n`;
    expect(apache.file).toBe(U_R + old.slice(U_R.length));
    expect(ours.file).toBe(U_R);
    expect(text(ours.result.stderr)).toBe(text(apache.result.stderr));
  });

  it('a last line without newline: Apache drops it; authts keeps it', async () => {
    const { apache, ours } = await both('htdigest', ['f', 'r', 'v'], { f: 'u:r:x' }, 'pw\npw\n');
    expect(apache.file).toBe('v:r:fe17e9220275a53fa0dc5f8b93e3ea8c\n');
    expect(ours.file).toBe('u:r:x\nv:r:fe17e9220275a53fa0dc5f8b93e3ea8c\n');
  });

  it('a user or realm over 255 bytes: Apache truncates it silently; authts refuses (exit 5)', async () => {
    const long = 'a'.repeat(300);
    const { apache, ours } = await both('htdigest', ['-c', 'f', 'r', long], {}, 'pw\npw\n');
    expect(apache.result.code).toBe(0);
    expect(apache.file?.startsWith(`${'a'.repeat(255)}:r:`)).toBe(true);
    expect({ code: ours.result.code, err: text(ours.result.stderr), file: ours.file }).toEqual({
      code: 5,
      err: 'htdigest: username too long (> 255)\n',
      file: undefined,
    });
  });

  it("':' or a line break in user or realm: Apache writes a record nobody can use; authts refuses (exit 6)", async () => {
    const { apache, ours } = await both('htdigest', ['-c', 'f', 'r:x', 'u'], {}, 'pw\npw\n');
    expect(apache.result.code).toBe(0);
    expect(apache.file).toMatch(/^u:r:x:[0-9a-f]{32}\n$/);
    expect({ code: ours.result.code, err: text(ours.result.stderr) }).toEqual({ code: 6, err: "htdigest: realm contains illegal character ':'\n" });
    const nl = await both('htdigest', ['-c', 'f', 'r', 'u\nv'], {}, 'pw\npw\n');
    expect({ code: nl.ours.result.code, err: text(nl.ours.result.stderr) }).toEqual({ code: 6, err: "htdigest: username contains illegal character '\\n'\n" });
  });

  it.runIf(isRoot)('a write that fails: Apache says so and exits 0; authts exits 1', async () => {
    // As nobody, in a world-writable directory, a root-owned read-only file: readable, but its
    // owner cannot be kept (authts) and it cannot be overwritten (Apache).
    const { apache, ours } = await both('htdigest', ['f', 'r', 'u'], { f: U_R }, 'pw\npw\n', true);
    expect(apache.result.code).toBe(0);
    expect(text(apache.result.stderr)).toContain('htdigest: unable to update file f\n');
    expect(apache.file).toBe(U_R);
    expect(ours.result.code).toBe(1);
    expect(text(ours.result.stderr)).toContain('htdigest: unable to update file f\n');
    expect(ours.file).toBe(U_R);
  });
});
