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
    for dir in ["src", "engine", "judge", "drill", "scenarios", "web", "tests", "benches"] {
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
    for dir in ["src", "engine", "judge", "drill", "scenarios", "web", "tests"] {
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

/// `unsafe` is denied in every crate; the one module allowed it is the io_uring loop, which
/// tells the kernel where a connection's buffers are (`runtime/modbus/shard/uring.rs`).
#[test]
fn unsafe_code_stays_in_the_io_uring_loop() {
    let mut files = vec![];
    for dir in ["src", "engine", "judge", "drill", "scenarios", "web"] {
        rust_files(&root().join(dir), &mut files);
    }
    let allowed = root().join("src/runtime/modbus/shard");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let allows = text.contains("allow(unsafe_code)");
        let uses = text.lines().any(|l| l.contains("unsafe {") || l.trim_start().starts_with("unsafe fn"));
        if f.starts_with(&allowed) {
            continue;
        }
        assert!(!allows && !uses, "{}: `unsafe` belongs in the io_uring loop only", f.display());
    }
    let shard = std::fs::read_to_string(allowed.join("mod.rs")).unwrap();
    assert_eq!(shard.matches("allow(unsafe_code)").count(), 1, "one module is allowed `unsafe`: uring");
    assert!(shard.contains("#[allow(unsafe_code)]\nmod uring;"), "the allowance is the uring module's");
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("unsafe_code = \"deny\""), "the workspace denies `unsafe`");
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

/// The crates' `[dependencies]` names (a naive read of the manifest: the section's keys).
fn dependencies(krate: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(krate).join("Cargo.toml")).unwrap();
    let mut deps = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && let Some((name, _)) = line.split_once(['=', '.']) {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                deps.push(name.to_string());
            }
        }
    }
    deps
}

/// The dependency direction of ARCHITECTURE.md: the plant (`engine`), judging (`judge`) and
/// the drill core (`drill`) are pure (no IO, async, clock, web or storage crate, and no
/// crate above them); the web crate knows the drill core but no runtime code (the root
/// crate); nothing below the root depends on it.
#[test]
fn dependencies_point_inwards() {
    const IO: [&str; 12] = [
        "tokio",
        "axum",
        "hyper",
        "hyper-util",
        "rusqlite",
        "postgres",
        "tracing",
        "arc-swap",
        "tokio-modbus",
        "rust_xlsxwriter",
        "csv",
        "jiff",
    ];
    let allowed: [(&str, &[&str]); 5] = [
        ("engine", &[]),
        ("judge", &["icsdrill-engine"]),
        ("drill", &["icsdrill-engine", "icsdrill-judge"]),
        ("scenarios", &["icsdrill-engine"]),
        ("web", &["icsdrill-engine", "icsdrill-judge", "icsdrill-drill"]),
    ];
    for (krate, inner) in allowed {
        let deps = dependencies(krate);
        assert!(!deps.is_empty() || krate == "engine", "{krate}: no dependencies read from its manifest");
        for d in &deps {
            assert_ne!(d, "icsdrill", "{krate} depends on the runtime crate: dependencies point inwards");
            if d.starts_with("icsdrill-") {
                assert!(inner.contains(&d.as_str()), "{krate} depends on {d}: only {inner:?} are below it");
            }
            if krate != "web" {
                assert!(!IO.contains(&d.as_str()), "{krate} depends on {d}: the core crates do no IO");
            }
        }
    }
    // The pure crates' sources stay pure too.
    let mut files = vec![];
    for dir in ["judge/src", "drill/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 4);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for word in
            ["std::fs", "std::net", "tokio", "Instant", "SystemTime", "HashMap", "HashSet", "thread_rng"]
        {
            assert!(
                !text.contains(word),
                "{} mentions `{word}`: judging and the drill core are pure (addresses: `core::net`)",
                f.display()
            );
        }
    }
}

/// The source files of the program (not its tests), with the number of lines before their
/// unit tests.
fn program_files() -> Vec<(PathBuf, Vec<String>)> {
    let mut files = vec![];
    for dir in ["src", "engine/src", "judge/src", "drill/src", "web/src", "scenarios/src", "benches"] {
        rust_files(&root().join(dir), &mut files);
    }
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let lines: Vec<String> =
                text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")).map(str::to_string).collect();
            (f, lines)
        })
        .collect()
}

/// Longest source file (its unit tests apart).
const MAX_FILE_LINES: usize = 700;

#[test]
fn source_files_stay_short() {
    let mut files = program_files();
    assert!(files.len() > 50);
    // The pages' scripts too (not the vendored chart library).
    for entry in std::fs::read_dir(root().join("web/assets")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "js") {
            let lines = std::fs::read_to_string(&path).unwrap().lines().map(str::to_string).collect();
            files.push((path, lines));
        }
    }
    for (f, lines) in files {
        assert!(
            lines.len() < MAX_FILE_LINES,
            "{} has {} lines before its tests: split it by concern (at most {MAX_FILE_LINES})",
            f.display(),
            lines.len()
        );
    }
}

/// Functions of `lines` as (name, length in lines): from `fn` to the brace that closes it at
/// the same indentation.
fn function_lengths(lines: &[String]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let code = ["pub ", "pub(crate) ", "pub(super) ", "async ", "const ", "unsafe "]
            .iter()
            .fold(code, |c, p| c.strip_prefix(p).unwrap_or(c));
        let code = code.strip_prefix("async ").unwrap_or(code);
        let Some(rest) = code.strip_prefix("fn ") else { continue };
        // A declaration (a trait's method without a body), on one line or several, ends at `;`
        // before any `{`.
        let signature_end =
            lines[i..].iter().map(|l| l.trim_end()).find(|l| l.ends_with(';') || l.ends_with('{'));
        if signature_end.is_none_or(|l| l.ends_with(';')) {
            continue;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let close = format!("{indent}}}");
        if let Some(len) = lines[i + 1..].iter().position(|l| *l == close) {
            out.push((name, len + 2));
        }
    }
    out
}

#[test]
fn functions_stay_short() {
    let mut long = Vec::new();
    for (f, lines) in program_files() {
        for (name, len) in function_lengths(&lines) {
            assert!(len <= 150, "{}: fn {name} has {len} lines: split it (150 at most)", f.display());
            if len > 100 {
                long.push(format!("{}: {name} ({len})", f.display()));
            }
        }
    }
    assert!(long.len() <= 5, "at most 5 functions over 100 lines, found {}: {long:#?}", long.len());
    // The counter itself works.
    let sample: Vec<String> =
        "fn a() {\n    x;\n}\n    pub async fn b(&self) {\n    }\n    fn c(\n        &self,\n    ) -> u8;\n    }\n"
            .lines()
            .map(str::to_string)
            .collect();
    assert_eq!(function_lengths(&sample), [("a".to_string(), 3), ("b".to_string(), 2)]);
}

#[test]
fn the_readme_names_every_event_kind() {
    // The README's list of the event log's kinds, held to the engine's `EventKind` (it lacked a
    // dozen, and named `flooded` for `comms_flooded`).
    let src = std::fs::read_to_string(root().join("engine/src/event.rs")).unwrap();
    let body = &src[src.find("pub enum EventKind").expect("EventKind")..];
    let body = &body[..body.find("\n}\n").expect("its end")];
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let (mut kinds, mut rename) = (Vec::new(), None);
    for line in body.lines().skip(1) {
        let Some(t) = line.strip_prefix("    ").filter(|t| !t.starts_with(' ')) else { continue };
        if let Some(r) = t.strip_prefix("#[serde(rename = \"") {
            rename = r.split('"').next().map(String::from);
        } else if t.starts_with(|c: char| c.is_ascii_uppercase()) {
            let name: String = t.chars().take_while(char::is_ascii_alphanumeric).collect();
            let snake = name.chars().enumerate().fold(String::new(), |mut s, (i, c)| {
                if c.is_ascii_uppercase() && i > 0 {
                    s.push('_');
                }
                s.push(c.to_ascii_lowercase());
                s
            });
            kinds.push(rename.take().unwrap_or(snake));
        }
    }
    assert!(kinds.len() >= 40 && kinds.contains(&"opcua_transaction".to_string()), "{kinds:?}");
    let missing: Vec<&String> = kinds.iter().filter(|k| !readme.contains(&format!("`{k}`"))).collect();
    assert!(missing.is_empty(), "event kinds the README does not name: {missing:?}");
}
