//! Rendering: a verify report as a checklist, JSON or CSV, and the aligned tables and CSV every
//! listing command prints.

use std::fmt::Write;

use steward_engine::{CheckStatus, Report};

use crate::cli::Output;

/// The report in the requested format.
pub fn report(report: &Report, format: Output) -> anyhow::Result<String> {
    Ok(match format {
        Output::Table => checklist(report),
        Output::Json => {
            let value = serde_json::json!({"passed": report.passed(), "checks": report.checks});
            format!("{}\n", serde_json::to_string_pretty(&value)?)
        }
        Output::Csv => {
            let mut out = String::from("id,title,status,detail,fix\n");
            for c in &report.checks {
                let status = serde_json::to_value(c.status)?;
                let row = [
                    c.id.as_str(),
                    c.title.as_str(),
                    status.as_str().unwrap_or_default(),
                    c.detail.as_str(),
                    c.fix.as_deref().unwrap_or_default(),
                ]
                .map(csv_field)
                .join(",");
                out.push_str(&row);
                out.push('\n');
            }
            out
        }
    })
}

/// Aligned columns under a header, two spaces apart, no trailing blanks.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>], indent: &str) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, v) in widths.iter_mut().zip(r) {
            *w = (*w).max(v.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut s = indent.to_owned();
        s.push_str(
            &cells
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  "),
        );
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(&mut header.iter().copied());
    for r in rows {
        out.push_str(&line(&mut r.iter().map(String::as_str)));
    }
    out
}

/// CSV with a header row.
pub(crate) fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = header.join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break.
///
/// Values come from Atlassian (display names, group names, site names) and anyone there can
/// choose them, so a cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) is neutralised with a leading `'`, as OWASP's CSV-injection
/// guidance says. Plain numbers (`-3`, `+1.5`) are left alone: a spreadsheet computes nothing
/// from them.
pub(crate) fn csv_field(value: &str) -> String {
    let neutralised;
    let value = if starts_like_a_formula(value) {
        neutralised = format!("'{value}");
        neutralised.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// Whether a spreadsheet could read `value` as a formula (OWASP: `=`, `+`, `-`, `@`, tab, CR).
fn starts_like_a_formula(value: &str) -> bool {
    if !value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        return false;
    }
    // A signed plain number (`-3`, `+1.5`) is a value, not a formula.
    let signed_number = value.starts_with(['-', '+'])
        && value[1..].chars().any(|c| c.is_ascii_digit())
        && value[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
        && value.matches('.').count() <= 1;
    !signed_number
}

fn checklist(report: &Report) -> String {
    let mut out = String::new();
    for c in &report.checks {
        let mark = match c.status {
            CheckStatus::Pass => "✓",
            CheckStatus::Fail => "✗",
            CheckStatus::Warn => "!",
            CheckStatus::Skipped => "-",
        };
        let _ = writeln!(out, "{mark} {}: {}", c.title, c.detail);
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "    fix: {fix}");
        }
    }
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .count();
    let _ = if failed == 0 {
        writeln!(out, "\nAll prerequisites hold: Steward is ready.")
    } else {
        writeln!(
            out,
            "\n{failed} check(s) failed: fix them and run `steward verify` again."
        )
    };
    out
}

#[cfg(test)]
mod tests {
    use super::{csv, csv_field};

    #[test]
    fn cells_a_spreadsheet_would_run_are_neutralised() {
        for (raw, expected) in [
            (
                "=HYPERLINK(\"http://evil\")",
                "\"'=HYPERLINK(\"\"http://evil\"\")\"",
            ),
            ("=1+1", "'=1+1"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
            ("\t=1+1", "'\t=1+1"),
            ("\r=1+1", "\"'\r=1+1\""),
            ("=1,2", "\"'=1,2\""),
            ("-", "'-"),
            ("--", "'--"),
        ] {
            assert_eq!(csv_field(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn plain_values_and_numbers_are_unchanged() {
        for raw in [
            "ada@acme.com",
            "Ada Lovelace",
            "jira-software",
            "-3",
            "+1.5",
            "2026-11-27",
            "",
        ] {
            assert_eq!(csv_field(raw), raw, "{raw:?}");
        }
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn every_csv_row_is_neutralised() {
        let out = csv(&["name", "email"], &[vec!["=cmd()".into(), "@evil".into()]]);
        assert_eq!(out, "name,email\n'=cmd(),'@evil\n");
    }
}
