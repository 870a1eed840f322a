//! What a remediation tells people: one SNS message, plain text for email, facts for machines.

use std::collections::BTreeMap;

use serde_json::json;

use crate::exposure::executor::Report;
use crate::notify::{clean_subject, Notification};

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
    attributes.insert("warden.status".to_string(), report.status.to_string());
    if let Some(id) = &report.remediation_id {
        attributes.insert("warden.remediation_id".to_string(), id.clone());
    }
    Notification { subject: clean_subject(&subject), text, facts, attributes }
}
