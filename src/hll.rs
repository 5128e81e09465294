//! SQL functions of the `hll` type (HyperLogLog distinct counts).

use crate::fmgr::{arg, arg_f64, arg_i32, arg_type, raise, return_record, OrRaise};
use crate::item::ItemKind;
use crate::state::{sketch_arg, sketch_datum, state_datum, state_or_init, AggState, Sketch};
use crate::{pg_function, sketch_type_functions};
use pgrx::pg_sys;
use topk_core::hll::{check_precision, Hll, DEFAULT_PRECISION};
use topk_core::SketchError;

impl Sketch for Hll {
    const TYPE_NAME: &'static str = "hll";
    fn to_bytes(&self) -> Vec<u8> {
        Hll::to_bytes(self)
    }
    fn from_bytes(bytes: &[u8]) -> topk_core::Result<Self> {
        Hll::from_bytes(bytes)
    }
    fn to_text(&self) -> String {
        Hll::to_text(self)
    }
    fn from_text(text: &str) -> topk_core::Result<Self> {
        Hll::from_text(text)
    }
    fn to_json(&self) -> serde_json::Value {
        Hll::to_json(self)
    }
    fn merge(&mut self, other: &Self) -> topk_core::Result<()> {
        Hll::merge(self, other)
    }
}

sketch_type_functions!(Hll, hll);

/// The precision argument at `i`, if the function has one.
unsafe fn precision_arg(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> u8 {
    if i >= crate::fmgr::nargs(fcinfo) {
        return DEFAULT_PRECISION;
    }
    match arg_i32(fcinfo, i) {
        Some(p) => check_precision(p as i64).or_raise(),
        None => raise(SketchError::invalid("hll precision must not be NULL")),
    }
}

/// Adds a non-NULL value of the item kind to a sketch.
#[inline]
unsafe fn add_value(h: &mut Hll, kind: ItemKind, d: pg_sys::Datum) {
    h.add_hash(kind.item(d).hash());
}

// hll_trans(state internal, value anyelement [, precision int]) -> internal
pg_function!(fn hll_trans(fcinfo) {
    let precision = precision_arg(fcinfo, 2);
    let state = crate::state::state_arg::<Hll>(fcinfo, 0);
    let Some(value) = arg(fcinfo, 1) else {
        return match state {
            Some(s) => state_datum(s),
            None => crate::fmgr::return_null(fcinfo),
        };
    };
    let state = match state {
        Some(s) => s,
        None => state_or_init(fcinfo, || new_state(fcinfo, precision)),
    };
    if state.sketch.precision() != precision {
        raise(SketchError::invalid("hll precision must be the same for every row of an aggregate"));
    }
    let kind = state.item.expect("build state knows its item kind");
    add_value(&mut state.sketch, kind, value);
    state_datum(state)
});

unsafe fn new_state(fcinfo: pg_sys::FunctionCallInfo, precision: u8) -> AggState<Hll> {
    let typoid = arg_type(fcinfo, 1);
    let kind = ItemKind::for_type(typoid);
    let mut sketch = Hll::new(precision).or_raise();
    sketch.item_type = kind.hash_tag(typoid);
    AggState { sketch, item: Some(kind) }
}

// hll_add(hll, anyelement) -> hll: NULL value leaves the sketch as it is.
pg_function!(fn hll_add(fcinfo) {
    let Some(mut h) = sketch_arg::<Hll>(fcinfo, 0) else { return crate::fmgr::return_null(fcinfo) };
    if let Some(value) = arg(fcinfo, 1) {
        let typoid = arg_type(fcinfo, 1);
        let kind = ItemKind::for_type(typoid);
        let tag = kind.hash_tag(typoid);
        if h.item_type == 0 {
            h.item_type = tag;
        } else if tag != 0 && h.item_type != tag {
            raise(SketchError::mismatch("value is of another type than the items of this hll")
                .with_hint("Add values of the type the sketch was built from."));
        }
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
