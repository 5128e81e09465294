//! Fuzz target `cms_bytes`: see fuzz/src/checks.rs for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    topk_fuzz::checks::run("cms_bytes", data);
});
