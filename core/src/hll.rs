//! HyperLogLog distinct counter.
//!
//! * `precision` p in 4..=18 gives m = 2^p registers and a standard error of
//!   1.04/sqrt(m); the default, 14, gives 0.81% (the smallest p with at most 1%).
//! * Small sets are kept **sparse**: the distinct 64-bit hashes themselves, so the count
//!   is exact (up to 64-bit hash collisions) until the set would take as many bytes as
//!   the dense registers; then the sketch turns dense.
//! * Sketches of different precisions merge at the lower one: the finer sketch is
//!   folded first (hashes kept while sparse, registers folded as DataSketches'
//!   union does), so the merge is exactly the one-pass sketch at the lower
//!   precision, with its standard error.
//! * The dense estimator is Ertl's improved raw estimator ("New cardinality estimation
//!   algorithms for HyperLogLog sketches", 2017): unbiased over the whole range with no
//!   empirical bias tables and no switch to linear counting, so no bump anywhere.
//!
//! On-disk format (version 1): `'H' 1 precision:u8 item_type:u32 mode:u8` then, for
//! mode 0 (sparse), `n:varint` and n ascending hashes as varint deltas; for mode 1
//! (dense), m registers of 6 bits packed little-endian (ceil(6m/8) bytes).

use crate::codec::{from_text, to_text, Reader, Writer};
use crate::error::{Result, SketchError};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

pub const MAGIC: u8 = b'H';
pub const VERSION: u8 = 1;
pub const MIN_PRECISION: u8 = 4;
pub const MAX_PRECISION: u8 = 18;
pub const DEFAULT_PRECISION: u8 = 14;
pub const TEXT_PREFIX: &str = "hll";

/// Hashes are uniformly random already: hash sets of them need no second hash.
#[derive(Default)]
pub struct IdentityHasher(u64);
impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | *b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}
pub type HashSet64 = HashSet<u64, BuildHasherDefault<IdentityHasher>>;

#[derive(Clone, Debug)]
enum Repr {
    Sparse(HashSet64),
    Dense(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct Hll {
    precision: u8,
    /// Opaque tag of the items' type (0 = not known yet); sketches of different
    /// non-zero tags do not merge.
    pub item_type: u32,
    repr: Repr,
}

impl PartialEq for Hll {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

pub fn check_precision(p: i64) -> Result<u8> {
    if !(MIN_PRECISION as i64..=MAX_PRECISION as i64).contains(&p) {
        return Err(SketchError::invalid(format!("hll precision {p} is out of range"))
            .with_hint(format!(
                "Use a precision from {MIN_PRECISION} to {MAX_PRECISION}; {DEFAULT_PRECISION} (the default) gives a 0.81% standard error."
            )));
    }
    Ok(p as u8)
}

impl Hll {
    pub fn new(precision: u8) -> Result<Self> {
        let p = check_precision(precision as i64)?;
        Ok(Hll { precision: p, item_type: 0, repr: Repr::Sparse(HashSet64::default()) })
    }

    pub fn precision(&self) -> u8 {
        self.precision
    }
    fn m(&self) -> usize {
        1usize << self.precision
    }
    /// Most hashes kept sparse: while 8 bytes a hash take fewer bytes than the
    /// packed dense registers (6 bits each).
    fn sparse_limit(&self) -> usize {
        self.m() * 6 / 8 / 8
    }
    pub fn is_sparse(&self) -> bool {
        matches!(self.repr, Repr::Sparse(_))
    }

    /// Bytes this sketch holds on the heap (for memory accounting; approximate).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            // A hash set: a u64 and a control byte per bucket.
            Repr::Sparse(set) => set.capacity() * 9,
            Repr::Dense(regs) => regs.capacity(),
        }
    }

    #[inline]
    pub fn add_hash(&mut self, h: u64) {
        match &mut self.repr {
            Repr::Dense(regs) => Self::set_register(regs, self.precision, h),
            Repr::Sparse(set) => {
                set.insert(h);
                if set.len() > self.sparse_limit() {
                    self.densify();
                }
            }
        }
    }

    #[inline]
    fn set_register(regs: &mut [u8], p: u8, h: u64) {
        let idx = (h >> (64 - p)) as usize;
        let rest = h << p;
        let q = 64 - p as u32;
        let rank = (rest.leading_zeros().min(q) + 1) as u8;
        let r = &mut regs[idx];
        if rank > *r {
            *r = rank;
        }
    }

    fn densify(&mut self) {
        if let Repr::Sparse(set) = &self.repr {
            let mut regs = vec![0u8; self.m()];
            for h in set {
                Self::set_register(&mut regs, self.precision, *h);
            }
            self.repr = Repr::Dense(regs);
        }
    }

    fn check_compatible(&self, other: &Hll) -> Result<()> {
        if self.item_type != 0 && other.item_type != 0 && self.item_type != other.item_type {
            return Err(SketchError::mismatch("cannot merge hll sketches of different item types")
                .with_hint("Merge sketches built over the same column type."));
        }
        Ok(())
    }

    /// Lowers the precision to `p` (at most the current one). The result is exactly the
    /// sketch one pass at precision `p` over the same items would have built: a sparse
    /// set keeps its hashes (turning dense if it passes the smaller sparse limit), and
    /// dense registers fold as the hashes would have (see [`fold_register`]).
    pub fn fold_to(&mut self, p: u8) {
        if p >= self.precision {
            return;
        }
        let d = self.precision - p;
        self.precision = p;
        match &self.repr {
            Repr::Sparse(set) => {
                if set.len() > self.sparse_limit() {
                    self.densify();
                }
            }
            Repr::Dense(old) => {
                let mut regs = vec![0u8; self.m()];
                fold_registers(&mut regs, old, d);
                self.repr = Repr::Dense(regs);
            }
        }
    }

    /// Merges `other` into `self`. Sketches of different precisions merge at the lower
    /// one, into exactly the sketch one pass at that precision would have built.
    pub fn merge(&mut self, other: &Hll) -> Result<()> {
        self.check_compatible(other)?;
        if self.item_type == 0 {
            self.item_type = other.item_type;
        }
        self.fold_to(other.precision);
        match &other.repr {
            Repr::Sparse(set) => {
                for h in set {
                    self.add_hash(*h);
                }
            }
            Repr::Dense(oregs) => {
                self.densify();
                let d = other.precision - self.precision;
                if let Repr::Dense(regs) = &mut self.repr {
                    if d == 0 {
                        for (a, b) in regs.iter_mut().zip(oregs) {
                            if *b > *a {
                                *a = *b;
                            }
                        }
                    } else {
                        fold_registers(regs, oregs, d);
                    }
                }
            }
        }
        Ok(())
    }

    /// Estimated number of distinct items (exact while sparse).
    pub fn count(&self) -> u64 {
        match &self.repr {
            Repr::Sparse(set) => set.len() as u64,
            Repr::Dense(regs) => ertl_estimate(regs, self.precision).round() as u64,
        }
    }

    /// Relative standard error of [`count`](Self::count): 0 while exact.
    pub fn stderr(&self) -> f64 {
        match self.repr {
            Repr::Sparse(_) => 0.0,
            Repr::Dense(_) => 1.04 / (self.m() as f64).sqrt(),
        }
    }

    /// Two-sided bounds at `confidence` (e.g. 0.95) from the normal approximation.
    pub fn count_bounds(&self, confidence: f64) -> Result<(u64, u64)> {
        if !(confidence > 0.0 && confidence < 1.0) {
            return Err(SketchError::invalid(format!("confidence {confidence} is out of range"))
                .with_hint("Use a confidence between 0 and 1, such as 0.95."));
        }
        let est = self.count() as f64;
        let z = normal_quantile(0.5 + confidence / 2.0);
        let d = z * self.stderr() * est;
        let lo = (est - d).max(0.0).floor() as u64;
        let hi = (est + d).ceil() as u64;
        Ok((lo, hi))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(MAGIC, VERSION);
        w.u8(self.precision);
        w.u32(self.item_type);
        match &self.repr {
            Repr::Sparse(set) => {
                w.u8(0);
                let mut v: Vec<u64> = set.iter().copied().collect();
                v.sort_unstable();
                w.varint(v.len() as u64);
                let mut prev = 0u64;
                for h in v {
                    w.varint(h - prev);
                    prev = h;
                }
            }
            Repr::Dense(regs) => {
                w.u8(1);
                let mut acc: u32 = 0;
                let mut bits = 0;
                for r in regs {
                    acc |= (*r as u32) << bits;
                    bits += 6;
                    while bits >= 8 {
                        w.u8(acc as u8);
                        acc >>= 8;
                        bits -= 8;
                    }
                }
                if bits > 0 {
                    w.u8(acc as u8);
                }
            }
        }
        w.finish()
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self> {
        let (mut r, version) = Reader::open(buf, MAGIC, "hll")?;
        if version != VERSION {
            return Err(r.err(&format!("unsupported format version {version}")).with_hint(
                "The sketch was written by a newer topk_pg; update the extension.",
            ));
        }
        let p = r.u8()?;
        if !(MIN_PRECISION..=MAX_PRECISION).contains(&p) {
            return Err(r.err(&format!("precision {p} out of range")));
        }
        let mut h = Hll::new(p)?;
        h.item_type = r.u32()?;
        match r.u8()? {
            0 => {
                let n = r.count(1)?;
                if n > h.sparse_limit() {
                    return Err(r.err("too many sparse entries"));
                }
                let mut set = HashSet64::with_capacity_and_hasher(n, Default::default());
                let mut prev = 0u64;
                for i in 0..n {
                    let d = r.varint()?;
                    if i > 0 && d == 0 {
                        return Err(r.err("sparse entries not strictly ascending"));
                    }
                    prev = prev.checked_add(d).ok_or_else(|| r.err("sparse entry overflows"))?;
                    set.insert(prev);
                }
                h.repr = Repr::Sparse(set);
            }
            1 => {
                let m = h.m();
                let packed = r.bytes((m * 6).div_ceil(8))?;
                let q = 64 - p;
                let mut regs = vec![0u8; m];
                let mut acc: u32 = 0;
                let mut bits = 0;
                let mut it = packed.iter();
                for reg in regs.iter_mut() {
                    while bits < 6 {
                        acc |= (*it.next().unwrap() as u32) << bits;
                        bits += 8;
                    }
                    let v = (acc & 0x3f) as u8;
                    acc >>= 6;
                    bits -= 6;
                    if v > q + 1 {
                        return Err(r.err("register value out of range"));
                    }
                    *reg = v;
                }
                h.repr = Repr::Dense(regs);
            }
            mode => return Err(r.err(&format!("unknown mode {mode}"))),
        }
        r.finish()?;
        Ok(h)
    }

    pub fn to_text(&self) -> String {
        to_text(TEXT_PREFIX, &self.to_bytes())
    }
    pub fn from_text(s: &str) -> Result<Self> {
        Self::from_bytes(&from_text(TEXT_PREFIX, s, "hll")?)
    }
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "hll",
            "version": VERSION,
            "precision": self.precision,
            "sparse": self.is_sparse(),
            "count": self.count(),
            "stderr": self.stderr(),
        })
    }
}

/// Register `idx` of value `r` (> 0) of a sketch of precision p, seen at precision
/// p - d: its index drops the low d bits, and its rank is that of the hash at p - d.
/// Those d bits are the first d bits after the new index: if any is set, the rank is
/// the position of the first set one (whatever the rest of the hash); if none is, the
/// rank is d plus the old rank (the caps agree: 64 - p + 1 + d = 64 - (p - d) + 1).
#[inline]
pub fn fold_register(idx: usize, r: u8, d: u8) -> (usize, u8) {
    let low = (idx & ((1usize << d) - 1)) as u64;
    let rank = if low == 0 { d + r } else { (low.leading_zeros() - (64 - d as u32) + 1) as u8 };
    (idx >> d, rank)
}

/// Folds the registers `from` of precision p into `into` of precision p - d, keeping the
/// maximum of each.
fn fold_registers(into: &mut [u8], from: &[u8], d: u8) {
    debug_assert_eq!(into.len() << d, from.len());
    for (idx, &r) in from.iter().enumerate() {
        if r == 0 {
            continue;
        }
        let (i, rank) = fold_register(idx, r, d);
        if rank > into[i] {
            into[i] = rank;
        }
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_old = z;
        z += x * y;
        y += y;
        if z_old == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_old = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z_old == z {
            return z / 3.0;
        }
    }
}

fn ertl_estimate(regs: &[u8], p: u8) -> f64 {
    let q = 64 - p as usize;
    let m = regs.len() as f64;
    let mut c = vec![0u32; q + 2];
    for r in regs {
        c[*r as usize] += 1;
    }
    let mut z = m * tau(1.0 - c[q + 1] as f64 / m);
    for k in (1..=q).rev() {
        z = 0.5 * (z + c[k] as f64);
    }
    z += m * sigma(c[0] as f64 / m);
    let alpha_inf = 1.0 / (2.0 * std::f64::consts::LN_2);
    alpha_inf * m * m / z
}

/// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9
/// relative), for confidence bounds.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
    const B: [f64; 5] = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
    const C: [f64; 6] = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
    const D: [f64; 4] = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
    let plow = 0.02425;
    if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

#[cfg(test)]
mod resize_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{hash_i64, remix};

    fn build(p: u8, n: u64, seed: u64) -> Hll {
        let mut h = Hll::new(p).unwrap();
        for i in 0..n {
            h.add_hash(remix(hash_i64(i as i64) ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        }
        h
    }

    #[test]
    fn exact_while_sparse() {
        let h = build(14, 1000, 0);
        assert!(h.is_sparse());
        assert_eq!(h.count(), 1000);
        assert_eq!(h.stderr(), 0.0);
    }

    #[test]
    fn rms_error_within_theory() {
        for p in [11u8, 14] {
            let n = 2_000_000u64;
            let mut sq = 0.0;
            let seeds = 16;
            for s in 0..seeds {
                let c = build(p, n, s + 1).count() as f64;
                let rel = (c - n as f64) / n as f64;
                sq += rel * rel;
            }
            let rms = (sq / seeds as f64).sqrt();
            let theory = 1.04 / ((1u64 << p) as f64).sqrt();
            assert!(rms <= 1.1 * theory, "p={p} rms={rms} theory={theory}");
        }
    }

    #[test]
    fn no_bump_across_range() {
        // Mean relative error over seeds stays small at every cardinality, including
        // around the sparse/dense switch and the old linear-counting region.
        let p = 12u8;
        for n in [300u64, 307, 308, 500, 1000, 2500, 5000, 10_000, 30_000, 100_000] {
            let mut sum = 0.0;
            for s in 0..16 {
                sum += (build(p, n, s + 100).count() as f64 - n as f64) / n as f64;
            }
            let bias = sum / 16.0;
            assert!(bias.abs() < 0.012, "n={n} bias={bias}");
        }
    }

    #[test]
    fn merge_equals_one_pass() {
        let mut merged = Hll::new(14).unwrap();
        let mut whole = Hll::new(14).unwrap();
        for day in 0..30u64 {
            let mut d = Hll::new(14).unwrap();
            for i in 0..20_000u64 {
                let h = remix(hash_i64(((day * 7919 + i * 13) % 300_000) as i64));
                d.add_hash(h);
                whole.add_hash(h);
            }
            merged.merge(&d).unwrap();
        }
        assert_eq!(merged.count(), whole.count());
        assert_eq!(merged, whole);
    }

    #[test]
    fn round_trip_sparse_and_dense() {
        for n in [0u64, 1, 10, 1536, 1537, 100_000] {
            let h = build(14, n, 3);
            let back = Hll::from_bytes(&h.to_bytes()).unwrap();
            assert_eq!(back.count(), h.count());
            assert_eq!(back.to_bytes(), h.to_bytes());
            let back = Hll::from_text(&h.to_text()).unwrap();
            assert_eq!(back.count(), h.count());
        }
    }

    #[test]
    fn decoder_rejects_garbage() {
        let h = build(10, 5000, 1).to_bytes();
        for cut in 0..h.len() {
            assert!(Hll::from_bytes(&h[..cut]).is_err());
        }
        assert!(Hll::from_bytes(&[b'H', 1, 30, 0, 0, 0, 0, 0]).is_err());
        assert!(Hll::from_bytes(&[b'H', 2]).is_err());
    }

    #[test]
    fn precision_limits() {
        assert!(Hll::new(3).is_err());
        assert!(Hll::new(19).is_err());
    }

    #[test]
    fn bounds_contain_estimate() {
        let h = build(12, 50_000, 9);
        let (lo, hi) = h.count_bounds(0.95).unwrap();
        assert!(lo <= h.count() && h.count() <= hi && lo < hi);
        assert!(h.count_bounds(1.5).is_err());
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-5);
    }

    proptest::proptest! {
        /// Merge is commutative and associative: the union of the same sets in any
        /// order and grouping gives the same sketch (sparse and dense alike).
        #[test]
        fn merge_commutative_associative(a in proptest::collection::vec(0u32..5000, 0..3000),
                                         b in proptest::collection::vec(0u32..5000, 0..3000),
                                         c in proptest::collection::vec(0u32..5000, 0..3000)) {
            let sketch = |v: &[u32]| {
                let mut h = Hll::new(10).unwrap();
                v.iter().for_each(|x| h.add_hash(hash_i64(*x as i64)));
                h
            };
            let (sa, sb, sc) = (sketch(&a), sketch(&b), sketch(&c));
            let mut ab = sa.clone();
            ab.merge(&sb).unwrap();
            let mut ba = sb.clone();
            ba.merge(&sa).unwrap();
            proptest::prop_assert_eq!(&ab, &ba);
            let mut ab_c = ab.clone();
            ab_c.merge(&sc).unwrap();
            let mut bc = sb.clone();
            bc.merge(&sc).unwrap();
            let mut a_bc = sa.clone();
            a_bc.merge(&bc).unwrap();
            proptest::prop_assert_eq!(&ab_c, &a_bc);
            let all: Vec<u32> = a.iter().chain(&b).chain(&c).copied().collect();
            proptest::prop_assert_eq!(&ab_c, &sketch(&all));
        }
    }
}
