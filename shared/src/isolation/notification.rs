//! What an isolation or a release tells people: one SNS message with its timeline.

use std::collections::BTreeMap;

use serde_json::json;

use crate::notify::{clean_subject, Notification};

/// One message per isolation or release: what happened to which instance, why, the timeline,
/// and what waits for approval.
pub fn incident_notification(
    report: &crate::isolation::executor::IncidentReport,
    record: &crate::isolation::IncidentRecord,
) -> Notification {
    let instance = report.instance_id.as_deref().unwrap_or("(no instance)");
    let subject = match (report.kind.as_str(), report.status.as_str()) {
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
    attributes.insert("warden.status".to_string(), report.status.to_string());
    attributes.insert("warden.incident_id".to_string(), report.incident_id.clone());
    Notification { subject: clean_subject(&subject), text, facts, attributes }
}
