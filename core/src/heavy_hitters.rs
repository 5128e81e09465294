//! The hybrid heavy-hitter sketch: a count-min sketch of every item plus a Space-Saving
//! candidate set of the heaviest ones.
//!
//! Both halves give deterministic **upper** bounds of an item's count (count-min never
//! under-counts; a Space-Saving counter is at least the item's count), so the hybrid
//! reports the smaller of the two: `count = min(space-saving count, cms estimate)`, and
//! keeps the Space-Saving lower bound `count - error` (its counter minus its error).
//! For every reported item `count - error <= true count <= count`, always.
//!
//! Why both: Space-Saving alone loses precision when sketches are merged (an item
//! missing from one side inherits that side's whole threshold as possible count); the
//! count-min sketch is linear, so after merging many sketches it still estimates each
//! candidate from the whole stream, and the candidates are re-estimated and re-ranked
//! by it. Merged accuracy then beats plain Space-Saving of the same size.
//!
//! * `k`: how many items the sketch is meant to report; the candidate set keeps
//!   `CANDIDATES_PER_K` × k counters (4 000 for the default k = 1 000).
//! * the count-min half uses `epsilon`/`delta` (defaults 0.001 / 0.01).
//! * Sketches of different k merge at the smaller k (its 4k candidates keep the
//!   Space-Saving bounds: every item counted more than total / 4k is a candidate, and
//!   every error is at most total / 4k); the count-min halves must have the same ε and δ.
//!   The merge works in place: its cost is that of the other sketch, not of a copy.
//!
//! On-disk format (version 1): `'K' 1 k:varint`, then the Space-Saving sketch and the
//! count-min sketch, each as a length-prefixed blob of its own stored format. The
//! decoder checks both and that they counted the same stream (same total and item type).

use crate::cms::{Cms, DEFAULT_DELTA, DEFAULT_EPSILON};
use crate::codec::{from_text, to_text, Reader, Writer};
use crate::error::{Result, SketchError};
use crate::hash::{hash_bytes, hash_i64};
use crate::spacesaving::{self, SpaceSaving};

pub const MAGIC: u8 = b'K';
pub const VERSION: u8 = 1;
pub const TEXT_PREFIX: &str = "heavy_hitters";
pub const DEFAULT_K: u32 = 1000;
/// Space-Saving counters per reported item.
pub const CANDIDATES_PER_K: u32 = 4;
/// Largest k: its candidate set is a Space-Saving sketch of 4k counters.
pub const MAX_K: u32 = spacesaving::MAX_CAPACITY / CANDIDATES_PER_K;

pub use spacesaving::Item;

/// One row of [`HeavyHitters::top`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub item: Item,
    /// Upper bound of the true count: min(space-saving count, count-min estimate).
    pub count: u64,
    /// `count - error` is a lower bound of the true count.
    pub error: u64,
    /// The item is certainly among the true top n.
    pub guaranteed: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HeavyHitters {
    k: u32,
    candidates: SpaceSaving,
    cms: Cms,
}

pub fn check_k(k: i64) -> Result<u32> {
    if k <= 0 || k > MAX_K as i64 {
        return Err(SketchError::invalid(format!("heavy_hitters k {k} is out of range"))
            .with_hint(format!("Use a k from 1 to {MAX_K}; the default is {DEFAULT_K}.")));
    }
    Ok(k as u32)
}

impl HeavyHitters {
    pub fn new(k: u32, epsilon: f64, delta: f64) -> Result<Self> {
        let k = check_k(k as i64)?;
        Ok(HeavyHitters {
            k,
            candidates: SpaceSaving::new(k * CANDIDATES_PER_K)?,
            cms: Cms::new(epsilon, delta)?,
        })
    }
    pub fn with_defaults() -> Self {
        Self::new(DEFAULT_K, DEFAULT_EPSILON, DEFAULT_DELTA).expect("defaults are valid")
    }

    pub fn k(&self) -> u32 {
        self.k
    }
    /// Bytes this sketch holds on the heap (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.candidates.heap_bytes() + self.cms.heap_bytes()
    }
    pub fn total(&self) -> u64 {
        self.cms.total()
    }
    pub fn cms(&self) -> &Cms {
        &self.cms
    }
    pub fn item_type(&self) -> u32 {
        self.candidates.item_type
    }
    pub fn set_item_type(&mut self, tag: u32) {
        self.candidates.item_type = tag;
        self.cms.item_type = tag;
    }

    /// Counts an integer item `weight` times; `hash` must be `hash::hash_i64(v)`.
    #[inline]
    pub fn update_int(&mut self, v: i64, hash: u64, weight: u64) -> Result<()> {
        self.candidates.update_int(v, hash, weight)?;
        self.cms.add_hash(hash, weight)
    }

    /// Counts a batch of integer items `(value, hash, weight)` (see
    /// [`SpaceSaving::update_ints`]).
    pub fn update_ints(&mut self, batch: &[(i64, u64, u64)]) -> Result<()> {
        self.candidates.update_ints(batch)?;
        for &(_, hash, weight) in batch {
            self.cms.add_hash(hash, weight)?;
        }
        Ok(())
    }

    /// Counts a byte-string item `weight` times; `hash` must be `hash::hash_bytes(v)`.
    #[inline]
    pub fn update_bytes(&mut self, v: &[u8], hash: u64, weight: u64) -> Result<()> {
        self.candidates.update_bytes(v, hash, weight)?;
        self.cms.add_hash(hash, weight)
    }

    /// Counts a batch of byte-string items (see [`SpaceSaving::update_bytes_batch`]).
    pub fn update_bytes_batch(&mut self, bytes: &[u8], batch: &[(usize, u64, u64)]) -> Result<()> {
        self.candidates.update_bytes_batch(bytes, batch)?;
        for &(_, hash, weight) in batch {
            self.cms.add_hash(hash, weight)?;
        }
        Ok(())
    }

    /// `(count, error)` of an item from both halves (see the module documentation).
    fn bounds(&self, ss: (u64, u64), cms_estimate: u64) -> (u64, u64) {
        let (ss_count, ss_error) = ss;
        let lower = ss_count - ss_error;
        let upper = ss_count.min(cms_estimate).max(lower);
        (upper, upper - lower)
    }

    pub fn estimate_int(&self, v: i64, hash: u64) -> (u64, u64) {
        self.bounds(self.candidates.estimate_int(v, hash), self.cms.estimate_hash(hash))
    }
    pub fn estimate_bytes(&self, v: &[u8], hash: u64) -> (u64, u64) {
        self.bounds(self.candidates.estimate_bytes(v, hash), self.cms.estimate_hash(hash))
    }

    /// The `n` items of largest count (re-estimated by the count-min half), by count
    /// descending then item ascending.
    pub fn top(&self, n: usize) -> Vec<Entry> {
        let mut all: Vec<Entry> = self
            .candidates
            .top(usize::MAX)
            .into_iter()
            .map(|e| {
                let h = match &e.item {
                    Item::Int(v) => hash_i64(*v),
                    Item::Bytes(b) => hash_bytes(b),
                };
                let (count, error) = self.bounds((e.count, e.error), self.cms.estimate_hash(h));
                Entry { item: e.item, count, error, guaranteed: false }
            })
            .collect();
        all.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.item.cmp(&b.item)));
        // Everything not listed is at most the (n+1)-th count, or unmonitored (at most
        // the threshold, and at most its count-min estimate, which we cannot enumerate).
        let bound = all.get(n).map_or(0, |e| e.count).max(self.candidates.threshold());
        all.truncate(n);
        for e in &mut all {
            e.guaranteed = e.count - e.error >= bound;
        }
        all
    }

    /// Merges `other` into `self`, in place. Sketches of different k merge at the
    /// smaller k (the candidates at its 4k counters, see `spacesaving/resize.rs`); the
    /// count-min halves must have the same ε and δ (they add cell by cell). Fails,
    /// leaving `self` unchanged, on different ε/δ, item kinds or types, or an overflow.
    pub fn merge(&mut self, other: &HeavyHitters) -> Result<()> {
        if self.cms.width() != other.cms.width() || self.cms.depth() != other.cms.depth() {
            return Err(SketchError::mismatch(format!(
                "cannot merge heavy_hitters sketches of epsilon {} and delta {} with epsilon {} and delta {}",
                self.cms.epsilon(), self.cms.delta(), other.cms.epsilon(), other.cms.delta()
            ))
            .with_hint("Build the sketches with the same epsilon and delta (k may differ: the merge keeps the smaller)."));
        }
        // Check both halves before changing either: the candidates' checks cover the
        // total (the same in both halves), and the count-min merge checks the rest
        // before it changes anything.
        self.candidates.check_merge(&other.candidates)?;
        self.cms.merge(&other.cms)?;
        self.candidates.merge(&other.candidates)?;
        self.k = self.k.min(other.k);
        Ok(())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(MAGIC, VERSION);
        w.varint(self.k as u64);
        w.blob(&self.candidates.to_bytes());
        w.blob(&self.cms.to_bytes());
        w.finish()
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self> {
        let (mut r, version) = Reader::open(buf, MAGIC, "heavy_hitters")?;
        if version != VERSION {
            return Err(r.err(&format!("unsupported format version {version}"))
                .with_hint("The sketch was written by a newer topk_pg; update the extension."));
        }
        let k = r.varint()?;
        let k = check_k(k.min(i64::MAX as u64) as i64).map_err(|_| r.err("k out of range"))?;
        let candidates = SpaceSaving::from_bytes(r.blob()?)?;
        let cms = Cms::from_bytes(r.blob()?)?;
        if candidates.capacity() != k * CANDIDATES_PER_K {
            return Err(r.err("candidate capacity does not match k"));
        }
        if candidates.total() != cms.total() || candidates.item_type != cms.item_type {
            return Err(r.err("its two halves counted different streams"));
        }
        r.finish()?;
        Ok(HeavyHitters { k, candidates, cms })
    }

    pub fn to_text(&self) -> String {
        to_text(TEXT_PREFIX, &self.to_bytes())
    }
    pub fn from_text(s: &str) -> Result<Self> {
        Self::from_bytes(&from_text(TEXT_PREFIX, s, "heavy_hitters")?)
    }
    pub fn to_json(&self) -> serde_json::Value {
        self.to_json_with(&spacesaving::item_json)
    }

    /// [`HeavyHitters::to_json`] with items shown by `render`.
    pub fn to_json_with(&self, render: &dyn Fn(&Item) -> serde_json::Value) -> serde_json::Value {
        let items: Vec<serde_json::Value> = self
            .top(spacesaving::JSON_MAX_ITEMS)
            .into_iter()
            .map(|e| {
                serde_json::json!({
                    "item": render(&e.item),
                    "count": e.count, "error": e.error, "guaranteed": e.guaranteed,
                })
            })
            .collect();
        serde_json::json!({
            "type": "heavy_hitters",
            "version": VERSION,
            "k": self.k,
            "total": self.total(),
            "epsilon": self.cms.epsilon(),
            "delta": self.cms.delta(),
            "items": items,
        })
    }
}

#[cfg(test)]
mod merge_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64 stream, for deterministic test data.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            crate::hash::remix(self.0)
        }
    }

    /// Zipf(s) item ids over 1..=items through a CDF (ids permuted so the hot ones are
    /// not 1, 2, 3).
    fn zipf_stream(n: usize, items: u64, s: f64, seed: u64) -> Vec<i64> {
        let mut cdf = Vec::with_capacity(items as usize);
        let mut acc = 0.0;
        for r in 1..=items {
            acc += (r as f64).powf(-s);
            cdf.push(acc);
        }
        let mut rng = Rng(seed);
        (0..n)
            .map(|_| {
                let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * acc;
                let rank = cdf.partition_point(|c| *c < u) as u64 + 1;
                ((rank.wrapping_mul(0x9E37_79B9) % items) + 1) as i64
            })
            .collect()
    }

    fn exact_counts(stream: &[i64], items: u64) -> Vec<u64> {
        let mut c = vec![0u64; items as usize + 2];
        stream.iter().for_each(|v| c[*v as usize] += 1);
        c
    }

    fn build(stream: &[i64]) -> HeavyHitters {
        let mut h = HeavyHitters::with_defaults();
        for v in stream {
            h.update_int(*v, hash_i64(*v), 1).unwrap();
        }
        h
    }

    #[test]
    fn bounds_hold_and_top_is_found() {
        let items = 50_000;
        let stream = zipf_stream(500_000, items, 1.0, 7);
        let exact = exact_counts(&stream, items);
        let h = HeavyHitters::from_bytes(&build(&stream).to_bytes()).unwrap();
        let top = h.top(1000);
        for e in &top {
            let Item::Int(v) = e.item else { panic!() };
            let t = exact[v as usize];
            assert!(e.count - e.error <= t && t <= e.count, "{v}: {} - {} vs {t}", e.count, e.error);
        }
        let mut ids: Vec<usize> = (1..=items as usize).collect();
        ids.sort_by(|a, b| exact[*b].cmp(&exact[*a]).then(a.cmp(b)));
        let truth: std::collections::HashSet<i64> = ids[..100].iter().map(|i| *i as i64).collect();
        let found = top[..100].iter().filter(|e| matches!(e.item, Item::Int(v) if truth.contains(&v))).count();
        assert!(found >= 99, "recall@100 {found}");
        for e in top.iter().filter(|e| e.guaranteed) {
            let Item::Int(v) = e.item else { panic!() };
            let t = exact[v as usize];
            // A guaranteed item's true count is at least the (n+1)-th true count.
            assert!(t >= exact[ids[1000]], "guaranteed {v} with {t}");
        }
    }

    #[test]
    fn merged_beats_plain_space_saving() {
        let items = 200_000;
        let stream = zipf_stream(1_500_000, items, 0.8, 11);
        let exact = exact_counts(&stream, items);
        let mut merged = HeavyHitters::with_defaults();
        let mut merged_ss = SpaceSaving::new(DEFAULT_K * CANDIDATES_PER_K).unwrap();
        for part in stream.chunks(stream.len() / 30) {
            let day = HeavyHitters::from_bytes(&build(part).to_bytes()).unwrap();
            merged.merge(&day).unwrap();
            let mut ss = SpaceSaving::new(DEFAULT_K * CANDIDATES_PER_K).unwrap();
            part.iter().for_each(|v| ss.update_int(*v, hash_i64(*v), 1).unwrap());
            merged_ss.merge(&SpaceSaving::from_bytes(&ss.to_bytes()).unwrap()).unwrap();
        }
        let mut ids: Vec<usize> = (1..=items as usize).collect();
        ids.sort_by(|a, b| exact[*b].cmp(&exact[*a]).then(a.cmp(b)));
        let truth: std::collections::HashSet<i64> = ids[..1000].iter().map(|i| *i as i64).collect();
        let recall = |items: Vec<Item>| items.iter().filter(|i| matches!(i, Item::Int(v) if truth.contains(v))).count();
        let hh = recall(merged.top(1000).into_iter().map(|e| e.item).collect());
        let ss = recall(merged_ss.top(1000).into_iter().map(|e| e.item).collect());
        assert!(hh >= ss, "hybrid {hh} < space-saving {ss}");
        for e in merged.top(4000) {
            let Item::Int(v) = e.item else { panic!() };
            let t = exact[v as usize];
            assert!(e.count - e.error <= t && t <= e.count);
        }
    }

    #[test]
    fn round_trip_and_decoder_checks() {
        let h = build(&zipf_stream(20_000, 1000, 1.1, 3));
        let bytes = h.to_bytes();
        let back = HeavyHitters::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(HeavyHitters::from_text(&h.to_text()).unwrap().to_bytes(), bytes);
        for cut in 0..bytes.len() {
            assert!(HeavyHitters::from_bytes(&bytes[..cut]).is_err());
        }
        for i in 0..bytes.len().min(400) {
            let mut b = bytes.clone();
            b[i] ^= 0x5a;
            let _ = HeavyHitters::from_bytes(&b);
        }
        assert!(HeavyHitters::new(0, 0.001, 0.01).is_err());
        assert!(HeavyHitters::new(1000, 0.0, 0.01).is_err());
        let mut a = HeavyHitters::new(10, 0.01, 0.01).unwrap();
        let e = a.merge(&HeavyHitters::new(10, 0.1, 0.01).unwrap()).unwrap_err();
        assert!(e.message.contains("epsilon 0.01") && e.hint.is_some(), "{e}");
    }

    /// The accuracy goal at the default size: 10M events over 1M items (Zipf s = 1.1 and
    /// s = 0.8), recall@1000 >= 995 of the exact top 1000, in one pass and after merging
    /// 30 daily sketches, each stored and decoded; every reported bound holds.
    #[test]
    fn recall_at_1000_on_10m_events() {
        let items = 1_000_000;
        for (s, seed) in [(1.1, 21u64), (0.8, 22)] {
            let stream = zipf_stream(10_000_000, items, s, seed);
            let exact = exact_counts(&stream, items);
            let mut ids: Vec<usize> = (1..=items as usize).collect();
            ids.sort_by(|a, b| exact[*b].cmp(&exact[*a]).then(a.cmp(b)));
            let truth: std::collections::HashSet<i64> = ids[..1000].iter().map(|i| *i as i64).collect();
            let check = |h: &HeavyHitters, what: &str| {
                let top = h.top(1000);
                let recall = top.iter().filter(|e| matches!(e.item, Item::Int(v) if truth.contains(&v))).count();
                assert!(recall >= 995, "s={s} {what}: recall@1000 {recall}");
                for e in &top {
                    let Item::Int(v) = e.item else { panic!() };
                    let t = exact[v as usize];
                    assert!(e.count - e.error <= t && t <= e.count, "s={s} {what}: bound of {v}");
                }
            };
            let one_pass = HeavyHitters::from_bytes(&build(&stream).to_bytes()).unwrap();
            assert!(one_pass.to_bytes().len() <= 64 * 1024, "stored size {}", one_pass.to_bytes().len());
            check(&one_pass, "one pass");
            let mut merged = HeavyHitters::with_defaults();
            for day in stream.chunks(stream.len().div_ceil(30)) {
                merged.merge(&HeavyHitters::from_bytes(&build(day).to_bytes()).unwrap()).unwrap();
            }
            check(&merged, "30 daily merged");
        }
    }
}
