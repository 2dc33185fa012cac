/**
 * mod_authz_groupfile: `AuthGroupFile` and `Require group`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AuthTsError } from '../errors.js';
import type { AuthzProvider, AuthzResult, Module } from '../module.js';
import { cfgLines, isSpace, VARBUF_MAX_LEN } from '../providers/cfg-getline.js';
import { getWord, splitConfWords } from '../providers/getword.js';
import { createTextFileIndex, type TextFileIndex } from '../providers/text-file.js';

/** Per-section settings of `authz_groupfile`. */
export interface AuthzGroupfileSettings {
  /** Absolute path of the `AuthGroupFile`; unset means "inherit" when merging. */
  groupFile?: string;
}

/** A parsed group file: user → the (case-folded) names of the groups that list them. */
export type GroupFile = ReadonlyMap<string, ReadonlySet<string>>;

/** A parsed `Require group` line. */
export interface RequireGroup {
  /** The group names as written (quotes removed). */
  readonly groups: readonly string[];
  /** The same names case-folded, as they are looked up. */
  readonly keys: readonly string[];
}

/** The first spelling of each case-folded group name, per parsed file (for {@link groupsOfUser}). */
const spellings = new WeakMap<GroupFile, ReadonlyMap<string, string>>();

/**
 * Group names compare case-insensitively (ASCII only), because httpd collects a user's groups
 * in an APR table, whose keys are compared with `strcasecmp`. User names compare exactly.
 */
function foldGroup(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * Parses a group file as mod_authz_groupfile reads it: `groupname: user1 user2 …`, lines as
 * `ap_cfg_getline` gives them (trimmed, `\` continuations, up to 16 MiB); empty and `#` lines
 * skipped; the group name is the text before the first `:` with trailing whitespace removed;
 * members are `ap_getword_conf` words (quotes allowed); a group on several lines collects the
 * members of all of them.
 *
 * @example
 * ```ts
 * parseGroupFile('admins: alice "Jane Doe"\nadmins: bob\n').get('bob'); // Set { 'admins' }
 * ```
 */
export function parseGroupFile(text: string): GroupFile {
  const byUser = new Map<string, Set<string>>();
  const spelled = new Map<string, string>();
  for (const line of cfgLines(text, VARBUF_MAX_LEN).lines) {
    if (line === '' || line.startsWith('#')) continue;
    const { word, rest } = getWord(line, ':');
    let end = word.length;
    while (end > 0 && isSpace(word[end - 1])) end--;
    const group = foldGroup(word.slice(0, end));
    if (!spelled.has(group)) spelled.set(group, word.slice(0, end));
    for (const member of splitConfWords(rest)) {
      let groups = byUser.get(member);
      if (!groups) {
        groups = new Set();
        byUser.set(member, groups);
      }
      groups.add(group);
    }
  }
  spellings.set(byUser, spelled);
  return byUser;
}

/**
 * The groups `user` is in, in file order, each spelled as the file first spells it (the
 * {@link GroupFile} itself holds case-folded names, which is how `Require group` compares).
 *
 * @example
 * ```ts
 * groupsOfUser(parseGroupFile('Admins: alice\nstaff: bob alice\n'), 'alice'); // ['Admins', 'staff']
 * ```
 */
export function groupsOfUser(file: GroupFile, user: string): string[] {
  const spelled = spellings.get(file);
  return [...(file.get(user) ?? [])].map((group) => spelled?.get(group) ?? group);
}

/**
 * Creates the `authz_groupfile` module: directive `AuthGroupFile path` (per section; relative to
 * the server root; an inner section's file replaces the outer one) and authz provider `group`
 * for `Require group g1 "g 2" …`.
 *
 * `Require group`, as httpd's:
 * - no user yet → `'denied-no-user'` (so the userless pass asks for authentication);
 * - the user is a member of any listed group → `'granted'`, else `'denied'`;
 * - no `AuthGroupFile`, or a missing/unreadable file → `'denied'` with an error logged — not a
 *   500: httpd treats a broken group file as "not in the group".
 *
 * Group files are parsed once and re-read when they change (one index per absolute path);
 * `close()` drops the indexes.
 *
 * Deviation: httpd evaluates each `Require group` argument as an `ap_expr` string per request;
 * authts takes the names literally (a warning is given at load for `%{`).
 *
 * @example
 * ```ts
 * const groups = createAuthzGroupfileModule();
 * // AuthGroupFile conf/groups
 * // Require group admins "web editors"
 * ```
 */
export function createAuthzGroupfileModule(): Module<AuthzGroupfileSettings> {
  const indexes = new Map<string, TextFileIndex<GroupFile>>();

  function indexFor(path: string): TextFileIndex<GroupFile> {
    let index = indexes.get(path);
    if (!index) {
      index = createTextFileIndex(path, parseGroupFile);
      indexes.set(path, index);
    }
    return index;
  }

  const provider: AuthzProvider<RequireGroup> = {
    parseRequire(args, ctx) {
      const groups = splitConfWords(args);
      if (groups.length === 0) ctx.warn('Require group without a group name never grants');
      if (args.includes('%{')) {
        ctx.warn('Require group: authts does not evaluate %{…} expressions here; the names are taken literally');
      }
      return Object.freeze({ groups: Object.freeze(groups), keys: Object.freeze(groups.map(foldGroup)) });
    },
    checkAuthorization: async function groupCheckAuthorization(req, parsed): Promise<AuthzResult> {
      const user = req.user;
      if (user === undefined) return 'denied-no-user';
      const path = req.settings(module).groupFile;
      if (path === undefined) {
        req.log.error({ code: 'FILE_UNREADABLE' }, 'Require group: no AuthGroupFile is set for this location');
        return 'denied';
      }
      let file: GroupFile;
      try {
        file = await indexFor(path).get();
      } catch (err) {
        if (!(err instanceof AuthTsError)) throw err;
        req.log.error({ code: err.code, file: path }, `Require group: could not open the group file: ${err.message}`);
        return 'denied';
      }
      const groups = file.get(user);
      if (groups && parsed.keys.some((key) => groups.has(key))) return 'granted';
      req.log.info(
        { user, groups: parsed.groups },
        groups ? 'Require group: user is not in the required group(s)' : 'Require group: user does not appear in the group file',
      );
      return 'denied';
    },
  };

  const module: Module<AuthzGroupfileSettings> = {
    name: 'authz_groupfile',
    directives: [
      {
        name: 'AuthGroupFile',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthGroupFile file-path',
        apply(ctx, args) {
          const file = args[0] ?? '';
          if (file === '') ctx.error('CONFIG_BAD_ARGUMENT', 'AuthGroupFile needs a file path');
          const path = resolve(ctx.serverRoot, file);
          if (!existsSync(path)) ctx.warn(`AuthGroupFile ${path} does not exist (yet); Require group will deny`);
          ctx.dir(module).groupFile = path;
        },
      },
    ],
    createDirSettings: () => ({}),
    mergeDirSettings: (base, add) => (add.groupFile !== undefined ? { groupFile: add.groupFile } : { ...base }),
    authzProviders: { group: provider },
    // Forward-auth's Remote-Groups. Unlike `Require group`, an unreadable file throws (→ 5xx):
    // an answer with a silently empty group list would be wrong, not just restrictive.
    userGroups: async function groupfileUserGroups(req, user): Promise<readonly string[]> {
      const path = req.settings(module).groupFile;
      if (path === undefined) return [];
      return groupsOfUser(await indexFor(path).get(), user);
    },
    close: async function closeAuthzGroupfile(): Promise<void> {
      indexes.clear();
    },
  };
  return module;
}

/**
 * The built-in `authz_groupfile` module.
 *
 * @example
 * ```ts
 * new Registry([authzCore, authzUser, authzGroupfile]); // then `AuthGroupFile` and `Require group` load
 * ```
 */
export const authzGroupfile: Module<AuthzGroupfileSettings> = createAuthzGroupfileModule();
