//! CPU time and memory of this process, from the kernel's accounting.
//!
//! These are the numbers `getrusage(RUSAGE_SELF)` returns (`ru_utime + ru_stime`,
//! `ru_maxrss`), read from `/proc/self/stat` and `/proc/self/status` because the workspace
//! forbids `unsafe` and the standard library has no `getrusage`. Reading them from `/proc` also
//! lets the high-water mark be reset per scenario (`/proc/self/clear_refs`), which
//! `ru_maxrss` cannot. Linux only; elsewhere every reading is `None`.

use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, fixed at 100 in Linux's ABI).
const USER_HZ: f64 = 100.0;

/// One reading of the process's accounting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// User + system CPU time so far.
    pub cpu: Option<Duration>,
    /// Resident set size high-water mark (bytes) since start or the last [`reset_peak`].
    pub peak_rss: Option<u64>,
    /// Resident set size now (bytes).
    pub rss: Option<u64>,
}

/// Reads the process's CPU time and memory.
pub fn now() -> Usage {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    Usage {
        cpu: cpu_time(),
        peak_rss: status_kib(&status, "VmHWM:").map(|k| k * 1024),
        rss: status_kib(&status, "VmRSS:").map(|k| k * 1024),
    }
}

/// Resets the resident-set high-water mark to the current RSS (best effort: needs Linux 4.0+).
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) as f64 / USER_HZ))
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse_in_kib() {
        let status = "Name:\tx\nVmHWM:\t  1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(1234));
        assert_eq!(status_kib(status, "VmRSS:"), Some(1000));
        assert_eq!(status_kib(status, "VmPeak:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let u = now();
        assert!(u.cpu.is_some());
        assert!(u.peak_rss.unwrap_or(0) >= u.rss.unwrap_or(u64::MAX).min(1));
    }
}
