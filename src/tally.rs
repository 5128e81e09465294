//! Exact counts for the pipeline's batch path (sql/pipeline/batch.sql): the aggregates
//! `topk._tally(item, weight)` over events and `topk._tally_parts(items, counts,
//! events)` over the arrays of finer windows count each window in a hash map (the core's
//! `Tally`), and `topk._tally_arrays(tally, NULL::item_type)` returns its items, counts
//! and events as arrays, largest count first, ties by item in the collation of the call.
//! The state is a `bytea` holding the tally as an expanded object (src/state.rs), so
//! nothing is serialized per row.

use crate::counting::{count_trans, Counting};
use crate::fmgr::{arg, arg_type, raise, return_record, OrRaise};
use crate::item::{ItemRef, ItemReader};
use crate::state::{sketch_datum, state_datum, AggState, Backend, Expanded};
use crate::{impl_sketch, pg_function};
use pgrx::pg_sys;
use topk_core::hash::{hash_bytes, hash_i64};
use topk_core::spacesaving::{check_capacity, SpaceSaving};
use topk_core::tally::{Counts, Tally};
use topk_core::SketchError;

impl_sketch!(Tally, "tally");

impl Counting for Tally {
    #[inline]
    fn add_item(&mut self, item: ItemRef, weight: u64) -> topk_core::Result<()> {
        match item {
            ItemRef::Int(v) => self.add_int(v, weight, 1),
            ItemRef::Bytes(b) => self.add_bytes(&b, weight, 1),
        }
    }
    fn item_tag(&self) -> u32 {
        self.item_tag
    }
    fn set_item_tag(&mut self, tag: u32) {
        self.item_tag = tag;
    }
}

// topk._tally_trans(state bytea, item anyelement, weight bigint): a row counts `weight`
// (NULL: the row is skipped) and one event. Also declared on the pipeline's item types,
// for Citus (the aggregate then runs on its workers: the declared type is the item's).
pg_function!(fn topk_tally_trans(fcinfo) sql[
    "(bytea, anyelement, bigint) -> bytea",
    "(bytea, integer, bigint) -> bytea",
    "(bytea, bigint, bigint) -> bytea",
    "(bytea, text, bigint) -> bytea",
    "(bytea, uuid, bigint) -> bytea",
] {
    count_trans::<Expanded, Tally, _>(fcinfo, true, || (), |()| Tally::new())
});

// topk._tally_combine(state bytea, state bytea): two partial tallies summed (Citus
// combines the workers' tallies of a window on the coordinator).
pg_function!(fn topk_tally_combine(fcinfo) sql["(bytea, bytea) -> bytea"] {
    crate::state::combine::<Expanded, Tally>(fcinfo)
});

/// The elements of a one-dimensional array datum (an ERROR on NULL elements).
unsafe fn array_elements(d: pg_sys::Datum, what: &str) -> (pg_sys::Oid, Vec<pg_sys::Datum>) {
    let arr = pg_sys::pg_detoast_datum(d.cast_mut_ptr()) as *mut pg_sys::ArrayType;
    let elemtype = (*arr).elemtype;
    let (mut typlen, mut byval, mut align) = (0i16, false, 0 as std::ffi::c_char);
    pg_sys::get_typlenbyvalalign(elemtype, &mut typlen, &mut byval, &mut align);
    let (mut elems, mut nulls, mut n) = (std::ptr::null_mut(), std::ptr::null_mut(), 0);
    pg_sys::deconstruct_array(arr, elemtype, typlen as i32, byval, align, &mut elems, &mut nulls, &mut n);
    let n = n as usize;
    if n > 0 && std::slice::from_raw_parts(nulls, n).iter().any(|&x| x) {
        raise(SketchError::invalid(format!("{what} must not contain NULL")));
    }
    let elems = if n == 0 { Vec::new() } else { std::slice::from_raw_parts(elems, n).to_vec() };
    (elemtype, elems)
}

// topk._tally_parts_trans(state bytea, items anyarray, counts bigint[], events bigint[]):
// adds the counts of a finer window (events NULL: the counts are the events).
pg_function!(fn topk_tally_parts_trans(fcinfo) sql["(bytea, anyarray, bigint[], bigint[]) -> bytea"] {
    let state = Expanded::take::<Tally>(fcinfo, 0);
    let (Some(items), Some(counts)) = (arg(fcinfo, 1), arg(fcinfo, 2)) else {
        return match state {
            Some(s) => state_datum(s),
            None => crate::fmgr::return_null(fcinfo),
        };
    };
    let (elemtype, items) = array_elements(items, "items");
    let (_, counts) = array_elements(counts, "counts");
    let events = arg(fcinfo, 3).map(|e| array_elements(e, "events").1);
    if counts.len() != items.len() || events.as_ref().is_some_and(|e| e.len() != items.len()) {
        raise(SketchError::invalid("items, counts and events must have the same length"));
    }
    let reader = ItemReader::for_type(elemtype);
    let mut s = match state {
        Some(s) => s,
        None => {
            let mut t = Tally::new();
            t.item_tag = reader.hash_tag();
            Expanded::adopt(fcinfo, AggState::new(t, Some(reader)))
        }
    };
    for (i, &item) in items.iter().enumerate() {
        let count = counts[i].value() as i64;
        let events = events.as_ref().map_or(count, |e| e[i].value() as i64);
        if count < 0 || events < 0 {
            raise(SketchError::invalid("counts and events must not be negative"));
        }
        match reader.item(item) {
            ItemRef::Int(v) => s.sketch.add_int(v, count as u64, events as u64),
            ItemRef::Bytes(b) => s.sketch.add_bytes(&b, count as u64, events as u64),
        }
        .or_raise();
    }
    state_datum(s)
});

/// A one-dimensional array of `elemtype` from its elements.
unsafe fn make_array(mut datums: Vec<pg_sys::Datum>, elemtype: pg_sys::Oid) -> pg_sys::Datum {
    let (mut typlen, mut byval, mut align) = (0i16, false, 0 as std::ffi::c_char);
    pg_sys::get_typlenbyvalalign(elemtype, &mut typlen, &mut byval, &mut align);
    let arr = pg_sys::construct_array(datums.as_mut_ptr(), datums.len() as i32, elemtype, typlen as i32, byval, align);
    pg_sys::Datum::from(arr)
}

unsafe fn count_arrays(counts: impl Iterator<Item = Counts> + Clone) -> (pg_sys::Datum, pg_sys::Datum) {
    let c = counts.clone().map(|c| pg_sys::Datum::from(c.count as i64)).collect();
    let e = counts.map(|c| pg_sys::Datum::from(c.events as i64)).collect();
    (make_array(c, pg_sys::INT8OID), make_array(e, pg_sys::INT8OID))
}

// topk._tally_arrays(tally bytea, item anyelement, OUT items anyarray, OUT counts
// bigint[], OUT events bigint[]): the tally sorted by count (largest first), ties by
// item: integers by value, text and varchar in the call's collation, other items by
// their bytes.
pg_function!(fn topk_tally_arrays(fcinfo) sql["(bytea, anyelement) -> record (anyarray, bigint[], bigint[])"] {
    let typoid = arg_type(fcinfo, 1);
    let collation = (*fcinfo).fncollation;
    let collated = matches!(typoid, pg_sys::TEXTOID | pg_sys::VARCHAROID);
    let arrays = Expanded::read::<Tally, _>(fcinfo, 0, |h| {
        let t = h.sketch();
        if t.is_empty() {
            let empty = pg_sys::Datum::from(pg_sys::construct_empty_array(typoid));
            let no_counts = || pg_sys::Datum::from(pg_sys::construct_empty_array(pg_sys::INT8OID));
            return [empty, no_counts(), no_counts()];
        }
        let ints = t.sorted_ints();
        if !ints.is_empty() {
            let items = ints.iter().map(|&(v, _)| ItemRef::Int(v).to_datum(t.item_tag, typoid)).collect();
            let (c, e) = count_arrays(ints.iter().map(|x| x.1));
            return [make_array(items, typoid), c, e];
        }
        let bytes = t.sorted_bytes(|a, b| {
            if collated {
                let r = pg_sys::varstr_cmp(a.as_ptr().cast(), a.len() as i32, b.as_ptr().cast(), b.len() as i32, collation);
                r.cmp(&0)
            } else {
                a.cmp(b)
            }
        });
        let items = bytes.iter().map(|&(b, _)| ItemRef::Bytes(std::borrow::Cow::Borrowed(b)).to_datum(t.item_tag, typoid)).collect();
        let (c, e) = count_arrays(bytes.iter().map(|x| x.1));
        [make_array(items, typoid), c, e]
    });
    match arrays {
        Some(mut values) => return_record(fcinfo, &mut values, &mut [false; 3]),
        None => crate::fmgr::return_null(fcinfo),
    }
});

// topk._tally_sketch(tally bytea, capacity integer) -> spacesaving: a space-saving sketch
// of exact counts (the final parts of an open window, for the speed path). The items go
// in largest count first, so those that fit keep their exact counts (error 0).
pg_function!(fn topk_tally_sketch(fcinfo) sql["strict (bytea, integer) -> spacesaving"] {
    let Some(capacity) = crate::fmgr::arg_i32(fcinfo, 1) else { return crate::fmgr::return_null(fcinfo) };
    let capacity = check_capacity(i64::from(capacity)).or_raise();
    let sketch = Expanded::read::<Tally, _>(fcinfo, 0, |h| {
        let t = h.sketch();
        let mut s = SpaceSaving::new(capacity).or_raise();
        s.item_type = t.item_tag;
        for (v, c) in t.sorted_ints() {
            s.update_int(v, hash_i64(v), c.count).or_raise();
        }
        for (b, c) in t.sorted_bytes(|a, b| a.cmp(b)) {
            s.update_bytes(b, hash_bytes(b), c.count).or_raise();
        }
        s
    });
    match sketch {
        Some(s) => sketch_datum(&s),
        None => crate::fmgr::return_null(fcinfo),
    }
});

// topk._tally_totals(tally bytea, OUT count bigint, OUT events bigint): the sums of its
// counts and of its events.
pg_function!(fn topk_tally_totals(fcinfo) sql["strict (bytea) -> record (bigint, bigint)"] {
    let totals = Expanded::read::<Tally, _>(fcinfo, 0, |h| h.sketch().totals());
    match totals {
        Some(Ok(c)) => {
            let mut values = [pg_sys::Datum::from(c.count as i64), pg_sys::Datum::from(c.events as i64)];
            return_record(fcinfo, &mut values, &mut [false; 2])
        }
        Some(Err(e)) => raise(e),
        None => crate::fmgr::return_null(fcinfo),
    }
});
