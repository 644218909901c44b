//! Binary candidate index over the 64-bit frame hashes themselves (multi-index hashing).
//!
//! Each indexed frame hash is split into four 16-bit chunks; chunk `c` of every frame goes into
//! table `c`, a bucket per chunk value (CSR: bucket starts plus frame ids). Two hashes within `d`
//! bits agree on at least one chunk within `d / 4` bits (pigeonhole), so probing each chunk's value
//! and its neighbours within `radius` bits finds every indexed frame within `4 * radius + 3` bits
//! of a query frame, and many farther ones. A hit (train frame i, bench frame j) votes for the
//! alignment (bench video, offset i - j); alignments with enough votes are verified frame by frame
//! by `matching::verify_offset`, the same rule as the exact path.
//!
//! Windows are never stored: the 20-frame windows at stride 1 share 19 of their frames, so indexing
//! frames (4 x u32 per frame and column) replaces indexing windows. Memory is 16 bytes per indexed
//! frame and column, plus 1 MiB of bucket starts per column.

use crate::matching::{exact_scan, verify_candidates, MatchParams, Segment, Sequence, Variant};

const CHUNKS: usize = 4;
const CHUNK_BITS: u32 = 16;
const BUCKETS: usize = 1 << CHUNK_BITS;

fn chunk(h: u64, c: usize) -> usize {
    ((h >> (CHUNK_BITS as usize * c)) & (BUCKETS as u64 - 1)) as usize
}

/// How the index turns a training video into candidate alignments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbeParams {
    /// Chunk values within this many bits of the query's are probed (0: the chunk itself; 1: also
    /// its 16 one-bit neighbours, which guarantees every frame within 7 bits is found; 2: 137
    /// values per chunk, 11 bits guaranteed).
    pub radius: u32,
    /// A hit votes only when the whole hashes are within this many bits (the rule's frame distance).
    pub max_distance: u32,
    /// An alignment becomes a candidate with this many votes (distinct training frames).
    pub min_votes: u32,
    /// Verify every alignment of each benchmark video that got a candidate (true), or only the
    /// candidate offsets and `slack` frames either side.
    pub whole_videos: bool,
    pub slack: u32,
    /// Buckets holding more frames than this (or than 64 times the table's average bucket, when
    /// that is more: a bigger index has bigger buckets) are skipped: one picture repeated across
    /// thousands of benchmark frames (a title card, a test pattern) says nothing about which video
    /// is copied, and the other chunks still probe.
    pub max_bucket: u32,
}

impl ProbeParams {
    pub const DEFAULT: ProbeParams = ProbeParams { radius: 1, max_distance: 20, min_votes: 2, whole_videos: false, slack: 1, max_bucket: 4096 };
}

/// Frames of one or more hash columns (e.g. whole-frame and center-crop hashes of the benchmark
/// videos), concatenated video after video.
pub struct HashIndex {
    /// Per column and chunk (`column * CHUNKS + chunk`): `BUCKETS + 1` bucket starts into `ids`.
    starts: Vec<Vec<u32>>,
    /// Per column and chunk: indexed frames (positions in the concatenation), grouped by bucket.
    ids: Vec<Vec<u32>>,
    /// Per column and chunk: the indexed frames' hashes, parallel to `ids`, so checking a hit's
    /// whole distance reads memory in order instead of jumping around the column.
    keys: Vec<Vec<u64>>,
    /// First frame of each video in the concatenation (`videos + 1` entries).
    video_starts: Vec<u32>,
    /// The video of each frame (a lookup per hit, instead of a binary search).
    frame_video: Vec<u32>,
    frames: u32,
    columns: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub struct IndexError(pub String);

impl HashIndex {
    /// Index `columns` (each one hash per frame, videos back to back with `lengths`). Frames whose
    /// `informative` flag is 0 are left out (an empty slice: every frame is indexed).
    pub fn build(columns: &[&[u64]], informative: &[u8], lengths: &[u32]) -> Result<HashIndex, IndexError> {
        let total: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
        if columns.is_empty() {
            return Err(IndexError("at least one hash column is needed".into()));
        }
        if columns.iter().any(|c| c.len() as u64 != total) {
            return Err(IndexError(format!("every column must hold {total} hashes (the sum of the lengths)")));
        }
        if !informative.is_empty() && informative.len() as u64 != total {
            return Err(IndexError("informative flags must be empty or one per frame".into()));
        }
        if total >= u64::from(u32::MAX) {
            return Err(IndexError(format!("{total} frames do not fit 32-bit frame ids")));
        }
        let frames = total as u32;
        let keep = |f: usize| informative.is_empty() || informative[f] != 0;
        let mut video_starts = Vec::with_capacity(lengths.len() + 1);
        let mut frame_video = Vec::with_capacity(frames as usize);
        let mut at = 0u32;
        video_starts.push(0);
        for (v, &l) in lengths.iter().enumerate() {
            at += l;
            video_starts.push(at);
            frame_video.extend(std::iter::repeat_n(v as u32, l as usize));
        }
        let mut starts = Vec::with_capacity(CHUNKS * columns.len());
        let mut ids = Vec::with_capacity(CHUNKS * columns.len());
        let mut keys = Vec::with_capacity(CHUNKS * columns.len());
        for col in columns {
            for c in 0..CHUNKS {
                // Counting sort by chunk value: counts, prefix sums, then fill.
                let mut start = vec![0u32; BUCKETS + 1];
                for (f, &h) in col.iter().enumerate() {
                    if keep(f) {
                        start[chunk(h, c) + 1] += 1;
                    }
                }
                for b in 0..BUCKETS {
                    start[b + 1] += start[b];
                }
                let mut fill = start.clone();
                let mut list = vec![0u32; start[BUCKETS] as usize];
                let mut hashes = vec![0u64; start[BUCKETS] as usize];
                for (f, &h) in col.iter().enumerate() {
                    if keep(f) {
                        let b = chunk(h, c);
                        list[fill[b] as usize] = f as u32;
                        hashes[fill[b] as usize] = h;
                        fill[b] += 1;
                    }
                }
                starts.push(start);
                ids.push(list);
                keys.push(hashes);
            }
        }
        Ok(HashIndex { starts, ids, keys, video_starts, frame_video, frames, columns: columns.len() as u32 })
    }

    /// Indexed entries (frames x columns, uninformative frames left out).
    pub fn entries(&self) -> usize {
        self.ids.iter().step_by(CHUNKS).map(Vec::len).sum()
    }

    /// Bytes held by the index's tables.
    pub fn heap_bytes(&self) -> usize {
        let per = |v: &Vec<Vec<u32>>| v.iter().map(|x| x.capacity() * 4).sum::<usize>();
        per(&self.starts)
            + per(&self.ids)
            + self.keys.iter().map(|x| x.capacity() * 8).sum::<usize>()
            + (self.video_starts.capacity() + self.frame_video.capacity()) * 4
    }

    /// Frames per column (the sum of the lengths).
    pub fn frames(&self) -> usize {
        self.frames as usize
    }

    pub fn columns(&self) -> usize {
        self.columns as usize
    }

    pub fn videos(&self) -> usize {
        self.video_starts.len() - 1
    }

    /// Candidate alignments `(bench video, offset = train frame - bench frame)` of `train` against
    /// `column` of the index, with their votes.
    pub fn candidates(&self, train: &Sequence, column: u32, p: &ProbeParams) -> Vec<(u32, i64, u32)> {
        assert!(column < self.columns);
        let tables = column as usize * CHUNKS;
        let probes = neighbours(p.radius);
        let mut hits: Vec<u32> = Vec::new();
        // (video << 32 | offset + 2^31): one u64 per vote sorts much faster than a tuple.
        let mut votes: Vec<u64> = Vec::new();
        for (i, &q) in train.hashes.iter().enumerate() {
            if !(train.informative.is_empty() || train.informative[i] != 0) {
                continue;
            }
            hits.clear();
            for c in 0..CHUNKS {
                let (starts, ids, keys) = (&self.starts[tables + c], &self.ids[tables + c], &self.keys[tables + c]);
                let cap = (p.max_bucket as usize).max(64 * ids.len() / BUCKETS);
                let value = chunk(q, c);
                for &flip in &probes {
                    let b = value ^ flip;
                    let (s, e) = (starts[b] as usize, starts[b + 1] as usize);
                    if e - s > cap {
                        continue;
                    }
                    for (&h, &f) in keys[s..e].iter().zip(&ids[s..e]) {
                        if (h ^ q).count_ones() <= p.max_distance {
                            hits.push(f);
                        }
                    }
                }
            }
            // One vote per (train frame, bench frame), however many chunks found it.
            hits.sort_unstable();
            hits.dedup();
            for &f in &hits {
                let v = self.frame_video[f as usize];
                let offset = i as i64 - i64::from(f - self.video_starts[v as usize]);
                votes.push((u64::from(v) << 32) | (offset + (1 << 31)) as u64);
            }
        }
        votes.sort_unstable();
        let mut out = Vec::new();
        for run in votes.chunk_by(|a, b| a == b) {
            if run.len() as u32 >= p.min_votes {
                let key = run[0];
                out.push(((key >> 32) as u32, (key & 0xFFFF_FFFF) as i64 - (1 << 31), run.len() as u32));
            }
        }
        out
    }

    /// Match `train` (and its mirror, when `flips` is given) against the benchmark videos through
    /// the index: candidates from column 0 (`benches`), and from column 1 (`centers`: center-crop
    /// hashes) for cropped copies, each verified with the window rule. `always` lists benchmark
    /// videos verified at every alignment whatever the index says (videos shorter than a window).
    #[allow(clippy::too_many_arguments)]
    pub fn match_video(
        &self,
        train: &Sequence,
        flips: Option<&Sequence>,
        benches: &[Sequence],
        centers: Option<&[Sequence]>,
        always: &[u32],
        rule: &MatchParams,
        p: &ProbeParams,
    ) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut run = |seq: &Sequence, column: u32, against: &[Sequence], variant: Variant| {
            if column >= self.columns || against.len() != self.videos() {
                return;
            }
            let found = self.candidates(seq, column, p);
            // Videos verified at every alignment: the caller's, and with `whole_videos` every video
            // with a candidate; the other candidates only at their offsets +- slack.
            let mut whole: Vec<u32> = always.to_vec();
            if p.whole_videos {
                whole.extend(found.iter().map(|c| c.0));
            }
            whole.sort_unstable();
            whole.dedup();
            for &v in &whole {
                if let Some(b) = against.get(v as usize) {
                    out.extend(exact_scan(seq, std::slice::from_ref(b), rule, variant).into_iter().map(|s| Segment { bench_video: v, ..s }));
                }
            }
            let slack = i64::from(p.slack);
            let offsets: Vec<(u32, i64)> = found
                .iter()
                .filter(|c| whole.binary_search(&c.0).is_err())
                .flat_map(|&(v, o, _)| (-slack..=slack).map(move |d| (v, o + d)))
                .collect();
            out.extend(verify_candidates(seq, against, &offsets, rule, variant));
        };
        run(train, 0, benches, Variant::Direct);
        if let Some(f) = flips {
            run(f, 0, benches, Variant::Flipped);
        }
        if let Some(c) = centers {
            run(train, 1, c, Variant::Cropped);
        }
        out
    }
}

/// XOR masks of the 16-bit values within `radius` bits of a value (0 first).
fn neighbours(radius: u32) -> Vec<usize> {
    let mut out: Vec<usize> = (0..BUCKETS).filter(|m| m.count_ones() <= radius).collect();
    out.sort_by_key(|m| m.count_ones());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::MatchParams;

    fn pseudo_random(n: usize, seed: u64) -> Vec<u64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                // splitmix64: independent-looking 64-bit hashes.
                x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            })
            .collect()
    }

    /// Flip `d` bits spread over all four chunks (the worst case for the pigeonhole bound).
    fn spread(h: u64, d: u32) -> u64 {
        let mut out = h;
        for k in 0..d {
            let bit = (k % 4) * 16 + k / 4;
            out ^= 1u64 << bit;
        }
        out
    }

    fn probe(radius: u32, min_votes: u32, whole: bool) -> ProbeParams {
        ProbeParams { radius, max_distance: 30, min_votes, whole_videos: whole, slack: 0, max_bucket: u32::MAX }
    }

    #[test]
    fn radius_one_finds_every_frame_within_seven_bits_and_none_beyond_the_distance() {
        let bench = pseudo_random(5000, 1);
        let index = HashIndex::build(&[&bench], &[], &[5000]).unwrap();
        let p = ProbeParams { max_distance: 7, min_votes: 1, ..probe(1, 1, true) };
        for (j, &h) in bench.iter().enumerate().step_by(97) {
            for d in 0..=7 {
                let q = [spread(h, d)];
                let found = index.candidates(&Sequence::new(&q, &[]), 0, &p);
                assert!(found.iter().any(|&(v, o, _)| v == 0 && o == -(j as i64)), "frame {j} at {d} bits not found");
                // Every hit is a real one: within max_distance of the query.
                for &(_, o, _) in &found {
                    assert!((bench[(-o) as usize] ^ q[0]).count_ones() <= 7);
                }
            }
        }
        // 12 bits spread evenly leave 3 bits in every chunk: beyond radius 1, not found.
        let q = [spread(bench[10], 12)];
        let p12 = ProbeParams { max_distance: 12, ..p };
        assert!(!index.candidates(&Sequence::new(&q, &[]), 0, &p12).iter().any(|&(_, o, _)| o == -10));
        // ... but radius 3 finds it.
        let p3 = ProbeParams { radius: 3, ..p12 };
        assert!(index.candidates(&Sequence::new(&q, &[]), 0, &p3).iter().any(|&(_, o, _)| o == -10));
    }

    #[test]
    fn votes_count_distinct_train_frames_at_one_alignment() {
        let a = pseudo_random(30, 2);
        let b = pseudo_random(40, 3);
        let bench: Vec<u64> = [a.clone(), b.clone()].concat();
        let index = HashIndex::build(&[&bench], &[], &[30, 40]).unwrap();
        // Train: 5 unrelated frames, then frames 10..35 of video 1 with 3 bits flipped.
        let mut train = pseudo_random(5, 4);
        train.extend(b[10..35].iter().map(|&h| spread(h, 3)));
        let found = index.candidates(&Sequence::new(&train, &[]), 0, &probe(1, 2, true));
        // Offset = train frame - bench frame = 5 - 10.
        assert!(found.contains(&(1, -5, 25)), "{found:?}");
        assert!(found.iter().all(|&(v, o, _)| v == 1 && o == -5), "chance hits voted twice: {found:?}");
    }

    #[test]
    fn uninformative_frames_are_neither_indexed_nor_queried() {
        let bench = pseudo_random(50, 5);
        let mut info = vec![1u8; 50];
        info[7] = 0;
        let index = HashIndex::build(&[&bench], &info, &[50]).unwrap();
        assert_eq!(index.entries(), 49);
        let p = probe(0, 1, true);
        assert!(index.candidates(&Sequence::new(&[bench[7]], &[]), 0, &p).is_empty());
        assert_eq!(index.candidates(&Sequence::new(&[bench[8]], &[]), 0, &p), vec![(0, -8, 1)]);
        assert!(index.candidates(&Sequence::new(&[bench[8]], &[0]), 0, &p).is_empty());
    }

    #[test]
    fn oversized_buckets_are_skipped() {
        // 100 copies of one picture: every chunk's bucket holds 100 frames.
        let bench = vec![0x1234_5678_9abc_def0u64; 100];
        let index = HashIndex::build(&[&bench], &[], &[100]).unwrap();
        let q = [bench[0]];
        let small = ProbeParams { max_bucket: 99, ..probe(0, 1, true) };
        assert!(index.candidates(&Sequence::new(&q, &[]), 0, &small).is_empty());
        let large = ProbeParams { max_bucket: 100, ..small };
        assert_eq!(index.candidates(&Sequence::new(&q, &[]), 0, &large).len(), 100);
    }

    #[test]
    fn the_bucket_cap_grows_with_the_index() {
        // 70 copies of one picture among 2^16 * 2 random frames: the average bucket holds ~2 frames,
        // so a cap of 64 x 2 = 128 keeps the 70-frame bucket although max_bucket says 50.
        let mut bench = pseudo_random(1 << 17, 13);
        let picture = 0x0f0f_1234_5678_9abcu64;
        bench[..70].fill(picture);
        let n = bench.len() as u32;
        let index = HashIndex::build(&[&bench], &[], &[n]).unwrap();
        let p = ProbeParams { max_bucket: 50, max_distance: 0, ..probe(0, 1, true) };
        assert_eq!(index.candidates(&Sequence::new(&[picture], &[]), 0, &p).len(), 70);
    }

    #[test]
    fn rejects_columns_that_disagree_with_the_lengths() {
        let h = pseudo_random(10, 6);
        assert!(HashIndex::build(&[&h], &[], &[9]).is_err());
        assert!(HashIndex::build(&[&h, &h[..9]], &[], &[10]).is_err());
        assert!(HashIndex::build(&[&h], &[1, 1], &[10]).is_err());
        assert!(HashIndex::build(&[], &[], &[10]).is_err());
    }

    /// A copy with per-frame noise, mirrored train side and a cropped one: the index path finds the
    /// same segments as the exact path.
    #[test]
    fn match_video_agrees_with_the_exact_scan_on_copies() {
        let lengths = [60u32, 80, 45];
        let bench: Vec<u64> = pseudo_random(185, 7);
        let center: Vec<u64> = pseudo_random(185, 8);
        let slices = |col: &[u64]| -> Vec<Vec<u64>> {
            let mut at = 0;
            lengths
                .iter()
                .map(|&l| {
                    let s = col[at..at + l as usize].to_vec();
                    at += l as usize;
                    s
                })
                .collect()
        };
        let (b, c) = (slices(&bench), slices(&center));
        let benches: Vec<Sequence> = b.iter().map(|h| Sequence::new(h, &[])).collect();
        let centers: Vec<Sequence> = c.iter().map(|h| Sequence::new(h, &[])).collect();
        let index = HashIndex::build(&[&bench, &center], &[], &lengths).unwrap();
        // The paper's 30 bits make chance matches between random hashes common (a third of random
        // pairs are within 30 bits); 20 bits keeps this test about copies.
        let rule = MatchParams { max_distance: 20, ..MatchParams::PAPER };
        // Train: noise, 30 frames of bench video 1 (frames 20..50) at 0-9 bits, noise, 25 frames of
        // video 2's center hashes (a cropped copy).
        let mut train = pseudo_random(10, 9);
        train.extend(b[1][20..50].iter().enumerate().map(|(k, &h)| spread(h, (k % 10) as u32)));
        train.extend(pseudo_random(15, 10));
        train.extend(c[2][5..30].iter().map(|&h| spread(h, 2)));
        let flips = pseudo_random(train.len(), 11);
        let seq = Sequence::new(&train, &[]);
        let fseq = Sequence::new(&flips, &[]);
        for whole in [true, false] {
            let p = ProbeParams { max_distance: 20, ..probe(1, 2, whole) };
            let got = index.match_video(&seq, Some(&fseq), &benches, Some(&centers), &[], &rule, &p);
            let mut exact = exact_scan(&seq, &benches, &rule, Variant::Direct);
            exact.extend(exact_scan(&seq, &centers, &rule, Variant::Cropped));
            let sel = crate::matching::select_segments(got);
            let ex = crate::matching::select_segments(exact);
            assert!(!ex.is_empty());
            assert_eq!(sel, ex, "whole_videos = {whole}");
            assert!(sel.iter().any(|s| s.bench_video == 1 && s.offset == 10 - 20 && s.variant == Variant::Direct));
            assert!(sel.iter().any(|s| s.bench_video == 2 && s.offset == 55 - 5 && s.variant == Variant::Cropped));
        }
    }

    #[test]
    fn always_listed_videos_are_verified_without_a_hit() {
        let bench = pseudo_random(30, 12);
        let index = HashIndex::build(&[&bench], &[], &[30]).unwrap();
        // Copy at 9-10 bits everywhere spread over all chunks: no chunk within radius 1, no hit...
        let train: Vec<u64> = bench.iter().map(|&h| spread(h, 10)).collect();
        let seq = Sequence::new(&train, &[]);
        let benches = [Sequence::new(&bench, &[])];
        let p = probe(1, 1, true);
        assert!(index.candidates(&seq, 0, &p).is_empty());
        let rule = MatchParams::PAPER;
        assert!(index.match_video(&seq, None, &benches, None, &[], &rule, &p).is_empty());
        // ... unless the caller asks for the video to be verified anyway.
        let got = index.match_video(&seq, None, &benches, None, &[0], &rule, &p);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].offset, 0);
    }
}
