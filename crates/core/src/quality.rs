//! Per-frame information measure: black, uniform, faded and near-constant frames hash alike
//! (a uniform frame is `8000000000000000` whatever its colour), so they must not count as matching
//! evidence. This measure lets callers gate them.

use crate::phash::HASH_SIDE;

/// Mean absolute difference between horizontally and vertically adjacent pixels of the 32x32 hash
/// image, in gray levels: 0 for a uniform frame, well under 1 for a fade or a near-black frame,
/// typically 3 to 30 for natural footage.
pub fn frame_quality(pixels: &[f64; HASH_SIDE * HASH_SIDE]) -> f32 {
    let n = HASH_SIDE;
    let mut sum = 0.0;
    for y in 0..n {
        for x in 0..n {
            let p = pixels[y * n + x];
            if x + 1 < n {
                sum += (p - pixels[y * n + x + 1]).abs();
            }
            if y + 1 < n {
                sum += (p - pixels[(y + 1) * n + x]).abs();
            }
        }
    }
    (sum / (2 * n * (n - 1)) as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_zero() {
        assert_eq!(frame_quality(&[0.0; 1024]), 0.0);
        assert_eq!(frame_quality(&[200.0; 1024]), 0.0);
    }

    #[test]
    fn stripes_measure_their_contrast() {
        // Vertical stripes 0/100: every horizontal pair differs by 100, vertical pairs by 0.
        let mut px = [0.0; 1024];
        for (i, p) in px.iter_mut().enumerate() {
            *p = if i % 2 == 0 { 0.0 } else { 100.0 };
        }
        assert!((frame_quality(&px) - 50.0).abs() < 1e-4);
    }

    #[test]
    fn noise_is_high_and_faint_gradient_is_low() {
        let mut seed = 7u64;
        let mut noise = [0.0; 1024];
        for p in noise.iter_mut() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            *p = (seed >> 56) as f64;
        }
        assert!(frame_quality(&noise) > 40.0);
        let mut ramp = [0.0; 1024];
        for (i, p) in ramp.iter_mut().enumerate() {
            *p = 10.0 + (i % 32) as f64 * 0.2;
        }
        assert!(frame_quality(&ramp) < 0.2);
    }
}
