/**
 * The pieces of `authts explain` below the CLI: the tree trace that authz_core hands to a
 * request observer, `explainRequest` on configurations built here (provider failures, <Limit>,
 * Satisfy Any, AuthType without Require), the wire form of a URL, and the text rendering.
 */
import { describe, expect, it } from 'vitest';
import { wireTarget } from '../../src/cli/explain.js';
import { loadConfig } from '../../src/config/load.js';
import { explainRequest, type ExplainInput } from '../../src/explain/explain.js';
import { formatReport } from '../../src/explain/format.js';
import { builtinModules } from '../../src/modules.js';
import type { TreePass } from '../../src/observe.js';
import type { TraceEntry } from '../../src/authz/tree.js';
import { engineFor } from '../helpers/engine.js';
import { memoryModule } from '../helpers/memory-provider.js';

const memory = memoryModule({ users: { alice: 'pw-a', bob: 'pw-b' }, groups: { staff: ['alice'] }, broken: ['carol'] });

const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

const treeConfig = `
<Location /private>
  AuthType Basic
  AuthName "private"
  AuthBasicProvider memory
  <RequireAll>
    <RequireAny>
      Require ip 192.0.2.0/24
      Require memory-group staff
    </RequireAny>
    <RequireNone>
      Require user bob
    </RequireNone>
  </RequireAll>
</Location>
`;

describe('authz_core reports each tree pass to a request observer', () => {
  async function passesFor(authorization: string | undefined, observerThrows = false) {
    const engine = await engineFor(treeConfig, [memory]);
    const passes: { pass: TreePass; trace: TraceEntry[] }[] = [];
    const verdict = await engine.check({
      method: 'GET',
      path: '/private/x',
      headers: authorization === undefined ? {} : { authorization },
      remoteAddress: '198.51.100.1',
      observer: {
        treeEvaluated(_req, pass, trace) {
          passes.push({ pass, trace: [...trace] });
          if (observerThrows) throw new Error('observer bug');
        },
      },
    });
    await engine.config.close();
    const shown = passes.map(({ pass, trace }) => ({
      pass,
      nodes: trace.map((e) => [e.depth, e.node.type === 'require' ? e.node.text : e.node.label, e.result]),
    }));
    return { status: verdict.status, shown };
  }

  it('gives the userless pass, then the user pass, each node after negation, in pre-order', async () => {
    const { status, shown } = await passesFor(basic('alice:pw-a'));
    expect(status).toBe(200);
    expect(shown).toEqual([
      {
        pass: 'userless',
        nodes: [
          [0, '<Directory>, <Location>, or similar', 'denied-no-user'],
          [1, '<RequireAll>', 'denied-no-user'],
          [2, '<RequireAny>', 'denied-no-user'],
          [3, 'Require ip 192.0.2.0/24', 'denied'],
          [3, 'Require memory-group staff', 'denied-no-user'],
          [2, '<RequireNone>', 'neutral'],
          [3, 'Require user bob', 'denied-no-user'],
        ],
      },
      {
        pass: 'user',
        nodes: [
          [0, '<Directory>, <Location>, or similar', 'granted'],
          [1, '<RequireAll>', 'granted'],
          [2, '<RequireAny>', 'granted'],
          [3, 'Require ip 192.0.2.0/24', 'denied'],
          [3, 'Require memory-group staff', 'granted'],
          [2, '<RequireNone>', 'neutral'],
          [3, 'Require user bob', 'denied'],
        ],
      },
    ]);
  });

  it('leaves out the nodes a short-circuit skipped', async () => {
    const { status, shown } = await passesFor(basic('bob:pw-b'));
    expect(status).toBe(401);
    // bob is not staff: the <RequireAny> is denied, and the AND stops before <RequireNone>.
    expect(shown[1]?.nodes).toEqual([
      [0, '<Directory>, <Location>, or similar', 'denied'],
      [1, '<RequireAll>', 'denied'],
      [2, '<RequireAny>', 'denied'],
      [3, 'Require ip 192.0.2.0/24', 'denied'],
      [3, 'Require memory-group staff', 'denied'],
    ]);
  });

  it('decides the same when the observer throws', async () => {
    expect((await passesFor(basic('alice:pw-a'), true)).status).toBe(200);
    expect((await passesFor(basic('bob:pw-b'), true)).status).toBe(401);
  });
});

describe('explainRequest', () => {
  const request = (over: Partial<ExplainInput> = {}): ExplainInput => ({
    method: 'GET',
    target: '/private/x',
    headers: {},
    remoteAddress: '198.51.100.1',
    localAddress: '127.0.0.1',
    tls: false,
    credentials: null,
    ...over,
  });

  async function explainWith(text: string, input: ExplainInput) {
    const config = await loadConfig({ text, textName: 'test.conf', modules: [...builtinModules(), memory] });
    try {
      return await explainRequest(config, input);
    } finally {
      await config.close();
    }
  }

  it('reports a provider that cannot answer as error and the request as 500, never allowed', async () => {
    const report = await explainWith(treeConfig, request({ headers: { authorization: [basic('carol:x')] } }));
    expect(report.status).toBe(500);
    expect(report.allowed).toBe(false);
    expect(report.user).toBeNull();
    expect(report.providers.filter((p) => p.pass === 'authn')).toEqual([expect.objectContaining({ provider: 'memory', result: 'error' })]);
    expect(report.phases).toEqual([
      { step: 'require-userless', outcome: 'denied-no-user: authentication needed' },
      { step: 'authn', outcome: 'user "carol" not authenticated: 500' },
    ]);
    expect(report.request.headers).toEqual({ authorization: '(hidden, 18 bytes)' });
    expect(report.route).toEqual({ kind: 'no-document-root' });
  });

  it('shows a <Limit> line with its methods, granted under AND for a method it does not cover', async () => {
    const text = `
<Location /private>
  <RequireAll>
    Require all granted
    <Limit POST>
      Require all denied
    </Limit>
  </RequireAll>
</Location>
`;
    const get = await explainWith(text, request());
    expect(get.status).toBe(200);
    expect(get.next).toBe('no DocumentRoot: 404 Not Found');
    const limited = get.tree?.children?.[0]?.children?.[1];
    expect(limited).toEqual(expect.objectContaining({ text: 'Require all denied', limit: 'POST', userless: 'granted', user: null }));
    const post = await explainWith(text, request({ method: 'post' }));
    expect(post.request.method).toBe('POST');
    expect(post.status).toBe(403);
    expect(post.tree?.children?.[0]?.children?.[1]?.userless).toBe('denied');
  });

  it('says when the access phase allowed the request before Require (Satisfy Any)', async () => {
    const text = `
<Location /private>
  AuthType Basic
  AuthName "private"
  AuthBasicProvider memory
  Require valid-user
  Order deny,allow
  Deny from all
  Allow from 198.51.100.0/24
  Satisfy Any
</Location>
`;
    const inside = await explainWith(text, request());
    expect(inside.status).toBe(200);
    expect(inside.decidedBy).toBeNull();
    expect(inside.phases).toEqual([{ step: 'access', outcome: 'allowed before Require was evaluated (Satisfy Any with an access rule that allows)' }]);
    const outside = await explainWith(text, request({ remoteAddress: '203.0.113.5' }));
    expect(outside.status).toBe(401);
    expect(outside.headers).toEqual({ 'WWW-Authenticate': 'Basic realm="private"' });
  });

  it('reports AuthType without Require as 500 with its log code', async () => {
    const report = await explainWith('<Location /private>\n  AuthType Basic\n  AuthName "p"\n  AuthBasicProvider memory\n</Location>\n', request());
    expect(report.status).toBe(500);
    expect(report.tree).toBeNull();
    expect(report.log).toContainEqual(expect.objectContaining({ level: 'error', code: 'AUTHTYPE_WITHOUT_REQUIRE' }));
    expect(report.phases).toEqual([{ step: 'access', outcome: 'ended with 500' }]);
  });

  it('refuses an encoded slash with 404 before any phase, as serve does', async () => {
    const report = await explainWith(treeConfig, request({ target: '/private%2fx' }));
    expect(report.status).toBe(404);
    expect(report.normalized).toEqual({ ok: false, status: 404, reason: 'encoded "/" in path (AllowEncodedSlashes Off)' });
    expect(report.providers).toEqual([]);
  });

  it('renders the tree as text, "-" where a pass did not reach a node and "*" on the deciding pass', async () => {
    const report = await explainWith(treeConfig, request({ headers: { authorization: [basic('bob:pw-b')] } }));
    const text = formatReport(report, '/nowhere');
    expect(text).toMatch(/Require tree \(results without a user \| with the user; decided by the user pass\):/);
    expect(text).toMatch(/\n {6}<RequireNone> \(none of\)\s+neutral\s+-\s+test\.conf:11\n/);
    expect(text).toMatch(/without user\s+with user \*/);
    expect(text).toContain('  status: 401 Unauthorized (refused)\n  WWW-Authenticate: Basic realm="private"\n');
    expect(text).toContain('  authorization: (hidden, 18 bytes)\n');
    expect(text).not.toContain('pw-b');
  });
});

describe('wireTarget', () => {
  it('sends a path as given, without resolving dot segments', () => {
    expect(wireTarget('/a/../b?x=1')).toEqual({ target: '/a/../b?x=1', host: undefined, tls: false });
  });

  it('keeps the path and query of an http(s) URL; https means TLS', () => {
    expect(wireTarget('http://example.com:8080/x?y')).toEqual({ target: '/x?y', host: 'example.com:8080', tls: false });
    expect(wireTarget('HTTPS://example.com')).toEqual({ target: '/', host: 'example.com', tls: true });
    expect(wireTarget('https://example.com?q')).toEqual({ target: '/?q', host: 'example.com', tls: true });
  });

  it('sends non-ASCII characters as their UTF-8 bytes, one character per byte', () => {
    expect(wireTarget('/café').target).toBe('/caf\u00c3\u00a9');
  });

  it('refuses other schemes and credentials in the URL', () => {
    expect(() => wireTarget('ftp://example.com/x')).toThrow('URL scheme ftp: give a path or an http(s) URL');
    expect(() => wireTarget('http://alice:pw@example.com/x')).toThrow(/use --user/);
  });
});
