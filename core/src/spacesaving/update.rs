//! Counting items: one at a time, or in batches that prefetch their slots.

use super::*;

impl SpaceSaving {
    #[inline]
    pub(super) fn add_total(&self, weight: u64) -> Result<u64> {
        match self.total.checked_add(weight) {
            Some(t) if t <= I64_MAX => Ok(t),
            _ => Err(overflow_error()),
        }
    }

    /// Counts an integer item `weight` times. `hash` must be `hash::hash_i64(v)`.
    #[inline]
    pub fn update_int(&mut self, v: i64, hash: u64, weight: u64) -> Result<()> {
        debug_assert_eq!(hash, hash_i64(v));
        if weight == 0 {
            return Ok(());
        }
        if self.kind != ItemKind::Int {
            self.set_kind(ItemKind::Int)?;
        }
        let total = self.add_total(weight)?;
        if self.slots.is_empty() {
            self.ensure_table();
        }
        self.total = total;
        let key = v as u64;
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let s = &mut self.slots[i];
            if s.lower == 0 {
                break;
            }
            if s.hash == hash && s.key == key {
                s.count = s.count.wrapping_add(weight);
                s.lower += weight;
                return Ok(());
            }
            i = (i + 1) & mask;
        }
        if self.make_room(0) {
            i = self.find_empty(hash);
        }
        self.put(i, hash, key, weight, self.threshold.wrapping_add(weight));
        Ok(())
    }

    /// Counts a batch of integer items `(value, hash, weight)`, exactly as
    /// [`SpaceSaving::update_int`] one after the other, but first asks the processor for
    /// every item's slot: on a long-tailed stream most probes miss the cache, and a
    /// batch then waits for its slots together instead of one after another. Stops at
    /// the first error (the items before it are counted).
    pub fn update_ints(&mut self, batch: &[(i64, u64, u64)]) -> Result<()> {
        if !self.slots.is_empty() {
            for &(_, hash, _) in batch {
                prefetch(&self.slots, hash);
            }
        }
        for &(v, hash, weight) in batch {
            self.update_int(v, hash, weight)?;
        }
        Ok(())
    }

    /// Counts a byte-string item `weight` times. `hash` must be `hash::hash_bytes(v)`.
    #[inline]
    pub fn update_bytes(&mut self, v: &[u8], hash: u64, weight: u64) -> Result<()> {
        debug_assert_eq!(hash, hash_bytes(v));
        if weight == 0 {
            return Ok(());
        }
        if self.kind != ItemKind::Bytes {
            self.set_kind(ItemKind::Bytes)?;
        }
        let total = self.add_total(weight)?;
        if self.slots.is_empty() {
            self.ensure_table();
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let s = &mut self.slots[i];
            if s.lower == 0 {
                break;
            }
            if s.hash == hash && key_bytes(&self.arena, s.key) == v {
                s.count = s.count.wrapping_add(weight);
                s.lower += weight;
                self.total = total;
                return Ok(());
            }
            i = (i + 1) & mask;
        }
        self.check_key(v.len())?;
        self.total = total;
        if self.make_room(v.len()) {
            i = self.find_empty(hash);
        }
        let key = self.store_key(v);
        self.put(i, hash, key, weight, self.threshold.wrapping_add(weight));
        Ok(())
    }

    /// Counts a batch of byte-string items, exactly as [`SpaceSaving::update_bytes`] one
    /// after the other, prefetching their slots first (see [`SpaceSaving::update_ints`]):
    /// `batch` holds each item's `(length, hash, weight)`, and their bytes follow one
    /// another in `bytes`. Stops at the first error (the items before it are counted).
    pub fn update_bytes_batch(&mut self, bytes: &[u8], batch: &[(usize, u64, u64)]) -> Result<()> {
        if !self.slots.is_empty() {
            for &(_, hash, _) in batch {
                prefetch(&self.slots, hash);
            }
        }
        let mut at = 0;
        for &(len, hash, weight) in batch {
            self.update_bytes(&bytes[at..at + len], hash, weight)?;
            at += len;
        }
        Ok(())
    }

    /// Checks that a byte key of `len` bytes fits the arena addressing.
    pub(super) fn check_key(&self, len: usize) -> Result<()> {
        if len > u32::MAX as usize || self.arena.len() + len > u32::MAX as usize {
            return Err(SketchError::too_large("topk item keys take more than 4 GB")
                .with_hint("Use a smaller capacity or shorter items."));
        }
        Ok(())
    }

    #[inline]
    pub(super) fn store_key(&mut self, v: &[u8]) -> u64 {
        let off = self.arena.len() as u64;
        self.arena.extend_from_slice(v);
        (off << 32) | v.len() as u64
    }

    #[inline]
    pub(super) fn find_empty(&self, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while self.slots[i].lower != 0 {
            i = (i + 1) & mask;
        }
        i
    }

    /// Fills empty slot `i` with a counter of absolute count `count`.
    #[inline]
    pub(super) fn put(&mut self, i: usize, hash: u64, key: u64, lower: u64, count: u64) {
        self.slots[i] = Slot {
            hash,
            key,
            lower,
            count: count.wrapping_sub(self.offset),
        };
        self.live += 1;
    }
}
