/**
 * A unit-test stand-in for an authn provider: users and plain passwords in memory, plus a
 * `Require memory-group` authz provider. Real providers are tested against real files.
 */
import { AuthTsError } from '../../src/errors.js';
import type { AuthnResult, Module } from '../../src/module.js';

export interface MemoryProviderOptions {
  readonly users: Readonly<Record<string, string>>;
  readonly groups?: Readonly<Record<string, readonly string[]>>;
  /** Users whose lookup throws, as a provider that cannot answer. */
  readonly broken?: readonly string[];
}

/** A module registering authn provider `memory` and authz provider `memory-group`. */
export function memoryModule(options: MemoryProviderOptions, name = 'memory'): Module {
  return {
    name: `test_${name}`,
    authnProviders: {
      [name]: {
        async checkPassword(_req, user, password): Promise<AuthnResult> {
          if (options.broken?.includes(user)) throw new Error('memory provider is down');
          const stored = options.users[user];
          if (stored === undefined) return 'not-found';
          return stored === password ? 'granted' : 'denied';
        },
      },
    },
    authzProviders: {
      [`${name}-group`]: {
        parseRequire: (args) => args.split(/\s+/).filter(Boolean),
        checkAuthorization(req, groups: string[]) {
          if (req.user === undefined) return 'denied-no-user';
          return groups.some((g) => options.groups?.[g]?.includes(req.user!)) ? 'granted' : 'denied';
        },
      },
    },
  };
}

/** What a {@link countingModule} has seen, and a switch that makes it unable to answer. */
export interface CountingState {
  calls: number;
  broken: boolean;
}

/**
 * An authn provider `name` (module `<name>_module`) over `users` (name → plain password) that
 * counts its calls, so a test can show a cache or a ban kept it from being asked; with
 * `state.broken` it throws, as a provider that cannot answer.
 */
export function countingModule(users: Readonly<Record<string, string>>, name = 'counting'): { module: Module; state: CountingState } {
  const state: CountingState = { calls: 0, broken: false };
  const module: Module = {
    name: `${name}_module`,
    authnProviders: {
      [name]: {
        async checkPassword(_req, user, password): Promise<AuthnResult> {
          state.calls++;
          if (state.broken) throw new AuthTsError('PROVIDER_UNAVAILABLE', `${name} provider is down`);
          const stored = users[user];
          if (stored === undefined) return 'not-found';
          return stored === password ? 'granted' : 'denied';
        },
      },
    },
  };
  return { module, state };
}

/**
 * A module whose authn provider `slow` grants every password after `ms`, for tests of what
 * waits for a request in flight. `events` gets `provider answered` when it answers and
 * `released` when the configuration releases the module; `entered` resolves once a check began.
 */
export function slowProviderModule(ms: number): { module: Module; events: string[]; entered: Promise<void> } {
  const events: string[] = [];
  let enter: () => void = () => {};
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const module: Module = {
    name: 'slow_provider',
    authnProviders: {
      slow: {
        async checkPassword() {
          enter();
          await new Promise((resolve) => setTimeout(resolve, ms));
          events.push('provider answered');
          return 'granted';
        },
      },
    },
    async release() {
      events.push('released');
    },
  };
  return { module, events, entered };
}
