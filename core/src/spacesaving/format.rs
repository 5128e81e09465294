//! The stored form: the cut to `capacity`, encoding, decoding and validating (the format
//! is in the module documentation of `spacesaving`), text and JSON.

use super::format_v1::read_entries;
use super::format_v2::read_entries_v2;
use super::*;

impl SpaceSaving {
    /// The counters a stored sketch keeps, sorted by item, and the threshold raised by
    /// the largest dropped count: at most `capacity` counters, and for byte items the
    /// largest ones whose stored form fits [`stored_bytes_budget`].
    pub(super) fn cut(&self) -> (Vec<Counter>, u64) {
        let (v, t, _) = self.cut_encoded(false);
        (v, t)
    }

    /// [`cut`](Self::cut), and its stored form when `encode` is set or the byte budget
    /// needed it.
    pub(super) fn cut_encoded(&self, encode: bool) -> (Vec<Counter>, u64, Option<Vec<u8>>) {
        let (mut v, mut threshold) = self.cut_to_capacity();
        let (kind, arena) = (self.kind, &self.arena);
        if kind != ItemKind::Bytes {
            let bytes = encode.then(|| self.encode_v2(&v, threshold));
            return (v, threshold, bytes);
        }
        let budget = stored_bytes_budget(self.capacity);
        let rank = |a: &Counter, b: &Counter| {
            b.count
                .cmp(&a.count)
                .then(b.lower.cmp(&a.lower))
                .then_with(|| cmp_keys(kind, arena, a.key, b.key))
        };
        let bytes = self.encode_v2(&v, threshold);
        if bytes.len() <= budget {
            return (v, threshold, Some(bytes));
        }
        // Keep the largest counters that fit: drop from the smallest, in proportion to
        // the excess, until the stored form fits (a few rounds).
        v.sort_unstable_by(rank);
        let mut keep = v.len();
        let mut len = bytes.len();
        loop {
            keep = (keep as u128 * budget as u128 / len as u128).min(keep as u128 - 1) as usize;
            let t = threshold.max(v[keep..].iter().map(|c| c.count).max().unwrap_or(0));
            let mut kept = v[..keep].to_vec();
            kept.sort_unstable_by(|a, b| cmp_keys(kind, arena, a.key, b.key));
            let bytes = self.encode_v2(&kept, t);
            if bytes.len() <= budget || keep == 0 {
                threshold = t;
                return (kept, threshold, Some(bytes));
            }
            len = bytes.len();
        }
    }

    /// The `capacity` largest counters, sorted by item, and the threshold raised by the
    /// largest dropped count.
    pub(super) fn cut_to_capacity(&self) -> (Vec<Counter>, u64) {
        let mut v = self.counters();
        let mut threshold = self.threshold;
        let (kind, arena) = (self.kind, &self.arena);
        let rank = |a: &Counter, b: &Counter| {
            b.count
                .cmp(&a.count)
                .then(b.lower.cmp(&a.lower))
                .then_with(|| cmp_keys(kind, arena, a.key, b.key))
        };
        let cap = self.capacity as usize;
        if v.len() > cap {
            v.select_nth_unstable_by(cap, rank);
            threshold = threshold.max(v[cap..].iter().map(|c| c.count).max().unwrap_or(0));
            v.truncate(cap);
        }
        v.sort_unstable_by(|a, b| cmp_keys(kind, arena, a.key, b.key));
        (v, threshold)
    }

    /// Cuts the sketch to what its stored form keeps (`capacity` counters, and for byte
    /// items those that fit [`stored_bytes_budget`]), raising the threshold by the
    /// largest dropped count. Frees the working table.
    pub fn compact(&mut self) {
        let (v, threshold) = self.cut();
        let mut arena = Vec::new();
        let frozen = v
            .iter()
            .map(|c| {
                let mut key = c.key;
                if self.kind == ItemKind::Bytes {
                    let kb = key_bytes(&self.arena, c.key);
                    key = ((arena.len() as u64) << 32) | kb.len() as u64;
                    arena.extend_from_slice(kb);
                }
                Slot {
                    hash: 0,
                    key,
                    lower: c.lower,
                    count: c.count,
                }
            })
            .collect();
        self.frozen = frozen;
        self.arena = arena;
        self.slots = Vec::new();
        self.live = 0;
        self.offset = 0;
        self.threshold = threshold;
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self.cut_encoded(true) {
            (_, _, Some(b)) => b,
            (v, t, None) => self.encode_v2(&v, t),
        }
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self> {
        Self::from_bytes_into(buf, Vec::new())
    }

    /// [`from_bytes`](Self::from_bytes), the counters of a version-2 sketch decoded into
    /// `list` (cleared first): a caller decoding one sketch after another reuses one
    /// allocation.
    pub(super) fn from_bytes_into(buf: &[u8], list: Vec<Slot>) -> Result<Self> {
        let (mut r, version) = Reader::open(buf, MAGIC, "topk sketch")?;
        if version != 1 && version != VERSION {
            return Err(r
                .err(&format!("unsupported format version {version}"))
                .with_hint("The sketch was written by a newer topk_pg; update the extension."));
        }
        let cap = r.varint()?;
        if cap == 0 || cap > MAX_CAPACITY as u64 {
            return Err(r.err(&format!("capacity {cap} out of range")));
        }
        let mut s = SpaceSaving::new(cap as u32)?;
        s.item_type = r.u32()?;
        s.kind = match r.u8()? {
            0 => ItemKind::Unknown,
            1 => ItemKind::Int,
            2 => ItemKind::Bytes,
            k => return Err(r.err(&format!("unknown item kind {k}"))),
        };
        let total = r.varint()?;
        let t = r.varint()?;
        if total > I64_MAX {
            return Err(r.err("total out of range"));
        }
        if t > total {
            return Err(r.err("threshold larger than the total"));
        }
        // An entry takes at least 2 bytes in version 1 and 2 bits in version 2.
        let n = r.varint()?;
        let room = if version == 1 { r.remaining() as u64 / 2 } else { r.remaining() as u64 * 4 };
        if n > room {
            return Err(r.err("element count larger than the data"));
        }
        let n = n as usize;
        if n > cap as usize {
            return Err(r.err("more counters than the capacity"));
        }
        // No item kind exactly when nothing was counted; a sketch that counted
        // something but keeps no counter has a threshold bounding every item.
        if (s.kind == ItemKind::Unknown) != (total == 0)
            || (total == 0 && n > 0)
            || (n == 0 && total > 0 && t == 0)
        {
            return Err(r.err("item kind, counters and total disagree"));
        }
        let rest = r.bytes(r.remaining())?;
        let frozen = if version == 1 {
            read_entries(&mut s, &mut Cursor::new(rest), n, t, total)
        } else if n == 0 {
            if rest.is_empty() { Ok(Vec::new()) } else { Err("trailing bytes") }
        } else if s.kind == ItemKind::Bytes && buf.len() > stored_bytes_budget(s.capacity) {
            // It would be stored cut: not the form the encoder writes.
            Err("larger than the stored size budget")
        } else {
            read_entries_v2(&mut s, rest, n, t, total, list)
        }
        .map_err(corrupt)?;
        r.finish()?;
        s.total = total;
        s.threshold = t;
        s.frozen = frozen;
        Ok(s)
    }

    pub fn to_text(&self) -> String {
        to_text(TEXT_PREFIX, &self.to_bytes())
    }
    pub fn from_text(s: &str) -> Result<Self> {
        Self::from_bytes(&from_text(TEXT_PREFIX, s, "topk")?)
    }

    /// Summary for people: parameters and the top [`JSON_MAX_ITEMS`] counters of the
    /// stored form, items as [`item_json`] shows them.
    pub fn to_json(&self) -> serde_json::Value {
        self.to_json_with(&item_json)
    }

    /// [`SpaceSaving::to_json`] with items shown by `render`.
    pub fn to_json_with(&self, render: &dyn Fn(&Item) -> serde_json::Value) -> serde_json::Value {
        let (v, t) = self.cut();
        let mut stored = self.clone_header();
        stored.threshold = t;
        stored.frozen = v
            .iter()
            .map(|c| Slot {
                hash: 0,
                key: c.key,
                lower: c.lower,
                count: c.count,
            })
            .collect();
        stored.arena = self.arena.clone();
        let items: Vec<serde_json::Value> = stored
            .top(JSON_MAX_ITEMS)
            .into_iter()
            .map(|e| {
                let item = render(&e.item);
                serde_json::json!({"item": item, "count": e.count, "error": e.error, "guaranteed": e.guaranteed})
            })
            .collect();
        serde_json::json!({
            "type": "spacesaving",
            "version": VERSION,
            "capacity": self.capacity,
            "total": self.total,
            "threshold": t,
            "item_kind": match self.kind {
                ItemKind::Unknown => serde_json::Value::Null,
                k => serde_json::Value::from(if k == ItemKind::Int { "int" } else { "bytes" }),
            },
            "item_type": self.item_type,
            "counters": v.len(),
            "items": items,
        })
    }

    pub(super) fn clone_header(&self) -> SpaceSaving {
        SpaceSaving {
            capacity: self.capacity,
            item_type: self.item_type,
            kind: self.kind,
            total: self.total,
            threshold: self.threshold,
            offset: 0,
            slots: Vec::new(),
            live: 0,
            frozen: Vec::new(),
            spare: Spare::default(),
            arena: Vec::new(),
        }
    }
}

/// Bounds-checked reader of the entry block (a leaner varint than `codec::Reader`'s,
/// with a small error type: decoding is on the path of every merge).
pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

pub(super) type Small<T> = std::result::Result<T, &'static str>;

impl<'a> Cursor<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }
    /// The bytes not read yet.
    pub(super) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
    /// A LEB128 value of up to 64 bits, in its shortest form (see `codec`).
    #[inline(always)]
    pub(super) fn varint(&mut self) -> Small<u64> {
        match self.varint65()? {
            (v, false) => Ok(v),
            _ => Err("varint overflows 64 bits"),
        }
    }
    /// A LEB128 value of up to 65 bits (10 bytes), as its low 64 bits and bit 64.
    #[inline(always)]
    pub(super) fn varint65(&mut self) -> Small<(u64, bool)> {
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok((b as u64, false));
            }
            if let Some(&b1) = self.buf.get(self.pos + 1) {
                // (a last byte of 0 is a longer form than needed: the slow path refuses it)
                if b1 < 0x80 && b1 != 0 {
                    self.pos += 2;
                    return Ok(((b & 0x7f) as u64 | (b1 as u64) << 7, false));
                }
            }
        }
        self.varint65_slow()
    }
    #[inline(never)]
    pub(super) fn varint65_slow(&mut self) -> Small<(u64, bool)> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = *self.buf.get(self.pos).ok_or("truncated data")?;
            self.pos += 1;
            if i == 9 {
                if b > 3 {
                    return Err("varint too long");
                }
                if b == 0 {
                    return Err("varint not in its shortest form");
                }
                return Ok((v | ((b as u64) << 63), b > 1));
            }
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b < 0x80 {
                if b == 0 && i > 0 {
                    return Err("varint not in its shortest form");
                }
                return Ok((v, false));
            }
        }
        unreachable!()
    }
    pub(super) fn take(&mut self, n: u64) -> Small<&'a [u8]> {
        if n > (self.buf.len() - self.pos) as u64 {
            return Err("length prefix points past the end");
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }
}
