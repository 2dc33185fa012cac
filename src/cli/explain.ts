/**
 * `authts explain -f site.conf [--user U [--password P | --password-stdin] | --token T]
 * [--header 'Name: value']… [--ip A] [--tls] [--json] METHOD URL`: the command-line side of
 * ../explain/explain.ts. Turns the options into the request a client would send, loads the
 * configuration, prints the report and closes the configuration (its pools) again.
 *
 * Exit codes: 0 the request would be allowed, 1 it would be refused (any 4xx/5xx), 2 a usage or
 * configuration error (configuration errors print `file:line: …` as `authts check` does).
 */
import { isIP } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { loadConfig } from '../config/load.js';
import { ConfigErrors } from '../errors.js';
import { explainRequest, hidden, type CredentialsShown } from '../explain/explain.js';
import { formatReport } from '../explain/format.js';
import { builtinModules } from '../modules.js';
import { PasswordInput, type TerminalOpener } from './getpass.js';
import { loadModuleFiles } from './module-files.js';

/** The options commander hands over. */
export interface ExplainOptions {
  readonly config: string;
  readonly define: ReadonlyMap<string, string | undefined>;
  /** `--module` files (user modules), relative to the working directory. */
  readonly module?: readonly string[];
  readonly user?: string;
  readonly password?: string;
  readonly passwordStdin?: boolean;
  readonly token?: string;
  readonly header: readonly string[];
  readonly ip: string;
  readonly tls?: boolean;
  readonly json?: boolean;
}

/** Where explain reads a password from and writes to. */
export interface ExplainIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Standard input, asked for only when a password is read (`--password-stdin`, or a prompt without a terminal). */
  readonly stdin: () => Readable;
  readonly openTerminal: TerminalOpener;
  /** Shown file names are relative to this directory when below it. */
  readonly cwd: string;
}

/** A usage error: its message goes to stderr and the exit code is 2. */
class UsageError extends Error {}

/** RFC 9110 `token`: what a method and a header name are made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Longest password or token read from standard input or a prompt. */
const SECRET_LIMIT = 64 * 1024;

/**
 * The request-target as a client would put it on the wire: a path is sent as given (no dot
 * segment is resolved, as `curl --path-as-is`); of an `http(s)://host/path` URL only the path
 * and query are sent, the host becomes the `Host` header and `https` means TLS. Characters
 * outside ASCII are sent as their UTF-8 bytes (one character per byte, as node:http gives
 * `req.url`).
 */
export function wireTarget(url: string): { target: string; host: string | undefined; tls: boolean } {
  const absolute = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([\s\S]*)$/.exec(url);
  let target = url;
  let host: string | undefined;
  let tls = false;
  if (absolute) {
    const scheme = absolute[1]!.toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') throw new UsageError(`URL scheme ${scheme}: give a path or an http(s) URL`);
    if (absolute[2]!.includes('@')) throw new UsageError('the URL carries a user name or password: use --user (and --password-stdin) instead');
    host = absolute[2]!;
    tls = scheme === 'https';
    const rest = absolute[3]!;
    target = rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
  }
  return { target: Buffer.from(target, 'utf8').toString('latin1'), host, tls };
}

/** `Name: value` → [lower-case name, value]; names must be tokens, values one line. */
function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon < 0 ? '' : text.slice(0, colon).trim();
  if (!TOKEN.test(name)) throw new UsageError(`--header ${JSON.stringify(text)}: expected "Name: value"`);
  const value = text.slice(colon + 1).trim();
  if (/[\0\r\n]/.test(value)) throw new UsageError(`--header ${name}: the value must be one line`);
  return [name.toLowerCase(), Buffer.from(value, 'utf8').toString('latin1')];
}

/** Reads the password (or token) bytes from where the options say; a prompt when none is given. */
async function readPassword(options: ExplainOptions, passwordInput: () => PasswordInput): Promise<Buffer> {
  if (options.password !== undefined) return Buffer.from(options.password, 'utf8');
  const input = passwordInput();
  if (options.passwordStdin) {
    const bytes = await input.readAll(SECRET_LIMIT);
    if (bytes === undefined) throw new UsageError('--password-stdin: the password is too long');
    return bytes;
  }
  const answer = await input.prompt(`Password for ${options.user ?? ''}: `);
  if (answer.kind === 'interrupted') throw new UsageError('interrupted');
  return answer.bytes;
}

/**
 * Replaces every occurrence of a secret in `text` by `(hidden)`: a second line of defence
 * behind the report's own rule of never holding one. Secrets shorter than 4 characters are
 * left to that rule (hiding every `a` of the output would hide nothing).
 */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('(hidden)');
  return out;
}

/**
 * Runs `authts explain` and returns its exit code: 0 allowed, 1 refused, 2 usage or
 * configuration error.
 *
 * @example
 * ```ts
 * const code = await explainCommand('GET', '/staff/', { config: 'site.conf', define: new Map(), header: [], ip: '127.0.0.1' }, io);
 * ```
 */
export async function explainCommand(method: string, url: string, options: ExplainOptions, io: ExplainIo): Promise<number> {
  let opened: PasswordInput | undefined;
  const passwordInput = (): PasswordInput => (opened ??= new PasswordInput(io.stdin(), io.stderr, io.openTerminal));
  const secrets: string[] = [];
  try {
    if (!TOKEN.test(method)) throw new UsageError(`${JSON.stringify(method)} is not an HTTP method`);
    if (isIP(options.ip) === 0) throw new UsageError(`--ip ${options.ip}: expected an IPv4 or IPv6 address`);
    if (options.token !== undefined && options.user !== undefined) throw new UsageError('give --user or --token, not both');
    if ((options.password !== undefined || options.passwordStdin) && options.user === undefined) {
      throw new UsageError('--password and --password-stdin need --user');
    }
    if (options.password !== undefined && options.passwordStdin) throw new UsageError('give --password or --password-stdin, not both');
    const wire = wireTarget(url);
    const headers: Record<string, string[]> = {};
    if (wire.host !== undefined && wire.host !== '') headers['host'] = [wire.host];
    const given = new Set<string>();
    for (const text of options.header) {
      const [name, value] = parseHeader(text);
      if (name === 'host' && !given.has('host')) delete headers['host'];
      given.add(name);
      (headers[name] ??= []).push(value);
      if (name === 'authorization' || name === 'proxy-authorization') secrets.push(value);
    }
    if ((options.user !== undefined || options.token !== undefined) && headers['authorization'] !== undefined) {
      throw new UsageError('--header Authorization cannot be combined with --user or --token');
    }

    let credentials: CredentialsShown | null = null;
    if (options.user !== undefined) {
      if (options.user.includes(':')) throw new UsageError('a Basic user name cannot contain ":"');
      const password = await readPassword(options, passwordInput);
      const encoded = Buffer.concat([Buffer.from(`${options.user}:`, 'utf8'), password]).toString('base64');
      headers['authorization'] = [`Basic ${encoded}`];
      credentials = { scheme: 'basic', user: options.user, password: hidden(password) };
      secrets.push(encoded, password.toString('utf8'), password.toString('latin1'));
    } else if (options.token !== undefined) {
      if (/[\0\r\n]/.test(options.token) || options.token === '') throw new UsageError('--token must be one non-empty line');
      headers['authorization'] = [`Bearer ${options.token}`];
      credentials = { scheme: 'bearer', token: hidden(Buffer.from(options.token, 'utf8')) };
      secrets.push(options.token);
    }

    let config;
    try {
      const modules = [...builtinModules(), ...(await loadModuleFiles(options.module ?? [], io.cwd))];
      config = await loadConfig({ file: options.config, defines: options.define, modules });
    } catch (err) {
      if (!(err instanceof ConfigErrors)) throw new UsageError(`${options.config}: ${(err as Error).message}`);
      for (const e of err.errors) io.stderr.write(`${e.toString()}\n`);
      io.stderr.write(`${err.errors.length} error${err.errors.length === 1 ? '' : 's'} in ${options.config}\n`);
      return 2;
    }
    try {
      for (const w of config.warnings) io.stderr.write(`${w.file}:${w.line}: warning: ${w.message}\n`);
      const report = await explainRequest(config, {
        method,
        target: wire.target,
        headers,
        remoteAddress: options.ip,
        localAddress: isIP(options.ip) === 6 ? '::1' : '127.0.0.1',
        tls: options.tls === true || wire.tls,
        credentials,
      });
      const text = options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, io.cwd);
      io.stdout.write(scrub(text, secrets));
      return report.allowed ? 0 : 1;
    } finally {
      await config.close();
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`authts explain: ${scrub(err.message, secrets)}\n`);
    return 2;
  } finally {
    opened?.close();
  }
}
