//! SQL functions of the `hll` type (HyperLogLog distinct counts).

use crate::counting::{add_scalar, count_trans, Counting};
use crate::fmgr::{arg_f64, param_arg, return_record, OrRaise};
use crate::item::ItemRef;
use crate::state::{sketch_arg, sketch_datum, Backend, Expanded};
use crate::{impl_sketch, pg_function, sketch_type_functions};
use pgrx::pg_sys;
use topk_core::hll::{check_precision, Hll, DEFAULT_PRECISION};

impl_sketch!(Hll, "hll");
sketch_type_functions!(Hll, hll, "topk_hll");

impl crate::item::SketchJson for Hll {
    fn json(&self) -> serde_json::Value {
        self.to_json()
    }
}

/// The precision argument at `i`, if the function has one.
unsafe fn precision_arg(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> u8 {
    if i >= crate::fmgr::nargs(fcinfo) {
        return DEFAULT_PRECISION;
    }
    check_precision(param_arg(fcinfo, i, "hll precision").value() as i32 as i64).or_raise()
}

impl Counting for Hll {
    #[inline]
    fn add_item(&mut self, item: ItemRef, _weight: u64) -> topk_core::Result<()> {
        self.add_hash(item.hash());
        Ok(())
    }
    fn item_tag(&self) -> u32 {
        self.item_type
    }
    fn set_item_tag(&mut self, tag: u32) {
        self.item_type = tag;
    }
}

/// hll_trans(state, value anyelement [, precision int])
unsafe fn trans<B: Backend>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    count_trans::<B, _, _>(fcinfo, false, || precision_arg(fcinfo, 2), |p| Hll::new(p).or_raise())
}

pg_function!(fn hll_trans(fcinfo) sql[
    "(topk_hll, item) -> topk_hll",
    "(topk_hll, item, integer) -> topk_hll",
] { trans::<Expanded>(fcinfo) });

// hll_add(hll, anyelement) -> hll: NULL value leaves the sketch as it is.
pg_function!(fn hll_add(fcinfo) sql["(topk_hll, anyelement) -> topk_hll"] { add_scalar::<Hll>(fcinfo) });

// topk_hll_empty([precision int]) -> topk_hll
pg_function!(fn hll_empty(fcinfo) sql["strict (integer) -> topk_hll"] {
    sketch_datum(&Hll::new(precision_arg(fcinfo, 0)).or_raise())
});

pg_function!(fn hll_count(fcinfo) sql["strict (topk_hll) -> bigint"] {
    pg_sys::Datum::from(sketch_arg::<Hll>(fcinfo, 0).unwrap().count() as i64)
});

pg_function!(fn hll_stderr(fcinfo) sql["strict (topk_hll) -> double precision"] {
    pg_sys::Datum::from(sketch_arg::<Hll>(fcinfo, 0).unwrap().stderr().to_bits())
});

pg_function!(fn hll_precision(fcinfo) sql["strict (topk_hll) -> integer"] {
    pg_sys::Datum::from(sketch_arg::<Hll>(fcinfo, 0).unwrap().precision() as i32)
});

// hll_count_bounds(hll, confidence float8, OUT lower bigint, OUT upper bigint)
pg_function!(fn hll_count_bounds(fcinfo) sql["strict (topk_hll, double precision) -> record (bigint, bigint)"] {
    let h = sketch_arg::<Hll>(fcinfo, 0).unwrap();
    let confidence = arg_f64(fcinfo, 1).unwrap();
    let (lo, hi) = h.count_bounds(confidence).or_raise();
    let mut values = [pg_sys::Datum::from(lo as i64), pg_sys::Datum::from(hi as i64)];
    return_record(fcinfo, &mut values, &mut [false, false])
});
