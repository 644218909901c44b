//! Window embeddings for approximate candidate retrieval (hnswlib, L2).
//!
//! A window of frames becomes a 128-dimensional vector: for each half of the window, the mean of
//! each hash bit mapped to +1/-1 over the half's informative frames. Aligned copies of the same
//! content give nearly equal vectors; the two halves keep coarse temporal order. Only a candidate
//! generator: every candidate is verified frame by frame (`matching::verify_offset`).

use crate::matching::{MatchParams, Sequence};

pub const EMBED_DIM: usize = 128;

/// Embedding of frames [start, start + len) of `seq`, written to `out`; returns how many of the
/// frames are informative.
pub fn window_embedding(seq: &Sequence, start: usize, len: usize, out: &mut [f32]) -> u32 {
    assert_eq!(out.len(), EMBED_DIM);
    out.fill(0.0);
    let half = len / 2;
    let mut informative = 0u32;
    let mut counts = [0u32; 2];
    for k in 0..len {
        let i = start + k;
        if !(seq.informative.is_empty() || seq.informative[i] != 0) {
            continue;
        }
        informative += 1;
        let part = usize::from(k >= half.max(1));
        counts[part] += 1;
        let h = seq.hashes[i];
        let dst = &mut out[part * 64..part * 64 + 64];
        for (bit, v) in dst.iter_mut().enumerate() {
            // Bit order as in the hex form: element 0 is the most significant bit.
            *v += if (h >> (63 - bit)) & 1 == 1 { 1.0 } else { -1.0 };
        }
    }
    for part in 0..2 {
        if counts[part] > 0 {
            let n = counts[part] as f32;
            for v in &mut out[part * 64..part * 64 + 64] {
                *v /= n;
            }
        }
    }
    informative
}

/// Embeddings of the windows of `seq` at `stride`, skipping windows with fewer informative frames
/// than `params.min_informative` asks. A video shorter than the window (and at least
/// `params.min_window` frames) gets one window covering all of it.
/// Returns the vectors back to back and each window's start frame.
pub fn window_embeddings(seq: &Sequence, params: &MatchParams, stride: usize) -> (Vec<f32>, Vec<u32>) {
    let stride = stride.max(1);
    let len = match params.window_for(seq.len(), usize::MAX) {
        Some(w) => w as usize,
        None => return (Vec::new(), Vec::new()),
    };
    let needed = ((params.min_informative * len as f64) - 1e-9).ceil().max(1.0) as u32;
    let mut vectors = Vec::new();
    let mut starts = Vec::new();
    let mut buf = [0f32; EMBED_DIM];
    let mut start = 0;
    while start + len <= seq.len() {
        if window_embedding(seq, start, len, &mut buf) >= needed {
            vectors.extend_from_slice(&buf);
            starts.push(start as u32);
        }
        start += stride;
    }
    (vectors, starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist2(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
    }

    #[test]
    fn all_ones_and_all_zeros() {
        let ones = vec![u64::MAX; 20];
        let mut v = [0f32; EMBED_DIM];
        assert_eq!(window_embedding(&Sequence::new(&ones, &[]), 0, 20, &mut v), 20);
        assert!(v.iter().all(|&x| x == 1.0));
        let zeros = vec![0u64; 20];
        window_embedding(&Sequence::new(&zeros, &[]), 0, 20, &mut v);
        assert!(v.iter().all(|&x| x == -1.0));
    }

    #[test]
    fn near_copies_embed_close_and_strangers_far() {
        let mut s = 42u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let a: Vec<u64> = (0..20).map(|_| next()).collect();
        // 3 bits off per frame, different bits in each frame (encoding noise).
        let near: Vec<u64> = a.iter().enumerate().map(|(i, h)| h ^ (1 << (i * 7 % 64)) ^ (1 << (i * 13 % 64)) ^ (1 << (i * 29 % 64))).collect();
        let other: Vec<u64> = (0..20).map(|_| next()).collect();
        let emb = |x: &[u64]| {
            let mut v = [0f32; EMBED_DIM];
            window_embedding(&Sequence::new(x, &[]), 0, 20, &mut v);
            v
        };
        let (ea, en, eo) = (emb(&a), emb(&near), emb(&other));
        assert!(dist2(&ea, &en) * 10.0 < dist2(&ea, &eo), "{} vs {}", dist2(&ea, &en), dist2(&ea, &eo));
    }

    #[test]
    fn windows_skip_uninformative_stretches_and_cover_short_videos() {
        let h: Vec<u64> = (0..40u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
        let mut info = vec![1u8; 40];
        info[0..15].fill(0);
        let p = MatchParams { min_informative: 0.5, min_window: 8, ..MatchParams::PAPER };
        let (vecs, starts) = window_embeddings(&Sequence::new(&h, &info), &p, 1);
        // Window at s has 20 - max(0, 15 - s) informative frames; needs 10 -> s >= 5.
        assert_eq!(starts.first(), Some(&5));
        assert_eq!(starts.len(), 40 - 20 + 1 - 5);
        assert_eq!(vecs.len(), starts.len() * EMBED_DIM);
        let short = &h[..12];
        let (v, s) = window_embeddings(&Sequence::new(short, &[]), &p, 1);
        assert_eq!((s, v.len()), (vec![0], EMBED_DIM));
        assert!(window_embeddings(&Sequence::new(&h[..5], &[]), &p, 1).1.is_empty());
    }
}
