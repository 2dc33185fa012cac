/**
 * An htpasswd file as Apache's `htpasswd` 2.4 reads and rewrites it, byte for byte: it reads
 * pieces of at most 255 bytes (`apr_file_gets` into a 256-byte buffer, so a longer line is
 * several pieces), copies blank and `#` pieces verbatim, refuses a file with a piece that has
 * no `:`, and replaces (or drops) *every* record of the user.
 */

/** `apr_file_gets` buffer of htpasswd: a piece holds at most 255 bytes. */
const PIECE_MAX = 255;
const NL = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const HASH = 0x23;

/** One piece as htpasswd classifies it. */
export type HtpasswdPiece =
  | { readonly kind: 'other'; readonly bytes: Buffer }
  | { readonly kind: 'invalid'; readonly bytes: Buffer }
  | { readonly kind: 'record'; readonly bytes: Buffer; readonly user: Buffer; readonly hash: Buffer };

/**
 * Splits `content` into htpasswd's pieces and classifies them: `other` (blank or comment after
 * leading whitespace), `record` (user = text before the first `:`, leading whitespace skipped;
 * hash = text after it up to the first CR or LF), `invalid` (no `:`). Analysis stops at a NUL
 * byte, as htpasswd's C strings do.
 *
 * @example
 * ```ts
 * htpasswdPieces(Buffer.from('# users\nalice:$apr1$…\n')).map((p) => p.kind); // ['other', 'record']
 * ```
 */
export function htpasswdPieces(content: Buffer): HtpasswdPiece[] {
  const pieces: HtpasswdPiece[] = [];
  let start = 0;
  while (start < content.length) {
    const nl = content.indexOf(NL, start);
    let end = nl < 0 ? content.length : nl + 1;
    if (end - start > PIECE_MAX) end = start + PIECE_MAX;
    pieces.push(classify(content.subarray(start, end)));
    start = end;
  }
  return pieces;
}

function classify(bytes: Buffer): HtpasswdPiece {
  const nul = bytes.indexOf(0);
  const text = nul < 0 ? bytes : bytes.subarray(0, nul);
  let i = 0;
  while (i < text.length && isSpace(text[i] ?? 0)) i++;
  if (i === text.length || text[i] === HASH) return { kind: 'other', bytes };
  const colon = text.indexOf(COLON, i);
  if (colon < 0) return { kind: 'invalid', bytes };
  let hashEnd = colon + 1;
  while (hashEnd < text.length && text[hashEnd] !== CR && text[hashEnd] !== NL) hashEnd++;
  return { kind: 'record', bytes, user: text.subarray(i, colon), hash: text.subarray(colon + 1, hashEnd) };
}

/** `apr_isspace` in the C locale. */
function isSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/** What to do with the user's records. */
export type HtpasswdChange = { readonly kind: 'set'; readonly record: Buffer } | { readonly kind: 'delete' };

/** The rewritten file, or why htpasswd would not rewrite it. */
export type HtpasswdEditResult =
  | { readonly status: 'invalid'; readonly found: number }
  | { readonly status: 'ok'; readonly found: number; readonly content: Buffer };

/**
 * htpasswd's rewrite of an existing file for one user: every record of `user` is replaced by
 * `record` (which ends in a newline) or dropped; all other pieces are copied verbatim; when no
 * record matched and the change is `set`, `record` is appended. A piece without `:` makes the
 * whole file `invalid` (htpasswd exits 7 and writes nothing); `found` then counts the user's
 * records before it (htpasswd has printed "Updating " for each).
 *
 * Two deliberate differences from htpasswd, both to keep the file intact: a last line without a
 * newline gets one before a record is appended (htpasswd glues the record onto it), and pieces
 * are copied whole even after a NUL byte (htpasswd drops the rest of such a piece, newline and
 * all).
 *
 * @example
 * ```ts
 * const r = editHtpasswd(Buffer.from('alice:x\n'), Buffer.from('bob'), { kind: 'set', record: Buffer.from('bob:y\n') });
 * // { status: 'ok', found: 0, content: <'alice:x\nbob:y\n'> }
 * ```
 */
export function editHtpasswd(current: Buffer, user: Buffer, change: HtpasswdChange): HtpasswdEditResult {
  const out: Buffer[] = [];
  let found = 0;
  for (const piece of htpasswdPieces(current)) {
    if (piece.kind === 'invalid') return { status: 'invalid', found };
    if (piece.kind === 'record' && piece.user.equals(user)) {
      found++;
      if (change.kind === 'set') out.push(change.record);
      continue;
    }
    out.push(piece.bytes);
  }
  if (found === 0 && change.kind === 'set') {
    const last = out[out.length - 1];
    if (last !== undefined && last[last.length - 1] !== NL) out.push(Buffer.from('\n'));
    out.push(change.record);
  }
  return { status: 'ok', found, content: Buffer.concat(out) };
}
