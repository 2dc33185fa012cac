import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { loadConfig } from '../config/load.js';
import { ConfigErrors } from '../errors.js';
import { createLogger } from '../log.js';
import { builtinModules } from '../modules.js';
import { startServer, type RunningServer } from '../server/serve.js';
import { createDemoSite } from './demo.js';
import { loadModuleFiles } from './module-files.js';
import { serveCluster } from './serve-cluster.js';
import { explainCommand, type ExplainOptions } from './explain.js';
import { openControllingTerminal, type TerminalOpener } from './getpass.js';

/** Where the CLI writes, and how it learns it should stop (tests pass their own). */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Subscribes to a process signal; returns an unsubscribe function. */
  readonly onSignal?: (signal: 'SIGHUP' | 'SIGTERM' | 'SIGINT', listener: () => void) => () => void;
  /** Called once a server is listening (tests use it to learn the port). */
  readonly onListening?: (server: RunningServer) => void;
  /** Standard input for `explain --password-stdin` (default: process.stdin). */
  readonly stdin?: Readable;
  /** The terminal `explain` prompts on for a password (default: /dev/tty when there is one). */
  readonly openTerminal?: TerminalOpener;
}

/** `--port`: a TCP port number, checked before anything is written (a usage error, exit 2). */
function parsePort(value: string): string {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new InvalidArgumentError('expected a port number from 1 to 65535');
  }
  return value;
}

/** `--workers`: how many processes serve (at least 1). */
function parseWorkers(value: string): number {
  if (!/^[0-9]{1,4}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a number of worker processes, at least 1');
  return Number(value);
}

/** `-D NAME` defines NAME for `<IfDefine>` (as httpd -D); `-D NAME=value` also gives `${NAME}` a value. */
function collectDefine(value: string, previous: Map<string, string | undefined>): Map<string, string | undefined> {
  const eq = value.indexOf('=');
  previous.set(eq < 0 ? value : value.slice(0, eq), eq < 0 ? undefined : value.slice(eq + 1));
  return previous;
}

/** `--header` may be given many times. */
function collectHeader(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The `authts` command: `serve`, `check`, `explain`, `demo`. Returns the exit code; never calls
 * `process.exit` (the entry file does).
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('authts')
    .description("Apache httpd's access, authn and authz phases for Node.js")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  const defineOption = () =>
    new Option('-D, --define <NAME[=value]>', 'define a name for <IfDefine> and ${NAME}, as httpd -D').argParser(collectDefine).default(new Map());
  const moduleOption = () =>
    new Option('-m, --module <file>', 'load authts modules from a file that exports "modules" or a default module (repeatable)')
      .argParser((value: string, previous: string[]) => [...previous, value])
      .default([]);

  program
    .command('check')
    .description('check a configuration, as apachectl configtest')
    .requiredOption('-f, --config <file>', 'the configuration file')
    .addOption(defineOption())
    .addOption(moduleOption())
    .action(async (opts: { config: string; define: Map<string, string | undefined>; module: string[] }) => {
      exitCode = await check({ file: opts.config, defines: opts.define, moduleFiles: opts.module }, io);
    });

  program
    .command('serve')
    .description('serve the DocumentRoot under the configuration (SIGHUP reloads, SIGTERM drains and exits)')
    .requiredOption('-f, --config <file>', 'the configuration file')
    .addOption(defineOption())
    .addOption(moduleOption())
    .option('-w, --workers <n>', 'worker processes sharing the Listen ports (default: one per core; 1: no worker processes)', parseWorkers)
    .action(async (opts: { config: string; define: Map<string, string | undefined>; module: string[]; workers?: number }) => {
      const target: ServeTarget = { file: opts.config, defines: opts.define, moduleFiles: opts.module };
      const workers = opts.workers ?? availableParallelism();
      if (workers === 1) {
        exitCode = await serve(target, io);
        return;
      }
      const logger = createLogger({ destination: { write: (s: string) => io.stderr.write(s) } });
      exitCode = await serveCluster({ target, workers, workersChosen: opts.workers !== undefined, logger, io });
    });

  program
    .command('explain')
    .description('decide one request as authts serve would and show how: sections, Require tree, provider answers, status (starts no server)')
    .requiredOption('-f, --config <file>', 'the configuration file')
    .addOption(defineOption())
    .addOption(moduleOption())
    .option('--user <name>', 'send Basic credentials for this user (password from --password-stdin, or a prompt)')
    .option('--password <password>', 'the Basic password (visible to other users in the process list: prefer --password-stdin)')
    .option('--password-stdin', 'read the Basic password from standard input (one trailing newline removed)')
    .option('--token <token>', 'send "Authorization: Bearer <token>"')
    .option('--header <"Name: value">', 'send a request header (repeatable)', collectHeader, [])
    .option('--ip <address>', 'the client address', '127.0.0.1')
    .option('--tls', 'the request arrives over TLS (also implied by an https:// URL)')
    .option('--json', 'print the report as JSON (shape: docs/explain.md)')
    .argument('<method>', 'the HTTP method, e.g. GET')
    .argument('<url>', 'a path (/staff/) or an http(s) URL; sent as given, without resolving dot segments')
    .action(async (method: string, url: string, opts: ExplainOptions) => {
      exitCode = await explainCommand(method, url, opts, {
        stdout: io.stdout,
        stderr: io.stderr,
        stdin: () => io.stdin ?? process.stdin,
        openTerminal: io.openTerminal ?? openControllingTerminal,
        cwd: process.cwd(),
      });
    });

  program
    .command('demo')
    .description('write a small demo site (/private/ protected by an htpasswd file and SQLite) to a temp directory and serve it')
    .option('-p, --port <port>', 'port on 127.0.0.1', parsePort, '8080')
    .option('--dir <dir>', 'where to write the demo site (default: a new temp directory)')
    .action(async (opts: { port: string; dir?: string }) => {
      const site = await createDemoSite({ port: Number(opts.port), ...(opts.dir ? { dir: opts.dir } : {}) });
      io.stdout.write(
        `authts demo: http://127.0.0.1:${opts.port}/ (public) and http://127.0.0.1:${opts.port}/private/ ` +
          `(user "${site.user}", password "${site.password}")\n` +
          `SQLite users too (${site.database}, no server needed): user "${site.sqlUser}", password "${site.sqlPassword}" (also admin)\n` +
          `configuration: ${site.configFile}\n`,
      );
      exitCode = await serve({ file: site.configFile, defines: new Map(), moduleFiles: [] }, io);
    });

  // Listed for --help; the entry file (authts.ts) runs them before commander sees argv.
  program.command('htpasswd').description("manage htpasswd files, as Apache's htpasswd (authts htpasswd --help)");
  program.command('htdigest').description("manage htdigest files, as Apache's htdigest (authts htdigest --help)");

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return exitCode;
}

/** What `authts check` and `authts serve` load: the configuration file, defines and module files. */
export interface ServeTarget {
  readonly file: string;
  readonly defines: ReadonlyMap<string, string | undefined>;
  /** `--module` files, relative to the working directory. */
  readonly moduleFiles: readonly string[];
}

async function check({ file, defines, moduleFiles }: ServeTarget, io: CliIo): Promise<number> {
  try {
    const modules = [...builtinModules(), ...(await loadModuleFiles(moduleFiles))];
    const config = await loadConfig({ file, defines, modules });
    for (const w of config.warnings) io.stderr.write(`${w.file}:${w.line}: warning: ${w.message}\n`);
    await config.close();
    io.stdout.write('Syntax OK\n');
    return 0;
  } catch (err) {
    if (err instanceof ConfigErrors) {
      for (const e of err.errors) io.stderr.write(`${e.toString()}\n`);
      io.stderr.write(`${err.errors.length} error${err.errors.length === 1 ? '' : 's'} in ${file}\n`);
      return 1;
    }
    io.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

/** Prints why `authts serve` did not start (every configuration error with file:line); exit code 1. */
export function notStarted(err: unknown, io: CliIo): 1 {
  if (err instanceof ConfigErrors) {
    for (const e of err.errors) io.stderr.write(`${e.toString()}\n`);
    io.stderr.write('authts serve: configuration errors, not started\n');
  } else {
    io.stderr.write(`authts serve: ${(err as Error).message}\n`);
  }
  return 1;
}

/**
 * Runs `authts serve` in this process until SIGTERM/SIGINT has drained it; returns the exit
 * code. `bindings` go on every log line (a worker's number).
 */
export async function serve({ file, defines, moduleFiles }: ServeTarget, io: CliIo, bindings?: Record<string, unknown>): Promise<number> {
  const root = createLogger({ destination: { write: (s: string) => io.stderr.write(s) } });
  const logger = bindings ? root.child(bindings) : root;
  let server: RunningServer;
  try {
    const modules = await loadModuleFiles(moduleFiles);
    server = await startServer({ configFile: file, defines, logger, modules });
  } catch (err) {
    return notStarted(err, io);
  }
  io.onListening?.(server);
  const onSignal = io.onSignal ?? processSignal;
  await new Promise<void>((resolve) => {
    const offs = [
      onSignal('SIGHUP', () => {
        // reload() reports configuration errors itself and keeps the old configuration; anything
        // else it throws must not become an unhandled rejection that kills a serving process.
        server.reload().catch((err: unknown) => logger.error({ err }, 'reload failed: the previous configuration keeps serving'));
      }),
      onSignal('SIGTERM', stop),
      onSignal('SIGINT', stop),
    ];
    let stopping = false;
    function stop(): void {
      if (stopping) return;
      stopping = true;
      for (const off of offs) off();
      logger.info('draining requests in flight, then exiting');
      server.close().then(resolve, (err: unknown) => {
        logger.error({ err }, 'error while closing');
        resolve();
      });
    }
  });
  return 0;
}

function processSignal(signal: NodeJS.Signals, listener: () => void): () => void {
  process.on(signal, listener);
  return () => process.off(signal, listener);
}
