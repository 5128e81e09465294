//! Rank access to a pipeline's top-k lists (sql/pipeline/objects.sql). A window's list
//! is a row of arrays in `<name>.top_lists`; the view `top_<k>` walks the pipeline's
//! table of ranks in order and reads rank `r` of each array with
//! `topk._list_element(array, r)`, so that `ORDER BY rank LIMIT n` reads n ranks and
//! sorts nothing. A call site keeps the array it read last, detoasted and split into its
//! elements (src/cache.rs): a window's arrays are read once a query, not once a rank.

use crate::cache::cached_arg;
use crate::fmgr::{arg_i32, return_null};
use crate::pg_function;
use pgrx::pg_sys;

/// A one-dimensional array, detoasted into memory of its own, as its elements.
struct Elements {
    /// The array's bytes, 8-byte aligned: elements passed by reference point into them.
    _bytes: Vec<u64>,
    values: Vec<pg_sys::Datum>,
    nulls: Vec<bool>,
}

unsafe fn elements(d: pg_sys::Datum) -> Elements {
    let detoasted = pg_sys::pg_detoast_datum(d.cast_mut_ptr());
    let size = pgrx::varlena::varsize_any(detoasted);
    let mut bytes = vec![0u64; size.div_ceil(8)];
    std::ptr::copy_nonoverlapping(detoasted as *const u8, bytes.as_mut_ptr() as *mut u8, size);
    if detoasted != d.cast_mut_ptr() {
        pg_sys::pfree(detoasted as *mut std::ffi::c_void);
    }
    let arr = bytes.as_mut_ptr() as *mut pg_sys::ArrayType;
    let elemtype = (*arr).elemtype;
    let (mut typlen, mut byval, mut align) = (0i16, false, 0 as std::ffi::c_char);
    pg_sys::get_typlenbyvalalign(elemtype, &mut typlen, &mut byval, &mut align);
    let (mut elems, mut nulls, mut n) = (std::ptr::null_mut(), std::ptr::null_mut(), 0);
    pg_sys::deconstruct_array(arr, elemtype, typlen as i32, byval, align, &mut elems, &mut nulls, &mut n);
    let n = n as usize;
    let (values, null_flags) = if n == 0 {
        (Vec::new(), Vec::new())
    } else {
        (std::slice::from_raw_parts(elems, n).to_vec(), std::slice::from_raw_parts(nulls, n).to_vec())
    };
    pg_sys::pfree(elems as *mut std::ffi::c_void);
    pg_sys::pfree(nulls as *mut std::ffi::c_void);
    Elements { _bytes: bytes, values, nulls: null_flags }
}

// topk._list_element(list anyarray, rank integer) -> anyelement: the element at `rank`
// (the first is 1, whatever the array's lower bound), NULL outside the array.
pg_function!(fn topk_list_element(fcinfo) sql["strict (anyarray, integer) -> anyelement"] {
    let list = cached_arg(fcinfo, 0, |d| elements(d)).expect("strict");
    let rank = arg_i32(fcinfo, 1).expect("strict");
    match usize::try_from(rank).ok().and_then(|r| r.checked_sub(1)) {
        Some(i) if i < list.values.len() && !list.nulls[i] => list.values[i],
        _ => return_null(fcinfo),
    }
});
