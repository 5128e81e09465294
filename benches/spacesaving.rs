//! Criterion benches of the Space-Saving sketch: update throughput on Zipf streams,
//! merging 30 stored daily sketches and reading the top 100, (de)serialization.
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;
use topk_core::hash::hash_i64;
use topk_core::spacesaving::{SpaceSaving, DEFAULT_CAPACITY};

/// splitmix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// `len` (item, hash) pairs of a Zipf(s) stream over 1M permuted ids.
fn zipf_stream(s: f64, len: usize, seed: u64) -> Vec<(i64, u64)> {
    const N: usize = 1_000_000;
    let mut cdf = Vec::with_capacity(N);
    let mut acc = 0.0;
    for r in 1..=N {
        acc += (r as f64).powf(-s);
        cdf.push(acc);
    }
    let mut rng = Rng(seed);
    let mut ids: Vec<i64> = (1..=N as i64).collect();
    for i in (1..N).rev() {
        ids.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    (0..len)
        .map(|_| {
            let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * acc;
            let v = ids[cdf.partition_point(|&c| c < u).min(N - 1)];
            (v, hash_i64(v))
        })
        .collect()
}

fn build(stream: &[(i64, u64)]) -> SpaceSaving {
    build_cap(stream, DEFAULT_CAPACITY)
}

fn build_cap(stream: &[(i64, u64)], capacity: u32) -> SpaceSaving {
    let mut s = SpaceSaving::new(capacity).unwrap();
    for &(v, h) in stream {
        s.update_int(v, h, 1).unwrap();
    }
    s
}

fn updates(c: &mut Criterion) {
    let mut g = c.benchmark_group("spacesaving");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (name, s) in [("update_1m_zipf1.1", 1.1), ("update_1m_zipf0.8", 0.8)] {
        let stream = zipf_stream(s, 1_000_000, 42);
        g.throughput(Throughput::Elements(stream.len() as u64));
        g.bench_function(name, |b| b.iter(|| black_box(build(&stream).total())));
    }
    // Steady state: the table is already full of a long stream's counters.
    let warm = zipf_stream(0.8, 5_000_000, 7);
    let (head, tail) = warm.split_at(4_000_000);
    let base = build(head);
    g.throughput(Throughput::Elements(tail.len() as u64));
    g.bench_function("update_1m_zipf0.8_warm", |b| {
        b.iter(|| {
            let mut s = base.clone();
            for &(v, h) in tail {
                s.update_int(v, h, 1).unwrap();
            }
            black_box(s.total())
        })
    });
    g.finish();
}

fn merge_and_codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("spacesaving");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for s in [1.1, 0.8] {
        // 30 daily sketches of 333k events each, stored, at the default capacity and at
        // 3,000 (9 KB a day).
        let stream = zipf_stream(s, 10_000_000, 99);
        g.throughput(Throughput::Elements(1));
        for (cap, tag) in [(DEFAULT_CAPACITY, ""), (3_000, "cap3000_")] {
            let days: Vec<Vec<u8>> = stream
                .chunks(stream.len() / 30 + 1)
                .map(|d| build_cap(d, cap).to_bytes())
                .collect();
            assert_eq!(days.len(), 30);
            g.bench_function(format!("decode_merge_30_days_top100_{tag}zipf{s}"), |b| {
                b.iter(|| {
                    let mut acc = SpaceSaving::new(cap).unwrap();
                    for d in &days {
                        acc.merge(&SpaceSaving::from_bytes(d).unwrap()).unwrap();
                    }
                    black_box(acc.top(100))
                })
            });
            // The same with `merge_bytes` (one decoded list reused).
            g.bench_function(format!("merge_bytes_30_days_top100_{tag}zipf{s}"), |b| {
                b.iter(|| {
                    let mut acc = SpaceSaving::new(cap).unwrap();
                    for d in &days {
                        acc.merge_bytes(d).unwrap();
                    }
                    black_box(acc.top(100))
                })
            });
        }
        let whole = build(&stream);
        let stored = SpaceSaving::from_bytes(&whole.to_bytes()).unwrap();
        let bytes = stored.to_bytes();
        g.bench_function(format!("serialize_working_zipf{s}"), |b| {
            b.iter(|| black_box(whole.to_bytes()))
        });
        g.bench_function(format!("serialize_stored_zipf{s}"), |b| {
            b.iter(|| black_box(stored.to_bytes()))
        });
        g.bench_function(format!("deserialize_zipf{s}"), |b| {
            b.iter(|| black_box(SpaceSaving::from_bytes(&bytes).unwrap()))
        });
        g.bench_function(format!("top100_stored_zipf{s}"), |b| {
            b.iter(|| black_box(stored.top(100)))
        });
    }
    g.finish();
}

criterion_group!(benches, updates, merge_and_codec);
criterion_main!(benches);
