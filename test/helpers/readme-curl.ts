/**
 * The curl lines of a README, as requests and expected answers: what the conf-examples, the API
 * examples and the passport example tests send. A README line reads
 *
 *     curl -i -u alice:secret http://127.0.0.1:8081/private/   # 200, body: hello alice
 *
 * The comment starts with the expected status; `WWW-Authenticate: …` (the exact challenge) or
 * `no WWW-Authenticate` may follow; what else it says is for the test to read from `comment`.
 */

/** One curl line of a README. */
export interface CurlCase {
  readonly line: string;
  readonly method: string;
  /** The request target to send: path and query, as curl would send them. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly status: number;
  /** A string: the exact header; null: must be absent; undefined: not checked. */
  readonly challenge: string | null | undefined;
  /** The expectation after `# `, for test-specific checks (`body: …`, `app: …`, `Location: …`). */
  readonly comment: string;
}

/** Splits a shell command line into words: 'single' and "double" quotes, no expansions. */
function shellWords(text: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of text.matchAll(re)) words.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!);
  return words;
}

/**
 * The curl lines of the ```sh blocks of `readme` (`\` continuations joined); with `info`, of the
 * ```sh <info> blocks instead (forward-auth-nginx's ```sh nginx lines go to nginx, not authts).
 * `NAME=value` lines set variables that later lines use as `$NAME` (conf-examples/jwt's tokens).
 * Understands `-i -s -I -X -u -H --path-as-is` and an `http://` URL; anything else throws, so a
 * README line the test cannot check fails instead of being skipped.
 *
 * @example
 * ```ts
 * for (const c of curlCases(readFileSync('conf-examples/basic-file/README.md', 'utf8'))) {
 *   // send c.method c.path with c.headers, expect c.status
 * }
 * ```
 */
export function curlCases(readme: string, info?: string): CurlCase[] {
  const cases: CurlCase[] = [];
  const fence = info === undefined ? /```sh\n([\s\S]*?)```/g : new RegExp(`\`\`\`sh ${info}\n([\\s\\S]*?)\`\`\``, 'g');
  for (const block of readme.matchAll(fence)) {
    const joined = block[1]!.replace(/\\\n\s*/g, '');
    const variables = new Map<string, string>();
    for (const rawLine of joined.split('\n')) {
      const assignment = /^([A-Z][A-Z0-9_]*)=(\S+)$/.exec(rawLine.trim());
      if (assignment) {
        variables.set(assignment[1]!, assignment[2]!);
        continue;
      }
      const line = rawLine.trim().replace(/\$([A-Z][A-Z0-9_]*)/g, (text, name: string) => variables.get(name) ?? text);
      if (!line.startsWith('curl ')) continue;
      const hash = line.indexOf(' # ');
      if (hash < 0) throw new Error(`README curl line without an expected status: ${line}`);
      const command = shellWords(line.slice(0, hash));
      const comment = line.slice(hash + 3);
      const status = /^(\d{3})\b/.exec(comment);
      if (!status) throw new Error(`README curl line without an expected status: ${line}`);
      let method = 'GET';
      let url: string | undefined;
      let pathAsIs = false;
      const headers: Record<string, string> = {};
      for (let i = 1; i < command.length; i++) {
        const word = command[i]!;
        if (word === '-i' || word === '-s') continue;
        if (word === '-I') method = 'HEAD';
        else if (word === '--path-as-is') pathAsIs = true;
        else if (word === '-X') method = command[++i]!;
        else if (word === '-u') headers['authorization'] = `Basic ${Buffer.from(command[++i]!, 'utf8').toString('base64')}`;
        else if (word === '-H') {
          const header = command[++i]!;
          const colon = header.indexOf(':');
          headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
        } else if (word.startsWith('http://')) url = word;
        else throw new Error(`curl option the test does not understand: ${word} in ${line}`);
      }
      if (url === undefined) throw new Error(`README curl line without a URL: ${line}`);
      const challenge = /WWW-Authenticate: (.*)$/.exec(comment);
      cases.push({
        line,
        method,
        // --path-as-is: the path exactly as written (new URL() would resolve "..", as curl does).
        path: pathAsIs ? url.replace(/^http:\/\/[^/]+/, '') : new URL(url).pathname + new URL(url).search,
        headers,
        status: Number(status[1]),
        challenge: /no WWW-Authenticate/.test(comment) ? null : challenge ? challenge[1]!.trim() : undefined,
        comment,
      });
    }
  }
  return cases;
}
