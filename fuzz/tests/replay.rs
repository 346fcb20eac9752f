//! Runs every committed seed (`fuzz/seeds/<target>/`) and regression input
//! (`fuzz/regressions/<target>/`: crashes and hangs the campaign found, plus hand-made edge
//! cases) through its target, without AFL: a panic fails the test, and so does an input that
//! takes far longer than the campaign's 10 ms limit even in an unoptimised build.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fennec_fuzz::{Target, TARGETS};

/// Generous bound for an unoptimised test build on a busy machine; the campaign itself
/// enforces 10 ms on an optimised one.
const SLOW: Duration = Duration::from_secs(2);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn inputs(kind: &str, target: &Target) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target.name);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable corpus directory").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let mut count = 0;
    for target in TARGETS {
        for path in inputs(kind, target) {
            let data = fs::read(&path).expect("readable corpus file");
            let started = Instant::now();
            let outcome = std::panic::catch_unwind(|| (target.run)(&data));
            let took = started.elapsed();
            assert!(
                outcome.is_ok(),
                "{} panics on {}",
                target.name,
                path.display()
            );
            assert!(
                took < SLOW,
                "{} takes {took:?} on {}",
                target.name,
                path.display()
            );
            count += 1;
        }
    }
    count
}

#[test]
fn every_seed_runs() {
    for target in TARGETS {
        assert!(
            !inputs("seeds", target).is_empty(),
            "target {} has no seeds",
            target.name
        );
    }
    assert!(replay("seeds") >= TARGETS.len());
}

#[test]
fn every_regression_input_runs() {
    replay("regressions");
}

#[test]
fn corpus_directories_name_targets() {
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.iter().any(|t| t.name == name),
                "{kind}/{name} is not a target"
            );
        }
    }
}

#[test]
fn binaries_match_targets() {
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for target in TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{}\"", target.name)),
            "Cargo.toml has no binary for {}",
            target.name
        );
    }
}
