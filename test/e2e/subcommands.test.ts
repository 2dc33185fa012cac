import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = new URL('../../dist/cli/authts.js', import.meta.url).pathname;

/** Runs `node dist/cli/authts.js args…` (built by `npm test` before vitest) and keeps the exit code. */
async function authts(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('authts htpasswd / authts htdigest', () => {
  it('runs the htpasswd tool with its own argv handling', async () => {
    const result = await authts(['htpasswd', '-nbs', 'alice', 'secret']);
    expect(result).toEqual({ code: 0, stdout: 'alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n\n', stderr: '' });
  });

  it('names itself "authts htpasswd" in errors, with htpasswd exit codes', async () => {
    const result = await authts(['htpasswd', '-nb', 'a:b', 'secret']);
    expect(result.code).toBe(6);
    expect(result.stderr).toBe("authts htpasswd: username contains illegal character ':'\n");
  });

  it('runs the htdigest tool', async () => {
    const result = await authts(['htdigest']);
    expect(result.code).toBe(1);
    // Apache's htdigest prints a fixed usage line, whatever its name; so does ours.
    expect(result.stderr).toContain('Usage: htdigest [-c] passwordfile realm username');
  });

  it('lists both in authts --help', async () => {
    const result = await authts(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/htpasswd\s+manage htpasswd files/);
    expect(result.stdout).toMatch(/htdigest\s+manage htdigest files/);
  });
});
