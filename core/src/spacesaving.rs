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
//! (by count, then by lower bound, then by hash bits) is evicted at once with
//! `select_nth_unstable` and the threshold is raised to the largest evicted count. This is classic
//! Space-Saving's "take over a minimum counter" done in batches: each evicted item's
//! true count is at most its count, which is at most the new threshold, so the
//! invariants above hold, and updates cost O(1) amortised.
//!
//! # Sizes
//!
//! `capacity` is the number of counters of the *stored* sketch. The in-memory working
//! table holds more: it grows lazily from 16 slots (512 bytes, so a GROUP BY over many
//! small groups stays cheap) to at most 16 × capacity slots rounded to a power of two,
//! capped at 2 MB unless the capacity needs more (then 4 × capacity), and evicts at
//! 75% load, i.e. keeps up to 12 × capacity (rounded up to a power of two) counters, and
//! 49,152 at the default capacity (3 ×). The table is kept that small on purpose: on a long-tailed stream most updates probe a random slot, and
//! a table that stays in the processor's cache costs a fraction of one that does not
//! (measured in PostgreSQL: 16 × capacity, 8 MB, made `topk_agg` 20–40% slower with
//! the same top-1000 recall; docs/benchmarks.md). It is
//! cut to `capacity` counters by [`SpaceSaving::to_bytes`] / [`SpaceSaving::compact`];
//! the largest dropped count raises the threshold so the guarantees still hold.
//! A decoded sketch stays a sorted list (no table is built) until it is updated or
//! merged into, so reading (`top`, `estimate_*`) and merging stored sketches is cheap.
//!
//! # Merge
//!
//! An item monitored by only one side gets the other side's threshold added to both its
//! count and its error; shared items add counts and errors; the new threshold is the
//! sum of the thresholds. The result is the same kind of summary over the combined
//! stream (its bounds are those of one sketch over both streams). Then the largest
//! counters are kept: a merged state with more than 3 × capacity counters is cut to
//! `capacity`, the threshold rising to the largest dropped count.
//!
//! Sketches of different capacities merge at the smaller one (`resize.rs`): the merge
//! itself does not depend on the capacity, and the threshold stays at most
//! total / capacity for the smaller capacity, so every item counted more often than
//! that is kept.
//!
//! Speed: adding the other threshold to every counter of `self` is done lazily through
//! an offset, so a merge costs O(size of the other sketch); counters of `other` at its
//! threshold are skipped (their merged count is bounded by the new threshold, or is
//! already right through the offset: only their lower bound is lost); two small
//! decoded sketches merge as sorted lists; a merge never evicts midway (the table may
//! grow past its working size for the time of a merge of two working states).
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
//!   code:varint = (count - threshold) * 3 + tag (up to 65 bits: at most 10 bytes)
//!          tag 0: error = 0; tag 1: error = threshold (> 0);
//!          tag 2: 0 < error < threshold, followed by (error - 1):varint
//! ```
//!
//! The decoder checks every field: capacity range, n <= capacity, item kind 0 exactly
//! when total is 0, a threshold of at least 1 when something was counted but no
//! counter is kept, strictly ascending items, `error <= threshold <= count <= total`,
//! `count - error >= 1`, the sum of the lower bounds `<= total`, canonical tags, and
//! no trailing bytes.

use crate::codec::{from_text, to_text, Reader, Writer, MAX_SKETCH_BYTES};
use crate::error::{Result, SketchError};
use crate::hash::{hash_bytes, hash_i64};
use std::cmp::Ordering;
use std::fmt;

mod resize;

pub const MAGIC: u8 = b'S';
pub const VERSION: u8 = 1;
pub const TEXT_PREFIX: &str = "spacesaving";
/// Counters of a stored sketch by default: a sketch of bigint items drawn from
/// 1..1,000,000 stays under 64 KB.
pub const DEFAULT_CAPACITY: u32 = 12_000;
/// Largest capacity: its working table takes 1 GB.
pub const MAX_CAPACITY: u32 = 1 << 23;
/// An item as JSON: integers as numbers, UTF-8 byte strings without NUL as strings,
/// other bytes as `\\x` and hex.
pub fn item_json(item: &Item) -> serde_json::Value {
    match item {
        Item::Int(i) => serde_json::Value::from(*i),
        Item::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) if !s.contains('\0') => serde_json::Value::from(s),
            _ => serde_json::Value::from(format!("\\x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())),
        },
    }
}

/// Entries shown by [`SpaceSaving::to_json`].
pub const JSON_MAX_ITEMS: usize = 100;

/// Size of one table slot.
const SLOT_BYTES: usize = std::mem::size_of::<Slot>();
/// Slots of a first table.
const MIN_SLOTS: usize = 16;
/// Working tables stop growing here (2 MB) unless the capacity needs more.
const WORK_SLOTS_CAP: usize = 1 << 16;
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
#[repr(C, align(32))] // aligned: a slot never straddles two cache lines
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
        return Err(
            SketchError::invalid(format!("topk capacity {capacity} is out of range")).with_hint(
                format!(
                    "Use a capacity from 1 to {MAX_CAPACITY}; the default is {DEFAULT_CAPACITY}."
                ),
            ),
        );
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

/// Hints the CPU to load the slot of `hash` (a no-op off x86-64).
#[inline(always)]
fn prefetch(slots: &[Slot], hash: u64) {
    let p = slots
        .as_ptr()
        .wrapping_add(hash as usize & (slots.len().wrapping_sub(1)));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching never faults, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch(p as *const i8, core::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

fn corrupt(detail: &str) -> SketchError {
    SketchError::corrupt(format!("invalid topk sketch: {detail}"))
}

/// Bounds-checked reader of the entry block (a leaner varint than `codec::Reader`'s,
/// with a small error type: decoding is on the path of every merge).
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

type Small<T> = std::result::Result<T, &'static str>;

impl<'a> Cursor<'a> {
    /// A LEB128 value of up to 64 bits, in its shortest form (see `codec`).
    #[inline(always)]
    fn varint(&mut self) -> Small<u64> {
        match self.varint65()? {
            (v, false) => Ok(v),
            _ => Err("varint overflows 64 bits"),
        }
    }
    /// A LEB128 value of up to 65 bits (10 bytes), as its low 64 bits and bit 64.
    #[inline(always)]
    fn varint65(&mut self) -> Small<(u64, bool)> {
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
    fn varint65_slow(&mut self) -> Small<(u64, bool)> {
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
    fn take(&mut self, n: u64) -> Small<&'a [u8]> {
        if n > (self.buf.len() - self.pos) as u64 {
            return Err("length prefix points past the end");
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }
}

/// Reads one counter's code (and error) and checks it: `(count, lower)`.
#[inline(always)]
fn read_counter(cur: &mut Cursor, t: u64, total: u64) -> Small<(u64, u64)> {
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
fn read_entries(
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
    if cur.pos != cur.buf.len() {
        return Err("trailing bytes");
    }
    Ok(frozen)
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

    /// Bytes this sketch holds on the heap (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        (self.slots.capacity() + self.frozen.capacity()) * SLOT_BYTES + self.arena.capacity()
    }

    // ----- table -----

    /// Live counters at which the table grows or evicts.
    #[inline]
    fn limit(&self) -> usize {
        self.slots.len() / 4 * 3
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
    fn grow(&mut self) {
        self.resize(self.slots.len() * 2);
    }

    /// Rehashes into `n` slots (a power of two with room for every counter).
    fn resize(&mut self, n: usize) {
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
    fn make_room(&mut self, extra: usize) -> bool {
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
    fn make_room_slow(&mut self) {
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
    fn evict_to(&mut self, keep: usize) -> u64 {
        if self.live <= keep {
            return 0;
        }
        let off = self.offset;
        let tie = |s: &Slot| ((s.lower as u128) << 64) | s.hash.rotate_left(32) as u128;
        // The cut: evict count < c, and count == c with tie key <= key_cut.
        let k = self.live - keep;
        let mut counts: Vec<u64> = Vec::with_capacity(self.live);
        counts.extend(
            self.slots
                .iter()
                .filter(|s| s.lower != 0)
                .map(|s| s.count.wrapping_add(off)),
        );
        let (left, &mut c, _) = counts.select_nth_unstable(k - 1);
        let n_lt = left.iter().filter(|&&x| x < c).count();
        let n_eq = counts.iter().filter(|&&x| x == c).count();
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
        drop(counts);
        // Remove the evicted counters cluster by cluster (runs of full slots between
        // empty ones): clearing a cluster and putting its kept counters back in their
        // old order never moves one past its old slot, so each stays in its cluster.
        let n = self.slots.len();
        let mask = n - 1;
        let start = self
            .slots
            .iter()
            .position(|s| s.lower == 0)
            .expect("a table is never full");
        let mut run: Vec<Slot> = Vec::new();
        let mut live = 0;
        let mut i = 1;
        while i <= n {
            let at = (start + i) & mask;
            if self.slots[at].lower == 0 {
                i += 1;
                continue;
            }
            // A cluster: from `at` to the next empty slot.
            run.clear();
            let mut j = at;
            while self.slots[j].lower != 0 {
                let mut s = self.slots[j];
                s.count = s.count.wrapping_add(off);
                run.push(s);
                self.slots[j] = Slot::default();
                j = (j + 1) & mask;
            }
            i += run.len();
            for s in &run {
                if s.count < c || (s.count == c && tie(s) <= key_cut) {
                    continue;
                }
                let mut p = s.hash as usize & mask;
                while self.slots[p].lower != 0 {
                    p = (p + 1) & mask;
                }
                self.slots[p] = *s;
                live += 1;
            }
        }
        self.offset = 0;
        self.live = live;
        self.threshold = self.threshold.max(c);
        if self.kind == ItemKind::Bytes {
            self.compact_arena();
        }
        c
    }

    /// Copies the live byte keys into a fresh arena.
    fn compact_arena(&mut self) {
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
        self.slots[i] = Slot {
            hash,
            key,
            lower,
            count: count.wrapping_sub(self.offset),
        };
        self.live += 1;
    }

    // ----- reading -----

    /// All counters, with absolute counts.
    fn counters(&self) -> Vec<Counter> {
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
            self.slots
                .iter()
                .filter(|s| s.lower != 0)
                .map(|s| Counter {
                    key: s.key,
                    count: s.count.wrapping_add(off),
                    lower: s.lower,
                    hash: s.hash,
                })
                .collect()
        }
    }

    fn find_counter(
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

    fn item(&self, key: u64) -> Item {
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

    // ----- merge -----

    fn check_compatible(&self, other: &SpaceSaving) -> Result<()> {
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
            other
                .frozen
                .iter()
                .filter(|f| f.count != tb)
                .map(|f| Counter {
                    key: f.key,
                    count: f.count,
                    lower: f.lower,
                    hash: match other.kind {
                        ItemKind::Bytes => hash_bytes(key_bytes(&other.arena, f.key)),
                        _ => hash_i64(f.key as i64),
                    },
                })
                .collect()
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

    // ----- storage -----

    /// The counters a stored sketch keeps (at most `capacity`, and few enough to stay
    /// under the format's size limit), sorted by item, and the threshold raised by the
    /// largest dropped count.
    fn cut(&self) -> (Vec<Counter>, u64) {
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
        // No item kind exactly when nothing was counted; a sketch that counted
        // something but keeps no counter has a threshold bounding every item.
        if (s.kind == ItemKind::Unknown) != (total == 0)
            || (total == 0 && n > 0)
            || (n == 0 && total > 0 && t == 0)
        {
            return Err(r.err("item kind, counters and total disagree"));
        }
        let mut cur = Cursor {
            buf: r.bytes(r.remaining())?,
            pos: 0,
        };
        let frozen = read_entries(&mut s, &mut cur, n, t, total).map_err(corrupt)?;
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
    use crate::codec::Writer;
    use crate::error::ErrorKind;
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
        let mut ids: Vec<i64> = (0..exact.len() as i64)
            .filter(|&i| exact[i as usize] > 0)
            .collect();
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
            assert!(
                e.count - e.error <= tr && tr <= e.count,
                "item {id}: true {tr}, count {} error {}",
                e.count,
                e.error
            );
            assert!(
                e.error <= t && t <= e.count,
                "entry {e:?} threshold {t} len {} total {} frozen {}",
                s.len(),
                s.total(),
                s.slots.is_empty()
            );
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
                assert!(
                    greater < n,
                    "item {id} flagged guaranteed in top {n} but {greater} items are larger"
                );
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
            s.top(1000)
                .iter()
                .filter(|e| matches!(e.item, Item::Int(v) if want.contains(&v)))
                .count()
        };
        check_bounds(&whole, &exact);
        check_bounds(&stored, &exact);
        check_bounds(&merged, &exact);
        for n in [10, 100, 1000] {
            check_guaranteed(&stored, &exact, n);
            check_guaranteed(&merged, &exact, n);
        }
        let (r1, r2) = (recall(&stored), recall(&merged));
        let g = |s: &SpaceSaving, n: usize| s.top(n).iter().filter(|e| e.guaranteed).count();
        eprintln!(
            "s={skew}: one pass: {} bytes, {} counters, threshold {}, recall@1000 {r1}, guaranteed@100 {} @1000 {}; \
             merged 30 days (day sketches up to {} bytes): {} bytes, threshold {}, recall@1000 {r2}, guaranteed@100 {} @1000 {}",
            bytes.len(),
            stored.len(),
            stored.threshold(),
            g(&stored, 100),
            g(&stored, 1000),
            max_day_size,
            merged.to_bytes().len(),
            merged.threshold(),
            g(&merged, 100),
            g(&merged, 1000),
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

    /// Builds a sketch and the exact counts of a random stream over `items` ids.
    fn random_stream(
        cap: u32,
        len: usize,
        items: u64,
        max_w: u64,
        seed: u64,
    ) -> (SpaceSaving, Vec<u64>) {
        let mut rng = Rng(seed);
        let mut s = SpaceSaving::new(cap).unwrap();
        let mut exact = vec![0u64; items as usize];
        for _ in 0..len {
            // Skewed: square of a uniform picks low ids more often.
            let u = rng.below(items);
            let v = (u * rng.below(items) / items) as i64;
            let w = 1 + rng.below(max_w);
            s.update_int(v, hash_i64(v), w).unwrap();
            exact[v as usize] += w;
        }
        (s, exact)
    }

    #[test]
    fn exact_while_not_full() {
        let mut s = SpaceSaving::new(100).unwrap();
        assert!(s.slots.is_empty(), "a new sketch allocates nothing");
        for (v, w) in [(5i64, 3u64), (7, 1), (5, 2), (-9, 10), (7, 1)] {
            upd(&mut s, v, w);
        }
        assert!(s.slots.len() <= 32, "a small group keeps a small table");
        assert_eq!(s.total(), 17);
        assert_eq!(s.threshold(), 0);
        let top = s.top(10);
        let got: Vec<(Item, u64, u64, bool)> = top
            .into_iter()
            .map(|e| (e.item, e.count, e.error, e.guaranteed))
            .collect();
        assert_eq!(
            got,
            vec![
                (Item::Int(-9), 10, 0, true),
                (Item::Int(5), 5, 0, true),
                (Item::Int(7), 2, 0, true)
            ]
        );
        // top(1): 5 is not in the top 1; -9 certainly is.
        let t1 = s.top(1);
        assert_eq!(t1.len(), 1);
        assert!(t1[0].guaranteed);
        assert_eq!(s.estimate_int(5, hash_i64(5)), (5, 0));
        assert_eq!(s.estimate_int(6, hash_i64(6)), (0, 0));
        assert!(s.top(0).is_empty());
        let back = round_trip(&s);
        assert_eq!(back.top(10), s.top(10));
        assert_eq!(back.estimate_int(5, hash_i64(5)), (5, 0));
        assert_eq!(back.to_bytes(), s.to_bytes());
        // Zero weight is a no-op, even for another kind.
        s.update_bytes(b"x", hash_bytes(b"x"), 0).unwrap();
        assert_eq!(s.total(), 17);
    }

    #[test]
    fn ties_sort_by_item() {
        let mut s = SpaceSaving::new(10).unwrap();
        for v in [9i64, 3, 5, -1] {
            upd(&mut s, v, 4);
        }
        let items: Vec<Item> = s.top(10).into_iter().map(|e| e.item).collect();
        assert_eq!(
            items,
            vec![Item::Int(-1), Item::Int(3), Item::Int(5), Item::Int(9)]
        );
        // Ties at the boundary count as in the top n: no other item is larger.
        assert!(s.top(2).iter().all(|e| e.guaranteed));
        upd(&mut s, 5, 1);
        assert!(s.top(1)[0].guaranteed && s.top(1)[0].item == Item::Int(5));
        // A sketch that dropped counts: only items above the threshold are certain.
        let mut d = SpaceSaving::new(2).unwrap();
        for (v, w) in [(1i64, 10u64), (2, 6), (3, 5), (4, 1)] {
            upd(&mut d, v, w);
        }
        let d = round_trip(&d); // keeps 1 (10) and 2 (6); threshold 5
        assert_eq!(d.threshold(), 5);
        let g: Vec<bool> = d.top(2).iter().map(|e| e.guaranteed).collect();
        assert_eq!(g, vec![true, true]);
        let g: Vec<bool> = d.top(1).iter().map(|e| e.guaranteed).collect();
        assert_eq!(g, vec![true]);
    }

    #[test]
    fn invariants_hold_under_eviction() {
        for (cap, max_w, seed) in [
            (1u32, 1u64, 1u64),
            (10, 1, 2),
            (10, 7, 3),
            (50, 3, 4),
            (200, 1, 5),
        ] {
            let (mut s, exact) = random_stream(cap, 60_000, 20_000, max_w, seed);
            assert!(s.threshold() > 0, "the test must evict");
            check_bounds(&s, &exact);
            for n in [1, 5, 10, 100] {
                check_guaranteed(&s, &exact, n);
            }
            let stored = round_trip(&s);
            assert!(stored.len() <= cap as usize && stored.threshold() >= s.threshold());
            check_bounds(&stored, &exact);
            check_guaranteed(&stored, &exact, cap as usize);
            // Compacting gives the stored form; updating it again keeps the bounds.
            s.compact();
            assert_eq!(s.to_bytes(), stored.to_bytes());
            let mut exact = exact;
            let mut rng = Rng(seed + 100);
            for _ in 0..5000 {
                let v = rng.below(20_000) as i64;
                upd(&mut s, v, 1);
                exact[v as usize] += 1;
            }
            check_bounds(&s, &exact);
        }
    }

    #[test]
    fn eviction_keeps_largest() {
        // Capacity 1 keeps the heaviest item through the cut.
        let mut s = SpaceSaving::new(1).unwrap();
        for i in 0..10_000i64 {
            upd(&mut s, i % 997, 1);
            upd(&mut s, -1, 2);
        }
        let stored = round_trip(&s);
        let top = stored.top(5);
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].item, Item::Int(-1));
        assert!(top[0].count - top[0].error <= 20_000 && 20_000 <= top[0].count);
        assert!(top[0].guaranteed);
    }

    #[test]
    fn weighted_updates_and_overflow() {
        let mut s = SpaceSaving::new(8).unwrap();
        upd(&mut s, 1, i64::MAX as u64 - 10);
        let e = s.update_int(2, hash_i64(2), 11).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Overflow);
        assert_eq!(
            s.total(),
            i64::MAX as u64 - 10,
            "a failed update changes nothing"
        );
        upd(&mut s, 2, 10);
        assert_eq!(s.total(), i64::MAX as u64);
        assert!(s.update_int(3, hash_i64(3), u64::MAX).is_err());
        let back = round_trip(&s);
        assert_eq!(back.estimate_int(1, hash_i64(1)), (i64::MAX as u64 - 10, 0));
        let mut m = back.clone();
        assert_eq!(m.merge(&back).unwrap_err().kind, ErrorKind::Overflow);
    }

    #[test]
    fn item_kinds_do_not_mix() {
        let mut s = SpaceSaving::new(8).unwrap();
        upd(&mut s, 1, 1);
        let e = s.update_bytes(b"a", hash_bytes(b"a"), 1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Mismatch);
        assert!(e.hint.is_some());
        let mut b = SpaceSaving::new(8).unwrap();
        b.update_bytes(b"a", hash_bytes(b"a"), 1).unwrap();
        assert_eq!(
            b.update_int(1, hash_i64(1), 1).unwrap_err().kind,
            ErrorKind::Mismatch
        );
        assert_eq!(s.clone().merge(&b).unwrap_err().kind, ErrorKind::Mismatch);
        assert_eq!(s.estimate_bytes(b"a", hash_bytes(b"a")), (0, 0));
        // Item type mismatches (capacities may differ: spacesaving/resize.rs).
        let mut t1 = s.clone();
        t1.item_type = 20;
        let mut t2 = s.clone();
        t2.item_type = 23;
        assert_eq!(t1.clone().merge(&t2).unwrap_err().kind, ErrorKind::Mismatch);
        // Empty sketches merge with anything.
        let mut e = SpaceSaving::new(8).unwrap();
        e.merge(&t1).unwrap();
        assert_eq!(e.item_type, 20);
        assert_eq!(e.kind(), ItemKind::Int);
        t1.merge(&SpaceSaving::new(8).unwrap()).unwrap();
    }

    #[test]
    fn capacity_limits() {
        assert_eq!(
            check_capacity(0).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
        assert_eq!(
            check_capacity(-5).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
        assert!(check_capacity(-5).unwrap_err().hint.is_some());
        assert_eq!(
            check_capacity(MAX_CAPACITY as i64 + 1).unwrap_err().kind,
            ErrorKind::TooLarge
        );
        assert!(check_capacity(MAX_CAPACITY as i64 + 1)
            .unwrap_err()
            .hint
            .is_some());
        assert_eq!(check_capacity(MAX_CAPACITY as i64).unwrap(), MAX_CAPACITY);
        assert!(working_memory_bytes(MAX_CAPACITY) <= 1 << 30);
        assert!(working_memory_bytes(MAX_CAPACITY + 1) > 1 << 30);
        assert!(working_memory_bytes(DEFAULT_CAPACITY) <= 8 << 20);
        assert!(working_memory_bytes(100) <= 64 << 10);
        assert!(SpaceSaving::new(0).is_err());
        assert!(SpaceSaving::new(MAX_CAPACITY + 1).is_err());
    }

    #[test]
    fn byte_items() {
        let mut rng = Rng(77);
        let mut s = SpaceSaving::new(20).unwrap();
        let mut exact: HashMap<Vec<u8>, u64> = HashMap::new();
        for _ in 0..50_000 {
            let u = rng.below(5000);
            let id = u * rng.below(5000) / 5000;
            let key = format!("item-{id}").into_bytes();
            s.update_bytes(&key, hash_bytes(&key), 1).unwrap();
            *exact.entry(key).or_default() += 1;
        }
        s.update_bytes(b"", hash_bytes(b""), 3).unwrap();
        *exact.entry(Vec::new()).or_default() += 3;
        s.update_bytes(&[0xff, 0x00], hash_bytes(&[0xff, 0x00]), 2000)
            .unwrap();
        *exact.entry(vec![0xff, 0x00]).or_default() += 2000;
        assert!(s.threshold() > 0);
        for sk in [
            s.clone(),
            round_trip(&s),
            SpaceSaving::from_text(&s.to_text()).unwrap(),
        ] {
            let t = sk.threshold();
            let mut monitored = 0;
            for e in sk.top(usize::MAX) {
                let Item::Bytes(k) = &e.item else { panic!() };
                let tr = exact[k];
                assert!(e.count - e.error <= tr && tr <= e.count);
                assert_eq!(sk.estimate_bytes(k, hash_bytes(k)), (e.count, e.error));
                monitored += 1;
            }
            for (k, &c) in &exact {
                let (cnt, err) = sk.estimate_bytes(k, hash_bytes(k));
                assert!(cnt - err <= c && c <= cnt);
                if cnt == t && err == t {
                    assert!(c <= t);
                }
            }
            assert!(monitored > 0);
            assert_eq!(sk.top(1)[0].item, Item::Bytes(vec![0xff, 0x00]));
        }
        let j = s.to_json();
        assert_eq!(j["type"], "spacesaving");
        assert_eq!(j["item_kind"], "bytes");
        assert_eq!(j["items"][0]["item"], "\\xff00");
        assert!(j["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["item"].as_str().unwrap().starts_with("item-")));
    }

    #[test]
    fn long_byte_items_bound_memory() {
        // 64 KB keys: the arena budget triggers cuts before the counter limit does.
        let mut s = SpaceSaving::new(4).unwrap();
        let mut key = vec![0u8; 64 << 10];
        for i in 0..2000u32 {
            key[..4].copy_from_slice(&(i % 700).to_le_bytes());
            s.update_bytes(&key, hash_bytes(&key), 1).unwrap();
            assert!(s.arena.len() <= ARENA_BUDGET + key.len());
        }
        assert!(s.threshold() > 0);
        assert_eq!(round_trip(&s).len(), 4);
    }

    #[test]
    fn json_of_ints() {
        let mut s = SpaceSaving::new(3).unwrap();
        assert_eq!(s.to_json()["item_kind"], serde_json::Value::Null);
        for v in 0..10i64 {
            upd(&mut s, v, v as u64 + 1);
        }
        let j = s.to_json();
        assert_eq!(j["capacity"], 3);
        assert_eq!(j["total"], 55);
        assert_eq!(j["threshold"], 7);
        assert_eq!(j["counters"], 3);
        assert_eq!(j["item_kind"], "int");
        assert_eq!(j["items"][0]["item"], 9);
        assert_eq!(j["items"][0]["count"], 10);
        assert_eq!(j["items"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn merge_bounds_all_representations() {
        // Table + table, table + decoded, decoded + table, decoded + decoded.
        let (a, mut ea) = random_stream(30, 30_000, 5000, 3, 21);
        let (b, eb) = random_stream(30, 20_000, 5000, 2, 22);
        for (x, e) in ea.iter_mut().zip(&eb) {
            *x += e;
        }
        for (l, r) in [
            (a.clone(), b.clone()),
            (a.clone(), round_trip(&b)),
            (round_trip(&a), b.clone()),
            (round_trip(&a), round_trip(&b)),
        ] {
            for (mut m, o) in [(l.clone(), r.clone()), (r, l)] {
                m.merge(&o).unwrap();
                assert_eq!(m.total(), a.total() + b.total());
                check_bounds(&m, &ea);
                check_guaranteed(&m, &ea, 20);
                let st = round_trip(&m);
                check_bounds(&st, &ea);
                check_guaranteed(&st, &ea, 30);
            }
        }
    }

    #[test]
    fn merge_of_large_working_states() {
        // Two full working tables (parallel aggregation): evictions happen mid-merge.
        let (mut a, mut ea) = random_stream(64, 400_000, 400_000, 2, 31);
        let (b, eb) = random_stream(64, 400_000, 400_000, 2, 32);
        for (x, e) in ea.iter_mut().zip(&eb) {
            *x += e;
        }
        a.merge(&b).unwrap();
        check_bounds(&a, &ea);
        check_bounds(&round_trip(&a), &ea);
        check_guaranteed(&a, &ea, 64);
    }

    #[test]
    fn merge_bytes() {
        let mut a = SpaceSaving::new(2).unwrap();
        let mut b = SpaceSaving::new(2).unwrap();
        for (k, w) in [("x", 5u64), ("y", 3), ("z", 1)] {
            a.update_bytes(k.as_bytes(), hash_bytes(k.as_bytes()), w)
                .unwrap();
        }
        for (k, w) in [("y", 4u64), ("w", 2)] {
            b.update_bytes(k.as_bytes(), hash_bytes(k.as_bytes()), w)
                .unwrap();
        }
        let (a, b) = (round_trip(&a), round_trip(&b)); // a: x 5, y 3, threshold 1; b: y 4, w 2
        assert_eq!(a.threshold(), 1);
        for mut m in [a.clone(), b.clone()] {
            m.merge(if m == a { &b } else { &a }).unwrap();
            let st = round_trip(&m);
            let top = st.top(2);
            // Thresholds 1 + 0; w (only in b: 2 + 1, error 1) is cut: threshold 3.
            assert_eq!(st.threshold(), 3);
            assert_eq!(top[0].item, Item::Bytes(b"y".to_vec()));
            assert_eq!((top[0].count, top[0].error), (7, 0));
            assert_eq!(top[1].item, Item::Bytes(b"x".to_vec()));
            assert_eq!((top[1].count, top[1].error), (5, 0));
        }
    }

    #[test]
    fn merge_can_leave_no_counter() {
        // Each side keeps one counter at its threshold: the merged threshold bounds
        // both, so no counter is needed.
        let mut a = SpaceSaving::new(1).unwrap();
        upd(&mut a, 1, 1);
        upd(&mut a, 2, 1);
        let mut b = SpaceSaving::new(1).unwrap();
        upd(&mut b, 3, 1);
        upd(&mut b, 4, 1);
        let (a, b) = (round_trip(&a), round_trip(&b));
        assert_eq!((a.len(), a.threshold()), (1, 1));
        let mut m = a.clone();
        m.merge(&b).unwrap();
        let m = round_trip(&m);
        assert_eq!((m.len(), m.threshold(), m.total()), (0, 2, 4));
        assert_eq!(m.estimate_int(1, hash_i64(1)), (2, 2));
        let mut e = vec![0u64; 5];
        e[1..].fill(1);
        check_bounds(&m, &e);
        let mut u = m.clone();
        upd(&mut u, 9, 1);
        assert_eq!(u.estimate_int(9, hash_i64(9)), (3, 2));
    }

    #[test]
    fn format_round_trip() {
        let (s, _) = random_stream(500, 100_000, 50_000, 4, 41);
        let b = s.to_bytes();
        assert_eq!(b[0], MAGIC);
        assert_eq!(b[1], VERSION);
        let d = SpaceSaving::from_bytes(&b).unwrap();
        assert_eq!(d.to_bytes(), b);
        assert_eq!(d.top(usize::MAX), round_trip(&d).top(usize::MAX));
        assert_eq!(SpaceSaving::from_text(&s.to_text()).unwrap().to_bytes(), b);
        assert!(s.to_text().starts_with("spacesaving:"));
        assert!(SpaceSaving::from_text("hll:AAAA").is_err());
        let empty = SpaceSaving::new(DEFAULT_CAPACITY).unwrap();
        let eb = empty.to_bytes();
        assert_eq!(SpaceSaving::from_bytes(&eb).unwrap().to_bytes(), eb);
        // Negative, extreme and adjacent ids.
        let mut x = SpaceSaving::new(10).unwrap();
        for v in [i64::MIN, -1, 0, 1, 2, i64::MAX] {
            upd(&mut x, v, 1);
        }
        let xb = x.to_bytes();
        assert_eq!(SpaceSaving::from_bytes(&xb).unwrap().to_bytes(), xb);
    }

    #[test]
    fn decoder_rejects_garbage() {
        let (s, _) = random_stream(200, 50_000, 20_000, 3, 51);
        let b = s.to_bytes();
        for cut in 0..b.len() {
            assert!(
                SpaceSaving::from_bytes(&b[..cut]).is_err(),
                "truncation at {cut} accepted"
            );
        }
        let mut t = b.clone();
        t.push(0);
        assert!(
            SpaceSaving::from_bytes(&t).is_err(),
            "trailing byte accepted"
        );
        let mut m = b.clone();
        m[0] = b'H';
        assert!(SpaceSaving::from_bytes(&m).is_err());
        let mut v = b.clone();
        v[1] = 2;
        assert!(SpaceSaving::from_bytes(&v).unwrap_err().hint.is_some());
        // Every single-bit flip: never a panic; an accepted sketch is self-consistent.
        for i in 0..b.len() {
            for bit in 0..8 {
                let mut f = b.clone();
                f[i] ^= 1 << bit;
                if let Ok(d) = SpaceSaving::from_bytes(&f) {
                    let t = d.threshold();
                    for e in d.top(usize::MAX) {
                        assert!(
                            e.error <= t
                                && t <= e.count
                                && e.count <= d.total()
                                && e.error < e.count
                        );
                    }
                    SpaceSaving::from_bytes(&d.to_bytes()).unwrap();
                }
            }
        }
        // Random byte strings.
        let mut rng = Rng(9);
        for len in 0..2000 {
            let mut g: Vec<u8> = (0..len % 64).map(|_| rng.next() as u8).collect();
            if len % 2 == 0 && g.len() >= 2 {
                g[0] = MAGIC;
                g[1] = VERSION;
            }
            let _ = SpaceSaving::from_bytes(&g);
        }
    }

    /// Hand-built encodings: each breaks one rule.
    fn encode(
        cap: u64,
        kind: u8,
        total: u64,
        t: u64,
        entries: &[(u64, u64)],
        n: Option<u64>,
    ) -> Vec<u8> {
        let mut w = Writer::with_header(MAGIC, VERSION);
        w.varint(cap);
        w.u32(0);
        w.u8(kind);
        w.varint(total);
        w.varint(t);
        w.varint(n.unwrap_or(entries.len() as u64));
        for &(k, code) in entries {
            w.varint(k);
            w.varint(code);
        }
        w.finish()
    }

    #[test]
    fn decoder_checks_invariants() {
        // Valid: items 1 and 3 (zigzag 2, then delta-1 = 1), counts 5 and 4, threshold 2.
        let ok = encode(4, 1, 9, 2, &[(2, 3 * 3), (1, 2 * 3)], None);
        let d = SpaceSaving::from_bytes(&ok).unwrap();
        assert_eq!(d.estimate_int(3, hash_i64(3)), (4, 0));
        assert_eq!(d.to_bytes(), ok);
        let bad = [
            encode(0, 1, 9, 2, &[(2, 9)], None), // capacity 0
            encode(MAX_CAPACITY as u64 + 1, 1, 9, 2, &[(2, 9)], None), // capacity too large
            encode(1, 1, 9, 2, &[(2, 9), (1, 6)], None), // n > capacity
            encode(4, 3, 9, 2, &[(2, 9)], None), // unknown kind
            encode(4, 0, 9, 2, &[(2, 9)], None), // kind 0 with items
            encode(4, 1, 0, 0, &[], None),       // int kind, no items
            encode(4, 1, 9, 10, &[(2, 9)], None), // threshold > total
            encode(4, 1, 9, 2, &[(2, 8 * 3)], None), // count > total
            encode(4, 1, 9, 2, &[(2, 3 * 3), (1, 3 * 3)], None), // lower bounds > total
            encode(4, 1, 9, 2, &[(2, 3 * 3 + 1), (1, 0)], None), // valid (skipped below)
            encode(4, 1, 9, 0, &[(2, 1)], None), // error = threshold tag with threshold 0
            encode(4, 1, 9, 2, &[(2, 2), (1, 0)], None), // tag 2 without error
            encode(4, 1, u64::MAX, 2, &[(2, 9)], None), // total > i64::MAX
            encode(4, 1, 9, 2, &[(2, 9)], Some(1000)), // n larger than the data
        ];
        for (i, b) in bad.iter().enumerate() {
            if i == 9 {
                continue; // valid: (5, error 2), (2, error 0)
            }
            assert!(SpaceSaving::from_bytes(b).is_err(), "case {i} accepted");
        }
        assert!(SpaceSaving::from_bytes(&bad[9]).is_ok());
        // Counted, no counter kept: needs a threshold; empty: needs kind 0.
        assert!(SpaceSaving::from_bytes(&encode(4, 1, 9, 3, &[], None)).is_ok());
        assert!(SpaceSaving::from_bytes(&encode(4, 1, 9, 0, &[], None)).is_err());
        assert!(SpaceSaving::from_bytes(&encode(4, 0, 0, 0, &[], None)).is_ok());
        assert!(SpaceSaving::from_bytes(&encode(4, 0, 0, 1, &[], None)).is_err());
        // tag 2 with error >= threshold.
        let mk = |t: u64, code: u64, e1: u64| {
            let mut w = Writer::with_header(MAGIC, VERSION);
            w.varint(4);
            w.u32(0);
            w.u8(1);
            w.varint(100);
            w.varint(t);
            w.varint(1);
            w.varint(2);
            w.varint(code);
            w.varint(e1);
            w.finish()
        };
        assert!(SpaceSaving::from_bytes(&mk(5, 2, 1)).is_ok()); // count 5, error 2
        assert!(SpaceSaving::from_bytes(&mk(5, 2, 4)).is_err()); // error 5 = t via tag 2
        assert!(SpaceSaving::from_bytes(&mk(5, 2, 10)).is_err()); // error > t
                                                                  // Duplicate int items (delta 0 is impossible: deltas are stored minus one), and
                                                                  // items past i64::MAX.
        let mut w = Writer::with_header(MAGIC, VERSION);
        w.varint(4);
        w.u32(0);
        w.u8(1);
        w.varint(10);
        w.varint(0);
        w.varint(2);
        w.varint(zigzag(i64::MAX));
        w.varint(0);
        w.varint(0);
        w.varint(0);
        assert!(SpaceSaving::from_bytes(&w.finish()).is_err());
        // Duplicate / descending byte items.
        for (k1, k2) in [(&b"b"[..], &b"b"[..]), (b"b", b"a")] {
            let mut w = Writer::with_header(MAGIC, VERSION);
            w.varint(4);
            w.u32(0);
            w.u8(2);
            w.varint(10);
            w.varint(0);
            w.varint(2);
            w.blob(k1);
            w.varint(3);
            w.blob(k2);
            w.varint(3);
            assert!(SpaceSaving::from_bytes(&w.finish()).is_err());
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// (item, weight) events over a small id range so that evictions happen.
        fn events() -> impl Strategy<Value = Vec<(i64, u64)>> {
            prop::collection::vec((0i64..400, 1u64..5), 0..1500)
        }

        fn build(cap: u32, ev: &[(i64, u64)], stored: bool) -> SpaceSaving {
            let mut s = SpaceSaving::new(cap).unwrap();
            for &(v, w) in ev {
                s.update_int(v, hash_i64(v), w).unwrap();
            }
            if stored {
                s = round_trip(&s);
            }
            s
        }

        fn exact(parts: &[&[(i64, u64)]]) -> Vec<u64> {
            let mut e = vec![0u64; 400];
            for p in parts {
                for &(v, w) in *p {
                    e[v as usize] += w;
                }
            }
            e
        }

        fn check(s: &SpaceSaving, e: &[u64]) {
            check_bounds(s, e);
            check_guaranteed(s, e, 5);
            check_bounds(&round_trip(s), e);
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn bounds_hold_for_weighted_streams(cap in 1u32..40, ev in events()) {
                let s = build(cap, &ev, false);
                let e = exact(&[&ev]);
                prop_assert_eq!(s.total(), e.iter().sum::<u64>());
                check(&s, &e);
            }

            #[test]
            fn merge_commutative_in_guarantees(cap in 1u32..20, a in events(), b in events(), sa: bool, sb: bool) {
                let (x, y) = (build(cap, &a, sa), build(cap, &b, sb));
                let e = exact(&[&a, &b]);
                let mut xy = x.clone();
                xy.merge(&y).unwrap();
                let mut yx = y.clone();
                yx.merge(&x).unwrap();
                prop_assert_eq!(xy.total(), yx.total());
                check(&xy, &e);
                check(&yx, &e);
                // Without any cut both orders give the same exact counts.
                let distinct = e.iter().filter(|&&c| c > 0).count();
                if x.threshold() == 0 && y.threshold() == 0 && distinct <= cap as usize {
                    let up = |s: &SpaceSaving| s.top(usize::MAX).into_iter().map(|e| (e.item, e.count)).collect::<Vec<_>>();
                    prop_assert_eq!(up(&xy), up(&yx));
                    prop_assert_eq!(xy.threshold(), yx.threshold());
                }
            }

            #[test]
            fn merge_associative_in_guarantees(cap in 1u32..20, a in events(), b in events(), c in events(), st: bool) {
                let (x, y, z) = (build(cap, &a, st), build(cap, &b, !st), build(cap, &c, st));
                let e = exact(&[&a, &b, &c]);
                let mut l = x.clone();
                l.merge(&y).unwrap();
                l.merge(&z).unwrap();
                let mut r = y.clone();
                r.merge(&z).unwrap();
                let mut r2 = x.clone();
                r2.merge(&r).unwrap();
                prop_assert_eq!(l.total(), r2.total());
                check(&l, &e);
                check(&r2, &e);
            }

            #[test]
            fn random_merge_trees_keep_bounds(cap in 1u32..10, parts in prop::collection::vec(events(), 1..8), order in prop::collection::vec(any::<u8>(), 8)) {
                let mut sk: Vec<SpaceSaving> = parts.iter().enumerate().map(|(i, p)| build(cap, p, i % 2 == 0)).collect();
                let refs: Vec<&[(i64, u64)]> = parts.iter().map(|p| p.as_slice()).collect();
                let e = exact(&refs);
                let mut k = 0;
                while sk.len() > 1 {
                    let i = order[k % order.len()] as usize % sk.len();
                    k += 1;
                    let other = sk.remove(i);
                    let j = order[k % order.len()] as usize % sk.len();
                    let other = if k % 3 == 0 { round_trip(&other) } else { other };
                    sk[j].merge(&other).unwrap();
                }
                check(&sk[0], &e);
            }

            #[test]
            fn decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
                let mut b = bytes;
                if b.len() >= 2 {
                    b[0] = MAGIC;
                    b[1] = VERSION;
                }
                if let Ok(d) = SpaceSaving::from_bytes(&b) {
                    for e in d.top(usize::MAX) {
                        prop_assert!(e.error < e.count && e.count <= d.total());
                    }
                }
            }
        }
    }

    #[test]
    fn batched_updates_equal_single_updates() {
        let z = Zipf::new(50_000, 0.9, 5);
        let mut rng = Rng(17);
        let items: Vec<(i64, u64, u64)> = (0..300_000)
            .map(|i| {
                let v = z.sample(&mut rng);
                (v, hash_i64(v), 1 + (i % 3 == 0) as u64)
            })
            .collect();
        let mut one = SpaceSaving::new(1000).unwrap();
        for &(v, h, w) in &items {
            one.update_int(v, h, w).unwrap();
        }
        let mut batched = SpaceSaving::new(1000).unwrap();
        for chunk in items.chunks(32) {
            batched.update_ints(chunk).unwrap();
        }
        assert_eq!(one.to_bytes(), batched.to_bytes());
    }
}
