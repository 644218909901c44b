//! Hamming distance between 64-bit hashes.

/// Number of differing bits (popcount of the xor; one instruction with POPCNT).
#[inline]
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::hamming;

    #[test]
    fn counts_differing_bits() {
        assert_eq!(hamming(0, 0), 0);
        assert_eq!(hamming(0, u64::MAX), 64);
        assert_eq!(hamming(0b1011, 0b0010), 2);
        assert_eq!(hamming(0x8000_0000_0000_0000, 0), 1);
        assert_eq!(hamming(0xdead_beef, 0xdead_beef), 0);
    }
}
