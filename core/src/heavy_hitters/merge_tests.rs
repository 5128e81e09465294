//! Merges of heavy_hitters sketches of different k (the result at the smaller k, with
//! the Space-Saving guarantees of its 4k candidates), and merges that must fail without
//! changing the sketch.

use super::*;
use proptest::prelude::*;

const IDS: usize = 500;

fn build(k: u32, ev: &[(i64, u64)], stored: bool) -> HeavyHitters {
    let mut h = HeavyHitters::new(k, 0.01, 0.05).unwrap();
    for &(v, w) in ev {
        h.update_int(v, hash_i64(v), w).unwrap();
    }
    if stored {
        h = HeavyHitters::from_bytes(&h.to_bytes()).unwrap();
    }
    h
}

fn exact(parts: &[&[(i64, u64)]]) -> Vec<u64> {
    let mut e = vec![0u64; IDS];
    parts.iter().flat_map(|p| p.iter()).for_each(|&(v, w)| e[v as usize] += w);
    e
}

/// The merged sketch (and its stored form) has k = `k`, every reported bound holds,
/// every item counted more than total / (4k) is reported, and every error is at most
/// total / (4k).
fn check(h: &HeavyHitters, e: &[u64], k: u32) -> std::result::Result<(), TestCaseError> {
    let total: u64 = e.iter().sum();
    let cap = (k * CANDIDATES_PER_K) as u64;
    for h in [h.clone(), HeavyHitters::from_bytes(&h.to_bytes()).unwrap()] {
        prop_assert_eq!(h.k(), k);
        prop_assert_eq!(h.total(), total);
        let mut seen = vec![false; IDS];
        for x in h.top(usize::MAX) {
            let Item::Int(id) = x.item else { unreachable!() };
            let tr = e[id as usize];
            prop_assert!(x.count - x.error <= tr && tr <= x.count, "{}: {:?} true {}", id, x, tr);
            prop_assert!(x.error * cap <= total, "{}: error {} total {} cap {}", id, x.error, total, cap);
            seen[id as usize] = true;
        }
        for (id, &c) in e.iter().enumerate() {
            prop_assert!(seen[id] || c * cap <= total, "{} (true {}) above total/4k is missing", id, c);
        }
    }
    Ok(())
}

fn events() -> impl Strategy<Value = Vec<(i64, u64)>> {
    prop::collection::vec((0..IDS as i64, 0..IDS as i64, 1u64..6), 0..1500)
        .prop_map(|v| v.into_iter().map(|(a, b, w)| (a * b / IDS as i64, w)).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn merge_of_two_k(ka in 1u32..16, kb in 1u32..16, a in events(), b in events(), sa: bool, sb: bool) {
        let (x, y) = (build(ka, &a, sa), build(kb, &b, sb));
        let e = exact(&[&a, &b]);
        for (p, q) in [(&x, &y), (&y, &x)] {
            let mut m = p.clone();
            m.merge(q).unwrap();
            check(&m, &e, ka.min(kb))?;
        }
    }

    #[test]
    fn merge_chain_of_k(ks in prop::collection::vec(1u32..12, 2..6), parts in prop::collection::vec(events(), 6)) {
        let mut acc = build(ks[0], &parts[0], false);
        for (i, k) in ks.iter().enumerate().skip(1) {
            acc.merge(&build(*k, &parts[i], i % 2 == 0)).unwrap();
        }
        let refs: Vec<&[(i64, u64)]> = parts[..ks.len()].iter().map(|p| p.as_slice()).collect();
        check(&acc, &exact(&refs), *ks.iter().min().unwrap())?;
    }
}

#[test]
fn failed_merges_leave_both_halves_unchanged() {
    let mut a = build(10, &[(1, 5), (2, 3)], false);
    let before = a.to_bytes();
    // Different item kind: found by the candidates' check, before the count-min half
    // is changed.
    let mut b = HeavyHitters::new(20, 0.01, 0.05).unwrap();
    b.update_bytes(b"x", hash_bytes(b"x"), 1).unwrap();
    assert!(a.merge(&b).is_err());
    assert_eq!(a.to_bytes(), before);
    // Overflow of the total.
    let mut big = HeavyHitters::new(20, 0.01, 0.05).unwrap();
    big.update_int(1, hash_i64(1), i64::MAX as u64 - 2).unwrap();
    assert!(a.merge(&big).is_err());
    assert_eq!(a.to_bytes(), before);
    // Different epsilon: an error with a hint, whatever the k.
    let e = a.merge(&HeavyHitters::new(10, 0.001, 0.05).unwrap()).unwrap_err();
    assert_eq!(e.kind, crate::ErrorKind::Mismatch);
    assert!(e.hint.as_deref().unwrap().contains("same epsilon and delta"), "{e}");
    assert_eq!(a.to_bytes(), before);
}

#[test]
fn merge_into_a_state_equals_merging_copies() {
    // The in-place merge gives the same sketch as the old merge into a copy of the
    // candidates, at the default size and over 30 stored parts.
    let ev: Vec<(i64, u64)> = (0..300_000i64).map(|i| ((i * i + 7 * i) % 40_000, 1 + (i % 3) as u64)).collect();
    let parts: Vec<HeavyHitters> = ev.chunks(10_000).map(|p| {
        let mut h = HeavyHitters::with_defaults();
        p.iter().for_each(|&(v, w)| h.update_int(v, hash_i64(v), w).unwrap());
        HeavyHitters::from_bytes(&h.to_bytes()).unwrap()
    }).collect();
    let mut in_place = HeavyHitters::with_defaults();
    let (mut cands, mut cms) = (SpaceSaving::new(DEFAULT_K * CANDIDATES_PER_K).unwrap(), Cms::new(DEFAULT_EPSILON, DEFAULT_DELTA).unwrap());
    for p in &parts {
        in_place.merge(p).unwrap();
        let mut c = cands.clone();
        c.merge(&p.candidates).unwrap();
        cms.merge(&p.cms).unwrap();
        cands = c;
    }
    let copied = HeavyHitters { k: DEFAULT_K, candidates: cands, cms };
    assert_eq!(in_place.to_bytes(), copied.to_bytes());
    assert_eq!(in_place.total(), ev.iter().map(|e| e.1).sum::<u64>());
}
