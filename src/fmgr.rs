//! The thin glue between PostgreSQL's function-call interface and the core: argument
//! access, varlena conversion, error reporting and result rows. Functions are written
//! against the raw V1 calling convention (see [`pg_function!`]) so that per-row paths
//! pay for nothing they do not use; their SQL declarations live in `sql/`.

use pgrx::pg_sys;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use std::ffi::CStr;
use topk_core::{ErrorKind, SketchError};

/// Declares a V1 function callable from SQL as `LANGUAGE C AS 'MODULE_PATHNAME', 'name'`.
/// Rust panics and PostgreSQL errors are translated at the boundary by [`guard`].
///
/// `sql[...]` records every SQL declaration the body is written for (it reads its
/// arguments by position): see [`SqlSignatures`]. The records are exported as the
/// symbol `topk_sig_<name>`, and the `#[pg_test]` `sql_declarations_match_rust`
/// (src/signatures.rs) fails unless pg_proc declares each function exactly so.
#[macro_export]
macro_rules! pg_function {
    ($(#[$meta:meta])* fn $name:ident($fcinfo:ident) sql[$($sig:expr),+ $(,)?] $body:block) => {
        ::paste::paste! {
            #[no_mangle]
            #[doc(hidden)]
            pub extern "C" fn [<pg_finfo_ $name>]() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
                const V1: ::pgrx::pg_sys::Pg_finfo_record = ::pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
                &V1
            }
            #[no_mangle]
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            pub static [<topk_sig_ $name>]: $crate::fmgr::SqlSignatures = $crate::fmgr::SqlSignatures(&[$($sig),+]);
        }
        $(#[$meta])*
        #[no_mangle]
        pub unsafe extern "C-unwind" fn $name($fcinfo: ::pgrx::pg_sys::FunctionCallInfo) -> ::pgrx::pg_sys::Datum {
            #[allow(unused_unsafe)]
            unsafe { $crate::fmgr::guard(|| $body) }
        }
    };
}

/// Runs `f`, the body of a function PostgreSQL calls, so that no Rust panic unwinds
/// into PostgreSQL: a panic (a core bug, or an ERROR raised by [`raise`] or by a
/// PostgreSQL function pgrx called, which pgrx turns into a panic) is reported as an
/// ERROR by pgrx's guard. `catch_unwind` costs nothing while nothing panics; pgrx's
/// `pgrx_extern_c_guard` around every call cost 19 instructions a row (its result
/// goes through memory), so the caught panic is handed to it only when there is one.
#[inline(always)]
pub unsafe fn guard<R>(f: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => report_panic(payload),
    }
}

/// Resumes a caught panic inside pgrx's guard, which reports it as an ERROR (the panic
/// hook already recorded where it happened).
#[cold]
#[inline(never)]
fn report_panic(payload: Box<dyn std::any::Any + Send>) -> ! {
    // SAFETY: called from a function PostgreSQL called, where an ERROR may be raised.
    unsafe { pgrx::pg_sys::panic::pgrx_extern_c_guard(move || -> () { std::panic::resume_unwind(payload) }) };
    unreachable!("pgrx's guard reports a panic as an ERROR")
}

/// The SQL declarations a [`pg_function!`] is written for, one string each:
/// `[strict ](argument types) -> [setof ]result type[ (OUT column types)]`, with the
/// types as `format_type` spells them, e.g. `"strict (cms, anyelement) -> bigint"` or
/// `"(spacesaving, integer) -> setof record (integer, text, bigint, bigint, boolean)"`.
/// In a transition function's record, `item` stands for the polymorphic item argument
/// and every typed one of `sql/typed.sql` (see `src/signatures.rs`).
#[repr(transparent)]
pub struct SqlSignatures(pub &'static [&'static str]);

/// Raises a core error as a PostgreSQL ERROR with a fitting SQLSTATE and hint.
pub fn raise(e: SketchError) -> ! {
    let code = match e.kind {
        ErrorKind::InvalidParameter => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        ErrorKind::Mismatch => PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        ErrorKind::Corrupt => PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
        ErrorKind::TooLarge => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        ErrorKind::Overflow => PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
    };
    let mut report = ErrorReport::new(code, e.message, "topk_pg");
    if let Some(h) = e.hint {
        report = report.set_hint(h);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// Unwraps a core result, raising its error.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}
impl<T> OrRaise<T> for topk_core::Result<T> {
    #[inline]
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise(e),
        }
    }
}

#[inline]
pub unsafe fn nargs(fcinfo: pg_sys::FunctionCallInfo) -> usize {
    (*fcinfo).nargs as usize
}

/// Argument `i`, or `None` when it is SQL NULL (or absent).
#[inline]
pub unsafe fn arg(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<pg_sys::Datum> {
    if i >= nargs(fcinfo) {
        return None;
    }
    let a = (*fcinfo).args.as_slice(i + 1)[i];
    if a.isnull {
        None
    } else {
        Some(a.value)
    }
}

/// Argument `i` as bigint/integer/double, or `None` when NULL.
#[inline]
pub unsafe fn arg_i64(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<i64> {
    arg(fcinfo, i).map(|d| d.value() as i64)
}
#[inline]
pub unsafe fn arg_i32(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<i32> {
    arg(fcinfo, i).map(|d| d.value() as i32)
}
#[inline]
pub unsafe fn arg_f64(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<f64> {
    arg(fcinfo, i).map(|d| f64::from_bits(d.value() as u64))
}

/// A sketch parameter (precision, capacity, epsilon, ...) at argument `i`: it must not
/// be NULL and, in an aggregate, must be the same for every row: any expression without
/// a column of the rows or a volatile function (a constant, a parameter of a prepared
/// statement or of JDBC, a PL/pgSQL variable, an argument of an SQL function), so that a
/// column can never be taken for a parameter by mistake.
pub unsafe fn param_arg(fcinfo: pg_sys::FunctionCallInfo, i: usize, name: &str) -> pg_sys::Datum {
    let Some(d) = arg(fcinfo, i) else {
        raise(SketchError::invalid(format!("{name} must not be NULL")));
    };
    if i >= 1 {
        // Argument i of a transition function is argument i-1 of the aggregate.
        let expr = aggregate_arg_expr(fcinfo, i - 1);
        if !expr.is_null() {
            let why = if pg_sys::contain_var_clause(expr) {
                "not taken from a column"
            } else if pg_sys::contain_volatile_functions(expr) {
                "not from a volatile function"
            } else {
                ""
            };
            if !why.is_empty() {
                raise(
                    SketchError::invalid(format!("{name} must be the same for every row, {why}"))
                        .with_hint("Parameters are fixed for the whole aggregate: a constant, a statement parameter or a variable, without volatile functions. To weight each row by a column, pass it as the bigint weight argument, e.g. quantity::bigint."),
                );
            }
        }
    }
    d
}

/// A weight argument: NULL skips the row (`None`), a negative weight is an ERROR.
#[inline]
pub unsafe fn weight_arg(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<u64> {
    let w = arg_i64(fcinfo, i)?;
    if w < 0 {
        raise(SketchError::invalid(format!("weight {w} is negative"))
            .with_hint("Weights count units (items, cents); use 0 or more."));
    }
    Some(w as u64)
}

/// The expression of argument `j` of the aggregate whose transition function is being
/// called, if it can be found (else NULL). Called by PostgreSQL's own aggregation, the
/// transition function has a call expression and the aggregate's `Aggref` is ours.
/// Called by Citus' `worker_partial_agg(aggregate regprocedure, value)` (partial
/// aggregation on a worker: no call expression), the `Aggref` is that of
/// `worker_partial_agg`, whose second argument is our aggregate's only argument or a
/// `ROW(...)` of its arguments.
unsafe fn aggregate_arg_expr(fcinfo: pg_sys::FunctionCallInfo, j: usize) -> *mut pg_sys::Node {
    let aggref = pg_sys::AggGetAggref(fcinfo);
    if aggref.is_null() {
        return std::ptr::null_mut();
    }
    let args = (*aggref).args;
    let expr_at = |list: *mut pg_sys::List, k: usize| -> *mut pg_sys::Node {
        if k >= pg_sys::list_length(list) as usize {
            return std::ptr::null_mut();
        }
        pg_sys::list_nth(list, k as i32) as *mut pg_sys::Node
    };
    let tle_expr = |k: usize| -> *mut pg_sys::Node {
        let tle = expr_at(args, k) as *mut pg_sys::TargetEntry;
        if tle.is_null() { std::ptr::null_mut() } else { (*tle).expr as *mut pg_sys::Node }
    };
    if !(*(*fcinfo).flinfo).fn_expr.is_null() {
        return tle_expr(j);
    }
    // worker_partial_agg('agg(...)'::regprocedure, value or ROW(values...))
    let first = tle_expr(0);
    let wrapped = pg_sys::list_length(args) == 2
        && !first.is_null()
        && (*first).type_ == pg_sys::NodeTag::T_Const
        && [pg_sys::REGPROCEDUREOID, pg_sys::OIDOID].contains(&(*(first as *mut pg_sys::Const)).consttype);
    if !wrapped {
        return std::ptr::null_mut();
    }
    let value = tle_expr(1);
    if !value.is_null() && (*value).type_ == pg_sys::NodeTag::T_RowExpr {
        expr_at((*(value as *mut pg_sys::RowExpr)).args, j)
    } else if j == 0 {
        value
    } else {
        std::ptr::null_mut()
    }
}

/// The actual type of argument `i`: from the call expression (polymorphic arguments),
/// or, when the caller passed none (Citus' partial aggregation on the workers calls
/// transition functions so), the type the function declares for it, unless that is
/// polymorphic (then `InvalidOid`).
pub unsafe fn arg_type(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> pg_sys::Oid {
    let flinfo = (*fcinfo).flinfo;
    let t = pg_sys::get_fn_expr_argtype(flinfo, i as i32);
    if t != pg_sys::InvalidOid || flinfo.is_null() || !(*flinfo).fn_expr.is_null() {
        return t;
    }
    declared_arg_type((*flinfo).fn_oid, i)
}

/// The declared type of argument `i` of function `fn_oid`, `InvalidOid` if it is a
/// pseudo-type (`anyelement` and the other polymorphic types).
unsafe fn declared_arg_type(fn_oid: pg_sys::Oid, i: usize) -> pg_sys::Oid {
    let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::PROCOID as std::ffi::c_int, pg_sys::Datum::from(fn_oid));
    if tuple.is_null() {
        return pg_sys::InvalidOid;
    }
    let form = pg_sys::GETSTRUCT(tuple) as pg_sys::Form_pg_proc;
    let argtypes = &(*form).proargtypes;
    let t = if i < argtypes.dim1 as usize { *argtypes.values.as_ptr().add(i) } else { pg_sys::InvalidOid };
    pg_sys::ReleaseSysCache(tuple);
    if t == pg_sys::InvalidOid || pg_sys::get_typtype(t) == pg_sys::TYPTYPE_PSEUDO as std::ffi::c_char {
        pg_sys::InvalidOid
    } else {
        t
    }
}

#[inline]
pub unsafe fn return_null(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    (*fcinfo).isnull = true;
    pg_sys::Datum::from(0usize)
}

/// The payload of a varlena datum (detoasted if needed; short headers read in place).
#[inline(always)]
pub unsafe fn varlena_bytes<'a>(d: pg_sys::Datum) -> &'a [u8] {
    let mut v: *mut pg_sys::varlena = d.cast_mut_ptr();
    // pg_detoast_datum_packed, with its common case inline (this runs for every row).
    if pgrx::varlena::varatt_is_1b_e(v) || pgrx::varlena::varatt_is_4b_c(v) {
        v = detoast_packed(v);
    }
    let len = pgrx::varlena::varsize_any_exhdr(v);
    let ptr = pgrx::varlena::vardata_any(v) as *const u8;
    std::slice::from_raw_parts(ptr, len)
}

/// The rare case of [`varlena_bytes`], out of line: pgrx's guard around the call
/// (a `sigsetjmp`) would otherwise make every caller save registers and stack.
#[cold]
#[inline(never)]
unsafe fn detoast_packed(v: *mut pg_sys::varlena) -> *mut pg_sys::varlena {
    pg_sys::pg_detoast_datum_packed(v)
}

/// PostgreSQL's largest single allocation (MaxAllocSize), the varlena limit.
pub const MAX_ALLOC_SIZE: usize = 0x3fff_ffff;

/// A new varlena (bytea, text or a sketch type) holding `bytes`, in the current memory context.
pub unsafe fn bytes_to_varlena(bytes: &[u8]) -> pg_sys::Datum {
    let total = bytes.len() + pg_sys::VARHDRSZ;
    if total > MAX_ALLOC_SIZE {
        raise(SketchError::too_large(format!("a value of {} bytes is too large to store", bytes.len())));
    }
    let ptr = pg_sys::palloc(total) as *mut pg_sys::varlena;
    pgrx::varlena::set_varsize_4b(ptr, total as i32);
    std::ptr::copy_nonoverlapping(bytes.as_ptr(), (ptr as *mut u8).add(pg_sys::VARHDRSZ), bytes.len());
    pg_sys::Datum::from(ptr)
}

/// A palloc'd C string (for output functions).
pub unsafe fn cstring(s: &str) -> pg_sys::Datum {
    let ptr = pg_sys::palloc(s.len() + 1) as *mut u8;
    std::ptr::copy_nonoverlapping(s.as_ptr(), ptr, s.len());
    *ptr.add(s.len()) = 0;
    pg_sys::Datum::from(ptr)
}

/// Argument `i` as a C string (input functions).
pub unsafe fn arg_cstr<'a>(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> &'a str {
    let d = arg(fcinfo, i).expect("strict function got NULL");
    match CStr::from_ptr(d.cast_mut_ptr()).to_str() {
        Ok(s) => s,
        Err(_) => raise(SketchError::corrupt("input is not valid UTF-8")),
    }
}

/// Bytes of the message buffer passed to a receive function (consumes them all).
pub unsafe fn recv_bytes<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a [u8] {
    let buf: *mut pg_sys::StringInfoData = arg(fcinfo, 0).expect("strict").cast_mut_ptr();
    let len = ((*buf).len - (*buf).cursor) as usize;
    let ptr = pg_sys::pq_getmsgbytes(buf, len as i32) as *const u8;
    std::slice::from_raw_parts(ptr, len)
}

/// A `jsonb` datum from a JSON value.
pub unsafe fn jsonb(v: &serde_json::Value) -> pg_sys::Datum {
    // JSON text escapes NUL; it is UTF-8, the input function reads the database's encoding.
    // (NUL-terminated: the conversion returns its input when there is nothing to convert)
    let utf8 = std::ffi::CString::new(v.to_string()).expect("JSON has no NUL");
    let len = utf8.as_bytes().len() as i32;
    let text = pg_sys::pg_any_to_server(utf8.as_ptr(), len, pg_sys::pg_enc::PG_UTF8 as i32);
    let (mut input_fn, mut ioparam) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
    pg_sys::getTypeInputInfo(pg_sys::JSONBOID, &mut input_fn, &mut ioparam);
    pg_sys::OidInputFunctionCall(input_fn, text as *mut _, ioparam, -1)
}

/// A composite result (a function declared with OUT parameters) from its column values.
pub unsafe fn return_record(fcinfo: pg_sys::FunctionCallInfo, values: &mut [pg_sys::Datum], nulls: &mut [bool]) -> pg_sys::Datum {
    let mut tupdesc: pg_sys::TupleDesc = std::ptr::null_mut();
    if pg_sys::get_call_result_type(fcinfo, std::ptr::null_mut(), &mut tupdesc) != pg_sys::TypeFuncClass::TYPEFUNC_COMPOSITE {
        raise(SketchError::invalid("function returning record called in a context that cannot accept it"));
    }
    let tupdesc = pg_sys::BlessTupleDesc(tupdesc);
    let tuple = pg_sys::heap_form_tuple(tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
    pg_sys::heap_copy_tuple_as_datum(tuple, tupdesc)
}

/// A set-returning function's result, materialized: rows go into a tuplestore that
/// PostgreSQL reads when the function returns.
pub struct RowSink {
    rsinfo: *mut pg_sys::ReturnSetInfo,
}

impl RowSink {
    pub unsafe fn new(fcinfo: pg_sys::FunctionCallInfo) -> Self {
        pg_sys::InitMaterializedSRF(fcinfo, 0);
        RowSink { rsinfo: (*fcinfo).resultinfo as *mut pg_sys::ReturnSetInfo }
    }
    /// The type of result column `i` (0-based).
    pub unsafe fn column_type(&self, i: usize) -> pg_sys::Oid {
        let desc = (*self.rsinfo).setDesc;
        (*(*desc).attrs.as_ptr().add(i)).atttypid
    }
    pub unsafe fn push(&mut self, values: &mut [pg_sys::Datum], nulls: &mut [bool]) {
        pg_sys::tuplestore_putvalues((*self.rsinfo).setResult, (*self.rsinfo).setDesc, values.as_mut_ptr(), nulls.as_mut_ptr());
    }
    pub fn finish(self) -> pg_sys::Datum {
        pg_sys::Datum::from(0usize)
    }
}
