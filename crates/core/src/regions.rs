//! Active regions: where a video's moving picture is when it fills only part of the frame. A clip
//! re-uploaded over a static or blurred canvas, beside a face-cam, inside a meme's caption canvas,
//! a player's chrome, or inset in another video keeps its own picture inside a rectangle; hashing
//! that rectangle alone gives the hashes the clip's own frames give.
//!
//! Found from the sampled frames themselves (never a second decode), by one statistic: how the
//! frames' changes from one sample to the next agree across a line. Inside one picture, two pixels
//! two apart change together (motion, cuts and fades move both), so their sample-to-sample
//! differences are strongly correlated. Across the edge of an inset picture they are not: the two
//! sides show different footage (another video, a blurred enlargement of another part of the
//! picture) or one side does not move at all (a canvas, a caption, chrome). A region is a rectangle
//! whose four sides are such edges (or the frame's own edges, at most three of them), whose
//! inside moves, and which is not two regions side by side. Up to two are kept: the larger (the
//! main picture) and one that does not overlap it (an inset).

use crate::borders::Rect;

/// Regions kept per video: a main picture and an inset.
pub const MAX_REGIONS: usize = 2;
/// Fewer sampled frames than this and the correlations are too noisy to draw a rectangle from.
pub const MIN_REGION_FRAMES: usize = 10;
/// A pixel moves when its mean squared change between samples exceeds this (3 gray levels RMS:
/// above encoding noise, below any real motion at one sample a second).
const MOVING_MEAN_SQUARE: f64 = 9.0;
/// Mean edge strength (one minus the correlation of the two sides' changes) a side needs.
const MIN_SIDE_STRENGTH: f64 = 0.4;
/// How much stronger than the calmer of its parallel lines `RIDGE_GAP` pixels away a side must be.
const MIN_RIDGE: f64 = 0.25;
const RIDGE_GAP: usize = 3;
/// Share of a side's length that must carry evidence (a moving pixel on at least one side).
const MIN_SIDE_EVIDENCE: f64 = 0.5;
/// Share of a region's pixels that must move (footage from a static camera moves in places).
const MIN_MOVING_INSIDE: f64 = 0.15;
/// Mean step (gray levels) between two still pixels that makes a full-strength edge.
const STILL_EDGE_STEP: f64 = 32.0;
/// A region covers at least this share of the frame (a 20% x 20% inset) and at most this (a
/// larger one is the whole frame's hash, give or take a border).
const MIN_AREA: f64 = 0.04;
const MAX_AREA: f64 = 0.85;
/// Each side of a region spans at least this share of the frame's side.
const MIN_SIDE_SHARE: f64 = 0.15;
/// A region whose moving pixels' mean local contrast per frame is below this (gray levels), and
/// below this share of the sharpest region's, is a blurred fill, not a picture (pictures measured
/// 9 to 26 on real footage, a blurred enlargement 2.3).
const MIN_SHARPNESS: f64 = 4.0;
const MIN_DETAIL_RATIO: f64 = 0.5;
/// Lines next to the frame's edge checked for an edge of their own before the frame's edge counts
/// as a side (6% of the frame).
const FRAME_MARGIN: usize = 8;
/// Line positions searched per axis (the frame's edges besides).
const MAX_LINES: usize = 40;

/// Per-pixel change statistics over a run of frames.
struct Changes {
    /// Sum over sample steps of each pixel's squared change.
    energy: Vec<f64>,
    /// Sum of the product of the changes of pixels (y, x - 1) and (y, x + 1), at y * w + x.
    across_v: Vec<f64>,
    /// Sum of the product of the changes of pixels (y - 1, x) and (y + 1, x), at y * w + x.
    across_h: Vec<f64>,
    /// Sum over frames of the step between pixels (y, x - 1) and (y, x + 1), at y * w + x.
    step_v: Vec<f64>,
    /// Sum over frames of the step between pixels (y - 1, x) and (y + 1, x), at y * w + x.
    step_h: Vec<f64>,
    /// Sum over frames of each pixel's local contrast: on each axis the smaller of its steps to
    /// its two neighbours (a picture's edge next to a canvas is a step on one side only).
    detail: Vec<f64>,
    frames: usize,
    steps: usize,
}

impl Changes {
    fn of(frames: &[u8], w: usize, h: usize) -> Changes {
        let n = w * h;
        let count = frames.len() / n;
        // Integer sums, row by row over slices (the compiler vectorizes these loops); converted
        // to f64 once at the end.
        let (mut energy, mut across_v, mut across_h) = (vec![0i64; n], vec![0i64; n], vec![0i64; n]);
        let (mut detail, mut step_v, mut step_h) = (vec![0u64; n], vec![0u64; n], vec![0u64; n]);
        for t in 0..count {
            let f = &frames[t * n..(t + 1) * n];
            for y in 1..h - 1 {
                let (up, row, down) = (&f[(y - 1) * w..y * w], &f[y * w..(y + 1) * w], &f[(y + 1) * w..(y + 2) * w]);
                for x in 1..w - 1 {
                    let i = y * w + x;
                    // The smaller step on each axis: texture has both, a picture's edge only one.
                    let across = row[x + 1].abs_diff(row[x]).min(row[x].abs_diff(row[x - 1]));
                    let vertical = down[x].abs_diff(row[x]).min(row[x].abs_diff(up[x]));
                    detail[i] += u64::from(across) + u64::from(vertical);
                    step_v[i] += u64::from(row[x + 1].abs_diff(row[x - 1]));
                    step_h[i] += u64::from(down[x].abs_diff(up[x]));
                }
            }
        }
        let mut d = vec![0i32; n];
        for t in 1..count {
            let (prev, cur) = (&frames[(t - 1) * n..t * n], &frames[t * n..(t + 1) * n]);
            for ((d, (&c, &p)), e) in d.iter_mut().zip(cur.iter().zip(prev)).zip(energy.iter_mut()) {
                *d = i32::from(c) - i32::from(p);
                *e += i64::from(*d * *d);
            }
            for y in 0..h {
                let row = &d[y * w..(y + 1) * w];
                let out = &mut across_v[y * w..(y + 1) * w];
                for x in 1..w - 1 {
                    out[x] += i64::from(row[x - 1] * row[x + 1]);
                }
            }
            for y in 1..h - 1 {
                let (up, down) = (&d[(y - 1) * w..y * w], &d[(y + 1) * w..(y + 2) * w]);
                for ((o, &a), &b) in across_h[y * w..(y + 1) * w].iter_mut().zip(up).zip(down) {
                    *o += i64::from(a * b);
                }
            }
        }
        let float = |v: Vec<i64>| v.into_iter().map(|x| x as f64).collect();
        let ufloat = |v: Vec<u64>| v.into_iter().map(|x| x as f64).collect();
        Changes {
            energy: float(energy),
            across_v: float(across_v),
            across_h: float(across_h),
            detail: ufloat(detail),
            step_v: ufloat(step_v),
            step_h: ufloat(step_h),
            frames: count,
            steps: count.saturating_sub(1),
        }
    }

    fn moving(&self, i: usize) -> bool {
        self.energy[i] > MOVING_MEAN_SQUARE * self.steps as f64
    }

    /// Edge strength between pixels `a` and `b` (whose changes' product sums to `across`, and
    /// whose steps sum to `step`): 1 when only one moves, one minus the correlation of their
    /// changes (at least 0) when both do. When neither moves, the picture's own contrast is the
    /// evidence: the mean step between them, 1 from STILL_EDGE_STEP gray levels (a still
    /// picture's edge on a canvas or a face-cam's frame); None in the frame's outer lines.
    fn strength(&self, a: usize, b: usize, across: f64, step: f64) -> Option<f64> {
        match (self.moving(a), self.moving(b)) {
            (false, false) => Some((step / self.frames as f64 / STILL_EDGE_STEP).min(1.0)),
            (true, true) => Some(1.0 - (across / (self.energy[a] * self.energy[b]).sqrt()).clamp(0.0, 1.0)),
            _ => Some(1.0),
        }
    }
}

/// Running sums of edge strength and evidence along lines, so any side's mean is two lookups.
struct SideSums {
    /// Per line position, `len + 1` prefix sums of strength along it.
    strength: Vec<Vec<f64>>,
    /// The same for the count of positions with evidence.
    evidence: Vec<Vec<u32>>,
}

impl SideSums {
    fn new(positions: usize, len: usize, at: impl Fn(usize, usize) -> Option<f64>) -> SideSums {
        let mut strength = Vec::with_capacity(positions);
        let mut evidence = Vec::with_capacity(positions);
        for p in 0..positions {
            let (mut s, mut e) = (vec![0.0; len + 1], vec![0u32; len + 1]);
            for k in 0..len {
                let v = at(p, k);
                s[k + 1] = s[k] + v.unwrap_or(0.0);
                e[k + 1] = e[k] + u32::from(v.is_some());
            }
            strength.push(s);
            evidence.push(e);
        }
        SideSums { strength, evidence }
    }

    /// Mean strength of line `p` over `[a, b)`, when enough of it carries evidence.
    fn mean(&self, p: usize, a: usize, b: usize) -> Option<f64> {
        let n = self.evidence[p][b] - self.evidence[p][a];
        if f64::from(n) < MIN_SIDE_EVIDENCE * (b - a) as f64 || n == 0 {
            return None;
        }
        Some((self.strength[p][b] - self.strength[p][a]) / f64::from(n))
    }
}

/// One side of a candidate: the frame's edge, or the edge statistic at a line position.
#[derive(Clone, Copy)]
enum Side {
    Frame,
    Line(usize),
}

/// A rectangle that passed every test, with its weakest side's strength.
#[derive(Clone, Copy)]
struct Candidate {
    rect: Rect,
    score: f64,
    /// No side is the frame's edge.
    closed: bool,
}

/// Up to `MAX_REGIONS` active regions of a video from `frames` (gray, `width` x `height`, back to
/// back, in sampling order), largest first; empty when the picture fills the frame, nothing moves,
/// or there are fewer than `MIN_REGION_FRAMES` frames.
pub fn detect_regions(frames: &[u8], width: u32, height: u32) -> Vec<Rect> {
    let (w, h) = (width as usize, height as usize);
    if w < 16 || h < 16 || frames.len() / (w * h) < MIN_REGION_FRAMES {
        return Vec::new();
    }
    let d = Detector::new(frames, w, h);
    // Side positions: the frame's edge, or a line that could carry a side (`Detector::lines`).
    let sides = |sums: &SideSums, len: usize| -> Vec<Side> {
        std::iter::once(Side::Frame).chain(Detector::lines(sums, len).into_iter().map(Side::Line)).collect()
    };
    let (xs, ys) = (sides(&d.vertical, h), sides(&d.horizontal, w));
    let mut found = Vec::new();
    for (i, &left) in xs.iter().enumerate() {
        for &right in xs.iter().skip(i + 1).chain(std::iter::once(&Side::Frame)) {
            for (j, &top) in ys.iter().enumerate() {
                for &bottom in ys.iter().skip(j + 1).chain(std::iter::once(&Side::Frame)) {
                    if let Ok(c) = d.judge(left, right, top, bottom) {
                        found.push(c);
                    }
                }
            }
        }
    }
    // Rectangles closed by edges on all four sides first (the strongest evidence of a picture:
    // straight edges of moving footage rarely close a rectangle; one leaning on the frame's edges
    // can be a stretch of footage beside a still part of it), then the strongest edges, then the
    // larger rectangle (an edge seen at two neighbouring positions gives two rectangles; the larger
    // keeps the picture's outer line).
    found.sort_by(|a, b| b.closed.cmp(&a.closed).then(b.score.total_cmp(&a.score)).then(area(&b.rect).cmp(&area(&a.rect))));
    // The best non-overlapping rectangles that are one picture each; then, of those, the ones as
    // detailed as the sharpest (a blurred enlargement of the picture around it moves too, and its
    // bands are rectangles with edges, but soft ones).
    let mut winners: Vec<Rect> = Vec::new();
    for cand in found {
        if winners.len() == MAX_REGIONS + 2 {
            break;
        }
        if winners.iter().any(|r| overlap(r, &cand.rect) > 0.1 * area(&cand.rect).min(area(r)) as f64) || d.divided(&cand.rect) {
            continue;
        }
        winners.push(cand.rect);
    }
    let sharpest = winners.iter().map(|r| d.sharpness(r)).fold(0.0, f64::max);
    let soft = |r: &Rect| d.sharpness(r) < MIN_SHARPNESS && d.sharpness(r) < MIN_DETAIL_RATIO * sharpest;
    let mut out: Vec<Rect> = winners.into_iter().filter(|r| !soft(r)).take(MAX_REGIONS).collect();
    out.sort_by_key(|r| std::cmp::Reverse(area(r)));
    out
}

/// The statistics a rectangle is judged on.
struct Detector {
    w: usize,
    h: usize,
    /// Vertical sides at x (pixels x - 1 and x + 1 straddle it), summed along rows.
    vertical: SideSums,
    /// Horizontal sides at y, summed along columns.
    horizontal: SideSums,
    /// The same, from moving pixels only (a still picture's own lines are no dividers).
    vertical_moving: SideSums,
    horizontal_moving: SideSums,
    /// Moving pixels, as 2-D prefix sums.
    moving: Vec<u32>,
    /// The local contrast of moving pixels, as 2-D prefix sums.
    detail: Vec<f64>,
    frames: usize,
}

impl Detector {
    fn new(frames: &[u8], w: usize, h: usize) -> Detector {
        let c = Changes::of(frames, w, h);
        let v = |x: usize, y: usize, still: bool| {
            if x == 0 || x + 1 >= w {
                return None;
            }
            let (a, b, i) = (y * w + x - 1, y * w + x + 1, y * w + x);
            if !still && !c.moving(a) && !c.moving(b) {
                return None;
            }
            c.strength(a, b, c.across_v[i], c.step_v[i])
        };
        let hz = |y: usize, x: usize, still: bool| {
            if y == 0 || y + 1 >= h {
                return None;
            }
            let (a, b, i) = ((y - 1) * w + x, (y + 1) * w + x, y * w + x);
            if !still && !c.moving(a) && !c.moving(b) {
                return None;
            }
            c.strength(a, b, c.across_h[i], c.step_h[i])
        };
        let vertical = SideSums::new(w, h, |x, y| v(x, y, true));
        let horizontal = SideSums::new(h, w, |y, x| hz(y, x, true));
        let vertical_moving = SideSums::new(w, h, |x, y| v(x, y, false));
        let horizontal_moving = SideSums::new(h, w, |y, x| hz(y, x, false));
        let mut moving = vec![0u32; (w + 1) * (h + 1)];
        let mut detail = vec![0f64; (w + 1) * (h + 1)];
        for y in 0..h {
            for x in 0..w {
                let (i, w1) = (y * w + x, w + 1);
                let m = c.moving(i);
                moving[(y + 1) * w1 + x + 1] = moving[y * w1 + x + 1] + moving[(y + 1) * w1 + x] - moving[y * w1 + x] + u32::from(m);
                detail[(y + 1) * w1 + x + 1] =
                    detail[y * w1 + x + 1] + detail[(y + 1) * w1 + x] - detail[y * w1 + x] + if m { c.detail[i] } else { 0.0 };
            }
        }
        Detector { w, h, vertical, horizontal, vertical_moving, horizontal_moving, moving, detail, frames: frames.len() / (w * h) }
    }

    /// Moving pixels in `[x0, x1) x [y0, y1)`.
    fn moving_in(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> f64 {
        let w1 = self.w + 1;
        f64::from(self.moving[y1 * w1 + x1] + self.moving[y0 * w1 + x0] - self.moving[y0 * w1 + x1] - self.moving[y1 * w1 + x0])
    }

    /// Mean local contrast per frame of the moving pixels of `r`.
    fn sharpness(&self, r: &Rect) -> f64 {
        let (x0, y0, x1, y1) = (r.x as usize, r.y as usize, (r.x + r.width) as usize, (r.y + r.height) as usize);
        self.detail_in(x0, y0, x1, y1) / self.moving_in(x0, y0, x1, y1).max(1.0) / self.frames as f64
    }

    /// Summed local contrast of the moving pixels in `[x0, x1) x [y0, y1)`.
    fn detail_in(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> f64 {
        let w1 = self.w + 1;
        self.detail[y1 * w1 + x1] + self.detail[y0 * w1 + x0] - self.detail[y0 * w1 + x1] - self.detail[y1 * w1 + x0]
    }

    /// How well an edge at line `p` of `sums` over `[a, b)` stands out: its mean strength less
    /// the lower of the parallel lines' `RIDGE_GAP` pixels inside and outside (no evidence: 0).
    /// Within one picture neighbouring pixels change together, so lines there are weak; at a
    /// picture's edge the line across it is strong and at least one of its neighbours is not
    /// (a canvas does not move, a blurred enlargement changes smoothly, and the picture itself is
    /// calm wherever it is not busy). A blurred fill makes a weaker edge than a canvas, but still
    /// a ridge.
    fn ridge(sums: &SideSums, p: usize, a: usize, b: usize) -> Option<f64> {
        let edge = sums.mean(p, a, b)?;
        let beside = |q: Option<usize>| q.filter(|&q| q < sums.strength.len()).and_then(|q| sums.mean(q, a, b)).unwrap_or(0.0);
        let calmer = beside(p.checked_sub(RIDGE_GAP)).min(beside(Some(p + RIDGE_GAP)));
        (edge >= MIN_SIDE_STRENGTH).then_some(edge - calmer)
    }

    /// The line positions of `sums` (each `len` long) that could carry a region's side, in order:
    /// those with enough single pixels that are strong edges and stand out from both parallel
    /// lines' calmer one (at most `MAX_LINES`, the most such pixels first). Every region's
    /// sides are among them in practice, and the search over rectangles stays small.
    fn lines(sums: &SideSums, len: usize) -> Vec<usize> {
        let at = |q: usize, k: usize| -> f64 {
            if q >= sums.strength.len() {
                0.0
            } else {
                sums.strength[q][k + 1] - sums.strength[q][k]
            }
        };
        let need = (MIN_SIDE_SHARE * MIN_SIDE_EVIDENCE * len as f64).ceil() as usize;
        let mut scored: Vec<(usize, usize)> = (1..sums.strength.len().saturating_sub(1))
            .map(|p| {
                let count = (0..len)
                    .filter(|&k| {
                        let v = at(p, k);
                        let calmer = at(p.saturating_sub(RIDGE_GAP), k).min(at(p + RIDGE_GAP, k));
                        v >= MIN_SIDE_STRENGTH && v - calmer >= MIN_RIDGE
                    })
                    .count();
                (count, p)
            })
            .filter(|&(count, _)| count >= need)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut kept: Vec<usize> = scored.into_iter().take(MAX_LINES).map(|(_, p)| p).collect();
        kept.sort_unstable();
        kept
    }

    /// A rectangle with these sides as a candidate region (its weakest side's ridge as its score),
    /// or the test it fails.
    fn judge(&self, left: Side, right: Side, top: Side, bottom: Side) -> Result<Candidate, &'static str> {
        let (w, h) = (self.w, self.h);
        // Of a line side, the straddled pixel and the one beside it inside are left out: at one of
        // the two neighbouring positions an edge is seen from, the picture's first line mixes it
        // with what is outside (a bright canvas line along a dark picture moves its hash by
        // several bits).
        let start = |s: Side| match s {
            Side::Frame => 0,
            Side::Line(p) => p + 2,
        };
        let end = |s: Side, len: usize| match s {
            Side::Frame => len,
            Side::Line(p) => p - 1,
        };
        let (x0, x1, y0, y1) = (start(left), end(right, w), start(top), end(bottom, h));
        if (x1 as f64) < x0 as f64 + MIN_SIDE_SHARE * w as f64 || (y1 as f64) < y0 as f64 + MIN_SIDE_SHARE * h as f64 {
            return Err("too narrow");
        }
        let area = ((x1 - x0) * (y1 - y0)) as f64;
        if area < MIN_AREA * (w * h) as f64 || area > MAX_AREA * (w * h) as f64 {
            return Err("area");
        }
        if [left, right, top, bottom].iter().all(|s| matches!(s, Side::Frame)) {
            return Err("the whole frame");
        }
        // Each side with its sums, its span, and whether the frame's edge it may lie on is the
        // low end (left, top) or the high end (right, bottom) of its axis.
        let sides: [(Side, &SideSums, usize, usize, bool); 4] = [
            (left, &self.vertical, y0, y1, false),
            (right, &self.vertical, y0, y1, true),
            (top, &self.horizontal, x0, x1, false),
            (bottom, &self.horizontal, x0, x1, true),
        ];
        let mut score = f64::INFINITY;
        for (s, sums, a, b, high_end) in sides {
            // The lines just inside the frame's edge on this side.
            let len = sums.strength.len();
            let near_frame = (1..=FRAME_MARGIN).map(|k| if high_end { len.saturating_sub(1 + k) } else { k }).filter(|&p| p >= 1 && p + 1 < len);
            let ridge = match s {
                // The frame's edge is a side only where the picture reaches it, not where an edge
                // runs just inside it (an inset near a corner, a margin of canvas).
                Side::Frame if near_frame.clone().any(|p| Self::ridge(sums, p, a, b).is_some_and(|r| r >= MIN_RIDGE)) => {
                    return Err("an edge just inside the frame's");
                }
                Side::Frame => 1.0,
                Side::Line(p) => Self::ridge(sums, p, a, b).ok_or("weak side")?,
            };
            if ridge < MIN_RIDGE {
                return Err("no ridge");
            }
            score = score.min(ridge);
        }
        if self.moving_in(x0, y0, x1, y1) < MIN_MOVING_INSIDE * area {
            return Err("still inside");
        }
        let closed = [left, right, top, bottom].iter().all(|s| matches!(s, Side::Line(_)));
        Ok(Candidate { rect: Rect { x: x0 as u32, y: y0 as u32, width: (x1 - x0) as u32, height: (y1 - y0) as u32 }, score, closed })
    }

    /// Whether an edge of moving footage runs across the whole of `r` (two pictures side by side or
    /// stacked, each at least a region's minimum side; a still picture's own lines, a screencast's
    /// toolbar, do not count): then `r` is not one picture.
    fn divided(&self, r: &Rect) -> bool {
        let (x0, y0, x1, y1) = (r.x as usize, r.y as usize, (r.x + r.width) as usize, (r.y + r.height) as usize);
        let (min_w, min_h) = ((MIN_SIDE_SHARE * self.w as f64) as usize, (MIN_SIDE_SHARE * self.h as f64) as usize);
        let strong = |v: Option<f64>| v.is_some_and(|v| v >= MIN_RIDGE);
        (x0 + min_w..x1.saturating_sub(min_w)).any(|x| strong(Self::ridge(&self.vertical_moving, x, y0, y1)))
            || (y0 + min_h..y1.saturating_sub(min_h)).any(|y| strong(Self::ridge(&self.horizontal_moving, y, x0, x1)))
    }
}

fn area(r: &Rect) -> u64 {
    u64::from(r.width) * u64::from(r.height)
}

fn overlap(a: &Rect, b: &Rect) -> f64 {
    let w = (a.x + a.width).min(b.x + b.width).saturating_sub(a.x.max(b.x));
    let h = (a.y + a.height).min(b.y + b.height).saturating_sub(a.y.max(b.y));
    f64::from(w) * f64::from(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: usize = 128;

    /// A deterministic moving texture: frame `t` of footage `seed` at pixel (x, y) (content that
    /// changes a lot from one sample to the next, like real footage at one sample a second).
    fn footage(seed: u32, t: usize, x: usize, y: usize) -> u8 {
        let (fx, fy) = (x as f64 / 9.0, y as f64 / 7.0);
        let s = f64::from(seed) * 1.7 + t as f64 * 0.9;
        let v = 128.0 + 50.0 * (fx + s).sin() * (fy - 0.7 * s).cos() + 40.0 * ((fx * 0.6 - fy * 0.4) + 1.3 * s + f64::from(seed)).sin();
        v.clamp(0.0, 255.0) as u8
    }

    /// `frames` frames of W x W: a canvas of `canvas` (None: footage 99 full frame), with footage 1
    /// in `main` and footage 2 in `inset` when given.
    fn layout(frames: usize, canvas: Option<u8>, main: Option<Rect>, inset: Option<Rect>) -> Vec<u8> {
        let mut out = Vec::with_capacity(frames * W * W);
        let inside = |r: &Option<Rect>, x: usize, y: usize| {
            r.is_some_and(|r| x >= r.x as usize && x < (r.x + r.width) as usize && y >= r.y as usize && y < (r.y + r.height) as usize)
        };
        for t in 0..frames {
            for y in 0..W {
                for x in 0..W {
                    out.push(if inside(&inset, x, y) {
                        footage(2, t, x, y)
                    } else if inside(&main, x, y) {
                        footage(1, t, x, y)
                    } else {
                        canvas.unwrap_or_else(|| footage(99, t, x, y))
                    });
                }
            }
        }
        out
    }

    fn near(a: &Rect, b: &Rect) -> bool {
        let d = |p: u32, q: u32| p.abs_diff(q) <= 2;
        d(a.x, b.x) && d(a.y, b.y) && d(a.x + a.width, b.x + b.width) && d(a.y + a.height, b.y + b.height)
    }

    #[test]
    fn a_clip_on_a_static_canvas_is_found() {
        let main = Rect { x: 20, y: 40, width: 84, height: 70 };
        let r = detect_regions(&layout(20, Some(235), Some(main), None), 128, 128);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(near(&r[0], &main), "{r:?}");
    }

    #[test]
    fn an_inset_in_another_video_is_found() {
        let inset = Rect { x: 80, y: 84, width: 40, height: 36 };
        let r = detect_regions(&layout(20, None, None, Some(inset)), 128, 128);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(near(&r[0], &inset), "{r:?}");
    }

    #[test]
    fn two_pictures_side_by_side_are_two_regions() {
        let main = Rect { x: 0, y: 24, width: 80, height: 80 };
        let cam = Rect { x: 84, y: 40, width: 40, height: 44 };
        let r = detect_regions(&layout(20, Some(40), Some(main), Some(cam)), 128, 128);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(near(&r[0], &main) && near(&r[1], &cam), "{r:?}");
    }

    #[test]
    fn a_clip_over_a_blurred_enlargement_of_itself_is_found() {
        // The short-video re-upload: the clip in the middle band, over a box-blurred 2x
        // enlargement of itself filling the frame.
        let main = Rect { x: 0, y: 40, width: 128, height: 48 };
        let mut frames = Vec::with_capacity(20 * W * W);
        for t in 0..20 {
            let clip = |x: usize, y: usize| footage(1, t, x, y * 128 / 48);
            let blurred = |x: usize, y: usize| {
                let mut sum = 0u32;
                for dy in 0..9 {
                    for dx in 0..9 {
                        sum += u32::from(clip(((x + dx) / 2 + 30).min(127), ((y + dy) / 2 * 48 / 128 + 10).min(47)));
                    }
                }
                (sum / 81) as u8
            };
            for y in 0..W {
                for x in 0..W {
                    frames.push(if (40..88).contains(&y) { clip(x, y - 40) } else { blurred(x, y) });
                }
            }
        }
        let r = detect_regions(&frames, 128, 128);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(near(&r[0], &main), "{r:?}");
    }

    #[test]
    fn full_frame_footage_and_still_frames_have_no_region() {
        assert!(detect_regions(&layout(20, None, None, None), 128, 128).is_empty());
        assert!(detect_regions(&vec![77u8; 20 * W * W], 128, 128).is_empty());
        // Too few frames to judge.
        let main = Rect { x: 20, y: 40, width: 84, height: 70 };
        assert!(detect_regions(&layout(MIN_REGION_FRAMES - 1, Some(235), Some(main), None), 128, 128).is_empty());
    }
}
