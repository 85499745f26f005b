//! The run's side of delivery (docs/deliver.md): the preflight before a run starts, the push
//! and the pull request once it has ended (`end.rs`), and `night deliver RUN` by hand later.
//! The work itself is [`crate::deliver`]'s; this file records it (`delivery-ready`,
//! `delivery-start`, `delivered` / `delivery-failed`) and says it on the status line. A
//! delivery never changes the run's outcome, and a failed one leaves the run branch as it is.

use crate::deliver::{self, DeliverError, Delivered, EndedRun, RecordedRemote, Settings, Step, UpcomingRun};
use crate::os::lock::PidLock;
use crate::plan::Delivery;
use crate::record::{DeliveredBy, DeliveryReady, DeliveryRecord, DeliveryStart, DeliveryStatus, DeliveryStepRecord, Event, History, Journal, Outcome, Recorder, RunDir};
use crate::run::error::Refused;
use crate::run::supervisor::Supervisor;
use crate::run::{EnvReader, TextSink};
use crate::secrets::Secrets;
use std::path::Path;

/// The delivery's preflight, before the run changes anything: the remote's URL recorded (the
/// end pushes there, whatever the config says by then), a dry-run push of the start commit to
/// the new branch, and an authenticated call to the forge. A failure refuses the run.
pub(super) async fn preflight(delivery: &Delivery, repo: &Path, branch: &str, env: &EnvReader, status: &TextSink) -> Result<(RecordedRemote, DeliveryReady), Refused> {
    let (start_branch, start_commit) = head_of(repo).map_err(Refused::Delivery)?;
    let remote = deliver::record_remote(repo, &delivery.push.remote).map_err(Refused::Delivery)?;
    status(&format!("night: delivery preflight: a dry-run push to `{}` ({}){}", remote.name, remote.display_url(), forge_words(delivery).map(|f| format!(" and {f}")).unwrap_or_default()));
    let lookup = |name: &str| env(name);
    let settings = Settings::from_lookup(&lookup);
    let upcoming = UpcomingRun { repo, branch, start_branch: &start_branch, start_commit: &start_commit, remote: &remote };
    let found = deliver::preflight(delivery, &upcoming, &lookup, &settings).await.map_err(Refused::Delivery)?;
    let ready = DeliveryReady { remote: remote.name.clone(), url: found.push_url, pull_request: forge_words(delivery), base: found.base };
    Ok((remote, ready))
}

/// The branch HEAD is on (empty when detached) and its commit.
fn head_of(repo: &Path) -> Result<(String, String), DeliverError> {
    let unreadable = |e: git2::Error| DeliverError::Repository { message: e.message().to_string() };
    let repository = git2::Repository::open(repo).map_err(unreadable)?;
    let head = repository.head().map_err(unreadable)?;
    let commit = head.peel_to_commit().map_err(unreadable)?.id().to_string();
    let branch = if head.is_branch() { head.shorthand().unwrap_or_default().to_string() } else { String::new() };
    Ok((branch, commit))
}

/// `github acme/app`, when the delivery opens a pull request.
fn forge_words(delivery: &Delivery) -> Option<String> {
    delivery.pull_request.as_ref().map(|pr| format!("{} {}", pr.forge, pr.repository))
}

/// The remote an ended run pushes to: the URL recorded when it started. The repository's
/// config is read again only for the credentials a URL may carry (the journal keeps none):
/// when its URL, credentials removed, is still the recorded one. A run journaled before
/// night recorded remotes (or by hand without a preflight) pushes to the remote as configured now.
fn remote_of(history: &History, repo: &Path, delivery: &Delivery) -> Result<RecordedRemote, DeliverError> {
    let now = deliver::record_remote(repo, &delivery.push.remote);
    match &history.delivery.ready {
        Some(ready) if ready.remote == delivery.push.remote => match now {
            Ok(now) if now.display_url() == ready.url => Ok(now),
            _ => RecordedRemote::new(&ready.remote, &ready.url),
        },
        _ => now,
    }
}

/// Deliver an ended run and record it: `delivery-start`, then `delivered` or
/// `delivery-failed`. `remote`: the one recorded at the start by this very supervisor, if any.
#[allow(clippy::too_many_arguments)]
async fn deliver_and_record(
    recorder: &mut Recorder,
    delivery: &Delivery,
    outcome: Outcome,
    by: DeliveredBy,
    remote: Option<RecordedRemote>,
    report: &str,
    env: &EnvReader,
    status: &TextSink,
) -> DeliveryRecord {
    let history = recorder.history().clone();
    let Some((start, _)) = &history.start else {
        let error = DeliveryStepRecord { error: Some("the journal has no `run-start`".into()), ..DeliveryStepRecord::of(DeliveryStatus::Failed) };
        return DeliveryRecord { outcome, by, push: error, pull_request: DeliveryStepRecord::of(DeliveryStatus::Skipped) };
    };
    let repo = Path::new(&start.repo);
    let remote = match remote.map_or_else(|| remote_of(&history, repo, delivery), Ok) {
        Ok(remote) => remote,
        Err(error) => {
            let record = failed_before_push(outcome, by, &error);
            recorder.record(Event::DeliveryFailed(record.clone()));
            say(status, &record, &start.run_id, &start.branch);
            return record;
        }
    };
    let pull_request = delivery.opens_on(outcome).then(|| forge_words(delivery)).flatten();
    status(&format!(
        "night: delivering: pushing `{}` to `{}` ({}){}",
        start.branch,
        remote.name,
        remote.display_url(),
        pull_request.as_ref().map(|f| format!(", then the pull request on {f}")).unwrap_or_default()
    ));
    recorder.record(Event::DeliveryStart(DeliveryStart { outcome, by, remote: remote.name.clone(), url: remote.display_url(), pull_request }));
    let lookup = |name: &str| env(name);
    let settings = Settings::from_lookup(&lookup);
    let ended = EndedRun {
        name: &start.name,
        id: &start.run_id,
        outcome,
        repo,
        branch: &start.branch,
        start_branch: start.original_branch.as_deref().unwrap_or_default(),
        start_commit: &start.start_commit,
        remote: &remote,
        pushed_before: history.delivery.pushed.as_deref(),
        report,
    };
    let delivered = deliver::deliver(delivery, &ended, &lookup, &settings).await;
    let record = record_of(&delivered, by);
    if record.is_complete() {
        recorder.record(Event::Delivered(record.clone()));
    } else {
        recorder.record(Event::DeliveryFailed(record.clone()));
    }
    say(status, &record, &start.run_id, &start.branch);
    record
}

/// A delivery that could not even start its push (the remote is gone from the config).
fn failed_before_push(outcome: Outcome, by: DeliveredBy, error: &DeliverError) -> DeliveryRecord {
    let push = DeliveryStepRecord { error: Some(error.to_string()), ..DeliveryStepRecord::of(DeliveryStatus::Failed) };
    let pull_request = DeliveryStepRecord { error: Some("the push failed".into()), ..DeliveryStepRecord::of(DeliveryStatus::Skipped) };
    DeliveryRecord { outcome, by, push, pull_request }
}

/// One line on the status: what was delivered, or what failed and how to try again.
fn say(status: &TextSink, record: &DeliveryRecord, run_id: &str, branch: &str) {
    let mut done = Vec::new();
    if record.push.status == DeliveryStatus::Done {
        done.push(format!("pushed `{branch}` to {}", record.push.url.as_deref().unwrap_or("the remote")));
    }
    if record.push.status == DeliveryStatus::NothingToDeliver {
        done.push(format!("nothing to deliver: `{branch}` is still at the start commit"));
    }
    if let Some(url) = record.pull_request_url() {
        let draft = if record.pull_request.draft { " (draft)" } else { "" };
        let verb = if record.pull_request.created { "opened" } else { "updated" };
        done.push(format!("pull request {verb}: {url}{draft}"));
    }
    if let Some(failure) = record.failure() {
        let kept = if done.is_empty() { String::new() } else { format!("{}; ", done.join("; ")) };
        status(&format!("night: delivery FAILED: {kept}{failure}; the work stays on `{branch}`; `night deliver {run_id}` tries again"));
    } else if !done.is_empty() {
        status(&format!("night: delivered: {}", done.join("; ")));
    }
}

/// The journal's record of what [`deliver::deliver`] did.
pub fn record_of(delivered: &Delivered, by: DeliveredBy) -> DeliveryRecord {
    let push = step_record(&delivered.push, |pushed, step| {
        step.url = Some(pushed.url.clone());
        step.branch = Some(pushed.branch.clone());
        step.commit = Some(pushed.commit.clone());
        step.tries = pushed.tries;
        step.notes.clone_from(&pushed.notes);
        if pushed.forced {
            step.notes.push("replaced what this run had pushed before".into());
        }
        if pushed.up_to_date {
            step.notes.push("the remote had this commit already".into());
        }
        step.notes.extend(pushed.attempt_refs.iter().map(|name| format!("`{name}` pushed")));
    });
    let pull_request = step_record(&delivered.pull_request, |opened, step| {
        step.url = Some(opened.url.clone());
        step.number = Some(opened.number);
        step.draft = opened.draft;
        step.created = opened.created;
        step.notes.clone_from(&opened.notes);
    });
    DeliveryRecord { outcome: delivered.outcome, by, push, pull_request }
}

fn step_record<T>(step: &Step<T>, done: impl FnOnce(&T, &mut DeliveryStepRecord)) -> DeliveryStepRecord {
    match step {
        Step::NotAsked => DeliveryStepRecord::of(DeliveryStatus::NotAsked),
        Step::NotDue => DeliveryStepRecord::of(DeliveryStatus::NotDue),
        Step::NothingToDeliver => DeliveryStepRecord::of(DeliveryStatus::NothingToDeliver),
        Step::Skipped { because } => DeliveryStepRecord { error: Some(because.clone()), ..DeliveryStepRecord::of(DeliveryStatus::Skipped) },
        Step::Failed { error, tries } => DeliveryStepRecord { error: Some(error.to_string()), tries: *tries, ..DeliveryStepRecord::of(DeliveryStatus::Failed) },
        Step::Done(value) => {
            let mut record = DeliveryStepRecord::of(DeliveryStatus::Done);
            done(value, &mut record);
            record
        }
    }
}

/// The report's first screen for the pull request's body, from the history so far.
fn first_screen(history: &History) -> String {
    crate::report::first_screen(&crate::report::ReportData::new(history, false))
}

impl Supervisor<'_> {
    /// Deliver the ended run when its outcome is one the `deliver` block acts on; otherwise
    /// say so in a note (`night deliver` can still do it by hand).
    pub(super) async fn deliver_work(&mut self, outcome: Outcome) -> Option<DeliveryRecord> {
        let plan = self.cx.plan;
        let delivery = plan.delivery.as_ref()?;
        if !delivery.pushes_on(outcome) {
            if Outcome::DELIVERABLE.contains(&outcome) {
                let on: Vec<&str> = delivery.push.on.iter().map(|o| o.name()).collect();
                let message = format!("not delivered: the run ended `{outcome}` and `deliver` acts on {}; `night deliver {}` delivers it by hand", on.join(", "), self.run_id());
                self.note("delivery", &message);
            }
            return None;
        }
        // The report as just written: the run folder's reading, the audit trail included.
        let report = match self.run_dir.load() {
            Ok(history) => first_screen(&history),
            Err(_) => first_screen(self.history()),
        };
        let remote = self.delivery_remote.take();
        let record = deliver_and_record(&mut self.recorder, delivery, outcome, DeliveredBy::Run, remote, &report, &self.cx.options.env, &self.cx.options.status).await;
        Some(record)
    }
}

/// `night deliver RUN`: deliver an ended run by hand, whatever its `on` says (a run whose
/// outcome was not delivered, or after a failure to deliver). The run's lock is held while
/// it delivers; the journal gets the same events as at a run's end, and the reports are
/// written again.
pub async fn deliver_ended(run_dir: &RunDir, delivery: &Delivery, env: EnvReader, status: TextSink, secrets: Secrets) -> Result<DeliveryRecord, Refused> {
    let lock: PidLock = run_dir.lock()?;
    let history = run_dir.load().map_err(|source| Refused::Journal { doing: "read", source })?;
    let Some((start, _)) = &history.start else { return Err(Refused::NeverStarted) };
    let Some(outcome) = history.outcome() else { return Err(Refused::NotEnded(start.run_id.clone())) };
    if !Outcome::DELIVERABLE.contains(&outcome) {
        return Err(Refused::NotDeliverable { run_id: start.run_id.clone(), outcome });
    }
    let journal = Journal::open(&run_dir.journal(), secrets.clone()).map_err(|source| Refused::Journal { doing: "open to append", source })?;
    let mut recorder = Recorder::new(journal, history);
    // By hand the user decides: this outcome is delivered as if `on` named it.
    let mut by_hand = delivery.clone();
    if !by_hand.push.on.contains(&outcome) {
        by_hand.push.on.push(outcome);
    }
    if let Some(pr) = by_hand.pull_request.as_mut() {
        if !pr.on.contains(&outcome) {
            pr.on.push(outcome);
        }
    }
    let report = first_screen(recorder.history());
    let record = deliver_and_record(&mut recorder, &by_hand, outcome, DeliveredBy::Hand, None, &report, &env, &status).await;
    let written = run_dir.load().and_then(|history| crate::report::write_reports(run_dir, &history, false, crate::report::Formats { html: run_dir.report(crate::record::ReportFile::Html).is_file() }, &secrets));
    if let Err(e) = written {
        status(&format!("night: cannot write the report {}: {e}", run_dir.report(crate::record::ReportFile::Markdown).display()));
    }
    drop(lock);
    Ok(record)
}
