//! Aggregate state handling, in one place for every sketch type.
//!
//! A build or merge aggregate keeps its working sketch as a Rust value owned by the
//! aggregate's memory context (`internal` state): the transition function updates it
//! in place and nothing is serialized per row. The sketch is flattened to its stored
//! format only when PostgreSQL needs bytes: in the final function, and in the
//! serial/deserial functions between parallel workers. The Rust value is freed by a
//! reset callback when the aggregate's memory context goes away.
//!
//! [`sketch_type_functions!`] defines, for one sketch type, the SQL-callable functions
//! that do not depend on how the sketch is built: text and binary I/O, the JSON form,
//! the scalar merge, and the merge, combine, serial, deserial and final functions of the
//! aggregates.

use crate::fmgr::{arg, bytes_to_varlena, raise, varlena_bytes, OrRaise};
use crate::item::ItemKind;
use pgrx::pg_sys;
use topk_core::SketchError;

/// What the SQL layer needs of a core sketch.
pub trait Sketch: Sized + Clone + 'static {
    /// The SQL type name.
    const TYPE_NAME: &'static str;
    fn to_bytes(&self) -> Vec<u8>;
    fn from_bytes(bytes: &[u8]) -> topk_core::Result<Self>;
    fn to_text(&self) -> String;
    fn from_text(text: &str) -> topk_core::Result<Self>;
    fn to_json(&self) -> serde_json::Value;
    fn merge(&mut self, other: &Self) -> topk_core::Result<()>;
}

/// Implements [`Sketch`] for a core type whose inherent methods have the trait's names.
#[macro_export]
macro_rules! impl_sketch {
    ($S:ty, $name:literal) => {
        impl $crate::state::Sketch for $S {
            const TYPE_NAME: &'static str = $name;
            fn to_bytes(&self) -> Vec<u8> {
                <$S>::to_bytes(self)
            }
            fn from_bytes(bytes: &[u8]) -> topk_core::Result<Self> {
                <$S>::from_bytes(bytes)
            }
            fn to_text(&self) -> String {
                <$S>::to_text(self)
            }
            fn from_text(text: &str) -> topk_core::Result<Self> {
                <$S>::from_text(text)
            }
            fn to_json(&self) -> serde_json::Value {
                <$S>::to_json(self)
            }
            fn merge(&mut self, other: &Self) -> topk_core::Result<()> {
                <$S>::merge(self, other)
            }
        }
    };
}

/// The working state of an aggregate.
#[derive(Clone)]
pub struct AggState<S> {
    pub sketch: S,
    /// How to read the aggregated column, looked up on the first row (unknown after
    /// deserialization, where only combine and final follow).
    pub item: Option<ItemKind>,
}

/// The aggregate memory context, or an ERROR when not called as an aggregate.
unsafe fn agg_context(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::MemoryContext {
    let mut ctx: pg_sys::MemoryContext = std::ptr::null_mut();
    if pg_sys::AggCheckCallContext(fcinfo, &mut ctx) == 0 || ctx.is_null() {
        raise(SketchError::invalid("aggregate support function called in non-aggregate context"));
    }
    ctx
}

unsafe extern "C-unwind" fn drop_state<S>(arg: *mut std::ffi::c_void) {
    drop(Box::from_raw(arg as *mut AggState<S>));
}

/// Moves `state` into the aggregate's memory context: it is dropped when that context
/// is reset or deleted.
unsafe fn keep_in_context<S>(fcinfo: pg_sys::FunctionCallInfo, state: AggState<S>) -> *mut AggState<S> {
    let ctx = agg_context(fcinfo);
    let ptr = Box::into_raw(Box::new(state));
    let cb = pg_sys::MemoryContextAlloc(ctx, std::mem::size_of::<pg_sys::MemoryContextCallback>())
        as *mut pg_sys::MemoryContextCallback;
    (*cb).func = Some(drop_state::<S>);
    (*cb).arg = ptr as *mut std::ffi::c_void;
    (*cb).next = std::ptr::null_mut();
    pg_sys::MemoryContextRegisterResetCallback(ctx, cb);
    ptr
}

/// The state passed as argument `i`, if not NULL.
#[inline]
pub unsafe fn state_arg<'a, S>(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<&'a mut AggState<S>> {
    arg(fcinfo, i).map(|d| &mut *(d.cast_mut_ptr::<AggState<S>>()))
}

/// The state of a build aggregate's transition function `trans(state, value, params...)`:
/// the existing one, or a new one made by `init(params, item kind, item type)` on the
/// first non-NULL value. While there is no state, `params` is called on every row, so
/// bad parameters raise an ERROR even when every value is NULL; after that the
/// parameters are constants (see [`crate::fmgr::param_arg`]) and are not read again.
/// `None` means no state yet (the value was NULL).
#[inline]
pub unsafe fn build_state<'a, S, P>(
    fcinfo: pg_sys::FunctionCallInfo,
    params: impl FnOnce() -> P,
    init: impl FnOnce(P, ItemKind, pg_sys::Oid) -> S,
) -> Option<&'a mut AggState<S>> {
    if let Some(s) = state_arg(fcinfo, 0) {
        return Some(s);
    }
    let p = params();
    arg(fcinfo, 1)?;
    let typoid = crate::fmgr::arg_type(fcinfo, 1);
    let kind = ItemKind::for_type(typoid);
    let sketch = init(p, kind, typoid);
    Some(&mut *keep_in_context(fcinfo, AggState { sketch, item: Some(kind) }))
}

#[inline]
pub fn state_datum<S>(state: &mut AggState<S>) -> pg_sys::Datum {
    pg_sys::Datum::from(state as *mut AggState<S>)
}

/// A stored sketch argument, decoded (an ERROR if the bytes are not a valid sketch).
pub unsafe fn sketch_arg<S: Sketch>(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<S> {
    arg(fcinfo, i).map(|d| S::from_bytes(varlena_bytes(d)).or_raise())
}

pub unsafe fn sketch_datum<S: Sketch>(s: &S) -> pg_sys::Datum {
    bytes_to_varlena(&s.to_bytes())
}

/// `merge_trans(state, sketch)`: the transition of a merge aggregate. NULL sketches
/// are skipped, like NULL values in any aggregate.
pub unsafe fn merge_trans<S: Sketch>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let state = state_arg::<S>(fcinfo, 0);
    let Some(d) = arg(fcinfo, 1) else {
        return match state {
            Some(s) => state_datum(s),
            None => crate::fmgr::return_null(fcinfo),
        };
    };
    let incoming = S::from_bytes(varlena_bytes(d)).or_raise();
    match state {
        Some(s) => {
            s.sketch.merge(&incoming).or_raise();
            state_datum(s)
        }
        None => state_datum(&mut *keep_in_context(fcinfo, AggState { sketch: incoming, item: None })),
    }
}

/// `combine(state, state)`: merges two partial states (parallel aggregation).
pub unsafe fn combine<S: Sketch>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    match (state_arg::<S>(fcinfo, 0), state_arg::<S>(fcinfo, 1)) {
        (None, None) => crate::fmgr::return_null(fcinfo),
        (Some(a), None) => state_datum(a),
        (Some(a), Some(b)) => {
            a.sketch.merge(&b.sketch).or_raise();
            state_datum(a)
        }
        // The first state must live in the aggregate context: copy the second there.
        (None, Some(b)) => state_datum(&mut *keep_in_context(fcinfo, b.clone())),
    }
}

/// `serial(state) -> bytea`: the stored format of the state's sketch.
pub unsafe fn serial<S: Sketch>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let s = state_arg::<S>(fcinfo, 0).expect("strict serial function got NULL");
    sketch_datum(&s.sketch)
}

/// `deserial(bytea, internal) -> state`.
pub unsafe fn deserial<S: Sketch>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let sketch = sketch_arg::<S>(fcinfo, 0).expect("strict deserial function got NULL");
    state_datum(&mut *keep_in_context(fcinfo, AggState { sketch, item: None }))
}

/// `final(state) -> sketch`: flattens the state; it does not modify it, as PostgreSQL
/// may call a final function more than once on one state.
pub unsafe fn final_sketch<S: Sketch>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    match state_arg::<S>(fcinfo, 0) {
        Some(s) => sketch_datum(&s.sketch),
        None => crate::fmgr::return_null(fcinfo),
    }
}

/// `merge(a, b)`: NULL is the identity (merging with nothing changes nothing).
pub unsafe fn merge_pair<S: Sketch>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    match (sketch_arg::<S>(fcinfo, 0), arg(fcinfo, 1)) {
        (None, None) => crate::fmgr::return_null(fcinfo),
        (None, Some(b)) => b,
        (Some(a), None) => sketch_datum(&a),
        (Some(mut a), Some(_)) => {
            let b = sketch_arg::<S>(fcinfo, 1).unwrap();
            a.merge(&b).or_raise();
            sketch_datum(&a)
        }
    }
}

/// Defines the type-independent SQL functions of one sketch type; `$p` is the SQL
/// name prefix (`hll` gives `hll_in`, `hll_out`, `hll_recv`, `hll_send`, `hll_to_json`,
/// `hll_merge`, `hll_merge_trans`, `hll_combine`, `hll_serial`, `hll_deserial`,
/// `hll_final`).
#[macro_export]
macro_rules! sketch_type_functions {
    ($S:ty, $p:ident) => {
        ::paste::paste! {
            $crate::pg_function!(fn [<$p _in>](fcinfo) {
                let s = <$S as $crate::state::Sketch>::from_text($crate::fmgr::arg_cstr(fcinfo, 0));
                $crate::state::sketch_datum(&$crate::fmgr::OrRaise::or_raise(s))
            });
            $crate::pg_function!(fn [<$p _out>](fcinfo) {
                let s = $crate::state::sketch_arg::<$S>(fcinfo, 0).unwrap();
                $crate::fmgr::cstring(&$crate::state::Sketch::to_text(&s))
            });
            $crate::pg_function!(fn [<$p _recv>](fcinfo) {
                let s = <$S as $crate::state::Sketch>::from_bytes($crate::fmgr::recv_bytes(fcinfo));
                $crate::state::sketch_datum(&$crate::fmgr::OrRaise::or_raise(s))
            });
            $crate::pg_function!(fn [<$p _send>](fcinfo) {
                // Validate before sending: the bytes on the wire are the stored format.
                let s = $crate::state::sketch_arg::<$S>(fcinfo, 0).unwrap();
                $crate::state::sketch_datum(&s)
            });
            $crate::pg_function!(fn [<$p _to_json>](fcinfo) {
                let s = $crate::state::sketch_arg::<$S>(fcinfo, 0).unwrap();
                $crate::fmgr::jsonb(&$crate::state::Sketch::to_json(&s))
            });
            $crate::pg_function!(fn [<$p _merge>](fcinfo) { $crate::state::merge_pair::<$S>(fcinfo) });
            $crate::pg_function!(fn [<$p _merge_trans>](fcinfo) { $crate::state::merge_trans::<$S>(fcinfo) });
            $crate::pg_function!(fn [<$p _combine>](fcinfo) { $crate::state::combine::<$S>(fcinfo) });
            $crate::pg_function!(fn [<$p _serial>](fcinfo) { $crate::state::serial::<$S>(fcinfo) });
            $crate::pg_function!(fn [<$p _deserial>](fcinfo) { $crate::state::deserial::<$S>(fcinfo) });
            $crate::pg_function!(fn [<$p _final>](fcinfo) { $crate::state::final_sketch::<$S>(fcinfo) });
        }
    };
}
