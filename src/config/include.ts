/**
 * `Include` / `IncludeOptional` path expansion, as httpd 2.4's `ap_dir_fnmatch` and
 * `process_resource_config_nofnmatch` do it (checked against Apache 2.4.71 with
 * `apache2 -t -D DUMP_INCLUDES`):
 *
 * - a pattern is walked one path component at a time; a component is a wildcard when
 *   `apr_fnmatch_test` says so (`*`, `?`, or `[` with a later `]`; braces are literal);
 * - wildcards never match a leading `.` (`APR_FNM_PERIOD`); matches in a directory component must
 *   be directories; the matches of each directory are taken in byte order;
 * - a matched or named directory is included whole: every entry except `.`/`..` (dot files too),
 *   recursively, in byte order, at most 128 levels deep;
 * - `Include`: a wildcard that matches nothing *in some directory* fails ("No matches for the
 *   wildcard …"), so does a missing file or directory; `IncludeOptional` skips all of those.
 *
 * tinyglobby is not used: it returns one flat list, so it cannot fail per directory as httpd does,
 * and it treats `{a,b}` and extglobs as patterns where httpd reads them literally.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** httpd's `AP_MAX_INCLUDE_DIR_DEPTH`: how deeply an included directory tree may nest. */
export const MAX_INCLUDE_DIR_DEPTH = 128;

/** One result of expanding an include pattern, in the order httpd would read them. */
export type IncludeItem =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'error'; readonly message: string };

/**
 * True when `pattern` contains a wildcard, as APR's `apr_fnmatch_test`: `*`, `?`, or a `[` closed
 * by a later `]`; a backslash escapes the next character.
 *
 * @example
 * ```ts
 * hasWildcard('conf.d/*.conf'); // → true
 * hasWildcard('site[1.conf');   // → false
 * ```
 */
export function hasWildcard(pattern: string): boolean {
  let nesting = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '?' || c === '*') return true;
    if (c === '\\') {
      if (i + 1 >= pattern.length) return false;
      i++;
    } else if (c === '[') {
      nesting++;
    } else if (c === ']' && nesting > 0) {
      return true;
    }
  }
  return false;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/**
 * Compiles one path component pattern with `apr_fnmatch` semantics (`*`, `?`, `[...]` with `!` or
 * `^` negation and ranges, `\` escapes) into a matcher that also applies `APR_FNM_PERIOD`: a name
 * starting with `.` matches only when the pattern starts with a literal `.`.
 *
 * @example
 * ```ts
 * compileFnmatch('*.conf')('a.conf');      // → true
 * compileFnmatch('*.conf')('.hidden.conf'); // → false
 * ```
 */
export function compileFnmatch(pattern: string): (name: string) => boolean {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*') {
      source += '.*';
    } else if (c === '?') {
      source += '.';
    } else if (c === '\\' && i + 1 < pattern.length) {
      i++;
      source += escapeRegExp(pattern[i] ?? '');
    } else if (c === '[') {
      let j = i + 1;
      let negate = false;
      if (pattern[j] === '!' || pattern[j] === '^') {
        negate = true;
        j++;
      }
      let body = '';
      let k = j;
      if (pattern[k] === ']') {
        body += '\\]';
        k++;
      }
      while (k < pattern.length && pattern[k] !== ']') {
        let ch = pattern[k] ?? '';
        if (ch === '\\' && k + 1 < pattern.length) {
          k++;
          ch = pattern[k] ?? '';
          body += escapeRegExp(ch);
        } else {
          // '-' stays a range operator; everything else special to a JS class is escaped.
          body += ch === '-' ? '-' : ch.replace(/[\\\]^[]/g, '\\$&');
        }
        k++;
      }
      if (k >= pattern.length) {
        source += '\\[';
      } else {
        source += `[${negate ? '^' : ''}${body}]`;
        i = k;
      }
    } else {
      source += escapeRegExp(c);
    }
  }
  const re = new RegExp(`${source}$`, 's');
  const literalDot = pattern.startsWith('.') || pattern.startsWith('\\.');
  return (name) => (!name.startsWith('.') || literalDot) && re.test(name);
}

/**
 * Byte-order comparison of UTF-8 strings (httpd sorts with `strcmp`).
 *
 * @example
 * ```ts
 * ['b', 'a', 'B', '_'].sort(compareBytes); // → ['B', '_', 'a', 'b']
 * ```
 */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  EISDIR: 'Is a directory',
};

/**
 * The strerror-like text of a filesystem error, as httpd prints it.
 *
 * @example
 * ```ts
 * errnoText(Object.assign(new Error('x'), { code: 'ENOENT' })); // → 'No such file or directory'
 * ```
 */
export function errnoText(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && ERRNO_TEXT[code] !== undefined) return ERRNO_TEXT[code];
  return err instanceof Error ? err.message : String(err);
}

function errorCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/**
 * Expands an already absolute include path to the files httpd would read, in order, with the
 * errors httpd would raise in between (httpd stops at the first; the caller reports them all).
 *
 * @example
 * ```ts
 * await expandInclude('/etc/authts/conf.d/*.conf', { optional: false });
 * // → [{ kind: 'file', path: '/etc/authts/conf.d/a.conf' }, ...]
 * ```
 */
export async function expandInclude(
  absolutePattern: string,
  options: { readonly optional: boolean },
): Promise<IncludeItem[]> {
  const out: IncludeItem[] = [];
  if (!hasWildcard(absolutePattern)) {
    await includeLiteral(absolutePattern, options.optional, out);
    return out;
  }
  const { root } = path.parse(absolutePattern);
  const parts = absolutePattern.slice(root.length).split('/');
  await walk(root, parts, options.optional, out);
  return out;
}

async function walk(
  dir: string,
  parts: readonly string[],
  optional: boolean,
  out: IncludeItem[],
): Promise<void> {
  const [part = '', ...rest] = parts;
  const last = rest.length === 0;
  if (!hasWildcard(part)) {
    const next = path.join(dir, part);
    if (last) await includeLiteral(next, optional, out);
    else await walk(next, rest, optional, out);
    return;
  }

  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (optional && errorCode(err) === 'ENOENT') return;
    out.push({ kind: 'error', message: `Could not open directory ${dir}: ${errnoText(err)}` });
    return;
  }
  const matches = compileFnmatch(part);
  // Like httpd, a directory component keeps only real directories (a symlink to one is skipped).
  const names = entries
    .filter((e) => e.name !== '.' && e.name !== '..' && matches(e.name))
    .filter((e) => last || e.isDirectory())
    .map((e) => e.name)
    .sort(compareBytes);
  if (names.length === 0) {
    if (!optional) {
      out.push({
        kind: 'error',
        message: `No matches for the wildcard '${part}' in '${dir}', failing`,
      });
    }
    return;
  }
  for (const name of names) {
    const next = path.join(dir, name);
    if (last) await includeLiteral(next, optional, out);
    else await walk(next, rest, optional, out);
  }
}

/** httpd's `process_resource_config_nofnmatch`: a file, or a whole directory tree. */
async function includeLiteral(
  target: string,
  optional: boolean,
  out: IncludeItem[],
  depth = 0,
  ancestors: readonly string[] = [],
): Promise<void> {
  let info;
  try {
    info = await stat(target);
  } catch (err) {
    if (optional && errorCode(err) === 'ENOENT') return;
    out.push({
      kind: 'error',
      message: `Could not open configuration file ${target}: ${errnoText(err)}`,
    });
    return;
  }
  if (info.isFile()) {
    out.push({ kind: 'file', path: target });
    return;
  }
  if (!info.isDirectory()) {
    out.push({
      kind: 'error',
      message: `Could not open configuration file ${target}: not a regular file`,
    });
    return;
  }
  if (depth + 1 > MAX_INCLUDE_DIR_DEPTH) {
    out.push({
      kind: 'error',
      message:
        `Directory ${target} exceeds the maximum include directory nesting level of ` +
        `${MAX_INCLUDE_DIR_DEPTH}. You have probably a recursion somewhere.`,
    });
    return;
  }
  let real = target;
  try {
    real = await realpath(target);
  } catch {
    // stat succeeded, so realpath failing is a race; keep the path as written.
  }
  if (ancestors.includes(real)) {
    out.push({
      kind: 'error',
      message: `Directory ${target} is included from inside itself (a symbolic link loop)`,
    });
    return;
  }
  let names: string[];
  try {
    names = await readdir(target);
  } catch (err) {
    out.push({
      kind: 'error',
      message: `Could not open config directory ${target}: ${errnoText(err)}`,
    });
    return;
  }
  names.sort(compareBytes);
  for (const name of names) {
    await includeLiteral(path.join(target, name), optional, out, depth + 1, [...ancestors, real]);
  }
}
