//! Reading a sketch: estimates of one item and the top counters.

use super::*;

impl SpaceSaving {
    /// All counters, with absolute counts.
    pub(super) fn counters(&self) -> Vec<Counter> {
        if self.slots.is_empty() {
            self.frozen
                .iter()
                .map(|s| Counter {
                    key: s.key,
                    count: s.count,
                    lower: s.lower,
                    hash: 0,
                })
                .collect()
        } else {
            let off = self.offset;
            let mut v = Vec::with_capacity(self.live);
            v.extend(self.slots.iter().filter(|s| s.lower != 0).map(|s| Counter {
                key: s.key,
                count: s.count.wrapping_add(off),
                lower: s.lower,
                hash: s.hash,
            }));
            v
        }
    }

    pub(super) fn find_counter(
        &self,
        hash: u64,
        eq: impl Fn(u64) -> bool,
        cmp: impl Fn(u64) -> Ordering,
    ) -> Option<(u64, u64)> {
        if self.slots.is_empty() {
            let i = self.frozen.binary_search_by(|s| cmp(s.key)).ok()?;
            let s = &self.frozen[i];
            return Some((s.count, s.count - s.lower));
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let s = &self.slots[i];
            if s.lower == 0 {
                return None;
            }
            if s.hash == hash && eq(s.key) {
                let c = s.count.wrapping_add(self.offset);
                return Some((c, c - s.lower));
            }
            i = (i + 1) & mask;
        }
    }

    /// `(count, error)` of an integer item: its true count is in
    /// `[count - error, count]`. An item that is not monitored gives
    /// `(threshold, threshold)`.
    pub fn estimate_int(&self, v: i64, hash: u64) -> (u64, u64) {
        if self.kind != ItemKind::Int {
            return (self.threshold, self.threshold);
        }
        self.find_counter(hash, |k| k == v as u64, |k| (k as i64).cmp(&v))
            .unwrap_or((self.threshold, self.threshold))
    }

    /// `(count, error)` of a byte-string item, as [`estimate_int`](Self::estimate_int).
    pub fn estimate_bytes(&self, v: &[u8], hash: u64) -> (u64, u64) {
        if self.kind != ItemKind::Bytes {
            return (self.threshold, self.threshold);
        }
        let arena = &self.arena;
        self.find_counter(
            hash,
            |k| key_bytes(arena, k) == v,
            |k| key_bytes(arena, k).cmp(v),
        )
        .unwrap_or((self.threshold, self.threshold))
    }

    pub(super) fn item(&self, key: u64) -> Item {
        match self.kind {
            ItemKind::Bytes => Item::Bytes(key_bytes(&self.arena, key).to_vec()),
            _ => Item::Int(key as i64),
        }
    }

    /// The `n` items of largest count, by count descending then item ascending.
    /// `guaranteed` is set when the item is certainly in the true top n: its lower
    /// bound is at least the upper bound of every item not listed (the (n+1)-th
    /// counter's count, and the threshold), so no unlisted item has a larger true
    /// count (items tied with it at the boundary count as in the top n).
    pub fn top(&self, n: usize) -> Vec<Entry> {
        let mut v = if n < self.len() / 4 {
            // Find the (n+1)-th largest count on counts alone, then gather the few
            // counters at or above it.
            let mut counts: Vec<u64> = if self.slots.is_empty() {
                self.frozen.iter().map(|s| s.count).collect()
            } else {
                let off = self.offset;
                self.slots
                    .iter()
                    .filter(|s| s.lower != 0)
                    .map(|s| s.count.wrapping_add(off))
                    .collect()
            };
            let len = counts.len();
            let (_, &mut cut, _) = counts.select_nth_unstable(len - n - 1);
            drop(counts);
            let off = self.offset;
            if self.slots.is_empty() {
                self.frozen
                    .iter()
                    .filter(|s| s.count >= cut)
                    .map(|s| Counter {
                        key: s.key,
                        count: s.count,
                        lower: s.lower,
                        hash: 0,
                    })
                    .collect()
            } else {
                self.slots
                    .iter()
                    .filter(|s| s.lower != 0 && s.count.wrapping_add(off) >= cut)
                    .map(|s| Counter {
                        key: s.key,
                        count: s.count.wrapping_add(off),
                        lower: s.lower,
                        hash: s.hash,
                    })
                    .collect()
            }
        } else {
            self.counters()
        };
        let (kind, arena) = (self.kind, &self.arena);
        let order = |a: &Counter, b: &Counter| {
            b.count
                .cmp(&a.count)
                .then_with(|| cmp_keys(kind, arena, a.key, b.key))
        };
        let mut bound = self.threshold;
        if v.len() > n {
            if n == 0 {
                return Vec::new();
            }
            v.select_nth_unstable_by(n, order);
            bound = bound.max(v[n].count);
            v.truncate(n);
        }
        v.sort_unstable_by(order);
        v.iter()
            .map(|c| Entry {
                item: self.item(c.key),
                count: c.count,
                error: c.count - c.lower,
                guaranteed: c.lower >= bound,
            })
            .collect()
    }
}
