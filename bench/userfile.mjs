// Large htpasswd files for the bench, made fast: one real record (made by Apache's htpasswd) and
// `count - 1` made-up users that share its hash. Hashing a million `$apr1$` or bcrypt records
// would take minutes to hours and measure nothing more: a server looks a user up by name, and
// only the benchmarked user's hash is ever checked. The real user is the LAST line, the worst
// case for servers that read the file line by line per request (httpd's mod_authn_file, nginx's
// auth_basic); servers that index the file once do not care where it is.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** The made-up user name of line `i` (1-based): `user0000001` … (7 digits; 10 million at most). */
export const fillerUser = (i) => `user${String(i).padStart(7, '0')}`;

/**
 * The lines of a `count`-user htpasswd file, in chunks of at most `chunkLines` lines (each chunk a
 * string ending in a newline): `count - 1` filler users (fillerUser) with the hash of `realLine`,
 * then `realLine` itself. Throws on a count below 1, a count past fillerUser's 7 digits, or a
 * realLine that is not `user:hash` with a user name that could collide with a filler name.
 */
export function* userFileChunks(count, realLine, chunkLines = 50_000) {
  if (!Number.isInteger(count) || count < 1 || count > 10_000_000) throw new RangeError(`user count ${count}: expected an integer from 1 to 10,000,000`);
  const colon = realLine.indexOf(':');
  if (colon < 1 || /[\r\n]/.test(realLine)) throw new Error(`not an htpasswd line: ${JSON.stringify(realLine)}`);
  const user = realLine.slice(0, colon);
  if (/^user\d{7}$/.test(user)) throw new Error(`the real user ${user} would collide with a filler user name`);
  const hash = realLine.slice(colon + 1);
  let chunk = [];
  for (let i = 1; i < count; i++) {
    chunk.push(`${fillerUser(i)}:${hash}`);
    if (chunk.length === chunkLines) {
      yield `${chunk.join('\n')}\n`;
      chunk = [];
    }
  }
  chunk.push(realLine);
  yield `${chunk.join('\n')}\n`;
}

/** Writes userFileChunks(count, realLine) to `path` (mode 0644: httpd's and nginx's workers read it). Resolves once it is on disk. */
export async function writeUserFile(path, count, realLine) {
  const out = createWriteStream(path, { mode: 0o644 });
  const failed = once(out, 'error').then(([e]) => Promise.reject(e));
  failed.catch(() => {});
  for (const chunk of userFileChunks(count, realLine)) {
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
  }
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  await new Promise((resolve, reject) => out.close((e) => (e ? reject(e) : resolve())));
}
