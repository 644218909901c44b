//! An approximate prefilter for very large benchmark sides: which benchmark videos can hold a
//! matching window of a training video, found by bit-sampling tables instead of comparing every
//! training frame with every benchmark sample. The videos it names are then searched by the frame
//! scan (`FrameScan::candidates_in` and the same verification), so every segment it reports is one
//! the exact path reports; it can only miss a video the scan would have found.
//!
//! Tables: two disjoint chunks of `k` bits of the hash (bits `0..k` and `k..2k`), one table per
//! chunk over every benchmark column, listing the columns' informative samples by their chunk
//! value (a counting sort: `2^k + 1` starts, 2.1 B each in cache lines of offsets (`Starts`), and
//! per sample its column and position in as few bits as they need). A training frame probes every
//! chunk value within `RADIUS` bits of its own (`1 + k + k(k-1)/2` probes per chunk), so a pair of
//! frames is found when one of the two chunks differs in at most `RADIUS` bits.
//!
//! **The bound, per frame pair** at Hamming distance `d`. By pigeonhole a pair at `d <= 2 RADIUS +
//! 1` (5 bits) differs in at most `RADIUS` bits in one chunk: always found. For larger `d`, with the
//! `d` differing bits at uniformly random positions (a model, not a guarantee: `pair_catch`), it is
//! found with probability `1 - P(both chunks hold > RADIUS of them)`, a multivariate
//! hypergeometric sum: at `k = 24`, 0.95 at 6 bits, 0.67 at 8, 0.37 at 10, 0.18 at 12, 0.011 at 18.
//!
//! **Per window.** A benchmark video becomes a candidate when, on one band of diagonals (the
//! diagonals a window of `rule.window` frames can cross at any speed of the rule), `MIN_FRAMES`
//! distinct training frames within one window length are found, one of them within
//! `CORE_DISTANCE` bits (with `MIN_FRAMES` 1: one found pair within `CORE_DISTANCE`). A matching window holds at least
//! `needed(w)` (14 of 20) pairs within `max_distance`; if `n` of them are at most `d <=
//! CORE_DISTANCE` bits apart (so any found one is a core pair) and their bit positions are
//! independent, it is missed with probability at most `P(Binomial(n, pair_catch(d)) < MIN_FRAMES)`
//! (`window_miss_bound`; ignoring the benchmark's other phases, which only add chances): 14 pairs
//! at 8 bits 2e-7, at 10 bits 1.5e-3. A band without a core pair also names its video when its
//! found frames (within `VOTE_DISTANCE`) show `WEAK_FRAMES` distinct pictures within one window
//! length: copies under overlays whose every pair sits at 11-16 bits (each found with probability
//! 0.26-0.03), while a chance coincidence of two still shots shows one picture. True copies sit
//! mostly far below the 20-bit threshold; windows made only of pairs near 20 bits (chance
//! coincidences of unrelated still shots, in synthetic data) are mostly missed. That is why it is
//! approximate, measured against the exact path (`bench/frame-scan.mjs --prefilter on`), and only
//! chosen for large benchmark sides.

use super::columns::Columns;
use crate::matching::{MatchParams, Sequence, SPEED_UNIT};

/// Chunks of the hash indexed (disjoint, `k` bits each).
pub const CHUNKS: usize = 2;
/// Bits a probed chunk may differ in.
pub const RADIUS: u32 = 2;
/// Distinct training frames a band must collect within one window length. 1: one found core pair
/// (`CORE_DISTANCE`) names its video. More name fewer videos, but every video they name is named
/// with 1 too, so 1 has the better bound for a few more scans (example `prefilter_speed`; figures in
/// bench/README.md, "Matching at 10M").
pub const MIN_FRAMES: u32 = 1;
/// A band without a core pair still names its video when it holds this many distinct pictures:
/// found training frames within one window length, each more than `DISTINCT_BITS` from the
/// previous one counted. Copies under overlays or boxes can sit at 12-18 bits on every frame and
/// variant, so they have no core pair; a chance coincidence of two still shots, the reason for the
/// core, gives its votes from one picture repeated. Either 2 or 3 names copies the core pair alone
/// misses; 2 also names many more videos per query, 3 barely more. On the evaluation set the prefilter then reports exactly what the exact path does (example
/// `prefilter_speed`; figures in bench/README.md, "Matching at 10M").
pub const WEAK_FRAMES: u32 = 3;
/// Training frames count as distinct pictures when this many bits apart (the default rule's
/// `distinct_bits`).
pub const DISTINCT_BITS: u32 = 10;
/// A probed sample counts only when its whole hash is this close (at most the rule's
/// `max_distance`): a chunk alone matches by chance too often (and between still shots, for
/// seconds on end), and true copies sit mostly far below the rule's threshold.
pub const VOTE_DISTANCE: u32 = 16;
/// A band counts only with at least one found pair this close (a strong core): still shots that
/// happen to be 13-16 bits apart give many votes for seconds on end, but none this close.
pub const CORE_DISTANCE: u32 = 10;
/// Chunk width bounds: `k` follows the column's size (about one sample per chunk value).
const MIN_BITS: u32 = 12;
pub const MAX_BITS: u32 = 24;
/// Column positions per entry of the position -> sequence table.
const BLOCK: usize = 256;

/// One chunk's table over every benchmark column: samples grouped by chunk value, each entry
/// `column * frames + position` in as few bits as the largest needs (`Packed`). One table for all
/// columns keeps one array of `2^k + 1` starts per chunk instead of one per chunk and column (at
/// 10M benchmark seconds, 27 B a second less), and lets a training frame that is compared with two
/// columns (direct and center crop) probe once.
struct Table {
    starts: Starts,
    entries: Packed,
}

/// Where each chunk value's entries start: `2^k + 1` counts that would take 4 B each (at k = 24,
/// 134 MB for the two tables, 134 B per benchmark second at 1M). Stored instead as cache lines of
/// one `u32` start and the next `LINE` starts as `u16` offsets from it (2.1 B a value, and a probe
/// still reads one line); plain `u32` when some line's values hold 65,536 entries or more (a
/// benchmark side full of one still picture).
enum Starts {
    Lines(Vec<Line>),
    Plain(Vec<u32>),
}

/// Values per line: a 4-byte start and 30 2-byte offsets fill 64 bytes.
const LINE: usize = 30;

#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line {
    base: u32,
    offsets: [u16; LINE],
}

impl Starts {
    /// From plain starts (`values + 1` of them, ascending).
    fn compact(plain: Vec<u32>) -> Starts {
        let values = plain.len() - 1;
        let mut lines = Vec::with_capacity(values.div_ceil(LINE) + 1);
        for first in (0..=values).step_by(LINE) {
            let base = plain[first];
            let mut offsets = [0u16; LINE];
            for (o, &start) in offsets.iter_mut().zip(&plain[first..]) {
                match u16::try_from(start - base) {
                    Ok(x) => *o = x,
                    Err(_) => return Starts::Plain(plain),
                }
            }
            lines.push(Line { base, offsets });
        }
        Starts::Lines(lines)
    }

    /// Value `q`'s entries: `from..to`.
    fn bounds(&self, q: usize) -> (u32, u32) {
        match self {
            Starts::Lines(lines) => {
                let start = |q: usize| {
                    let line = &lines[q / LINE];
                    line.base + u32::from(line.offsets[q % LINE])
                };
                (start(q), start(q + 1))
            }
            Starts::Plain(plain) => (plain[q], plain[q + 1]),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Starts::Lines(lines) => lines.capacity() * std::mem::size_of::<Line>(),
            Starts::Plain(plain) => plain.capacity() * 4,
        }
    }
}

/// Unsigned integers of `width` bits, packed (at 10M benchmark seconds and 3 columns, 27 bits an
/// entry instead of 32).
struct Packed {
    width: u32,
    words: Vec<u64>,
}

impl Packed {
    fn new(len: usize, max: u64) -> Packed {
        let width = (u64::BITS - max.leading_zeros()).max(1);
        // One spare word: `get` reads two words at the last entry.
        Packed { width, words: vec![0; (len * width as usize).div_ceil(64) + 1] }
    }

    fn set(&mut self, i: usize, v: u64) {
        let bit = i * self.width as usize;
        let (w, off) = (bit / 64, (bit % 64) as u32);
        self.words[w] |= v << off;
        if off + self.width > 64 {
            self.words[w + 1] |= v >> (64 - off);
        }
    }

    fn get(&self, i: usize) -> u64 {
        let bit = i * self.width as usize;
        let (w, off) = (bit / 64, (bit % 64) as u32);
        // Both words at once, without a branch on whether the value crosses into the second.
        let pair = u128::from(self.words[w]) | u128::from(self.words[w + 1]) << 64;
        (pair >> off) as u64 & ((1u64 << self.width) - 1)
    }
}

pub(super) struct BitIndex {
    bits: u32,
    /// Every chunk mask of weight at most `RADIUS` (the probes).
    probes: Vec<u32>,
    /// One per chunk, over every column.
    tables: Vec<Table>,
    /// Per block of `BLOCK` column positions: the first sequence that reaches into it.
    block_seq: Vec<u32>,
    /// Per sequence: its benchmark video (group).
    seq_group: Vec<u32>,
}

/// Chunk width for a column of `n` samples: about one sample per value, within the bounds.
pub fn bits_for(n: usize) -> u32 {
    let log = usize::BITS - n.max(1).leading_zeros(); // ceil-ish log2
    (log + 3).clamp(MIN_BITS, MAX_BITS)
}

fn chunk(h: u64, c: usize, bits: u32) -> u32 {
    ((h >> (c as u32 * bits)) & ((1u64 << bits) - 1)) as u32
}

impl BitIndex {
    /// None when the columns hold more samples than a table's `u32` starts can count (over 1G
    /// benchmark seconds; the scan then searches everything).
    pub(super) fn build(columns: &Columns, bits: u32) -> Option<BitIndex> {
        let n = columns.frames();
        if columns.count() * n >= u32::MAX as usize {
            return None;
        }
        let mut probes = vec![0u32];
        for a in 0..bits {
            probes.push(1 << a);
        }
        if RADIUS >= 2 {
            for a in 0..bits {
                for b in a + 1..bits {
                    probes.push((1 << a) | (1 << b));
                }
            }
        }
        let tables: Vec<Table> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..CHUNKS).map(|c| s.spawn(move || Self::table(columns, c, bits))).collect();
            handles.into_iter().map(|h| h.join().expect("index build thread panicked")).collect()
        });
        let mut block_seq = Vec::with_capacity(n / BLOCK + 1);
        let mut v = 0usize;
        for b in 0..n.div_ceil(BLOCK) {
            while columns.offset_of(v + 1) <= b * BLOCK {
                v += 1;
            }
            block_seq.push(v as u32);
        }
        let mut seq_group = vec![0u32; columns.videos()];
        for g in 0..columns.group_count() {
            seq_group[columns.group(g)].fill(g as u32);
        }
        Some(BitIndex { bits, probes, tables, block_seq, seq_group })
    }

    /// Chunk `c`'s table: a counting sort of every column's informative samples by chunk value,
    /// column after column within a value.
    fn table(columns: &Columns, c: usize, bits: u32) -> Table {
        let n = columns.frames();
        // Each column's informative samples: (position, hash).
        let samples = |col: usize| {
            let flags = columns.flags(col);
            columns.column(col).iter().copied().enumerate().filter(move |&(i, _)| flags.is_empty() || flags[i] != 0)
        };
        let mut starts = vec![0u32; (1usize << bits) + 1];
        for col in 0..columns.count() {
            for (_, h) in samples(col) {
                starts[chunk(h, c, bits) as usize + 1] += 1;
            }
        }
        for j in 1..starts.len() {
            starts[j] += starts[j - 1];
        }
        let mut fill = starts.clone();
        let mut entries = Packed::new(starts[starts.len() - 1] as usize, (columns.count() * n) as u64);
        for col in 0..columns.count() {
            for (i, h) in samples(col) {
                let slot = &mut fill[chunk(h, c, bits) as usize];
                entries.set(*slot as usize, (col * n + i) as u64);
                *slot += 1;
            }
        }
        Table { starts: Starts::compact(starts), entries }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.tables.iter().map(|t| t.starts.heap_bytes() + t.entries.words.capacity() * 8).sum::<usize>()
            + (self.block_seq.capacity() + self.seq_group.capacity() + self.probes.capacity()) * 4
    }

    pub(super) fn bits(&self) -> u32 {
        self.bits
    }

    /// The sequence holding column position `c`.
    fn sequence_at(&self, columns: &Columns, c: usize) -> usize {
        let mut v = self.block_seq[c / BLOCK] as usize;
        while columns.offset_of(v + 1) <= c {
            v += 1;
        }
        v
    }

    /// The benchmark videos (groups, ascending) that may hold a matching window of each query:
    /// `(sequence, column)` per variant, all of one training video of `train_len` frames (each
    /// sequence with its informative flags). None when the training video or the benchmark side is
    /// outside the vote keys' range (the caller then scans everything).
    pub(super) fn candidate_groups(&self, columns: &Columns, queries: &[(&Sequence, usize)], rule: &MatchParams) -> Option<Vec<Vec<u32>>> {
        let train_len = queries.first().map_or(0, |q| q.0.len());
        let groups = columns.group_count();
        let max_phases = (0..groups).map(|g| columns.group(g).len()).max().unwrap_or(1) as i64;
        let max_fine = (0..groups).map(|g| columns.samples(g)).max().unwrap_or(0) as i64;
        let band = band_width(rule, max_phases);
        let shift = max_phases * train_len as i64;
        if train_len >= 1 << 20 || groups >= 1 << 23 || (max_fine + shift) / band >= 1 << 18 || queries.len() > 4 {
            return None;
        }
        // A training video so short that its window needs fewer close frames than the prefilter
        // asks for: scan everything.
        if rule.window_for(train_len, usize::MAX).is_some_and(|w| rule.needed(w) < MIN_FRAMES) {
            return None;
        }
        let vote_distance = VOTE_DISTANCE.min(rule.max_distance);
        let core_distance = CORE_DISTANCE.min(vote_distance);
        let n = columns.frames();
        // Where the 2nd, 3rd, ... column's entries start (a comparison per column, not a division).
        let column_starts: Vec<usize> = (1..columns.count()).map(|c| c * n).collect();
        let mut keys: Vec<u64> = Vec::new();
        let (mut bounds, mut found): (Vec<(u32, u32)>, Vec<u64>) = (Vec::new(), Vec::new());
        // Queries of one sequence (the training video compared directly and with the center
        // crop) share their probes: `tags[column]` is the query of that column, if any.
        for (first, &(seq, _)) in queries.iter().enumerate() {
            if queries[..first].iter().any(|q| std::ptr::eq(q.0, seq)) {
                continue;
            }
            let mut tags = vec![None; columns.count()];
            for (tag, q) in queries.iter().enumerate().filter(|(_, q)| std::ptr::eq(q.0, seq)) {
                tags[q.1] = Some(tag as u64);
            }
            let past_last_column = ((tags.iter().rposition(Option::is_some).unwrap_or(0) + 1) * n) as u64;
            for (c, table) in self.tables.iter().enumerate() {
                for (i, &h) in seq.hashes.iter().enumerate() {
                    if !seq.informative.is_empty() && seq.informative[i] == 0 {
                        continue;
                    }
                    // Three passes, each over reads that do not depend on one another, so the
                    // processor keeps many of them in flight: the probed buckets' bounds, then
                    // their entries, then the entries' hashes. Done one probe after another, each
                    // probe waited for its three reads in turn (random reads over hundreds of MB).
                    let key = chunk(h, c, self.bits);
                    bounds.clear();
                    bounds.extend(self.probes.iter().map(|&p| table.starts.bounds((key ^ p) as usize)));
                    found.clear();
                    for &(from, to) in &bounds {
                        // A bucket lists its columns in order: past the last one asked for, stop.
                        found.extend((from as usize..to as usize).map(|e| table.entries.get(e)).take_while(|&at| at < past_last_column));
                    }
                    for &at in &found {
                        let at = at as usize;
                        let col = column_starts.iter().filter(|&&start| at >= start).count();
                        let Some(tag) = tags[col] else { continue };
                        let at = at - col * n;
                        let distance = (columns.column(col)[at] ^ h).count_ones();
                        if distance > vote_distance {
                            continue;
                        }
                        let v = self.sequence_at(columns, at);
                        let g = self.seq_group[v] as usize;
                        let seqs = columns.group(g);
                        let phases = seqs.len() as i64;
                        let k = (at - columns.offset_of(v)) as i64 * phases + (v - seqs.start) as i64;
                        let d = k - phases * i as i64 + shift;
                        let strong = u64::from(distance <= core_distance);
                        keys.push((tag << 62) | ((g as u64) << 39) | (((d / band) as u64) << 21) | (i as u64) << 1 | strong);
                    }
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let w = rule.window.max(1);
        let mut out: Vec<Vec<u32>> = vec![Vec::new(); queries.len()];
        let (mut prev, mut cur): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
        let mut prev_strong = false;
        let mut merged: Vec<u32> = Vec::new();
        let mut prev_cell = u64::MAX;
        let mut j = 0;
        while j < keys.len() {
            let cell = keys[j] >> 21;
            cur.clear();
            let mut cur_strong = false;
            while j < keys.len() && keys[j] >> 21 == cell {
                let i = ((keys[j] >> 1) & ((1 << 20) - 1)) as u32;
                cur_strong |= keys[j] & 1 == 1;
                if cur.last() != Some(&i) {
                    cur.push(i);
                }
                j += 1;
            }
            let (tag, g) = ((cell >> 41) as usize, ((cell >> 18) & ((1 << 23) - 1)) as u32);
            let hashes = queries[tag].0.hashes;
            let mut hit = named(&cur, cur_strong, w, hashes);
            if !hit && prev_cell != u64::MAX && cell == prev_cell + 1 {
                merged.clear();
                merged.extend_from_slice(&prev);
                merged.extend_from_slice(&cur);
                merged.sort_unstable();
                merged.dedup();
                hit = named(&merged, cur_strong || prev_strong, w, hashes);
            }
            if hit && out[tag].last() != Some(&g) {
                out[tag].push(g);
            }
            std::mem::swap(&mut prev, &mut cur);
            prev_strong = cur_strong;
            prev_cell = cell;
        }
        // Benchmark videos so short that a window on them needs fewer close frames than the
        // prefilter asks for are always searched.
        for g in 0..groups {
            let len = columns.length(columns.group(g).start) as usize;
            if len < w as usize && rule.window_for(train_len, len).is_some_and(|w| rule.needed(w) < MIN_FRAMES) {
                for list in &mut out {
                    list.push(g as u32);
                }
            }
        }
        for list in &mut out {
            list.sort_unstable();
            list.dedup();
        }
        Some(out)
    }
}

/// Width of a diagonal band (in benchmark samples): a window of `rule.window` frames at any speed
/// of the rule spans at most this many diagonals, so it lies within two neighbouring bands.
pub fn band_width(rule: &MatchParams, phases: i64) -> i64 {
    let max_dev = rule.speeds().iter().map(|&sp| (i64::from(sp) - i64::from(SPEED_UNIT)).abs()).max().unwrap_or(0);
    (phases * max_dev * (i64::from(rule.window.max(1)) - 1) / i64::from(SPEED_UNIT) + 3).max(4)
}

/// Whether a band's found training frames (ascending, distinct) name its video: `MIN_FRAMES` of
/// them within one window length with a core pair among the band's pairs, or `WEAK_FRAMES`
/// distinct pictures without one (`hashes`: the query's).
fn named(frames: &[u32], strong: bool, w: u32, hashes: &[u64]) -> bool {
    (strong && dense(frames, w, MIN_FRAMES)) || distinct_pictures(frames, w, hashes) >= WEAK_FRAMES
}

/// The most distinct pictures among these ascending training frames within one window length:
/// frames counted from each start, each more than `DISTINCT_BITS` from the previous one counted (a
/// still shot repeated is one picture).
fn distinct_pictures(frames: &[u32], w: u32, hashes: &[u64]) -> u32 {
    let mut best = 0;
    for (s, &first) in frames.iter().enumerate() {
        let (mut last, mut count) = (hashes[first as usize], 1);
        for &f in frames[s + 1..].iter().take_while(|&&f| f - first < w) {
            let h = hashes[f as usize];
            if (h ^ last).count_ones() > DISTINCT_BITS {
                count += 1;
                last = h;
            }
        }
        best = best.max(count);
    }
    best
}

/// Whether `m` of these distinct ascending training frames lie within `w` frames.
fn dense(frames: &[u32], w: u32, m: u32) -> bool {
    let m = m as usize;
    m > 0 && frames.len() >= m && frames.windows(m).any(|f| f[m - 1] - f[0] < w)
}

/// Probability that a pair of hashes `d` bits apart, its differing bits at uniformly random
/// positions, is found by probing chunks of `bits` bits within `RADIUS` (1 for `d <= 2 RADIUS + 1`
/// when `CHUNKS` is 2: pigeonhole).
pub fn pair_catch(d: u32, bits: u32) -> f64 {
    // P(chunk 0 holds x of the d bits, chunk 1 holds y), over C(64, d) placements.
    let rest = 64 - CHUNKS as u32 * bits;
    let total = binom(64, d);
    let mut miss = 0.0;
    for x in RADIUS + 1..=d.min(bits) {
        for y in RADIUS + 1..=(d - x).min(bits) {
            if d - x - y <= rest {
                miss += binom(bits, x) * binom(bits, y) * binom(rest, d - x - y);
            }
        }
    }
    1.0 - miss / total
}

/// Upper bound on the probability that a window with `n` close pairs, each at most `d` bits apart
/// (independent bit positions), gives fewer than `MIN_FRAMES` found pairs.
pub fn window_miss_bound(n: u32, d: u32, bits: u32) -> f64 {
    let p = (0..=d).map(|e| pair_catch(e, bits)).fold(1.0, f64::min);
    (0..MIN_FRAMES.min(n + 1)).map(|j| binom(n, j) * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32)).sum()
}

fn binom(n: u32, k: u32) -> f64 {
    if k > n {
        return 0.0;
    }
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}

#[cfg(test)]
mod tests {
    use super::{Packed, Starts, LINE};

    /// Values of every width read back as written, across word boundaries, with neighbours intact.
    #[test]
    fn packed_entries_round_trip() {
        for max in [0u64, 1, 5, (1 << 27) - 1, 1 << 27, u32::MAX as u64] {
            let len = 1000;
            let mut p = Packed::new(len, max);
            let value = |i: usize| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % (max + 1);
            for i in 0..len {
                p.set(i, value(i));
            }
            for i in 0..len {
                assert_eq!(p.get(i), value(i), "max {max}, entry {i}");
            }
            assert_eq!(p.width, (u64::BITS - max.leading_zeros()).max(1));
        }
    }

    /// Compact starts give every value's bounds as the plain ones do, at line edges too, and fall
    /// back to plain starts when one line's values hold more than a `u16` offset can say.
    #[test]
    fn compact_starts_give_the_plain_bounds() {
        let counts_of = |values: usize, count: &dyn Fn(usize) -> u32| {
            let mut plain = vec![0u32; values + 1];
            for q in 0..values {
                plain[q + 1] = plain[q] + count(q);
            }
            plain
        };
        let sparse = counts_of(1000, &|q| (q as u32).wrapping_mul(2_654_435_761) >> 30);
        // One line whose values hold exactly 65,535 entries (fits), and one past it (does not).
        let full = counts_of(LINE * 3 + 7, &|q| if q == LINE { 65_535 } else { 0 });
        let over = counts_of(LINE * 3 + 7, &|q| if q == LINE || q == LINE + 1 { 40_000 } else { 1 });
        for (plain, lines) in [(sparse, true), (full, true), (over, false)] {
            let starts = Starts::compact(plain.clone());
            assert_eq!(matches!(starts, Starts::Lines(_)), lines);
            for q in 0..plain.len() - 1 {
                assert_eq!(starts.bounds(q), (plain[q], plain[q + 1]), "value {q}");
            }
        }
    }
}
