//! Exact counts of items: a hash map from item to its count and its events (the rows
//! that added to it). The pipeline's batch path counts each window with one, from the
//! events of an hour or from the counts of the window's parts, and stores the result
//! as arrays sorted by count (largest first), ties by item.
//!
//! A tally holds integer items or byte-string items, never both. Its binary form exists
//! for PostgreSQL to move a state between nodes of one query; it is never stored, but
//! its decoder validates like every other (no duplicate items, no trailing bytes).

use crate::codec::{Reader, Writer};
use crate::error::{checked_add_count, Result, SketchError};
use crate::hash::{hash_bytes, remix};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub const MAGIC: u8 = b'T';
pub const VERSION: u8 = 1;

const EMPTY: u8 = 0;
const INTS: u8 = 1;
const BYTES: u8 = 2;

/// An item's total weight (`count`) and the number of rows that gave it (`events`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub count: u64,
    pub events: u64,
}

impl Counts {
    fn add(&mut self, count: u64, events: u64) -> Result<()> {
        self.count = checked_add_count(self.count, count)?;
        self.events = checked_add_count(self.events, events)?;
        Ok(())
    }
}

/// The map's hasher: splitmix for integers, XXH3 for bytes (only in memory: the order
/// of a map is never observable).
#[derive(Default)]
pub struct ItemHasher(u64);

impl Hasher for ItemHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = remix(self.0 ^ hash_bytes(bytes));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = remix(self.0 ^ v);
    }
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

type Map<K> = HashMap<K, Counts, BuildHasherDefault<ItemHasher>>;

#[derive(Clone, Debug, Default)]
pub struct Tally {
    ints: Map<i64>,
    bytes: Map<Box<[u8]>>,
    /// The SQL layer's tag of the items' type (0: unknown), checked by merges.
    pub item_tag: u32,
}

impl Tally {
    pub fn new() -> Self {
        Self::default()
    }

    /// Distinct items counted.
    pub fn len(&self) -> usize {
        self.ints.len() + self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn add_int(&mut self, item: i64, count: u64, events: u64) -> Result<()> {
        if !self.bytes.is_empty() {
            return Err(mixed());
        }
        self.ints.entry(item).or_default().add(count, events)
    }

    #[inline]
    pub fn add_bytes(&mut self, item: &[u8], count: u64, events: u64) -> Result<()> {
        if !self.ints.is_empty() {
            return Err(mixed());
        }
        match self.bytes.get_mut(item) {
            Some(c) => c.add(count, events),
            None => {
                let mut c = Counts::default();
                c.add(count, events)?;
                self.bytes.insert(item.into(), c);
                Ok(())
            }
        }
    }

    /// Adds another tally's counts to this one's.
    pub fn merge(&mut self, other: &Tally) -> Result<()> {
        if self.item_tag != 0 && other.item_tag != 0 && self.item_tag != other.item_tag {
            return Err(SketchError::mismatch("cannot merge tallies of items of different types"));
        }
        if self.item_tag == 0 {
            self.item_tag = other.item_tag;
        }
        for (&k, c) in &other.ints {
            self.add_int(k, c.count, c.events)?;
        }
        for (k, c) in &other.bytes {
            self.add_bytes(k, c.count, c.events)?;
        }
        Ok(())
    }

    /// Bytes held on the heap (an estimate: the maps' tables and the byte items).
    pub fn heap_bytes(&self) -> usize {
        let key_bytes: usize = self.bytes.keys().map(|k| k.len()).sum();
        self.ints.capacity() * 25 + self.bytes.capacity() * 33 + key_bytes
    }

    /// The sums of the counts and of the events of all items.
    pub fn totals(&self) -> Result<Counts> {
        let mut sum = Counts::default();
        for c in self.ints.values().chain(self.bytes.values()) {
            sum.add(c.count, c.events)?;
        }
        Ok(sum)
    }

    /// The integer items, largest count first, ties by item.
    pub fn sorted_ints(&self) -> Vec<(i64, Counts)> {
        let mut v: Vec<(i64, Counts)> = self.ints.iter().map(|(&k, &c)| (k, c)).collect();
        v.sort_unstable_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
        v
    }

    /// The byte-string items, largest count first, ties in the order of `cmp`.
    pub fn sorted_bytes(&self, mut cmp: impl FnMut(&[u8], &[u8]) -> Ordering) -> Vec<(&[u8], Counts)> {
        let mut v: Vec<(&[u8], Counts)> = self.bytes.iter().map(|(k, &c)| (&k[..], c)).collect();
        v.sort_unstable_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| cmp(a.0, b.0)));
        v
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(MAGIC, VERSION);
        w.u32(self.item_tag);
        if !self.ints.is_empty() {
            w.u8(INTS);
            w.varint(self.ints.len() as u64);
            for (&k, c) in &self.ints {
                w.varint(((k << 1) ^ (k >> 63)) as u64);
                w.varint(c.count);
                w.varint(c.events);
            }
        } else if !self.bytes.is_empty() {
            w.u8(BYTES);
            w.varint(self.bytes.len() as u64);
            for (k, c) in &self.bytes {
                w.blob(k);
                w.varint(c.count);
                w.varint(c.events);
            }
        } else {
            w.u8(EMPTY);
        }
        w.finish()
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self> {
        let (mut r, version) = Reader::open(buf, MAGIC, "tally")?;
        if version != VERSION {
            return Err(r.err(&format!("unknown format version {version}")));
        }
        let mut t = Tally { item_tag: r.u32()?, ..Tally::default() };
        match r.u8()? {
            EMPTY => {}
            INTS => {
                let n = r.count(3)?;
                t.ints.reserve(n);
                for _ in 0..n {
                    let z = r.varint()?;
                    let k = ((z >> 1) as i64) ^ -((z & 1) as i64);
                    let c = read_counts(&mut r)?;
                    if t.ints.insert(k, c).is_some() {
                        return Err(r.err("an item appears twice"));
                    }
                }
            }
            BYTES => {
                let n = r.count(3)?;
                t.bytes.reserve(n);
                for _ in 0..n {
                    let k: Box<[u8]> = r.blob()?.into();
                    let c = read_counts(&mut r)?;
                    if t.bytes.insert(k, c).is_some() {
                        return Err(r.err("an item appears twice"));
                    }
                }
            }
            other => return Err(r.err(&format!("unknown item kind {other}"))),
        }
        r.finish()?;
        Ok(t)
    }

    pub fn to_text(&self) -> String {
        crate::codec::to_text("tally", &self.to_bytes())
    }

    pub fn from_text(text: &str) -> Result<Self> {
        Self::from_bytes(&crate::codec::from_text("tally", text, "tally")?)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "type": "tally", "items": self.len() })
    }
}

fn read_counts(r: &mut Reader) -> Result<Counts> {
    let c = Counts { count: r.varint()?, events: r.varint()? };
    if c.count > i64::MAX as u64 || c.events > i64::MAX as u64 {
        return Err(r.err("a count exceeds the bigint maximum"));
    }
    Ok(c)
}

fn mixed() -> SketchError {
    SketchError::mismatch("a tally counts integer items or byte-string items, not both")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sorts() {
        let mut t = Tally::new();
        for (k, w) in [(5, 1), (3, 2), (5, 1), (7, 2), (-1, 0)] {
            t.add_int(k, w, 1).unwrap();
        }
        let v = t.sorted_ints();
        let got: Vec<(i64, u64, u64)> = v.iter().map(|(k, c)| (*k, c.count, c.events)).collect();
        assert_eq!(got, vec![(3, 2, 1), (5, 2, 2), (7, 2, 1), (-1, 0, 1)]);
        assert!(t.add_bytes(b"x", 1, 1).is_err());
    }

    #[test]
    fn round_trip_and_merge() {
        let mut a = Tally::new();
        a.item_tag = 25;
        for (k, w) in [(&b"b"[..], 3u64), (b"a", 3), (b"", 1), (b"b", 1)] {
            a.add_bytes(k, w, 1).unwrap();
        }
        let b = Tally::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(b.sorted_bytes(|x, y| x.cmp(y)), a.sorted_bytes(|x, y| x.cmp(y)));
        let mut m = a.clone();
        m.merge(&b).unwrap();
        let got: Vec<(&[u8], u64, u64)> = m.sorted_bytes(|x, y| x.cmp(y)).into_iter().map(|(k, c)| (k, c.count, c.events)).collect();
        assert_eq!(got, vec![(&b"b"[..], 8, 4), (b"a", 6, 2), (b"", 2, 2)]);
        let mut other = Tally::new();
        other.item_tag = 20;
        other.add_int(1, 1, 1).unwrap();
        assert!(m.merge(&other).is_err());
        for t in [Tally::new(), other] {
            let back = Tally::from_bytes(&t.to_bytes()).unwrap();
            assert_eq!(back.sorted_ints(), t.sorted_ints());
            assert_eq!(back.item_tag, t.item_tag);
        }
    }

    #[test]
    fn overflow_is_an_error() {
        let mut t = Tally::new();
        t.add_int(1, i64::MAX as u64, 1).unwrap();
        assert!(t.add_bytes(b"x", 1, 1).is_err());
        assert!(Tally::new().add_bytes(b"x", u64::MAX, 1).is_err());
        assert!(t.add_int(1, 1, 1).is_err());
    }

    #[test]
    fn decoder_rejects_bad_bytes() {
        let mut t = Tally::new();
        t.add_int(i64::MIN, 1, 1).unwrap();
        t.add_int(i64::MAX, 2, 1).unwrap();
        let good = t.to_bytes();
        assert_eq!(Tally::from_bytes(&good).unwrap().sorted_ints(), t.sorted_ints());
        for cut in 0..good.len() {
            assert!(Tally::from_bytes(&good[..cut]).is_err());
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(Tally::from_bytes(&trailing).is_err());
        // the same item twice
        let mut w = Writer::with_header(MAGIC, VERSION);
        w.u32(0);
        w.u8(INTS);
        w.varint(2);
        for _ in 0..2 {
            w.varint(4);
            w.varint(1);
            w.varint(1);
        }
        assert!(Tally::from_bytes(&w.finish()).is_err());
        assert!(Tally::from_bytes(&[MAGIC, 9, 0, 0, 0, 0, 0]).is_err());
        assert!(Tally::from_bytes(&[MAGIC, VERSION, 0, 0, 0, 0, 7]).is_err());
    }
}
