/**
 * The frame indices of `--count N` over a video of T frames: LMMs-Eval's rule,
 * `np.linspace(0, T - 1, N, dtype=int)`, reproduced as numpy computes it, in float64:
 *
 *   step = (T - 1) / (N - 1)            (one rounded division)
 *   y[i] = i * step + 0                 (one rounded product; i is exact in float64)
 *   y[N - 1] = T - 1                    (numpy sets the endpoint exactly when N > 1)
 *   index[i] = floor(y[i])              (older numpy truncated instead: the same for y >= 0)
 *
 * N = 1 gives [0] (numpy: no step, y = [0 * (T - 1)]).
 *
 * This is not the exact `floor(i * (T - 1) / (N - 1))`: where i * (T - 1) is a multiple of
 * N - 1, the rounded product can land just below that integer and numpy takes the frame before
 * (N = 50, T = 120: 21 * 119 / 49 = 51, but 21 * (119 / 49) = 50.99999999999999, frame 50).
 * A model evaluated with LMMs-Eval saw numpy's frames, so those are the ones we return.
 * JavaScript numbers are IEEE float64 with the same round-to-nearest, so the same two operations
 * give the same bits. test/unit/linspace.test.ts checks every N <= 256 and T <= 100000 against
 * numpy's own output (fixtures/linspace/).
 */
export function uniformFrameIndices(total: number, count: number): number[] {
  if (!Number.isSafeInteger(total) || !Number.isSafeInteger(count) || count < 1 || count > total) {
    throw new RangeError(`uniformFrameIndices: need integers 1 <= count <= total, got count ${count}, total ${total}`);
  }
  if (count === 1) return [0];
  const stop = total - 1;
  const last = count - 1;
  const step = stop / last;
  const out = new Array<number>(count);
  for (let i = 0; i < last; i++) out[i] = Math.floor(i * step);
  out[last] = stop;
  return out;
}
