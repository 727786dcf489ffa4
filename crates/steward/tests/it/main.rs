//! Integration tests of the `steward` binary, run as a process.

mod audit;
mod changes;
mod config;
mod crash;
mod crash_serve;
mod demo;
mod entitlements;
mod init;
mod provision;
mod serve;
mod sync;
mod users;
mod verify;

use std::path::Path;

use atlassian_sim::SimHandle;
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

/// A config for `sim` with the org key read from a file and the given site token inline.
pub fn write_config(dir: &Path, sim: &SimHandle, org_key: &str, site_token: &str) {
    let info = sim.info();
    std::fs::write(dir.join("org_key"), format!("{org_key}\n"))
        .unwrap_or_else(|e| unreachable!("{e}"));
    let site = &info.sites[0];
    let file = format!(
        r#"[atlassian]
org_id = "{}"
api_url = "{}"
org_api_key_file = "org_key"
integration_email = "{}"

[[atlassian.sites]]
name = "{}"
url = "{}"
api_token = "{}"

[statuspage]
url = "{}"
api_key = "{}"
organization_id = "{}"
"#,
        info.org_id,
        info.admin_base_url,
        site.email,
        site.name,
        site.base_url,
        site_token,
        info.statuspage.base_url,
        info.statuspage.api_key,
        info.statuspage.organization_id,
    );
    std::fs::write(dir.join("steward.toml"), file).unwrap_or_else(|e| unreachable!("{e}"));
}
