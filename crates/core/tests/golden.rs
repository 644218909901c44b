//! pHash against values produced by Python imagehash (tests/golden/make_golden.py).

use vdedup_core::{dct_low_8x8, flip_hash_from_dct, from_hex, hash_from_dct, phash_32x32, to_hex};

struct Case {
    name: String,
    pixels: Vec<u8>,
    hash: String,
    flip: String,
    dct: Vec<f64>,
}

fn cases() -> Vec<Case> {
    let text = include_str!("golden/golden.txt");
    let cases: Vec<Case> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 5 + 64, "malformed golden line");
            let pixels = (0..1024).map(|i| u8::from_str_radix(&f[1][2 * i..2 * i + 2], 16).unwrap()).collect();
            Case {
                name: f[0].to_string(),
                pixels,
                hash: f[2].to_string(),
                flip: f[3].to_string(),
                dct: f[5..].iter().map(|v| v.parse().unwrap()).collect(),
            }
        })
        .collect();
    assert!(cases.len() >= 10, "golden file has too few cases");
    cases
}

fn as_f64(pixels: &[u8]) -> [f64; 1024] {
    let mut f = [0.0; 1024];
    for (d, &s) in f.iter_mut().zip(pixels) {
        *d = f64::from(s);
    }
    f
}

#[test]
fn dct_block_matches_scipy() {
    for c in cases() {
        let ours = dct_low_8x8(&as_f64(&c.pixels));
        let scale = c.dct.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (i, (a, b)) in ours.iter().zip(&c.dct).enumerate() {
            assert!((a - b).abs() <= 1e-9 * scale, "{} coefficient {i}: ours {a}, scipy {b}", c.name);
        }
    }
}

#[test]
fn hash_matches_imagehash() {
    for c in cases() {
        let block = dct_low_8x8(&as_f64(&c.pixels));
        assert_eq!(to_hex(hash_from_dct(&block)), c.hash, "{}: hash_from_dct", c.name);
        assert_eq!(to_hex(phash_32x32(&c.pixels)), c.hash, "{}: phash_32x32", c.name);
        assert_eq!(from_hex(&c.hash).map(to_hex), Ok(c.hash.clone()));
    }
}

#[test]
fn flip_hash_matches_imagehash_of_the_mirror() {
    for c in cases() {
        let block = dct_low_8x8(&as_f64(&c.pixels));
        assert_eq!(to_hex(flip_hash_from_dct(&block)), c.flip, "{}: flip hash", c.name);
        let mirrored: Vec<u8> = (0..1024).map(|i| c.pixels[(i / 32) * 32 + 31 - i % 32]).collect();
        assert_eq!(to_hex(phash_32x32(&mirrored)), c.flip, "{}: hash of mirror", c.name);
    }
}

#[test]
fn degenerate_frames_as_documented() {
    let by_name = |n: &str| cases().into_iter().find(|c| c.name == n).unwrap();
    assert_eq!(by_name("uniform").hash, "8000000000000000");
    assert_eq!(by_name("white").hash, "8000000000000000");
    assert_eq!(by_name("black").hash, "0000000000000000");
}
