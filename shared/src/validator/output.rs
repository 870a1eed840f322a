//! The output guard: what the model sends back is read before the caller gets it, for secrets
//! (cloud keys, private keys, tokens) and personal data, and flagged or cut by the use case's
//! output thresholds (`output_block`, `output_flag`; personal data blocks on a
//! `no_pii_processing` model). A streamed answer is cut cleanly: every chunk before the one where
//! the leak begins, then one final `{"error": …}` line, which Ollama clients raise as an error.
//! The text is never logged; findings carry kinds and counts only.

use serde_json::{json, Value};

use crate::validator::decision::Thresholds;
use crate::validator::guard::{pii, Category, Finding, Scan};
use crate::validator::ollama::strings_of;

/// What the caller gets of the answer, and what was found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Guarded {
    /// The answer as it may be sent: whole, or cut with a final error line (streams).
    pub body: String,
    /// Found at or over a block threshold: the answer was cut (streams) or withheld.
    pub blocked: Vec<Finding>,
    /// Found over a flag threshold only.
    pub flagged: Vec<Finding>,
}

/// The text the model wrote in one chunk (or the one object of a non-streamed answer).
fn text_of(chunk: &Value, out: &mut String) {
    for part in [&chunk["response"], &chunk["thinking"], &chunk["message"]["content"], &chunk["message"]["thinking"]] {
        if let Some(t) = part.as_str() {
            out.push_str(t);
        }
    }
    if let Some(calls) = chunk["message"].get("tool_calls").filter(|c| !c.is_null()) {
        out.push_str(&strings_of(calls));
    }
}

fn over(findings: &[Finding], thresholds: &Thresholds) -> Vec<Finding> {
    let scan = Scan { findings: findings.to_vec() };
    let hit: Vec<Category> = [Category::Pii, Category::Secret]
        .into_iter()
        .filter(|&c| thresholds.get(c).is_some_and(|t| scan.category_score(c) >= t))
        .collect();
    findings.iter().filter(|f| hit.contains(&f.kind.category())).copied().collect()
}

/// Guard a generate/chat answer: `body` is one JSON object, or NDJSON when `streams`.
pub fn guard(body: &str, streams: bool, block: &Thresholds, flag: &Thresholds) -> Guarded {
    let lines: Vec<&str> =
        if streams { body.split_inclusive('\n').filter(|l| !l.trim().is_empty()).collect() } else { vec![body] };
    // The answer's text, and where each chunk's share of it starts and ends.
    let mut answer = String::new();
    let mut spans = Vec::with_capacity(lines.len());
    for line in &lines {
        let start = answer.len();
        if let Ok(chunk) = serde_json::from_str::<Value>(line) {
            text_of(&chunk, &mut answer);
        }
        spans.push((start, answer.len()));
    }
    let findings = pii::scan(&answer);
    let blocked = over(&findings, block);
    if blocked.is_empty() {
        let flagged = over(&findings, flag);
        return Guarded { body: body.to_string(), blocked, flagged };
    }
    let kinds: Vec<&str> = blocked.iter().map(|f| f.kind.as_str()).collect();
    let error = json!({
        "error": format!("the rest of the answer was withheld: it contained {}", kinds.join(", ")),
        "code": "output_blocked",
        "findings": kinds,
    });
    if !streams {
        return Guarded { body: error.to_string(), blocked, flagged: Vec::new() };
    }
    // The first chunk whose text, with what came before, is blocked (findings only grow with
    // the text, so a binary search finds it), then how far back the leak begins: the latest
    // chunk from which the text up to there is still blocked. Everything from there is cut, so
    // no piece of a secret split over chunks gets out.
    let blocks = |from: usize, to: usize| !over(&pii::scan(&answer[spans[from].0..spans[to].1]), block).is_empty();
    let last = first_true(0, lines.len() - 1, |k| blocks(0, k));
    let begins = last - first_true(0, last, |back| blocks(last - back, last));
    let mut cut: String = lines[..begins].concat();
    cut.push_str(&error.to_string());
    cut.push('\n');
    Guarded { body: cut, blocked, flagged: Vec::new() }
}

/// The smallest `k` in `lo..=hi` for which `test` holds (it holds at `hi`, and once it holds it
/// holds for every larger `k`).
fn first_true(mut lo: usize, mut hi: usize, test: impl Fn(usize) -> bool) -> usize {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if test(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::guard::FindingKind;

    fn block() -> Thresholds {
        Thresholds { injection: None, unicode: None, pii: None, secret: Some(0.8) }
    }

    fn flag() -> Thresholds {
        Thresholds { injection: None, unicode: None, pii: Some(0.6), secret: Some(0.5) }
    }

    fn stream(pieces: &[&str]) -> String {
        let mut out = String::new();
        for p in pieces {
            out.push_str(
                &json!({"model": "m", "message": {"role": "assistant", "content": p}, "done": false}).to_string(),
            );
            out.push('\n');
        }
        out.push_str(&json!({"model": "m", "message": {"role": "assistant", "content": ""}, "done": true}).to_string());
        out.push('\n');
        out
    }

    #[test]
    fn a_clean_answer_passes_untouched() {
        let body = stream(&["Sure", ", here", " is an answer."]);
        let g = guard(&body, true, &block(), &flag());
        assert_eq!((g.body, g.blocked.len(), g.flagged.len()), (body, 0, 0));
    }

    #[test]
    fn a_key_split_over_chunks_is_cut_where_it_begins() {
        let body = stream(&["The deploy key", " is AKIA", "IOSFODNN7", "EXAMPLE", " and that is all."]);
        let g = guard(&body, true, &block(), &flag());
        assert!(g.blocked.iter().any(|f| f.kind == FindingKind::AwsAccessKey), "{:?}", g.blocked);
        let lines: Vec<Value> = g.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "the chunk before the key, then the error: {}", g.body);
        assert_eq!(lines[0]["message"]["content"], "The deploy key");
        assert_eq!(lines[1]["code"], "output_blocked");
        assert!(lines[1]["error"].as_str().unwrap().contains("secret.aws_access_key"));
        assert!(!g.body.contains("AKIA") && !g.body.contains("IOSFODNN7"), "no piece of the key gets out");
    }

    #[test]
    fn a_non_streamed_leak_is_withheld_and_personal_data_is_flagged() {
        let leak =
            json!({"model": "m", "response": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow...", "done": true}).to_string();
        let g = guard(&leak, false, &block(), &flag());
        assert_eq!(serde_json::from_str::<Value>(&g.body).unwrap()["code"], "output_blocked");
        let pii = json!({"model": "m", "message": {"role": "assistant", "content": "Write to jane.doe@example.com"}})
            .to_string();
        let g = guard(&pii, false, &block(), &flag());
        assert_eq!((g.body == pii, g.blocked.is_empty()), (true, true));
        assert!(g.flagged.iter().any(|f| f.kind == FindingKind::Email));
        // On a no_pii_processing model personal data blocks.
        let strict = Thresholds { pii: Some(0.6), ..block() };
        assert!(!guard(&pii, false, &strict, &flag()).blocked.is_empty());
    }

    #[test]
    fn a_secret_in_a_tool_call_is_found_too() {
        let body = json!({"message": {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "upload", "arguments": {"token": "AKIAIOSFODNN7EXAMPLE"}}}]}})
        .to_string();
        assert!(!guard(&body, false, &block(), &flag()).blocked.is_empty());
    }
}
