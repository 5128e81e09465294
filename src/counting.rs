//! What the four sketch types have in common as counters of items: one transition
//! function body for every build aggregate, and one `*_add` scalar function.

use crate::fmgr::{arg, nargs, return_null, weight_arg, OrRaise};
use crate::item::{check_item_tag, ItemRef, ItemReader};
use crate::state::{build_state, sketch_arg, sketch_datum, state_datum, Backend, Sketch};
use topk_core::hash::{hash_bytes, hash_i64};
use pgrx::pg_sys;

/// A sketch that counts items, each with a weight.
pub trait Counting: Sketch {
    /// Counts a non-NULL item `weight` times (sketches that count distinct items only
    /// ignore the weight).
    fn add_item(&mut self, item: ItemRef, weight: u64) -> topk_core::Result<()>;
    /// The tag of the items' type (see [`ItemReader::hash_tag`]); 0 while unknown.
    fn item_tag(&self) -> u32;
    fn set_item_tag(&mut self, tag: u32);
}

/// The transition function of a build aggregate, `trans(state, value [, weight bigint]
/// [, parameters…])`: `params` reads and checks the parameters, `init` makes the empty
/// sketch from them. NULL values and NULL weights are skipped.
#[inline]
pub unsafe fn count_trans<B: Backend, S: Counting, P>(
    fcinfo: pg_sys::FunctionCallInfo,
    weighted: bool,
    params: impl FnOnce() -> P,
    init: impl FnOnce(P) -> S,
) -> pg_sys::Datum {
    let state = build_state::<B, _, _>(fcinfo, params, |p, reader: ItemReader, _typoid| {
        let mut s = init(p);
        s.set_item_tag(reader.hash_tag());
        s
    });
    let Some(mut state) = state else { return return_null(fcinfo) };
    if let (Some(value), Some(reader)) = (arg(fcinfo, 1), state.reader) {
        let weight = if weighted { weight_arg(fcinfo, 2) } else { Some(1) };
        if let Some(w) = weight {
            let item = reader.item(value);
            if S::BATCHED {
                let p = &mut state.pending;
                match item {
                    ItemRef::Int(v) => p.ints.push((v, hash_i64(v), w)),
                    ItemRef::Bytes(b) => {
                        p.byte_items.push((b.len(), hash_bytes(&b), w));
                        p.bytes.extend_from_slice(&b);
                    }
                }
                if !p.is_full() {
                    // Nothing grew but the pending items (at most 64 of them and
                    // BATCH_BYTES): the memory accounting waits for the flush.
                    return state.datum();
                }
                state.flush();
            } else {
                state.sketch.add_item(item, w).or_raise();
            }
        }
    }
    state_datum(state)
}

/// The item at argument `i`, checked against (or adopted as) the sketch's item type.
pub unsafe fn item_arg<'a, S: Counting>(s: &mut S, fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<ItemRef<'a>> {
    let value = arg(fcinfo, i)?;
    let mut tag = s.item_tag();
    let reader = check_item_tag(&mut tag, fcinfo, i, S::TYPE_NAME);
    s.set_item_tag(tag);
    Some(reader.item(value))
}

/// `*_add(sketch, value [, weight bigint]) -> sketch`: a NULL value (or weight) leaves
/// the sketch as it is.
pub unsafe fn add_scalar<S: Counting>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let Some(mut s) = sketch_arg::<S>(fcinfo, 0) else { return return_null(fcinfo) };
    if let Some(item) = item_arg(&mut s, fcinfo, 1) {
        let weight = if nargs(fcinfo) >= 3 { weight_arg(fcinfo, 2) } else { Some(1) };
        if let Some(w) = weight {
            s.add_item(item, w).or_raise();
        }
    }
    sketch_datum(&s)
}
