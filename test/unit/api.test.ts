/**
 * createAuth: options checked eagerly (TypeError naming the option), config from a file or
 * inline text (errors cite file:line / name:line), defines, user modules, logger, root and the
 * request-target normalization of authts serve, returned as verdicts.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth, type Auth, type CheckRequest } from '../../src/api.js';
import { ConfigErrors } from '../../src/errors.js';
import type { Module } from '../../src/module.js';
import { REPO, basic, captureLogger, removeTempDirs, tempDir } from '../e2e/helpers.js';
import { slowProviderModule } from '../helpers/memory-provider.js';

const USERS = join(REPO, 'conf-examples', 'basic-file', 'users');
const ALICE = basic('alice:alice-secret');

function request(url: string, headers: CheckRequest['headers'] = {}): CheckRequest {
  return { method: 'GET', url, headers, remoteAddress: '127.0.0.1' };
}

/** The ConfigErrors a createAuth call rejects with, as `file:line code` strings. */
async function configErrors(promise: Promise<Auth>): Promise<string[]> {
  const failure = await promise.then(
    async (auth) => {
      await auth.close();
      return undefined;
    },
    (err: unknown) => err,
  );
  expect(failure).toBeInstanceOf(ConfigErrors);
  return (failure as ConfigErrors).errors.map((e) => `${e.file}:${e.line} ${e.code}`);
}

let dir = '';
let htdocs = '';
const opened: Auth[] = [];

async function open(...args: Parameters<typeof createAuth>): Promise<Auth> {
  const auth = await createAuth(...args);
  opened.push(auth);
  return auth;
}

beforeAll(async () => {
  dir = await tempDir('api');
  htdocs = join(dir, 'htdocs');
  await mkdir(join(htdocs, 'private'), { recursive: true });
  await mkdir(join(htdocs, 'public'), { recursive: true });
  await writeFile(join(htdocs, 'private', 'a.txt'), 'a\n');
  await writeFile(join(htdocs, 'public', 'secret.key'), 'k\n');
  await symlink(join(htdocs, 'private'), join(htdocs, 'public', 'link'));
});

afterAll(async () => {
  await Promise.all(opened.map((auth) => auth.close()));
  await removeTempDirs();
});

describe('createAuth options', () => {
  it.each([
    ['a number', { config: 42 }, /createAuth: options\.config must be a file path or \{ text, name\? \}, got number/],
    ['null', { config: null }, /options\.config must be .* got null/],
    ['an object without text', { config: { file: 'x' } }, /options\.config must be/],
    ['an empty path', { config: '' }, /options\.config must be .* empty string/],
    ['an empty name', { config: { text: '', name: '' } }, /options\.config\.name must be a non-empty string/],
  ])('refuses config as %s with a TypeError', async (_what, options, message) => {
    // @ts-expect-error deliberately wrong
    await expect(createAuth(options)).rejects.toThrow(TypeError);
    // @ts-expect-error deliberately wrong
    await expect(createAuth(options)).rejects.toThrow(message);
  });

  it('refuses a missing options object, unknown options and bad option values, naming them', async () => {
    // @ts-expect-error no options
    await expect(createAuth()).rejects.toThrow(/createAuth: options must be an object/);
    // @ts-expect-error a misspelled option
    await expect(createAuth({ config: { text: '' }, rot: 'x' })).rejects.toThrow(/unknown option "rot"/);
    // @ts-expect-error not an array
    await expect(createAuth({ config: { text: '' }, modules: {} })).rejects.toThrow(/options\.modules must be an array/);
    // @ts-expect-error not a logger
    await expect(createAuth({ config: { text: '' }, logger: console.log })).rejects.toThrow(/options\.logger must be a logger/);
    // @ts-expect-error not string values
    await expect(createAuth({ config: { text: '' }, defines: { A: 1 } })).rejects.toThrow(/options\.defines: A must be/);
    await expect(createAuth({ config: { text: '' }, root: join(dir, 'nope') })).rejects.toThrow(
      /options\.root .*nope cannot be resolved \(ENOENT\)/,
    );
    await expect(createAuth({ config: { text: '' }, root: join(htdocs, 'private', 'a.txt') })).rejects.toThrow(
      /options\.root .*a\.txt is not a directory/,
    );
  });

  it('does not change the options it is given', async () => {
    const options = Object.freeze({ config: Object.freeze({ text: 'Define X 1' }), defines: Object.freeze({ Y: '2' }) });
    await open(options);
    expect(options).toEqual({ config: { text: 'Define X 1' }, defines: { Y: '2' } });
  });
});

describe('createAuth config', () => {
  it('loads a file; its relative paths resolve against its directory', async () => {
    const auth = await open({ config: join(REPO, 'conf-examples', 'basic-file', 'site.conf'), root: join(REPO, 'conf-examples', 'basic-file', 'htdocs') });
    expect(auth.config.mainFile).toBe(join(REPO, 'conf-examples', 'basic-file', 'site.conf'));
    expect((await auth.check(request('/private/report.txt'))).status).toBe(401);
    expect((await auth.check(request('/private/report.txt', { authorization: ALICE }))).status).toBe(200);
  });

  it('cites the file and line of a bad line in a file', async () => {
    const file = join(dir, 'bad.conf');
    await writeFile(file, '# comment\nRequire valid-user\n');
    expect(await configErrors(createAuth({ config: file }))).toEqual([`${file}:2 CONFIG_NOT_ALLOWED_HERE`]);
  });

  it('cites <inline>:line for inline text, or its name', async () => {
    const text = '<Location "/x">\n  Requir valid-user\n</Location>';
    expect(await configErrors(createAuth({ config: { text } }))).toEqual(['<inline>:2 CONFIG_UNKNOWN_DIRECTIVE']);
    expect(await configErrors(createAuth({ config: { text, name: 'app.conf' } }))).toEqual(['app.conf:2 CONFIG_UNKNOWN_DIRECTIVE']);
  });

  it('resolves relative paths in inline text against the working directory', async () => {
    const users = relative(process.cwd(), USERS);
    const auth = await open({
      config: { text: `<Location "/">\nAuthType Basic\nAuthName "x"\nAuthUserFile ${users}\nRequire valid-user\n</Location>` },
    });
    expect((await auth.check(request('/', { authorization: ALICE }))).status).toBe(200);
  });

  it('takes defines as an object or a Map', async () => {
    const text = '<Location "${AREA}">\nRequire all denied\n</Location>';
    for (const defines of [{ AREA: '/area' }, new Map([['AREA', '/area']])]) {
      const auth = await open({ config: { text }, defines });
      expect((await auth.check(request('/area/x'))).status).toBe(403);
      expect((await auth.check(request('/other'))).status).toBe(200);
    }
  });

  it('registers user modules after the built-in ones', async () => {
    const blockHeader: Module = {
      name: 'block_header',
      hooks: [{ phase: 'access', order: 10, handler: (req) => (req.headers['x-block'] === 'yes' ? 403 : 'declined') }],
    };
    const auth = await open({ config: { text: '' }, modules: [blockHeader] });
    expect((await auth.check(request('/', { 'x-block': 'yes' }))).status).toBe(403);
    expect((await auth.check(request('/'))).status).toBe(200);
    await expect(createAuth({ config: { text: '' }, modules: [{ name: 'core' }] })).rejects.toThrow(TypeError);
  });

  it('logs to the logger it is given (load warnings, request failures)', async () => {
    const { log, lines } = captureLogger();
    const missing = join(dir, 'missing-users');
    const auth = await open({
      config: { text: `<Location "/">\nAuthType Basic\nAuthName "x"\nAuthUserFile ${missing}\nRequire valid-user\n</Location>` },
      logger: log,
    });
    expect(lines.some((l) => String(l['msg']).includes('does not exist'))).toBe(true);
    const verdict = await auth.check(request('/', { authorization: ALICE }));
    expect(verdict.status).toBe(500);
    expect(verdict.allowed).toBe(false);
    expect(lines.some((l) => l['level'] === 50)).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('alice-secret');
  });
});

describe('Auth.check', () => {
  const PRIVATE = `<Location "/private">\nAuthType Basic\nAuthName "Private area"\nAuthUserFile ${USERS}\nRequire valid-user\n</Location>`;

  it('answers a verdict: status, challenge, user, auth type, env', async () => {
    const auth = await open({ config: { text: PRIVATE } });
    const refused = await auth.check(request('/private/x'));
    expect(refused).toMatchObject({ allowed: false, status: 401, user: undefined });
    expect([...refused.headers]).toEqual([['WWW-Authenticate', 'Basic realm="Private area"']]);
    const allowed = await auth.check(request('/private/x?q=1', { authorization: [ALICE] }));
    expect(allowed).toMatchObject({ allowed: true, status: 200, user: 'alice', authType: 'Basic' });
    expect(allowed.env).toBeInstanceOf(Map);
  });

  it.each([
    ['/private/../private/x', 401],
    ['//private/x', 401],
    ['/%70rivate/x', 401],
    ['/a/%2e%2e/private/x', 401],
    ['http://example.com/private/x', 401],
    ['/%2e%2e/private/x', 400],
    ['/private/x#frag', 400],
    ['/private/%zz', 400],
    ['*', 400],
    ['/private%2fx', 404],
    ['/private/%00', 404],
    ['/private/%ff', 404],
  ])('normalizes %s as authts serve does → %i', async (url, status) => {
    const auth = await open({ config: { text: PRIVATE } });
    const verdict = await auth.check(request(url));
    expect(verdict).toMatchObject({ allowed: false, status, user: undefined });
  });

  it("locationCase 'insensitive' folds case in <Location> (plain, wildcard, regex); the default compares it", async () => {
    const text = [
      PRIVATE,
      '<Location "/Docs/*/draft">\nRequire all denied\n</Location>',
      '<LocationMatch "^/ADMIN(/|$)">\nRequire all denied\n</LocationMatch>',
    ].join('\n');
    const blind = await open({ config: { text }, locationCase: 'insensitive' });
    expect(blind.locationCase).toBe('insensitive');
    const exact = await open({ config: { text } });
    expect(exact.locationCase).toBe('sensitive');
    for (const [url, blindStatus, exactStatus] of [
      ['/private/x', 401, 401],
      ['/PRIVATE/x', 401, 200],
      ['/Private', 401, 200],
      ['/privatex', 200, 200],
      ['/docs/v1/DRAFT', 403, 200],
      ['/Docs/v1/draft', 403, 403],
      ['/admin/', 403, 200],
      ['/ADMIN', 403, 403],
    ] as const) {
      expect([url, (await blind.check(request(url))).status]).toEqual([url, blindStatus]);
      expect([url, (await exact.check(request(url))).status]).toEqual([url, exactStatus]);
    }
    await expect(createAuth({ config: { text: '' }, locationCase: 'ignore' as never })).rejects.toThrow(/options\.locationCase/);
  });

  it('rejects a request of the wrong shape with a TypeError naming the field', async () => {
    const auth = await open({ config: { text: '' } });
    // @ts-expect-error deliberately wrong
    await expect(auth.check(undefined)).rejects.toThrow(/Auth\.check: request must be an object/);
    // @ts-expect-error deliberately wrong
    await expect(auth.check({ method: 'GET', path: '/', headers: {}, remoteAddress: '' })).rejects.toThrow(/request\.url/);
    // @ts-expect-error deliberately wrong
    await expect(auth.check({ method: 'GET', url: '/', remoteAddress: '' })).rejects.toThrow(/request\.headers/);
    await expect(auth.check({ ...request('/'), tls: 'yes' as unknown as boolean })).rejects.toThrow(/request\.tls/);
    await expect(auth.check({ ...request('/'), readBody: 'body' as never })).rejects.toThrow(/request\.readBody must be a function/);
  });

  it('close() is idempotent; check() after it is a TypeError', async () => {
    const auth = await createAuth({ config: { text: '' } });
    await auth.close();
    await auth.close();
    await expect(auth.check(request('/'))).rejects.toThrow(/Auth\.check: called after close\(\)/);
  });

  it('close() waits for a check under way before it releases the modules', async () => {
    const { module: slow, events, entered: providerEntered } = slowProviderModule(100);
    const auth = await createAuth({
      config: { text: '<Location /x>\nAuthType Basic\nAuthName x\nAuthBasicProvider slow\nRequire valid-user\n</Location>\n' },
      modules: [slow],
    });
    const checking = auth.check({ ...request('/x/'), headers: { authorization: basic('a:b') } });
    await providerEntered;
    const closed = auth.close();
    await expect(auth.check(request('/'))).rejects.toThrow(/called after close/);
    expect((await checking).status).toBe(200);
    await closed;
    expect(events).toEqual(['provider answered', 'released']);
  });
});

describe('root and file sections', () => {
  const directory = (extra = ''): string =>
    `<Directory "${htdocs}/private">\nRequire all denied\n</Directory>\n<Files "*.key">\nRequire all denied\n</Files>\n${extra}`;

  it('maps URL paths under root, on real paths: <Directory> and <Files> match', async () => {
    const auth = await open({ config: { text: directory() }, root: htdocs });
    expect((await auth.check(request('/private/a.txt'))).status).toBe(403);
    expect((await auth.check(request('/private/missing'))).status).toBe(403);
    expect((await auth.check(request('/public/link/a.txt'))).status).toBe(403);
    expect((await auth.check(request('/public/secret.key'))).status).toBe(403);
    expect((await auth.check(request('/public/%73ecret.key'))).status).toBe(403);
    expect((await auth.check(request('/public/'))).status).toBe(200);
  });

  it('takes a relative root against the working directory', async () => {
    const auth = await open({ config: { text: directory() }, root: relative(process.cwd(), htdocs) });
    expect((await auth.check(request('/private/a.txt'))).status).toBe(403);
  });

  it('without root, every file section is an error naming its line and the root option', async () => {
    const text = `${directory('<DirectoryMatch "^/srv">\nRequire all denied\n</DirectoryMatch>\n<FilesMatch "x$">\nRequire all denied\n</FilesMatch>\n<Location "/ok">\nRequire all denied\n</Location>')}`;
    const failure = (await createAuth({ config: { text, name: 'site.conf' } }).catch((e: unknown) => e)) as ConfigErrors;
    expect(failure).toBeInstanceOf(ConfigErrors);
    expect(failure.errors.map((e) => `${e.file}:${e.line} ${e.directive} ${e.code}`)).toEqual([
      'site.conf:1 <Directory> CONFIG_NEEDS_ROOT',
      'site.conf:4 <Files> CONFIG_NEEDS_ROOT',
      'site.conf:7 <DirectoryMatch> CONFIG_NEEDS_ROOT',
      'site.conf:10 <FilesMatch> CONFIG_NEEDS_ROOT',
    ]);
    expect(failure.errors[0]!.toString()).toContain("pass createAuth's root option");
  });

  it('a <Location>-only configuration needs no root', async () => {
    const auth = await open({ config: { text: '<Location "/x">\nRequire all denied\n</Location>' } });
    expect((await auth.check(request('/x'))).status).toBe(403);
  });
});
