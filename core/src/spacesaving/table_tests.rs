//! Tests of the working table's eviction cut.

use super::tests::{upd, Rng};
use super::*;

/// The cut of [`SpaceSaving::kth_count`] (its histogram, and the selection past it) is
/// the one of sorting every live count, for counts near the threshold, far above it,
/// and after a merge (fixed seeds).
#[test]
fn kth_count_equals_sorting() {
    for (seed, max_w, heavy) in [(1u64, 1u64, 0u64), (2, 3, 0), (3, 1, 5_000), (4, 40, 100_000)] {
        let mut rng = Rng(seed);
        let mut s = SpaceSaving::new(500).unwrap();
        for i in 0..200_000u64 {
            let v = rng.below(30_000) as i64;
            upd(&mut s, v, 1 + rng.below(max_w));
            if heavy > 0 && i % 50 == 0 {
                // A few items far above the threshold (past the histogram's buckets).
                upd(&mut s, -(rng.below(300) as i64) - 1, 1 + rng.below(heavy));
            }
        }
        assert!(s.threshold() > 0, "the test must evict");
        let mut other = SpaceSaving::new(500).unwrap();
        for v in 0..20_000 {
            upd(&mut other, v, 3);
        }
        assert!(other.threshold() > 0);
        for s in [s.clone(), { let mut m = s.clone(); m.merge(&other).unwrap(); m }] {
            let mut counts: Vec<u64> =
                s.slots.iter().filter(|x| x.lower != 0).map(|x| x.count.wrapping_add(s.offset)).collect();
            counts.sort_unstable();
            for k in [1, 2, counts.len() / 3, counts.len() / 2, counts.len() - 1, counts.len()] {
                let c = counts[k - 1];
                let lt = counts.iter().filter(|&&x| x < c).count();
                let eq = counts.iter().filter(|&&x| x == c).count();
                assert_eq!(s.kth_count(k), (c, lt, eq), "seed {seed}, k {k}");
            }
        }
    }
}
