//! The working table: a flat open-addressing table of slots, grown lazily and evicted in
//! batches (the module documentation of `spacesaving` says how and why).

use super::*;

impl SpaceSaving {
    /// An empty sketch keeping `capacity` counters when stored. Allocates nothing.
    pub fn new(capacity: u32) -> Result<Self> {
        let capacity = check_capacity(capacity as i64)?;
        Ok(SpaceSaving {
            capacity,
            item_type: 0,
            kind: ItemKind::Unknown,
            total: 0,
            threshold: 0,
            offset: 0,
            slots: Vec::new(),
            live: 0,
            frozen: Vec::new(),
            spare: Spare::default(),
            arena: Vec::new(),
        })
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }
    /// Sum of all weights added.
    pub fn total(&self) -> u64 {
        self.total
    }
    /// Upper bound of the true count of every item that is not monitored.
    pub fn threshold(&self) -> u64 {
        self.threshold
    }
    pub fn kind(&self) -> ItemKind {
        self.kind
    }
    /// Number of monitored items (may pass `capacity` before the sketch is stored).
    pub fn len(&self) -> usize {
        if self.slots.is_empty() {
            self.frozen.len()
        } else {
            self.live
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes this sketch holds on the heap (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        (self.slots.capacity() + self.frozen.capacity() + self.spare.0.capacity()) * SLOT_BYTES
            + self.arena.capacity()
    }

    // ----- table -----

    /// Live counters at which the table grows or evicts.
    #[inline]
    pub(super) fn limit(&self) -> usize {
        self.slots.len() / 4 * 3
    }

    pub(super) fn set_kind(&mut self, kind: ItemKind) -> Result<()> {
        if self.kind == ItemKind::Unknown {
            self.kind = kind;
            Ok(())
        } else {
            Err(kind_error(self.kind, kind))
        }
    }

    /// Makes `slots` the live representation (turning a frozen list into a table).
    #[cold]
    pub(super) fn ensure_table(&mut self) {
        if !self.slots.is_empty() {
            return;
        }
        let frozen = std::mem::take(&mut self.frozen);
        let mut n = MIN_SLOTS;
        let cap = max_slots(self.capacity);
        while n < cap && frozen.len() >= n / 2 {
            n *= 2;
        }
        self.slots = vec![Slot::default(); n];
        self.offset = 0;
        self.live = 0;
        let w = self.limit();
        let mut frozen = frozen;
        if frozen.len() >= w {
            // Only when a frozen list longer than a working table is updated.
            let keep = (w / 2).max(self.capacity as usize).min(w - 1);
            let (kind, arena) = (self.kind, &self.arena);
            frozen.sort_unstable_by(|a, b| {
                b.count
                    .cmp(&a.count)
                    .then(b.lower.cmp(&a.lower))
                    .then_with(|| cmp_keys(kind, arena, a.key, b.key))
            });
            if let Some(c) = frozen[keep..].iter().map(|s| s.count).max() {
                self.threshold = self.threshold.max(c);
            }
            frozen.truncate(keep);
        }
        let mask = n - 1;
        for s in frozen {
            let hash = match self.kind {
                ItemKind::Bytes => hash_bytes(key_bytes(&self.arena, s.key)),
                _ => hash_i64(s.key as i64),
            };
            let mut i = hash as usize & mask;
            while self.slots[i].lower != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = Slot {
                hash,
                key: s.key,
                lower: s.lower,
                count: s.count,
            };
            self.live += 1;
        }
        if self.kind == ItemKind::Bytes {
            self.compact_arena();
        }
    }

    /// Doubles the table.
    pub(super) fn grow(&mut self) {
        self.resize(self.slots.len() * 2);
    }

    /// Rehashes into `n` slots (a power of two with room for every counter).
    pub(super) fn resize(&mut self, n: usize) {
        debug_assert!(n.is_power_of_two() && self.live < n);
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); n]);
        let mask = n - 1;
        let off = self.offset;
        for mut s in old.into_iter().filter(|s| s.lower != 0) {
            s.count = s.count.wrapping_add(off);
            let mut i = s.hash as usize & mask;
            while self.slots[i].lower != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
        self.offset = 0;
    }

    /// Makes room for one more counter (and `extra` key bytes) by growing the table
    /// or evicting. Returns whether the table changed (slots must be found again).
    #[inline]
    pub(super) fn make_room(&mut self, extra: usize) -> bool {
        if self.live < self.limit() {
            if self.kind == ItemKind::Bytes
                && self.arena.len() + extra > ARENA_BUDGET
                && self.live >= 2 * self.capacity as usize
            {
                // Long byte keys: cut harder, but keep at least `capacity` counters.
                let keep = (self.live / 2).max(self.capacity as usize);
                self.evict_to(keep);
                return true;
            }
            return false;
        }
        self.make_room_slow();
        true
    }

    #[cold]
    pub(super) fn make_room_slow(&mut self) {
        if self.slots.len() < max_slots(self.capacity) {
            self.grow();
        } else {
            let keep = (self.limit() / 2).max(self.capacity as usize);
            self.evict_to(keep);
        }
    }

    /// Evicts counters until about `keep` are left: those with the smallest counts,
    /// ties broken by the smallest lower bound, then by the hash's high bits (not by
    /// position: evicting the first ties in table order would empty one end of the
    /// table and leave long probe runs at the other). Raises the threshold to the
    /// largest evicted count and returns it (0 if nothing was evicted).
    pub(super) fn evict_to(&mut self, keep: usize) -> u64 {
        if self.live <= keep {
            return 0;
        }
        let off = self.offset;
        let tie = |s: &Slot| ((s.lower as u128) << 64) | s.hash.rotate_left(32) as u128;
        // The cut: evict count < c, and count == c with tie key <= key_cut.
        let k = self.live - keep;
        let (c, n_lt, n_eq) = self.kth_count(k);
        let rem = k - n_lt; // of count c to evict, 1..=n_eq
        let key_cut = if rem == n_eq {
            u128::MAX
        } else {
            let mut keys: Vec<u128> = Vec::with_capacity(n_eq);
            keys.extend(
                self.slots
                    .iter()
                    .filter(|s| s.lower != 0 && s.count.wrapping_add(off) == c)
                    .map(tie),
            );
            *keys.select_nth_unstable(rem - 1).1
        };
        // Remove the evicted counters in one pass in table order, from an empty slot
        // on. A kept counter moves to the first empty slot from its home on: every slot
        // between its home and its old slot was settled before it (its cluster began
        // after an empty slot), so it never moves past its old slot and lookups find it.
        // The layout is the one of clearing each cluster and putting its kept counters
        // back in their old order, without copying the cluster out and back.
        let n = self.slots.len();
        let mask = n - 1;
        let start = self
            .slots
            .iter()
            .position(|s| s.lower == 0)
            .expect("a table is never full");
        let mut live = 0;
        for i in 1..=n {
            let at = (start + i) & mask;
            let mut s = self.slots[at];
            if s.lower == 0 {
                continue;
            }
            s.count = s.count.wrapping_add(off);
            if s.count < c || (s.count == c && tie(&s) <= key_cut) {
                self.slots[at] = Slot::default();
                continue;
            }
            let mut p = s.hash as usize & mask;
            while p != at && self.slots[p].lower != 0 {
                p = (p + 1) & mask;
            }
            if p != at {
                self.slots[at] = Slot::default();
            }
            self.slots[p] = s;
            live += 1;
        }
        self.offset = 0;
        self.live = live;
        self.threshold = self.threshold.max(c);
        if self.kind == ItemKind::Bytes {
            self.compact_arena();
        }
        c
    }

    /// The `k`-th smallest live count (from 1), with the numbers of live counts below it
    /// and equal to it. Counts are at least the threshold, and those to evict are
    /// mostly just above it, so one pass counts them in a histogram of their distance to
    /// the threshold; only a cut beyond its last bucket sorts (selects) the counts past it.
    pub(super) fn kth_count(&self, k: usize) -> (u64, usize, usize) {
        const BUCKETS: usize = 1024;
        let off = self.offset;
        let base = self.threshold;
        let counts = || self.slots.iter().filter(|s| s.lower != 0).map(move |s| s.count.wrapping_add(off));
        let mut hist = [0u32; BUCKETS + 1];
        let mut below_base = false;
        for x in counts() {
            let d = x.wrapping_sub(base);
            below_base |= x < base;
            hist[d.min(BUCKETS as u64) as usize] += 1;
        }
        let mut n_lt = 0;
        if !below_base {
            for (d, &n) in hist[..BUCKETS].iter().enumerate() {
                let n = n as usize;
                if n_lt + n >= k {
                    return (base + d as u64, n_lt, n);
                }
                n_lt += n;
            }
        }
        // The cut is far above the threshold (or a count below it): select among the
        // counts not counted below.
        let from = if below_base { 0 } else { base + BUCKETS as u64 };
        let mut rest: Vec<u64> = counts().filter(|&x| below_base || x >= from).collect();
        let (left, &mut c, _) = rest.select_nth_unstable(k - n_lt - 1);
        let lt = n_lt + left.iter().filter(|&&x| x < c).count();
        let eq = rest.iter().filter(|&&x| x == c).count();
        (c, lt, eq)
    }

    /// Copies the live byte keys into a fresh arena.
    pub(super) fn compact_arena(&mut self) {
        let old = std::mem::take(&mut self.arena);
        let need: usize = self
            .slots
            .iter()
            .filter(|s| s.lower != 0)
            .map(|s| (s.key & 0xffff_ffff) as usize)
            .sum();
        let mut arena = Vec::with_capacity(need);
        for s in self.slots.iter_mut().filter(|s| s.lower != 0) {
            let b = key_bytes(&old, s.key);
            let off = arena.len() as u64;
            arena.extend_from_slice(b);
            s.key = (off << 32) | b.len() as u64;
        }
        self.arena = arena;
    }
}
