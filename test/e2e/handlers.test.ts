/**
 * `AuthTsHandler` end to end: handler modules written to disk (.mjs and TypeScript loaded
 * through tsx), plugged into the phases of `authts serve` (startServer on 127.0.0.1), answered
 * over real HTTP. Failures must never grant; load problems are configuration errors with
 * file:line; an edited handler is picked up by the next request without a restart.
 */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { rawRequest, type RawResponse } from '../services/http-client.js';
import { captureLogger, REPO, removeTempDirs, tempDir } from './helpers.js';

let dir = '';
let htdocs = '';
let server: RunningServer;
let url = '';
const logged = captureLogger();

/** Locations under test; each has /<name>/a.txt. */
const LOCATIONS = ['access', 'named', 'unnamed', 'default-only', 'ts', 'authz', 'both', 'multi', 'multi-ok', 'throw', 'reject',
  'authn-throw', 'authz-throw', 'two-hundred', 'undefined', 'string', 'reload', 'reload-ts'];

const handlers: Record<string, string> = {
  // Access: 403 for one path, declines elsewhere.
  'access.mjs': `export function accessHandler(req) {
  return req.path.startsWith('/access/forbidden') ? 403 : 'declined';
}
`,
  'named.mjs': `export function accessHandler() { return 451; }
export function deny() { return 403; }
export function allow() { return 'ok'; }
`,
  'default-only.mjs': `export default function (req) { return 418; }
`,
  // accessHandler for the access phase; the authz phase has no authzHandler, so default runs.
  'both.mjs': `export function accessHandler() { return 'ok'; }
export default function (req) { return req.user === 'x' ? 403 : 'declined'; }
`,
  // TypeScript syntax: types, an interface, a type-only import, 'as const', a non-null assertion.
  'authn.ts': `import type { AuthRequest, PhaseResult } from ${JSON.stringify(join(REPO, 'src', 'request.js'))};
interface Claim { readonly user: string; readonly via: 'header' }
const SCHEME = 'X-User' as const;
function claim(req: AuthRequest): Claim | undefined {
  const user: string | undefined = req.headers['x-user'];
  return user === undefined ? undefined : { user: user!, via: 'header' };
}
export async function authnHandler(req: AuthRequest): Promise<PhaseResult> {
  const c = claim(req);
  if (c === undefined) return 401;
  req.user = c.user;
  req.authType = SCHEME;
  return 'ok';
}
`,
  'authz.mjs': `export function authzHandler(req) {
  if (req.headers['x-deny'] !== undefined) return 403;
  return req.user === 'root' ? 'ok' : 'declined';
}
`,
  'set-a.mjs': `export function accessHandler(req) { req.responseHeaders.set('X-A', 'ran'); return 'ok'; }
`,
  'set-b.mjs': `export function accessHandler(req) { req.responseHeaders.set('X-B', 'ran'); return 'declined'; }
`,
  'stop.mjs': `export function accessHandler() { return 403; }
`,
  'throw.mjs': `export function accessHandler() { throw new Error('boom'); }
export function authnHandler(req) { req.user = 'x'; throw new Error('boom after setting the user'); }
export function authzHandler() { throw new Error('boom in authz'); }
`,
  'reject.mjs': `export async function accessHandler() { await null; throw new Error('async boom'); }
`,
  'two-hundred.mjs': `export function accessHandler() { return 200; }
`,
  'undefined.mjs': `export function accessHandler() { return undefined; }
`,
  'string.mjs': `export function accessHandler() { return 'OK'; }
`,
  'reload.mjs': `export function accessHandler() { return 403; }
`,
  'reload.ts': `export function accessHandler(): number { return 403; }
`,
};

const loc = (path: string, ...lines: string[]): string =>
  [`<Location "/${path}">`, ...lines.map((l) => `    ${l}`), '</Location>'].join('\n');

function config(): string {
  return [
    `DocumentRoot "${htdocs}"`,
    loc('access', 'AuthTsHandler access handlers/access.mjs', 'Require all granted'),
    loc('named', 'AuthTsHandler access handlers/named.mjs#deny', 'Require all granted'),
    '<Location "/named/allowed">',
    '    AuthTsHandler access handlers/named.mjs#allow',
    '</Location>',
    loc('unnamed', 'AuthTsHandler access handlers/named.mjs', 'Require all granted'),
    loc('default-only', 'AuthTsHandler access handlers/default-only.mjs', 'Require all granted'),
    loc('ts', 'AuthTsHandler authn handlers/authn.ts', 'Require user x'),
    loc('authz', 'AuthTsHandler authn handlers/authn.ts', 'AuthTsHandler authz handlers/authz.mjs', 'Require user x'),
    loc('both', 'AuthTsHandler access handlers/both.mjs', 'AuthTsHandler authn handlers/authn.ts', 'AuthTsHandler authz handlers/both.mjs', 'Require valid-user'),
    loc('multi', 'AuthTsHandler access handlers/set-a.mjs', 'AuthTsHandler access handlers/set-b.mjs', 'AuthTsHandler access handlers/stop.mjs',
      'AuthTsHandler access handlers/throw.mjs', 'Require all granted'),
    loc('multi-ok', 'AuthTsHandler access handlers/set-a.mjs', 'AuthTsHandler access handlers/set-b.mjs', 'Require all granted'),
    loc('throw', 'AuthTsHandler access handlers/throw.mjs', 'Require all granted'),
    loc('reject', 'AuthTsHandler access handlers/reject.mjs', 'Require all granted'),
    loc('authn-throw', 'AuthTsHandler authn handlers/throw.mjs', 'Require user x'),
    loc('authz-throw', 'AuthTsHandler authn handlers/authn.ts', 'AuthTsHandler authz handlers/throw.mjs', 'Require user x'),
    loc('two-hundred', 'AuthTsHandler access handlers/two-hundred.mjs', 'Require all granted'),
    loc('undefined', 'AuthTsHandler access handlers/undefined.mjs', 'Require all granted'),
    loc('string', 'AuthTsHandler access handlers/string.mjs', 'Require all granted'),
    loc('reload', 'AuthTsHandler access handlers/reload.mjs', 'Require all granted'),
    loc('reload-ts', 'AuthTsHandler access handlers/reload.ts', 'Require all granted'),
    '',
  ].join('\n');
}

beforeAll(async () => {
  dir = await tempDir('handlers');
  htdocs = join(dir, 'htdocs');
  await mkdir(join(dir, 'handlers'));
  for (const [name, text] of Object.entries(handlers)) await writeFile(join(dir, 'handlers', name), text);
  for (const name of [...LOCATIONS, 'access/forbidden', 'named/allowed']) {
    await mkdir(join(htdocs, name), { recursive: true });
    await writeFile(join(htdocs, name, 'a.txt'), `${name}\n`);
  }
  const configFile = join(dir, 'site.conf');
  await writeFile(configFile, config());
  server = await startServer({ configFile, logger: logged.log, listen: [{ host: '127.0.0.1', port: 0 }] });
  url = `http://127.0.0.1:${server.addresses[0]!.port}`;
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

function get(path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(url, { path, headers });
}

/** Log lines carrying `code` since `from`. */
function codesSince(from: number, code: string): Record<string, unknown>[] {
  return logged.lines.slice(from).filter((l) => l['code'] === code);
}

describe('access handlers', () => {
  it('a .mjs access handler answers 403 for its path and declines elsewhere', async () => {
    expect((await get('/access/forbidden/a.txt')).status).toBe(403);
    const open = await get('/access/a.txt');
    expect(open.status).toBe(200);
    expect(open.body).toBe('access\n');
  });

  it('#export selects the function; without it accessHandler is used', async () => {
    expect((await get('/named/a.txt')).status).toBe(403);
    expect((await get('/named/allowed/a.txt')).status).toBe(200);
    expect((await get('/unnamed/a.txt')).status).toBe(451);
  });

  it('without the phase-named export, the default export is called', async () => {
    expect((await get('/default-only/a.txt')).status).toBe(418);
  });

  it('every access handler runs, in order, until one answers a status (later ones do not run)', async () => {
    const from = logged.lines.length;
    const stopped = await get('/multi/a.txt');
    expect(stopped.status).toBe(403);
    expect(stopped.headers['x-a']).toBe('ran');
    expect(stopped.headers['x-b']).toBe('ran');
    // throw.mjs comes after stop.mjs: it never ran, so no 500 and nothing logged.
    expect(codesSince(from, 'HANDLER_FAILED')).toEqual([]);

    const passed = await get('/multi-ok/a.txt');
    expect(passed.status).toBe(200);
    expect(passed.headers['x-a']).toBe('ran');
    expect(passed.headers['x-b']).toBe('ran');
  });
});

describe('authn and authz handlers', () => {
  it('a TypeScript authn handler (loaded through tsx) sets the user; Require user x decides', async () => {
    expect((await get('/ts/a.txt')).status).toBe(401);
    expect((await get('/ts/a.txt', { 'X-User': 'x' })).status).toBe(200);
    // No AuthType: an authz failure is 403, as httpd (no challenge to send).
    const wrong = await get('/ts/a.txt', { 'X-User': 'y' });
    expect(wrong.status).toBe(403);
    expect(wrong.headers['www-authenticate']).toBeUndefined();
  });

  it('an authz handler decides before Require: ok grants, a status refuses, declined leaves it to Require', async () => {
    expect((await get('/authz/a.txt', { 'X-User': 'root' })).status).toBe(200);
    expect((await get('/authz/a.txt', { 'X-User': 'x' })).status).toBe(200);
    expect((await get('/authz/a.txt', { 'X-User': 'x', 'X-Deny': '1' })).status).toBe(403);
    expect((await get('/authz/a.txt', { 'X-User': 'y' })).status).toBe(403);
  });

  it('default names per phase: accessHandler for access, then default for authz in the same file', async () => {
    expect((await get('/both/a.txt', { 'X-User': 'z' })).status).toBe(200);
    expect((await get('/both/a.txt', { 'X-User': 'x' })).status).toBe(403);
  });
});

describe('a failing handler is a 500, never a grant', () => {
  it.each([
    ['/throw/a.txt', 'an access handler that throws', 'HANDLER_FAILED'],
    ['/reject/a.txt', 'an access handler whose promise rejects', 'HANDLER_FAILED'],
    ['/authn-throw/a.txt', 'an authn handler that sets the user, then throws', 'HANDLER_FAILED'],
    ['/two-hundred/a.txt', 'an access handler answering 200', 'HANDLER_BAD_RESULT'],
    ['/undefined/a.txt', 'an access handler answering undefined', 'HANDLER_BAD_RESULT'],
    ['/string/a.txt', "an access handler answering 'OK'", 'HANDLER_BAD_RESULT'],
  ])('%s: %s → 500, %s logged', async (path, _what, code) => {
    const from = logged.lines.length;
    const res = await get(path);
    expect(res.status).toBe(500);
    expect(res.body).not.toContain(path.split('/')[1]);
    expect(codesSince(from, code)).toHaveLength(1);
  });

  it('an authz handler that throws for a user Require would grant: 500', async () => {
    const from = logged.lines.length;
    expect((await get('/authz-throw/a.txt', { 'X-User': 'x' })).status).toBe(500);
    expect(codesSince(from, 'HANDLER_FAILED')).toHaveLength(1);
  });
});

describe('reload: an edited handler file is used by the next request, without a restart', () => {
  async function rewrite(file: string, text: string, bump: number): Promise<void> {
    await writeFile(file, text);
    // Make sure the mtime moves even on a coarse-grained filesystem.
    const when = new Date(Date.now() + bump * 1_000);
    await utimes(file, when, when);
  }

  it('.mjs', async () => {
    const file = join(dir, 'handlers', 'reload.mjs');
    expect((await get('/reload/a.txt')).status).toBe(403);
    await rewrite(file, "export function accessHandler() { return 'ok'; }\n", 10);
    expect((await get('/reload/a.txt')).status).toBe(200);
    await rewrite(file, 'export function accessHandler() { return 451; }\n', 20);
    expect((await get('/reload/a.txt')).status).toBe(451);
    // A broken edit: 500 (never the previous answer, never a grant); fixed again: back.
    await rewrite(file, 'export function accessHandler( {\n', 30);
    expect((await get('/reload/a.txt')).status).toBe(500);
    await rewrite(file, "export function accessHandler() { return 'ok'; }\n", 40);
    expect((await get('/reload/a.txt')).status).toBe(200);
  });

  it('.ts', async () => {
    const file = join(dir, 'handlers', 'reload.ts');
    expect((await get('/reload-ts/a.txt')).status).toBe(403);
    await rewrite(file, "export function accessHandler(): 'ok' { return 'ok'; }\n", 10);
    expect((await get('/reload-ts/a.txt')).status).toBe(200);
  });
});

describe('load errors: a missing file, export or loader is a configuration error naming file:line', () => {
  it('startServer refuses to start and lists every bad AuthTsHandler line', async () => {
    const base = await tempDir('handlers-bad');
    await mkdir(join(base, 'handlers'));
    await writeFile(join(base, 'handlers', 'ok.mjs'), "export function accessHandler() { return 'ok'; }\n");
    await writeFile(join(base, 'handlers', 'syntax.mjs'), 'export function accessHandler( {\n');
    const configFile = join(base, 'site.conf');
    await writeFile(
      configFile,
      [
        `DocumentRoot "${base}"`,
        '<Location "/a">',
        '    AuthTsHandler access handlers/missing.mjs',
        '    AuthTsHandler access handlers/ok.mjs#nope',
        '    AuthTsHandler authn handlers/ok.mjs',
        '    AuthTsHandler access handlers/syntax.mjs',
        '    Require all granted',
        '</Location>',
        '',
      ].join('\n'),
    );
    const error = await startServer({ configFile, logger: silentLogger, listen: [{ host: '127.0.0.1', port: 0 }] }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigErrors);
    const errors = (error as ConfigErrors).errors.map((e) => ({ file: e.file, line: e.line, code: e.code, directive: e.directive, message: e.message }));
    expect(errors).toEqual([
      expect.objectContaining({ file: configFile, line: 3, code: 'CONFIG_HANDLER', directive: 'AuthTsHandler' }),
      expect.objectContaining({ file: configFile, line: 4, code: 'CONFIG_HANDLER', directive: 'AuthTsHandler' }),
      expect.objectContaining({ file: configFile, line: 5, code: 'CONFIG_HANDLER', directive: 'AuthTsHandler' }),
      expect.objectContaining({ file: configFile, line: 6, code: 'CONFIG_HANDLER', directive: 'AuthTsHandler' }),
    ]);
    expect(errors[0]!.message).toContain(`cannot load ${join(base, 'handlers', 'missing.mjs')}`);
    expect(errors[1]!.message).toContain('has no function export "nope"');
    // No authnHandler and no default export in ok.mjs.
    expect(errors[2]!.message).toContain('has no function export "default"');
    expect(errors[3]!.message).toContain(`cannot load ${join(base, 'handlers', 'syntax.mjs')}`);
  });

  it('a file type that cannot be imported, and an unknown phase', async () => {
    const base = await tempDir('handlers-bad-ext');
    const configFile = join(base, 'site.conf');
    await writeFile(
      configFile,
      `DocumentRoot "${base}"\n<Location "/a">\n    AuthTsHandler access handler.py\n    AuthTsHandler fixup handler.mjs\n    Require all granted\n</Location>\n`,
    );
    const error = (await startServer({ configFile, logger: silentLogger, listen: [{ host: '127.0.0.1', port: 0 }] }).catch((e: unknown) => e)) as ConfigErrors;
    expect(error).toBeInstanceOf(ConfigErrors);
    expect(error.errors.map((e) => `${e.file}:${e.line}: ${e.code}: ${e.message}`)).toEqual([
      `${configFile}:3: CONFIG_HANDLER: AuthTsHandler cannot load "${join(base, 'handler.py')}"`,
      `${configFile}:4: CONFIG_BAD_ARGUMENT: unknown phase "fixup"`,
    ]);
  });
});
