//! Shared by the speed examples: a seeded generator and scene-structured random hash sequences
//! (scenes of 3-15 s whose hash drifts 0-3 bits a second, a new random hash at each cut).

/// A xorshift* generator from `seed` (deterministic runs).
pub fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `h` with `bits` random bits flipped (a bit may flip twice).
pub fn flip(mut h: u64, bits: u64, next: &mut dyn FnMut() -> u64) -> u64 {
    for _ in 0..bits {
        h ^= 1 << (next() % 64);
    }
    h
}

/// `n` seconds of scene-structured hashes.
pub fn walk(n: usize, next: &mut dyn FnMut() -> u64) -> Vec<u64> {
    let mut h = next();
    let mut left = 3 + next() % 13;
    (0..n)
        .map(|_| {
            if left == 0 {
                h = next();
                left = 3 + next() % 13;
            } else {
                let b = next() % 4;
                h = flip(h, b, next);
            }
            left -= 1;
            h
        })
        .collect()
}
