//! The worker: runs provisioning jobs, step by step, exactly once in effect.
//!
//! A job is a [`Plan`] enqueued with [`enqueue_plan`]: one journaled step per [`PlannedOp`].
//! [`Worker::run_once`] claims one job (under a lease, so no other worker runs it at the same
//! time), executes its remaining steps in order with [`execute_op`], journaling each
//! (`step_started` → the operation → `step_done(result)` or `step_failed(error)`), renews the
//! lease as it goes, and ends the job with its audit entry in the same transaction.
//!
//! Crash safety: a step a crashed worker left `running` is executed again by the next owner;
//! that is safe because every operation is idempotent (it reads before it writes). A worker
//! that loses its lease (it stalled past it, another worker took the job over) stops at once:
//! every journal write is fenced by the store, so it can write nothing more.
//!
//! Guard rails at execution time ([`super::rails`]): before a destructive step the worker
//! refuses the integration account; before a step that can take Organization admin away it
//! re-reads the live org admins; before the first destructive step of an unconfirmed job it
//! checks the mass-change circuit breaker ([`GuardPolicy`]). The last two hold a store lease
//! from the check until the step is journaled, so no two such checks and writes interleave
//! across workers or processes. A refusal fails the job (not retried) with the rail's
//! sentence, in the job's audit entry.
//!
//! Failures: a transient one sends the job back to the queue with exponential backoff
//! (honouring Atlassian's `Retry-After`) until [`WorkerPolicy::max_attempts`] claims, then fails
//! it; a permanent one fails the job at once with the reason. Completed steps stay `done`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use atlassian_client::Client;
use chrono::Utc;
use serde_json::{Value, json};
use steward_store::{
    BundleId, ClaimedJob, Enqueued, Job, JobId, JobOutcome, JobStep, NewAuditEntry, NewJob,
    NewStep, StepStatus, Store,
};
use tokio::sync::watch;

use super::exec::{ExecContext, KEPT_ON_OPEN_DESK, StepError, StepOutcome, execute_op};
use super::guard::{self, AdminEffect, GuardPolicy};
use super::op::{Op, Plan, PlannedOp, Subject};
use super::rails::{self, HeldLease, MASS_CHANGE_LEASE, ORG_ADMINS_LEASE};
use crate::target::Target;

/// How many more claims a job gets when its runs end with their process rather than with an
/// error. A run cut short by a kill of the whole service (a crash loop, a flapping node, a
/// deploy storm) says nothing about the job: found by the crash test of `steward serve`, a
/// job that happened to be running at eight kills in a row was failed as if it crashed its
/// worker. A job that really crashes its process is still stopped, later.
pub const CRASHED_RUNS_PER_ATTEMPT: i64 = 3;

/// The default lease a worker holds a job under.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// How a worker retries and idles.
#[derive(Debug, Clone)]
pub struct WorkerPolicy {
    /// Claims of one job before it is failed when it keeps failing transiently; a job whose
    /// runs keep ending with their process (killed, crashed: nothing recorded) is failed after
    /// [`CRASHED_RUNS_PER_ATTEMPT`] times as many claims.
    pub max_attempts: i64,
    /// The first pause before a transient failure is retried (doubled per attempt).
    pub backoff: Duration,
    /// The longest pause between two attempts.
    pub max_backoff: Duration,
    /// The first pause when the queue is empty (doubled while it stays empty).
    pub idle: Duration,
    /// The longest pause when the queue is empty.
    pub max_idle: Duration,
    /// Reads of a `Verify` step before it reports a difference.
    pub verify_attempts: u32,
    /// The first pause between `Verify` reads.
    pub verify_backoff: Duration,
}

impl Default for WorkerPolicy {
    fn default() -> Self {
        WorkerPolicy {
            max_attempts: 8,
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(15 * 60),
            idle: Duration::from_millis(500),
            max_idle: Duration::from_secs(10),
            verify_attempts: super::exec::VERIFY_ATTEMPTS,
            verify_backoff: super::exec::VERIFY_BACKOFF,
        }
    }
}

/// How a claimed job's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every step done: the job succeeded.
    Succeeded,
    /// The job failed for good, with the reason.
    Failed {
        /// Why.
        reason: String,
    },
    /// A transient failure: the job is queued again for later.
    RetryLater {
        /// Not claimed before this instant.
        not_before: chrono::DateTime<Utc>,
        /// Why.
        reason: String,
    },
    /// The worker lost the job's lease (it stalled, or another worker took the job over):
    /// it stopped, the next owner resumes the job.
    LeaseLost,
}

/// What [`Worker::run_once`] did with the job it claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    /// The job.
    pub job: JobId,
    /// Its kind.
    pub kind: String,
    /// Steps this run executed (resumed jobs skip the ones already done).
    pub steps_run: usize,
    /// How the run ended.
    pub outcome: RunOutcome,
}

/// What can stop a worker (as opposed to failing a job, which is a [`RunOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The store failed (the job is left as it is: its lease lapses and it is resumed).
    #[error("store")]
    Store(#[from] steward_store::Error),
    /// A plan could not be encoded into a job.
    #[error("cannot encode the plan")]
    Json(#[from] serde_json::Error),
}

/// Runs provisioning jobs. Several workers (threads or processes) may share one store: the
/// store's leases keep each job on one worker at a time.
#[derive(Debug, Clone)]
pub struct Worker {
    /// The store holding the job queue, the audit log and restore bundles.
    pub store: Store,
    /// The Atlassian client.
    pub client: Client,
    /// Where Atlassian is (site names for the executor).
    pub target: Target,
    /// This worker's lease owner name: unique per worker (e.g. `host:pid:random`).
    pub owner: String,
    /// How long a claim holds a job; renewed every third of it while the job runs.
    pub lease: Duration,
    /// Retries and idling.
    pub policy: WorkerPolicy,
    /// The execution-time guard rails' settings (the mass-change circuit breaker).
    pub guard: GuardPolicy,
    /// The integration account's id, looked up live once (`None` inside: no such account).
    integration_id: Arc<tokio::sync::OnceCell<Option<String>>>,
}

/// The key in a job's stored plan saying its mass change was confirmed (the CLI's `--yes`):
/// the circuit breaker lets it through.
pub const CONFIRMED_KEY: &str = "confirmed";

/// What one step's run gave: the result, and the journaled result when the step was already
/// journaled `done` (under a guard lease).
type StepRun = (Result<StepOutcome, StepError>, Option<Value>);

/// Why a leased future stopped early.
enum Interrupted {
    LeaseLost,
}

/// A guard lease lapsed under a stalled step: transient, the step runs again (idempotent).
fn lost_guard_lease() -> StepError {
    StepError::transient(
        "lost a guard lease while the step ran (the worker stalled); the step runs again",
    )
}

/// What the guard rails need to know about the step being run.
#[derive(Debug, Clone, Copy)]
struct Guarded {
    job: JobId,
    seq: i64,
    /// The job's mass change was confirmed.
    confirmed: bool,
    /// An earlier destructive step of the job is done: the breaker counted the person.
    admitted: bool,
}

impl Worker {
    /// A worker with the default lease ([`DEFAULT_LEASE`]) and policy.
    pub fn new(store: Store, client: Client, target: Target, owner: impl Into<String>) -> Worker {
        Worker {
            store,
            client,
            target,
            owner: owner.into(),
            lease: DEFAULT_LEASE,
            policy: WorkerPolicy::default(),
            guard: GuardPolicy::default(),
            integration_id: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Claims one job and runs its remaining steps. `None` when no job is claimable.
    ///
    /// Cancellation-safe in effect: dropping the future mid-step leaves the step `running`
    /// and the job leased until the lease lapses; the next claim resumes it and re-runs the
    /// step (idempotent).
    ///
    /// # Errors
    /// [`WorkerError::Store`] when the store fails (the job then resumes after its lease).
    pub async fn run_once(&self) -> Result<Option<JobRun>, WorkerError> {
        let Some(claimed) = self.store.jobs().claim(&self.owner, self.lease).await? else {
            return Ok(None);
        };
        tracing::info!(job = claimed.job.id.0, kind = %claimed.job.kind, attempts = claimed.job.attempts, owner = %self.owner, "claimed job");
        let kind = claimed.job.kind.clone();
        match self.process(claimed).await {
            Ok(run) => Ok(Some(run)),
            Err(steward_store::Error::LeaseLost { job, .. }) => {
                tracing::warn!(job = job.0, owner = %self.owner, "lost the job's lease; stopped");
                Ok(Some(JobRun {
                    job,
                    kind,
                    steps_run: 0,
                    outcome: RunOutcome::LeaseLost,
                }))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Runs jobs until `shutdown` becomes `true` (or its sender is dropped), pausing with
    /// backoff while the queue is empty. A job in progress finishes its current run first.
    ///
    /// # Errors
    /// None today: store failures are logged and retried after a pause.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) -> Result<(), WorkerError> {
        let mut idle = self.policy.idle;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            match self.run_once().await {
                Ok(Some(_)) => {
                    idle = self.policy.idle;
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, owner = %self.owner, "worker: store failed; pausing")
                }
            }
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                }
                () = tokio::time::sleep(idle) => {}
            }
            idle = idle.saturating_mul(2).min(self.policy.max_idle);
        }
    }

    /// Runs `fut`, renewing the lease every third of it; stops early when the lease is lost.
    async fn leased<F: Future>(&self, job: JobId, fut: F) -> Result<F::Output, Interrupted> {
        let mut fut = std::pin::pin!(fut);
        let every = (self.lease / 3).max(Duration::from_millis(10));
        loop {
            tokio::select! {
                out = &mut fut => return Ok(out),
                () = tokio::time::sleep(every) => {
                    match self.store.jobs().renew(job, &self.owner, self.lease).await {
                        Ok(_) => {}
                        Err(steward_store::Error::LeaseLost { .. }) => return Err(Interrupted::LeaseLost),
                        // A store hiccup: the lease still runs; try again at the next tick.
                        Err(e) => tracing::warn!(job = job.0, error = %e, "could not renew the lease"),
                    }
                }
            }
        }
    }

    async fn process(&self, claimed: ClaimedJob) -> Result<JobRun, steward_store::Error> {
        let job = claimed.job;
        let mut steps = claimed.steps;
        let run = |steps_run, outcome| JobRun {
            job: job.id,
            kind: job.kind.clone(),
            steps_run,
            outcome,
        };
        let plan: Plan = match serde_json::from_value(job.plan.clone()) {
            Ok(plan) => plan,
            Err(e) => {
                let reason = format!("the job's plan does not decode: {e}");
                self.fail(&job, &steps, &reason).await?;
                return Ok(run(0, RunOutcome::Failed { reason }));
            }
        };
        let mut ops: Vec<PlannedOp> = Vec::with_capacity(steps.len());
        for step in &steps {
            match serde_json::from_value::<PlannedOp>(step.op.clone()) {
                Ok(op) => ops.push(op),
                Err(e) => {
                    let reason = format!("step {} does not decode: {e}", step.seq);
                    self.fail(&job, &steps, &reason).await?;
                    return Ok(run(0, RunOutcome::Failed { reason }));
                }
            }
        }
        // Transient failures are bounded where they are recorded (below); reaching here past
        // `max_attempts` means earlier runs ended with their process.
        if job.attempts
            > self
                .policy
                .max_attempts
                .saturating_mul(CRASHED_RUNS_PER_ATTEMPT)
        {
            let reason = format!(
                "gave up after {} attempts; last error: {}",
                job.attempts - 1,
                job.error.as_deref().unwrap_or("the worker stopped mid-job")
            );
            self.fail(&job, &steps, &reason).await?;
            return Ok(run(0, RunOutcome::Failed { reason }));
        }
        let confirmed = job
            .plan
            .get(CONFIRMED_KEY)
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut ctx = ExecContext::new(
            &self.client,
            &self.store,
            Some(job.id),
            self.target.sites.iter().map(|s| s.name.clone()).collect(),
            plan.ops.iter().map(|p| p.op.clone()).collect(),
        );
        ctx.verify_attempts = self.policy.verify_attempts;
        ctx.verify_backoff = self.policy.verify_backoff;
        ctx.account_id = plan.subject.account_id.clone().or_else(|| {
            steps
                .iter()
                .filter(|s| s.status == StepStatus::Done)
                .filter_map(|s| s.result.as_ref()?.get("account_id")?.as_str())
                .next_back()
                .map(str::to_owned)
        });
        // Customer removals an open desk refused in an earlier run of this job.
        for (step, planned) in steps.iter().zip(&ops) {
            if let Op::RemoveJsmCustomer {
                site,
                service_desk_id,
            } = &planned.op
                && step.status == StepStatus::Done
                && step
                    .result
                    .as_ref()
                    .and_then(|r| r.get("summary")?.as_str())
                    .is_some_and(|s| s.starts_with(KEPT_ON_OPEN_DESK))
            {
                ctx.open_desks
                    .insert((site.clone(), service_desk_id.clone()));
            }
        }
        let jobs = self.store.jobs();
        let mut renewed = Instant::now();
        let mut steps_run = 0;
        for i in 0..steps.len() {
            if steps[i].status.is_finished() {
                continue;
            }
            if renewed.elapsed() >= self.lease / 3 {
                jobs.renew(job.id, &self.owner, self.lease).await?;
                renewed = Instant::now();
            }
            let seq = steps[i].seq;
            let op = &ops[i].op;
            jobs.step_started(job.id, &self.owner, seq).await?;
            steps[i].status = StepStatus::Running;
            steps_run += 1;
            tracing::info!(job = job.id.0, seq, op = %op.describe(), "step started");
            // Admitted by the circuit breaker: an earlier destructive step of this job is done.
            let admitted = steps[..i]
                .iter()
                .zip(&ops)
                .any(|(s, p)| s.status == StepStatus::Done && p.op.is_destructive());
            let guarded = Guarded {
                job: job.id,
                seq,
                confirmed,
                admitted,
            };
            let (result, journaled) = match self
                .leased(job.id, self.run_step(&mut ctx, &plan.subject, op, guarded))
                .await
            {
                Ok(result) => result?,
                Err(Interrupted::LeaseLost) => return Ok(run(steps_run, RunOutcome::LeaseLost)),
            };
            match result {
                Ok(outcome) => {
                    let value = match journaled {
                        Some(value) => value,
                        None => {
                            let value = super::exec::outcome_json(&outcome);
                            jobs.step_done(job.id, &self.owner, seq, &value).await?;
                            value
                        }
                    };
                    steps[i].status = StepStatus::Done;
                    steps[i].result = Some(value);
                    tracing::info!(job = job.id.0, seq, changed = outcome.changed, "step done");
                }
                Err(err) => {
                    let reason = format!("step {seq} ({}): {err}", op.describe());
                    jobs.step_failed(job.id, &self.owner, seq, &reason).await?;
                    steps[i].status = StepStatus::Failed;
                    steps[i].error = Some(reason.clone());
                    tracing::warn!(job = job.id.0, seq, transient = err.is_transient(), error = %err, "step failed");
                    if err.is_transient() && job.attempts < self.policy.max_attempts {
                        let not_before = Utc::now() + self.backoff(job.attempts, &err);
                        jobs.retry_later(job.id, &self.owner, not_before, &reason)
                            .await?;
                        return Ok(run(
                            steps_run,
                            RunOutcome::RetryLater { not_before, reason },
                        ));
                    }
                    let reason = if err.is_transient() {
                        format!("gave up after {} attempts: {reason}", job.attempts)
                    } else {
                        reason
                    };
                    self.fail(&job, &steps, &reason).await?;
                    return Ok(run(steps_run, RunOutcome::Failed { reason }));
                }
            }
        }
        let audit = audit_entry(&job, &steps, "succeeded", None);
        jobs.finish(
            job.id,
            &self.owner,
            JobOutcome::Succeeded,
            None,
            Some(&audit),
        )
        .await?;
        tracing::info!(job = job.id.0, kind = %job.kind, "job succeeded");
        // A restore marks its bundle restored (idempotent; if this is lost to a crash, the
        // next restore of the person plans nothing, since the access is back).
        if let Some(bundle) = serde_json::from_value::<Plan>(job.plan.clone())
            .ok()
            .and_then(|p| p.restores_bundle)
            && let Err(e) = self
                .store
                .bundles()
                .mark_restored(BundleId(bundle), job.id)
                .await
        {
            tracing::warn!(job = job.id.0, bundle, error = %e, "cannot mark the bundle restored");
        }
        Ok(run(steps_run, RunOutcome::Succeeded))
    }

    /// Runs one step with the execution-time guard rails (see the module docs). The result,
    /// and the journaled value when the step was journaled `done` here, under a guard lease.
    async fn run_step(
        &self,
        ctx: &mut ExecContext<'_>,
        subject: &Subject,
        op: &Op,
        g: Guarded,
    ) -> Result<StepRun, steward_store::Error> {
        if !op.is_destructive() {
            return Ok((execute_op(ctx, subject, op).await, None));
        }
        if let Err(e) = self.check_integration(ctx, subject, op).await {
            return Ok((Err(e), None));
        }
        let admin = guard::org_admin_effect(op);
        let breaker = !g.confirmed && !g.admitted;
        if admin.is_none() && !breaker {
            return Ok((execute_op(ctx, subject, op).await, None));
        }
        // Unique per job run: a job runs on one worker at a time.
        let owner = format!("{}#job{}", self.owner, g.job.0);
        let mut held = Vec::with_capacity(2);
        // Always in this order, so two steps needing both never wait on each other.
        if admin.is_some() {
            held.push(HeldLease::acquire(&self.store, ORG_ADMINS_LEASE, &owner).await?);
        }
        if breaker {
            held.push(HeldLease::acquire(&self.store, MASS_CHANGE_LEASE, &owner).await?);
        }
        let body = async {
            if let Some(effect) = admin
                && let Err(e) = self.check_admins(ctx, subject, op, effect).await
            {
                return Ok((Err(e), None));
            }
            if breaker && let Err(e) = self.check_breaker(subject).await {
                return Ok((Err(e), None));
            }
            match execute_op(ctx, subject, op).await {
                Ok(outcome) => {
                    // Fenced: journaled only while the leases are still ours, and before they
                    // go, so the next check sees this step.
                    for lease in &held {
                        if !lease.still_held().await {
                            return Ok((Err(lost_guard_lease()), None));
                        }
                    }
                    let value = super::exec::outcome_json(&outcome);
                    self.store
                        .jobs()
                        .step_done(g.job, &self.owner, g.seq, &value)
                        .await?;
                    Ok((Ok(outcome), Some(value)))
                }
                Err(e) => Ok((Err(e), None)),
            }
        };
        let out = rails::hold(&held, body).await;
        for lease in held {
            lease.release().await;
        }
        match out {
            Some(out) => out,
            None => Ok((Err(lost_guard_lease()), None)),
        }
    }

    /// Refuses a destructive step on the configured integration account (by email, or by the
    /// account id looked up live once per worker).
    async fn check_integration(
        &self,
        ctx: &ExecContext<'_>,
        subject: &Subject,
        op: &Op,
    ) -> Result<(), StepError> {
        let email = self.target.integration_email.trim();
        if email.is_empty() {
            return Ok(());
        }
        let action = format!("{} for", op.describe());
        // By email first: no read needed to refuse the common case.
        guard::check_integration_subject(&subject.email, None, Some(email), None, &action)
            .map_err(|e| StepError::guard(&e))?;
        let integration = self
            .integration_id
            .get_or_try_init(|| rails::live_account_id(&self.client, email))
            .await?;
        let account = ctx.account_id.as_deref().or(subject.account_id.as_deref());
        guard::check_integration_subject(
            &subject.email,
            account,
            Some(email),
            integration.as_deref(),
            &action,
        )
        .map_err(|e| StepError::guard(&e))
    }

    /// Refuses a step taking Organization admin from the last active org admin, read live.
    async fn check_admins(
        &self,
        ctx: &ExecContext<'_>,
        subject: &Subject,
        op: &Op,
        effect: AdminEffect,
    ) -> Result<(), StepError> {
        let admins = rails::live_org_admins(&self.client).await?;
        let account = ctx.account_id.as_deref().or(subject.account_id.as_deref());
        if !guard::is_live_admin(&admins, account, &subject.email) {
            return Ok(());
        }
        if let (AdminEffect::LeavesGroup, Op::RemoveFromGroup { group_id, .. }) = (effect, op)
            && !rails::group_grants_org_admin(&self.client, group_id).await?
        {
            return Ok(());
        }
        let action = match effect {
            AdminEffect::Revokes => "revoke Organization admin from".to_owned(),
            AdminEffect::LocksOut | AdminEffect::LeavesGroup => format!("{} for", op.describe()),
        };
        guard::check_org_admins_remain(&admins, account, &subject.email, &action)
            .map_err(|e| StepError::guard(&e))
    }

    /// The mass-change circuit breaker: refuses the job's first destructive step when the
    /// people who lost access in the window already reach the share.
    async fn check_breaker(&self, subject: &Subject) -> Result<(), StepError> {
        let lost = rails::people_who_lost_access(&self.store, &self.guard).await?;
        if lost.contains(&subject.email.trim().to_lowercase()) {
            return Ok(());
        }
        let total = rails::live_people(&self.client).await?;
        guard::check_mass_window(&lost, &subject.email, total, &self.guard)
            .map_err(|e| StepError::guard(&e))
    }

    /// The pause before attempt `attempts + 1`: exponential from [`WorkerPolicy::backoff`],
    /// capped, never shorter than Atlassian's `Retry-After`, with up to a quarter of jitter.
    fn backoff(&self, attempts: i64, err: &StepError) -> chrono::Duration {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        let base = self
            .policy
            .backoff
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.policy.max_backoff);
        let jitter_range = base.as_millis() / 4;
        let jitter = if jitter_range == 0 {
            0
        } else {
            u128::from(Utc::now().timestamp_subsec_nanos()) % jitter_range
        };
        let pause = (base + Duration::from_millis(u64::try_from(jitter).unwrap_or(0)))
            .max(err.retry_after().unwrap_or_default());
        chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::MAX)
    }

    async fn fail(
        &self,
        job: &Job,
        steps: &[JobStep],
        reason: &str,
    ) -> Result<(), steward_store::Error> {
        let audit = audit_entry(job, steps, "failed", Some(reason));
        self.store
            .jobs()
            .finish(
                job.id,
                &self.owner,
                JobOutcome::Failed,
                Some(reason),
                Some(&audit),
            )
            .await?;
        tracing::warn!(job = job.id.0, kind = %job.kind, reason, "job failed");
        Ok(())
    }
}

/// The audit entry a job ends with: who asked, the job kind as action, the subject, the
/// requester's reason, and every step with its API call and result.
fn audit_entry(job: &Job, steps: &[JobStep], result: &str, error: Option<&str>) -> NewAuditEntry {
    let steps: Vec<Value> = steps
        .iter()
        .map(|s| {
            json!({
                "seq": s.seq,
                "step": s.name,
                "api_call": s.api_call,
                "status": s.status.as_str(),
                "result": s.result,
                "error": s.error,
            })
        })
        .collect();
    let mut detail = json!({ "job": job.id.0, "steps": steps });
    if let Some(error) = error {
        detail["error"] = json!(error);
    }
    NewAuditEntry {
        actor: job.requested_by.clone(),
        action: job.kind.clone(),
        subject: Some(job.subject.clone()),
        reason: Some(job.reason.clone()),
        detail,
        result: result.to_owned(),
        job: None,
    }
}

/// Turns a plan into a job (one step per planned operation: its sentence, API call and JSON)
/// and enqueues it with a "requested" audit entry (action = `kind`, result `requested`) in the
/// same transaction. With an `idempotency_key` already used, nothing is written and the first
/// job comes back (`created: false`).
///
/// # Errors
/// [`WorkerError::Json`] if the plan does not encode, [`WorkerError::Store`].
pub async fn enqueue_plan(
    store: &Store,
    plan: &Plan,
    kind: &str,
    requested_by: &str,
    reason: &str,
    idempotency_key: Option<&str>,
) -> Result<Enqueued, WorkerError> {
    enqueue_plan_confirmed(
        store,
        plan,
        kind,
        requested_by,
        reason,
        idempotency_key,
        false,
    )
    .await
}

/// [`enqueue_plan`], saying whether the requester confirmed a mass change (`--yes`, the
/// console's confirm). A confirmed job passes the execution-time circuit breaker (its steps
/// still count towards it for other jobs); the confirmation is kept in the job's stored plan
/// ([`CONFIRMED_KEY`]) and in the "requested" audit entry.
///
/// # Errors
/// As [`enqueue_plan`].
pub async fn enqueue_plan_confirmed(
    store: &Store,
    plan: &Plan,
    kind: &str,
    requested_by: &str,
    reason: &str,
    idempotency_key: Option<&str>,
    confirmed: bool,
) -> Result<Enqueued, WorkerError> {
    let mut stored = serde_json::to_value(plan)?;
    if confirmed && let Some(map) = stored.as_object_mut() {
        map.insert(CONFIRMED_KEY.to_owned(), Value::Bool(true));
    }
    let steps = plan
        .ops
        .iter()
        .map(|p| {
            Ok(NewStep {
                name: p.op.describe(),
                api_call: p.op.api_call().to_owned(),
                op: serde_json::to_value(p)?,
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    let job = NewJob {
        kind: kind.to_owned(),
        subject: plan.subject.email.clone(),
        requested_by: requested_by.to_owned(),
        reason: reason.to_owned(),
        idempotency_key: idempotency_key.map(str::to_owned),
        plan: stored,
        steps,
        not_before: None,
    };
    let audit = NewAuditEntry {
        actor: requested_by.to_owned(),
        action: kind.to_owned(),
        subject: Some(plan.subject.email.clone()),
        reason: Some(reason.to_owned()),
        detail: json!({
            "ops": plan.ops.iter().map(|p| json!({
                "op": p.op.describe(),
                "api_call": p.op.api_call(),
                "why": p.why,
            })).collect::<Vec<_>>(),
            "planned_against_run": plan.planned_against_run,
            "confirmed": confirmed,
        }),
        result: "requested".to_owned(),
        job: None,
    };
    Ok(store.jobs().enqueue(&job, Some(&audit)).await?)
}
