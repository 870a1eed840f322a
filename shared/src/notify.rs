//! What Warden tells people: one SNS message per remediation, readable as a plain-text email,
//! with the structured facts for machines (SQS, Lambda, HTTPS subscribers) beside it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::executor::Report;

/// A message for the notifier port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// ≤ 100 characters, no line breaks (SNS email subject rules).
    pub subject: String,
    /// Plain text for people.
    pub text: String,
    /// The same facts, structured.
    pub facts: serde_json::Value,
    /// SNS message attributes, for subscription filter policies.
    pub attributes: BTreeMap<String, String>,
}

/// SNS subjects: ASCII printable, ≤ 100 chars, must not start with a space.
pub fn clean_subject(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { ' ' })
        .collect::<String>()
        .trim()
        .to_string();
    if cleaned.chars().count() <= 100 {
        cleaned
    } else {
        let mut cut: String = cleaned.chars().take(99).collect();
        cut.push('~');
        cut
    }
}

pub fn remediation_notification(report: &Report) -> Notification {
    let groups = report.groups.join(", ");
    let n = report.revoked.len();
    let subject = match report.status.as_str() {
        "dry_run" => {
            format!("[Warden] DRY RUN: would revoke {} world-open rule(s) on {groups}", report.would_revoke.len())
        }
        "partial" => format!("[Warden] ACTION NEEDED: revoked {n}, {} failed on {groups}", report.failed.len()),
        "undone" | "undo_partial" => {
            format!(
                "[Warden] Undo {}: restored {} rule(s) on {groups}",
                report.remediation_id.as_deref().unwrap_or("?"),
                report.restored.len()
            )
        }
        _ => format!("[Warden] Revoked {n} world-open rule(s) on {groups}"),
    };

    let mut text = String::new();
    text.push_str(&report.summary);
    text.push_str("\n\n");
    if let Some(t) = &report.trigger {
        text.push_str(&format!("Trigger:        {t}\n"));
    }
    if let Some(e) = &report.event_id {
        text.push_str(&format!("Event id:       {e}\n"));
    }
    if let Some(id) = &report.remediation_id {
        text.push_str(&format!("Remediation id: {id}\n"));
    }
    text.push_str(&format!("Status:         {}\n", report.status));
    let section = |text: &mut String, title: &str, lines: &[String]| {
        if !lines.is_empty() {
            text.push_str(&format!("\n{title}:\n"));
            for l in lines {
                text.push_str(&format!("  - {l}\n"));
            }
        }
    };
    let rule_lines = |rules: &[crate::exposure::IngressRule]| -> Vec<String> {
        rules
            .iter()
            .map(|r| {
                let desc = r.description.as_deref().map(|d| format!(" \"{d}\"")).unwrap_or_default();
                format!("{} {}: {} from {}{desc}", r.group_id, r.rule_id, r.ports_label(), r.source)
            })
            .collect()
    };
    section(&mut text, "Revoked", &rule_lines(&report.revoked));
    section(&mut text, "Would revoke (dry run, nothing changed)", &rule_lines(&report.would_revoke));
    section(
        &mut text,
        "Restored",
        &report
            .restored
            .iter()
            .map(|r| {
                format!(
                    "{} {} from {} (was {}, now {})",
                    r.rule.group_id,
                    r.rule.ports_label(),
                    r.rule.source,
                    r.rule.rule_id,
                    r.new_rule_id
                )
            })
            .collect::<Vec<_>>(),
    );
    section(
        &mut text,
        "FAILED (will be retried on redelivery; see the audit record)",
        &report.failed.iter().map(|f| format!("{}: {}", f.rule_id, f.error)).collect::<Vec<_>>(),
    );
    section(&mut text, "Left in place: exempt", &report.exempted.clone());
    section(&mut text, "Ignored: expired exemptions", &report.expired_exemptions.clone());
    if !report.revoked.is_empty() {
        if let Some(id) = &report.remediation_id {
            text.push_str(&format!(
                "\nTo restore exactly the revoked rules:\n  warden undo {id} --by <your name>\n\
                 (a rule that must stay open needs an exemption, or the next sweep revokes it again:\n  \
                 warden exempt add --group <sg-id> [--rule <sgr-id>] --by <you> --reason <why> --for 7d)\n"
            ));
        }
    }

    let facts = json!({
        "source": "warden",
        "kind": report.kind,
        "remediation_id": report.remediation_id,
        "status": report.status,
        "event_id": report.event_id,
        "trigger": report.trigger,
        "groups": report.groups,
        "revoked": report.revoked,
        "would_revoke": report.would_revoke,
        "restored": report.restored,
        "failed": report.failed,
        "exempted": report.exempted,
        "undo": report.remediation_id.as_ref().filter(|_| !report.revoked.is_empty()).map(|id| format!("warden undo {id}")),
    });
    let mut attributes = BTreeMap::new();
    attributes.insert("warden.kind".to_string(), report.kind.to_string());
    attributes.insert("warden.status".to_string(), report.status.clone());
    if let Some(id) = &report.remediation_id {
        attributes.insert("warden.remediation_id".to_string(), id.clone());
    }
    Notification { subject: clean_subject(&subject), text, facts, attributes }
}

/// One message per isolation or release: what happened to which instance, why, the timeline,
/// and what waits for approval.
pub fn incident_notification(
    report: &crate::isolation_executor::IncidentReport,
    record: &crate::isolation::IncidentRecord,
) -> Notification {
    let instance = report.instance_id.as_deref().unwrap_or("(no instance)");
    let subject = match (report.kind, report.status.as_str()) {
        ("release", "released") => format!("[Warden] Released {instance} ({})", report.incident_id),
        ("release", _) => format!("[Warden] ACTION NEEDED: release of {instance} is partial"),
        (_, "isolated") => format!("[Warden] Isolated {instance}: {}", report.trigger),
        (_, "pending_approval") => format!("[Warden] APPROVAL NEEDED to isolate {instance}: {}", report.trigger),
        (_, "partial") => format!("[Warden] ACTION NEEDED: isolation of {instance} is partial"),
        (_, "not_actionable") => format!("[Warden] Not isolated: {}", report.trigger),
        _ => format!("[Warden] Incident {} on {instance}: {}", report.incident_id, report.status),
    };
    let mut text = format!("{}\n\n", report.summary);
    text.push_str(&format!("Incident:  {}\n", report.incident_id));
    text.push_str(&format!("Instance:  {instance}\n"));
    text.push_str(&format!("Trigger:   {} (event {})\n", report.trigger, record.trigger.event_id));
    text.push_str(&format!("Policy:    {} (rule {})\n", report.response, report.decided_by_rule));
    text.push_str(&format!("Status:    {}\n", report.status));
    if let Some(ms) = report.time_to_containment_ms {
        text.push_str(&format!("Contained: {ms} ms after the event arrived\n"));
    }
    if !report.steps.is_empty() {
        text.push_str("\nTimeline (ms after the event arrived):\n");
        let mut steps = report.steps.clone();
        steps.sort_by_key(|s| (s.finished_ms, s.started_ms));
        for s in &steps {
            let what = match &s.error {
                Some(e) => format!("FAILED: {e}"),
                None => s.detail.clone(),
            };
            text.push_str(&format!("  {:>5} - {:>5}  {:<26} {what}\n", s.started_ms, s.finished_ms, s.step));
        }
    }
    if !report.pending_approval.is_empty() && report.kind == "isolation" {
        text.push_str(&format!("\nWaiting for approval: {}\n", report.pending_approval.join(", ")));
    }
    if let Some(state) = &record.state {
        if report.kind == "isolation" && report.status != "not_actionable" {
            text.push_str(&format!(
                "\nRecorded for release: {} interface(s), {} volume(s), profile {}, Auto Scaling group {}, {} target group(s), {} Elastic IP(s).\n\
                 To release it exactly as it was:\n  warden release {} --by <your name>\n",
                state.interfaces.len(),
                state.volumes.len(),
                state.profile.as_ref().map_or("none", |p| p.profile_arn.as_str()),
                state.asg.as_ref().map_or("none", |a| a.name.as_str()),
                state.target_groups.len(),
                state.elastic_ips.len(),
                report.incident_id
            ));
        }
    }
    let facts = json!({
        "source": "warden",
        "kind": report.kind,
        "incident_id": report.incident_id,
        "status": report.status,
        "instance_id": report.instance_id,
        "trigger": report.trigger,
        "event_id": record.trigger.event_id,
        "response": report.response,
        "rule": report.decided_by_rule,
        "time_to_containment_ms": report.time_to_containment_ms,
        "steps": report.steps,
        "pending_approval": report.pending_approval,
        "recorded_state": record.state,
    });
    let mut attributes = BTreeMap::new();
    attributes.insert("warden.kind".to_string(), report.kind.to_string());
    attributes.insert("warden.status".to_string(), report.status.clone());
    attributes.insert("warden.incident_id".to_string(), report.incident_id.clone());
    Notification { subject: clean_subject(&subject), text, facts, attributes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_sns_safe() {
        assert_eq!(clean_subject("  a\nb\tc  "), "a b c");
        let long = "x".repeat(300);
        assert_eq!(clean_subject(&long).chars().count(), 100);
        assert_eq!(clean_subject("é ok"), "ok");
    }
}
