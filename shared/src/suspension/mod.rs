//! Closing the loop on prompt attacks: a CloudWatch alarm on the validator's per-caller metrics
//! (`Custom/LLM` `PromptInjectionAttempts`, `AuthFailures`) suspends the caller; the validator
//! refuses a suspended caller within seconds; repeated suspensions escalate to revoking the
//! caller's access, and a fleet-wide alarm asks to tighten everyone's limits — both only with a
//! human's approval. This module is the pure part: what an alarm means, and what to do.

pub mod ports;
pub mod service;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The validator metrics an alarm can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AbuseMetric {
    PromptInjectionAttempts,
    AuthFailures,
}

impl AbuseMetric {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "PromptInjectionAttempts" => Some(Self::PromptInjectionAttempts),
            "AuthFailures" => Some(Self::AuthFailures),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::PromptInjectionAttempts => "prompt-injection attempts",
            Self::AuthFailures => "authentication failures",
        }
    }
}

/// An alarm on an abuse metric went into ALARM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallerAlarm {
    pub event_id: String,
    pub event_time: DateTime<Utc>,
    pub alarm_name: String,
    pub metric: AbuseMetric,
    /// The `Caller` dimension; `None` for a fleet-wide alarm.
    pub caller: Option<String>,
    pub reason: Option<String>,
}

impl CallerAlarm {
    /// One suspension per alarm state change, whatever the redelivery.
    pub fn suspension_id(&self) -> String {
        let digest = Sha256::digest(self.event_id.as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("sus-{}-{hex}", self.event_time.format("%Y%m%dT%H%M%S"))
    }
}

/// How suspensions work (`WARDEN_SUSPENSION_POLICY`, JSON; every field optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuspensionPolicy {
    /// How long a per-caller alarm suspends the caller.
    pub suspend_minutes: i64,
    /// This many suspensions of one caller within `repeat_window_hours` ask to revoke its access.
    pub repeats_to_escalate: usize,
    pub repeat_window_hours: i64,
    /// A fleet-wide alarm asks to multiply everyone's quotas by this, for `tighten_hours`.
    pub tighten_factor: f64,
    pub tighten_hours: i64,
    /// How many of the top offending callers a fleet-wide request names.
    pub top_callers: usize,
    /// A per-caller alarm suspends only when the validator itself refused at least this many of
    /// the caller's requests (injection attempts, auth failures) in the last two hours: anyone
    /// who can create an alarm or publish a metric cannot make Warden suspend a caller that
    /// did nothing.
    pub corroborating_offences: u64,
}

impl Default for SuspensionPolicy {
    fn default() -> Self {
        Self {
            suspend_minutes: 60,
            repeats_to_escalate: 3,
            repeat_window_hours: 24,
            tighten_factor: 0.5,
            tighten_hours: 2,
            top_callers: 5,
            corroborating_offences: 3,
        }
    }
}

impl SuspensionPolicy {
    pub fn from_json(text: &str) -> Result<Self, String> {
        let p: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if !(1..=10_080).contains(&p.suspend_minutes) {
            return Err("suspend_minutes must be between 1 and 10080".into());
        }
        if p.repeats_to_escalate < 2 || !(1..=720).contains(&p.repeat_window_hours) {
            return Err("repeats_to_escalate must be at least 2 and repeat_window_hours 1 to 720".into());
        }
        if p.corroborating_offences == 0 {
            return Err("corroborating_offences must be at least 1: an alarm alone never suspends".into());
        }
        if !(0.0 < p.tighten_factor && p.tighten_factor < 1.0 && (1..=168).contains(&p.tighten_hours)) {
            return Err("tighten_factor must be between 0 and 1 (exclusive), tighten_hours 1 to 168".into());
        }
        Ok(p)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspensionStatus {
    Active,
    Lifted,
}

/// One suspension, as recorded for audit (`SUS#<id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuspensionRecord {
    pub id: String,
    pub caller: String,
    pub reason: String,
    pub alarm: String,
    pub event_id: String,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub by: String,
    pub status: SuspensionStatus,
    /// Later changes: extended, lifted, access revoked — who and when.
    #[serde(default)]
    pub history: Vec<String>,
}

/// A suspension in force, as the validator reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveSuspension {
    pub caller: String,
    pub until: DateTime<Utc>,
    pub reason: String,
    pub suspension_id: String,
}

/// Fleet-wide quota tightening in force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FleetLimits {
    pub factor: f64,
    pub until: DateTime<Utc>,
}

/// Everything the validator needs to know, read in one go and cached briefly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Restrictions {
    pub suspended: Vec<ActiveSuspension>,
    pub fleet: Option<FleetLimits>,
}

impl Restrictions {
    pub fn suspension_of(&self, caller: &str, now: DateTime<Utc>) -> Option<&ActiveSuspension> {
        self.suspended.iter().find(|s| s.caller == caller && s.until > now)
    }

    /// The factor quotas are multiplied by now (1.0 when nothing is tightened).
    pub fn quota_factor(&self, now: DateTime<Utc>) -> f64 {
        self.fleet.filter(|f| f.until > now).map_or(1.0, |f| f.factor)
    }
}

/// What to do about an alarm.
#[derive(Debug, Clone, PartialEq)]
pub enum SuspensionPlan {
    /// Suspend (or keep suspended) `caller` until `until`; `escalate` asks to revoke its access.
    Suspend { record: SuspensionRecord, escalate: bool, recent: usize },
    /// No caller named: ask a human to tighten everyone's limits, naming the top offenders.
    Fleet { factor: f64, until: DateTime<Utc> },
}

/// Decide on an alarm. `recent` are the caller's earlier suspensions (any status).
pub fn plan_suspension(
    alarm: &CallerAlarm,
    recent: &[SuspensionRecord],
    policy: &SuspensionPolicy,
    now: DateTime<Utc>,
) -> SuspensionPlan {
    let Some(caller) = &alarm.caller else {
        return SuspensionPlan::Fleet {
            factor: policy.tighten_factor,
            until: now + Duration::hours(policy.tighten_hours),
        };
    };
    let window_start = now - Duration::hours(policy.repeat_window_hours);
    let earlier = recent.iter().filter(|r| r.since >= window_start && r.id != alarm.suspension_id()).count();
    let count = earlier + 1;
    let reason = format!(
        "{} by {caller} set off alarm {}{}",
        alarm.metric.describe(),
        alarm.alarm_name,
        alarm.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
    );
    SuspensionPlan::Suspend {
        record: SuspensionRecord {
            id: alarm.suspension_id(),
            caller: caller.clone(),
            reason: reason.chars().take(400).collect(),
            alarm: alarm.alarm_name.clone(),
            event_id: alarm.event_id.clone(),
            since: now,
            until: now + Duration::minutes(policy.suspend_minutes),
            by: "warden remediator".into(),
            status: SuspensionStatus::Active,
            history: Vec::new(),
        },
        escalate: count >= policy.repeats_to_escalate,
        recent: count,
    }
}

/// Callers are ids from API Gateway: keep them printable and bounded before they become keys.
pub fn valid_caller(caller: &str) -> bool {
    !caller.is_empty()
        && caller.len() <= 256
        && caller.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'#' | b'"' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(caller: Option<&str>, id: &str) -> CallerAlarm {
        CallerAlarm {
            event_id: id.into(),
            event_time: "2026-11-26T14:00:00Z".parse().unwrap(),
            alarm_name: "llm-prompt-injection-per-caller".into(),
            metric: AbuseMetric::PromptInjectionAttempts,
            caller: caller.map(str::to_string),
            reason: Some("Threshold Crossed: 1 datapoint [7.0] was greater than the threshold (5.0)".into()),
        }
    }

    #[test]
    fn a_caller_alarm_suspends_for_the_policy_duration() {
        let now: DateTime<Utc> = "2026-11-26T14:00:05Z".parse().unwrap();
        let SuspensionPlan::Suspend { record, escalate, recent } =
            plan_suspension(&alarm(Some("team-web"), "e1"), &[], &SuspensionPolicy::default(), now)
        else {
            panic!("expected a suspension")
        };
        assert_eq!(
            (record.caller.as_str(), record.until - now, escalate, recent),
            ("team-web", Duration::minutes(60), false, 1)
        );
        assert!(record.reason.contains("prompt-injection attempts by team-web"));
    }

    #[test]
    fn repeats_within_the_window_escalate_and_replays_do_not_count() {
        let now: DateTime<Utc> = "2026-11-26T14:00:05Z".parse().unwrap();
        let policy = SuspensionPolicy::default();
        let earlier = |id: &str, hours_ago: i64| {
            let SuspensionPlan::Suspend { mut record, .. } =
                plan_suspension(&alarm(Some("team-web"), id), &[], &policy, now)
            else {
                unreachable!()
            };
            record.since = now - Duration::hours(hours_ago);
            record
        };
        let history = vec![earlier("e1", 3), earlier("e2", 1)];
        let SuspensionPlan::Suspend { escalate, recent, .. } =
            plan_suspension(&alarm(Some("team-web"), "e3"), &history, &policy, now)
        else {
            unreachable!()
        };
        assert!(escalate && recent == 3);
        // The same alarm again is the same suspension, not a third one.
        let SuspensionPlan::Suspend { escalate, .. } =
            plan_suspension(&alarm(Some("team-web"), "e2"), &history, &policy, now)
        else {
            unreachable!()
        };
        assert!(!escalate);
        // Old suspensions are outside the window.
        let old = vec![earlier("e1", 30), earlier("e2", 26)];
        let SuspensionPlan::Suspend { escalate, .. } =
            plan_suspension(&alarm(Some("team-web"), "e3"), &old, &policy, now)
        else {
            unreachable!()
        };
        assert!(!escalate);
    }

    #[test]
    fn a_fleet_alarm_asks_to_tighten() {
        let now: DateTime<Utc> = "2026-11-26T14:00:05Z".parse().unwrap();
        let plan = plan_suspension(&alarm(None, "e1"), &[], &SuspensionPolicy::default(), now);
        assert_eq!(plan, SuspensionPlan::Fleet { factor: 0.5, until: now + Duration::hours(2) });
    }

    #[test]
    fn restrictions_expire_by_time() {
        let now: DateTime<Utc> = "2026-11-26T14:00:00Z".parse().unwrap();
        let r = Restrictions {
            suspended: vec![ActiveSuspension {
                caller: "a".into(),
                until: now + Duration::seconds(1),
                reason: "r".into(),
                suspension_id: "s".into(),
            }],
            fleet: Some(FleetLimits { factor: 0.5, until: now + Duration::minutes(1) }),
        };
        assert!(r.suspension_of("a", now).is_some());
        assert!(r.suspension_of("a", now + Duration::seconds(2)).is_none());
        assert!(r.suspension_of("b", now).is_none());
        assert_eq!(r.quota_factor(now), 0.5);
        assert_eq!(r.quota_factor(now + Duration::hours(1)), 1.0);
    }

    #[test]
    fn policy_json_is_checked() {
        assert!(SuspensionPolicy::from_json(r#"{"suspend_minutes": 15}"#).is_ok());
        assert!(SuspensionPolicy::from_json(r#"{"suspend_minutes": 0}"#).is_err());
        assert!(SuspensionPolicy::from_json(r#"{"tighten_factor": 1.5}"#).is_err());
        assert!(SuspensionPolicy::from_json(r#"{"unknown": 1}"#).is_err());
        assert!(
            SuspensionPolicy::from_json(r#"{"corroborating_offences": 0}"#).is_err(),
            "an alarm alone never suspends"
        );
        assert_eq!(SuspensionPolicy::default().corroborating_offences, 3);
        assert!(valid_caller("apikey:k8x2n4m6p1") && !valid_caller("a#b") && !valid_caller(""));
    }
}
