//! Logging: `tracing` with JSON lines (CloudWatch Logs Insights parses them), level from
//! `RUST_LOG` (or Lambda's `AWS_LAMBDA_LOG_LEVEL`), default `info`. `WARDEN_LOG_FORMAT=text`
//! gives human-readable lines for local runs.

use tracing_subscriber::filter::{EnvFilter, LevelFilter};

pub fn init() {
    let level =
        std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::builder().with_default_directive(LevelFilter::INFO.into()).parse_lossy(level);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    let text = std::env::var("WARDEN_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = if text {
        builder.with_ansi(false).try_init()
    } else {
        builder.json().flatten_event(true).with_current_span(false).try_init()
    };
}
