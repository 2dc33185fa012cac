/**
 * APR's `apr_getopt` (apr 1.7), which Apache's `htpasswd` parses its command line with: short
 * options only, clustered (`-nbB`), an option's argument attached (`-C10`) or next (`-C 10`),
 * scanning stops at the first argument that does not start with `-`, at `-` alone (kept as an
 * argument) and after `--` — and, as a quirk, after any argument starting with `--`.
 */

/** One step of {@link AprGetopt.next}. */
export type GetoptStep =
  | { readonly kind: 'option'; readonly opt: string; readonly arg: string | undefined }
  /** One of the extra long options given to the constructor, as a whole argument. */
  | { readonly kind: 'long'; readonly name: string }
  | { readonly kind: 'end' }
  /** An unknown option or a missing argument; `message` is what APR prints to stderr. */
  | { readonly kind: 'bad'; readonly opt: string; readonly message: string };

/**
 * Walks `args` (without argv[0]) as `apr_getopt(state, optstring)` does. `name` is what APR
 * prints before its messages (the base name of argv[0]). `longOptions` are whole arguments such
 * as `--check` recognized where an option may start (APR itself would take them for `--`).
 *
 * @example
 * ```ts
 * const g = new AprGetopt(['-bC', '10', 'file', 'user'], 'cnmspdBbDi25C:r:v', 'htpasswd');
 * g.next(); // { kind: 'option', opt: 'b', arg: undefined }
 * g.next(); // { kind: 'option', opt: 'C', arg: '10' }
 * g.next(); // { kind: 'end' }; g.index === 2
 * ```
 */
export class AprGetopt {
  /** Index in `args` of the first argument not consumed. */
  index = 0;
  private place = '';

  constructor(
    private readonly args: readonly string[],
    private readonly optstring: string,
    private readonly name: string,
    private readonly longOptions: ReadonlySet<string> = new Set(),
  ) {}

  next(): GetoptStep {
    if (this.place === '') {
      const arg = this.args[this.index];
      if (arg === undefined || !arg.startsWith('-')) return { kind: 'end' };
      if (this.longOptions.has(arg)) {
        this.index++;
        return { kind: 'long', name: arg };
      }
      if (arg.length > 1 && arg[1] === '-') {
        // "--" and, in APR, anything else starting with "--": end of options.
        this.index++;
        return { kind: 'end' };
      }
      // "-" alone stays an argument: the '-' is looked up as an option below and is not one.
      this.place = arg.length > 1 ? arg.slice(1) : arg;
    }
    const opt = this.place[0] ?? '';
    this.place = this.place.slice(1);
    const at = opt === ':' ? -1 : this.optstring.indexOf(opt);
    if (at < 0) {
      if (opt === '-') {
        // Not consumed: APR returns EOF with the index still on this argument.
        this.place = '';
        return { kind: 'end' };
      }
      if (this.place === '') this.index++;
      return { kind: 'bad', opt, message: `${this.name}: illegal option -- ${opt}\n` };
    }
    if (this.optstring[at + 1] !== ':') {
      if (this.place === '') this.index++;
      return { kind: 'option', opt, arg: undefined };
    }
    let value: string;
    if (this.place !== '') {
      value = this.place;
    } else {
      this.index++;
      const next = this.args[this.index];
      if (next === undefined) {
        this.place = '';
        return { kind: 'bad', opt, message: `${this.name}: option requires an argument -- ${opt}\n` };
      }
      value = next;
    }
    this.place = '';
    this.index++;
    return { kind: 'option', opt, arg: value };
  }
}
