//! Items: how a value of any SQL type becomes what the sketches count.
//!
//! Two values are the same item exactly when they are equal for their type:
//!
//! * A domain counts as its base type (`5::pid` and `5::bigint` are one item).
//! * `smallint`, `integer` and `bigint` values are integers: they hash as their 64-bit
//!   value, so `5::int4` and `5::int8` are the **same item** in every sketch.
//! * `text`, `varchar` and `bytea` count by their bytes (collations are not applied:
//!   'a' and 'A' are different items under any collation); `char(n)` and `name` as their
//!   text (without trailing blanks, up to the NUL), so they count as text items.
//! * `uuid` counts by its 16 bytes.
//! * Any other type counts by its **binary form** (the type's send function), which
//!   depends on no setting (DateStyle, TimeZone, extra_float_digits, locale) and no
//!   machine. Where equal values have several binary forms the form is made canonical
//!   first: `numeric` drops trailing zeros (1.0 = 1.00 = 1), `real` and `double
//!   precision` map -0 to 0 and every NaN to one NaN, `interval` is justified (as
//!   PostgreSQL compares it: '1 day' = '24 hours', '1 mon' = '30 days'). Such items come
//!   back through the type's receive function. A type without a send function is
//!   refused. Sketches of these types carry the [`BINARY`] tag.
//!
//! The [`ItemReader`] of a column is looked up once per aggregate (cached in the state),
//! not per row; an item is an [`ItemRef`].

use crate::fmgr::{raise, varlena_bytes};
use pgrx::pg_sys;
use std::borrow::Cow;
use topk_core::hash::{hash_bytes, hash_i64};
use topk_core::SketchError;

/// How the values of one SQL type are read as items (looked up once per aggregate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemReader {
    Int2,
    Int4,
    Int8,
    /// A varlena whose payload is the item (text, varchar, bytea).
    Varlena,
    /// `char(n)`: its bytes without the trailing blanks, as its cast to text (and the
    /// text forms of the build aggregates) count it.
    Bpchar,
    /// `name`: its bytes up to the first NUL, as its cast to text.
    Name,
    Uuid,
    /// Any other type, by its canonical binary form.
    Binary { send_fn: pg_sys::Oid, canon: Canon, tag: u32 },
}

/// How a binary form is made canonical before it is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canon {
    None,
    Numeric,
    Float4,
    Float8,
    Interval,
}

/// Flag of the item tag of sketches whose items are binary forms (its low bits are the
/// built-in type's OID, or 0 for a type defined in the database). Sketches of topk_pg
/// 0.3 and earlier tagged such items with the bare OID and held their text output:
/// they still read, but do not merge with sketches of binary items.
pub const BINARY: u32 = 0x4000_0000;

/// An item: its canonical value, borrowed from a datum or a sketch where it can be
/// (`topk_core::spacesaving::Item` is the owned form).
pub enum ItemRef<'a> {
    Int(i64),
    Bytes(Cow<'a, [u8]>),
}

impl ItemRef<'_> {
    #[inline(always)]
    pub fn hash(&self) -> u64 {
        match self {
            ItemRef::Int(v) => hash_i64(*v),
            ItemRef::Bytes(b) => hash_bytes(b),
        }
    }
}

/// The largest text item accepted (1 MB): items are identifiers, not documents.
pub const MAX_ITEM_BYTES: usize = 1 << 20;

impl ItemReader {
    pub unsafe fn for_type(typoid: pg_sys::Oid) -> ItemReader {
        if typoid == pg_sys::InvalidOid {
            raise(SketchError::invalid("could not determine the item type"));
        }
        let base = pg_sys::getBaseType(typoid);
        match base {
            pg_sys::INT2OID => ItemReader::Int2,
            pg_sys::INT4OID => ItemReader::Int4,
            pg_sys::INT8OID => ItemReader::Int8,
            pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::BYTEAOID => ItemReader::Varlena,
            pg_sys::BPCHAROID => ItemReader::Bpchar,
            pg_sys::NAMEOID => ItemReader::Name,
            pg_sys::UUIDOID => ItemReader::Uuid,
            _ => {
                let send_fn = io_function(base, pg_sys::IOFuncSelector::IOFunc_send).0;
                if send_fn == pg_sys::InvalidOid {
                    raise(
                        SketchError::invalid(format!("items of type {} cannot be counted: the type has no binary form", type_name(base)))
                            .with_hint("Count a text or integer form of the value, such as value::text."),
                    );
                }
                let canon = match base {
                    pg_sys::NUMERICOID => Canon::Numeric,
                    pg_sys::FLOAT4OID => Canon::Float4,
                    pg_sys::FLOAT8OID => Canon::Float8,
                    pg_sys::INTERVALOID => Canon::Interval,
                    _ => Canon::None,
                };
                // Built-in types have stable OIDs; user-defined ones differ between databases.
                let oid = u32::from(base);
                let tag = BINARY | if oid < pg_sys::FirstNormalObjectId { oid } else { 0 };
                ItemReader::Binary { send_fn, canon, tag }
            }
        }
    }

    /// The tag stored in sketches: types whose items hash alike share a tag, so
    /// sketches of `integer` and `bigint` columns merge.
    pub fn hash_tag(self) -> u32 {
        match self {
            ItemReader::Int2 | ItemReader::Int4 | ItemReader::Int8 => u32::from(pg_sys::INT8OID),
            ItemReader::Varlena | ItemReader::Bpchar | ItemReader::Name => u32::from(pg_sys::TEXTOID),
            ItemReader::Uuid => u32::from(pg_sys::UUIDOID),
            ItemReader::Binary { tag, .. } => tag,
        }
    }

    /// The item of a non-NULL datum of this kind (inlined: it runs for every row).
    #[inline(always)]
    pub unsafe fn item<'a>(self, d: pg_sys::Datum) -> ItemRef<'a> {
        match self {
            ItemReader::Int2 => ItemRef::Int(d.value() as i16 as i64),
            ItemReader::Int4 => ItemRef::Int(d.value() as i32 as i64),
            ItemReader::Int8 => ItemRef::Int(d.value() as i64),
            ItemReader::Varlena => ItemRef::Bytes(Cow::Borrowed(check_len(varlena_bytes(d)))),
            ItemReader::Bpchar => {
                let b = varlena_bytes(d);
                let n = b.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
                ItemRef::Bytes(Cow::Borrowed(check_len(&b[..n])))
            }
            ItemReader::Name => {
                let b = std::slice::from_raw_parts(d.cast_mut_ptr::<u8>(), pg_sys::NAMEDATALEN as usize);
                ItemRef::Bytes(Cow::Borrowed(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]))
            }
            ItemReader::Uuid => ItemRef::Bytes(Cow::Borrowed(std::slice::from_raw_parts(d.cast_mut_ptr::<u8>(), 16))),
            ItemReader::Binary { send_fn, canon, .. } => ItemRef::Bytes(Cow::Owned(binary_form(send_fn, canon, d))),
        }
    }
}

/// The canonical binary form of a datum (see the module's documentation).
unsafe fn binary_form(send_fn: pg_sys::Oid, canon: Canon, d: pg_sys::Datum) -> Vec<u8> {
    let send = |d: pg_sys::Datum| {
        let b = pg_sys::OidSendFunctionCall(send_fn, d);
        check_len(varlena_bytes(pg_sys::Datum::from(b))).to_vec()
    };
    match canon {
        Canon::None => send(d),
        Canon::Numeric => {
            // numeric_normalize: the shortest text of the value, without trailing zeros.
            let text = pg_sys::numeric_normalize(pg_sys::pg_detoast_datum(d.cast_mut_ptr()) as pg_sys::Numeric);
            let (input_fn, ioparam) = io_function(pg_sys::NUMERICOID, pg_sys::IOFuncSelector::IOFunc_input);
            send(pg_sys::OidInputFunctionCall(input_fn, text, ioparam, -1))
        }
        Canon::Float4 => {
            let f = f32::from_bits(d.value() as u32);
            let f = if f == 0.0 { 0.0 } else if f.is_nan() { f32::NAN } else { f };
            f.to_bits().to_be_bytes().to_vec()
        }
        Canon::Float8 => {
            let f = f64::from_bits(d.value() as u64);
            let f = if f == 0.0 { 0.0 } else if f.is_nan() { f64::NAN } else { f };
            f.to_bits().to_be_bytes().to_vec()
        }
        Canon::Interval => {
            let b = send(d);
            let (time, day, month) = (
                i64::from_be_bytes(b[0..8].try_into().unwrap()),
                i32::from_be_bytes(b[8..12].try_into().unwrap()),
                i32::from_be_bytes(b[12..16].try_into().unwrap()),
            );
            justified_interval(time, day, month)
        }
    }
}

/// The binary form of the interval of span `time + (day + 30 month)` days, in months of
/// 30 days, days and microseconds, all of one sign: equal intervals (PostgreSQL compares
/// their spans) get equal forms.
pub fn justified_interval(time: i64, day: i32, month: i32) -> Vec<u8> {
    const DAY: i128 = 86_400_000_000;
    let span = time as i128 + (day as i128 + 30 * month as i128) * DAY;
    let (month, rest) = (span / (30 * DAY), span % (30 * DAY));
    let (day, time) = (rest / DAY, rest % DAY);
    let mut b = Vec::with_capacity(16);
    b.extend_from_slice(&(time as i64).to_be_bytes());
    b.extend_from_slice(&(day as i32).to_be_bytes());
    // |month| <= |month| + (|day| + |time| / DAY) / 30 of the input: fits in 32 bits
    // except for spans no interval input reaches; those saturate.
    b.extend_from_slice(&(month.clamp(i32::MIN as i128, i32::MAX as i128) as i32).to_be_bytes());
    b
}

/// A type's input/output/receive/send function and its I/O parameter.
unsafe fn io_function(typoid: pg_sys::Oid, which: pg_sys::IOFuncSelector::Type) -> (pg_sys::Oid, pg_sys::Oid) {
    let (mut len, mut byval, mut align, mut delim) = (0i16, false, 0 as std::ffi::c_char, 0 as std::ffi::c_char);
    let (mut ioparam, mut func) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
    pg_sys::get_type_io_data(typoid, which, &mut len, &mut byval, &mut align, &mut delim, &mut ioparam, &mut func);
    (func, ioparam)
}

unsafe fn type_name(typoid: pg_sys::Oid) -> String {
    std::ffi::CStr::from_ptr(pg_sys::format_type_be(typoid)).to_string_lossy().into_owned()
}

fn check_len(b: &[u8]) -> &[u8] {
    if b.len() > MAX_ITEM_BYTES {
        raise(
            SketchError::too_large(format!("item of {} bytes is larger than the {} byte limit", b.len(), MAX_ITEM_BYTES))
                .with_hint("Count a shorter key, such as an id or a hash of the value."),
        );
    }
    b
}

/// Checks that a value's type fits the sketch's items, adopting it if the sketch has none.
pub unsafe fn check_item_tag(item_type: &mut u32, fcinfo: pg_sys::FunctionCallInfo, i: usize, what: &str) -> ItemReader {
    let reader = ItemReader::for_type(crate::fmgr::arg_type(fcinfo, i));
    let tag = reader.hash_tag();
    if *item_type == 0 {
        *item_type = tag;
    } else if *item_type != tag {
        let e = SketchError::mismatch(format!("value is of another type than the items of this {what}"));
        raise(if tag & BINARY != 0 && *item_type == tag & !BINARY {
            e.with_hint(format!(
                "The {what} was built by topk_pg 0.3 or earlier, which counted items of type {} by their text; \
                 build it again from the rows.",
                type_name(pg_sys::Oid::from(*item_type))
            ))
        } else {
            e.with_hint("Use values of the type the sketch was built from.")
        });
    }
    reader
}

/// A sketch's `::jsonb` summary, items in their text form (see [`ItemRef::to_json`]).
pub trait SketchJson {
    fn json(&self) -> serde_json::Value;
}

/// A core sketch item as JSON, for sketches of items tagged `item_tag`.
pub unsafe fn item_json(item: &topk_core::spacesaving::Item, item_tag: u32) -> serde_json::Value {
    match item {
        topk_core::spacesaving::Item::Int(v) => ItemRef::Int(*v).to_json(item_tag),
        topk_core::spacesaving::Item::Bytes(b) => ItemRef::Bytes(Cow::Borrowed(b)).to_json(item_tag),
    }
}

impl ItemRef<'_> {
    /// The item's text form, in the database's encoding: integers in decimal, uuids in
    /// their usual form, binary forms by the type's output function, text as it was
    /// counted; bytes that are not text of the database's encoding (bytea items, binary
    /// forms of types defined in the database) as `\x` and hex.
    pub unsafe fn to_text(&self, item_tag: u32) -> Vec<u8> {
        match self {
            ItemRef::Int(v) => v.to_string().into_bytes(),
            ItemRef::Bytes(b) if item_tag == u32::from(pg_sys::UUIDOID) && b.len() == 16 => {
                let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]).into_bytes()
            }
            ItemRef::Bytes(b) if item_tag & BINARY != 0 && item_tag != BINARY => {
                let typoid = pg_sys::Oid::from(item_tag & !BINARY);
                let (output_fn, _) = io_function(typoid, pg_sys::IOFuncSelector::IOFunc_output);
                let s = pg_sys::OidOutputFunctionCall(output_fn, receive(typoid, b));
                std::ffi::CStr::from_ptr(s).to_bytes().to_vec()
            }
            ItemRef::Bytes(b) if item_tag & BINARY == 0 && is_server_text(b) => b.to_vec(),
            ItemRef::Bytes(b) => format!("\\x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()).into_bytes(),
        }
    }

    /// The item's text form as a JSON value (integers as numbers).
    pub unsafe fn to_json(&self, item_tag: u32) -> serde_json::Value {
        match self {
            ItemRef::Int(v) => serde_json::Value::from(*v),
            ItemRef::Bytes(_) => serde_json::Value::from(server_to_utf8(&self.to_text(item_tag))),
        }
    }

    /// The item as a datum of SQL type `typoid` (or of its base type): integers, text,
    /// bytea and uuid directly, binary forms through the type's receive function, any
    /// other combination through the text form and the type's input function, which
    /// raises the usual ERROR when the item is not a valid value of that type.
    pub unsafe fn to_datum(&self, item_tag: u32, typoid: pg_sys::Oid) -> pg_sys::Datum {
        let base = pg_sys::getBaseType(typoid);
        match (self, base) {
            (&ItemRef::Int(v), pg_sys::INT8OID) => pg_sys::Datum::from(v),
            (&ItemRef::Int(v), pg_sys::INT4OID) if i32::try_from(v).is_ok() => pg_sys::Datum::from(v as i32),
            (&ItemRef::Int(v), pg_sys::INT2OID) if i16::try_from(v).is_ok() => pg_sys::Datum::from(v as i16),
            (ItemRef::Bytes(b), pg_sys::TEXTOID | pg_sys::VARCHAROID) if item_tag & BINARY == 0 && is_server_text(b) => {
                varlena(b)
            }
            (ItemRef::Bytes(b), pg_sys::BYTEAOID) if item_tag & BINARY == 0 => varlena(b),
            (ItemRef::Bytes(b), pg_sys::UUIDOID) if b.len() == 16 => {
                let p = pg_sys::palloc(16) as *mut u8;
                std::ptr::copy_nonoverlapping(b.as_ptr(), p, 16);
                pg_sys::Datum::from(p)
            }
            (ItemRef::Bytes(b), _) if item_tag & BINARY != 0 && (item_tag == BINARY || item_tag == BINARY | u32::from(base)) => {
                receive(base, b)
            }
            _ => {
                let mut text = self.to_text(item_tag);
                text.push(0);
                let (input_fn, ioparam) = io_function(typoid, pg_sys::IOFuncSelector::IOFunc_input);
                pg_sys::OidInputFunctionCall(input_fn, text.as_mut_ptr() as *mut std::ffi::c_char, ioparam, -1)
            }
        }
    }
}

/// Whether bytes are text of the database's encoding (which also excludes NUL).
unsafe fn is_server_text(b: &[u8]) -> bool {
    b.len() < i32::MAX as usize && pg_sys::pg_verifymbstr(b.as_ptr() as *const std::ffi::c_char, b.len() as i32, true)
}

/// Text of the database's encoding, converted to UTF-8 (for JSON).
unsafe fn server_to_utf8(b: &[u8]) -> String {
    let p = pg_sys::pg_server_to_any(b.as_ptr() as *const std::ffi::c_char, b.len() as i32, pg_sys::pg_enc::PG_UTF8 as i32);
    let converted = if p as *const u8 == b.as_ptr() { b } else { std::ffi::CStr::from_ptr(p).to_bytes() };
    String::from_utf8_lossy(converted).into_owned()
}

/// A text or bytea datum holding `b`.
unsafe fn varlena(b: &[u8]) -> pg_sys::Datum {
    pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(b.as_ptr() as *const std::ffi::c_char, b.len() as i32))
}

/// The value of type `typoid` whose binary form is `b` (the type's receive function,
/// which raises an ERROR unless it reads all of `b`).
unsafe fn receive(typoid: pg_sys::Oid, b: &[u8]) -> pg_sys::Datum {
    let (recv_fn, ioparam) = io_function(typoid, pg_sys::IOFuncSelector::IOFunc_receive);
    if recv_fn == pg_sys::InvalidOid {
        raise(SketchError::invalid(format!("items of type {} cannot be read back: the type has no receive function", type_name(typoid))));
    }
    let mut buf: pg_sys::StringInfoData = std::mem::zeroed();
    pg_sys::initStringInfo(&mut buf);
    pg_sys::appendBinaryStringInfo(&mut buf, b.as_ptr() as *const std::ffi::c_char, b.len() as i32);
    pg_sys::OidReceiveFunctionCall(recv_fn, &mut buf, ioparam, -1)
}
