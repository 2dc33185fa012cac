/** DBDParams, query placeholders and the dbd directives at load: no database needed. */
import { describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../../src/errors.js';
import { loadConfig } from '../../../src/config/load.js';
import { builtinModules } from '../../../src/modules.js';
import { describeParams, parseDbdParams, DbdParamsError } from '../../../src/providers/dbd/params.js';
import { parseStatement, statementSql, DbdStatementError } from '../../../src/providers/dbd/statement.js';
import { authenticateVariable } from '../../../src/providers/dbd/module.js';
import { dbdProvider } from '../../../src/providers/dbd/index.js';

describe('parseDbdParams', () => {
  it('pgsql conninfo with quoted values and escapes, and the URL form', () => {
    expect(parseDbdParams('pgsql', "host=127.0.0.1 port = 5433 dbname=auth user=web password='s3 c\\'ret' connect_timeout=3", '/')).toMatchObject({
      host: '127.0.0.1', port: 5433, database: 'auth', user: 'web', password: "s3 c'ret", connectTimeoutMs: 3000,
    });
    expect(parseDbdParams('pgsql', 'postgresql://web:p%40ss@db.example:6543/auth?sslmode=verify-full', '/')).toMatchObject({
      host: 'db.example', port: 6543, user: 'web', password: 'p@ss', database: 'auth', ssl: 'verify-full',
    });
  });
  it('mysql list (any apr separator) and URL', () => {
    expect(parseDbdParams('mysql', 'host=127.0.0.1,port=3307;user=web|pass=pw dbname=auth,reconnect=1', '/')).toMatchObject({
      host: '127.0.0.1', port: 3307, user: 'web', password: 'pw', database: 'auth',
    });
    expect(parseDbdParams('mysql', 'mariadb://web:pw@127.0.0.1/auth', '/')).toMatchObject({ user: 'web', database: 'auth', port: undefined });
  });
  it('sqlite3: relative to the server root; file: URLs; no in-memory database', () => {
    expect(parseDbdParams('sqlite3', 'users.db', '/etc/authts')).toEqual({ driver: 'sqlite3', file: '/etc/authts/users.db' });
    expect(parseDbdParams('sqlite3', 'file:///srv/u.db', '/x')).toEqual({ driver: 'sqlite3', file: '/srv/u.db' });
    expect(() => parseDbdParams('sqlite3', ':memory:', '/')).toThrow(DbdParamsError);
  });
  it('unknown keys and bad ports are errors that never echo the password', () => {
    expect(() => parseDbdParams('pgsql', 'host=x passwd=hunter2', '/')).toThrow(/unknown pgsql parameter "passwd"/);
    try {
      parseDbdParams('pgsql', 'password=hunter2 port=99999', '/');
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
    expect(() => parseDbdParams('mysql', 'host=x,port=abc', '/')).toThrow(/port/);
    expect(() => parseDbdParams('pgsql', "password='open", '/')).toThrow(/unterminated/);
  });
  it('describeParams never shows the password', () => {
    expect(describeParams(parseDbdParams('pgsql', 'postgres://web:secret@127.0.0.1/auth', '/'))).toBe('pgsql://web@127.0.0.1:5432/auth');
  });
});

describe('parseStatement', () => {
  it('%s becomes the driver placeholder, %% a literal %, other % stay', () => {
    const s = parseStatement("SELECT pw FROM u WHERE name = %s AND realm = %s AND note LIKE 'a%' AND x = '100%%'");
    expect(s.parameters).toBe(2);
    expect(statementSql(s, 'pgsql')).toBe("SELECT pw FROM u WHERE name = $1 AND realm = $2 AND note LIKE 'a%' AND x = '100%'");
    expect(statementSql(s, 'mysql')).toBe("SELECT pw FROM u WHERE name = ? AND realm = ? AND note LIKE 'a%' AND x = '100%'");
  });
  it('other apr formats are refused', () => {
    expect(() => parseStatement('SELECT pw FROM u WHERE id = %d')).toThrow(DbdStatementError);
    expect(() => parseStatement('SELECT pw FROM u WHERE t = %pDt')).toThrow(/only %s/);
  });
});

it('AUTHENTICATE_<COLUMN>: upper case, non-alphanumerics to _', () => {
  expect(authenticateVariable('e-mail')).toBe('AUTHENTICATE_E_MAIL');
  expect(authenticateVariable('Full Name')).toBe('AUTHENTICATE_FULL_NAME');
});

async function loadErrors(text: string): Promise<string[]> {
  try {
    const config = await loadConfig({ text, textName: 't.conf', modules: builtinModules() });
    await config.close();
    return [];
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    return err.errors.map((e) => `${e.line}:${e.code}:${e.message}`);
  }
}

describe('dbd directives at load', () => {
  it('placeholder counts, unknown drivers, missing database, bad limits: every line with its number', async () => {
    const errors = await loadErrors(`DBDriver oracle
<Location /a>
  AuthDBDUserPWQuery "SELECT pw FROM u WHERE name = '%s' OR 1=1 OR name = %s"
  AuthDBDUserRealmQuery "SELECT h FROM u WHERE name = %s"
  AuthzDBDQuery "SELECT g FROM g WHERE n = %d"
</Location>`);
    expect(errors).toEqual([
      '1:CONFIG_BAD_ARGUMENT:DBDriver "oracle" is not available',
      '3:CONFIG_BAD_ARGUMENT:AuthDBDUserPWQuery needs exactly 1 %s placeholder (the user name); found 2',
      '4:CONFIG_BAD_ARGUMENT:AuthDBDUserRealmQuery needs exactly 2 %s placeholders (the user name, then the realm); found 1',
      '5:CONFIG_BAD_ARGUMENT:AuthzDBDQuery: only %s placeholders are supported (found "%d")',
    ]);
    expect(await loadErrors('<Location /a>\n  AuthDBDUserPWQuery "SELECT pw FROM u WHERE name = %s"\n</Location>')).toEqual([
      '2:CONFIG_BAD_ARGUMENT:AuthDBDUserPWQuery needs a database: no DBDriver and DBDParams are configured',
    ]);
    expect(await loadErrors('DBDriver sqlite3\nDBDParams users.db\nDBDMin 3\nDBDKeep 2')).toEqual([
      '2:CONFIG_BAD_ARGUMENT:the pool limits must satisfy DBDMin (3) ≤ DBDKeep (2) ≤ DBDMax (10) and DBDMax ≥ 1',
    ]);
    expect(await loadErrors('DBDriver pgsql\nDBDParams "host=x bogus=1"')).toEqual(['2:CONFIG_BAD_ARGUMENT:unknown pgsql parameter "bogus" (known: host, hostaddr, port, dbname, user, password, connect_timeout, sslmode, application_name)']);
    expect(await loadErrors('DBDriver mysql')).toEqual(['1:CONFIG_BAD_ARGUMENT:DBDriver mysql without DBDParams']);
    expect(await loadErrors('<Location /a>\n  Require dbd-login\n</Location>')).toHaveLength(1);
  });
});

describe('dbdProvider options', () => {
  it('TypeError for misuse, naming the option', async () => {
    await expect(dbdProvider({ driver: 'oracle' as 'pgsql', params: 'x', userQuery: 'SELECT 1' })).rejects.toThrow(TypeError);
    await expect(dbdProvider({ driver: 'sqlite3', params: '', userQuery: 'q' })).rejects.toThrow(/options.params/);
    await expect(dbdProvider({ driver: 'sqlite3', params: 'u.db', userQuery: 'SELECT pw FROM u' })).rejects.toThrow(/exactly one %s/);
    await expect(dbdProvider({ driver: 'sqlite3', params: 'u.db', userQuery: 'SELECT pw FROM u WHERE n = %s', min: 3, keep: 1 })).rejects.toThrow(/min ≤ keep/);
  });
  it('a missing SQLite file fails at once with DBD_UNAVAILABLE', async () => {
    await expect(dbdProvider({ driver: 'sqlite3', params: '/nonexistent/u.db', userQuery: 'SELECT pw FROM u WHERE n = %s' })).rejects.toMatchObject({ code: 'DBD_UNAVAILABLE' });
  });
});
