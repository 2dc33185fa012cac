import { basename } from 'node:path';

/**
 * The name a tool prints in its messages, from the path it was started by (`process.argv[1]`):
 * its base name without a `.js`/`.ts` extension, and `fallback` for the entry files' own
 * names (`htpasswd-bin.js` → `authts-htpasswd`). Apache's tools print argv[0]; a Node script
 * only knows the path of the script, so a symlink named `htpasswd` on the PATH prints
 * `htpasswd:` exactly as Apache's does.
 *
 * @example
 * ```ts
 * programName('/usr/local/bin/htpasswd', 'authts-htpasswd');            // 'htpasswd'
 * programName('/app/dist/cli/htpasswd-bin.js', 'authts-htpasswd');       // 'authts-htpasswd'
 * ```
 */
export function programName(scriptPath: string | undefined, fallback: string): string {
  if (scriptPath === undefined) return fallback;
  const name = basename(scriptPath).replace(/\.(?:[cm]?js|[cm]?ts)$/, '');
  return name === '' || name.endsWith('-bin') ? fallback : name;
}
