import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigErrors } from '../../../src/errors.js';
import { builtinModules } from '../../../src/modules.js';
import { memoryModule } from '../../helpers/memory-provider.js';

const users = memoryModule({ users: {} });

async function errorsOf(text: string): Promise<{ line: number; code: string; message: string; hint: string | undefined }[]> {
  try {
    await loadConfig({ text, textName: 'site.conf', modules: [...builtinModules(), users] });
  } catch (err) {
    if (err instanceof ConfigErrors) {
      return err.errors.map((e) => ({ line: e.line, code: e.code, message: e.message, hint: e.hint }));
    }
    throw err;
  }
  return [];
}

describe('loading a configuration', () => {
  it('reports every bad line at once, with file:line and a hint', async () => {
    const errors = await errorsOf(
      [
        '<Location /a>', //                        1
        '  AuthUserFiel /etc/users', //            2 misspelled
        '  Require all maybe', //                  3
        '  Require frobnicate x', //               4
        '  Listen 8080', //                        5 server-only
        '</Location>', //                          6
        'Require valid-user', //                   7 not at top level
        'AuthType Digestive', //                   8 not at top level either
      ].join('\n'),
    );
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [2, 'CONFIG_UNKNOWN_DIRECTIVE'],
      [3, 'CONFIG_BAD_REQUIRE'],
      [4, 'CONFIG_UNKNOWN_PROVIDER'],
      [5, 'CONFIG_NOT_ALLOWED_HERE'],
      [7, 'CONFIG_NOT_ALLOWED_HERE'],
      [8, 'CONFIG_NOT_ALLOWED_HERE'],
    ]);
    expect(errors[0]!.hint).toBe('did you mean AuthUserFile?');
    expect(errors[1]!.message).toBe("Argument for 'Require all' must be 'granted' or 'denied'");
    expect(errors[2]!.message).toBe('Unknown Authz provider: frobnicate');
  });

  it('formats errors as file:line: Directive: message (hint)', async () => {
    await expect(loadConfig({ text: '<Location />\nAuthTyp Basic\n</Location>', textName: 'x.conf', modules: builtinModules() })).rejects.toThrow(
      "x.conf:2: AuthTyp: Invalid command 'AuthTyp', perhaps misspelled or defined by a module not included in authts (did you mean AuthType?)",
    );
  });

  it('refuses negation where it has no effect (httpd: "negative Require directive has no effect")', async () => {
    const errors = await errorsOf('<Location />\nRequire not ip 10.0.0.1\n</Location>');
    expect(errors).toEqual([
      expect.objectContaining({ line: 2, code: 'CONFIG_BAD_REQUIRE', message: 'negative Require directive has no effect in <Directory>, <Location>, or similar directive' }),
    ]);
  });

  it('refuses containers that are empty or only negative (AH01624)', async () => {
    const errors = await errorsOf(
      '<Location />\n<RequireAll>\n</RequireAll>\n<RequireAll>\nRequire not ip 10.0.0.1\n</RequireAll>\n</Location>',
    );
    expect(errors.map((e) => e.message)).toEqual([
      '<RequireAll> directive contains no authorization directives',
      '<RequireAll> directive contains only negative authorization directives',
    ]);
  });

  it('refuses RequireNone directly in an implicit RequireAny', async () => {
    const errors = await errorsOf('<Location />\n<RequireNone>\nRequire ip 10.0.0.1\n</RequireNone>\n</Location>');
    expect(errors[0]?.message).toBe('negative <RequireNone> directive has no effect in <Directory>, <Location>, or similar directive');
  });

  it('refuses AuthType schemes authts does not implement, and unknown providers', async () => {
    const errors = await errorsOf('<Location />\nAuthType Digestive\nAuthBasicProvider nope\n</Location>');
    expect(errors.map((e) => e.message)).toEqual(['AuthType Digestive is not supported by authts', 'Unknown Authn provider: nope']);
  });

  it('refuses AllowOverride other than None: .htaccess rules would be lost', async () => {
    const errors = await errorsOf('<Directory /srv>\nAllowOverride AuthConfig\n</Directory>');
    expect(errors[0]).toMatchObject({ code: 'CONFIG_BAD_ARGUMENT', hint: 'move the .htaccess rules into this section and use AllowOverride None' });
  });

  it('accepts directives that cannot change a decision, with a warning', async () => {
    const config = await loadConfig({
      text: 'ServerName example.org\nLogLevel debug\n<Directory /srv>\nOptions FollowSymLinks\nAllowOverride None\n</Directory>',
      textName: 'w.conf',
      modules: builtinModules(),
    });
    expect(config.warnings.map((w) => [w.line, w.message])).toEqual([
      [1, 'ServerName has no effect in authts and is ignored'],
      [2, 'LogLevel has no effect in authts and is ignored'],
      [4, 'Options has no effect in authts and is ignored'],
    ]);
  });

  it('refuses sections nested where httpd refuses them', async () => {
    const errors = await errorsOf('<Location /a>\n<Directory /b>\n</Directory>\n</Location>\n<Location /c>\n<Files x>\n</Files>\n</Location>');
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [2, 'CONFIG_NOT_ALLOWED_HERE'],
      [6, 'CONFIG_NOT_ALLOWED_HERE'],
    ]);
  });

  it('refuses bad regexes in *Match sections', async () => {
    const errors = await errorsOf('<LocationMatch "(">\nRequire all denied\n</LocationMatch>');
    expect(errors[0]?.code).toBe('CONFIG_BAD_REGEX');
  });

  it('resolve remembers each target, and never mixes up two targets', async () => {
    const config = await loadConfig({
      text: [
        '<Directory "/srv/www/p">',
        'Require all denied',
        '</Directory>',
        '<Files "x">',
        'Require ip 127.0.0.1',
        '</Files>',
        '<Location "/loc">',
        'Require all granted',
        '</Location>',
      ].join('\n'),
      modules: builtinModules(),
    });
    const { authzCore } = await import('../../../src/authz/core.js');
    const linesOf = (target: { path: string; filename?: string; isDirectory?: boolean }) =>
      config.resolve(target).sections.map((s) => s.pattern);
    const file = { path: '/loc/x', filename: '/srv/www/p/x', isDirectory: false };
    expect(config.resolve(file)).toBe(config.resolve({ ...file }));
    expect(linesOf(file)).toEqual(['/srv/www/p', 'x', '/loc']);
    // filename + path read the same as the first target's ("/srv/www/p/x" + "/loc/x"): another target.
    expect(linesOf({ path: '/x', filename: '/srv/www/p/x/loc', isDirectory: false })).toEqual(['/srv/www/p']);
    expect(linesOf({ path: '/loc/x' })).toEqual(['/loc']);
    expect(linesOf({ path: '/loc/x', filename: '/srv/www/p/x', isDirectory: true })).toEqual(['/srv/www/p', 'x', '/loc']);
    expect(linesOf({ path: '/other', filename: '/srv/www/q/x', isDirectory: false })).toEqual(['x']);
    expect(config.resolve({ path: '/nothing' }).get(authzCore).tree).toBeUndefined();
    // A target too long to remember is matched all the same.
    const long = { path: `/loc/${'a'.repeat(5_000)}`, filename: `/srv/www/p/${'a'.repeat(5_000)}`, isDirectory: false };
    expect(linesOf(long)).toEqual(['/srv/www/p', '/loc']);
    expect(config.resolve(long)).toBe(config.resolve({ ...long }));
  });

  it('freezes the loaded settings', async () => {
    const config = await loadConfig({ text: '<Location />\nRequire all granted\n</Location>', modules: builtinModules() });
    const dir = config.resolve({ path: '/x' });
    const { authzCore } = await import('../../../src/authz/core.js');
    expect(Object.isFrozen(dir.get(authzCore))).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });
});
