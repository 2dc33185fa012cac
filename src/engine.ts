import type { Config } from './config/config.js';
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
    try {
      const dir = this.config.resolve({ path: info.path, filename: info.filename, isDirectory: info.isDirectory });
      const req = createAuthRequest(this.config, dir, info, this.#log);
      return await runPhases(req, this.config.registry);
    } catch (err) {
      this.#log.error({ err, path: info.path }, 'request could not be checked');
      return { allowed: false, status: 500, headers: new Map(), user: undefined, authType: undefined, env: new Map() };
    }
  }
}
