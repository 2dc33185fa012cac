import type { Module } from '../module.js';

/**
 * mod_authz_user: `Require user name…` (exact, case-sensitive, as httpd's strcmp) and
 * `Require valid-user`. Both answer denied-no-user while no one is authenticated, so the
 * userless pass sends the request to authentication.
 */
export const authzUser: Module = {
  name: 'authz_user',
  authzProviders: {
    user: {
      parseRequire(args, ctx) {
        const users = splitUserList(args);
        if (users.length === 0) ctx.error('CONFIG_BAD_REQUIRE', "'Require user' requires at least one user name");
        return new Set(users);
      },
      checkAuthorization(req, users: Set<string>) {
        if (req.user === undefined) return 'denied-no-user';
        return users.has(req.user) ? 'granted' : 'denied';
      },
    },
    'valid-user': {
      parseRequire(args, ctx) {
        if (args.trim() !== '') ctx.warn(`'Require valid-user' takes no arguments; "${args.trim()}" is ignored`);
        return null;
      },
      checkAuthorization: (req) => (req.user === undefined ? 'denied-no-user' : 'granted'),
    },
  },
};

/** Splits a Require argument list into words, honouring "double" and 'single' quotes. */
export function splitUserList(args: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(\S+)/g;
  for (const m of args.matchAll(re)) {
    const quoted = m[1] ?? m[2];
    out.push(quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : m[3]!);
  }
  return out;
}
