/**
 * `authts serve --workers N`: one primary process that owns nothing but its workers, and N
 * worker processes that each run `authts serve` on the same listening sockets (node:cluster
 * hands every new connection to the next worker in turn). The primary:
 *
 * - loads the configuration once before any worker starts, so that errors stop the start with
 *   file:line exactly as a single process does, and no worker ever binds a port;
 * - hands every worker the same run secret ({@link RUN_SECRET_ENV}), so what one worker signs
 *   (Digest nonces, CSRF tokens) another accepts;
 * - passes SIGHUP to every worker (each reloads, keeping its configuration on errors) and turns
 *   SIGTERM/SIGINT into a drain of every worker, exiting once the last has;
 * - starts a new worker in place of one that died while serving, waiting longer after each
 *   quick death (up to {@link MAX_RESTART_DELAY_MS}) so a worker that cannot live does not spin.
 *
 * A worker that exits before it listens (a port in use, a configuration changed on disk in
 * between) ends the whole start: exit 1, every other worker stopped.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { core, type ListenAddress } from '../core-module.js';
import type { Logger } from '../log.js';
import { authnSocache } from '../authn/socache.js';
import { authTsRegulation } from '../authn/regulation.js';
import { builtinModules } from '../modules.js';
import { RUN_SECRET_ENV } from '../run-secret.js';
import type { Config } from '../config/config.js';
import { authTsSession, type SessionSettings } from '../session/module.js';
import { notStarted, serve, type CliIo, type ServeTarget } from './main.js';
import { loadModuleFiles } from './module-files.js';

/** What a worker tells the primary (over the cluster IPC channel). */
export type WorkerMessage = { readonly type: 'listening'; readonly addresses: readonly ListenAddress[] };

/** The longest wait before a dead worker is replaced. */
export const MAX_RESTART_DELAY_MS = 5_000;
/** A worker that lived at least this long died for a new reason: restart at once. */
const STABLE_AFTER_MS = 10_000;
/** The first wait after a worker that died young. */
const FIRST_RESTART_DELAY_MS = 100;

/**
 * How long to wait before replacing a worker that died after `livedMs`, when the previous
 * replacement waited `previousDelayMs`: at once after a worker that had been serving for 10 s,
 * else 100 ms, doubling with every further early death, at most {@link MAX_RESTART_DELAY_MS} — a
 * worker that dies at every start must not spin the primary.
 *
 * @example
 * ```ts
 * nextRestartDelay(0, 500); // 100
 * nextRestartDelay(3_200, 500); // 5_000
 * nextRestartDelay(5_000, 60_000); // 0
 * ```
 */
export function nextRestartDelay(previousDelayMs: number, livedMs: number): number {
  if (livedMs >= STABLE_AFTER_MS) return 0;
  return Math.min(MAX_RESTART_DELAY_MS, Math.max(FIRST_RESTART_DELAY_MS, previousDelayMs * 2));
}

/** The worker entry (compiled next to this file). */
const WORKER_ENTRY = fileURLToPath(new URL('./serve-worker.js', import.meta.url));

export interface ClusterOptions {
  readonly target: ServeTarget;
  readonly workers: number;
  /**
   * False when `workers` is the default (one per core): a configuration whose state cannot be
   * shared between workers then runs in one process instead of failing.
   */
  readonly workersChosen: boolean;
  readonly logger: Logger;
  readonly io: CliIo;
}

/** Runs the primary until every worker has drained and exited; returns the exit code. */
export async function serveCluster(options: ClusterOptions): Promise<number> {
  const { logger: log, io } = options;
  const decision = await checkBeforeStart(options);
  if (decision === 'single') return serve(options.target, io);
  if (decision !== undefined) return decision;

  cluster.setupPrimary({
    exec: WORKER_ENTRY,
    args: [JSON.stringify({ ...options.target, defines: [...options.target.defines] })],
  });
  const env = { [RUN_SECRET_ENV]: randomBytes(32).toString('hex') };

  return new Promise<number>((resolve) => {
    const workers = new Map<Worker, { started: number; listening: boolean }>();
    let starting = true;
    let stopping = false;
    let exitCode = 0;
    let restartDelay = 0;
    let listening = 0;

    const fork = (): void => {
      const worker = cluster.fork(env);
      workers.set(worker, { started: Date.now(), listening: false });
      worker.on('message', (message: WorkerMessage) => {
        if (message?.type !== 'listening') return;
        const state = workers.get(worker);
        if (state === undefined || state.listening) return;
        state.listening = true;
        if (starting && ++listening === options.workers) {
          starting = false;
          log.info({ workers: options.workers, addresses: message.addresses }, 'authts serve: all workers listening');
        }
      });
      worker.on('exit', (code, signal) => {
        const state = workers.get(worker);
        workers.delete(worker);
        if (stopping) {
          if (workers.size === 0) finish();
          return;
        }
        if (state === undefined || !state.listening) {
          // It never served: the start (or a replacement's start) failed; stop everything.
          io.stderr.write(`authts serve: a worker exited before it listened (${signal ?? `exit ${code}`}); stopping\n`);
          exitCode = 1;
          return stop();
        }
        restartDelay = nextRestartDelay(restartDelay, Date.now() - state.started);
        log.error({ pid: worker.process.pid, code, signal, restartInMs: restartDelay }, 'a worker died; starting another');
        const timer = setTimeout(() => {
          if (!stopping) fork();
        }, restartDelay);
        timer.unref();
      });
    };

    const onSignal = io.onSignal ?? ((signal, listener) => (process.on(signal, listener), () => process.off(signal, listener)));
    const offs = [
      onSignal('SIGHUP', () => {
        log.info({ workers: workers.size }, 'SIGHUP: every worker reloads its configuration');
        for (const worker of workers.keys()) worker.process.kill('SIGHUP');
      }),
      onSignal('SIGTERM', () => stop()),
      onSignal('SIGINT', () => stop()),
    ];

    function stop(): void {
      if (stopping) return;
      stopping = true;
      log.info({ workers: workers.size }, 'draining every worker, then exiting');
      if (workers.size === 0) return finish();
      for (const worker of workers.keys()) worker.process.kill('SIGTERM');
    }

    function finish(): void {
      for (const off of offs) off();
      resolve(exitCode);
    }

    for (let i = 0; i < options.workers; i++) fork();
  });
}

/** Where `Session On` is in force with the in-process session store (for messages), or undefined. */
function sessionsInMemory(config: Config): string | undefined {
  if (config.serverSettings(authTsSession).store?.kind === 'redis') return undefined;
  const base = config.resolve({ path: '/', filename: undefined, isDirectory: false }).get(authTsSession);
  if (base.enabled === true) return `server config of ${config.mainFile}`;
  for (const section of config.sections) {
    const own = section.settings.get(authTsSession) as SessionSettings | undefined;
    if (own?.enabled === true) return `the section at ${section.where.file}:${section.where.line}`;
  }
  return undefined;
}

/**
 * Loads the configuration once in the primary: errors are printed as a single process prints
 * them and the start stops (exit 1). Returns undefined when the workers may start.
 */
async function checkBeforeStart(options: ClusterOptions): Promise<number | 'single' | undefined> {
  const { io } = options;
  try {
    const { file, defines, moduleFiles } = options.target;
    const modules = [...builtinModules(), ...(await loadModuleFiles(moduleFiles))];
    const config = await loadConfig({ file, defines, modules, logger: options.logger });
    const listen = config.serverSettings(core).listen;
    for (const [directive, store] of [
      ['AuthTsRegulationStore', config.serverSettings(authTsRegulation).store],
      ['AuthnCacheSOCache', config.serverSettings(authnSocache).store],
    ] as const) {
      if (store?.kind !== 'memory') continue;
      // Not an error (a cache per worker still works), but regulation per worker lets an
      // attacker try N × MaxRetries times: say so where the operator looks.
      options.logger.warn(
        { directive, workers: options.workers },
        `${directive} keeps its store in each worker's memory: with ${options.workers} workers each has its own; use redis:<host:port> to share one`,
      );
    }
    const memorySessions = sessionsInMemory(config);
    await config.close();
    if (memorySessions !== undefined) {
      // Sessions made by one worker would be unknown to the others: users logged out at random.
      const why = `sessions are kept in each process's memory (Session On in ${memorySessions}, no AuthTsSessionStore redis:…)`;
      if (options.workersChosen) {
        io.stderr.write(`authts serve: --workers ${options.workers}: ${why}, which workers cannot share; set AuthTsSessionStore redis:<host:port> or use --workers 1\n`);
        return 1;
      }
      options.logger.info({ workers: 1 }, `serving in one process: ${why}; AuthTsSessionStore redis:<host:port> lets every core serve`);
      return 'single';
    }
    if (listen.length === 0) {
      io.stderr.write(`authts serve: ${file}: no Listen directive: authts does not know where to listen (add e.g. Listen 127.0.0.1:8080)\n`);
      return 1;
    }
    return undefined;
  } catch (err) {
    return notStarted(err, io);
  }
}
