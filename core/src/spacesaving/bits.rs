//! Bit streams of the stored form version 2: exponential-Golomb codes of order k, and
//! the choice of k (one per field and sketch, so that a sketch has one encoding).
//!
//! An order-k exponential-Golomb code of v: w = v + 2^k has m + 1 bits (m >= k); it is
//! written as m - k zero bits, a one bit, then the low m bits of w, least significant
//! first. That is 2m - k + 1 bits: k + 1 bits for v < 2^k, and about 2·log2(v) - k
//! above, so it suits both the geometric gaps between sorted items and the power-law
//! counts. Bits fill bytes from the least significant bit; the last byte is padded with
//! zero bits.

/// Largest order: k is stored in a byte and limited so that w fits a u128.
pub(super) const MAX_K: u8 = 64;

#[derive(Default)]
pub(super) struct BitWriter {
    pub(super) buf: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// Appends the low `n` bits of `v` (n <= 57).
    #[inline]
    pub(super) fn bits(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 57 && (n == 64 || v >> n == 0));
        self.acc |= v << self.n;
        self.n += n;
        while self.n >= 8 {
            self.buf.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// Appends the low `n` bits of `v` (n <= 128).
    pub(super) fn wide(&mut self, mut v: u128, mut n: u32) {
        while n > 0 {
            let take = n.min(56);
            self.bits((v & ((1u128 << take) - 1)) as u64, take);
            v >>= take;
            n -= take;
        }
    }
    /// Appends the order-`k` exponential-Golomb code of `v` (v < 2^65).
    #[inline]
    pub(super) fn eg(&mut self, v: u128, k: u8) {
        let w = v + (1u128 << k);
        let m = 127 - w.leading_zeros();
        let zeros = m - k as u32;
        if zeros + 1 + m <= 57 {
            // One call: zeros, the marker one, then the low m bits of w.
            let low = (w as u64) & ((1u64 << m) - 1);
            self.bits((1 | low << 1) << zeros, zeros + 1 + m);
        } else {
            self.wide(1u128 << zeros, zeros + 1);
            self.wide(w & ((1u128 << m) - 1), m);
        }
    }
    /// The bytes, the last one padded with zero bits.
    pub(super) fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.buf.push(self.acc as u8);
        }
        self.buf
    }
}

/// Bits of the order-`k` code of `v`.
#[cfg(test)]
#[inline]
pub(super) fn eg_bits(v: u128, k: u8) -> u64 {
    let m = 127 - (v + (1u128 << k)).leading_zeros();
    (2 * m + 1 - k as u32) as u64
}

/// Counts values by bit length, to choose an order: [`Orders::best`].
pub(super) struct Orders {
    hist: [u64; 67],
}

impl Orders {
    pub(super) fn new() -> Self {
        Orders { hist: [0; 67] }
    }
    #[inline]
    pub(super) fn add(&mut self, v: u128) {
        self.hist[(128 - v.leading_zeros()) as usize] += 1;
    }
    /// The order of least estimated size (the smallest on ties), estimating a value of
    /// bit length b at k + 1 bits when b <= k and 2b - k - 1 bits above (exact but for
    /// values whose bits from k up are all ones). A function of the values alone, so
    /// the decoder recomputes it and refuses any other order.
    pub(super) fn best(&self) -> u8 {
        // Orders above the largest bit length only cost more (k + 1 bits a value).
        let Some(hi) = self.hist.iter().rposition(|&h| h > 0) else {
            return 0;
        };
        let lo = self.hist.iter().position(|&h| h > 0).unwrap_or(0);
        let mut best = (u128::MAX, 0u8);
        for k in 0..=hi.min(MAX_K as usize) {
            let mut cost: u128 = 0;
            for b in lo..=hi {
                let per = if b <= k { k + 1 } else { 2 * b - k - 1 };
                cost += self.hist[b] as u128 * per as u128;
            }
            if cost < best.0 {
                best = (cost, k as u8);
            }
        }
        best.1
    }
}

/// Checks, value by value, that an order read from a sketch is the one [`Orders::best`]
/// chooses, without a histogram: the estimated size of a value of bit length b at order
/// k is b + |k - (b - 1)|, convex in k, so the best order is the lower median of
/// max(b - 1, 0) (capped at [`MAX_K`]), and k is it exactly when at least half the
/// values have b <= k + 1 (unless k = MAX_K) and fewer than half have b <= k (unless
/// k = 0).
pub(super) struct OrderCheck {
    k: u32,
    /// 2^k and 2^(k+1): a value has bit length <= k exactly when it is below 2^k.
    lim0: u128,
    lim1: u128,
    /// The same limits less one, for 64-bit values (u64::MAX when 2^k passes 64 bits).
    max0: u64,
    max1: u64,
    n: u64,
    /// Values of bit length <= k, and <= k + 1.
    c0: u64,
    c1: u64,
}

impl OrderCheck {
    pub(super) fn new(k: u8) -> Self {
        let (lim0, lim1) = (1u128 << k, 1u128 << (k + 1));
        let max = |l: u128| u64::try_from(l - 1).unwrap_or(u64::MAX);
        OrderCheck { k: k as u32, lim0, lim1, max0: max(lim0), max1: max(lim1), n: 0, c0: 0, c1: 0 }
    }
    #[inline(always)]
    pub(super) fn add64(&mut self, v: u64) {
        self.n += 1;
        self.c0 += (v <= self.max0) as u64;
        self.c1 += (v <= self.max1) as u64;
    }
    #[inline(always)]
    pub(super) fn add(&mut self, v: u128) {
        self.n += 1;
        self.c0 += (v < self.lim0) as u64;
        self.c1 += (v < self.lim1) as u64;
    }
    pub(super) fn ok(&self) -> bool {
        (self.k == MAX_K as u32 || 2 * self.c1 >= self.n) && (self.k == 0 || 2 * self.c0 < self.n)
    }
}

pub(super) type Small<T> = std::result::Result<T, &'static str>;

/// Reads a bit stream; never past its end.
pub(super) struct BitReader<'a> {
    buf: &'a [u8],
    /// Next bit to read.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        BitReader { buf, pos: 0 }
    }
    /// The 57 or more bits from `pos` (zeros past the end).
    #[inline(always)]
    fn peek(&self) -> u64 {
        let byte = self.pos >> 3;
        let w = match self.buf.get(byte..byte + 8) {
            Some(s) => u64::from_le_bytes(s.try_into().unwrap()),
            None => {
                let mut b = [0u8; 8];
                let rest = &self.buf[byte.min(self.buf.len())..];
                b[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(b)
            }
        };
        w >> (self.pos & 7)
    }
    #[inline(always)]
    fn advance(&mut self, n: u32) -> Small<()> {
        self.pos += n as usize;
        if self.pos > self.buf.len() * 8 {
            return Err("truncated data");
        }
        Ok(())
    }
    /// `n` bits (n <= 57).
    #[inline(always)]
    pub(super) fn bits(&mut self, n: u32) -> Small<u64> {
        if n == 0 {
            return Ok(0);
        }
        let v = self.peek() & (u64::MAX >> (64 - n));
        self.advance(n)?;
        Ok(v)
    }
    pub(super) fn wide(&mut self, mut n: u32) -> Small<u128> {
        let (mut v, mut at) = (0u128, 0);
        while n > 0 {
            let take = n.min(56);
            v |= (self.bits(take)? as u128) << at;
            at += take;
            n -= take;
        }
        Ok(v)
    }
    /// The common case of [`eg`](Self::eg): a code of at most 57 bits whose 8 bytes
    /// from the current one are all in the stream (so it cannot pass the end). `None`
    /// (nothing read) otherwise: then `eg` or `eg64` reads it, with their errors.
    #[inline(always)]
    pub(super) fn eg_short(&mut self, k: u8) -> Option<u64> {
        let byte = self.pos >> 3;
        let s = self.buf.get(byte..byte + 8)?;
        let p = u64::from_le_bytes(s.try_into().unwrap()) >> (self.pos & 7);
        let zeros = p.trailing_zeros();
        let m = zeros + k as u32;
        if zeros + 1 + m > 57 {
            return None;
        }
        let low = (p >> (zeros + 1)) & ((1u64 << m) - 1);
        // pos & 7 + 57 <= 64: within the 8 bytes read.
        self.pos += (zeros + 1 + m) as usize;
        Some(((1u64 << m) | low) - (1u64 << k))
    }
    /// [`eg`](Self::eg) of a value that must fit 64 bits.
    #[inline(always)]
    pub(super) fn eg64(&mut self, k: u8) -> Small<u64> {
        let p = self.peek();
        let zeros = p.trailing_zeros();
        let m = zeros + k as u32;
        if zeros + 1 + m <= 57 {
            let low = (p >> (zeros + 1)) & ((1u64 << m) - 1);
            self.advance(zeros + 1 + m)?;
            return Ok(((1u64 << m) | low) - (1u64 << k));
        }
        u64::try_from(self.eg(k)?).map_err(|_| "value past 64 bits")
    }
    /// An order-`k` exponential-Golomb code (of at most 65 + 1 + 65 bits).
    #[inline(always)]
    pub(super) fn eg(&mut self, k: u8) -> Small<u128> {
        let p = self.peek();
        let zeros = p.trailing_zeros();
        let m = zeros + k as u32;
        if zeros + 1 + m <= 57 {
            let total = zeros + 1 + m;
            let low = (p >> (zeros + 1)) & ((1u64 << m) - 1);
            self.advance(total)?;
            return Ok((((1u64 << m) | low) - (1u64 << k)) as u128);
        }
        // Long codes: count the zeros bit by bit.
        let mut zeros = 0u32;
        while self.bits(1)? == 0 {
            zeros += 1;
            if zeros + k as u32 > 65 {
                return Err("code too long");
            }
        }
        let m = zeros + k as u32;
        let low = self.wide(m)?;
        Ok(((1u128 << m) | low) - (1u128 << k))
    }
    /// Checks that only zero padding bits are left, within the last byte.
    pub(super) fn finish(&self) -> Small<()> {
        let end = self.pos.div_ceil(8);
        if end != self.buf.len() {
            return Err("trailing bytes");
        }
        if self.pos & 7 != 0 && self.buf[end - 1] >> (self.pos & 7) != 0 {
            return Err("non-zero padding bits");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eg_round_trip_and_sizes() {
        let vals: Vec<u128> = [0u128, 1, 2, 3, 7, 8, 255, 256, 1 << 40, u64::MAX as u128, (1u128 << 65) - 1]
            .into_iter()
            .collect();
        for k in [0u8, 1, 3, 7, 20, 56, 64] {
            let mut w = BitWriter::default();
            let mut bits = 0;
            for &v in &vals {
                w.eg(v, k);
                bits += eg_bits(v, k);
            }
            let buf = w.finish();
            assert_eq!(buf.len() as u64, bits.div_ceil(8), "k {k}");
            let mut r = BitReader::new(&buf);
            for &v in &vals {
                assert_eq!(r.eg(k).unwrap(), v, "k {k}");
            }
            r.finish().unwrap();
        }
        // Order 0: 0 is "1", 1 is "010".
        let mut w = BitWriter::default();
        w.eg(0, 0);
        w.eg(1, 0);
        assert_eq!(w.finish(), vec![0b0101]);
    }

    #[test]
    fn reader_refuses_bad_streams() {
        // Truncated, trailing byte, non-zero padding, too many zeros.
        let mut w = BitWriter::default();
        w.eg(1000, 2);
        let buf = w.finish();
        for cut in 0..buf.len() {
            assert!(BitReader::new(&buf[..cut]).eg(2).is_err());
        }
        let mut t = buf.clone();
        t.push(0);
        let mut r = BitReader::new(&t);
        r.eg(2).unwrap();
        assert!(r.finish().is_err());
        let mut p = BitReader::new(&[0b1111_1001]);
        assert_eq!(p.eg(0).unwrap(), 0);
        assert!(p.finish().is_err());
        assert!(BitReader::new(&[0u8; 20]).eg(0).is_err());
    }

    proptest::proptest! {
        /// The order check accepts exactly the order `Orders::best` chooses.
        #[test]
        fn order_check_accepts_only_the_best(vals in proptest::collection::vec((0u32..70, proptest::prelude::any::<u64>()), 0..40)) {
            let vals: Vec<u128> = vals.iter().map(|&(b, r)| if b == 0 { 0 } else { (1u128 << (b - 1).min(64)) | (r as u128 & ((1u128 << (b - 1).min(64)) - 1)) }).collect();
            let mut o = Orders::new();
            for &v in &vals {
                o.add(v);
            }
            let best = o.best();
            for k in 0..=MAX_K {
                let mut c = OrderCheck::new(k);
                for &v in &vals {
                    c.add(v);
                }
                proptest::prop_assert_eq!(c.ok(), k == best, "k {} best {}", k, best);
            }
        }
    }

    #[test]
    fn best_order_follows_the_values() {
        let mut o = Orders::new();
        assert_eq!(o.best(), 0);
        for v in 0..1000u128 {
            o.add(v * 37 % 1024);
        }
        assert!((7..=9).contains(&o.best()), "{}", o.best());
        let mut z = Orders::new();
        for _ in 0..10 {
            z.add(0);
        }
        assert_eq!(z.best(), 0);
    }
}
