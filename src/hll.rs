//! SQL functions of the `hll` type (HyperLogLog distinct counts).

use crate::fmgr::{arg, arg_f64, param_arg, return_record, OrRaise};
use crate::item::{check_item_tag, ItemKind};
use crate::state::{build_state, sketch_arg, sketch_datum, state_datum, Backend, Expanded, Internal};
use crate::{impl_sketch, pg_function, sketch_type_functions};
use pgrx::pg_sys;
use topk_core::hll::{check_precision, Hll, DEFAULT_PRECISION};

impl_sketch!(Hll, "hll");
sketch_type_functions!(Hll, hll);

/// The precision argument at `i`, if the function has one.
unsafe fn precision_arg(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> u8 {
    if i >= crate::fmgr::nargs(fcinfo) {
        return DEFAULT_PRECISION;
    }
    check_precision(param_arg(fcinfo, i, "hll precision").value() as i32 as i64).or_raise()
}

/// Adds a non-NULL value of the item kind to a sketch.
#[inline]
unsafe fn add_value(h: &mut Hll, kind: ItemKind, d: pg_sys::Datum) {
    h.add_hash(kind.item(d).hash());
}

/// hll_trans(state, value anyelement [, precision int])
unsafe fn trans<B: Backend>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let state = build_state::<B, _, _>(fcinfo, || precision_arg(fcinfo, 2), |precision, kind, typoid| {
        let mut h = Hll::new(precision).or_raise();
        h.item_type = kind.hash_tag(typoid);
        h
    });
    let Some(mut state) = state else { return crate::fmgr::return_null(fcinfo) };
    if let (Some(value), Some(kind)) = (arg(fcinfo, 1), state.item) {
        add_value(&mut state.sketch, kind, value);
    }
    state_datum(state)
}

pg_function!(fn hll_trans(fcinfo) { trans::<Expanded>(fcinfo) });
pg_function!(fn hll_trans_internal(fcinfo) { trans::<Internal>(fcinfo) });

// hll_add(hll, anyelement) -> hll: NULL value leaves the sketch as it is.
pg_function!(fn hll_add(fcinfo) {
    let Some(mut h) = sketch_arg::<Hll>(fcinfo, 0) else { return crate::fmgr::return_null(fcinfo) };
    if let Some(value) = arg(fcinfo, 1) {
        let kind = check_item_tag(&mut h.item_type, fcinfo, 1, "hll");
        add_value(&mut h, kind, value);
    }
    sketch_datum(&h)
});

// hll_empty([precision int]) -> hll
pg_function!(fn hll_empty(fcinfo) {
    sketch_datum(&Hll::new(precision_arg(fcinfo, 0)).or_raise())
});

pg_function!(fn hll_count(fcinfo) {
    pg_sys::Datum::from(sketch_arg::<Hll>(fcinfo, 0).unwrap().count() as i64)
});

pg_function!(fn hll_stderr(fcinfo) {
    pg_sys::Datum::from(sketch_arg::<Hll>(fcinfo, 0).unwrap().stderr().to_bits())
});

pg_function!(fn hll_precision(fcinfo) {
    pg_sys::Datum::from(sketch_arg::<Hll>(fcinfo, 0).unwrap().precision() as i32)
});

// hll_count_bounds(hll, confidence float8, OUT lower bigint, OUT upper bigint)
pg_function!(fn hll_count_bounds(fcinfo) {
    let h = sketch_arg::<Hll>(fcinfo, 0).unwrap();
    let confidence = arg_f64(fcinfo, 1).unwrap();
    let (lo, hi) = h.count_bounds(confidence).or_raise();
    let mut values = [pg_sys::Datum::from(lo as i64), pg_sys::Datum::from(hi as i64)];
    return_record(fcinfo, &mut values, &mut [false, false])
});
