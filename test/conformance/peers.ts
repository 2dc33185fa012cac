/**
 * Runs one conformance case against both peers: a private Apache httpd and `authts serve`, with
 * the same auth configuration, the same DocumentRoot and the same password files. Every
 * expectation in the tables is therefore checked against httpd itself, not only against authts.
 */
import { execFileSync } from 'node:child_process';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { silentLogger } from '../../src/log.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHttpd, type HttpdInstance } from '../services/httpd.js';
import { rawRequest, type RawResponse } from '../services/http-client.js';

/** One request of a case and what both peers must answer. */
export interface ConformanceRequest {
  readonly method?: string;
  /** Sent verbatim. */
  readonly path: string;
  /** `user:password` for a Basic header, or a whole Authorization header value with `header`. */
  readonly auth?: string;
  readonly header?: string;
  readonly status: number;
  /** Expected `WWW-Authenticate`; `null` means the header must be absent. Omitted: not checked. */
  readonly challenge?: string | null;
}

/** A configuration and the requests to send under it. */
export interface ConformanceCase {
  readonly name: string;
  /** The auth configuration; `${AUTHTS_HTTPD_DIR}` and `${AUTHTS_DOCROOT}` are defined. */
  readonly config: string;
  readonly requests: readonly ConformanceRequest[];
  /** Extra files (relative to the instance dir) besides the shared fixture set. */
  readonly files?: Readonly<Record<string, string>>;
  /** httpd modules to load besides the default set (`authn_anon`, …). */
  readonly modules?: readonly string[];
}

/** Users of the shared fixture files, with their passwords. */
export const USERS = { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw', dave: 'dave-pw' } as const;

/** htpasswd records made by Apache's own htpasswd (apr1 MD5), once per test run. */
function htpasswdRecord(user: string, password: string): string {
  return execFileSync('htpasswd', ['-nbm', user, password], { encoding: 'utf8' }).trim();
}

let sharedFiles: Record<string, string> | undefined;

/** The files every case gets: users, groups, and a small DocumentRoot. */
export function fixtureFiles(): Record<string, string> {
  sharedFiles ??= {
    users: `${htpasswdRecord('alice', USERS.alice)}\n${htpasswdRecord('bob', USERS.bob)}\n${htpasswdRecord('carol', USERS.carol)}\n`,
    // dave exists only in the second file, alice there has another password: for provider chains.
    users2: `${htpasswdRecord('dave', USERS.dave)}\n${htpasswdRecord('alice', 'alice-other')}\n`,
    groups: '# groups as mod_authz_groupfile reads them\nadmins: alice\nstaff: bob\nstaff: carol\n',
    'htdocs/index.html': 'home\n',
    'htdocs/public.txt': 'public\n',
    'htdocs/private/a.txt': 'private a\n',
    'htdocs/private/secret.txt': 'secret\n',
    'htdocs/private/index.html': 'private index\n',
    'htdocs/private/sub/b.txt': 'private sub b\n',
    'htdocs/private/open/c.txt': 'private open c\n',
  };
  return sharedFiles;
}

/** Both peers running one case. */
export interface Peers {
  readonly httpd: HttpdInstance;
  readonly authts: RunningServer;
  readonly authtsUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts `authts serve` on `config` beside a running httpd: the config is written into httpd's
 * instance directory, `${AUTHTS_HTTPD_DIR}` names that directory and `${AUTHTS_DOCROOT}` its
 * document root, as they do for httpd. Resolves with the server and its base URL.
 */
export async function startAuthtsBeside(httpd: HttpdInstance, config: string): Promise<{ authts: RunningServer; authtsUrl: string }> {
  const configFile = join(httpd.dir, 'authts.conf');
  await writeFile(configFile, config);
  const authts = await startServer({
    configFile,
    logger: silentLogger,
    listen: [{ host: '127.0.0.1', port: 0 }],
    defines: new Map([
      ['AUTHTS_HTTPD_DIR', httpd.dir],
      ['AUTHTS_DOCROOT', httpd.documentRoot],
    ]),
  });
  return { authts, authtsUrl: `http://127.0.0.1:${authts.addresses[0]!.port}` };
}

/** Starts httpd and authts on the same files and configuration. */
export async function startPeers(testCase: ConformanceCase): Promise<Peers> {
  const httpd = await startHttpd({ config: testCase.config, files: { ...fixtureFiles(), ...testCase.files }, ...(testCase.modules ? { modules: testCase.modules } : {}) });
  let started: { authts: RunningServer; authtsUrl: string };
  try {
    started = await startAuthtsBeside(httpd, `DocumentRoot "\${AUTHTS_DOCROOT}"\n${testCase.config}\n`);
  } catch (err) {
    await httpd.stop();
    throw err;
  }
  const { authts, authtsUrl } = started;
  return {
    httpd,
    authts,
    authtsUrl,
    async stop() {
      await Promise.allSettled([authts.close(), httpd.stop()]);
    },
  };
}

/** Sends one table request to a peer. */
export function send(url: string, request: ConformanceRequest): Promise<RawResponse> {
  const headers: [string, string][] = [];
  if (request.auth !== undefined) {
    headers.push(['Authorization', `Basic ${Buffer.from(request.auth, 'utf8').toString('base64')}`]);
  }
  if (request.header !== undefined) headers.push(['Authorization', request.header]);
  return rawRequest(url, { method: request.method ?? 'GET', path: request.path, headers });
}

/** A compact description of a request for test names. */
export function describeRequest(request: ConformanceRequest): string {
  const who = request.auth !== undefined ? ` as ${request.auth.split(':')[0]}` : request.header !== undefined ? ` with "${request.header.slice(0, 24)}"` : '';
  return `${request.method ?? 'GET'} ${request.path}${who} → ${request.status}`;
}
