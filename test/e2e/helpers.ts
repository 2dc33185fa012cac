/**
 * Helpers for the end-to-end suites: temp directories that are always removed, htpasswd
 * records made by Apache's own `htpasswd`, the `authts` CLI as a real child process (stopped
 * only by its own PID), a logger that keeps its lines, and bounded waits.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../../src/log.js';

/** The repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI entry (`npm run build` makes it). */
export const CLI = join(REPO, 'dist', 'cli', 'authts.js');

/** Temp directories made by {@link tempDir}, removed by {@link removeTempDirs}. */
const tempDirs: string[] = [];

/** A new temp directory, removed by {@link removeTempDirs} (call it in `afterAll`). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `authts-e2e-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** Removes every directory {@link tempDir} made. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/**
 * One htpasswd record made by Apache's `htpasswd -nb<flag>`: `m` apr1 (fast), `B` bcrypt (with
 * `cost`), `s` {SHA}.
 */
export function htpasswd(user: string, password: string, flag: 'm' | 'B' | 's' = 'm', cost?: number): string {
  const args = [`-nb${flag}`, ...(cost === undefined ? [] : ['-C', String(cost)]), user, password];
  return execFileSync('htpasswd', args, { encoding: 'utf8' }).trim();
}

/** `Authorization: Basic …` for `user:password` (UTF-8). */
export function basic(userPass: string): string {
  return `Basic ${Buffer.from(userPass, 'utf8').toString('base64')}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` every 20 ms until it is true; throws after `ms` with `what` in the message. */
export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Resolves `'connected'` or the error code of a TCP connection attempt to 127.0.0.1:`port` (bounded). */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolvePromise('timeout');
    }, 2_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolvePromise('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolvePromise(err.code ?? err.message);
    });
  });
}

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `node dist/cli/authts.js …`. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** Waits (bounded) until stderr matches `pattern` at least `count` times. */
  waitForStderr(pattern: RegExp, count?: number, ms?: number): Promise<void>;
  /** Waits (bounded) for the exit; throws if it does not come within `ms`. */
  waitForExit(ms?: number): Promise<Exit>;
  /** Sends `signal` to this process's PID (only if it is still running). */
  signal(signal: NodeJS.Signals): void;
}

/** Every CLI process started here and not yet seen to exit: {@link killLeftovers} ends them. */
const running = new Set<CliProcess>();

/** Starts the CLI with `args` in `cwd`; its output is collected. */
export function startCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, AUTHTS_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${CLI}`);
  const pid = child.pid;
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  // 'close' (not 'exit'): the output pipes are drained by then.
  const exited = new Promise<Exit>((resolvePromise) => child.once('close', (code, signal) => resolvePromise({ code, signal })));
  let done = false;
  const cli: CliProcess = {
    child,
    pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForStderr(pattern, count = 1, ms = 5_000) {
      const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
      await waitFor(`${count} × ${String(pattern)} on stderr of "authts ${args.join(' ')}"; stderr so far:\n${err}`, () => {
        if (done && (err.match(global)?.length ?? 0) < count) throw new Error(`authts ${args.join(' ')} exited; stderr:\n${err}`);
        return (err.match(global)?.length ?? 0) >= count;
      }, ms);
    },
    async waitForExit(ms = 5_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (result === 'timeout') throw new Error(`authts ${args.join(' ')} did not exit within ${ms} ms; stderr:\n${err}`);
      return result;
    },
    signal(signal) {
      if (!done) process.kill(pid, signal);
    },
  };
  void exited.then(() => {
    done = true;
    running.delete(cli);
  });
  running.add(cli);
  return cli;
}

/** Runs the CLI to completion (bounded) and returns its exit code and output. */
export async function runCli(args: readonly string[], options: { cwd?: string; ms?: number } = {}): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = startCli(args, options.cwd === undefined ? {} : { cwd: options.cwd });
  const exit = await cli.waitForExit(options.ms ?? 10_000);
  return { ...exit, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** SIGKILLs (by PID) every CLI process a test left running, and waits for them to go. */
export async function killLeftovers(): Promise<void> {
  const left = [...running];
  for (const cli of left) cli.signal('SIGKILL');
  await Promise.all(left.map((cli) => cli.waitForExit(5_000).catch(() => undefined)));
}

/** The port `authts serve` logged as listening (the first one). */
export function listeningPort(stderr: string): number {
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; port?: number };
    if (entry.msg === 'authts serve listening' && typeof entry.port === 'number') return entry.port;
  }
  throw new Error(`no "authts serve listening" line in:\n${stderr}`);
}

/** A logger that keeps every line, parsed (for asserting codes that were logged). */
export function captureLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { log, lines };
}
