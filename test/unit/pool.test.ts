import { describe, expect, it } from 'vitest';
import { mapLimit, Slots } from '../../src/util/pool.js';

describe('mapLimit', () => {
  it('keeps the input order and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (ms, i) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return i * 10;
    });
    expect(out).toEqual([0, 10, 20, 30, 40]);
    expect(most).toBe(2);
  });
});

describe('Slots', () => {
  it('holds at most its size, and serves first-class waiters before the others', async () => {
    const slots = new Slots(2);
    const a = await slots.acquire();
    const b = await slots.acquire(true);
    const order: string[] = [];
    const waiting = [
      slots.acquire().then((r) => (order.push('train 1'), r)),
      slots.acquire().then((r) => (order.push('train 2'), r)),
      slots.acquire(true).then((r) => (order.push('bench'), r)),
    ];
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([]);
    a();
    a(); // a second release of the same slot frees nothing more
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(['bench']);
    b();
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(['bench', 'train 1']);
    (await waiting[2]!)();
    (await waiting[1]!)();
    (await waiting[0]!)();
    expect(order).toEqual(['bench', 'train 1', 'train 2']);
    // All released: two can be held again at once.
    const c = await slots.acquire();
    const d = await slots.acquire();
    let third = false;
    void slots.acquire().then(() => (third = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(third).toBe(false);
    c();
    d();
  });
});
