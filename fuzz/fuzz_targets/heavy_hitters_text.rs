//! Fuzz target `heavy_hitters_text`: see fuzz/src/checks.rs for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    topk_fuzz::checks::run("heavy_hitters_text", data);
});
