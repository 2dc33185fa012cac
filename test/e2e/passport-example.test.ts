/**
 * conf-examples/passport as users run it: `node conf-examples/passport/serve.mjs` (which
 * imports the built `authts` and `authts/passport`: `npm test` builds first) as a child process
 * on 127.0.0.1:0, answering the curl lines of its README with the statuses, `WWW-Authenticate`
 * and `Location` values they state. Stopped by its own PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, waitFor } from './helpers.js';

const dir = join(REPO, 'conf-examples', 'passport');
const readme = readFileSync(join(dir, 'README.md'), 'utf8');

interface CurlCase {
  readonly line: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly status: number;
  /** A string: the exact header; null: absent; undefined: not checked. */
  readonly challenge: string | null | undefined;
  readonly location: string | undefined;
}

/** The curl lines of the README's ```sh blocks: `-i`, `-H 'Name: value'` and the URL. */
function curlCases(): CurlCase[] {
  const cases: CurlCase[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.split('\n')) {
      const line = raw.trim();
      if (!line.startsWith('curl ')) continue;
      const hash = line.indexOf(' # ');
      if (hash < 0) throw new Error(`curl line without an expectation: ${line}`);
      const command = line.slice(5, hash);
      const comment = line.slice(hash + 3);
      const headers: Record<string, string> = {};
      for (const m of command.matchAll(/-H '([^':]+):\s*([^']*)'/g)) headers[m[1]!.toLowerCase()] = m[2]!;
      const url = /(http:\/\/\S+)/.exec(command)?.[1];
      const rest = command.replace(/-H '[^']*'/g, '').replace(/-i\b/g, '').replace(url ?? '', '').trim();
      if (url === undefined || rest !== '') throw new Error(`curl line the test does not understand: ${line}`);
      const status = /\b(\d{3})\b/.exec(comment);
      if (!status) throw new Error(`curl line without a status: ${line}`);
      cases.push({
        line,
        path: new URL(url).pathname + new URL(url).search,
        headers,
        status: Number(status[1]),
        challenge: /no WWW-Authenticate/.test(comment) ? null : /WWW-Authenticate: (.*)$/.exec(comment)?.[1]?.trim(),
        location: /Location: (\S+)/.exec(comment)?.[1],
      });
    }
  }
  return cases;
}

const cases = curlCases();
let child: ChildProcess | undefined;
let exited = false;
let stdout = '';
let stderr = '';
let port = 0;

beforeAll(async () => {
  child = spawn(process.execPath, [join(dir, 'serve.mjs'), '--listen', '127.0.0.1:0'], {
    cwd: REPO,
    env: { ...process.env, AUTHTS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.once('exit', () => (exited = true));
  await waitFor(`serve.mjs to listen (stderr: ${stderr})`, () => {
    if (exited) throw new Error(`serve.mjs exited:\n${stderr}`);
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout);
    if (m) port = Number(m[1]);
    return port > 0;
  }, 15_000);
});

afterAll(async () => {
  if (child?.pid !== undefined && !exited) {
    const gone = new Promise((resolve) => child!.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    await gone;
  }
});

function send(c: CurlCase): Promise<{ status: number; challenge: string | undefined; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: c.path, headers: c.headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'], location: res.headers['location'] }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('conf-examples/passport', () => {
  it('documents how to run it, on its own port, with enough requests', () => {
    expect(readme).toContain('node conf-examples/passport/serve.mjs');
    expect(cases.length).toBeGreaterThanOrEqual(8);
    const listen = /^Listen 127\.0\.0\.1:(\d+)$/m.exec(readFileSync(join(dir, 'site.conf'), 'utf8'))?.[1];
    for (const c of cases) expect(c.line).toContain(`http://127.0.0.1:${listen}/`);
  });

  it('started with no warning logged', () => {
    expect(stderr).toBe('');
  });

  for (const c of cases) {
    it(c.line.replace(/\s+/g, ' '), async () => {
      const answer = await send(c);
      expect(answer.status).toBe(c.status);
      if (c.challenge === null) expect(answer.challenge).toBeUndefined();
      else if (c.challenge !== undefined) expect(answer.challenge).toBe(c.challenge);
      if (c.location !== undefined) expect(answer.location).toBe(c.location);
    });
  }
});
