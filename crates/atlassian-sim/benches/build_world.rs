//! Builds the seed worlds of every size and prints, per world: users, groups, memberships, build
//! time and peak resident memory (`VmHWM`, reset before each build where the kernel allows).
//!
//! `cargo bench -p atlassian-sim --bench build_world [-- original] [-- <name filter>]`
//!
//! Plain `main` (`harness = false`): the numbers are for one build each, which is what the
//! simulator does at start-up.

use std::time::{Duration, Instant};

use atlassian_sim::seed::{SeedConfig, SizeProfile, generate};
use atlassian_sim::state::{AccountType, Mode};

/// A `VmHWM:`/`VmRSS:` line of `/proc/self/status`, in MiB.
fn proc_status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak-RSS counter (Linux: writing 5 to `clear_refs`). Best effort.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mib(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0} MiB"))
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mode = if args.iter().any(|a| a == "original") {
        Mode::Original
    } else {
        Mode::Centralized
    };
    let filters: Vec<&String> = args.iter().filter(|a| *a != "original").collect();
    let cases: [(&str, SizeProfile, Option<usize>); 4] = [
        ("small", SizeProfile::Small, None),
        ("medium", SizeProfile::Medium, None),
        ("large", SizeProfile::Large, None),
        ("users=100000", SizeProfile::Large, Some(100_000)),
    ];
    println!("seed world build ({mode:?} mode, seed 42)");
    println!(
        "{:<14} {:>8} {:>7} {:>10} {:>9} {:>10} {:>10}",
        "profile", "users", "groups", "members", "build", "peak RSS", "RSS after"
    );
    for (name, profile, users) in cases {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let cfg = SeedConfig {
            seed: 42,
            profile,
            users,
            mode,
        };
        reset_peak();
        let start = Instant::now();
        let world = generate(&cfg);
        let took: Duration = start.elapsed();
        let peak = proc_status_mib("VmHWM:");
        let rss = proc_status_mib("VmRSS:");
        let people = world
            .accounts
            .iter()
            .filter(|a| a.kind == AccountType::Atlassian)
            .count();
        let groups = world.groups.len();
        let memberships: usize = world.groups.iter().map(|g| g.members.len()).sum();
        println!(
            "{name:<14} {people:>8} {groups:>7} {memberships:>10} {:>8.2}s {:>10} {:>10}",
            took.as_secs_f64(),
            mib(peak),
            mib(rss),
        );
        drop(world);
    }
}
