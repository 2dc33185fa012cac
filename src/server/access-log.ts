/**
 * The access log of `authts serve`, as httpd's mod_log_config: `LogFormat`, `CustomLog`,
 * `TransferLog`, with httpd's format items, its `common` and `combined` formats and its escaping
 * of untrusted text (ap_escape_logitem). Lines go through a buffered, non-blocking writer
 * (sonic-boom, pino's destination) and are flushed when the configuration is closed.
 *
 * Files are opened by `authts serve` when it starts or reloads a configuration, never by
 * `authts check` or `loadConfig`: a reload (SIGHUP) opens them again, which is how a rotated log
 * file is let go (as httpd's graceful restart).
 */
import { openSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pino } from 'pino';
import type { Config } from '../config/config.js';
import { ConfigError, ConfigErrors, type SourceLocation } from '../errors.js';
import type { DirectiveContext, Module } from '../module.js';

/** httpd's Common Log Format, its default when no format is named. */
export const COMMON_LOG_FORMAT = '%h %l %u %t "%r" %>s %b';
/** httpd's `combined` format as its own httpd.conf defines it. */
export const COMBINED_LOG_FORMAT = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"';

/** The nicknames every httpd.conf defines, defined here before any `LogFormat`. */
const PREDEFINED_FORMATS: ReadonlyMap<string, string> = new Map([
  ['common', COMMON_LOG_FORMAT],
  ['combined', COMBINED_LOG_FORMAT],
  ['referer', '%{Referer}i -> %U'],
  ['agent', '%{User-agent}i'],
]);

/** One `CustomLog` / `TransferLog` line, as written (the format is resolved when logs open). */
export interface LogTarget {
  /** `stdout`, `stderr`, or an absolute file path. */
  readonly destination: string;
  /** A nickname or a format string; `undefined` for `TransferLog` (the default format). */
  readonly format: string | undefined;
  readonly where: SourceLocation;
  readonly directive: string;
}

/** Server-wide settings of the `log_config` module. */
export interface LogConfigServerSettings {
  /** `LogFormat format nickname` lines, by lower-cased nickname. */
  readonly formats: Map<string, { format: string; where: SourceLocation }>;
  /** The format of `TransferLog` (`LogFormat format` without a nickname). */
  defaultFormat: string | undefined;
  readonly targets: LogTarget[];
}

/** What a log line reads of a request: a parsed one, or the stand-in of one that could not be. */
export type LoggedRequest = Pick<IncomingMessage, 'method' | 'url' | 'httpVersion' | 'headers' | 'socket'>;

/** What a log line reads of the answer. */
export type LoggedResponse = Pick<ServerResponse, 'statusCode' | 'getHeader'>;

/** What one request contributes to a log line; filled by `authts serve`. */
export interface AccessRecord {
  readonly req: LoggedRequest;
  readonly res: LoggedResponse;
  /**
   * The request line as received, for a request node:http could not parse (`%r`); its method,
   * target and version are then unknown (`%m`, `%U`, `%q`, `%H` log `-`).
   */
  readonly rawRequestLine?: string;
  /** When the request arrived (ms since the epoch), for `%t`. */
  readonly startedAt: number;
  /** `performance.now()` when it arrived, for `%D` and `%T`. */
  readonly startedPerf: number;
  /** The user the phases left (`%u`): authenticated, or for a refused Basic login the one claimed. */
  readonly user: string | undefined;
  /** Bytes of the response body sent (`%b`, `%B`). */
  readonly bodyBytes: number;
}

/** pino's buffered writer (sonic-boom). */
type Destination = ReturnType<typeof pino.destination>;

type Piece = string | ((r: AccessRecord) => string);

/** A parsed log format: turns an {@link AccessRecord} into one line (without the newline). */
export type LineFormatter = (record: AccessRecord) => string;

const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/**
 * httpd's `ap_escape_logitem`: `"` and `\` get a backslash; `\b \n \r \t \v` their C escapes;
 * every other byte outside printable ASCII is `\xhh`. `bytes` tells how `text` maps to bytes:
 * node:http gives the request line and headers as latin1 (one char per byte), a user name is
 * UTF-8.
 */
export function escapeLogItem(text: string, bytes: 'latin1' | 'utf8' = 'latin1'): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, bytes)) {
    if (byte >= 0x20 && byte <= 0x7e) {
      out += byte === 0x22 ? '\\"' : byte === 0x5c ? '\\\\' : String.fromCharCode(byte);
      continue;
    }
    switch (byte) {
      case 0x08: out += '\\b'; break;
      case 0x0a: out += '\\n'; break;
      case 0x0d: out += '\\r'; break;
      case 0x09: out += '\\t'; break;
      case 0x0b: out += '\\v'; break;
      default: out += `\\x${byte.toString(16).padStart(2, '0')}`;
    }
  }
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** `%t`: `[10/Oct/2000:13:55:36 -0700]` in local time, as httpd writes it. */
export function clfTime(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `[${two(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}]`;
}

function header(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

function plain(address: string | undefined): string {
  if (address === undefined || address === '') return '-';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

const TOKEN_PARAM = /([?&]access_token=)[^&#]*/g;
/** As {@link TOKEN_PARAM}, in a whole request line: the token ends at a space too. */
const TOKEN_PARAM_IN_LINE = /([?&]access_token=)[^&#\s]*/g;

/** {@link redactTarget} for a request line as received (`GET /x?access_token=… HTTP/1.1`). */
function redactRequestLine(line: string): string {
  return line.includes('access_token=') ? line.replace(TOKEN_PARAM_IN_LINE, '$1[redacted]') : line;
}

/**
 * The request target with the value of an RFC 6750 `access_token` query parameter replaced by
 * `[redacted]` (httpd would log it as sent; authts never writes a token).
 */
export function redactTarget(url: string): string {
  return url.includes('access_token=') ? url.replace(TOKEN_PARAM, '$1[redacted]') : url;
}

/** Request headers that carry credentials: a format naming them is refused at load. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The item for `%<name>` or `%{arg}<name>`; `undefined` when httpd has no such item here. */
function item(name: string, arg: string | undefined): Piece | undefined {
  switch (name) {
    case 'h':
    case 'a':
      return arg === undefined ? (r) => plain(r.req.socket.remoteAddress) : undefined;
    case 'A':
      return (r) => plain(r.req.socket.localAddress);
    case 'p':
      return arg === undefined || arg === 'canonical' || arg === 'local' ? (r) => String(r.req.socket.localPort ?? '-') : arg === 'remote' ? (r) => String(r.req.socket.remotePort ?? '-') : undefined;
    case 'l':
      return '-';
    case 'u':
      // httpd: no user → "-", an empty user → "" (so that the field is never missing).
      return (r) => (r.user === undefined ? '-' : r.user === '' ? '""' : escapeLogItem(r.user, 'utf8'));
    case 't':
      return arg === undefined ? (r) => clfTime(r.startedAt) : undefined;
    case 'r':
      return (r) =>
        r.rawRequestLine !== undefined
          ? escapeLogItem(redactRequestLine(r.rawRequestLine))
          : escapeLogItem(`${r.req.method ?? ''} ${redactTarget(r.req.url ?? '')} HTTP/${r.req.httpVersion}`);
    case 'm':
      return (r) => (r.rawRequestLine !== undefined ? '-' : escapeLogItem(r.req.method ?? ''));
    case 'U':
      return (r) => (r.rawRequestLine !== undefined ? '-' : escapeLogItem(pathOf(r.req.url ?? '')));
    case 'q':
      return (r) => {
        if (r.rawRequestLine !== undefined) return '';
        const url = r.req.url ?? '';
        const q = url.indexOf('?');
        return q < 0 ? '' : escapeLogItem(redactTarget(url.slice(q)));
      };
    case 'H':
      return (r) => (r.rawRequestLine !== undefined ? '-' : `HTTP/${r.req.httpVersion}`);
    case 's':
      return (r) => String(r.res.statusCode);
    case 'b':
      return (r) => (r.bodyBytes === 0 ? '-' : String(r.bodyBytes));
    case 'B':
      return (r) => String(r.bodyBytes);
    case 'D':
      return (r) => String(Math.round((performance.now() - r.startedPerf) * 1000));
    case 'T':
      return arg === undefined || arg === 's' ? (r) => String(Math.floor((performance.now() - r.startedPerf) / 1000)) : arg === 'ms' ? (r) => String(Math.floor(performance.now() - r.startedPerf)) : arg === 'us' ? (r) => String(Math.round((performance.now() - r.startedPerf) * 1000)) : undefined;
    case 'i': {
      if (arg === undefined) return undefined;
      const key = arg.toLowerCase();
      if (SECRET_HEADERS.has(key)) throw new Error(`%{${arg}}i would write credentials to the log; authts refuses it`);
      return (r) => {
        const value = header(r.req.headers[key]);
        return value === undefined ? '-' : escapeLogItem(value);
      };
    }
    case 'o': {
      if (arg === undefined) return undefined;
      return (r) => {
        const value = header(r.res.getHeader(arg));
        return value === undefined ? '-' : escapeLogItem(value);
      };
    }
    case 'P':
      return String(process.pid);
    default:
      return undefined;
  }
}

/**
 * Parses a format string as mod_log_config's `parse_log_string`. Throws `Error` naming the
 * first item authts does not have (the caller turns it into a config error with file:line).
 *
 * @example
 * ```ts
 * const line = compileLogFormat(COMBINED_LOG_FORMAT);
 * ```
 */
export function compileLogFormat(format: string): LineFormatter {
  const pieces: Piece[] = [];
  let text = '';
  let i = 0;
  while (i < format.length) {
    const c = format[i]!;
    if (c === '\\' && i + 1 < format.length) {
      // httpd turns \n and \t in a format into the characters; other escapes stay as written.
      const next = format[i + 1]!;
      text += next === 'n' ? '\n' : next === 't' ? '\t' : `\\${next}`;
      i += 2;
      continue;
    }
    if (c !== '%') {
      text += c;
      i++;
      continue;
    }
    const m = /^%([<>]?)(?:\{([^}]*)\})?([<>]?)([a-zA-Z%])/.exec(format.slice(i));
    if (!m) throw new Error(`unrecognized LogFormat directive at "${format.slice(i, i + 8)}"`);
    const [whole, , arg, , name] = m;
    if (name === '%') {
      text += '%';
    } else {
      const piece = item(name!, arg);
      if (piece === undefined) throw new Error(`authts has no LogFormat item %${arg === undefined ? '' : `{${arg}}`}${name}`);
      if (typeof piece === 'string') text += piece;
      else {
        if (text) pieces.push(text);
        text = '';
        pieces.push(piece);
      }
    }
    i += whole.length;
  }
  if (text) pieces.push(text);
  return function formatLine(record: AccessRecord): string {
    let line = '';
    for (const piece of pieces) line += typeof piece === 'string' ? piece : piece(record);
    return line;
  };
}

/** An open access log: where it writes and how. */
export interface AccessLog {
  readonly destination: string;
  readonly format: LineFormatter;
  write(record: AccessRecord): void;
}

/** Every access log of one configuration, opened by {@link openAccessLogs}. */
export interface AccessLogs {
  readonly logs: readonly AccessLog[];
  /** Writes one line to each log. Never throws. */
  write(record: AccessRecord): void;
  /**
   * Marks a request whose line is still to come; the returned function ends the mark. `close`
   * waits for every marked request (a response's 'close' event may come after the server has
   * let go of the configuration), at most {@link CLOSE_WAIT_MS}.
   */
  hold(): () => void;
  /** Flushes and closes the files (standard output and error stay open). */
  close(): Promise<void>;
}

function serverPath(ctx: DirectiveContext, value: string): string {
  if (value === 'stdout' || value === 'stderr') return value;
  return isAbsolute(value) ? value : resolvePath(ctx.serverRoot, value);
}

function checkDestination(ctx: DirectiveContext, value: string): void {
  if (value.startsWith('|')) {
    ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name}: piped logs are not supported by authts`, 'log to a file and rotate it with logrotate and SIGHUP (authts reopens the files), or log to stdout');
  }
  if (value.toLowerCase().startsWith('syslog:')) {
    ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name}: syslog is not supported by authts`, 'log to stdout and let the service manager collect it');
  }
}

/** The longest `AccessLogs.close` waits for requests whose line is still to come. */
export const CLOSE_WAIT_MS = 5_000;

/** The logs opened for each configuration (by its server settings), closed by `release`. */
const openLogs = new WeakMap<LogConfigServerSettings, AccessLogs>();

/**
 * The `log_config` module: `LogFormat`, `CustomLog`, `TransferLog` (server config only; httpd
 * also allows them in a virtual host, which authts does not have).
 */
export const logConfig: Module<unknown, LogConfigServerSettings> = {
  name: 'log_config',
  createServerSettings: () => ({ formats: new Map(), defaultFormat: undefined, targets: [] }),
  directives: [
    {
      name: 'LogFormat',
      context: 'server',
      minArgs: 1,
      maxArgs: 2,
      syntax: 'LogFormat format|nickname [nickname]',
      apply(ctx, [format, nickname]) {
        const settings = ctx.server(logConfig);
        if (nickname === undefined) {
          // httpd: a lone nickname that names a format makes that format the default.
          settings.defaultFormat = format!.includes('%') ? format! : (settings.formats.get(format!.toLowerCase())?.format ?? PREDEFINED_FORMATS.get(format!.toLowerCase()) ?? format!);
          checkFormat(ctx, settings.defaultFormat);
          return;
        }
        checkFormat(ctx, format!);
        settings.formats.set(nickname.toLowerCase(), { format: format!, where: ctx.where });
      },
    },
    {
      name: 'CustomLog',
      context: 'server',
      minArgs: 2,
      maxArgs: 3,
      syntax: 'CustomLog file|stdout|stderr format|nickname',
      apply(ctx, [destination, format, condition]) {
        if (condition !== undefined) {
          ctx.error('CONFIG_BAD_ARGUMENT', `CustomLog: conditional logging (${condition}) is not supported by authts`, 'remove the env=/expr= argument');
        }
        checkDestination(ctx, destination!);
        if (format!.includes('%')) checkFormat(ctx, format!);
        ctx.server(logConfig).targets.push({ destination: serverPath(ctx, destination!), format: format!, where: ctx.where, directive: 'CustomLog' });
      },
    },
    {
      name: 'TransferLog',
      context: 'server',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'TransferLog file|stdout|stderr',
      apply(ctx, [destination]) {
        checkDestination(ctx, destination!);
        ctx.server(logConfig).targets.push({ destination: serverPath(ctx, destination!), format: undefined, where: ctx.where, directive: 'TransferLog' });
      },
    },
  ],
  // Config.close(): the access logs `authts serve` opened for this configuration are flushed and
  // closed (after a reload, once the last request of the old configuration has been logged).
  release: async function releaseLogConfig(config): Promise<void> {
    const settings = config.serverSettings(logConfig);
    const logs = openLogs.get(settings);
    openLogs.delete(settings);
    await logs?.close();
  },
  close: async function closeLogConfig(): Promise<void> {
    // Every configuration closes its own logs through release; nothing is shared.
  },
  checkConfig(view) {
    // Nicknames resolve once every LogFormat is known (httpd resolves them after reading the
    // config too, so a LogFormat may follow the CustomLog using it).
    const settings = view.serverSettings(logConfig);
    for (const target of settings.targets) {
      if (target.format === undefined || target.format.includes('%')) continue;
      if (!settings.formats.has(target.format.toLowerCase()) && !PREDEFINED_FORMATS.has(target.format.toLowerCase())) {
        view.error(target.where, target.directive, 'CONFIG_BAD_ARGUMENT', `no LogFormat nickname "${target.format}"`, `define it with LogFormat "…" ${target.format}, or use common or combined`);
      }
    }
  },
};

function checkFormat(ctx: DirectiveContext, format: string): void {
  try {
    compileLogFormat(format);
  } catch (err) {
    ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name}: ${(err as Error).message}`, 'see docs/logging.md for the items authts writes');
  }
}

/** The format string a target writes: its own, its nickname's, or the default. */
function formatOf(settings: LogConfigServerSettings, target: LogTarget): string {
  const named = target.format ?? settings.defaultFormat ?? COMMON_LOG_FORMAT;
  if (named.includes('%')) return named;
  return settings.formats.get(named.toLowerCase())?.format ?? PREDEFINED_FORMATS.get(named.toLowerCase()) ?? named;
}

/**
 * Opens the access logs `config` names (files appended to, created 0640 when missing); `undefined`
 * when it names none. Throws {@link ConfigErrors} naming each `CustomLog` line whose file cannot be
 * opened, after closing what it opened: `authts serve` does not start (or a reload keeps the
 * previous configuration) rather than run without the log it was asked for.
 */
export function openAccessLogs(config: Config): AccessLogs | undefined {
  const settings = config.serverSettings(logConfig);
  if (settings.targets.length === 0) return undefined;
  const streams = new Map<string, Destination>();
  const errors: ConfigError[] = [];
  const logs: AccessLog[] = [];
  for (const target of settings.targets) {
    let stream = streams.get(target.destination);
    if (!stream) {
      try {
        const fd = target.destination === 'stdout' ? 1 : target.destination === 'stderr' ? 2 : openSync(target.destination, 'a', 0o640);
        stream = pino.destination({ dest: fd, sync: false });
        // A write that fails later (disk full) must not crash the server; the error is dropped
        // with the line, as httpd drops a line it could not write.
        stream.on('error', () => {});
        streams.set(target.destination, stream);
      } catch (err) {
        errors.push(new ConfigError('CONFIG_BAD_ARGUMENT', target.where, target.directive, `could not open log file ${target.destination}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'check that the directory exists and authts may write there'));
        continue;
      }
    }
    const format = compileLogFormat(formatOf(settings, target));
    const out = stream;
    logs.push({
      destination: target.destination,
      format,
      write(record) {
        out.write(`${format(record)}\n`);
      },
    });
  }
  let held = 0;
  let drained: (() => void) | undefined;
  const close = async (): Promise<void> => {
    if (held > 0) {
      await new Promise<void>((resolveDrained) => {
        const timer = setTimeout(resolveDrained, CLOSE_WAIT_MS);
        timer.unref();
        drained = () => {
          clearTimeout(timer);
          resolveDrained();
        };
      });
    }
    await Promise.all(
      [...streams.values()].map(
        (stream) =>
          new Promise<void>((resolveClose) => {
            stream.once('close', () => resolveClose());
            stream.once('error', () => resolveClose());
            stream.end();
          }),
      ),
    );
  };
  if (errors.length > 0) {
    void close();
    throw new ConfigErrors(errors);
  }
  const opened: AccessLogs = {
    logs,
    write(record) {
      for (const log of logs) {
        try {
          log.write(record);
        } catch {
          // See the 'error' listener above: a log that cannot be written drops the line.
        }
      }
    },
    hold() {
      held++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        held--;
        if (held === 0) drained?.();
      };
    },
    close,
  };
  openLogs.set(settings, opened);
  return opened;
}
