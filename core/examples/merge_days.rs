//! Profiling driver for the merge of 30 stored daily sketches (issue 14):
//! `merge_days gen DIR` writes the 30 days of each (skew, capacity) to DIR;
//! `merge_days run DIR SKEW CAP [REPS]` decodes, merges them and reads the top 100
//! (the bench `decode_merge_30_days_top100_*`), e.g. under `valgrind --tool=callgrind`.
use topk_core::hash::hash_i64;
use topk_core::spacesaving::SpaceSaving;

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

/// The bench's stream: `len` Zipf(s) items over 1M permuted ids.
fn zipf_stream(s: f64, len: usize, seed: u64) -> Vec<i64> {
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
            ids[cdf.partition_point(|&c| c < u).min(N - 1)]
        })
        .collect()
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let dir = std::path::Path::new(&a[2]);
    match a[1].as_str() {
        "gen" => {
            for s in [1.1, 0.8] {
                let stream = zipf_stream(s, 10_000_000, 99);
                for cap in [12_000u32, 3_000] {
                    for (i, d) in stream.chunks(stream.len() / 30 + 1).enumerate() {
                        let mut k = SpaceSaving::new(cap).unwrap();
                        for &v in d {
                            k.update_int(v, hash_i64(v), 1).unwrap();
                        }
                        std::fs::write(dir.join(format!("{s}_{cap}_{i}")), k.to_bytes()).unwrap();
                    }
                }
            }
        }
        _ => {
            let (s, cap): (f64, u32) = (a[3].parse().unwrap(), a[4].parse().unwrap());
            let reps: usize = a.get(5).map_or(1, |r| r.parse().unwrap());
            // Phases for profiling: decode only, + merge, + top 100, + to_bytes (all);
            // `mb`: with `merge_bytes` (top 100, no to_bytes).
            let phase = a.get(6).map_or("all", |s| s.as_str());
            let days: Vec<Vec<u8>> =
                (0..30).map(|i| std::fs::read(dir.join(format!("{s}_{cap}_{i}"))).unwrap()).collect();
            let t = std::time::Instant::now();
            let mut out = Vec::new();
            for _ in 0..reps {
                let mut acc = SpaceSaving::new(cap).unwrap();
                for d in &days {
                    if phase == "mb" {
                        acc.merge_bytes(d).unwrap();
                        continue;
                    }
                    let x = SpaceSaving::from_bytes(d).unwrap();
                    if phase != "decode" {
                        acc.merge(&x).unwrap();
                    }
                    std::hint::black_box(&x);
                }
                if phase == "top" || phase == "all" || phase == "mb" {
                    std::hint::black_box(acc.top(100));
                }
                if phase == "all" {
                    out = acc.to_bytes();
                }
            }
            let h = out.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3));
            println!("{:.3} ms/merge, result {} bytes, fnv {h:016x}", t.elapsed().as_secs_f64() * 1e3 / reps as f64, out.len());
        }
    }
}
