//! The pages behind the links: complete HTML with no script and no external resource.

use crate::approval::token::SigningKey;
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

/// The confirmation page: what will happen, the evidence, and the two buttons. Rendering it
/// changes nothing.
pub fn confirmation_page(request: &ApprovalRequest, key: &SigningKey) -> String {
    let expires = request.expires_at.timestamp();
    let steps: String = request.will_do.iter().map(|s| format!("<li>{}</li>", html_escape(s))).collect();
    let form = |decision: Decision, label: &str, class: &str| {
        format!(
            r#"<form method="post" action="">
<input type="hidden" name="request" value="{id}">
<input type="hidden" name="decision" value="{d}">
<input type="hidden" name="expires" value="{expires}">
<input type="hidden" name="token" value="{token}">
<button type="submit" class="{class}">{label}</button>
</form>"#,
            id = html_escape(&request.id),
            d = decision.as_str(),
            token = key.sign(&request.id, decision, expires),
        )
    };
    let body = format!(
        r#"<h1>{title}</h1>
<p>Warden asks for a decision. Nothing has been done yet, and opening this page changes nothing.</p>
<dl>
<dt>Why</dt><dd>{why}</dd>
<dt>If you approve</dt><dd><ol>{steps}</ol></dd>
<dt>Asked by</dt><dd>{by}, {created}</dd>
<dt>Expires</dt><dd>{expires_at}</dd>
</dl>
<div class="actions" role="group" aria-label="Decision">
{approve}
{reject}
</div>"#,
        title = html_escape(&request.action.label()),
        why = html_escape(&request.why),
        by = html_escape(&request.requested_by),
        created = human_time(request.created_at),
        expires_at = human_time(request.expires_at),
        approve = form(Decision::Approve, "Approve", "approve"),
        reject = form(Decision::Reject, "Reject", "reject"),
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
