//! The benchmark side of a scan: its hash columns and informative flags, video after video, and
//! how its sequences form benchmark videos. Everything that searches the benchmark (the scan, the
//! exact path, verification, the prefilter's tables) reads it through these methods.

use crate::matching::{InvalidInput, LineGrid, MatchParams, Sequence};
use std::ops::Range;

/// One or more hash columns per frame (whole-frame hashes, center-crop hashes for cropped copies,
/// inner-half hashes for copies under overlays), video after video, with each frame's informative
/// flag (the inner-half column has its own).
pub(super) struct Columns {
    /// Per column: every frame's hash, video after video: what the scan's loop reads, and what
    /// verification reads.
    hashes: Vec<Vec<u64>>,
    /// Per frame: 1 when informative; empty when every frame is. The scan compares uninformative
    /// frames too (one pass over contiguous hashes) and drops their close pairs before voting.
    informative: Vec<u8>,
    /// The column of inner-half hashes (`add_inner`), when held: compared with the training
    /// video's own inner-half hashes (`Variant::Inner`).
    inner: Option<usize>,
    /// The column of center-crop hashes, when held (column 1 of `build`).
    crop: Option<usize>,
    /// The column of central 9:16 strip hashes (`add_strip`), when held: compared with the
    /// training video's whole-frame hashes (`Variant::Strip`, a portrait crop of the benchmark).
    /// Its frames are informative when the whole frame is (a flat strip of an informative frame
    /// hashes far from any informative training frame: it never matches one).
    strip: Option<usize>,
    /// Per frame: 1 when its inner half is informative (a flat center never matches), for the
    /// inner column; empty when every frame's is.
    inner_informative: Vec<u8>,
    /// First frame of each sequence in the columns (`videos + 1` entries).
    offsets: Vec<usize>,
    /// Frames of each sequence, kept or not (the alignments' range).
    lengths: Vec<u32>,
    /// The benchmark video each sequence belongs to (the sub-second phases of one video are
    /// sequences of their own); empty: every sequence is its own video.
    groups: Vec<u32>,
    /// First sequence of each benchmark video (`videos + 1` entries with the end): its sequences
    /// are consecutive, and they are its phases in order.
    group_starts: Vec<usize>,
}

impl Columns {
    /// Own `columns` (each one hash per frame, videos back to back with `lengths`; column 1, when
    /// given, holds the center-crop hashes) with their `informative` flags (empty: all).
    pub fn build(columns: &[&[u64]], informative: &[u8], lengths: &[u32]) -> Result<Columns, InvalidInput> {
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
        Ok(Columns {
            hashes: columns.iter().map(|c| c.to_vec()).collect(),
            informative: informative.to_vec(),
            offsets,
            lengths: lengths.to_vec(),
            inner: None,
            crop: (columns.len() == 2).then_some(1),
            strip: None,
            inner_informative: Vec::new(),
            groups: Vec::new(),
            group_starts: (0..=lengths.len()).collect(),
        })
    }

    /// Add the inner-half hashes of every frame (one per frame) with their own informative flags
    /// (empty: all), as a column of their own.
    pub fn add_inner(&mut self, hashes: &[u64], informative: &[u8]) -> Result<(), InvalidInput> {
        if self.inner.is_some() {
            return Err(InvalidInput("the scan already holds inner-half hashes".into()));
        }
        if hashes.len() != self.frames() {
            return Err(InvalidInput(format!("{} inner-half hashes for {} bench frames (one per frame is needed)", hashes.len(), self.frames())));
        }
        if !informative.is_empty() && informative.len() != self.frames() {
            return Err(InvalidInput("bench inner-half informative flags must be empty or one per frame".into()));
        }
        self.hashes.push(hashes.to_vec());
        self.inner = Some(self.hashes.len() - 1);
        self.inner_informative = informative.to_vec();
        Ok(())
    }

    /// Add the central 9:16 strip hashes of every frame (one per frame), as a column of their own
    /// with the whole frames' informative flags.
    pub fn add_strip(&mut self, hashes: &[u64]) -> Result<(), InvalidInput> {
        if self.strip.is_some() {
            return Err(InvalidInput("the scan already holds strip hashes".into()));
        }
        if hashes.len() != self.frames() {
            return Err(InvalidInput(format!("{} strip hashes for {} bench frames (one per frame is needed)", hashes.len(), self.frames())));
        }
        self.hashes.push(hashes.to_vec());
        self.strip = Some(self.hashes.len() - 1);
        Ok(())
    }

    /// Say which benchmark video each sequence belongs to (one per sequence; see
    /// `FrameScan::with_groups`), checking that a video's sequences are consecutive phases.
    pub fn set_groups(&mut self, groups: &[u32]) -> Result<(), InvalidInput> {
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
        Ok(())
    }

    /// Hash columns held.
    pub fn count(&self) -> usize {
        self.hashes.len()
    }

    /// Every frame's hash in `column`, video after video.
    pub fn column(&self, column: usize) -> &[u64] {
        &self.hashes[column]
    }

    /// The informative flags of `column`'s frames (empty: every frame is informative).
    pub fn flags(&self, column: usize) -> &[u8] {
        if self.inner == Some(column) {
            &self.inner_informative
        } else {
            &self.informative
        }
    }

    /// The column of inner-half hashes, when held.
    pub fn inner(&self) -> Option<usize> {
        self.inner
    }

    /// The column of center-crop hashes, when held.
    pub fn crop_column(&self) -> Option<usize> {
        self.crop
    }

    /// The column of central strip hashes, when held.
    pub fn strip(&self) -> Option<usize> {
        self.strip
    }

    /// Sequences held.
    pub fn videos(&self) -> usize {
        self.lengths.len()
    }

    /// Frames per column, kept or not (the sum of the lengths).
    pub fn frames(&self) -> usize {
        self.offsets[self.videos()]
    }

    /// Position of sequence `v`'s first frame in the columns (`videos()`: the end).
    pub fn offset_of(&self, v: usize) -> usize {
        self.offsets[v]
    }

    /// Frames of sequence `v`.
    pub fn length(&self, v: usize) -> u32 {
        self.lengths[v]
    }

    /// Benchmark videos (groups of sequences).
    pub fn group_count(&self) -> usize {
        self.group_starts.len() - 1
    }

    /// The sequences of benchmark video `g` (its phases, in order).
    pub fn group(&self, g: usize) -> Range<usize> {
        self.group_starts[g]..self.group_starts[g + 1]
    }

    /// Where each phase of benchmark video `g` starts in the columns.
    pub fn phase_starts(&self, g: usize) -> &[usize] {
        &self.offsets[self.group(g)]
    }

    /// Samples of benchmark video `g` (every phase).
    pub fn samples(&self, g: usize) -> usize {
        let seqs = self.group(g);
        self.offsets[seqs.end] - self.offsets[seqs.start]
    }

    /// The benchmark video (group) of sequence `v`.
    pub fn group_of(&self, v: u32) -> usize {
        self.group_starts.partition_point(|&s| s <= v as usize) - 1
    }

    /// The caller's name of the benchmark video sequence `v` belongs to (`set_groups`; without
    /// groups, `v`).
    pub fn group_name(&self, v: u32) -> u32 {
        self.groups.get(v as usize).copied().unwrap_or(v)
    }

    /// Benchmark video `v`'s sequence in `column`.
    pub fn sequence(&self, column: usize, v: usize) -> Sequence<'_> {
        let (a, b) = (self.offsets[v], self.offsets[v + 1]);
        let flags = self.flags(column);
        let info: &[u8] = if flags.is_empty() { &[] } else { &flags[a..b] };
        Sequence::new(&self.hashes[column][a..b], info)
    }

    /// Every benchmark video's sequence in `column`.
    pub fn sequences(&self, column: usize) -> Vec<Sequence<'_>> {
        (0..self.videos()).map(|v| self.sequence(column, v)).collect()
    }

    /// Benchmark video `g`'s phases in `column`.
    pub fn phases(&self, column: usize, g: usize) -> Vec<Sequence<'_>> {
        self.group(g).map(|v| self.sequence(column, v)).collect()
    }

    /// The line grid of benchmark video `g` (its phases per second) under `rule`.
    pub fn grid(&self, g: usize, rule: &MatchParams) -> LineGrid {
        LineGrid { phases: self.group(g).len() as u32, q: rule.speed_intercepts }
    }

    /// Entries that can match (informative frames x columns).
    pub fn entries(&self) -> usize {
        (0..self.hashes.len())
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

    /// Bytes held: the hash columns and informative flags, and the per-video tables.
    pub fn heap_bytes(&self) -> usize {
        self.hashes.iter().map(|k| k.capacity() * 8).sum::<usize>()
            + self.informative.capacity()
            + self.inner_informative.capacity()
            + (self.lengths.capacity() + self.groups.capacity()) * 4
            + self.offsets.capacity() * std::mem::size_of::<usize>()
    }
}
