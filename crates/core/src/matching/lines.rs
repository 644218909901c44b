//! Slanted alignments (copies played faster or slower): the lines, the grid they lie on across a
//! benchmark video's sub-second phases, and the phases read as one video.

use super::{Sequence, SPEED_UNIT};

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

    /// The denominator of every sample position: line `line` meets sample `num / den` (floored).
    pub(super) fn den(&self) -> i64 {
        2 * i64::from(self.q) * Self::U
    }

    /// The numerator of the sample `line` meets at training frame `i`, half a sample added (rounding).
    pub(super) fn num(&self, line: Line, i: i64) -> i64 {
        2 * line.intercept * Self::U + i64::from(self.q) * Self::U + self.slope(line.speed) * i
    }

    /// `num`'s growth per training frame.
    pub(super) fn slope(&self, speed: u32) -> i64 {
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

    pub(super) fn at(&self, k: usize) -> (u64, bool) {
        let p = &self.phases[k % self.phases.len()];
        let m = k / self.phases.len();
        (p.hashes[m], p.informative(m))
    }
}
