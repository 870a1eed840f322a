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

/// Guard a whole answer: `body` is one JSON object, or NDJSON when `streams` (then it is read
/// chunk by chunk, exactly as a live stream is, by [`StreamGuard`]).
pub fn guard(body: &str, streams: bool, block: &Thresholds, flag: &Thresholds) -> Guarded {
    if streams {
        let mut stream = StreamGuard::new(*block, *flag);
        let mut out = String::new();
        for line in body.split_inclusive('\n').filter(|l| !l.trim().is_empty()) {
            out.extend(stream.push(line));
        }
        let end = stream.finish();
        out.extend(end.lines);
        return Guarded { body: out, blocked: end.blocked, flagged: end.flagged };
    }
    let mut answer = String::new();
    if let Ok(chunk) = serde_json::from_str::<Value>(body) {
        text_of(&chunk, &mut answer);
    }
    let findings = pii::scan(&answer);
    let blocked = over(&findings, block);
    if blocked.is_empty() {
        return Guarded { body: body.to_string(), flagged: over(&findings, flag), blocked };
    }
    Guarded { body: withheld(&blocked), blocked, flagged: Vec::new() }
}

/// The error a cut answer ends with (one JSON object; a stream's last line).
fn withheld(blocked: &[Finding]) -> String {
    let kinds: Vec<&str> = blocked.iter().map(|f| f.kind.as_str()).collect();
    json!({
        "error": format!("the rest of the answer was withheld: it contained {}", kinds.join(", ")),
        "code": "output_blocked",
        "findings": kinds,
    })
    .to_string()
}

/// Text scanned again before what is still held, so that a secret or number spanning the
/// release point is seen whole (longer than any pattern the detectors need to recognise).
const OVERLAP: usize = 256;
/// The longest run held back while it may still be the start of a secret.
const HOLD_MAX: usize = 1024;

/// The output guard on a live stream: chunks (NDJSON lines) go in as Ollama sends them and come
/// out as soon as they are known to be clean. A chunk is held only while the text it ends in may
/// still be the start of a secret or a number — the word being written, a run of digit groups, a
/// PEM header — so the caller waits about one token longer and no piece of a leak gets out:
/// when a leak shows, everything still held is dropped and the stream ends with one error line.
/// Each chunk rescans only the held text and a short overlap before it: linear in the answer.
pub struct StreamGuard {
    block: Thresholds,
    flag: Thresholds,
    /// The answer's text so far.
    text: String,
    /// Chunks not yet released, each with the offset in `text` where its text ends.
    held: std::collections::VecDeque<(String, usize)>,
    /// Where the released chunks' text ends.
    released: usize,
    /// Every kind found so far, at its highest score.
    found: Scan,
    blocked: Vec<Finding>,
}

/// What a finished stream still sends, and what was found in it.
pub struct StreamEnd {
    /// The chunks still held, or the error line when the stream was cut.
    pub lines: Vec<String>,
    pub blocked: Vec<Finding>,
    pub flagged: Vec<Finding>,
}

impl StreamGuard {
    pub fn new(block: Thresholds, flag: Thresholds) -> Self {
        Self {
            block,
            flag,
            text: String::new(),
            held: Default::default(),
            released: 0,
            found: Scan::default(),
            blocked: Vec::new(),
        }
    }

    /// The stream was cut: nothing more goes out.
    pub fn is_cut(&self) -> bool {
        !self.blocked.is_empty()
    }

    /// One chunk (an NDJSON line, with or without its newline) in; what may go out now: chunks
    /// released, or the error line that ends a cut stream.
    pub fn push(&mut self, line: &str) -> Vec<String> {
        if self.is_cut() {
            return Vec::new();
        }
        if let Ok(chunk) = serde_json::from_str::<Value>(line) {
            text_of(&chunk, &mut self.text);
        }
        let mut line = line.trim_end_matches(['\r', '\n']).to_string();
        line.push('\n');
        self.held.push_back((line, self.text.len()));
        // Scanned only when something is about to go out: what stays held cannot leak yet.
        let boundary = hold_from(&self.text);
        if self.held.front().is_none_or(|(_, end)| *end > boundary) {
            return Vec::new();
        }
        // What would go out is scanned as the client will see it, ending where it ends: a chunk
        // that ends inside a finished word must not leave a secret-shaped prefix out there.
        let release_to = self.held.iter().map(|(_, end)| *end).take_while(|end| *end <= boundary).last().unwrap_or(0);
        if let Some(error) = self.check(release_to) {
            return vec![error];
        }
        let mut out = Vec::new();
        while let Some((_, end)) = self.held.front().filter(|(_, end)| *end <= boundary) {
            self.released = *end;
            out.push(self.held.pop_front().map(|(l, _)| l).unwrap_or_default());
        }
        out
    }

    /// The stream ended: the held chunks go out unless the end completes a leak.
    pub fn finish(mut self) -> StreamEnd {
        let lines = match self.check(self.text.len()) {
            Some(error) => vec![error],
            None if self.is_cut() => Vec::new(),
            None => self.held.drain(..).map(|(l, _)| l).collect(),
        };
        let flagged = if self.is_cut() { Vec::new() } else { over(&pii::scan(&self.text), &self.flag) };
        StreamEnd { lines, blocked: self.blocked, flagged }
    }

    /// Scan the text up to `upto` from just before what was released (the overlap); on a leak,
    /// drop what is held and return the error line.
    fn check(&mut self, upto: usize) -> Option<String> {
        if self.is_cut() {
            return None;
        }
        let from = word_start(&self.text, self.released.saturating_sub(OVERLAP));
        self.found.merge(Scan { findings: pii::scan(&self.text[from..upto.max(from)]) });
        let blocked = over(&self.found.findings, &self.block);
        if blocked.is_empty() {
            return None;
        }
        self.held.clear();
        let mut error = withheld(&blocked);
        error.push('\n');
        self.blocked = blocked;
        Some(error)
    }
}

/// Where the text still to be held begins: the word being written, extended back over digit
/// groups (card and phone numbers span spaces) and to a PEM header just begun, never more than
/// `HOLD_MAX` bytes.
fn hold_from(text: &str) -> usize {
    let floor = floor_char(text, text.len().saturating_sub(HOLD_MAX));
    let tail = &text[floor..];
    let bytes = tail.as_bytes();
    let mut at = bytes.len();
    while at > 0 && !bytes[at - 1].is_ascii_whitespace() {
        at -= 1;
    }
    let numeric = |b: u8| b.is_ascii_digit() || b" +-().".contains(&b);
    if at < bytes.len() && bytes[at..].iter().any(u8::is_ascii_digit) {
        while at > 0 && numeric(bytes[at - 1]) {
            at -= 1;
        }
        while at < bytes.len() && bytes[at] == b' ' {
            at += 1;
        }
    }
    if let Some(pem) = tail.rfind("-----BEGIN") {
        at = at.min(pem);
    }
    if at == 0 && floor > 0 {
        // One run longer than `HOLD_MAX`: released in steps of half of it, so that it is
        // scanned once per step rather than once per chunk.
        return floor_char(text, floor - floor % (HOLD_MAX / 2));
    }
    floor + at
}

/// The start of the word at or before `at` (a scan must not begin inside a word: its detectors
/// start at word boundaries), looking back no further than `OVERLAP` bytes.
fn word_start(text: &str, at: usize) -> usize {
    let at = floor_char(text, at);
    let limit = floor_char(text, at.saturating_sub(OVERLAP));
    text[limit..at].rfind(|c: char| c.is_whitespace()).map_or(limit, |i| limit + i)
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
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

    /// Chunks pushed one at a time: what went out after each push, and at the end.
    fn live(pieces: &[&str], block: Thresholds) -> (Vec<Vec<String>>, StreamEnd) {
        let body = stream(pieces);
        let mut g = StreamGuard::new(block, flag());
        let steps = body.lines().map(|l| g.push(l)).collect();
        (steps, g.finish())
    }

    fn content(lines: &[String]) -> String {
        lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["message"]["content"].as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn a_live_stream_goes_out_one_word_behind_and_whole() {
        let pieces = ["Sure", ",", " here", " is", " an", " answer", "."];
        let (steps, end) = live(&pieces, block());
        assert!(steps[0].is_empty(), "the first word is held until it is complete");
        assert_eq!(content(&steps[1]), "", "nothing of the word in progress goes out");
        assert_eq!(content(&steps[2]), "Sure,", "once the next word begins, the last one goes out");
        assert_eq!(content(&steps[3]), " here");
        let mut all: Vec<String> = steps.into_iter().flatten().collect();
        all.extend(end.lines);
        assert_eq!(all.concat(), stream(&pieces), "a clean stream goes out unchanged, every chunk once");
        assert!(end.blocked.is_empty());
    }

    #[test]
    fn a_live_leak_is_cut_before_any_piece_of_it_goes_out() {
        let (steps, end) = live(&["The deploy key", " is AKIA", "IOSFODNN7", "EXAMPLE", " and more."], block());
        let sent: Vec<String> = steps.iter().flatten().cloned().chain(end.lines).collect();
        let text = sent.concat();
        assert!(!text.contains("AKIA") && !text.contains("IOSFODNN7"), "no piece of the key: {text}");
        assert_eq!(content(&sent), "The deploy key");
        let last: Value = serde_json::from_str(sent.last().unwrap()).unwrap();
        assert_eq!(last["code"], "output_blocked");
        assert_eq!(sent.iter().filter(|l| l.contains("output_blocked")).count(), 1, "one error line, last");
        assert!(end.blocked.iter().any(|f| f.kind == FindingKind::AwsAccessKey));
    }

    #[test]
    fn digit_groups_and_pem_headers_are_held_whole() {
        // A payment card written group by group: no group goes out before the number is whole.
        let strict = Thresholds { pii: Some(0.6), ..block() };
        let (steps, end) = live(&["Card:", " 4111", " 1111", " 1111", " 1111", " thanks"], strict);
        let sent: Vec<String> = steps.iter().flatten().cloned().chain(end.lines).collect();
        assert_eq!(content(&sent), "Card:", "{sent:?}");
        assert!(end.blocked.iter().any(|f| f.kind == FindingKind::PaymentCard), "{:?}", end.blocked);
        let (steps, end) = live(&["Here:\n", "-----BEGIN", " RSA", " PRIVATE", " KEY-----", "\nMIIE"], block());
        let sent: Vec<String> = steps.iter().flatten().cloned().chain(end.lines).collect();
        assert_eq!(content(&sent), "Here:\n", "{sent:?}");
    }

    #[test]
    fn a_leak_at_the_very_end_is_cut_before_the_end_goes_out() {
        let (steps, end) = live(&["key: ", "AKIAIOSFODNN7EXAMPLE"], block());
        assert!(!steps.iter().flatten().any(|l| l.contains("AKIA")));
        let sent: Vec<String> = steps.into_iter().flatten().chain(end.lines).collect();
        assert_eq!(content(&sent), "key: ", "what came before the key, then the error: {sent:?}");
        assert_eq!(serde_json::from_str::<Value>(sent.last().unwrap()).unwrap()["code"], "output_blocked");
    }

    #[test]
    fn a_long_run_without_spaces_goes_out_in_steps() {
        let pieces: Vec<String> = (0..3000).map(|i| format!("{}", (b'a' + (i % 26) as u8) as char)).collect();
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let (steps, end) = live(&refs, block());
        let released: Vec<usize> = steps.iter().map(Vec::len).filter(|&n| n > 0).collect();
        assert!(released.len() >= 3, "held at most HOLD_MAX, released in steps: {released:?}");
        assert!(released.iter().all(|&n| n >= HOLD_MAX / 2 - 1), "{released:?}");
        let mut all: Vec<String> = steps.into_iter().flatten().collect();
        all.extend(end.lines);
        assert_eq!(all.concat(), stream(&refs));
    }

    proptest::proptest! {
        /// Whatever the chunks, what goes out is the stream's own chunks in order, each once: all
        /// of them when nothing leaks, and an error line last when something does.
        #[test]
        fn what_goes_out_is_the_stream_or_a_prefix_of_it_and_an_error(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("[a-zA-Z0-9 .,\n-]{0,12}").unwrap(),
                    proptest::strategy::Just("AKIA".to_string()),
                    proptest::strategy::Just("IOSFODNN7EXAMPLE".to_string()),
                    proptest::strategy::Just("-----BEGIN".to_string()),
                    proptest::strategy::Just(" PRIVATE KEY-----".to_string()),
                    proptest::strategy::Just(" 4111".to_string()),
                ],
                0..60,
            )
        ) {
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            let input: Vec<String> = stream(&refs).lines().map(|l| format!("{l}\n")).collect();
            let (steps, end) = live(&refs, block());
            let out: Vec<String> = steps.into_iter().flatten().chain(end.lines).collect();
            // Whatever a scan of the whole answer would block, the stream blocks.
            let whole = !over(&pii::scan(&content(&input)), &block()).is_empty();
            proptest::prop_assert!(!whole || !end.blocked.is_empty());
            if end.blocked.is_empty() {
                proptest::prop_assert_eq!(&out, &input);
            } else {
                let (last, before) = out.split_last().unwrap();
                proptest::prop_assert!(last.contains("output_blocked"));
                proptest::prop_assert_eq!(before, &input[..before.len()]);
                // And nothing it blocks went out before the cut.
                proptest::prop_assert!(over(&pii::scan(&content(before)), &block()).is_empty());
            }
        }
    }

    #[test]
    fn a_secret_in_a_tool_call_is_found_too() {
        let body = json!({"message": {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "upload", "arguments": {"token": "AKIAIOSFODNN7EXAMPLE"}}}]}})
        .to_string();
        assert!(!guard(&body, false, &block(), &flag()).blocked.is_empty());
    }
}
