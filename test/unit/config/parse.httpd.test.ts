/**
 * The parser against the real thing: each case runs `apache2 -t` (Apache 2.4, with only the event
 * MPM and mod_authz_core loaded) on a small config and compares what httpd did with what
 * parseConfigText/parseConfigFile do. httpd stops at its first error, so every case has at most
 * one. Observations are read from its "Syntax error on line N of FILE: MESSAGE" output (which
 * doubles backslashes) and from `-D DUMP_INCLUDES`. httpd is required (.ci/run installs it): a
 * machine without it fails here rather than skipping.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseConfigFile, parseConfigText, splitWords } from '../../../src/config/parse.js';

const HTTPD = ['/usr/sbin/apache2', '/usr/sbin/httpd', '/usr/local/apache2/bin/httpd'].find((p) => existsSync(p));
const MODULES = ['/usr/lib/apache2/modules', '/usr/lib64/httpd/modules', '/usr/local/apache2/modules'].find((p) =>
  existsSync(path.join(p, 'mod_mpm_event.so')),
);

interface HttpdRun {
  readonly ok: boolean;
  /** The innermost "Syntax error on line N of <t.conf or an include>: message". */
  readonly line: number | undefined;
  readonly message: string | undefined;
  readonly output: string;
}

describe('parser agrees with apache2 -t', () => {
  it('has a real httpd to compare with (apt-get install apache2)', () => {
    expect(HTTPD, 'no httpd binary found').toBeDefined();
    expect(MODULES, 'no httpd module directory found').toBeDefined();
  });

  let dir: string;
  let base: string;
  let conf: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'authts-httpd-oracle-'));
    base = path.join(dir, 'base.conf');
    conf = path.join(dir, 't.conf');
    await writeFile(
      base,
      [
        `ServerRoot ${dir}`,
        `DefaultRuntimeDir ${dir}`,
        `PidFile ${dir}/httpd.pid`,
        `ErrorLog ${dir}/error.log`,
        'ServerName localhost',
        'Listen 127.0.0.1:18999',
        `LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so`,
        `LoadModule authz_core_module ${MODULES}/mod_authz_core.so`,
        `Include ${conf}`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function httpd(args: readonly string[]): Promise<HttpdRun> {
    return new Promise((resolve) => {
      execFile(HTTPD as string, ['-t', '-f', base, ...args], { env: { PATH: '/usr/bin:/bin' } }, (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        const errors = [...output.matchAll(/Syntax error on line (\d+) of ([^:]+): /g)];
        const last = errors.at(-1);
        const message = last ? output.slice((last.index ?? 0) + last[0].length).split('\n')[0] : undefined;
        resolve({ ok: err === null, line: last ? Number(last[1]) : undefined, message, output });
      });
    });
  }

  async function run(text: string, args: readonly string[] = []): Promise<HttpdRun> {
    await writeFile(conf, text);
    return httpd(args);
  }

  /** httpd's error output doubles backslashes. */
  function unescape(text: string): string {
    return text.replace(/\\\\/g, '\\');
  }

  it.each([
    ['"/nx-authts/a\\"b"'],
    ["'/nx-authts/a\\'b'"],
    ['"/nx-authts/a\\\\b"'],
    ['/nx-authts/a\\\\b'],
    ['/nx-authts/a\\"b'],
    ['/nx-authts/a\\b'],
    ['"/nx-authts/a b'],
    ['"/nx-authts/it\'s"'],
  ])('splits %s into the same single word', async (raw) => {
    const h = await run(`Include ${raw}\n`);
    const opened = /Could not open configuration file (.*): No such file or directory/.exec(h.message ?? '');
    expect(opened, h.output).not.toBeNull();
    expect(splitWords(raw)).toEqual([unescape(opened?.[1] ?? '')]);
  });

  it.each([['"/nx-authts/a"b'], ['/nx-authts/a"b c"'], ['/nx-authts/a # not a comment']])(
    'splits %s into several words',
    async (raw) => {
      const h = await run(`Include ${raw}\n`);
      expect(h.message).toMatch(/^Include takes one argument/);
      expect(splitWords(raw).length).toBeGreaterThan(1);
    },
  );

  it('numbers lines the same across comments, blank lines, CRLF and a swallowing comment', async () => {
    const text = '\r\n# comment \\\r\nSwallowed by the comment\r\n  # indented\r\n\r\n\tInclude /nx-authts/marker\r\n';
    const h = await run(text);
    const ours = await parseConfigText(text, { file: conf, env: {} });
    expect(h.message).toMatch(/^Could not open configuration file \/nx-authts\/marker/);
    expect(ours.errors.map((e) => e.line)).toEqual([h.line]);
    expect(ours.nodes).toEqual([]);
  });

  it('joins continuation lines the same way, but numbers them by the first line (httpd: last)', async () => {
    const text = 'Include /nx-authts/a\\\nb\\\r\nc\n';
    const h = await run(text);
    const ours = await parseConfigText(text, { file: conf, env: {} });
    expect(h.message).toMatch(/^Could not open configuration file \/nx-authts\/abc:/);
    expect(ours.errors[0]?.message).toMatch(/^Could not open configuration file \/nx-authts\/abc:/);
    expect(h.line).toBe(3);
    expect(ours.errors[0]?.line).toBe(1);
  });

  it.each([
    ['<Directory /tmp>\n', '<Directory> was not closed.'],
    ['</Files>\n', '</Files> without matching <Files> section'],
    ['<Directory /tmp>\n</Files>\n</Directory>\n', 'Expected </Directory> but saw </Files>'],
    ['<Directory /tmp\n</Directory>\n', "<Directory> directive missing closing '>'"],
    ['<Directory /tmp>\n</Directory >\n', "</Directory> directive missing closing '>'"],
    ['<IfDefine>\n</IfDefine>\n', '<IfDefine> directive requires additional arguments'],
    ['<IfModule !>\n</IfModule>\n', '<IfModule> directive requires additional arguments'],
    ['Define A:B 1\n', "Variable name must not contain ':'"],
  ])('reports %j with httpd wording', async (text, expected) => {
    const h = await run(text);
    const ours = await parseConfigText(text, { file: conf, env: {} });
    // httpd logs the unclosed-section error before the file:line prefix it adds itself.
    expect(h.output).toContain(expected);
    expect(ours.errors.map((e) => e.message)).toEqual([expected]);
  });

  it.each([
    ['Define X\n<IfDefine X>\n', [], true],
    ['Define X\n<IfDefine !X>\n', [], false],
    ['Define X\n<IfDefine ! X>\n', [], false],
    ['Define X\n<IfDefine "X">\n', [], true],
    ['<IfDefine FROMCLI>\n', ['-D', 'FROMCLI'], true],
    ['Define X\n<IfDefine X Y>\n', [], true],
    ['<Directory /tmp>\nDefine X 1\n</Directory>\n<IfDefine X>\n', [], true],
    ['Define X 1\nUnDefine X\n<IfDefine X>\n', [], false],
    ['<IfModule mod_authz_core.c>\n', [], true],
    ['<IfModule authz_core_module>\n', [], true],
    ['<IfModule "mod_authz_core.c">\n', [], true],
    ['<IfModule mod_authz_core>\n', [], false],
    ['<IfModule mod_AUTHZ_core.c>\n', [], false],
    ['<IfModule !mod_authz_core.c>\n', [], false],
    ['<IfModule !mod_ldap.c>\n', [], true],
  ] as const)('evaluates %j with arguments %j the same (taken: %j)', async (open, args, taken) => {
    const close = /<(If\w+)/.exec(open)?.[1] ?? '';
    const text = `${open}Include /nx-authts/taken\n</${close}>\n`;
    const h = await run(text, args);
    const defines = new Map(args.length > 0 ? [[args[1] as string, '']] : []);
    const ours = await parseConfigText(text, {
      file: conf,
      env: {},
      defines,
      knownModules: new Set(['mpm_event', 'authz_core']),
    });
    const httpdTook = h.message?.includes('/nx-authts/taken') ?? false;
    const weTook = ours.errors.some((e) => e.message.includes('/nx-authts/taken'));
    expect(httpdTook, h.output).toBe(taken);
    expect(weTook).toBe(taken);
  });

  it('substitutes Define values and the environment like httpd, keeping undefined ones literal', async () => {
    const text = 'Define V "a b"\nDefine W\nInclude "/nx-authts/${V}-${W}-${a:b}"\n';
    const h = await run(text);
    const ours = await parseConfigText(text, { file: conf, env: {} });
    expect(h.output).toContain('AH00111: Config variable ${W} is not defined');
    expect(h.message).toMatch(/^Could not open configuration file \/nx-authts\/a b-\$\{W\}-\$\{a:b\}:/);
    expect(ours.errors.map((e) => e.message)).toEqual([
      'Config variable ${W} is not defined',
      'Could not open configuration file /nx-authts/a b-${W}-${a:b}: No such file or directory',
    ]);
  });

  it('reads includes in the same order (-D DUMP_INCLUDES)', async () => {
    const tree = [
      'inc/d/b.conf',
      'inc/d/a.conf',
      'inc/d/A.conf',
      'inc/d/.hidden',
      'inc/d/sub/z.conf',
      'inc/d2/B.conf',
      'inc/d2/_.conf',
      'inc/d2/.h.conf',
      'inc/w1/x/1.conf',
      'inc/w1/x/0.conf',
      'inc/w2/x/2.conf',
      'inc/.w3/x/3.conf',
    ];
    for (const rel of tree) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), `# ${rel}\n`);
    }
    const text = 'Include inc/d\nInclude inc/d2/*\nInclude inc/w*/x/*.conf\nIncludeOptional inc/none/*.conf\n';
    await writeFile(conf, text);
    const h = await httpd(['-D', 'DUMP_INCLUDES']);
    expect(h.ok, h.output).toBe(true);
    const httpdFiles = [...h.output.matchAll(/^\s+\(\d+\) (\S+)$/gm)].map((m) => m[1]);
    const ours = await parseConfigFile(conf, { serverRoot: dir });
    expect(ours.errors).toEqual([]);
    // httpd lists t.conf (included from base.conf) first, then what t.conf included.
    expect(httpdFiles.length).toBe(1 + tree.length - 2);
    expect(ours.files).toEqual(httpdFiles);
  });

  it('fails on the same wildcard that matches nothing', async () => {
    await mkdir(path.join(dir, 'inc/empty'), { recursive: true });
    const text = 'Include inc/empty/*.conf\n';
    const h = await run(text);
    const ours = await parseConfigFile(conf, { serverRoot: dir });
    expect(h.message).toBe(`Include/IncludeOptional: No matches for the wildcard '*.conf' in '${dir}/inc/empty', failing`);
    expect(ours.errors.map((e) => e.message)).toEqual([
      `No matches for the wildcard '*.conf' in '${dir}/inc/empty', failing`,
    ]);
  });
});
