//! The Rust heap of the extension: the system allocator, except that a failed
//! allocation is a PostgreSQL ERROR ("out of memory", SQLSTATE 53200) instead of the
//! abort Rust does by default, which would kill the backend and make the postmaster
//! restart every session.
//!
//! The ERROR is raised where the allocation failed, as `ereport` does in C: PostgreSQL
//! jumps to its error handler, the transaction aborts and its memory contexts, with
//! every sketch state in them, are freed. Rust values owned by the frames it jumps over
//! are leaked, never left half-changed: the standard collections change nothing
//! before an allocation they ask for has succeeded. So no state shared between calls
//! may be borrowed across an allocation (`RefCell`), see `src/capture.rs`.
//! `tests/memory/run.sh` runs this against a server with a memory limit.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{c_char, c_int};

pub struct Allocator;

// Not in the test harness (`cargo test`'s executable, which is no PostgreSQL backend and
// has no ereport to link): the #[pg_test]s run inside the server's copy of the library.
#[cfg(not(test))]
#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if p.is_null() {
            out_of_memory(new_size);
        }
        p
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

// PostgreSQL's error reporting, unguarded (pgrx's bindings would turn the ERROR into a
// Rust panic, and a panic cannot leave an allocator).
unsafe extern "C" {
    fn errstart(elevel: c_int, domain: *const c_char) -> bool;
    fn errcode(sqlerrcode: c_int) -> c_int;
    fn errmsg_internal(fmt: *const c_char, ...) -> c_int;
    fn errdetail_internal(fmt: *const c_char, ...) -> c_int;
    fn errfinish(filename: *const c_char, lineno: c_int, funcname: *const c_char);
}

#[cold]
#[inline(never)]
unsafe fn out_of_memory(size: usize) -> ! {
    // ERRCODE_OUT_OF_MEMORY: MAKE_SQLSTATE('5','3','2','0','0')
    const OUT_OF_MEMORY: c_int = pgrx::PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY as c_int;
    if errstart(pgrx::pg_sys::PGERROR as c_int, std::ptr::null()) {
        errcode(OUT_OF_MEMORY);
        errmsg_internal(c"out of memory".as_ptr());
        errdetail_internal(c"Failed on request of size %zu in topk_pg.".as_ptr(), size);
        errfinish(c"alloc.rs".as_ptr(), line!() as c_int, c"out_of_memory".as_ptr());
    }
    // errfinish does not return for an ERROR
    std::process::abort()
}
