//! SQL functions of the `spacesaving` type (Space-Saving top-K with error bounds).
//!
//! `topk_agg` over `bigint`, `integer` and `text` columns returns the domains
//! `spacesaving_bigint`, `spacesaving_integer` and `spacesaving_text` (all
//! `spacesaving` underneath), so that `topk_items(sketch)` can return the items in
//! their own type with no cast and no type hint; other item types use the type-hint
//! form `topk_items(sketch, n, NULL::uuid)`.

use crate::counting::{add_scalar, count_trans, item_arg, Counting};
use crate::fmgr::{arg_i32, nargs, param_arg, raise, OrRaise, RowSink};
use crate::item::ItemRef;
use crate::state::{sketch_arg, Backend, Expanded};
use crate::{impl_sketch, pg_function, sketch_type_functions};
use pgrx::pg_sys;
use topk_core::spacesaving::{self, check_capacity, SpaceSaving, DEFAULT_CAPACITY};
use topk_core::SketchError;

impl_sketch!(SpaceSaving, "spacesaving", batched, merge_bytes);
sketch_type_functions!(SpaceSaving, topk, "spacesaving", ["spacesaving_bigint", "spacesaving_integer", "spacesaving_text"]);

impl crate::item::SketchJson for SpaceSaving {
    fn json(&self) -> serde_json::Value {
        self.to_json_with(&|item| unsafe { crate::item::item_json(item, self.item_type) })
    }
}

impl Counting for SpaceSaving {
    #[inline]
    fn add_item(&mut self, item: ItemRef, weight: u64) -> topk_core::Result<()> {
        let h = item.hash();
        match item {
            ItemRef::Int(v) => self.update_int(v, h, weight),
            ItemRef::Bytes(b) => self.update_bytes(&b, h, weight),
        }
    }
    fn item_tag(&self) -> u32 {
        self.item_type
    }
    fn set_item_tag(&mut self, tag: u32) {
        self.item_type = tag;
    }
}

unsafe fn capacity_arg(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> u32 {
    if i >= nargs(fcinfo) {
        return DEFAULT_CAPACITY;
    }
    check_capacity(param_arg(fcinfo, i, "topk capacity").value() as i32 as i64).or_raise()
}

unsafe fn trans<B: Backend>(fcinfo: pg_sys::FunctionCallInfo, weighted: bool) -> pg_sys::Datum {
    let capacity_at = if weighted { 3 } else { 2 };
    count_trans::<B, _, _>(fcinfo, weighted, || capacity_arg(fcinfo, capacity_at), |c| SpaceSaving::new(c).or_raise())
}

// topk_trans(state, value [, capacity int])
pg_function!(fn topk_trans(fcinfo) sql[
    "(spacesaving, item) -> spacesaving",
    "(spacesaving, item, integer) -> spacesaving",
] { trans::<Expanded>(fcinfo, false) });
// topk_trans_weighted(state, value, weight bigint [, capacity int])
pg_function!(fn topk_trans_weighted(fcinfo) sql[
    "(spacesaving, item, bigint) -> spacesaving",
    "(spacesaving, item, bigint, integer) -> spacesaving",
] { trans::<Expanded>(fcinfo, true) });

// topk_add(sketch, value [, weight bigint]) -> sketch
pg_function!(fn topk_add(fcinfo) sql[
    "(spacesaving, anyelement) -> spacesaving",
    "(spacesaving, anyelement, bigint) -> spacesaving",
    "(spacesaving_bigint, anyelement) -> spacesaving_bigint",
    "(spacesaving_bigint, anyelement, bigint) -> spacesaving_bigint",
    "(spacesaving_integer, anyelement) -> spacesaving_integer",
    "(spacesaving_integer, anyelement, bigint) -> spacesaving_integer",
    "(spacesaving_text, anyelement) -> spacesaving_text",
    "(spacesaving_text, anyelement, bigint) -> spacesaving_text",
] { add_scalar::<SpaceSaving>(fcinfo) });

/// The `n` argument of an items function (`NULL`: all of them).
pub unsafe fn items_n_arg(fcinfo: pg_sys::FunctionCallInfo, all: usize) -> usize {
    match arg_i32(fcinfo, 1) {
        None => all,
        Some(n) if n >= 0 => n as usize,
        Some(n) => raise(SketchError::invalid(format!("number of items {n} is negative"))),
    }
}

/// Returns rows `(rank, item, count, error, guaranteed)`. The item column's type comes
/// from the declared result: a domain's item type, the type hint, or text.
pub unsafe fn item_rows(
    fcinfo: pg_sys::FunctionCallInfo,
    item_tag: u32,
    entries: impl Iterator<Item = (spacesaving::Item, u64, u64, bool)>,
) -> pg_sys::Datum {
    let mut rows = RowSink::new(fcinfo);
    let item_type = rows.column_type(1);
    let wants_int = [pg_sys::INT8OID, pg_sys::INT4OID, pg_sys::INT2OID].contains(&item_type);
    for (rank, (item, count, error, guaranteed)) in entries.enumerate() {
        let item = match &item {
            spacesaving::Item::Int(v) => ItemRef::Int(*v),
            spacesaving::Item::Bytes(_) if wants_int => raise(
                SketchError::mismatch("the sketch holds text items, not integers")
                    .with_hint("Read them as text: topk_items(sketch::spacesaving, n), or a text type hint."),
            ),
            spacesaving::Item::Bytes(b) => ItemRef::Bytes(std::borrow::Cow::Borrowed(b)),
        };
        let mut values = [
            pg_sys::Datum::from(rank as i32 + 1),
            item.to_datum(item_tag, item_type),
            pg_sys::Datum::from(count as i64),
            pg_sys::Datum::from(error as i64),
            pg_sys::Datum::from(guaranteed),
        ];
        rows.push(&mut values, &mut [false; 5]);
    }
    rows.finish()
}

// topk_items(sketch, n int [, type_hint anyelement]) -> SETOF (rank, item, count, error, guaranteed)
// Not strict, as a NULL n means all items; a NULL sketch has no items.
pg_function!(fn topk_items(fcinfo) sql[
    "(spacesaving, integer) -> setof record (integer, text, bigint, bigint, boolean)",
    "(spacesaving, integer, anyelement) -> setof record (integer, anyelement, bigint, bigint, boolean)",
    "(spacesaving_bigint, integer) -> setof record (integer, bigint, bigint, bigint, boolean)",
    "(spacesaving_integer, integer) -> setof record (integer, integer, bigint, bigint, boolean)",
    "(spacesaving_text, integer) -> setof record (integer, text, bigint, bigint, boolean)",
] {
    let Some(s) = sketch_arg::<SpaceSaving>(fcinfo, 0) else { return item_rows(fcinfo, 0, std::iter::empty()) };
    let n = items_n_arg(fcinfo, s.capacity() as usize);
    let entries = s.top(n).into_iter().map(|e| (e.item, e.count, e.error, e.guaranteed));
    item_rows(fcinfo, s.item_type, entries)
});

// topk_estimate(sketch, value) -> bigint: an upper bound of the value's count.
pg_function!(fn topk_estimate(fcinfo) sql["strict (spacesaving, anyelement) -> bigint"] {
    let s = crate::cache::cached_sketch_arg::<SpaceSaving>(fcinfo, 0).expect("strict");
    // (the value's type is checked against the sketch's, which is left as it was)
    let tag = s.item_tag();
    let item = item_arg(s, fcinfo, 1);
    s.set_item_tag(tag);
    let item = item.expect("strict");
    let h = item.hash();
    let (count, _error) = match item {
        ItemRef::Int(v) => s.estimate_int(v, h),
        ItemRef::Bytes(b) => s.estimate_bytes(&b, h),
    };
    pg_sys::Datum::from(count as i64)
});

pg_function!(fn topk_total(fcinfo) sql["strict (spacesaving) -> bigint"] {
    pg_sys::Datum::from(sketch_arg::<SpaceSaving>(fcinfo, 0).expect("strict").total() as i64)
});

pg_function!(fn topk_capacity(fcinfo) sql["strict (spacesaving) -> integer"] {
    pg_sys::Datum::from(sketch_arg::<SpaceSaving>(fcinfo, 0).expect("strict").capacity() as i32)
});

pg_function!(fn topk_threshold(fcinfo) sql["strict (spacesaving) -> bigint"] {
    pg_sys::Datum::from(sketch_arg::<SpaceSaving>(fcinfo, 0).expect("strict").threshold() as i64)
});
