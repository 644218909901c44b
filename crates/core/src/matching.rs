//! Aligned-window verification of 1 fps hash sequences (appendix A.5 of the paper, and the
//! default preset's refinements), plus the exact all-offsets scan used by `--exact` and to measure
//! the index's recall. Both paths share `verify_offset`, so they cannot disagree on the rule.

/// Rule for calling two aligned windows the same content.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatchParams {
    /// Window length in frames (the paper: 20 frames = 20 s at 1 fps).
    pub window: u32,
    /// When either video is shorter than `window`, match with a window as long as the shorter
    /// video, but only if it has at least this many frames; 0 disables short-video matching.
    pub min_window: u32,
    /// A frame pair matches when its Hamming distance is at most this (the paper: 30).
    pub max_distance: u32,
    /// A window matches when at least this fraction of its frames match (the paper: 0.7).
    pub min_fraction: f64,
    /// Fraction of the window's aligned pairs that must be informative on both sides for the
    /// window to be considered at all (0 in the paper preset).
    pub min_informative: f64,
    /// Evidence must come from at least this many distinct bench frames (0: off). A static shot
    /// repeats one picture for many seconds, so its matching frames are one piece of evidence
    /// counted many times; one chance coincidence of two still shots would otherwise match.
    pub min_distinct: u32,
    /// Matching bench frames count as distinct when they differ from the previous counted one by
    /// more than this many bits.
    pub distinct_bits: u32,
    /// A window short of distinct evidence still matches when its matching frames are this close
    /// on average (a genuine copy of a still shot is near-identical).
    pub static_max_mean: f64,
    /// Copies played faster or slower: besides the straight alignments (speed 1), slanted ones at
    /// speeds `1 +- k * speed_step` for `k = 1 ..= speed_range / speed_step` (0: straight only).
    /// See `Line`.
    pub speed_range: f64,
    pub speed_step: f64,
    /// Intercepts of slanted alignments per benchmark sample step (see `LineGrid`).
    pub speed_intercepts: u32,
    /// A window on a slanted alignment also needs its matching frames at most this far apart on
    /// average (64: no further condition). Slanted alignments are ~40 times as many as straight
    /// ones, so chance windows find one ~40 times as often; measured, those sit at 13-19 bits on
    /// average, copies played faster or slower at 0-9 (bench/README.md, "Speed changes").
    pub speed_max_mean: f64,
    /// Short excerpts: a window of `short_window` frames (shorter than `window`) also matches when
    /// at least `short_fraction` of its frames are within `max_distance` and their mean distance
    /// is at most `short_max_mean`, under the same informative-share and distinct-evidence rules
    /// (0: off). A 12-s excerpt of a long benchmark video cannot fill 70% of a 20-frame window.
    pub short_window: u32,
    pub short_fraction: f64,
    pub short_max_mean: f64,
}

/// One window rule an alignment is verified under: its length, the matching frames it needs,
/// informative pairs, and the largest mean distance of its matching frames.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowRule {
    pub len: u32,
    pub needed: u32,
    pub needed_good: u32,
    pub max_mean: f64,
}

impl MatchParams {
    /// Appendix A.5 literally: 20-frame windows, >= 70% of frames at distance <= 30.
    pub const PAPER: MatchParams = MatchParams {
        window: 20,
        min_window: 0,
        max_distance: 30,
        min_fraction: 0.7,
        min_informative: 0.0,
        min_distinct: 0,
        distinct_bits: 0,
        static_max_mean: 64.0,
        speed_range: 0.0,
        speed_step: 0.0,
        speed_intercepts: 0,
        speed_max_mean: 64.0,
        short_window: 0,
        short_fraction: 1.0,
        short_max_mean: 64.0,
    };

    /// Check the rule's ranges: a window of 1..=10000 frames, a short-video floor no longer than
    /// the window, at most 64 bits, a fraction in (0, 1] and an informative share in [0, 1].
    pub fn validate(&self) -> Result<(), InvalidInput> {
        if self.window == 0 || self.window > 10_000 {
            return Err(InvalidInput(format!("window must be 1..10000, got {}", self.window)));
        }
        if self.min_window > self.window {
            return Err(InvalidInput("minWindow must not exceed window".into()));
        }
        if self.max_distance > 64 {
            return Err(InvalidInput(format!("maxDistance must be 0..64, got {}", self.max_distance)));
        }
        if !(self.min_fraction > 0.0 && self.min_fraction <= 1.0 && (0.0..=1.0).contains(&self.min_informative)) {
            return Err(InvalidInput("minFraction must be in (0, 1] and minInformative in [0, 1]".into()));
        }
        if self.static_max_mean.is_nan() || self.static_max_mean < 0.0 {
            return Err(InvalidInput(format!("staticMaxMean must be >= 0, got {}", self.static_max_mean)));
        }
        if self.speed_max_mean.is_nan() || self.speed_max_mean < 0.0 {
            return Err(InvalidInput(format!("speedMaxMean must be >= 0, got {}", self.speed_max_mean)));
        }
        if self.short_window > 0 {
            if self.short_window >= self.window {
                return Err(InvalidInput(format!("shortWindow must be below window, got {}", self.short_window)));
            }
            if !(self.short_fraction > 0.0 && self.short_fraction <= 1.0) || self.short_max_mean.is_nan() || self.short_max_mean < 0.0 {
                return Err(InvalidInput("shortFraction must be in (0, 1] and shortMaxMean >= 0".into()));
            }
        }
        if !(0.0..=0.5).contains(&self.speed_range) {
            return Err(InvalidInput(format!("speedRange must be in [0, 0.5], got {}", self.speed_range)));
        }
        if self.speed_range > 0.0 {
            let step = self.speed_step * f64::from(SPEED_UNIT);
            if !(step >= 1.0 && (step - step.round()).abs() < 1e-6) || self.speed_range / self.speed_step > 500.0 {
                return Err(InvalidInput(format!(
                    "speedStep must be a multiple of 1/{SPEED_UNIT}, at least speedRange/500, got {}",
                    self.speed_step
                )));
            }
            if !(1..=16).contains(&self.speed_intercepts) {
                return Err(InvalidInput(format!("speedIntercepts must be 1..16, got {}", self.speed_intercepts)));
            }
        }
        Ok(())
    }

    /// The speeds of slanted alignments, in units of `1 / SPEED_UNIT`, ascending (speed 1, the
    /// straight alignments, is not among them); empty when `speed_range` is 0.
    pub fn speeds(&self) -> Vec<u32> {
        if self.speed_range <= 0.0 || self.speed_step <= 0.0 {
            return Vec::new();
        }
        let step = (self.speed_step * f64::from(SPEED_UNIT)).round() as i64;
        let k = (self.speed_range / self.speed_step + 1e-9).floor() as i64;
        (-k..=k).filter(|&j| j != 0).map(|j| (i64::from(SPEED_UNIT) + j * step) as u32).collect()
    }

    /// Matching frames a window of `len` frames needs (ceil, so 70% of 20 is 14, not 13).
    pub fn needed(&self, len: u32) -> u32 {
        ((self.min_fraction * f64::from(len)) - 1e-9).ceil().max(1.0) as u32
    }

    /// The window rules of an alignment whose window is `w` frames (`window_for`): that window,
    /// then, on a straight alignment, the short-excerpt window when it is on and shorter. `max_mean`
    /// caps the first's mean distance (64 on straight alignments, `speed_max_mean` on slanted
    /// ones). Short excerpts are matched at their own speed only: along slanted lines they would
    /// lower the lines' candidate bound from 14 votes to 9 and cost the scan about a third more
    /// (bench/README.md, "Short excerpts").
    ///
    /// An iterator, not a list: verification asks for the rules of every alignment it checks.
    pub fn window_rules(&self, w: u32, max_mean: f64, slanted: bool) -> impl Iterator<Item = WindowRule> {
        let main = WindowRule { len: w, needed: self.needed(w), needed_good: self.needed_informative(w), max_mean };
        let short = (self.short_window > 0 && self.short_window < w && !slanted).then(|| {
            let ws = self.short_window;
            let needed = ((self.short_fraction * f64::from(ws)) - 1e-9).ceil().max(1.0) as u32;
            WindowRule { len: ws, needed, needed_good: self.needed_informative(ws), max_mean: max_mean.min(self.short_max_mean) }
        });
        std::iter::once(main).chain(short)
    }

    /// The window rules of a `w`-frame alignment as `(window length, matching frames a matching
    /// window of that rule holds at least)`: what the frame scan's candidate bounds count
    /// (`frame_scan::votes_at`), and the early exit of verification.
    pub fn window_bounds(&self, w: u32, slanted: bool) -> impl Iterator<Item = (u32, u32)> {
        self.window_rules(w, 64.0, slanted).map(|r| (r.len, r.needed.min(r.len)))
    }

    /// The shortest window of the rules of a `w`-frame alignment: an alignment overlapping by
    /// fewer frames cannot match.
    pub fn shortest_window(&self, w: u32, slanted: bool) -> u32 {
        self.window_rules(w, 64.0, slanted).map(|r| r.len).min().unwrap_or(w)
    }

    fn needed_informative(&self, len: u32) -> u32 {
        ((self.min_informative * f64::from(len)) - 1e-9).ceil().max(0.0) as u32
    }

    /// Window length used for two videos of these lengths, or None when they cannot match.
    pub fn window_for(&self, a_len: usize, b_len: usize) -> Option<u32> {
        let shorter = a_len.min(b_len);
        if shorter >= self.window as usize {
            Some(self.window)
        } else if self.min_window > 0 && shorter >= self.min_window as usize {
            Some(shorter as u32)
        } else {
            None
        }
    }
}

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
/// leaves out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    Direct,
    Flipped,
    Cropped,
    Inner,
}

/// Speeds count in units of 1/10000 (a 4% speed-up is 10400).
pub const SPEED_UNIT: u32 = 10_000;

/// A slanted alignment: training frame `i` (at `i` seconds) meets the benchmark at `b0 + s * i`
/// seconds for a speed `s = speed / SPEED_UNIT` (a copy played faster has s > 1: more benchmark
/// time passes per training second). `intercept` is `b0` on a grid (`LineGrid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Line {
    pub speed: u32,
    pub intercept: i64,
}

/// How slanted lines meet a benchmark video sampled at `phases` samples per second (sample `k` at
/// `k / phases` s; the sub-second phases interleaved), intercepts on a grid of `1 / q` sample.
///
/// Line `(s, c)` lies at `x(i) = c / q + phases * s * i` samples at training frame `i`, and meets
/// the nearest sample, `k(i) = floor(x(i) + 1/2)`. How far that sample is from a copy at speed
/// `s*` starting at `b0`, within a window of `w` frames, for the best line of the grid (speeds
/// `step` apart, s* within the range): at most `1/2` sample (rounding to the nearest sample) +
/// `1 / (2q)` sample (the intercept grid) + `phases * step/2 * (w-1)/2` samples (the speed grid's
/// drift from the window's middle to its ends), i.e. in seconds
/// `1/(2P) + 1/(2Pq) + step (w-1) / 4`: 0.125 + 0.0625 + 0.0475 = 0.235 s for 4 phases, q = 2,
/// steps of 0.01 and 20-frame windows (at the straight alignments, 0.125 s). Every copy whose speed
/// is within the range is therefore compared, along some line, with benchmark samples at most that
/// far from the frames it shows (test `slanted_lines_stay_near_every_speed_in_the_range`).
///
/// Integer arithmetic throughout (the exact path and the scan must agree on every sample):
/// `k(i) = floor((2cU + qU + 2Pqn i) / (2qU))` with `U = SPEED_UNIT`, `n = speed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineGrid {
    pub phases: u32,
    pub q: u32,
}

impl LineGrid {
    const U: i64 = SPEED_UNIT as i64;

    fn den(&self) -> i64 {
        2 * i64::from(self.q) * Self::U
    }

    fn num(&self, line: Line, i: i64) -> i64 {
        2 * line.intercept * Self::U + i64::from(self.q) * Self::U + self.slope(line.speed) * i
    }

    /// `num`'s growth per training frame.
    fn slope(&self, speed: u32) -> i64 {
        2 * i64::from(self.phases) * i64::from(self.q) * i64::from(speed)
    }

    /// The benchmark sample line `line` meets at training frame `i`.
    pub fn sample(&self, line: Line, i: i64) -> i64 {
        self.num(line, i).div_euclid(self.den())
    }

    /// Lines at `speed` through training frame `i` and benchmark sample `k` are exactly the `q`
    /// intercepts from this one on (the intercept range that rounds to `k` is `q` long).
    pub fn first_intercept(&self, speed: u32, i: i64, k: i64) -> i64 {
        let a = k * self.den() - i64::from(self.q) * Self::U - self.slope(speed) * i;
        -((-a).div_euclid(2 * Self::U))
    }

    /// Training frames `[first, end)` of a `t_len`-frame video at which `line` meets one of
    /// `fine_len` benchmark samples.
    pub fn span(&self, line: Line, t_len: usize, fine_len: usize) -> (usize, usize) {
        let slope = self.slope(line.speed);
        let base = 2 * line.intercept * Self::U + i64::from(self.q) * Self::U;
        let ceil_div = |a: i64| -((-a).div_euclid(slope));
        let first = ceil_div(-base).clamp(0, t_len as i64);
        let end = ceil_div(fine_len as i64 * self.den() - base).clamp(0, t_len as i64);
        (first as usize, end.max(first) as usize)
    }

    /// The intercepts of every line at `speed` that meets the benchmark within `t_len` frames.
    pub fn intercepts(&self, speed: u32, t_len: usize, fine_len: usize) -> std::ops::RangeInclusive<i64> {
        let lo = self.first_intercept(speed, t_len as i64 - 1, 0);
        let hi = self.first_intercept(speed, 0, fine_len as i64 - 1) + i64::from(self.q) - 1;
        lo..=hi
    }

    /// Training frames one line spans across a benchmark video of `fine_len` samples, rounded down
    /// (its window length, like the frame count of a straight alignment).
    pub fn frames_at(&self, speed: u32, fine_len: usize) -> usize {
        (fine_len as u64 * u64::from(SPEED_UNIT) / (u64::from(self.phases) * u64::from(speed))) as usize
    }
}

/// One benchmark video as its sub-second phases (`phases[j]`'s frame `m` is sample `m * P + j`,
/// at `m + j / P` seconds), for slanted alignments: sample `k` is `phases[k % P]`'s frame `k / P`.
#[derive(Clone, Copy, Debug)]
pub struct Phased<'s, 'a> {
    pub phases: &'s [Sequence<'a>],
}

impl Phased<'_, '_> {
    /// Samples of the video (every phase).
    pub fn len(&self) -> usize {
        self.phases.iter().map(|p| p.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn at(&self, k: usize) -> (u64, bool) {
        let p = &self.phases[k % self.phases.len()];
        let m = k / self.phases.len();
        (p.hashes[m], p.informative(m))
    }
}

/// Per aligned pair: matching?, informative on both sides?, distance.
struct Aligned {
    matched: Vec<bool>,
    good: Vec<bool>,
    dist: Vec<u32>,
    /// The benchmark hash of each pair (read by the distinct-evidence rule).
    bench: Vec<u64>,
}

impl Aligned {
    fn with_capacity(n: usize) -> Aligned {
        Aligned { matched: Vec::with_capacity(n), good: Vec::with_capacity(n), dist: Vec::with_capacity(n), bench: Vec::with_capacity(n) }
    }

    /// One aligned pair at distance `d`, informative on both sides or not (`good`).
    fn push(&mut self, d: u32, good: bool, bench: u64, params: &MatchParams) {
        self.good.push(good);
        self.matched.push(good && d <= params.max_distance);
        self.dist.push(d);
        self.bench.push(bench);
    }
}

/// A run of matching windows: (first window, best window, its matching frames, its distance sum)
/// and the end (exclusive) of its last window, in aligned-pair indices.
type Run = ((usize, usize, u32, u32), usize);

/// Every run of consecutive matching windows of `w` pairs over `a`.
fn window_runs(a: &Aligned, rule: &WindowRule, params: &MatchParams) -> Vec<Run> {
    let overlap = a.matched.len();
    let w = rule.len as usize;
    let (needed, needed_good, max_mean) = (rule.needed, rule.needed_good, rule.max_mean);
    let (matched, good, dist) = (&a.matched, &a.good, &a.dist);
    // Sliding sums over the window.
    let mut m_sum: u32 = matched[..w].iter().map(|&m| m as u32).sum();
    let mut g_sum: u32 = good[..w].iter().map(|&g| g as u32).sum();
    let mut d_sum: u32 = (0..w).filter(|&k| matched[k]).map(|k| dist[k]).sum();
    let mut run: Option<(usize, usize, u32, u32)> = None; // (first k, best k, best m, best d)
    let mut out = Vec::new();
    let windows = overlap - w + 1;
    for k in 0..windows {
        if k > 0 {
            let (out_k, in_k) = (k - 1, k + w - 1);
            m_sum = m_sum - matched[out_k] as u32 + matched[in_k] as u32;
            g_sum = g_sum - good[out_k] as u32 + good[in_k] as u32;
            if matched[out_k] {
                d_sum -= dist[out_k];
            }
            if matched[in_k] {
                d_sum += dist[in_k];
            }
        }
        let ok = m_sum >= needed
            && g_sum >= needed_good
            && f64::from(d_sum) <= max_mean * f64::from(m_sum)
            && enough_evidence(&a.bench[k..k + w], &matched[k..k + w], m_sum, d_sum, params);
        match (&mut run, ok) {
            (None, true) => run = Some((k, k, m_sum, d_sum)),
            (Some(r), true) => {
                // Best window: most matching frames, then the smallest total distance.
                if m_sum > r.2 || (m_sum == r.2 && d_sum < r.3) {
                    *r = (r.0, k, m_sum, d_sum);
                }
            }
            (Some(_), false) => out.push((run.take().unwrap(), k - 1 + w)),
            (None, false) => {}
        }
    }
    if let Some(r) = run {
        out.push((r, windows - 1 + w));
    }
    out
}

/// Runs of matching windows under each of the rules (`MatchParams::window_rules`), with their
/// window length: every run of the first (the main window), then the short-excerpt runs that
/// overlap none of those (a copy long enough for the main window is reported by it, over its whole
/// length, not by a short window inside it).
fn runs_by_rule(a: &Aligned, w: u32, params: &MatchParams, max_mean: f64, slanted: bool) -> Vec<(Run, usize)> {
    let mut out: Vec<(Run, usize)> = Vec::new();
    for (n, rule) in params.window_rules(w, max_mean, slanted).enumerate() {
        if rule.len as usize > a.matched.len() {
            continue;
        }
        let main_runs = out.len();
        for run in window_runs(a, &rule, params) {
            let (start, end) = (run.0 .0, run.1);
            if n > 0 && out[..main_runs].iter().any(|((m, m_end), _)| m.0 < end && start < *m_end) {
                continue;
            }
            out.push((run, rule.len as usize));
        }
    }
    out
}

/// Verify one alignment (diagonal) of `train` against `bench`, appending every run of consecutive
/// matching windows as a segment.
pub fn verify_offset(
    train: &Sequence,
    bench: &Sequence,
    bench_video: u32,
    offset: i64,
    params: &MatchParams,
    variant: Variant,
    out: &mut Vec<Segment>,
) {
    let Some(w) = params.window_for(train.len(), bench.len()) else { return };
    let w = w as usize;
    let t_len = train.len() as i64;
    let b_len = bench.len() as i64;
    let first = offset.max(0);
    let last = t_len.min(b_len + offset); // exclusive, train coordinates
    if last - first < params.shortest_window(w as u32, false) as i64 {
        return;
    }
    let overlap = (last - first) as usize;
    let first = first as usize;
    let bench_first = (first as i64 - offset) as usize;
    let needed = params.window_bounds(w as u32, false).map(|b| b.1).min().unwrap_or(0);

    // Most alignments of unrelated videos have almost no frame within the distance: count them in
    // a tight loop first (an upper bound of the window's matching frames, informative or not) and
    // skip the alignment when even the whole overlap holds fewer than any window rule needs.
    let close = train.hashes[first..first + overlap]
        .iter()
        .zip(&bench.hashes[bench_first..bench_first + overlap])
        .filter(|(a, b)| (**a ^ **b).count_ones() <= params.max_distance)
        .count();
    if (close as u32) < needed {
        return;
    }

    let mut a = Aligned::with_capacity(overlap);
    for k in 0..overlap {
        let (i, j) = (first + k, bench_first + k);
        let d = (train.hashes[i] ^ bench.hashes[j]).count_ones();
        a.push(d, train.informative(i) && bench.informative(j), bench.hashes[j], params);
    }
    for ((r, end), w) in runs_by_rule(&a, w as u32, params, 64.0, false) {
        let (lo, hi) = trimmed(r, end, &a.matched);
        out.push(make_segment(
            r,
            &a.matched,
            w,
            params.max_distance,
            Segment {
                bench_video,
                offset,
                train_start: (first + lo) as u32,
                train_end: (first + hi) as u32,
                bench_start: (bench_first + lo) as u32,
                bench_end: (bench_first + hi) as u32,
                best_train_start: (first + r.1) as u32,
                variant,
                speed: SPEED_UNIT,
                matched_frames: 0,
                window_frames: 0,
                mean_distance: 0.0,
                score: 0,
            },
        ));
    }
}

/// Verify one slanted alignment `line` of `train` against a benchmark video given as its phases,
/// under the same window rule as `verify_offset` (windows of `w` consecutive training frames, each
/// compared with the sample the line meets), appending every run of matching windows as a segment
/// reported against `bench_video` (the video's first sequence). The window is the rule's, or as long
/// as the training frames the line spans across a shorter benchmark video (`LineGrid::frames_at`).
#[allow(clippy::too_many_arguments)]
pub fn verify_line(
    train: &Sequence,
    bench: Phased,
    grid: LineGrid,
    bench_video: u32,
    line: Line,
    params: &MatchParams,
    variant: Variant,
    out: &mut Vec<Segment>,
) {
    let fine_len = bench.len();
    let Some(w) = params.window_for(train.len(), grid.frames_at(line.speed, fine_len)) else { return };
    let w = w as usize;
    let (first, end) = grid.span(line, train.len(), fine_len);
    if end - first < params.shortest_window(w as u32, true) as usize {
        return;
    }
    let overlap = end - first;
    let needed = params.window_bounds(w as u32, true).map(|b| b.1).min().unwrap_or(0);
    // The samples met, found incrementally (one division per line, not per frame); the same early
    // exit as `verify_offset` first, without allocating (most candidate lines stop here).
    let (den, step) = (grid.den(), grid.slope(line.speed));
    let samples = || {
        let num = grid.num(line, first as i64);
        let (mut k, mut rem) = (num.div_euclid(den), num.rem_euclid(den));
        (0..overlap).map(move |_| {
            let at = k as usize;
            rem += step;
            while rem >= den {
                rem -= den;
                k += 1;
            }
            at
        })
    };
    let close = samples().enumerate().filter(|&(n, k)| (train.hashes[first + n] ^ bench.at(k).0).count_ones() <= params.max_distance).count();
    if (close as u32) < needed {
        return;
    }
    let samples: Vec<usize> = samples().collect();
    let mut a = Aligned::with_capacity(overlap);
    for (n, &k) in samples.iter().enumerate() {
        let i = first + n;
        let (h, inf) = bench.at(k);
        a.push((train.hashes[i] ^ h).count_ones(), train.informative(i) && inf, h, params);
    }
    for ((r, run_end), w) in runs_by_rule(&a, w as u32, params, params.speed_max_mean, true) {
        let (lo, hi) = trimmed(r, run_end, &a.matched);
        out.push(make_segment(
            r,
            &a.matched,
            w,
            params.max_distance,
            Segment {
                bench_video,
                offset: line.intercept,
                train_start: (first + lo) as u32,
                train_end: (first + hi) as u32,
                bench_start: samples[lo] as u32,
                bench_end: grid.sample(line, (first + hi) as i64).min(fine_len as i64) as u32,
                best_train_start: (first + r.1) as u32,
                variant,
                speed: line.speed,
                matched_frames: 0,
                window_frames: 0,
                mean_distance: 0.0,
                score: 0,
            },
        ));
    }
}

/// Distinct-evidence test for one window (see `MatchParams::min_distinct`): greedily count matching
/// bench frames (`bench[k]`, aligned with the window's frame `k`) that differ from the previously
/// counted one by more than `distinct_bits`.
fn enough_evidence(bench: &[u64], matched: &[bool], m_sum: u32, d_sum: u32, params: &MatchParams) -> bool {
    if params.min_distinct <= 1 {
        return true;
    }
    let mut distinct = 0u32;
    let mut last: Option<u64> = None;
    for (k, &m) in matched.iter().enumerate() {
        if !m {
            continue;
        }
        let h = bench[k];
        if last.is_none_or(|l| (l ^ h).count_ones() > params.distinct_bits) {
            distinct += 1;
            if distinct >= params.min_distinct {
                return true;
            }
            last = Some(h);
        }
    }
    f64::from(d_sum) <= params.static_max_mean * f64::from(m_sum)
}

/// The union of a run's windows, trimmed to its first and last matching pair: `[lo, hi)`.
fn trimmed(run: (usize, usize, u32, u32), end: usize, matched: &[bool]) -> (usize, usize) {
    let start = run.0;
    let lo = (start..end).find(|&k| matched[k]).unwrap_or(start);
    let hi = (start..end).rev().find(|&k| matched[k]).map_or(end, |k| k + 1);
    (lo, hi)
}

/// `at` (its ranges and alignment filled in) with the best window's figures.
fn make_segment(run: (usize, usize, u32, u32), matched: &[bool], w: usize, max_distance: u32, at: Segment) -> Segment {
    let (_, _, best_m, best_d) = run;
    debug_assert!(matched.len() >= w);
    Segment {
        matched_frames: best_m,
        window_frames: w as u32,
        mean_distance: if best_m == 0 { 0.0 } else { best_d as f32 / best_m as f32 },
        score: best_m * (max_distance + 1) - best_d,
        ..at
    }
}

/// Every offset of `train` against every benchmark video (exact, O(frames x frames)).
pub fn exact_scan(train: &Sequence, benches: &[Sequence], params: &MatchParams, variant: Variant) -> Vec<Segment> {
    let mut out = Vec::new();
    for (b, bench) in benches.iter().enumerate() {
        let Some(w) = params.window_for(train.len(), bench.len()) else { continue };
        let w = i64::from(params.shortest_window(w, false));
        let lo = -(bench.len() as i64) + w;
        let hi = train.len() as i64 - w;
        for offset in lo..=hi {
            verify_offset(train, bench, b as u32, offset, params, variant, &mut out);
        }
    }
    out
}

/// Verify candidate alignments `(bench video, offset)` proposed by the index. Duplicates are
/// verified once; unknown bench videos are ignored.
pub fn verify_candidates(train: &Sequence, benches: &[Sequence], candidates: &[(u32, i64)], params: &MatchParams, variant: Variant) -> Vec<Segment> {
    let mut unique: Vec<(u32, i64)> = candidates.iter().copied().filter(|&(b, _)| (b as usize) < benches.len()).collect();
    unique.sort_unstable();
    unique.dedup();
    let mut out = Vec::new();
    for (b, offset) in unique {
        verify_offset(train, &benches[b as usize], b, offset, params, variant, &mut out);
    }
    out
}

/// Every slanted alignment (every speed of `params.speeds()`, every intercept) of `train` against
/// one benchmark video given as its phases (exact: the reference the frame scan is tested against).
pub fn exact_lines(train: &Sequence, bench: Phased, bench_video: u32, params: &MatchParams, variant: Variant, out: &mut Vec<Segment>) {
    let grid = LineGrid { phases: bench.phases.len() as u32, q: params.speed_intercepts };
    let fine_len = bench.len();
    if train.is_empty() || fine_len == 0 {
        return;
    }
    for speed in params.speeds() {
        for intercept in grid.intercepts(speed, train.len(), fine_len) {
            verify_line(train, bench, grid, bench_video, Line { speed, intercept }, params, variant, out);
        }
    }
}

/// Keep, per benchmark video, one alignment per stretch of the training video: segments in order of
/// evidence (`score`, then length, then closeness), each kept unless more than half of its training
/// range is already covered by a kept segment of the same benchmark video. A still shot or a slow
/// pan makes neighbouring offsets match the same stretch, and static footage (a street camera)
/// repeats itself, so one copied stretch can align with several benchmark times; a reviewer acts on
/// the time ranges, so only the strongest alignment of each stretch is reported. A training video
/// that holds the same footage twice, at different times, keeps both.
///
/// Slanted segments (a copy played faster or slower) compete on the same evidence: a copy at 5%
/// can give straight segments on two phases, each over part of it, and one slanted segment over
/// all of it with a stronger best window; the slanted one is reported. On equal evidence (a still
/// shot fits lines of any speed) the straight alignment wins.
///
/// Whole-frame segments come before inner-half ones (`Variant::Inner`), whatever their evidence:
/// the inner half is a quarter of the picture, so it also meets unrelated frames within the
/// threshold more often (a chance pair at a copy's edge stretches its time range), and a copy whose
/// whole frames match is reported by them. An inner-half segment is kept where whole frames do not
/// cover its training time (a copy under overlays).
pub fn select_segments(segments: Vec<Segment>) -> Vec<Segment> {
    select_segments_by(segments, |v| v)
}

/// `select_segments`, where several sequences are one benchmark video: `group(bench_video)` names
/// the video (the sub-second phases of one video are sequences of their own).
pub fn select_segments_by(mut segments: Vec<Segment>, group: impl Fn(u32) -> u32) -> Vec<Segment> {
    segments.sort_by(|a, b| {
        group(a.bench_video)
            .cmp(&group(b.bench_video))
            .then((a.variant == Variant::Inner).cmp(&(b.variant == Variant::Inner)))
            .then(b.score.cmp(&a.score))
            .then((b.train_end - b.train_start).cmp(&(a.train_end - a.train_start)))
            .then(a.mean_distance.total_cmp(&b.mean_distance))
            .then(a.slanted().cmp(&b.slanted()))
            .then(a.bench_video.cmp(&b.bench_video))
            .then(a.speed.cmp(&b.speed))
            .then(a.offset.cmp(&b.offset))
            .then(a.variant.cmp(&b.variant))
            .then(a.train_start.cmp(&b.train_start))
    });
    let mut kept: Vec<Segment> = Vec::new();
    let mut group_start = 0;
    for s in segments {
        if kept.get(group_start).is_some_and(|k| group(k.bench_video) != group(s.bench_video)) {
            group_start = kept.len();
        }
        let covered: u32 = kept[group_start..].iter().map(|k| s.train_end.min(k.train_end).saturating_sub(s.train_start.max(k.train_start))).sum();
        if 2 * covered <= s.train_end - s.train_start {
            kept.push(s);
        }
    }
    kept.sort_by(|a, b| group(a.bench_video).cmp(&group(b.bench_video)).then(a.train_start.cmp(&b.train_start)));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash at exactly `d` bits from `base` (flips the lowest d bits).
    fn at_distance(base: u64, d: u32) -> u64 {
        if d == 0 {
            base
        } else {
            base ^ (u64::MAX >> (64 - d))
        }
    }

    fn pseudo_random(n: usize, seed: u64) -> Vec<u64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s
            })
            .collect()
    }

    /// Train = bench with `matching` frames of the 20 at distance `near`, the rest at distance 64.
    fn window_pair(matching: usize, near: u32) -> (Vec<u64>, Vec<u64>) {
        let bench = pseudo_random(20, 99);
        let train = bench.iter().enumerate().map(|(i, &h)| if i < matching { at_distance(h, near) } else { !h }).collect();
        (train, bench)
    }

    fn run(train: &[u64], bench: &[u64], p: &MatchParams) -> Vec<Segment> {
        let mut out = Vec::new();
        verify_offset(&Sequence::new(train, &[]), &Sequence::new(bench, &[]), 0, 0, p, Variant::Direct, &mut out);
        out
    }

    #[test]
    fn paper_rule_fraction_boundary_14_of_20() {
        let p = MatchParams::PAPER;
        assert_eq!(p.needed(20), 14);
        let (t, b) = window_pair(14, 30);
        let s = run(&t, &b, &p);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].matched_frames, s[0].window_frames), (14, 20));
        assert!((s[0].mean_distance - 30.0).abs() < 1e-6);
        let (t, b) = window_pair(13, 30);
        assert!(run(&t, &b, &p).is_empty(), "13 of 20 is below 70%");
    }

    #[test]
    fn paper_rule_distance_boundary_30_bits() {
        let p = MatchParams::PAPER;
        let (t, b) = window_pair(20, 30);
        assert_eq!(run(&t, &b, &p)[0].matched_frames, 20);
        let (t, b) = window_pair(20, 31);
        assert!(run(&t, &b, &p).is_empty(), "31 bits is above the threshold");
        // 14 frames at 30 and the rest at 31: still a match, with 14 matched frames.
        let bench = pseudo_random(20, 5);
        let train: Vec<u64> = bench.iter().enumerate().map(|(i, &h)| at_distance(h, if i < 14 { 30 } else { 31 })).collect();
        assert_eq!(run(&train, &bench, &p)[0].matched_frames, 14);
    }

    /// A 12-frame excerpt of a long benchmark video inside a long training video cannot fill 14
    /// of a 20-frame window; the short-excerpt window finds it, also where the alignment overlaps
    /// the benchmark video by fewer frames than the main window (the excerpt is its last seconds),
    /// and reports it with its own window length. Its mean-distance cap holds.
    #[test]
    fn short_excerpt_window_finds_a_12_frame_copy_inside_long_videos() {
        let bench = pseudo_random(60, 3);
        let excerpt = |from: usize, d: u32| -> Vec<u64> {
            let mut train = pseudo_random(40, 4);
            for k in 0..12 {
                train[10 + k] = at_distance(bench[from + k], d);
            }
            train
        };
        let base = MatchParams { max_distance: 20, min_distinct: 3, distinct_bits: 10, static_max_mean: 6.0, ..MatchParams::PAPER };
        let short = MatchParams { short_window: 10, short_fraction: 0.9, short_max_mean: 12.0, ..base };
        assert_eq!(short.validate(), Ok(()));
        assert_eq!((short.shortest_window(20, false), short.shortest_window(20, true)), (10, 20));
        let find = |train: &[u64], p: &MatchParams| exact_scan(&Sequence::new(train, &[]), &[Sequence::new(&bench, &[])], p, Variant::Direct);
        for from in [5usize, 48] {
            let train = excerpt(from, 8);
            assert!(find(&train, &base).is_empty(), "the 20-frame rule alone misses a 12-frame copy");
            let s = find(&train, &short);
            assert_eq!(s.len(), 1, "from {from}: {s:?}");
            assert_eq!((s[0].offset, s[0].train_start, s[0].train_end, s[0].window_frames, s[0].matched_frames), (10 - from as i64, 10, 22, 10, 10));
            assert!(find(&excerpt(from, 14), &short).is_empty(), "mean 14 is above shortMaxMean 12");
        }
        assert!(MatchParams { short_window: 20, ..short }.validate().is_err(), "not shorter than the window");
        assert!(MatchParams { short_fraction: 0.0, ..short }.validate().is_err());
    }

    #[test]
    fn paper_rule_ignores_videos_shorter_than_the_window() {
        let b = pseudo_random(19, 1);
        assert!(run(&b, &b, &MatchParams::PAPER).is_empty());
        let short = MatchParams { min_window: 8, ..MatchParams::PAPER };
        let s = run(&b, &b, &short);
        assert_eq!((s[0].matched_frames, s[0].window_frames), (19, 19));
        let tiny = pseudo_random(7, 1);
        assert!(run(&tiny, &tiny, &short).is_empty(), "below min_window");
    }

    #[test]
    fn consecutive_windows_merge_into_one_trimmed_segment() {
        // Bench of 60 frames; train holds bench[10..50] starting at train frame 100.
        let bench = pseudo_random(60, 3);
        let mut train = pseudo_random(200, 4);
        train[100..140].copy_from_slice(&bench[10..50]);
        // Random neighbours fall within 30 bits a third of the time and would legitimately extend
        // the segment under the paper rule; a tight threshold keeps this test about merging.
        let p = MatchParams { max_distance: 8, ..MatchParams::PAPER };
        let mut out = Vec::new();
        verify_offset(&Sequence::new(&train, &[]), &Sequence::new(&bench, &[]), 7, 90, &p, Variant::Direct, &mut out);
        assert_eq!(out.len(), 1);
        let s = out[0];
        assert_eq!((s.train_start, s.train_end, s.bench_start, s.bench_end), (100, 140, 10, 50));
        assert_eq!((s.bench_video, s.offset, s.matched_frames, s.window_frames), (7, 90, 20, 20));
        assert_eq!(s.mean_distance, 0.0);
    }

    #[test]
    fn uninformative_frames_never_count() {
        let bench = vec![0u64; 30]; // black frames hash to 0
        let train = vec![0u64; 30];
        let all = vec![1u8; 30];
        let none = vec![0u8; 30];
        let p = MatchParams { min_informative: 0.5, ..MatchParams::PAPER };
        let mut out = Vec::new();
        verify_offset(&Sequence::new(&train, &all), &Sequence::new(&bench, &all), 0, 0, &p, Variant::Direct, &mut out);
        assert!(!out.is_empty());
        out.clear();
        verify_offset(&Sequence::new(&train, &none), &Sequence::new(&bench, &all), 0, 0, &p, Variant::Direct, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn exact_scan_finds_every_copy_at_its_offset() {
        let b0 = pseudo_random(25, 10);
        let b1 = pseudo_random(40, 11);
        let mut train = pseudo_random(300, 12);
        train[50..75].copy_from_slice(&b0);
        train[200..240].copy_from_slice(&b1);
        train[260..285].copy_from_slice(&b0[..25]);
        let benches = [Sequence::new(&b0, &[]), Sequence::new(&b1, &[])];
        // Random 64-bit hashes fall within 30 bits 35% of the time, so the paper rule can fire on
        // noise; a tight threshold makes this test about the offsets only.
        let p = MatchParams { max_distance: 8, ..MatchParams::PAPER };
        let found = select_segments(exact_scan(&Sequence::new(&train, &[]), &benches, &p, Variant::Direct));
        let summary: Vec<(u32, u32, u32)> = found.iter().map(|s| (s.bench_video, s.train_start, s.train_end)).collect();
        assert_eq!(summary, vec![(0, 50, 75), (0, 260, 285), (1, 200, 240)]);
    }

    #[test]
    fn a_still_shot_needs_near_identical_frames() {
        // Two unrelated still shots that happen to hash 16 bits apart: 20 "matching" frames that
        // are one coincidence. Distinct-evidence rule: rejected; a near-identical copy: accepted.
        let p = MatchParams { max_distance: 20, min_fraction: 0.6, min_distinct: 3, distinct_bits: 10, static_max_mean: 6.0, ..MatchParams::PAPER };
        let bench = vec![0x0f0f_0f0f_0f0f_0f0fu64; 20];
        let coincidence = vec![at_distance(0x0f0f_0f0f_0f0f_0f0f, 16); 20];
        assert!(run(&coincidence, &bench, &p).is_empty());
        let copy = vec![at_distance(0x0f0f_0f0f_0f0f_0f0f, 4); 20];
        assert_eq!(run(&copy, &bench, &p).len(), 1);
        // A moving shot at the same distances has distinct evidence and matches.
        let moving = pseudo_random(20, 77);
        let moving_copy: Vec<u64> = moving.iter().map(|&h| at_distance(h, 16)).collect();
        assert_eq!(run(&moving_copy, &moving, &p).len(), 1);
    }

    /// Static footage repeats itself: one copied stretch aligns with the true benchmark time and,
    /// more weakly, with two others. Only the strongest alignment of the stretch is reported; the
    /// same footage copied again later in the training video is reported too.
    #[test]
    fn one_training_range_keeps_its_strongest_alignment() {
        let seg = |offset: i64, train: (u32, u32), bench_start: u32, matched: u32, mean: f32| Segment {
            bench_video: 3,
            offset,
            train_start: train.0,
            train_end: train.1,
            bench_start,
            bench_end: bench_start + (train.1 - train.0),
            matched_frames: matched,
            window_frames: 20,
            mean_distance: mean,
            best_train_start: train.0,
            score: (matched as f32 * (21.0 - mean)) as u32,
            variant: Variant::Direct,
            speed: SPEED_UNIT,
        };
        let true_alignment = seg(10, (20, 50), 10, 20, 2.1);
        let echo_a = seg(-30, (18, 48), 48, 20, 12.3);
        let echo_b = seg(40, (22, 52), 0, 19, 10.6);
        let again_later = seg(100, (130, 160), 30, 18, 4.0);
        let other_video = Segment { bench_video: 4, ..echo_a };
        let kept = select_segments(vec![echo_a, true_alignment, other_video, again_later, echo_b]);
        assert_eq!(kept, vec![true_alignment, again_later, other_video]);
        // Grouped: sequences 3 and 4 are one video (two phases of it); the echo on 4 goes too.
        let grouped = select_segments_by(vec![echo_a, true_alignment, other_video, again_later, echo_b], |v| v.min(3));
        assert_eq!(grouped, vec![true_alignment, again_later]);
    }

    /// A copy whose whole frames match is reported by them even where its inner half scores higher
    /// over a longer range (a chance pair past the copy's end); inner-half segments stand where
    /// whole frames cover nothing (a stretch under overlays).
    #[test]
    fn whole_frame_segments_come_before_inner_half_ones() {
        let seg = |train: (u32, u32), matched: u32, mean: f32, variant: Variant| Segment {
            bench_video: 0,
            offset: 4,
            train_start: train.0,
            train_end: train.1,
            bench_start: train.0 - 4,
            bench_end: train.1 - 4,
            matched_frames: matched,
            window_frames: 20,
            mean_distance: mean,
            best_train_start: train.0,
            score: (matched as f32 * (21.0 - mean)) as u32,
            variant,
            speed: SPEED_UNIT,
        };
        let whole = seg((10, 34), 18, 6.0, Variant::Direct);
        let inner_longer = seg((10, 40), 20, 5.3, Variant::Inner);
        let inner_elsewhere = seg((60, 90), 16, 9.0, Variant::Inner);
        assert!(inner_longer.score > whole.score);
        assert_eq!(select_segments(vec![inner_longer, whole, inner_elsewhere]), vec![whole, inner_elsewhere]);
        assert_eq!(select_segments(vec![inner_longer]), vec![inner_longer]);
    }

    /// The bound of `LineGrid`: for any speed in [0.9, 1.1], any start and any 20-frame window,
    /// some line of the grid (4 phases, 2 intercepts per sample, speeds 0.01 apart; speed 1 being
    /// the straight diagonals) meets, at every frame of the window, a benchmark sample at most
    /// 1/8 + 1/16 + 0.01 * 19 / 4 = 0.235 s from the time the copy shows; and the bound is nearly
    /// reached (it is not loose).
    #[test]
    fn slanted_lines_stay_near_every_speed_in_the_range() {
        let p = MatchParams { speed_range: 0.1, speed_step: 0.01, speed_intercepts: 2, ..MatchParams::PAPER };
        let (phases, q, w) = (4u32, 2u32, 20i64);
        let bound = 1.0 / (2.0 * f64::from(phases)) + 1.0 / (2.0 * f64::from(phases * q)) + p.speed_step * (w - 1) as f64 / 4.0;
        assert!((bound - 0.235).abs() < 1e-9);
        let speeds = p.speeds();
        assert_eq!((speeds.len(), speeds[0], speeds[19]), (20, 9000, 11000));
        let mut worst: f64 = 0.0;
        for s_star in (9000..=11000).step_by(13) {
            let s = f64::from(s_star) / f64::from(SPEED_UNIT);
            for b0 in [0.0, 3.37, 7.9, 12.125, 40.61] {
                for t0 in [0i64, 13, 57, 240] {
                    let mut best = f64::MAX;
                    // The two grid speeds either side of s* (speed 1: the straight diagonals, one
                    // intercept per sample).
                    for &sp in speeds.iter().chain(&[SPEED_UNIT]) {
                        if (f64::from(sp) - f64::from(s_star)).abs() > 100.0 {
                            continue;
                        }
                        let grid = LineGrid { phases, q: if sp == SPEED_UNIT { 1 } else { q } };
                        let mid = b0 + s * (t0 as f64 + 9.5) - f64::from(sp) / f64::from(SPEED_UNIT) * (t0 as f64 + 9.5);
                        let c_mid = (mid * f64::from(phases * grid.q)).round() as i64;
                        for intercept in c_mid - 8..=c_mid + 8 {
                            let line = Line { speed: sp, intercept };
                            let err = (t0..t0 + w)
                                .map(|i| (grid.sample(line, i) as f64 / f64::from(phases) - (b0 + s * i as f64)).abs())
                                .fold(0.0, f64::max);
                            best = best.min(err);
                        }
                    }
                    assert!(best <= bound + 1e-9, "speed {s} start {b0} window {t0}: nearest line {best} s off");
                    worst = worst.max(best);
                }
            }
        }
        assert!(worst > 0.18, "the bound should be nearly reached ({worst})");
    }

    /// The grid's integer geometry: the lines through a point are exactly `q` consecutive
    /// intercepts, `span` is where a line meets the video, and `intercepts` holds every line that
    /// meets it.
    #[test]
    fn line_grid_geometry_is_consistent() {
        for grid in [LineGrid { phases: 4, q: 2 }, LineGrid { phases: 1, q: 3 }, LineGrid { phases: 4, q: 1 }] {
            for speed in [9000u32, 9500, 9900, 10100, 10400, 11000] {
                let (t_len, fine_len) = (37usize, 50usize);
                let range = grid.intercepts(speed, t_len, fine_len);
                for i in 0..t_len as i64 {
                    for k in 0..fine_len as i64 {
                        let c0 = grid.first_intercept(speed, i, k);
                        assert!(range.contains(&c0) && range.contains(&(c0 + i64::from(grid.q) - 1)));
                        for c in c0 - 2..c0 + i64::from(grid.q) + 2 {
                            let on = grid.sample(Line { speed, intercept: c }, i) == k;
                            assert_eq!(on, (c0..c0 + i64::from(grid.q)).contains(&c), "{grid:?} speed {speed} ({i}, {k}) c {c}");
                        }
                    }
                }
                for c in *range.start() - 3..=*range.end() + 3 {
                    let line = Line { speed, intercept: c };
                    let inside: Vec<i64> = (0..t_len as i64).filter(|&i| (0..fine_len as i64).contains(&grid.sample(line, i))).collect();
                    let (a, b) = grid.span(line, t_len, fine_len);
                    assert_eq!(inside, (a as i64..b as i64).collect::<Vec<_>>(), "{grid:?} speed {speed} c {c}");
                    assert_eq!(!inside.is_empty(), range.contains(&c), "{grid:?} speed {speed} c {c}");
                    assert!(inside.len() <= grid.frames_at(speed, fine_len) + 1);
                }
            }
        }
    }

    #[test]
    fn speed_settings_are_checked() {
        let p = MatchParams { speed_range: 0.1, speed_step: 0.01, speed_intercepts: 2, ..MatchParams::PAPER };
        assert!(p.validate().is_ok());
        assert!(MatchParams { speed_step: 0.000_05, ..p }.validate().is_err());
        assert!(MatchParams { speed_intercepts: 0, ..p }.validate().is_err());
        assert!(MatchParams { speed_range: 0.6, ..p }.validate().is_err());
        assert!(MatchParams::PAPER.speeds().is_empty());
        assert_eq!(MatchParams { speed_range: 0.05, speed_step: 0.025, ..p }.speeds(), vec![9500, 9750, 10250, 10500]);
    }

    #[test]
    fn select_segments_drops_overlapping_neighbours() {
        // A still shot: the same hash for 40 frames matches at many offsets.
        let bench = vec![0x1234_5678_9abc_def0u64; 40];
        let train = vec![0x1234_5678_9abc_def0u64; 40];
        let segs = exact_scan(&Sequence::new(&train, &[]), &[Sequence::new(&bench, &[])], &MatchParams::PAPER, Variant::Direct);
        assert!(segs.len() > 10);
        let kept = select_segments(segs);
        assert_eq!(kept.len(), 1);
        assert_eq!((kept[0].offset, kept[0].train_start, kept[0].train_end), (0, 0, 40));
    }
}
