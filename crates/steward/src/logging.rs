//! The text log format: `tracing-subscriber`'s, except that values are written with their line
//! breaks and other control characters escaped. Steward logs values it did not choose (a
//! failing step's error quotes Atlassian's message, which can quote a display name); written
//! raw, a name such as `"x\n2026-01-01T00:00:00Z  INFO admin signed in"` would forge a log
//! line. (The JSON format escapes them already: one object per line.)

use std::fmt::Write as _;

use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format;

/// The field formatter of the text logs: `message` as is, other fields as `name=value`,
/// separated by spaces, control characters escaped (`\n`, `\r`, `\u{1b}`, ...).
pub fn text_fields()
-> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    format::debug_fn(|writer, field, value| {
        let text = format!("{value:?}");
        let text = escape_controls(&text);
        if field.name() == "message" {
            write!(writer, "{text}")
        } else {
            write!(writer, "{}={text}", field.name())
        }
    })
    .delimited(" ")
}

/// `text` with every control character written as its Rust escape.
fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::text_fields;

    /// A writer collecting what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    const FORGED: &str = "ok\n2026-11-27T00:00:00Z  INFO forged: admin signed in\r\n{\"level\":\"INFO\",\"fields\":{\"message\":\"forged\"}}\u{1b}[2K";

    fn logged(json: bool) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let builder = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO);
        // As `main` builds them.
        let dispatch = if json {
            tracing::Dispatch::new(builder.json().finish())
        } else {
            tracing::Dispatch::new(builder.fmt_fields(text_fields()).finish())
        };
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info!(error = %FORGED, subject = ?FORGED, job = 7, "job step failed");
            tracing::info!("{FORGED}");
        });
        let bytes = out.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn names_with_line_breaks_forge_no_text_log_lines() {
        let text = logged(false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "one line per event:\n{text}");
        assert!(
            lines[0].contains(r"job step failed error=ok\n2026-11-27T00:00:00Z  INFO forged"),
            "{text}"
        );
        assert!(lines[0].contains(" job=7"), "{text}");
        assert!(
            lines[1].contains(r"ok\n2026") && lines[1].contains(r"\u{1b}[2K"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
    }

    #[test]
    fn json_logs_stay_one_object_per_line() {
        let text = logged(true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "one line per event:\n{text}");
        for line in lines {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert_eq!(v["level"], "INFO");
        }
    }
}
