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
import { curlCases, type CurlCase } from '../helpers/readme-curl.js';

const dir = join(REPO, 'conf-examples', 'passport');
const readme = readFileSync(join(dir, 'README.md'), 'utf8');

const cases = curlCases(readme);
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
      const location = /Location: (\S+)/.exec(c.comment)?.[1];
      if (location !== undefined) expect(answer.location).toBe(location);
    });
  }
});
