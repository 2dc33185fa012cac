/**
 * The part of the native `bcrypt` package (v6) that authts uses; the package ships no types.
 * Both functions run on libuv's thread pool, off the event loop.
 */
declare module 'bcrypt' {
  interface Bcrypt {
    /** Hash `data` with a new salt of `saltOrRounds` rounds (or the given salt string); gives `$2b$…`. */
    hash(data: string | Buffer, saltOrRounds: string | number): Promise<string>;
    /** True when `data` hashes to `encrypted`; false (not a rejection) for malformed hashes. */
    compare(data: string | Buffer, encrypted: string): Promise<boolean>;
  }
  const bcrypt: Bcrypt;
  export default bcrypt;
}
