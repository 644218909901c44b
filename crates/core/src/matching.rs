//! Aligned-window verification of 1 fps hash sequences (appendix A.5 of the paper, and the
//! default preset's refinements), plus the exact all-offsets scan used by `--exact` and to measure
//! the index's recall. Both paths share `verify_offset`, so they cannot disagree on the rule.
//!
//! The parts: `rule` (the window rule, `MatchParams`), `lines` (slanted alignments: `Line`,
//! `LineGrid`, a video's phases), `verify` (one alignment's matching windows, and the exact path
//! over every alignment) and `select` (the best segments per stretch of the training video).

mod lines;
mod rule;
mod select;
#[cfg(test)]
mod tests;
mod verify;

pub use lines::{Line, LineGrid, Phased};
pub use rule::{MatchParams, WindowRule};
pub use select::{select_segments, select_segments_by};
pub use verify::{exact_lines, exact_scan, verify_candidates, verify_line, verify_offset};

/// Input the core refuses (a rule out of range, columns of different lengths), with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidInput(pub String);

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}

/// One video's hash sequence. `informative[i] == false` frames (black, uniform, fades) never count
/// as matching frames; an empty slice means every frame is informative.
#[derive(Clone, Copy, Debug)]
pub struct Sequence<'a> {
    pub hashes: &'a [u64],
    pub informative: &'a [u8],
}

impl<'a> Sequence<'a> {
    pub fn new(hashes: &'a [u64], informative: &'a [u8]) -> Self {
        debug_assert!(informative.is_empty() || informative.len() == hashes.len());
        Sequence { hashes, informative }
    }
    pub fn len(&self) -> usize {
        self.hashes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
    fn informative(&self, i: usize) -> bool {
        self.informative.is_empty() || self.informative[i] != 0
    }
}

/// A run of matching aligned windows between a training and a benchmark video.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// Index of the benchmark sequence in the caller's list (a slanted segment: the first sequence
    /// of its benchmark video, see `speed`).
    pub bench_video: u32,
    /// Straight alignment (`speed == SPEED_UNIT`): train frame index minus bench frame index along
    /// the matched diagonal. Slanted: the line's intercept (`Line::intercept`).
    pub offset: i64,
    /// Matched frame ranges, [start, end), trimmed to the first and last matching frame. A slanted
    /// segment counts benchmark samples of its video (`LineGrid`: all phases interleaved, `phases`
    /// per second), and its end is the sample the line reaches at `train_end`.
    pub train_start: u32,
    pub train_end: u32,
    pub bench_start: u32,
    pub bench_end: u32,
    /// Matching frames in the best window of the run, and that window's length.
    pub matched_frames: u32,
    pub window_frames: u32,
    /// Mean Hamming distance over the matching frames of the best window.
    pub mean_distance: f32,
    /// Start (train frame) of the best window.
    pub best_train_start: u32,
    /// Strength of the best window's evidence: over its matching frames, the sum of
    /// `max_distance + 1 - distance` (more matching frames and closer ones score higher).
    pub score: u32,
    /// How the pair was compared (a mirrored or a cropped copy, or directly).
    pub variant: Variant,
    /// Benchmark seconds per training second, in units of `1 / SPEED_UNIT` (`SPEED_UNIT`: a
    /// straight alignment).
    pub speed: u32,
}

impl Segment {
    /// Whether the segment lies on a slanted alignment (a copy played faster or slower).
    pub fn slanted(&self) -> bool {
        self.speed != SPEED_UNIT
    }
}

/// Which hashes were compared: train hashes against bench hashes (`Direct`), train flip hashes
/// against bench hashes (`Flipped`: a mirrored copy), train hashes against the hashes of the
/// bench frames' central part (`Cropped`: a copy cropped at the edges), or the inner half of both
/// frames (`Inner`: a copy with a logo, a caption or boxes over its edges, which the inner half
/// leaves out), train hashes against the hashes of the bench frames' central 9:16 strip (`Strip`:
/// a portrait crop of a landscape benchmark video), or the hashes of one of the training video's
/// active regions against bench hashes (`Region(k)`, k = 0 the main picture, 1 an inset: the
/// benchmark footage fills only part of the training video's frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    Direct,
    Flipped,
    Cropped,
    Inner,
    Strip,
    Region(u8),
}

impl Variant {
    /// Compares part of the benchmark's picture (its inner half, or a strip): such hashes meet
    /// unrelated frames within the threshold more often than whole pictures do.
    pub fn partial_bench(self) -> bool {
        matches!(self, Variant::Inner | Variant::Strip)
    }
}

/// Speeds count in units of 1/10000 (a 4% speed-up is 10400).
pub const SPEED_UNIT: u32 = 10_000;
