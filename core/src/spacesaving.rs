//! Space-Saving top-K / heavy-hitter sketch (Metwally, Agrawal, El Abbadi 2005), in
//! its amortised *batch-eviction* form, with the mergeable-summaries merge of Agarwal
//! et al. (2012).
//!
//! # Guarantees
//!
//! Every monitored item has a `count` and an `error`, and the sketch keeps a
//! `threshold`. For every monitored item `count - error <= true count <= count`; for
//! every item that is not monitored, `true count <= threshold`. Also
//! `error <= threshold <= count` and `count - error >= 1` for every monitored item, and
//! `count <= total`.
//!
//! # Update (batch eviction)
//!
//! The working state is a flat open-addressing table (linear probing over a power of
//! two of 32-byte slots holding hash, key, lower bound and count), keyed by the
//! caller's item hash. A known item adds its weight to its counter. A new item gets
//! `count = threshold + weight`, `error = threshold` (it may have been seen up to
//! `threshold` times before). When the table is full, the lowest half of the counters
//! (by count, then by lower bound) is evicted at once with `select_nth_unstable` and
//! the threshold is raised to the largest evicted count. This is classic
//! Space-Saving's "take over a minimum counter" done in batches: each evicted item's
//! true count is at most its count, which is at most the new threshold, so the
//! invariants above hold, and updates cost O(1) amortised.
//!
//! # Sizes
//!
//! `capacity` is the number of counters of the *stored* sketch. The in-memory working
//! table holds more (up to 12 × capacity rounded to a power of two, at most 8 MB of
//! slots unless the capacity itself needs more), grows lazily from 16 slots, and is
//! cut to `capacity` counters by [`SpaceSaving::to_bytes`] / [`SpaceSaving::compact`];
//! the largest dropped count raises the threshold so the guarantees still hold.
//!
//! # Merge
//!
//! An item monitored by only one side gets the other side's threshold added to both its
//! count and its error; shared items add counts and errors; the new threshold is the
//! sum of the thresholds. The result is the same kind of summary over the combined
//! stream (its bounds are those of one sketch over both streams). The addition of the
//! other threshold to every counter is done lazily through an offset, so a merge costs
//! O(size of the other sketch).
//!
//! # On-disk format (version 1)
//!
//! All `varint`s are LEB128.
//!
//! ```text
//! 'S' 1 capacity:varint item_type:u32 kind:u8 (0 = no items yet, 1 = int, 2 = bytes)
//! total:varint threshold:varint n:varint
//! n entries in ascending item order (ints by signed value, bytes lexicographically):
//!   item   int:   first entry zigzag(v):varint, later (v - previous - 1):varint
//!          bytes: len:varint then the bytes
//!   code:varint = (count - threshold) * 3 + tag
//!          tag 0: error = 0; tag 1: error = threshold (> 0);
//!          tag 2: 0 < error < threshold, followed by (error - 1):varint
//! ```
//!
//! The decoder checks every field: capacity range, n <= capacity, strictly ascending
//! items, `error <= threshold <= count <= total`, `count - error >= 1`, the sum of the
//! lower bounds `<= total`, canonical tags, and no trailing bytes.

use crate::codec::{from_text, to_text, Reader, Writer, MAX_SKETCH_BYTES};
use crate::error::{Result, SketchError};
use crate::hash::{hash_bytes, hash_i64};
use std::cmp::Ordering;
use std::fmt;

pub const MAGIC: u8 = b'S';
pub const VERSION: u8 = 1;
pub const TEXT_PREFIX: &str = "spacesaving";
/// Counters of a stored sketch by default: a sketch of bigint items drawn from
/// 1..1,000,000 stays under 64 KB.
pub const DEFAULT_CAPACITY: u32 = 12_000;
/// Largest capacity: its working table takes 1 GB.
pub const MAX_CAPACITY: u32 = 1 << 23;
/// Entries shown by [`SpaceSaving::to_json`].
pub const JSON_MAX_ITEMS: usize = 100;

/// Size of one table slot.
const SLOT_BYTES: usize = std::mem::size_of::<Slot>();
/// Slots of a first table.
const MIN_SLOTS: usize = 16;
/// Working tables stop growing here (8 MB) unless the capacity needs more.
const WORK_SLOTS_CAP: usize = 1 << 18;
/// Memory limit of one sketch's working table.
const MAX_WORK_BYTES: usize = 1 << 30;
/// Once byte-string keys take this much, the working state is cut harder.
const ARENA_BUDGET: usize = 32 << 20;
const I64_MAX: u64 = i64::MAX as u64;

/// The kind of items a sketch counts, fixed by its first item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Unknown = 0,
    Int = 1,
    Bytes = 2,
}

impl ItemKind {
    fn name(self) -> &'static str {
        match self {
            ItemKind::Unknown => "unknown",
            ItemKind::Int => "integer",
            ItemKind::Bytes => "bytes",
        }
    }
}

/// An item of a sketch.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    Int(i64),
    Bytes(Vec<u8>),
}

/// One row of [`SpaceSaving::top`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub item: Item,
    /// Upper bound of the item's true count.
    pub count: u64,
    /// `count - error` is a lower bound of the item's true count.
    pub error: u64,
    /// The item is certainly among the true top n (n as passed to `top`).
    pub guaranteed: bool,
}

/// A counter. `lower == 0` marks an empty slot (live counters have `lower >= 1`).
/// In the table, the true count is `count + offset` (wrapping); in the frozen list
/// `count` is absolute and `hash` is unused.
/// For byte items `key` is `offset << 32 | len` into the arena; for ints, the value.
#[derive(Clone, Copy, Default, Debug)]
#[repr(C)]
struct Slot {
    hash: u64,
    key: u64,
    lower: u64,
    count: u64,
}

#[derive(Clone)]
pub struct SpaceSaving {
    capacity: u32,
    /// Opaque tag of the items' SQL type (0 = not known yet); sketches of different
    /// non-zero tags do not merge.
    pub item_type: u32,
    kind: ItemKind,
    total: u64,
    threshold: u64,
    /// Added (wrapping) to every table slot's `count`.
    offset: u64,
    /// Open-addressing table (empty, or a power of two long).
    slots: Vec<Slot>,
    live: usize,
    /// Decoded counters sorted by item, absolute counts; used while `slots` is empty
    /// (a decoded sketch is only turned into a table when it is updated or merged into).
    frozen: Vec<Slot>,
    /// Byte-string keys.
    arena: Vec<u8>,
}

impl fmt::Debug for SpaceSaving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpaceSaving")
            .field("capacity", &self.capacity)
            .field("item_type", &self.item_type)
            .field("kind", &self.kind)
            .field("total", &self.total)
            .field("threshold", &self.threshold)
            .field("counters", &self.len())
            .finish()
    }
}

impl PartialEq for SpaceSaving {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

/// Validates a capacity given by the user.
pub fn check_capacity(capacity: i64) -> Result<u32> {
    if capacity <= 0 {
        return Err(SketchError::invalid(format!("topk capacity {capacity} is out of range"))
            .with_hint(format!(
                "Use a capacity from 1 to {MAX_CAPACITY}; the default is {DEFAULT_CAPACITY}."
            )));
    }
    if capacity > MAX_CAPACITY as i64 || working_memory_bytes(capacity as u32) > MAX_WORK_BYTES {
        return Err(SketchError::too_large(format!(
            "topk capacity {capacity} would need more than 1 GB of memory"
        ))
        .with_hint(format!("Use a capacity of at most {MAX_CAPACITY}.")));
    }
    Ok(capacity as u32)
}

/// Slots of the largest working table of a capacity.
fn max_slots(capacity: u32) -> usize {
    let p = (capacity as usize).next_power_of_two();
    (p * 16).min(WORK_SLOTS_CAP).max(p * 4).max(MIN_SLOTS)
}

/// Bytes of the largest working table of a capacity (without byte-string keys).
pub fn working_memory_bytes(capacity: u32) -> usize {
    max_slots(capacity) * SLOT_BYTES
}

#[inline]
fn key_bytes(arena: &[u8], key: u64) -> &[u8] {
    let off = (key >> 32) as usize;
    let len = (key & 0xffff_ffff) as usize;
    &arena[off..off + len]
}

#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}
#[inline]
fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cold]
fn overflow_error() -> SketchError {
    SketchError::overflow("topk counter would exceed the bigint maximum")
        .with_hint("Split the input into smaller sketches or use smaller weights.")
}

#[cold]
fn kind_error(have: ItemKind, want: ItemKind) -> SketchError {
    SketchError::mismatch(format!(
        "topk sketch of {} items cannot take {} items",
        have.name(),
        want.name()
    ))
    .with_hint("Keep one item type per sketch.")
}

/// Compares two keys of the same kind.
#[inline]
fn cmp_keys(kind: ItemKind, arena: &[u8], a: u64, b: u64) -> Ordering {
    match kind {
        ItemKind::Bytes => key_bytes(arena, a).cmp(key_bytes(arena, b)),
        _ => (a as i64).cmp(&(b as i64)),
    }
}

fn corrupt(detail: &str) -> SketchError {
    SketchError::corrupt(format!("invalid topk sketch: {detail}"))
}

/// Bounds-checked reader of the entry block (a faster varint than `codec::Reader`'s).
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn varint(&mut self) -> Result<u64> {
        match self.buf.get(self.pos) {
            Some(&b) if b < 0x80 => {
                self.pos += 1;
                Ok(b as u64)
            }
            _ => self.varint_slow(),
        }
    }
    fn varint_slow(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = *self.buf.get(self.pos).ok_or_else(|| corrupt("truncated data"))?;
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(corrupt("varint overflows 64 bits"));
            }
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }
    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(corrupt("length prefix points past the end"));
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }
}

/// A counter read out of a sketch: key (in that sketch's terms), count, lower bound,
/// hash (0 when unknown).
#[derive(Clone, Copy)]
struct Counter {
    key: u64,
    count: u64,
    lower: u64,
    hash: u64,
}

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

    // ----- table -----

    /// Live counters at which the table grows or evicts.
    #[inline]
    fn limit(&self) -> usize {
        let n = self.slots.len();
        if n < max_slots(self.capacity) {
            n / 2
        } else {
            n / 4 * 3
        }
    }

    fn set_kind(&mut self, kind: ItemKind) -> Result<()> {
        if self.kind == ItemKind::Unknown {
            self.kind = kind;
            Ok(())
        } else {
            Err(kind_error(self.kind, kind))
        }
    }

    /// Makes `slots` the live representation (turning a frozen list into a table).
    #[cold]
    fn ensure_table(&mut self) {
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
                b.count.cmp(&a.count).then(b.lower.cmp(&a.lower)).then_with(|| cmp_keys(kind, arena, a.key, b.key))
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
            self.slots[i] = Slot { hash, key: s.key, lower: s.lower, count: s.count };
            self.live += 1;
        }
        if self.kind == ItemKind::Bytes {
            self.compact_arena();
        }
    }

    /// Doubles the table.
    fn grow(&mut self) {
        let n = self.slots.len() * 2;
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

    /// Makes room for one more counter (and `extra` key bytes). Returns None if the
    /// table is unchanged, else the largest evicted count (0 if it only grew).
    #[inline]
    fn make_room(&mut self, extra: usize) -> Option<u64> {
        if self.live < self.limit() {
            if self.kind == ItemKind::Bytes
                && self.arena.len() + extra > ARENA_BUDGET
                && self.live >= 2 * self.capacity as usize
            {
                let keep = (self.live / 2).max(self.capacity as usize);
                return Some(self.evict_to(keep));
            }
            return None;
        }
        Some(self.make_room_slow())
    }

    #[cold]
    fn make_room_slow(&mut self) -> u64 {
        if self.slots.len() < max_slots(self.capacity) {
            self.grow();
            0
        } else {
            let keep = (self.limit() / 2).max(self.capacity as usize);
            self.evict_to(keep)
        }
    }

    /// Evicts counters until `keep` are left: those with the smallest counts, ties
    /// broken by the smallest lower bound. Raises the threshold to the largest evicted
    /// count and returns it (0 if nothing was evicted).
    fn evict_to(&mut self, keep: usize) -> u64 {
        if self.live <= keep {
            return 0;
        }
        let off = self.offset;
        let mut counts = Vec::with_capacity(self.live);
        for s in self.slots.iter_mut().filter(|s| s.lower != 0) {
            s.count = s.count.wrapping_add(off);
            counts.push(s.count);
        }
        self.offset = 0;
        let k = self.live - keep;
        let (left, &mut c, _) = counts.select_nth_unstable(k - 1);
        let n_lt = left.iter().filter(|&&x| x < c).count();
        let rem = k - n_lt; // counters of count c to evict (>= 1)
        let n_eq = counts.iter().filter(|&&x| x == c).count();
        // Evict (count < c) or (count == c and lower < l) or (count == c, lower == l,
        // the first `rem2` in table order).
        let (l, mut rem2) = if n_eq == rem {
            (u64::MAX, 0)
        } else {
            counts.clear();
            counts.extend(self.slots.iter().filter(|s| s.lower != 0 && s.count == c).map(|s| s.lower));
            let (left, &mut l, _) = counts.select_nth_unstable(rem - 1);
            let n_lt_l = left.iter().filter(|&&x| x < l).count();
            (l, rem - n_lt_l)
        };
        drop(counts);
        let mut kept: Vec<Slot> = Vec::with_capacity(keep);
        for s in self.slots.iter().filter(|s| s.lower != 0) {
            let evict = if s.count < c || (s.count == c && s.lower < l) {
                true
            } else if s.count == c && s.lower == l && rem2 > 0 {
                rem2 -= 1;
                true
            } else {
                false
            };
            if !evict {
                kept.push(*s);
            }
        }
        self.slots.fill(Slot::default());
        let mask = self.slots.len() - 1;
        for s in &kept {
            let mut i = s.hash as usize & mask;
            while self.slots[i].lower != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = *s;
        }
        self.live = kept.len();
        debug_assert_eq!(self.live, keep);
        self.threshold = self.threshold.max(c);
        if self.kind == ItemKind::Bytes {
            self.compact_arena();
        }
        c
    }

    /// Copies the live byte keys into a fresh arena.
    fn compact_arena(&mut self) {
        let old = std::mem::take(&mut self.arena);
        let need: usize = self.slots.iter().filter(|s| s.lower != 0).map(|s| (s.key & 0xffff_ffff) as usize).sum();
        let mut arena = Vec::with_capacity(need);
        for s in self.slots.iter_mut().filter(|s| s.lower != 0) {
            let b = key_bytes(&old, s.key);
            let off = arena.len() as u64;
            arena.extend_from_slice(b);
            s.key = (off << 32) | b.len() as u64;
        }
        self.arena = arena;
    }

    // ----- updates -----

    #[inline]
    fn add_total(&self, weight: u64) -> Result<u64> {
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
        if self.make_room(0).is_some() {
            i = self.find_empty(hash);
        }
        self.put(i, hash, key, weight, self.threshold.wrapping_add(weight));
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
        if self.make_room(v.len()).is_some() {
            i = self.find_empty(hash);
        }
        let key = self.store_key(v);
        self.put(i, hash, key, weight, self.threshold.wrapping_add(weight));
        Ok(())
    }

    /// Checks that a byte key of `len` bytes fits the arena addressing.
    fn check_key(&self, len: usize) -> Result<()> {
        if len > u32::MAX as usize || self.arena.len() + len > u32::MAX as usize {
            return Err(SketchError::too_large("topk item keys take more than 4 GB")
                .with_hint("Use a smaller capacity or shorter items."));
        }
        Ok(())
    }

    #[inline]
    fn store_key(&mut self, v: &[u8]) -> u64 {
        let off = self.arena.len() as u64;
        self.arena.extend_from_slice(v);
        (off << 32) | v.len() as u64
    }

    #[inline]
    fn find_empty(&self, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while self.slots[i].lower != 0 {
            i = (i + 1) & mask;
        }
        i
    }

    /// Fills empty slot `i` with a counter of absolute count `count`.
    #[inline]
    fn put(&mut self, i: usize, hash: u64, key: u64, lower: u64, count: u64) {
        self.slots[i] = Slot { hash, key, lower, count: count.wrapping_sub(self.offset) };
        self.live += 1;
    }

    // ----- reading -----

    /// All counters, with absolute counts.
    fn counters(&self) -> Vec<Counter> {
        if self.slots.is_empty() {
            self.frozen.iter().map(|s| Counter { key: s.key, count: s.count, lower: s.lower, hash: 0 }).collect()
        } else {
            let off = self.offset;
            self.slots
                .iter()
                .filter(|s| s.lower != 0)
                .map(|s| Counter { key: s.key, count: s.count.wrapping_add(off), lower: s.lower, hash: s.hash })
                .collect()
        }
    }

    fn find_counter(&self, hash: u64, eq: impl Fn(u64) -> bool, cmp: impl Fn(u64) -> Ordering) -> Option<(u64, u64)> {
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
        self.find_counter(hash, |k| key_bytes(arena, k) == v, |k| key_bytes(arena, k).cmp(v))
            .unwrap_or((self.threshold, self.threshold))
    }

    fn item(&self, key: u64) -> Item {
        match self.kind {
            ItemKind::Bytes => Item::Bytes(key_bytes(&self.arena, key).to_vec()),
            _ => Item::Int(key as i64),
        }
    }

    /// The `n` items of largest count, by count descending then item ascending.
    /// `guaranteed` is set when the item is certainly in the true top n: its lower
    /// bound is at least the upper bound of every item not listed (the (n+1)-th
    /// counter's count, and the threshold).
    pub fn top(&self, n: usize) -> Vec<Entry> {
        let mut v = self.counters();
        let (kind, arena) = (self.kind, &self.arena);
        let order = |a: &Counter, b: &Counter| b.count.cmp(&a.count).then_with(|| cmp_keys(kind, arena, a.key, b.key));
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
            .map(|c| Entry { item: self.item(c.key), count: c.count, error: c.count - c.lower, guaranteed: c.lower >= bound })
            .collect()
    }

    // ----- merge -----

    fn check_compatible(&self, other: &SpaceSaving) -> Result<()> {
        if self.capacity != other.capacity {
            return Err(SketchError::mismatch(format!(
                "cannot merge topk sketches of capacity {} and {}",
                self.capacity, other.capacity
            ))
            .with_hint("Build the sketches with the same capacity."));
        }
        if self.kind != ItemKind::Unknown && other.kind != ItemKind::Unknown && self.kind != other.kind {
            return Err(SketchError::mismatch(format!(
                "cannot merge a topk sketch of {} items with one of {} items",
                self.kind.name(),
                other.kind.name()
            ))
            .with_hint("Merge sketches built over the same column type."));
        }
        if self.item_type != 0 && other.item_type != 0 && self.item_type != other.item_type {
            return Err(SketchError::mismatch("cannot merge topk sketches of different item types")
                .with_hint("Merge sketches built over the same column type."));
        }
        Ok(())
    }

    /// Merges `other` into `self`: the result summarises both streams with the
    /// guarantees of one sketch.
    pub fn merge(&mut self, other: &SpaceSaving) -> Result<()> {
        self.check_compatible(other)?;
        if other.total == 0 {
            if self.item_type == 0 {
                self.item_type = other.item_type;
            }
            return Ok(());
        }
        let total = self.add_total(other.total)?;
        if self.total == 0 {
            let item_type = if self.item_type == 0 { other.item_type } else { self.item_type };
            *self = other.clone();
            self.item_type = item_type;
            return Ok(());
        }
        if self.item_type == 0 {
            self.item_type = other.item_type;
        }
        if self.slots.is_empty() && other.slots.is_empty() && self.frozen.len() <= 2 * self.capacity as usize {
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
        // Bound of the self-side count of an item absent from the table.
        let mut absent = ta;
        let bytes = self.kind == ItemKind::Bytes;
        let mut merge_one = |s: &mut SpaceSaving, c: Counter, key_src: &[u8]| -> Result<()> {
            let (hash, kb): (u64, &[u8]) = if bytes {
                let kb = key_bytes(key_src, c.key);
                (if c.hash != 0 { c.hash } else { hash_bytes(kb) }, kb)
            } else {
                (if c.hash != 0 { c.hash } else { hash_i64(c.key as i64) }, &[])
            };
            let mask = s.slots.len() - 1;
            let mut i = hash as usize & mask;
            loop {
                let t = &mut s.slots[i];
                if t.lower == 0 {
                    break;
                }
                if t.hash == hash && (if bytes { key_bytes(&s.arena, t.key) == kb } else { t.key == c.key }) {
                    t.count = t.count.wrapping_add(c.count - tb);
                    t.lower += c.lower;
                    return Ok(());
                }
                i = (i + 1) & mask;
            }
            if bytes {
                s.check_key(kb.len())?;
            }
            if let Some(evicted) = s.make_room(kb.len()) {
                absent = absent.max(evicted);
                i = s.find_empty(hash);
            }
            let key = if bytes { s.store_key(kb) } else { c.key };
            s.put(i, hash, key, c.lower, c.count + absent);
            Ok(())
        };
        if other.slots.is_empty() {
            for f in &other.frozen {
                merge_one(self, Counter { key: f.key, count: f.count, lower: f.lower, hash: 0 }, &other.arena)?;
            }
        } else {
            let off = other.offset;
            for f in other.slots.iter().filter(|s| s.lower != 0) {
                let c = Counter { key: f.key, count: f.count.wrapping_add(off), lower: f.lower, hash: f.hash };
                merge_one(self, c, &other.arena)?;
            }
        }
        self.total = total;
        Ok(())
    }

    /// Merge of two frozen (decoded) sketches: a linear merge of the sorted lists.
    fn merge_frozen(&mut self, other: &SpaceSaving) {
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
                    (Slot { hash: 0, key: x.key, lower: x.lower, count: x.count + tb }, &self.arena)
                }
                Ordering::Greater => {
                    let y = b[j];
                    j += 1;
                    (Slot { hash: 0, key: y.key, lower: y.lower, count: y.count + ta }, &other.arena)
                }
                Ordering::Equal => {
                    let (x, y) = (a[i], b[j]);
                    i += 1;
                    j += 1;
                    (Slot { hash: 0, key: x.key, lower: x.lower + y.lower, count: x.count + y.count }, &self.arena)
                }
            };
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

    // ----- storage -----

    /// The counters a stored sketch keeps (at most `capacity`, and few enough to stay
    /// under the format's size limit), sorted by item, and the threshold raised by the
    /// largest dropped count.
    fn cut(&self) -> (Vec<Counter>, u64) {
        let mut v = self.counters();
        let mut threshold = self.threshold;
        let (kind, arena) = (self.kind, &self.arena);
        let rank = |a: &Counter, b: &Counter| {
            b.count.cmp(&a.count).then(b.lower.cmp(&a.lower)).then_with(|| cmp_keys(kind, arena, a.key, b.key))
        };
        let cap = self.capacity as usize;
        if v.len() > cap {
            v.select_nth_unstable_by(cap, rank);
            threshold = threshold.max(v[cap..].iter().map(|c| c.count).max().unwrap_or(0));
            v.truncate(cap);
        }
        if kind == ItemKind::Bytes {
            // Each entry takes at most its key, two 10-byte varints and a length.
            let budget = MAX_SKETCH_BYTES - 64;
            let need: usize = v.iter().map(|c| (c.key & 0xffff_ffff) as usize + 30).sum();
            if need > budget {
                v.sort_unstable_by(rank);
                let mut used = 0;
                let keep = v
                    .iter()
                    .position(|c| {
                        used += (c.key & 0xffff_ffff) as usize + 30;
                        used > budget
                    })
                    .unwrap_or(v.len());
                threshold = threshold.max(v[keep..].iter().map(|c| c.count).max().unwrap_or(0));
                v.truncate(keep);
            }
        }
        v.sort_unstable_by(|a, b| cmp_keys(kind, arena, a.key, b.key));
        (v, threshold)
    }

    /// Cuts the sketch to what its stored form keeps (`capacity` counters), raising
    /// the threshold by the largest dropped count. Frees the working table.
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
                Slot { hash: 0, key, lower: c.lower, count: c.count }
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
        let (v, t) = self.cut();
        let mut w = Writer::with_header(MAGIC, VERSION);
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
            // (count - t) * 3 + tag fits 64 bits: count <= i64::MAX.
            w.varint((x + tag) as u64);
            if let Some(e1) = extra {
                w.varint(e1);
            }
        }
        w.finish()
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self> {
        let (mut r, version) = Reader::open(buf, MAGIC, "topk sketch")?;
        if version != VERSION {
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
        let n = r.count(2)?;
        if n > cap as usize {
            return Err(r.err("more counters than the capacity"));
        }
        if (s.kind == ItemKind::Unknown) != (n == 0) || (n == 0) != (total == 0) {
            return Err(r.err("item kind, counters and total disagree"));
        }
        let mut frozen = Vec::with_capacity(n);
        let mut cur = Cursor { buf: r.bytes(r.remaining())?, pos: 0 };
        let mut prev = 0i64;
        let mut prev_bytes: &[u8] = &[];
        let mut lower_sum = 0u64;
        for i in 0..n {
            let key = match s.kind {
                ItemKind::Bytes => {
                    let len = cur.varint()?;
                    let b = cur.take(len)?;
                    if i > 0 && b <= prev_bytes {
                        return Err(corrupt("items not strictly ascending"));
                    }
                    prev_bytes = b;
                    s.store_key(b)
                }
                _ => {
                    let d = cur.varint()?;
                    let k = if i == 0 {
                        unzigzag(d)
                    } else {
                        let k = prev as i128 + d as i128 + 1;
                        if k > i64::MAX as i128 {
                            return Err(corrupt("items not strictly ascending"));
                        }
                        k as i64
                    };
                    prev = k;
                    k as u64
                }
            };
            let code = cur.varint()?;
            let (x, tag) = (code / 3, code % 3);
            let count = match t.checked_add(x) {
                Some(c) if c <= total => c,
                _ => return Err(corrupt("count larger than the total")),
            };
            let e = match tag {
                0 => 0,
                1 if t > 0 => t,
                2 => {
                    let e = cur.varint()?.wrapping_add(1);
                    if e == 0 || e >= t {
                        return Err(corrupt("error out of range"));
                    }
                    e
                }
                _ => return Err(corrupt("invalid error tag")),
            };
            if e >= count {
                return Err(corrupt("error not below the count"));
            }
            let lower = count - e;
            lower_sum += lower; // both <= total <= i64::MAX: no overflow
            if lower_sum > total {
                return Err(corrupt("counts larger than the total"));
            }
            frozen.push(Slot { hash: 0, key, lower, count });
        }
        if cur.pos != cur.buf.len() {
            return Err(corrupt("trailing bytes"));
        }
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
    /// stored form. Integer items are JSON numbers, UTF-8 byte strings JSON strings,
    /// other byte strings `"\\x"` followed by hex.
    pub fn to_json(&self) -> serde_json::Value {
        let (v, t) = self.cut();
        let mut stored = self.clone_header();
        stored.threshold = t;
        stored.frozen = v.iter().map(|c| Slot { hash: 0, key: c.key, lower: c.lower, count: c.count }).collect();
        stored.arena = self.arena.clone();
        let items: Vec<serde_json::Value> = stored
            .top(JSON_MAX_ITEMS)
            .into_iter()
            .map(|e| {
                let item = match e.item {
                    Item::Int(i) => serde_json::Value::from(i),
                    Item::Bytes(b) => match String::from_utf8(b) {
                        Ok(s) => serde_json::Value::from(s),
                        Err(e) => {
                            let mut s = String::from("\\x");
                            for x in e.as_bytes() {
                                s.push_str(&format!("{x:02x}"));
                            }
                            serde_json::Value::from(s)
                        }
                    },
                };
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

    fn clone_header(&self) -> SpaceSaving {
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
            arena: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// splitmix64 PRNG with a fixed seed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            ((self.next() as u128 * n as u128) >> 64) as u64
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Zipf(s) over ranks 0..n, mapped to a random permutation of ids 1..=n.
    struct Zipf {
        cdf: Vec<f64>,
        ids: Vec<i64>,
    }
    impl Zipf {
        fn new(n: usize, s: f64, seed: u64) -> Self {
            let mut cdf = Vec::with_capacity(n);
            let mut acc = 0.0;
            for r in 1..=n {
                acc += (r as f64).powf(-s);
                cdf.push(acc);
            }
            for c in cdf.iter_mut() {
                *c /= acc;
            }
            let mut ids: Vec<i64> = (1..=n as i64).collect();
            let mut rng = Rng(seed);
            for i in (1..n).rev() {
                ids.swap(i, rng.below(i as u64 + 1) as usize);
            }
            Zipf { cdf, ids }
        }
        fn sample(&self, rng: &mut Rng) -> i64 {
            let u = rng.unit();
            let r = self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1);
            self.ids[r]
        }
    }

    fn upd(s: &mut SpaceSaving, v: i64, w: u64) {
        s.update_int(v, hash_i64(v), w).unwrap();
    }

    /// Exact top `k` ids of a count vector indexed by id (count desc, id asc).
    fn exact_top(exact: &[u64], k: usize) -> Vec<i64> {
        let mut ids: Vec<i64> = (0..exact.len() as i64).filter(|&i| exact[i as usize] > 0).collect();
        ids.sort_unstable_by(|&a, &b| exact[b as usize].cmp(&exact[a as usize]).then(a.cmp(&b)));
        ids.truncate(k);
        ids
    }

    /// Checks every guarantee of `s` against exact counts (ids 0..exact.len()).
    fn check_bounds(s: &SpaceSaving, exact: &[u64]) {
        let t = s.threshold();
        let all = s.top(usize::MAX);
        let mut seen = vec![false; exact.len()];
        for e in &all {
            let Item::Int(id) = e.item else { panic!() };
            let tr = exact[id as usize];
            assert!(e.count - e.error <= tr && tr <= e.count, "item {id}: true {tr}, count {} error {}", e.count, e.error);
            assert!(e.error <= t && t <= e.count);
            seen[id as usize] = true;
        }
        for (id, &c) in exact.iter().enumerate() {
            if !seen[id] {
                assert!(c <= t, "unmonitored item {id}: true {c} > threshold {t}");
                assert_eq!(s.estimate_int(id as i64, hash_i64(id as i64)), (t, t));
            }
        }
    }

    /// `guaranteed` flags of top(n) are never wrong.
    fn check_guaranteed(s: &SpaceSaving, exact: &[u64], n: usize) {
        let mut sorted: Vec<u64> = exact.to_vec();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        for e in s.top(n) {
            if e.guaranteed {
                let Item::Int(id) = e.item else { panic!() };
                let tr = exact[id as usize];
                let greater = sorted.partition_point(|&c| c > tr);
                assert!(greater < n, "item {id} flagged guaranteed in top {n} but {greater} items are larger");
            }
        }
    }

    fn round_trip(s: &SpaceSaving) -> SpaceSaving {
        SpaceSaving::from_bytes(&s.to_bytes()).unwrap()
    }

    /// 10M Zipf events over 1M ids: one pass and 30 merged "daily" sketches.
    fn accuracy(skew: f64, seed: u64) -> (usize, usize, usize) {
        const N: usize = 1_000_000;
        const EVENTS: usize = 10_000_000;
        const DAYS: usize = 30;
        let z = Zipf::new(N, skew, seed);
        let mut rng = Rng(seed ^ 0xdead_beef);
        let mut exact = vec![0u64; N + 1];
        let mut whole = SpaceSaving::new(DEFAULT_CAPACITY).unwrap();
        let mut merged = SpaceSaving::new(DEFAULT_CAPACITY).unwrap();
        let per_day = EVENTS / DAYS + 1;
        let mut day = SpaceSaving::new(DEFAULT_CAPACITY).unwrap();
        let mut max_day_size = 0;
        for i in 0..EVENTS {
            let v = z.sample(&mut rng);
            exact[v as usize] += 1;
            let h = hash_i64(v);
            whole.update_int(v, h, 1).unwrap();
            day.update_int(v, h, 1).unwrap();
            if (i + 1) % per_day == 0 || i + 1 == EVENTS {
                let b = day.to_bytes();
                max_day_size = max_day_size.max(b.len());
                merged.merge(&SpaceSaving::from_bytes(&b).unwrap()).unwrap();
                day = SpaceSaving::new(DEFAULT_CAPACITY).unwrap();
            }
        }
        assert_eq!(merged.total(), EVENTS as u64);
        let bytes = whole.to_bytes();
        let stored = SpaceSaving::from_bytes(&bytes).unwrap();
        let merged = round_trip(&merged);
        let want: std::collections::HashSet<i64> = exact_top(&exact, 1000).into_iter().collect();
        let recall = |s: &SpaceSaving| {
            s.top(1000).iter().filter(|e| matches!(e.item, Item::Int(v) if want.contains(&v))).count()
        };
        check_bounds(&whole, &exact);
        check_bounds(&stored, &exact);
        check_bounds(&merged, &exact);
        for n in [10, 100, 1000] {
            check_guaranteed(&stored, &exact, n);
            check_guaranteed(&merged, &exact, n);
        }
        let (r1, r2) = (recall(&stored), recall(&merged));
        eprintln!(
            "s={skew}: stored {} bytes ({} counters, threshold {}), merged threshold {}, day max {} bytes, recall@1000 one-pass {r1} merged {r2}, guaranteed@100 {} / {}",
            bytes.len(),
            stored.len(),
            stored.threshold(),
            merged.threshold(),
            max_day_size,
            stored.top(100).iter().filter(|e| e.guaranteed).count(),
            merged.top(100).iter().filter(|e| e.guaranteed).count(),
        );
        (r1, r2, bytes.len())
    }

    #[test]
    fn accuracy_zipf_1_1() {
        let (r1, r2, size) = accuracy(1.1, 11);
        assert!(r1 >= 995 && r2 >= 995, "recall {r1} {r2}");
        assert!(size <= 64 * 1024, "stored size {size}");
    }

    #[test]
    fn accuracy_zipf_0_8() {
        let (r1, r2, size) = accuracy(0.8, 8);
        assert!(r1 >= 995 && r2 >= 995, "recall {r1} {r2}");
        assert!(size <= 64 * 1024, "stored size {size}");
    }
}
#[cfg(test)]
mod size_probe {
    use super::*;
    #[test]
    fn size_probe() {
        for (skew, wmax) in [(0.8f64, 1u64), (1.1, 1), (0.8, 20), (1.1, 20)] {
            let n = 1_000_000usize;
            let mut cdf = Vec::with_capacity(n);
            let mut acc = 0.0;
            for r in 1..=n { acc += (r as f64).powf(-skew); cdf.push(acc); }
            let mut st = 5u64;
            let mut next = || { st = st.wrapping_add(0x9E37_79B9_7F4A_7C15); let mut z = st; z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9); z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB); z ^ (z >> 31) };
            let mut s = SpaceSaving::new(24000).unwrap();
            for _ in 0..10_000_000 {
                let u = (next() >> 11) as f64 / (1u64 << 53) as f64 * acc;
                let r = cdf.partition_point(|&c| c < u) as i64;
                let v = (r * 738_197 + 12345) % 1_000_003; // scrambled ids
                let w = if wmax == 1 { 1 } else { 1 + next() % wmax };
                s.update_int(v, hash_i64(v), w).unwrap();
            }
            for cap in [8192u32, 12000, 16384, 20000, 24000] {
                s.capacity = cap;
                let b = s.to_bytes();
                let (v, t) = s.cut();
                let e0 = v.iter().filter(|c| c.count == c.lower).count();
                let et = v.iter().filter(|c| c.count - c.lower == t).count();
                eprintln!("skew {skew} wmax {wmax} total {} cap {cap}: {} bytes ({:.2}/entry) t={t} err0 {e0} errT {et}", s.total(), b.len(), b.len() as f64 / cap as f64);
            }
        }
    }
}
