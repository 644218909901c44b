import type { VideoItem } from './inputs.js';
import type { BenchMatcher } from './matcher.js';
import { mapLimit, type Slots } from '../util/pool.js';
import { fingerprintOne, type FingerprintSource, type SideVideo } from './sides.js';
import { emptyTally, evidenceOf, scanErrorOf, toMatch, type Match, type ScanError, type Tally } from './report.js';

/**
 * Stage 2 of a scan: every training video against the benchmark side. Training fingerprints are
 * made (or read) and matched one video at a time, `concurrency` at once, and not kept: memory stays
 * bounded by the benchmark side whatever the corpus size. Decoding takes a slot of `slots` (shared
 * with the benchmark side, which goes first), so training videos are decoded while the last
 * benchmark videos are, and wait for `ready` (the benchmark side's matcher) only to be matched.
 */
export interface MatchedSide {
  matches: Match[];
  errors: ScanError[];
  tally: Tally;
}

export async function matchTrainSide(
  ready: Promise<{ matcher: BenchMatcher; bench: { videos: SideVideo[] } }>,
  items: VideoItem[],
  source: FingerprintSource,
  options: { concurrency: number; slots?: Slots; onProgress?: (done: number, total: number, tally: Tally) => void },
): Promise<MatchedSide> {
  const matches: Match[] = [];
  const errors: ScanError[] = [];
  const tally = emptyTally();
  let done = 0;
  options.onProgress?.(0, items.length, tally);
  await mapLimit(items, options.concurrency, async (item) => {
    // Training videos are matched at 1 fps (the benchmark side holds the sub-second phases).
    const release = await options.slots?.acquire();
    let fp;
    try {
      fp = await fingerprintOne(source, 'train', item, 1, tally, errors);
    } finally {
      release?.();
    }
    const { matcher, bench } = await ready;
    try {
      if (fp === undefined || bench.videos.length === 0) return;
      for (const s of await matcher.match(fp)) {
        const b = bench.videos[s.benchVideo]!;
        matches.push({ ...toMatch(item, b.item, s, fp.regions), evidence: evidenceOf(fp, b.fp, s, matcher.preset) });
      }
    } catch (err) {
      errors.push(scanErrorOf('train', item, err));
    } finally {
      options.onProgress?.(++done, items.length, tally);
    }
  });
  return { matches, errors, tally };
}
