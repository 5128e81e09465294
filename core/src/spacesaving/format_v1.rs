//! Stored form version 1 (topk_pg 0.3 and earlier): still read; written only for tests
//! and fuzz seeds. The layout is in the module documentation of `spacesaving`.

use super::format::{Cursor, Small};
use super::*;

impl SpaceSaving {
    /// The version-1 form (topk_pg 0.3 and earlier; kept for tests and fuzz seeds).
    #[doc(hidden)]
    pub fn to_bytes_v1(&self) -> Vec<u8> {
        let (v, t) = self.cut_to_capacity();
        let mut w = Writer::with_header(MAGIC, 1);
        w.varint(self.capacity as u64);
        w.u32(self.item_type);
        w.u8(self.kind as u8);
        w.varint(self.total);
        w.varint(t);
        w.varint(v.len() as u64);
        w.buf.reserve(v.len() * 4);
        let mut prev = 0i64;
        for (i, c) in v.iter().enumerate() {
            match self.kind {
                ItemKind::Bytes => w.blob(key_bytes(&self.arena, c.key)),
                _ => {
                    let k = c.key as i64;
                    if i == 0 {
                        w.varint(zigzag(k));
                    } else {
                        w.varint((k.wrapping_sub(prev) as u64).wrapping_sub(1));
                    }
                    prev = k;
                }
            }
            let e = c.count - c.lower;
            let x = (c.count - t) as u128 * 3;
            let (tag, extra) = if e == 0 {
                (0, None)
            } else if e == t {
                (1, None)
            } else {
                (2, Some(e - 1))
            };
            // (count - t) * 3 + tag < 2^65: a LEB128 of at most 10 bytes.
            let mut v = x + tag;
            while v >= 0x80 {
                w.u8((v as u8) | 0x80);
                v >>= 7;
            }
            w.u8(v as u8);
            if let Some(e1) = extra {
                w.varint(e1);
            }
        }
        w.finish()
    }
}

/// Reads one counter's code (and error) and checks it: `(count, lower)`.
#[inline(always)]
pub(super) fn read_counter(cur: &mut Cursor, t: u64, total: u64) -> Small<(u64, u64)> {
    let (code, hi) = cur.varint65()?;
    let (x, tag) = if hi {
        let c = code as u128 | 1 << 64;
        ((c / 3) as u64, (c % 3) as u8)
    } else {
        (code / 3, (code % 3) as u8)
    };
    let count = match t.checked_add(x) {
        Some(c) if c <= total => c,
        _ => return Err("count larger than the total"),
    };
    let e = match tag {
        0 => 0,
        1 if t > 0 => t,
        2 => {
            let e = cur.varint()?.wrapping_add(1);
            if e == 0 || e >= t {
                return Err("error out of range");
            }
            e
        }
        _ => return Err("invalid error tag"),
    };
    if e >= count {
        return Err("error not below the count");
    }
    Ok((count, count - e))
}

/// Decodes `n` entries (header already read) into a frozen list.
pub(super) fn read_entries(
    s: &mut SpaceSaving,
    cur: &mut Cursor,
    n: usize,
    t: u64,
    total: u64,
) -> Small<Vec<Slot>> {
    let mut frozen = Vec::with_capacity(n);
    let mut lower_sum = 0u64;
    match s.kind {
        ItemKind::Bytes => {
            let mut prev: &[u8] = &[];
            for i in 0..n {
                let len = cur.varint()?;
                let b = cur.take(len)?;
                if i > 0 && b <= prev {
                    return Err("items not strictly ascending");
                }
                prev = b;
                let key = s.store_key(b);
                let (count, lower) = read_counter(cur, t, total)?;
                lower_sum += lower; // both <= total <= i64::MAX: no overflow
                if lower_sum > total {
                    return Err("counts larger than the total");
                }
                frozen.push(Slot {
                    hash: 0,
                    key,
                    lower,
                    count,
                });
            }
        }
        _ => {
            let mut prev = 0i64;
            for i in 0..n {
                let d = cur.varint()?;
                let k = if i == 0 {
                    unzigzag(d)
                } else {
                    match prev.checked_add_unsigned(d).and_then(|k| k.checked_add(1)) {
                        Some(k) => k,
                        None => return Err("items not strictly ascending"),
                    }
                };
                prev = k;
                let (count, lower) = read_counter(cur, t, total)?;
                lower_sum += lower;
                if lower_sum > total {
                    return Err("counts larger than the total");
                }
                frozen.push(Slot {
                    hash: 0,
                    key: k as u64,
                    lower,
                    count,
                });
            }
        }
    }
    if !cur.rest().is_empty() {
        return Err("trailing bytes");
    }
    Ok(frozen)
}
