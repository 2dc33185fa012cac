/**
 * Prompts on a terminal: both tools run on a pseudo-terminal (util-linux `script`), a driver
 * types each answer once the prompt has appeared, and the two transcripts must be identical —
 * prompts written to the terminal, no echo of what was typed, a newline after each answer.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePasswordWorkers } from '../../src/passwords/crypt-pool.js';
import { verifyPassword } from '../../src/passwords/verify.js';
import { apacheVerifies } from './compare.js';
import { makeTools, removeTools, scratchDir, type Tool, type Tools } from './helpers.js';

interface Step {
  /** Wait until the transcript (since the last answer) contains this. */
  readonly prompt: string;
  /** Then type this (a terminal's Enter is "\r"). */
  readonly type: string;
}

interface Session {
  readonly code: number | null;
  readonly transcript: string;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs `tool args` on a pseudo-terminal in `cwd`, answering `steps` in order. */
function onTerminal(bin: string, tool: Tool, args: readonly string[], cwd: string, steps: readonly Step[]): Promise<Session> {
  const command = [tool, ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, TERM: 'dumb' },
      detached: true,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let transcript = '';
    let answered = 0;
    let from = 0;
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      transcript += chunk;
      const step = steps[answered];
      if (step && transcript.indexOf(step.prompt, from) >= 0) {
        answered++;
        from = transcript.length;
        child.stdin.write(step.type);
      }
    });
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, transcript }));
  });
}

let tools: Tools | undefined;

beforeAll(async () => {
  tools = await makeTools();
});

afterAll(async () => {
  await removeTools(tools);
  await closePasswordWorkers();
});

async function both(tool: Tool, args: readonly string[], steps: readonly Step[], files: Record<string, string> = {}) {
  const t = tools;
  if (!t) throw new Error('tools not set up');
  const [apacheDir, oursDir] = await Promise.all([scratchDir(t, `tty-apache-${tool}`), scratchDir(t, `tty-ours-${tool}`)]);
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(apacheDir, name), content);
    await writeFile(join(oursDir, name), content);
  }
  const theirs = await onTerminal(t.apacheBin, tool, args, apacheDir, steps);
  const ours = await onTerminal(t.oursBin, tool, args, oursDir, steps);
  return { theirs, ours, apacheDir, oursDir, tools: t };
}

const NEW = (pw: string): Step[] => [
  { prompt: 'New password: ', type: `${pw}\r` },
  { prompt: 'Re-type new password: ', type: `${pw}\r` },
];

describe('prompts on a terminal, against Apache', () => {
  it('htpasswd -c: same transcript, no echo, hashes verify both ways', async () => {
    const r = await both('htpasswd', ['-c', 'f', 'alice'], NEW('typed-secret'));
    expect(r.ours).toEqual(r.theirs);
    expect(r.ours.transcript).toBe('New password: \r\nRe-type new password: \r\nAdding password for user alice\r\n');
    const theirs = (await readFile(join(r.apacheDir, 'f'), 'utf8')).trim().split(':')[1] ?? '';
    const ours = (await readFile(join(r.oursDir, 'f'), 'utf8')).trim().split(':')[1] ?? '';
    expect(await verifyPassword(theirs, 'typed-secret')).toBe(true);
    expect(await apacheVerifies(r.tools, 'alice', ours, 'typed-secret')).toBe(true);
  });

  it('htpasswd: a mismatch', async () => {
    const r = await both('htpasswd', ['-c', 'f', 'alice'], [
      { prompt: 'New password: ', type: 'one\r' },
      { prompt: 'Re-type new password: ', type: 'two\r' },
    ]);
    expect(r.ours).toEqual(r.theirs);
    expect(r.ours.code).toBe(3);
  });

  it('htpasswd -v: one prompt, "Enter password: "', async () => {
    const file = { f: 'alice:$apr1$Apdn8x.U$YO4Dt0NSfWxLw/EIGiRwQ/\n' };
    const ok = await both('htpasswd', ['-v', 'f', 'alice'], [{ prompt: 'Enter password: ', type: 'alice-pw\r' }], file);
    expect(ok.ours).toEqual(ok.theirs);
    expect(ok.ours.transcript).toBe('Enter password: \r\nPassword for user alice correct.\r\n');
    const bad = await both('htpasswd', ['-v', 'f', 'alice'], [{ prompt: 'Enter password: ', type: 'wrong\r' }], file);
    expect(bad.ours).toEqual(bad.theirs);
    expect(bad.ours.code).toBe(3);
  });

  it('htdigest -c: same transcript and the same file', async () => {
    const r = await both('htdigest', ['-c', 'f', 'Private Area', 'alice'], NEW('typed-secret'));
    expect(r.ours).toEqual(r.theirs);
    expect(await readFile(join(r.oursDir, 'f'), 'utf8')).toBe(await readFile(join(r.apacheDir, 'f'), 'utf8'));
  });

  it('htdigest: a mismatch', async () => {
    const r = await both('htdigest', ['f', 'r', 'u'], [
      { prompt: 'New password: ', type: 'one\r' },
      { prompt: 'Re-type new password: ', type: 'two\r' },
    ], { f: '' });
    expect(r.ours).toEqual(r.theirs);
    expect(r.ours.code).toBe(1);
  });
});

describe('authts prompts: line editing', () => {
  it('Backspace and Ctrl-U edit the hidden line', async () => {
    const t = tools;
    if (!t) throw new Error('tools not set up');
    const dir = await scratchDir(t, 'tty-edit');
    const session = await onTerminal(t.oursBin, 'htpasswd', ['-c', 'f', 'u'], dir, [
      { prompt: 'New password: ', type: 'garbage\x15pwx\x7f\r' },
      { prompt: 'Re-type new password: ', type: 'pw\r' },
    ]);
    expect(session.code).toBe(0);
    const hash = (await readFile(join(dir, 'f'), 'utf8')).trim().split(':')[1] ?? '';
    expect(await apacheVerifies(t, 'u', hash, 'pw')).toBe(true);
  });

  it('Ctrl-C interrupts: exit 4 (htpasswd), 1 with "Interrupted." (htdigest), nothing written', async () => {
    const t = tools;
    if (!t) throw new Error('tools not set up');
    const dir = await scratchDir(t, 'tty-interrupt');
    const htpasswd = await onTerminal(t.oursBin, 'htpasswd', ['-c', 'f', 'u'], dir, [{ prompt: 'New password: ', type: 'pw\x03' }]);
    expect(htpasswd.code).toBe(4);
    const htdigest = await onTerminal(t.oursBin, 'htdigest', ['-c', 'g', 'r', 'u'], dir, [{ prompt: 'New password: ', type: '\x03' }]);
    expect(htdigest.code).toBe(1);
    expect(htdigest.transcript).toContain('Interrupted.');
    await expect(readFile(join(dir, 'f'))).rejects.toThrow();
    await expect(readFile(join(dir, 'g'))).rejects.toThrow();
  });
});
