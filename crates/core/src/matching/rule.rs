//! The window rule: when two aligned windows are the same content.

use super::{InvalidInput, SPEED_UNIT};

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
    /// Evidence must come from at least this many distinct frames, on the benchmark side and on
    /// the training side (0: off). A static shot repeats one picture for many seconds, so its
    /// matching frames are one piece of evidence counted many times; one chance coincidence of two
    /// still shots (or of a still part of a training picture, such as a game board's cell hashed
    /// as a region, and a calm benchmark shot) would otherwise match.
    pub min_distinct: u32,
    /// Matching frames count as distinct when they differ from the previous counted one by
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
    /// ones, so chance windows find one ~40 times as often; those sit further apart on average
    /// than copies played faster or slower (bench/README.md, "Speed changes").
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
    /// lower the lines' candidate bound from 14 votes to 9 and make the scan slower
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
