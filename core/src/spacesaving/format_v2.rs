//! Stored form version 2 (written since topk_pg 0.4): the entries as one bit stream of
//! exponential-Golomb codes (`bits.rs`), integer items as gaps, byte items front-coded.
//! The layout is in the module documentation of `spacesaving`.

use super::bits::{BitReader, BitWriter, OrderCheck, Orders, MAX_K};
use super::format::{Cursor, Small};
use super::*;

/// Bits of a tag-2 error (error - 1 in 0..=t - 2).
#[inline]
fn error_width(t: u64) -> u32 {
    64 - t.saturating_sub(2).leading_zeros()
}

/// The code of a counter: (count - t) * 3 + tag, and the error of tag 2.
#[inline]
fn counter_code(c: &Counter, t: u64) -> (u128, Option<u64>) {
    let e = c.count - c.lower;
    let x = (c.count - t) as u128 * 3;
    if e == 0 {
        (x, None)
    } else if e == t {
        (x + 1, None)
    } else {
        (x + 2, Some(e - 1))
    }
}

#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl SpaceSaving {
    /// The version-2 bytes of counters `v` (sorted by item) under threshold `t`.
    pub(super) fn encode_v2(&self, v: &[Counter], t: u64) -> Vec<u8> {
        let mut w = Writer::with_header(MAGIC, VERSION);
        w.varint(self.capacity as u64);
        w.u32(self.item_type);
        w.u8(self.kind as u8);
        w.varint(self.total);
        w.varint(t);
        w.varint(v.len() as u64);
        if v.is_empty() {
            return w.finish();
        }
        let codes: Vec<(u128, Option<u64>)> = v.iter().map(|c| counter_code(c, t)).collect();
        let mut oc = Orders::new();
        for &(c, _) in &codes {
            oc.add(c);
        }
        let kc = oc.best();
        let ew = error_width(t);
        let mut bw = BitWriter::default();
        bw.buf.reserve(v.len() * 3);
        let put_code = |bw: &mut BitWriter, (c, e): (u128, Option<u64>)| {
            bw.eg(c, kc);
            if let Some(e) = e {
                bw.wide(e as u128, ew);
            }
        };
        match self.kind {
            ItemKind::Bytes => {
                let keys: Vec<&[u8]> = v.iter().map(|c| key_bytes(&self.arena, c.key)).collect();
                let prefix: Vec<usize> = (0..keys.len())
                    .map(|i| if i == 0 { 0 } else { common_prefix(keys[i - 1], keys[i]) })
                    .collect();
                let (mut op, mut ol) = (Orders::new(), Orders::new());
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        op.add(prefix[i] as u128);
                    }
                    ol.add((k.len() - prefix[i]) as u128);
                }
                let (kp, kl) = (op.best(), ol.best());
                w.u8(kp);
                w.u8(kl);
                w.u8(kc);
                let suffix_len: usize = keys.iter().zip(&prefix).map(|(k, &p)| k.len() - p).sum();
                w.varint(suffix_len as u64);
                w.buf.reserve(suffix_len);
                for (k, &p) in keys.iter().zip(&prefix) {
                    w.bytes(&k[p..]);
                }
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        bw.eg(prefix[i] as u128, kp);
                    }
                    bw.eg((k.len() - prefix[i]) as u128, kl);
                    put_code(&mut bw, codes[i]);
                }
            }
            _ => {
                let first = v[0].key as i64;
                let gaps: Vec<u64> = v
                    .windows(2)
                    .map(|p| ((p[1].key as i64).wrapping_sub(p[0].key as i64) as u64).wrapping_sub(1))
                    .collect();
                let mut og = Orders::new();
                for &g in &gaps {
                    og.add(g as u128);
                }
                let kg = og.best();
                w.varint(zigzag(first));
                w.u8(kg);
                w.u8(kc);
                for (i, code) in codes.iter().enumerate() {
                    if i > 0 {
                        bw.eg(gaps[i - 1] as u128, kg);
                    }
                    put_code(&mut bw, *code);
                }
            }
        }
        w.bytes(&bw.finish());
        w.finish()
    }
}

fn order(b: u8) -> Small<u8> {
    if b > MAX_K {
        Err("code order out of range")
    } else {
        Ok(b)
    }
}

/// Checks a decoded counter: `(count, lower)` from its code and tag-2 error.
#[inline(always)]
fn counter(r: &mut BitReader, kc: u8, ew: u32, t: u64, total: u64, oc: &mut OrderCheck) -> Small<(u64, u64)> {
    // (u64 division: u128's is a slow library call, and codes past 64 bits are rare)
    let (x, tag) = if let Some(c) = r.eg_short(kc) {
        oc.add64(c);
        (c / 3, c % 3)
    } else {
        let code = r.eg(kc)?;
        oc.add(code);
        match u64::try_from(code) {
            Ok(c) => (c / 3, c % 3),
            Err(_) => match u64::try_from(code / 3) {
                Ok(x) => (x, (code % 3) as u64),
                Err(_) => return Err("count larger than the total"),
            },
        }
    };
    let count = match t.checked_add(x) {
        Some(c) if c <= total => c,
        _ => return Err("count larger than the total"),
    };
    let e = match tag {
        0 => 0,
        1 if t > 0 => t,
        2 if t >= 2 => {
            let e = if ew <= 57 { r.bits(ew)? as u128 } else { r.wide(ew)? } + 1;
            if e >= t as u128 {
                return Err("error out of range");
            }
            e as u64
        }
        _ => return Err("invalid error tag"),
    };
    if e >= count {
        return Err("error not below the count");
    }
    Ok((count, count - e))
}

/// Decodes the `n >= 1` entries of a version-2 sketch (header read up to `n`; `rest` is
/// everything after it) into a frozen list, refusing any form but the one
/// [`SpaceSaving::encode_v2`] writes.
pub(super) fn read_entries_v2(
    s: &mut SpaceSaving,
    rest: &[u8],
    n: usize,
    t: u64,
    total: u64,
    mut frozen: Vec<Slot>,
) -> Small<Vec<Slot>> {
    frozen.clear();
    frozen.reserve(n);
    let mut lower_sum = 0u64;
    let ew = error_width(t);
    let mut push = |frozen: &mut Vec<Slot>, key: u64, (count, lower): (u64, u64)| -> Small<()> {
        lower_sum += lower; // both <= total <= i64::MAX: no overflow
        if lower_sum > total {
            return Err("counts larger than the total");
        }
        frozen.push(Slot { hash: 0, key, lower, count });
        Ok(())
    };
    let mut cur = Cursor::new(rest);
    match s.kind {
        ItemKind::Bytes => {
            let kp = order(*cur.take(1)?.first().unwrap())?;
            let kl = order(*cur.take(1)?.first().unwrap())?;
            let kc = order(*cur.take(1)?.first().unwrap())?;
            let mut oc = OrderCheck::new(kc);
            let suffix_len = cur.varint()?;
            let suffixes = cur.take(suffix_len)?;
            let mut r = BitReader::new(cur.rest());
            let (mut op, mut ol) = (OrderCheck::new(kp), OrderCheck::new(kl));
            s.arena.reserve(suffix_len as usize * 2);
            let (mut used, mut prev_key) = (0usize, 0u64);
            for i in 0..n {
                let p = if i == 0 {
                    0
                } else {
                    let p = r.eg(kp)?;
                    op.add(p);
                    p
                };
                let l = r.eg(kl)?;
                ol.add(l);
                if l > (suffixes.len() - used) as u128 {
                    return Err("suffixes longer than their bytes");
                }
                let suffix = &suffixes[used..used + l as usize];
                used += l as usize;
                let key = if i == 0 {
                    s.store_key(suffix)
                } else {
                    let prev = key_bytes(&s.arena, prev_key);
                    // The prefix is the longest shared one, and the item follows `prev`.
                    if p > prev.len() as u128 {
                        return Err("prefix longer than the previous item");
                    }
                    let p = p as usize;
                    match (prev.get(p), suffix.first()) {
                        (_, None) if p == prev.len() => return Err("items not strictly ascending"),
                        (Some(_), None) => return Err("items not strictly ascending"),
                        (Some(a), Some(b)) if b <= a => {
                            return Err(if b == a { "prefix not the longest shared one" } else { "items not strictly ascending" })
                        }
                        _ => {}
                    }
                    let off = s.arena.len();
                    s.arena.extend_from_within((prev_key >> 32) as usize..(prev_key >> 32) as usize + p);
                    s.arena.extend_from_slice(suffix);
                    ((off as u64) << 32) | (p + suffix.len()) as u64
                };
                prev_key = key;
                let c = counter(&mut r, kc, ew, t, total, &mut oc)?;
                push(&mut frozen, key, c)?;
            }
            if used != suffixes.len() {
                return Err("suffix bytes left over");
            }
            if !op.ok() || !ol.ok() || !oc.ok() {
                return Err("code order not the canonical one");
            }
            r.finish()?;
        }
        _ => {
            let prev = unzigzag(cur.varint()?);
            let kg = order(*cur.take(1)?.first().unwrap())?;
            let kc = order(*cur.take(1)?.first().unwrap())?;
            read_int_entries(&mut frozen, cur.rest(), n, prev, kg, kc, t, total)?;
        }
    }
    Ok(frozen)
}

/// The entries of integer items (after the first item and the orders): a loop of its
/// own, out of line, so that its state stays in registers.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn read_int_entries(
    frozen: &mut Vec<Slot>,
    bits: &[u8],
    n: usize,
    first: i64,
    kg: u8,
    kc: u8,
    t: u64,
    total: u64,
) -> Small<()> {
    let ew = error_width(t);
    let mut r = BitReader::new(bits);
    let (mut og, mut oc) = (OrderCheck::new(kg), OrderCheck::new(kc));
    let (mut prev, mut lower_sum) = (first, 0u64);
    for i in 0..n {
        if i > 0 {
            let d = match r.eg_short(kg) {
                Some(d) => d,
                None => r.eg64(kg).map_err(|_| "items not strictly ascending")?,
            };
            og.add64(d);
            prev = match prev.checked_add_unsigned(d).and_then(|k| k.checked_add(1)) {
                Some(k) => k,
                None => return Err("items not strictly ascending"),
            };
        }
        let (count, lower) = counter(&mut r, kc, ew, t, total, &mut oc)?;
        lower_sum += lower; // both <= total <= i64::MAX: no overflow
        if lower_sum > total {
            return Err("counts larger than the total");
        }
        frozen.push(Slot { hash: 0, key: prev as u64, lower, count });
    }
    if !og.ok() || !oc.ok() {
        return Err("code order not the canonical one");
    }
    r.finish()
}
