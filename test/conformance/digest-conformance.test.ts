/**
 * `AuthType Digest` against Apache httpd's mod_auth_digest: a private httpd (with
 * `auth_digest` loaded) and `authts serve` run the same configuration and htdigest file (made by
 * Apache's `htdigest`). Nonces differ between the two, so each scenario takes its challenge from
 * the server it talks to, answers it (test/e2e/digest-client.ts), and records every status and
 * the shape of every challenge (nonce and opaque values blanked). Both servers must give the
 * row's outcomes.
 *
 * httpd checks nonce counts (and sends `opaque`) only with `AuthDigestNcCheck On`, which the
 * configuration sets; authts always does. Deliberate differences (a stale flag where httpd
 * sends none, refusals httpd does not make) are in docs/digest.md and are not rows here.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/serve.js';
import { rawRequest } from '../services/http-client.js';
import { startHttpd, type HttpdInstance } from '../services/httpd.js';
import { sleep } from '../services/net.js';
import { digestAuthorization, type DigestAnswer } from '../e2e/digest-client.js';
import { startAuthtsBeside } from './peers.js';

const CONFIG = `AuthDigestShmemSize 64K
AuthnCacheSOCache shmcb
<Directory "\${AUTHTS_DOCROOT}/private">
  AuthDigestNcCheck On
  AuthType Digest
  AuthName "Private Area"
  AuthDigestDomain /private/
  AuthUserFile "\${AUTHTS_HTTPD_DIR}/digest"
  Require valid-user
</Directory>
<Directory "\${AUTHTS_DOCROOT}/private/sub">
  AuthName "Sub Area"
</Directory>
<Directory "\${AUTHTS_DOCROOT}/private/once">
  AuthDigestNonceLifetime 0
</Directory>
<Directory "\${AUTHTS_DOCROOT}/private/short">
  AuthDigestNcCheck On
  AuthDigestNonceLifetime 1
</Directory>
<Directory "\${AUTHTS_DOCROOT}/private/bob">
  Require user bob
</Directory>
<Directory "\${AUTHTS_DOCROOT}/private/cached">
  AuthDigestNcCheck On
  AuthDigestDomain /private/
  AuthDigestProvider socache file
  AuthnCacheProvideFor file
</Directory>
`;

/** An htdigest record made by Apache's own htdigest (it prompts twice, reading stdin). */
function htdigestRecord(realm: string, user: string, password: string): string {
  const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  try {
    execFileSync('htdigest', ['-c', `${dir}/f`, realm, user], { input: `${password}\n${password}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
    return execFileSync('cat', [`${dir}/f`], { encoding: 'utf8' });
  } finally {
    execFileSync('rm', ['-rf', dir]);
  }
}

/** What one request of a scenario got: the status and the challenge with nonce/opaque blanked. */
interface Outcome {
  readonly status: number;
  readonly challenge: string | null;
}

function shape(challenge: string | undefined): string | null {
  if (challenge === undefined) return null;
  return challenge.replace(/nonce="[^"]*"/, 'nonce="N"').replace(/opaque="[^"]*"/, 'opaque="O"');
}

/** A conversation with one server; every request's outcome is recorded. */
class Client {
  readonly outcomes: Outcome[] = [];
  constructor(private readonly base: string) {}

  async get(path: string, authorization?: string): Promise<string | undefined> {
    const res = await rawRequest(this.base, { path, headers: authorization === undefined ? {} : { Authorization: authorization } });
    this.outcomes.push({ status: res.status, challenge: shape(res.headers['www-authenticate']) });
    return res.headers['www-authenticate'];
  }

  /** GET `path` without credentials; the challenge (the 401 is recorded). */
  async challenge(path: string): Promise<string> {
    const challenge = await this.get(path);
    if (challenge === undefined) throw new Error(`no challenge at ${path}`);
    return challenge;
  }
}

const ALICE = { user: 'alice', password: 'alice-pw' } as const;
const answer = (challenge: string, extra: Partial<DigestAnswer> & { uri: string }): string => digestAuthorization(challenge, { ...ALICE, ...extra });

const PRIVATE = 'Digest realm="Private Area", nonce="N", algorithm=MD5, opaque="O", domain="/private/", qop="auth"';
const STALE = 'Digest realm="Private Area", nonce="N", algorithm=MD5, opaque="O", domain="/private/", stale=true, qop="auth"';
const CHALLENGED = { status: 401, challenge: PRIVATE } as const;
const ONCE = { status: 401, challenge: PRIVATE.replace(', domain="/private/"', '') } as const;
const ONCE_STALE = STALE.replace(', domain="/private/"', '');
const OK = { status: 200, challenge: null } as const;

interface Row {
  readonly name: string;
  readonly run: (client: Client) => Promise<void>;
  readonly expected: readonly Outcome[];
  /**
   * What httpd answers where authts deliberately differs (docs/digest.md, "Differences from
   * httpd"); the row then shows both answers side by side.
   */
  readonly httpd?: readonly Outcome[];
}

const rows: Row[] = [
  {
    name: 'no credentials: 401 with the challenge',
    run: async (c) => void (await c.challenge('/private/a.txt')),
    expected: [CHALLENGED],
  },
  {
    name: 'the right password: 200',
    run: async (c) => void (await c.get('/private/a.txt', answer(await c.challenge('/private/a.txt'), { uri: '/private/a.txt' }))),
    expected: [CHALLENGED, OK],
  },
  {
    name: 'a query string, hashed as sent: 200',
    run: async (c) => void (await c.get('/private/a.txt?x=1&y=2', answer(await c.challenge('/private/a.txt?x=1&y=2'), { uri: '/private/a.txt?x=1&y=2' }))),
    expected: [CHALLENGED, OK],
  },
  {
    name: 'a percent-encoded uri naming the same path: 200',
    run: async (c) => void (await c.get('/private/a.txt', answer(await c.challenge('/private/a.txt'), { uri: '/private/%61.txt' }))),
    expected: [CHALLENGED, OK],
  },
  {
    name: 'a wrong password: 401',
    run: async (c) => void (await c.get('/private/a.txt', answer(await c.challenge('/private/a.txt'), { uri: '/private/a.txt', password: 'nope' }))),
    expected: [CHALLENGED, CHALLENGED],
  },
  {
    name: 'an unknown user: 401',
    run: async (c) => void (await c.get('/private/a.txt', answer(await c.challenge('/private/a.txt'), { uri: '/private/a.txt', user: 'mallory' }))),
    expected: [CHALLENGED, CHALLENGED],
  },
  {
    name: 'a user whose name holds " and \\: 200',
    run: async (c) =>
      void (await c.get('/private/a.txt', answer(await c.challenge('/private/a.txt'), { uri: '/private/a.txt', user: 'q"u\\x', password: 'quote-pw' }))),
    expected: [CHALLENGED, OK],
  },
  {
    name: 'the realm of another section: 401',
    run: async (c) => {
      const sub = await c.challenge('/private/sub/b.txt');
      await c.get('/private/a.txt', answer(sub, { uri: '/private/a.txt' }));
    },
    expected: [{ status: 401, challenge: PRIVATE.replace('Private Area', 'Sub Area') }, CHALLENGED],
  },
  {
    name: 'the uri of another path: 400',
    run: async (c) => void (await c.get('/private/a.txt', answer(await c.challenge('/private/a.txt'), { uri: '/private/secret.txt' }))),
    expected: [CHALLENGED, { status: 400, challenge: null }],
  },
  {
    name: 'a uri without the query of the request: 400',
    run: async (c) => void (await c.get('/private/a.txt?x=1', answer(await c.challenge('/private/a.txt?x=1'), { uri: '/private/a.txt' }))),
    expected: [CHALLENGED, { status: 400, challenge: null }],
  },
  {
    name: 'credentials without a response: 400',
    run: async (c) =>
      void (await c.get('/private/a.txt', answer(await c.challenge('/private/a.txt'), { uri: '/private/a.txt', override: { response: undefined } }))),
    expected: [CHALLENGED, { status: 400, challenge: null }],
    // httpd 2.4.71 answers malformed credentials with 401, and stale=true when they carry an
    // opaque (it cannot find the client entry of a header it did not parse).
    httpd: [CHALLENGED, { status: 401, challenge: STALE }],
  },
  {
    name: 'qop without nc and cnonce: 400',
    run: async (c) =>
      void (await c.get('/private/a.txt', answer(await c.challenge('/private/a.txt'), { uri: '/private/a.txt', override: { nc: undefined, cnonce: undefined } }))),
    expected: [CHALLENGED, { status: 400, challenge: null }],
    httpd: [CHALLENGED, { status: 401, challenge: STALE }],
  },
  {
    name: 'an algorithm the section does not use (SHA-256): 401',
    run: async (c) => {
      const challenge = (await c.challenge('/private/a.txt')).replace('algorithm=MD5', 'algorithm=SHA-256');
      await c.get('/private/a.txt', answer(challenge, { uri: '/private/a.txt' }));
    },
    expected: [CHALLENGED, CHALLENGED],
    // The same 401; httpd adds stale=true (its client entry of that opaque is not looked up).
    httpd: [CHALLENGED, { status: 401, challenge: STALE }],
  },
  {
    name: 'Basic credentials at a Digest section: 401 with the Digest challenge',
    run: async (c) => void (await c.get('/private/a.txt', `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`)),
    expected: [CHALLENGED],
  },
  {
    name: 'the same nonce with increasing counts: 200, 200',
    run: async (c) => {
      const challenge = await c.challenge('/private/a.txt');
      await c.get('/private/a.txt', answer(challenge, { uri: '/private/a.txt', nc: 1 }));
      await c.get('/private/secret.txt', answer(challenge, { uri: '/private/secret.txt', nc: 2 }));
    },
    expected: [CHALLENGED, OK, OK],
  },
  {
    name: 'a replay (the same nc twice): 200, then 401',
    run: async (c) => {
      const header = answer(await c.challenge('/private/a.txt'), { uri: '/private/a.txt' });
      await c.get('/private/a.txt', header);
      await c.get('/private/a.txt', header);
    },
    expected: [CHALLENGED, OK, CHALLENGED],
  },
  {
    name: 'AuthDigestNonceLifetime 0: a nonce used twice → 401 stale=true',
    run: async (c) => {
      const challenge = await c.challenge('/private/once/c.txt');
      await c.get('/private/once/c.txt', answer(challenge, { uri: '/private/once/c.txt', nc: 1 }));
      await c.get('/private/once/c.txt', answer(challenge, { uri: '/private/once/c.txt', nc: 2 }));
    },
    // A section with an AuthDigest* directive replaces the outer settings whole (no domain here).
    expected: [ONCE, OK, { status: 401, challenge: ONCE_STALE }],
  },
  {
    name: 'an authenticated user who fails Require: 401 with the challenge',
    run: async (c) => void (await c.get('/private/bob/d.txt', answer(await c.challenge('/private/bob/d.txt'), { uri: '/private/bob/d.txt' }))),
    expected: [CHALLENGED, CHALLENGED],
  },
  {
    name: 'an expired nonce (AuthDigestNonceLifetime 1, answered 2.5 s later): 401 stale=true',
    run: async (c) => {
      const challenge = await c.challenge('/private/short/e.txt');
      await sleep(2_500);
      await c.get('/private/short/e.txt', answer(challenge, { uri: '/private/short/e.txt' }));
    },
    expected: [ONCE, { status: 401, challenge: ONCE_STALE }],
  },
  {
    // httpd keeps the realm hash in its socache; authts keeps none (docs/caching.md) and asks
    // the file each time: the answers are the same.
    name: 'socache in front of the file (AuthDigestProvider socache file): the right password twice 200, then a wrong one 401',
    run: async (c) => {
      for (const password of ['alice-pw', 'alice-pw', 'nope']) {
        await c.get('/private/cached/f.txt', answer(await c.challenge('/private/cached/f.txt'), { uri: '/private/cached/f.txt', password }));
      }
    },
    expected: [CHALLENGED, OK, CHALLENGED, OK, CHALLENGED, CHALLENGED],
  },
];

describe('AuthType Digest: authts and httpd mod_auth_digest answer alike', () => {
  let httpd: HttpdInstance | undefined;
  let authts: RunningServer | undefined;
  let authtsUrl = '';

  beforeAll(async () => {
    const files = {
      digest: htdigestRecord('Private Area', 'alice', 'alice-pw') + htdigestRecord('Private Area', 'q"u\\x', 'quote-pw') + htdigestRecord('Sub Area', 'alice', 'alice-pw'),
      'htdocs/private/a.txt': 'private a\n',
      'htdocs/private/secret.txt': 'secret\n',
      'htdocs/private/sub/b.txt': 'sub b\n',
      'htdocs/private/once/c.txt': 'once c\n',
      'htdocs/private/bob/d.txt': 'bob d\n',
      'htdocs/private/short/e.txt': 'short e\n',
      'htdocs/private/cached/f.txt': 'cached f\n',
    };
    httpd = await startHttpd({ config: CONFIG, modules: ['auth_digest', 'socache_shmcb', 'authn_socache'], files });
    ({ authts, authtsUrl } = await startAuthtsBeside(httpd, `DocumentRoot "\${AUTHTS_DOCROOT}"\n${CONFIG}`));
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled([authts?.close(), httpd?.stop()]);
  });

  for (const row of rows) {
    it(row.name, async () => {
      const fromHttpd = new Client(httpd!.url);
      const fromAuthts = new Client(authtsUrl);
      await Promise.all([row.run(fromHttpd), row.run(fromAuthts)]);
      expect({ httpd: fromHttpd.outcomes, authts: fromAuthts.outcomes }).toEqual({ httpd: row.httpd ?? row.expected, authts: row.expected });
    }, 15_000);
  }
});
