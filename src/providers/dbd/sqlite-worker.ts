/**
 * The SQLite worker: better-sqlite3 is synchronous, so every query runs in a worker thread and
 * the event loop never waits on the disk. Each worker keeps one read-only handle per file (its
 * "connection") and its prepared statements, and reopens the file when it was replaced.
 */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * One query for the worker.
 *
 * @example
 * ```ts
 * const task: SqliteTask = { file: '/srv/users.db', sql: 'SELECT hash FROM users WHERE name = ?', params: ['alice'] };
 * ```
 */
export interface SqliteTask {
  readonly file: string;
  readonly sql: string;
  readonly params: readonly string[];
}

/**
 * The worker's answer: rows, or why there are none (errors do not cross threads intact).
 *
 * @example
 * ```ts
 * const answer: SqliteAnswer = runSqlite(task);
 * if (answer.ok) answer.rows[0]?.[0];
 * ```
 */
export type SqliteAnswer =
  | { readonly ok: true; readonly columns: string[]; readonly rows: (string | null)[][] }
  | { readonly ok: false; readonly kind: 'unavailable' | 'query'; readonly message: string };

interface Handle {
  readonly db: Database.Database;
  readonly ino: number;
  readonly dev: number;
  readonly statements: Map<string, Database.Statement>;
}

const handles = new Map<string, Handle>();

/** Codes that mean the file cannot be used (as opposed to a bad statement). */
const UNAVAILABLE = /^SQLITE_(CANTOPEN|NOTADB|IOERR|CORRUPT|BUSY|LOCKED|FULL|PERM|AUTH|READONLY)/;

function value(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

function open(file: string): Handle {
  const st = statSync(file);
  const existing = handles.get(file);
  if (existing && existing.ino === st.ino && existing.dev === st.dev) return existing;
  existing?.db.close();
  handles.delete(file);
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5_000 });
  const handle: Handle = { db, ino: st.ino, dev: st.dev, statements: new Map() };
  handles.set(file, handle);
  return handle;
}

/**
 * Runs `task.sql` with text parameters on a read-only handle of `task.file`.
 *
 * @example
 * ```ts
 * runSqlite({ file: '/srv/users.db', sql: 'SELECT hash FROM users WHERE name = ?', params: ['alice'] });
 * ```
 */
export default function runSqlite(task: SqliteTask): SqliteAnswer {
  let handle: Handle;
  try {
    handle = open(task.file);
  } catch (err) {
    handles.get(task.file)?.db.close();
    handles.delete(task.file);
    const e = err as NodeJS.ErrnoException;
    return { ok: false, kind: 'unavailable', message: `${e.code ?? 'error'}: ${e.message}` };
  }
  try {
    let statement = handle.statements.get(task.sql);
    if (!statement) {
      statement = handle.db.prepare(task.sql);
      if (!statement.reader) {
        return { ok: false, kind: 'query', message: 'the query returns no rows (it must be a SELECT)' };
      }
      statement.raw(true);
      handle.statements.set(task.sql, statement);
    }
    const columns = statement.columns().map((c) => c.name);
    const rows = (statement.all(...task.params) as unknown[][]).map((row) => row.map(value));
    return { ok: true, columns, rows };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e.code === 'string' ? e.code : '';
    if (UNAVAILABLE.test(code)) {
      handle.db.close();
      handles.delete(task.file);
      return { ok: false, kind: 'unavailable', message: `${code}: ${String(e.message)}` };
    }
    return { ok: false, kind: 'query', message: `${code || 'SQLITE_ERROR'}: ${String(e.message)}` };
  }
}
