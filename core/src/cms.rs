//! Count-min sketch of item frequencies (Cormode and Muthukrishnan, "An improved data
//! stream summary: the count-min sketch and its applications", 2005).
//!
//! * `epsilon` and `delta` in the open interval (0, 1) give `depth` = ceil(ln(1/delta))
//!   rows of `width` = ceil(e/epsilon) counters. With N the total weight added, the
//!   estimate of an item is never below its true count, and exceeds it by at most
//!   epsilon*N with probability at least 1-delta.
//! * The defaults, epsilon 0.001 and delta 0.01, give 5 rows of 2719 counters: 13,595
//!   counters, 106 KiB in memory (each counter is a `u64`). A sketch may take at most
//!   [`MAX_BYTES`] (64 MiB) of counters.
//! * Updates are **plain**, not conservative: an item's weight is added to its counter
//!   in every row. A sketch is then a linear function of its input, so merging is
//!   element-wise addition and gives exactly the one-pass sketch, and every row sums to
//!   N (the decoder checks it). Conservative update lowers the error but breaks both.
//! * The SQL layer hashes each item once ([`crate::hash`]) to 64 bits; the column of
//!   row i is derived from that hash alone, independently for each row: the i-th output
//!   of a SplitMix64 generator seeded with the hash, x_i = mix(h + (i+1)*gamma) (the
//!   generator's increment and finaliser, [`remix`]), reduced to `0..width` by
//!   multiply-shift (the high 64 bits of x_i * width). Rows then fail independently,
//!   which is what the delta claim needs (the test `small_delta_failure_rate` measures
//!   it). The one dependence left is the 64-bit hash itself: items of equal hashes
//!   share every cell, so the probability of a miss is at most delta + m/2^64 for m
//!   distinct items counted (under 1e-9 below 18 billion items): a smaller delta is
//!   accepted but only adds rows. This mapping is part of the on-disk format.
//! * Format version 1 (topk_pg 0.3 and earlier) derived the columns by Kirsch–Mitzenmacher
//!   double hashing, x_i = h + i*h2 with h2 = remix(h) forced odd, also reduced by
//!   multiply-shift. Two items then meet in every row with a probability of the order of
//!   1/(width^2*depth) rather than 1/width^depth, which puts a floor under the failure
//!   probability far above small deltas. Version-1 sketches still decode, count and answer with their own
//!   mapping (and re-encode as version 1); they merge with each other, and with an empty
//!   sketch of either version, but not with a non-empty version-2 sketch (an ERROR: their
//!   counters place items differently).
//! * No counter is ever above N, and N is kept at most `i64::MAX` (a bigint), so the one
//!   checked addition on N guards every counter against overflow.
//!
//! On-disk format (version 2; version 1 is the same bytes but for the version byte and
//! the column mapping): `'C' 2 item_type:u32 epsilon:f64 delta:f64 width:u32
//! depth:u32 total:u64`, then each row's `width` counters in order, as varints, except
//! that a maximal run of k >= 1 zero counters inside a row is written `0 varint(k-1)`
//! (so an empty default sketch takes 53 bytes). Two zero runs are never adjacent, and no
//! run crosses the end of a row.

use crate::codec::{from_text, to_text, Reader, Writer};
use crate::error::{checked_add_count, Result, SketchError};
use crate::hash::remix;

pub const MAGIC: u8 = b'C';
/// The format version new sketches are written in.
pub const VERSION: u8 = 2;
/// The format version of sketches with double-hashed columns (see the module documentation).
pub const VERSION_DOUBLE_HASHING: u8 = 1;
pub const TEXT_PREFIX: &str = "cms";
pub const DEFAULT_EPSILON: f64 = 0.001;
pub const DEFAULT_DELTA: f64 = 0.01;
/// Largest counter array a sketch may have, in bytes.
pub const MAX_BYTES: usize = 64 << 20;
const MAX_COUNTERS: usize = MAX_BYTES / 8;

#[derive(Clone, PartialEq)]
pub struct Cms {
    epsilon: f64,
    delta: f64,
    width: u32,
    depth: u32,
    /// N, the sum of all weights added.
    total: u64,
    /// `depth` rows of `width` counters, row after row.
    counters: Vec<u64>,
    /// Opaque tag of the items' type (0 = not known yet); sketches of different
    /// non-zero tags do not merge.
    pub item_type: u32,
    /// The format version, which fixes the column mapping: [`VERSION`] or
    /// [`VERSION_DOUBLE_HASHING`].
    version: u8,
}

/// Everything but the counters, which would flood test failures and logs.
impl std::fmt::Debug for Cms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cms")
            .field("epsilon", &self.epsilon)
            .field("delta", &self.delta)
            .field("width", &self.width)
            .field("depth", &self.depth)
            .field("total", &self.total)
            .field("item_type", &self.item_type)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Width and depth of a sketch of the given error and failure probability, checking
/// both parameters and the memory the sketch would take.
pub fn dimensions(epsilon: f64, delta: f64) -> Result<(u32, u32)> {
    // Written so that NaN fails too.
    if !(epsilon > 0.0 && epsilon < 1.0) {
        return Err(SketchError::invalid(format!("cms epsilon {epsilon} is out of range"))
            .with_hint(format!(
                "Use an epsilon strictly between 0 and 1, such as {DEFAULT_EPSILON} (the default): estimates exceed true counts by at most epsilon times the total."
            )));
    }
    if !(delta > 0.0 && delta < 1.0) {
        return Err(SketchError::invalid(format!("cms delta {delta} is out of range"))
            .with_hint(format!(
                "Use a delta strictly between 0 and 1, such as {DEFAULT_DELTA} (the default): the probability that an estimate misses the epsilon bound."
            )));
    }
    // Both are >= 1 (e/epsilon > e, and -ln(delta) > 0), possibly infinite; compare
    // as floats before any conversion.
    let width = (std::f64::consts::E / epsilon).ceil();
    let depth = (-delta.ln()).ceil();
    if width * depth > MAX_COUNTERS as f64 {
        return Err(SketchError::too_large(format!(
            "a cms of epsilon {epsilon} and delta {delta} would need {width} x {depth} counters, more than {} MiB",
            MAX_BYTES >> 20
        ))
        .with_hint(format!(
            "Use a larger epsilon or delta; the defaults ({DEFAULT_EPSILON}, {DEFAULT_DELTA}) take 106 KiB."
        )));
    }
    Ok((width as u32, depth as u32))
}

/// Column of the item of hash `h` in row `row` of `width` columns (format version 2):
/// output `row` of a SplitMix64 generator seeded with `h`, by multiply-shift.
#[inline]
fn column(h: u64, row: usize, width: usize) -> usize {
    let x = remix(h.wrapping_add((row as u64).wrapping_mul(SPLITMIX_GAMMA)));
    ((x as u128 * width as u128) >> 64) as usize
}

/// SplitMix64's increment (the one [`remix`] adds).
const SPLITMIX_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Columns of an item's cells in format version 1, one per row: double hashing.
#[inline]
fn columns_v1(h: u64, width: usize) -> impl Iterator<Item = usize> {
    let step = remix(h) | 1;
    std::iter::successors(Some(h), move |x| Some(x.wrapping_add(step)))
        .map(move |x| ((x as u128 * width as u128) >> 64) as usize)
}

impl Cms {
    pub fn new(epsilon: f64, delta: f64) -> Result<Self> {
        let (width, depth) = dimensions(epsilon, delta)?;
        Ok(Self::empty(epsilon, delta, width, depth))
    }

    /// An empty sketch of dimensions already checked by [`dimensions`].
    fn empty(epsilon: f64, delta: f64, width: u32, depth: u32) -> Self {
        Cms {
            epsilon,
            delta,
            width,
            depth,
            total: 0,
            counters: vec![0; width as usize * depth as usize],
            item_type: 0,
            version: VERSION,
        }
    }

    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// The format version, which fixes how items map to cells: [`VERSION`] for every
    /// new sketch, [`VERSION_DOUBLE_HASHING`] for one decoded from that format.
    pub fn format_version(&self) -> u8 {
        self.version
    }

    /// Bytes this sketch holds on the heap (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.counters.capacity() * std::mem::size_of::<u64>()
    }

    pub fn delta(&self) -> f64 {
        self.delta
    }
    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn depth(&self) -> u32 {
        self.depth
    }
    /// N, the sum of the weights added.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Adds `weight` occurrences of the item of hash `h`. Fails, leaving the sketch
    /// unchanged, if the total would pass `i64::MAX`.
    #[inline]
    pub fn add_hash(&mut self, h: u64, weight: u64) -> Result<()> {
        if weight == 0 {
            return Ok(());
        }
        self.total = checked_add_count(self.total, weight)?;
        let w = self.width as usize;
        // Cannot overflow: a counter is at most the total, just checked.
        if self.version == VERSION_DOUBLE_HASHING {
            for (row, col) in self.counters.chunks_exact_mut(w).zip(columns_v1(h, w)) {
                row[col] += weight;
            }
        } else {
            for (i, row) in self.counters.chunks_exact_mut(w).enumerate() {
                row[column(h, i, w)] += weight;
            }
        }
        Ok(())
    }

    /// Estimated count of the item of hash `h`: never below the true count.
    #[inline]
    pub fn estimate_hash(&self, h: u64) -> u64 {
        let w = self.width as usize;
        let rows = self.counters.chunks_exact(w);
        if self.version == VERSION_DOUBLE_HASHING {
            rows.zip(columns_v1(h, w)).map(|(row, col)| row[col]).min().unwrap_or(0)
        } else {
            rows.enumerate().map(|(i, row)| row[column(h, i, w)]).min().unwrap_or(0)
        }
    }

    /// ceil(epsilon * N): with probability at least 1-delta an estimate exceeds the
    /// true count by at most this.
    pub fn error_bound(&self) -> u64 {
        // The min only guards float rounding at huge totals: mathematically it is a no-op.
        ((self.epsilon * self.total as f64).ceil() as u64).min(self.total)
    }

    fn check_compatible(&self, other: &Cms) -> Result<()> {
        if self.width != other.width || self.depth != other.depth {
            return Err(SketchError::mismatch(format!(
                "cannot merge cms sketches of epsilon {} and delta {} ({} x {} counters) with epsilon {} and delta {} ({} x {})",
                self.epsilon, self.delta, self.width, self.depth,
                other.epsilon, other.delta, other.width, other.depth
            ))
            .with_hint("Build the sketches with the same epsilon and delta."));
        }
        if self.item_type != 0 && other.item_type != 0 && self.item_type != other.item_type {
            return Err(SketchError::mismatch("cannot merge cms sketches of different item types")
                .with_hint("Merge sketches built over the same column type."));
        }
        if self.version != other.version && self.total != 0 && other.total != 0 {
            return Err(SketchError::mismatch(format!(
                "cannot merge a cms sketch of format version {} with one of format version {}",
                self.version.min(other.version),
                self.version.max(other.version)
            ))
            .with_hint("Sketches written by topk_pg 0.3 or earlier (format version 1) place items in other counters than newer ones: rebuild the old sketch from its rows, or merge old sketches only with each other."));
        }
        Ok(())
    }

    /// The format version of the merge of `self` and `other` (compatible): that of the
    /// non-empty sketches, the newer one if both are empty.
    fn merged_version(&self, other: &Cms) -> u8 {
        match (self.total, other.total) {
            (0, 0) => self.version.max(other.version),
            (0, _) => other.version,
            _ => self.version,
        }
    }

    /// Adds `other` into `self`: the result is the sketch of both inputs. Fails, leaving
    /// `self` unchanged, on different dimensions or item types, or if the total would
    /// pass `i64::MAX`.
    pub fn merge(&mut self, other: &Cms) -> Result<()> {
        self.check_compatible(other)?;
        let version = self.merged_version(other);
        self.total = checked_add_count(self.total, other.total)?;
        self.version = version;
        if self.item_type == 0 {
            self.item_type = other.item_type;
        }
        // Parameters that differ only in how they round to the same dimensions: keep
        // the weaker claims, so the bound stays conservative and merge commutative.
        self.epsilon = self.epsilon.max(other.epsilon);
        self.delta = self.delta.max(other.delta);
        for (a, b) in self.counters.iter_mut().zip(&other.counters) {
            // Cannot overflow: each counter is at most its sketch's total, and the sum
            // of the totals was just checked.
            *a += *b;
        }
        Ok(())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(MAGIC, self.version);
        w.u32(self.item_type);
        w.f64(self.epsilon);
        w.f64(self.delta);
        w.u32(self.width);
        w.u32(self.depth);
        w.u64(self.total);
        for row in self.counters.chunks_exact(self.width as usize) {
            let mut i = 0;
            while i < row.len() {
                if row[i] == 0 {
                    let run = row[i..].iter().take_while(|c| **c == 0).count();
                    w.varint(0);
                    w.varint(run as u64 - 1);
                    i += run;
                } else {
                    w.varint(row[i]);
                    i += 1;
                }
            }
        }
        w.finish()
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self> {
        let (mut r, version) = Reader::open(buf, MAGIC, "cms")?;
        if version != VERSION && version != VERSION_DOUBLE_HASHING {
            return Err(r
                .err(&format!("unsupported format version {version}"))
                .with_hint("The sketch was written by a newer topk_pg; update the extension."));
        }
        let item_type = r.u32()?;
        let epsilon = r.f64()?;
        let delta = r.f64()?;
        let width = r.u32()?;
        let depth = r.u32()?;
        let total = r.u64()?;
        // Check the dimensions against the parameters, and so against the size limit,
        // before allocating anything.
        let (w, d) = dimensions(epsilon, delta).map_err(|e| r.err(&e.message))?;
        if (width, depth) != (w, d) {
            return Err(r.err(&format!(
                "{width} x {depth} counters do not match epsilon {epsilon} and delta {delta}"
            )));
        }
        if total > i64::MAX as u64 {
            return Err(r.err("total out of range"));
        }
        let mut cms = Cms::empty(epsilon, delta, width, depth);
        cms.item_type = item_type;
        cms.total = total;
        cms.version = version;
        let w = width as usize;
        for row in cms.counters.chunks_exact_mut(w) {
            let mut col = 0;
            let mut sum = 0u64;
            let mut after_run = false;
            while col < w {
                let v = r.varint()?;
                if v == 0 {
                    if after_run {
                        return Err(r.err("adjacent runs of zero counters"));
                    }
                    let more = r.varint()?;
                    if more >= (w - col) as u64 {
                        return Err(r.err("run of zero counters past the end of a row"));
                    }
                    col += 1 + more as usize;
                    after_run = true;
                } else {
                    sum = sum
                        .checked_add(v)
                        .filter(|s| *s <= total)
                        .ok_or_else(|| r.err("a row sums to more than the total"))?;
                    row[col] = v;
                    col += 1;
                    after_run = false;
                }
            }
            if sum != total {
                return Err(r.err("a row sums to less than the total"));
            }
        }
        r.finish()?;
        Ok(cms)
    }

    pub fn to_text(&self) -> String {
        to_text(TEXT_PREFIX, &self.to_bytes())
    }
    pub fn from_text(s: &str) -> Result<Self> {
        Self::from_bytes(&from_text(TEXT_PREFIX, s, "cms")?)
    }
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "cms",
            "version": self.version,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "width": self.width,
            "depth": self.depth,
            "total": self.total,
            "error_bound": self.error_bound(),
        })
    }
}

#[cfg(test)]
mod tests {
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
}
