//! Every fuzz target over its seed corpus plus a deterministic mutation run (always), and
//! under libFuzzer for `STEWARD_FUZZ_SECONDS` per target when that is set and `cargo fuzz` is
//! installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use steward_fuzz::TARGETS;
use steward_fuzz::mutate::Mutator;

/// Inputs per target in the mutation run (`STEWARD_FUZZ_INPUTS` overrides).
const MUTATIONS: usize = 10_000;
/// The fixed seed of the mutation run.
const SEED: u64 = 0x5EED_F022;

/// The repository root, canonical: the fuzz build's paths (its target directory, build
/// scripts' outputs) are then the same as those of a `cargo fuzz` run by hand, which reuses
/// the build instead of redoing it.
fn repo() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("fuzz/corpus").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the seed corpus {} is missing: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap_or_default())
        })
        .collect();
    out.sort();
    out
}

fn function(target: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no target {target}"))
}

/// Runs one input; on a panic, saves it and fails with where it is and how to replay it.
fn run_one(target: &str, what: &str, input: &[u8]) {
    let f = function(target);
    if std::panic::catch_unwind(AssertUnwindSafe(|| f(input))).is_err() {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("{target}-{}", fnv(input)));
        let _ = std::fs::write(&file, input);
        panic!(
            "{target} failed on {what} ({} bytes): saved as {}; replay with `cargo fuzz run {target} -s none --fuzz-dir fuzz {}`",
            input.len(),
            file.display(),
            file.display()
        );
    }
}

fn fnv(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn seeds_and_mutations(target: &str) {
    let corpus = seeds(target);
    assert!(!corpus.is_empty(), "{target}: the seed corpus is empty");
    let count = std::env::var("STEWARD_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MUTATIONS);
    let start = Instant::now();
    for (name, input) in &corpus {
        run_one(target, &format!("seed {name}"), input);
    }
    let inputs: Vec<Vec<u8>> = corpus.into_iter().map(|(_, d)| d).collect();
    let mut mutator = Mutator::new(&inputs, SEED);
    for i in 0..count {
        let input = mutator.next_input();
        run_one(target, &format!("mutation #{i} of seed {SEED:#x}"), &input);
    }
    println!(
        "fuzz {target}: {} seeds + {count} mutations = {} inputs tried, 0 failures ({:.1} s)",
        inputs.len(),
        inputs.len() + count,
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn atlassian_response_survives_its_corpus_and_mutations() {
    seeds_and_mutations("atlassian_response");
}

#[test]
fn config_survives_its_corpus_and_mutations() {
    seeds_and_mutations("config");
}

#[test]
fn entitlement_id_survives_its_corpus_and_mutations() {
    seeds_and_mutations("entitlement_id");
}

#[test]
fn api_body_survives_its_corpus_and_mutations() {
    seeds_and_mutations("api_body");
}

/// `Done 123 runs in 30 second(s)` → (123, 30).
fn final_stats(stderr: &str) -> Option<(u64, u64)> {
    let line = stderr.lines().rev().find(|l| l.starts_with("Done "))?;
    let mut words = line.split_whitespace();
    let runs = words.nth(1)?.parse().ok()?;
    let seconds = words.nth(2)?.parse().ok()?;
    Some((runs, seconds))
}

#[test]
fn final_stats_are_read_from_libfuzzer_output() {
    let out = "#2048\tpulse  cov: 1\nDone 812345 runs in 31 second(s)\n";
    assert_eq!(final_stats(out), Some((812_345, 31)));
    assert_eq!(final_stats("==1== ERROR: libFuzzer: deadly signal\n"), None);
}

/// A `cargo` for the fuzz project: its own target directory (`fuzz/target`), none of the
/// outer build's settings.
fn cargo_fuzz(fuzz_dir: &Path) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(fuzz_dir);
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PKG_NAME",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "RUST_TEST_THREADS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CARGO_TARGET_DIR", fuzz_dir.join("target"));
    cmd
}

#[test]
fn libfuzzer_finds_no_crash_in_the_time_given() {
    let seconds: u64 = match std::env::var("STEWARD_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
    {
        Some(s) if s > 0 => s,
        _ => {
            println!(
                "SKIPPED: libFuzzer runs (set STEWARD_FUZZ_SECONDS=<seconds per target>; .ci/run does)"
            );
            return;
        }
    };
    let fuzz_dir = repo().join("fuzz");
    let installed = cargo_fuzz(&fuzz_dir)
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        println!(
            "SKIPPED: libFuzzer runs: cargo-fuzz is not installed (`cargo install cargo-fuzz --locked`)"
        );
        return;
    }
    let built = Instant::now();
    let status = cargo_fuzz(&fuzz_dir)
        .args(["fuzz", "build", "-s", "none", "--fuzz-dir"])
        .arg(&fuzz_dir)
        .status()
        .expect("cargo fuzz build runs");
    assert!(status.success(), "cargo fuzz build -s none failed");
    println!(
        "fuzz: built the targets in {:.0} s",
        built.elapsed().as_secs_f64()
    );
    let summary_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-summary.txt");
    let mut summary = std::fs::File::create(&summary_file).expect("summary file");
    let mut failures = vec![];
    for (target, _) in TARGETS {
        let work = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("fuzz-corpus")
            .join(target);
        let _ = std::fs::create_dir_all(&work);
        let artifacts = fuzz_dir.join("artifacts").join(target);
        let _ = std::fs::create_dir_all(&artifacts);
        let output = cargo_fuzz(&fuzz_dir)
            .args(["fuzz", "run", target, "-s", "none", "--fuzz-dir"])
            .arg(&fuzz_dir)
            // New inputs go to the work directory; the checked-in seeds are only read.
            .arg(&work)
            .arg(fuzz_dir.join("corpus").join(target))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-timeout=20")
            .arg("-rss_limit_mb=4096")
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .output()
            .expect("cargo fuzz run runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = match (output.status.success(), final_stats(&stderr)) {
            (true, Some((runs, secs))) => format!(
                "fuzz {target}: {runs} runs in {secs} s ({} per second), 0 crashes",
                runs / secs.max(1)
            ),
            _ => {
                let crash = stderr
                    .lines()
                    .find_map(|l| l.split("Test unit written to ").nth(1))
                    .map(str::trim)
                    .unwrap_or("(no reproducer written)")
                    .to_owned();
                let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
                eprintln!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
                failures.push(format!(
                    "{target}: crashed; reproducer {crash}; replay with `cargo fuzz run {target} -s none --fuzz-dir fuzz {crash}`"
                ));
                format!("fuzz {target}: CRASH, reproducer {crash}")
            }
        };
        println!("{line}");
        let _ = writeln!(summary, "{line}");
    }
    println!("fuzz: summary in {}", summary_file.display());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
