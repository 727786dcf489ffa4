//! Integration tests: one suite ([`cases`]) run against every back end ([`db`]).
//!
//! SQLite always runs (a file in a temp dir). PostgreSQL runs when `STEWARD_TEST_DATABASE_URL`
//! is set, each test in a fresh schema that is dropped afterwards; otherwise each PostgreSQL
//! test prints that it was skipped and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod accounts;
mod audit;
mod cases;
mod db;
mod jobs;
mod redaction;
mod requests;
mod sqlite_file;
mod stats;

/// Every case of the shared suite, whichever module it is written in.
mod all_cases {
    pub use crate::accounts::*;
    pub use crate::audit::*;
    pub use crate::cases::*;
    pub use crate::jobs::*;
    pub use crate::requests::*;
    pub use crate::stats::*;
}

/// Instantiates every case once per back end: `sqlite::<case>` and `postgres::<case>`.
macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    crate::db::run(crate::db::Kind::Sqlite, crate::all_cases::$case).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    crate::db::run(crate::db::Kind::Postgres, crate::all_cases::$case).await
                }
            )*
        }
    };
}

suite!(
    stats_count_jobs_by_kind_and_status_and_requests_by_state,
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
    // jobs
    enqueue_with_a_used_idempotency_key_returns_the_first_job,
    claim_takes_the_oldest_due_job_and_leaves_future_ones,
    fenced_writes_fail_once_the_lease_is_lost_and_change_nothing,
    a_crashed_workers_job_is_resumed_from_its_journal,
    finished_steps_are_final_and_success_needs_every_step,
    retry_later_requeues_the_job_and_ends_the_lease,
    renew_keeps_the_job_from_being_taken_over,
    cancel_takes_queued_jobs_only,
    finish_commits_the_outcome_and_its_audit_entry_together,
    concurrent_workers_never_hold_the_same_job,
    jobs_list_filters_and_pages,
    done_steps_in_a_window_carry_their_job_and_account,
    restore_bundles_round_trip_and_are_found_by_account_or_email,
    // audit
    audit_entries_chain_from_genesis_and_verify,
    audit_hash_follows_the_documented_encoding,
    concurrent_appends_never_fork_the_chain,
    editing_any_column_of_an_entry_is_detected_at_its_seq,
    deleting_swapping_or_truncating_entries_is_detected,
    verify_pages_through_a_long_log,
    audit_list_filters_and_pages,
    // accounts (service)
    console_users_are_unique_by_email_in_any_case,
    disabling_a_user_ends_its_sessions,
    api_tokens_are_found_by_prefix_and_revoked_once,
    idempotency_keys_replay_reject_mismatches_and_release,
    // access requests and schedule slots
    requests_move_through_their_states_with_audit_entries,
    concurrent_deciders_see_one_transition_win,
    revocation_outcomes_are_recorded_once_and_a_failed_one_is_retried,
    schedule_slots_are_claimed_once_each,
);
