//! Criterion bench of the heavy-hitters merge: N stored daily sketches (default k and
//! ε/δ) decoded and merged into one state, as `heavy_hitters_merge_agg` does row by row.
//! Throughput is per input sketch: the merge works in place (no step copies the state's
//! candidate table), so the time per input should stay about the same as N grows, and
//! small inputs merged into a full state should cost in proportion to the input (plus
//! the count-min half, whose merge is its ε/δ size whatever the input).
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
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
    // Small inputs (1,000 events each) into a state that is already full: the cost per
    // input should follow the input, not the state (whose candidate table is 1 MB).
    let mut full = HeavyHitters::from_bytes(&days[0]).unwrap();
    for d in &days[1..] {
        full.merge(&HeavyHitters::from_bytes(d).unwrap()).unwrap();
    }
    let small: Vec<Vec<u8>> = (0..30).map(|d| day(1_000, 100 + d).to_bytes()).collect();
    for n in [30usize, 120, 480] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("decode_merge_{n}_small_into_a_full_state"), |b| {
            b.iter_batched(
                || full.clone(),
                |mut acc| {
                    for d in small.iter().cycle().take(n) {
                        acc.merge(&HeavyHitters::from_bytes(d).unwrap()).unwrap();
                    }
                    black_box(acc.total())
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, merge);
criterion_main!(benches);
