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
//!
//! The parts: `columns` (the benchmark side), `kernels` (the comparison loops), `votes` (the
//! candidate bounds and the slanted lines' votes), `search` (a training video against the columns:
//! the scan, the exact path, verification) and `prefilter` (the approximate prefilter's tables).

mod columns;
mod kernels;
pub mod prefilter;
mod search;
#[cfg(test)]
mod tests;
mod votes;

pub use kernels::Kernel;
pub use search::{check_inner, check_regions, check_train, Candidates, Search};
pub use votes::{sampling_for, votes_at, LineScratch, Sampling};

use crate::matching::{InvalidInput, Line, MatchParams, Segment};
use columns::Columns;

/// The benchmark side of a scan, owned here: one or more hash columns per frame (whole-frame
/// hashes, center-crop hashes for cropped copies, inner-half hashes for copies under overlays),
/// video after video, with each frame's informative flag (the inner-half column has its own).
/// Every way of matching a training video (the scan, the exact path, verification of hnswlib's
/// candidates) reads these sequences, so they cannot disagree about the benchmark.
pub struct FrameScan {
    /// The hash columns, their informative flags, and the benchmark videos' sequences.
    columns: Columns,
    /// The comparison loop this CPU runs (detected once at build).
    kernel: Kernel,
    /// Bit-sampling tables of the approximate prefilter (`with_prefilter`), when built.
    prefilter: Option<prefilter::BitIndex>,
}

impl FrameScan {
    /// Own `columns` (each one hash per frame, videos back to back with `lengths`; column 1, when
    /// given, holds the center-crop hashes). Frames whose `informative` flag is 0 never match and
    /// are left out of the scan's keys (an empty slice: every frame is informative).
    pub fn build(columns: &[&[u64]], informative: &[u8], lengths: &[u32]) -> Result<FrameScan, InvalidInput> {
        Ok(FrameScan { columns: Columns::build(columns, informative, lengths)?, kernel: Kernel::detect(), prefilter: None })
    }

    /// Add the inner-half hashes of every frame (one per frame, as the other columns) with their
    /// own informative flags (empty: all): training videos that give theirs are also compared on
    /// the inner half of both frames (`Variant::Inner`).
    pub fn with_inner(mut self, hashes: &[u64], informative: &[u8]) -> Result<FrameScan, InvalidInput> {
        self.columns.add_inner(hashes, informative)?;
        // The prefilter's tables cover every column: rebuilt with the new one.
        Ok(match self.prefilter_bits() {
            Some(bits) => self.with_prefilter_bits(bits),
            None => self,
        })
    }

    /// Add the central 9:16 strip hashes of every frame (one per frame, as the other columns):
    /// training videos' whole-frame hashes are also compared with them (`Variant::Strip`: a
    /// portrait crop of a landscape benchmark video).
    pub fn with_strip(mut self, hashes: &[u64]) -> Result<FrameScan, InvalidInput> {
        self.columns.add_strip(hashes)?;
        Ok(match self.prefilter_bits() {
            Some(bits) => self.with_prefilter_bits(bits),
            None => self,
        })
    }

    /// Say which benchmark video each sequence belongs to (one per sequence), so that segments of
    /// several sequences of one video (its phases) are selected together. A video's sequences are
    /// consecutive and are its P phases in order: the j-th holds the samples at `m + j / P`
    /// seconds (so their lengths fall by at most one, from the first to the last); slanted
    /// alignments read them interleaved (`matching::Phased`).
    pub fn with_groups(mut self, groups: &[u32]) -> Result<FrameScan, InvalidInput> {
        self.columns.set_groups(groups)?;
        // The prefilter's tables name videos: rebuilt for the new grouping.
        Ok(match self.prefilter_bits() {
            Some(bits) => self.with_prefilter_bits(bits),
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

    /// The same scan with the prefilter's tables built (`Search::Prefilter`; see `prefilter`).
    pub fn with_prefilter(self) -> FrameScan {
        let bits = prefilter::bits_for(self.frames());
        self.with_prefilter_bits(bits)
    }

    /// `with_prefilter` with chunks of `bits` bits (12..=24) instead of the width the size gives (tests
    /// and benchmarks: the width of a 10M-second benchmark side on a small one).
    pub fn with_prefilter_bits(mut self, bits: u32) -> FrameScan {
        // The old tables go before the new ones are built: never both in memory.
        self.prefilter = None;
        self.prefilter = prefilter::BitIndex::build(&self.columns, bits.clamp(12, prefilter::MAX_BITS));
        self
    }

    /// Chunk width of the prefilter's tables (None: not built).
    pub fn prefilter_bits(&self) -> Option<u32> {
        self.prefilter.as_ref().map(|i| i.bits())
    }

    /// Bytes the prefilter's tables hold (0: not built).
    pub fn prefilter_bytes(&self) -> usize {
        self.prefilter.as_ref().map_or(0, |i| i.heap_bytes())
    }

    /// Entries that can match (informative frames x columns).
    pub fn entries(&self) -> usize {
        self.columns.entries()
    }

    /// Bytes held: the benchmark's hash columns and informative flags, and the per-video tables.
    pub fn heap_bytes(&self) -> usize {
        self.columns.heap_bytes() + self.prefilter_bytes()
    }

    pub fn columns(&self) -> usize {
        self.columns.count()
    }

    pub fn videos(&self) -> usize {
        self.columns.videos()
    }

    /// Position of sequence `v`'s first frame in the columns.
    pub fn offset_of(&self, v: usize) -> usize {
        self.columns.offset_of(v)
    }

    /// Frames per column, kept or not (the sum of the lengths).
    pub fn frames(&self) -> usize {
        self.columns.frames()
    }

    /// The benchmark frames the best window of `segment` (one of this scan's, under `rule`)
    /// compares with its training frames `best_train_start ..`: frames of its sequence for a
    /// straight segment, samples of its video (all phases, `phases_of` per second) for a slanted one.
    pub fn window_bench(&self, segment: &Segment, rule: &MatchParams) -> Vec<u32> {
        let frames = segment.best_train_start..segment.best_train_start + segment.window_frames;
        if !segment.slanted() {
            return frames.map(|t| (i64::from(t) - segment.offset).max(0) as u32).collect();
        }
        let g = self.columns.group_of(segment.bench_video);
        let grid = self.columns.grid(g, rule);
        frames.map(|t| grid.sample(Line { speed: segment.speed, intercept: segment.offset }, i64::from(t)).max(0) as u32).collect()
    }

    /// Samples per second of the benchmark video that sequence `v` belongs to (its phases).
    pub fn phases_of(&self, v: u32) -> u32 {
        self.columns.group(self.columns.group_of(v)).len() as u32
    }
}
