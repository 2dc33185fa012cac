/**
 * mod_authn_file: `AuthUserFile` and the `file` authn provider (htpasswd and htdigest files).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { AuthTsError } from '../errors.js';
import type { AuthnProvider, AuthnResult, Module, PasswordChecker } from '../module.js';
import type { Logger } from '../log.js';
import type { AuthRequest } from '../request.js';
import { hashKind, makeDummyHash, verifyPassword } from '../passwords/index.js';
import { cfgLines, MAX_STRING_LEN } from './cfg-getline.js';
import { getWord } from './getword.js';
import { createTextFileIndex, type TextFileIndex, type TextFileIndexOptions } from './text-file.js';

/** Per-section settings of `authn_file`. */
export interface AuthnFileSettings {
  /** Absolute path of the `AuthUserFile`; unset means "inherit" when merging. */
  userFile?: string;
}

/** The parsed user file: lookups cost the same whatever the number of users. */
export interface UserFile {
  /** user → stored hash, from the first line of each user. */
  readonly users: ReadonlyMap<string, string>;
  /** htdigest records: {@link realmKey}(user, realm) → hash, from the first matching line. */
  readonly realms: ReadonlyMap<string, string>;
  /** The hash unknown users are checked against (see {@link parseUserFile}); undefined for an empty file. */
  readonly dummyModel: string | undefined;
  /** Set when reading stopped at an over-long line, as httpd's reader does (1-based line). */
  readonly tooLongAt: number | undefined;
}

/**
 * The key of a (user, realm) pair in {@link UserFile.realms}; unambiguous whatever the names hold.
 *
 * @example
 * ```ts
 * parseUserFile(text).realms.get(realmKey('alice', 'Private Area')); // the htdigest hash
 * ```
 */
export function realmKey(user: string, realm: string): string {
  return `${user.length}:${user}:${realm}`;
}

/**
 * Parses an htpasswd or htdigest file as mod_authn_file reads it: lines as `ap_cfg_getline`
 * gives them (trimmed, `\` continuations, reading stops at a line of 8191 bytes or more);
 * empty lines and lines starting with `#` are skipped; the user is the text before the first
 * `:`; the hash is the text up to the next `:` (further fields are ignored; `::` counts as one
 * separator, as `ap_getword` skips repeated separators); the first line of a user wins.
 * htdigest lines (`user:realm:hash`) are indexed by user and realm, first match wins.
 *
 * The dummy model is the first hash that can verify anything (not plain text, not an
 * unsupported format), else the first hash: unknown users are checked against a hash of the
 * same kind and cost, so the file's typical check is what "no such user" costs.
 *
 * @example
 * ```ts
 * parseUserFile('alice:$apr1$x$y\n').users.get('alice'); // '$apr1$x$y'
 * ```
 */
export function parseUserFile(text: string): UserFile {
  const users = new Map<string, string>();
  const realms = new Map<string, string>();
  let firstHash: string | undefined;
  let firstVerifiable: string | undefined;
  const { lines, tooLongAt } = cfgLines(text, MAX_STRING_LEN);
  for (const line of lines) {
    if (line === '' || line.startsWith('#')) continue;
    const user = getWord(line, ':');
    const second = getWord(user.rest, ':');
    if (!users.has(user.word)) {
      users.set(user.word, second.word);
      firstHash ??= second.word;
      const kind = hashKind(second.word);
      if (firstVerifiable === undefined && kind !== 'plain' && kind !== 'unsupported') {
        firstVerifiable = second.word;
      }
    }
    // Only htdigest lines (user:realm:hash) have a third field; an htpasswd file adds nothing
    // here, so a million-user htpasswd index is not kept twice.
    if (second.rest === '') continue;
    const key = realmKey(user.word, second.word);
    if (!realms.has(key)) realms.set(key, getWord(second.rest, ':').word);
  }
  return { users, realms, dummyModel: firstVerifiable ?? firstHash, tooLongAt };
}

/** A parsed user file plus its dummy hash, made on first need. */
interface LoadedUserFile {
  readonly file: UserFile;
  dummy: Promise<string> | undefined;
}

/**
 * One user file, parsed once and re-read when it changes: what the `file` provider asks, per
 * file, and what {@link fileProvider} wraps for use outside a configuration.
 */
export interface UserFileChecker {
  /** The absolute path of the file. */
  readonly path: string;
  /**
   * `'granted'`, `'denied'`, or `'not-found'` (after a check against a dummy hash of the file's
   * kind and cost, so that timing does not tell which users exist). Throws `AuthTsError`
   * `FILE_UNREADABLE` while the file is missing or unreadable.
   */
  checkPassword(user: string, password: string, log?: Logger): Promise<AuthnResult>;
  /** The hash of the first `user:realm:hash` line, or `undefined`. */
  getRealmHash(user: string, realm: string): Promise<string | undefined>;
  /**
   * `path` plus the file's identity now (see `TextFileIndex.identity`), or `undefined` while the
   * file is unreadable or changed too recently to be told apart from a further change.
   */
  identity(): string | undefined;
}

/**
 * Creates the {@link UserFileChecker} of `path` (absolute). Nothing is read until the first call.
 *
 * @example
 * ```ts
 * const users = createUserFileChecker('/etc/authts/users');
 * await users.checkPassword('alice', 'secret'); // 'granted'
 * ```
 */
export function createUserFileChecker(path: string, options: TextFileIndexOptions = {}): UserFileChecker {
  const index: TextFileIndex<LoadedUserFile> = createTextFileIndex(
    path,
    (text) => ({ file: parseUserFile(text), dummy: undefined }),
    options,
  );

  /** Spends what a real check costs; the answer is irrelevant (it is always false). */
  async function checkDummy(loaded: LoadedUserFile, password: string): Promise<void> {
    const model = loaded.file.dummyModel;
    if (model === undefined) return;
    loaded.dummy ??= makeDummyHash(model).catch((err: unknown) => {
      loaded.dummy = undefined;
      throw err;
    });
    await verifyPassword(await loaded.dummy, password);
  }

  return {
    path,
    checkPassword: async function checkUserFilePassword(user, password, log): Promise<AuthnResult> {
      const loaded = await index.get();
      const hash = loaded.file.users.get(user);
      if (hash === undefined) {
        await checkDummy(loaded, password);
        if (loaded.file.tooLongAt !== undefined) {
          log?.warn(
            { file: path, line: loaded.file.tooLongAt },
            'AuthUserFile: reading stopped at an over-long line; users after it are not found',
          );
        }
        return 'not-found';
      }
      return (await verifyPassword(hash, password)) ? 'granted' : 'denied';
    },
    getRealmHash: async function getUserFileRealmHash(user, realm): Promise<string | undefined> {
      const loaded = await index.get();
      return loaded.file.realms.get(realmKey(user, realm));
    },
    identity: function userFileIdentity(): string | undefined {
      const id = index.identity();
      return id === undefined ? undefined : `${path.length}:${path}:${id}`;
    },
  };
}

/**
 * Creates the `authn_file` module: directive `AuthUserFile path` (per section; a relative path
 * resolves against the server root; an inner section's file replaces the outer one) and the
 * authn provider `file`.
 *
 * Each file is parsed once and re-read when it changes (one {@link UserFileChecker} per
 * absolute path, shared by every section naming it); `close()` drops them. `options` are those
 * of each file's index (`racyWindowMs`, for tests).
 *
 * Provider `file`, as httpd's:
 * - `checkPassword`: no `AuthUserFile`, or a missing/unreadable file → throws `AuthTsError`
 *   (the caller answers 500). Unknown user → `'not-found'`, after checking the password against
 *   a dummy hash of the file's kind and cost so that timing does not tell which users exist
 *   (httpd answers at once; authts deliberately does not). Known user → `'granted'` or
 *   `'denied'` by {@link verifyPassword}.
 * - `getRealmHash`: the hash of the first `user:realm:hash` line, or `undefined`.
 *
 * @example
 * ```ts
 * const authnFile = createAuthnFileModule();
 * // <Location /private> AuthUserFile conf/users </Location>, AuthBasicProvider file
 * ```
 */
export function createAuthnFileModule(options: TextFileIndexOptions = {}): Module<AuthnFileSettings> {
  const checkers = new Map<string, UserFileChecker>();

  function checkerFor(req: AuthRequest): UserFileChecker {
    const path = req.settings(module).userFile;
    if (path === undefined) {
      throw new AuthTsError('FILE_UNREADABLE', 'the "file" authn provider is used where no AuthUserFile is set');
    }
    let checker = checkers.get(path);
    if (!checker) {
      checker = createUserFileChecker(path, options);
      checkers.set(path, checker);
    }
    return checker;
  }

  const provider: AuthnProvider = {
    checkPassword: async function fileCheckPassword(req, user, password): Promise<AuthnResult> {
      return checkerFor(req).checkPassword(user, password, req.log);
    },
    getRealmHash: async function fileGetRealmHash(req, user, realm): Promise<string | undefined> {
      return checkerFor(req).getRealmHash(user, realm);
    },
    cacheIdentity: function fileCacheIdentity(req): string | undefined {
      if (req.settings(module).userFile === undefined) return undefined;
      return checkerFor(req).identity();
    },
  };

  const module: Module<AuthnFileSettings> = {
    name: 'authn_file',
    directives: [
      {
        name: 'AuthUserFile',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthUserFile file-path',
        apply(ctx, args) {
          const file = args[0] ?? '';
          if (file === '') ctx.error('CONFIG_BAD_ARGUMENT', 'AuthUserFile needs a file path');
          const path = resolve(ctx.serverRoot, file);
          if (!existsSync(path)) ctx.warn(`AuthUserFile ${path} does not exist (yet); requests needing it will fail with 500`);
          ctx.dir(module).userFile = path;
        },
      },
    ],
    createDirSettings: () => ({}),
    mergeDirSettings: (base, add) => (add.userFile !== undefined ? { userFile: add.userFile } : { ...base }),
    authnProviders: { file: provider },
    close: async function closeAuthnFile(): Promise<void> {
      checkers.clear();
    },
  };
  return module;
}

/**
 * The built-in `authn_file` module.
 *
 * @example
 * ```ts
 * new Registry([authnCore, authnFile, authBasic]); // then `AuthUserFile` and `AuthBasicProvider file` load
 * ```
 */
export const authnFile: Module<AuthnFileSettings> = createAuthnFileModule();

/** Options of {@link fileProvider}. */
export interface FileProviderOptions {
  /** An htpasswd file (any format `authts-htpasswd` or Apache's `htpasswd` writes); relative to the working directory. */
  readonly userFile: string;
  /** Where the over-long-line warning goes (none by default). */
  readonly logger?: Logger;
}

/**
 * The `file` provider on its own: checks names and passwords against an htpasswd file, parsed
 * once and re-read when it changes, exactly as `AuthBasicProvider file` does. The file is read
 * once here, so a wrong path fails now (`AuthTsError` `FILE_UNREADABLE`) rather than at the
 * first check. Throws `TypeError` when `userFile` is not a non-empty string.
 *
 * @example
 * ```ts
 * import { fileProvider } from 'authts';
 * const users = await fileProvider({ userFile: 'conf/users' });
 * await users.checkPassword('alice', 'wonderland'); // 'granted' | 'denied' | 'not-found'
 * ```
 */
export async function fileProvider(options: FileProviderOptions): Promise<PasswordChecker> {
  if (typeof options?.userFile !== 'string' || options.userFile === '') {
    throw new TypeError('fileProvider: options.userFile must be a non-empty path');
  }
  const path = isAbsolute(options.userFile) ? options.userFile : resolve(options.userFile);
  const checker = createUserFileChecker(path);
  const log = options.logger;
  await checker.getRealmHash('', '');
  return {
    name: 'file',
    checkPassword: function checkPassword(user, password) {
      if (typeof user !== 'string' || typeof password !== 'string') {
        return Promise.reject(new TypeError('checkPassword: user and password must be strings'));
      }
      return checker.checkPassword(user, password, log);
    },
    close: async function close() {},
  };
}
