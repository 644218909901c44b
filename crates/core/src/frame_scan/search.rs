//! How a training video is run against the benchmark side: the variants it is compared on, the
//! frame scan's candidates (split over the cores for large scans), the exact path and hnswlib's
//! candidates, and the verification of what they find.

use super::kernels::close_pairs;
use super::votes::{line_votes, sampling_for, votes_at, LineScratch, LineVotes};
use super::FrameScan;
use crate::matching::{
    exact_lines, exact_scan, select_segments_by, verify_candidates, verify_line, verify_offset, InvalidInput, Line, MatchParams, Phased, Segment,
    Sequence, Variant,
};
use crate::regions::MAX_REGIONS;

/// Scans over fewer kept frames than this run on the calling thread (a thread costs more than
/// the scan); larger ones use up to `MAX_THREADS` cores.
const PARALLEL_KEYS: usize = 1 << 18;
const MAX_THREADS: usize = 8;

/// The compared training frames (hashes, frame numbers) per sampling step; index 0 unused.
pub(super) type Queries = [(Vec<u64>, Vec<u32>); 3];

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
    /// (`with_prefilter` not called), or outside the tables' range, the frame scan.
    Prefilter,
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

/// One training column compared with one benchmark column, as `variant`.
type Query<'s> = (&'s Sequence<'s>, usize, Variant);

/// A training video's active-region columns checked against its `train_len` frames: at most
/// `MAX_REGIONS`, each one hash per frame with flags empty or one per frame.
pub fn check_regions(train_len: usize, regions: &[Sequence]) -> Result<(), InvalidInput> {
    if regions.len() > MAX_REGIONS {
        return Err(InvalidInput(format!("at most {MAX_REGIONS} active regions per training video, got {}", regions.len())));
    }
    for r in regions {
        if r.hashes.len() != train_len {
            return Err(InvalidInput("train region hashes must be one per frame".into()));
        }
        check_train(r.hashes, None, r.informative)?;
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
        self.match_with_regions(train, flips, inner, &[], rule, search)
    }

    /// `match_video`, with the hashes of the training video's active regions (`regions`, at most
    /// `MAX_REGIONS`, each one hash per frame with its own informative flags) also compared with
    /// the benchmark's whole-frame hashes (`Variant::Region`).
    pub fn match_with_regions(
        &self,
        train: &Sequence,
        flips: Option<&Sequence>,
        inner: Option<&Sequence>,
        regions: &[Sequence],
        rule: &MatchParams,
        search: Search,
    ) -> Result<Vec<Segment>, InvalidInput> {
        rule.validate()?;
        check_train(train.hashes, flips.map(|f| f.hashes), train.informative)?;
        if let Some(i) = inner {
            check_inner(train.len(), i.hashes, i.informative)?;
        }
        check_regions(train.len(), regions)?;
        let queries = self.variants(train, flips, inner, regions);
        Ok(select_segments_by(self.segments_of(&queries, rule, search), |v| self.columns.group_name(v)))
    }

    /// Every matching segment of `match_video`, before the best ones are selected.
    pub fn segments(&self, train: &Sequence, flips: Option<&Sequence>, inner: Option<&Sequence>, rule: &MatchParams, search: Search) -> Vec<Segment> {
        self.segments_of(&self.variants(train, flips, inner, &[]), rule, search)
    }

    /// Every matching segment of the training columns `queries` (`variants`).
    fn segments_of(&self, queries: &[Query], rule: &MatchParams, search: Search) -> Vec<Segment> {
        if let Search::Prefilter = search {
            if let Some(found) = self.prefilter_queries(queries, rule) {
                let mut out = Vec::new();
                for (&(seq, column, variant), groups) in queries.iter().zip(found) {
                    let found = self.candidates_of(seq, column as u32, rule, groups.iter().map(|&g| g as usize));
                    self.verify_found(found, seq, column, rule, variant, &mut out);
                }
                return out;
            }
            return self.segments_of(queries, rule, Search::Scan);
        }
        queries.iter().flat_map(|&(seq, column, variant)| self.compare(seq, column, rule, search, variant)).collect()
    }

    /// The benchmark videos the prefilter names for each variant (`variants`: direct, flipped
    /// when `flips`, cropped and inner when the scan holds those columns), or None (no tables, or
    /// out of their range).
    pub fn prefilter_groups(
        &self,
        train: &Sequence,
        flips: Option<&Sequence>,
        inner: Option<&Sequence>,
        rule: &MatchParams,
    ) -> Option<Vec<Vec<u32>>> {
        self.prefilter_queries(&self.variants(train, flips, inner, &[]), rule)
    }

    fn prefilter_queries(&self, queries: &[Query], rule: &MatchParams) -> Option<Vec<Vec<u32>>> {
        let tables = self.prefilter.as_ref()?;
        let queries: Vec<(&Sequence, usize)> = queries.iter().map(|&(seq, column, _)| (seq, column)).collect();
        tables.candidate_groups(&self.columns, &queries, rule)
    }

    /// Every (training sequence, benchmark column, variant) a training video is compared on: its
    /// hashes directly, its mirror (`flips`), its hashes against the center-crop and strip
    /// columns, its inner-half hashes (`inner`) against the inner column, each where both sides
    /// have them, and each of its active regions' hashes against the whole-frame column.
    fn variants<'s>(
        &self,
        train: &'s Sequence<'s>,
        flips: Option<&'s Sequence<'s>>,
        inner: Option<&'s Sequence<'s>>,
        regions: &'s [Sequence<'s>],
    ) -> Vec<Query<'s>> {
        let mut out = vec![(train, 0, Variant::Direct)];
        out.extend(flips.map(|f| (f, 0, Variant::Flipped)));
        out.extend(self.columns.crop_column().map(|c| (train, c, Variant::Cropped)));
        if let (Some(seq), Some(c)) = (inner, self.columns.inner()) {
            out.push((seq, c, Variant::Inner));
        }
        out.extend(self.columns.strip().map(|c| (train, c, Variant::Strip)));
        out.extend(regions.iter().enumerate().map(|(k, r)| (r, 0, Variant::Region(k as u8))));
        out
    }

    /// `seq` against the benchmark's `column`, the way `search` says. Slanted alignments (a rule
    /// with speeds) are searched by the scan and the exact path; hnswlib's candidates are straight.
    fn compare(&self, seq: &Sequence, column: usize, rule: &MatchParams, search: Search, variant: Variant) -> Vec<Segment> {
        match search {
            // `segments` resolves the prefilter before comparing; here it is the frame scan.
            Search::Scan | Search::Prefilter => {
                let mut out = Vec::new();
                let found = self.candidates(seq, column as u32, rule);
                self.verify_found(found, seq, column, rule, variant, &mut out);
                out
            }
            Search::Exact => {
                let mut out = exact_scan(seq, &self.columns.sequences(column), rule, variant);
                if !rule.speeds().is_empty() {
                    for g in 0..self.columns.group_count() {
                        let phases = self.columns.phases(column, g);
                        exact_lines(seq, Phased { phases: &phases }, self.columns.group(g).start as u32, rule, variant, &mut out);
                    }
                }
                out
            }
            Search::Candidates(c) => verify_candidates(seq, &self.columns.sequences(column), c, rule, variant),
        }
    }

    /// Verify the candidates the frame scan found for `seq` against `column`.
    fn verify_found(&self, found: Candidates, seq: &Sequence, column: usize, rule: &MatchParams, variant: Variant, out: &mut Vec<Segment>) {
        for (v, offset) in found.straight {
            verify_offset(seq, &self.columns.sequence(column, v as usize), v, offset, rule, variant, out);
        }
        let mut at: Option<(u32, Vec<Sequence>)> = None;
        for (g, line) in found.lines {
            if at.as_ref().is_none_or(|(a, _)| *a != g) {
                at = Some((g, self.columns.phases(column, g as usize)));
            }
            let phases = &at.as_ref().unwrap().1;
            let first = self.columns.group(g as usize).start as u32;
            verify_line(seq, Phased { phases }, self.columns.grid(g as usize, rule), first, line, rule, variant, out);
        }
    }

    /// Candidate alignments of `train` against `column`: every straight diagonal `(bench sequence,
    /// offset = train frame - bench frame)` and, for a rule with speeds, every slanted line
    /// `(benchmark video, line)` with enough close pairs that a window on it could match. Large
    /// scans are split over the CPU's cores by ranges of benchmark videos.
    pub fn candidates(&self, train: &Sequence, column: u32, rule: &MatchParams) -> Candidates {
        assert!((column as usize) < self.columns.count());
        let queries = self.queries(train);
        // Several scans at once (service jobs) oversubscribe the cores; giving each its share
        // instead did not raise throughput (bench/README.md, "Frame scan").
        let parts = if self.columns.column(column as usize).len() < PARALLEL_KEYS {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS)
        };
        self.candidates_split(train.len(), column, &queries, rule, parts)
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

    /// `candidates` over `parts` threads, each taking a contiguous range of benchmark videos.
    pub(super) fn candidates_split(&self, train_len: usize, column: u32, queries: &Queries, rule: &MatchParams, parts: usize) -> Candidates {
        let column = column as usize;
        let keys = self.columns.column(column);
        let groups = self.columns.group_count();
        if parts <= 1 {
            return self.candidates_in(0..groups, train_len, column, queries, rule);
        }
        // Contiguous video ranges holding about the same number of keys each.
        let starts: Vec<usize> = (0..groups).map(|g| self.columns.offset_of(self.columns.group(g).start)).collect();
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

    /// Candidates of the benchmark videos (groups) in `groups`: the kernel's close pairs of each
    /// video, counted per straight diagonal, and handed to `line_votes` for its slanted lines.
    fn candidates_in(
        &self,
        groups: impl Iterator<Item = usize>,
        train_len: usize,
        column: usize,
        queries: &Queries,
        rule: &MatchParams,
    ) -> Candidates {
        let (keys, flags) = (self.columns.column(column), self.columns.flags(column));
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
            let seqs = self.columns.group(g);
            let phases = seqs.len();
            let grid = self.columns.grid(g, rule);
            let fine_len = self.columns.samples(g);
            // The window of every alignment family of this video: its straight sequences', and each
            // speed's (the training frames a line spans across the video).
            let straight_w: Vec<Option<u32>> = seqs.clone().map(|v| rule.window_for(train_len, self.columns.length(v) as usize)).collect();
            let line_w: Vec<Option<u32>> = speeds.iter().map(|&sp| rule.window_for(train_len, grid.frames_at(sp, fine_len))).collect();
            // One sampling for the whole video: every second training frame when that leaves a close
            // pair in every matching window of every family, else every frame.
            let step = if straight_w.iter().chain(&line_w).flatten().all(|&w| sampling_for(rule, w).step == 2) { 2 } else { 1 };
            let (q_hashes, q_frames) = &queries[step];
            let slanted = line_w.iter().any(Option::is_some);
            fine_pairs.clear();
            for (p, v) in seqs.enumerate() {
                let b_len = self.columns.length(v) as usize;
                let (lo, hi) = (self.columns.offset_of(v), self.columns.offset_of(v + 1));
                pairs.clear();
                close_pairs(&keys[lo..hi], q_hashes, rule.max_distance, self.kernel, &mut pairs);
                // An uninformative benchmark frame never matches: its close pairs are no evidence.
                if !flags.is_empty() {
                    pairs.retain(|&(_, k)| flags[lo + k as usize] != 0);
                }
                if slanted {
                    fine_pairs.extend(pairs.iter().map(|&(q, k)| (i64::from(q_frames[q as usize]), k as i64 * phases as i64 + p as i64)));
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
                let at = LineVotes {
                    g,
                    keys,
                    flags,
                    phase_starts: self.columns.phase_starts(g),
                    train: &train_at,
                    grid,
                    fine_len,
                    train_len,
                    speeds: &speeds,
                    line_w: &line_w,
                    step,
                };
                line_votes(self.kernel, &at, rule, &fine_pairs, &mut scratch, &mut out.lines);
            }
        }
        out
    }
}
