//! Conventions `cargo test` enforces (see rust-analyzer's tidy): every Rust file documents
//! itself, no test is ignored or expects a panic, and the simulation core stays free of IO,
//! clocks, thread randomness, hash-ordered maps and the async stack.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target" || n.to_string_lossy().starts_with('.')) {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let mut files = vec![];
    for dir in ["src", "engine", "scenarios", "web", "tests", "benches"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 10);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} must start with a `//!` doc comment saying what it is for",
            f.display()
        );
    }
}

#[test]
fn no_ignored_or_should_panic_tests() {
    let mut files = vec![];
    for dir in ["src", "engine", "scenarios", "web", "tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    for f in files.iter().filter(|f| !f.ends_with("tidy.rs")) {
        let text = std::fs::read_to_string(f).unwrap();
        for bad in ["#[ignore", "#[should_panic"] {
            assert!(
                !text.contains(bad),
                "{}: don't add `{bad}]` tests; assert the current behaviour with a FIXME instead",
                f.display()
            );
        }
    }
}

#[test]
fn simulation_core_has_no_io_clock_or_hash_order() {
    let mut files = vec![];
    rust_files(&root().join("engine/src"), &mut files);
    let forbidden = [
        ("thread_rng", "thread randomness: draw from `SimRng::stream`"),
        ("rand::rng(", "thread randomness: draw from `SimRng::stream`"),
        ("rand::random", "thread randomness: draw from `SimRng::stream`"),
        ("SystemTime", "wall clock: use `SimClock`"),
        ("Instant", "wall clock: use `SimClock`"),
        ("HashMap", "hash order: use `BTreeMap` or a Vec"),
        ("HashSet", "hash order: use `BTreeSet` or a Vec"),
        ("std::fs", "IO: the core takes data, the CLI reads files"),
        ("std::net", "IO: live parts queue `SimInput`s"),
        ("tokio", "async runtime: the core is driven by `Sim::step`"),
        ("axum", "web: the core knows nothing of HTTP"),
    ];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (word, why) in forbidden {
            assert!(!text.contains(word), "{} mentions `{word}`: {why}", f.display());
        }
    }
}
