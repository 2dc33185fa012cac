/**
 * Running Apache's htpasswd/htdigest and authts's side by side: both are invoked by the name
 * `htpasswd` / `htdigest` through PATH (so both print the same argv[0]), each in its own
 * directory, without a controlling terminal (prompts then read standard input, as in cron).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repo = fileURLToPath(new URL('../../', import.meta.url));
export type Tool = 'htpasswd' | 'htdigest';

/** Where the two tools' `htpasswd`/`htdigest` live. */
export interface Tools {
  readonly root: string;
  readonly apacheBin: string;
  readonly oursBin: string;
  /** 'dist' when the compiled files are current, else 'tsx' (running the sources). */
  readonly mode: 'dist' | 'tsx';
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

export interface RunOptions {
  readonly cwd: string;
  readonly input?: string | Buffer;
  /** Run as user nobody (65534) through setpriv; only when this process is root. */
  readonly asNobody?: boolean;
  readonly env?: Readonly<Record<string, string>>;
}

/** True when every src/**.ts has a dist/**.js at least as new. */
async function distIsCurrent(): Promise<boolean> {
  async function walk(dir: string): Promise<boolean> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!(await walk(path))) return false;
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const out = join(repo, 'dist', relative(join(repo, 'src'), path)).replace(/\.ts$/, '.js');
        const [src, built] = await Promise.all([stat(path), stat(out).catch(() => undefined)]);
        if (!built || built.mtimeMs < src.mtimeMs) return false;
      }
    }
    return true;
  }
  return walk(join(repo, 'src'));
}

/**
 * Makes `<root>/apache/{htpasswd,htdigest}` (links to /usr/bin) and `<root>/ours/…` (shell
 * wrappers running authts through a link of the same name, so that authts prints the same
 * program name). Uses dist/ when it is current, else the sources through tsx.
 */
export async function makeTools(): Promise<Tools> {
  const root = await mkdtemp(join(tmpdir(), 'authts-htpasswd-'));
  const apacheBin = join(root, 'apache');
  const oursBin = join(root, 'ours');
  const lib = join(root, 'lib');
  await Promise.all([mkdir(apacheBin), mkdir(oursBin), mkdir(lib)]);
  const mode = (await distIsCurrent()) ? 'dist' : 'tsx';
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  for (const tool of ['htpasswd', 'htdigest'] as const) {
    await symlink(`/usr/bin/${tool}`, join(apacheBin, tool));
    const entry = mode === 'dist' ? join(repo, 'dist/cli', `${tool}-bin.js`) : join(repo, 'src/cli', `${tool}-bin.ts`);
    await symlink(entry, join(lib, tool));
    const loader = mode === 'dist' ? '' : `--import '${tsx}' `;
    await writeFile(join(oursBin, tool), `#!/bin/sh\nexec '${process.execPath}' ${loader}'${join(lib, tool)}' "$@"\n`, { mode: 0o755 });
  }
  await chmod(root, 0o755);
  return { root, apacheBin, oursBin, mode };
}

export async function removeTools(tools: Tools | undefined): Promise<void> {
  if (tools) await rm(tools.root, { recursive: true, force: true });
}

/** A fresh directory under the tools' root (world-writable when `forNobody`). */
export async function scratchDir(tools: Tools, name: string, forNobody = false): Promise<string> {
  const dir = await mkdtemp(join(tools.root, `${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}-`));
  if (forNobody) await chmod(dir, 0o777);
  return dir;
}

export const isRoot = process.getuid?.() === 0;

/**
 * Runs `tool` from `bin` with `args` in `cwd`, feeding `input` (then end of input) to stdin.
 * The child is a session leader (no controlling terminal).
 */
export function runTool(bin: string, tool: Tool, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const env = { ...process.env, ...options.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  const [command, argv] = options.asNobody
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', tool, ...args]]
    : [tool, [...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: options.cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined); // the tool may exit without reading its input
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    child.stdin.end(options.input ?? '');
  });
}
