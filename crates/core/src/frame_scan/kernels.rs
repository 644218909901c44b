//! The comparison loops of the frame scan: every (training frame, benchmark frame) pair within
//! `max_distance` bits, as a flat XOR-popcount-compare loop over one benchmark video's hashes. With
//! AVX-512 (VPOPCNTQ) 8 comparisons per instruction, four training hashes sharing one compare
//! through their lane-wise minimum; other CPUs run the portable loop, which LLVM vectorizes with
//! AVX2 where it can. All kernels find the same pairs (tested).

/// The comparison loop: AVX-512 with VPOPCNTQ (8 hashes per instruction), AVX2 (LLVM vectorizes
/// the portable loop with byte-table popcounts), or the portable loop for any CPU. All three find
/// the same pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Avx512,
    Avx2,
    Portable,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512vpopcntdq") {
                return Kernel::Avx512;
            }
            if has!("avx2") && has!("popcnt") {
                return Kernel::Avx2;
            }
        }
        Kernel::Portable
    }

    pub fn from_name(name: &str) -> Option<Kernel> {
        [Kernel::Avx512, Kernel::Avx2, Kernel::Portable].into_iter().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "avx512",
            Kernel::Avx2 => "avx2",
            Kernel::Portable => "portable",
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn supported(self) -> bool {
        matches!((self, Kernel::detect()), (Kernel::Portable, _) | (_, Kernel::Avx512) | (Kernel::Avx2, Kernel::Avx2))
    }
}

/// Every pair (query index, key index) whose hashes are within `max_distance` bits.
pub(super) fn close_pairs(keys: &[u64], queries: &[u64], max_distance: u32, kernel: Kernel, out: &mut Vec<(u32, u32)>) {
    match kernel {
        // SAFETY: `Kernel::detect` / `with_kernel` only choose kernels the CPU reports.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { close_pairs_avx512(keys, queries, max_distance, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { close_pairs_avx2(keys, queries, max_distance, out) },
        _ => close_pairs_portable(keys, queries, max_distance, out),
    }
}

/// Eight queries against one key at a time, into a bit mask first: a loop without a branch per
/// pair, which LLVM vectorizes when the CPU has vector popcounts (AVX2 byte tables).
#[inline(always)]
fn close_pairs_portable(keys: &[u64], queries: &[u64], max_distance: u32, out: &mut Vec<(u32, u32)>) {
    let (full, rest) = queries.split_at(queries.len() - queries.len() % 8);
    for (k, &key) in keys.iter().enumerate() {
        for (g, group) in full.chunks_exact(8).enumerate() {
            let mut close = 0u32;
            for (lane, &query) in group.iter().enumerate() {
                close |= u32::from((key ^ query).count_ones() <= max_distance) << lane;
            }
            while close != 0 {
                out.push(((g * 8) as u32 + close.trailing_zeros(), k as u32));
                close &= close - 1;
            }
        }
        for (q, &query) in rest.iter().enumerate() {
            if (key ^ query).count_ones() <= max_distance {
                out.push(((full.len() + q) as u32, k as u32));
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn close_pairs_avx2(keys: &[u64], queries: &[u64], max_distance: u32, out: &mut Vec<(u32, u32)>) {
    close_pairs_portable(keys, queries, max_distance, out);
}

/// `close_pairs` 16 keys at a time: XOR with a broadcast query, VPOPCNTQ, and for four queries
/// at once the lane-wise minimum distance, so one compare per four queries finds the blocks that
/// hold a close pair (few do); only those compare query by query. The same pairs as the
/// scalar loop, in another order (callers only count them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn close_pairs_avx512(keys: &[u64], queries: &[u64], max_distance: u32, out: &mut Vec<(u32, u32)>) {
    use std::arch::x86_64::*;
    let limit = _mm512_set1_epi64(i64::from(max_distance));
    let lanes = |n: usize| -> __mmask8 {
        if n >= 8 {
            0xFF
        } else {
            (1u8 << n) - 1
        }
    };
    let mut k = 0;
    while k < keys.len() {
        let (va, vb) = (lanes(keys.len() - k), lanes(keys.len().saturating_sub(k + 8)));
        // SAFETY: the masked loads read only keys that exist.
        let (a, b) = unsafe {
            (
                _mm512_maskz_loadu_epi64(va, keys.as_ptr().add(k) as *const i64),
                _mm512_maskz_loadu_epi64(vb, keys.as_ptr().add((k + 8).min(keys.len())) as *const i64),
            )
        };
        let distance = |block: __m512i, q: u64| _mm512_popcnt_epi64(_mm512_xor_si512(block, _mm512_set1_epi64(q as i64)));
        let mut emit = |q: usize, block: __m512i, valid: __mmask8, first: usize| {
            let mut close = _mm512_mask_cmple_epu64_mask(valid, distance(block, queries[q]), limit);
            while close != 0 {
                out.push((q as u32, (first + close.trailing_zeros() as usize) as u32));
                close &= close - 1;
            }
        };
        let mut q = 0;
        while q + 4 <= queries.len() {
            let (q0, q1, q2, q3) = (queries[q], queries[q + 1], queries[q + 2], queries[q + 3]);
            let near_a = _mm512_min_epu64(_mm512_min_epu64(distance(a, q0), distance(a, q1)), _mm512_min_epu64(distance(a, q2), distance(a, q3)));
            let near_b = _mm512_min_epu64(_mm512_min_epu64(distance(b, q0), distance(b, q1)), _mm512_min_epu64(distance(b, q2), distance(b, q3)));
            let hit_a = _mm512_mask_cmple_epu64_mask(va, near_a, limit);
            let hit_b = _mm512_mask_cmple_epu64_mask(vb, near_b, limit);
            if hit_a | hit_b != 0 {
                for qq in q..q + 4 {
                    if hit_a != 0 {
                        emit(qq, a, va, k);
                    }
                    if hit_b != 0 {
                        emit(qq, b, vb, k + 8);
                    }
                }
            }
            q += 4;
        }
        for qq in q..queries.len() {
            emit(qq, a, va, k);
            emit(qq, b, vb, k + 8);
        }
        k += 16;
    }
}
