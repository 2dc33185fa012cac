/**
 * The config lexer and parser. Where a case states httpd behaviour, it was checked by hand against
 * Apache 2.4.71 (`apache2 -t -f …`, errors read from the "Syntax error on line N" output and
 * include order from `-D DUMP_INCLUDES`); parse.httpd.test.ts re-checks a sample automatically.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConfigError } from '../../../src/errors.js';
import { compileFnmatch, hasWildcard } from '../../../src/config/include.js';
import { logicalLines, readWord } from '../../../src/config/lexer.js';
import type { ConfigNode, DirectiveNode, SectionNode } from '../../../src/config/nodes.js';
import {
  parseConfigFile,
  parseConfigText,
  splitWords,
  type ParseOptions,
  type ParseResult,
} from '../../../src/config/parse.js';

const FILE = '/virtual/test.conf';

function parse(text: string, options: ParseOptions = {}): Promise<ParseResult> {
  return parseConfigText(text, { file: FILE, env: {}, ...options });
}

function directive(node: ConfigNode | undefined): DirectiveNode {
  expect(node?.kind).toBe('directive');
  return node as DirectiveNode;
}

function section(node: ConfigNode | undefined): SectionNode {
  expect(node?.kind).toBe('section');
  return node as SectionNode;
}

/** `name args…` of each node, sections as `<name args> [children]`, for compact assertions. */
function outline(nodes: readonly ConfigNode[]): unknown[] {
  return nodes.map((n) =>
    n.kind === 'directive'
      ? [n.name, ...n.args].join(' ')
      : { [`<${[n.name, ...n.args].join(' ')}>`]: outline(n.children) },
  );
}

function messages(result: ParseResult): string[] {
  return result.errors.map((e) => `${e.code} ${e.line}: ${e.message}`);
}

describe('splitWords (ap_getword_conf)', () => {
  it('splits on blanks and removes quotes', () => {
    expect(splitWords('  a \t b  "c d"  \'e f\' ')).toEqual(['a', 'b', 'c d', 'e f']);
  });

  it('unescapes only the quote character and the backslash inside quotes', () => {
    expect(splitWords('"a\\"b"')).toEqual(['a"b']);
    expect(splitWords("'a\\'b'")).toEqual(["a'b"]);
    expect(splitWords('"a\\\\b"')).toEqual(['a\\b']);
    expect(splitWords('"a\\nb"')).toEqual(['a\\nb']);
    expect(splitWords('"it\'s"')).toEqual(["it's"]);
    expect(splitWords('\'say "hi"\'')).toEqual(['say "hi"']);
    expect(splitWords('\'a\\"b\'')).toEqual(['a\\"b']);
  });

  it('unescapes \\\\ but keeps \\" outside quotes (httpd: substring_conf with no quote)', () => {
    expect(splitWords('a\\\\b')).toEqual(['a\\b']);
    expect(splitWords('a\\"b')).toEqual(['a\\"b']);
  });

  it('ends a quoted word at its closing quote, blank or not', () => {
    expect(splitWords('"a"b')).toEqual(['a', 'b']);
    expect(splitWords('a"b c"')).toEqual(['a"b', 'c"']);
  });

  it('keeps a quoted empty word and runs an unterminated quote to the end', () => {
    expect(splitWords('"" x \'\'')).toEqual(['', 'x', '']);
    expect(splitWords('x "a b')).toEqual(['x', 'a b']);
    expect(splitWords('')).toEqual([]);
    expect(splitWords('   ')).toEqual([]);
  });

  it('readWord reports where the next word starts', () => {
    expect(readWord('"a b"   c')).toEqual({ value: 'a b', end: 8, unterminated: false });
    expect(readWord('"ab')).toEqual({ value: 'ab', end: 3, unterminated: true });
  });
});

describe('logicalLines', () => {
  it('skips blank and comment lines; # is a comment only at the start of a line', () => {
    expect(logicalLines('\n  # indented comment\n\t\nA b # not a comment\n#x\n')).toEqual([
      { text: 'A b # not a comment', line: 4 },
    ]);
  });

  it('joins a line ending in \\ with the next, numbered by its first line', () => {
    const lines = logicalLines('A 1\nB x\\\n  y\\\nz\nC 3\n');
    expect(lines).toEqual([
      { text: 'A 1', line: 1 },
      { text: 'B x  yz', line: 2 },
      { text: 'C 3', line: 5 },
    ]);
  });

  it('continues only when \\ is right before the newline', () => {
    expect(logicalLines('A x\\ \nB y\n')).toEqual([
      { text: 'A x\\', line: 1 },
      { text: 'B y', line: 2 },
    ]);
  });

  it('lets a comment line continue and swallow the next line, as httpd', () => {
    expect(logicalLines('# comment \\\nSwallowed yes\nKept 1\n')).toEqual([{ text: 'Kept 1', line: 3 }]);
  });

  it('tolerates CRLF, also in continuations, and a missing final newline', () => {
    expect(logicalLines('A 1\r\nB x\\\r\ny\r\nC 3')).toEqual([
      { text: 'A 1', line: 1 },
      { text: 'B xy', line: 2 },
      { text: 'C 3', line: 4 },
    ]);
  });

  it('keeps a \\ on the last line without newline, drops one before the final newline', () => {
    expect(logicalLines('A x\\')).toEqual([{ text: 'A x\\', line: 1 }]);
    expect(logicalLines('A x\\\n')).toEqual([{ text: 'A x', line: 1 }]);
  });

  it('drops a UTF-8 byte-order mark', () => {
    expect(logicalLines('\ufeffA 1\n')).toEqual([{ text: 'A 1', line: 1 }]);
  });
});

describe('parseConfigText: directives', () => {
  it('gives name, split args, raw text with quotes, file and line', async () => {
    const r = await parse('\n# c\nAuthName "Private \\"area\\""  \nRequire expr "%{REMOTE_USER} == \'bob\'"\n');
    expect(r.errors).toEqual([]);
    expect(r.nodes).toEqual([
      {
        kind: 'directive',
        name: 'AuthName',
        args: ['Private "area"'],
        raw: '"Private \\"area\\""',
        file: FILE,
        line: 3,
      },
      {
        kind: 'directive',
        name: 'Require',
        args: ['expr', "%{REMOTE_USER} == 'bob'"],
        raw: `expr "%{REMOTE_USER} == 'bob'"`,
        file: FILE,
        line: 4,
      },
    ]);
  });

  it('numbers a continued directive by its first line and keeps counting after it', async () => {
    const r = await parse('A 1\nRequire user \\\n   alice \\\n   bob\nB 2\n');
    expect(r.nodes.map((n) => [n.name, n.line])).toEqual([
      ['A', 1],
      ['Require', 2],
      ['B', 5],
    ]);
    expect(directive(r.nodes[1]).args).toEqual(['user', 'alice', 'bob']);
  });

  it('warns about an unterminated quote but keeps the words', async () => {
    const r = await parse('AuthName "open\n');
    expect(r.errors).toEqual([]);
    expect(directive(r.nodes[0]).args).toEqual(['open']);
    expect(r.warnings).toEqual([
      { file: FILE, line: 1, message: 'AuthName: unterminated quote runs to the end of the line' },
    ]);
  });

  it('returns an empty result for an empty text', async () => {
    const r = await parse('');
    expect(r).toMatchObject({ nodes: [], errors: [], warnings: [], files: [] });
  });
});

describe('parseConfigText: sections', () => {
  it('nests sections, matches closing tags case-insensitively, unquotes tag arguments', async () => {
    const r = await parse(
      [
        '<Directory "/srv/my www">',
        '  AuthType Basic',
        '  <RequireAll>',
        '    Require valid-user',
        '    <RequireAny>',
        '      Require user a',
        '    </requireany>',
        '  </RequireAll>',
        '</DIRECTORY>',
        '<Location />',
        '</Location>',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual([
      {
        '<Directory /srv/my www>': [
          'AuthType Basic',
          { '<RequireAll>': ['Require valid-user', { '<RequireAny>': ['Require user a'] }] },
        ],
      },
      { '<Location />': [] },
    ]);
    const dir = section(r.nodes[0]);
    expect(dir).toMatchObject({ name: 'Directory', raw: '"/srv/my www"', file: FILE, line: 1 });
    expect(section(dir.children[1])).toMatchObject({ name: 'RequireAll', args: [], raw: '', line: 3 });
    expect(section(r.nodes[1])).toMatchObject({ args: ['/'], raw: '/', line: 10 });
  });

  it('ends the tag at the last ">" (httpd: strrchr), warning about text after it', async () => {
    const r = await parse('<Directory /t>mp>\n</Directory>\n<Files "a>"\n</Files>\n<Files x> junk\n</Files>\n');
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual([{ '<Directory /t>mp>': [] }, { '<Files a>': [] }, { '<Files x>': [] }]);
    // `<Files "a>"`: the last '>' is inside the quotes, so a lone '"' follows it.
    expect(r.warnings.map((w) => `${w.line}: ${w.message}`)).toEqual([
      `3: <Files>: text after '>' is ignored: "`,
      '3: <Files>: unterminated quote runs to the end of the line',
      "5: <Files>: text after '>' is ignored: junk",
    ]);
  });

  it('accepts "<RequireAll" with no arguments and no ">" with a warning, as httpd does', async () => {
    const r = await parse('<RequireAll\nRequire all granted\n</RequireAll>\n');
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual([{ '<RequireAll>': ['Require all granted'] }]);
    expect(r.warnings.map((w) => w.message)).toEqual(["<RequireAll> directive missing closing '>'"]);
  });

  it('reports a section that was not closed at its opening line', async () => {
    const r = await parse('A 1\n<Directory /x>\n  <Files y>\n  </Files>\n');
    expect(r.errors).toHaveLength(1);
    const [e] = r.errors;
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toMatchObject({ code: 'CONFIG_SYNTAX', file: FILE, line: 2, directive: '' });
    expect(e?.message).toBe('<Directory> was not closed.');
    expect(String(e)).toBe(`${FILE}:2: <Directory> was not closed. (add </Directory>)`);
    // The unclosed section is still in the tree.
    expect(outline(r.nodes)).toEqual(['A 1', { '<Directory /x>': [{ '<Files y>': [] }] }]);
  });

  it('reports a closing tag without an opening one', async () => {
    const r = await parse('</Files>\n');
    expect(messages(r)).toEqual(['CONFIG_SYNTAX 1: </Files> without matching <Files> section']);
  });

  it('reports a mismatched closing tag and recovers to the section it names', async () => {
    const r = await parse('<Directory /x>\n<Files y>\nA 1\n</Directory>\nB 2\n');
    expect(messages(r)).toEqual(['CONFIG_SYNTAX 4: Expected </Files> but saw </Directory>']);
    expect(outline(r.nodes)).toEqual([{ '<Directory /x>': [{ '<Files y>': ['A 1'] }] }, 'B 2']);
  });

  it('ignores a stray closing tag inside a section after reporting it', async () => {
    const r = await parse('<Directory /x>\n</Files>\nA 1\n</Directory>\n');
    expect(messages(r)).toEqual(['CONFIG_SYNTAX 2: Expected </Directory> but saw </Files>']);
    expect(outline(r.nodes)).toEqual([{ '<Directory /x>': ['A 1'] }]);
  });

  it("reports a missing '>' on opening and closing tags (httpd 2.4.71 wording)", async () => {
    const r = await parse('<Directory /x\nA 1\n</Directory >\n<Files y>\n</Files y>\n');
    expect(messages(r)).toEqual([
      "CONFIG_SYNTAX 1: <Directory> directive missing closing '>'",
      "CONFIG_SYNTAX 3: </Directory> directive missing closing '>'",
      "CONFIG_SYNTAX 5: </Files> directive missing closing '>'",
    ]);
    expect(outline(r.nodes)).toEqual([{ '<Directory /x>': ['A 1'] }, { '<Files y>': [] }]);
  });

  it('reports several errors of different kinds together, in line order', async () => {
    const r = await parse(
      [
        '</Limit>', // 1: stray
        'AuthUserFile ${NOPE}/users', // 2: undefined variable
        '<Directory /a>', // 3
        '</Files>', // 4: mismatched
        '</Directory>', // 5
        'Include', // 6: bad argument count
        'Include /nonexistent-authts/x.conf', // 7: missing file
        '<Location /z>', // 8: not closed
      ].join('\n'),
    );
    expect(messages(r)).toEqual([
      'CONFIG_SYNTAX 1: </Limit> without matching <Limit> section',
      'CONFIG_UNDEFINED_VARIABLE 2: Config variable ${NOPE} is not defined',
      'CONFIG_SYNTAX 4: Expected </Directory> but saw </Files>',
      'CONFIG_BAD_ARGUMENT 6: takes one argument: the file, directory or wildcard to include',
      'CONFIG_INCLUDE 7: Could not open configuration file /nonexistent-authts/x.conf: No such file or directory',
      'CONFIG_SYNTAX 8: <Location> was not closed.',
    ]);
    expect(r.errors.every((e) => e.file === FILE)).toBe(true);
  });
});

describe('Define, UnDefine and ${NAME}', () => {
  it('substitutes a Define value before splitting words, only on later lines', async () => {
    const r = await parse('Define N "a b"\nRequire user ${N}\nDefine N c\nRequire user "${N}"\n');
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['Require user a b', 'Require user c']);
    expect(directive(r.nodes[0]).raw).toBe('user a b');
    expect(r.defines).toEqual(new Map([['N', 'c']]));
  });

  it('does not see a Define from a later line', async () => {
    const r = await parse('A ${LATE}\nDefine LATE 1\n');
    expect(messages(r)).toEqual(['CONFIG_UNDEFINED_VARIABLE 1: Config variable ${LATE} is not defined']);
  });

  it('substitutes in section tags and in the directive name', async () => {
    const r = await parse('Define D /srv\nDefine T Files\n<Directory ${D}/www>\n<${T} x>\n</${T}>\n</Directory>\n');
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual([{ '<Directory /srv/www>': [{ '<Files x>': [] }] }]);
  });

  it('falls back to options.env, then fails with CONFIG_UNDEFINED_VARIABLE (httpd only warns)', async () => {
    const r = await parse('AuthUserFile ${ETC}/users\nAuthGroupFile ${MISSING}/groups\n', {
      env: { ETC: '/etc/authts', MISSING: undefined },
    });
    expect(directive(r.nodes[0]).args).toEqual(['/etc/authts/users']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      code: 'CONFIG_UNDEFINED_VARIABLE',
      line: 2,
      directive: 'AuthGroupFile',
      message: 'Config variable ${MISSING} is not defined',
    });
    // The literal text stays, as in httpd.
    expect(directive(r.nodes[1]).args).toEqual(['${MISSING}/groups']);
  });

  it('uses process.env when options.env is not given', async () => {
    const r = await parseConfigText('A ${PATH}\n', { file: FILE });
    expect(r.errors).toEqual([]);
    expect(directive(r.nodes[0]).args).toEqual([process.env.PATH]);
  });

  it('prefers a Define over the environment', async () => {
    const r = await parse('Define HOME /d\nA ${HOME}\n', { env: { HOME: '/e' } });
    expect(directive(r.nodes[0]).args).toEqual(['/d']);
  });

  it('a Define without a value defines the name for IfDefine but gives ${NAME} no value (httpd)', async () => {
    const r = await parse('Define FLAG\n<IfDefine FLAG>\nA ${FLAG}\n</IfDefine>\n');
    expect(outline(r.nodes)).toEqual(['A ${FLAG}']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      code: 'CONFIG_UNDEFINED_VARIABLE',
      line: 3,
      hint: '"Define FLAG" gives no value; write "Define FLAG value"',
    });
    expect(r.defines).toEqual(new Map([['FLAG', '']]));
  });

  it('leaves ${map:key} (RewriteMap syntax), lone $ and unclosed ${ alone', async () => {
    const r = await parse('RewriteRule ^/(.*) ${map:$1} [L]\nA $x ${y\n');
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['RewriteRule ^/(.*) ${map:$1} [L]', 'A $x ${y']);
  });

  it('does not substitute again inside a substituted value', async () => {
    const r = await parse('Define A ${B}\n', { env: {} });
    expect(messages(r)).toEqual(['CONFIG_UNDEFINED_VARIABLE 1: Config variable ${B} is not defined']);
    const r2 = await parse('Define A $${X}}\nB ${A}\n', { env: { X: 'x' } });
    expect(r2.errors).toEqual([]);
    expect(directive(r2.nodes[0]).args).toEqual(['$x}']);
  });

  it('does not substitute comments', async () => {
    const r = await parse('# ${NOPE}\n  #${NOPE}\n');
    expect(r.errors).toEqual([]);
  });

  it('defines globally from inside a section (httpd 2.4.71 accepts this)', async () => {
    const r = await parse('<Directory /x>\nDefine IN 1\n</Directory>\nA ${IN}\n');
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual([{ '<Directory /x>': [] }, 'A 1']);
  });

  it('UnDefine removes a name, also one from options.defines', async () => {
    const r = await parse(
      'UnDefine X\n<IfDefine X>\nA 1\n</IfDefine>\nDefine Y 2\nundefine Y\n<IfDefine !Y>\nB 2\n</IfDefine>\n',
      { defines: new Map([['X', '1']]) },
    );
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['B 2']);
    expect(r.defines.size).toBe(0);
  });

  it('treats options.defines as Defines with values and reports the final set', async () => {
    const r = await parse('A ${V}\nDefine W 2\n', { defines: new Map([['V', 'one']]) });
    expect(directive(r.nodes[0]).args).toEqual(['one']);
    expect(r.defines).toEqual(
      new Map([
        ['V', 'one'],
        ['W', '2'],
      ]),
    );
  });

  it('reports bad Define and UnDefine lines', async () => {
    const r = await parse('Define\nDefine A 1 2\nDefine A:B 1\nUnDefine\nUnDefine A B\n');
    expect(messages(r)).toEqual([
      'CONFIG_BAD_ARGUMENT 1: takes 1-2 arguments: a variable name and an optional value',
      'CONFIG_BAD_ARGUMENT 2: takes 1-2 arguments: a variable name and an optional value',
      "CONFIG_BAD_ARGUMENT 3: Variable name must not contain ':'",
      'CONFIG_BAD_ARGUMENT 4: takes one argument: the variable to undefine',
      'CONFIG_BAD_ARGUMENT 5: takes one argument: the variable to undefine',
    ]);
    expect(r.errors.map((e) => e.directive)).toEqual(['Define', 'Define', 'Define', 'UnDefine', 'UnDefine']);
    expect(r.nodes).toEqual([]);
  });
});

describe('<IfDefine> and <IfModule>', () => {
  it('splices a true IfDefine body in place and drops a false one', async () => {
    const r = await parse(
      'A 1\n<IfDefine ON>\nB 2\n<Directory /x>\nC 3\n</Directory>\n</IfDefine>\n<IfDefine OFF>\nD 4\n</IfDefine>\nE 5\n',
      { defines: new Map([['ON', '']]) },
    );
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['A 1', 'B 2', { '<Directory /x>': ['C 3'] }, 'E 5']);
    expect(r.nodes.map((n) => n.line)).toEqual([1, 3, 4, 11]);
  });

  it('negates with !, reads the name as a word, ignores extra words with a warning', async () => {
    const r = await parse(
      'Define ON\n<IfDefine !ON>\nA\n</IfDefine>\n<IfDefine !OFF>\nB\n</IfDefine>\n<IfDefine "ON">\nC\n</IfDefine>\n<IfDefine ! ON>\nD\n</IfDefine>\n<IfDefine ON OFF>\nE\n</IfDefine>\n',
    );
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['B', 'C', 'E']);
    expect(r.warnings.map((w) => `${w.line}: ${w.message}`)).toEqual([
      '14: <IfDefine>: arguments after the first are ignored: OFF',
    ]);
  });

  it('nests conditionals inside sections and sections inside conditionals', async () => {
    const r = await parse(
      '<Location />\n<IfDefine A>\n<IfDefine B>\nX\n</IfDefine>\nY\n</IfDefine>\n</Location>\n',
      { defines: new Map([['A', '']]) },
    );
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual([{ '<Location />': ['Y'] }]);
  });

  it('does not substitute, define or include inside a false conditional', async () => {
    const r = await parse(
      '<IfDefine OFF>\nA ${NOPE}\nDefine X 1\nInclude /nonexistent-authts/*.conf\n<Directory ${NOPE}>\n</Directory>\n</IfDefine>\n',
    );
    expect(r.errors).toEqual([]);
    expect(r.nodes).toEqual([]);
    expect(r.defines.size).toBe(0);
  });

  it('still checks tag nesting inside a false conditional (httpd: ap_soak_end_container)', async () => {
    const r = await parse('<IfDefine OFF>\n<Directory /x>\n</Files>\n</Directory>\n</IfDefine>\n<IfDefine OFF>\n');
    expect(messages(r)).toEqual([
      'CONFIG_SYNTAX 3: Expected </Directory> but saw </Files>',
      'CONFIG_SYNTAX 6: <IfDefine> was not closed.',
    ]);
  });

  it('reports an IfDefine or IfModule without a name and skips its body', async () => {
    const r = await parse('<IfDefine>\nA\n</IfDefine>\n<IfModule !>\nB\n</IfModule>\n');
    expect(messages(r)).toEqual([
      'CONFIG_SYNTAX 1: <IfDefine> directive requires additional arguments',
      'CONFIG_SYNTAX 4: <IfModule> directive requires additional arguments',
    ]);
    expect(r.nodes).toEqual([]);
  });

  it('a section opened in a conditional must close in it', async () => {
    const r = await parse('<IfDefine ON>\n<Directory /x>\n</IfDefine>\n</Directory>\n', {
      defines: new Map([['ON', '']]),
    });
    expect(messages(r)).toEqual([
      'CONFIG_SYNTAX 3: Expected </Directory> but saw </IfDefine>',
      'CONFIG_SYNTAX 4: </Directory> without matching <Directory> section',
    ]);
  });

  it('matches IfModule by source name or identifier against knownModules in any spelling', async () => {
    const text = [
      '<IfModule mod_authn_file.c>\nA\n</IfModule>',
      '<IfModule authn_file_module>\nB\n</IfModule>',
      '<IfModule auth_basic_module>\nC\n</IfModule>',
      '<IfModule mod_authz_core.c>\nD\n</IfModule>',
      '<IfModule !mod_ldap.c>\nE\n</IfModule>',
      '<IfModule !authn_file_module>\nF\n</IfModule>',
      '<IfModule "mod_authz_user.c">\nG\n</IfModule>',
    ].join('\n');
    const known = new Set(['mod_authn_file', 'auth_basic_module', 'mod_authz_core.c', 'authz_user']);
    const r = await parse(text, { knownModules: known });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(outline(r.nodes)).toEqual(['A', 'B', 'C', 'D', 'E', 'G']);
  });

  it('is case-sensitive and never matches "mod_x" without .c, as httpd 2.4.71 (warning)', async () => {
    const r = await parse('<IfModule mod_authn_file>\nA\n</IfModule>\n<IfModule mod_AUTHN_file.c>\nB\n</IfModule>\n', {
      knownModules: new Set(['authn_file_module']),
    });
    expect(r.errors).toEqual([]);
    expect(r.nodes).toEqual([]);
    expect(r.warnings).toEqual([
      {
        file: FILE,
        line: 1,
        message: '<IfModule mod_authn_file>: httpd names a module only as mod_NAME.c or NAME_module; "mod_authn_file" never matches',
      },
    ]);
  });

  it('treats every module as absent without knownModules', async () => {
    const r = await parse('<IfModule mod_authn_file.c>\nA\n</IfModule>\n<IfModule !mod_authn_file.c>\nB\n</IfModule>\n');
    expect(outline(r.nodes)).toEqual(['B']);
  });
});

describe('Include and IncludeOptional', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'authts-parse-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(rel: string, content: string): Promise<string> {
    const file = path.join(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
    return file;
  }

  it('includes relative to the top file, keeping each node its own file:line', async () => {
    const main = await write('main.conf', 'A 1\nInclude sub/one.conf\nB 2\n');
    const one = await write('sub/one.conf', '\n\nC 3\n');
    const r = await parseConfigFile(main, {});
    expect(r.errors).toEqual([]);
    expect(r.nodes.map((n) => `${n.name}@${path.relative(dir, n.file)}:${n.line}`)).toEqual([
      'A@main.conf:1',
      'C@sub/one.conf:3',
      'B@main.conf:3',
    ]);
    expect(r.files).toEqual([main, one]);
    expect(r.serverRoot).toBe(dir);
  });

  it('splices an include inside a section into that section', async () => {
    const main = await write('main.conf', '<Location />\nInclude auth.conf\n</Location>\n');
    await write('auth.conf', 'AuthType Basic\n<RequireAny>\nRequire user a\n</RequireAny>\n');
    const r = await parseConfigFile(main, {});
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual([{ '<Location />': ['AuthType Basic', { '<RequireAny>': ['Require user a'] }] }]);
  });

  it('expands a wildcard in byte order, without dot files (httpd: APR_FNM_PERIOD)', async () => {
    for (const name of ['b.conf', 'a.conf', 'B.conf', '_.conf', '.hidden.conf', 'skip.txt']) {
      await write(`conf.d/${name}`, `Name ${name}\n`);
    }
    const main = await write('main.conf', 'Include conf.d/*.conf\n');
    const r = await parseConfigFile(main, {});
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['Name B.conf', 'Name _.conf', 'Name a.conf', 'Name b.conf']);
  });

  it('supports ? and [] classes, and reads braces literally', async () => {
    for (const name of ['a1.conf', 'a2.conf', 'a3.conf', '{x}.conf']) await write(`d/${name}`, `Name ${name}\n`);
    const main = await write('main.conf', 'Include d/a[!2].conf\nInclude d/?2.conf\nInclude d/{x}.conf\n');
    const r = await parseConfigFile(main, {});
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['Name a1.conf', 'Name a3.conf', 'Name a2.conf', 'Name {x}.conf']);
  });

  it('includes a whole directory recursively, dot files too, in byte order', async () => {
    for (const name of ['b.conf', 'a.conf', 'A.conf', '.hidden', 'sub/z.conf', '.hd/q.conf']) {
      await write(`d/${name}`, `Name ${name}\n`);
    }
    const main = await write('main.conf', 'Include d\n');
    const r = await parseConfigFile(main, {});
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual([
      'Name .hd/q.conf',
      'Name .hidden',
      'Name A.conf',
      'Name a.conf',
      'Name b.conf',
      'Name sub/z.conf',
    ]);
  });

  it('takes wildcards in directory components, matching only directories', async () => {
    await write('sites/one/x/1.conf', 'Name 1\n');
    await write('sites/two/x/2.conf', 'Name 2\n');
    await write('sites/file', 'Name file\n');
    const main = await write('main.conf', 'Include sites/*/x/*.conf\n');
    const r = await parseConfigFile(main, {});
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['Name 1', 'Name 2']);
  });

  it('Include fails when a wildcard matches nothing in some directory; IncludeOptional does not', async () => {
    await write('sites/one/x/1.conf', 'Name 1\n');
    await mkdir(path.join(dir, 'sites/two/x'), { recursive: true });
    await mkdir(path.join(dir, 'empty'));
    const main = await write(
      'main.conf',
      'Include sites/*/x/*.conf\nIncludeOptional sites/*/x/*.conf\nInclude empty/*.conf\nIncludeOptional empty/*.conf\n',
    );
    const r = await parseConfigFile(main, {});
    expect(messages(r)).toEqual([
      `CONFIG_INCLUDE 1: No matches for the wildcard '*.conf' in '${dir}/sites/two/x', failing`,
      `CONFIG_INCLUDE 3: No matches for the wildcard '*.conf' in '${dir}/empty', failing`,
    ]);
    expect(r.errors[0]).toMatchObject({ directive: 'Include', hint: 'use IncludeOptional when no match is fine' });
    expect(outline(r.nodes)).toEqual(['Name 1', 'Name 1']);
  });

  it('Include fails on a missing file or directory; IncludeOptional skips them', async () => {
    const main = await write(
      'main.conf',
      'Include nope.conf\nIncludeOptional nope.conf\nInclude nodir/*.conf\nIncludeOptional nodir/*.conf\nA 1\n',
    );
    const r = await parseConfigFile(main, {});
    expect(messages(r)).toEqual([
      `CONFIG_INCLUDE 1: Could not open configuration file ${dir}/nope.conf: No such file or directory`,
      `CONFIG_INCLUDE 3: Could not open directory ${dir}/nodir: No such file or directory`,
    ]);
    expect(outline(r.nodes)).toEqual(['A 1']);
  });

  it('includes an empty directory without error', async () => {
    await mkdir(path.join(dir, 'empty'));
    const main = await write('main.conf', 'Include empty\n');
    const r = await parseConfigFile(main, {});
    expect(r.errors).toEqual([]);
  });

  it('refuses a file that is neither a regular file nor a directory', async () => {
    const r = await parse('Include /dev/null\n');
    expect(messages(r)).toEqual([
      'CONFIG_INCLUDE 1: Could not open configuration file /dev/null: not a regular file',
    ]);
  });

  it('resolves against options.serverRoot, then against a later ServerRoot', async () => {
    await write('r1/a.conf', 'Name r1\n');
    await write('r2/a.conf', 'Name r2\n');
    const main = await write('conf/main.conf', 'Include a.conf\nServerRoot ../r2\nInclude a.conf\n');
    const r = await parseConfigFile(main, { serverRoot: path.join(dir, 'r1') });
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['Name r1', 'ServerRoot ../r2', 'Name r2']);
    expect(r.serverRoot).toBe(path.join(dir, 'r2'));
  });

  it('rejects ServerRoot inside a section, with bad arguments, or naming no directory', async () => {
    const r = await parse('<Directory /x>\nServerRoot /tmp\n</Directory>\nServerRoot\nServerRoot /nonexistent-authts\n');
    expect(messages(r)).toEqual([
      'CONFIG_NOT_ALLOWED_HERE 2: cannot occur within <Directory> section',
      'CONFIG_BAD_ARGUMENT 4: takes one argument: the server root directory',
      'CONFIG_BAD_ARGUMENT 5: ServerRoot must be a valid directory: /nonexistent-authts',
    ]);
  });

  it('substitutes variables in include paths', async () => {
    await write('x/a.conf', 'Name a\n');
    const main = await write('main.conf', 'Include ${SUB}/a.conf\n');
    const r = await parseConfigFile(main, { env: { SUB: 'x' } });
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['Name a']);
  });

  it('sees Defines made in included files, and lets included files define for later lines', async () => {
    await write('vars.conf', 'Define WHO alice\n');
    const main = await write('main.conf', 'Include vars.conf\nRequire user ${WHO}\n');
    const r = await parseConfigFile(main, {});
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['Require user alice']);
  });

  it('reports errors inside included files at their own file:line and goes on', async () => {
    const bad = await write('bad.conf', 'A 1\n</Files>\n<Directory /x>\n');
    const main = await write('main.conf', 'Include bad.conf\nB ${NOPE}\n');
    const r = await parseConfigFile(main, {});
    expect(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`)).toEqual([
      `${bad}:2: </Files> without matching <Files> section`,
      `${bad}:3: <Directory> was not closed.`,
      `${main}:2: Config variable \${NOPE} is not defined`,
    ]);
  });

  it('requires sections to close in the file that opened them (as httpd)', async () => {
    await write('close.conf', '</Directory>\n');
    const main = await write('main.conf', '<Directory /x>\nInclude close.conf\n</Directory>\n');
    const r = await parseConfigFile(main, {});
    expect(messages(r)).toEqual(['CONFIG_SYNTAX 1: </Directory> without matching <Directory> section']);
  });

  it('reports an include cycle once, naming the chain', async () => {
    const a = await write('a.conf', 'A 1\nInclude b.conf\n');
    const b = await write('b.conf', 'B 2\nInclude a.conf\n');
    const r = await parseConfigFile(a, {});
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'CONFIG_INCLUDE', file: b, line: 2, directive: 'Include' });
    expect(r.errors[0]?.message).toBe(`Include cycle: ${a} -> ${b} -> ${a}`);
    expect(outline(r.nodes)).toEqual(['A 1', 'B 2']);
  });

  it('reports a file including itself through a wildcard', async () => {
    const main = await write('conf.d/main.conf', 'Include *.conf\n');
    const r = await parseConfigFile(main, {});
    expect(messages(r)).toEqual([`CONFIG_INCLUDE 1: Include cycle: ${main} -> ${main}`]);
  });

  it('includes the same file twice when it is not a cycle (as httpd)', async () => {
    await write('x.conf', 'X 1\n');
    const main = await write('main.conf', 'Include x.conf\nInclude x.conf\n');
    const r = await parseConfigFile(main, {});
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['X 1', 'X 1']);
    expect(r.files).toEqual([main, path.join(dir, 'x.conf')]);
  });

  it('stops nesting includes deeper than 128', async () => {
    for (let i = 0; i <= 130; i++) await write(`n${i}.conf`, `Include n${i + 1}.conf\n`);
    await write('n131.conf', 'Last 1\n');
    const r = await parseConfigFile(path.join(dir, 'n0.conf'), {});
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      code: 'CONFIG_INCLUDE',
      file: path.join(dir, 'n128.conf'),
      message: 'Exceeded maximum include depth of 128, There appears to be a recursion.',
    });
  });

  it('reports a directory include that loops through a symbolic link', async () => {
    await write('d/a.conf', 'A 1\n');
    await symlink('.', path.join(dir, 'd/self'));
    const main = await write('main.conf', 'Include d\n');
    const r = await parseConfigFile(main, {});
    expect(messages(r)).toEqual([
      `CONFIG_INCLUDE 1: Directory ${dir}/d/self is included from inside itself (a symbolic link loop)`,
    ]);
    expect(outline(r.nodes)).toEqual(['A 1']);
  });

  it('does not read includes in a false conditional and reads them in a true one', async () => {
    await write('on.conf', 'On 1\n');
    const main = await write(
      'main.conf',
      '<IfModule mod_nope.c>\nInclude missing.conf\n</IfModule>\n<IfModule !mod_nope.c>\nInclude on.conf\n</IfModule>\n',
    );
    const r = await parseConfigFile(main, {});
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['On 1']);
  });

  it('parseConfigFile reports an unreadable top-level file at line 0', async () => {
    const missing = path.join(dir, 'missing.conf');
    const r = await parseConfigFile(missing, {});
    expect(r.nodes).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      code: 'CONFIG_INCLUDE',
      file: missing,
      line: 0,
      message: `Could not open configuration file ${missing}: No such file or directory`,
    });
    expect(r.files).toEqual([]);
  });

  it('parseConfigFile reads a directory like Include dir, with it as the default root', async () => {
    await write('etc/10-a.conf', 'Include inc/x.conf\n');
    await write('etc/inc/x.conf', 'X 1\n');
    const r = await parseConfigFile(path.join(dir, 'etc'), {});
    expect(r.errors).toEqual([]);
    // inc/x.conf is read twice: once through Include, once as part of the directory.
    expect(outline(r.nodes)).toEqual(['X 1', 'X 1']);
    expect(r.serverRoot).toBe(path.join(dir, 'etc'));
  });

  it('parseConfigText resolves includes against the directory of options.file', async () => {
    await write('x.conf', 'X 1\n');
    const r = await parseConfigText('Include x.conf\n', { file: path.join(dir, 'inline.conf') });
    expect(r.errors).toEqual([]);
    expect(outline(r.nodes)).toEqual(['X 1']);
  });
});

describe('fnmatch helpers', () => {
  it('hasWildcard follows apr_fnmatch_test', () => {
    expect(hasWildcard('a/*.conf')).toBe(true);
    expect(hasWildcard('a?')).toBe(true);
    expect(hasWildcard('a[12]')).toBe(true);
    expect(hasWildcard('a[12')).toBe(false);
    expect(hasWildcard('a\\*')).toBe(false);
    expect(hasWildcard('{a,b}')).toBe(false);
  });

  it('compileFnmatch handles classes, negation, escapes and leading dots', () => {
    expect(compileFnmatch('[a-c]x')('bx')).toBe(true);
    expect(compileFnmatch('[!a-c]x')('bx')).toBe(false);
    expect(compileFnmatch('[^a-c]x')('dx')).toBe(true);
    expect(compileFnmatch('[]]')(']')).toBe(true);
    expect(compileFnmatch('a\\*')('a*')).toBe(true);
    expect(compileFnmatch('a\\*')('ab')).toBe(false);
    expect(compileFnmatch('*')('.x')).toBe(false);
    expect(compileFnmatch('.*')('.x')).toBe(true);
    expect(compileFnmatch('a.c')('abc')).toBe(false);
  });
});
