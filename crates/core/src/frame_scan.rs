//! Exhaustive candidate scan over the benchmark frame hashes, with the exact path's results.
//!
//! A window of `w` aligned frames matches when at least `needed(w)` of its frame pairs are within
//! `max_distance` bits (`MatchParams`). Of any `w` consecutive training frames `floor(w / 2)` have
//! an even index, and at most `w - needed(w)` frames of the window miss, so a matching window has
//! at least `floor(w / 2) - (w - needed(w))` close pairs on its diagonal whose training frame is
//! even: 4 for the 20-frame windows at 70%. Comparing only the even training frames with every
//! informative benchmark frame, and verifying (`matching::verify_offset`) every diagonal that
//! collects that many close pairs, therefore finds every segment the exact scan finds, with half
//! of its comparisons. Rules where that bound drops below one pair (a low `min_fraction`) compare
//! every training frame instead, and need `needed(w)` pairs.
//!
//! The comparisons are one flat XOR-popcount-compare loop over each benchmark video's hashes: with
//! AVX-512 (VPOPCNTQ) 8 comparisons per instruction, four training hashes sharing one compare
//! through their lane-wise minimum; other CPUs run the portable loop, which LLVM vectorizes with
//! AVX2 where it can (all kernels find the same pairs: tested). Large scans split the benchmark
//! videos over the cores. Memory: one copy of the benchmark's hash columns (8 bytes per frame and
//! column) and informative flags (1 byte per frame, and 1 more for the inner-half column, whose
//! flags are its own), which the loop and verification both read;
//! close pairs on uninformative frames are dropped before voting. Time: linear in both sides
//! (figures in bench/README.md, "Frame scan").

use crate::matching::{
    exact_lines, exact_scan, select_segments_by, verify_candidates, verify_line, verify_offset, InvalidInput, Line, LineGrid, MatchParams, Phased,
    Segment, Sequence, Variant, SPEED_UNIT,
};

pub mod prefilter;

/// Scans over fewer kept frames than this run on the calling thread (a thread costs more than
/// the scan); larger ones use up to `MAX_THREADS` cores.
const PARALLEL_KEYS: usize = 1 << 18;
const MAX_THREADS: usize = 8;

/// The compared training frames (hashes, frame numbers) per sampling step; index 0 unused.
type Queries = [(Vec<u64>, Vec<u32>); 3];

/// The benchmark side of a scan, owned here: one or more hash columns per frame (whole-frame
/// hashes, center-crop hashes for cropped copies, inner-half hashes for copies under overlays),
/// video after video, with each frame's informative flag (the inner-half column has its own).
/// Every way of matching a training video (the scan, the exact path, verification of hnswlib's
/// candidates) reads these sequences, so they cannot disagree about the benchmark.
pub struct FrameScan {
    /// Per column: every frame's hash, video after video: what the scan's loop reads, and what
    /// verification reads.
    columns: Vec<Vec<u64>>,
    /// Per frame: 1 when informative; empty when every frame is. The scan compares uninformative
    /// frames too (one pass over contiguous hashes) and drops their close pairs before voting.
    informative: Vec<u8>,
    /// The column of inner-half hashes (`with_inner`), when held: compared with the training
    /// video's own inner-half hashes (`Variant::Inner`).
    inner: Option<usize>,
    /// Per frame: 1 when its inner half is informative (a flat center never matches), for the
    /// inner column; empty when every frame's is.
    inner_informative: Vec<u8>,
    /// First frame of each video in `columns` (`videos + 1` entries).
    offsets: Vec<usize>,
    /// Frames of each video, kept or not (the alignments' range).
    lengths: Vec<u32>,
    /// The benchmark video each sequence belongs to (the sub-second phases of one video are
    /// sequences of their own); empty: every sequence is its own video.
    groups: Vec<u32>,
    /// First sequence of each benchmark video (`videos + 1` entries with the end): its sequences
    /// are consecutive, and they are its phases in order.
    group_starts: Vec<usize>,
    /// The comparison loop this CPU runs (detected once at build).
    kernel: Kernel,
    /// Bit-sampling tables of the approximate prefilter (`with_index`), when built.
    index: Option<prefilter::BitIndex>,
}

/// How a training video is compared with the benchmark side.
#[derive(Clone, Copy, Debug)]
pub enum Search<'a> {
    /// The frame scan: every alignment that could hold a matching window, found with half the
    /// comparisons, then verified; the exact path's result.
    Scan,
    /// Every alignment of every benchmark video, verified (the reference).
    Exact,
    /// Only these alignments `(bench video, offset)` (hnswlib's candidates, for the paper preset).
    Candidates(&'a [(u32, i64)]),
    /// Approximate: the frame scan over only the benchmark videos the prefilter's tables name
    /// (`prefilter`); its segments are the exact path's on those videos. Without tables
    /// (`with_index` not called), or outside the tables' range, the frame scan.
    Indexed,
}

/// The comparison loop: AVX-512 with VPOPCNTQ (8 hashes per instruction), AVX2 (LLVM vectorizes
/// the portable loop with byte-table popcounts), or the portable loop for any CPU. All three find
/// the same pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Avx512,
    Avx2,
    Portable,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512vpopcntdq") {
                return Kernel::Avx512;
            }
            if has!("avx2") && has!("popcnt") {
                return Kernel::Avx2;
            }
        }
        Kernel::Portable
    }

    pub fn from_name(name: &str) -> Option<Kernel> {
        [Kernel::Avx512, Kernel::Avx2, Kernel::Portable].into_iter().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "avx512",
            Kernel::Avx2 => "avx2",
            Kernel::Portable => "portable",
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn supported(self) -> bool {
        matches!((self, Kernel::detect()), (Kernel::Portable, _) | (_, Kernel::Avx512) | (Kernel::Avx2, Kernel::Avx2))
    }
}

/// How one benchmark video is searched for a given training video: which training frames are
/// compared (every `step`-th) and how many close pairs on a diagonal make it a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sampling {
    pub step: usize,
    pub votes: u32,
}

/// The sampling that cannot miss a matching window of `w` frames: every second training frame
/// when that still leaves at least one close pair per matching window, else every frame.
pub fn sampling_for(rule: &MatchParams, w: u32) -> Sampling {
    let even = votes_at(rule, w, 2, false);
    if even >= 1 {
        Sampling { step: 2, votes: even }
    } else {
        Sampling { step: 1, votes: votes_at(rule, w, 1, false) }
    }
}

/// A training video's columns checked against each other: `informative` empty or one per frame,
/// `flips` (when given) one per frame.
pub fn check_train(hashes: &[u64], flips: Option<&[u64]>, informative: &[u8]) -> Result<(), InvalidInput> {
    if !informative.is_empty() && informative.len() != hashes.len() {
        return Err(InvalidInput("train informative flags must be empty or one per frame".into()));
    }
    if flips.is_some_and(|f| f.len() != hashes.len()) {
        return Err(InvalidInput("train flip hashes must be one per frame".into()));
    }
    Ok(())
}

/// A training video's inner-half column checked against its `train_len` frames: one hash per
/// frame, `informative` empty or one per frame.
pub fn check_inner(train_len: usize, hashes: &[u64], informative: &[u8]) -> Result<(), InvalidInput> {
    if hashes.len() != train_len {
        return Err(InvalidInput("train inner-half hashes must be one per frame".into()));
    }
    check_train(hashes, None, informative)
}

impl FrameScan {
    /// Own `columns` (each one hash per frame, videos back to back with `lengths`; column 1, when
    /// given, holds the center-crop hashes). Frames whose `informative` flag is 0 never match and
    /// are left out of the scan's keys (an empty slice: every frame is informative).
    pub fn build(columns: &[&[u64]], informative: &[u8], lengths: &[u32]) -> Result<FrameScan, InvalidInput> {
        let total: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
        if columns.is_empty() || columns.len() > 2 {
            return Err(InvalidInput("one or two hash columns are needed (hashes, and center-crop hashes)".into()));
        }
        if columns.iter().any(|c| c.len() as u64 != total) {
            return Err(InvalidInput(format!(
                "bench lengths add up to {total} frames, but the hash columns hold {} (every column needs one hash per frame)",
                columns.iter().map(|c| c.len().to_string()).collect::<Vec<_>>().join(" and ")
            )));
        }
        if !informative.is_empty() && informative.len() as u64 != total {
            return Err(InvalidInput("bench informative flags must be empty or one per frame".into()));
        }
        if total >= u64::from(u32::MAX) {
            return Err(InvalidInput(format!("{total} frames do not fit 32-bit frame numbers")));
        }
        let mut offsets = Vec::with_capacity(lengths.len() + 1);
        offsets.push(0usize);
        for &len in lengths {
            offsets.push(offsets[offsets.len() - 1] + len as usize);
        }
        Ok(FrameScan {
            columns: columns.iter().map(|c| c.to_vec()).collect(),
            informative: informative.to_vec(),
            offsets,
            lengths: lengths.to_vec(),
            inner: None,
            inner_informative: Vec::new(),
            groups: Vec::new(),
            group_starts: (0..=lengths.len()).collect(),
            kernel: Kernel::detect(),
            index: None,
        })
    }

    /// Add the inner-half hashes of every frame (one per frame, as the other columns) with their
    /// own informative flags (empty: all): training videos that give theirs are also compared on
    /// the inner half of both frames (`Variant::Inner`).
    pub fn with_inner(mut self, hashes: &[u64], informative: &[u8]) -> Result<FrameScan, InvalidInput> {
        if self.inner.is_some() {
            return Err(InvalidInput("the scan already holds inner-half hashes".into()));
        }
        if hashes.len() != self.frames() {
            return Err(InvalidInput(format!("{} inner-half hashes for {} bench frames (one per frame is needed)", hashes.len(), self.frames())));
        }
        if !informative.is_empty() && informative.len() != self.frames() {
            return Err(InvalidInput("bench inner-half informative flags must be empty or one per frame".into()));
        }
        self.columns.push(hashes.to_vec());
        self.inner = Some(self.columns.len() - 1);
        self.inner_informative = informative.to_vec();
        // The prefilter's tables cover every column: rebuilt with the new one.
        Ok(match self.index_bits() {
            Some(bits) => self.with_index_bits(bits),
            None => self,
        })
    }

    /// The informative flags of `column`'s frames (empty: every frame is informative).
    fn flags(&self, column: usize) -> &[u8] {
        if self.inner == Some(column) {
            &self.inner_informative
        } else {
            &self.informative
        }
    }

    /// The column of center-crop hashes, when held (the one after the whole-frame hashes that is
    /// not the inner column).
    fn crop_column(&self) -> Option<usize> {
        (self.columns.len() > 1 && self.inner != Some(1)).then_some(1)
    }

    /// Every (training sequence, benchmark column, variant) a training video is compared on: its
    /// hashes directly, its mirror (`flips`), its hashes against the center-crop column, and its
    /// inner-half hashes (`inner`) against the inner column, each where both sides have them.
    fn variants<'s>(
        &self,
        train: &'s Sequence<'s>,
        flips: Option<&'s Sequence<'s>>,
        inner: Option<&'s Sequence<'s>>,
    ) -> Vec<(&'s Sequence<'s>, usize, Variant)> {
        let mut out = vec![(train, 0, Variant::Direct)];
        out.extend(flips.map(|f| (f, 0, Variant::Flipped)));
        out.extend(self.crop_column().map(|c| (train, c, Variant::Cropped)));
        if let (Some(seq), Some(c)) = (inner, self.inner) {
            out.push((seq, c, Variant::Inner));
        }
        out
    }

    /// Say which benchmark video each sequence belongs to (one per sequence), so that segments of
    /// several sequences of one video (its phases) are selected together. A video's sequences are
    /// consecutive and are its P phases in order: the j-th holds the samples at `m + j / P`
    /// seconds (so their lengths fall by at most one, from the first to the last); slanted
    /// alignments read them interleaved (`matching::Phased`).
    pub fn with_groups(mut self, groups: &[u32]) -> Result<FrameScan, InvalidInput> {
        if groups.len() != self.videos() {
            return Err(InvalidInput(format!("groups must name one video per sequence ({}), got {}", self.videos(), groups.len())));
        }
        let mut starts = vec![0usize];
        for v in 1..groups.len() {
            if groups[v] != groups[v - 1] {
                starts.push(v);
            }
        }
        starts.push(groups.len());
        // No benchmark video at all (an empty collection): nothing to check.
        let checked: &[usize] = if groups.is_empty() { &[] } else { &starts };
        for g in checked.windows(2) {
            let lens = &self.lengths[g[0]..g[1]];
            let consecutive = groups[g[1]..].iter().all(|&x| x != groups[g[0]]);
            if !consecutive || lens.windows(2).any(|l| l[1] > l[0]) || lens[0] > lens[lens.len() - 1] + 1 {
                return Err(InvalidInput(format!(
                    "the sequences of benchmark video {} must be consecutive and be its phases (lengths falling by at most 1), got lengths {lens:?}",
                    groups[g[0]]
                )));
            }
        }
        self.groups = groups.to_vec();
        self.group_starts = if groups.is_empty() { vec![0] } else { starts };
        // The prefilter's tables name videos: rebuilt for the new grouping.
        Ok(match self.index_bits() {
            Some(bits) => self.with_index_bits(bits),
            None => self,
        })
    }

    /// The same scan with another kernel (to compare them in tests and benchmarks); a kernel the
    /// CPU cannot run is refused.
    pub fn with_kernel(mut self, kernel: Kernel) -> Result<FrameScan, InvalidInput> {
        if !kernel.supported() {
            return Err(InvalidInput(format!("this CPU cannot run the {} kernel", kernel.name())));
        }
        self.kernel = kernel;
        Ok(self)
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The same scan with the prefilter's tables built (`Search::Indexed`; see `prefilter`).
    pub fn with_index(self) -> FrameScan {
        let bits = prefilter::bits_for(self.frames());
        self.with_index_bits(bits)
    }

    /// `with_index` with chunks of `bits` bits (12..=24) instead of the width the size gives (tests
    /// and benchmarks: the width of a 10M-second benchmark side on a small one).
    pub fn with_index_bits(mut self, bits: u32) -> FrameScan {
        self.index = None;
        self.index = prefilter::BitIndex::build(&self, bits.clamp(12, prefilter::MAX_BITS));
        self
    }

    /// Chunk width of the prefilter's tables (None: not built).
    pub fn index_bits(&self) -> Option<u32> {
        self.index.as_ref().map(|i| i.bits())
    }

    /// Bytes the prefilter's tables hold (0: not built).
    pub fn index_bytes(&self) -> usize {
        self.index.as_ref().map_or(0, |i| i.heap_bytes())
    }

    /// Entries that can match (informative frames x columns).
    pub fn entries(&self) -> usize {
        (0..self.columns.len())
            .map(|c| {
                let flags = self.flags(c);
                if flags.is_empty() {
                    self.frames()
                } else {
                    flags.iter().filter(|&&f| f != 0).count()
                }
            })
            .sum()
    }

    /// Bytes held: the benchmark's hash columns and informative flags, and the per-video tables.
    pub fn heap_bytes(&self) -> usize {
        self.columns.iter().map(|k| k.capacity() * 8).sum::<usize>()
            + self.informative.capacity()
            + self.inner_informative.capacity()
            + (self.lengths.capacity() + self.groups.capacity()) * 4
            + self.offsets.capacity() * std::mem::size_of::<usize>()
            + self.index_bytes()
    }

    pub fn columns(&self) -> usize {
        self.columns.len()
    }

    pub fn videos(&self) -> usize {
        self.lengths.len()
    }

    /// Position of sequence `v`'s first frame in the columns.
    pub fn offset_of(&self, v: usize) -> usize {
        self.offsets[v]
    }

    /// Frames per column, kept or not (the sum of the lengths).
    pub fn frames(&self) -> usize {
        self.offsets[self.videos()]
    }

    /// Benchmark video `v`'s sequence in `column`.
    fn sequence(&self, column: usize, v: usize) -> Sequence<'_> {
        let (a, b) = (self.offsets[v], self.offsets[v + 1]);
        let flags = self.flags(column);
        let info: &[u8] = if flags.is_empty() { &[] } else { &flags[a..b] };
        Sequence::new(&self.columns[column][a..b], info)
    }

    /// Every benchmark video's sequence in `column`.
    fn sequences(&self, column: usize) -> Vec<Sequence<'_>> {
        (0..self.videos()).map(|v| self.sequence(column, v)).collect()
    }

    /// Match one training video (and its mirror, when `flips` is given) against every benchmark
    /// video: whole-frame hashes directly and mirrored, against the center-crop column (when the
    /// scan holds one) for cropped copies, and its inner-half hashes (`inner`) against the inner
    /// column (when the scan holds one) for copies with overlays at the edges. Per benchmark
    /// video, the best non-overlapping segments (`matching::select_segments`). The rule and the
    /// training columns are checked first.
    pub fn match_video(
        &self,
        train: &Sequence,
        flips: Option<&Sequence>,
        inner: Option<&Sequence>,
        rule: &MatchParams,
        search: Search,
    ) -> Result<Vec<Segment>, InvalidInput> {
        rule.validate()?;
        check_train(train.hashes, flips.map(|f| f.hashes), train.informative)?;
        if let Some(i) = inner {
            check_inner(train.len(), i.hashes, i.informative)?;
        }
        Ok(select_segments_by(self.segments(train, flips, inner, rule, search), |v| self.groups.get(v as usize).copied().unwrap_or(v)))
    }

    /// The benchmark frames the best window of `segment` (one of this scan's, under `rule`)
    /// compares with its training frames `best_train_start ..`: frames of its sequence for a
    /// straight segment, samples of its video (all phases, `phases_of` per second) for a slanted one.
    pub fn window_bench(&self, segment: &Segment, rule: &MatchParams) -> Vec<u32> {
        let frames = segment.best_train_start..segment.best_train_start + segment.window_frames;
        if !segment.slanted() {
            return frames.map(|t| (i64::from(t) - segment.offset).max(0) as u32).collect();
        }
        let g = self.group_of(segment.bench_video);
        let grid = self.grid(g, rule);
        frames.map(|t| grid.sample(Line { speed: segment.speed, intercept: segment.offset }, i64::from(t)).max(0) as u32).collect()
    }

    /// Samples per second of the benchmark video that sequence `v` belongs to (its phases).
    pub fn phases_of(&self, v: u32) -> u32 {
        let g = self.group_of(v);
        (self.group_starts[g + 1] - self.group_starts[g]) as u32
    }

    /// The benchmark video (group) of sequence `v`.
    fn group_of(&self, v: u32) -> usize {
        self.group_starts.partition_point(|&s| s <= v as usize) - 1
    }

    /// Every matching segment of `match_video`, before the best ones are selected.
    pub fn segments(&self, train: &Sequence, flips: Option<&Sequence>, inner: Option<&Sequence>, rule: &MatchParams, search: Search) -> Vec<Segment> {
        let variants = self.variants(train, flips, inner);
        if let Search::Indexed = search {
            if let Some(found) = self.indexed_groups(train, flips, inner, rule) {
                let mut out = Vec::new();
                for ((seq, column, variant), groups) in variants.into_iter().zip(found) {
                    let found = self.candidates_of(seq, column as u32, rule, groups.iter().map(|&g| g as usize));
                    self.verify_found(found, seq, column, rule, variant, &mut out);
                }
                return out;
            }
            return self.segments(train, flips, inner, rule, Search::Scan);
        }
        variants.into_iter().flat_map(|(seq, column, variant)| self.compare(seq, column, rule, search, variant)).collect()
    }

    /// Benchmark videos (groups of sequences).
    fn group_count(&self) -> usize {
        self.group_starts.len() - 1
    }

    /// Benchmark video `g`'s phases in `column`.
    fn phases(&self, column: usize, g: usize) -> Vec<Sequence<'_>> {
        (self.group_starts[g]..self.group_starts[g + 1]).map(|v| self.sequence(column, v)).collect()
    }

    /// The line grid of benchmark video `g` (its phases per second) under `rule`.
    fn grid(&self, g: usize, rule: &MatchParams) -> LineGrid {
        LineGrid { phases: (self.group_starts[g + 1] - self.group_starts[g]) as u32, q: rule.speed_intercepts }
    }

    /// The benchmark videos the prefilter names for each variant (`variants`: direct, flipped
    /// when `flips`, cropped and inner when the scan holds those columns), or None (no tables, or
    /// out of their range).
    pub fn indexed_groups(&self, train: &Sequence, flips: Option<&Sequence>, inner: Option<&Sequence>, rule: &MatchParams) -> Option<Vec<Vec<u32>>> {
        let index = self.index.as_ref()?;
        let queries: Vec<(&Sequence, usize)> = self.variants(train, flips, inner).into_iter().map(|(seq, column, _)| (seq, column)).collect();
        index.candidate_groups(self, &queries, rule)
    }

    /// Verify the candidates the frame scan found for `seq` against `column`.
    fn verify_found(&self, found: Candidates, seq: &Sequence, column: usize, rule: &MatchParams, variant: Variant, out: &mut Vec<Segment>) {
        for (v, offset) in found.straight {
            verify_offset(seq, &self.sequence(column, v as usize), v, offset, rule, variant, out);
        }
        let mut at: Option<(u32, Vec<Sequence>)> = None;
        for (g, line) in found.lines {
            if at.as_ref().is_none_or(|(a, _)| *a != g) {
                at = Some((g, self.phases(column, g as usize)));
            }
            let phases = &at.as_ref().unwrap().1;
            let first = self.group_starts[g as usize] as u32;
            verify_line(seq, Phased { phases }, self.grid(g as usize, rule), first, line, rule, variant, out);
        }
    }

    /// The frame scan's candidates of `seq` against `column` in the benchmark videos `groups` only
    /// (on the calling thread).
    fn candidates_of(&self, seq: &Sequence, column: u32, rule: &MatchParams, groups: impl Iterator<Item = usize>) -> Candidates {
        let queries = self.queries(seq);
        self.candidates_in(groups, seq.len(), column as usize, &queries, rule)
    }

    /// The compared training frames for each step (index 1 and 2), hashes and frame numbers apart
    /// (the kernel reads the hashes only).
    fn queries(&self, train: &Sequence) -> Queries {
        let informative = |i: usize| train.informative.is_empty() || train.informative[i] != 0;
        let pick = |step: usize| -> (Vec<u64>, Vec<u32>) {
            (0..train.len()).step_by(step).filter(|&i| informative(i)).map(|i| (train.hashes[i], i as u32)).unzip()
        };
        [(Vec::new(), Vec::new()), pick(1), pick(2)]
    }

    /// `seq` against the benchmark's `column`, the way `search` says. Slanted alignments (a rule
    /// with speeds) are searched by the scan and the exact path; hnswlib's candidates are straight.
    fn compare(&self, seq: &Sequence, column: usize, rule: &MatchParams, search: Search, variant: Variant) -> Vec<Segment> {
        match search {
            // `segments` resolves the prefilter before comparing; here it is the frame scan.
            Search::Scan | Search::Indexed => {
                let mut out = Vec::new();
                let found = self.candidates(seq, column as u32, rule);
                self.verify_found(found, seq, column, rule, variant, &mut out);
                out
            }
            Search::Exact => {
                let mut out = exact_scan(seq, &self.sequences(column), rule, variant);
                if !rule.speeds().is_empty() {
                    for g in 0..self.group_count() {
                        let phases = self.phases(column, g);
                        exact_lines(seq, Phased { phases: &phases }, self.group_starts[g] as u32, rule, variant, &mut out);
                    }
                }
                out
            }
            Search::Candidates(c) => verify_candidates(seq, &self.sequences(column), c, rule, variant),
        }
    }

    /// Candidate alignments of `train` against `column`: every straight diagonal `(bench sequence,
    /// offset = train frame - bench frame)` and, for a rule with speeds, every slanted line
    /// `(benchmark video, line)` with enough close pairs that a window on it could match. Large
    /// scans are split over the CPU's cores by ranges of benchmark videos.
    pub fn candidates(&self, train: &Sequence, column: u32, rule: &MatchParams) -> Candidates {
        assert!((column as usize) < self.columns.len());
        let queries = self.queries(train);
        // Several scans at once (service jobs) oversubscribe the cores; measured on 2 cores, giving
        // each its share instead did not raise throughput (bench/README.md, "Frame scan").
        let parts = if self.columns[column as usize].len() < PARALLEL_KEYS {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS)
        };
        self.candidates_split(train.len(), column, &queries, rule, parts)
    }

    /// `candidates` over `parts` threads, each taking a contiguous range of benchmark videos.
    fn candidates_split(&self, train_len: usize, column: u32, queries: &Queries, rule: &MatchParams, parts: usize) -> Candidates {
        let column = column as usize;
        let keys = &self.columns[column];
        let groups = self.group_count();
        if parts <= 1 {
            return self.candidates_in(0..groups, train_len, column, queries, rule);
        }
        // Contiguous video ranges holding about the same number of keys each.
        let starts: Vec<usize> = self.group_starts.iter().map(|&v| self.offsets[v]).collect();
        let mut bounds = vec![0usize];
        for p in 1..parts {
            let target = keys.len() * p / parts;
            bounds.push(starts.partition_point(|&s| s < target).min(groups));
        }
        bounds.push(groups);
        std::thread::scope(|scope| {
            let handles: Vec<_> = bounds
                .windows(2)
                .map(|r| {
                    let range = r[0]..r[1].max(r[0]);
                    scope.spawn(move || self.candidates_in(range, train_len, column, queries, rule))
                })
                .collect();
            let mut all = Candidates::default();
            for h in handles {
                let part = h.join().expect("frame scan thread panicked");
                all.straight.extend(part.straight);
                all.lines.extend(part.lines);
            }
            all
        })
    }

    /// Candidates of the benchmark videos (groups) in `groups`.
    fn candidates_in(
        &self,
        groups: impl Iterator<Item = usize>,
        train_len: usize,
        column: usize,
        queries: &Queries,
        rule: &MatchParams,
    ) -> Candidates {
        let (keys, flags) = (&self.columns[column][..], self.flags(column));
        let speeds = rule.speeds();
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut counts: Vec<u16> = Vec::new();
        let mut touched: Vec<usize> = Vec::new();
        let mut scratch = LineScratch::default();
        // The training video by frame (its informative frames, from the every-frame queries), for
        // the odd frames of `line_votes`.
        let mut train_at = vec![None; if speeds.is_empty() { 0 } else { train_len }];
        if !speeds.is_empty() {
            for (&h, &i) in queries[1].0.iter().zip(&queries[1].1) {
                train_at[i as usize] = Some(h);
            }
        }
        // Close pairs of a video for its slanted lines: (training frame, sample of the video).
        let mut fine_pairs: Vec<(i64, i64)> = Vec::new();
        let mut out = Candidates::default();
        for g in groups {
            let (s0, s1) = (self.group_starts[g], self.group_starts[g + 1]);
            let grid = self.grid(g, rule);
            let fine_len: usize = self.lengths[s0..s1].iter().map(|&l| l as usize).sum();
            // The window of every alignment family of this video: its straight sequences', and each
            // speed's (the training frames a line spans across the video).
            let straight_w: Vec<Option<u32>> = (s0..s1).map(|v| rule.window_for(train_len, self.lengths[v] as usize)).collect();
            let line_w: Vec<Option<u32>> = speeds.iter().map(|&sp| rule.window_for(train_len, grid.frames_at(sp, fine_len))).collect();
            // One sampling for the whole video: every second training frame when that leaves a close
            // pair in every matching window of every family, else every frame.
            let step = if straight_w.iter().chain(&line_w).flatten().all(|&w| sampling_for(rule, w).step == 2) { 2 } else { 1 };
            let (q_hashes, q_frames) = &queries[step];
            let slanted = line_w.iter().any(Option::is_some);
            fine_pairs.clear();
            for (p, v) in (s0..s1).enumerate() {
                let b_len = self.lengths[v] as usize;
                let (lo, hi) = (self.offsets[v], self.offsets[v + 1]);
                pairs.clear();
                close_pairs(&keys[lo..hi], q_hashes, rule.max_distance, self.kernel, &mut pairs);
                // An uninformative benchmark frame never matches: its close pairs are no evidence.
                if !flags.is_empty() {
                    pairs.retain(|&(_, k)| flags[lo + k as usize] != 0);
                }
                if slanted {
                    fine_pairs.extend(pairs.iter().map(|&(q, k)| (i64::from(q_frames[q as usize]), k as i64 * (s1 - s0) as i64 + p as i64)));
                }
                let Some(w) = straight_w[p] else { continue };
                let votes = votes_at(rule, w, step, false);
                // Votes per diagonal, indexed by offset + b_len - 1 (offsets run from 1 - b_len to
                // train_len - 1).
                if counts.len() < train_len + b_len {
                    counts.resize(train_len + b_len, 0);
                }
                for &(q, k) in &pairs {
                    let d = q_frames[q as usize] as usize + b_len - 1 - k as usize;
                    if counts[d] == 0 {
                        touched.push(d);
                    }
                    counts[d] = counts[d].saturating_add(1);
                    if u32::from(counts[d]) == votes {
                        out.straight.push((v as u32, d as i64 - (b_len as i64 - 1)));
                    }
                }
                for d in touched.drain(..) {
                    counts[d] = 0;
                }
            }
            if slanted {
                let at = LineVotes { g, keys, flags, train: &train_at, grid, fine_len, train_len, speeds: &speeds, line_w: &line_w, step };
                self.line_votes(&at, rule, &fine_pairs, &mut scratch, &mut out.lines);
            }
        }
        out
    }

    /// Candidate slanted lines of one video from its close pairs. A pair (training frame i, sample
    /// k) lies on exactly `q` lines of each speed (`LineGrid::first_intercept`); a line is a
    /// candidate once it collects the votes a matching window on it must give.
    ///
    /// Cells: along any line of the speed range, a window of at most `W` frames stays within
    /// `B_d - 1` of a diagonal `d = k - P i` (`B_d = floor(P * max|s - 1| * (W - 1)) + 2`: the
    /// line's drift plus rounding), so all its frame pairs fall in one 2 x 2 square of cells `W`
    /// frames by `B_d` diagonals. The kernel's close pairs (every `step`-th training frame) are
    /// counted per cell; a matching window gives its square at least `votes_at(w, step)` of them
    /// (the bound of the straight diagonals), so only squares with that many can hold one. In the
    /// cells of those squares the other training frames are compared too (a few hundred
    /// comparisons per cell), and every close pair there votes; a line is a candidate with
    /// `needed(w)` votes, as many close pairs as a matching window holds. Unrelated footage that
    /// coincides for a few seconds (two still shots) crosses many lines with a handful of votes
    /// each, and none of them reaches `needed(w)`; every line holding a matching window does
    /// (test `line_votes_keep_every_window_with_enough_pairs`, and the scan equals the exact path).
    fn line_votes(&self, at: &LineVotes, rule: &MatchParams, fine_pairs: &[(i64, i64)], scratch: &mut LineScratch, out: &mut Vec<(u32, Line)>) {
        // Its comparisons (the odd frames of marked cells) are scalar popcounts: with the POPCNT
        // instruction (every CPU that runs the AVX2 or AVX-512 kernel has it) instead of the
        // baseline x86-64 bit-twiddling sequence.
        #[cfg(target_arch = "x86_64")]
        if self.kernel != Kernel::Portable {
            // SAFETY: `Kernel::detect` and `with_kernel` only pick AVX2/AVX-512 on CPUs with POPCNT.
            return unsafe { self.line_votes_popcnt(at, rule, fine_pairs, scratch, out) };
        }
        self.line_votes_any(at, rule, fine_pairs, scratch, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn line_votes_popcnt(
        &self,
        at: &LineVotes,
        rule: &MatchParams,
        fine_pairs: &[(i64, i64)],
        scratch: &mut LineScratch,
        out: &mut Vec<(u32, Line)>,
    ) {
        self.line_votes_any(at, rule, fine_pairs, scratch, out)
    }

    #[inline(always)]
    fn line_votes_any(&self, at: &LineVotes, rule: &MatchParams, fine_pairs: &[(i64, i64)], scratch: &mut LineScratch, out: &mut Vec<(u32, Line)>) {
        let LineVotes { g, keys, flags, train, grid, fine_len, train_len, speeds, line_w, step } = *at;
        let min_votes = line_w.iter().flatten().map(|&w| votes_at(rule, w, step, true)).min().unwrap_or(u32::MAX);
        if (fine_pairs.len() as u64) < u64::from(min_votes) {
            return;
        }
        let p = i64::from(grid.phases);
        // Cells: W training frames by B_d diagonals, padded by one on each side.
        let big_w = line_w.iter().flatten().max().copied().unwrap_or(1) as i64;
        let max_dev = speeds.iter().map(|&sp| (i64::from(sp) - i64::from(SPEED_UNIT)).abs()).max().unwrap_or(0);
        let b_d = p * max_dev * (big_w - 1) / i64::from(SPEED_UNIT) + 2;
        let d_shift = p * (train_len as i64 - 1); // d + d_shift >= 0
        let rows = (train_len as i64 / big_w + 3) as usize;
        let cols = ((fine_len as i64 + d_shift) / b_d + 3) as usize;
        let cell = |i: i64, k: i64| -> usize { (i / big_w + 1) as usize * cols + ((k - p * i + d_shift) / b_d + 1) as usize };
        if scratch.cells.len() < rows * cols {
            scratch.cells.resize(rows * cols, 0);
            scratch.marked.resize(rows * cols, false);
            scratch.frames.resize(rows * cols, 0);
        }
        // A line meets one sample per training frame, so the pairs a window gives its line are on
        // distinct training frames: with cells of at most 64 frames a square counts its frames with a
        // pair (bit `i % W` per cell; a still shot against a still shot is one frame's pairs, not
        // dozens), else its pairs.
        let distinct = big_w <= 64;
        for &(i, k) in fine_pairs {
            let c = cell(i, k);
            if scratch.cells[c] == 0 {
                scratch.touched.push(c);
            }
            scratch.cells[c] = scratch.cells[c].saturating_add(1);
            if distinct {
                scratch.frames[c] |= 1u64 << (i % big_w);
            }
        }
        // Mark the four cells of every square with enough pairs.
        scratch.marks.clear();
        for &c in &scratch.touched {
            for s in [c - cols - 1, c - cols, c - 1, c] {
                let (cells, f) = (&scratch.cells, &scratch.frames);
                let square = if distinct {
                    (f[s] | f[s + 1]).count_ones() + (f[s + cols] | f[s + cols + 1]).count_ones()
                } else {
                    u32::from(cells[s]) + u32::from(cells[s + 1]) + u32::from(cells[s + cols]) + u32::from(cells[s + cols + 1])
                };
                if square >= min_votes {
                    for m in [s, s + 1, s + cols, s + cols + 1] {
                        if !scratch.marked[m] {
                            scratch.marked[m] = true;
                            scratch.marks.push(m);
                        }
                    }
                }
            }
        }
        for c in scratch.touched.drain(..) {
            scratch.cells[c] = 0;
            scratch.frames[c] = 0;
        }
        scratch.voters.clear();
        if !scratch.marks.is_empty() {
            scratch.voters.extend(fine_pairs.iter().copied().filter(|&(i, k)| scratch.marked[cell(i, k)]));
            if step == 2 {
                // The odd training frames of the marked cells, against the cells' samples.
                let phase_at: Vec<usize> = (self.group_starts[g]..self.group_starts[g + 1]).map(|v| self.offsets[v]).collect();
                for &m in &scratch.marks {
                    let (row, col) = ((m / cols) as i64 - 1, (m % cols) as i64 - 1);
                    let frames = (row * big_w).max(0)..((row + 1) * big_w).min(train_len as i64);
                    for i in frames.filter(|i| i % 2 == 1) {
                        let Some(h) = train[i as usize] else { continue };
                        let ks = (col * b_d - d_shift + p * i).max(0)..((col + 1) * b_d - d_shift + p * i).min(fine_len as i64);
                        // Sample k is frame k / P of phase k % P: walked without dividing.
                        let (mut m, mut j) = ((ks.start / p) as usize, (ks.start % p) as usize);
                        for k in ks {
                            let at = phase_at[j] + m;
                            if (h ^ keys[at]).count_ones() <= rule.max_distance && (flags.is_empty() || flags[at] != 0) {
                                scratch.voters.push((i, k));
                            }
                            j += 1;
                            if j == phase_at.len() {
                                j = 0;
                                m += 1;
                            }
                        }
                    }
                }
            }
        }
        // A line meets one sample per training frame, so a line holding a matching window has close
        // pairs on `needed(w)` distinct training frames of the window's square: a voter counts only
        // when one of its squares has that many frames with a pair (a few seconds of coincidence
        // between two still shots have too few). Frames per cell as bits (cells of at most 64 frames).
        let min_needed = line_w.iter().flatten().map(|&w| votes_at(rule, w, 1, true)).min().unwrap_or(u32::MAX);
        if distinct && !scratch.voters.is_empty() {
            for &(i, k) in &scratch.voters {
                scratch.frames[cell(i, k)] |= 1u64 << (i % big_w);
            }
            let f = &scratch.frames;
            let square = |s: usize| (f[s] | f[s + 1]).count_ones() + (f[s + cols] | f[s + cols + 1]).count_ones();
            let keep: Vec<bool> = scratch
                .voters
                .iter()
                .map(|&(i, k)| {
                    let c = cell(i, k);
                    [c - cols - 1, c - cols, c - 1, c].into_iter().any(|s| square(s) >= min_needed)
                })
                .collect();
            let mut n = 0;
            scratch.voters.retain(|_| {
                n += 1;
                keep[n - 1]
            });
        }
        for m in scratch.marks.drain(..) {
            scratch.marked[m] = false;
            scratch.frames[m] = 0;
        }
        let q = i64::from(grid.q);
        for (j, &sp) in speeds.iter().enumerate() {
            let Some(w) = line_w[j] else { continue };
            // Every training frame of the marked cells votes: a matching window's close pairs.
            let votes = votes_at(rule, w, 1, true);
            if (scratch.voters.len() as u64) < u64::from(votes) {
                continue;
            }
            let range = grid.intercepts(sp, train_len, fine_len);
            let lo = *range.start();
            let size = (range.end() - lo + 1) as usize;
            if scratch.counts.len() < size {
                scratch.counts.resize(size, 0);
            }
            for &(i, k) in &scratch.voters {
                let c0 = grid.first_intercept(sp, i, k);
                let idx = (c0 - lo) as usize;
                for t in 0..q as usize {
                    let c = &mut scratch.counts[idx + t];
                    if *c == 0 {
                        scratch.touched.push(idx + t);
                    }
                    *c = c.saturating_add(1);
                    if u32::from(*c) == votes {
                        out.push((g as u32, Line { speed: sp, intercept: c0 + t as i64 }));
                    }
                }
            }
            for c in scratch.touched.drain(..) {
                scratch.counts[c] = 0;
            }
        }
    }
}

/// What `line_votes` needs to know of one benchmark video and the training video.
#[derive(Clone, Copy)]
struct LineVotes<'a> {
    g: usize,
    /// The column compared (every sequence's hashes).
    keys: &'a [u64],
    /// Its informative flags (empty: all).
    flags: &'a [u8],
    /// The training video's hash per frame (None: an uninformative frame).
    train: &'a [Option<u64>],
    grid: LineGrid,
    fine_len: usize,
    train_len: usize,
    speeds: &'a [u32],
    line_w: &'a [Option<u32>],
    step: usize,
}

/// Reused buffers of `line_votes` (zero between calls).
#[derive(Default)]
pub struct LineScratch {
    cells: Vec<u16>,
    /// Per cell, its training frames with a close pair (bit `i % W`).
    frames: Vec<u64>,
    marked: Vec<bool>,
    marks: Vec<usize>,
    counts: Vec<u16>,
    touched: Vec<usize>,
    voters: Vec<(i64, i64)>,
}

/// Candidate alignments of one training video against one column: straight `(bench sequence,
/// offset)` and slanted `(benchmark video, line)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Candidates {
    pub straight: Vec<(u32, i64)>,
    pub lines: Vec<(u32, Line)>,
}

impl Candidates {
    /// Both lists in order (to compare candidate sets).
    pub fn sorted(mut self) -> Candidates {
        self.straight.sort_unstable();
        self.lines.sort_unstable();
        self
    }

    pub fn len(&self) -> usize {
        self.straight.len() + self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Close pairs on one alignment that every matching window of `w` frames gives, when every
/// `step`-th training frame is compared: `needed(w)` with every frame, and with every second frame
/// at least `floor(w / 2) - (w - needed(w))` (see `sampling_for`).
///
/// With several window rules (a short-excerpt window besides the main one, on straight
/// alignments: `slanted` false), the fewest of them: every window that matches under any rule of
/// the alignment gives at least that many. The sampling (`sampling_for`) takes the straight
/// alignments' votes, which are never more than the slanted ones'.
pub fn votes_at(rule: &MatchParams, w: u32, step: usize, slanted: bool) -> u32 {
    rule.window_bounds(w, slanted).map(|(len, core)| if step == 2 { (len / 2).saturating_sub(len - core) } else { core }).min().unwrap_or(0)
}

/// Every pair (query index, key index) whose hashes are within `max_distance` bits.
fn close_pairs(keys: &[u64], queries: &[u64], max_distance: u32, kernel: Kernel, out: &mut Vec<(u32, u32)>) {
    match kernel {
        // SAFETY: `Kernel::detect` / `with_kernel` only choose kernels the CPU reports.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { close_pairs_avx512(keys, queries, max_distance, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { close_pairs_avx2(keys, queries, max_distance, out) },
        _ => close_pairs_portable(keys, queries, max_distance, out),
    }
}

/// Eight queries against one key at a time, into a bit mask first: a loop without a branch per
/// pair, which LLVM vectorizes when the CPU has vector popcounts (AVX2 byte tables).
#[inline(always)]
fn close_pairs_portable(keys: &[u64], queries: &[u64], max_distance: u32, out: &mut Vec<(u32, u32)>) {
    let (full, rest) = queries.split_at(queries.len() - queries.len() % 8);
    for (k, &key) in keys.iter().enumerate() {
        for (g, group) in full.chunks_exact(8).enumerate() {
            let mut close = 0u32;
            for (lane, &query) in group.iter().enumerate() {
                close |= u32::from((key ^ query).count_ones() <= max_distance) << lane;
            }
            while close != 0 {
                out.push(((g * 8) as u32 + close.trailing_zeros(), k as u32));
                close &= close - 1;
            }
        }
        for (q, &query) in rest.iter().enumerate() {
            if (key ^ query).count_ones() <= max_distance {
                out.push(((full.len() + q) as u32, k as u32));
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn close_pairs_avx2(keys: &[u64], queries: &[u64], max_distance: u32, out: &mut Vec<(u32, u32)>) {
    close_pairs_portable(keys, queries, max_distance, out);
}

/// `close_pairs` 16 keys at a time: XOR with a broadcast query, VPOPCNTQ, and for four queries
/// at once the lane-wise minimum distance, so one compare per four queries finds the blocks that
/// hold a close pair (a few percent); only those compare query by query. The same pairs as the
/// scalar loop, in another order (callers only count them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn close_pairs_avx512(keys: &[u64], queries: &[u64], max_distance: u32, out: &mut Vec<(u32, u32)>) {
    use std::arch::x86_64::*;
    let limit = _mm512_set1_epi64(i64::from(max_distance));
    let lanes = |n: usize| -> __mmask8 {
        if n >= 8 {
            0xFF
        } else {
            (1u8 << n) - 1
        }
    };
    let mut k = 0;
    while k < keys.len() {
        let (va, vb) = (lanes(keys.len() - k), lanes(keys.len().saturating_sub(k + 8)));
        // SAFETY: the masked loads read only keys that exist.
        let (a, b) = unsafe {
            (
                _mm512_maskz_loadu_epi64(va, keys.as_ptr().add(k) as *const i64),
                _mm512_maskz_loadu_epi64(vb, keys.as_ptr().add((k + 8).min(keys.len())) as *const i64),
            )
        };
        let distance = |block: __m512i, q: u64| _mm512_popcnt_epi64(_mm512_xor_si512(block, _mm512_set1_epi64(q as i64)));
        let mut emit = |q: usize, block: __m512i, valid: __mmask8, first: usize| {
            let mut close = _mm512_mask_cmple_epu64_mask(valid, distance(block, queries[q]), limit);
            while close != 0 {
                out.push((q as u32, (first + close.trailing_zeros() as usize) as u32));
                close &= close - 1;
            }
        };
        let mut q = 0;
        while q + 4 <= queries.len() {
            let (q0, q1, q2, q3) = (queries[q], queries[q + 1], queries[q + 2], queries[q + 3]);
            let near_a = _mm512_min_epu64(_mm512_min_epu64(distance(a, q0), distance(a, q1)), _mm512_min_epu64(distance(a, q2), distance(a, q3)));
            let near_b = _mm512_min_epu64(_mm512_min_epu64(distance(b, q0), distance(b, q1)), _mm512_min_epu64(distance(b, q2), distance(b, q3)));
            let hit_a = _mm512_mask_cmple_epu64_mask(va, near_a, limit);
            let hit_b = _mm512_mask_cmple_epu64_mask(vb, near_b, limit);
            if hit_a | hit_b != 0 {
                for qq in q..q + 4 {
                    if hit_a != 0 {
                        emit(qq, a, va, k);
                    }
                    if hit_b != 0 {
                        emit(qq, b, vb, k + 8);
                    }
                }
            }
            q += 4;
        }
        for qq in q..queries.len() {
            emit(qq, a, va, k);
            emit(qq, b, vb, k + 8);
        }
        k += 16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{exact_scan, select_segments, SPEED_UNIT};

    /// xorshift64*: reproducible pseudo-random bits for test data.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn flip(&mut self, mut h: u64, bits: u32) -> u64 {
            for _ in 0..bits {
                h ^= 1 << self.below(64);
            }
            h
        }
        /// Another picture of each frame (a crop, an inner half): its hash with `min + [0, span)` bits flipped.
        fn region(&mut self, hashes: &[u64], min: u32, span: u64) -> Vec<u64> {
            hashes
                .iter()
                .map(|&h| {
                    let bits = min + self.below(span) as u32;
                    self.flip(h, bits)
                })
                .collect()
        }
        /// Scenes of 3-15 frames whose hash drifts 0-3 bits a frame (like 1 fps video).
        fn walk(&mut self, n: usize) -> Vec<u64> {
            let mut h = self.next();
            let mut left = 3 + self.below(13);
            (0..n)
                .map(|_| {
                    if left == 0 {
                        h = self.next();
                        left = 3 + self.below(13);
                    } else {
                        let bits = self.below(4) as u32;
                        h = self.flip(h, bits);
                    }
                    left -= 1;
                    h
                })
                .collect()
        }
    }

    fn split<T: Copy>(col: &[T], lengths: &[u32]) -> Vec<Vec<T>> {
        let mut at = 0;
        lengths
            .iter()
            .map(|&l| {
                let s = col[at..at + l as usize].to_vec();
                at += l as usize;
                s
            })
            .collect()
    }

    fn sorted(mut s: Vec<Segment>) -> Vec<(u32, u32, i64, u32, u32, Variant)> {
        let mut keys: Vec<_> = s.drain(..).map(|s| (s.bench_video, s.speed, s.offset, s.train_start, s.matched_frames, s.variant)).collect();
        keys.sort_by(|a, b| a.partial_cmp(b).unwrap());
        keys
    }

    /// Bench videos (some shorter than a window), training videos holding copies at 0-12 bits
    /// (direct, mirrored, cropped), uninformative frames on both sides: the scan's segments are
    /// exactly the exact scan's, with either kernel, for several rules.
    #[test]
    fn finds_exactly_the_segments_of_the_exact_scan() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let lengths: Vec<u32> = (0..40).map(|v| if v % 9 == 0 { 6 + rng.below(14) as u32 } else { 20 + rng.below(200) as u32 }).collect();
        let total: usize = lengths.iter().map(|&l| l as usize).sum();
        let bench: Vec<u64> = lengths.iter().flat_map(|&l| rng.walk(l as usize)).collect();
        let center: Vec<u64> = bench.iter().map(|&h| rng.flip(h, 5)).collect();
        let inner: Vec<u64> = bench.iter().map(|&h| rng.flip(h, 9)).collect();
        let informative: Vec<u8> = (0..total).map(|_| u8::from(rng.below(20) != 0)).collect();
        // The inner half has its own flags (a flat center is uninformative on its own).
        let inner_informative: Vec<u8> = (0..total).map(|_| u8::from(rng.below(6) != 0)).collect();
        let (b, c, inf) = (split(&bench, &lengths), split(&center, &lengths), split(&informative, &lengths));
        let (n, ninf) = (split(&inner, &lengths), split(&inner_informative, &lengths));
        let benches: Vec<Sequence> = b.iter().zip(&inf).map(|(h, i)| Sequence::new(h, i)).collect();
        let centers: Vec<Sequence> = c.iter().zip(&inf).map(|(h, i)| Sequence::new(h, i)).collect();
        let inners: Vec<Sequence> = n.iter().zip(&ninf).map(|(h, i)| Sequence::new(h, i)).collect();
        let kernels: Vec<FrameScan> = [Kernel::Avx512, Kernel::Avx2, Kernel::Portable]
            .into_iter()
            .filter(|k| k.supported())
            .map(|k| {
                FrameScan::build(&[&bench, &center], &informative, &lengths)
                    .unwrap()
                    .with_inner(&inner, &inner_informative)
                    .unwrap()
                    .with_kernel(k)
                    .unwrap()
            })
            .collect();
        let default_like = MatchParams {
            window: 20,
            min_window: 6,
            max_distance: 20,
            min_fraction: 0.7,
            min_informative: 0.5,
            min_distinct: 3,
            distinct_bits: 8,
            static_max_mean: 3.0,
            speed_range: 0.0,
            speed_step: 0.0,
            speed_intercepts: 0,
            speed_max_mean: 64.0,
            short_window: 0,
            short_fraction: 1.0,
            short_max_mean: 64.0,
        };
        let low_fraction = MatchParams { min_fraction: 0.4, ..default_like };
        let paper = MatchParams::PAPER;
        // Slanted alignments too (every sequence its own video, one sample per second).
        let speedy = MatchParams { speed_range: 0.1, speed_step: 0.02, speed_intercepts: 2, ..default_like };
        // Short excerpts (10-frame windows at 90%) besides the 20-frame ones.
        let shorts = MatchParams { short_window: 10, short_fraction: 0.9, short_max_mean: 12.0, ..speedy };
        let (mut found, mut inner_found) = (0, 0);
        for (r, rule) in [default_like, low_fraction, paper, speedy, shorts].iter().enumerate() {
            for t in 0..16 {
                // Which variant the copy is of, independent of the training video's length.
                let which = (t + t / 4) % 4;
                let len = [300usize, 90, 25, 12][t % 4];
                let mut train = rng.walk(len);
                let mut flips = rng.walk(len);
                let mut train_inner = rng.walk(len);
                // A copy of 8-40 frames of a random bench video, into one of the four variants.
                let v = rng.below(lengths.len() as u64) as usize;
                let copy = (8 + rng.below(33) as usize).min(b[v].len()).min(len);
                let from = rng.below((b[v].len() - copy + 1) as u64) as usize;
                let at = rng.below((len - copy + 1) as u64) as usize;
                let source = [&b[v], &b[v], &c[v], &n[v]][which];
                let target = match which {
                    1 => &mut flips,
                    3 => &mut train_inner,
                    _ => &mut train,
                };
                for k in 0..copy {
                    let bits = rng.below(13) as u32;
                    target[at + k] = rng.flip(source[from + k], bits);
                }
                let train_info: Vec<u8> = (0..len).map(|_| u8::from(rng.below(15) != 0)).collect();
                let inner_info: Vec<u8> = (0..len).map(|_| u8::from(rng.below(5) != 0)).collect();
                let seq = Sequence::new(&train, &train_info);
                let fseq = Sequence::new(&flips, &train_info);
                let iseq = Sequence::new(&train_inner, &inner_info);
                // Written out, not through match_variants: the reference must not share the code under test.
                let mut exact = exact_scan(&seq, &benches, rule, Variant::Direct);
                exact.extend(exact_scan(&fseq, &benches, rule, Variant::Flipped));
                exact.extend(exact_scan(&seq, &centers, rule, Variant::Cropped));
                exact.extend(exact_scan(&iseq, &inners, rule, Variant::Inner));
                for (v, ((b, c), n)) in benches.iter().zip(&centers).zip(&inners).enumerate() {
                    let v = v as u32;
                    exact_lines(&seq, Phased { phases: std::slice::from_ref(b) }, v, rule, Variant::Direct, &mut exact);
                    exact_lines(&fseq, Phased { phases: std::slice::from_ref(b) }, v, rule, Variant::Flipped, &mut exact);
                    exact_lines(&seq, Phased { phases: std::slice::from_ref(c) }, v, rule, Variant::Cropped, &mut exact);
                    exact_lines(&iseq, Phased { phases: std::slice::from_ref(n) }, v, rule, Variant::Inner, &mut exact);
                }
                let expected = sorted(exact);
                found += expected.len();
                inner_found += expected.iter().filter(|s| s.5 == Variant::Inner).count();
                for s in &kernels {
                    let got = sorted(s.segments(&seq, Some(&fseq), Some(&iseq), rule, Search::Scan));
                    assert_eq!(got, expected, "rule {r}, training video {t}, kernel {:?}", s.kernel());
                }
            }
        }
        assert!(found > 20, "the test data should hold matches ({found})");
        assert!(inner_found > 5, "the test data should hold inner-half matches ({inner_found})");
    }

    /// Benchmark videos sampled at 4 phases per second (four sequences each, grouped as one video)
    /// and training videos holding copies that start a fraction of a second off, sampled at 1 fps:
    /// on every kernel the scan's selected segments are the exact search's, each copy is found on
    /// the phase nearest its offset, and the phases of one video give one segment per stretch.
    #[test]
    fn phases_find_fractional_offsets_exactly_like_the_exact_search() {
        const P: usize = 4;
        let mut rng = Rng(0xC0FFEE);
        // Fast footage: the hash moves 6-12 bits per quarter second, so a copy 0.5 s off is ~20
        // bits away from every 1 fps benchmark frame, but within a few bits of the right phase.
        let fine: Vec<Vec<u64>> = (0..8)
            .map(|_| {
                let mut h = rng.next();
                (0..(30 + rng.below(40) as usize) * P)
                    .map(|_| {
                        let bits = 6 + rng.below(7) as u32;
                        h = rng.flip(h, bits);
                        h
                    })
                    .collect()
            })
            .collect();
        let (mut hashes, mut lengths, mut groups) = (Vec::new(), Vec::new(), Vec::new());
        for (v, f) in fine.iter().enumerate() {
            for phase in 0..P {
                let seq: Vec<u64> = f.iter().skip(phase).step_by(P).copied().collect();
                lengths.push(seq.len() as u32);
                groups.push(v as u32);
                hashes.extend(seq);
            }
        }
        let scans: Vec<FrameScan> = [Kernel::Avx512, Kernel::Avx2, Kernel::Portable]
            .into_iter()
            .filter(|k| k.supported())
            .map(|k| FrameScan::build(&[&hashes], &[], &lengths).unwrap().with_groups(&groups).unwrap().with_kernel(k).unwrap())
            .collect();
        assert!(FrameScan::build(&[&hashes], &[], &lengths).unwrap().with_groups(&groups[1..]).is_err());
        let rule = MatchParams { max_distance: 20, min_window: 6, ..MatchParams::PAPER };
        for t in 0..12 {
            let v = t % fine.len();
            let phase = t % P;
            // 24 s of video v from second 3 + phase/4, at 1 fps, 0-4 bits of noise, between unrelated frames.
            let mut train = rng.walk(80);
            for k in 0..24 {
                let bits = rng.below(5) as u32;
                train[30 + k] = rng.flip(fine[v][(3 + k) * P + phase], bits);
            }
            let seq = Sequence::new(&train, &[]);
            let exact = scans[0].match_video(&seq, None, None, &rule, Search::Exact).unwrap();
            let planted: Vec<&Segment> = exact.iter().filter(|s| groups[s.bench_video as usize] == v as u32).collect();
            assert_eq!(planted.len(), 1, "training video {t}: one segment for the copied stretch: {exact:?}");
            assert_eq!(planted[0].bench_video as usize, v * P + phase, "training video {t}: found on the phase of its offset");
            assert_eq!((planted[0].train_start, planted[0].bench_start), (30, 3));
            for scan in &scans {
                assert_eq!(scan.match_video(&seq, None, None, &rule, Search::Scan).unwrap(), exact, "training video {t}, kernel {:?}", scan.kernel());
            }
        }
    }

    /// The prefilter on synthetic, real-looking sequences: benchmark videos at 4 phases (scenes
    /// drifting 0-3 bits a second, phases 0-1 bits a step, center-crop hashes), training videos
    /// holding a 20-40 s copy of a random phase (0-12 bits of noise, direct, mirrored or cropped,
    /// some played 0.9-1.1x). On every kernel: on the videos it names the segments are exactly the
    /// frame scan's; it names every video holding a planted copy the scan finds (all 150 here; a
    /// recall of 0.999 needs thousands of copies: example `index_speed`, bench/README.md "Matching
    /// at 10M benchmark seconds"); and few of the videos it names hold no match. Chunks of 24 bits,
    /// the width of a 10M-second benchmark side.
    #[test]
    fn prefilter_finds_the_planted_copies_and_exactly_the_scans_segments_on_what_it_names() {
        const P: usize = 4;
        let mut rng = Rng(0x5EED_2100);
        let (mut hashes, mut lengths, mut groups, mut fines) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for g in 0..120u32 {
            let n = 60 + rng.below(180) as usize;
            let secs = rng.walk(n);
            let mut fine = Vec::new();
            for &h in &secs {
                let mut p = h;
                fine.push(p);
                for _ in 1..P {
                    let b = rng.below(2) as u32;
                    p = rng.flip(p, b);
                    fine.push(p);
                }
            }
            for j in 0..P {
                hashes.extend(fine.iter().skip(j).step_by(P));
                lengths.push(secs.len() as u32);
                groups.push(g);
            }
            fines.push(fine);
        }
        let center = rng.region(&hashes, 2, 7);
        let inner = rng.region(&hashes, 4, 9);
        let scans: Vec<FrameScan> = [Kernel::Avx512, Kernel::Avx2, Kernel::Portable]
            .into_iter()
            .filter(|k| k.supported())
            .map(|k| {
                FrameScan::build(&[&hashes, &center], &[], &lengths)
                    .unwrap()
                    .with_inner(&inner, &[])
                    .unwrap()
                    .with_groups(&groups)
                    .unwrap()
                    .with_kernel(k)
                    .unwrap()
                    .with_index_bits(24)
            })
            .collect();
        let rule = default_rule(true);
        // The center-crop (or inner) column of video g, interleaved like `fines`.
        let column_fine = |column: &[u64], g: usize, k: usize| -> u64 {
            let v = g * P + k % P;
            column[scans[0].offsets[v] + k / P]
        };
        let (mut planted, mut found, mut named, mut wrong) = (0, 0, 0, 0);
        for t in 0..150 {
            let g = rng.below(fines.len() as u64) as usize;
            let speed = [1.0, 1.0, 1.0, 0.9, 0.95, 1.04, 1.1][t % 7];
            let variant = [Variant::Direct, Variant::Flipped, Variant::Cropped, Variant::Inner][t % 4];
            let secs = fines[g].len() / P;
            let len = (20 + rng.below(21) as usize).min(((secs - 2) as f64 / 1.1) as usize);
            let b0 = rng.below((secs as f64 - 1.1 * len as f64 - 1.0) as u64) as f64 + rng.below(P as u64) as f64 / P as f64;
            let (mut train, mut flips, mut train_inner) = (rng.walk(300), rng.walk(300), rng.walk(300));
            let at = rng.below((300 - len) as u64) as usize;
            for i in 0..len {
                let k = (P as f64 * (b0 + speed * i as f64)).round() as usize;
                let source = match variant {
                    Variant::Cropped => column_fine(&center, g, k),
                    Variant::Inner => column_fine(&inner, g, k),
                    _ => fines[g][k],
                };
                let bits = rng.below(13) as u32;
                let target = match variant {
                    Variant::Flipped => &mut flips,
                    Variant::Inner => &mut train_inner,
                    _ => &mut train,
                };
                target[at + i] = rng.flip(source, bits);
            }
            let (seq, fseq, iseq) = (Sequence::new(&train, &[]), Sequence::new(&flips, &[]), Sequence::new(&train_inner, &[]));
            let scan_segments = scans[0].segments(&seq, Some(&fseq), Some(&iseq), &rule, Search::Scan);
            let named_groups = scans[0].indexed_groups(&seq, Some(&fseq), Some(&iseq), &rule).expect("within the tables' range");
            let on_named: Vec<Segment> = scan_segments
                .iter()
                .filter(|s| {
                    let tag = match s.variant {
                        Variant::Direct => 0,
                        Variant::Flipped => 1,
                        Variant::Cropped => 2,
                        Variant::Inner => 3,
                    };
                    named_groups[tag].contains(&groups[s.bench_video as usize])
                })
                .copied()
                .collect();
            for scan in &scans {
                assert_eq!(
                    sorted(scan.segments(&seq, Some(&fseq), Some(&iseq), &rule, Search::Indexed)),
                    sorted(on_named.clone()),
                    "query {t}, kernel {:?}",
                    scan.kernel()
                );
            }
            let scan_found = scan_segments.iter().any(|s| groups[s.bench_video as usize] == g as u32 && s.variant == variant);
            if scan_found {
                planted += 1;
                found += usize::from(on_named.iter().any(|s| groups[s.bench_video as usize] == g as u32 && s.variant == variant));
            }
            for list in &named_groups {
                named += list.len();
                wrong += list.iter().filter(|&&n| !scan_segments.iter().any(|s| groups[s.bench_video as usize] == n)).count();
            }
        }
        eprintln!("planted copies the scan finds: {planted}, the prefilter: {found}; videos named {named}, {wrong} without a match");
        assert!(planted >= 120, "the scan should find most planted copies ({planted})");
        assert_eq!(found, planted, "the prefilter missed planted copies the scan finds");
        // A cost, not an error (a named video is only scanned): 15 of 265 with one core pair.
        assert!(wrong <= 30, "{wrong} of {named} named videos hold no match");
    }

    /// The bound's arithmetic: pairs within 5 bits are always found (pigeonhole over two chunks
    /// probed within 2 bits), and the per-pair probability falls with the distance; the pigeonhole
    /// case is also checked on real tables.
    #[test]
    fn prefilter_pair_bound() {
        for d in 0..=5 {
            assert!((prefilter::pair_catch(d, 24) - 1.0).abs() < 1e-12, "d {d}");
        }
        let p: Vec<f64> = (6..=20).map(|d| prefilter::pair_catch(d, 24)).collect();
        assert!(p.windows(2).all(|w| w[1] < w[0]));
        assert!((prefilter::pair_catch(8, 24) - 0.669).abs() < 0.002, "{}", prefilter::pair_catch(8, 24));
        // A window whose 14 close pairs are all at 8 bits is missed with probability < 1e-6, at 10
        // bits < 2e-3.
        assert!(prefilter::window_miss_bound(14, 8, 24) < 1e-6);
        assert!(prefilter::window_miss_bound(14, 10, 24) < 2e-3);
        // Monte Carlo: the closed form matches random placements.
        let mut rng = Rng(3);
        let (mut hit, n) = (0, 20000);
        for _ in 0..n {
            let mut x = 0u64;
            while x.count_ones() < 10 {
                x |= 1 << rng.below(64);
            }
            let (a, b) = ((x & 0xFF_FFFF).count_ones(), ((x >> 24) & 0xFF_FFFF).count_ones());
            hit += usize::from(a <= 2 || b <= 2);
        }
        assert!((hit as f64 / n as f64 - prefilter::pair_catch(10, 24)).abs() < 0.02);
        // Tables: 30 frames each within 5 bits of a benchmark frame, on one diagonal, are found.
        let bench: Vec<u64> = (0..400).map(|_| rng.next()).collect();
        let scan = FrameScan::build(&[&bench], &[], &[400]).unwrap().with_index_bits(16);
        let train: Vec<u64> = (0..30).map(|i| rng.flip(bench[100 + i], 5)).collect();
        let rule = default_rule(false);
        assert_eq!(scan.indexed_groups(&Sequence::new(&train, &[]), None, None, &rule), Some(vec![vec![0]]));
        let random: Vec<u64> = (0..30).map(|_| rng.next()).collect();
        assert_eq!(scan.indexed_groups(&Sequence::new(&random, &[]), None, None, &rule), Some(vec![vec![]]));
    }

    /// A copy without one close pair (every frame 14 bits from its benchmark frame, as under boxes
    /// or a logo) is named when its found frames show distinct pictures, and then reported exactly
    /// as the scan reports it; a still shot 14 bits from a benchmark still shot, one picture
    /// repeated, is not named (nor matched by the rule).
    #[test]
    fn prefilter_names_copies_without_a_core_pair_on_distinct_pictures_only() {
        let mut rng = Rng(17);
        // 14 bits apart, 2 of them in chunk 0 (bits 0-15), none in chunk 1 (16-31): always found,
        // never a core pair.
        let apart = |rng: &mut Rng, h: u64| {
            let mut x = 0u64;
            while x.count_ones() < 2 {
                x |= 1 << rng.below(16);
            }
            while x.count_ones() < 14 {
                x |= 1 << (32 + rng.below(32));
            }
            h ^ x
        };
        let moving: Vec<u64> = (0..400).map(|_| rng.next()).collect();
        let still_picture = rng.next();
        let still: Vec<u64> = (0..100).map(|_| rng.flip(still_picture, 1)).collect();
        let bench: Vec<u64> = moving.iter().chain(&still).copied().collect();
        let scan = FrameScan::build(&[&bench], &[], &[400, 100]).unwrap().with_index_bits(16);
        let rule = default_rule(false);
        let copy: Vec<u64> = moving[100..130].iter().map(|&h| apart(&mut rng, h)).collect();
        let seq = Sequence::new(&copy, &[]);
        assert_eq!(scan.indexed_groups(&seq, None, None, &rule), Some(vec![vec![0]]));
        let on_named = scan.match_video(&seq, None, None, &rule, Search::Indexed).unwrap();
        assert!(!on_named.is_empty());
        assert_eq!(on_named, scan.match_video(&seq, None, None, &rule, Search::Scan).unwrap());
        let other_still = apart(&mut rng, still_picture);
        let repeated: Vec<u64> = (0..30).map(|_| rng.flip(other_still, 1)).collect();
        let seq = Sequence::new(&repeated, &[]);
        assert_eq!(scan.indexed_groups(&seq, None, None, &rule), Some(vec![vec![]]));
        assert!(scan.match_video(&seq, None, None, &rule, Search::Scan).unwrap().is_empty());
    }

    /// An empty benchmark side (a collection with no member) matches nothing, with either rule,
    /// instead of failing (a panic here aborts the whole Node process).
    #[test]
    fn empty_benchmark_matches_nothing() {
        let scan = FrameScan::build(&[&[]], &[], &[]).unwrap().with_groups(&[]).unwrap();
        let mut rng = Rng(5);
        let train = rng.walk(60);
        let seq = Sequence::new(&train, &[]);
        for speeds in [false, true] {
            for search in [Search::Scan, Search::Exact] {
                assert!(scan.match_video(&seq, None, None, &default_rule(speeds), search).unwrap().is_empty());
            }
        }
    }

    /// The default preset's rule, with or without slanted alignments.
    fn default_rule(speeds: bool) -> MatchParams {
        MatchParams {
            window: 20,
            min_window: 6,
            max_distance: 20,
            min_fraction: 0.7,
            min_informative: 0.5,
            min_distinct: 3,
            distinct_bits: 10,
            static_max_mean: 6.0,
            speed_range: if speeds { 0.1 } else { 0.0 },
            speed_step: if speeds { 0.01 } else { 0.0 },
            speed_intercepts: if speeds { 2 } else { 0 },
            speed_max_mean: 12.0,
            short_window: 0,
            short_fraction: 1.0,
            short_max_mean: 64.0,
        }
    }

    /// Fast footage at 16 samples per second whose hash moves 5-6 bits a sample (~10 bits in an
    /// eighth of a second, ~17 in a quarter, ~25 in half a second).
    fn fast_footage(rng: &mut Rng, seconds: usize) -> Vec<u64> {
        let mut h = rng.next();
        (0..seconds * 16)
            .map(|_| {
                let bits = 5 + rng.below(2) as u32;
                h = rng.flip(h, bits);
                h
            })
            .collect()
    }

    /// Benchmark videos as 4 phases each (samples at m + j/4 s of 16-per-second footage), grouped.
    fn phased_bench(footage: &[Vec<u64>]) -> (Vec<u64>, Vec<u32>, Vec<u32>) {
        let (mut hashes, mut lengths, mut groups) = (Vec::new(), Vec::new(), Vec::new());
        for (v, f) in footage.iter().enumerate() {
            for phase in 0..4 {
                let seq: Vec<u64> = f.iter().skip(phase * 4).step_by(16).copied().collect();
                lengths.push(seq.len() as u32);
                groups.push(v as u32);
                hashes.extend(seq);
            }
        }
        (hashes, lengths, groups)
    }

    /// Copies of fast footage played at 0.9, 0.95, 1.04, 1.05 and 1.1 times (and 1/1.04, 1/1.05),
    /// starting a fraction of a second into the benchmark video, at 1 fps with 0-4 bits of noise:
    /// straight alignments miss the 10% ones; slanted ones find each on its own benchmark video, at a
    /// speed within 0.02 of the true one and at the right benchmark time; unrelated footage
    /// matches nothing. On every kernel the scan's segments (before selection) are the exact
    /// search's.
    #[test]
    fn speed_changed_copies_are_found_on_slanted_lines_exactly_like_the_exact_search() {
        let mut rng = Rng(0x5EED_5EED);
        let footage: Vec<Vec<u64>> = (0..6)
            .map(|_| {
                let seconds = 50 + rng.below(40) as usize;
                fast_footage(&mut rng, seconds)
            })
            .collect();
        let (hashes, lengths, groups) = phased_bench(&footage);
        let center: Vec<u64> = hashes.iter().map(|&h| rng.flip(h, 6)).collect();
        let scans: Vec<FrameScan> = [Kernel::Avx512, Kernel::Avx2, Kernel::Portable]
            .into_iter()
            .filter(|k| k.supported())
            .map(|k| FrameScan::build(&[&hashes, &center], &[], &lengths).unwrap().with_groups(&groups).unwrap().with_kernel(k).unwrap())
            .collect();
        let (straight, slanted) = (default_rule(false), default_rule(true));
        let mut found = 0;
        for (t, &speed) in [0.9, 0.95, 1.04, 1.05, 1.1, 1.0 / 1.04, 1.0 / 1.05, 1.0].iter().enumerate() {
            let v = t % footage.len();
            let b0 = 3.0 + 0.3 * t as f64 + 0.07;
            let mut train = rng.walk(90);
            let copy = 30;
            for i in 0..copy {
                let at = (16.0 * (b0 + speed * i as f64)).round() as usize;
                let bits = rng.below(5) as u32;
                train[25 + i] = rng.flip(footage[v][at], bits);
            }
            let flips = rng.walk(90);
            let (seq, fseq) = (Sequence::new(&train, &[]), Sequence::new(&flips, &[]));
            let of_v = |segs: &[Segment]| -> Vec<Segment> { segs.iter().filter(|s| groups[s.bench_video as usize] == v as u32).copied().collect() };
            let plain = of_v(&scans[0].match_video(&seq, Some(&fseq), None, &straight, Search::Exact).unwrap());
            if (speed - 1.0f64).abs() >= 0.09 {
                assert!(plain.is_empty(), "speed {speed}: straight alignments should miss it: {plain:?}");
            }
            let exact = scans[0].match_video(&seq, Some(&fseq), None, &slanted, Search::Exact).unwrap();
            let planted = of_v(&exact);
            assert_eq!(planted.len(), 1, "speed {speed}: one segment for the copy: {exact:?}");
            let s = planted[0];
            assert_eq!(exact.len(), 1, "speed {speed}: nothing else matches: {exact:?}");
            let got = f64::from(s.speed) / f64::from(SPEED_UNIT);
            assert!((got - speed).abs() <= 0.02, "speed {speed}: found at {got}");
            assert!(s.train_start <= 27 && s.train_end >= 53, "speed {speed}: {s:?}");
            // Benchmark time of the first matched frame (a slanted segment counts samples of the
            // video, 4 per second; a straight one seconds of its phase).
            let bench_time = if s.slanted() { f64::from(s.bench_start) / 4.0 } else { f64::from(s.bench_start) + (s.bench_video % 4) as f64 / 4.0 };
            let expected = b0 + speed * f64::from(s.train_start - 25);
            assert!((bench_time - expected).abs() <= 0.26, "speed {speed}: bench time {bench_time}, expected {expected}");
            assert_eq!(s.slanted(), speed != 1.0, "a copy at speed 1 keeps its straight alignment");
            found += 1;
            for scan in &scans {
                assert_eq!(
                    sorted(scan.segments(&seq, Some(&fseq), None, &slanted, Search::Scan)),
                    sorted(scan.segments(&seq, Some(&fseq), None, &slanted, Search::Exact)),
                    "speed {speed}, kernel {:?}",
                    scan.kernel()
                );
                assert_eq!(
                    scan.match_video(&seq, Some(&fseq), None, &slanted, Search::Scan).unwrap(),
                    exact,
                    "speed {speed}, kernel {:?}",
                    scan.kernel()
                );
            }
        }
        assert_eq!(found, 8);
        // Unrelated fast footage: no alignment of any speed matches.
        for _ in 0..4 {
            let other = fast_footage(&mut rng, 60);
            let train: Vec<u64> = other.iter().step_by(16).copied().collect();
            let seq = Sequence::new(&train, &[]);
            for scan in &scans {
                assert!(scan.match_video(&seq, None, None, &slanted, Search::Exact).unwrap().is_empty());
                assert!(scan.match_video(&seq, None, None, &slanted, Search::Scan).unwrap().is_empty());
            }
        }
    }

    /// `line_votes` finds every line holding a matching window from the kernel's pairs alone:
    /// windows at the extreme speeds (the widest drift from a diagonal) with exactly the 14 close
    /// frames of 20 the rule needs, the 6 misses on even frames (4 even close pairs: the fewest the
    /// kernel can give), among random frames, always make the line a candidate; random frames
    /// alone make none.
    #[test]
    fn line_votes_keep_every_window_with_enough_pairs() {
        let mut rng = Rng(99);
        let rule = default_rule(true);
        let speeds = rule.speeds();
        let (train_len, fine_len) = (300usize, 1200usize);
        let fine: Vec<u64> = (0..fine_len).map(|_| rng.next()).collect();
        let phases: Vec<Vec<u64>> = (0..4).map(|j| fine.iter().skip(j).step_by(4).copied().collect()).collect();
        let lengths: Vec<u32> = phases.iter().map(|p| p.len() as u32).collect();
        let keys: Vec<u64> = phases.concat();
        let scan = FrameScan::build(&[&keys], &[], &lengths).unwrap().with_groups(&[0, 0, 0, 0]).unwrap();
        let grid = LineGrid { phases: 4, q: 2 };
        let line_w: Vec<Option<u32>> = speeds.iter().map(|&sp| rule.window_for(train_len, grid.frames_at(sp, fine_len))).collect();
        assert_eq!((votes_at(&rule, 20, 2, true), votes_at(&rule, 20, 1, true)), (4, 14));
        let mut scratch = LineScratch::default();
        let mut candidates = |train: &[u64]| -> Vec<(u32, Line)> {
            // The kernel's pairs: even training frames against every sample.
            let pairs: Vec<(i64, i64)> = (0..train_len)
                .step_by(2)
                .flat_map(|i| {
                    fine.iter().enumerate().filter(move |(_, &h)| (h ^ train[i]).count_ones() <= 20).map(move |(k, _)| (i as i64, k as i64))
                })
                .collect();
            let by_frame: Vec<Option<u64>> = train.iter().map(|&h| Some(h)).collect();
            let at =
                LineVotes { g: 0, keys: &keys, flags: &[], train: &by_frame, grid, fine_len, train_len, speeds: &speeds, line_w: &line_w, step: 2 };
            let mut out = Vec::new();
            scan.line_votes(&at, &rule, &pairs, &mut scratch, &mut out);
            out
        };
        for t in 0..60 {
            let sp = [9000u32, 11000, 9100, 10900, 9500, 10400][t % 6];
            let i0 = rng.below((train_len - 20) as u64) as i64;
            let k0 = 40 + rng.below(fine_len as u64 - 200) as i64;
            let line = Line { speed: sp, intercept: grid.first_intercept(sp, i0, k0) + rng.below(2) as i64 };
            let mut train: Vec<u64> = (0..train_len).map(|_| rng.next()).collect();
            let evens: Vec<i64> = (i0..i0 + 20).filter(|i| i % 2 == 0).collect();
            for i in i0..i0 + 20 {
                if i % 2 == 1 || evens[4..].iter().all(|&e| e != i) {
                    let bits = rng.below(12) as u32;
                    train[i as usize] = rng.flip(fine[grid.sample(line, i) as usize], bits);
                }
            }
            assert!(candidates(&train).contains(&(0, line)), "trial {t}: {line:?} from frame {i0} not a candidate");
            let random: Vec<u64> = (0..train_len).map(|_| rng.next()).collect();
            assert!(candidates(&random).is_empty(), "trial {t}: random frames made candidates");
        }
    }

    #[test]
    fn sampling_keeps_at_least_one_close_pair_per_matching_window() {
        let rule = MatchParams::PAPER;
        // 20 frames, 14 needed: 6 may miss, 10 even frames, so 4 close pairs remain.
        assert_eq!(sampling_for(&rule, 20), Sampling { step: 2, votes: 4 });
        // 7 frames, 5 needed: 2 may miss of 3 even frames.
        assert_eq!(sampling_for(&rule, 7), Sampling { step: 2, votes: 1 });
        // 40%: 12 of 20 may miss, more than the 10 even frames: every frame, 8 pairs.
        let low = MatchParams { min_fraction: 0.4, ..rule };
        assert_eq!(sampling_for(&low, 20), Sampling { step: 1, votes: 8 });
        // A short-excerpt window of 10 frames at 90% besides: 5 even frames, 1 miss, 4 pairs.
        let short = MatchParams { short_window: 10, short_fraction: 0.9, short_max_mean: 12.0, ..rule };
        assert_eq!(sampling_for(&short, 20), Sampling { step: 2, votes: 4 });
        // Brute force: every placement of the misses in every window (of every rule) leaves that many.
        for w in 1..=30u32 {
            for r in [rule, low, short] {
                let s = sampling_for(&r, w);
                for (len, core) in r.window_bounds(w, false).chain(r.window_bounds(w, true)) {
                    let misses = len - core;
                    for first in 0..2u32 {
                        let sampled = (first..first + len).filter(|i| i % s.step as u32 == 0).count() as u32;
                        assert!(sampled.saturating_sub(misses) >= s.votes && s.votes >= 1, "w {w} len {len} first {first} {s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_kernel_finds_the_same_close_pairs() {
        let mut rng = Rng(42);
        let keys: Vec<u64> = (0..1000).map(|_| rng.next()).collect();
        let queries: Vec<u64> = (0..37).map(|k| if k % 3 == 0 { rng.flip(keys[k * 20], 9) } else { rng.next() }).collect();
        // Key counts around the AVX-512 loop's 16-key blocks, query counts around its groups of 4.
        for (n, m) in [(0usize, 37usize), (1, 37), (7, 37), (8, 37), (9, 37), (15, 3), (16, 4), (17, 5), (1000, 37), (1000, 3)] {
            let queries = &queries[..m];
            let mut a = Vec::new();
            for (q, &query) in queries.iter().enumerate() {
                for (k, &key) in keys[..n].iter().enumerate() {
                    if (query ^ key).count_ones() <= 24 {
                        a.push((q as u32, k as u32));
                    }
                }
            }
            a.sort_unstable();
            assert!(n < 1000 || a.len() > 10, "the test data should hold close pairs");
            for kernel in [Kernel::Avx512, Kernel::Avx2, Kernel::Portable].into_iter().filter(|k| k.supported()) {
                let mut b = Vec::new();
                close_pairs(&keys[..n], queries, 24, kernel, &mut b);
                b.sort_unstable();
                assert_eq!(a, b, "{n} keys, {m} queries, {kernel:?}");
            }
        }
    }

    /// Split over threads by ranges of benchmark videos (more parts than videos included), and
    /// scans running at once: the candidates are those of one thread scanning everything.
    #[test]
    fn split_and_concurrent_scans_find_the_same_candidates() {
        let mut rng = Rng(7);
        let lengths: Vec<u32> = (0..30).map(|_| 10 + rng.below(120) as u32).collect();
        let bench: Vec<u64> = lengths.iter().flat_map(|&l| rng.walk(l as usize)).collect();
        let scan = FrameScan::build(&[&bench], &[], &lengths).unwrap();
        let rule = MatchParams::PAPER;
        let trains: Vec<Vec<u64>> = (0..6)
            .map(|t| {
                // Copies of three stretches of the benchmark (a few bits off) between random frames.
                let mut train = rng.walk(200);
                for k in 0..3 {
                    let from = (t * 311 + k * 997) % (bench.len() - 30);
                    for i in 0..30 {
                        let bits = rng.below(6) as u32;
                        train[k * 60 + i] = rng.flip(bench[from + i], bits);
                    }
                }
                train
            })
            .collect();
        let sampled = |train: &[u64]| -> Queries {
            let pick = |step: usize| (0..train.len()).step_by(step).map(|i| (train[i], i as u32)).unzip();
            [(Vec::new(), Vec::new()), pick(1), pick(2)]
        };
        let mut total = 0;
        for train in &trains {
            let queries = sampled(train);
            let one = scan.candidates_split(train.len(), 0, &queries, &rule, 1).sorted();
            total += one.len();
            for parts in [2, 3, 8, 29, 30, 45] {
                let got = scan.candidates_split(train.len(), 0, &queries, &rule, parts).sorted();
                assert_eq!(got, one, "{parts} parts");
            }
        }
        assert!(total >= 18, "the copies should give candidates ({total})");
        let seqs: Vec<Sequence> = trains.iter().map(|t| Sequence::new(t, &[])).collect();
        let alone: Vec<Candidates> = seqs.iter().map(|s| scan.candidates(s, 0, &rule)).collect();
        std::thread::scope(|scope| {
            let runs: Vec<_> = seqs.iter().map(|s| scope.spawn(|| scan.candidates(s, 0, &rule))).collect();
            for (run, expected) in runs.into_iter().zip(&alone) {
                assert_eq!(&run.join().unwrap(), expected);
            }
        });
    }

    /// The exact and candidate searches read the same owned sequences as the scan: the exact
    /// search equals `exact_scan` over the benchmark written out, the candidate search at the
    /// exact segments' offsets finds those segments, and `match_video` refuses bad input.
    #[test]
    fn exact_and_candidate_searches_agree_with_the_written_out_reference() {
        let mut rng = Rng(11);
        let lengths: Vec<u32> = (0..12).map(|_| 20 + rng.below(60) as u32).collect();
        let bench: Vec<u64> = lengths.iter().flat_map(|&l| rng.walk(l as usize)).collect();
        let scan = FrameScan::build(&[&bench], &[], &lengths).unwrap();
        let b = split(&bench, &lengths);
        let benches: Vec<Sequence> = b.iter().map(|h| Sequence::new(h, &[])).collect();
        let mut train = rng.walk(120);
        for i in 0..30 {
            let bits = rng.below(5) as u32;
            train[40 + i] = rng.flip(b[5][10 + i], bits);
        }
        let seq = Sequence::new(&train, &[]);
        let rule = MatchParams { max_distance: 12, ..MatchParams::PAPER };
        let reference = exact_scan(&seq, &benches, &rule, Variant::Direct);
        assert!(!reference.is_empty(), "the planted copy should match");
        assert_eq!(sorted(scan.segments(&seq, None, None, &rule, Search::Exact)), sorted(reference.clone()));
        let at: Vec<(u32, i64)> = reference.iter().map(|s| (s.bench_video, s.offset)).collect();
        assert_eq!(sorted(scan.segments(&seq, None, None, &rule, Search::Candidates(&at))), sorted(reference.clone()));
        assert_eq!(scan.match_video(&seq, None, None, &rule, Search::Scan).unwrap(), select_segments(reference));
        let bad_rule = MatchParams { max_distance: 65, ..rule };
        assert!(scan.match_video(&seq, None, None, &bad_rule, Search::Scan).unwrap_err().to_string().contains("maxDistance"));
        let short_flags = [1u8; 3];
        assert!(scan.match_video(&Sequence { hashes: &train, informative: &short_flags }, None, None, &rule, Search::Scan).is_err());
        let short_flips = &train[..5];
        assert!(scan.match_video(&seq, Some(&Sequence::new(short_flips, &[])), None, &rule, Search::Scan).is_err());
    }

    #[test]
    fn uninformative_frames_are_left_out_and_bad_columns_refused() {
        let h: Vec<u64> = (0..10).map(|k| k * 0x0101_0101).collect();
        let scan = FrameScan::build(&[&h], &[1, 1, 0, 1, 1, 1, 1, 1, 1, 1], &[4, 6]).unwrap();
        assert_eq!(scan.entries(), 9);
        assert_eq!(scan.videos(), 2);
        assert!(FrameScan::build(&[&h], &[], &[9]).is_err());
        assert!(FrameScan::build(&[&h, &h[..9]], &[], &[10]).is_err());
        assert!(FrameScan::build(&[&h], &[1, 1], &[10]).is_err());
        assert!(FrameScan::build(&[], &[], &[10]).is_err());
        assert!(FrameScan::build(&[&h, &h, &h], &[], &[10]).is_err());
        // Inner-half hashes: one per frame, flags empty or one per frame, added once; their
        // column reads its own flags (an uninformative inner half never matches on it).
        let base = || FrameScan::build(&[&h], &[], &[4, 6]).unwrap();
        assert!(base().with_inner(&h[..9], &[]).err().unwrap().to_string().contains("inner-half hashes"));
        assert!(base().with_inner(&h, &[1, 1]).is_err());
        assert!(base().with_inner(&h, &[]).unwrap().with_inner(&h, &[]).is_err());
        let with_inner = base().with_inner(&h, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!((with_inner.columns(), with_inner.entries()), (2, 10));
        let inner_only = Sequence::new(&h[4..], &[]);
        let rule = MatchParams { window: 6, min_window: 0, ..MatchParams::PAPER };
        assert!(with_inner.match_video(&Sequence::new(&[!0; 6], &[]), None, Some(&inner_only), &rule, Search::Exact).unwrap().is_empty());
        let informative_inner = base().with_inner(&h, &[]).unwrap();
        let found = informative_inner.match_video(&Sequence::new(&[!0; 6], &[]), None, Some(&inner_only), &rule, Search::Scan).unwrap();
        assert!(found.iter().any(|s| s.variant == Variant::Inner && s.bench_video == 1), "{found:?}");
        assert_eq!(scan.frames(), 10);
    }
}
