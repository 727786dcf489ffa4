//! The audit log: append-only, hash-chained, verifiable.
//!
//! Every entry's `hash` is the SHA-256 of its fields and of the previous entry's hash (the
//! exact byte encoding is [`AuditEntry::computed_hash`], documented in the crate README so an
//! auditor can re-verify with a script). The chain's head (last seq and hash) is kept in the
//! `audit_head` row, updated in the transaction of every append, so [`Audit::verify`] detects
//! a truncated tail as well as an edited, deleted or reordered entry.
//!
//! Appends serialize on the head: SQLite's `BEGIN IMMEDIATE` takes the write lock, PostgreSQL
//! locks the head row (`SELECT … FOR UPDATE`), so the chain never forks and `seq` has no gaps.
//! [`crate::Jobs`] appends entries in the same transaction as a job's state change.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{FromRow, Row};

use crate::error::{Error, Result};
use crate::jobs::JobId;
use crate::store::{Backend, Store, now, with_pool, with_tx};

/// The `prev_hash` of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The domain tag every hashed input starts with; a new encoding gets a new tag.
const HASH_TAG: &[u8] = b"steward.audit.v1";

/// Rows fetched per page by [`Audit::verify`] (memory stays bounded on any log size).
const VERIFY_PAGE: i64 = 1000;

/// An entry to append. The store sets `seq`, `at`, `prev_hash` and `hash`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// Who did it or asked for it (a user, `steward` for the engine, an API token's name).
    pub actor: String,
    /// What was done, a stable dotted verb chosen by the caller (`job.enqueued`,
    /// `grant.applied`, `offboard.finished`).
    pub action: String,
    /// Whom it concerns (usually an email), if anyone.
    pub subject: Option<String>,
    /// Why (the requester's justification), if given.
    pub reason: Option<String>,
    /// Details: entitlements, the API calls made, their outcome. Stored as compact JSON.
    pub detail: serde_json::Value,
    /// The outcome, chosen by the caller (`ok`, `failed`, `refused`, …).
    pub result: String,
    /// The job it belongs to, if any. Set by the store when the entry is appended with a
    /// job state change.
    pub job: Option<JobId>,
}

/// An entry of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain: 1, 2, 3, … without gaps.
    pub seq: i64,
    /// When it was appended (microsecond precision).
    pub at: DateTime<Utc>,
    /// What was appended.
    #[serde(flatten)]
    pub entry: NewAuditEntry,
    /// The previous entry's hash ([`GENESIS_HASH`] for seq 1).
    pub prev_hash: String,
    /// This entry's hash, lowercase hex SHA-256 (see [`AuditEntry::computed_hash`]).
    pub hash: String,
}

impl AuditEntry {
    /// Recomputes this entry's hash from its fields and `prev_hash`; equal to `hash` unless the
    /// entry was tampered with.
    ///
    /// The SHA-256 input is the ASCII tag `steward.audit.v1` followed by ten fields in this
    /// order: seq, at, actor, action, subject, reason, detail, result, job, prev_hash. A NULL
    /// field is the single byte `0x00`; any other field is `0x01`, then the length of its
    /// UTF-8 text as an 8-byte big-endian integer, then the text. Texts: `seq` and `job` in
    /// decimal; `at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, exactly six fraction digits);
    /// `detail` exactly as stored in the `detail` column (compact JSON); the rest verbatim.
    /// The hash is written as 64 lowercase hex digits.
    ///
    /// # Errors
    /// [`Error::Json`] if `detail` can't be encoded (never for a `Value` read from the store).
    pub fn computed_hash(&self) -> Result<String> {
        let detail = serde_json::to_string(&self.entry.detail)?;
        Ok(chain_hash(&HashInput {
            seq: self.seq,
            at: self.at,
            actor: &self.entry.actor,
            action: &self.entry.action,
            subject: self.entry.subject.as_deref(),
            reason: self.entry.reason.as_deref(),
            detail: &detail,
            result: &self.entry.result,
            job: self.entry.job.map(|j| j.0),
            prev_hash: &self.prev_hash,
        }))
    }
}

/// Filters for [`Audit::list`]; every field is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Only entries appended strictly after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only this actor (exact).
    pub actor: Option<String>,
    /// Only this subject (compared case-insensitively, ASCII).
    pub subject: Option<String>,
    /// Only entries of this job.
    pub job: Option<JobId>,
    /// At most this many entries.
    pub limit: Option<i64>,
    /// Only entries with a larger seq (to page: pass the last seq seen).
    pub after_seq: Option<i64>,
}

/// The chain's head as recorded in `audit_head`: the last seq and its hash. Publishing it
/// elsewhere (a ticket, a log shipper) anchors the chain: see [`Audit::head`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// The last entry's seq, 0 for an empty log.
    pub seq: i64,
    /// The last entry's hash, [`GENESIS_HASH`] for an empty log.
    pub hash: String,
}

/// What [`Audit::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// Entries checked and found good before the first fault (all of them when `ok`).
    pub entries: u64,
    /// Whether the whole log verified.
    pub ok: bool,
    /// The first fault, in seq order.
    pub first_bad: Option<AuditFault>,
    /// The head the log was checked against (`None` if the head row itself is gone).
    pub head: Option<AuditHead>,
}

/// Where the chain breaks and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFault {
    /// The entry at fault (for a missing entry or a truncated tail: the first absent seq).
    pub seq: i64,
    /// What is wrong there.
    pub reason: AuditFaultReason,
}

impl fmt::Display for AuditFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit entry {}: {}", self.seq, self.reason)
    }
}

/// The kinds of break [`Audit::verify`] reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AuditFaultReason {
    /// The entry's fields don't hash to its stored hash: it was edited.
    HashMismatch,
    /// The entry's `prev_hash` is not the previous entry's hash: the previous entry was
    /// replaced, or this one was moved or re-chained.
    PrevHashMismatch,
    /// No entry has this seq although later ones exist: it was deleted.
    Missing,
    /// The log ends before the head recorded in `audit_head`: its tail was deleted.
    Truncated,
    /// The last entry's hash differs from the head's: the last entry was rewritten (hash
    /// recomputed) or the head was edited.
    HeadMismatch,
    /// An entry exists beyond the recorded head: it was inserted behind the store's back.
    BeyondHead,
    /// The `audit_head` row is gone: truncation can't be checked.
    HeadMissing,
    /// A column of the entry doesn't decode (e.g. `at` is not a timestamp).
    Undecodable {
        /// The decoder's message.
        detail: String,
    },
}

impl fmt::Display for AuditFaultReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HashMismatch => f.write_str("its content does not match its hash (edited)"),
            Self::PrevHashMismatch => f.write_str(
                "its prev_hash is not the previous entry's hash (previous entry replaced, or entries reordered)",
            ),
            Self::Missing => f.write_str("missing although later entries exist (deleted)"),
            Self::Truncated => {
                f.write_str("the log ends before the recorded head (tail deleted)")
            }
            Self::HeadMismatch => f.write_str(
                "the last entry's hash differs from the recorded head (last entry or head rewritten)",
            ),
            Self::BeyondHead => f.write_str("entry beyond the recorded head (inserted)"),
            Self::HeadMissing => f.write_str("the audit_head row is missing"),
            Self::Undecodable { detail } => write!(f, "a column does not decode: {detail}"),
        }
    }
}

/// The fields hashed for one entry, in [`AuditEntry::computed_hash`] order.
pub(crate) struct HashInput<'a> {
    pub(crate) seq: i64,
    pub(crate) at: DateTime<Utc>,
    pub(crate) actor: &'a str,
    pub(crate) action: &'a str,
    pub(crate) subject: Option<&'a str>,
    pub(crate) reason: Option<&'a str>,
    pub(crate) detail: &'a str,
    pub(crate) result: &'a str,
    pub(crate) job: Option<i64>,
    pub(crate) prev_hash: &'a str,
}

/// `at` as hashed: RFC 3339, UTC, exactly six fraction digits, `Z`.
fn canonical_at(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The hash of one entry; see [`AuditEntry::computed_hash`] for the encoding.
pub(crate) fn chain_hash(input: &HashInput<'_>) -> String {
    fn field(h: &mut Sha256, value: Option<&str>) {
        match value {
            None => h.update([0u8]),
            Some(text) => {
                h.update([1u8]);
                h.update((text.len() as u64).to_be_bytes());
                h.update(text.as_bytes());
            }
        }
    }
    let mut h = Sha256::new();
    h.update(HASH_TAG);
    field(&mut h, Some(&input.seq.to_string()));
    field(&mut h, Some(&canonical_at(input.at)));
    field(&mut h, Some(input.actor));
    field(&mut h, Some(input.action));
    field(&mut h, input.subject);
    field(&mut h, input.reason);
    field(&mut h, Some(input.detail));
    field(&mut h, Some(input.result));
    field(&mut h, input.job.map(|j| j.to_string()).as_deref());
    field(&mut h, Some(input.prev_hash));
    let digest = h.finalize();
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A [`NewAuditEntry`] with its detail encoded, ready for [`append_audit!`].
pub(crate) struct EncodedAudit {
    entry: NewAuditEntry,
    detail: String,
}

impl EncodedAudit {
    pub(crate) fn new(entry: &NewAuditEntry) -> Result<Self> {
        Ok(Self {
            detail: serde_json::to_string(&entry.detail)?,
            entry: entry.clone(),
        })
    }

    /// The encoded detail, as stored and hashed.
    pub(crate) fn detail(&self) -> &str {
        &self.detail
    }

    /// The same entry, attributed to `job`.
    /// Sets `key` in the detail (when it is a JSON object) and re-encodes it.
    pub(crate) fn set_detail_field(&mut self, key: &str, value: serde_json::Value) -> Result<()> {
        if let serde_json::Value::Object(map) = &mut self.entry.detail {
            map.insert(key.to_owned(), value);
            self.detail = serde_json::to_string(&self.entry.detail)?;
        }
        Ok(())
    }

    pub(crate) fn for_job(mut self, job: JobId) -> Self {
        self.entry.job = Some(job);
        self
    }
}

/// Whether a transaction runs on PostgreSQL (to pick locking SQL).
pub(crate) fn is_postgres<DB: sqlx::Database>(_: &sqlx::Transaction<'_, DB>) -> bool {
    DB::NAME == <sqlx::Postgres as sqlx::Database>::NAME
}

/// Inside [`with_tx!`]: appends one [`EncodedAudit`] after the current head, moves the head,
/// and evaluates to the new [`AuditEntry`]. On PostgreSQL the head row is locked until
/// commit, which serializes appends; take it last in any transaction (after job rows) so
/// lock order is always job, then head.
macro_rules! append_audit {
    ($tx:ident, $encoded:expr) => {{
        let encoded: &$crate::audit::EncodedAudit = $encoded;
        let head_sql = if $crate::audit::is_postgres(&$tx) {
            "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
        } else {
            "SELECT seq, hash FROM audit_head WHERE id = 1"
        };
        let head: Option<(i64, String)> =
            sqlx::query_as(head_sql).fetch_optional(&mut *$tx).await?;
        let (head_seq, head_hash) = head.ok_or($crate::error::Error::Corrupt {
            column: "audit_head",
            detail: "the head row is missing; the audit log can't be appended to".to_owned(),
        })?;
        let (entry, hash) = $crate::audit::next_entry(encoded, head_seq, head_hash);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, subject, reason, detail, result, \
             job_id, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(entry.seq)
        .bind(entry.at)
        .bind(&entry.entry.actor)
        .bind(&entry.entry.action)
        .bind(entry.entry.subject.as_deref())
        .bind(entry.entry.reason.as_deref())
        .bind(encoded.detail())
        .bind(&entry.entry.result)
        .bind(entry.entry.job.map(|j| j.0))
        .bind(&entry.prev_hash)
        .bind(&hash)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(entry.seq)
            .bind(&hash)
            .execute(&mut *$tx)
            .await?;
        entry
    }};
}
pub(crate) use append_audit;

/// Builds the entry that follows `(head_seq, head_hash)`. Split out of [`append_audit!`] so
/// the hashing is written once.
pub(crate) fn next_entry(
    encoded: &EncodedAudit,
    head_seq: i64,
    head_hash: String,
) -> (AuditEntry, String) {
    let seq = head_seq + 1;
    let at = now();
    let e = &encoded.entry;
    let hash = chain_hash(&HashInput {
        seq,
        at,
        actor: &e.actor,
        action: &e.action,
        subject: e.subject.as_deref(),
        reason: e.reason.as_deref(),
        detail: &encoded.detail,
        result: &e.result,
        job: e.job.map(|j| j.0),
        prev_hash: &head_hash,
    });
    (
        AuditEntry {
            seq,
            at,
            entry: e.clone(),
            prev_hash: head_hash,
            hash: hash.clone(),
        },
        hash,
    )
}

/// One `audit_log` row as stored.
#[derive(FromRow)]
struct AuditRecord {
    seq: i64,
    at: DateTime<Utc>,
    actor: String,
    action: String,
    subject: Option<String>,
    reason: Option<String>,
    detail: String,
    result: String,
    job_id: Option<i64>,
    prev_hash: String,
    hash: String,
}

/// The `audit_log` columns decoded into [`AuditRecord`].
macro_rules! audit_columns {
    () => {
        "seq, at, actor, action, subject, reason, detail, result, job_id, prev_hash, hash"
    };
}

impl AuditRecord {
    fn recomputed_hash(&self) -> String {
        chain_hash(&HashInput {
            seq: self.seq,
            at: self.at,
            actor: &self.actor,
            action: &self.action,
            subject: self.subject.as_deref(),
            reason: self.reason.as_deref(),
            detail: &self.detail,
            result: &self.result,
            job: self.job_id,
            prev_hash: &self.prev_hash,
        })
    }

    fn decode(self) -> Result<AuditEntry> {
        Ok(AuditEntry {
            seq: self.seq,
            at: self.at,
            entry: NewAuditEntry {
                actor: self.actor,
                action: self.action,
                subject: self.subject,
                reason: self.reason,
                detail: serde_json::from_str(&self.detail).map_err(|e| Error::Corrupt {
                    column: "audit_log.detail",
                    detail: e.to_string(),
                })?,
                result: self.result,
                job: self.job_id.map(JobId),
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Walks the chain inside a read transaction `$tx` (one consistent snapshot), a page at a
/// time, and evaluates to `Result<AuditVerification>`.
macro_rules! verify_in_tx {
    ($tx:ident) => {{
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_optional(&mut *$tx)
                .await?;
        let mut walk = ChainWalk::new(head.clone());
        let upper = head.as_ref().map_or(i64::MAX, |h| h.0);
        'pages: loop {
            let rows = sqlx::query(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3"
            ))
            .bind(walk.last_seq)
            .bind(upper)
            .bind(VERIFY_PAGE)
            .fetch_all(&mut *$tx)
            .await?;
            if rows.is_empty() {
                break 'pages;
            }
            for row in &rows {
                let seq: i64 = row.try_get("seq")?;
                let record = AuditRecord::from_row(row).map_err(|e| e.to_string());
                if walk.check(seq, record) {
                    break 'pages;
                }
            }
        }
        if walk.fault.is_none()
            && let Some((head_seq, _)) = &head
        {
            let beyond: Option<i64> =
                sqlx::query_scalar("SELECT MIN(seq) FROM audit_log WHERE seq > $1")
                    .bind(*head_seq)
                    .fetch_one(&mut *$tx)
                    .await?;
            walk.finish(beyond);
        }
        Ok::<_, Error>(walk.into_verification())
    }};
}

/// The state of a chain walk in [`Audit::verify`].
struct ChainWalk {
    head: Option<(i64, String)>,
    last_seq: i64,
    prev_hash: String,
    entries: u64,
    fault: Option<AuditFault>,
}

impl ChainWalk {
    fn new(head: Option<(i64, String)>) -> Self {
        Self {
            head,
            last_seq: 0,
            prev_hash: GENESIS_HASH.to_owned(),
            entries: 0,
            fault: None,
        }
    }

    /// Checks the next row; returns whether the walk must stop (a fault was found).
    fn check(&mut self, seq: i64, record: Result<AuditRecord, String>) -> bool {
        let expected = self.last_seq + 1;
        let fault = if seq != expected {
            Some((expected, AuditFaultReason::Missing))
        } else {
            match record {
                Err(detail) => Some((seq, AuditFaultReason::Undecodable { detail })),
                Ok(r) if r.prev_hash != self.prev_hash => {
                    Some((seq, AuditFaultReason::PrevHashMismatch))
                }
                Ok(r) if r.recomputed_hash() != r.hash => {
                    Some((seq, AuditFaultReason::HashMismatch))
                }
                Ok(r) => {
                    self.prev_hash = r.hash;
                    None
                }
            }
        };
        match fault {
            Some((seq, reason)) => {
                self.fault = Some(AuditFault { seq, reason });
                true
            }
            None => {
                self.last_seq = seq;
                self.entries += 1;
                false
            }
        }
    }

    /// After the last row: compares the end of the chain with the head. `beyond` is the
    /// smallest seq stored beyond the head, if any.
    fn finish(&mut self, beyond: Option<i64>) {
        let Some((head_seq, head_hash)) = &self.head else {
            self.fault = Some(AuditFault {
                seq: self.last_seq + 1,
                reason: AuditFaultReason::HeadMissing,
            });
            return;
        };
        self.fault = if self.last_seq < *head_seq {
            Some(AuditFault {
                seq: self.last_seq + 1,
                reason: AuditFaultReason::Truncated,
            })
        } else if self.prev_hash != *head_hash {
            Some(AuditFault {
                seq: *head_seq,
                reason: AuditFaultReason::HeadMismatch,
            })
        } else {
            beyond.map(|seq| AuditFault {
                seq,
                reason: AuditFaultReason::BeyondHead,
            })
        };
    }

    fn into_verification(self) -> AuditVerification {
        let fault = match (self.fault, &self.head) {
            (Some(f), _) => Some(f),
            (None, None) => Some(AuditFault {
                seq: self.last_seq + 1,
                reason: AuditFaultReason::HeadMissing,
            }),
            (None, Some(_)) => None,
        };
        AuditVerification {
            entries: self.entries,
            ok: fault.is_none(),
            first_bad: fault,
            head: self.head.map(|(seq, hash)| AuditHead { seq, hash }),
        }
    }
}

/// The audit log. Entries are only ever appended; nothing in the store updates or deletes
/// them.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    pub(crate) store: &'a Store,
}

impl Audit<'_> {
    /// Appends one entry at the end of the chain and returns it (with its seq and hash).
    /// Not idempotent: appending twice records twice. To record a job's state change and its
    /// entry atomically, pass the entry to [`crate::Jobs::enqueue`], [`crate::Jobs::cancel`] or
    /// [`crate::Jobs::finish`] instead.
    ///
    /// # Errors
    /// [`Error::Json`], [`Error::Database`], [`Error::Corrupt`] (head row missing).
    pub async fn append(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        let encoded = EncodedAudit::new(entry)?;
        let appended = with_tx!(self.store, tx => {
            append_audit!(tx, &encoded)
        });
        tracing::debug!(seq = appended.seq, action = %appended.entry.action, "appended audit entry");
        Ok(appended)
    }

    /// Entries matching `query`, in seq order.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn list(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let rows: Vec<AuditRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_log \
                 WHERE ($1 IS NULL OR at > $1) AND ($2 IS NULL OR actor = $2) \
                 AND ($3 IS NULL OR lower(subject) = lower($3)) AND ($4 IS NULL OR job_id = $4) \
                 AND ($5 IS NULL OR seq > $5) ORDER BY seq LIMIT $6"
            ))
            .bind(query.since)
            .bind(query.actor.as_deref())
            .bind(query.subject.as_deref())
            .bind(query.job.map(|j| j.0))
            .bind(query.after_seq)
            .bind(query.limit.unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(AuditRecord::decode).collect()
    }

    /// The head as recorded: publish it elsewhere from time to time, because a chain whose
    /// every entry and head are rewritten together verifies; an anchored head does not.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`] (head row missing).
    pub async fn head(&self) -> Result<AuditHead> {
        let head: Option<(i64, String)> = with_pool!(self.store, pool => {
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_optional(pool)
                .await?
        });
        let (seq, hash) = head.ok_or(Error::Corrupt {
            column: "audit_head",
            detail: "the head row is missing".to_owned(),
        })?;
        Ok(AuditHead { seq, hash })
    }

    /// Checks the whole chain: seqs have no gaps, every `prev_hash` is the previous entry's
    /// hash, every hash matches its entry, and the chain ends at the recorded head. Reads one
    /// consistent snapshot a page at a time (memory stays bounded; appends go on meanwhile
    /// and are simply not part of this check). Returns the first fault, if any.
    ///
    /// # Errors
    /// [`Error::Database`] only: tampering is reported in the result, not as an error.
    pub async fn verify(&self) -> Result<AuditVerification> {
        let verification = match &self.store.backend {
            Backend::Sqlite(pool) => {
                // A deferred transaction: a read snapshot in WAL mode, without blocking writers.
                let mut tx = pool.begin().await?;
                let v = verify_in_tx!(tx)?;
                tx.commit().await?;
                v
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                let v = verify_in_tx!(tx)?;
                tx.commit().await?;
                v
            }
        };
        if let Some(fault) = &verification.first_bad {
            tracing::warn!(%fault, "audit log verification failed");
        }
        Ok(verification)
    }
}
