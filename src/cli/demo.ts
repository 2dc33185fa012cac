import { makeBcryptHash } from '../passwords/bcrypt.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** What `authts demo` wrote. */
export interface DemoSite {
  readonly dir: string;
  readonly configFile: string;
  readonly user: string;
  readonly password: string;
  /** A user that lives in the SQLite database (and is in its `admins` group). */
  readonly sqlUser: string;
  readonly sqlPassword: string;
  /** The SQLite database file. */
  readonly database: string;
}

/**
 * Writes a small site: a public page, a `/private/` directory that needs a user from an
 * htpasswd file or from a SQLite database (bcrypt in both, `AuthBasicProvider file dbd`), an
 * admin page for the `admins` group of the group file or of the database, and the
 * configuration. No database server is needed: SQLite is a file.
 */
export async function createDemoSite(options: { port: number; dir?: string }): Promise<DemoSite> {
  const dir = options.dir ? resolve(options.dir) : await mkdtemp(join(tmpdir(), 'authts-demo-'));
  const htdocs = join(dir, 'htdocs');
  await mkdir(join(htdocs, 'private', 'admin'), { recursive: true });
  await writeFile(join(htdocs, 'index.html'), page('authts demo', '<p>This page is public. <a href="/private/">/private/</a> needs a login (demo / demo).</p>'));
  await writeFile(join(htdocs, 'private', 'index.html'), page('Private', '<p>You are in. <a href="admin/">admin/</a> needs the admins group.</p>'));
  await writeFile(join(htdocs, 'private', 'admin', 'index.html'), page('Admins only', '<p>Members of the admins group only.</p>'));
  const user = 'demo';
  const password = 'demo';
  await writeFile(join(dir, 'users'), `${user}:${await bcrypt2y(password)}\nroot:${await bcrypt2y('root-demo')}\n`, { mode: 0o640 });
  await writeFile(join(dir, 'groups'), 'admins: root\n');
  const sqlUser = 'sam';
  const sqlPassword = 'sam';
  const database = join(dir, 'users.db');
  await writeDemoDatabase(database, [
    { name: sqlUser, hash: await bcrypt2y(sqlPassword), email: 'sam@example.org', groups: ['admins'] },
    { name: 'eve', hash: await bcrypt2y('eve-demo'), email: 'eve@example.org', groups: ['staff'] },
  ]);
  const configFile = join(dir, 'site.conf');
  await writeFile(
    configFile,
    [
      '# The authts demo: written by `authts demo`.',
      `Define SITE "${dir}"`,
      `Listen 127.0.0.1:${options.port}`,
      'DocumentRoot "${SITE}/htdocs"',
      '',
      '# Users and groups in SQLite too: a file, no database server.',
      'DBDriver sqlite3',
      'DBDParams "${SITE}/users.db"',
      '',
      '<Directory "${SITE}/htdocs/private">',
      '    AuthType Basic',
      '    AuthName "authts demo"',
      '    # The htpasswd file first; a name it does not know is looked up in SQLite.',
      '    AuthBasicProvider file dbd',
      '    AuthUserFile "${SITE}/users"',
      '    AuthGroupFile "${SITE}/groups"',
      '    AuthDBDUserPWQuery "SELECT password_hash, email FROM users WHERE username = %s"',
      '    AuthzDBDQuery "SELECT groupname FROM user_groups WHERE username = %s"',
      '    Require valid-user',
      '</Directory>',
      '',
      '<Directory "${SITE}/htdocs/private/admin">',
      '    # Either line grants (an implicit <RequireAny>).',
      '    Require group admins',
      '    Require dbd-group admins',
      '</Directory>',
      '',
    ].join('\n'),
  );
  return { dir, configFile, user, password, sqlUser, sqlPassword, database };
}

interface DemoSqlUser {
  readonly name: string;
  readonly hash: string;
  readonly email: string;
  readonly groups: readonly string[];
}

/** (Re)creates the demo's SQLite database: `users` and `user_groups`, exact (BINARY) names. */
async function writeDemoDatabase(file: string, users: readonly DemoSqlUser[]): Promise<void> {
  await rm(file, { force: true });
  const db = new Database(file);
  try {
    db.exec(`CREATE TABLE users (
      username TEXT NOT NULL PRIMARY KEY,
      password_hash TEXT NOT NULL,
      email TEXT
    );
    CREATE TABLE user_groups (
      username TEXT NOT NULL,
      groupname TEXT NOT NULL,
      PRIMARY KEY (username, groupname)
    );`);
    const insertUser = db.prepare('INSERT INTO users (username, password_hash, email) VALUES (?, ?, ?)');
    const insertGroup = db.prepare('INSERT INTO user_groups (username, groupname) VALUES (?, ?)');
    db.transaction(() => {
      for (const u of users) {
        insertUser.run(u.name, u.hash, u.email);
        for (const g of u.groups) insertGroup.run(u.name, g);
      }
    })();
  } finally {
    db.close();
  }
}

/** A cost-10 bcrypt hash written `$2y$`, as Apache's htpasswd writes it. */
async function bcrypt2y(password: string): Promise<string> {
  return makeBcryptHash(Buffer.from(password, 'utf8'), 10);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n${body}\n</body></html>\n`;
}
