//! The hash stored sketches depend on. It must give the same bits on every machine,
//! CPU feature set, crate version and PostgreSQL version, for ever: it is XXH3-64
//! (whose output is frozen by its specification since xxHash 0.8.0) over a canonical
//! byte form of the item, pinned by the test vectors below. Never change it; a new
//! hash needs a new on-disk format version.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Seed of the item hash. Part of the on-disk format.
pub const ITEM_HASH_SEED: u64 = 0x746f_706b_5f70_6731; // "topk_pg1"

/// Hash of an item's canonical bytes.
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    xxh3_64_with_seed(bytes, ITEM_HASH_SEED)
}

/// Hash of an integer item: its 8 little-endian bytes, so that smallint, integer and
/// bigint items of the same value hash alike.
///
/// This is XXH3-64's path for inputs of 4 to 8 bytes written out for exactly 8 bytes
/// and [`ITEM_HASH_SEED`] (the key folding into a constant): a dozen instructions
/// inline, where the library's length dispatch costs about 24 a call. The test
/// `hash_i64_is_xxh3` checks it against the library.
#[inline(always)]
pub fn hash_i64(v: i64) -> u64 {
    const PRIME_MX2: u64 = 0x9FB2_1C65_1E98_DF25;
    // XXH3's default secret, bytes 8..16 and 16..24 (little-endian).
    const SECRET_8: u64 = 0x1cad_21f7_2c81_017c;
    const SECRET_16: u64 = 0xdb97_9083_e96d_d4de;
    const SEED: u64 = ITEM_HASH_SEED ^ (((ITEM_HASH_SEED as u32).swap_bytes() as u64) << 32);
    const BITFLIP: u64 = (SECRET_8 ^ SECRET_16).wrapping_sub(SEED);
    // input64 = read32(bytes 4..8) + (read32(bytes 0..4) << 32): the halves swapped.
    let mut h = (v as u64).rotate_left(32) ^ BITFLIP;
    // rrmxmx(h, len = 8)
    h ^= h.rotate_left(49) ^ h.rotate_left(24);
    h = h.wrapping_mul(PRIME_MX2);
    h ^= (h >> 35).wrapping_add(8);
    h = h.wrapping_mul(PRIME_MX2);
    h ^ (h >> 28)
}

/// A second, independent 64-bit value derived from a hash (splitmix64 finaliser), for
/// sketches that need more hash bits than one 64-bit hash gives.
#[inline]
pub fn remix(h: u64) -> u64 {
    let mut z = h.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// XXH3-64 itself (the reference value of the empty input, seed 0).
    #[test]
    fn xxh3_reference() {
        assert_eq!(xxhash_rust::xxh3::xxh3_64(b""), 0x2d06_8005_38d3_94c2);
    }

    /// Test vectors: these values are part of the on-disk format and must never change.
    #[test]
    fn hash_is_stable() {
        assert_eq!(hash_bytes(b""), 0xfee7_4952_4d4b_15ff);
        assert_eq!(hash_bytes(b"a"), 0x962d_1f29_0718_4fa0);
        assert_eq!(hash_bytes(b"hello world"), 0xfa3a_7c38_2b16_f4c6);
        assert_eq!(hash_bytes(&[0u8; 200]), 0x4955_3ace_df39_fdae);
        assert_eq!(hash_i64(0), 0xa08a_d303_a871_b0c6);
        assert_eq!(hash_i64(1), 0x9b07_1096_6a06_b368);
        assert_eq!(hash_i64(-1), 0x3133_2521_e193_df4e);
        assert_eq!(hash_i64(5), 0x89cd_60f1_ba96_2895);
        assert_eq!(hash_i64(i64::MAX), 0x3df7_ce3f_aaf9_0f75);
    }

    /// The inline integer hash is XXH3-64 of the 8 little-endian bytes (fixed seeds).
    #[test]
    fn hash_i64_is_xxh3() {
        let mut x: u64 = 0x1234_5678_9abc_def0;
        let edges = [0i64, 1, -1, 2, i64::MIN, i64::MAX, i32::MIN as i64, i32::MAX as i64, 1 << 32, -(1 << 32)];
        let randoms = (0..100_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as i64
        });
        for v in edges.into_iter().chain(randoms).chain(-1000..1000) {
            assert_eq!(hash_i64(v), hash_bytes(&v.to_le_bytes()), "{v}");
        }
    }
}
