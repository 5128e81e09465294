//! Tests of the stored form: round trips, and a decoder that refuses every malformed byte
//! string.

use super::tests::*;
use super::*;
use crate::codec::Writer;

#[test]
fn format_round_trip() {
    let (s, _) = random_stream(500, 100_000, 50_000, 4, 41);
    let b = s.to_bytes();
    assert_eq!(b[0], MAGIC);
    assert_eq!(b[1], VERSION);
    let d = SpaceSaving::from_bytes(&b).unwrap();
    assert_eq!(d.to_bytes(), b);
    assert_eq!(d.top(usize::MAX), round_trip(&d).top(usize::MAX));
    assert_eq!(SpaceSaving::from_text(&s.to_text()).unwrap().to_bytes(), b);
    assert!(s.to_text().starts_with("spacesaving:"));
    assert!(SpaceSaving::from_text("hll:AAAA").is_err());
    let empty = SpaceSaving::new(DEFAULT_CAPACITY).unwrap();
    let eb = empty.to_bytes();
    assert_eq!(SpaceSaving::from_bytes(&eb).unwrap().to_bytes(), eb);
    // Negative, extreme and adjacent ids.
    let mut x = SpaceSaving::new(10).unwrap();
    for v in [i64::MIN, -1, 0, 1, 2, i64::MAX] {
        upd(&mut x, v, 1);
    }
    let xb = x.to_bytes();
    assert_eq!(SpaceSaving::from_bytes(&xb).unwrap().to_bytes(), xb);
}

#[test]
fn decoder_rejects_garbage() {
    let (s, _) = random_stream(200, 50_000, 20_000, 3, 51);
    let b = s.to_bytes();
    for cut in 0..b.len() {
        assert!(
            SpaceSaving::from_bytes(&b[..cut]).is_err(),
            "truncation at {cut} accepted"
        );
    }
    let mut t = b.clone();
    t.push(0);
    assert!(
        SpaceSaving::from_bytes(&t).is_err(),
        "trailing byte accepted"
    );
    let mut m = b.clone();
    m[0] = b'H';
    assert!(SpaceSaving::from_bytes(&m).is_err());
    let mut v = b.clone();
    v[1] = 3;
    assert!(SpaceSaving::from_bytes(&v).unwrap_err().hint.is_some());
    // Every single-bit flip: never a panic; an accepted sketch is self-consistent.
    for i in 0..b.len() {
        for bit in 0..8 {
            let mut f = b.clone();
            f[i] ^= 1 << bit;
            if let Ok(d) = SpaceSaving::from_bytes(&f) {
                let t = d.threshold();
                for e in d.top(usize::MAX) {
                    assert!(
                        e.error <= t
                            && t <= e.count
                            && e.count <= d.total()
                            && e.error < e.count
                    );
                }
                SpaceSaving::from_bytes(&d.to_bytes()).unwrap();
            }
        }
    }
    // Random byte strings.
    let mut rng = Rng(9);
    for len in 0..2000 {
        let mut g: Vec<u8> = (0..len % 64).map(|_| rng.next() as u8).collect();
        if len % 2 == 0 && g.len() >= 2 {
            g[0] = MAGIC;
            g[1] = VERSION;
        }
        let _ = SpaceSaving::from_bytes(&g);
    }
}

/// Hand-built encodings: each breaks one rule.
fn encode(
    cap: u64,
    kind: u8,
    total: u64,
    t: u64,
    entries: &[(u64, u64)],
    n: Option<u64>,
) -> Vec<u8> {
    let mut w = Writer::with_header(MAGIC, 1);
    w.varint(cap);
    w.u32(0);
    w.u8(kind);
    w.varint(total);
    w.varint(t);
    w.varint(n.unwrap_or(entries.len() as u64));
    for &(k, code) in entries {
        w.varint(k);
        w.varint(code);
    }
    w.finish()
}

#[test]
fn decoder_checks_invariants() {
    // Valid: items 1 and 3 (zigzag 2, then delta-1 = 1), counts 5 and 4, threshold 2.
    let ok = encode(4, 1, 9, 2, &[(2, 3 * 3), (1, 2 * 3)], None);
    let d = SpaceSaving::from_bytes(&ok).unwrap();
    assert_eq!(d.estimate_int(3, hash_i64(3)), (4, 0));
    assert_eq!(d.to_bytes_v1(), ok);
    assert_eq!(SpaceSaving::from_bytes(&d.to_bytes()).unwrap().to_bytes_v1(), ok);
    let bad = [
        encode(0, 1, 9, 2, &[(2, 9)], None), // capacity 0
        encode(MAX_CAPACITY as u64 + 1, 1, 9, 2, &[(2, 9)], None), // capacity too large
        encode(1, 1, 9, 2, &[(2, 9), (1, 6)], None), // n > capacity
        encode(4, 3, 9, 2, &[(2, 9)], None), // unknown kind
        encode(4, 0, 9, 2, &[(2, 9)], None), // kind 0 with items
        encode(4, 1, 0, 0, &[], None),       // int kind, no items
        encode(4, 1, 9, 10, &[(2, 9)], None), // threshold > total
        encode(4, 1, 9, 2, &[(2, 8 * 3)], None), // count > total
        encode(4, 1, 9, 2, &[(2, 3 * 3), (1, 3 * 3)], None), // lower bounds > total
        encode(4, 1, 9, 2, &[(2, 3 * 3 + 1), (1, 0)], None), // valid (skipped below)
        encode(4, 1, 9, 0, &[(2, 1)], None), // error = threshold tag with threshold 0
        encode(4, 1, 9, 2, &[(2, 2), (1, 0)], None), // tag 2 without error
        encode(4, 1, u64::MAX, 2, &[(2, 9)], None), // total > i64::MAX
        encode(4, 1, 9, 2, &[(2, 9)], Some(1000)), // n larger than the data
    ];
    for (i, b) in bad.iter().enumerate() {
        if i == 9 {
            continue; // valid: (5, error 2), (2, error 0)
        }
        assert!(SpaceSaving::from_bytes(b).is_err(), "case {i} accepted");
    }
    assert!(SpaceSaving::from_bytes(&bad[9]).is_ok());
    // Counted, no counter kept: needs a threshold; empty: needs kind 0.
    assert!(SpaceSaving::from_bytes(&encode(4, 1, 9, 3, &[], None)).is_ok());
    assert!(SpaceSaving::from_bytes(&encode(4, 1, 9, 0, &[], None)).is_err());
    assert!(SpaceSaving::from_bytes(&encode(4, 0, 0, 0, &[], None)).is_ok());
    assert!(SpaceSaving::from_bytes(&encode(4, 0, 0, 1, &[], None)).is_err());
    // tag 2 with error >= threshold.
    let mk = |t: u64, code: u64, e1: u64| {
        let mut w = Writer::with_header(MAGIC, 1);
        w.varint(4);
        w.u32(0);
        w.u8(1);
        w.varint(100);
        w.varint(t);
        w.varint(1);
        w.varint(2);
        w.varint(code);
        w.varint(e1);
        w.finish()
    };
    assert!(SpaceSaving::from_bytes(&mk(5, 2, 1)).is_ok()); // count 5, error 2
    assert!(SpaceSaving::from_bytes(&mk(5, 2, 4)).is_err()); // error 5 = t via tag 2
    assert!(SpaceSaving::from_bytes(&mk(5, 2, 10)).is_err()); // error > t
                                                              // Duplicate int items (delta 0 is impossible: deltas are stored minus one), and
                                                              // items past i64::MAX.
    let mut w = Writer::with_header(MAGIC, 1);
    w.varint(4);
    w.u32(0);
    w.u8(1);
    w.varint(10);
    w.varint(0);
    w.varint(2);
    w.varint(zigzag(i64::MAX));
    w.varint(0);
    w.varint(0);
    w.varint(0);
    assert!(SpaceSaving::from_bytes(&w.finish()).is_err());
    // Duplicate / descending byte items.
    for (k1, k2) in [(&b"b"[..], &b"b"[..]), (b"b", b"a")] {
        let mut w = Writer::with_header(MAGIC, 1);
        w.varint(4);
        w.u32(0);
        w.u8(2);
        w.varint(10);
        w.varint(0);
        w.varint(2);
        w.blob(k1);
        w.varint(3);
        w.blob(k2);
        w.varint(3);
        assert!(SpaceSaving::from_bytes(&w.finish()).is_err());
    }
}

/// Version 1 (topk_pg 0.3) still reads, to the same counters as version 2 of the same
/// sketch, for int and byte items; version 2 is smaller.
#[test]
fn version_1_still_reads() {
    let (ints, _) = random_stream(500, 100_000, 50_000, 4, 43);
    let mut bytes = SpaceSaving::new(300).unwrap();
    let mut rng = Rng(5);
    for _ in 0..50_000 {
        let k = format!("w{}", rng.below(3000) * rng.below(3000) / 3000).into_bytes();
        bytes.update_bytes(&k, hash_bytes(&k), 1 + rng.below(3)).unwrap();
    }
    for s in [&ints, &bytes] {
        let (v1, v2) = (s.to_bytes_v1(), s.to_bytes());
        assert_eq!((v1[1], v2[1]), (1, 2));
        let (a, b) = (SpaceSaving::from_bytes(&v1).unwrap(), SpaceSaving::from_bytes(&v2).unwrap());
        assert_eq!(a.top(usize::MAX), b.top(usize::MAX));
        assert_eq!((a.threshold(), a.total(), a.capacity()), (b.threshold(), b.total(), b.capacity()));
        assert_eq!(a.to_bytes(), v2);
        assert!(v2.len() * 10 < v1.len() * 8, "v1 {} v2 {}", v1.len(), v2.len());
    }
}

/// Version 2 has one form per sketch: a decoder that accepts bytes re-encodes them to
/// the same bytes, so changed orders, padding, prefixes or lengths are refused.
#[test]
fn version_2_accepts_only_its_canonical_form() {
    let (ints, _) = random_stream(200, 50_000, 20_000, 3, 53);
    let mut bytes = SpaceSaving::new(100).unwrap();
    for i in 0..20_000u64 {
        let k = format!("item-{}", (i * i) % 997).into_bytes();
        bytes.update_bytes(&k, hash_bytes(&k), 1).unwrap();
    }
    let mut small = SpaceSaving::new(10).unwrap();
    for k in [&b"ab"[..], b"abc", b"abd", b"b", b""] {
        small.update_bytes(k, hash_bytes(k), 2).unwrap();
    }
    let mut rng = Rng(17);
    for s in [&ints, &bytes, &small] {
        let b = s.to_bytes();
        assert_eq!(SpaceSaving::from_bytes(&b).unwrap().to_bytes(), b);
        // Every single-bit flip, every byte changed to random values: accepted only
        // when it re-encodes to itself.
        for i in 0..b.len() {
            for bit in 0..8 {
                let mut f = b.clone();
                f[i] ^= 1 << bit;
                if let Ok(d) = SpaceSaving::from_bytes(&f) {
                    assert_eq!(d.to_bytes(), f, "flip of bit {bit} of byte {i} accepted");
                }
            }
            for _ in 0..4 {
                let mut f = b.clone();
                f[i] = rng.next() as u8;
                if let Ok(d) = SpaceSaving::from_bytes(&f) {
                    assert_eq!(d.to_bytes(), f, "byte {i} changed, accepted");
                }
            }
        }
    }
    // The code orders (the bytes after the first item's varint) are the canonical ones.
    let mut x = SpaceSaving::new(10).unwrap();
    for v in [3i64, 10, 11, 40] {
        upd(&mut x, v, 5);
    }
    let b = x.to_bytes();
    // header: 'S' 2 cap:1 type:4 kind:1 total:1 t:1 n:1 first:1, then kg kc
    let at = 2 + 1 + 4 + 1 + 1 + 1 + 1 + 1;
    for (i, d) in [(at, 1u8), (at, 255), (at + 1, 1), (at + 1, 65)] {
        let mut f = b.clone();
        f[i] = f[i].wrapping_add(d);
        assert!(SpaceSaving::from_bytes(&f).is_err(), "order at {i} + {d} accepted");
    }
    // A non-zero padding bit in the last byte.
    let last = *b.last().unwrap();
    if last != 0xff {
        let mut f = b.clone();
        *f.last_mut().unwrap() |= 0x80;
        assert!(SpaceSaving::from_bytes(&f).is_err() || f == b);
    }
}

/// A stored sketch of byte items fits its byte budget, keeping the largest counters.
#[test]
fn byte_items_fit_the_stored_budget() {
    let mut s = SpaceSaving::new(20_000).unwrap();
    let mut rng = Rng(3);
    for _ in 0..200_000 {
        let id = rng.below(100_000) * rng.below(100_000) / 100_000;
        let k = format!("https://example.com/a/rather/long/path/{id}/page").into_bytes();
        s.update_bytes(&k, hash_bytes(&k), 1).unwrap();
    }
    let b = s.to_bytes();
    let budget = stored_bytes_budget(20_000);
    assert_eq!(budget, 106_666);
    assert!(b.len() <= budget && b.len() > budget * 9 / 10, "{} bytes", b.len());
    let d = SpaceSaving::from_bytes(&b).unwrap();
    eprintln!("long byte items: {} bytes stored, {} of {} counters kept, threshold {}", b.len(), d.len(), s.len().min(20_000), d.threshold());
    assert!(d.len() < 20_000);
    assert_eq!(d.to_bytes(), b);
    // The kept counters are the largest; the dropped ones are under the threshold.
    let all = s.top(usize::MAX);
    assert_eq!(d.top(d.len()), all[..d.len()].to_vec());
    assert!(all[d.len()].count <= d.threshold());
    // The threshold stays at most N / (counters kept).
    assert!(d.threshold() * d.len() as u64 <= d.total(), "threshold {} counters {} total {}", d.threshold(), d.len(), d.total());
    // A hand-built version-2 sketch over the budget is refused (it would re-encode cut).
    let mut big = s.clone();
    big.capacity = 20_000;
    let (kind, arena) = (s.kind, &s.arena);
    let (mut v, t) = s.cut_to_capacity();
    v.sort_unstable_by(|a, b| b.count.cmp(&a.count).then(b.lower.cmp(&a.lower)).then_with(|| cmp_keys(kind, arena, a.key, b.key)));
    let t = v[d.len() + 2000..].iter().map(|c| c.count).max().unwrap().max(t);
    v.truncate(d.len() + 2000);
    v.sort_unstable_by(|a, b| cmp_keys(kind, arena, a.key, b.key));
    let over = big.encode_v2(&v, t);
    assert!(over.len() > budget);
    assert!(SpaceSaving::from_bytes(&over).is_err());
}

/// A heavy_hitters sketch of topk_pg 0.3 (its candidates in format 1) with the same
/// candidates as one with format 2 inside: the bytes of `h` with the candidates in
/// format 1.
pub(super) fn heavy_hitters_with_v1_candidates(h: &[u8]) -> Vec<u8> {
    use crate::codec::Reader;
    let (mut r, version) = Reader::open(h, crate::heavy_hitters::MAGIC, "heavy_hitters").unwrap();
    let k = r.varint().unwrap();
    let candidates = SpaceSaving::from_bytes(r.blob().unwrap()).unwrap();
    let cms = r.blob().unwrap();
    let mut w = Writer::with_header(crate::heavy_hitters::MAGIC, version);
    w.varint(k);
    w.blob(&candidates.to_bytes_v1());
    w.blob(cms);
    w.finish()
}

#[test]
fn heavy_hitters_with_format_1_candidates_still_read() {
    use crate::heavy_hitters::HeavyHitters;
    let mut h = HeavyHitters::new(10, 0.01, 0.01).unwrap();
    let mut rng = Rng(12);
    for _ in 0..20_000 {
        let v = (rng.below(2000) * rng.below(2000) / 2000) as i64;
        h.update_int(v, hash_i64(v), 1).unwrap();
    }
    let now = h.to_bytes();
    let old = heavy_hitters_with_v1_candidates(&now);
    assert_ne!(old, now);
    let d = HeavyHitters::from_bytes(&old).unwrap();
    assert_eq!(d.to_bytes(), now);
    assert_eq!(d.top(usize::MAX), HeavyHitters::from_bytes(&now).unwrap().top(usize::MAX));
}
