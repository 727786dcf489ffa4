//! Named leases: a time-bound claim that one process at a time holds, across processes
//! sharing the database (one sync at a time; later, one scheduler tick per interval).
//!
//! A holder [`acquire`](Leases::acquire)s with a time to live and [`renew`](Leases::renew)s
//! well before it runs out; when it stops renewing (it crashed or was killed), anyone may take
//! the lease over once it has expired. The decision is made inside one write transaction
//! (SQLite `BEGIN IMMEDIATE`, PostgreSQL `SELECT … FOR UPDATE` on the lease row), so two
//! contenders never both win.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::{Store, now, with_pool, with_tx};

/// Who holds a lease and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    /// The lease's name.
    pub name: String,
    /// The holder, as it named itself.
    pub owner: String,
    /// When the holder acquired it.
    pub acquired_at: DateTime<Utc>,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// Whether the lease has lapsed at `at`.
    pub fn expired_at(&self, at: DateTime<Utc>) -> bool {
        self.expires_at <= at
    }
}

/// What [`Leases::acquire`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Acquired {
    /// The caller holds the lease now; `taken_over` names the previous holder whose lease had
    /// expired (it stopped renewing: crashed or killed), if any.
    Held {
        /// The previous holder, when the lease was taken over.
        taken_over: Option<Lease>,
    },
    /// Someone else holds an unexpired lease.
    Busy(Lease),
}

/// Leases (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Leases<'a> {
    pub(crate) store: &'a Store,
}

type LeaseTuple = (String, String, DateTime<Utc>, DateTime<Utc>);

fn lease_from(t: LeaseTuple) -> Lease {
    Lease {
        name: t.0,
        owner: t.1,
        acquired_at: t.2,
        expires_at: t.3,
    }
}

fn ttl_of(ttl: Duration) -> Result<chrono::Duration> {
    chrono::Duration::from_std(ttl).map_err(|_| Error::InvalidArgument {
        what: "lease time to live",
        detail: format!("{ttl:?} is out of range"),
    })
}

impl Leases<'_> {
    /// Takes `name` for `owner` for `ttl`: when nobody holds it, when its holder's lease has
    /// expired (or `take_over_from` says that holder is known dead), or when `owner` already
    /// holds it (then it is renewed).
    ///
    /// `take_over_from` lets a caller that can prove the holder is gone (e.g. a process on the
    /// same host that no longer exists) take the lease at once instead of waiting for expiry.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an out-of-range `ttl`, [`Error::Database`].
    pub async fn acquire(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
        take_over_from: impl Fn(&Lease) -> bool,
    ) -> Result<Acquired> {
        let ttl = ttl_of(ttl)?;
        let at = now();
        let outcome = with_tx!(self.store, tx => {
            sqlx::query(
                "INSERT INTO leases (name, owner, acquired_at, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(owner)
            .bind(at)
            .bind(at + ttl)
            .execute(&mut *tx)
            .await?;
            // SQLite's BEGIN IMMEDIATE already serializes writers.
            let sql = if crate::store::backend_is_postgres(self.store) {
                "SELECT name, owner, acquired_at, expires_at FROM leases WHERE name = $1 FOR UPDATE"
            } else {
                "SELECT name, owner, acquired_at, expires_at FROM leases WHERE name = $1"
            };
            let current: LeaseTuple = sqlx::query_as(sql).bind(name).fetch_one(&mut *tx).await?;
            let current = lease_from(current);
            if current.owner == owner {
                sqlx::query("UPDATE leases SET expires_at = $2 WHERE name = $1")
                    .bind(name)
                    .bind(at + ttl)
                    .execute(&mut *tx)
                    .await?;
                // Freshly inserted (acquired_at = now) or re-acquired by its holder.
                Acquired::Held { taken_over: None }
            } else if current.expired_at(at) || take_over_from(&current) {
                sqlx::query(
                    "UPDATE leases SET owner = $2, acquired_at = $3, expires_at = $4 WHERE name = $1",
                )
                .bind(name)
                .bind(owner)
                .bind(at)
                .bind(at + ttl)
                .execute(&mut *tx)
                .await?;
                Acquired::Held { taken_over: Some(current) }
            } else {
                Acquired::Busy(current)
            }
        });
        if let Acquired::Held {
            taken_over: Some(previous),
        } = &outcome
        {
            tracing::warn!(
                lease = name,
                owner,
                previous = previous.owner,
                "took over a lapsed lease"
            );
        }
        Ok(outcome)
    }

    /// Extends `owner`'s lease on `name` by `ttl` from now. `false` when `owner` no longer
    /// holds it (it lapsed and someone took it over): the caller must stop what the lease
    /// guards.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`], [`Error::Database`].
    pub async fn renew(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let ttl = ttl_of(ttl)?;
        let at = now();
        let updated = with_pool!(self.store, pool => {
            sqlx::query("UPDATE leases SET expires_at = $3 WHERE name = $1 AND owner = $2")
                .bind(name)
                .bind(owner)
                .bind(at + ttl)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Gives `name` up if `owner` holds it (idempotent).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn release(&self, name: &str, owner: &str) -> Result<()> {
        with_pool!(self.store, pool => {
            sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
                .bind(name)
                .bind(owner)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The current holder of `name`, if any (possibly expired).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn get(&self, name: &str) -> Result<Option<Lease>> {
        let row: Option<LeaseTuple> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT name, owner, acquired_at, expires_at FROM leases WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(lease_from))
    }
}
