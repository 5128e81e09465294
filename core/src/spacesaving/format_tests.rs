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
    v[1] = 2;
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
    let mut w = Writer::with_header(MAGIC, VERSION);
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
    assert_eq!(d.to_bytes(), ok);
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
        let mut w = Writer::with_header(MAGIC, VERSION);
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
    let mut w = Writer::with_header(MAGIC, VERSION);
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
        let mut w = Writer::with_header(MAGIC, VERSION);
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
