//! Criterion bench of the heavy-hitters merge: N stored daily sketches (default k and
//! ε/δ) decoded and merged into one state, as `heavy_hitters_merge_agg` does row by row.
//! Throughput is per input sketch: the merge works in place (no step copies the state's
//! candidate table), so the time per input should stay about the same as N grows.
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;
use topk_core::hash::{hash_i64, remix};
use topk_core::heavy_hitters::HeavyHitters;

/// A day of `len` events over 1M ids, skewed (Zipf-like through a power of a uniform).
fn day(len: usize, seed: u64) -> HeavyHitters {
    let mut h = HeavyHitters::with_defaults();
    let mut x = seed;
    for _ in 0..len {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let u = (remix(x) >> 11) as f64 / (1u64 << 53) as f64;
        let v = 1 + (1_000_000.0 * u.powi(6)) as i64;
        h.update_int(v, hash_i64(v), 1).unwrap();
    }
    h
}

fn merge(c: &mut Criterion) {
    let mut g = c.benchmark_group("heavy_hitters");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    // 30 distinct stored days of 100k events; larger N cycles through them.
    let days: Vec<Vec<u8>> = (0..30).map(|d| day(100_000, d + 1).to_bytes()).collect();
    for n in [30usize, 120, 480] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("decode_merge_{n}_stored_days"), |b| {
            b.iter(|| {
                let mut acc = HeavyHitters::from_bytes(&days[0]).unwrap();
                for d in days.iter().cycle().skip(1).take(n - 1) {
                    acc.merge(&HeavyHitters::from_bytes(d).unwrap()).unwrap();
                }
                black_box(acc.total())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, merge);
criterion_main!(benches);
