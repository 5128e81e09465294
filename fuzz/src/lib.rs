//! Fuzzing harness of topk_core: see docs/fuzzing.md.
//!
//! The checks themselves are in [`checks`] (shared with `core/tests/fuzz_regressions.rs`).
//! This library also installs, in every fuzz target, a global allocator that refuses
//! any single allocation larger than [`MAX_ALLOCATION`]: the request then fails,
//! Rust's allocation-error handler aborts ("memory allocation of N bytes failed"),
//! and libFuzzer saves the input as a crash. Without a sanitizer libFuzzer's own
//! `-malloc_limit_mb` is not enforced (it needs the sanitizer's malloc hooks), so
//! this is what turns a decoder that trusts a huge claimed length into a finding even
//! when the memory would be there. (`-rss_limit_mb` still bounds the total.)

pub mod checks;

use std::alloc::{GlobalAlloc, Layout, System};

/// Largest single allocation a fuzz input may cause: 256 MiB. The largest valid
/// sketch in memory is a count-min sketch of 64 MiB of counters (`cms::MAX_BYTES`),
/// which a 70-byte input can legitimately describe; anything above 256 MiB from an
/// input of at most a few hundred KB is a bug.
pub const MAX_ALLOCATION: usize = 256 << 20;

pub struct LimitedAlloc;

unsafe impl GlobalAlloc for LimitedAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        System.alloc_zeroed(layout)
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: LimitedAlloc = LimitedAlloc;
