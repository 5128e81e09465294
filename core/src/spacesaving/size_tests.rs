//! Accuracy at a stored size: integer items at TopN's size (9 KB a daily sketch), and
//! text items of natural-language-like frequencies at the default capacity (64 KB).

use super::tests::*;
use super::*;
use std::collections::{HashMap, HashSet};

/// The capacity whose daily sketch fits 9 KB (format 2) on the reference-like streams.
pub(super) const CAPACITY_9KB: u32 = 3_000;

/// At capacity 3,000, a daily sketch of 1/30 of 10M Zipf events over 1M ids is at most
/// 9 KB stored, and recall@1000 is at least 990 one pass and after merging the 30 days,
/// on both skews, built in one pass or by 3 parallel workers.
#[test]
fn accuracy_at_9_kb() {
    for (skew, seed) in [(1.1, 11), (0.8, 8)] {
        for workers in [1, 3] {
            let (r1, r2, one, day) = accuracy_at(skew, seed, CAPACITY_9KB, workers);
            assert!(day <= 9 * 1024, "s={skew} workers {workers}: day sketch {day} bytes");
            assert!(r1 >= 990 && r2 >= 990, "s={skew} workers {workers}: recall {r1} {r2}");
            assert!(one <= 11 * 1024, "s={skew} workers {workers}: one pass {one} bytes");
        }
    }
}

/// Letters in about their English frequencies (per mille, rounded).
const LETTERS: &[(u8, u32)] = &[
    (b'e', 127), (b't', 91), (b'a', 82), (b'o', 75), (b'i', 70), (b'n', 67), (b's', 63),
    (b'h', 61), (b'r', 60), (b'd', 43), (b'l', 40), (b'c', 28), (b'u', 28), (b'm', 24),
    (b'w', 24), (b'f', 22), (b'g', 20), (b'y', 20), (b'p', 19), (b'b', 15), (b'v', 10),
    (b'k', 8), (b'j', 2), (b'x', 2), (b'q', 1), (b'z', 1),
];

/// `n` distinct pseudo-words, the most frequent first: lengths grow with the rank as in
/// English (2-3 letters for the top ones, 7-10 for the rare ones), letters drawn in
/// English frequencies.
pub(super) fn words(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let total: u32 = LETTERS.iter().map(|l| l.1).sum();
    let mut rng = Rng(seed);
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let r = out.len() + 1;
        let len = 2 + (r as f64).log2() as usize / 3 + rng.below(3) as usize;
        let w: Vec<u8> = (0..len)
            .map(|_| {
                let mut x = rng.below(total as u64) as u32;
                LETTERS.iter().find(|l| if x < l.1 { true } else { x -= l.1; false }).unwrap().0
            })
            .collect();
        if seen.insert(w.clone()) {
            out.push(w);
        }
    }
    out
}

/// 10M events of Zipf(s) over `n` pseudo-words at capacity `cap`: recall@1000 one pass
/// and of the merge of 30 daily sketches, stored size of the one pass and of the largest
/// day, and the average word length of the stream.
fn text_accuracy(n: usize, s: f64, cap: u32, workers: usize) -> (usize, usize, usize, usize, f64) {
    const EVENTS: usize = 10_000_000;
    const DAYS: usize = 30;
    let vocab = words(n, 7);
    // `Zipf` samples ids, a permutation of the ranks: the word of an id is the one of
    // its rank.
    let z = Zipf::new(n, s, 21);
    let mut rank_of = vec![0usize; n + 1];
    for (r, id) in z.ids().iter().enumerate() {
        rank_of[*id as usize] = r;
    }
    let mut rng = Rng(99);
    let mut exact: HashMap<&[u8], u64> = HashMap::new();
    let new = || vec![SpaceSaving::new(cap).unwrap(); workers];
    let (mut whole, mut day) = (new(), new());
    let mut merged = SpaceSaving::new(cap).unwrap();
    let per_day = EVENTS / DAYS + 1;
    let (mut max_day, mut letters) = (0, 0usize);
    let combine = |parts: &[SpaceSaving]| {
        let mut m = round_trip(&parts[0]);
        for p in &parts[1..] {
            m.merge(&round_trip(p)).unwrap();
        }
        m.to_bytes()
    };
    for i in 0..EVENTS {
        let w = &vocab[rank_of[z.sample(&mut rng) as usize]][..];
        letters += w.len();
        *exact.entry(w).or_default() += 1;
        let h = hash_bytes(w);
        let p = (i >> 12) % workers;
        whole[p].update_bytes(w, h, 1).unwrap();
        day[p].update_bytes(w, h, 1).unwrap();
        if (i + 1) % per_day == 0 || i + 1 == EVENTS {
            let b = combine(&day);
            max_day = max_day.max(b.len());
            merged.merge(&SpaceSaving::from_bytes(&b).unwrap()).unwrap();
            day = new();
        }
    }
    let one = combine(&whole);
    if workers == 1 {
        eprintln!(
            "words: the one pass uncut: {} counters, {} bytes in format 1, {} in format 2 without the byte budget",
            whole[0].len().min(cap as usize),
            whole[0].to_bytes_v1().len(),
            {
                let (v, t) = whole[0].cut_to_capacity();
                whole[0].encode_v2(&v, t).len()
            }
        );
    }
    let stored = SpaceSaving::from_bytes(&one).unwrap();
    let merged = round_trip(&merged);
    let mut by_count: Vec<(&[u8], u64)> = exact.iter().map(|(k, v)| (*k, *v)).collect();
    by_count.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let want: HashSet<&[u8]> = by_count[..1000].iter().map(|x| x.0).collect();
    let recall = |s: &SpaceSaving| {
        s.top(1000)
            .iter()
            .filter(|e| matches!(&e.item, Item::Bytes(b) if want.contains(&b[..])))
            .count()
    };
    for sk in [&stored, &merged] {
        let t = sk.threshold();
        let mut monitored = HashSet::new();
        for e in sk.top(usize::MAX) {
            let Item::Bytes(b) = e.item else { panic!() };
            let tr = exact[&b[..]];
            assert!(e.count - e.error <= tr && tr <= e.count && e.error <= t);
            monitored.insert(b);
        }
        for (k, c) in &by_count {
            assert!(monitored.contains(*k) || *c <= t, "unmonitored word: true {c} > threshold {t}");
        }
    }
    let (r1, r2) = (recall(&stored), recall(&merged));
    let avg = letters as f64 / EVENTS as f64;
    eprintln!(
        "words s={s} capacity {cap} workers {workers}: {} distinct of {n}, {avg:.2} letters an event; one pass {} bytes, \
         {} counters, recall@1000 {r1}; days up to {max_day} bytes; merged 30 days: {} counters, recall@1000 {r2}",
        exact.len(),
        one.len(),
        stored.len(),
        merged.len()
    );
    (r1, r2, one.len(), max_day, avg)
}

/// Text items of natural-language-like frequencies (Zipf s = 1.0 over 200,000
/// pseudo-words): a default daily sketch is at most 64 KB stored, and recall@1000 is at
/// least 995 one pass and after merging 30 days, in one pass or by 3 parallel workers.
#[test]
fn text_items_at_the_default_capacity() {
    for workers in [1, 3] {
        let (r1, r2, one, day, avg) = text_accuracy(200_000, 1.0, DEFAULT_CAPACITY, workers);
        assert!((4.0..7.0).contains(&avg), "average word length {avg}");
        assert!(day <= 64_000 && one <= 64_000, "workers {workers}: day {day} one pass {one} bytes");
        assert!(r1 >= 995 && r2 >= 995, "workers {workers}: recall {r1} {r2}");
    }
}
