//! Replays the fuzzers' findings and seed corpora through the fuzz targets' own
//! checks, on stable, with no fuzzer: every file of
//!
//! * `core/tests/fuzz_regressions/<target>/` (inputs that once crashed a target), and
//! * `fuzz/seeds/<target>/` (the seed corpora: valid sketches and merge pairs)
//!
//! goes through `checks::run(<target>, bytes)` (fuzz/src/checks.rs, the same code the
//! fuzz targets run): decode, use, re-encode to a fixed point, merge both ways. A
//! directory must be named after a target (`checks::TARGETS`). See docs/fuzzing.md.

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

/// (target, file) for every file under `root/<target>/`.
fn inputs(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            checks::TARGETS.contains(&target.as_str()),
            "{}: not named after a fuzz target ({:?})",
            dir.display(),
            checks::TARGETS
        );
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (target.clone(), f)));
    }
    out
}

/// Runs every input, and fails naming each input that failed.
fn replay(inputs: &[(String, PathBuf)]) {
    let mut failed = Vec::new();
    for (target, file) in inputs {
        let data = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| checks::run(target, &data)).is_err() {
            failed.push(format!("{target}: {}", file.display()));
        }
    }
    assert!(failed.is_empty(), "{} of {} inputs failed:\n{}", failed.len(), inputs.len(), failed.join("\n"));
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

#[test]
fn fuzz_regressions() {
    let found = inputs(&root().join("tests/fuzz_regressions"));
    assert!(!found.is_empty(), "no regression inputs found");
    replay(&found);
}

#[test]
fn fuzz_seed_corpora() {
    let found = inputs(&root().join("../fuzz/seeds"));
    for t in checks::TARGETS {
        assert!(found.iter().any(|(x, _)| x == t), "no seeds for fuzz target {t}");
    }
    replay(&found);
}

/// Every seed of a `*_bytes` target with one varint-looking byte padded (a byte below
/// 0x80 at position i becomes `b|0x80, 0x00`, the same value in one more byte): each
/// such input must be refused, or be the canonical encoding of what it decodes to
/// (the checks assert `to_bytes(from_bytes(b)) == b`).
#[test]
fn padded_varints_are_refused() {
    let (mut tried, mut failed) = (0, Vec::new());
    for (target, file) in inputs(&root().join("../fuzz/seeds")) {
        if !target.ends_with("_bytes") {
            continue;
        }
        let data = std::fs::read(&file).unwrap();
        for i in 2..data.len() {
            if data[i] >= 0x80 {
                continue;
            }
            let mut padded = data[..i].to_vec();
            padded.extend_from_slice(&[data[i] | 0x80, 0]);
            padded.extend_from_slice(&data[i + 1..]);
            if std::panic::catch_unwind(|| checks::run(&target, &padded)).is_err() {
                failed.push(format!("{target}: {} with byte {i} padded", file.display()));
            }
            tried += 1;
        }
    }
    assert!(tried > 10_000, "{tried}");
    assert!(failed.is_empty(), "{} of {tried} inputs failed, the first:\n{}", failed.len(), failed[..failed.len().min(5)].join("\n"));
}
