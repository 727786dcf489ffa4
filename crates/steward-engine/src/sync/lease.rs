//! The sync lease's holder identity and heartbeat.
//!
//! A holder names itself `<host>/<pid>/<nonce>`. When a sync finds the lease held by a
//! process of the same host that no longer exists (it was killed), it takes the lease over at
//! once instead of waiting for the lease to lapse.

use std::time::Duration;

use steward_store::{Lease, Store};

/// This host's name, as the kernel reports it (`None` where it cannot be read).
fn host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && !h.contains('/'))
}

/// A fresh holder name for this process, `<host>/<pid>/<nonce>`: for leases and job workers.
pub fn owner_id() -> String {
    let nonce: u64 = rand_nonce();
    format!(
        "{}/{}/{nonce:016x}",
        host().unwrap_or_else(|| "unknown-host".to_owned()),
        std::process::id()
    )
}

fn rand_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // A per-process random seed (std's SipHash keys) mixed with the time: unique enough to
    // tell two holders of one process apart, which is all the nonce is for.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// Whether `lease`'s holder is a process of this host that is gone (Linux: no `/proc/<pid>`).
/// Holders elsewhere, or of this very process, are never judged gone: their lease must lapse.
pub fn holder_is_gone(lease: &Lease) -> bool {
    let mut parts = lease.owner.splitn(3, '/');
    let (Some(host_name), Some(pid), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    host().as_deref() == Some(host_name)
        && pid != std::process::id()
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Renews the lease every third of `ttl`; returns (why) only once it is lost: someone else
/// took it over, or it could not be renewed before it lapsed.
pub(crate) async fn keep(store: &Store, name: &str, owner: &str, ttl: Duration) -> String {
    let every = ttl / 3;
    let mut last_ok = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        match store.leases().renew(name, owner, ttl).await {
            Ok(true) => last_ok = tokio::time::Instant::now(),
            Ok(false) => {
                return "the sync lease was taken over by another process (this one stalled \
                        longer than the lease lasts); that process continues the run"
                    .to_owned();
            }
            Err(e) if last_ok.elapsed() >= ttl => {
                return format!("cannot renew the sync lease: {e}");
            }
            Err(e) => tracing::warn!(error = %e, "cannot renew the sync lease; retrying"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(owner: String) -> Lease {
        let now = chrono::Utc::now();
        Lease {
            name: "sync".into(),
            owner,
            acquired_at: now,
            expires_at: now,
        }
    }

    #[test]
    fn only_a_gone_process_of_this_host_is_judged_gone() {
        let mine = owner_id();
        assert!(
            !holder_is_gone(&lease(mine.clone())),
            "this process is alive"
        );
        let host = mine.split('/').next().unwrap_or_default().to_owned();
        // PIDs above the kernel's maximum (4194304) never exist.
        if std::path::Path::new("/proc/self").exists() {
            assert!(holder_is_gone(&lease(format!("{host}/99999999/00"))));
        }
        assert!(!holder_is_gone(&lease("elsewhere/99999999/00".into())));
        assert!(!holder_is_gone(&lease("garbage".into())));
    }
}
