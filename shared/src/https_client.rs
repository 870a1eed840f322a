//! The one outbound HTTPS client for services that are not reached through an AWS SDK client:
//! the approvers' OpenID Connect provider, and STS for caller proofs. rustls with the system's
//! roots (the SDK's aws-lc crypto), a deadline per request, and a cap on what is read back.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Answers larger than this are refused (a JWKS or an STS answer is a few KB).
const MAX_ANSWER_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct HttpsClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpsClient {
    /// `http://` is accepted too, for local test services; callers decide which URLs they send to.
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("no trusted root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        // No idle connections kept: requests are minutes apart, and a server closing an idle
        // connection as a request starts would lose a one-time value (an OIDC code).
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(https);
        Ok(Self { client, timeout })
    }

    /// Send one request: the status and the body, or why not (with the error's causes).
    pub async fn send(&self, request: http::Request<Full<Bytes>>) -> Result<(u16, Bytes), String> {
        let uri = request.uri().to_string();
        let answer = tokio::time::timeout(self.timeout, async {
            let response = self.client.request(request).await.map_err(|e| {
                let mut why = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    why.push_str(&format!(": {s}"));
                    source = s.source();
                }
                why
            })?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        })
        .await
        .map_err(|_| format!("{uri} did not answer within {} s", self.timeout.as_secs()))?;
        answer.map_err(|e| format!("{uri}: {e}"))
    }
}
