//! What every fuzz target checks, as plain Rust with no fuzzer in it.
//!
//! Shared, file for file, by the fuzz targets (`fuzz/fuzz_targets/*.rs`, through the
//! `topk_fuzz` library) and by the core's regression test
//! (`core/tests/fuzz_regressions.rs`, through `#[path]`), so that a crashing input
//! found by the fuzzer fails `cargo test -p topk_core` in exactly the same way.
//!
//! The contract checked: decoding any byte string or text gives a valid sketch or a
//! clear error (never a panic, an abort, an arithmetic overflow, an out-of-memory);
//! a decoded sketch can be used (estimates, top-n, JSON) and re-encoded, and its
//! re-encoding decodes to the same bytes (`to_bytes` → `from_bytes` → `to_bytes` is
//! a fixed point, in text too); merging two decoded sketches never panics, leaves the
//! target unchanged when it fails, and gives a sketch that re-encodes the same way.
//! A stored form that decodes is the sketch's one encoding: `to_bytes(from_bytes(b))`
//! gives back `b` (no padded varint, no second spelling of the same sketch), unless it
//! is the form of an older format version that the decoder still reads
//! ([`Sketch::older_form`], Space-Saving format 1): that one re-encodes in the current
//! version, to the same counters.
#![allow(dead_code)]

use topk_core::cms::Cms;
use topk_core::heavy_hitters::HeavyHitters;
use topk_core::hll::Hll;
use topk_core::spacesaving::{Item, SpaceSaving};
use topk_core::{ErrorKind, Result, SketchError};

/// Every fuzz target, by name (the names of `fuzz/fuzz_targets/*.rs`, of the seed
/// directories `fuzz/seeds/<target>/` and of `core/tests/fuzz_regressions/<target>/`).
pub const TARGETS: &[&str] = &[
    "hll_bytes",
    "hll_text",
    "cms_bytes",
    "cms_text",
    "spacesaving_bytes",
    "spacesaving_text",
    "heavy_hitters_bytes",
    "heavy_hitters_text",
    "merge",
];

/// Runs the checks of fuzz target `target` on one input. Panics on a violation.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "hll_bytes" => drop(bytes::<Hll>(data)),
        "hll_text" => drop(text::<Hll>(data)),
        "cms_bytes" => drop(bytes::<Cms>(data)),
        "cms_text" => drop(text::<Cms>(data)),
        "spacesaving_bytes" => drop(bytes::<SpaceSaving>(data)),
        "spacesaving_text" => drop(text::<SpaceSaving>(data)),
        "heavy_hitters_bytes" => drop(bytes::<HeavyHitters>(data)),
        "heavy_hitters_text" => drop(text::<HeavyHitters>(data)),
        "merge" => merge(data),
        _ => panic!("unknown fuzz target {target:?} (known: {TARGETS:?})"),
    }
}

/// The common interface of the sketches, for the generic checks below.
pub trait Sketch: Clone + Sized {
    const NAME: &'static str;
    /// Whether merging is documented to be commutative (byte-equal results).
    const COMMUTATIVE: bool;
    fn decode(b: &[u8]) -> Result<Self>;
    fn decode_text(s: &str) -> Result<Self>;
    fn encode(&self) -> Vec<u8>;
    fn encode_text(&self) -> String;
    fn merge_from(&mut self, other: &Self) -> Result<()>;
    /// Read-only use of a valid sketch; asserts the invariants its module documents.
    fn exercise(&self);
    /// Whether `b` is in an older format version, which decodes but is written in the
    /// current one.
    fn older_form(_b: &[u8]) -> bool {
        false
    }
    /// Checks a sketch decoded from an older form against its current form.
    fn check_upgrade(&self) {}
}

/// Skips a LEB128 varint at `b[*at..]`; None when truncated.
fn skip_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let x = *b.get(*at)?;
        *at += 1;
        v |= ((x & 0x7f) as u64).checked_shl(7 * i).unwrap_or(0);
        if x < 0x80 {
            return Some(v);
        }
    }
    None
}

macro_rules! codec_methods {
    () => {
        fn decode(b: &[u8]) -> Result<Self> {
            Self::from_bytes(b)
        }
        fn decode_text(s: &str) -> Result<Self> {
            Self::from_text(s)
        }
        fn encode(&self) -> Vec<u8> {
            self.to_bytes()
        }
        fn encode_text(&self) -> String {
            self.to_text()
        }
        fn merge_from(&mut self, other: &Self) -> Result<()> {
            self.merge(other)
        }
    };
}

impl Sketch for Hll {
    const NAME: &'static str = "hll";
    const COMMUTATIVE: bool = true;
    codec_methods!();
    fn exercise(&self) {
        let n = self.count();
        let (lo, hi) = self.count_bounds(0.95).expect("0.95 is a valid confidence");
        assert!(lo <= n && n <= hi, "hll: bounds {lo}..{hi} do not contain the count {n}");
        assert!(self.stderr() >= 0.0);
        let _ = self.to_json();
    }
}

impl Sketch for Cms {
    const NAME: &'static str = "cms";
    const COMMUTATIVE: bool = true;
    codec_methods!();
    fn exercise(&self) {
        let total = self.total();
        assert!(total <= i64::MAX as u64, "cms: total {total} above bigint");
        assert!(self.error_bound() <= total, "cms: error bound above the total");
        for h in [0u64, 1, u64::MAX, 0x9E37_79B9_7F4A_7C15, topk_core::hash::hash_i64(1)] {
            let e = self.estimate_hash(h);
            assert!(e <= total, "cms: estimate {e} above the total {total}");
        }
        let _ = self.to_json();
    }
}

/// The documented Space-Saving invariants of every listed counter.
fn check_top_entries(what: &str, entries: &[topk_core::spacesaving::Entry], threshold: u64, total: u64) {
    for e in entries {
        assert!(e.error < e.count, "{what}: error {} not below count {}", e.error, e.count);
        assert!(e.error <= threshold, "{what}: error {} above threshold {threshold}", e.error);
        assert!(threshold <= e.count, "{what}: threshold {threshold} above count {}", e.count);
        assert!(e.count <= total, "{what}: count {} above total {total}", e.count);
    }
}

impl Sketch for SpaceSaving {
    const NAME: &'static str = "spacesaving";
    const COMMUTATIVE: bool = false;
    codec_methods!();
    fn exercise(&self) {
        let (t, total) = (self.threshold(), self.total());
        assert!(t <= total, "spacesaving: threshold {t} above total {total}");
        let all = self.top(usize::MAX);
        assert_eq!(all.len(), self.len(), "spacesaving: top(all) misses counters");
        check_top_entries("spacesaving", &all, t, total);
        let lower_sum: u128 = all.iter().map(|e| (e.count - e.error) as u128).sum();
        assert!(lower_sum <= total as u128, "spacesaving: lower bounds sum above the total");
        for w in all.windows(2) {
            assert!(w[0].count >= w[1].count, "spacesaving: top() not sorted by count");
        }
        // top(n) is the first n of the whole ranking (count desc, then item: a total
        // order); only the `guaranteed` flags depend on n.
        let top3 = self.top(3);
        assert_eq!(top3.len(), all.len().min(3));
        for (a, b) in top3.iter().zip(&all) {
            assert_eq!((&a.item, a.count, a.error), (&b.item, b.count, b.error), "spacesaving: top(3) is not a prefix of top(all)");
        }
        assert!(self.top(0).is_empty());
        // Estimates agree with the listed counters.
        for e in all.iter().take(8) {
            let est = match &e.item {
                Item::Int(v) => self.estimate_int(*v, topk_core::hash::hash_i64(*v)),
                Item::Bytes(b) => self.estimate_bytes(b, topk_core::hash::hash_bytes(b)),
            };
            assert_eq!(est, (e.count, e.error), "spacesaving: estimate disagrees with top()");
        }
        assert_eq!(self.estimate_int(i64::MIN, 0), self.estimate_int(i64::MIN, 0));
        // The stored form is what compact() keeps.
        let mut c = self.clone();
        c.compact();
        assert!(c.to_bytes() == self.to_bytes(), "spacesaving: compact() changed the stored form");
        assert!(c.len() <= c.capacity() as usize, "spacesaving: compacted beyond the capacity");
        assert!(c.to_bytes().len() <= topk_core::spacesaving::stored_bytes_budget(c.capacity()) || c.kind() != topk_core::spacesaving::ItemKind::Bytes,
                "spacesaving: stored form of byte items over its budget");
        // JSON takes half the time of all these checks on a large sketch: build it for
        // those of up to 128 counters (which covers its cut at JSON_MAX_ITEMS = 100).
        if self.len() <= 128 {
            let _ = self.to_json();
        }
    }
    fn older_form(b: &[u8]) -> bool {
        b.get(1) == Some(&1)
    }
    fn check_upgrade(&self) {
        // Format 1 read, format 2 written: the same counters (unless the byte budget
        // of format 2 cut some), threshold and total.
        let back = SpaceSaving::from_bytes(&self.to_bytes()).expect("the current form decodes");
        if back.len() == self.len().min(self.capacity() as usize) {
            let mut c = self.clone();
            c.compact();
            assert!(back.top(usize::MAX) == c.top(usize::MAX), "spacesaving: format 1 re-encoded to other counters");
            assert_eq!((back.threshold(), back.total()), (c.threshold(), c.total()), "spacesaving: format 1 re-encoded to another threshold");
        }
    }
}

impl Sketch for HeavyHitters {
    const NAME: &'static str = "heavy_hitters";
    const COMMUTATIVE: bool = false;
    codec_methods!();
    fn exercise(&self) {
        let total = self.total();
        for e in self.top(usize::MAX).iter().chain(&self.top(5)) {
            assert!(e.error <= e.count, "heavy_hitters: error {} above count {}", e.error, e.count);
            assert!(e.count <= total, "heavy_hitters: count {} above total {total}", e.count);
        }
        assert!(self.top(0).is_empty());
        let _ = self.estimate_int(7, topk_core::hash::hash_i64(7));
        let _ = self.estimate_bytes(b"x", topk_core::hash::hash_bytes(b"x"));
        let _ = self.to_json();
    }
    /// Its candidates in Space-Saving format 1 (heavy_hitters format 1 holds either).
    fn older_form(b: &[u8]) -> bool {
        let mut at = 2;
        let inner = (|| {
            skip_varint(b, &mut at)?; // k
            skip_varint(b, &mut at)?; // length of the candidates
            b.get(at + 1).copied()
        })();
        inner == Some(1)
    }
}

/// A decoder's error must be a clear "corrupt input" error.
fn check_error<S: Sketch>(e: &SketchError) {
    assert!(!e.message.is_empty(), "{}: decoder error without a message", S::NAME);
    assert_eq!(e.kind, ErrorKind::Corrupt, "{}: decoder error of kind {:?}: {e}", S::NAME, e.kind);
}

/// Checks a valid sketch: it can be used, and it re-encodes to a fixed point, in
/// binary and in text.
pub fn check_valid<S: Sketch>(s: &S) {
    s.exercise();
    let b = s.encode();
    let back = S::decode(&b)
        .unwrap_or_else(|e| panic!("{}: its own to_bytes() does not decode: {e}", S::NAME));
    assert!(back.encode() == b, "{}: to_bytes -> from_bytes -> to_bytes changed the bytes", S::NAME);
    let t = s.encode_text();
    let back = S::decode_text(&t)
        .unwrap_or_else(|e| panic!("{}: its own to_text() does not decode: {e}", S::NAME));
    assert!(back.encode() == b, "{}: to_text -> from_text -> to_bytes changed the bytes", S::NAME);
}

/// Decodes `data` as a stored sketch of type `S` and checks the result.
pub fn bytes<S: Sketch>(data: &[u8]) -> Option<S> {
    match S::decode(data) {
        Ok(s) => {
            check_valid(&s);
            if S::older_form(data) {
                s.check_upgrade();
            } else {
                assert!(s.encode() == data, "{}: accepted a stored form that is not its encoding", S::NAME);
            }
            Some(s)
        }
        Err(e) => {
            check_error::<S>(&e);
            None
        }
    }
}

/// Decodes `data` (as UTF-8, invalid sequences replaced) as the text form of `S`.
pub fn text<S: Sketch>(data: &[u8]) -> Option<S> {
    let t = String::from_utf8_lossy(data);
    match S::decode_text(&t) {
        Ok(s) => {
            check_valid(&s);
            Some(s)
        }
        Err(e) => {
            check_error::<S>(&e);
            None
        }
    }
}

/// `a.merge(b)` on a copy: on success the result is checked as a valid sketch, on
/// failure the copy must be unchanged.
fn merged<S: Sketch>(a: &S, b: &S) -> Option<S> {
    let mut m = a.clone();
    let before = m.encode();
    match m.merge_from(b) {
        Ok(()) => {
            check_valid(&m);
            Some(m)
        }
        Err(e) => {
            assert!(!e.message.is_empty(), "{}: merge error without a message", S::NAME);
            assert!(m.encode() == before, "{}: a failed merge changed the sketch ({e})", S::NAME);
            None
        }
    }
}

/// Merges two decoded sketches both ways, each with itself, and the results again
/// (which takes Space-Saving from its sorted-list merge to its hash-table merge).
pub fn merge_pair<S: Sketch>(a: &S, b: &S) {
    let ab = merged(a, b);
    let ba = merged(b, a);
    assert_eq!(ab.is_some(), ba.is_some(), "{}: merge succeeds one way only", S::NAME);
    if let (Some(ab), Some(ba)) = (&ab, &ba) {
        if S::COMMUTATIVE {
            assert!(ab.encode() == ba.encode(), "{}: merge is not commutative", S::NAME);
        }
        if let Some(abba) = merged(ab, ba) {
            let _ = merged(&abba, &abba);
            let _ = merged(&abba, a);
        }
    }
    let _ = merged(a, a);
    let _ = merged(b, b);
}

/// Splits a merge input: a 4-byte little-endian length of the first part (clamped to
/// what is there), the first part, the second part.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 4 {
        return (data, &[]);
    }
    let n = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize;
    let rest = &data[4..];
    rest.split_at(n.min(rest.len()))
}

/// The inverse of [`split`], for seeds.
pub fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + a.len() + b.len());
    v.extend_from_slice(&(a.len() as u32).to_le_bytes());
    v.extend_from_slice(a);
    v.extend_from_slice(b);
    v
}

fn merge_as<S: Sketch>(a: &[u8], b: &[u8]) {
    // Each part as binary and as text: pair what decodes.
    let da = [bytes::<S>(a), text::<S>(a)];
    let db = [bytes::<S>(b), text::<S>(b)];
    for x in da.iter().flatten() {
        for y in db.iter().flatten() {
            merge_pair(x, y);
        }
    }
}

/// The `merge` target: both parts decoded as every type, same-type pairs merged.
pub fn merge(data: &[u8]) {
    let (a, b) = split(data);
    merge_as::<Hll>(a, b);
    merge_as::<Cms>(a, b);
    merge_as::<SpaceSaving>(a, b);
    merge_as::<HeavyHitters>(a, b);
}
