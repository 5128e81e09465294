//! SQL functions of the `heavy_hitters` type (count-min + space-saving hybrid).

use crate::counting::{add_scalar, count_trans, item_arg, Counting};
use crate::fmgr::{nargs, param_arg, OrRaise};
use crate::item::ItemRef;
use crate::spacesaving::{item_rows, items_n_arg};
use crate::state::{sketch_arg, Backend, Expanded};
use crate::{impl_sketch, pg_function, sketch_type_functions};
use pgrx::pg_sys;
use topk_core::cms::{DEFAULT_DELTA, DEFAULT_EPSILON};
use topk_core::heavy_hitters::{check_k, HeavyHitters, DEFAULT_K};

impl_sketch!(HeavyHitters, "heavy_hitters", batched);
sketch_type_functions!(HeavyHitters, heavy_hitters, "heavy_hitters", ["heavy_hitters_bigint", "heavy_hitters_integer", "heavy_hitters_text"]);

impl crate::item::SketchJson for HeavyHitters {
    fn json(&self) -> serde_json::Value {
        self.to_json_with(&|item| unsafe { crate::item::item_json(item, self.item_type()) })
    }
}

impl Counting for HeavyHitters {
    #[inline]
    fn add_item(&mut self, item: ItemRef, weight: u64) -> topk_core::Result<()> {
        let h = item.hash();
        match item {
            ItemRef::Int(v) => self.update_int(v, h, weight),
            ItemRef::Bytes(b) => self.update_bytes(&b, h, weight),
        }
    }
    fn item_tag(&self) -> u32 {
        self.item_type()
    }
    fn set_item_tag(&mut self, tag: u32) {
        self.set_item_type(tag);
    }
}

/// Parameters `[k int [, epsilon float8, delta float8]]` starting at argument `i`.
unsafe fn params(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> (u32, f64, f64) {
    let n = nargs(fcinfo);
    let k = if n > i { check_k(param_arg(fcinfo, i, "heavy_hitters k").value() as i32 as i64).or_raise() } else { DEFAULT_K };
    if n > i + 2 {
        let e = f64::from_bits(param_arg(fcinfo, i + 1, "heavy_hitters epsilon").value() as u64);
        let d = f64::from_bits(param_arg(fcinfo, i + 2, "heavy_hitters delta").value() as u64);
        (k, e, d)
    } else {
        (k, DEFAULT_EPSILON, DEFAULT_DELTA)
    }
}

unsafe fn trans<B: Backend>(fcinfo: pg_sys::FunctionCallInfo, weighted: bool) -> pg_sys::Datum {
    let first_param = if weighted { 3 } else { 2 };
    count_trans::<B, _, _>(fcinfo, weighted, || params(fcinfo, first_param), |(k, e, d)| HeavyHitters::new(k, e, d).or_raise())
}

// heavy_hitters_trans(state, value [, k int [, epsilon, delta]])
pg_function!(fn heavy_hitters_trans(fcinfo) sql[
    "(heavy_hitters, item) -> heavy_hitters",
    "(heavy_hitters, item, integer) -> heavy_hitters",
    "(heavy_hitters, item, integer, double precision, double precision) -> heavy_hitters",
] { trans::<Expanded>(fcinfo, false) });
// heavy_hitters_trans_weighted(state, value, weight bigint [, k int [, epsilon, delta]])
pg_function!(fn heavy_hitters_trans_weighted(fcinfo) sql[
    "(heavy_hitters, item, bigint) -> heavy_hitters",
    "(heavy_hitters, item, bigint, integer) -> heavy_hitters",
    "(heavy_hitters, item, bigint, integer, double precision, double precision) -> heavy_hitters",
] { trans::<Expanded>(fcinfo, true) });

// heavy_hitters_items(sketch, n int [, type_hint anyelement])
pg_function!(fn heavy_hitters_items(fcinfo) sql[
    "(heavy_hitters, integer) -> setof record (integer, text, bigint, bigint, boolean)",
    "(heavy_hitters, integer, anyelement) -> setof record (integer, anyelement, bigint, bigint, boolean)",
    "(heavy_hitters_bigint, integer) -> setof record (integer, bigint, bigint, bigint, boolean)",
    "(heavy_hitters_integer, integer) -> setof record (integer, integer, bigint, bigint, boolean)",
    "(heavy_hitters_text, integer) -> setof record (integer, text, bigint, bigint, boolean)",
] {
    let Some(s) = sketch_arg::<HeavyHitters>(fcinfo, 0) else { return item_rows(fcinfo, 0, std::iter::empty()) };
    let n = items_n_arg(fcinfo, s.k() as usize);
    let entries = s.top(n).into_iter().map(|e| (e.item, e.count, e.error, e.guaranteed));
    item_rows(fcinfo, s.item_type(), entries)
});

// heavy_hitters_estimate(sketch, value) -> bigint: an upper bound of the value's count.
pg_function!(fn heavy_hitters_estimate(fcinfo) sql["strict (heavy_hitters, anyelement) -> bigint"] {
    let s = crate::cache::cached_sketch_arg::<HeavyHitters>(fcinfo, 0).expect("strict");
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

// heavy_hitters_add(sketch, value [, weight bigint]) -> sketch
pg_function!(fn heavy_hitters_add(fcinfo) sql[
    "(heavy_hitters, anyelement) -> heavy_hitters",
    "(heavy_hitters, anyelement, bigint) -> heavy_hitters",
    "(heavy_hitters_bigint, anyelement) -> heavy_hitters_bigint",
    "(heavy_hitters_bigint, anyelement, bigint) -> heavy_hitters_bigint",
    "(heavy_hitters_integer, anyelement) -> heavy_hitters_integer",
    "(heavy_hitters_integer, anyelement, bigint) -> heavy_hitters_integer",
    "(heavy_hitters_text, anyelement) -> heavy_hitters_text",
    "(heavy_hitters_text, anyelement, bigint) -> heavy_hitters_text",
] { add_scalar::<HeavyHitters>(fcinfo) });

pg_function!(fn heavy_hitters_total(fcinfo) sql["strict (heavy_hitters) -> bigint"] {
    pg_sys::Datum::from(sketch_arg::<HeavyHitters>(fcinfo, 0).expect("strict").total() as i64)
});
