/**
 * An htdigest file as Apache's `htdigest` 2.4 reads and rewrites it: lines of at most 766 bytes
 * plus newline (longer lines are read in pieces), `#` lines copied, the first `user:realm:` line
 * replaced and everything after it copied unread.
 */
import { createHash } from 'node:crypto';

/** htdigest's line buffer holds 766 bytes, its newline and the NUL. */
const PIECE_MAX = 766;
/** A user or realm field of 256 bytes or more makes htdigest stop with an error. */
export const HTDIGEST_FIELD_MAX = 255;
const NL = 0x0a;
const COLON = 0x3a;
const HASH = 0x23;

/**
 * The `user:realm:md5hex` record htdigest writes, newline included: MD5 over the bytes of
 * `user:realm:password`, in lowercase hex.
 *
 * @example
 * ```ts
 * digestRecord('u', 'r', 'pw').toString(); // 'u:r:16cf8470b801169c6eade4e217f239e9\n'
 * ```
 */
export function digestRecord(user: string | Buffer, realm: string | Buffer, password: string | Uint8Array): Buffer {
  const u = Buffer.from(user);
  const r = Buffer.from(realm);
  const hex = createHash('md5').update(Buffer.concat([u, Buffer.from(':'), r, Buffer.from(':'), Buffer.from(password)])).digest('hex');
  return Buffer.concat([u, Buffer.from(':'), r, Buffer.from(`:${hex}\n`)]);
}

/** Where the user's line is, or the line htdigest refuses. */
export type HtdigestScan =
  | { readonly status: 'found' }
  | { readonly status: 'absent' }
  | { readonly status: 'too-long'; readonly line: Buffer };

/** The rewritten file, or the line that stops htdigest. */
export type HtdigestEditResult =
  | { readonly status: 'too-long'; readonly line: Buffer }
  | { readonly status: 'ok'; readonly found: boolean; readonly content: Buffer };

/**
 * htdigest's rewrite: the first line whose first two `:`-separated fields are `user` and
 * `realm` is replaced by `record`; lines after it are copied unread; without such a line
 * `record` is appended. Before the match, a line (not a comment) whose user or realm field is
 * longer than 255 bytes stops everything (`too-long`; htdigest exits 1 and writes nothing).
 *
 * Deliberate difference: htdigest silently drops a last line that has no newline; it is kept
 * here (with a newline added when a record follows it).
 *
 * @example
 * ```ts
 * editHtdigest(Buffer.from('u:r:old\n'), 'u', 'r', digestRecord('u', 'r', 'pw')); // found: true
 * ```
 */
export function editHtdigest(current: Buffer, user: string | Buffer, realm: string | Buffer, record: Buffer): HtdigestEditResult {
  const u = Buffer.from(user);
  const r = Buffer.from(realm);
  const out: Buffer[] = [];
  let found = false;
  for (const piece of pieces(current)) {
    if (found || piece.length === 0 || piece[0] === HASH) {
      out.push(piece);
      continue;
    }
    const fields = firstTwoFields(piece);
    if (fields.user.length > HTDIGEST_FIELD_MAX || fields.realm.length > HTDIGEST_FIELD_MAX) return { status: 'too-long', line: piece };
    if (fields.user.equals(u) && fields.realm.equals(r)) {
      found = true;
      out.push(record);
    } else {
      out.push(piece);
    }
  }
  if (!found) {
    const last = out[out.length - 1];
    if (last !== undefined && last[last.length - 1] !== NL) out.push(Buffer.from('\n'));
    out.push(record);
  }
  return { status: 'ok', found, content: Buffer.concat(out) };
}

/**
 * What {@link editHtdigest} would meet first, without writing: the user's line, a line that
 * stops htdigest, or neither. htdigest prints "Changing…"/"Adding…" before it prompts; this tells
 * which, before the file is locked.
 *
 * @example
 * ```ts
 * scanHtdigest(Buffer.from('u:r:x\n'), 'u', 'r'); // { status: 'found' }
 * ```
 */
export function scanHtdigest(current: Buffer, user: string | Buffer, realm: string | Buffer): HtdigestScan {
  const result = editHtdigest(current, user, realm, Buffer.alloc(0));
  if (result.status === 'too-long') return result;
  return { status: result.found ? 'found' : 'absent' };
}

/** htdigest's `get_line` pieces; a last line without newline is kept (htdigest drops it). */
function pieces(content: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < content.length) {
    const nl = content.indexOf(NL, start);
    // 766 bytes without a newline end a piece; the newline then comes in the next one.
    const end = nl >= 0 && nl - start < PIECE_MAX ? nl + 1 : Math.min(start + PIECE_MAX, content.length);
    out.push(content.subarray(start, end));
    start = end;
  }
  return out;
}

/** htdigest's two `getword(…, ':')` calls on the line (as a C string: up to a NUL). */
function firstTwoFields(piece: Buffer): { user: Buffer; realm: Buffer } {
  const nul = piece.indexOf(0);
  const text = nul < 0 ? piece : piece.subarray(0, nul);
  const c1 = text.indexOf(COLON);
  if (c1 < 0) return { user: text, realm: Buffer.alloc(0) };
  const rest = text.subarray(c1 + 1);
  const c2 = rest.indexOf(COLON);
  return { user: text.subarray(0, c1), realm: c2 < 0 ? rest : rest.subarray(0, c2) };
}
