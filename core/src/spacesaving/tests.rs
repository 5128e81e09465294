//! Tests of the space-saving sketch: bounds, accuracy, merges, the stored form.

use super::*;
use crate::error::ErrorKind;
use std::collections::HashMap;

/// splitmix64 PRNG with a fixed seed.
pub(super) struct Rng(pub(super) u64);
impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf(s) over ranks 0..n, mapped to a random permutation of ids 1..=n.
pub(super) struct Zipf {
    cdf: Vec<f64>,
    ids: Vec<i64>,
}
impl Zipf {
    pub(super) fn new(n: usize, s: f64, seed: u64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        for r in 1..=n {
            acc += (r as f64).powf(-s);
            cdf.push(acc);
        }
        for c in cdf.iter_mut() {
            *c /= acc;
        }
        let mut ids: Vec<i64> = (1..=n as i64).collect();
        let mut rng = Rng(seed);
        for i in (1..n).rev() {
            ids.swap(i, rng.below(i as u64 + 1) as usize);
        }
        Zipf { cdf, ids }
    }
    /// The ids, most frequent first.
    pub(super) fn ids(&self) -> &[i64] {
        &self.ids
    }
    pub(super) fn sample(&self, rng: &mut Rng) -> i64 {
        let u = rng.unit();
        let r = self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1);
        self.ids[r]
    }
}

pub(super) fn upd(s: &mut SpaceSaving, v: i64, w: u64) {
    s.update_int(v, hash_i64(v), w).unwrap();
}

/// Exact top `k` ids of a count vector indexed by id (count desc, id asc).
pub(super) fn exact_top(exact: &[u64], k: usize) -> Vec<i64> {
    let mut ids: Vec<i64> = (0..exact.len() as i64)
        .filter(|&i| exact[i as usize] > 0)
        .collect();
    ids.sort_unstable_by(|&a, &b| exact[b as usize].cmp(&exact[a as usize]).then(a.cmp(&b)));
    ids.truncate(k);
    ids
}

/// Checks every guarantee of `s` against exact counts (ids 0..exact.len()).
pub(super) fn check_bounds(s: &SpaceSaving, exact: &[u64]) {
    let t = s.threshold();
    let all = s.top(usize::MAX);
    let mut seen = vec![false; exact.len()];
    for e in &all {
        let Item::Int(id) = e.item else { panic!() };
        let tr = exact[id as usize];
        assert!(
            e.count - e.error <= tr && tr <= e.count,
            "item {id}: true {tr}, count {} error {}",
            e.count,
            e.error
        );
        assert!(
            e.error <= t && t <= e.count,
            "entry {e:?} threshold {t} len {} total {} frozen {}",
            s.len(),
            s.total(),
            s.slots.is_empty()
        );
        seen[id as usize] = true;
    }
    for (id, &c) in exact.iter().enumerate() {
        if !seen[id] {
            assert!(c <= t, "unmonitored item {id}: true {c} > threshold {t}");
            assert_eq!(s.estimate_int(id as i64, hash_i64(id as i64)), (t, t));
        }
    }
}

/// `guaranteed` flags of top(n) are never wrong.
pub(super) fn check_guaranteed(s: &SpaceSaving, exact: &[u64], n: usize) {
    let mut sorted: Vec<u64> = exact.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    for e in s.top(n) {
        if e.guaranteed {
            let Item::Int(id) = e.item else { panic!() };
            let tr = exact[id as usize];
            let greater = sorted.partition_point(|&c| c > tr);
            assert!(
                greater < n,
                "item {id} flagged guaranteed in top {n} but {greater} items are larger"
            );
        }
    }
}

pub(super) fn round_trip(s: &SpaceSaving) -> SpaceSaving {
    SpaceSaving::from_bytes(&s.to_bytes()).unwrap()
}

/// 10M Zipf events over 1M ids: one pass and 30 merged "daily" sketches.
pub(super) fn accuracy(skew: f64, seed: u64) -> (usize, usize, usize) {
    let a = accuracy_at(skew, seed, DEFAULT_CAPACITY, 1);
    (a.0, a.1, a.2)
}

/// Stored form of the merge of `parts` (the partial states of parallel workers, each
/// passed on in its stored form), or of the one part.
fn combine(parts: &[SpaceSaving]) -> Vec<u8> {
    let mut m = round_trip(&parts[0]);
    for p in &parts[1..] {
        m.merge(&round_trip(p)).unwrap();
    }
    m.to_bytes()
}

/// [`accuracy`] at a capacity, every sketch (the one pass and each day) built by
/// `workers` partial sketches, each taking blocks of 4,096 events in turn, then merged
/// as PostgreSQL's parallel aggregation does (1: no parallelism). Returns the recall@1000
/// of the one pass and of the merge of the days, and the stored sizes of the one pass
/// and of the largest day.
pub(super) fn accuracy_at(skew: f64, seed: u64, cap: u32, workers: usize) -> (usize, usize, usize, usize) {
    const N: usize = 1_000_000;
    const EVENTS: usize = 10_000_000;
    const DAYS: usize = 30;
    let z = Zipf::new(N, skew, seed);
    let mut rng = Rng(seed ^ 0xdead_beef);
    let mut exact = vec![0u64; N + 1];
    let new = || vec![SpaceSaving::new(cap).unwrap(); workers];
    let mut whole = new();
    let mut merged = SpaceSaving::new(cap).unwrap();
    let per_day = EVENTS / DAYS + 1;
    let mut day = new();
    let mut max_day_size = 0;
    for i in 0..EVENTS {
        let v = z.sample(&mut rng);
        exact[v as usize] += 1;
        let h = hash_i64(v);
        let w = (i >> 12) % workers;
        whole[w].update_int(v, h, 1).unwrap();
        day[w].update_int(v, h, 1).unwrap();
        if (i + 1) % per_day == 0 || i + 1 == EVENTS {
            let b = combine(&day);
            max_day_size = max_day_size.max(b.len());
            merged.merge(&SpaceSaving::from_bytes(&b).unwrap()).unwrap();
            day = new();
        }
    }
    let whole = SpaceSaving::from_bytes(&combine(&whole)).unwrap();
    assert_eq!(merged.total(), EVENTS as u64);
    let bytes = whole.to_bytes();
    let stored = SpaceSaving::from_bytes(&bytes).unwrap();
    let merged = round_trip(&merged);
    let want: std::collections::HashSet<i64> = exact_top(&exact, 1000).into_iter().collect();
    let recall = |s: &SpaceSaving| {
        s.top(1000)
            .iter()
            .filter(|e| matches!(e.item, Item::Int(v) if want.contains(&v)))
            .count()
    };
    check_bounds(&whole, &exact);
    check_bounds(&stored, &exact);
    check_bounds(&merged, &exact);
    for n in [10, 100, 1000] {
        check_guaranteed(&stored, &exact, n);
        check_guaranteed(&merged, &exact, n);
    }
    let (r1, r2) = (recall(&stored), recall(&merged));
    let g = |s: &SpaceSaving, n: usize| s.top(n).iter().filter(|e| e.guaranteed).count();
    eprintln!(
        "s={skew} capacity {cap} workers {workers}: one pass: {} bytes, {} counters, threshold {}, recall@1000 {r1}, guaranteed@100 {} @1000 {}; \
         merged 30 days (day sketches up to {} bytes): {} bytes, threshold {}, recall@1000 {r2}, guaranteed@100 {} @1000 {}",
        bytes.len(),
        stored.len(),
        stored.threshold(),
        g(&stored, 100),
        g(&stored, 1000),
        max_day_size,
        merged.to_bytes().len(),
        merged.threshold(),
        g(&merged, 100),
        g(&merged, 1000),
    );
    (r1, r2, bytes.len(), max_day_size)
}

#[test]
pub(super) fn accuracy_zipf_1_1() {
    let (r1, r2, size) = accuracy(1.1, 11);
    assert!(r1 >= 995 && r2 >= 995, "recall {r1} {r2}");
    assert!(size <= 64 * 1024, "stored size {size}");
}

#[test]
pub(super) fn accuracy_zipf_0_8() {
    let (r1, r2, size) = accuracy(0.8, 8);
    assert!(r1 >= 995 && r2 >= 995, "recall {r1} {r2}");
    assert!(size <= 64 * 1024, "stored size {size}");
}

/// Builds a sketch and the exact counts of a random stream over `items` ids.
pub(super) fn random_stream(
    cap: u32,
    len: usize,
    items: u64,
    max_w: u64,
    seed: u64,
) -> (SpaceSaving, Vec<u64>) {
    let mut rng = Rng(seed);
    let mut s = SpaceSaving::new(cap).unwrap();
    let mut exact = vec![0u64; items as usize];
    for _ in 0..len {
        // Skewed: square of a uniform picks low ids more often.
        let u = rng.below(items);
        let v = (u * rng.below(items) / items) as i64;
        let w = 1 + rng.below(max_w);
        s.update_int(v, hash_i64(v), w).unwrap();
        exact[v as usize] += w;
    }
    (s, exact)
}

#[test]
pub(super) fn exact_while_not_full() {
    let mut s = SpaceSaving::new(100).unwrap();
    assert!(s.slots.is_empty(), "a new sketch allocates nothing");
    for (v, w) in [(5i64, 3u64), (7, 1), (5, 2), (-9, 10), (7, 1)] {
        upd(&mut s, v, w);
    }
    assert!(s.slots.len() <= 32, "a small group keeps a small table");
    assert_eq!(s.total(), 17);
    assert_eq!(s.threshold(), 0);
    let top = s.top(10);
    let got: Vec<(Item, u64, u64, bool)> = top
        .into_iter()
        .map(|e| (e.item, e.count, e.error, e.guaranteed))
        .collect();
    assert_eq!(
        got,
        vec![
            (Item::Int(-9), 10, 0, true),
            (Item::Int(5), 5, 0, true),
            (Item::Int(7), 2, 0, true)
        ]
    );
    // top(1): 5 is not in the top 1; -9 certainly is.
    let t1 = s.top(1);
    assert_eq!(t1.len(), 1);
    assert!(t1[0].guaranteed);
    assert_eq!(s.estimate_int(5, hash_i64(5)), (5, 0));
    assert_eq!(s.estimate_int(6, hash_i64(6)), (0, 0));
    assert!(s.top(0).is_empty());
    let back = round_trip(&s);
    assert_eq!(back.top(10), s.top(10));
    assert_eq!(back.estimate_int(5, hash_i64(5)), (5, 0));
    assert_eq!(back.to_bytes(), s.to_bytes());
    // Zero weight is a no-op, even for another kind.
    s.update_bytes(b"x", hash_bytes(b"x"), 0).unwrap();
    assert_eq!(s.total(), 17);
}

#[test]
pub(super) fn ties_sort_by_item() {
    let mut s = SpaceSaving::new(10).unwrap();
    for v in [9i64, 3, 5, -1] {
        upd(&mut s, v, 4);
    }
    let items: Vec<Item> = s.top(10).into_iter().map(|e| e.item).collect();
    assert_eq!(
        items,
        vec![Item::Int(-1), Item::Int(3), Item::Int(5), Item::Int(9)]
    );
    // Ties at the boundary count as in the top n: no other item is larger.
    assert!(s.top(2).iter().all(|e| e.guaranteed));
    upd(&mut s, 5, 1);
    assert!(s.top(1)[0].guaranteed && s.top(1)[0].item == Item::Int(5));
    // A sketch that dropped counts: only items above the threshold are certain.
    let mut d = SpaceSaving::new(2).unwrap();
    for (v, w) in [(1i64, 10u64), (2, 6), (3, 5), (4, 1)] {
        upd(&mut d, v, w);
    }
    let d = round_trip(&d); // keeps 1 (10) and 2 (6); threshold 5
    assert_eq!(d.threshold(), 5);
    let g: Vec<bool> = d.top(2).iter().map(|e| e.guaranteed).collect();
    assert_eq!(g, vec![true, true]);
    let g: Vec<bool> = d.top(1).iter().map(|e| e.guaranteed).collect();
    assert_eq!(g, vec![true]);
}

#[test]
pub(super) fn invariants_hold_under_eviction() {
    for (cap, max_w, seed) in [
        (1u32, 1u64, 1u64),
        (10, 1, 2),
        (10, 7, 3),
        (50, 3, 4),
        (200, 1, 5),
    ] {
        let (mut s, exact) = random_stream(cap, 60_000, 20_000, max_w, seed);
        assert!(s.threshold() > 0, "the test must evict");
        check_bounds(&s, &exact);
        for n in [1, 5, 10, 100] {
            check_guaranteed(&s, &exact, n);
        }
        let stored = round_trip(&s);
        assert!(stored.len() <= cap as usize && stored.threshold() >= s.threshold());
        check_bounds(&stored, &exact);
        check_guaranteed(&stored, &exact, cap as usize);
        // Compacting gives the stored form; updating it again keeps the bounds.
        s.compact();
        assert_eq!(s.to_bytes(), stored.to_bytes());
        let mut exact = exact;
        let mut rng = Rng(seed + 100);
        for _ in 0..5000 {
            let v = rng.below(20_000) as i64;
            upd(&mut s, v, 1);
            exact[v as usize] += 1;
        }
        check_bounds(&s, &exact);
    }
}

#[test]
pub(super) fn eviction_keeps_largest() {
    // Capacity 1 keeps the heaviest item through the cut.
    let mut s = SpaceSaving::new(1).unwrap();
    for i in 0..10_000i64 {
        upd(&mut s, i % 997, 1);
        upd(&mut s, -1, 2);
    }
    let stored = round_trip(&s);
    let top = stored.top(5);
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].item, Item::Int(-1));
    assert!(top[0].count - top[0].error <= 20_000 && 20_000 <= top[0].count);
    assert!(top[0].guaranteed);
}

#[test]
pub(super) fn weighted_updates_and_overflow() {
    let mut s = SpaceSaving::new(8).unwrap();
    upd(&mut s, 1, i64::MAX as u64 - 10);
    let e = s.update_int(2, hash_i64(2), 11).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Overflow);
    assert_eq!(
        s.total(),
        i64::MAX as u64 - 10,
        "a failed update changes nothing"
    );
    upd(&mut s, 2, 10);
    assert_eq!(s.total(), i64::MAX as u64);
    assert!(s.update_int(3, hash_i64(3), u64::MAX).is_err());
    let back = round_trip(&s);
    assert_eq!(back.estimate_int(1, hash_i64(1)), (i64::MAX as u64 - 10, 0));
    let mut m = back.clone();
    assert_eq!(m.merge(&back).unwrap_err().kind, ErrorKind::Overflow);
}

#[test]
pub(super) fn item_kinds_do_not_mix() {
    let mut s = SpaceSaving::new(8).unwrap();
    upd(&mut s, 1, 1);
    let e = s.update_bytes(b"a", hash_bytes(b"a"), 1).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Mismatch);
    assert!(e.hint.is_some());
    let mut b = SpaceSaving::new(8).unwrap();
    b.update_bytes(b"a", hash_bytes(b"a"), 1).unwrap();
    assert_eq!(
        b.update_int(1, hash_i64(1), 1).unwrap_err().kind,
        ErrorKind::Mismatch
    );
    assert_eq!(s.clone().merge(&b).unwrap_err().kind, ErrorKind::Mismatch);
    assert_eq!(s.estimate_bytes(b"a", hash_bytes(b"a")), (0, 0));
    // Item type mismatches (capacities may differ: spacesaving/resize.rs).
    let mut t1 = s.clone();
    t1.item_type = 20;
    let mut t2 = s.clone();
    t2.item_type = 23;
    assert_eq!(t1.clone().merge(&t2).unwrap_err().kind, ErrorKind::Mismatch);
    // Empty sketches merge with anything.
    let mut e = SpaceSaving::new(8).unwrap();
    e.merge(&t1).unwrap();
    assert_eq!(e.item_type, 20);
    assert_eq!(e.kind(), ItemKind::Int);
    t1.merge(&SpaceSaving::new(8).unwrap()).unwrap();
}

#[test]
pub(super) fn capacity_limits() {
    assert_eq!(
        check_capacity(0).unwrap_err().kind,
        ErrorKind::InvalidParameter
    );
    assert_eq!(
        check_capacity(-5).unwrap_err().kind,
        ErrorKind::InvalidParameter
    );
    assert!(check_capacity(-5).unwrap_err().hint.is_some());
    assert_eq!(
        check_capacity(MAX_CAPACITY as i64 + 1).unwrap_err().kind,
        ErrorKind::TooLarge
    );
    assert!(check_capacity(MAX_CAPACITY as i64 + 1)
        .unwrap_err()
        .hint
        .is_some());
    assert_eq!(check_capacity(MAX_CAPACITY as i64).unwrap(), MAX_CAPACITY);
    assert!(working_memory_bytes(MAX_CAPACITY) <= 1 << 30);
    assert!(working_memory_bytes(MAX_CAPACITY + 1) > 1 << 30);
    assert!(working_memory_bytes(DEFAULT_CAPACITY) <= 8 << 20);
    assert!(working_memory_bytes(100) <= 64 << 10);
    assert!(SpaceSaving::new(0).is_err());
    assert!(SpaceSaving::new(MAX_CAPACITY + 1).is_err());
}

#[test]
pub(super) fn byte_items() {
    let mut rng = Rng(77);
    let mut s = SpaceSaving::new(20).unwrap();
    let mut exact: HashMap<Vec<u8>, u64> = HashMap::new();
    for _ in 0..50_000 {
        let u = rng.below(5000);
        let id = u * rng.below(5000) / 5000;
        let key = format!("item-{id}").into_bytes();
        s.update_bytes(&key, hash_bytes(&key), 1).unwrap();
        *exact.entry(key).or_default() += 1;
    }
    s.update_bytes(b"", hash_bytes(b""), 3).unwrap();
    *exact.entry(Vec::new()).or_default() += 3;
    s.update_bytes(&[0xff, 0x00], hash_bytes(&[0xff, 0x00]), 2000)
        .unwrap();
    *exact.entry(vec![0xff, 0x00]).or_default() += 2000;
    assert!(s.threshold() > 0);
    for sk in [
        s.clone(),
        round_trip(&s),
        SpaceSaving::from_text(&s.to_text()).unwrap(),
    ] {
        let t = sk.threshold();
        let mut monitored = 0;
        for e in sk.top(usize::MAX) {
            let Item::Bytes(k) = &e.item else { panic!() };
            let tr = exact[k];
            assert!(e.count - e.error <= tr && tr <= e.count);
            assert_eq!(sk.estimate_bytes(k, hash_bytes(k)), (e.count, e.error));
            monitored += 1;
        }
        for (k, &c) in &exact {
            let (cnt, err) = sk.estimate_bytes(k, hash_bytes(k));
            assert!(cnt - err <= c && c <= cnt);
            if cnt == t && err == t {
                assert!(c <= t);
            }
        }
        assert!(monitored > 0);
        assert_eq!(sk.top(1)[0].item, Item::Bytes(vec![0xff, 0x00]));
    }
    let j = s.to_json();
    assert_eq!(j["type"], "spacesaving");
    assert_eq!(j["item_kind"], "bytes");
    assert_eq!(j["items"][0]["item"], "\\xff00");
    assert!(j["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["item"].as_str().unwrap().starts_with("item-")));
}

#[test]
pub(super) fn long_byte_items_bound_memory() {
    // 16 KB keys: the arena budget triggers cuts before the counter limit does, and the
    // stored form keeps the largest counters that fit its byte budget (3 of them).
    let mut s = SpaceSaving::new(4).unwrap();
    let mut key = vec![0u8; 16 << 10];
    for i in 0..3000u32 {
        key[..4].copy_from_slice(&(i % 700).to_le_bytes());
        s.update_bytes(&key, hash_bytes(&key), 1).unwrap();
        assert!(s.arena.len() <= ARENA_BUDGET + key.len());
    }
    assert!(s.threshold() > 0);
    let b = s.to_bytes();
    assert!(b.len() <= stored_bytes_budget(4), "{} bytes", b.len());
    let d = round_trip(&s);
    assert_eq!(d.len(), 3);
    // The dropped counter raised the threshold; the kept ones are the largest.
    let dropped = s.top(4)[3].count;
    assert!(d.threshold() >= dropped);
    assert_eq!(d.top(3), s.top(3));
}

#[test]
pub(super) fn json_of_ints() {
    let mut s = SpaceSaving::new(3).unwrap();
    assert_eq!(s.to_json()["item_kind"], serde_json::Value::Null);
    for v in 0..10i64 {
        upd(&mut s, v, v as u64 + 1);
    }
    let j = s.to_json();
    assert_eq!(j["capacity"], 3);
    assert_eq!(j["total"], 55);
    assert_eq!(j["threshold"], 7);
    assert_eq!(j["counters"], 3);
    assert_eq!(j["item_kind"], "int");
    assert_eq!(j["items"][0]["item"], 9);
    assert_eq!(j["items"][0]["count"], 10);
    assert_eq!(j["items"].as_array().unwrap().len(), 3);
}

#[test]
pub(super) fn merge_bounds_all_representations() {
    // Table + table, table + decoded, decoded + table, decoded + decoded.
    let (a, mut ea) = random_stream(30, 30_000, 5000, 3, 21);
    let (b, eb) = random_stream(30, 20_000, 5000, 2, 22);
    for (x, e) in ea.iter_mut().zip(&eb) {
        *x += e;
    }
    for (l, r) in [
        (a.clone(), b.clone()),
        (a.clone(), round_trip(&b)),
        (round_trip(&a), b.clone()),
        (round_trip(&a), round_trip(&b)),
    ] {
        for (mut m, o) in [(l.clone(), r.clone()), (r, l)] {
            m.merge(&o).unwrap();
            assert_eq!(m.total(), a.total() + b.total());
            check_bounds(&m, &ea);
            check_guaranteed(&m, &ea, 20);
            let st = round_trip(&m);
            check_bounds(&st, &ea);
            check_guaranteed(&st, &ea, 30);
        }
    }
}

#[test]
pub(super) fn merge_of_large_working_states() {
    // Two full working tables (parallel aggregation): evictions happen mid-merge.
    let (mut a, mut ea) = random_stream(64, 400_000, 400_000, 2, 31);
    let (b, eb) = random_stream(64, 400_000, 400_000, 2, 32);
    for (x, e) in ea.iter_mut().zip(&eb) {
        *x += e;
    }
    a.merge(&b).unwrap();
    check_bounds(&a, &ea);
    check_bounds(&round_trip(&a), &ea);
    check_guaranteed(&a, &ea, 64);
}

#[test]
pub(super) fn merge_bytes() {
    let mut a = SpaceSaving::new(2).unwrap();
    let mut b = SpaceSaving::new(2).unwrap();
    for (k, w) in [("x", 5u64), ("y", 3), ("z", 1)] {
        a.update_bytes(k.as_bytes(), hash_bytes(k.as_bytes()), w)
            .unwrap();
    }
    for (k, w) in [("y", 4u64), ("w", 2)] {
        b.update_bytes(k.as_bytes(), hash_bytes(k.as_bytes()), w)
            .unwrap();
    }
    let (a, b) = (round_trip(&a), round_trip(&b)); // a: x 5, y 3, threshold 1; b: y 4, w 2
    assert_eq!(a.threshold(), 1);
    for mut m in [a.clone(), b.clone()] {
        m.merge(if m == a { &b } else { &a }).unwrap();
        let st = round_trip(&m);
        let top = st.top(2);
        // Thresholds 1 + 0; w (only in b: 2 + 1, error 1) is cut: threshold 3.
        assert_eq!(st.threshold(), 3);
        assert_eq!(top[0].item, Item::Bytes(b"y".to_vec()));
        assert_eq!((top[0].count, top[0].error), (7, 0));
        assert_eq!(top[1].item, Item::Bytes(b"x".to_vec()));
        assert_eq!((top[1].count, top[1].error), (5, 0));
    }
}

#[test]
pub(super) fn merge_can_leave_no_counter() {
    // Each side keeps one counter at its threshold: the merged threshold bounds
    // both, so no counter is needed.
    let mut a = SpaceSaving::new(1).unwrap();
    upd(&mut a, 1, 1);
    upd(&mut a, 2, 1);
    let mut b = SpaceSaving::new(1).unwrap();
    upd(&mut b, 3, 1);
    upd(&mut b, 4, 1);
    let (a, b) = (round_trip(&a), round_trip(&b));
    assert_eq!((a.len(), a.threshold()), (1, 1));
    let mut m = a.clone();
    m.merge(&b).unwrap();
    let m = round_trip(&m);
    assert_eq!((m.len(), m.threshold(), m.total()), (0, 2, 4));
    assert_eq!(m.estimate_int(1, hash_i64(1)), (2, 2));
    let mut e = vec![0u64; 5];
    e[1..].fill(1);
    check_bounds(&m, &e);
    let mut u = m.clone();
    upd(&mut u, 9, 1);
    assert_eq!(u.estimate_int(9, hash_i64(9)), (3, 2));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// (item, weight) events over a small id range so that evictions happen.
    fn events() -> impl Strategy<Value = Vec<(i64, u64)>> {
        prop::collection::vec((0i64..400, 1u64..5), 0..1500)
    }

    fn build(cap: u32, ev: &[(i64, u64)], stored: bool) -> SpaceSaving {
        let mut s = SpaceSaving::new(cap).unwrap();
        for &(v, w) in ev {
            s.update_int(v, hash_i64(v), w).unwrap();
        }
        if stored {
            s = round_trip(&s);
        }
        s
    }

    fn exact(parts: &[&[(i64, u64)]]) -> Vec<u64> {
        let mut e = vec![0u64; 400];
        for p in parts {
            for &(v, w) in *p {
                e[v as usize] += w;
            }
        }
        e
    }

    fn check(s: &SpaceSaving, e: &[u64]) {
        check_bounds(s, e);
        check_guaranteed(s, e, 5);
        check_bounds(&round_trip(s), e);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn bounds_hold_for_weighted_streams(cap in 1u32..40, ev in events()) {
            let s = build(cap, &ev, false);
            let e = exact(&[&ev]);
            prop_assert_eq!(s.total(), e.iter().sum::<u64>());
            check(&s, &e);
        }

        #[test]
        fn merge_commutative_in_guarantees(cap in 1u32..20, a in events(), b in events(), sa: bool, sb: bool) {
            let (x, y) = (build(cap, &a, sa), build(cap, &b, sb));
            let e = exact(&[&a, &b]);
            let mut xy = x.clone();
            xy.merge(&y).unwrap();
            let mut yx = y.clone();
            yx.merge(&x).unwrap();
            prop_assert_eq!(xy.total(), yx.total());
            check(&xy, &e);
            check(&yx, &e);
            // Without any cut both orders give the same exact counts.
            let distinct = e.iter().filter(|&&c| c > 0).count();
            if x.threshold() == 0 && y.threshold() == 0 && distinct <= cap as usize {
                let up = |s: &SpaceSaving| s.top(usize::MAX).into_iter().map(|e| (e.item, e.count)).collect::<Vec<_>>();
                prop_assert_eq!(up(&xy), up(&yx));
                prop_assert_eq!(xy.threshold(), yx.threshold());
            }
        }

        #[test]
        fn merge_associative_in_guarantees(cap in 1u32..20, a in events(), b in events(), c in events(), st: bool) {
            let (x, y, z) = (build(cap, &a, st), build(cap, &b, !st), build(cap, &c, st));
            let e = exact(&[&a, &b, &c]);
            let mut l = x.clone();
            l.merge(&y).unwrap();
            l.merge(&z).unwrap();
            let mut r = y.clone();
            r.merge(&z).unwrap();
            let mut r2 = x.clone();
            r2.merge(&r).unwrap();
            prop_assert_eq!(l.total(), r2.total());
            check(&l, &e);
            check(&r2, &e);
        }

        #[test]
        fn random_merge_trees_keep_bounds(cap in 1u32..10, parts in prop::collection::vec(events(), 1..8), order in prop::collection::vec(any::<u8>(), 8)) {
            let mut sk: Vec<SpaceSaving> = parts.iter().enumerate().map(|(i, p)| build(cap, p, i % 2 == 0)).collect();
            let refs: Vec<&[(i64, u64)]> = parts.iter().map(|p| p.as_slice()).collect();
            let e = exact(&refs);
            let mut k = 0;
            while sk.len() > 1 {
                let i = order[k % order.len()] as usize % sk.len();
                k += 1;
                let other = sk.remove(i);
                let j = order[k % order.len()] as usize % sk.len();
                let other = if k % 3 == 0 { round_trip(&other) } else { other };
                sk[j].merge(&other).unwrap();
            }
            check(&sk[0], &e);
        }

        #[test]
        fn decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut b = bytes;
            if b.len() >= 2 {
                b[0] = MAGIC;
                b[1] = VERSION;
            }
            if let Ok(d) = SpaceSaving::from_bytes(&b) {
                for e in d.top(usize::MAX) {
                    prop_assert!(e.error < e.count && e.count <= d.total());
                }
            }
        }
    }
}

#[test]
pub(super) fn batched_updates_equal_single_updates() {
    let z = Zipf::new(50_000, 0.9, 5);
    let mut rng = Rng(17);
    let items: Vec<(i64, u64, u64)> = (0..300_000)
        .map(|i| {
            let v = z.sample(&mut rng);
            (v, hash_i64(v), 1 + (i % 3 == 0) as u64)
        })
        .collect();
    let mut one = SpaceSaving::new(1000).unwrap();
    for &(v, h, w) in &items {
        one.update_int(v, h, w).unwrap();
    }
    let mut batched = SpaceSaving::new(1000).unwrap();
    for chunk in items.chunks(32) {
        batched.update_ints(chunk).unwrap();
    }
    assert_eq!(one.to_bytes(), batched.to_bytes());
}

#[test]
pub(super) fn batched_byte_updates_equal_single_updates() {
    let z = Zipf::new(50_000, 0.9, 5);
    let mut rng = Rng(23);
    let items: Vec<(Vec<u8>, u64)> = (0..300_000)
        .map(|i| (format!("item {}", z.sample(&mut rng)).into_bytes(), 1 + (i % 3 == 0) as u64))
        .collect();
    let mut one = SpaceSaving::new(1000).unwrap();
    for (v, w) in &items {
        one.update_bytes(v, hash_bytes(v), *w).unwrap();
    }
    let mut batched = SpaceSaving::new(1000).unwrap();
    for chunk in items.chunks(32) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|(v, _)| v.iter().copied()).collect();
        let batch: Vec<(usize, u64, u64)> = chunk.iter().map(|(v, w)| (v.len(), hash_bytes(v), *w)).collect();
        batched.update_bytes_batch(&bytes, &batch).unwrap();
    }
    assert_eq!(one.to_bytes(), batched.to_bytes());
}
