/**
 * httpd's query text (`SELECT password FROM authn WHERE user = %s`) turned into each driver's
 * parameterized form. Values are always bound, never put into the text.
 */
import type { DbdDriverName } from './params.js';

/**
 * A query as written in the configuration, split at its `%s` placeholders.
 *
 * @example
 * ```ts
 * const s: DbdStatement = parseStatement('SELECT pw FROM u WHERE name = %s'); // s.parameters === 1
 * ```
 */
export interface DbdStatement {
  /** The query as the configuration wrote it. */
  readonly text: string;
  /** The literal pieces between placeholders (`parameters + 1` of them). */
  readonly pieces: readonly string[];
  /** How many `%s` placeholders the query has. */
  readonly parameters: number;
}

/**
 * A query text that cannot be used, with why.
 *
 * @example
 * ```ts
 * try { parseStatement('SELECT pw FROM u WHERE id = %d'); } catch (err) { err instanceof DbdStatementError; // true }
 * ```
 */
export class DbdStatementError extends Error {
  override readonly name = 'DbdStatementError';
}

/**
 * Splits `text` at its placeholders as apr_dbd does: `%s` is a parameter, `%%` is a literal
 * `%`, and any other `%` followed by a letter (`%d`, `%pDt`, …) is refused, because authts binds
 * every value as text (httpd's authn and authz queries only use `%s`). A `%` followed by
 * anything else (`LIKE 'a%'`) is kept as it is.
 *
 * @example
 * ```ts
 * parseStatement('SELECT pw FROM users WHERE name = %s').parameters; // 1
 * ```
 */
export function parseStatement(text: string): DbdStatement {
  const pieces: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '%') {
      current += c;
      continue;
    }
    const next = text[i + 1];
    if (next === 's') {
      pieces.push(current);
      current = '';
      i++;
    } else if (next === '%') {
      current += '%';
      i++;
    } else if (next !== undefined && /[A-Za-z]/.test(next)) {
      throw new DbdStatementError(`only %s placeholders are supported (found "%${next}")`);
    } else {
      current += c;
    }
  }
  pieces.push(current);
  return Object.freeze({ text, pieces: Object.freeze(pieces), parameters: pieces.length - 1 });
}

/**
 * The statement in `driver`'s placeholder syntax: `$1, $2, …` for PostgreSQL, `?` for MySQL and
 * SQLite.
 *
 * @example
 * ```ts
 * statementSql(parseStatement('SELECT pw FROM u WHERE name = %s'), 'pgsql'); // 'SELECT pw FROM u WHERE name = $1'
 * ```
 */
export function statementSql(statement: DbdStatement, driver: DbdDriverName): string {
  let sql = statement.pieces[0] ?? '';
  for (let i = 1; i < statement.pieces.length; i++) {
    sql += (driver === 'pgsql' ? `$${i}` : '?') + statement.pieces[i]!;
  }
  return sql;
}
