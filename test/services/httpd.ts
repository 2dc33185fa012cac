/**
 * A private Apache httpd 2.4 (Debian's `apache2`) for conformance tests: every expected answer
 * in a conformance table is checked against the real server started here.
 *
 * Each instance lives in one `mkdtemp` directory (config, pid file, logs, runtime files, default
 * DocumentRoot), listens on `127.0.0.1:<free port>` and runs as a child process in the
 * foreground (`apache2 -D FOREGROUND`), so the PID we hold is the httpd parent process itself.
 * Nothing under /etc/apache2 or /var is read or written. See test/services/README.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { forgetProcess, killOnExit, removeOnExit } from './exit-cleanup.js';
import { canConnect, freePort, settlesWithin, sleep } from './net.js';

/** The httpd binary; override with `AUTHTS_HTTPD_BIN`. */
export const HTTPD_BIN = process.env['AUTHTS_HTTPD_BIN'] ?? '/usr/sbin/apache2';

/** Where Debian keeps the loadable modules; override with `AUTHTS_HTTPD_MODULES_DIR`. */
export const HTTPD_MODULES_DIR =
  process.env['AUTHTS_HTTPD_MODULES_DIR'] ?? '/usr/lib/apache2/modules';

/**
 * Modules every instance loads (short names: `auth_basic` means
 * `LoadModule auth_basic_module <dir>/mod_auth_basic.so`). `log_config`, `unixd`, `so`, `logio`,
 * `version` and `watchdog` are compiled into Debian's binary and are never loaded.
 */
export const BASE_MODULES: readonly string[] = Object.freeze([
  'authn_core',
  'authn_file',
  'auth_basic',
  'authz_core',
  'authz_user',
  'authz_groupfile',
  'authz_host',
  'access_compat',
  'mime',
  'dir',
  'alias',
  'env',
  'setenvif',
]);

const BUILT_IN_MODULES = new Set(['core', 'so', 'watchdog', 'http', 'log_config', 'logio', 'version', 'unixd']);
const DEFAULT_MPM = 'mpm_event';
const START_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 5;

/** Options of {@link startHttpd} and {@link httpdConfigTest}. */
export interface HttpdOptions {
  /**
   * The auth part of the configuration, as a user would write it: sections and directives.
   * It is written to `<dir>/auth.conf` and `Include`d at the end of `<dir>/httpd.conf`, so the
   * line numbers httpd reports for it are the lines of this text. It may use
   * `${AUTHTS_HTTPD_DIR}` (the instance directory) and `${AUTHTS_DOCROOT}` (the DocumentRoot),
   * which the generated httpd.conf `Define`s.
   */
  readonly config: string;
  /** The DocumentRoot (default: `<dir>/htdocs`, created empty). Must be readable by the run user. */
  readonly documentRoot?: string;
  /**
   * Extra modules to load, by short name (`auth_digest`), file name (`mod_auth_digest`) or
   * module name (`auth_digest_module`). An `mpm_*` entry replaces the default `mpm_event`.
   * Dependencies are not resolved: `authnz_ldap` needs `ldap` listed too.
   */
  readonly modules?: readonly string[];
  /**
   * Files to create inside the instance directory before httpd reads its config, keyed by a
   * relative path (`htdocs/private/a.txt`, `users.htpasswd`); parents are created. Files are
   * mode 0644 and directories 0755 so httpd's unprivileged children can read them.
   */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
}

/** A running private httpd started by {@link startHttpd}. */
export interface HttpdInstance {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  /** The instance's temporary directory (ServerRoot); removed by {@link HttpdInstance.stop}. */
  readonly dir: string;
  /** The DocumentRoot in effect. */
  readonly documentRoot: string;
  /** PID of the httpd parent process (the only process we signal). */
  readonly pid: number;
  /** The error log so far (after `stop()`, the final error log). */
  errorLog(): Promise<string>;
  /**
   * The access log so far, one line per request in the format `%h "%u" "%r" %>s` (remote host,
   * user, request line, final status). httpd writes a line after the response is sent, so a
   * line may lag the response it describes by a few milliseconds.
   */
  accessLog(): Promise<string>;
  /** SIGTERM to {@link HttpdInstance.pid}, wait for it to exit (bounded), remove `dir`. Idempotent. */
  stop(): Promise<void>;
}

/** Result of {@link httpdConfigTest}. */
export interface HttpdConfigTestResult {
  /** True when `apache2 -t` exited 0 ("Syntax OK"). */
  readonly ok: boolean;
  /** stdout and stderr of `apache2 -t`; errors name `line N of <dir>/auth.conf`. */
  readonly output: string;
}

interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The uid/gid httpd's children switch to when started as root (httpd refuses to serve as root):
 * Debian's `www-data`, else `nobody`. Undefined when not root (no switch happens then).
 */
function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // fall through to nobody
  }
  for (const name of ['www-data', 'nobody']) {
    const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`));
    const fields = line?.split(':');
    if (fields && fields[2] !== undefined && fields[3] !== undefined) {
      return { uid: Number(fields[2]), gid: Number(fields[3]) };
    }
  }
  return { uid: 65534, gid: 65534 };
}

/** `auth_digest`, `mod_auth_digest`, `mod_auth_digest.so`, `auth_digest_module` → `auth_digest`. */
function shortModuleName(name: string): string {
  const short = name
    .trim()
    .replace(/\.so$/, '')
    .replace(/^mod_/, '')
    .replace(/_module$/, '');
  if (!/^[a-z0-9_]+$/.test(short)) throw new TypeError(`modules: bad module name ${JSON.stringify(name)}`);
  return short;
}

function moduleList(extra: readonly string[] | undefined): string[] {
  const extras = (extra ?? []).map(shortModuleName);
  const mpm = extras.filter((m) => m.startsWith('mpm_'));
  if (mpm.length > 1) throw new TypeError(`modules: more than one MPM (${mpm.join(', ')})`);
  const all = [mpm[0] ?? DEFAULT_MPM, ...BASE_MODULES, ...extras.filter((m) => !m.startsWith('mpm_'))];
  return [...new Set(all)].filter((m) => !BUILT_IN_MODULES.has(m));
}

function quote(path: string): string {
  if (/["\n\r]/.test(path)) throw new TypeError(`path not usable in httpd.conf: ${JSON.stringify(path)}`);
  return `"${path}"`;
}

interface ConfParts {
  readonly dir: string;
  readonly port: number;
  readonly documentRoot: string;
  readonly modules: readonly string[];
  readonly runAs: RunAs | undefined;
}

/** The generated httpd.conf; the user's config is `Include`d from `auth.conf` at the end. */
function httpdConf(p: ConfParts): string {
  const lines = [
    '# generated by test/services/httpd.ts',
    `ServerRoot ${quote(p.dir)}`,
    `Define AUTHTS_HTTPD_DIR ${quote(p.dir)}`,
    `Define AUTHTS_DOCROOT ${quote(p.documentRoot)}`,
    `Listen 127.0.0.1:${p.port}`,
    'ServerName 127.0.0.1',
    `PidFile ${quote(join(p.dir, 'httpd.pid'))}`,
    // Named shared memory and socache files (auth_digest, socache_shmcb) go here.
    `DefaultRuntimeDir ${quote(p.dir)}`,
    // As Debian's apache2.conf: lock files of file-based mutexes in our directory.
    `Mutex file:${p.dir} default`,
    `ErrorLog ${quote(join(p.dir, 'error.log'))}`,
    'LogLevel warn authz_core:debug auth_basic:debug',
    `CustomLog ${quote(join(p.dir, 'access.log'))} "%h \\"%u\\" \\"%r\\" %>s"`,
    ...(p.runAs ? [`User #${p.runAs.uid}`, `Group #${p.runAs.gid}`] : []),
    ...p.modules.map((m) => `LoadModule ${m}_module ${quote(join(HTTPD_MODULES_DIR, `mod_${m}.so`))}`),
    // One small child keeps start-up fast; enough threads for parallel test requests.
    ...['mpm_event_module', 'mpm_worker_module'].flatMap((mpm) => [
      `<IfModule ${mpm}>`,
      '  StartServers 1',
      '  ServerLimit 2',
      '  ThreadLimit 16',
      '  ThreadsPerChild 16',
      '  MaxRequestWorkers 32',
      '  MinSpareThreads 1',
      '  MaxSpareThreads 32',
      '</IfModule>',
    ]),
    '<IfModule mpm_prefork_module>',
    '  StartServers 2',
    '  MinSpareServers 1',
    '  MaxSpareServers 4',
    '  MaxRequestWorkers 16',
    '</IfModule>',
    'TypesConfig /etc/mime.types',
    `DocumentRoot ${quote(p.documentRoot)}`,
    // Debian's build reads .htaccess files unless told not to (it answered 500 for a stray
    // .htaccess with Require in it). A config that tests .htaccess sets its own AllowOverride.
    '<Directory />',
    '  AllowOverride None',
    '</Directory>',
    '<IfModule dir_module>',
    '  DirectoryIndex index.html',
    '</IfModule>',
    `Include ${quote(join(p.dir, 'auth.conf'))}`,
    '',
  ];
  return lines.join('\n');
}

async function writeFiles(dir: string, files: HttpdOptions['files']): Promise<void> {
  for (const [rel, content] of Object.entries(files ?? {})) {
    const target = normalize(join(dir, rel));
    if (isAbsolute(rel) || !target.startsWith(dir + '/')) {
      throw new TypeError(`files: path must be relative and stay inside the instance dir: ${rel}`);
    }
    // mkdir -p, then open up every directory between dir and the file for the run user.
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    for (let d = dirname(target); d.startsWith(dir + '/'); d = dirname(d)) await chmod(d, 0o755);
    await writeFile(target, content, { mode: 0o644 });
    await chmod(target, 0o644); // the umask may have narrowed the create mode
  }
}

/**
 * Fails early, with the fix in the message, when httpd's run user could not reach `path`
 * (typically a `mkdtemp` directory, 0700, on the way): httpd would answer 403 for everything.
 */
async function assertTraversable(path: string, user: RunAs | undefined): Promise<void> {
  if (!user) return;
  for (let d = path; ; d = dirname(d)) {
    const st = await stat(d);
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) {
      throw new Error(`options.documentRoot: ${d} is not searchable by uid ${user.uid} (httpd's User); chmod 755 it`);
    }
    if (d === dirname(d)) return;
  }
}

/**
 * Creates the instance directory with httpd.conf, auth.conf, the default DocumentRoot and the
 * requested files, all readable by httpd's unprivileged children.
 */
async function prepareDir(options: HttpdOptions, prefix: string): Promise<{ dir: string; documentRoot: string }> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  if (typeof options.config !== 'string') throw new TypeError('options.config: expected a string');
  // mkdtemp makes 0700 directories; httpd's children (www-data when we are root) must traverse.
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    await chmod(dir, 0o755);
    const documentRoot = options.documentRoot ?? join(dir, 'htdocs');
    if (options.documentRoot === undefined) await mkdir(documentRoot, { mode: 0o755 });
    else if (!isAbsolute(documentRoot)) throw new TypeError('options.documentRoot: expected an absolute path');
    else await assertTraversable(documentRoot, runAs());
    await writeFiles(dir, options.files);
    const config = options.config.endsWith('\n') ? options.config : `${options.config}\n`;
    await writeFile(join(dir, 'auth.conf'), config, { mode: 0o644 });
    return { dir, documentRoot };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}





async function readIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** Resolves when `child` has exited (immediately if it already has). */
function exited(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function terminate(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const done = exited(child);
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(pid, 'SIGTERM'); // httpd: stop children, remove pid file, exit
    } catch {
      // already gone
    }
  }
  if (!(await settlesWithin(done, STOP_TIMEOUT_MS))) {
    // The parent hung: kill its process group (spawned detached, so the group is exactly this
    // httpd and the children it forked) and wait for the exit event.
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await settlesWithin(done, STOP_TIMEOUT_MS);
  }
  forgetProcess(pid);
}

interface Attempt {
  readonly child: ChildProcess;
  readonly output: () => string;
}

function spawnHttpd(conf: string): Attempt {
  let output = '';
  const child = spawn(HTTPD_BIN, ['-f', conf, '-D', 'FOREGROUND'], {
    // Own process group: lets a hung httpd be killed with its children, and keeps terminal
    // signals aimed at the test runner from reaching it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LANG: 'C' },
  });
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.on('error', (e) => (output += `spawn ${HTTPD_BIN}: ${e.message}\n`));
  return { child, output: () => output };
}

/**
 * Waits until httpd has written its pid file (it does so only after binding the port) and the
 * port accepts connections. `'exited'` if the process died first, `'timeout'` otherwise.
 */
async function waitReady(a: Attempt, dir: string, port: number): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone = false;
  void exited(a.child).then(() => (gone = true));
  const pidFile = join(dir, 'httpd.pid');
  while (Date.now() < deadline) {
    if (gone || a.child.pid === undefined) return 'exited';
    const pid = (await readIfExists(pidFile)).trim();
    if (pid === String(a.child.pid) && (await canConnect(port))) return gone ? 'exited' : 'ready';
    await sleep(25);
  }
  return 'timeout';
}

/**
 * Starts a private httpd with `options.config` appended to a generated httpd.conf and waits
 * (at most ~5 s) until it accepts connections. Retries with another port when the chosen one
 * was taken in the meantime. Always pair with `stop()` (in `afterAll`, even on failure).
 *
 * @example
 * ```ts
 * const httpd = await startHttpd({
 *   config: `<Directory "\${AUTHTS_DOCROOT}/private">
 *     AuthType Basic
 *     AuthName "Private area"
 *     AuthUserFile "\${AUTHTS_HTTPD_DIR}/users"
 *     Require valid-user
 *   </Directory>`,
 *   files: { users: htpasswdLine, 'htdocs/private/a.txt': 'secret\n' },
 * });
 * try {
 *   const res = await rawRequest(httpd.url, { path: '/private/a.txt' }); // 401
 * } finally {
 *   await httpd.stop();
 * }
 * ```
 * @throws Error with httpd's output and error log when it does not start.
 */
export async function startHttpd(options: HttpdOptions): Promise<HttpdInstance> {
  const modules = moduleList(options.modules);
  const { dir, documentRoot } = await prepareDir(options, 'authts-httpd-');
  const conf = join(dir, 'httpd.conf');
  const user = runAs();
  let lastFailure = '';
  try {
    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
      const port = await freePort();
      await writeFile(conf, httpdConf({ dir, port, documentRoot, modules, runAs: user }), { mode: 0o644 });
      await rm(join(dir, 'error.log'), { force: true });
      const a = spawnHttpd(conf);
      if (a.child.pid !== undefined) killOnExit(a.child.pid);
      if (process.env['AUTHTS_KEEP_HTTPD_DIR'] !== '1') removeOnExit(dir);
      const state = await waitReady(a, dir, port);
      if (state === 'ready' && a.child.pid !== undefined) {
        return instance(a.child, a.child.pid, dir, port, documentRoot);
      }
      await terminate(a.child);
      const errorLog = await readIfExists(join(dir, 'error.log'));
      lastFailure =
        `httpd ${state === 'timeout' ? `not ready after ${START_TIMEOUT_MS} ms` : `exited (code ${String(a.child.exitCode)})`}` +
        ` on port ${port}\n--- output ---\n${a.output()}--- ${join(dir, 'error.log')} ---\n${errorLog}`;
      // Only a lost port race is worth another try; anything else is the config's fault.
      if (!/Address already in use/.test(a.output() + errorLog)) break;
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`startHttpd: ${lastFailure}`);
}

function instance(child: ChildProcess, pid: number, dir: string, port: number, documentRoot: string): HttpdInstance {
  let stopping: Promise<void> | undefined;
  let finalErrorLog: string | undefined;
  let finalAccessLog: string | undefined;
  const keep = process.env['AUTHTS_KEEP_HTTPD_DIR'] === '1';
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    documentRoot,
    pid,
    errorLog: async () => finalErrorLog ?? readIfExists(join(dir, 'error.log')),
    accessLog: async () => finalAccessLog ?? readIfExists(join(dir, 'access.log')),
    stop() {
      stopping ??= (async () => {
        await terminate(child);
        finalErrorLog = await readIfExists(join(dir, 'error.log'));
        finalAccessLog = await readIfExists(join(dir, 'access.log'));
        if (!keep) await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/**
 * Runs `apache2 -t` on the httpd.conf {@link startHttpd} would generate for `config`: tells
 * whether httpd itself rejects a configuration. Errors in `config` are reported by httpd as
 * `Syntax error on line N of <dir>/auth.conf`, N being the line in `config`.
 *
 * Note that `-t` checks syntax and load-time checks only: a missing AuthUserFile, for example,
 * is found at request time (500), not here.
 *
 * @example
 * ```ts
 * const { ok, output } = await httpdConfigTest('AuthType Bogus\n');
 * // ok === false, output includes 'line 1 of'
 * ```
 */
export async function httpdConfigTest(
  config: string,
  options: Omit<HttpdOptions, 'config'> = {},
): Promise<HttpdConfigTestResult> {
  const modules = moduleList(options.modules);
  const { dir, documentRoot } = await prepareDir({ ...options, config }, 'authts-httpd-t-');
  try {
    const conf = join(dir, 'httpd.conf');
    // -t never binds, so any port will do.
    await writeFile(conf, httpdConf({ dir, port: 8, documentRoot, modules, runAs: runAs() }), { mode: 0o644 });
    const child = spawn(HTTPD_BIN, ['-t', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LANG: 'C' } });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    const result = await new Promise<Exit>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    return { ok: result.code === 0, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** True when the httpd binary and its module directory exist (to skip suites where they don't). */
export function httpdAvailable(): boolean {
  return existsSync(HTTPD_BIN) && existsSync(join(HTTPD_MODULES_DIR, 'mod_auth_basic.so'));
}
