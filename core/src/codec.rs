//! Byte writer and bounds-checked reader for the on-disk formats.
//!
//! Every stored sketch starts with a two-byte header: a magic byte naming the sketch
//! kind and a format version. All integers are little-endian; `varint` is LEB128 in its
//! shortest form: the reader refuses any other (such as `0x80 0x00` for 0), so that a
//! sketch has one encoding.
//! The reader never reads past its buffer: every getter returns an error instead.

use crate::error::{Result, SketchError};
use base64::Engine;

/// Largest flat sketch accepted by a decoder or built by a constructor (PostgreSQL's
/// varlena limit is 1 GB; a sketch is kept far below it).
pub const MAX_SKETCH_BYTES: usize = 256 << 20;

#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn with_header(magic: u8, version: u8) -> Self {
        let mut w = Writer { buf: Vec::new() };
        w.u8(magic);
        w.u8(version);
        w
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    /// A length-prefixed byte string.
    pub fn blob(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.bytes(b);
    }
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Checks the header and returns a reader positioned after it, with the version.
    pub fn open(buf: &'a [u8], magic: u8, what: &'static str) -> Result<(Self, u8)> {
        if buf.len() > MAX_SKETCH_BYTES {
            return Err(SketchError::corrupt(format!(
                "invalid {what}: {} bytes is larger than any sketch",
                buf.len()
            )));
        }
        let mut r = Reader { buf, pos: 0, what };
        let m = r.u8()?;
        if m != magic {
            return Err(r.err(&format!("not a {what} (wrong magic byte 0x{m:02x})")).with_hint(
                "The value may be a sketch of another type, or not a sketch at all.",
            ));
        }
        let v = r.u8()?;
        Ok((r, v))
    }
    #[cold]
    pub fn err(&self, detail: &str) -> SketchError {
        SketchError::corrupt(format!("invalid {}: {detail}", self.what))
    }
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.err("truncated data"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    #[inline]
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    #[inline]
    pub fn varint(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                return Err(self.err("varint overflows 64 bits"));
            }
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                // A last byte of 0 after others adds nothing: a longer form than needed.
                if b == 0 && i > 0 {
                    return Err(self.err("varint not in its shortest form"));
                }
                return Ok(v);
            }
        }
        Err(self.err("varint too long"))
    }
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        self.take(n)
    }
    pub fn blob(&mut self) -> Result<&'a [u8]> {
        let n = self.varint()?;
        if n > self.remaining() as u64 {
            return Err(self.err("length prefix points past the end"));
        }
        self.take(n as usize)
    }
    /// A count of elements that each take at least `min_bytes`: rejects counts that
    /// the remaining bytes cannot hold, before anything is allocated for them.
    pub fn count(&mut self, min_bytes: usize) -> Result<usize> {
        let n = self.varint()?;
        if n.saturating_mul(min_bytes.max(1) as u64) > self.remaining() as u64 {
            return Err(self.err("element count larger than the data"));
        }
        Ok(n as usize)
    }
    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<()> {
        if self.remaining() != 0 {
            return Err(self.err("trailing bytes"));
        }
        Ok(())
    }
}

/// Text form of a sketch: a type prefix and the base64 of its binary form, so that
/// text output always reads back through text input (pg_dump, COPY, Citus).
pub fn to_text(prefix: &str, bytes: &[u8]) -> String {
    let mut s = String::with_capacity(prefix.len() + 1 + bytes.len() * 4 / 3 + 4);
    s.push_str(prefix);
    s.push(':');
    base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut s);
    s
}

/// Inverse of [`to_text`].
pub fn from_text(prefix: &str, text: &str, what: &str) -> Result<Vec<u8>> {
    let body = text
        .trim()
        .strip_prefix(prefix)
        .and_then(|t| t.strip_prefix(':'))
        .ok_or_else(|| {
            SketchError::corrupt(format!("invalid input syntax for type {what}"))
                .with_hint(format!("A {what} value is written as \"{prefix}:\" followed by base64."))
        })?;
    if body.len() > MAX_SKETCH_BYTES / 3 * 4 + 4 {
        return Err(SketchError::corrupt(format!("invalid input for type {what}: too long")));
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| SketchError::corrupt(format!("invalid input syntax for type {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut w = Writer::with_header(b'T', 1);
            w.varint(v);
            let buf = w.finish();
            let (mut r, ver) = Reader::open(&buf, b'T', "test").unwrap();
            assert_eq!(ver, 1);
            assert_eq!(r.varint().unwrap(), v);
            r.finish().unwrap();
        }
    }

    fn read_varint(body: &[u8]) -> Result<(u64, usize)> {
        let mut buf = vec![b'T', 1];
        buf.extend_from_slice(body);
        let (mut r, _) = Reader::open(&buf, b'T', "test").unwrap();
        let v = r.varint()?;
        Ok((v, body.len() - r.remaining()))
    }

    fn encode(v: u64) -> Vec<u8> {
        let mut w = Writer::default();
        w.varint(v);
        w.finish()
    }

    #[test]
    fn varint_only_shortest_form() {
        // Shortest forms, including the longest (10 bytes) and the edges of each length.
        for v in [0u64, 127, 128, 16_383, 16_384, 1 << 63, u64::MAX] {
            assert_eq!(read_varint(&encode(v)).unwrap(), (v, encode(v).len()));
        }
        assert_eq!(encode(u64::MAX).len(), 10);
        // Padded forms of 0, 1 and 127 (2, 3 and 10 bytes), and 2^63 - 1 in 10 bytes, not 9.
        let mut padded_max = encode(i64::MAX as u64);
        *padded_max.last_mut().unwrap() |= 0x80;
        padded_max.push(0);
        for bad in [
            &[0x80, 0x00][..],
            &[0x81, 0x00],
            &[0xff, 0x00],
            &[0x81, 0x80, 0x00],
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
            &padded_max,
        ] {
            let e = read_varint(bad).unwrap_err();
            assert!(e.message.contains("shortest form"), "{bad:?}: {}", e.message);
        }
        // Still refused: past 64 bits, more than 10 bytes, truncated.
        assert!(read_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).is_err());
        assert!(read_varint(&[0x80; 11]).is_err());
        assert!(read_varint(&[0x80]).is_err());
    }

    proptest::proptest! {
        /// Every value reads back, and every byte string that reads as a varint is the
        /// encoding of what it reads as.
        #[test]
        fn prop_varint_canonical(
            v in proptest::prelude::any::<u64>(),
            shift in 0u32..64,
            b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        ) {
            let v = v >> shift;
            proptest::prop_assert_eq!(read_varint(&encode(v)).unwrap(), (v, encode(v).len()));
            if let Ok((x, used)) = read_varint(&b) {
                proptest::prop_assert_eq!(&encode(x)[..], &b[..used]);
            }
        }
    }

    #[test]
    fn reader_never_reads_past_end() {
        let (mut r, _) = Reader::open(&[b'T', 1, 0xff], b'T', "test").unwrap();
        assert!(r.varint().is_err());
        let (mut r, _) = Reader::open(&[b'T', 1, 5, 1], b'T', "test").unwrap();
        assert!(r.blob().is_err());
        assert!(Reader::open(&[b'X', 1], b'T', "test").is_err());
        assert!(Reader::open(&[], b'T', "test").is_err());
    }

    #[test]
    fn text_round_trip() {
        let t = to_text("hll", &[1, 2, 3]);
        assert_eq!(from_text("hll", &t, "hll").unwrap(), vec![1, 2, 3]);
        assert!(from_text("cms", &t, "cms").is_err());
        assert!(from_text("hll", "hll:!!", "hll").is_err());
    }
}
