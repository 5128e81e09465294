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
//! # On-disk format (version 2)
//!
//! All `varint`s are LEB128 in their shortest form; `eg_k(v)` is the order-k
//! exponential-Golomb code of v in one bit stream (`bits.rs`: least significant bit
//! first, the last byte padded with zero bits).
//!
//! ```text
//! 'S' 2 capacity:varint item_type:u32 kind:u8 (0 = no items yet, 1 = int, 2 = bytes)
//! total:varint threshold:varint n:varint
//! n = 0: nothing follows. Otherwise, entries in ascending item order (ints by signed
//! value, bytes lexicographically), with code = (count - threshold) * 3 + tag
//! (tag 0: error = 0; tag 1: error = threshold > 0; tag 2: 0 < error < threshold):
//!   int:   zigzag(first item):varint kg:u8 kc:u8, then the bit stream of
//!          for each entry: (entry > 0: eg_kg(item - previous - 1)) eg_kc(code)
//!                          (tag 2: error - 1 in bitlen(threshold - 2) bits)
//!   bytes: kp:u8 kl:u8 kc:u8 suffix_bytes:varint, the suffixes (suffix_bytes bytes),
//!          then the bit stream of, for each entry:
//!          (entry > 0: eg_kp(bytes shared with the previous item)) eg_kl(suffix length)
//!          eg_kc(code) (tag 2: error - 1 as above)
//! ```
//!
//! Each order k is the one of least estimated size for its field's values (`Orders`),
//! a function of the values alone. The decoder checks every field as in version 1 and
//! refuses every form but the encoder's: the canonical orders, the longest shared
//! prefix, every suffix byte used, zero padding, no trailing bytes, and for byte items
//! a size within [`stored_bytes_budget`]. So `to_bytes(from_bytes(b)) == b`.
//!
//! The cut to the stored form keeps at most `capacity` counters and, for byte items,
//! the largest ones whose stored form fits [`stored_bytes_budget`] (64,000 bytes up to
//! the default capacity, 16/3 bytes a counter above), raising the threshold to the
//! largest dropped count as the capacity cut does.
//!
//! # On-disk format (version 1, topk_pg 0.3 and earlier: still read)
//!
//! ```text
//! 'S' 1 capacity:varint item_type:u32 kind:u8 total:varint threshold:varint n:varint
//! n entries in ascending item order:
//!   item   int:   first entry zigzag(v):varint, later (v - previous - 1):varint
//!          bytes: len:varint then the bytes
//!   code:varint = (count - threshold) * 3 + tag (up to 65 bits: at most 10 bytes)
//!          tag 2 followed by (error - 1):varint
//! ```
//!
//! The decoder checks every field: capacity range, n <= capacity, item kind 0 exactly
//! when total is 0, a threshold of at least 1 when something was counted but no
//! counter is kept, strictly ascending items, `error <= threshold <= count <= total`,
//! `count - error >= 1`, the sum of the lower bounds `<= total`, canonical tags, and
//! no trailing bytes. A sketch read in version 1 is written in version 2.
//!
//! # Files
//!
//! This file holds the types, the limits and the helpers they share; `table.rs` the
//! working table and its batch eviction, `update.rs` counting, `read.rs` estimates and
//! the top counters, `merge.rs` the merge (and `merge_bytes`), `resize.rs` merges across capacities,
//! `format.rs` the stored form (cut, encode, decode, text, JSON), `format_v1.rs` and
//! `format_v2.rs` the entries of each version, `bits.rs` version 2's bit streams; `tests.rs`,
//! `merge_tests.rs`, `format_tests.rs` and `size_tests.rs` (accuracy at a stored size) their tests.

use crate::codec::{from_text, to_text, Reader, Writer};
use crate::error::{Result, SketchError};
use crate::hash::{hash_bytes, hash_i64};
use std::cmp::Ordering;
use std::fmt;

mod bits;
mod format;
#[cfg(test)]
mod format_tests;
mod format_v1;
mod format_v2;
mod merge;
#[cfg(test)]
mod merge_tests;
mod read;
mod resize;
#[cfg(test)]
mod size_tests;
mod table;
#[cfg(test)]
mod table_tests;
#[cfg(test)]
mod tests;
mod update;

pub const MAGIC: u8 = b'S';
/// Version written (version 1 still reads).
pub const VERSION: u8 = 2;
pub const TEXT_PREFIX: &str = "spacesaving";
/// Counters of a stored sketch by default: a sketch of bigint items drawn from
/// 1..1,000,000 stays under 64 KB.
pub const DEFAULT_CAPACITY: u32 = 12_000;
/// Stored bytes of a sketch of byte items at capacities up to the default.
pub const STORED_BYTES_MIN_BUDGET: usize = 64_000;

/// Most bytes the stored form of a sketch of byte items takes: 64,000, and 16/3 bytes a
/// counter above the default capacity. The cut keeps the largest counters that fit.
pub fn stored_bytes_budget(capacity: u32) -> usize {
    STORED_BYTES_MIN_BUDGET.max(capacity as usize * 16 / 3)
}

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
    /// The list [`SpaceSaving::merge_bytes`] decodes into, kept for its next call.
    spare: Spare,
    /// Byte-string keys.
    arena: Vec<u8>,
}

/// A list kept for reuse; a clone starts without one.
#[derive(Default)]
struct Spare(Vec<Slot>);

impl Clone for Spare {
    fn clone(&self) -> Self {
        Spare::default()
    }
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

/// A counter read out of a sketch: key (in that sketch's terms), count, lower bound,
/// hash (0 when unknown).
#[derive(Clone, Copy)]
struct Counter {
    key: u64,
    count: u64,
    lower: u64,
    hash: u64,
}
