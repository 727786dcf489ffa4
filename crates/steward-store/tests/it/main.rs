//! Integration tests: one suite ([`cases`]) run against every back end ([`db`]).
//!
//! SQLite always runs (a file in a temp dir). PostgreSQL runs when `STEWARD_TEST_DATABASE_URL`
//! is set, each test in a fresh schema that is dropped afterwards; otherwise each PostgreSQL
//! test prints that it was skipped and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod cases;
mod db;
mod redaction;
mod sqlite_file;

/// Instantiates every case once per back end: `sqlite::<case>` and `postgres::<case>`.
macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    crate::db::run(crate::db::Kind::Sqlite, crate::cases::$case).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    crate::db::run(crate::db::Kind::Postgres, crate::cases::$case).await
                }
            )*
        }
    };
}

suite!(
    first_open_creates_and_migrates,
    reopen_is_a_noop,
    readers_see_previous_completed_run_while_a_new_run_is_half_written,
    failed_and_abandoned_runs_never_become_visible,
    finished_runs_refuse_writes,
    batches_are_idempotent_per_run_and_key,
    checkpoints_commit_with_their_batch,
    account_filters_select_by_product_role_and_status,
    account_details_group_statuspage_and_jsm_round_trip,
    change_events_round_trip_and_filter,
    changes_recorded_with_completion_appear_with_the_snapshot,
    secrets_round_trip,
    secrets_are_not_plaintext_at_rest,
    wrong_master_key_fails_clearly,
    prune_keeps_the_newest_completed_runs,
    concurrent_batches_into_one_run_all_land,
    a_lease_is_held_by_one_owner_until_it_lapses,
    concurrent_contenders_never_both_hold_a_lease,
);
