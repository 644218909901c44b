//! Black border (letterbox / pillarbox) detection on the small gray frame.
//!
//! Trimming every near-black edge line is idempotent under adding black bars: a copy with bars and
//! the original lose the same dark edges, so both sides hash the same content region.

use crate::frame::HashOptions;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Share of a line's pixels that must be at or below the black level for the line to be border:
/// tolerates a logo or a few bright noise pixels inside a bar.
const BORDER_LINE_SHARE: f64 = 0.98;

fn is_black_line(pixels: impl Iterator<Item = u8>, len: usize, black_level: u8) -> bool {
    let dark = pixels.filter(|&p| p <= black_level).count();
    dark as f64 >= BORDER_LINE_SHARE * len as f64
}

/// Content rectangle after removing black lines from each edge, scanning inward independently per
/// edge. Returns the whole frame when trimming is off or would keep less than `min_content` of
/// either dimension (an all-black or very dark frame is left for the quality gate to judge).
pub fn detect_borders(frame: &[u8], width: u32, height: u32, opts: &HashOptions) -> Rect {
    detect_borders_in(frame, width, Rect { x: 0, y: 0, width, height }, opts)
}

/// `detect_borders` within the rectangle `within` of a frame `width` pixels wide (an active
/// region is trimmed as a whole frame is): the content rectangle inside it, in frame coordinates,
/// or `within` itself when nothing is trimmed.
pub fn detect_borders_in(frame: &[u8], width: u32, within: Rect, opts: &HashOptions) -> Rect {
    let (w, h) = (within.width as usize, within.height as usize);
    if !opts.trim_borders || w == 0 || h == 0 {
        return within;
    }
    let (stride, x0, y0) = (width as usize, within.x as usize, within.y as usize);
    let at = move |x: usize, y: usize| frame[(y0 + y) * stride + x0 + x];
    let row = |y: usize| frame[(y0 + y) * stride + x0..(y0 + y) * stride + x0 + w].iter().copied();
    let mut top = 0;
    while top < h && is_black_line(row(top), w, opts.black_level) {
        top += 1;
    }
    if top == h {
        return within;
    }
    let mut bottom = h;
    while bottom > top && is_black_line(row(bottom - 1), w, opts.black_level) {
        bottom -= 1;
    }
    // Columns are judged on the rows that survived, so letterbox bars do not hide pillarbox bars.
    let rows = bottom - top;
    let col = |x: usize| (top..bottom).map(move |y| at(x, y));
    let mut left = 0;
    while left < w && is_black_line(col(left), rows, opts.black_level) {
        left += 1;
    }
    let mut right = w;
    while right > left && is_black_line(col(right - 1), rows, opts.black_level) {
        right -= 1;
    }
    let (cw, ch) = (right - left, bottom - top);
    let min = f64::from(opts.min_content);
    if (cw as f64) < min * w as f64 || (ch as f64) < min * h as f64 {
        return within;
    }
    Rect { x: within.x + left as u32, y: within.y + top as u32, width: cw as u32, height: ch as u32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(w: usize, h: usize) -> Vec<u8> {
        (0..w * h).map(|i| (60 + (i * 31 + i / w * 17) % 150) as u8).collect()
    }

    fn paint(f: &mut [u8], w: usize, x0: usize, y0: usize, x1: usize, y1: usize, v: u8) {
        for y in y0..y1 {
            for x in x0..x1 {
                f[y * w + x] = v;
            }
        }
    }

    #[test]
    fn no_borders() {
        let f = textured(128, 128);
        assert_eq!(detect_borders(&f, 128, 128, &HashOptions::default()), Rect { x: 0, y: 0, width: 128, height: 128 });
    }

    #[test]
    fn letterbox_pillarbox_and_both() {
        let opts = HashOptions::default();
        let mut f = textured(128, 128);
        paint(&mut f, 128, 0, 0, 128, 16, 16);
        paint(&mut f, 128, 0, 112, 128, 128, 0);
        assert_eq!(detect_borders(&f, 128, 128, &opts), Rect { x: 0, y: 16, width: 128, height: 96 });

        let mut f = textured(128, 128);
        paint(&mut f, 128, 0, 0, 20, 128, 10);
        paint(&mut f, 128, 110, 0, 128, 128, 5);
        assert_eq!(detect_borders(&f, 128, 128, &opts), Rect { x: 20, y: 0, width: 90, height: 128 });

        let mut f = textured(128, 128);
        paint(&mut f, 128, 0, 0, 128, 10, 0);
        paint(&mut f, 128, 0, 118, 128, 128, 0);
        paint(&mut f, 128, 0, 0, 12, 128, 0);
        paint(&mut f, 128, 116, 0, 128, 128, 0);
        assert_eq!(detect_borders(&f, 128, 128, &opts), Rect { x: 12, y: 10, width: 104, height: 108 });
    }

    #[test]
    fn a_logo_in_the_bar_is_tolerated() {
        let mut f = textured(128, 128);
        paint(&mut f, 128, 0, 0, 128, 16, 0);
        paint(&mut f, 128, 120, 4, 122, 12, 255); // 2 bright pixels per bar row: < 2%
        assert_eq!(detect_borders(&f, 128, 128, &HashOptions::default()).y, 16);
    }

    #[test]
    fn all_black_and_mostly_black_frames_are_not_trimmed() {
        let opts = HashOptions::default();
        let f = vec![0u8; 128 * 128];
        assert_eq!(detect_borders(&f, 128, 128, &opts), Rect { x: 0, y: 0, width: 128, height: 128 });
        // A small bright spot in a dark frame would leave < 25% of the frame: keep the whole frame.
        let mut f = vec![0u8; 128 * 128];
        paint(&mut f, 128, 60, 60, 70, 70, 200);
        assert_eq!(detect_borders(&f, 128, 128, &opts), Rect { x: 0, y: 0, width: 128, height: 128 });
    }

    #[test]
    fn trimming_can_be_switched_off() {
        let mut f = textured(64, 64);
        paint(&mut f, 64, 0, 0, 64, 8, 0);
        let opts = HashOptions { trim_borders: false, ..HashOptions::default() };
        assert_eq!(detect_borders(&f, 64, 64, &opts), Rect { x: 0, y: 0, width: 64, height: 64 });
    }
}
