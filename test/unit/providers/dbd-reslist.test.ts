/**
 * The dbd pool's reslist (apr_reslist as mod_dbd uses it) with fake connections and an injected
 * clock: DBDMin opened and refilled, DBDKeep idle kept, the rest closed after DBDExptime idle,
 * DBDMax the hard limit, and a timer that neither keeps the process alive nor outlives close().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Reslist, type ReslistLease, type ReslistOptions } from '../../../src/providers/dbd/reslist.js';

interface Fake {
  readonly id: number;
  healthy: boolean;
  closed: boolean;
}

function fakes(): { factory: ConstructorParameters<typeof Reslist<Fake>>[0]; made: Fake[]; open: () => Fake[]; failing: { on: boolean } } {
  const made: Fake[] = [];
  const failing = { on: false };
  return {
    made,
    failing,
    open: () => made.filter((f) => !f.closed),
    factory: {
      open: async () => {
        await Promise.resolve();
        if (failing.on) throw new Error('connection refused');
        const f: Fake = { id: made.length + 1, healthy: true, closed: false };
        made.push(f);
        return f;
      },
      close: async (f) => {
        f.closed = true;
      },
      isHealthy: (f) => f.healthy && !f.closed,
    },
  };
}

let clock = 1_000_000;
const lists: Reslist<Fake>[] = [];
function make(factory: ConstructorParameters<typeof Reslist<Fake>>[0], options: Partial<ReslistOptions> = {}): Reslist<Fake> {
  const list = new Reslist<Fake>(factory, {
    min: 1,
    keep: 2,
    max: 5,
    ttlMs: 10_000,
    persist: true,
    acquireTimeoutMs: 1_000,
    now: () => clock,
    // The test drives maintenance itself.
    maintainIntervalMs: 3_600_000,
    ...options,
  });
  lists.push(list);
  return list;
}
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterEach(async () => {
  for (const list of lists.splice(0)) await list.close();
});

describe('Reslist (DBDMin, DBDKeep, DBDMax, DBDExptime)', () => {
  it('fill() opens DBDMin; a burst opens up to DBDMax; idle above DBDKeep closes after DBDExptime, DBDKeep stay', async () => {
    const f = fakes();
    const list = make(f.factory, { min: 2, keep: 3, max: 6 });
    await list.fill();
    expect(f.open()).toHaveLength(2);
    const leases = await Promise.all(Array.from({ length: 6 }, () => list.acquire()));
    expect(f.open()).toHaveLength(6);
    for (const l of leases) l.release();
    expect(list.stats()).toMatchObject({ total: 6, idle: 6, lent: 0 });
    clock += 9_999;
    list.maintain();
    await settle();
    expect(f.open()).toHaveLength(6);
    clock += 1;
    list.maintain();
    await settle();
    // apr's reslist_maint: idle above DBDKeep (3) closed once idle DBDExptime; DBDKeep kept.
    expect(f.open()).toHaveLength(3);
    clock += 100_000;
    list.maintain();
    await settle();
    expect(f.open()).toHaveLength(3);
  });

  it('idle connections past DBDKeep close oldest first; younger ones stay until their own DBDExptime', async () => {
    const f = fakes();
    const list = make(f.factory, { min: 0, keep: 1, max: 4 });
    const [a, b, c] = await Promise.all([list.acquire(), list.acquire(), list.acquire()]);
    a!.release();
    clock += 5_000;
    b!.release();
    clock += 5_000;
    c!.release();
    list.maintain();
    await settle();
    // a has been idle 10 s: closed; b (5 s) and c (0 s) stay.
    expect(f.open().map((x) => x.id)).toEqual([b!.resource.id, c!.resource.id]);
    clock += 5_000;
    list.maintain();
    await settle();
    expect(f.open().map((x) => x.id)).toEqual([c!.resource.id]);
  });

  it('an idle connection idle for DBDExptime is never lent (apr_reslist_acquire): closed, a new one opened', async () => {
    const f = fakes();
    const list = make(f.factory, { min: 1, keep: 2, max: 4 });
    await list.fill();
    const first = f.open()[0]!;
    clock += 10_000;
    const lease = await list.acquire();
    expect(lease.resource).not.toBe(first);
    expect(first.closed).toBe(true);
    lease.release();
    await settle();
    expect(f.open()).toHaveLength(1);
  });

  it('the newest idle connection is lent first', async () => {
    const f = fakes();
    const list = make(f.factory, { min: 0, keep: 3, max: 3 });
    const [a, b] = await Promise.all([list.acquire(), list.acquire()]);
    a!.release();
    clock += 1;
    b!.release();
    const next = await list.acquire();
    expect(next.resource).toBe(b!.resource);
    next.release();
  });

  it('refills to DBDMin after connections die (unhealthy, destroyed), and after a failed open at the next maintenance', async () => {
    const f = fakes();
    const list = make(f.factory, { min: 2, keep: 2, max: 4 });
    await list.fill();
    expect(f.open()).toHaveLength(2);
    // The server ended one while idle.
    f.open()[0]!.healthy = false;
    list.maintain();
    await settle();
    await settle();
    expect(f.open().filter((x) => x.healthy)).toHaveLength(2);
    expect(f.made).toHaveLength(3);
    // A lent one destroyed after an error.
    const lease = await list.acquire();
    await lease.destroy();
    await settle();
    await settle();
    expect(f.open()).toHaveLength(2);
    // The database is down: the refill fails quietly, and is tried again by maintenance.
    f.failing.on = true;
    await (await list.acquire()).destroy();
    await settle();
    await settle();
    expect(f.open()).toHaveLength(1);
    f.failing.on = false;
    list.maintain();
    await settle();
    await settle();
    expect(f.open()).toHaveLength(2);
  });

  it('DBDMax is the hard limit: the next caller waits for a release, or fails after the timeout', async () => {
    const f = fakes();
    const list = make(f.factory, { min: 0, keep: 0, max: 2, acquireTimeoutMs: 50 });
    const held: ReslistLease<Fake>[] = await Promise.all([list.acquire(), list.acquire()]);
    const waiting = list.acquire();
    expect(list.stats().waiting).toBe(1);
    held[0]!.release();
    const got = await waiting;
    expect(got.resource).toBe(held[0]!.resource);
    expect(f.made).toHaveLength(2);
    await expect(list.acquire()).rejects.toThrow(/no connection free within 50 ms/);
    got.release();
    held[1]!.release();
  });

  it('DBDExptime 0: idle connections never expire, even above DBDKeep', async () => {
    const f = fakes();
    const list = make(f.factory, { min: 0, keep: 1, max: 3, ttlMs: 0 });
    const leases = await Promise.all([list.acquire(), list.acquire(), list.acquire()]);
    for (const l of leases) l.release();
    clock += 10 ** 9;
    list.maintain();
    await settle();
    expect(f.open()).toHaveLength(3);
  });

  it('DBDPersist Off: every connection closes when given back; nothing is opened ahead', async () => {
    const f = fakes();
    const list = make(f.factory, { min: 0, keep: 0, max: 2, persist: false });
    await list.fill();
    expect(f.made).toHaveLength(0);
    (await list.acquire()).release();
    await settle();
    expect(f.open()).toHaveLength(0);
  });

  it('close() closes idle connections, connections still opening, and lent ones when given back; maintenance stops', async () => {
    const f = fakes();
    const list = make(f.factory, { min: 2, keep: 2, max: 4 });
    const filling = list.fill();
    const lease = await list.acquire();
    await filling;
    await list.close();
    expect(f.open()).toEqual([lease.resource]);
    lease.release();
    await settle();
    expect(f.open()).toHaveLength(0);
    list.maintain();
    await settle();
    expect(f.made).toHaveLength(3);
    await expect(list.acquire()).rejects.toThrow(/closed/);
  });

  it('the maintenance timer is unref\'d and stopped by close() (real time)', async () => {
    const f = fakes();
    const list = new Reslist<Fake>(f.factory, { min: 1, keep: 1, max: 3, ttlMs: 40, persist: true, acquireTimeoutMs: 1_000, maintainIntervalMs: 20 });
    lists.push(list);
    const leases = await Promise.all([list.acquire(), list.acquire(), list.acquire()]);
    for (const l of leases) l.release();
    const deadline = Date.now() + 2_000;
    while (f.open().length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(f.open()).toHaveLength(1);
    // Kill the last one: the timer's maintenance refills DBDMin.
    f.open()[0]!.healthy = false;
    while (f.open().filter((x) => x.healthy).length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(f.open().filter((x) => x.healthy)).toHaveLength(1);
    await list.close();
    const made = f.made.length;
    f.made.forEach((x) => (x.healthy = false));
    await new Promise((r) => setTimeout(r, 100));
    expect(f.made).toHaveLength(made);
  });

  it('refuses limits apr would not take', () => {
    const f = fakes();
    expect(() => new Reslist(f.factory, { min: 3, keep: 2, max: 4, ttlMs: 0, persist: true, acquireTimeoutMs: 1 })).toThrow(TypeError);
    expect(() => new Reslist(f.factory, { min: 0, keep: 0, max: 0, ttlMs: 0, persist: true, acquireTimeoutMs: 1 })).toThrow(TypeError);
  });
});
