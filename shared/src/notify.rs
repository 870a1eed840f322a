//! What Warden tells people: one SNS message per remediation, readable as a plain-text email,
//! with the structured facts for machines (SQS, Lambda, HTTPS subscribers) beside it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Times for people: `2026-11-26T12:00:00Z`.
pub fn human_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

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
