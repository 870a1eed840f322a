//! The executor: the one place that changes AWS. It records the plan before acting, applies it
//! through the ports step by step (recording each step), resumes a half-done remediation on
//! redelivery, undoes a remediation exactly, and notifies.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::exposure::notification::remediation_notification;
use crate::exposure::plan::{
    plan_exposure_remediation, Action, Plan, RemediationRecord, RemediationStatus, StepRecord, StepStatus, Trigger,
};
use crate::exposure::ports::{AuditStore, RevokeResult, SecurityGroups};
use crate::exposure::{ExposureDefinition, IngressRule, PrefixLists, RuleContext, RuleSource};
use crate::notify::human_time;
use crate::ports::{ErrorKind, ExecutorError, Notifier};

/// The raw event is kept for audit, up to this size (DynamoDB items are ≤ 400 KB).
const MAX_STORED_EVENT_BYTES: usize = 64 * 1024;

/// Revocations per remediation record: with the raw event, well inside 400 KB.
pub const MAX_ACTIONS_PER_RECORD: usize = 400;

/// Parts of one remediation handled in one invocation (20 000 rules).
const MAX_PARTS: usize = 50;

/// Groups revoked at once. EC2 refills its mutating-call bucket at a few calls a second per
/// account, so a wider burst only buys throttling (which the SDK's adaptive retry absorbs).
const MAX_GROUPS_IN_FLIGHT: usize = 16;

/// Policy and mode for exposure remediation, from the typed config.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The sensitive ports and the share of the internet a group may let in on them.
    pub exposure: ExposureDefinition,
    pub dry_run: bool,
    /// How long a claimed remediation is protected from being taken over by a redelivery.
    pub lease: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedStep {
    pub group_id: String,
    pub rule_id: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoredRule {
    pub rule: IngressRule,
    pub new_rule_id: String,
}

/// What a report says happened: the record's status, or that the event needed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    Record(RemediationStatus),
    /// A well-formed event that needed nothing (a failed API call, a COMPLIANT verdict, …).
    Ignored,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Record(s) => s.as_str(),
            Self::Ignored => "ignored",
        }
    }
}

impl From<RemediationStatus> for ReportStatus {
    fn from(s: RemediationStatus) -> Self {
        Self::Record(s)
    }
}

impl Serialize for ReportStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

named_enum!(ReportStatus);

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Remediation,
    Undo,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remediation => "remediation",
            Self::Undo => "undo",
        }
    }
}

named_enum!(ReportKind);

/// What one invocation did: returned to the caller, notified, and turned into metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub kind: ReportKind,
    pub remediation_id: Option<String>,
    pub status: ReportStatus,
    /// This delivery found an earlier record of the same event (or undo) and changed nothing.
    pub duplicate: bool,
    pub summary: String,
    pub trigger: Option<String>,
    pub event_id: Option<String>,
    pub groups: Vec<String>,
    pub revoked: Vec<IngressRule>,
    pub already_absent: Vec<String>,
    pub would_revoke: Vec<IngressRule>,
    pub restored: Vec<RestoredRule>,
    pub failed: Vec<FailedStep>,
    pub exempted: Vec<String>,
    pub expired_exemptions: Vec<String>,
    pub rules_checked: usize,
    /// Further records of the same remediation when it was too large for one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<String>,
    pub notified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_error: Option<String>,
    pub duration_ms: u64,
}

impl Report {
    fn new(kind: ReportKind, status: ReportStatus) -> Self {
        Self {
            kind,
            remediation_id: None,
            status,
            duplicate: false,
            summary: String::new(),
            trigger: None,
            event_id: None,
            groups: Vec::new(),
            revoked: Vec::new(),
            already_absent: Vec::new(),
            would_revoke: Vec::new(),
            restored: Vec::new(),
            failed: Vec::new(),
            exempted: Vec::new(),
            expired_exemptions: Vec::new(),
            rules_checked: 0,
            parts: Vec::new(),
            notified: false,
            notify_error: None,
            duration_ms: 0,
        }
    }

    pub fn ignored(event_id: &str, reason: &str) -> Self {
        let mut r = Self::new(ReportKind::Remediation, ReportStatus::Ignored);
        r.event_id = Some(event_id.to_string());
        r.summary = format!("Nothing to do: {reason}.");
        r
    }

    /// Fold the next part of the same remediation into this report.
    fn absorb(&mut self, part: Report) {
        self.parts.extend(part.remediation_id.clone());
        self.duplicate &= part.duplicate;
        if part.status == ReportStatus::Record(RemediationStatus::Partial)
            || self.status == ReportStatus::Record(RemediationStatus::NoOp)
        {
            self.status = part.status;
        }
        self.revoked.extend(part.revoked);
        self.already_absent.extend(part.already_absent);
        self.would_revoke.extend(part.would_revoke);
        self.restored.extend(part.restored);
        self.failed.extend(part.failed);
        for g in part.groups {
            if !self.groups.contains(&g) {
                self.groups.push(g);
            }
        }
        self.notified &= part.notified;
        self.notify_error = self.notify_error.take().or(part.notify_error);
        self.summary = format!("{} (in {} parts)", summary_of(self), self.parts.len() + 1);
    }

    /// Work is left that a redelivery of the same event would finish: the caller should fail
    /// the invocation so Lambda (or EventBridge) delivers it again.
    pub fn needs_retry(&self) -> bool {
        !self.failed.is_empty() || self.notify_error.is_some()
    }

    fn from_plan(record: &RemediationRecord) -> Self {
        let plan = &record.plan;
        let mut r = Self::new(ReportKind::Remediation, record.status.into());
        r.remediation_id = Some(record.id.clone());
        r.trigger = Some(plan.trigger.describe());
        r.event_id = Some(plan.trigger.event_id.clone());
        r.rules_checked = plan.rules_checked;
        let mut groups: Vec<String> = plan.revocations().map(|x| x.group_id.clone()).collect();
        groups.extend(plan.exempted.iter().map(|e| e.rule.group_id.clone()));
        if groups.is_empty() {
            groups = plan.trigger.scope().map(<[String]>::to_vec).unwrap_or_default();
        }
        groups.sort();
        groups.dedup();
        r.groups = groups;
        r.exempted = plan
            .exempted
            .iter()
            .map(|e| {
                format!(
                    "{} {}: {} — exempt until {} (granted by {}: {})",
                    e.rule.group_id,
                    e.rule.rule_id,
                    e.reason,
                    human_time(e.exemption.expires_at),
                    e.exemption.granted_by,
                    e.exemption.reason
                )
            })
            .collect();
        r.expired_exemptions = plan
            .expired_exemptions_ignored
            .iter()
            .map(|e| format!("{} expired {} (granted by {})", e.target_label(), human_time(e.expires_at), e.granted_by))
            .collect();
        r.expired_exemptions.extend(plan.stale_exemptions_ignored.iter().map(|e| {
            format!(
                "{} no longer matches: the rule was changed since it was exempted, or exposes other ports (granted by {})",
                e.target_label(),
                e.granted_by
            )
        }));
        r
    }
}

/// What follows a part of a remediation.
enum NextPart {
    None,
    /// The part was on record: the next one reads what is left.
    Read,
    /// The rest of this delivery's plan.
    Planned(Box<Plan>),
}

impl NextPart {
    fn after_record(existing: &RemediationRecord) -> Self {
        if existing.plan.left_for_next_part > 0 && !existing.dry_run {
            Self::Read
        } else {
            Self::None
        }
    }
}

pub struct Executor<G, S, N> {
    pub groups: G,
    pub store: S,
    pub notifier: N,
    pub settings: Settings,
}

impl<G: SecurityGroups, S: AuditStore, N: Notifier> Executor<G, S, N> {
    pub fn new(groups: G, store: S, notifier: N, settings: Settings) -> Self {
        Self { groups, store, notifier, settings }
    }

    /// Plan, record, apply and notify the remediation for one trigger. A redelivered event finds
    /// its earlier record: finished work is not repeated, unfinished work is resumed.
    pub async fn remediate(
        &self,
        trigger: Trigger,
        raw_event: &str,
        now: DateTime<Utc>,
    ) -> Result<Report, ExecutorError> {
        // A record holds at most MAX_ACTIONS_PER_RECORD revocations (DynamoDB items are
        // ≤ 400 KB): a larger exposure is remediated in parts, each its own record.
        // The whole exposure is read and planned once; each later part takes the rest of that
        // plan, or reads again after a part that was already on record.
        let started = Instant::now();
        let mut combined: Option<Report> = None;
        let mut planned: Option<Plan> = None;
        for part in 0..MAX_PARTS {
            let (report, next) = self.remediate_part(&trigger, part, planned.take(), raw_event, now).await?;
            combined = Some(match combined {
                None => report,
                Some(mut all) => {
                    all.absorb(report);
                    all
                }
            });
            match next {
                NextPart::None => break,
                NextPart::Read => {}
                NextPart::Planned(rest) => planned = Some(*rest),
            }
        }
        let mut report = combined.expect("at least one part");
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// One part of a remediation, planned already (the rest of the part before) or not.
    async fn remediate_part(
        &self,
        trigger: &Trigger,
        part: usize,
        planned: Option<Plan>,
        raw_event: &str,
        now: DateTime<Utc>,
    ) -> Result<(Report, NextPart), ExecutorError> {
        let started = Instant::now();
        let id = match part {
            0 => trigger.remediation_id(),
            n => format!("{}-part{}", trigger.remediation_id(), n + 1),
        };
        let mut plan = match planned {
            Some(plan) => plan,
            None => match self.read_and_plan(&id, trigger, now).await? {
                Ok(plan) => plan,
                // A redelivery of an event already on record never re-plans: it reports or resumes.
                Err(existing) => {
                    let next = NextPart::after_record(&existing);
                    return Ok((self.redelivered(existing, now, started).await?, next));
                }
            },
        };
        let rest = plan.split_off(MAX_ACTIONS_PER_RECORD);
        // A dry run changes nothing, so a next part would plan the same rules again.
        let next = match rest {
            Some(rest) if !self.settings.dry_run => NextPart::Planned(Box::new(rest)),
            _ => NextPart::None,
        };

        let status = if plan.is_empty() {
            RemediationStatus::NoOp
        } else if self.settings.dry_run {
            RemediationStatus::DryRun
        } else {
            RemediationStatus::Executing
        };
        let record = RemediationRecord {
            id: id.clone(),
            status,
            plan,
            event: truncate_event(raw_event),
            dry_run: self.settings.dry_run,
            created_at: now,
            updated_at: now,
            lease_until: (status == RemediationStatus::Executing).then(|| now + self.settings.lease),
            notified: false,
            undo_requested_by: None,
        };
        if let Some(existing) = self.store.create_remediation(&record).await? {
            // Lost a race with a concurrent delivery of the same event.
            let next = NextPart::after_record(&existing);
            return Ok((self.redelivered(existing, now, started).await?, next));
        }
        tracing::info!(remediation_id = %id, status = status.as_str(), actions = record.plan.actions.len(), "plan recorded");

        let mut report = Report::from_plan(&record);
        match status {
            RemediationStatus::NoOp => {
                report.summary = no_op_summary(&record.plan);
            }
            RemediationStatus::DryRun => {
                report.would_revoke = record.plan.revocations().cloned().collect();
                report.summary = format!(
                    "DRY RUN: {} world-open rule(s) would be revoked; nothing was changed.",
                    report.would_revoke.len()
                );
                if record.plan.left_for_next_part > 0 {
                    report.summary.push_str(&format!(" ({} more not listed.)", record.plan.left_for_next_part));
                }
                self.notify(&mut report, &id).await;
            }
            _ => {
                self.apply(&record, &[], false, &mut report, now).await?;
                self.notify(&mut report, &id).await;
            }
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok((report, next))
    }

    /// Every read in one round trip: the record (`Err` when it exists: a redelivery), the rules,
    /// the interfaces that carry several groups (theirs count together), and the exemptions.
    /// Then the plan of the whole exposure.
    async fn read_and_plan(
        &self,
        id: &str,
        trigger: &Trigger,
        now: DateTime<Utc>,
    ) -> Result<Result<Plan, RemediationRecord>, ExecutorError> {
        let scope = trigger.scope();
        let (existing, rules, shared_interfaces, exemptions) = tokio::join!(
            self.store.remediation(id),
            self.groups.ingress_rules(scope),
            self.groups.shared_interfaces(scope),
            self.store.exemptions(),
        );
        if let Some(existing) = existing? {
            return Ok(Err(existing));
        }
        let (mut rules, shared_interfaces, exemptions) = (rules?, shared_interfaces?, exemptions?);
        // Rarely needed, so one more round trip each when they are: the other groups of a shared
        // interface, and the entries of the prefix lists on sensitive ports.
        if let Some(scope) = scope {
            let mut beside: Vec<String> = shared_interfaces
                .iter()
                .flat_map(|i| i.group_ids.iter())
                .filter(|g| !scope.contains(g))
                .cloned()
                .collect();
            beside.sort_unstable();
            beside.dedup();
            if !beside.is_empty() {
                rules.extend(self.groups.ingress_rules(Some(&beside)).await?);
            }
        }
        // Only a list behind a rule on a sensitive port can make an exposure.
        let mut list_ids: Vec<String> = rules
            .iter()
            .filter(|r| self.settings.exposure.concerns(r))
            .filter_map(|r| match &r.source {
                RuleSource::PrefixList(id) => Some(id.clone()),
                _ => None,
            })
            .collect();
        list_ids.sort_unstable();
        list_ids.dedup();
        let prefix_lists =
            if list_ids.is_empty() { PrefixLists::new() } else { self.groups.prefix_lists(&list_ids).await? };
        let context = RuleContext { prefix_lists, shared_interfaces };
        Ok(Ok(plan_exposure_remediation(trigger.clone(), &rules, &context, &exemptions, &self.settings.exposure, now)))
    }

    async fn redelivered(
        &self,
        existing: RemediationRecord,
        now: DateTime<Utc>,
        started: Instant,
    ) -> Result<Report, ExecutorError> {
        let id = existing.id.clone();
        let resumable = existing.status == RemediationStatus::Partial
            || (existing.status == RemediationStatus::Executing && existing.lease_until.is_none_or(|l| l <= now));
        let mut report = Report::from_plan(&existing);
        if resumable
            && self
                .store
                .claim(
                    &id,
                    &[RemediationStatus::Executing, RemediationStatus::Partial],
                    RemediationStatus::Executing,
                    now,
                    now + self.settings.lease,
                    None,
                )
                .await?
        {
            tracing::warn!(remediation_id = %id, was = existing.status.as_str(), "resuming a remediation left unfinished");
            let done = self.store.steps(&id, false).await?;
            self.apply(&existing, &done, true, &mut report, now).await?;
            report.summary = format!("Resumed: {}", report.summary);
            self.notify(&mut report, &id).await;
        } else {
            report.duplicate = true;
            report.summary = format!(
                "Duplicate delivery of event {}: remediation {id} is already on record as {}; nothing changed.",
                existing.plan.trigger.event_id,
                existing.status.as_str()
            );
            // The earlier delivery may have finished its work but failed to notify.
            let finished_with_news =
                matches!(existing.status, RemediationStatus::Completed | RemediationStatus::DryRun);
            if finished_with_news && !existing.notified {
                let mut full = Report::from_plan(&existing);
                for step in self.store.steps(&id, false).await? {
                    let Action::RevokeIngressRule { rule, .. } = step.action;
                    if step.status == StepStatus::Done {
                        full.revoked.push(rule);
                    }
                }
                if existing.status == RemediationStatus::DryRun {
                    full.would_revoke = existing.plan.revocations().cloned().collect();
                }
                full.summary = format!("(Re-sent: the first notification failed.) {}", summary_of(&full));
                self.notify(&mut full, &id).await;
                report.notified = full.notified;
                report.notify_error = full.notify_error;
            }
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// Apply the plan's revocations that are not done yet: every group at once (a bounded
    /// number in flight), one call per group, then every outcome in one write.
    ///
    /// The record, written with its plan before this runs, is the write-ahead entry for every
    /// revocation in it: on a `resumed` run, a planned rule with no outcome on record may have
    /// been revoked by the run that stopped, so finding it gone counts as ours.
    async fn apply(
        &self,
        record: &RemediationRecord,
        earlier: &[StepRecord],
        resumed: bool,
        report: &mut Report,
        now: DateTime<Utc>,
    ) -> Result<(), ExecutorError> {
        let earlier: BTreeMap<usize, &StepRecord> = earlier.iter().map(|s| (s.index, s)).collect();
        let mut by_group: BTreeMap<&str, Vec<(usize, &IngressRule)>> = BTreeMap::new();
        for (index, action) in record.plan.actions.iter().enumerate() {
            let Action::RevokeIngressRule { rule, .. } = action;
            match earlier.get(&index).map(|s| s.status) {
                Some(StepStatus::Done) => report.revoked.push(rule.clone()),
                Some(StepStatus::AlreadyAbsent) => report.already_absent.push(rule.rule_id.clone()),
                _ => by_group.entry(rule.group_id.as_str()).or_default().push((index, rule)),
            }
        }

        let revokes = by_group.into_iter().map(|(group_id, pending)| async move {
            let rule_ids: Vec<String> = pending.iter().map(|(_, r)| r.rule_id.clone()).collect();
            let results = self.groups.revoke_ingress(group_id, &rule_ids).await;
            (group_id, pending, results)
        });
        let mut revoked: Vec<_> = stream::iter(revokes).buffer_unordered(MAX_GROUPS_IN_FLIGHT).collect().await;
        revoked.sort_by_key(|(group_id, _, _)| *group_id);

        let mut outcomes = Vec::new();
        for (group_id, pending, results) in revoked {
            for ((index, rule), result) in pending.iter().zip(results) {
                // A rule we had started on and now find absent was revoked by our own earlier call.
                let was_started = earlier.get(index).map_or(resumed, |s| s.status == StepStatus::Started);
                let (status, error) = match result {
                    RevokeResult::Revoked => (StepStatus::Done, None),
                    RevokeResult::AlreadyAbsent if was_started => (StepStatus::Done, None),
                    RevokeResult::AlreadyAbsent => (StepStatus::AlreadyAbsent, None),
                    RevokeResult::Failed(e) => (StepStatus::Failed, Some(e.to_string())),
                };
                match status {
                    StepStatus::Done => report.revoked.push((*rule).clone()),
                    StepStatus::AlreadyAbsent => report.already_absent.push(rule.rule_id.clone()),
                    _ => report.failed.push(FailedStep {
                        group_id: group_id.to_string(),
                        rule_id: rule.rule_id.clone(),
                        error: error.clone().unwrap_or_default(),
                    }),
                }
                tracing::info!(remediation_id = %record.id, group_id, step = *index, status = ?status, "revoke step");
                outcomes.push(step(*index, &record.plan.actions[*index], status, error, now));
            }
        }
        self.store.put_steps(&record.id, false, &outcomes).await?;

        let status = if report.failed.is_empty() { RemediationStatus::Completed } else { RemediationStatus::Partial };
        self.store.finish(&record.id, status, now).await?;
        report.status = status.into();
        report.summary = summary_of(report);
        Ok(())
    }

    /// Restore exactly the rules a remediation revoked. Idempotent: an undo already done is
    /// reported, a partial undo is retried for what is left.
    pub async fn undo(&self, id: &str, requested_by: &str, now: DateTime<Utc>) -> Result<Report, ExecutorError> {
        let started = Instant::now();
        let record =
            self.store.remediation(id).await?.ok_or_else(|| ExecutorError::UnknownRemediation(id.to_string()))?;
        let mut report = Report::from_plan(&record);
        report.kind = ReportKind::Undo;

        match record.status {
            RemediationStatus::Undone => {
                report.duplicate = true;
                report.summary = format!(
                    "Remediation {id} was already undone (by {}); nothing changed.",
                    record.undo_requested_by.as_deref().unwrap_or("unknown")
                );
                report.duration_ms = started.elapsed().as_millis() as u64;
                return Ok(report);
            }
            RemediationStatus::NoOp | RemediationStatus::DryRun => {
                return Err(ExecutorError::NotUndoable {
                    id: id.to_string(),
                    status: record.status.as_str(),
                    hint: ": it changed nothing",
                })
            }
            RemediationStatus::Executing => {
                if record.lease_until.is_some_and(|l| l > now) {
                    return Err(ExecutorError::Busy(id.to_string()));
                }
                return Err(ExecutorError::NotUndoable {
                    id: id.to_string(),
                    status: record.status.as_str(),
                    hint: ": it did not finish; redeliver its event to resume it first",
                });
            }
            RemediationStatus::Undoing if record.lease_until.is_some_and(|l| l > now) => {
                return Err(ExecutorError::Busy(id.to_string()))
            }
            _ => {}
        }
        let claimable = [
            RemediationStatus::Completed,
            RemediationStatus::Partial,
            RemediationStatus::UndoPartial,
            RemediationStatus::Undoing,
        ];
        if !self
            .store
            .claim(id, &claimable, RemediationStatus::Undoing, now, now + self.settings.lease, Some(requested_by))
            .await?
        {
            return Err(ExecutorError::Busy(id.to_string()));
        }

        let revoked = self.store.steps(id, false).await?;
        let undone: BTreeMap<usize, StepRecord> =
            self.store.steps(id, true).await?.into_iter().map(|s| (s.index, s)).collect();
        let mut outcomes = Vec::new();
        for s in revoked.iter().filter(|s| matches!(s.status, StepStatus::Done | StepStatus::Started)) {
            let Action::RevokeIngressRule { rule, .. } = &s.action;
            if let Some(prev) =
                undone.get(&s.index).filter(|u| matches!(u.status, StepStatus::Restored | StepStatus::AlreadyPresent))
            {
                report.restored.push(RestoredRule {
                    rule: rule.clone(),
                    new_rule_id: prev.restored_rule_id.clone().unwrap_or_else(|| "already present".into()),
                });
                continue;
            }
            let mut out = step(s.index, &s.action, StepStatus::Restored, None, now);
            match self.groups.restore_ingress(rule).await {
                Ok(new_id) => {
                    out.restored_rule_id = Some(new_id.clone());
                    report.restored.push(RestoredRule { rule: rule.clone(), new_rule_id: new_id });
                }
                Err(e) if e.kind == ErrorKind::AlreadyExists => {
                    out.status = StepStatus::AlreadyPresent;
                    report.restored.push(RestoredRule { rule: rule.clone(), new_rule_id: "already present".into() });
                }
                Err(e) => {
                    out.status = StepStatus::RestoreFailed;
                    out.error = Some(e.to_string());
                    report.failed.push(FailedStep {
                        group_id: rule.group_id.clone(),
                        rule_id: rule.rule_id.clone(),
                        error: e.to_string(),
                    });
                }
            }
            tracing::info!(remediation_id = id, rule_id = %rule.rule_id, status = ?out.status, "undo step");
            outcomes.push(out);
        }
        self.store.put_steps(id, true, &outcomes).await?;
        let status = if report.failed.is_empty() { RemediationStatus::Undone } else { RemediationStatus::UndoPartial };
        self.store.finish(id, status, now).await?;
        report.status = status.into();
        report.summary = format!(
            "Undo of {id} requested by {requested_by}: {} rule(s) restored{}.",
            report.restored.len(),
            if report.failed.is_empty() {
                String::new()
            } else {
                format!(", {} failed (run the undo again to retry)", report.failed.len())
            }
        );
        self.notify(&mut report, id).await;
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// Notification failures never undo the work: they are recorded and retried on redelivery.
    async fn notify(&self, report: &mut Report, id: &str) {
        let notification = remediation_notification(report);
        match self.notifier.notify(&notification).await {
            Ok(()) => {
                report.notified = true;
                if let Err(e) = self.store.mark_notified(id).await {
                    tracing::warn!(remediation_id = id, error = %e, "notified, but could not record it");
                }
            }
            Err(e) => {
                tracing::error!(remediation_id = id, error = %e, "notification failed");
                report.notify_error = Some(e.to_string());
            }
        }
    }
}

fn step(index: usize, action: &Action, status: StepStatus, error: Option<String>, now: DateTime<Utc>) -> StepRecord {
    StepRecord { index, action: action.clone(), status, error, restored_rule_id: None, at: now }
}

fn summary_of(report: &Report) -> String {
    let mut s = format!("Revoked {} world-open ingress rule(s)", report.revoked.len());
    if !report.groups.is_empty() {
        s.push_str(&format!(" on {}", report.groups.join(", ")));
    }
    s.push('.');
    if !report.already_absent.is_empty() {
        s.push_str(&format!(" {} were already gone.", report.already_absent.len()));
    }
    if !report.failed.is_empty() {
        s.push_str(&format!(" {} FAILED and will be retried.", report.failed.len()));
    }
    if !report.exempted.is_empty() {
        s.push_str(&format!(" {} left in place under an exemption.", report.exempted.len()));
    }
    s
}

fn no_op_summary(plan: &Plan) -> String {
    let mut s = format!(
        "No world-open rule on sensitive ports: checked {} rule(s) in {} group(s).",
        plan.rules_checked, plan.groups_checked
    );
    if plan.groups_checked == 0 {
        if let Some(scope) = plan.trigger.scope() {
            s = format!("Nothing to check: {} not found (deleted, or in another account or region).", scope.join(", "));
        }
    }
    if !plan.exempted.is_empty() {
        s.push_str(&format!(" {} exempt rule(s) left in place.", plan.exempted.len()));
    }
    s
}

fn truncate_event(raw: &str) -> String {
    if raw.len() <= MAX_STORED_EVENT_BYTES {
        return raw.to_string();
    }
    let mut end = MAX_STORED_EVENT_BYTES;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[truncated from {} bytes]", &raw[..end], raw.len())
}

#[cfg(test)]
mod tests;
