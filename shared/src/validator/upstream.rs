//! Forwarding to Ollama: plain HTTP/1.1 to the private fleet (behind an internal load balancer),
//! with a connect timeout, an overall timeout and a cap on the response size. A streamed answer
//! is opened ([`Upstream::open`]) and read chunk by chunk as Ollama writes it, within the same
//! deadline and cap.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("Ollama is unreachable: {0}")]
    Unreachable(String),
    #[error("Ollama did not answer within {0} s")]
    Timeout(u64),
    #[error("Ollama's response is over {0} bytes")]
    TooLarge(usize),
}

impl UpstreamError {
    /// The stable code a caller sees for this failure.
    pub fn code(&self) -> &'static str {
        match self {
            UpstreamError::Timeout(_) => "upstream_timeout",
            UpstreamError::TooLarge(_) => "upstream_response_too_large",
            UpstreamError::Unreachable(_) => "upstream_unavailable",
        }
    }
}

/// Where admitted requests go.
pub trait Upstream: Send + Sync {
    /// `POST path` with a JSON body.
    fn forward(
        &self,
        path: &'static str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<UpstreamResponse, UpstreamError>> + Send;

    /// `POST path` for an answer that streams: an error status is read whole; a success hands
    /// over the body to be read as it arrives.
    fn open(&self, path: &'static str, body: Vec<u8>) -> impl Future<Output = Result<Opened, UpstreamError>> + Send;

    /// `GET path` (the read-only listing calls).
    fn get(&self, path: &'static str) -> impl Future<Output = Result<UpstreamResponse, UpstreamError>> + Send;
}

/// An answer as it begins.
pub enum Opened {
    /// Ollama refused (an error status): its whole, short answer.
    Refused(UpstreamResponse),
    /// Ollama is answering: the chunks follow.
    Streaming(Chunks),
}

/// A streamed answer's body, read within the exchange's deadline and size cap.
pub struct Chunks {
    body: hyper::body::Incoming,
    deadline: tokio::time::Instant,
    timeout: Duration,
    received: usize,
    max_bytes: usize,
}

impl Chunks {
    /// The next piece of the body; `None` at its end.
    pub async fn next(&mut self) -> Option<Result<Bytes, UpstreamError>> {
        loop {
            let frame = match tokio::time::timeout_at(self.deadline, self.body.frame()).await {
                Err(_) => return Some(Err(UpstreamError::Timeout(self.timeout.as_secs()))),
                Ok(None) => return None,
                Ok(Some(Err(e))) => return Some(Err(UpstreamError::Unreachable(error_chain(&e)))),
                Ok(Some(Ok(frame))) => frame,
            };
            if let Ok(data) = frame.into_data() {
                self.received += data.len();
                if self.received > self.max_bytes {
                    return Some(Err(UpstreamError::TooLarge(self.max_bytes)));
                }
                return Some(Ok(data));
            }
        }
    }
}

#[derive(Clone)]
pub struct OllamaClient {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    max_response_bytes: usize,
}

impl OllamaClient {
    /// `base` is `http://host:port` (no trailing slash, no path).
    pub fn new(base: &str, connect_timeout: Duration, timeout: Duration, max_response_bytes: usize) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
        Self { base: base.trim_end_matches('/').to_string(), client, timeout, max_response_bytes }
    }
}

impl Upstream for OllamaClient {
    async fn forward(&self, path: &'static str, body: Vec<u8>) -> Result<UpstreamResponse, UpstreamError> {
        let request = Request::post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json, application/x-ndjson")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        self.exchange(request).await
    }

    async fn open(&self, path: &'static str, body: Vec<u8>) -> Result<Opened, UpstreamError> {
        let request = Request::post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/x-ndjson")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let response = tokio::time::timeout_at(deadline, self.client.request(request))
            .await
            .map_err(|_| UpstreamError::Timeout(self.timeout.as_secs()))?
            .map_err(|e| UpstreamError::Unreachable(error_chain(&e)))?;
        let status = response.status().as_u16();
        let content_type = content_type_of(&response);
        let mut chunks = Chunks {
            body: response.into_body(),
            deadline,
            timeout: self.timeout,
            received: 0,
            max_bytes: self.max_response_bytes,
        };
        if status < 400 {
            return Ok(Opened::Streaming(chunks));
        }
        let mut body = Vec::new();
        while let Some(piece) = chunks.next().await {
            body.extend_from_slice(&piece?);
        }
        Ok(Opened::Refused(UpstreamResponse { status, content_type, body }))
    }

    async fn get(&self, path: &'static str) -> Result<UpstreamResponse, UpstreamError> {
        let request = Request::get(format!("{}{path}", self.base))
            .header("accept", "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        self.exchange(request).await
    }
}

impl OllamaClient {
    /// One exchange, within the timeout and the response cap.
    async fn exchange(&self, request: Request<Full<Bytes>>) -> Result<UpstreamResponse, UpstreamError> {
        let exchange = async {
            let response =
                self.client.request(request).await.map_err(|e| UpstreamError::Unreachable(error_chain(&e)))?;
            let status = response.status().as_u16();
            let content_type = content_type_of(&response);
            let body = Limited::new(response.into_body(), self.max_response_bytes)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                        UpstreamError::TooLarge(self.max_response_bytes)
                    } else {
                        UpstreamError::Unreachable(e.to_string())
                    }
                })?
                .to_bytes()
                .to_vec();
            Ok(UpstreamResponse { status, content_type, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| UpstreamError::Timeout(self.timeout.as_secs()))?
    }
}

fn content_type_of<B>(response: &hyper::Response<B>) -> String {
    response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("application/json").to_string()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
