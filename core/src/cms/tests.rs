//! Tests of the count-min sketch: bounds, merges, the stored form of both format versions.

use super::*;
use crate::error::ErrorKind;
use crate::hash::hash_i64;
use proptest::prelude::*;

/// Deterministic generator for the tests (splitmix64).
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf(s) over items 0..n, sampled by binary search of the CDF.
struct Zipf(Vec<f64>);
impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|k| {
                acc += 1.0 / (k as f64).powf(s);
                acc
            })
            .collect();
        cdf.iter_mut().for_each(|c| *c /= acc);
        Zipf(cdf)
    }
    fn sample(&self, rng: &mut SplitMix) -> usize {
        let u = rng.unit();
        self.0.partition_point(|c| *c <= u).min(self.0.len() - 1)
    }
}

fn item(i: usize) -> u64 {
    hash_i64(i as i64)
}

/// A Zipf stream of item numbers.
fn stream(n_items: usize, events: usize, seed: u64) -> Vec<usize> {
    let z = Zipf::new(n_items, 1.1);
    let mut rng = SplitMix(seed);
    (0..events).map(|_| z.sample(&mut rng)).collect()
}

fn build(eps: f64, delta: f64, items: &[usize]) -> Cms {
    let mut c = Cms::new(eps, delta).unwrap();
    for i in items {
        c.add_hash(item(*i), 1).unwrap();
    }
    c
}

#[test]
fn dimensions_and_defaults() {
    let c = Cms::new(DEFAULT_EPSILON, DEFAULT_DELTA).unwrap();
    assert_eq!((c.width(), c.depth()), (2719, 5));
    assert_eq!(c.width() as usize * c.depth() as usize * 8, 108_760); // 106 KiB
    assert_eq!(dimensions(0.01, 0.05).unwrap(), (272, 3));
    assert_eq!(dimensions(0.5, 0.5).unwrap(), (6, 1));
    assert_eq!(dimensions(0.999_999_999_999_999_9, 0.999_999_999_999_999_9).unwrap(), (3, 1));
    let j = c.to_json();
    assert_eq!(j["type"], "cms");
    assert_eq!(j["width"], 2719);
    assert_eq!(j["error_bound"], 0);
    assert!(j.get("counters").is_none());
}

#[test]
fn parameters_out_of_range() {
    for bad in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for (e, d) in [(bad, DEFAULT_DELTA), (DEFAULT_EPSILON, bad)] {
            let err = Cms::new(e, d).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidParameter, "{e} {d}");
            assert!(err.hint.unwrap().contains("strictly between 0 and 1"));
        }
    }
    // 27.2M x 5 counters, 2.7M x 7, an infinite width, 27,183 x 691.
    for (e, d) in [(1e-7, 0.01), (1e-6, 1e-3), (f64::MIN_POSITIVE, 0.5), (1e-4, 1e-300)] {
        let err = Cms::new(e, d).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLarge, "{e} {d}");
        assert!(err.hint.is_some());
    }
    // Just under the limit: 1.36M x 5 counters, 10.9 MB.
    assert_eq!(dimensions(1e-5, 0.01).unwrap(), (271_829, 5));
}

/// The hash-to-cell mappings are part of the on-disk format: pin them.
#[test]
fn cell_mapping_is_stable() {
    let cols: Vec<usize> = (0..5).map(|i| column(hash_i64(1), i, 2719)).collect();
    assert_eq!(cols, [1489, 793, 716, 1145, 2409]);
    let cols: Vec<usize> = (0..3).map(|i| column(0, i, 100)).collect();
    assert_eq!(cols, [88, 43, 2]);
    // Version 1, as it always was.
    let cols: Vec<usize> = columns_v1(hash_i64(1), 2719).take(5).collect();
    assert_eq!(cols, [1646, 416, 1906, 676, 2165]);
    let cols: Vec<usize> = columns_v1(0, 100).take(3).collect();
    assert_eq!(cols, [0, 88, 76]);
}

#[test]
fn zipf_never_underestimates_and_meets_the_bound() {
    let n_items = 100_000;
    let events = stream(n_items, 1_000_000, 42);
    let mut truth = vec![0u64; n_items];
    events.iter().for_each(|i| truth[*i] += 1);
    for (eps, delta) in [(DEFAULT_EPSILON, DEFAULT_DELTA), (0.01, 0.1), (0.05, 0.3)] {
        let c = build(eps, delta, &events);
        assert_eq!(c.total(), 1_000_000);
        assert_eq!(c.error_bound(), (eps * 1e6).ceil() as u64);
        let mut within = 0usize;
        for (i, t) in truth.iter().enumerate() {
            let est = c.estimate_hash(item(i));
            assert!(est >= *t, "eps={eps}: item {i} estimated {est} < {t}");
            if est - t <= c.error_bound() {
                within += 1;
            }
        }
        let share = within as f64 / n_items as f64;
        assert!(share >= 1.0 - delta, "eps={eps} delta={delta}: share {share}");
    }
}

#[test]
fn weighted_updates() {
    let mut rng = SplitMix(7);
    let mut c = Cms::new(0.01, 0.01).unwrap();
    let mut truth = vec![0u64; 1000];
    for _ in 0..20_000 {
        let i = (rng.next() % 1000) as usize;
        let w = rng.next() % 100;
        c.add_hash(item(i), w).unwrap();
        truth[i] += w;
    }
    assert_eq!(c.total(), truth.iter().sum::<u64>());
    for (i, t) in truth.iter().enumerate() {
        assert!(c.estimate_hash(item(i)) >= *t);
    }
    // Weight 0 changes nothing; weight k is k unit updates.
    let before = c.to_bytes();
    c.add_hash(item(3), 0).unwrap();
    assert_eq!(c.to_bytes(), before);
    let mut a = Cms::new(0.01, 0.01).unwrap();
    let mut b = a.clone();
    a.add_hash(item(5), 17).unwrap();
    (0..17).for_each(|_| b.add_hash(item(5), 1).unwrap());
    assert_eq!(a, b);
    assert_eq!(a.estimate_hash(item(5)), 17);
}

#[test]
fn merge_of_partials_equals_one_pass() {
    let events = stream(50_000, 300_000, 9);
    let whole = build(DEFAULT_EPSILON, DEFAULT_DELTA, &events);
    let parts: Vec<Cms> =
        events.chunks(10_000).map(|p| build(DEFAULT_EPSILON, DEFAULT_DELTA, p)).collect();
    assert_eq!(parts.len(), 30);
    let mut merged = Cms::new(DEFAULT_EPSILON, DEFAULT_DELTA).unwrap();
    for p in &parts {
        merged.merge(p).unwrap();
    }
    assert_eq!(merged.to_bytes(), whole.to_bytes());

    let (a, b, c) = (&parts[0], &parts[1], &parts[2]);
    let mut ab = a.clone();
    ab.merge(b).unwrap();
    let mut ba = b.clone();
    ba.merge(a).unwrap();
    assert_eq!(ab.to_bytes(), ba.to_bytes());
    let mut ab_c = ab.clone();
    ab_c.merge(c).unwrap();
    let mut bc = b.clone();
    bc.merge(c).unwrap();
    let mut a_bc = a.clone();
    a_bc.merge(&bc).unwrap();
    assert_eq!(ab_c.to_bytes(), a_bc.to_bytes());
}

#[test]
fn merge_mismatch() {
    let mut a = Cms::new(0.01, 0.01).unwrap();
    for (e, d) in [(0.02, 0.01), (0.01, 0.001)] {
        let err = a.merge(&Cms::new(e, d).unwrap()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Mismatch);
        assert!(err.hint.is_some());
    }
    // Parameters that round to the same dimensions merge, in either order, to the
    // larger epsilon and delta.
    let looser = Cms::new(0.01 + 1e-12, 0.0101).unwrap();
    let mut l = looser.clone();
    l.merge(&a).unwrap();
    a.merge(&looser).unwrap();
    assert_eq!(a, l);
    assert_eq!((a.epsilon(), a.delta()), (0.01 + 1e-12, 0.0101));
    let mut b = Cms::new(0.01, 0.01).unwrap();
    b.item_type = 23;
    a.merge(&b).unwrap();
    assert_eq!(a.item_type, 23);
    b.item_type = 25;
    let err = a.merge(&b).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Mismatch);
    assert!(err.hint.is_some());
}

#[test]
fn round_trip_bytes_and_text() {
    let empty = Cms::new(DEFAULT_EPSILON, DEFAULT_DELTA).unwrap();
    assert_eq!(empty.to_bytes().len(), 53);
    let mut one = empty.clone();
    one.add_hash(item(1), 5).unwrap();
    one.item_type = 20;
    let big = build(DEFAULT_EPSILON, DEFAULT_DELTA, &stream(100_000, 1_000_000, 1));
    for c in [&empty, &one, &big] {
        let bytes = c.to_bytes();
        let back = Cms::from_bytes(&bytes).unwrap();
        assert_eq!(&back, c);
        assert_eq!(back.to_bytes(), bytes);
        let text = c.to_text();
        assert!(text.starts_with("cms:"));
        assert_eq!(&Cms::from_text(&text).unwrap(), c);
    }
    // Varints keep the dense sketch well under its 8-byte counters.
    assert!(big.to_bytes().len() < 108_760 / 3, "{}", big.to_bytes().len());
    assert!(Cms::from_text("hll:AAAA").is_err());
    assert!(Cms::from_text("cms:!!").is_err());
}

/// A small sketch with zero runs, single zeros and multi-byte counters.
fn small() -> Cms {
    let mut c = Cms::new(0.1, 0.1).unwrap();
    c.item_type = 7;
    for (i, w) in [(1, 1), (2, 300), (3, 1), (4, 70_000), (1, 2)] {
        c.add_hash(item(i), w).unwrap();
    }
    c
}

#[test]
fn decoder_rejects_truncations_and_survives_bit_flips() {
    let bytes = small().to_bytes();
    for cut in 0..bytes.len() {
        assert!(Cms::from_bytes(&bytes[..cut]).is_err(), "cut {cut}");
    }
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            if let Ok(c) = Cms::from_bytes(&b) {
                // Only the item type, and epsilon or delta changes that keep the
                // dimensions, give another valid sketch; it is then consistent.
                assert!((2..22).contains(&i), "flip of byte {i} bit {bit} accepted");
                assert_eq!(Cms::from_bytes(&c.to_bytes()).unwrap(), c);
            }
        }
    }
}

/// A header with the given fields and no counters.
fn header(version: u8, eps: f64, delta: f64, width: u32, depth: u32, total: u64) -> Vec<u8> {
    let mut w = Writer::with_header(MAGIC, version);
    w.u32(0);
    w.f64(eps);
    w.f64(delta);
    w.u32(width);
    w.u32(depth);
    w.u64(total);
    w.finish()
}

#[test]
fn decoder_rejects_bad_headers() {
    let good = small().to_bytes();
    let mut b = good.clone();
    b[0] = b'H';
    assert!(Cms::from_bytes(&b).unwrap_err().hint.is_some());
    for v in [0, 3, 255] {
        b = good.clone();
        b[1] = v;
        assert!(Cms::from_bytes(&b).unwrap_err().message.contains("version"));
    }
    // Claimed dimensions that disagree with epsilon/delta or pass the size limit
    // fail before the counters are allocated.
    for h in [
        header(1, 0.001, 0.01, u32::MAX, 5, 0),
        header(1, 0.001, 0.01, 2719, u32::MAX, 0),
        header(1, 0.001, 0.01, 0, 0, 0),
        header(1, 1e-300, 0.01, u32::MAX, 5, 0),
        header(1, f64::NAN, 0.01, 2719, 5, 0),
        header(1, 0.001, 0.0, 2719, 5, 0),
        header(1, 0.001, 0.01, 2719, 5, u64::MAX),
    ] {
        let err = Cms::from_bytes(&h).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Corrupt, "{}", err.message);
    }
}

#[test]
fn decoder_rejects_bad_counters() {
    let (w, d) = dimensions(0.5, 0.3).unwrap();
    assert_eq!((w, d), (6, 2));
    let sketch = |total: u64, body: &[u8]| {
        let mut b = header(1, 0.5, 0.3, w, d, total);
        b.extend_from_slice(body);
        Cms::from_bytes(&b)
    };
    // Valid: each row sums to 3.
    assert!(sketch(3, &[3, 0, 4, 1, 2, 0, 3]).is_ok());
    assert!(sketch(0, &[0, 5, 0, 5]).is_ok());
    // Rows that do not sum to the total.
    assert!(sketch(3, &[3, 0, 4, 1, 1, 0, 3]).is_err());
    assert!(sketch(3, &[4, 0, 4, 1, 2, 0, 3]).is_err());
    assert!(sketch(2, &[0, 5, 0, 5]).is_err());
    // Zero run past the row's end, adjacent zero runs, huge run.
    assert!(sketch(0, &[0, 6, 0, 5]).is_err());
    assert!(sketch(0, &[0, 1, 0, 3, 0, 5]).is_err());
    assert!(sketch(0, &[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 5])
        .is_err());
    // Counter varint too long, trailing bytes.
    assert!(
        sketch(3, &[0x83, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).is_err()
    );
    assert!(sketch(0, &[0, 5, 0, 5, 0]).is_err());
}

#[test]
fn overflow_errors_instead_of_wrapping() {
    let max = i64::MAX as u64;
    let mut c = Cms::new(0.1, 0.1).unwrap();
    c.add_hash(item(1), max - 1).unwrap();
    c.add_hash(item(2), 1).unwrap();
    let before = c.clone();
    for w in [1, max, u64::MAX] {
        assert_eq!(c.add_hash(item(3), w).unwrap_err().kind, ErrorKind::Overflow);
        assert_eq!(c, before);
    }
    assert!(c.estimate_hash(item(1)) >= max - 1);
    assert!(c.error_bound() <= max);
    let mut d = Cms::new(0.1, 0.1).unwrap();
    d.add_hash(item(4), 1).unwrap();
    let d0 = d.clone();
    assert_eq!(d.merge(&c).unwrap_err().kind, ErrorKind::Overflow);
    assert_eq!(d, d0);
    // A full sketch round-trips.
    assert_eq!(Cms::from_bytes(&c.to_bytes()).unwrap(), c);
    assert!(Cms::new(0.1, 0.1).unwrap().add_hash(1, max + 1).is_err());
}

proptest! {
    #[test]
    fn prop_split_merge_and_round_trip(
        ops in proptest::collection::vec((0usize..300, 0u64..1000), 0..400),
        split in 0usize..400,
    ) {
        let split = split.min(ops.len());
        let mut whole = Cms::new(0.05, 0.1).unwrap();
        let mut left = whole.clone();
        let mut right = whole.clone();
        let mut truth = vec![0u64; 300];
        for (k, (i, w)) in ops.iter().enumerate() {
            whole.add_hash(item(*i), *w).unwrap();
            let part = if k < split { &mut left } else { &mut right };
            part.add_hash(item(*i), *w).unwrap();
            truth[*i] += w;
        }
        left.merge(&right).unwrap();
        prop_assert_eq!(&left, &whole);
        for (i, t) in truth.iter().enumerate() {
            prop_assert!(whole.estimate_hash(item(i)) >= *t);
        }
        prop_assert_eq!(Cms::from_bytes(&whole.to_bytes()).unwrap(), whole);
    }

    #[test]
    fn prop_decoder_never_panics(body in proptest::collection::vec(any::<u8>(), 0..64), total in 0u64..4) {
        let mut b = header(1, 0.5, 0.3, 6, 2, total);
        b.extend_from_slice(&body);
        let _ = Cms::from_bytes(&b);
        let _ = Cms::from_bytes(&body);
    }
}
