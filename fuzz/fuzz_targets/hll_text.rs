//! Fuzz target `hll_text`: see fuzz/src/checks.rs for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    topk_fuzz::checks::run("hll_text", data);
});
