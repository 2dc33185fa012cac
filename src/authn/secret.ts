/**
 * Per-deployment secrets named in the configuration (`AuthTsCacheSecret`,
 * `AuthTsRegulationSecret`): read at load from `file:<path>` or `env:<NAME>`, never written in
 * the configuration itself, at least {@link MIN_SECRET_BYTES} bytes.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DirectiveContext } from '../module.js';

/** The shortest secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 16;

/**
 * Reads the secret `arg` names (`file:<path>`, relative to the server root, or `env:<NAME>`),
 * trimmed; a load error (`CONFIG_CACHE_SECRET`) when it cannot be read or is too short.
 *
 * @example
 * ```ts
 * apply(ctx, [arg]) { ctx.server(mod).secret = readSecretArgument(ctx, arg ?? ''); }
 * ```
 */
export function readSecretArgument(ctx: DirectiveContext, arg: string): Buffer {
  let text: string | undefined;
  if (arg.startsWith('file:')) {
    const path = resolve(ctx.serverRoot, arg.slice(5));
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? String(err);
      return ctx.error('CONFIG_CACHE_SECRET', `cannot read the secret file ${path}: ${reason}`);
    }
  } else if (arg.startsWith('env:')) {
    const name = arg.slice(4);
    text = name === '' ? undefined : process.env[name];
    if (text === undefined) return ctx.error('CONFIG_CACHE_SECRET', `the environment variable ${name || '(none)'} is not set`);
  } else {
    return ctx.error('CONFIG_CACHE_SECRET', `${ctx.name} takes file:<path> or env:<NAME>`, 'the secret itself never goes in the configuration');
  }
  const secret = Buffer.from(text.trim(), 'utf8');
  if (secret.length < MIN_SECRET_BYTES) {
    return ctx.error('CONFIG_CACHE_SECRET', `the secret is ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`, 'e.g. openssl rand -hex 32');
  }
  return secret;
}
