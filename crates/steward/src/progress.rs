//! The sync's progress on stderr: one bar per product on a terminal, plain lines otherwise
//! (a phase change, and every few seconds what was read so far), so logs of scheduled runs
//! stay readable.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use steward_engine::sync::{Phase, ProductProgress, Progress};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How often the display polls the engine's progress.
const TICK: Duration = Duration::from_millis(100);
/// How often plain lines repeat the counts of products still running.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// A running progress display; [`finish`](Display::finish) draws the last state and stops it.
pub struct Display {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Display {
    /// Starts drawing `progress` on stderr (bars on a terminal, else plain lines).
    pub fn start(progress: Progress) -> Display {
        let (stop, mut stopped) = oneshot::channel();
        let terminal = std::io::stderr().is_terminal();
        let task = tokio::spawn(async move {
            let mut view: Box<dyn View + Send> = if terminal {
                Box::new(Bars::default())
            } else {
                Box::new(Plain::default())
            };
            loop {
                view.draw(&progress.snapshot());
                tokio::select! {
                    () = tokio::time::sleep(TICK) => {}
                    _ = &mut stopped => break,
                }
            }
            view.draw(&progress.snapshot());
            view.close();
        });
        Display { stop, task }
    }

    /// Draws the final state and stops.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

trait View {
    fn draw(&mut self, state: &BTreeMap<String, ProductProgress>);
    fn close(&mut self);
}

fn counted(p: &ProductProgress) -> String {
    match p.total {
        Some(total) => format!("{}/{total} {}", p.done, p.unit),
        None => format!("{} {}", p.done, p.unit),
    }
}

/// One indicatif bar (or spinner, without a total) per product.
#[derive(Default)]
struct Bars {
    multi: Option<MultiProgress>,
    bars: BTreeMap<String, ProgressBar>,
}

impl View for Bars {
    fn draw(&mut self, state: &BTreeMap<String, ProductProgress>) {
        let multi = self
            .multi
            .get_or_insert_with(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        for (key, p) in state {
            let bar = self.bars.entry(key.clone()).or_insert_with(|| {
                let bar = multi.add(ProgressBar::no_length());
                bar.set_prefix(format!("{key:<14}"));
                bar
            });
            let style = match p.total {
                Some(total) => {
                    bar.set_length(total);
                    ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                }
                None => ProgressStyle::with_template("{prefix} {spinner} {msg}"),
            };
            if let Ok(style) = style {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_position(p.done);
            match p.phase {
                Phase::Done if !bar.is_finished() => {
                    bar.finish_with_message(format!("{} done", counted(p)));
                }
                Phase::Failed if !bar.is_finished() => {
                    bar.abandon_with_message(format!("{} failed", counted(p)));
                }
                Phase::Waiting | Phase::Running => {
                    bar.set_message(format!("{} {}", counted(p), "reading"));
                    bar.tick();
                }
                _ => {}
            }
        }
    }

    fn close(&mut self) {
        for bar in self.bars.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

/// Plain lines: each phase change, and the running counts every [`PLAIN_EVERY`].
#[derive(Default)]
struct Plain {
    phases: BTreeMap<String, Phase>,
    last_counts: Option<tokio::time::Instant>,
}

impl View for Plain {
    fn draw(&mut self, state: &BTreeMap<String, ProductProgress>) {
        for (key, p) in state {
            if self.phases.get(key) != Some(&p.phase) {
                self.phases.insert(key.clone(), p.phase);
                let what = match p.phase {
                    Phase::Waiting => continue,
                    Phase::Running => "reading".to_owned(),
                    Phase::Done => format!("done: {}", counted(p)),
                    Phase::Failed => format!("failed after {}", counted(p)),
                };
                eprintln!("sync {key}: {what}");
            }
        }
        let due = self
            .last_counts
            .is_none_or(|at| at.elapsed() >= PLAIN_EVERY);
        if due {
            self.last_counts = Some(tokio::time::Instant::now());
            let running: Vec<String> = state
                .iter()
                .filter(|(_, p)| p.phase == Phase::Running && p.done > 0)
                .map(|(key, p)| format!("{key} {}", counted(p)))
                .collect();
            if !running.is_empty() {
                eprintln!("sync progress: {}", running.join(", "));
            }
        }
    }

    fn close(&mut self) {}
}

/// `90s`, `15m`, `1h30m`: how `--every` reads.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse_duration;

    #[test]
    fn durations_read_and_print_alike() {
        for text in ["90s", "15m", "1h", "1h30m", "2d"] {
            let d = parse_duration(text).unwrap_or_else(|e| panic!("{e}"));
            let again = parse_duration(&human_duration(d)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(d, again, "{text}");
        }
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(human_duration(Duration::from_secs(5400)), "1h30m");
        for bad in ["", "0", "0s", "15x", "m", "15m3", "-5m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }
}
