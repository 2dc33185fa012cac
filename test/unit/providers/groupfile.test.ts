import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import type { AuthzProvider, Module } from '../../../src/module.js';
import {
  createAuthzGroupfileModule,
  parseGroupFile,
  type AuthzGroupfileSettings,
  type RequireGroup,
} from '../../../src/authz/groupfile.js';
import { applyDirective, captureLogger, fakeRequest, requireContext, tempDir } from './helpers.js';

let dir = '';
let remove: () => Promise<void> = async () => {};
let module: Module<AuthzGroupfileSettings>;
let provider: AuthzProvider<RequireGroup>;

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
  module = createAuthzGroupfileModule();
  provider = module.authzProviders!['group'] as AuthzProvider<RequireGroup>;
});
afterEach(async () => {
  await module.close?.();
  await remove();
});

const GROUPS = [
  '# staff and friends',
  '',
  'Admins: alice',
  'staff: bob \\',
  '   carol',
  'ops  : gina',
  'qa: "h i" \'j k\' lee',
  'staff: ivan',
  '   # indented comment: mallory',
  'empty:',
  'nocolon',
].join('\n');

function require_(args: string): RequireGroup {
  return provider.parseRequire(args, requireContext());
}

async function authorize(
  groupFile: string | undefined,
  user: string | undefined,
  args: string,
  log = captureLogger().log,
): Promise<string> {
  const settings: AuthzGroupfileSettings = groupFile === undefined ? {} : { groupFile };
  const req = fakeRequest({ settings: new Map([[module, settings]]), ...(user === undefined ? {} : { user }), log });
  return provider.checkAuthorization(req, require_(args));
}

describe('parseGroupFile', () => {
  it('reads groups as mod_authz_groupfile does', () => {
    const file = parseGroupFile(GROUPS);
    const groupsOf = (user: string): string[] => [...(file.get(user) ?? [])].sort();
    expect(groupsOf('alice')).toEqual(['admins']);
    expect(groupsOf('bob')).toEqual(['staff']);
    expect(groupsOf('carol')).toEqual(['staff']); // continuation line
    expect(groupsOf('ivan')).toEqual(['staff']); // the group's second line
    expect(groupsOf('gina')).toEqual(['ops']); // trailing spaces of the name trimmed
    expect(groupsOf('h i')).toEqual(['qa']); // quoted members
    expect(groupsOf('j k')).toEqual(['qa']);
    expect(groupsOf('lee')).toEqual(['qa']);
    expect(groupsOf('mallory')).toEqual([]); // comment
    expect(groupsOf('nocolon')).toEqual([]);
    expect(groupsOf('"h')).toEqual([]);
  });

  it('collects a user listed in several groups', () => {
    const file = parseGroupFile('a: u\nb: v u\nc: w\n');
    expect([...(file.get('u') ?? [])].sort()).toEqual(['a', 'b']);
  });
});

describe('AuthGroupFile directive', () => {
  it('resolves against the server root, warns about a missing file, rejects an empty path', () => {
    const settings: AuthzGroupfileSettings = {};
    const warnings = applyDirective(module, 'AuthGroupFile', ['conf/groups'], settings, '/srv/authts');
    expect(settings.groupFile).toBe('/srv/authts/conf/groups');
    expect(warnings).toHaveLength(1);
    expect(() => applyDirective(module, 'AuthGroupFile', [''], {}, dir)).toThrow(ConfigError);
  });

  it('merges: inner replaces, unset inherits, inputs untouched', () => {
    const outer: AuthzGroupfileSettings = { groupFile: '/a' };
    expect(module.mergeDirSettings!(outer, { groupFile: '/b' })).toEqual({ groupFile: '/b' });
    expect(module.mergeDirSettings!(outer, module.createDirSettings!())).toEqual({ groupFile: '/a' });
    expect(outer).toEqual({ groupFile: '/a' });
  });
});

describe('Require group: parsing', () => {
  it('reads words, quoted names included', () => {
    expect(require_('admins "web editors" \'ops\'').groups).toEqual(['admins', 'web editors', 'ops']);
  });

  it('warns (but loads) without a group name and on %{…}', () => {
    const ctx = requireContext();
    expect(provider.parseRequire('', ctx).groups).toEqual([]);
    expect(ctx.warnings).toHaveLength(1);
    const ctx2 = requireContext();
    provider.parseRequire('%{REMOTE_USER}', ctx2);
    expect(ctx2.warnings.some((w) => w.includes('%{'))).toBe(true);
  });
});

describe('Require group: authorization', () => {
  let path = '';
  beforeEach(async () => {
    path = join(dir, 'groups');
    await writeFile(path, GROUPS);
  });

  it('no user yet → denied-no-user (even before looking at the file)', async () => {
    expect(await authorize(path, undefined, 'staff')).toBe('denied-no-user');
    expect(await authorize(undefined, undefined, 'staff')).toBe('denied-no-user');
  });

  it('a member of any listed group → granted, else denied', async () => {
    expect(await authorize(path, 'bob', 'staff')).toBe('granted');
    expect(await authorize(path, 'carol', 'staff')).toBe('granted');
    expect(await authorize(path, 'ivan', 'staff')).toBe('granted');
    expect(await authorize(path, 'alice', 'staff')).toBe('denied');
    expect(await authorize(path, 'alice', 'staff Admins')).toBe('granted');
    expect(await authorize(path, 'gina', 'ops')).toBe('granted');
    expect(await authorize(path, 'h i', 'qa')).toBe('granted');
    expect(await authorize(path, 'nobody', 'staff qa ops')).toBe('denied');
    expect(await authorize(path, 'mallory', 'staff')).toBe('denied');
  });

  it('group names match case-insensitively (httpd keeps them in an APR table); users do not', async () => {
    expect(await authorize(path, 'alice', 'admins')).toBe('granted');
    expect(await authorize(path, 'alice', '"ADMINS"')).toBe('granted');
    expect(await authorize(path, 'Alice', 'Admins')).toBe('denied');
  });

  it('a missing group file → denied (not 500), with an error logged; recovers when it is back', async () => {
    const { log, lines } = captureLogger();
    await rm(path);
    expect(await authorize(path, 'bob', 'staff', log)).toBe('denied');
    const errors = lines.filter((l) => l['level'] === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!['code']).toBe('FILE_UNREADABLE');
    expect(errors[0]!['file']).toBe(path);
    await writeFile(path, GROUPS);
    expect(await authorize(path, 'bob', 'staff')).toBe('granted');
  });

  it('no AuthGroupFile → denied with an error logged', async () => {
    const { log, lines } = captureLogger();
    expect(await authorize(undefined, 'bob', 'staff', log)).toBe('denied');
    expect(lines.filter((l) => l['level'] === 50)).toHaveLength(1);
  });

  it('reloads after the file changes', async () => {
    expect(await authorize(path, 'zoe', 'staff')).toBe('denied');
    await writeFile(path, `${GROUPS}\nstaff: zoe\n`);
    expect(await authorize(path, 'zoe', 'staff')).toBe('granted');
    await writeFile(path, 'staff: bob\n');
    expect(await authorize(path, 'zoe', 'staff')).toBe('denied');
    expect(await authorize(path, 'carol', 'staff')).toBe('denied');
  });
});
