//! Vote counting: how many close pairs an alignment must collect before it is verified (the
//! bound that lets the scan compare only every second training frame), and the slanted lines of
//! one benchmark video that collect them.

use super::kernels::Kernel;
use crate::matching::{Line, LineGrid, MatchParams, SPEED_UNIT};

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

/// What `line_votes` needs to know of one benchmark video and the training video.
#[derive(Clone, Copy)]
pub(super) struct LineVotes<'a> {
    /// The benchmark video (its candidates' first field).
    pub g: usize,
    /// The column compared (every sequence's hashes).
    pub keys: &'a [u64],
    /// Its informative flags (empty: all).
    pub flags: &'a [u8],
    /// Where each phase of the video starts in `keys`.
    pub phase_starts: &'a [usize],
    /// The training video's hash per frame (None: an uninformative frame).
    pub train: &'a [Option<u64>],
    pub grid: LineGrid,
    pub fine_len: usize,
    pub train_len: usize,
    pub speeds: &'a [u32],
    pub line_w: &'a [Option<u32>],
    pub step: usize,
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
pub(super) fn line_votes(
    kernel: Kernel,
    at: &LineVotes,
    rule: &MatchParams,
    fine_pairs: &[(i64, i64)],
    scratch: &mut LineScratch,
    out: &mut Vec<(u32, Line)>,
) {
    // Its comparisons (the odd frames of marked cells) are scalar popcounts: with the POPCNT
    // instruction (every CPU that runs the AVX2 or AVX-512 kernel has it) instead of the
    // baseline x86-64 bit-twiddling sequence.
    #[cfg(target_arch = "x86_64")]
    if kernel != Kernel::Portable {
        // SAFETY: `Kernel::detect` and `with_kernel` only pick AVX2/AVX-512 on CPUs with POPCNT.
        return unsafe { line_votes_popcnt(at, rule, fine_pairs, scratch, out) };
    }
    line_votes_any(at, rule, fine_pairs, scratch, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn line_votes_popcnt(at: &LineVotes, rule: &MatchParams, fine_pairs: &[(i64, i64)], scratch: &mut LineScratch, out: &mut Vec<(u32, Line)>) {
    line_votes_any(at, rule, fine_pairs, scratch, out)
}

#[inline(always)]
fn line_votes_any(at: &LineVotes, rule: &MatchParams, fine_pairs: &[(i64, i64)], scratch: &mut LineScratch, out: &mut Vec<(u32, Line)>) {
    let LineVotes { g, keys, flags, phase_starts, train, grid, fine_len, train_len, speeds, line_w, step } = *at;
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
            for &m in &scratch.marks {
                let (row, col) = ((m / cols) as i64 - 1, (m % cols) as i64 - 1);
                let frames = (row * big_w).max(0)..((row + 1) * big_w).min(train_len as i64);
                for i in frames.filter(|i| i % 2 == 1) {
                    let Some(h) = train[i as usize] else { continue };
                    let ks = (col * b_d - d_shift + p * i).max(0)..((col + 1) * b_d - d_shift + p * i).min(fine_len as i64);
                    // Sample k is frame k / P of phase k % P: walked without dividing.
                    let (mut m, mut j) = ((ks.start / p) as usize, (ks.start % p) as usize);
                    for k in ks {
                        let at = phase_starts[j] + m;
                        if (h ^ keys[at]).count_ones() <= rule.max_distance && (flags.is_empty() || flags[at] != 0) {
                            scratch.voters.push((i, k));
                        }
                        j += 1;
                        if j == phase_starts.len() {
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
