/**
 * Writers that run at the same time or die half-way never lose or corrupt a user file:
 * 50 concurrent authts-htpasswd processes adding 50 users leave all 50, and SIGKILL at any
 * moment leaves the old file or the new one, never a mix.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePasswordWorkers } from '../../src/passwords/crypt-pool.js';
import { verifyPassword } from '../../src/passwords/verify.js';
import { parseUserFile } from '../../src/providers/file.js';
import { setPassword } from '../../src/userfile/index.js';
import { apacheVerifies } from './compare.js';
import { makeTools, removeTools, runTool, scratchDir, type Tools } from './helpers.js';

let tools: Tools | undefined;

beforeAll(async () => {
  tools = await makeTools();
});

afterAll(async () => {
  await removeTools(tools);
  await closePasswordWorkers();
});

function need(): Tools {
  if (!tools) throw new Error('tools not set up');
  return tools;
}

describe('concurrent writers', () => {
  it('50 authts-htpasswd processes adding 50 users at once leave all 50', async () => {
    const t = need();
    const dir = await scratchDir(t, 'fifty');
    await writeFile(join(dir, 'users'), '# fifty users\n');
    const runs = await Promise.all(
      Array.from({ length: 50 }, (_, i) => runTool(t.oursBin, 'htpasswd', ['-b', 'users', `user${i}`, `pw${i}`], { cwd: dir })),
    );
    expect(runs.map((r) => r.code)).toEqual(Array(50).fill(0));
    expect(runs.map((r) => r.stderr.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `Adding password for user user${i}\n`));
    const text = await readFile(join(dir, 'users'), 'utf8');
    const users = parseUserFile(text).users;
    expect(users.size).toBe(50);
    expect(text.split('\n').filter((l) => l !== '')).toHaveLength(51);
    for (let i = 0; i < 50; i++) expect(await verifyPassword(users.get(`user${i}`) ?? '', `pw${i}`), `user${i}`).toBe(true);
    expect(await apacheVerifies(t, 'user7', users.get('user7') ?? '', 'pw7')).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['users']);
  }, 180_000);

  it('in one process, concurrent setPassword calls queue on the lock', async () => {
    const dir = await scratchDir(need(), 'in-process');
    const file = join(dir, 'users');
    const verdicts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => setPassword(file, `u${i}`, `p${i}`, { format: 'sha256', create: true })),
    );
    expect(verdicts).toEqual(Array(20).fill('added'));
    const users = parseUserFile(await readFile(file, 'utf8')).users;
    expect([...users.keys()].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `u${i}`).sort());
  });
});

describe('writers killed at random moments', () => {
  it('leave the old or the new file, never a partial one; the next writer breaks the stale lock', async () => {
    const t = need();
    const dir = await scratchDir(t, 'kill');
    const file = join(dir, 'users');
    // ~9 MB: reading, rewriting and fsyncing it is a good part of each run.
    const line = 'someone-with-a-long-name-%:$apr1$Apdn8x.U$YO4Dt0NSfWxLw/EIGiRwQ/\n';
    let old = Array.from({ length: 140_000 }, (_, i) => line.replace('%', String(i))).join('');
    await writeFile(file, old);

    // How long one undisturbed run takes, to spread the kills over it.
    const started = process.hrtime.bigint();
    const first = await runTool(t.oursBin, 'htpasswd', ['-b', 'users', 'baseline', 'pw'], { cwd: dir });
    const duration = Number(process.hrtime.bigint() - started) / 1e6;
    expect(first.code).toBe(0);
    old = await readFile(file, 'latin1');

    const outcomes = { old: 0, new: 0 };
    const rounds = 24;
    for (let round = 0; round < rounds; round++) {
      const user = `killed${round}`;
      // Anywhere from the end of Node's start-up (about a third of a run) to just past the end.
      const delay = Math.round(duration * 0.3) + randomInt(Math.max(1, Math.round(duration * 0.8)));
      const result = await killAfter(t, dir, ['-b', 'users', user, 'pw'], delay);
      const now = await readFile(file, 'latin1');
      if (now === old) {
        outcomes.old++;
      } else {
        expect(now.startsWith(old), `round ${round}: the old content is intact`).toBe(true);
        const added = now.slice(old.length);
        expect(added, `round ${round}: exactly one new record`).toMatch(new RegExp(`^${user}:\\$apr1\\$[./0-9A-Za-z]{8}\\$[./0-9A-Za-z]{22}\\n$`));
        expect(await verifyPassword(added.slice(user.length + 1, -1), 'pw')).toBe(true);
        outcomes.new++;
        old = now;
      }
      expect(result.signal === 'SIGKILL' || result.code === 0, `round ${round}: killed or finished`).toBe(true);
    }
    expect(outcomes.old + outcomes.new).toBe(rounds);

    // A lock left by a killed writer is broken, and its temp files are cleaned up.
    const last = await runTool(t.oursBin, 'htpasswd', ['-b', 'users', 'survivor', 'pw'], { cwd: dir });
    expect({ code: last.code, stderr: last.stderr.toString() }).toEqual({ code: 0, stderr: 'Adding password for user survivor\n' });
    const left = await readdir(dir);
    expect(left.filter((n) => n.startsWith('.users.tmp.') || n === 'users.lock')).toEqual([]);
    const users = parseUserFile(await readFile(file, 'utf8')).users;
    expect(users.size).toBe(140_000 + 2 + outcomes.new);
  }, 180_000);
});

/** Starts the tool and SIGKILLs it after `ms` (or lets it finish first). */
function killAfter(t: Tools, cwd: string, args: readonly string[], ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('htpasswd', args, {
      cwd,
      env: { ...process.env, PATH: `${t.oursBin}:${process.env.PATH ?? '/usr/bin:/bin'}` },
      detached: true,
      stdio: 'ignore',
    });
    const timer = setTimeout(() => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // It exited between the check and the kill.
      }
    }, ms);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}
