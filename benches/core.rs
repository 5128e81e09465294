//! Criterion benches of the pgrx-free core: updates per second, merge, (de)serialization.
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use topk_core::hash::hash_i64;
use topk_core::hll::Hll;

fn hll(c: &mut Criterion) {
    let hashes: Vec<u64> = (0..100_000i64).map(hash_i64).collect();
    let mut g = c.benchmark_group("hll");
    g.throughput(Throughput::Elements(hashes.len() as u64));
    g.bench_function("add_100k_p14", |b| {
        b.iter(|| {
            let mut h = Hll::new(14).unwrap();
            for x in &hashes {
                h.add_hash(*x);
            }
            black_box(h.count())
        })
    });
    let mut full = Hll::new(14).unwrap();
    hashes.iter().for_each(|x| full.add_hash(*x));
    let bytes = full.to_bytes();
    g.throughput(Throughput::Elements(1));
    g.bench_function("merge_dense_p14", |b| {
        b.iter(|| {
            let mut a = full.clone();
            a.merge(black_box(&full)).unwrap();
            black_box(a.count())
        })
    });
    g.bench_function("serialize_dense_p14", |b| b.iter(|| black_box(full.to_bytes())));
    g.bench_function("deserialize_dense_p14", |b| b.iter(|| black_box(Hll::from_bytes(&bytes).unwrap())));
    g.finish();
}

criterion_group!(benches, hll);
criterion_main!(benches);
