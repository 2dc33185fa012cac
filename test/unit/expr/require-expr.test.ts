// `Require expr` (src/authz/expr.ts): the manual's examples, quoting, and the verdicts
// mod_authz_core gives (checked against Apache/2.4.71, including a false expression that
// mentions %{REMOTE_USER} answering 401 even with a user — denied-no-user).
import { describe, expect, it, vi } from 'vitest';
import { requireExprProvider, type RequireExpr } from '../../../src/authz/expr.js';
import { AuthTsError, ConfigError } from '../../../src/errors.js';
import type { RequireParseContext } from '../../../src/module.js';
import { fakeRequest, type FakeRequestInit } from '../../helpers/fake-request.js';

const warnings: string[] = [];
const parseCtx: RequireParseContext = {
  where: { file: 'test.conf', line: 7 },
  error(code, message, hint) {
    throw new ConfigError(code, this.where, 'Require', message, hint);
  },
  warn(message) {
    warnings.push(message);
  },
};

function load(args: string): RequireExpr {
  return requireExprProvider.parseRequire(args, parseCtx);
}

function loadError(args: string): ConfigError {
  try {
    load(args);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ${args} to fail`);
}

async function check(args: string, init: FakeRequestInit = {}): Promise<string> {
  return await requireExprProvider.checkAuthorization(fakeRequest(init), load(args));
}

describe('Require expr: the manual examples', () => {
  it('grants by method', async () => {
    const line = `"%{REQUEST_METHOD} in { 'GET', 'HEAD' }"`;
    expect(await check(line, { method: 'GET' })).toBe('granted');
    expect(await check(line, { method: 'HEAD' })).toBe('granted');
    expect(await check(line, { method: 'POST' })).toBe('denied');
  });

  it('grants by path with an m#…# regex (unquoted line)', async () => {
    const line = '%{REQUEST_URI} =~ m#^/protected/.*#';
    expect(await check(line, { path: '/protected/file' })).toBe('granted');
    expect(await check(line, { path: '/public/file' })).toBe('denied');
  });

  it('denies a secret query string', async () => {
    const line = '"!(%{QUERY_STRING} =~ /secret/)"';
    expect(await check(line, { query: 'a=1' })).toBe('granted');
    expect(await check(line, { query: 'a=secret' })).toBe('denied');
  });

  it('grants during office hours only (frozen clock)', async () => {
    const parsed = load('"%{TIME_HOUR} -ge 9 && %{TIME_HOUR} -le 17"');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const at = async (hour: number, minute: number): Promise<string> => {
        vi.setSystemTime(new Date(2024, 0, 15, hour, minute));
        return await requireExprProvider.checkAuthorization(fakeRequest(), parsed);
      };
      expect(await at(8, 59)).toBe('denied');
      expect(await at(9, 0)).toBe('granted');
      expect(await at(17, 59)).toBe('granted');
      expect(await at(18, 0)).toBe('denied');
    } finally {
      vi.useRealTimers();
    }
  });

  it('grants by header and client address', async () => {
    const line = `"%{HTTP_USER_AGENT} -strmatch '*curl*' || -R '10.0.0.0/8'"`;
    expect(await check(line, { headers: { 'user-agent': 'curl/8' } })).toBe('granted');
    expect(await check(line, { remoteAddress: '10.2.3.4' })).toBe('granted');
    expect(await check(line, { remoteAddress: '::ffff:10.2.3.4' })).toBe('granted');
    expect(await check(line, { remoteAddress: '192.0.2.1' })).toBe('denied');
  });
});

describe('Require expr: REMOTE_USER', () => {
  const line = `"%{REMOTE_USER} == 'bob'"`;

  it('marks expressions that read %{REMOTE_USER}', () => {
    expect(load(line).wantsUser).toBe(true);
    expect(load(`"reqenv('REMOTE_USER') == 'bob'"`).wantsUser).toBe(false);
  });

  it('answers denied-no-user while nobody is authenticated, so authentication runs', async () => {
    expect(await check(line)).toBe('denied-no-user');
  });

  it('grants the right user', async () => {
    expect(await check(line, { user: 'bob' })).toBe('granted');
  });

  it('answers denied-no-user for the wrong user too, as httpd does (a 401, not a 403)', async () => {
    expect(await check(line, { user: 'alice' })).toBe('denied-no-user');
  });

  it('answers denied for a false expression that does not mention REMOTE_USER', async () => {
    expect(await check(`"%{REQUEST_METHOD} == 'POST'"`, { user: 'alice' })).toBe('denied');
    expect(await check(`"%{REQUEST_METHOD} == 'POST'"`)).toBe('denied');
  });
});

describe('Require expr: quoting', () => {
  it('strips one pair of surrounding double quotes, and only double quotes', async () => {
    expect(await check('"true"')).toBe('granted');
    expect(await check('true')).toBe('granted');
    expect(await check(`"'a' == 'a'"`)).toBe('granted');
    expect(loadError(`'true'`).message).toBe('Cannot parse expression in require line: syntax error, unexpected end of expression, expecting a comparison operator (at character 7)');
  });

  it('keeps quotes that do not surround the whole line', () => {
    expect(loadError('"true" && true').message).toBe("Cannot parse expression in require line: syntax error, unexpected '&&', expecting a comparison operator (at character 8)");
    expect(loadError('true"').message).toBe('Cannot parse expression in require line: Unterminated string or variable (at character 5)');
    expect(loadError('"true').message).toBe('Cannot parse expression in require line: Unterminated string or variable (at character 1)');
  });

  it('reads an empty or lone-quote line as an empty expression', () => {
    expect(loadError('').message).toBe('Cannot parse expression in require line: syntax error, unexpected end of expression (at character 1)');
    expect(loadError('"').message).toBe('Cannot parse expression in require line: syntax error, unexpected end of expression (at character 1)');
    expect(loadError('""').message).toBe('Cannot parse expression in require line: syntax error, unexpected end of expression (at character 1)');
  });
});

describe('Require expr: load errors', () => {
  it('reports bad expressions as CONFIG_BAD_EXPR on the Require line', () => {
    const err = loadError(`"%{FOO} == 'x'"`);
    expect(err.code).toBe('CONFIG_BAD_EXPR');
    expect(err.file).toBe('test.conf');
    expect(err.line).toBe(7);
    expect(err.message).toBe("Cannot parse expression in require line: Variable 'FOO' does not exist (at character 1)");
  });

  it('reports unsupported features the same way', () => {
    expect(loadError('"-f %{REQUEST_FILENAME}"').code).toBe('CONFIG_BAD_EXPR');
    expect(loadError(`"%{REQUEST_URI} =~ /(?>x)/"`).message).toMatch(/Failed to compile regular expression: atomic group/);
  });

  it('returns a frozen parse result', () => {
    expect(Object.isFrozen(load('true'))).toBe(true);
  });
});

describe('Require expr: evaluation errors', () => {
  it('throws EXPR_EVAL, which the engine turns into a 500', async () => {
    let inner = "'x'";
    for (let i = 0; i < 19; i++) inner = `tolower(${inner})`;
    let caught: unknown;
    try {
      await check(`"${inner} == 'x'"`);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AuthTsError);
    expect((caught as AuthTsError).code).toBe('EXPR_EVAL');
    expect((caught as AuthTsError).message).toBe("Error evaluating expression in 'Require expr': Recursion limit reached");
  });
});

describe('Require expr: warnings', () => {
  it('loads good lines without warnings', () => {
    load('"true"');
    expect(warnings).toEqual([]);
  });
});
