//! Criterion benches of the count-min sketch: updates per second from precomputed item
//! hashes (as the SQL layer feeds them), point estimates, merge, (de)serialization.
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use topk_core::cms::{Cms, DEFAULT_DELTA, DEFAULT_EPSILON};
use topk_core::hash::hash_i64;

fn cms(c: &mut Criterion) {
    // 1M updates over 100k distinct items, skewed towards small ones (a rough Zipf:
    // the square of a uniform index), hashed once up front.
    let hashes: Vec<u64> = (0..1_000_000u64)
        .map(|i| {
            let u = hash_i64(i as i64) % 100_000;
            hash_i64((u * u / 100_000) as i64)
        })
        .collect();
    let mut g = c.benchmark_group("cms");
    g.throughput(Throughput::Elements(hashes.len() as u64));
    g.bench_function("add_1m_default", |b| {
        b.iter(|| {
            let mut s = Cms::new(DEFAULT_EPSILON, DEFAULT_DELTA).unwrap();
            for h in &hashes {
                s.add_hash(*h, 1).unwrap();
            }
            black_box(s.total())
        })
    });
    let mut full = Cms::new(DEFAULT_EPSILON, DEFAULT_DELTA).unwrap();
    hashes.iter().for_each(|h| full.add_hash(*h, 1).unwrap());
    g.bench_function("estimate_1m_default", |b| {
        b.iter(|| hashes.iter().map(|h| full.estimate_hash(*h)).fold(0u64, u64::wrapping_add))
    });
    let bytes = full.to_bytes();
    g.throughput(Throughput::Elements(1));
    g.bench_function("merge_default", |b| {
        b.iter(|| {
            let mut a = full.clone();
            a.merge(black_box(&full)).unwrap();
            black_box(a.total())
        })
    });
    g.bench_function("serialize_default", |b| b.iter(|| black_box(full.to_bytes())));
    g.bench_function("deserialize_default", |b| {
        b.iter(|| black_box(Cms::from_bytes(&bytes).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, cms);
criterion_main!(benches);
