//! [`SpaceSaving::merge_bytes`] against `merge(&from_bytes(..))`: the same sketch.

use super::tests::Rng;
use super::*;

fn day(rng: &mut Rng, cap: u32, events: usize, ids: u64, bytes: bool, v1: bool) -> Vec<u8> {
    let mut s = SpaceSaving::new(cap).unwrap();
    for _ in 0..events {
        let v = ((rng.next() % ids) * (rng.next() % ids) / ids) as i64 - 5;
        let w = 1 + rng.next() % 3;
        if bytes {
            let b = format!("item-{v}");
            s.update_bytes(b.as_bytes(), hash_bytes(b.as_bytes()), w).unwrap();
        } else {
            s.update_int(v, hash_i64(v), w).unwrap();
        }
    }
    if v1 {
        s.to_bytes_v1()
    } else {
        s.to_bytes()
    }
}

/// The counters (item, count, lower bound) by item, threshold, total, capacity and
/// the working table's size.
fn state(s: &SpaceSaving) -> (Vec<(Item, u64, u64)>, u64, u64, u32, usize) {
    let mut v: Vec<(Item, u64, u64)> = s.counters().iter().map(|c| (s.item(c.key), c.count, c.lower)).collect();
    v.sort_unstable();
    (v, s.threshold, s.total, s.capacity, s.slots.len())
}

/// Fixed seeds: 30 days (some of a smaller capacity, some in format 1, an empty one,
/// a corrupt one and one of the other item kind, which fail and change nothing) merged
/// one after another both ways: the same state after every day, the same bytes and top.
#[test]
fn merge_bytes_equals_merge_of_from_bytes() {
    for (seed, cap, events, ids, bytes) in [
        (1u64, 200u32, 5_000usize, 3_000u64, false),
        (2, 50, 2_000, 400, false),
        (3, 500, 20_000, 50_000, false),
        (4, 16, 300, 100, true),
        (5, 300, 4_000, 5_000, true),
        (6, 1_000, 3_000, 1_000_000, false),
    ] {
        let mut rng = Rng(seed);
        let mut days: Vec<Vec<u8>> = (0..30)
            .map(|i| day(&mut rng, if i % 7 == 3 { cap / 2 + 1 } else { cap }, events, ids, bytes, i % 11 == 5))
            .collect();
        days[4] = SpaceSaving::new(cap).unwrap().to_bytes();
        let mut bad = days[6].clone();
        bad.truncate(bad.len() - 3);
        days.insert(7, bad);
        days.insert(9, day(&mut rng, cap, 50, 10, !bytes, false));
        let (mut a, mut b) = (SpaceSaving::new(cap).unwrap(), SpaceSaving::new(cap).unwrap());
        let mut failed = 0;
        for (i, d) in days.iter().enumerate() {
            let ra = SpaceSaving::from_bytes(d).and_then(|x| a.merge(&x));
            let rb = b.merge_bytes(d);
            assert_eq!(ra.is_err(), rb.is_err(), "seed {seed} day {i}");
            failed += ra.is_err() as usize;
            if let (Err(ea), Err(eb)) = (&ra, &rb) {
                assert_eq!(ea.to_string(), eb.to_string(), "seed {seed} day {i}");
            }
            assert_eq!(state(&a), state(&b), "seed {seed} day {i}");
        }
        assert!(failed >= 1, "seed {seed}: the day of the other item kind fails");
        assert_eq!(a.to_bytes(), b.to_bytes(), "seed {seed}");
        assert_eq!(a.top(100), b.top(100), "seed {seed}");
        // The kept list is accounted for, and a clone does not copy it.
        assert!(b.heap_bytes() >= a.heap_bytes(), "seed {seed}");
        assert_eq!(b.clone().spare.0.capacity(), 0);
    }
}
