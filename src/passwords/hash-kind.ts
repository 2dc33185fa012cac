/**
 * Recognizing a stored password hash by its prefix, as `apr_password_validate` does, and reading
 * the parameters (salt, cost, rounds) that verification and dummy hashing need.
 */

/**
 * The formats authts tells apart:
 *
 * - `apr1` — `$apr1$salt$hash`, APR's MD5 (`htpasswd -m`, the default);
 * - `md5` — `$1$salt$hash`, md5-crypt (`openssl passwd -1`);
 * - `bcrypt` — `$2y$`, `$2a$`, `$2b$` (`htpasswd -B`);
 * - `sha256` / `sha512` — `$5$` / `$6$` sha-crypt, optionally `rounds=N` (`htpasswd -2` / `-5`);
 * - `des` — 13-character traditional crypt (`htpasswd -d`);
 * - `sha1` — `{SHA}` + base64 SHA-1, unsalted (`htpasswd -s`);
 * - `argon2` — `$argon2id$`, `$argon2i$`, `$argon2d$` PHC strings (an authts extension);
 * - `unsupported` — formats the system `crypt()` of Debian's libxcrypt knows but authts cannot
 *   compute (`$y$` yescrypt, `$gy$`, `$7$` scrypt, `$2x$`, `$sha1$`, `$md5$`, `$3$`, `_` BSDi);
 *   httpd on Linux would verify these, so authts refuses to answer rather than deny silently;
 * - `plain` — anything else, including plain text (`htpasswd -p`), which never verifies.
 */
export type HashKind =
  | 'apr1'
  | 'md5'
  | 'bcrypt'
  | 'sha256'
  | 'sha512'
  | 'des'
  | 'sha1'
  | 'argon2'
  | 'unsupported'
  | 'plain';

const DES_RE = /^[./0-9A-Za-z]{13}$/;
const BCRYPT_RE = /^\$2[aby]\$/;
const ARGON2_RE = /^\$argon2(?:id|i|d)\$/;
const UNSUPPORTED_RE = /^(?:\$(?:y|gy|7|2x|sha1|md5|3)\$|\$md5,|_[./0-9A-Za-z]{19}$)/;

/**
 * The format of a stored hash, decided by its prefix alone (the rest may still be malformed).
 *
 * @example
 * ```ts
 * hashKind('$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/'); // 'apr1'
 * hashKind('rqXexS6ZhobKA');                         // 'des'
 * hashKind('secret');                                // 'plain'
 * ```
 */
export function hashKind(stored: string): HashKind {
  if (stored.startsWith('$apr1$')) return 'apr1';
  if (stored.startsWith('$1$')) return 'md5';
  if (BCRYPT_RE.test(stored)) return 'bcrypt';
  if (stored.startsWith('$5$')) return 'sha256';
  if (stored.startsWith('$6$')) return 'sha512';
  if (stored.startsWith('{SHA}')) return 'sha1';
  if (ARGON2_RE.test(stored)) return 'argon2';
  if (DES_RE.test(stored)) return 'des';
  if (UNSUPPORTED_RE.test(stored)) return 'unsupported';
  return 'plain';
}

/**
 * The `$apr1$salt` / `$1$salt` setting of an MD5 hash: the salt ends at the next `$` and is at
 * most 8 characters, as APR's `apr_md5_encode` and glibc read it.
 *
 * @example
 * ```ts
 * md5Setting('$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/'); // '$apr1$r31.....'
 * ```
 */
export function md5Setting(stored: string): string {
  const magic = stored.startsWith('$apr1$') ? '$apr1$' : '$1$';
  const rest = stored.slice(magic.length);
  const end = rest.indexOf('$');
  const salt = (end < 0 ? rest : rest.slice(0, end)).slice(0, 8);
  return magic + salt;
}

/** Parameters of a sha-crypt hash: `rounds` is undefined when the hash does not name them. */
export interface ShaCryptParams {
  readonly id: '5' | '6';
  readonly rounds: number | undefined;
  readonly salt: string;
}

/**
 * Reads `$5$[rounds=N$]salt$hash` / `$6$…` as glibc does: `rounds=` counts only when digits are
 * followed by `$`; the salt ends at the next `$` and is at most 16 characters.
 *
 * @example
 * ```ts
 * shaCryptParams('$5$rounds=10000$abc$def'); // { id: '5', rounds: 10000, salt: 'abc' }
 * ```
 */
export function shaCryptParams(stored: string): ShaCryptParams {
  const id = stored[1] === '5' ? '5' : '6';
  let rest = stored.slice(3);
  let rounds: number | undefined;
  const m = /^rounds=(\d+)\$/.exec(rest);
  if (m) {
    rounds = Number(m[1]);
    rest = rest.slice(m[0].length);
  }
  const end = rest.indexOf('$');
  const salt = (end < 0 ? rest : rest.slice(0, end)).slice(0, 16);
  return { id, rounds, salt };
}

/**
 * The `$5$[rounds=N$]salt` setting that recomputes a sha-crypt hash.
 *
 * @example
 * ```ts
 * shaCryptSetting({ id: '6', rounds: undefined, salt: 'abc' }); // '$6$abc'
 * ```
 */
export function shaCryptSetting(p: ShaCryptParams): string {
  return p.rounds === undefined ? `$${p.id}$${p.salt}` : `$${p.id}$rounds=${p.rounds}$${p.salt}`;
}

/**
 * The two-digit cost of a bcrypt hash, or undefined when the hash has none.
 *
 * @example
 * ```ts
 * bcryptCost('$2y$05$c4WoMPo3SXsafkva.HHa6u…'); // 5
 * ```
 */
export function bcryptCost(stored: string): number | undefined {
  const m = /^\$2[aby]\$(\d\d)\$/.exec(stored);
  return m ? Number(m[1]) : undefined;
}

/** Parameters of an argon2 PHC string, as needed to make another hash of the same cost. */
export interface Argon2Params {
  readonly type: 'argon2id' | 'argon2i' | 'argon2d';
  readonly version: number | undefined;
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
  readonly saltLength: number;
  readonly hashLength: number;
}

const ARGON2_PHC_RE = /^\$(argon2(?:id|i|d))\$(?:v=(\d+)\$)?([a-z]=\d+(?:,[a-z]=\d+)*)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/**
 * Reads `$argon2id$v=19$m=…,t=…,p=…$salt$hash` (parameters in any order); undefined when it is
 * not of that shape.
 *
 * @example
 * ```ts
 * argon2Params(stored)?.memoryCost; // e.g. 65536
 * ```
 */
export function argon2Params(stored: string): Argon2Params | undefined {
  const m = ARGON2_PHC_RE.exec(stored);
  if (!m) return undefined;
  const params = new Map<string, number>();
  for (const pair of (m[3] ?? '').split(',')) {
    const [key, value] = pair.split('=');
    if (key !== undefined && value !== undefined) params.set(key, Number(value));
  }
  const memoryCost = params.get('m');
  const timeCost = params.get('t');
  const parallelism = params.get('p');
  if (memoryCost === undefined || timeCost === undefined || parallelism === undefined) return undefined;
  return {
    type: m[1] as Argon2Params['type'],
    version: m[2] === undefined ? undefined : Number(m[2]),
    memoryCost,
    timeCost,
    parallelism,
    saltLength: Buffer.from(m[4] ?? '', 'base64').length,
    hashLength: Buffer.from(m[5] ?? '', 'base64').length,
  };
}
