// Which texts load and which do not, and with what message. Every accept/reject decision below
// was checked against Apache/2.4.71 (`apache2 -t` with `Require expr "…"`); the wording of
// grammar errors is authts' own, the named errors are httpd's.
import { describe, expect, it } from 'vitest';
import type { CondNode, WordNode } from '../../../src/expr/ast.js';
import { ExprSyntaxError, exprMentionsRemoteUser, exprVariables, parseExpr, parseStringExpr } from '../../../src/expr/index.js';

function syntaxError(text: string): ExprSyntaxError {
  try {
    parseExpr(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ExprSyntaxError);
    return err as ExprSyntaxError;
  }
  throw new Error(`expected a syntax error for: ${text}`);
}

function root(text: string): CondNode {
  return parseExpr(text).root;
}

function leftWord(text: string): WordNode {
  const node = root(text);
  if (node.kind !== 'compare') throw new Error(`not a comparison: ${text}`);
  return node.left;
}

describe('parseExpr: structure', () => {
  it('parses true and false', () => {
    expect(root('true')).toEqual({ kind: 'true' });
    expect(root('false')).toEqual({ kind: 'false' });
  });

  it('gives && precedence over || and ! over both', () => {
    expect(root('true || false && false')).toEqual({
      kind: 'or',
      operands: [{ kind: 'true' }, { kind: 'and', operands: [{ kind: 'false' }, { kind: 'false' }] }],
    });
    expect(root('!true || true')).toEqual({ kind: 'or', operands: [{ kind: 'not', operand: { kind: 'true' } }, { kind: 'true' }] });
    expect(root('(true || false) && false')).toEqual({
      kind: 'and',
      operands: [{ kind: 'or', operands: [{ kind: 'true' }, { kind: 'false' }] }, { kind: 'false' }],
    });
  });

  it('keeps chains of one operator flat', () => {
    const node = root('true && true && false');
    expect(node).toEqual({ kind: 'and', operands: [{ kind: 'true' }, { kind: 'true' }, { kind: 'false' }] });
  });

  it('accepts the word forms and, or, not', () => {
    expect(root('not true or false and true')).toEqual(root('!true || false && true'));
  });

  it('applies ! to the whole comparison after it', () => {
    const node = root("! 'a' == 'b'");
    expect(node.kind).toBe('not');
    expect(node.kind === 'not' && node.operand.kind).toBe('compare');
  });

  it('reads every comparison operator', () => {
    const ops: Record<string, string> = {
      '==': 'str-eq', '=': 'str-eq', '!=': 'str-ne', '<': 'str-lt', '<=': 'str-le', '>': 'str-gt', '>=': 'str-ge',
      '-eq': 'int-eq', '-ne': 'int-ne', '-lt': 'int-lt', '-le': 'int-le', '-gt': 'int-gt', '-ge': 'int-ge',
      eq: 'int-eq', ne: 'int-ne', lt: 'int-lt', le: 'int-le', gt: 'int-gt', ge: 'int-ge',
    };
    for (const [text, op] of Object.entries(ops)) {
      const node = root(`'1' ${text} '2'`);
      expect(node.kind === 'compare' && node.op, text).toBe(op);
    }
  });

  it('reads numbers, including negative ones, as number literals', () => {
    expect(leftWord('-1 -eq 1')).toEqual({ kind: 'literal', value: '-1', number: true });
    expect(leftWord('42 == 1')).toEqual({ kind: 'literal', value: '42', number: true });
  });

  it('reads in / -in lists', () => {
    const node = root("%{REQUEST_METHOD} in { 'GET', 'HEAD' }");
    expect(node).toEqual({
      kind: 'in',
      left: { kind: 'var', name: 'REQUEST_METHOD' },
      list: [{ kind: 'literal', value: 'GET', number: false }, { kind: 'literal', value: 'HEAD', number: false }],
    });
    expect(root("'a' -in {'a'}").kind).toBe('in');
  });

  it('joins words with . and flattens the join', () => {
    expect(leftWord("'a' . %{REQUEST_URI} . 'b' == 'x'")).toEqual({
      kind: 'concat',
      parts: [
        { kind: 'literal', value: 'a', number: false },
        { kind: 'var', name: 'REQUEST_URI' },
        { kind: 'literal', value: 'b', number: false },
      ],
    });
    expect(leftWord("'x'.'y' == 'xy'").kind).toBe('concat');
  });

  it('resolves variables case-insensitively and HTTP_* variables to headers', () => {
    expect(leftWord("%{request_uri} == ''")).toEqual({ kind: 'var', name: 'REQUEST_URI' });
    expect(leftWord("%{TIME_HOUR} == ''")).toEqual({ kind: 'time', name: 'TIME_HOUR' });
    expect(leftWord("%{HTTP_USER_AGENT} == ''")).toEqual({ kind: 'header', name: 'user-agent', variable: 'HTTP_USER_AGENT' });
  });

  it('reads %{func:arg} and func(word) as the same function call', () => {
    expect(leftWord("%{tolower:ABC} == ''")).toEqual(leftWord("tolower('ABC') == ''"));
    expect(leftWord("%{HTTP:X-Foo} == ''")).toEqual({ kind: 'header', name: 'x-foo', variable: undefined });
    expect(leftWord("req('X-Foo') == ''")).toEqual({ kind: 'header', name: 'x-foo', variable: undefined });
    expect(leftWord("HTTP('X-Foo') == ''")).toEqual({ kind: 'header', name: 'x-foo', variable: undefined });
    expect(leftWord("req(%{REQUEST_URI}) == ''")).toEqual({ kind: 'call', fn: 'req', arg: { kind: 'var', name: 'REQUEST_URI' } });
    expect(leftWord("%{ENV:a%{REQUEST_URI}b} == ''")).toEqual({
      kind: 'call',
      fn: 'env',
      arg: {
        kind: 'concat',
        parts: [
          { kind: 'literal', value: 'a', number: false },
          { kind: 'var', name: 'REQUEST_URI' },
          { kind: 'literal', value: 'b', number: false },
        ],
      },
    });
  });

  it('reads $0…$9 as back references, alone and inside strings and arguments', () => {
    expect(leftWord("$1 == ''")).toEqual({ kind: 'backref', index: 1 });
    expect(leftWord("'x$1y' == ''")).toEqual({
      kind: 'concat',
      parts: [{ kind: 'literal', value: 'x', number: false }, { kind: 'backref', index: 1 }, { kind: 'literal', value: 'y', number: false }],
    });
    expect(leftWord("%{HTTP:X-$2} == ''")).toEqual({
      kind: 'call',
      fn: 'http',
      arg: { kind: 'concat', parts: [{ kind: 'literal', value: 'X-', number: false }, { kind: 'backref', index: 2 }] },
    });
  });

  it('compiles regexes in both delimiter styles, with the i flag', () => {
    const node = root('%{REQUEST_URI} =~ m#^/protected/.*#');
    expect(node.kind === 'match' && node.regex.source).toBe('^/protected/.*');
    const ci = root('%{REQUEST_URI} !~ m#^/?admin#i');
    expect(ci.kind === 'match' && [ci.negate, ci.regex.caseInsensitive, ci.regex.groups]).toEqual([true, true, 0]);
    for (const d of '/#$%^,;:_?|-!.\'"') {
      // `m_a_` would be an identifier (longest match), so the body starts with a non-word character.
      const body = d === '.' ? '-a' : '.a';
      const node = root(`%{REQUEST_URI} =~ m${d}${body}${d}`);
      expect(node.kind === 'match' && node.regex.source, `m${d}${body}${d}`).toBe(body);
    }
    const groups = root('%{QUERY_STRING} =~ /(a)(?:b)(c)/');
    expect(groups.kind === 'match' && groups.regex.groups).toBe(2);
  });

  it('parses subnets of -ipmatch and -R at load', () => {
    const node = root("%{REMOTE_ADDR} -ipmatch '10.0.0.0/8'");
    expect(node.kind === 'ipmatch' && node.subnet).toEqual({ family: 4, sub: [0x0a000000, 0, 0, 0], mask: [0xff000000, 0, 0, 0] });
    expect(root("%{REMOTE_ADDR} -IPMATCH \"2001:db8::/32\"").kind).toBe('ipmatch');
    const r = root("-R '10.1'");
    expect(r.kind === 'remote-in' && r.text).toBe('10.1');
  });

  it('reads the other operators', () => {
    expect(root("-n %{QUERY_STRING}")).toEqual({ kind: 'unary', op: 'n', operand: { kind: 'var', name: 'QUERY_STRING' } });
    expect(root("-z ''").kind).toBe('unary');
    expect(root("-T 'on'").kind).toBe('unary');
    for (const op of ['strmatch', 'strcmatch', 'fnmatch', 'STRMATCH']) {
      const node = root(`%{REQUEST_URI} -${op} '/a*'`);
      expect(node.kind === 'strmatch' && node.mode).toBe(op.toLowerCase());
    }
  });

  it('returns a frozen tree', () => {
    const ast = parseExpr("%{REQUEST_METHOD} in { 'GET' } && true");
    expect(Object.isFrozen(ast)).toBe(true);
    expect(Object.isFrozen(ast.root)).toBe(true);
    expect(ast.root.kind === 'and' && Object.isFrozen(ast.root.operands)).toBe(true);
  });
});

describe('parseExpr: string literals', () => {
  function value(text: string): string {
    const word = leftWord(`${text} == ''`);
    if (word.kind !== 'literal') throw new Error(`not a literal: ${text}`);
    return word.value;
  }

  it('takes single and double quotes, each holding the other', () => {
    expect(value(`'a"b'`)).toBe('a"b');
    expect(value(`"a'b"`)).toBe("a'b");
    expect(value(`''`)).toBe('');
    expect(value(`""`)).toBe('');
  });

  it('reads httpd 2.4 escapes: \\n \\r \\t \\b \\f, octal, anything else literally', () => {
    expect(value(String.raw`'a\nb\rc\td\be\ff'`)).toBe('a\nb\rc\td\be\ff');
    expect(value(String.raw`'\101\60'`)).toBe('A0');
    expect(value(String.raw`'a\'b\\c\q\%\$'`)).toBe("a'b\\cq%$");
    // 2.4 has no \x escape: \x is just x.
    expect(value(String.raw`'a\x41'`)).toBe('ax41');
  });

  it('ends a literal at an escaped NUL, as httpd C strings do', () => {
    expect(value(String.raw`'a\0b'`)).toBe('a');
  });

  it('keeps % and $ that do not start a variable or back reference', () => {
    expect(value(`'50% $x'`)).toBe('50% $x');
  });
});

describe('parseStringExpr', () => {
  it('treats quotes as ordinary characters and expands %{…}', () => {
    const ast = parseStringExpr(`"a b" %{REMOTE_USER}.example.org`);
    expect(ast.root).toEqual({
      kind: 'concat',
      parts: [{ kind: 'literal', value: '"a b" ', number: false }, { kind: 'var', name: 'REMOTE_USER' }, { kind: 'literal', value: '.example.org', number: false }],
    });
  });

  it('accepts the empty string', () => {
    expect(parseStringExpr('').root).toEqual({ kind: 'literal', value: '', number: false });
  });

  it('rejects unknown variables and bad escapes', () => {
    expect(() => parseStringExpr('%{FOO}')).toThrow("Variable 'FOO' does not exist (at character 1)");
    expect(() => parseStringExpr('a\\9')).toThrow('Bad escape sequence');
  });
});

describe('parseExpr: syntax errors', () => {
  const cases: [string, string, number][] = [
    // text, reason, 0-based position
    ['', 'syntax error, unexpected end of expression', 0],
    ['   ', 'syntax error, unexpected end of expression', 3],
    ['true &&', 'syntax error, unexpected end of expression', 7],
    ['&& true', "syntax error, unexpected '&&'", 0],
    ['(true', "syntax error, unexpected end of expression, expecting ')'", 5],
    ['true)', "syntax error, unexpected ')'", 4],
    ['true true', "syntax error, unexpected 'true'", 5],
    ['!', 'syntax error, unexpected end of expression', 1],
    ["%{REQUEST_URI}", 'syntax error, unexpected end of expression, expecting a comparison operator', 14],
    ["(%{REQUEST_URI}) == 'x'", "syntax error, unexpected ')', expecting a comparison operator", 15],
    ["%{REQUEST_URI} == 'a' == 'b'", "syntax error, unexpected '=='", 22],
    ["%{REQUEST_URI} === 'x'", "syntax error, unexpected '='", 17],
    ["%{REQUEST_URI} <> 'x'", "syntax error, unexpected '>'", 16],
    ["%{REQUEST_URI} =! 'x'", "syntax error, unexpected '!'", 16],
    ['TRUE', "syntax error, unexpected end of expression, expecting '('", 4],
    ["a -eq 1", "syntax error, unexpected '-eq', expecting '('", 2],
    ["x.y == 'xy'", "syntax error, unexpected '.', expecting '('", 1],
    ["0x10 -eq 16", "syntax error, unexpected identifier 'x10', expecting a comparison operator", 1],
    ["%{REQUEST_URI} == 12abc", "syntax error, unexpected identifier 'abc'", 20],
    ["-n 'x' 'y'", "syntax error, unexpected string 'y'", 7],
    ["$1$2 == 'x'", 'syntax error, unexpected $2, expecting a comparison operator', 2],
    ["%{REQUEST_SCHEME}%{HTTPS} == ''", 'syntax error, unexpected %{HTTPS}, expecting a comparison operator', 17],
    ["tolower('A', 'b') == 'a'", "syntax error, unexpected ',', expecting ')'", 11],
    ["tolower() == 'a'", "syntax error, unexpected ')'", 8],
    ["%{REQUEST_URI} =~ 'a'", "syntax error, unexpected string 'a', expecting a regular expression", 18],
    ['%{REQUEST_URI} =~ m(a)', "syntax error, unexpected identifier 'm', expecting a regular expression", 18],
    ['%{REQUEST_URI} =~ m_ab_', "syntax error, unexpected identifier 'm_ab_', expecting a regular expression", 18],
    ['%{REQUEST_URI} =~ /a/ =~ /b/', "syntax error, unexpected '=~'", 22],
    ['%{REQUEST_URI} =~ /a/ix', "syntax error, unexpected identifier 'x'", 22],
    ['%{REQUEST_URI} =~ /a/s', "syntax error, unexpected identifier 's'", 21],
    ["%{REQUEST_URI} in {}", "syntax error, unexpected '}'", 19],
    ["%{REQUEST_URI} in { 'a', }", "syntax error, unexpected '}'", 25],
    ["%{REQUEST_URI} in { 'a' 'b' }", "syntax error, unexpected string 'b', expecting '}' or ','", 24],
    ["%{REQUEST_URI} in 'a'", "syntax error, unexpected string 'a', expecting '{' or a list function", 18],
    ["%{REQUEST_URI} in split(/,/, 'a,b')", 'syntax error, unexpected regular expression /,/', 24],
    ['%{REQUEST_URI} -strmatch', 'syntax error, unexpected end of expression', 24],
    ["%{HTTP:} == 'x'", "syntax error, unexpected '}', expecting a function argument", 7],
    ["%{} == 'x'", "syntax error, unexpected '}', expecting a variable name", 2],
  ];
  for (const [text, reason, position] of cases) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const err = syntaxError(text);
      expect(err.reason).toBe(reason);
      expect(err.position).toBe(position);
      expect(err.message).toBe(`${reason} (at character ${position + 1})`);
    });
  }
});

describe('parseExpr: lexical errors (httpd wording)', () => {
  const cases: [string, string, number][] = [
    ["%{REQUEST_URI} == 'a' # comment", "Parse error near '#'", 22],
    ["$a == 'a'", "Parse error near '$'", 0],
    ["'a' & 'b'", "Parse error near '&'", 4],
    ["'a' | 'b'", "Parse error near '|'", 4],
    ["'a' == - 1", "Parse error near '-'", 7],
    ["'a' == 'x", 'Unterminated string or variable', 7],
    ["'a\n' == 'x'", 'Unterminated string or variable', 2],
    ["'a\\400' == 'x'", 'Escape sequence out of bound', 2],
    ["'a\\9' == 'x'", 'Bad escape sequence', 2],
    ["'a\\1234' == 'x'", 'Bad escape sequence', 2],
    ["'a\\", 'Unterminated string or variable', 2],
    ["%{ env : x} == 'x'", "Invalid character in variable name ' '", 2],
    ["%{REQUEST-URI} == 'x'", "Invalid character in variable name '-'", 9],
    ["%{REQUEST_URI == 'x'", "Invalid character in variable name ' '", 13],
    ["%{HTTP:x", 'Unterminated string or variable', 8],
    ["%{HTTP:'x'} == 'x'", "Quote character ' is not allowed in %{HTTP:…}", 7],
    ['%{REQUEST_URI} =~ /a', 'Unterminated regular expression', 18],
    ['%{REQUEST_URI} =~ /\\//', 'Unterminated regular expression', 21],
  ];
  for (const [text, reason, position] of cases) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const err = syntaxError(text);
      expect(err.reason).toBe(reason);
      expect(err.position).toBe(position);
    });
  }

  it('shows control characters in hex', () => {
    expect(syntaxError("'a' == \x01").reason).toBe("Parse error near '\\x01'");
  });
});

describe('parseExpr: names', () => {
  it('rejects unknown variables, functions and operators with httpd messages', () => {
    expect(syntaxError("%{FOO} == 'x'").reason).toBe("Variable 'FOO' does not exist");
    expect(syntaxError("%{SERVER_ADDR} == 'x'").reason).toBe("Variable 'SERVER_ADDR' does not exist");
    expect(syntaxError("%{HTTP_ACCEPT_LANGUAGE} == 'x'").reason).toBe("Variable 'HTTP_ACCEPT_LANGUAGE' does not exist");
    expect(syntaxError("%{FOO:x} == 'x'").reason).toBe("Function 'FOO' does not exist");
    expect(syntaxError("sha256('x') == 'x'").reason).toBe("Function 'sha256' does not exist");
    expect(syntaxError("-r '10.1'").reason).toBe("Unary operator '-r' does not exist");
    expect(syntaxError("%{REQUEST_URI} -foo 'x'").reason).toBe("Binary operator '-foo' does not exist");
    expect(syntaxError("%{REQUEST_URI} -eq1 'x'").reason).toBe("Binary operator '-eq1' does not exist");
    expect(syntaxError("%{REQUEST_URI} in foo('a')").reason).toBe("List-returning function 'foo' does not exist");
  });

  it('reports the position of the name', () => {
    expect(syntaxError("true && %{FOO} == 'x'").position).toBe(8);
    expect(syntaxError("'a' == tolower(nope('x'))").position).toBe(15);
  });

  it('refuses, saying why, what httpd has but authts cannot evaluate', () => {
    expect(syntaxError("%{PATH_INFO} == ''").reason).toBe("Variable 'PATH_INFO' is not supported by authts: authts does not split PATH_INFO off the path");
    expect(syntaxError("%{REMOTE_PORT} == ''").reason).toMatch(/^Variable 'REMOTE_PORT' is not supported by authts/);
    expect(syntaxError("file('/etc/passwd') == ''").reason).toMatch(/^Function 'file' is not supported by authts/);
    expect(syntaxError("filesize('/x') -gt 0").reason).toMatch(/^Function 'filesize' is not supported by authts/);
    for (const op of ['d', 'e', 'f', 's', 'L', 'h', 'x', 'F', 'U', 'A']) {
      expect(syntaxError(`-${op} %{REQUEST_FILENAME}`).reason).toMatch(new RegExp(`^Unary operator '-${op}' is not supported by authts`));
    }
  });

  it('matches unary operators case-sensitively and binary ones case-insensitively', () => {
    expect(syntaxError("-t 'x'").reason).toBe("Unary operator '-t' does not exist");
    expect(root("'1.2.3.4' -IpMatch '1.2.3.4'").kind).toBe('ipmatch');
  });
});

describe('parseExpr: subnets and regexes', () => {
  it('needs a constant subnet for -ipmatch and -R', () => {
    expect(syntaxError('%{REMOTE_ADDR} -ipmatch %{REQUEST_URI}').reason).toBe('-ipmatch requires subnet/netmask as constant argument');
    expect(syntaxError("%{REMOTE_ADDR} -ipmatch '10.0.0.0/8' . 'x'").reason).toBe('-ipmatch requires subnet/netmask as constant argument');
    expect(syntaxError("%{REMOTE_ADDR} -ipmatch '10.%{REQUEST_URI}'").reason).toBe('-ipmatch requires subnet/netmask as constant argument');
    expect(syntaxError('-R 10').reason).toBe('-R requires subnet/netmask as constant argument');
  });

  it('rejects subnets APR rejects', () => {
    for (const bad of ['foo', '', '::1/129', '10.0.0.0/0', '10.0.0.0/33', '10.1/16', '::ffff:10.0.0.1', '256.1.1.1']) {
      expect(syntaxError(`-R '${bad}'`).reason, bad).toBe('parsing of subnet/netmask failed');
    }
  });

  it('reports regexes that do not compile', () => {
    expect(syntaxError('%{REQUEST_URI} =~ /a(/').reason).toMatch(/^Failed to compile regular expression: /);
    expect(syntaxError("'x' =~ /x{2,1}/").reason).toMatch(/^Failed to compile regular expression: /);
    expect(syntaxError("'x' =~ /[[:foo:]]/").reason).toBe('Failed to compile regular expression: unknown POSIX class name [:foo:]');
    expect(syntaxError("'x' =~ /\\y/").reason).toBe('Failed to compile regular expression: unrecognized character follows \\: \\y');
  });

  it('refuses PCRE features it cannot translate', () => {
    expect(syntaxError("'x' =~ /(?>x)/").reason).toBe('Failed to compile regular expression: atomic group (?>…) is not supported by authts');
    expect(syntaxError("'x' =~ /\\p{L}/").reason).toBe('Failed to compile regular expression: \\p is not supported by authts');
    expect(syntaxError("'x' =~ /a(?i:x)/").reason).toMatch(/inline option group/);
    expect(syntaxError("'x' =~ /x++/").reason).toMatch(/^Failed to compile regular expression: /);
  });
});

describe('exprVariables and exprMentionsRemoteUser', () => {
  it('lists the variables in order of appearance, once each', () => {
    const ast = parseExpr("%{REMOTE_USER} == 'a' || %{TIME_HOUR} -lt 9 || %{HTTP_HOST} == %{remote_user} || req('X') == ''");
    expect(exprVariables(ast)).toEqual(['REMOTE_USER', 'TIME_HOUR', 'HTTP_HOST']);
  });

  it('finds variables inside strings, function arguments, lists and regex subjects', () => {
    const ast = parseExpr("'x%{QUERY_STRING}' in { tolower(%{AUTH_TYPE}) } && %{REQUEST_URI} =~ /x/ && %{REMOTE_ADDR} -ipmatch '::1' && -n %{HTTPS}");
    expect(exprVariables(ast)).toEqual(['QUERY_STRING', 'AUTH_TYPE', 'REQUEST_URI', 'REMOTE_ADDR', 'HTTPS']);
    expect(exprVariables(parseStringExpr('%{SERVER_NAME}:%{SERVER_PORT}'))).toEqual(['SERVER_NAME', 'SERVER_PORT']);
  });

  it('says whether %{REMOTE_USER} is read, in any branch and any case', () => {
    expect(exprMentionsRemoteUser(parseExpr("%{REMOTE_USER} == 'alice'"))).toBe(true);
    expect(exprMentionsRemoteUser(parseExpr("true || %{remote_user} == 'alice'"))).toBe(true);
    expect(exprMentionsRemoteUser(parseExpr("'%{REMOTE_USER}' == 'alice'"))).toBe(true);
    expect(exprMentionsRemoteUser(parseExpr("reqenv('REMOTE_USER') == 'alice'"))).toBe(false);
    expect(exprMentionsRemoteUser(parseExpr("%{ENV:REMOTE_USER} == 'alice'"))).toBe(false);
    expect(exprMentionsRemoteUser(parseExpr('true'))).toBe(false);
  });
});
