//! Merging two sketches (the mergeable-summaries merge; `resize.rs` for different
//! capacities).

use super::*;

impl SpaceSaving {
    pub(super) fn check_compatible(&self, other: &SpaceSaving) -> Result<()> {
        if self.kind != ItemKind::Unknown
            && other.kind != ItemKind::Unknown
            && self.kind != other.kind
        {
            return Err(SketchError::mismatch(format!(
                "cannot merge a topk sketch of {} items with one of {} items",
                self.kind.name(),
                other.kind.name()
            ))
            .with_hint("Merge sketches built over the same column type."));
        }
        if self.item_type != 0 && other.item_type != 0 && self.item_type != other.item_type {
            return Err(SketchError::mismatch(
                "cannot merge topk sketches of different item types",
            )
            .with_hint("Merge sketches built over the same column type."));
        }
        Ok(())
    }

    /// Merges `other` into `self`: the result summarises both streams with the
    /// guarantees of one sketch, at the smaller of the two capacities (see the
    /// `resize` module). Fails, leaving `self` unchanged, when
    /// [`check_merge`](Self::check_merge) does.
    pub fn merge(&mut self, other: &SpaceSaving) -> Result<()> {
        self.check_merge(other)?;
        let cap = self.capacity.min(other.capacity);
        if other.total == 0 {
            if self.item_type == 0 {
                self.item_type = other.item_type;
            }
            self.lower_capacity(cap);
            return Ok(());
        }
        let total = self.total + other.total;
        if self.total == 0 {
            let item_type = if self.item_type == 0 {
                other.item_type
            } else {
                self.item_type
            };
            *self = other.clone();
            self.item_type = item_type;
            self.lower_capacity(cap);
            return Ok(());
        }
        if self.item_type == 0 {
            self.item_type = other.item_type;
        }
        self.lower_capacity(cap);
        if self.slots.is_empty()
            && other.slots.is_empty()
            && self.frozen.len() <= 2 * self.capacity as usize
        {
            // Small decoded sketches (topk_merge(a, b)): a linear merge of sorted lists.
            self.merge_frozen(other);
            self.total = total;
            return Ok(());
        }
        self.ensure_table();
        let ta = self.threshold;
        let tb = other.threshold;
        // Every counter of self gains tb (count and error: its lower bound stays).
        self.offset = self.offset.wrapping_add(tb);
        self.threshold = ta + tb;
        let bytes = self.kind == ItemKind::Bytes;
        // Other's counters with their hashes, so the slots can be prefetched ahead.
        // A counter of other at its threshold (count == tb) is skipped: if self has
        // the item, the offset already added tb = its count (only its lower bound is
        // not added: a looser, still valid bound); if not, its merged count
        // (tb + ta) is the new threshold, so it needs no counter.
        let items: Vec<Counter> = if other.slots.is_empty() {
            // (sized up front: a filtered collect would grow it by doubling)
            let mut v = Vec::with_capacity(other.frozen.len());
            v.extend(other.frozen.iter().filter(|f| f.count != tb).map(|f| Counter {
                    key: f.key,
                    count: f.count,
                    lower: f.lower,
                    hash: match other.kind {
                        ItemKind::Bytes => hash_bytes(key_bytes(&other.arena, f.key)),
                        _ => hash_i64(f.key as i64),
                    },
                }));
            v
        } else {
            let mut v = other.counters();
            v.retain(|c| c.count != tb);
            v
        };
        const AHEAD: usize = 16;
        for (n, c) in items.iter().enumerate() {
            if let Some(f) = items.get(n + AHEAD) {
                prefetch(&self.slots, f.hash);
            }
            let (hash, kb): (u64, &[u8]) = (
                c.hash,
                if bytes {
                    key_bytes(&other.arena, c.key)
                } else {
                    &[]
                },
            );
            let mask = self.slots.len() - 1;
            let mut i = hash as usize & mask;
            let found = loop {
                let t = &mut self.slots[i];
                if t.lower == 0 {
                    break false;
                }
                if t.hash == hash
                    && (if bytes {
                        key_bytes(&self.arena, t.key) == kb
                    } else {
                        t.key == c.key
                    })
                {
                    t.count = t.count.wrapping_add(c.count - tb);
                    t.lower += c.lower;
                    break true;
                }
                i = (i + 1) & mask;
            };
            if found {
                continue;
            }
            // No eviction inside a merge (an item evicted here could come back from
            // `other` with a looser bound): the table grows past its working size
            // for the time of the merge.
            if self.live >= self.limit() {
                self.grow();
                i = self.find_empty(hash);
            }
            let key = if bytes { self.store_key(kb) } else { c.key };
            self.put(i, hash, key, c.lower, c.count + ta);
        }
        self.fit_table();
        self.total = total;
        Ok(())
    }

    /// Merges the stored sketch `bytes` into `self`: exactly
    /// `self.merge(&SpaceSaving::from_bytes(bytes)?)` (same result, same errors, `self`
    /// unchanged on an error), but the decoded counters go into a list `self` keeps for
    /// its next call (as a merge aggregate decodes one sketch after another), so no
    /// allocation is made, and freed, a sketch.
    pub fn merge_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let list = std::mem::take(&mut self.spare.0);
        let other = SpaceSaving::from_bytes_into(bytes, list)?;
        let r = self.merge(&other);
        self.spare.0 = other.frozen;
        r
    }

    /// Merge of two frozen (decoded) sketches: a linear merge of the sorted lists.
    pub(super) fn merge_frozen(&mut self, other: &SpaceSaving) {
        let (ta, tb) = (self.threshold, other.threshold);
        let a = std::mem::take(&mut self.frozen);
        let b = &other.frozen;
        let mut out = Vec::with_capacity(a.len() + b.len());
        let bytes = self.kind == ItemKind::Bytes;
        let mut arena = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let ord = if i == a.len() {
                Ordering::Greater
            } else if j == b.len() {
                Ordering::Less
            } else if bytes {
                key_bytes(&self.arena, a[i].key).cmp(key_bytes(&other.arena, b[j].key))
            } else {
                (a[i].key as i64).cmp(&(b[j].key as i64))
            };
            let (mut s, src): (Slot, &[u8]) = match ord {
                Ordering::Less => {
                    let x = a[i];
                    i += 1;
                    (
                        Slot {
                            hash: 0,
                            key: x.key,
                            lower: x.lower,
                            count: x.count + tb,
                        },
                        &self.arena,
                    )
                }
                Ordering::Greater => {
                    let y = b[j];
                    j += 1;
                    (
                        Slot {
                            hash: 0,
                            key: y.key,
                            lower: y.lower,
                            count: y.count + ta,
                        },
                        &other.arena,
                    )
                }
                Ordering::Equal => {
                    let (x, y) = (a[i], b[j]);
                    i += 1;
                    j += 1;
                    (
                        Slot {
                            hash: 0,
                            key: x.key,
                            lower: x.lower + y.lower,
                            count: x.count + y.count,
                        },
                        &self.arena,
                    )
                }
            };
            if s.count == ta + tb {
                // At its side's threshold (or both): the new threshold bounds it.
                continue;
            }
            if bytes {
                let kb = key_bytes(src, s.key);
                let off = arena.len() as u64;
                arena.extend_from_slice(kb);
                s.key = (off << 32) | kb.len() as u64;
            }
            out.push(s);
        }
        if bytes {
            self.arena = arena;
        }
        self.frozen = out;
        self.threshold = ta + tb;
    }
}
