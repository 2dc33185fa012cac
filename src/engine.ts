import type { Config, DirConfig } from './config/config.js';
import type { Logger } from './log.js';
import { runPhases, type Verdict } from './phases.js';
import { createAuthRequest, type RequestInfo } from './request-state.js';

/**
 * Answers requests under one loaded configuration: matches the sections, builds the
 * {@link AuthRequest} and runs the phases. Whatever goes wrong inside becomes a 500 verdict:
 * a failure never grants.
 */
export class AuthEngine {
  readonly config: Config;
  readonly #log: Logger;

  constructor(config: Config, log: Logger) {
    this.config = config;
    this.#log = log;
  }

  async check(info: RequestInfo): Promise<Verdict> {
    return (await this.decide(info)).verdict;
  }

  /**
   * As {@link check}, also returning the merged settings the request was decided under
   * (`undefined` only when matching the sections itself failed), for what `authts serve` does
   * next (DirectoryIndex, SetHandler).
   */
  async decide(info: RequestInfo): Promise<{ verdict: Verdict; dir: DirConfig | undefined }> {
    let dir: DirConfig | undefined;
    try {
      dir = this.config.resolve({ path: info.path, filename: info.filename, isDirectory: info.isDirectory });
      const req = createAuthRequest(this.config, dir, info, this.#log);
      return { verdict: await runPhases(req, this.config.registry), dir };
    } catch (err) {
      this.#log.error({ err, path: info.path }, 'request could not be checked');
      const verdict = { allowed: false, status: 500, headers: new Map(), user: undefined, authType: undefined, env: new Map() };
      return { verdict, dir };
    }
  }
}
