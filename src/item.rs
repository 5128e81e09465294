//! Items: how a value of any SQL type becomes what the sketches count.
//!
//! * `smallint`, `integer` and `bigint` values are integers: they hash as their 64-bit
//!   value, so `5::int4` and `5::int8` are the **same item** in every sketch.
//! * `text`, `varchar` and `"char"`-like string types count by their bytes (collations
//!   are not applied: 'a' and 'A' are different items under any collation).
//! * `uuid` counts by its 16 bytes.
//! * Any other type counts by its text output, so values that print alike are the same
//!   item; they come back through the type's input function.
//!
//! The kind is looked up once per aggregate (cached in the state), not per row.

use crate::fmgr::{raise, varlena_bytes};
use pgrx::pg_sys;
use std::borrow::Cow;
use topk_core::hash::{hash_bytes, hash_i64};
use topk_core::SketchError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Int2,
    Int4,
    Int8,
    /// A varlena whose payload is the item (text, varchar, bytea).
    Varlena,
    Uuid,
    /// Any other type, by its text output function.
    Text { output_fn: pg_sys::Oid },
}

/// An item's canonical value.
pub enum Item<'a> {
    Int(i64),
    Bytes(Cow<'a, [u8]>),
}

impl Item<'_> {
    #[inline]
    pub fn hash(&self) -> u64 {
        match self {
            Item::Int(v) => hash_i64(*v),
            Item::Bytes(b) => hash_bytes(b),
        }
    }
}

/// The largest text item accepted (1 MB): items are identifiers, not documents.
pub const MAX_ITEM_BYTES: usize = 1 << 20;

impl ItemKind {
    pub unsafe fn for_type(typoid: pg_sys::Oid) -> ItemKind {
        match typoid {
            pg_sys::INT2OID => ItemKind::Int2,
            pg_sys::INT4OID => ItemKind::Int4,
            pg_sys::INT8OID => ItemKind::Int8,
            pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::BYTEAOID => ItemKind::Varlena,
            pg_sys::UUIDOID => ItemKind::Uuid,
            pg_sys::InvalidOid => raise(SketchError::invalid("could not determine the item type")),
            _ => {
                let mut output_fn = pg_sys::InvalidOid;
                let mut is_varlena = false;
                pg_sys::getTypeOutputInfo(typoid, &mut output_fn, &mut is_varlena);
                ItemKind::Text { output_fn }
            }
        }
    }

    /// The tag stored in hash-only sketches (hll, cms): types whose items hash alike
    /// share a tag, so sketches of `integer` and `bigint` columns merge.
    pub fn hash_tag(self, typoid: pg_sys::Oid) -> u32 {
        match self {
            ItemKind::Int2 | ItemKind::Int4 | ItemKind::Int8 => u32::from(pg_sys::INT8OID),
            ItemKind::Varlena => u32::from(pg_sys::TEXTOID),
            ItemKind::Uuid => u32::from(pg_sys::UUIDOID),
            // Built-in types have stable OIDs; user-defined ones differ between databases.
            ItemKind::Text { .. } if u32::from(typoid) < pg_sys::FirstNormalObjectId => u32::from(typoid),
            ItemKind::Text { .. } => 0,
        }
    }

    /// The item of a non-NULL datum of this kind.
    #[inline]
    pub unsafe fn item<'a>(self, d: pg_sys::Datum) -> Item<'a> {
        match self {
            ItemKind::Int2 => Item::Int(d.value() as i16 as i64),
            ItemKind::Int4 => Item::Int(d.value() as i32 as i64),
            ItemKind::Int8 => Item::Int(d.value() as i64),
            ItemKind::Varlena => Item::Bytes(Cow::Borrowed(check_len(varlena_bytes(d)))),
            ItemKind::Uuid => Item::Bytes(Cow::Borrowed(std::slice::from_raw_parts(d.cast_mut_ptr::<u8>(), 16))),
            ItemKind::Text { output_fn } => {
                let s = pg_sys::OidOutputFunctionCall(output_fn, d);
                let bytes = std::ffi::CStr::from_ptr(s).to_bytes();
                Item::Bytes(Cow::Owned(check_len(bytes).to_vec()))
            }
        }
    }
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
pub unsafe fn check_item_tag(item_type: &mut u32, fcinfo: pg_sys::FunctionCallInfo, i: usize, what: &str) -> ItemKind {
    let typoid = crate::fmgr::arg_type(fcinfo, i);
    let kind = ItemKind::for_type(typoid);
    let tag = kind.hash_tag(typoid);
    if *item_type == 0 {
        *item_type = tag;
    } else if tag != 0 && *item_type != tag {
        raise(SketchError::mismatch(format!("value is of another type than the items of this {what}"))
            .with_hint("Use values of the type the sketch was built from."));
    }
    kind
}


/// An item read back out of a sketch.
#[derive(Clone, Copy, Debug)]
pub enum StoredItem<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl StoredItem<'_> {
    /// The item's text form: integers in decimal, uuids in their usual form, other
    /// items as the text they were counted by (invalid UTF-8 shown as `\x` hex).
    pub fn to_text(self, item_tag: u32) -> String {
        match self {
            StoredItem::Int(v) => v.to_string(),
            StoredItem::Bytes(b) if item_tag == u32::from(pg_sys::UUIDOID) && b.len() == 16 => {
                let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
            }
            StoredItem::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => s.to_string(),
                Err(_) => format!("\\x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
            },
        }
    }

    /// The item as a datum of SQL type `typoid` (integers and text directly, any other
    /// type through its input function, which raises the usual ERROR when the item is
    /// not a valid value of that type).
    pub unsafe fn to_datum(self, item_tag: u32, typoid: pg_sys::Oid) -> pg_sys::Datum {
        match (self, typoid) {
            (StoredItem::Int(v), pg_sys::INT8OID) => pg_sys::Datum::from(v),
            (StoredItem::Int(v), pg_sys::INT4OID) if i32::try_from(v).is_ok() => pg_sys::Datum::from(v as i32),
            (StoredItem::Bytes(b), pg_sys::TEXTOID | pg_sys::VARCHAROID) if std::str::from_utf8(b).is_ok() => {
                pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(b.as_ptr() as *const std::ffi::c_char, b.len() as i32))
            }
            (StoredItem::Bytes(b), pg_sys::UUIDOID) if b.len() == 16 => {
                let p = pg_sys::palloc(16) as *mut u8;
                std::ptr::copy_nonoverlapping(b.as_ptr(), p, 16);
                pg_sys::Datum::from(p)
            }
            _ => {
                let text = std::ffi::CString::new(self.to_text(item_tag)).unwrap_or_default();
                let (mut input_fn, mut ioparam) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
                pg_sys::getTypeInputInfo(typoid, &mut input_fn, &mut ioparam);
                pg_sys::OidInputFunctionCall(input_fn, text.as_ptr() as *mut std::ffi::c_char, ioparam, -1)
            }
        }
    }
}
