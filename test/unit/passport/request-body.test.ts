import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AuthTsError } from '../../../src/errors.js';
import { bodyReader, requestBodyReader } from '../../../src/request-body.js';

/** The code of the AuthTsError `promise` rejects with. */
async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthTsError);
  return (err as AuthTsError).code;
}

describe('bodyReader', () => {
  it('reads the whole body once and answers later calls from that read', async () => {
    const read = bodyReader(Readable.from([Buffer.from('user=al'), Buffer.from('ice')]));
    const first = await read(100);
    expect(first.toString()).toBe('user=alice');
    const second = await read(100);
    expect(second).toBe(first);
  });

  it('rejects with BODY_TOO_LARGE past the limit, and keeps answering so', async () => {
    const read = bodyReader(Readable.from([Buffer.alloc(40), Buffer.alloc(40)]));
    expect(await rejectionCode(read(50))).toBe('BODY_TOO_LARGE');
    expect(await rejectionCode(read(1000))).toBe('BODY_TOO_LARGE');
  });

  it('refuses a body that fit a first, larger limit but not a later, smaller one', async () => {
    const read = bodyReader(Readable.from([Buffer.alloc(10)]));
    expect((await read(10)).length).toBe(10);
    expect(await rejectionCode(read(9))).toBe('BODY_TOO_LARGE');
  });

  it('rejects with BODY_UNREADABLE when the stream fails', async () => {
    const stream = new Readable({ read() {} });
    const reading = bodyReader(stream)(100);
    stream.destroy(new Error('connection reset'));
    expect(await rejectionCode(reading)).toBe('BODY_UNREADABLE');
  });

  it('rejects with BODY_UNREADABLE when the stream was already consumed', async () => {
    const stream = Readable.from([Buffer.from('x')]);
    for await (const chunk of stream) expect(chunk).toBeDefined();
    expect(await rejectionCode(bodyReader(stream)(100))).toBe('BODY_UNREADABLE');
  });

  it('throws TypeError for a limit that is not a byte count', () => {
    const read = bodyReader(Readable.from([]));
    expect(() => read(-1)).toThrow(TypeError);
    expect(() => read(1.5)).toThrow(/limit must be a non-negative integer/);
  });
});

describe('requestBodyReader (AuthRequest.readBody)', () => {
  it('refuses a Content-Length over the limit before reading anything', async () => {
    let called = false;
    const read = requestBodyReader(
      async () => {
        called = true;
        return Buffer.alloc(0);
      },
      { 'content-length': '5000' },
    );
    expect(await rejectionCode(read(4096))).toBe('BODY_TOO_LARGE');
    expect(called).toBe(false);
  });

  it('without a reader: an empty body when none is declared, BODY_UNAVAILABLE when one is', async () => {
    expect((await requestBodyReader(undefined, {})(10)).length).toBe(0);
    expect((await requestBodyReader(undefined, { 'content-length': '0' })(10)).length).toBe(0);
    expect(await rejectionCode(requestBodyReader(undefined, { 'content-length': '3' })(10))).toBe('BODY_UNAVAILABLE');
    expect(await rejectionCode(requestBodyReader(undefined, { 'transfer-encoding': 'chunked' })(10))).toBe('BODY_UNAVAILABLE');
  });

  it('refuses a body longer than the limit even when the reader ignored it', async () => {
    const read = requestBodyReader(async () => Buffer.alloc(20), {});
    expect(await rejectionCode(read(10))).toBe('BODY_TOO_LARGE');
    expect((await read(20)).length).toBe(20);
  });

  it('rejects with TypeError for a bad limit', async () => {
    await expect(requestBodyReader(undefined, {})(Number.NaN)).rejects.toThrow(TypeError);
  });
});
