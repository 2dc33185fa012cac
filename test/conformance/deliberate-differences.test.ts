/**
 * The deliberate differences of docs/differences-from-httpd.md, each shown against BOTH peers:
 * what a real httpd 2.4 does with the request or configuration, and what authts does instead.
 * Every httpd expectation here was observed on Apache/2.4.71 (Debian) with the harness in
 * test/services/httpd.ts; if httpd changes, these tests say so.
 *
 * Differences that cannot be observed without timing (unknown users verified against a dummy
 * hash, constant-time comparison) are checked without timing in
 * test/unit/providers/file-unknown-user.test.ts and test/e2e/attacks.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigErrors, type ConfigError } from '../../src/errors.js';
import { builtinModules } from '../../src/modules.js';
import { rawRequest, type RawResponse } from '../services/http-client.js';
import { httpdConfigTest, startHttpd } from '../services/httpd.js';
import { fixtureFiles, send, startPeers, type ConformanceRequest, type Peers } from './peers.js';

const REALM = 'Basic realm="Private area"';
const b64 = (text: string): string => Buffer.from(text, 'latin1').toString('base64');

/** A yescrypt hash made by the system's crypt(3) (libxcrypt), which httpd falls back to. */
function yescrypt(password: string): string {
  return execFileSync('perl', ['-e', 'print crypt($ARGV[0], q($y$j9T$F5Jx5fExrKuPp53xLKQ..1$))', password], { encoding: 'utf8' });
}

const protectedDir = (path: string, userFile: string, require = 'Require valid-user'): string => `
<Directory "\${AUTHTS_DOCROOT}${path}">
    AuthType Basic
    AuthName "Private area"
    AuthUserFile "\${AUTHTS_HTTPD_DIR}/${userFile}"
    AuthGroupFile "\${AUTHTS_HTTPD_DIR}/groups-by-method"
    ${require}
</Directory>
`;

describe('requests: one httpd and one authts with the same configuration and files', () => {
  let peers: Peers;

  beforeAll(async () => {
    peers = await startPeers({
      name: 'deliberate differences',
      config: [
        protectedDir('/private', 'users'),
        protectedDir('/yescrypt', 'users-yescrypt'),
        protectedDir('/by-method', 'users', 'Require group %{REQUEST_METHOD}'),
      ].join(''),
      files: {
        'users-yescrypt': `yuki:${yescrypt('yuki-pw')}\n`,
        'groups-by-method': 'GET: alice\n',
        'htdocs/yescrypt/y.txt': 'yescrypt\n',
        'htdocs/by-method/m.txt': 'by method\n',
        'htdocs/public/p.txt': 'public\n',
      },
      requests: [],
    });
    const root = peers.httpd.documentRoot;
    // Made inside the instance's DocumentRoot, after start: links from public places into /private.
    await symlink(join(root, 'private'), join(root, 'public', 'into-private'));
    await symlink(join(root, 'private', 'a.txt'), join(root, 'public', 'a-link.txt'));
    // A file name that is not UTF-8 (latin1 "café.txt").
    const latin1 = Buffer.from(join(root, 'caf\u00e9.txt'), 'latin1');
    await writeFile(latin1, 'latin1 name\n');
    await chmod(latin1, 0o644);
  });

  afterAll(async () => {
    await peers?.stop();
  });

  async function both(request: ConformanceRequest): Promise<{ httpd: RawResponse; authts: RawResponse }> {
    const [httpd, authts] = await Promise.all([send(peers.httpd.url, request), send(peers.authtsUrl, request)]);
    return { httpd, authts };
  }

  /** httpd's error log gets its line after the response is sent: poll (bounded) for `text`. */
  async function httpdLogged(text: string): Promise<boolean> {
    for (let i = 0; i < 50; i++) {
      if ((await peers.httpd.errorLog()).includes(text)) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  describe('malformed Basic credentials: httpd decodes leniently, authts answers 400', () => {
    it('bad base64 ("Basic !!!"): httpd 401 + challenge, authts 400 without one', async () => {
      const { httpd, authts } = await both({ path: '/private/bad-base64', header: 'Basic !!!', status: 0 });
      expect([httpd.status, httpd.headers['www-authenticate']]).toEqual([401, REALM]);
      expect([authts.status, authts.headers['www-authenticate']]).toEqual([400, undefined]);
    });

    it('valid credentials followed by junk: httpd decodes up to the junk and grants (200), authts 400', async () => {
      const { httpd, authts } = await both({ path: '/private/a.txt', header: `Basic ${b64('alice:alice-pw')}!!!`, status: 0 });
      expect(httpd.status).toBe(200);
      expect(authts.status).toBe(400);
    });

    it('no colon: httpd takes it as the user with an empty password (401, Password Mismatch), authts 400', async () => {
      const { httpd, authts } = await both({ path: '/private/no-colon', header: `Basic ${b64('alice')}`, status: 0 });
      expect([httpd.status, authts.status]).toEqual([401, 400]);
      expect(await httpdLogged('user alice: authentication failure for "/private/no-colon": Password Mismatch')).toBe(true);
    });

    it('a NUL after the password: httpd stops at the NUL and grants (200), authts 400', async () => {
      const { httpd, authts } = await both({ path: '/private/a.txt', header: `Basic ${b64('alice:alice-pw\0junk')}`, status: 0 });
      expect([httpd.status, authts.status]).toEqual([200, 400]);
    });

    it('a NUL inside the user: httpd looks up the truncated name "ali" (401), authts 400', async () => {
      const { httpd, authts } = await both({ path: '/private/nul-user', header: `Basic ${b64('ali\0ce:alice-pw')}`, status: 0 });
      expect([httpd.status, authts.status]).toEqual([401, 400]);
      expect(await httpdLogged('user ali not found: /private/nul-user')).toBe(true);
    });

    it('CR/LF in the password: httpd compares it as is (401), authts 400', async () => {
      const { httpd, authts } = await both({ path: '/private/crlf', header: `Basic ${b64('alice:alice-pw\r\nX-Injected: 1')}`, status: 0 });
      expect([httpd.status, authts.status]).toEqual([401, 400]);
      expect(await httpdLogged('user alice: authentication failure for "/private/crlf": Password Mismatch')).toBe(true);
    });

    it('LF in the user: httpd looks the name up (401, not found), authts 400', async () => {
      const { httpd, authts } = await both({ path: '/private/lf-user', header: `Basic ${b64('alice\n:alice-pw')}`, status: 0 });
      expect([httpd.status, authts.status]).toEqual([401, 400]);
      expect(await httpdLogged('user alice\\n not found: /private/lf-user')).toBe(true);
    });
  });

  describe('two Authorization headers: httpd joins them and the first credentials count, authts 400', () => {
    const twice = (first: string, second: string) => (url: string) =>
      rawRequest(url, { path: '/private/a.txt', headers: [['Authorization', first], ['Authorization', second]] });

    it('good then bad: httpd 200, authts 400', async () => {
      const send2 = twice(`Basic ${b64('alice:alice-pw')}`, `Basic ${b64('alice:wrong')}`);
      const [httpd, authts] = await Promise.all([send2(peers.httpd.url), send2(peers.authtsUrl)]);
      expect([httpd.status, authts.status]).toEqual([200, 400]);
    });

    it('bad then good: httpd 401, authts 400', async () => {
      const send2 = twice(`Basic ${b64('alice:wrong')}`, `Basic ${b64('alice:alice-pw')}`);
      const [httpd, authts] = await Promise.all([send2(peers.httpd.url), send2(peers.authtsUrl)]);
      expect([httpd.status, authts.status]).toEqual([401, 400]);
    });
  });

  describe('symlinks: httpd matches <Directory> before resolving them, authts on the real path', () => {
    it('a link to the protected directory, from a public one: httpd 200 without credentials, authts 401', async () => {
      const { httpd, authts } = await both({ path: '/public/into-private/a.txt', status: 0 });
      expect(httpd.status).toBe(200);
      expect(httpd.body).toBe('private a\n');
      expect([authts.status, authts.headers['www-authenticate']]).toEqual([401, REALM]);
    });

    it('a link to a protected file: httpd 200, authts 401; with credentials both serve it', async () => {
      const { httpd, authts } = await both({ path: '/public/a-link.txt', status: 0 });
      expect([httpd.status, authts.status]).toEqual([200, 401]);
      const authed = await both({ path: '/public/a-link.txt', auth: 'alice:alice-pw', status: 0 });
      expect([authed.httpd.status, authed.authts.status]).toEqual([200, 200]);
      expect(authed.authts.body).toBe(authed.httpd.body);
    });
  });

  it('a hash only the system crypt() knows ($y$ yescrypt): httpd verifies it (200), authts 500', async () => {
    const { httpd, authts } = await both({ path: '/yescrypt/y.txt', auth: 'yuki:yuki-pw', status: 0 });
    expect([httpd.status, authts.status]).toEqual([200, 500]);
    // A wrong password is a plain 401 for httpd; authts still cannot check it.
    const wrong = await both({ path: '/yescrypt/y.txt', auth: 'yuki:wrong', status: 0 });
    expect([wrong.httpd.status, wrong.authts.status]).toEqual([401, 500]);
  });

  it('a percent-encoded name that is not UTF-8: httpd serves the file (200), authts 404', async () => {
    const { httpd, authts } = await both({ path: '/caf%E9.txt', status: 0 });
    expect(httpd.status).toBe(200);
    expect(httpd.body).toBe('latin1 name\n');
    expect(authts.status).toBe(404);
  });

  it('TRACE: httpd echoes the request (200, TraceEnable On), authts 405', async () => {
    const { httpd, authts } = await both({ method: 'TRACE', path: '/public/p.txt', status: 0 });
    expect(httpd.status).toBe(200);
    expect(httpd.headers['content-type']).toBe('message/http');
    expect(httpd.body).toMatch(/^TRACE \/public\/p\.txt HTTP\/1\.1\r\n/);
    expect(authts.status).toBe(405);
  });

  it('Require group %{…}: httpd evaluates the expression per request, authts takes the name literally', async () => {
    // groups-by-method has a group named "GET" with alice in it.
    const { httpd, authts } = await both({ path: '/by-method/m.txt', auth: 'alice:alice-pw', status: 0 });
    expect([httpd.status, authts.status]).toEqual([200, 401]);
  });
});

describe('configuration: httpd -t (and a running httpd) against authts loading the same text', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  /** Loads `config` as authts would (written to auth.conf, the harness's names defined); the errors, or [] when it loads. */
  async function authtsErrors(config: string, files: Record<string, string> = {}): Promise<{ errors: readonly ConfigError[]; file: string; warnings: string[] }> {
    const dir = await mkdtemp(join(tmpdir(), 'authts-diff-'));
    dirs.push(dir);
    await mkdir(join(dir, 'htdocs'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    const file = join(dir, 'auth.conf');
    await writeFile(file, config);
    try {
      const loaded = await loadConfig({
        file,
        modules: builtinModules(),
        defines: new Map([
          ['AUTHTS_HTTPD_DIR', dir],
          ['AUTHTS_DOCROOT', join(dir, 'htdocs')],
        ]),
      });
      const warnings = loaded.warnings.map((w) => `${w.file}:${w.line}: ${w.message}`);
      await loaded.close();
      return { errors: [], file, warnings };
    } catch (err) {
      if (err instanceof ConfigErrors) return { errors: err.errors, file, warnings: [] };
      throw err;
    }
  }

  it('an undefined ${NAME}: httpd warns (AH00111) and keeps the text literal, so the section protects nothing; authts: a load error at file:line', async () => {
    const config = `<Directory "\${AUTHTS_DOCROOT_TYPO}/private">
    AuthType Basic
    AuthName "Private area"
    AuthUserFile "\${AUTHTS_HTTPD_DIR}/users"
    Require valid-user
</Directory>
`;
    const t = await httpdConfigTest(config);
    expect(t.ok).toBe(true);
    expect(t.output).toContain('AH00111: Config variable ${AUTHTS_DOCROOT_TYPO} is not defined');
    const httpd = await startHttpd({ config, files: fixtureFiles() });
    try {
      expect((await rawRequest(httpd.url, { path: '/private/a.txt' })).status).toBe(200);
    } finally {
      await httpd.stop();
    }

    const { errors, file } = await authtsErrors(config);
    expect(errors.map((e) => [e.file, e.line, e.code])).toEqual([[file, 1, 'CONFIG_UNDEFINED_VARIABLE']]);
    expect(errors[0]!.message).toContain('Config variable ${AUTHTS_DOCROOT_TYPO} is not defined');
  });

  it('AllowOverride AuthConfig: httpd loads it and applies .htaccess rules; authts refuses to load', async () => {
    const config = `<Directory "\${AUTHTS_DOCROOT}/open">
    AllowOverride AuthConfig
</Directory>
`;
    expect(await httpdConfigTest(config)).toEqual({ ok: true, output: 'Syntax OK\n' });
    const httpd = await startHttpd({
      config,
      files: {
        ...fixtureFiles(),
        'htdocs/open/o.txt': 'open\n',
        'htdocs/open/.htaccess': 'AuthType Basic\nAuthName "from htaccess"\nAuthUserFile "${AUTHTS_HTTPD_DIR}/users"\nRequire valid-user\n',
      },
    });
    try {
      const res = await rawRequest(httpd.url, { path: '/open/o.txt' });
      expect([res.status, res.headers['www-authenticate']]).toEqual([401, 'Basic realm="from htaccess"']);
    } finally {
      await httpd.stop();
    }

    const { errors, file } = await authtsErrors(config);
    expect(errors.map((e) => [e.file, e.line, e.directive])).toEqual([[file, 2, 'AllowOverride']]);
    expect(errors[0]!.message).toContain('AllowOverride AuthConfig would let .htaccess files change access rules');
    expect((await authtsErrors(config.replace('AuthConfig', 'None'))).errors).toEqual([]);
  });

  it('an unknown AuthType: httpd loads it and answers 500 per request; authts refuses to load', async () => {
    const config = `<Directory "\${AUTHTS_DOCROOT}/private">
    AuthType Anything
    AuthName "Private area"
    Require valid-user
</Directory>
`;
    expect((await httpdConfigTest(config)).ok).toBe(true);
    const httpd = await startHttpd({ config, files: fixtureFiles() });
    try {
      expect((await rawRequest(httpd.url, { path: '/private/a.txt' })).status).toBe(500);
    } finally {
      await httpd.stop();
    }
    const { errors, file } = await authtsErrors(config);
    expect(errors.map((e) => [e.file, e.line, e.code, e.message])).toEqual([
      [file, 2, 'CONFIG_BAD_ARGUMENT', 'AuthType Anything is not supported by authts'],
    ]);
  });

  it('a directive of a module authts does not have (mod_authn_dbm): httpd loads it, authts refuses', async () => {
    const config = `<Directory "\${AUTHTS_DOCROOT}/private">
    AuthDBMUserFile users.dbm
</Directory>
`;
    expect((await httpdConfigTest(config, { modules: ['authn_dbm'] })).ok).toBe(true);
    const { errors, file } = await authtsErrors(config);
    expect(errors.map((e) => [e.file, e.line, e.code])).toEqual([[file, 2, 'CONFIG_UNKNOWN_DIRECTIVE']]);
  });

  it('a directive that cannot change a decision (Options): both load it; authts warns that it is ignored', async () => {
    const config = `<Directory "\${AUTHTS_DOCROOT}/private">
    Options FollowSymLinks
</Directory>
`;
    expect(await httpdConfigTest(config)).toEqual({ ok: true, output: 'Syntax OK\n' });
    const { errors, file, warnings } = await authtsErrors(config);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([`${file}:2: Options has no effect in authts and is ignored`]);
  });

  it('Require group %{…}: both load it; authts warns that the name is taken literally', async () => {
    const config = `<Directory "\${AUTHTS_DOCROOT}/private">
    AuthType Basic
    AuthName "Private area"
    AuthUserFile "\${AUTHTS_HTTPD_DIR}/users"
    AuthGroupFile "\${AUTHTS_HTTPD_DIR}/groups"
    Require group %{REQUEST_METHOD}
</Directory>
`;
    expect((await httpdConfigTest(config, { files: fixtureFiles() })).ok).toBe(true);
    const { errors, file, warnings } = await authtsErrors(config, { users: '', groups: '' });
    expect(errors).toEqual([]);
    expect(warnings).toEqual([`${file}:6: Require group: authts does not evaluate %{…} expressions here; the names are taken literally`]);
  });

  it('an Include cycle: httpd recurses until its depth limit, authts reports it at once with the chain', async () => {
    const cycle = { 'a.conf': 'Include "${AUTHTS_HTTPD_DIR}/b.conf"\n', 'b.conf': 'Include "${AUTHTS_HTTPD_DIR}/a.conf"\n' };
    const config = 'Include "${AUTHTS_HTTPD_DIR}/a.conf"\n';
    const t = await httpdConfigTest(config, { files: cycle });
    expect(t.ok).toBe(false);
    expect(t.output.match(/Syntax error on line 1 of [^:]*\/a\.conf/g)?.length ?? 0).toBeGreaterThan(10);

    const { errors, file } = await authtsErrors(config, cycle);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('CONFIG_INCLUDE');
    expect(errors[0]!.toString()).toContain('a.conf');
    expect(errors[0]!.toString()).toContain('b.conf');
    expect([file, join(file, '..', 'b.conf')]).toContain(errors[0]!.file);
  });

  it.each(['AuthUserFile', 'AuthGroupFile'])('an empty %s: httpd 2.4.71 rejects it at load too (the differences doc says it loads)', async (directive) => {
    const config = `<Directory "\${AUTHTS_DOCROOT}/private">
    ${directive} ""
</Directory>
`;
    const t = await httpdConfigTest(config);
    expect(t.ok).toBe(false);
    expect(t.output).toContain(`Syntax error on line 2 of`);
    expect(t.output).toContain(`${directive} takes one argument`);
    const { errors, file } = await authtsErrors(config);
    expect(errors.map((e) => [e.file, e.line, e.code])).toEqual([[file, 2, 'CONFIG_BAD_ARGUMENT']]);
  });
});
