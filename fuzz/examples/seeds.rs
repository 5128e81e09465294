//! Writes the seed corpora of the fuzz targets: valid sketches of every type (empty,
//! small and large; sparse and dense hll; int and byte-string items; item types;
//! counters near the bigint maximum), in binary and text form, and merge inputs made
//! of pairs of them. Deterministic: the same files every run.
//!
//!     cargo run --release --manifest-path fuzz/Cargo.toml --example seeds [-- DIR]
//!
//! DIR defaults to `fuzz/seeds`; every `DIR/<target>/` is emptied and rewritten.
//! Every seed is checked (decodes, re-encodes to itself) before it is written.

use std::path::{Path, PathBuf};
use topk_core::cms::Cms;
use topk_core::hash::{hash_bytes, hash_i64};
use topk_core::heavy_hitters::HeavyHitters;
use topk_core::hll::Hll;
use topk_core::spacesaving::SpaceSaving;
use topk_fuzz::checks::{self, Sketch};

/// splitmix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        topk_core::hash::remix(self.0)
    }
    /// Skewed item ids in 0..n (small ids much more frequent).
    fn skewed(&mut self, n: u64) -> i64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) - 1.0) as i64
    }
}

fn hll(p: u8, n: u64, item_type: u32) -> Hll {
    let mut h = Hll::new(p).unwrap();
    h.item_type = item_type;
    for i in 0..n {
        h.add_hash(hash_i64(i as i64 * 7 + p as i64));
    }
    h
}

fn cms(eps: f64, delta: f64, events: u64, max_weight: u64, item_type: u32) -> Cms {
    let mut c = Cms::new(eps, delta).unwrap();
    c.item_type = item_type;
    let mut r = Rng(events ^ 0xc3);
    for _ in 0..events {
        let v = r.skewed(10_000);
        c.add_hash(hash_i64(v), 1 + r.next() % max_weight).unwrap();
    }
    c
}

fn ss_int(cap: u32, events: u64, ids: u64, item_type: u32) -> SpaceSaving {
    let mut s = SpaceSaving::new(cap).unwrap();
    s.item_type = item_type;
    let mut r = Rng(events ^ cap as u64);
    for _ in 0..events {
        let v = r.skewed(ids) - (ids as i64 / 3);
        s.update_int(v, hash_i64(v), 1).unwrap();
    }
    s
}

fn word(i: i64) -> Vec<u8> {
    match i % 4 {
        0 => format!("item-{i}").into_bytes(),
        1 => vec![0xff, 0x00, (i & 0xff) as u8, (i >> 8) as u8],
        2 => "é".repeat(1 + (i as usize % 5)).into_bytes(),
        _ => Vec::new(),
    }
}

fn ss_bytes(cap: u32, events: u64, ids: u64) -> SpaceSaving {
    let mut s = SpaceSaving::new(cap).unwrap();
    let mut r = Rng(events ^ 0xb);
    for _ in 0..events {
        let w = word(r.skewed(ids));
        s.update_bytes(&w, hash_bytes(&w), 1 + r.next() % 3).unwrap();
    }
    s
}

/// `h`'s stored form with its candidates in spacesaving format 1, as topk_pg 0.3 wrote it.
fn hh_v1_candidates(h: &HeavyHitters) -> Vec<u8> {
    use topk_core::codec::{Reader, Writer};
    let b = h.to_bytes();
    let (mut r, version) = Reader::open(&b, topk_core::heavy_hitters::MAGIC, "heavy_hitters").unwrap();
    let k = r.varint().unwrap();
    let candidates = SpaceSaving::from_bytes(r.blob().unwrap()).unwrap();
    let cms = r.blob().unwrap();
    let mut w = Writer::with_header(topk_core::heavy_hitters::MAGIC, version);
    w.varint(k);
    w.blob(&candidates.to_bytes_v1());
    w.blob(cms);
    w.finish()
}

fn hh_int(k: u32, eps: f64, delta: f64, events: u64, item_type: u32) -> HeavyHitters {
    let mut h = HeavyHitters::new(k, eps, delta).unwrap();
    h.set_item_type(item_type);
    let mut r = Rng(events ^ 0x44);
    for _ in 0..events {
        let v = r.skewed(5_000);
        h.update_int(v, hash_i64(v), 1).unwrap();
    }
    h
}

fn hh_bytes(k: u32, events: u64) -> HeavyHitters {
    let mut h = HeavyHitters::new(k, 0.05, 0.1).unwrap();
    let mut r = Rng(events ^ 0x55);
    for _ in 0..events {
        let w = word(r.skewed(300));
        h.update_bytes(&w, hash_bytes(&w), 1).unwrap();
    }
    h
}

/// A format-1 cms written by topk_pg 0.3 (bigint items 1..=12 of weights i^2), and an
/// empty one of the same dimensions.
const CMS_V1: &str = "cms:QwEUAAAAmpmZmZmZuT+amZmZmZm5PxwAAAADAAAAigIAAAAAAAAAA1EAA2QAAwQZJUAJAAJ5AAAQAADBAQAAAAORAX0AAkkABBAxBAACeQAAdQADAAAJyAEAAkEAA5ABAABRAAR6BAACGQAC";
const CMS_V1_EMPTY: &str = "cms:QwEAAAAAmpmZmZmZuT+amZmZmZm5PxwAAAADAAAAAAAAAAAAAAAAGwAbABs=";

struct Out {
    dir: PathBuf,
    files: usize,
    bytes: usize,
}

impl Out {
    fn write(&mut self, target: &str, name: &str, data: &[u8]) {
        checks::run(target, data); // a seed must pass its own target's checks
        let d = self.dir.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), data).unwrap();
        self.files += 1;
        self.bytes += data.len();
    }
    /// The stored form of an older format version as a seed of the bytes and text
    /// targets of `name`; returns it.
    fn older(&mut self, name: &str, seed: &str, b: &[u8]) -> Vec<u8> {
        self.write(&format!("{name}_bytes"), seed, b);
        self.write(&format!("{name}_text"), seed, topk_core::codec::to_text(name, b).as_bytes());
        b.to_vec()
    }
    /// A sketch as a seed of its bytes and text targets; returns its bytes.
    fn sketch<S: Sketch>(&mut self, name: &str, s: &S) -> Vec<u8> {
        let b = s.encode();
        let back = S::decode(&b).expect("seed decodes");
        assert!(back.encode() == b, "seed {name} does not round-trip");
        self.write(&format!("{}_bytes", S::NAME), name, &b);
        self.write(&format!("{}_text", S::NAME), name, s.encode_text().as_bytes());
        b
    }
}

fn main() {
    let dir = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
    });
    for t in checks::TARGETS {
        let d = dir.join(t);
        if d.exists() {
            std::fs::remove_dir_all(&d).unwrap();
        }
    }
    let mut out = Out { dir: dir.clone(), files: 0, bytes: 0 };

    // hll: every mode at small and default precision, item types, the sparse limit.
    let h = [
        out.sketch("p4-empty", &hll(4, 0, 0)),
        out.sketch("p4-dense", &hll(4, 100, 0)),
        out.sketch("p10-sparse-5", &hll(10, 5, 23)),
        out.sketch("p10-sparse-at-limit", &hll(10, 96, 23)),
        out.sketch("p10-dense", &hll(10, 5000, 23)),
        out.sketch("p12-dense-small", &hll(12, 400, 0)),
        out.sketch("p14-sparse-1000", &hll(14, 1000, 20)),
        out.sketch("p14-dense", &hll(14, 100_000, 20)),
        out.sketch("p18-empty", &hll(18, 0, 0)),
        out.sketch("p18-sparse-3", &hll(18, 3, 0)),
    ];
    // cms: empty and filled, tiny to default dimensions, weights near the maximum.
    let mut heavy = Cms::new(0.1, 0.1).unwrap();
    heavy.add_hash(hash_i64(1), i64::MAX as u64 - 5).unwrap();
    heavy.add_hash(hash_i64(2), 5).unwrap();
    let c = [
        out.sketch("default-empty", &Cms::new(0.001, 0.01).unwrap()),
        out.sketch("e0.5-d0.3", &cms(0.5, 0.3, 10, 3, 7)),
        out.sketch("e0.1-d0.1", &cms(0.1, 0.1, 200, 1000, 0)),
        out.sketch("e0.01-d0.01", &cms(0.01, 0.01, 2_000, 1, 20)),
        out.sketch("default-20k", &cms(0.001, 0.01, 20_000, 1, 20)),
        out.sketch("e0.1-d0.1-near-max", &heavy),
        out.sketch("e0.0001-empty", &Cms::new(0.0001, 0.01).unwrap()),
        out.sketch("e0.5-d0.9-empty", &Cms::new(0.5, 0.9).unwrap()),
        // Format 1 (double-hashed columns, topk_pg 0.3), as that version wrote it.
        out.sketch("v1-e0.1-d0.1", &Cms::from_text(CMS_V1).unwrap()),
        out.sketch("v1-e0.1-d0.1-empty", &Cms::from_text(CMS_V1_EMPTY).unwrap()),
    ];
    // spacesaving: empty, int and byte items, evictions (threshold > 0), item types.
    let mut big = SpaceSaving::new(4).unwrap();
    // Counts whose counter code (count - threshold) * 3 + tag passes 64 bits.
    big.update_int(i64::MIN, hash_i64(i64::MIN), 7_000_000_000_000_000_000).unwrap();
    big.update_int(i64::MAX, hash_i64(i64::MAX), 10).unwrap();
    let s = [
        out.sketch("cap1-empty", &SpaceSaving::new(1).unwrap()),
        out.sketch("cap1-int", &ss_int(1, 20, 10, 0)),
        out.sketch("cap10-int-evicted", &ss_int(10, 2_000, 500, 20)),
        out.sketch("cap16-int-few", &ss_int(16, 12, 50, 20)),
        out.sketch("cap200-int", &ss_int(200, 20_000, 3_000, 23)),
        out.sketch("cap4-int-extremes", &big),
        out.sketch("cap8-bytes", &ss_bytes(8, 500, 100)),
        out.sketch("cap64-bytes-few", &ss_bytes(64, 30, 40)),
        out.sketch("cap12000-empty", &SpaceSaving::new(12_000).unwrap()),
    ];
    // spacesaving format 1 (topk_pg 0.3), as that version wrote it: still read, written
    // in format 2.
    let s1 = [
        out.older("spacesaving", "v1-cap200-int", &ss_int(200, 20_000, 3_000, 23).to_bytes_v1()),
        out.older("spacesaving", "v1-cap8-bytes", &ss_bytes(8, 500, 100).to_bytes_v1()),
        out.older("spacesaving", "v1-cap4-int-extremes", &big.to_bytes_v1()),
    ];
    // heavy_hitters: empty, int and byte items, a default-size one.
    let k = [
        out.sketch("k1-empty", &HeavyHitters::new(1, 0.5, 0.5).unwrap()),
        out.sketch("k2-int", &hh_int(2, 0.1, 0.1, 300, 20)),
        out.sketch("k10-int", &hh_int(10, 0.05, 0.1, 3_000, 20)),
        out.sketch("k5-bytes", &hh_bytes(5, 400)),
        out.sketch("k100-default-cms", &hh_int(100, 0.001, 0.01, 2_000, 23)),
    ];
    let k1 = [
        out.older("heavy_hitters", "v1-candidates-k10-int", &hh_v1_candidates(&hh_int(10, 0.05, 0.1, 3_000, 20))),
        out.older("heavy_hitters", "v1-candidates-k5-bytes", &hh_v1_candidates(&hh_bytes(5, 400))),
    ];

    // merge: pairs of the same type (compatible and not), and of different types.
    let pairs: Vec<(&str, &[u8], &[u8])> = vec![
        ("hll-sparse-sparse", &h[2], &h[3]),
        ("hll-sparse-dense", &h[3], &h[4]),
        ("hll-dense-dense", &h[4], &h[4]),
        ("hll-p14-sparse-dense", &h[6], &h[7]),
        ("hll-empty-dense", &h[0], &h[1]),
        ("hll-precision-mismatch", &h[4], &h[5]),
        ("cms-same", &c[3], &c[3]),
        ("cms-default-empty-full", &c[0], &c[4]),
        ("cms-small", &c[2], &c[2]),
        ("cms-mismatch", &c[1], &c[2]),
        ("cms-near-max", &c[5], &c[5]),
        ("cms-v1-v1", &c[8], &c[8]),
        ("cms-v1-v2", &c[8], &c[2]),
        ("cms-v1-empty-v2", &c[9], &c[2]),
        ("ss-int-int", &s[2], &s[2]),
        ("ss-int-few-empty", &s[3], &s[3]),
        ("ss-cap1", &s[1], &s[1]),
        ("ss-empty-int", &s[0], &s[1]),
        ("ss-bytes-bytes", &s[6], &s[6]),
        ("ss-extremes", &s[5], &s[5]),
        ("ss-cap-mismatch", &s[2], &s[3]),
        ("ss-v1-v2", &s1[0], &s[4]),
        ("ss-v1-bytes-v2", &s1[1], &s[6]),
        ("ss-v1-v1", &s1[2], &s1[2]),
        ("hh-int-int", &k[2], &k[2]),
        ("hh-bytes-bytes", &k[3], &k[3]),
        ("hh-k2", &k[1], &k[1]),
        ("hh-v1-candidates-v2", &k1[0], &k[2]),
        ("hh-v1-candidates-bytes", &k1[1], &k1[1]),
        ("hh-empty-k1", &k[0], &k[0]),
        ("mixed-hll-cms", &h[2], &c[1]),
        ("mixed-ss-hh", &s[2], &k[2]),
    ];
    for (name, a, b) in pairs {
        out.write("merge", name, &checks::join(a, b));
    }
    // A text pair too.
    let (ta, tb) = (ss_int(10, 2_000, 500, 20).to_text(), hll(10, 5, 23).to_text());
    out.write("merge", "text-ss-hll", &checks::join(ta.as_bytes(), tb.as_bytes()));
    let ta = ss_int(16, 12, 50, 20).to_text();
    out.write("merge", "text-ss-ss", &checks::join(ta.as_bytes(), ta.as_bytes()));

    eprintln!("wrote {} seed files, {} bytes, under {}", out.files, out.bytes, dir.display());
}
