import { makeBcryptHash } from '../passwords/bcrypt.js';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** What `authts demo` wrote. */
export interface DemoSite {
  readonly dir: string;
  readonly configFile: string;
  readonly user: string;
  readonly password: string;
}

/**
 * Writes a small site: a public page, a `/private/` directory that needs a user from an
 * htpasswd file (bcrypt), an admin page for the `admins` group, and the configuration.
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
  const configFile = join(dir, 'site.conf');
  await writeFile(
    configFile,
    [
      '# The authts demo: written by `authts demo`.',
      `Define SITE "${dir}"`,
      `Listen 127.0.0.1:${options.port}`,
      'DocumentRoot "${SITE}/htdocs"',
      '',
      '<Directory "${SITE}/htdocs/private">',
      '    AuthType Basic',
      '    AuthName "authts demo"',
      '    AuthBasicProvider file',
      '    AuthUserFile "${SITE}/users"',
      '    AuthGroupFile "${SITE}/groups"',
      '    Require valid-user',
      '</Directory>',
      '',
      '<Directory "${SITE}/htdocs/private/admin">',
      '    Require group admins',
      '</Directory>',
      '',
    ].join('\n'),
  );
  return { dir, configFile, user, password };
}

/** A cost-10 bcrypt hash written `$2y$`, as Apache's htpasswd writes it. */
async function bcrypt2y(password: string): Promise<string> {
  return makeBcryptHash(Buffer.from(password, 'utf8'), 10);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n${body}\n</body></html>\n`;
}
