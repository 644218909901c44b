import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { uniformFrameIndices } from '../../src/frames/linspace.js';

// fixtures/linspace/numpy-differences.json, made by fixtures/linspace/make-table.py from numpy
// itself: every (N, T, i), N <= 256, N <= T <= 100000, where np.linspace(0, T - 1, N, dtype=int)[i]
// is not the exact floor(i * (T - 1) / (N - 1)); numpy's value there is that floor minus one.
// Everywhere else numpy's index is the exact floor. So the checks below hold uniformFrameIndices to
// numpy's output at every one of those (N, T, i).

interface Table {
  numpy: string;
  maxN: number;
  maxT: number;
  total: number;
  counts: Record<string, number>;
  differences: Record<string, string>;
}

const table = JSON.parse(
  readFileSync(path.join(import.meta.dirname, '../../fixtures/linspace/numpy-differences.json'), 'utf8'),
) as Table;

/** The table's entries for one N: parallel arrays, sorted by T then i. */
interface Entries {
  t: Int32Array;
  i: Int32Array;
}

function decode(n: number): Entries {
  const blob = table.differences[String(n)];
  if (blob === undefined) return { t: new Int32Array(0), i: new Int32Array(0) };
  const text = inflateSync(Buffer.from(blob, 'base64')).toString('latin1');
  const ts: number[] = [];
  const is: number[] = [];
  let t = 0;
  for (const group of text.split(';')) {
    const [dt, positions] = group.split(':');
    t += Number(dt);
    for (const i of positions!.split(',')) {
      ts.push(t);
      is.push(Number(i));
    }
  }
  return { t: Int32Array.from(ts), i: Int32Array.from(is) };
}

interface Outcome {
  /** Elements checked. */
  checked: number;
  /** Table entries met (ours equals numpy's listed value). */
  met: number;
  /** The first few disagreements, readable. */
  wrong: string[];
  wrongCount: number;
}

/**
 * Every T in n..maxT: uniformFrameIndices(T, n) has n elements, equals the exact floor where the
 * table lists nothing and the floor minus one where it lists (n, T, i). Entries are walked in
 * order alongside (T, i), so an entry never met (or out of range) is left over at the end.
 */
function checkN(n: number, entries: Entries, outcome: Outcome): void {
  const { t: entryT, i: entryI } = entries;
  const wrong = (what: string): void => {
    if (outcome.wrong.length < 10) outcome.wrong.push(`N=${n} ${what}`);
    outcome.wrongCount++;
  };
  let e = 0;
  const m = n === 1 ? 1 : n - 1;
  const maxT = table.maxT;
  for (let total = n; total <= maxT; total++) {
    const got = uniformFrameIndices(total, n);
    if (got.length !== n) {
      wrong(`T=${total}: ${got.length} indices`);
      continue;
    }
    // q + r / m = i * s / m exactly, stepped from i = 0 without division: q is the exact floor.
    const s = n === 1 ? 0 : total - 1;
    const rs = s % m;
    const qs = (s - rs) / m;
    let q = 0;
    let r = 0;
    if (entryT[e] === total) {
      // The table lists this T: numpy's index is q - 1 at its entries, q elsewhere.
      for (let i = 0; i < n; i++) {
        const listed = entryT[e] === total && entryI[e] === i;
        if (listed) e++;
        const want = listed ? q - 1 : q;
        if (got[i] !== want) wrong(`T=${total} i=${i}: ${got[i]}, numpy ${want}`);
        else if (listed) outcome.met++;
        q += qs;
        r += rs;
        if (r >= m) {
          q++;
          r -= m;
        }
      }
    } else {
      // The common case, kept tight: numpy's index is the exact floor everywhere.
      for (let i = 0; i < n; i++) {
        if (got[i] !== q) wrong(`T=${total} i=${i}: ${got[i]}, numpy ${q}`);
        q += qs;
        r += rs;
        if (r >= m) {
          q++;
          r -= m;
        }
      }
    }
    outcome.checked += n;
  }
  if (e !== entryT.length) wrong(`T=${entryT[e]} i=${entryI[e]}: table entry never reached (${entryT.length - e} left)`);
}

describe('uniformFrameIndices: numpy linspace(0, T - 1, N, dtype=int)', () => {
  it('readable cases: first and last frame, N = 1, and where float64 takes the frame before', () => {
    expect(uniformFrameIndices(250, 5)).toEqual([0, 62, 124, 186, 249]);
    expect(uniformFrameIndices(7, 1)).toEqual([0]);
    expect(uniformFrameIndices(1, 1)).toEqual([0]);
    expect(uniformFrameIndices(5, 5)).toEqual([0, 1, 2, 3, 4]);
    // N = 50, T = 120: 21 * 119 / 49 = 51 exactly, but numpy's 21 * (119 / 49) is 50.99999999999999.
    const fifty = uniformFrameIndices(120, 50);
    expect(fifty[21]).toBe(50);
    expect(fifty[42]).toBe(101);
    expect(Math.floor((21 * 119) / 49)).toBe(51);
    expect(fifty.filter((v, i) => v !== Math.floor((i * 119) / 49))).toEqual([50, 101]);
    // N = 64, T = 154: 21 * 153 / 63 = 51, numpy 50; likewise i = 42 and 49.
    const sixtyFour = uniformFrameIndices(154, 64);
    expect([sixtyFour[21], sixtyFour[42], sixtyFour[49]]).toEqual([50, 101, 118]);
    expect(sixtyFour[63]).toBe(153);
  });

  it('refuses a count that is not an integer in 1..total', () => {
    expect(() => uniformFrameIndices(10, 0)).toThrow(RangeError);
    expect(() => uniformFrameIndices(10, 11)).toThrow(RangeError);
    expect(() => uniformFrameIndices(10, 2.5)).toThrow(RangeError);
  });

  it('the table covers N <= 256, T <= 100000 and its counts add up', () => {
    expect(table.maxN).toBe(256);
    expect(table.maxT).toBe(100_000);
    let total = 0;
    for (let n = 1; n <= table.maxN; n++) {
      const count = table.counts[String(n)];
      expect(count, `count for N=${n}`).toBeTypeOf('number');
      expect(decode(n).t.length, `entries for N=${n}`).toBe(count);
      total += count!;
    }
    expect(total).toBe(table.total);
    expect(table.counts['50']).toBeGreaterThan(0);
  });

  // Every N and every T, in four slices of N: 25.5M calls, 3.3e9 indices in all (hence the
  // longer timeout).
  for (const [from, to] of [[1, 128], [129, 192], [193, 230], [231, 256]] as const) {
    it(`every T <= 100000 for N = ${from}..${to}: numpy's index everywhere (numpy ${table.numpy})`, () => {
      const outcome: Outcome = { checked: 0, met: 0, wrong: [], wrongCount: 0 };
      let listed = 0;
      for (let n = from; n <= to; n++) {
        const entries = decode(n);
        listed += entries.t.length;
        checkN(n, entries, outcome);
      }
      expect(outcome.wrongCount, `wrong, the first:\n${outcome.wrong.join('\n')}`).toBe(0);
      expect(outcome.met).toBe(listed);
      let expected = 0;
      for (let n = from; n <= to; n++) expected += n * (table.maxT - n + 1);
      expect(outcome.checked).toBe(expected);
    }, 300_000);
  }
});
