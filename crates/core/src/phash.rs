//! 64-bit perceptual hash with Python imagehash's `phash` conventions: unnormalised DCT-II of a
//! 32x32 gray image along axis 0 then axis 1, the top-left 8x8 block (DC included), bits set where
//! a coefficient is strictly greater than the block's median, row-major, DC as the most
//! significant bit, printed as 16 hex digits.

use std::fmt;
use std::sync::OnceLock;

/// imagehash: hash_size 8 * highfreq_factor 4.
pub const HASH_SIDE: usize = 32;
const LOW: usize = 8;

/// `COS[k][n] = 2 cos(pi k (2n+1) / 2N)`: scipy.fftpack.dct type 2 with norm=None, rows k < 8 only,
/// since only the low-frequency block is ever used.
fn cos_table() -> &'static [[f64; HASH_SIDE]; LOW] {
    static TABLE: OnceLock<[[f64; HASH_SIDE]; LOW]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [[0.0; HASH_SIDE]; LOW];
        for (k, row) in t.iter_mut().enumerate() {
            for (n, v) in row.iter_mut().enumerate() {
                *v = 2.0 * (std::f64::consts::PI * k as f64 * (2 * n + 1) as f64 / (2 * HASH_SIDE) as f64).cos();
            }
        }
        t
    })
}

/// Top-left 8x8 block of the 2-D DCT-II of a 32x32 image, index `[v * 8 + h]` (v: vertical
/// frequency, axis 0; h: horizontal frequency, axis 1). Computed as C·X·Cᵀ with the 8 needed rows
/// of C: 8 KFLOP instead of a full 32x32 transform.
pub fn dct_low_8x8(pixels: &[f64; HASH_SIDE * HASH_SIDE]) -> [f64; 64] {
    let c = cos_table();
    // Axis 0 (down the columns): tmp[v][x] = sum_y C[v][y] * X[y][x].
    let mut tmp = [[0.0f64; HASH_SIDE]; LOW];
    for (v, trow) in tmp.iter_mut().enumerate() {
        for y in 0..HASH_SIDE {
            let cv = c[v][y];
            let row = &pixels[y * HASH_SIDE..(y + 1) * HASH_SIDE];
            for (t, &p) in trow.iter_mut().zip(row) {
                *t += cv * p;
            }
        }
    }
    // Axis 1 (along the rows): out[v][h] = sum_x tmp[v][x] * C[h][x].
    let mut out = [0.0f64; 64];
    for v in 0..LOW {
        for h in 0..LOW {
            out[v * LOW + h] = tmp[v].iter().zip(&c[h]).map(|(a, b)| a * b).sum();
        }
    }
    // Coefficients that are zero in exact arithmetic come out as +-1e-13 of rounding noise, and a
    // noise sign must not decide a bit: a uniform frame has to hash to 8000000000000000 as in
    // imagehash. Integer pixels make true non-zero coefficients far larger than this bound.
    let eps = 1e-9 * out[0].abs().max(1.0);
    for v in out.iter_mut() {
        if v.abs() < eps {
            *v = 0.0;
        }
    }
    out
}

/// numpy.median: mean of the two middle values of the 64.
fn median64(values: &[f64; 64]) -> f64 {
    let mut sorted = *values;
    sorted.sort_by(f64::total_cmp);
    (sorted[31] + sorted[32]) / 2.0
}

/// Threshold a DCT block on its median (strict `>`), element 0 (DC) as the most significant bit.
pub fn hash_from_dct(block: &[f64; 64]) -> u64 {
    let med = median64(block);
    block.iter().fold(0u64, |acc, &v| (acc << 1) | u64::from(v > med))
}

/// Hash of the horizontally mirrored image from the same DCT: mirroring x -> N-1-x multiplies
/// the coefficient of horizontal frequency h by (-1)^h, so odd columns change sign; the median is
/// then taken afresh.
pub fn flip_hash_from_dct(block: &[f64; 64]) -> u64 {
    let mut flipped = *block;
    for (i, v) in flipped.iter_mut().enumerate() {
        if (i % LOW) % 2 == 1 {
            *v = -*v;
        }
    }
    hash_from_dct(&flipped)
}

/// pHash of a 32x32 8-bit gray image (row-major, exactly 1024 bytes).
pub fn phash_32x32(pixels: &[u8]) -> u64 {
    assert_eq!(pixels.len(), HASH_SIDE * HASH_SIDE, "phash_32x32 needs 1024 pixels");
    let mut f = [0.0f64; HASH_SIDE * HASH_SIDE];
    for (d, &s) in f.iter_mut().zip(pixels) {
        *d = f64::from(s);
    }
    hash_from_dct(&dct_low_8x8(&f))
}

/// 16 lowercase hex digits, as `str(imagehash.phash(img))` prints.
pub fn to_hex(hash: u64) -> String {
    format!("{hash:016x}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseHashError(String);

impl fmt::Display for ParseHashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid 64-bit hash {:?}: expected exactly 16 hex digits", self.0)
    }
}

impl std::error::Error for ParseHashError {}

pub fn from_hex(s: &str) -> Result<u64, ParseHashError> {
    if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ParseHashError(s.to_string()));
    }
    u64::from_str_radix(s, 16).map_err(|_| ParseHashError(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_and_black_frames() {
        assert_eq!(to_hex(phash_32x32(&[128u8; 1024])), "8000000000000000");
        assert_eq!(to_hex(phash_32x32(&[255u8; 1024])), "8000000000000000");
        assert_eq!(to_hex(phash_32x32(&[0u8; 1024])), "0000000000000000");
    }

    #[test]
    fn dc_is_sum_times_four() {
        // Unnormalised DCT-II along two axes: DC = 2 * 2 * sum of pixels.
        let mut px = [0.0f64; 1024];
        for (i, p) in px.iter_mut().enumerate() {
            *p = (i % 7) as f64;
        }
        let sum: f64 = px.iter().sum();
        assert!((dct_low_8x8(&px)[0] - 4.0 * sum).abs() < 1e-6);
    }

    #[test]
    fn horizontal_ramp_sets_first_row_bits() {
        // Intensity rising left to right: energy in horizontal frequencies (row 0 of the block).
        let px: Vec<u8> = (0..1024).map(|i| ((i % 32) * 8) as u8).collect();
        let h = phash_32x32(&px);
        assert_eq!(h >> 63, 1, "DC bit");
        let block = {
            let mut f = [0.0; 1024];
            for (d, &s) in f.iter_mut().zip(&px) {
                *d = f64::from(s);
            }
            dct_low_8x8(&f)
        };
        // Vertical frequencies other than 0 carry nothing for a pure horizontal ramp.
        for v in 1..8 {
            for hh in 0..8 {
                assert!(block[v * 8 + hh].abs() < 1e-6);
            }
        }
    }

    #[test]
    fn flip_hash_matches_hash_of_mirror() {
        let mut seed = 12345u64;
        let px: Vec<u8> = (0..1024)
            .map(|i| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((seed >> 56) as usize / 2 + (i % 32) * 4) as u8
            })
            .collect();
        let mirrored: Vec<u8> = (0..1024).map(|i| px[(i / 32) * 32 + 31 - i % 32]).collect();
        let mut f = [0.0; 1024];
        for (d, &s) in f.iter_mut().zip(&px) {
            *d = f64::from(s);
        }
        assert_eq!(flip_hash_from_dct(&dct_low_8x8(&f)), phash_32x32(&mirrored));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        for h in [0u64, 1, 0x8000_0000_0000_0000, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(from_hex(&to_hex(h)), Ok(h));
        }
        assert_eq!(from_hex("0123456789ABCDEF"), Ok(0x0123_4567_89ab_cdef));
        for bad in ["", "123", "0123456789abcdeg", "+123456789abcdef", "0123456789abcdef0"] {
            assert!(from_hex(bad).is_err(), "{bad}");
        }
        assert!(from_hex("xyz").unwrap_err().to_string().contains("16 hex digits"));
    }
}
