import { describe, expect, it } from 'vitest';
import { ConnectionCache } from '../../src/cache.js';
import { AuthTsError } from '../../src/errors.js';

/** A fake connection: the unit under test is the cache, not a protocol. */
interface FakeConnection {
  readonly id: number;
  readonly key: string;
  healthy: boolean;
  closed: boolean;
}

function fakeFactory(options: { failOpen?: (key: string) => boolean } = {}) {
  let next = 0;
  const opened: FakeConnection[] = [];
  return {
    opened,
    factory: {
      async open(key: string): Promise<FakeConnection> {
        if (options.failOpen?.(key)) throw new Error(`cannot connect to ${key}`);
        const connection = { id: next++, key, healthy: true, closed: false };
        opened.push(connection);
        return connection;
      },
      async close(connection: FakeConnection): Promise<void> {
        connection.closed = true;
      },
      isHealthy: (connection: FakeConnection) => connection.healthy,
    },
  };
}

describe('ConnectionCache', () => {
  it('reuses a returned connection for the same key, and keeps keys apart', async () => {
    const { factory, opened } = fakeFactory();
    const cache = new ConnectionCache(factory);
    const first = await cache.use('a', async (c) => c.id);
    const second = await cache.use('a', async (c) => c.id);
    const other = await cache.use('b', async (c) => c.id);
    expect([first, second, other]).toEqual([0, 0, 1]);
    expect(opened).toHaveLength(2);
    await cache.close();
    expect(opened.every((c) => c.closed)).toBe(true);
  });

  it('closes a connection whose borrower threw, and does not lend it again', async () => {
    const { factory, opened } = fakeFactory();
    const cache = new ConnectionCache(factory);
    await expect(cache.use('a', async () => Promise.reject(new Error('mid-operation failure')))).rejects.toThrow('mid-operation failure');
    expect(opened[0]!.closed).toBe(true);
    expect(await cache.use('a', async (c) => c.id)).toBe(1);
    await cache.close();
  });

  it('replaces an idle connection that fails its health check', async () => {
    const { factory, opened } = fakeFactory();
    const cache = new ConnectionCache(factory);
    await cache.use('a', async () => {});
    opened[0]!.healthy = false;
    expect(await cache.use('a', async (c) => c.id)).toBe(1);
    expect(opened[0]!.closed).toBe(true);
    await cache.close();
  });

  it('closes connections idle past the TTL (clock frozen and moved by hand)', async () => {
    let now = 1_000;
    const { factory, opened } = fakeFactory();
    const cache = new ConnectionCache(factory, { idleTtlMs: 500, now: () => now });
    await cache.use('a', async () => {});
    now += 500;
    expect(await cache.use('a', async (c) => c.id)).toBe(0);
    now += 501;
    cache.sweep();
    expect(opened[0]!.closed).toBe(true);
    expect(await cache.use('a', async (c) => c.id)).toBe(1);
    await cache.close();
  });

  it('with idleTtlMs 0 never keeps a connection; with -1 keeps it forever', async () => {
    let now = 0;
    const never = fakeFactory();
    const neverCache = new ConnectionCache(never.factory, { idleTtlMs: 0 });
    await neverCache.use('a', async () => {});
    expect(never.opened[0]!.closed).toBe(true);
    const forever = fakeFactory();
    const foreverCache = new ConnectionCache(forever.factory, { idleTtlMs: -1, now: () => now });
    await foreverCache.use('a', async () => {});
    now = Number.MAX_SAFE_INTEGER;
    expect(await foreverCache.use('a', async (c) => c.id)).toBe(0);
    await Promise.all([neverCache.close(), foreverCache.close()]);
  });

  it('never opens more than maxPerKey; waiters get freed connections in order', async () => {
    const { factory, opened } = fakeFactory();
    const cache = new ConnectionCache(factory, { maxPerKey: 2 });
    const a = await cache.acquire('k');
    const b = await cache.acquire('k');
    const order: number[] = [];
    const third = cache.acquire('k').then((lease) => {
      order.push(3);
      return lease;
    });
    const fourth = cache.acquire('k').then((lease) => {
      order.push(4);
      return lease;
    });
    expect(cache.stats('k')).toEqual({ busy: 2, idle: 0, waiting: 2 });
    a.release();
    const leaseThree = await third;
    expect(leaseThree.connection.id).toBe(a.connection.id);
    await b.destroy();
    const leaseFour = await fourth;
    expect(order).toEqual([3, 4]);
    expect(opened).toHaveLength(3);
    leaseThree.release();
    leaseFour.release();
    await cache.close();
  });

  it('bounds the wait: no free connection in time is a PROVIDER_UNAVAILABLE error', async () => {
    const { factory } = fakeFactory();
    const cache = new ConnectionCache(factory, { maxPerKey: 1, acquireTimeoutMs: 20 });
    const held = await cache.acquire('k');
    const error = await cache.acquire('k').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthTsError);
    expect((error as AuthTsError).code).toBe('PROVIDER_UNAVAILABLE');
    expect(cache.stats('k').waiting).toBe(0);
    held.release();
    await cache.close();
  });

  it('a failed open frees its slot and wakes a waiter', async () => {
    let fail = true;
    const { factory } = fakeFactory({ failOpen: () => fail });
    const cache = new ConnectionCache(factory, { maxPerKey: 1 });
    await expect(cache.acquire('k')).rejects.toThrow('cannot connect to k');
    fail = false;
    const lease = await cache.acquire('k');
    expect(lease.connection.key).toBe('k');
    lease.release();
    await cache.close();
  });

  it('after close, waiters fail, idle connections are closed, and a returned lease is closed too', async () => {
    const { factory, opened } = fakeFactory();
    const cache = new ConnectionCache(factory, { maxPerKey: 1 });
    const lease = await cache.acquire('k');
    const waiting = cache.acquire('k');
    await cache.close();
    await expect(waiting).rejects.toThrow('the connection cache is closed');
    lease.release();
    expect(opened[0]!.closed).toBe(true);
    await expect(cache.acquire('k')).rejects.toThrow('the connection cache is closed');
  });

  it('releasing or destroying a lease twice is harmless', async () => {
    const { factory } = fakeFactory();
    const cache = new ConnectionCache(factory);
    const lease = await cache.acquire('k');
    lease.release();
    lease.release();
    await lease.destroy();
    expect(cache.stats('k')).toEqual({ busy: 0, idle: 1, waiting: 0 });
    await cache.close();
  });

  it('checks its options eagerly', () => {
    const { factory } = fakeFactory();
    expect(() => new ConnectionCache(factory, { maxPerKey: 0 })).toThrow(TypeError);
    expect(() => new ConnectionCache(factory, { idleTtlMs: -2 })).toThrow(TypeError);
    expect(() => new ConnectionCache({} as never)).toThrow('ConnectionCache: factory needs open() and close()');
  });
});
