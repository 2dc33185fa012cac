// Types of bench/userfile.mjs, for test/unit/bench.test.ts (tsconfig has no allowJs).
export function fillerUser(i: number): string;
export function userFileChunks(count: number, realLine: string, chunkLines?: number): Generator<string, void, void>;
export function writeUserFile(path: string, count: number, realLine: string): Promise<void>;
