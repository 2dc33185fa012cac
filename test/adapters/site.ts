/**
 * One site and one table of requests shared by the adapter suites (node:http, Express,
 * Fastify): each suite starts its framework on 127.0.0.1:0 with `guard`, and
 * {@link describeAdapter} sends the same raw requests to it and asserts the same answers.
 *
 * The application behind the guard answers every request it sees with 200 and
 * `ok <user or ->`: so a 200 means the guard let the request through, and anything the table
 * expects refused must never be 200.
 */
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth, type Auth } from '../../src/api.js';
import { ConfigErrors } from '../../src/errors.js';
import { REPO, basic, removeTempDirs, tempDir } from '../e2e/helpers.js';
import { rawRequest, type RawResponse } from '../services/http-client.js';

/** A running framework server guarding with one Auth. */
export interface StartedServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the framework under test with `guard(auth)` in front of an app answering `ok <user>`. */
export type StartServer = (auth: Auth) => Promise<StartedServer>;

/** The body the app behind every guard answers with. */
export function appBody(user: string | undefined): string {
  return `ok ${user ?? '-'}\n`;
}

interface Site {
  readonly dir: string;
  readonly htdocs: string;
  /** `<Location>` sections only: loads without `root`. */
  readonly locationConfig: string;
  /** `<Directory>` sections: needs `root: htdocs`. */
  readonly directoryConfig: string;
}

/** Users (made by Apache's htpasswd, conf-examples/basic-file/users): alice, bob. */
const ALICE = basic('alice:alice-secret');
const BOB = basic('bob:bob-secret');
const CHALLENGE = 'Basic realm="Private area"';

async function makeSite(): Promise<Site> {
  const dir = await tempDir('adapters');
  const htdocs = join(dir, 'htdocs');
  await mkdir(join(htdocs, 'private'), { recursive: true });
  await mkdir(join(htdocs, 'public'), { recursive: true });
  await writeFile(join(htdocs, 'private', 'x'), 'secret\n');
  // A way from the public tree into the protected one.
  await symlink(join(htdocs, 'private'), join(htdocs, 'public', 'link'));
  const users = join(dir, 'users');
  await copyFile(join(REPO, 'conf-examples', 'basic-file', 'users'), users);
  const groups = join(dir, 'groups');
  await writeFile(groups, 'admins: alice\n');
  const basicAuth = (realm: string, userFile: string): string[] => [
    '    AuthType Basic',
    `    AuthName "${realm}"`,
    `    AuthUserFile "${userFile}"`,
  ];
  const locationConfig = [
    '<Location "/private">',
    ...basicAuth('Private area', users),
    '    Require valid-user',
    '</Location>',
    '<Location "/admin">',
    ...basicAuth('Admins', users),
    `    AuthGroupFile "${groups}"`,
    '    Require group admins',
    '    AuthzSendForbiddenOnFailure On',
    '</Location>',
    '<Location "/forbidden">',
    '    Require all denied',
    '</Location>',
    '<Location "/broken">',
    ...basicAuth('Broken', join(dir, 'no-such-users-file')),
    '    Require valid-user',
    '</Location>',
  ].join('\n');
  const directoryConfig = [
    `<Directory "${htdocs}/private">`,
    ...basicAuth('Private area', users),
    '    Require valid-user',
    '</Directory>',
  ].join('\n');
  return { dir, htdocs, locationConfig, directoryConfig };
}

/** One request of the table and what the guard must answer. */
interface Case {
  readonly name: string;
  readonly path: string;
  readonly method?: string;
  readonly headers?: Record<string, string | string[]>;
  readonly status: number;
  /** The exact `WWW-Authenticate`, or null when there must be none. */
  readonly challenge?: string | null;
  /** The body the app answers (only for 200s). */
  readonly user?: string;
}

/** With the `<Location>` configuration. */
const LOCATION_CASES: readonly Case[] = [
  { name: 'an open path passes without credentials', path: '/', status: 200, user: '-', challenge: null },
  { name: 'no credentials → 401 with the challenge', path: '/private/x', status: 401, challenge: CHALLENGE },
  { name: 'HEAD without credentials → 401, no body', path: '/private/x', method: 'HEAD', status: 401, challenge: CHALLENGE },
  { name: 'valid credentials pass the user on', path: '/private/x', headers: { authorization: ALICE }, status: 200, user: 'alice' },
  { name: 'a wrong password → 401', path: '/private/x', headers: { authorization: basic('bob:wrong') }, status: 401, challenge: CHALLENGE },
  { name: 'an unknown user → 401', path: '/private/x', headers: { authorization: basic('eve:x') }, status: 401, challenge: CHALLENGE },
  { name: 'in the group → 200', path: '/admin/', headers: { authorization: ALICE }, status: 200, user: 'alice' },
  { name: 'not in the group → 403 (AuthzSendForbiddenOnFailure On)', path: '/admin/', headers: { authorization: BOB }, status: 403, challenge: null },
  { name: 'Require all denied → 403, no challenge', path: '/forbidden', status: 403, challenge: null },
  { name: 'an unreadable user file → 500, never a pass', path: '/broken/x', headers: { authorization: ALICE }, status: 500, challenge: null },
  {
    name: 'two Authorization headers → 400',
    path: '/private/x',
    headers: { authorization: [ALICE, ALICE] },
    status: 400,
  },
  // Spellings of /private/x: each is decided as /private/x, or refused before the phases.
  { name: 'attack: /private/../private/x', path: '/private/../private/x', status: 401, challenge: CHALLENGE },
  { name: 'attack: /public/../private/x', path: '/public/../private/x', status: 401, challenge: CHALLENGE },
  { name: 'attack: /private/./x', path: '/private/./x', status: 401, challenge: CHALLENGE },
  { name: 'attack: //private/x', path: '//private/x', status: 401, challenge: CHALLENGE },
  { name: 'attack: /public/%2e%2e/private/x', path: '/public/%2e%2e/private/x', status: 401, challenge: CHALLENGE },
  { name: 'attack: /public/.%2E/private/x', path: '/public/.%2E/private/x', status: 401, challenge: CHALLENGE },
  { name: 'attack: /%70rivate/x (encoded letter)', path: '/%70rivate/x', status: 401, challenge: CHALLENGE },
  { name: 'attack: absolute form http://evil/private/x', path: 'http://evil/private/x', status: 401, challenge: CHALLENGE },
  { name: 'attack: /%2e%2e/private/x climbs above / → 400', path: '/%2e%2e/private/x', status: 400 },
  { name: 'attack: /private%2fx (encoded slash) → 404', path: '/private%2fx', status: 404 },
  { name: 'attack: /public/..%2fprivate/x → 404', path: '/public/..%2fprivate/x', status: 404 },
  { name: 'attack: /private/x%00 → 404', path: '/private/x%00', status: 404 },
];

/** With the `<Directory>` configuration and `root`. */
const DIRECTORY_CASES: readonly Case[] = [
  { name: 'outside the directory → 200', path: '/public/', status: 200, user: '-' },
  { name: 'in the directory, no credentials → 401', path: '/private/x', status: 401, challenge: CHALLENGE },
  { name: 'in the directory, valid credentials → 200', path: '/private/x', headers: { authorization: ALICE }, status: 200, user: 'alice' },
  { name: 'a file that does not exist is still in the directory → 401', path: '/private/nope', status: 401, challenge: CHALLENGE },
  { name: 'attack: through a symlink /public/link/x → 401', path: '/public/link/x', status: 401, challenge: CHALLENGE },
  { name: 'attack: /public/%2e%2e/private/x → 401', path: '/public/%2e%2e/private/x', status: 401, challenge: CHALLENGE },
  { name: 'attack: //private//x → 401', path: '//private//x', status: 401, challenge: CHALLENGE },
];

async function send(port: number, c: Case): Promise<RawResponse> {
  return rawRequest(`http://127.0.0.1:${port}/`, {
    method: c.method ?? 'GET',
    path: c.path,
    ...(c.headers ? { headers: c.headers } : {}),
  });
}

function expectAnswer(answer: RawResponse, c: Case): void {
  expect(answer.status, `${c.method ?? 'GET'} ${c.path}`).toBe(c.status);
  if (c.challenge === null) expect(answer.headers['www-authenticate']).toBeUndefined();
  else if (c.challenge !== undefined) expect(answer.headers['www-authenticate']).toBe(c.challenge);
  if (c.status === 200) {
    expect(answer.body).toBe(appBody(c.user));
  } else {
    // The app never saw it, and the body says no more than the status.
    expect(answer.body).not.toContain('ok ');
    if (c.method === 'HEAD') expect(answer.body).toBe('');
    else expect(answer.body).toMatch(new RegExp(`^${c.status} `));
  }
}

/**
 * The shared suite: the `<Location>` table without `root`, the `<Directory>` table with
 * `root`, and a `<Directory>` configuration without `root` refused at load.
 */
export function describeAdapter(name: string, start: StartServer): void {
  describe(`${name} guard`, () => {
    let site: Site;
    const auths: Auth[] = [];
    const servers: StartedServer[] = [];
    let locationPort = 0;
    let directoryPort = 0;

    beforeAll(async () => {
      site = await makeSite();
      const locationAuth = await createAuth({ config: { text: site.locationConfig, name: 'location.conf' } });
      const directoryAuth = await createAuth({ config: { text: site.directoryConfig, name: 'directory.conf' }, root: site.htdocs });
      auths.push(locationAuth, directoryAuth);
      const a = await start(locationAuth);
      servers.push(a);
      const b = await start(directoryAuth);
      servers.push(b);
      locationPort = a.port;
      directoryPort = b.port;
    });

    afterAll(async () => {
      await Promise.all(servers.map((s) => s.close()));
      await Promise.all(auths.map((a) => a.close()));
      await removeTempDirs();
    });

    describe('<Location> configuration', () => {
      for (const c of LOCATION_CASES) {
        it(c.name, async () => {
          expectAnswer(await send(locationPort, c), c);
        });
      }
    });

    describe('<Directory> configuration with root', () => {
      for (const c of DIRECTORY_CASES) {
        it(c.name, async () => {
          expectAnswer(await send(directoryPort, c), c);
        });
      }
    });

    it('<Directory> without root does not load, naming file:line and root', async () => {
      const failure = await createAuth({ config: { text: site.directoryConfig, name: 'directory.conf' } }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ConfigErrors);
      const errors = (failure as ConfigErrors).errors;
      expect(errors.map((e) => [e.code, e.file, e.line])).toEqual([['CONFIG_NEEDS_ROOT', 'directory.conf', 1]]);
      expect(errors[0]!.toString()).toMatch(/^directory\.conf:1: <Directory>: .*root/);
    });
  });
}
