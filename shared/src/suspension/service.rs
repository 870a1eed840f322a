//! Acting on abuse alarms: suspend the caller (recorded, notified, with links to lift or extend
//! it), escalate repeated suspensions to a request to revoke the caller's access, ask to tighten
//! the fleet's limits on a fleet-wide alarm — and carry out what a human approved. Every change
//! is recorded on the suspension; a replayed alarm changes nothing.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use crate::approval::flow::Approvals;
use crate::approval::ports::{ActionRunner, ApprovalStore};
use crate::approval::ApprovalAction;
use crate::notify::{clean_subject, human_time, Notification};
use crate::ports::{Notifier, PortResult};
use crate::suspension::ports::{ApiKeys, SuspensionStore};
use crate::suspension::{
    plan_suspension, ActiveSuspension, CallerAlarm, FleetLimits, SuspensionPlan, SuspensionPolicy, SuspensionRecord,
    SuspensionStatus,
};

/// How far back the validator's offence counters must agree with a per-caller alarm.
const CORROBORATION_HOURS: i64 = 2;

/// How long a suspension lasts when access is revoked: until a human lifts it.
const REVOKED_YEARS: i64 = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuspensionReport {
    pub kind: &'static str,
    pub caller: Option<String>,
    pub suspension_id: Option<String>,
    pub until: Option<DateTime<Utc>>,
    pub duplicate: bool,
    pub escalated: bool,
    pub approval_requests: Vec<String>,
    pub top_callers: Vec<(String, u64)>,
    pub summary: String,
}

pub struct SuspensionService<S, K, N> {
    pub store: S,
    pub keys: K,
    pub notifier: N,
    pub policy: SuspensionPolicy,
}

impl<S: SuspensionStore, K: ApiKeys, N: Notifier> SuspensionService<S, K, N> {
    pub fn new(store: S, keys: K, notifier: N, policy: SuspensionPolicy) -> Self {
        Self { store, keys, notifier, policy }
    }

    pub async fn handle_alarm<A: ApprovalStore, AN: Notifier>(
        &self,
        alarm: &CallerAlarm,
        approvals: &Approvals<A, AN>,
        now: DateTime<Utc>,
    ) -> PortResult<SuspensionReport> {
        if let Some(caller) = &alarm.caller {
            // The alarm must agree with what the validator itself counted.
            let counted = self.store.offences_of(caller, CORROBORATION_HOURS, now).await?;
            if counted < self.policy.corroborating_offences {
                return self.uncorroborated(alarm, caller, counted).await;
            }
        }
        let recent = match &alarm.caller {
            Some(c) => self.store.suspensions_of(c, now - Duration::hours(self.policy.repeat_window_hours)).await?,
            None => Vec::new(),
        };
        match plan_suspension(alarm, &recent, &self.policy, now) {
            SuspensionPlan::Suspend { record, escalate, recent } => {
                self.suspend(record, escalate, recent, approvals, now).await
            }
            SuspensionPlan::Fleet { factor, until } => self.ask_to_tighten(alarm, factor, until, approvals, now).await,
        }
    }

    /// An alarm about a caller the validator did not see misbehave: recorded in the log and
    /// notified, nobody suspended.
    async fn uncorroborated(&self, alarm: &CallerAlarm, caller: &str, counted: u64) -> PortResult<SuspensionReport> {
        let summary = format!(
            "not suspended: alarm {} names {caller}, but the validator refused only {counted} of its requests in the \
             last {CORROBORATION_HOURS} h (at least {} needed). Check who created or changed the alarm or published \
             to its metric",
            alarm.alarm_name, self.policy.corroborating_offences
        );
        tracing::warn!(caller, alarm = %alarm.alarm_name, counted, "SECURITY_WARNING uncorroborated abuse alarm");
        self.notifier
            .notify(&Notification {
                subject: clean_subject(&format!("[Warden] Not suspended: {caller} (alarm not corroborated)")),
                text: format!("{summary}.\n"),
                facts: json!({"kind": "uncorroborated_alarm", "caller": caller, "alarm": alarm.alarm_name,
                    "offences_counted": counted, "needed": self.policy.corroborating_offences}),
                attributes: [
                    ("kind".to_string(), "suspension".to_string()),
                    ("caller".to_string(), caller.to_string()),
                ]
                .into_iter()
                .collect(),
            })
            .await?;
        Ok(SuspensionReport {
            kind: "uncorroborated",
            caller: Some(caller.to_string()),
            suspension_id: None,
            until: None,
            duplicate: false,
            escalated: false,
            approval_requests: Vec::new(),
            top_callers: Vec::new(),
            summary,
        })
    }

    async fn suspend<A: ApprovalStore, AN: Notifier>(
        &self,
        record: SuspensionRecord,
        escalate: bool,
        recent: usize,
        approvals: &Approvals<A, AN>,
        now: DateTime<Utc>,
    ) -> PortResult<SuspensionReport> {
        if let Some(existing) = self.store.create_suspension(&record).await? {
            // A replay: put it in force again if a crash came between the two writes; no email.
            if existing.status == SuspensionStatus::Active && existing.until > now {
                self.store.activate(&active_of(&existing)).await?;
            }
            return Ok(SuspensionReport {
                kind: "suspension",
                caller: Some(existing.caller.clone()),
                suspension_id: Some(existing.id.clone()),
                until: Some(existing.until),
                duplicate: true,
                escalated: false,
                approval_requests: Vec::new(),
                top_callers: Vec::new(),
                summary: format!("already handled: {} suspended until {}", existing.caller, human_time(existing.until)),
            });
        }
        self.store.activate(&active_of(&record)).await?;
        let lift = ApprovalAction::LiftSuspension { caller: record.caller.clone(), suspension_id: record.id.clone() };
        let extend = ApprovalAction::ExtendSuspension {
            caller: record.caller.clone(),
            suspension_id: record.id.clone(),
            hours: 24,
        };
        let why = record.reason.clone();
        let (lift_req, lift_link, _) = approvals
            .prepare(
                lift,
                vec![format!("Let {} call the LLM API again at once", record.caller)],
                why.clone(),
                &record.by,
                now,
            )
            .await?;
        let (extend_req, extend_link, _) = approvals
            .prepare(
                extend,
                vec![format!("Keep {} suspended 24 hours longer", record.caller)],
                why.clone(),
                &record.by,
                now,
            )
            .await?;
        let mut requests = vec![lift_req.id.clone(), extend_req.id.clone()];
        let mut escalation = String::new();
        if escalate {
            let action =
                ApprovalAction::RevokeAccess { caller: record.caller.clone(), suspension_id: record.id.clone() };
            let key = record.caller.strip_prefix("apikey:");
            let mut will_do = vec![format!("Keep {} suspended until someone lifts it", record.caller)];
            if let Some(k) = key {
                will_do.push(format!("Disable API key {k} in API Gateway"));
            }
            let why = format!(
                "{} — its suspension number {recent} within {} h",
                record.reason, self.policy.repeat_window_hours
            );
            let req = approvals.request(action, will_do, why, &record.by, now).await?;
            escalation = format!(
                "\nThis is suspension number {recent} of {} within {} h: revoking its access was requested (approval {}).\n",
                record.caller, self.policy.repeat_window_hours, req.id
            );
            requests.push(req.id);
        }
        let text = format!(
            "Warden suspended {caller} on the LLM API until {until}.\n\nWhy:\n  {why}\n\n\
             The request validator refuses this caller (403 caller_suspended) within seconds.\n{escalation}\n\
             Lift it now:            {lift_link}\n\
             Keep it 24 h longer:    {extend_link}\n\n\
             The links open a confirmation page; nothing happens until you press a button there.\n\
             Or: warden suspension lift {caller} --by <you>\nSuspension id: {id}\n",
            caller = record.caller,
            until = human_time(record.until),
            id = record.id,
        );
        self.notifier
            .notify(&Notification {
                subject: clean_subject(&format!("[Warden] Suspended {} on the LLM API", record.caller)),
                text,
                facts: json!({"kind": "suspension", "suspension": record, "approval_requests": requests, "escalated": escalate}),
                attributes: [("kind".to_string(), "suspension".to_string()), ("caller".to_string(), record.caller.clone())]
                    .into_iter()
                    .collect(),
            })
            .await?;
        tracing::warn!(caller = %record.caller, until = %record.until, suspension = %record.id, escalated = escalate, "SECURITY_WARNING caller suspended");
        Ok(SuspensionReport {
            kind: "suspension",
            caller: Some(record.caller.clone()),
            suspension_id: Some(record.id.clone()),
            until: Some(record.until),
            duplicate: false,
            escalated: escalate,
            approval_requests: requests,
            top_callers: Vec::new(),
            summary: format!(
                "{} suspended until {}{}",
                record.caller,
                human_time(record.until),
                if escalate { "; revocation requested" } else { "" }
            ),
        })
    }

    async fn ask_to_tighten<A: ApprovalStore, AN: Notifier>(
        &self,
        alarm: &CallerAlarm,
        factor: f64,
        until: DateTime<Utc>,
        approvals: &Approvals<A, AN>,
        now: DateTime<Utc>,
    ) -> PortResult<SuspensionReport> {
        let top = self.store.top_offenders(2, now, self.policy.top_callers).await?;
        let percent = (factor * 100.0).round() as u32;
        let hours = (until - now).num_hours().max(1);
        let names: Vec<String> = top.iter().map(|(c, n)| format!("{c} ({n})")).collect();
        let action = ApprovalAction::TightenLimits {
            alarm_event: alarm.event_id.clone(),
            percent,
            hours,
            top_callers: top.iter().map(|(c, _)| c.clone()).collect(),
        };
        let why = format!(
            "{} across the whole LLM API set off alarm {}{}. Top offenders in the last 2 h: {}.",
            alarm.metric.describe(),
            alarm.alarm_name,
            alarm.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
            if names.is_empty() { "none recorded".to_string() } else { names.join(", ") }
        );
        let will_do = vec![
            format!("Cut every caller's request and token quotas to {percent}% for {hours} h"),
            "Suspend no one: suspend the top offenders one by one if they are abusive".to_string(),
        ];
        let req = approvals.request(action, will_do, why.clone(), "warden remediator", now).await?;
        Ok(SuspensionReport {
            kind: "fleet_alarm",
            caller: None,
            suspension_id: None,
            until: None,
            duplicate: req.created_at < now,
            escalated: true,
            approval_requests: vec![req.id],
            top_callers: top,
            summary: format!("asked to cut every caller's quotas to {percent}% for {hours} h: {why}"),
        })
    }

    /// Lift every suspension of a caller: `warden suspension lift`, an operator with credentials
    /// (an approved link lifts only its own: [`Self::lift_one`]).
    pub async fn lift(&self, caller: &str, by: &str, now: DateTime<Utc>) -> PortResult<String> {
        let was = self.store.deactivate(caller).await?;
        let mut lifted = Vec::new();
        for mut r in self.store.suspensions_of(caller, now - Duration::days(30)).await? {
            if r.status == SuspensionStatus::Active {
                r.status = SuspensionStatus::Lifted;
                r.history.push(format!("{} lifted by {by}", now.to_rfc3339()));
                self.store.save_suspension(&r).await?;
                lifted.push(r.id);
            }
        }
        let summary = if was || !lifted.is_empty() {
            format!("{caller} may call the LLM API again (lifted by {by})")
        } else {
            format!("{caller} was not suspended; nothing changed")
        };
        self.notify_change(caller, &summary).await?;
        Ok(summary)
    }

    /// An approved "lift" link: it lifts the suspension it was sent for and nothing else, and
    /// only while that one is in force — an old link cannot lift a later suspension (a later
    /// alarm, or an approved revocation of access).
    pub async fn lift_one(
        &self,
        caller: &str,
        suspension_id: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        let restrictions = self.store.restrictions().await.map_err(|e| e.to_string())?;
        let active = match restrictions.suspension_of(caller, now) {
            None => return Ok(format!("{caller} is not suspended; nothing changed")),
            Some(a) if a.suspension_id != suspension_id => {
                return Err(format!(
                    "this link lifts suspension {suspension_id}, but the one in force for {caller} is {} \
                     (until {}): nothing changed. Use that suspension's own link, or `warden suspension lift`",
                    a.suspension_id,
                    human_time(a.until)
                ))
            }
            Some(a) => a.clone(),
        };
        if !self.store.deactivate_exactly(&active).await.map_err(|e| e.to_string())? {
            return Err(format!(
                "suspension {suspension_id} of {caller} changed while it was being lifted (extended or replaced): \
                 nothing changed"
            ));
        }
        if let Some(mut r) = self.store.suspension(suspension_id).await.map_err(|e| e.to_string())? {
            r.status = SuspensionStatus::Lifted;
            r.history.push(format!("{} lifted by {by}", now.to_rfc3339()));
            self.store.save_suspension(&r).await.map_err(|e| e.to_string())?;
        }
        let summary = format!("{caller} may call the LLM API again (suspension {suspension_id} lifted by {by})");
        self.notify_change(caller, &summary).await.map_err(|e| e.to_string())?;
        Ok(summary)
    }

    /// Keep a caller suspended `hours` longer than now or than its current end.
    pub async fn extend(
        &self,
        caller: &str,
        suspension_id: &str,
        hours: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> PortResult<String> {
        let current = self.store.restrictions().await?.suspension_of(caller, now).map(|s| s.until);
        let until = current.unwrap_or(now) + Duration::hours(hours);
        let mut record = self.store.suspension(suspension_id).await?;
        let reason = record.as_ref().map_or_else(|| "extended".to_string(), |r| r.reason.clone());
        self.store
            .activate(&ActiveSuspension { caller: caller.into(), until, reason, suspension_id: suspension_id.into() })
            .await?;
        if let Some(r) = record.as_mut() {
            r.until = until;
            r.status = SuspensionStatus::Active;
            r.history.push(format!("{} extended to {} by {by}", now.to_rfc3339(), until.to_rfc3339()));
            self.store.save_suspension(r).await?;
        }
        let summary = format!("{caller} stays suspended until {} (extended by {by})", human_time(until));
        self.notify_change(caller, &summary).await?;
        Ok(summary)
    }

    async fn notify_change(&self, caller: &str, summary: &str) -> PortResult<()> {
        self.notifier
            .notify(&Notification {
                subject: clean_subject(&format!("[Warden] {summary}")),
                text: format!("{summary}.\n"),
                facts: json!({"kind": "suspension_change", "caller": caller, "summary": summary}),
                attributes: [
                    ("kind".to_string(), "suspension".to_string()),
                    ("caller".to_string(), caller.to_string()),
                ]
                .into_iter()
                .collect(),
            })
            .await
    }
}

fn active_of(r: &SuspensionRecord) -> ActiveSuspension {
    ActiveSuspension { caller: r.caller.clone(), until: r.until, reason: r.reason.clone(), suspension_id: r.id.clone() }
}

impl<S: SuspensionStore, K: ApiKeys, N: Notifier> ActionRunner for SuspensionService<S, K, N> {
    async fn run_approved(
        &self,
        action: &ApprovalAction,
        approved_by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        match action {
            ApprovalAction::LiftSuspension { caller, suspension_id } => {
                self.lift_one(caller, suspension_id, approved_by, now).await
            }
            ApprovalAction::ExtendSuspension { caller, suspension_id, hours } => {
                self.extend(caller, suspension_id, *hours, approved_by, now).await.map_err(|e| e.to_string())
            }
            ApprovalAction::RevokeAccess { caller, suspension_id } => {
                let years = Duration::days(365 * REVOKED_YEARS);
                let summary = self
                    .extend(caller, suspension_id, years.num_hours(), approved_by, now)
                    .await
                    .map_err(|e| e.to_string())?;
                match caller.strip_prefix("apikey:") {
                    Some(key) => match self.keys.disable(key).await {
                        Ok(true) => Ok(format!("API key {key} disabled; {summary}")),
                        Ok(false) => Ok(format!("API key {key} does not exist; {summary}")),
                        Err(e) => Err(format!("{summary}, but disabling API key {key} failed: {e}")),
                    },
                    None => Ok(format!("{summary}; {caller} has no API key of its own to disable")),
                }
            }
            ApprovalAction::TightenLimits { percent, hours, .. } => {
                let limits = FleetLimits { factor: *percent as f64 / 100.0, until: now + Duration::hours(*hours) };
                self.store.set_fleet_limits(&limits).await.map_err(|e| e.to_string())?;
                Ok(format!("every caller's quotas are at {percent}% until {}", human_time(limits.until)))
            }
            other => Err(format!("not a suspension action: {}", other.label())),
        }
    }

    async fn run_rejected(
        &self,
        action: &ApprovalAction,
        _rejected_by: &str,
        _now: DateTime<Utc>,
    ) -> Result<String, String> {
        Ok(format!("nothing changed: {} was not approved", action.label()))
    }
}
