/** Run `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * At most `size` holders at once, served in arrival order except that `first` waiters go before
 * the others: a scan decodes benchmark videos before training videos, yet a lane with no
 * benchmark video left to start takes a training video instead of waiting.
 */
export class Slots {
  private used = 0;
  private readonly first: Array<() => void> = [];
  private readonly rest: Array<() => void> = [];

  constructor(private readonly size: number) {}

  /** Waits for a slot; returns its release (call it once). */
  async acquire(first = false): Promise<() => void> {
    if (this.used < this.size) this.used++;
    else await new Promise<void>((resolve) => (first ? this.first : this.rest).push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.first.shift() ?? this.rest.shift();
      if (next !== undefined) next();
      else this.used--;
    };
  }
}
