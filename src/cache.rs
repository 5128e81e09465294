//! Decoded sketch arguments kept across the calls of one call site in one query (its
//! `fn_extra`): an estimate called once per row of a join decodes its sketch once, not
//! once per row. The decoded sketch is reused only for a byte-identical argument,
//! compared as it arrives, before any detoasting (a stored value by its TOAST pointer,
//! an inline one by its bytes); expanded and in-memory TOAST pointers are not cached,
//! as their address says nothing of their contents.

use crate::fmgr::{arg, varlena_bytes, OrRaise};
use crate::state::{on_context_reset, Sketch};
use pgrx::pg_sys;
use std::ffi::c_void;

struct Cached<S> {
    key: Vec<u8>,
    sketch: S,
}

unsafe extern "C-unwind" fn drop_cached<S>(arg: *mut c_void) {
    drop(Box::from_raw(arg as *mut Cached<S>));
}

/// The bytes that identify a datum's value, if it may be cached.
unsafe fn cache_key<'a>(d: pg_sys::Datum) -> Option<&'a [u8]> {
    let p = d.cast_mut_ptr::<pg_sys::varlena>();
    if pgrx::varlena::varatt_is_1b_e(p) {
        let tag = pgrx::varlena::vartag_external(p) as pg_sys::vartag_external::Type;
        if tag != pg_sys::vartag_external::VARTAG_ONDISK {
            return None;
        }
    }
    Some(std::slice::from_raw_parts(p as *const u8, pgrx::varlena::varsize_any(p)))
}

/// The sketch at argument `i` (`None` when NULL), decoded once for the call site while
/// the same value comes back. Callers must leave the sketch as they found it.
pub unsafe fn cached_sketch_arg<'a, S: Sketch>(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<&'a mut S> {
    let d = arg(fcinfo, i)?;
    let flinfo = (*fcinfo).flinfo;
    let Some(key) = cache_key(d) else {
        // Not cacheable: decoded for this call, kept until the next one.
        return Some(store(flinfo, Vec::new(), S::from_bytes(varlena_bytes(d)).or_raise()));
    };
    let slot = (*flinfo).fn_extra as *mut Cached<S>;
    if !slot.is_null() && !(*slot).key.is_empty() && (*slot).key == key {
        return Some(&mut (*slot).sketch);
    }
    let sketch = S::from_bytes(varlena_bytes(d)).or_raise();
    Some(store(flinfo, key.to_vec(), sketch))
}

unsafe fn store<'a, S: Sketch>(flinfo: *mut pg_sys::FmgrInfo, key: Vec<u8>, sketch: S) -> &'a mut S {
    let slot = (*flinfo).fn_extra as *mut Cached<S>;
    if slot.is_null() {
        let boxed = Box::into_raw(Box::new(Cached { key, sketch }));
        on_context_reset((*flinfo).fn_mcxt, drop_cached::<S>, boxed as *mut c_void);
        (*flinfo).fn_extra = boxed as *mut c_void;
        &mut (*boxed).sketch
    } else {
        (*slot).key = key;
        (*slot).sketch = sketch;
        &mut (*slot).sketch
    }
}
