/**
 * An expression that cannot be loaded: bad syntax, an unknown or unsupported name, a regex or
 * subnet that does not compile. `reason` is the message in httpd's words where httpd has them
 * (`Variable 'FOO' does not exist`); `message` adds where in the text it was found.
 *
 * @example
 * ```ts
 * try { parseExpr("%{FOO} == 'x'"); }
 * catch (err) { if (err instanceof ExprSyntaxError) console.log(err.reason, err.position); }
 * // Variable 'FOO' does not exist 0
 * ```
 */
export class ExprSyntaxError extends Error {
  override readonly name = 'ExprSyntaxError';
  /** What is wrong, without the position. */
  readonly reason: string;
  /** 0-based offset into the expression text where the problem starts. */
  readonly position: number;

  constructor(reason: string, position: number) {
    super(`${reason} (at character ${position + 1})`);
    this.reason = reason;
    this.position = position;
  }
}
