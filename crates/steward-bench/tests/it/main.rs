//! The benchmark's smoke test: the `tiny` profile end to end through the binary, in seconds.
//! It checks that the report is consistent, never how fast anything is.

use std::process::Command;

use serde_json::Value;

#[test]
fn tiny_profile_runs_every_scenario_and_writes_a_consistent_report() -> anyhow::Result<()> {
    let out = tempfile::tempdir()?;
    let status = Command::new(env!("CARGO_BIN_EXE_steward-bench"))
        .args(["--profile", "tiny", "--out"])
        .arg(out.path())
        .status()?;
    assert!(status.success(), "steward-bench exited with {status}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("tiny.json"))?)?;
    assert_eq!(report["profile"], "tiny");
    assert!(report["org"]["users"].as_u64().unwrap_or(0) > 0);
    let scenarios = report["scenarios"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = scenarios
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "full_sync",
            "sync_after_1pct_change",
            "onboard",
            "offboard",
            "grant"
        ]
    );
    for s in &scenarios {
        let name = &s["name"];
        assert_eq!(s["ok"], true, "{name} did not succeed: {}", s["detail"]);
        let calls = s["calls_total"].as_u64().unwrap_or(0);
        assert!(calls > 0, "{name} made no API call");
        let per_family: u64 = s["calls"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0);
        assert_eq!(per_family, calls, "{name}: families do not add up");
        assert!(
            s["min_calls"].as_u64().unwrap_or(0) > 0,
            "{name}: no minimum"
        );
        let ratio = s["bound_ratio"].as_f64().unwrap_or(0.0);
        assert!(
            ratio >= 1.0,
            "{name}: faster than its lower bound ({ratio})"
        );
        assert!(s["wall_s"].as_f64().unwrap_or(0.0) > 0.0);
        assert!(s["db_mib"].as_f64().unwrap_or(0.0) > 0.0);
    }
    // A sync reads at least what its documented call plan needs.
    let full = &scenarios[0];
    assert!(full["call_ratio"].as_f64().unwrap_or(0.0) >= 1.0);
    Ok(())
}
