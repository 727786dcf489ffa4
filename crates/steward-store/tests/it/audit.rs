//! The hash-chained audit log, on both back ends: chaining, concurrent appends, and every kind
//! of tampering done behind the store's back with raw SQL.

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use serde_json::json;
use sqlx::Connection;
use steward_store::{
    AuditFault, AuditFaultReason, AuditQuery, GENESIS_HASH, JobId, NewAuditEntry, Store,
};

use crate::db::TestDb;

fn entry(i: usize) -> NewAuditEntry {
    NewAuditEntry {
        actor: if i.is_multiple_of(2) {
            "alice"
        } else {
            "steward"
        }
        .to_owned(),
        action: "grant.applied".to_owned(),
        subject: Some(format!("user{i}@acme.test")),
        reason: (!i.is_multiple_of(3)).then(|| format!("ticket {i}")),
        detail: json!({"entitlements": ["jira:acme/user"], "calls": [{"call": "POST /x", "status": 204}], "n": i}),
        result: "ok".to_owned(),
        job: None,
    }
}

async fn append_n(store: &Store, n: usize) -> anyhow::Result<()> {
    for i in 1..=n {
        store.audit().append(&entry(i)).await?;
    }
    Ok(())
}

/// Runs SQL on a separate connection, behind the store's back (the tamperer).
async fn tamper(db: &TestDb, sql: &str) -> anyhow::Result<()> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match &db.sqlite_file {
        Some(file) => {
            let mut c =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display())).await?;
            sqlx::raw_sql(sql).execute(&mut c).await.context("tamper")?;
            c.close().await?;
        }
        None => {
            let mut c = sqlx::PgConnection::connect(&db.url).await?;
            sqlx::raw_sql(sql).execute(&mut c).await.context("tamper")?;
            c.close().await?;
        }
    }
    Ok(())
}

async fn first_bad(store: &Store) -> anyhow::Result<Option<AuditFault>> {
    let v = store.audit().verify().await?;
    assert_eq!(v.ok, v.first_bad.is_none());
    Ok(v.first_bad)
}

fn fault(seq: i64, reason: AuditFaultReason) -> Option<AuditFault> {
    Some(AuditFault { seq, reason })
}

pub async fn audit_entries_chain_from_genesis_and_verify(db: &TestDb) -> anyhow::Result<()> {
    let audit = db.store.audit();
    let empty = audit.verify().await?;
    assert!(empty.ok);
    assert_eq!(empty.entries, 0);
    assert_eq!(audit.head().await?.hash, GENESIS_HASH);

    append_n(&db.store, 5).await?;
    let all = audit.list(&AuditQuery::default()).await?;
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(all[0].prev_hash, GENESIS_HASH);
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for e in &all {
        assert_eq!(e.computed_hash()?, e.hash);
        assert_eq!(e.hash.len(), 64);
        assert!(
            e.hash
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
    assert_eq!(all[2].entry, entry(3), "round trip");
    let v = audit.verify().await?;
    assert!(v.ok, "{v:?}");
    assert_eq!(v.entries, 5);
    let head = audit.head().await?;
    assert_eq!((head.seq, head.hash.as_str()), (5, all[4].hash.as_str()));
    assert_eq!(v.head, Some(head));
    Ok(())
}

/// The documented encoding, recomputed here by hand from a stored entry (what an auditor's
/// script does), gives the stored hash.
pub async fn audit_hash_follows_the_documented_encoding(db: &TestDb) -> anyhow::Result<()> {
    use sha2::{Digest, Sha256};
    db.store.audit().append(&entry(3)).await?;
    let e = db.store.audit().append(&entry(1)).await?;
    fn field(buf: &mut Vec<u8>, v: Option<&str>) {
        match v {
            None => buf.push(0),
            Some(t) => {
                buf.push(1);
                buf.extend_from_slice(&(t.len() as u64).to_be_bytes());
                buf.extend_from_slice(t.as_bytes());
            }
        }
    }
    let mut buf = b"steward.audit.v1".to_vec();
    field(&mut buf, Some("2"));
    field(
        &mut buf,
        Some(&e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
    );
    field(&mut buf, Some("steward"));
    field(&mut buf, Some("grant.applied"));
    field(&mut buf, Some("user1@acme.test"));
    field(&mut buf, Some("ticket 1"));
    field(&mut buf, Some(&serde_json::to_string(&entry(1).detail)?));
    field(&mut buf, Some("ok"));
    field(&mut buf, None);
    field(&mut buf, Some(&e.prev_hash));
    let hex: String = Sha256::digest(&buf)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, e.hash);
    Ok(())
}

pub async fn concurrent_appends_never_fork_the_chain(db: &TestDb) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store.audit().append(&entry(i)).await
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await??.seq);
    }
    seqs.sort();
    assert_eq!(
        seqs,
        (1..=50).collect::<Vec<i64>>(),
        "gapless, no duplicates"
    );
    let v = db.store.audit().verify().await?;
    assert!(v.ok, "{v:?}");
    assert_eq!(v.entries, 50);
    Ok(())
}

pub async fn editing_any_column_of_an_entry_is_detected_at_its_seq(
    db: &TestDb,
) -> anyhow::Result<()> {
    append_n(&db.store, 5).await?;
    tamper(db, "CREATE TABLE audit_backup AS SELECT * FROM audit_log").await?;
    let restore = "DELETE FROM audit_log; INSERT INTO audit_log SELECT * FROM audit_backup";
    let edits = [
        ("at", "at = '2020-01-01T00:00:00+00:00'"),
        ("actor", "actor = 'mallory'"),
        ("action", "action = 'grant.reverted'"),
        ("subject", "subject = 'other@acme.test'"),
        ("subject", "subject = NULL"),
        ("reason", "reason = 'nothing to see'"),
        ("detail", "detail = '{\"entitlements\":[]}'"),
        ("result", "result = 'failed'"),
        ("job_id", "job_id = 42"),
        (
            "hash",
            "hash = '1111111111111111111111111111111111111111111111111111111111111111'",
        ),
    ];
    for seq in [1, 3, 5] {
        for (column, set) in edits {
            tamper(db, &format!("UPDATE audit_log SET {set} WHERE seq = {seq}")).await?;
            assert_eq!(
                first_bad(&db.store).await?,
                fault(seq, AuditFaultReason::HashMismatch),
                "edit of {column} at {seq}"
            );
            tamper(db, restore).await?;
        }
        tamper(
            db,
            &format!(
                "UPDATE audit_log SET prev_hash = '{GENESIS_HASH}' WHERE seq = {seq} AND seq > 1"
            ),
        )
        .await?;
        if seq > 1 {
            assert_eq!(
                first_bad(&db.store).await?,
                fault(seq, AuditFaultReason::PrevHashMismatch)
            );
        }
        tamper(db, restore).await?;
    }
    assert!(db.store.audit().verify().await?.ok, "restored");

    // Rewriting an entry with its hash recomputed moves the break to the next entry...
    let mut third = db
        .store
        .audit()
        .list(&AuditQuery {
            after_seq: Some(2),
            limit: Some(1),
            ..AuditQuery::default()
        })
        .await?
        .remove(0);
    third.entry.actor = "mallory".to_owned();
    tamper(
        db,
        &format!(
            "UPDATE audit_log SET actor = 'mallory', hash = '{}' WHERE seq = 3",
            third.computed_hash()?
        ),
    )
    .await?;
    assert_eq!(
        first_bad(&db.store).await?,
        fault(4, AuditFaultReason::PrevHashMismatch)
    );
    tamper(db, restore).await?;

    // ... and on the last entry, to the head.
    let mut last = db
        .store
        .audit()
        .list(&AuditQuery {
            after_seq: Some(4),
            ..AuditQuery::default()
        })
        .await?
        .remove(0);
    last.entry.result = "failed".to_owned();
    tamper(
        db,
        &format!(
            "UPDATE audit_log SET result = 'failed', hash = '{}' WHERE seq = 5",
            last.computed_hash()?
        ),
    )
    .await?;
    assert_eq!(
        first_bad(&db.store).await?,
        fault(5, AuditFaultReason::HeadMismatch)
    );
    tamper(db, restore).await?;

    // A timestamp that is not one is reported, not an error.
    if db.sqlite_file.is_some() {
        tamper(db, "UPDATE audit_log SET at = 'yesterday' WHERE seq = 2").await?;
        let bad = first_bad(&db.store).await?.expect("a fault");
        assert_eq!(bad.seq, 2);
        assert!(
            matches!(bad.reason, AuditFaultReason::Undecodable { .. }),
            "{bad:?}"
        );
        tamper(db, restore).await?;
    }
    assert!(db.store.audit().verify().await?.ok);
    Ok(())
}

pub async fn deleting_swapping_or_truncating_entries_is_detected(
    db: &TestDb,
) -> anyhow::Result<()> {
    append_n(&db.store, 6).await?;
    tamper(db, "CREATE TABLE audit_backup AS SELECT * FROM audit_log").await?;
    let restore = "DELETE FROM audit_log; INSERT INTO audit_log SELECT * FROM audit_backup";

    tamper(db, "DELETE FROM audit_log WHERE seq = 3").await?;
    assert_eq!(
        first_bad(&db.store).await?,
        fault(3, AuditFaultReason::Missing)
    );
    tamper(db, restore).await?;

    tamper(db, "DELETE FROM audit_log WHERE seq = 1").await?;
    assert_eq!(
        first_bad(&db.store).await?,
        fault(1, AuditFaultReason::Missing)
    );
    tamper(db, restore).await?;

    // Swap entries 2 and 4 (their seq numbers).
    tamper(
        db,
        "UPDATE audit_log SET seq = -2 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 4; \
         UPDATE audit_log SET seq = 4 WHERE seq = -2",
    )
    .await?;
    assert_eq!(
        first_bad(&db.store).await?,
        fault(2, AuditFaultReason::PrevHashMismatch)
    );
    tamper(db, restore).await?;

    // Swap the contents of two adjacent entries, keeping seq and the chain links in place.
    tamper(
        db,
        "UPDATE audit_log SET actor = (SELECT actor FROM audit_backup WHERE seq = 5) WHERE seq = 4; \
         UPDATE audit_log SET actor = (SELECT actor FROM audit_backup WHERE seq = 4) WHERE seq = 5",
    )
    .await?;
    assert_eq!(
        first_bad(&db.store).await?,
        fault(4, AuditFaultReason::HashMismatch)
    );
    tamper(db, restore).await?;

    // Truncating the tail: only the head row can tell.
    tamper(db, "DELETE FROM audit_log WHERE seq >= 5").await?;
    let v = db.store.audit().verify().await?;
    assert_eq!(v.first_bad, fault(5, AuditFaultReason::Truncated));
    assert_eq!(v.entries, 4);
    tamper(db, restore).await?;

    tamper(db, "DELETE FROM audit_log").await?;
    assert_eq!(
        first_bad(&db.store).await?,
        fault(1, AuditFaultReason::Truncated)
    );
    tamper(db, restore).await?;

    // An entry slipped in beyond the head.
    tamper(
        db,
        "INSERT INTO audit_log (seq, at, actor, action, subject, reason, detail, result, job_id, \
         prev_hash, hash) SELECT 7, at, actor, action, subject, reason, detail, result, job_id, \
         hash, hash FROM audit_backup WHERE seq = 6",
    )
    .await?;
    assert_eq!(
        first_bad(&db.store).await?,
        fault(7, AuditFaultReason::BeyondHead)
    );
    tamper(db, restore).await?;

    tamper(db, "DELETE FROM audit_head").await?;
    assert_eq!(
        first_bad(&db.store).await?,
        fault(7, AuditFaultReason::HeadMissing)
    );
    Ok(())
}

pub async fn verify_pages_through_a_long_log(db: &TestDb) -> anyhow::Result<()> {
    append_n(&db.store, 2_100).await?;
    let v = db.store.audit().verify().await?;
    assert!(v.ok, "{v:?}");
    assert_eq!(v.entries, 2_100);
    tamper(
        db,
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2050",
    )
    .await?;
    let v = db.store.audit().verify().await?;
    assert_eq!(v.first_bad, fault(2050, AuditFaultReason::HashMismatch));
    assert_eq!(v.entries, 2049);
    Ok(())
}

pub async fn audit_list_filters_and_pages(db: &TestDb) -> anyhow::Result<()> {
    let audit = db.store.audit();
    let before = Utc::now() - TimeDelta::seconds(1);
    append_n(&db.store, 6).await?;
    let mut with_job = entry(7);
    with_job.job = Some(JobId(12));
    audit.append(&with_job).await?;
    let seqs = |v: Vec<steward_store::AuditEntry>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    let q = AuditQuery::default;
    assert_eq!(
        seqs(
            audit
                .list(&AuditQuery {
                    actor: Some("alice".into()),
                    ..q()
                })
                .await?
        ),
        [2, 4, 6]
    );
    assert_eq!(
        seqs(
            audit
                .list(&AuditQuery {
                    subject: Some("USER3@acme.test".into()),
                    ..q()
                })
                .await?
        ),
        [3]
    );
    assert_eq!(
        seqs(
            audit
                .list(&AuditQuery {
                    job: Some(JobId(12)),
                    ..q()
                })
                .await?
        ),
        [7]
    );
    assert_eq!(
        seqs(
            audit
                .list(&AuditQuery {
                    after_seq: Some(2),
                    limit: Some(3),
                    ..q()
                })
                .await?
        ),
        [3, 4, 5]
    );
    assert_eq!(
        audit
            .list(&AuditQuery {
                since: Some(before),
                ..q()
            })
            .await?
            .len(),
        7
    );
    assert!(
        audit
            .list(&AuditQuery {
                since: Some(Utc::now() + TimeDelta::hours(1)),
                ..q()
            })
            .await?
            .is_empty()
    );
    Ok(())
}
