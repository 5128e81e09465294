//! SQL functions of the `cms` type (count-min sketch of item frequencies).

use crate::fmgr::{arg, nargs, param_arg, return_null, weight_arg, OrRaise};
use crate::item::check_item_tag;
use crate::state::{build_state, sketch_arg, sketch_datum, state_datum, Backend, Expanded, Internal};
use crate::{impl_sketch, pg_function, sketch_type_functions};
use pgrx::pg_sys;
use topk_core::cms::{Cms, DEFAULT_DELTA, DEFAULT_EPSILON};

impl_sketch!(Cms, "cms");
sketch_type_functions!(Cms, cms);

/// cms_trans(state, value [, weight bigint] [, epsilon float8, delta float8]): the
/// weighted forms have 3 or 5 arguments.
unsafe fn trans<B: Backend>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let n = nargs(fcinfo);
    let weighted = n == 3 || n == 5;
    let params = || {
        if n >= 4 {
            let e = f64::from_bits(param_arg(fcinfo, n - 2, "cms epsilon").value() as u64);
            let d = f64::from_bits(param_arg(fcinfo, n - 1, "cms delta").value() as u64);
            (e, d)
        } else {
            (DEFAULT_EPSILON, DEFAULT_DELTA)
        }
    };
    let state = build_state::<B, _, _>(fcinfo, params, |(e, d), kind, typoid| {
        let mut c = Cms::new(e, d).or_raise();
        c.item_type = kind.hash_tag(typoid);
        c
    });
    let Some(mut state) = state else { return return_null(fcinfo) };
    if let (Some(value), Some(kind)) = (arg(fcinfo, 1), state.item) {
        let weight = if weighted { weight_arg(fcinfo, 2) } else { Some(1) };
        if let Some(w) = weight {
            state.sketch.add_hash(kind.item(value).hash(), w).or_raise();
        }
    }
    state_datum(state)
}

pg_function!(fn cms_trans(fcinfo) { trans::<Expanded>(fcinfo) });
pg_function!(fn cms_trans_internal(fcinfo) { trans::<Internal>(fcinfo) });

// cms_add(cms, value [, weight bigint]) -> cms
pg_function!(fn cms_add(fcinfo) {
    let Some(mut c) = sketch_arg::<Cms>(fcinfo, 0) else { return return_null(fcinfo) };
    if let Some(value) = arg(fcinfo, 1) {
        let kind = check_item_tag(&mut c.item_type, fcinfo, 1, "cms");
        let weight = if nargs(fcinfo) >= 3 { weight_arg(fcinfo, 2) } else { Some(1) };
        if let Some(w) = weight {
            c.add_hash(kind.item(value).hash(), w).or_raise();
        }
    }
    sketch_datum(&c)
});

// cms_estimate(cms, value) -> bigint: never below the true count.
pg_function!(fn cms_estimate(fcinfo) {
    let mut c = sketch_arg::<Cms>(fcinfo, 0).unwrap();
    let kind = check_item_tag(&mut c.item_type, fcinfo, 1, "cms");
    let value = arg(fcinfo, 1).unwrap();
    pg_sys::Datum::from(c.estimate_hash(kind.item(value).hash()) as i64)
});

pg_function!(fn cms_total(fcinfo) {
    pg_sys::Datum::from(sketch_arg::<Cms>(fcinfo, 0).unwrap().total() as i64)
});

pg_function!(fn cms_error_bound(fcinfo) {
    pg_sys::Datum::from(sketch_arg::<Cms>(fcinfo, 0).unwrap().error_bound() as i64)
});

pg_function!(fn cms_epsilon(fcinfo) {
    pg_sys::Datum::from(sketch_arg::<Cms>(fcinfo, 0).unwrap().epsilon().to_bits())
});

pg_function!(fn cms_delta(fcinfo) {
    pg_sys::Datum::from(sketch_arg::<Cms>(fcinfo, 0).unwrap().delta().to_bits())
});
