import type { DirectiveContext } from '../module.js';

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
