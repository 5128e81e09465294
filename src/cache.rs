//! Decoded arguments kept across the calls of one call site in one query (its
//! `fn_extra`): an estimate called once per row of a join decodes its sketch once, not
//! once per row, and the view `top_<k>` reads a window's arrays once, not once per rank.
//! The decoded value is reused only for a byte-identical argument, compared as it
//! arrives, before any detoasting (a stored value by its TOAST pointer, an inline one by
//! its bytes); expanded and in-memory TOAST pointers are not cached, as their address
//! says nothing of their contents.

use crate::fmgr::{arg, varlena_bytes, OrRaise};
use crate::state::{on_context_reset, Sketch};
use pgrx::pg_sys;
use std::ffi::c_void;

struct Cached<T> {
    key: Vec<u8>,
    value: T,
}

unsafe extern "C-unwind" fn drop_cached<T>(arg: *mut c_void) {
    drop(Box::from_raw(arg as *mut Cached<T>));
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

/// The varlena argument `i` (`None` when NULL) decoded by `decode`, once for the call
/// site while the same value comes back. A call site decodes one type `T` only; callers
/// must leave the value as they found it.
pub unsafe fn cached_arg<'a, T>(fcinfo: pg_sys::FunctionCallInfo, i: usize, decode: impl FnOnce(pg_sys::Datum) -> T) -> Option<&'a mut T> {
    let d = arg(fcinfo, i)?;
    let flinfo = (*fcinfo).flinfo;
    let Some(key) = cache_key(d) else {
        // Not cacheable: decoded for this call, kept until the next one.
        return Some(store(flinfo, Vec::new(), decode(d)));
    };
    let slot = (*flinfo).fn_extra as *mut Cached<T>;
    if !slot.is_null() && !(*slot).key.is_empty() && (*slot).key == key {
        return Some(&mut (*slot).value);
    }
    let value = decode(d);
    Some(store(flinfo, key.to_vec(), value))
}

/// The sketch at argument `i` (`None` when NULL), decoded once for the call site while
/// the same value comes back.
pub unsafe fn cached_sketch_arg<'a, S: Sketch>(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<&'a mut S> {
    cached_arg(fcinfo, i, |d| S::from_bytes(varlena_bytes(d)).or_raise())
}

unsafe fn store<'a, T>(flinfo: *mut pg_sys::FmgrInfo, key: Vec<u8>, value: T) -> &'a mut T {
    let slot = (*flinfo).fn_extra as *mut Cached<T>;
    if slot.is_null() {
        let boxed = Box::into_raw(Box::new(Cached { key, value }));
        on_context_reset((*flinfo).fn_mcxt, drop_cached::<T>, boxed as *mut c_void);
        (*flinfo).fn_extra = boxed as *mut c_void;
        &mut (*boxed).value
    } else {
        (*slot).key = key;
        (*slot).value = value;
        &mut (*slot).value
    }
}
