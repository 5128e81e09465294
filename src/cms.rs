//! SQL functions of the `cms` type (count-min sketch of item frequencies).

use crate::counting::{add_scalar, count_trans, item_arg, Counting};
use crate::fmgr::{nargs, param_arg, OrRaise};
use crate::item::ItemRef;
use crate::state::{sketch_arg, Backend, Expanded};
use crate::{impl_sketch, pg_function, sketch_type_functions};
use pgrx::pg_sys;
use topk_core::cms::{Cms, DEFAULT_DELTA, DEFAULT_EPSILON};

impl_sketch!(Cms, "cms");
sketch_type_functions!(Cms, cms, "cms");

impl crate::item::SketchJson for Cms {
    fn json(&self) -> serde_json::Value {
        self.to_json()
    }
}

impl Counting for Cms {
    #[inline]
    fn add_item(&mut self, item: ItemRef, weight: u64) -> topk_core::Result<()> {
        self.add_hash(item.hash(), weight)
    }
    fn item_tag(&self) -> u32 {
        self.item_type
    }
    fn set_item_tag(&mut self, tag: u32) {
        self.item_type = tag;
    }
}

/// cms_trans(state, value [, weight bigint] [, epsilon float8, delta float8]): the
/// weighted forms have 3 or 5 arguments.
unsafe fn trans<B: Backend>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let n = nargs(fcinfo);
    let params = || {
        if n >= 4 {
            let e = f64::from_bits(param_arg(fcinfo, n - 2, "cms epsilon").value() as u64);
            let d = f64::from_bits(param_arg(fcinfo, n - 1, "cms delta").value() as u64);
            (e, d)
        } else {
            (DEFAULT_EPSILON, DEFAULT_DELTA)
        }
    };
    count_trans::<B, _, _>(fcinfo, n == 3 || n == 5, params, |(e, d)| Cms::new(e, d).or_raise())
}

pg_function!(fn cms_trans(fcinfo) sql[
    "(cms, item) -> cms",
    "(cms, item, bigint) -> cms",
    "(cms, item, bigint, double precision, double precision) -> cms",
    "(cms, item, double precision, double precision) -> cms",
] { trans::<Expanded>(fcinfo) });

// cms_add(cms, value [, weight bigint]) -> cms
pg_function!(fn cms_add(fcinfo) sql[
    "(cms, anyelement) -> cms",
    "(cms, anyelement, bigint) -> cms",
] { add_scalar::<Cms>(fcinfo) });

// cms_estimate(cms, value) -> bigint: never below the true count.
pg_function!(fn cms_estimate(fcinfo) sql["strict (cms, anyelement) -> bigint"] {
    let c = crate::cache::cached_sketch_arg::<Cms>(fcinfo, 0).expect("strict");
    // (the value's type is checked against the sketch's, which is left as it was)
    let tag = c.item_tag();
    let item = item_arg(c, fcinfo, 1);
    c.set_item_tag(tag);
    let item = item.expect("strict");
    pg_sys::Datum::from(c.estimate_hash(item.hash()) as i64)
});

pg_function!(fn cms_total(fcinfo) sql["strict (cms) -> bigint"] {
    pg_sys::Datum::from(sketch_arg::<Cms>(fcinfo, 0).unwrap().total() as i64)
});

pg_function!(fn cms_error_bound(fcinfo) sql["strict (cms) -> bigint"] {
    pg_sys::Datum::from(sketch_arg::<Cms>(fcinfo, 0).unwrap().error_bound() as i64)
});

pg_function!(fn cms_epsilon(fcinfo) sql["strict (cms) -> double precision"] {
    pg_sys::Datum::from(sketch_arg::<Cms>(fcinfo, 0).unwrap().epsilon().to_bits())
});

pg_function!(fn cms_delta(fcinfo) sql["strict (cms) -> double precision"] {
    pg_sys::Datum::from(sketch_arg::<Cms>(fcinfo, 0).unwrap().delta().to_bits())
});
