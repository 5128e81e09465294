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
mod tests;
