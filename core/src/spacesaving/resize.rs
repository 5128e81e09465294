//! Merges of Space-Saving sketches of different capacities, and the checks a merge
//! makes before it changes anything.
//!
//! # Result of a merge of capacities a and b
//!
//! The result has capacity min(a, b): its stored form keeps min(a, b) counters. (TopN
//! merges any sizes and prunes to the session's `topn.number_of_counters`; DataSketches
//! keeps the size of the sketch merged into. The smaller one keeps the merge
//! commutative, and the bounds below are those the smaller sketch promised.) The merge itself (counts and errors added, thresholds added) does not
//! depend on the capacities, so `count - error <= true count <= count` for every
//! monitored item and `true count <= threshold` for every other one, as for any merge.
//!
//! The size bound: with Φ the sum over the counters of (count − threshold) and k the
//! capacity, every sketch keeps **Φ + k · threshold ≤ total**. An update adds its weight
//! to both sides; an eviction (or the cut to k counters when stored) keeps at least k
//! counters of count at least the new threshold c, so Φ drops by at least
//! (keep + 1)(c − threshold) while k · threshold rises by k (c − threshold); a merge adds
//! both Φ and both thresholds (an item monitored by one side only gains the other's
//! threshold in count and threshold alike). An invariant for capacity a also holds for
//! any smaller capacity, so the merge at min(a, b) keeps it. Hence:
//!
//! * `threshold ≤ total / min(a, b)`;
//! * every item whose true count is above total / min(a, b) is monitored (its count is
//!   above the threshold);
//! * every error (`count − (count − error)`) is at most the threshold, so at most
//!   total / min(a, b).
//!
//! The tests below check these against exact counts for random streams of random
//! capacities, stored and working sketches, both orders.

use super::*;

impl SpaceSaving {
    /// Checks everything that can make [`merge`](Self::merge) fail (item kinds and
    /// types, the total's range, the byte keys' addressing), so that a caller merging
    /// several parts can check them all before changing any.
    pub fn check_merge(&self, other: &SpaceSaving) -> Result<()> {
        self.check_compatible(other)?;
        if other.total == 0 {
            return Ok(());
        }
        self.add_total(other.total)?;
        if self.kind == ItemKind::Bytes && self.total > 0 {
            self.check_key(other.arena.len())?;
        }
        Ok(())
    }

    /// Lowers the capacity to `cap` (no-op if not smaller). A working table is brought
    /// within the working size of the new capacity; a decoded list is cut when stored.
    pub(super) fn lower_capacity(&mut self, cap: u32) {
        if cap >= self.capacity {
            return;
        }
        self.capacity = cap;
        if !self.slots.is_empty() {
            self.fit_table();
        }
    }

    /// After a merge (or a lowered capacity), "keep the largest counters": a state
    /// passing 3 × capacity counters is cut to `capacity` (what its stored form keeps),
    /// so merge states stay small (2 MB at the default capacity) and merges fast, and a
    /// table grown past its working size is shrunk back to it.
    pub(super) fn fit_table(&mut self) {
        let cap = self.capacity as usize;
        if self.live > 3 * cap {
            self.evict_to(cap);
        }
        let max = max_slots(self.capacity);
        if self.slots.len() > max {
            if self.live >= max / 4 * 3 {
                self.evict_to((max / 8 * 3).max(cap));
            }
            self.resize(max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const IDS: usize = 300;

    fn build(cap: u32, ev: &[(i64, u64)], stored: bool) -> SpaceSaving {
        let mut s = SpaceSaving::new(cap).unwrap();
        for &(v, w) in ev {
            s.update_int(v, hash_i64(v), w).unwrap();
        }
        if stored {
            s = SpaceSaving::from_bytes(&s.to_bytes()).unwrap();
        }
        s
    }

    fn exact(parts: &[&[(i64, u64)]]) -> Vec<u64> {
        let mut e = vec![0u64; IDS];
        parts.iter().flat_map(|p| p.iter()).for_each(|&(v, w)| e[v as usize] += w);
        e
    }

    /// Every guarantee of a merged sketch of capacity `cap`, on its working state and on
    /// its stored form: bounds of every item, threshold <= total / cap, every item above
    /// total / cap present, every error at most total / cap.
    fn check(s: &SpaceSaving, e: &[u64], cap: u32) -> std::result::Result<(), TestCaseError> {
        prop_assert_eq!(s.capacity(), cap);
        let total: u64 = e.iter().sum();
        prop_assert_eq!(s.total(), total);
        for s in [s.clone(), SpaceSaving::from_bytes(&s.to_bytes()).unwrap()] {
            let t = s.threshold();
            prop_assert!(t * cap as u64 <= total, "threshold {} cap {} total {}", t, cap, total);
            let top = s.top(usize::MAX);
            let mut seen = vec![false; IDS];
            for x in &top {
                let Item::Int(id) = x.item else { unreachable!() };
                let tr = e[id as usize];
                prop_assert!(x.count - x.error <= tr && tr <= x.count, "{}: {:?} true {}", id, x, tr);
                prop_assert!(x.error <= t && x.error * cap as u64 <= total);
                seen[id as usize] = true;
            }
            for (id, &c) in e.iter().enumerate() {
                prop_assert!(seen[id] || c <= t, "unmonitored {} true {} threshold {}", id, c, t);
                prop_assert!(seen[id] || c * (cap as u64) <= total, "{} above total/cap missing", id);
            }
        }
        Ok(())
    }

    fn events() -> impl Strategy<Value = Vec<(i64, u64)>> {
        // Skewed: id = a * b / IDS puts more weight on small ids.
        prop::collection::vec((0..IDS as i64, 0..IDS as i64, 1u64..6), 0..1200)
            .prop_map(|v| v.into_iter().map(|(a, b, w)| (a * b / IDS as i64, w)).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

        /// Merges of two capacities, both orders, working or stored inputs: the result
        /// is at the smaller capacity with its guarantees.
        #[test]
        fn merge_of_two_capacities(ca in 1u32..60, cb in 1u32..60, a in events(), b in events(), sa: bool, sb: bool) {
            let (x, y) = (build(ca, &a, sa), build(cb, &b, sb));
            let e = exact(&[&a, &b]);
            for (p, q) in [(&x, &y), (&y, &x)] {
                let mut m = p.clone();
                m.merge(q).unwrap();
                check(&m, &e, ca.min(cb))?;
            }
        }

        /// A chain of merges of random capacities keeps the guarantees of the smallest.
        #[test]
        fn merge_chain_of_capacities(caps in prop::collection::vec(1u32..50, 2..7), parts in prop::collection::vec(events(), 7), st: u8) {
            let mut acc = build(caps[0], &parts[0], st & 1 == 1);
            for (i, cap) in caps.iter().enumerate().skip(1) {
                acc.merge(&build(*cap, &parts[i], (st >> (i % 8)) & 1 == 1)).unwrap();
            }
            let refs: Vec<&[(i64, u64)]> = parts[..caps.len()].iter().map(|p| p.as_slice()).collect();
            check(&acc, &exact(&refs), *caps.iter().min().unwrap())?;
        }
    }

    #[test]
    fn merge_with_empty_sketch_takes_the_smaller_capacity() {
        let ev: Vec<(i64, u64)> = (0..2000).map(|i| ((i * i) % 97, 1)).collect();
        for stored in [false, true] {
            let full = build(200, &ev, stored);
            let mut a = full.clone();
            a.merge(&SpaceSaving::new(10).unwrap()).unwrap();
            let mut b = SpaceSaving::new(10).unwrap();
            b.merge(&full).unwrap();
            assert_eq!(a.capacity(), 10);
            assert_eq!(a.to_bytes(), b.to_bytes());
            let back = SpaceSaving::from_bytes(&a.to_bytes()).unwrap();
            assert_eq!(back.capacity(), 10);
            assert!(back.len() <= 10);
        }
    }

    #[test]
    fn lowered_capacity_shrinks_a_working_table() {
        let ev: Vec<(i64, u64)> = (0..200_000).map(|i| ((i * 7919) % 100_000, 1)).collect();
        let mut big = build(12_000, &ev, false);
        let before = big.heap_bytes();
        big.merge(&build(100, &ev[..1000], false)).unwrap();
        assert_eq!(big.capacity(), 100);
        assert!(big.slots.len() <= max_slots(100), "{} slots", big.slots.len());
        assert!(big.len() <= 300 && big.heap_bytes() < before / 10);
    }

    #[test]
    fn failed_checks_leave_the_sketch_unchanged() {
        let mut a = build(50, &[(1, 3), (2, 1)], false);
        let mut b = SpaceSaving::new(10).unwrap();
        b.update_bytes(b"x", hash_bytes(b"x"), 1).unwrap();
        let before = a.to_bytes();
        assert!(a.check_merge(&b).is_err());
        assert!(a.merge(&b).is_err());
        assert_eq!(a.capacity(), 50);
        assert_eq!(a.to_bytes(), before);
        let mut big = SpaceSaving::new(10).unwrap();
        big.update_int(1, hash_i64(1), I64_MAX - 1).unwrap();
        assert!(a.merge(&big).is_err());
        assert_eq!(a.to_bytes(), before);
    }
}
