//! Area-average resize (a box filter with fractional pixel coverage, like ffmpeg's `area` and
//! OpenCV's INTER_AREA) of a rectangle of a gray frame to the 32x32 hash grid.

use crate::borders::Rect;
use crate::phash::HASH_SIDE;

/// For each output cell along one axis: the source pixels it covers and how much of each.
fn axis_weights(src_len: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = src_len as f64 / HASH_SIDE as f64;
    (0..HASH_SIDE)
        .map(|o| {
            let (lo, hi) = (o as f64 * scale, (o + 1) as f64 * scale);
            let first = lo.floor() as usize;
            let last = (hi.ceil() as usize).min(src_len);
            (first..last)
                .filter_map(|s| {
                    let cover = (hi.min((s + 1) as f64) - lo.max(s as f64)).max(0.0);
                    (cover > 1e-12).then_some((s, cover / scale))
                })
                .collect()
        })
        .collect()
}

/// Mean gray value of each of the 32x32 cells `rect` divides into. Works for any rect size >= 1x1
/// (smaller than 32 means cells are fractions of one pixel, i.e. nearest-like upsampling).
pub fn resize_area_32(frame: &[u8], width: u32, height: u32, rect: Rect) -> [f64; HASH_SIDE * HASH_SIDE] {
    let (w, h) = (width as usize, height as usize);
    assert!(frame.len() >= w * h, "frame smaller than width*height");
    assert!(rect.width > 0 && rect.height > 0, "empty rect");
    assert!(rect.x + rect.width <= width && rect.y + rect.height <= height, "rect outside the frame");
    let xs = axis_weights(rect.width as usize);
    let ys = axis_weights(rect.height as usize);
    // Horizontal pass over the rows of the rect, then vertical pass.
    let mut rows = vec![[0.0f64; HASH_SIDE]; rect.height as usize];
    for (ry, row_out) in rows.iter_mut().enumerate() {
        let row = &frame[(rect.y as usize + ry) * w + rect.x as usize..];
        for (o, weights) in xs.iter().enumerate() {
            row_out[o] = weights.iter().map(|&(s, wgt)| f64::from(row[s]) * wgt).sum();
        }
    }
    let mut out = [0.0f64; HASH_SIDE * HASH_SIDE];
    for (oy, weights) in ys.iter().enumerate() {
        for &(s, wgt) in weights {
            let src = &rows[s];
            let dst = &mut out[oy * HASH_SIDE..(oy + 1) * HASH_SIDE];
            for (d, v) in dst.iter_mut().zip(src) {
                *d += v * wgt;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(w: u32, h: u32) -> Rect {
        Rect { x: 0, y: 0, width: w, height: h }
    }

    #[test]
    fn uniform_stays_uniform() {
        for (w, h) in [(128u32, 128u32), (100, 37), (32, 32), (7, 5)] {
            let f = vec![77u8; (w * h) as usize];
            for v in resize_area_32(&f, w, h, whole(w, h)) {
                assert!((v - 77.0).abs() < 1e-9, "{w}x{h}: {v}");
            }
        }
    }

    #[test]
    fn halving_is_exact_2x2_means() {
        let f: Vec<u8> = (0..64 * 64).map(|i| ((i * 37) % 251) as u8).collect();
        let out = resize_area_32(&f, 64, 64, whole(64, 64));
        for oy in 0..32 {
            for ox in 0..32 {
                let p = |x: usize, y: usize| f64::from(f[y * 64 + x]);
                let m = (p(2 * ox, 2 * oy) + p(2 * ox + 1, 2 * oy) + p(2 * ox, 2 * oy + 1) + p(2 * ox + 1, 2 * oy + 1)) / 4.0;
                assert!((out[oy * 32 + ox] - m).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn identity_at_32() {
        let f: Vec<u8> = (0..1024).map(|i| (i % 256) as u8).collect();
        let out = resize_area_32(&f, 32, 32, whole(32, 32));
        for (a, &b) in out.iter().zip(&f) {
            assert!((a - f64::from(b)).abs() < 1e-9);
        }
    }

    #[test]
    fn fractional_rect_uses_only_the_rect() {
        // Left 48 columns 200, rest 0; resizing only columns 0..48 must be all 200.
        let (w, h) = (128u32, 96u32);
        let f: Vec<u8> = (0..w * h).map(|i| if i % w < 48 { 200 } else { 0 }).collect();
        let out = resize_area_32(&f, w, h, Rect { x: 0, y: 10, width: 48, height: 75 });
        assert!(out.iter().all(|&v| (v - 200.0).abs() < 1e-9));
        // Mass is preserved: the mean of the output equals the mean of the rect.
        let out = resize_area_32(&f, w, h, Rect { x: 40, y: 0, width: 50, height: 96 });
        let mean: f64 = out.iter().sum::<f64>() / 1024.0;
        assert!((mean - 200.0 * 8.0 / 50.0).abs() < 1e-9);
    }
}
