/**
 * Reading passwords the way `htpasswd`/`htdigest` do through `apr_password_get`, which is
 * glibc's `getpass(3)` on Linux:
 *
 * - with a controlling terminal, the prompt goes to `/dev/tty`, echo is off while the line is
 *   typed, and a newline is written after it;
 * - without one (cron, CI, `setsid`), the prompt goes to standard error and the line is read
 *   from standard input, echo untouched. Each prompt takes one line; a line ends at `\n`, which
 *   is removed (a `\r` before it stays); end of input gives what was read so far, possibly "".
 *
 * Plus `-i`: read all of standard input (less than 256 bytes), strip one trailing `\n` or `\r\n`.
 */
import { openSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { ReadStream, WriteStream } from 'node:tty';

/** A terminal to prompt on: echo is switched off through `setRawMode`. */
export interface Terminal {
  readonly input: Readable & { setRawMode?: (raw: boolean) => unknown };
  readonly output: Writable;
  /** Releases the terminal (restores its mode, closes the descriptor). */
  close(): void;
}

/** Opens the controlling terminal, or undefined when the process has none. */
export type TerminalOpener = () => Terminal | undefined;

/** What a prompt gives back. */
export type PromptAnswer =
  | { readonly kind: 'line'; readonly bytes: Buffer }
  /** Ctrl-C on the terminal. */
  | { readonly kind: 'interrupted' };

/**
 * `/dev/tty` when it can be opened (the process has a controlling terminal), else undefined.
 *
 * @example
 * ```ts
 * const tty = openControllingTerminal(); // undefined under cron or setsid
 * ```
 */
export function openControllingTerminal(): Terminal | undefined {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return undefined;
  }
  const input = new ReadStream(fd);
  const output = new WriteStream(fd);
  return {
    input,
    output,
    close() {
      input.setRawMode(false);
      input.destroy();
      output.destroy();
    },
  };
}

/** A stop-gap for lines nobody would call a password: past this, a line is "too long" anyway. */
const LINE_LIMIT = 64 * 1024;

/**
 * Password input for one run of a tool: `prompt()` as getpass, `readAll()` as `-i`. Call
 * `close()` when done (it releases the terminal and stops reading standard input).
 *
 * @example
 * ```ts
 * const input = new PasswordInput(process.stdin, process.stderr, openControllingTerminal);
 * const answer = await input.prompt('New password: ');
 * input.close();
 * ```
 */
export class PasswordInput {
  private terminal: Terminal | undefined | null = null;
  private buffered = Buffer.alloc(0);
  private ended = false;
  private listening = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly stdin: Readable,
    private readonly stderr: Writable,
    private readonly openTerminal: TerminalOpener,
  ) {}

  /** Writes `prompt` and reads one line, from the terminal with echo off or from standard input. */
  async prompt(prompt: string): Promise<PromptAnswer> {
    if (this.terminal === null) this.terminal = this.openTerminal();
    if (this.terminal) return readFromTerminal(this.terminal, prompt);
    this.stderr.write(prompt);
    for (;;) {
      const nl = this.buffered.indexOf(0x0a);
      if (nl >= 0) {
        const line = this.buffered.subarray(0, nl);
        this.buffered = this.buffered.subarray(nl + 1);
        return { kind: 'line', bytes: Buffer.from(line) };
      }
      if (this.ended || this.buffered.length > LINE_LIMIT) {
        const line = this.buffered;
        this.buffered = Buffer.alloc(0);
        return { kind: 'line', bytes: line };
      }
      await this.more();
    }
  }

  /**
   * `-i`: standard input up to its end. `undefined` when it holds `limit` bytes or more (htpasswd
   * reads at most 256 and calls that too long); otherwise the bytes with one trailing `\n` or
   * `\r\n` removed.
   */
  async readAll(limit: number): Promise<Buffer | undefined> {
    while (!this.ended && this.buffered.length < limit) await this.more();
    if (this.buffered.length >= limit) return undefined;
    let end = this.buffered.length;
    if (end >= 1 && this.buffered[end - 1] === 0x0a) {
      end--;
      if (end >= 1 && this.buffered[end - 1] === 0x0d) end--;
    }
    return Buffer.from(this.buffered.subarray(0, end));
  }

  /** Releases the terminal and stops reading standard input. */
  close(): void {
    this.terminal?.close();
    this.terminal = undefined;
    if (this.listening) {
      this.stdin.off('data', this.onData);
      this.stdin.off('end', this.onEnd);
      this.stdin.off('error', this.onEnd);
      this.stdin.pause();
      this.listening = false;
    }
  }

  private readonly onData = (chunk: Buffer | string): void => {
    this.buffered = Buffer.concat([this.buffered, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
    this.stdin.pause();
    this.wake?.();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake?.();
  };

  /** Waits for the next chunk (or the end) of standard input. */
  private more(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
      if (!this.listening) {
        this.listening = true;
        this.stdin.on('data', this.onData);
        this.stdin.on('end', this.onEnd);
        this.stdin.on('error', this.onEnd);
      }
      if (this.stdin.readableEnded) this.onEnd();
      else this.stdin.resume();
    });
  }
}

/**
 * One line typed with echo off. Enter ends it; Backspace/Delete remove the last character,
 * Ctrl-U the whole line; Ctrl-D on an empty line is end of input (""); Ctrl-C interrupts.
 * Like getpass, a newline is written after the line (not after end of input).
 */
function readFromTerminal(terminal: Terminal, prompt: string): Promise<PromptAnswer> {
  const { input, output } = terminal;
  input.setRawMode?.(true);
  output.write(prompt);
  return new Promise((resolve) => {
    let line = Buffer.alloc(0);
    const finish = (answer: PromptAnswer, newline: boolean): void => {
      input.off('data', onData);
      input.pause();
      input.setRawMode?.(false);
      if (newline) output.write('\n');
      resolve(answer);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (const b of bytes) {
        if (b === 0x0d || b === 0x0a) return finish({ kind: 'line', bytes: line }, true);
        if (b === 0x03) return finish({ kind: 'interrupted' }, true);
        if (b === 0x04) {
          if (line.length === 0) return finish({ kind: 'line', bytes: line }, false);
          continue;
        }
        if (b === 0x7f || b === 0x08) {
          line = line.subarray(0, lastCharStart(line));
          continue;
        }
        if (b === 0x15) {
          line = Buffer.alloc(0);
          continue;
        }
        line = Buffer.concat([line, Buffer.from([b])]);
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

/** Where the last UTF-8 character of `bytes` starts (continuation bytes are 10xxxxxx). */
function lastCharStart(bytes: Buffer): number {
  let i = bytes.length - 1;
  while (i > 0 && ((bytes[i] ?? 0) & 0xc0) === 0x80) i--;
  return Math.max(i, 0);
}

/** Ends a tool run early with an exit code (its message is already written). */
export class ToolExit {
  constructor(readonly code: number) {}
}

/**
 * Runs a password tool's body with a {@link PasswordInput} on `io`, turning a {@link ToolExit}
 * into its exit code and always releasing the terminal.
 */
export async function runPasswordTool(
  io: { readonly stdin: Readable; readonly stderr: Writable; readonly openTerminal?: TerminalOpener | undefined },
  body: (input: PasswordInput) => Promise<number>,
): Promise<number> {
  const input = new PasswordInput(io.stdin, io.stderr, io.openTerminal ?? openControllingTerminal);
  try {
    return await body(input);
  } catch (err) {
    if (err instanceof ToolExit) return err.code;
    throw err;
  } finally {
    input.close();
  }
}
