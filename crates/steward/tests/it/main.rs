//! Integration tests of the `steward` binary, run as a process.

mod audit;
mod changes;
mod config;
mod demo;
mod entitlements;
mod init;
mod serve;
mod sync;
mod users;
mod verify;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `steward` in `dir` with `args`, with no inherited `STEWARD_*` variables.
pub fn steward(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("STEWARD_") {
            cmd.env_remove(key);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| unreachable!("cannot run steward: {e}"))
}

/// Stdout and stderr together.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
