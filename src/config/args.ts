import type { DirectiveContext, DirectiveContextKind, DirectiveSpec } from '../module.js';

/**
 * Parses a keyword argument case-insensitively, as httpd's flag and enum directives do; any
 * other value is a load error listing the choices. Returns the choice as spelled in `choices`.
 */
export function parseChoice<const C extends string>(ctx: DirectiveContext, value: string, choices: readonly C[]): C {
  const found = choices.find((c) => c.toLowerCase() === value.toLowerCase());
  if (found === undefined) {
    return ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name} must be one of: ${choices.join(', ')} (got "${value}")`);
  }
  return found;
}

/** `On` → true, `Off` → false, anything else a load error (httpd's FLAG directives). */
export function parseOnOff(ctx: DirectiveContext, value: string): boolean {
  return parseChoice(ctx, value, ['On', 'Off']) === 'On';
}

/**
 * A directive taking one `On|Off` argument (case-insensitive, as httpd's `FLAG` directives);
 * `set` stores the answer in the module's settings.
 *
 * @example
 * ```ts
 * onOffDirective('AuthBasicAuthoritative', 'section', (ctx, on) => {
 *   ctx.dir(authBasic).authoritative = on;
 * });
 * ```
 */
export function onOffDirective(
  name: string,
  context: DirectiveContextKind,
  set: (ctx: DirectiveContext, on: boolean) => void,
): DirectiveSpec {
  return {
    name,
    context,
    minArgs: 1,
    maxArgs: 1,
    syntax: `${name} On|Off`,
    apply(ctx, [value]) {
      set(ctx, parseOnOff(ctx, value ?? ''));
    },
  };
}
