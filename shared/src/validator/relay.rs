//! A streamed answer relayed as it is written: Ollama's NDJSON is read chunk by chunk, each line
//! passes the output guard ([`StreamGuard`]) and goes to the caller as soon as it is known to be
//! clean — as NDJSON on the native routes, as server-sent events on `/v1`. A leak, a timeout, an
//! answer over the size cap or a broken connection ends the stream with one error line the
//! client raises. What happened comes last, as the [`Outcome`] the log line and metrics need.

use std::time::Instant;

use bytes::Bytes;
use serde_json::json;
use tokio::sync::mpsc;

use crate::http::HttpResponse;
use crate::validator::guard::Category;
use crate::validator::openai::SseEvents;
use crate::validator::output::StreamGuard;
use crate::validator::service::Outcome;
use crate::validator::upstream::Chunks;

/// One piece of a streamed reply.
#[derive(Debug)]
pub enum Piece {
    /// Bytes for the caller, in order.
    Data(Bytes),
    /// The stream is over: what happened (sent after the last data).
    Done(Box<Outcome>),
}

/// What a request is answered with: whole, or a head now and the body as it comes.
pub enum Served {
    Whole(HttpResponse, Box<Outcome>),
    /// The status and headers (`body` is empty), then the pieces.
    Streaming(HttpResponse, mpsc::Receiver<Piece>),
}

impl Served {
    /// The reply read to its end, as one response (tests and tools; a stream's outcome is known
    /// only at its end).
    pub async fn collect(self) -> (HttpResponse, Outcome) {
        match self {
            Served::Whole(response, outcome) => (response, *outcome),
            Served::Streaming(mut head, mut pieces) => {
                let mut body = Vec::new();
                let mut outcome = None;
                while let Some(piece) = pieces.recv().await {
                    match piece {
                        Piece::Data(bytes) => body.extend_from_slice(&bytes),
                        Piece::Done(o) => outcome = Some(*o),
                    }
                }
                head.body = String::from_utf8_lossy(&body).into_owned();
                let outcome = outcome.expect("a relayed stream always ends with its outcome");
                (head, outcome)
            }
        }
    }
}

/// How the caller reads the stream.
pub enum Framing {
    /// Ollama's own NDJSON, line for line.
    Ndjson,
    /// OpenAI's server-sent events.
    Sse(SseEvents),
}

impl Framing {
    fn frame(&mut self, line: &str) -> String {
        match self {
            Framing::Ndjson => line.to_string(),
            Framing::Sse(events) => events.event(line),
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self {
            Framing::Ndjson => "application/x-ndjson",
            Framing::Sse(_) => "text/event-stream",
        }
    }
}

/// Pieces in flight between Ollama and the caller: small, so a slow caller slows the reading
/// (and Ollama) instead of filling memory.
pub const PIECES_IN_FLIGHT: usize = 32;

/// Relay `chunks` to `to` through `guard`, then send the outcome. A caller that goes away stops
/// the reading: dropping `chunks` closes the connection, which stops Ollama generating.
pub async fn relay(
    mut chunks: Chunks,
    mut guard: StreamGuard,
    mut framing: Framing,
    mut outcome: Outcome,
    upstream_started: Instant,
    to: mpsc::Sender<Piece>,
) {
    let first_byte = std::sync::OnceLock::new();
    let send = |text: String| {
        let to = to.clone();
        let first_byte = &first_byte;
        async move {
            if text.is_empty() {
                return true;
            }
            first_byte.get_or_init(|| upstream_started.elapsed().as_millis() as u64);
            to.send(Piece::Data(Bytes::from(text))).await.is_ok()
        }
    };
    let mut line = Vec::new();
    let mut failure = None;
    let mut caller_left = false;
    'reading: while !guard.is_cut() {
        match chunks.next().await {
            None => break,
            Some(Err(e)) => {
                failure = Some(e);
                break;
            }
            Some(Ok(bytes)) => {
                let mut rest = &bytes[..];
                while let Some(at) = rest.iter().position(|&b| b == b'\n') {
                    line.extend_from_slice(&rest[..=at]);
                    rest = &rest[at + 1..];
                    let text = String::from_utf8_lossy(&line).into_owned();
                    line.clear();
                    if text.trim().is_empty() {
                        continue;
                    }
                    for out in guard.push(&text) {
                        if !send(framing.frame(&out)).await {
                            caller_left = true;
                            break 'reading;
                        }
                    }
                }
                line.extend_from_slice(rest);
            }
        }
    }
    drop(chunks);
    if !caller_left {
        if !line.is_empty() && !guard.is_cut() {
            // A last line without its newline.
            let last = String::from_utf8_lossy(&line).into_owned();
            for out in guard.push(&last) {
                send(framing.frame(&out)).await;
            }
        }
        let cut_before = guard.is_cut();
        let end = guard.finish();
        for out in end.lines {
            send(framing.frame(&out)).await;
        }
        outcome.pii |= end.blocked.iter().chain(&end.flagged).any(|f| f.kind.category() == Category::Pii);
        outcome.flagged.extend(end.flagged);
        if !end.blocked.is_empty() {
            // Logged as a SECURITY_WARNING with the kinds (never the text).
            outcome.reason = Some("output_blocked");
            outcome.findings = end.blocked;
        } else if let Some(e) = failure.filter(|_| !cut_before) {
            let code = e.code();
            tracing::error!(error = %e, "the answer stopped before its end");
            outcome.reason = Some(code);
            let mut error =
                json!({"error": format!("the answer stopped before its end: {e}"), "code": code}).to_string();
            error.push('\n');
            send(framing.frame(&error)).await;
        }
        if matches!(framing, Framing::Sse(_)) {
            send(SseEvents::END.to_string()).await;
        }
    } else {
        outcome.reason = Some("caller_disconnected");
    }
    outcome.upstream_ms = Some(upstream_started.elapsed().as_millis() as u64);
    outcome.first_byte_ms = first_byte.get().copied();
    let _ = to.send(Piece::Done(Box::new(outcome))).await;
}
