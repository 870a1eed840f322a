//! The pages behind the links: complete HTML with no script and no external resource.

use crate::approval::flow::TokenFields;
use crate::approval::{ApprovalRequest, Decision};
use crate::notify::human_time;

/// Escape text for HTML bodies and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A complete, accessible page: no script, no external resources.
pub fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{title} · Warden</title>
<style>
body{{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}}
h1{{font-size:1.5rem}} dt{{font-weight:600}} dd{{margin:0 0 .75rem 0}}
.actions{{display:flex;gap:1rem;margin-top:1.5rem}} form{{margin:0}}
button{{font-size:1rem;padding:.6rem 1.4rem;border-radius:.3rem;border:2px solid #1a1a1a;cursor:pointer}}
button.approve{{background:#0b6e2b;color:#fff;border-color:#0b6e2b}} button.reject{{background:#fff;color:#8a1111;border-color:#8a1111}}
button:focus{{outline:3px solid #f5b800;outline-offset:2px}}
.notice{{padding:.75rem 1rem;border-left:4px solid #8a1111;background:#fdf1f1}} .ok{{border-color:#0b6e2b;background:#eef8f1}}
</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"#,
        title = html_escape(title)
    )
}

/// The fields every form carries: the link's own request, decision, expiry and token.
fn link_fields(fields: &TokenFields) -> String {
    format!(
        r#"<input type="hidden" name="request" value="{}">
<input type="hidden" name="decision" value="{}">
<input type="hidden" name="expires" value="{}">
<input type="hidden" name="token" value="{}">"#,
        html_escape(&fields.request),
        html_escape(&fields.decision),
        html_escape(&fields.expires),
        html_escape(&fields.token)
    )
}

/// What the request is about: the evidence and what a decision does.
fn request_facts(request: &ApprovalRequest) -> String {
    let steps: String = request.will_do.iter().map(|s| format!("<li>{}</li>", html_escape(s))).collect();
    format!(
        r#"<dl>
<dt>Why</dt><dd>{why}</dd>
<dt>If approved</dt><dd><ol>{steps}</ol></dd>
<dt>Asked by</dt><dd>{by}, {created}</dd>
<dt>Expires</dt><dd>{expires_at}</dd>
</dl>"#,
        why = html_escape(&request.why),
        by = html_escape(&request.requested_by),
        created = human_time(request.created_at),
        expires_at = human_time(request.expires_at),
    )
}

fn verb(decision: Decision) -> (&'static str, &'static str) {
    match decision {
        Decision::Approve => ("approve", "approve"),
        Decision::Reject => ("reject", "reject"),
    }
}

/// The page of a link: what is asked, and the one button of the link's own decision, which
/// starts signing in. Rendering it changes nothing.
pub fn confirmation_page(request: &ApprovalRequest, decision: Decision, fields: &TokenFields) -> String {
    let (word, class) = verb(decision);
    let body = format!(
        r#"<h1>{title}</h1>
<p>Warden asks for a decision. Nothing has been done yet, and opening this page changes nothing.
Deciding takes signing in with your organisation's account; only approvers of this kind of
action can.</p>
{facts}
<form method="post" action="">
{link}
<input type="hidden" name="step" value="sign_in">
<button type="submit" class="{class}">Sign in to {word}</button>
</form>"#,
        title = html_escape(&request.action.label()),
        facts = request_facts(request),
        link = link_fields(fields),
    );
    page(&request.action.label(), &body)
}

/// After signing in: who is deciding, and the one button that decides, as them.
pub fn signed_in_page(
    request: &ApprovalRequest,
    decision: Decision,
    fields: &TokenFields,
    person: &str,
    confirmation: &str,
) -> String {
    let (word, class) = verb(decision);
    let label = if decision == Decision::Approve { "Approve" } else { "Reject" };
    let body = format!(
        r#"<h1>{title}</h1>
<p>Signed in as <strong>{person}</strong>. Pressing the button will {word} this request, once,
recorded as your decision.</p>
{facts}
<form method="post" action="">
{link}
<input type="hidden" name="step" value="confirm">
<input type="hidden" name="confirmation" value="{confirmation}">
<button type="submit" class="{class}">{label}</button>
</form>"#,
        title = html_escape(&request.action.label()),
        person = html_escape(person),
        facts = request_facts(request),
        link = link_fields(fields),
        confirmation = html_escape(confirmation),
    );
    page(&request.action.label(), &body)
}

/// A page that says what was decided and what happened (or why nothing happened).
pub fn outcome_page(title: &str, message: &str, ok: bool) -> String {
    let class = if ok { "notice ok" } else { "notice" };
    page(
        title,
        &format!(r#"<h1>{}</h1><p class="{class}" role="status">{}</p>"#, html_escape(title), html_escape(message)),
    )
}
