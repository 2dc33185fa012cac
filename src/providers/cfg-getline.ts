/**
 * httpd's `ap_cfg_getline`, the line reader behind AuthUserFile and AuthGroupFile: what counts
 * as one line of those files.
 */

/** httpd's `MAX_STRING_LEN`: the line buffer of mod_authn_file. */
export const MAX_STRING_LEN = 8192;

/** httpd's `VARBUF_MAX_LEN` (16 MiB): the longest line mod_authz_groupfile reads. */
export const VARBUF_MAX_LEN = 16 * 1024 * 1024;

/** The logical lines of a file and whether reading stopped early at an over-long line. */
export interface CfgLines {
  /** Lines trimmed of surrounding whitespace, continuations joined; blank lines kept as ''. */
  readonly lines: readonly string[];
  /** 1-based physical line number of the first line too long for the buffer, if any. */
  readonly tooLongAt: number | undefined;
}

/**
 * Splits `text` as `ap_cfg_getline` reads it, line by line:
 *
 * - a line that ends in `\` right before its newline (`\n` or `\r\n`) continues on the next
 *   line: the backslash and the line break are removed (a `\` on the last line without a
 *   newline stays);
 * - the result is trimmed of leading and trailing whitespace (`cfg_trim_line`);
 * - a C string ends at the first NUL, so anything after a NUL byte is dropped;
 * - a logical line of `bufferSize - 1` bytes or more ends reading (`APR_ENOSPC`): httpd's loops
 *   `while (!ap_cfg_getline(…))` stop there and treat the rest of the file as absent.
 *
 * @example
 * ```ts
 * cfgLines('  alice:x  \r\n# c\nadmins: a \\\n b\n', MAX_STRING_LEN).lines;
 * // ['alice:x', '# c', 'admins: a  b']
 * ```
 */
export function cfgLines(text: string, bufferSize: number): CfgLines {
  const physical = text.split('\n');
  // The piece after the last '\n' is '' for a file that ends in a newline.
  const endsWithNewline = physical.length > 0 && physical[physical.length - 1] === '';
  if (endsWithNewline) physical.pop();
  const lines: string[] = [];
  let pending = '';
  for (let i = 0; i < physical.length; i++) {
    let piece = physical[i] ?? '';
    const hadNewline = i < physical.length - 1 || endsWithNewline;
    let continued = false;
    if (hadNewline) {
      if (piece.endsWith('\r')) piece = piece.slice(0, -1);
      if (piece.endsWith('\\')) {
        piece = piece.slice(0, -1);
        continued = true;
      }
    }
    pending += piece;
    if (continued && i < physical.length - 1) continue;
    if (byteLength(pending, bufferSize) >= bufferSize - 1) return { lines, tooLongAt: i + 1 };
    const nul = pending.indexOf('\0');
    lines.push(trimSpace(nul < 0 ? pending : pending.slice(0, nul)));
    pending = '';
  }
  return { lines, tooLongAt: undefined };
}

/**
 * `apr_isspace` in the C locale: space, \t, \n, \v, \f, \r.
 *
 * @example
 * ```ts
 * isSpace('\v'); // true
 * ```
 */
export function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

function trimSpace(line: string): string {
  let start = 0;
  let end = line.length;
  while (start < end && isSpace(line[start])) start++;
  while (end > start && isSpace(line[end - 1])) end--;
  return line.slice(start, end);
}

/** UTF-8 length, counted only when it could matter (a UTF-16 unit is at most 3 UTF-8 bytes). */
function byteLength(line: string, bufferSize: number): number {
  return line.length * 3 < bufferSize - 1 ? line.length : Buffer.byteLength(line, 'utf8');
}
