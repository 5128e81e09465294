//! Tests of the sparse/dense switch at several precisions and of merges across
//! precisions (the result is at the lower precision, exactly the one-pass sketch).

use super::*;
use crate::hash::{hash_i64, remix};

/// The hash of item `i` (distinct for distinct items).
fn item_hash(i: u64) -> u64 {
    remix(hash_i64(i as i64) ^ 0x5851_F42D_4C95_7F2D)
}

fn build(p: u8, items: impl IntoIterator<Item = u64>) -> Hll {
    let mut h = Hll::new(p).unwrap();
    items.into_iter().for_each(|i| h.add_hash(item_hash(i)));
    h
}

/// The stored mode byte: 0 sparse, 1 dense (after 'H', version, precision, item type).
fn mode_byte(h: &Hll) -> u8 {
    h.to_bytes()[7]
}

fn round_trips(h: &Hll) {
    let bytes = h.to_bytes();
    let back = Hll::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back.is_sparse(), h.is_sparse());
    assert_eq!(back.count(), h.count());
    assert_eq!(Hll::from_text(&h.to_text()).unwrap().to_bytes(), bytes);
}

const PRECISIONS: [u8; 8] = [4, 5, 7, 10, 12, 14, 16, 18];

#[test]
fn sparse_dense_switch_at_several_precisions() {
    for p in PRECISIONS {
        let limit = (1usize << p) * 6 / 64;
        assert_eq!(Hll::new(p).unwrap().sparse_limit(), limit);
        for n in [limit.saturating_sub(1), limit, limit + 1, limit + 2] {
            let h = build(p, 0..n as u64);
            let sparse = n <= limit;
            assert_eq!(h.is_sparse(), sparse, "p={p} n={n}");
            assert_eq!(mode_byte(&h), !sparse as u8, "p={p} n={n}");
            if sparse {
                assert_eq!(h.count(), n as u64, "p={p} n={n}: exact while sparse");
                assert_eq!(h.stderr(), 0.0);
            } else {
                // Just past the switch the registers are mostly empty: the estimate is
                // far closer than the standard error (checked at 3 standard errors).
                let se = 1.04 / ((1u64 << p) as f64).sqrt();
                let rel = (h.count() as f64 - n as f64).abs() / n as f64;
                assert!(rel <= 3.0 * se, "p={p} n={n}: estimate {} rel {rel}", h.count());
                assert_eq!(h.stderr(), se);
                // Densifying on the switch equals building the registers directly.
                let mut direct = vec![0u8; 1 << p];
                (0..n as u64).for_each(|i| Hll::set_register(&mut direct, p, item_hash(i)));
                assert!(matches!(&h.repr, Repr::Dense(r) if *r == direct), "p={p} n={n}");
            }
            round_trips(&h);
            // Two halves merged (stored, then decoded) equal the one pass, both orders,
            // on either side of the switch.
            let (a, b) = (build(p, 0..(n / 2) as u64), build(p, (n / 3) as u64..n as u64));
            let (a, b) = (Hll::from_bytes(&a.to_bytes()).unwrap(), Hll::from_bytes(&b.to_bytes()).unwrap());
            for (x, y) in [(&a, &b), (&b, &a)] {
                let mut m = x.clone();
                m.merge(y).unwrap();
                assert_eq!(m, h, "p={p} n={n}");
                assert_eq!(m.is_sparse(), sparse);
                round_trips(&m);
            }
        }
    }
}

#[test]
fn decoder_rejects_one_sparse_entry_too_many() {
    for p in [4u8, 10, 14] {
        let limit = (1usize << p) * 6 / 64;
        let mut w = Writer::with_header(MAGIC, VERSION);
        w.u8(p);
        w.u32(0);
        w.u8(0);
        w.varint(limit as u64 + 1);
        (0..=limit).for_each(|_| w.varint(1));
        assert!(Hll::from_bytes(&w.finish()).is_err(), "p={p}");
    }
}

#[test]
fn fold_equals_one_pass_at_the_lower_precision() {
    for (hi, lo) in [(5u8, 4u8), (14, 10), (14, 13), (18, 4), (12, 11), (16, 12)] {
        let (lim_lo, lim_hi) = ((1u64 << lo) * 6 / 64, (1u64 << hi) * 6 / 64);
        for n in [0, 1, 2, lim_lo, lim_lo + 1, (lim_lo + lim_hi) / 2, lim_hi, lim_hi + 1, 8 << hi] {
            let mut f = build(hi, 0..n);
            let sparse_before = f.is_sparse();
            f.fold_to(lo);
            let one = build(lo, 0..n);
            assert_eq!(f.precision(), lo);
            assert_eq!(f, one, "{hi} -> {lo}, n={n} (sparse before: {sparse_before})");
            assert_eq!(f.count(), one.count());
        }
    }
}

#[test]
fn merge_across_precisions_is_at_the_lower_one() {
    // Overlapping ranges, sparse and dense on each side, merged in both orders.
    for (pa, pb) in [(14u8, 10u8), (10, 14), (18, 4), (12, 11)] {
        for (na, nb) in [(10u64, 10u64), (50, 5000), (5000, 50), (100_000, 30_000)] {
            let a = build(pa, 0..na);
            let b = build(pb, na / 2..na / 2 + nb);
            let one = build(pa.min(pb), 0..na / 2 + nb.max(na - na / 2));
            for (x, y) in [(&a, &b), (&b, &a)] {
                let mut m = x.clone();
                m.merge(y).unwrap();
                assert_eq!(m.precision(), pa.min(pb));
                assert_eq!(m, one, "pa={pa} pb={pb} na={na} nb={nb}");
                round_trips(&m);
            }
        }
    }
    // A merge of sketches of different item types is still an error.
    let (mut a, mut b) = (Hll::new(10).unwrap(), Hll::new(12).unwrap());
    a.item_type = 20;
    b.item_type = 25;
    assert!(a.merge(&b).is_err());
    assert_eq!(a.precision(), 10);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, failure_persistence: None, ..Default::default() })]

    /// One register folds exactly as its hash would have been placed at the lower
    /// precision (index and rank), for any hash.
    #[test]
    fn fold_register_matches_direct_placement(h: u64, p in 5u8..=18, d_seed: u8) {
        let d = 1 + d_seed % (p - MIN_PRECISION);
        let mut hi = vec![0u8; 1 << p];
        Hll::set_register(&mut hi, p, h);
        let idx = (h >> (64 - p)) as usize;
        let mut lo = vec![0u8; 1 << (p - d)];
        Hll::set_register(&mut lo, p - d, h);
        let (i, r) = fold_register(idx, hi[idx], d);
        proptest::prop_assert_eq!(r, lo[i]);
        proptest::prop_assert_eq!(i, (h >> (64 - (p - d))) as usize);
    }

    /// Merge of two sketches of any precisions, in either order, equals the one-pass
    /// sketch of the union at the lower precision (so its estimate too).
    #[test]
    fn merge_of_different_precisions_equals_one_pass(pa in 4u8..=12, pb in 4u8..=12,
            a in proptest::collection::vec(0u64..20_000, 0..3000),
            b in proptest::collection::vec(0u64..20_000, 0..3000),
            stored: bool) {
        let (mut x, mut y) = (build(pa, a.iter().copied()), build(pb, b.iter().copied()));
        if stored {
            x = Hll::from_bytes(&x.to_bytes()).unwrap();
            y = Hll::from_bytes(&y.to_bytes()).unwrap();
        }
        let one = build(pa.min(pb), a.iter().chain(&b).copied());
        let mut xy = x.clone();
        xy.merge(&y).unwrap();
        let mut yx = y.clone();
        yx.merge(&x).unwrap();
        proptest::prop_assert_eq!(xy.precision(), pa.min(pb));
        proptest::prop_assert_eq!(xy.count(), one.count());
        proptest::prop_assert_eq!(&xy, &one);
        proptest::prop_assert_eq!(&yx, &one);
    }
}
