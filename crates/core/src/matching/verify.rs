//! Verification: the matching windows along one alignment (straight or slanted), as segments;
//! and the exact path, every alignment verified.

use super::{Line, LineGrid, MatchParams, Phased, Segment, Sequence, Variant, WindowRule, SPEED_UNIT};

/// Per aligned pair: matching?, informative on both sides?, distance.
struct Aligned {
    matched: Vec<bool>,
    good: Vec<bool>,
    dist: Vec<u32>,
    /// The benchmark and training hashes of each pair (read by the distinct-evidence rule).
    bench: Vec<u64>,
    train: Vec<u64>,
}

impl Aligned {
    fn with_capacity(n: usize) -> Aligned {
        Aligned {
            matched: Vec::with_capacity(n),
            good: Vec::with_capacity(n),
            dist: Vec::with_capacity(n),
            bench: Vec::with_capacity(n),
            train: Vec::with_capacity(n),
        }
    }

    /// One aligned pair at distance `d`, informative on both sides or not (`good`).
    fn push(&mut self, d: u32, good: bool, bench: u64, train: u64, params: &MatchParams) {
        self.good.push(good);
        self.matched.push(good && d <= params.max_distance);
        self.dist.push(d);
        self.bench.push(bench);
        self.train.push(train);
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
            && enough_evidence(&a.bench[k..k + w], &a.train[k..k + w], &matched[k..k + w], m_sum, d_sum, params);
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
        a.push(d, train.informative(i) && bench.informative(j), bench.hashes[j], train.hashes[i], params);
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
        a.push((train.hashes[i] ^ h).count_ones(), train.informative(i) && inf, h, train.hashes[i], params);
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

/// Distinct-evidence test for one window (see `MatchParams::min_distinct`): the matching pairs'
/// benchmark hashes (`bench[k]`, aligned with the window's frame `k`) and training hashes
/// (`train[k]`) must each hold `min_distinct` distinct pictures (`distinct_at_least`), or the
/// matching frames be near-identical on average (`static_max_mean`).
fn enough_evidence(bench: &[u64], train: &[u64], matched: &[bool], m_sum: u32, d_sum: u32, params: &MatchParams) -> bool {
    if params.min_distinct <= 1 {
        return true;
    }
    // Distinct on both sides: a still shot on either side (a static benchmark scene, or a still
    // part of a training picture such as a game board's cell) is one piece of evidence, however
    // many of its frames match.
    distinct_at_least(bench, matched, params) && distinct_at_least(train, matched, params)
        || f64::from(d_sum) <= params.static_max_mean * f64::from(m_sum)
}

/// Whether the matching pairs' `hashes` hold at least `min_distinct` pictures, each more than
/// `distinct_bits` from the previous one counted.
fn distinct_at_least(hashes: &[u64], matched: &[bool], params: &MatchParams) -> bool {
    let mut distinct = 0u32;
    let mut last: Option<u64> = None;
    for (k, &m) in matched.iter().enumerate() {
        if !m {
            continue;
        }
        let h = hashes[k];
        if last.is_none_or(|l| (l ^ h).count_ones() > params.distinct_bits) {
            distinct += 1;
            if distinct >= params.min_distinct {
                return true;
            }
            last = Some(h);
        }
    }
    false
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
