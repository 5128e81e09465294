//! Aggregate state handling, in one place for every sketch type.
//!
//! A build or merge aggregate's state is the **sketch type itself** (so Citus can push
//! the aggregate down to its workers and ship partial states as text), held while
//! aggregating as a PostgreSQL *expanded object*: a read-write expanded datum whose
//! memory context is a child of the aggregate's, pointing at the working Rust sketch.
//! The transition function updates that sketch in place and returns the same datum, so
//! nothing is serialized per row (the way `array_append` keeps arrays expanded). The
//! sketch is flattened to its stored format only when PostgreSQL needs bytes: in the
//! final function, between parallel workers, or when the state is written out. The
//! Rust value is dropped by a reset callback on the object's memory context.
//!
//! (The `internal` state this replaced was measured against it before it was removed:
//! docs/benchmarks.md, "State as an expanded object".)
//!
//! [`sketch_type_functions!`] defines, for one sketch type, the SQL-callable functions
//! that do not depend on how the sketch is built: text and binary I/O, the JSON form,
//! the scalar merge, and the merge, combine and final functions of the aggregates.

use crate::fmgr::{arg, bytes_to_varlena, raise, varlena_bytes, OrRaise};
use std::ffi::c_void;
use crate::item::ItemReader;
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
    fn merge(&mut self, other: &Self) -> topk_core::Result<()>;
    /// Merges a stored sketch: `merge(&from_bytes(bytes)?)`, or the same done faster.
    fn merge_bytes(&mut self, bytes: &[u8]) -> topk_core::Result<()> {
        self.merge(&Self::from_bytes(bytes)?)
    }
    /// Bytes the sketch holds on the Rust heap (see [`Holder::account`]).
    fn heap_bytes(&self) -> usize;
    /// Whether a build aggregate collects items in batches of [`BATCH`] for
    /// [`Sketch::add_ints`] and [`Sketch::add_bytes`] (sketches whose update misses the
    /// cache: a batch prefetches).
    const BATCHED: bool = false;
    /// Counts a batch of integer items `(value, hash, weight)`; only called when
    /// `BATCHED`.
    fn add_ints(&mut self, _batch: &[(i64, u64, u64)]) -> topk_core::Result<()> {
        unreachable!("add_ints of a sketch without batches")
    }
    /// Counts a batch of byte-string items `(length, hash, weight)` whose bytes follow
    /// one another in `bytes`; only called when `BATCHED`.
    fn add_bytes(&mut self, _bytes: &[u8], _batch: &[(usize, u64, u64)]) -> topk_core::Result<()> {
        unreachable!("add_bytes of a sketch without batches")
    }
}

/// Items a build aggregate collects before counting them at once (when the sketch is
/// `BATCHED`).
pub const BATCH: usize = 64;
/// ... or, for byte strings, as many as hold this many bytes. Rows that only add to
/// the pending items skip the memory accounting (see `count_trans`), so the pending
/// items stay within its slack (4 kB, see [`Holder::account`]).
pub const BATCH_BYTES: usize = 4 * 1024;

/// Items read and not counted yet: integers `(value, hash, weight)`, and byte strings
/// `(length, hash, weight)` with their bytes one after another in `bytes`.
#[derive(Clone, Default)]
pub struct Pending {
    pub ints: Vec<(i64, u64, u64)>,
    pub bytes: Vec<u8>,
    pub byte_items: Vec<(usize, u64, u64)>,
}

impl Pending {
    #[inline]
    pub fn is_full(&self) -> bool {
        self.ints.len() >= BATCH || self.byte_items.len() >= BATCH || self.bytes.len() >= BATCH_BYTES
    }
    fn heap_bytes(&self) -> usize {
        (self.ints.capacity() + self.byte_items.capacity()) * 24 + self.bytes.capacity()
    }
}

/// Implements [`Sketch`] for a core type whose inherent methods have the trait's names.
/// Options: `batched` (the core type has `update_ints` and `update_bytes_batch`: see
/// `Sketch::BATCHED`), `merge_bytes` (it has its own `merge_bytes`).
#[macro_export]
macro_rules! impl_sketch {
    ($S:ty, $name:literal $(, $option:ident)*) => {
        impl $crate::state::Sketch for $S {
            const TYPE_NAME: &'static str = $name;
            $($crate::impl_sketch!(@$option $S);)*
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
            fn merge(&mut self, other: &Self) -> topk_core::Result<()> {
                <$S>::merge(self, other)
            }
            fn heap_bytes(&self) -> usize {
                <$S>::heap_bytes(self)
            }
        }
    };
    (@batched $S:ty) => {
        const BATCHED: bool = true;
        fn add_ints(&mut self, batch: &[(i64, u64, u64)]) -> topk_core::Result<()> {
            <$S>::update_ints(self, batch)
        }
        fn add_bytes(&mut self, bytes: &[u8], batch: &[(usize, u64, u64)]) -> topk_core::Result<()> {
            <$S>::update_bytes_batch(self, bytes, batch)
        }
    };
    (@merge_bytes $S:ty) => {
        fn merge_bytes(&mut self, bytes: &[u8]) -> topk_core::Result<()> {
            <$S>::merge_bytes(self, bytes)
        }
    };
}

/// The working state of an aggregate.
#[derive(Clone)]
pub struct AggState<S> {
    pub sketch: S,
    /// How to read the aggregated column, looked up on the first row (unknown after a
    /// state was imported from its flat form, where only combine and final follow).
    pub reader: Option<ItemReader>,
    /// Items not counted yet (`Sketch::BATCHED`): `sketch` is complete only after
    /// [`AggState::flush`], which every reader of a state calls first.
    pub pending: Pending,
}

impl<S: Sketch> AggState<S> {
    pub fn new(sketch: S, reader: Option<ItemReader>) -> Self {
        AggState { sketch, reader, pending: Pending::default() }
    }

    /// Counts the pending items.
    pub fn flush(&mut self) {
        let p = &mut self.pending;
        if !p.ints.is_empty() {
            let r = self.sketch.add_ints(&p.ints);
            p.ints.clear();
            r.or_raise();
        }
        if !p.byte_items.is_empty() {
            let r = self.sketch.add_bytes(&p.bytes, &p.byte_items);
            p.bytes.clear();
            p.byte_items.clear();
            r.or_raise();
        }
    }
}

/// A state with its cached flat form (valid until the state is next changed).
pub struct Holder<S> {
    state: AggState<S>,
    flat: Option<Vec<u8>>,
    /// Memory the Rust heap holds for this state, as charged to `charged` (see
    /// [`Holder::account`]).
    accounted: usize,
    charged: pg_sys::MemoryContext,
}

impl<S: Sketch> Holder<S> {
    fn new(state: AggState<S>) -> Self {
        Holder { state, flat: None, accounted: 0, charged: std::ptr::null_mut() }
    }

    /// Makes the memory the sketch holds on the Rust heap count where PostgreSQL counts
    /// an aggregate's memory: it is added to the allocated bytes of the state's own
    /// memory context (`mem_allocated`, what `MemoryContextMemAllocated` sums), renewed
    /// when the sketch has grown by an eighth, and taken off again when the context is
    /// reset or deleted (the holder is dropped first, see [`holder_drop`]). A hash
    /// aggregate then sees its real size and spills to disk at `work_mem ×
    /// hash_mem_multiplier` as it does for built-in aggregates. Nothing is allocated for
    /// it: the memory is charged once, by the Rust heap (also under
    /// `vm.overcommit_memory = 2`), and the count can never fail.
    #[inline]
    unsafe fn account(&mut self, ctx: pg_sys::MemoryContext) {
        let bytes = self.state.sketch.heap_bytes() + self.state.pending.heap_bytes();
        if bytes > self.accounted + self.accounted / 8 + 4096 {
            self.charge(ctx, bytes);
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn charge(&mut self, ctx: pg_sys::MemoryContext, bytes: usize) {
        self.uncharge();
        (*ctx).mem_allocated += bytes;
        (self.accounted, self.charged) = (bytes, ctx);
    }

    unsafe fn uncharge(&mut self) {
        if !self.charged.is_null() {
            (*self.charged).mem_allocated -= self.accounted;
            (self.accounted, self.charged) = (0, std::ptr::null_mut());
        }
    }
    /// The complete sketch (pending items counted).
    pub fn sketch(&mut self) -> &S {
        self.state.flush();
        &self.state.sketch
    }
    fn flat(&mut self) -> &[u8] {
        self.state.flush();
        let state = &self.state;
        self.flat.get_or_insert_with(|| state.sketch.to_bytes())
    }
}

/// A state being worked on, and the datum that stands for it.
pub struct StateRef<'a, S: Sketch> {
    datum: pg_sys::Datum,
    holder: &'a mut Holder<S>,
    /// The memory context of the expanded object.
    ctx: pg_sys::MemoryContext,
}

impl<S: Sketch> std::ops::Deref for StateRef<'_, S> {
    type Target = AggState<S>;
    fn deref(&self) -> &AggState<S> {
        &self.holder.state
    }
}

impl<S: Sketch> std::ops::DerefMut for StateRef<'_, S> {
    fn deref_mut(&mut self) -> &mut AggState<S> {
        self.holder.flat = None;
        &mut self.holder.state
    }
}

impl<S: Sketch> StateRef<'_, S> {
    /// The datum to return when the sketch's heap has not grown since the last
    /// [`state_datum`] (which also renews its memory accounting).
    #[inline]
    pub fn datum(&self) -> pg_sys::Datum {
        self.datum
    }
}

/// The datum to return from a transition or combine function.
pub fn state_datum<S: Sketch>(s: StateRef<'_, S>) -> pg_sys::Datum {
    // SAFETY: ctx is the live memory context of the state's expanded object.
    unsafe { s.holder.account(s.ctx) };
    s.datum
}

/// The aggregate memory context, or an ERROR when not called as an aggregate.
unsafe fn agg_context(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::MemoryContext {
    let mut ctx: pg_sys::MemoryContext = std::ptr::null_mut();
    if pg_sys::AggCheckCallContext(fcinfo, &mut ctx) == 0 || ctx.is_null() {
        raise(SketchError::invalid("aggregate support function called in non-aggregate context"));
    }
    ctx
}

/// Runs `drop_fn(arg)` when `ctx` is reset or deleted.
pub(crate) unsafe fn on_context_reset(ctx: pg_sys::MemoryContext, drop_fn: unsafe extern "C-unwind" fn(*mut c_void), arg: *mut c_void) {
    let cb = pg_sys::MemoryContextAlloc(ctx, std::mem::size_of::<pg_sys::MemoryContextCallback>())
        as *mut pg_sys::MemoryContextCallback;
    (*cb).func = Some(drop_fn);
    (*cb).arg = arg;
    (*cb).next = std::ptr::null_mut();
    pg_sys::MemoryContextRegisterResetCallback(ctx, cb);
}

/// How a state is kept between calls.
pub trait Backend {
    /// A new state owned by the aggregate.
    unsafe fn adopt<'a, S: Sketch>(fcinfo: pg_sys::FunctionCallInfo, state: AggState<S>) -> StateRef<'a, S>;
    /// The state at argument `i` to work on (a flat sketch is imported), if not NULL.
    unsafe fn take<'a, S: Sketch>(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<StateRef<'a, S>>;
    /// Reads the state at argument `i` without taking it over.
    unsafe fn read<S: Sketch, R>(fcinfo: pg_sys::FunctionCallInfo, i: usize, f: impl FnOnce(&mut Holder<S>) -> R) -> Option<R>;
}

/// The state as an expanded object (see the module documentation).
pub struct Expanded;

#[repr(C)]
struct ExpandedSketch {
    hdr: pg_sys::ExpandedObjectHeader,
    /// A `Holder<S>`, for the `S` whose `TypeId` is `sketch_type` (a cheap type check on
    /// every row).
    holder: *mut c_void,
    sketch_type: std::any::TypeId,
    /// The holder's flat form, and its destructor (monomorphised for its sketch type).
    flat: unsafe fn(*mut c_void) -> *const [u8],
    drop: unsafe fn(*mut c_void),
}

unsafe fn holder_flat<S: Sketch>(holder: *mut c_void) -> *const [u8] {
    (*(holder as *mut Holder<S>)).flat() as *const [u8]
}

/// Drops a holder when its context is reset or deleted (the reset callbacks run before
/// the context's memory is freed, so its charge is taken off first).
unsafe fn holder_drop<S: Sketch>(holder: *mut c_void) {
    let mut holder = Box::from_raw(holder as *mut Holder<S>);
    holder.uncharge();
}

/// The holder of an expanded object of ours, if it holds an `S`.
#[inline]
unsafe fn holder_of<'a, S: Sketch>(obj: *mut ExpandedSketch) -> Option<&'a mut Holder<S>> {
    ((*obj).sketch_type == std::any::TypeId::of::<S>()).then(|| &mut *((*obj).holder as *mut Holder<S>))
}

static EXPANDED_METHODS: pg_sys::ExpandedObjectMethods =
    pg_sys::ExpandedObjectMethods { get_flat_size: Some(expanded_flat_size), flatten_into: Some(expanded_flatten_into) };

/// The flat form of the sketch an expanded object holds.
unsafe fn expanded_flat<'a>(eoh: *mut pg_sys::ExpandedObjectHeader) -> &'a [u8] {
    let obj = eoh as *mut ExpandedSketch;
    &*((*obj).flat)((*obj).holder)
}

unsafe extern "C-unwind" fn expanded_flat_size(eoh: *mut pg_sys::ExpandedObjectHeader) -> pg_sys::Size {
    pg_sys::panic::pgrx_extern_c_guard(|| pg_sys::VARHDRSZ + expanded_flat(eoh).len())
}

unsafe extern "C-unwind" fn expanded_flatten_into(eoh: *mut pg_sys::ExpandedObjectHeader, result: *mut c_void, size: pg_sys::Size) {
    pg_sys::panic::pgrx_extern_c_guard(|| {
        let flat = expanded_flat(eoh);
        assert_eq!(size, pg_sys::VARHDRSZ + flat.len(), "flat size changed");
        pgrx::varlena::set_varsize_4b(result as *mut pg_sys::varlena, size as i32);
        std::ptr::copy_nonoverlapping(flat.as_ptr(), (result as *mut u8).add(pg_sys::VARHDRSZ), flat.len());
    })
}

unsafe extern "C-unwind" fn drop_expanded(arg: *mut c_void) {
    let obj = arg as *mut ExpandedSketch;
    ((*obj).drop)((*obj).holder);
}

/// The expanded object of ours behind a datum, read-write or (if `rw_only` is false)
/// read-only.
#[inline(always)]
unsafe fn our_expanded(d: pg_sys::Datum, rw_only: bool) -> Option<*mut ExpandedSketch> {
    let p = d.cast_mut_ptr::<pg_sys::varlena>();
    if p.is_null() || !pgrx::varlena::varatt_is_1b_e(p) {
        return None;
    }
    let tag = pgrx::varlena::vartag_external(p) as pg_sys::vartag_external::Type;
    let expanded = tag == pg_sys::vartag_external::VARTAG_EXPANDED_RW
        || (!rw_only && tag == pg_sys::vartag_external::VARTAG_EXPANDED_RO);
    if !expanded {
        return None;
    }
    // DatumGetEOHP, inline (this runs for every row): the object's address follows the
    // 2-byte external header, unaligned.
    let eoh = std::ptr::read_unaligned((p as *const u8).add(pg_sys::VARHDRSZ_EXTERNAL) as *const *mut pg_sys::ExpandedObjectHeader);
    ((*eoh).eoh_methods == &EXPANDED_METHODS as *const _).then_some(eoh as *mut ExpandedSketch)
}

/// A flat sketch (or a read-only one) as a new state of the aggregate (out of line:
/// [`Expanded::take`] runs for every row, this once).
#[cold]
#[inline(never)]
unsafe fn import<'a, S: Sketch>(fcinfo: pg_sys::FunctionCallInfo, d: pg_sys::Datum) -> StateRef<'a, S> {
    let sketch = S::from_bytes(varlena_bytes(d)).or_raise();
    Expanded::adopt(fcinfo, AggState::new(sketch, None))
}

impl Backend for Expanded {
    unsafe fn adopt<'a, S: Sketch>(fcinfo: pg_sys::FunctionCallInfo, state: AggState<S>) -> StateRef<'a, S> {
        // A child of the aggregate context: nodeAgg then keeps the object as it is.
        let ctx = pg_sys::AllocSetContextCreateInternal(agg_context(fcinfo), c"topk_pg sketch".as_ptr(), 0, 1024, 8192);
        let obj = pg_sys::MemoryContextAlloc(ctx, std::mem::size_of::<ExpandedSketch>()) as *mut ExpandedSketch;
        pg_sys::EOH_init_header(&mut (*obj).hdr, &EXPANDED_METHODS, ctx);
        let holder = Box::into_raw(Box::new(Holder::new(state)));
        std::ptr::addr_of_mut!((*obj).holder).write(holder as *mut c_void);
        std::ptr::addr_of_mut!((*obj).sketch_type).write(std::any::TypeId::of::<S>());
        std::ptr::addr_of_mut!((*obj).flat).write(holder_flat::<S>);
        std::ptr::addr_of_mut!((*obj).drop).write(holder_drop::<S>);
        on_context_reset(ctx, drop_expanded, obj as *mut c_void);
        StateRef { datum: pg_sys::Datum::from((*obj).hdr.eoh_rw_ptr.as_ptr()), holder: &mut *holder, ctx }
    }

    #[inline(always)]
    unsafe fn take<'a, S: Sketch>(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<StateRef<'a, S>> {
        let d = arg(fcinfo, i)?;
        if let Some(obj) = our_expanded(d, true) {
            if let Some(holder) = holder_of::<S>(obj) {
                return Some(StateRef { datum: d, holder, ctx: (*obj).hdr.eoh_context });
            }
        }
        Some(import(fcinfo, d))
    }

    unsafe fn read<S: Sketch, R>(fcinfo: pg_sys::FunctionCallInfo, i: usize, f: impl FnOnce(&mut Holder<S>) -> R) -> Option<R> {
        let d = arg(fcinfo, i)?;
        if let Some(obj) = our_expanded(d, false) {
            if let Some(holder) = holder_of::<S>(obj) {
                return Some(f(holder));
            }
        }
        let sketch = S::from_bytes(varlena_bytes(d)).or_raise();
        Some(f(&mut Holder::new(AggState::new(sketch, None))))
    }
}

/// The state of a build aggregate's transition function `trans(state, value, params...)`:
/// the existing one, or a new one made by `init(params, item kind, item type)` on the
/// first non-NULL value. While there is no state, `params` is called on every row, so
/// bad parameters raise an ERROR even when every value is NULL; after that the
/// parameters are constants (see [`crate::fmgr::param_arg`]) and are not read again.
/// `None` means no state yet (the value was NULL).
#[inline]
pub unsafe fn build_state<'a, B: Backend, S: Sketch, P>(
    fcinfo: pg_sys::FunctionCallInfo,
    params: impl FnOnce() -> P,
    init: impl FnOnce(P, ItemReader, pg_sys::Oid) -> S,
) -> Option<StateRef<'a, S>> {
    if let Some(mut s) = B::take::<S>(fcinfo, 0) {
        if s.reader.is_none() {
            s.reader = Some(ItemReader::for_type(crate::fmgr::arg_type(fcinfo, 1)));
        }
        return Some(s);
    }
    let p = params();
    arg(fcinfo, 1)?;
    let typoid = crate::fmgr::arg_type(fcinfo, 1);
    let reader = ItemReader::for_type(typoid);
    let sketch = init(p, reader, typoid);
    Some(B::adopt(fcinfo, AggState::new(sketch, Some(reader))))
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
pub unsafe fn merge_trans<B: Backend, S: Sketch>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let state = B::take::<S>(fcinfo, 0);
    let Some(d) = arg(fcinfo, 1) else {
        return match state {
            Some(s) => state_datum(s),
            None => crate::fmgr::return_null(fcinfo),
        };
    };
    match state {
        Some(mut s) => {
            s.flush();
            s.sketch.merge_bytes(varlena_bytes(d)).or_raise();
            state_datum(s)
        }
        None => {
            let incoming = S::from_bytes(varlena_bytes(d)).or_raise();
            state_datum(B::adopt(fcinfo, AggState::new(incoming, None)))
        }
    }
}

/// `combine(state, state)`: merges two partial states (parallel aggregation).
pub unsafe fn combine<B: Backend, S: Sketch>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    match B::take::<S>(fcinfo, 0) {
        Some(mut a) => {
            a.flush();
            if let Some(r) = B::read::<S, _>(fcinfo, 1, |b| {
                b.state.flush();
                a.sketch.merge(&b.state.sketch)
            }) {
                r.or_raise();
            }
            state_datum(a)
        }
        // The first state must belong to this aggregate: copy the second.
        None => match B::read::<S, _>(fcinfo, 1, |b| {
            b.state.flush();
            b.state.clone()
        }) {
            Some(b) => state_datum(B::adopt(fcinfo, b)),
            None => crate::fmgr::return_null(fcinfo),
        },
    }
}

/// `final(state) -> sketch`: the state's flat form. It does not change the state, as
/// PostgreSQL may call a final function more than once on one state.
pub unsafe fn final_sketch<B: Backend, S: Sketch>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    match B::read::<S, _>(fcinfo, 0, |h| bytes_to_varlena(h.flat())) {
        Some(d) => d,
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

/// Defines the type-independent SQL functions of one sketch type; `$p` is the symbol
/// prefix (`hll` gives the C symbols `hll_in`, `hll_out`, `hll_recv`, `hll_send`, `hll_to_json`,
/// `hll_merge`, `hll_merge_trans`, `hll_combine`, `hll_final`; the SQL names may differ,
/// e.g. `topk_hll_in`, see sql/hll.sql), `$t` the SQL type and
/// `$v` its typed variants (domains over it that `merge`, `merge_trans` and `final`
/// are also declared for).
#[macro_export]
macro_rules! sketch_type_functions {
    ($S:ty, $p:ident, $t:literal) => {
        $crate::sketch_type_functions!($S, $p, $t, []);
    };
    ($S:ty, $p:ident, $t:literal, [$($v:literal),*]) => {
        ::paste::paste! {
            $crate::pg_function!(fn [<$p _in>](fcinfo) sql[concat!("strict (cstring) -> ", $t)] {
                let s = <$S as $crate::state::Sketch>::from_text($crate::fmgr::arg_cstr(fcinfo, 0));
                $crate::state::sketch_datum(&$crate::fmgr::OrRaise::or_raise(s))
            });
            $crate::pg_function!(fn [<$p _out>](fcinfo) sql[concat!("strict (", $t, ") -> cstring")] {
                let s = $crate::state::sketch_arg::<$S>(fcinfo, 0).unwrap();
                $crate::fmgr::cstring(&$crate::state::Sketch::to_text(&s))
            });
            $crate::pg_function!(fn [<$p _recv>](fcinfo) sql[concat!("strict (internal) -> ", $t)] {
                let s = <$S as $crate::state::Sketch>::from_bytes($crate::fmgr::recv_bytes(fcinfo));
                $crate::state::sketch_datum(&$crate::fmgr::OrRaise::or_raise(s))
            });
            $crate::pg_function!(fn [<$p _send>](fcinfo) sql[concat!("strict (", $t, ") -> bytea")] {
                // Validate before sending: the bytes on the wire are the stored format.
                let s = $crate::state::sketch_arg::<$S>(fcinfo, 0).unwrap();
                $crate::state::sketch_datum(&s)
            });
            $crate::pg_function!(fn [<$p _to_json>](fcinfo) sql[concat!("strict (", $t, ") -> jsonb")] {
                let s = $crate::state::sketch_arg::<$S>(fcinfo, 0).unwrap();
                $crate::fmgr::jsonb(&$crate::item::SketchJson::json(&s))
            });
            $crate::pg_function!(fn [<$p _merge>](fcinfo) sql[
                concat!("(", $t, ", ", $t, ") -> ", $t)
                $(, concat!("(", $v, ", ", $v, ") -> ", $v))*
            ] { $crate::state::merge_pair::<$S>(fcinfo) });
            $crate::pg_function!(fn [<$p _merge_trans>](fcinfo) sql[
                concat!("(", $t, ", ", $t, ") -> ", $t)
                $(, concat!("(", $t, ", ", $v, ") -> ", $t))*
            ] {
                $crate::state::merge_trans::<$crate::state::Expanded, $S>(fcinfo)
            });
            $crate::pg_function!(fn [<$p _combine>](fcinfo) sql[concat!("(", $t, ", ", $t, ") -> ", $t)] {
                $crate::state::combine::<$crate::state::Expanded, $S>(fcinfo)
            });
            $crate::pg_function!(fn [<$p _final>](fcinfo) sql[
                concat!("strict (", $t, ") -> ", $t)
                $(, concat!("strict (", $t, ") -> ", $v))*
            ] {
                $crate::state::final_sketch::<$crate::state::Expanded, $S>(fcinfo)
            });
        }
    };
}
