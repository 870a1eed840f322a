//! An API Gateway stand-in for real clients: a local HTTP/1.1 server that turns each request into
//! the REST proxy event API Gateway would send (payload 1.0, the caller authenticated by a Lambda
//! authorizer) and writes back the proxy response. Clients (ollama-python, ollama-js, …) point
//! their host at it as they would at the API's URL. Authentication is a bearer key: a known key
//! becomes the authorizer's `principalId` and `use_case`; no key or an unknown one, no authorizer
//! context (the validator answers 401), as an authorizer that denies would. Replies are written as
//! API Gateway's streaming integration writes them: the status and headers, then the body in
//! chunks as the function produces it (chunked transfer encoding).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use warden::validator::relay::{Piece, Served};

/// The API's id and account in every event (what `WARDEN_API_ID` / `WARDEN_API_ACCOUNT_ID` pin).
pub const API_ID: &str = "a1b2c3d4e5";
pub const ACCOUNT_ID: &str = "123456789012";

/// A bearer key's caller and use case.
#[derive(Clone, Debug)]
pub struct Principal {
    pub caller: String,
    pub use_case: String,
}

pub struct GatewayFront {
    pub url: String,
}

impl GatewayFront {
    /// Serve on a free port of 127.0.0.1; `handler` gets each proxy event and answers with the
    /// validator's reply, whole or streaming.
    pub async fn start<F, Fut>(keys: HashMap<String, Principal>, handler: F) -> std::io::Result<Self>
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Served> + Send,
    {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new((keys, handler, AtomicU64::new(0)));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let (keys, handler, counter) = &*shared;
                    let _ = serve(stream, keys, handler, counter).await;
                });
            }
        });
        Ok(Self { url })
    }
}

async fn serve<F, Fut>(
    stream: TcpStream,
    keys: &HashMap<String, Principal>,
    handler: &F,
    counter: &AtomicU64,
) -> std::io::Result<()>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Served>,
{
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        // The request line and headers.
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or("GET").to_string(), parts.next().unwrap_or("/").to_string());
        let mut headers = serde_json::Map::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), json!(value.trim()));
            }
        }
        let header = |name: &str| headers.get(name).and_then(Value::as_str).unwrap_or("").to_string();
        let body = if header("transfer-encoding").eq_ignore_ascii_case("chunked") {
            read_chunked(&mut reader).await?
        } else {
            let mut body = vec![0u8; header("content-length").parse().unwrap_or(0)];
            reader.read_exact(&mut body).await?;
            body
        };
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let principal = header("authorization").strip_prefix("Bearer ").and_then(|key| keys.get(key.trim()));
        let authorizer = match principal {
            Some(p) => json!({"principalId": p.caller, "use_case": p.use_case}),
            None => json!({}),
        };
        let query: serde_json::Map<String, Value> = form_pairs(query).into_iter().map(|(k, v)| (k, json!(v))).collect();
        let id = counter.fetch_add(1, Ordering::Relaxed);
        let event = json!({
            "resource": "/{proxy+}", "path": path, "httpMethod": method,
            "headers": headers.clone(), "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
            "body": String::from_utf8_lossy(&body), "isBase64Encoded": false,
            "requestContext": {
                "requestId": format!("front-{id}"), "stage": "prod", "apiId": API_ID, "accountId": ACCOUNT_ID,
                "httpMethod": method, "path": format!("/prod{path}"),
                "identity": {"sourceIp": "127.0.0.1", "userAgent": header("user-agent")},
                "authorizer": authorizer,
            },
        });
        let (response, mut pieces) = match handler(event).await {
            Served::Whole(response, _) => (response, None),
            Served::Streaming(head, pieces) => (head, Some(pieces)),
        };
        let status = u64::from(response.status);
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (name, value) in response.header_pairs() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        match pieces.as_mut() {
            None => {
                head.push_str(&format!("content-length: {}\r\n\r\n", response.body.len()));
                write.write_all(head.as_bytes()).await?;
                write.write_all(response.body.as_bytes()).await?;
            }
            Some(pieces) => {
                head.push_str("transfer-encoding: chunked\r\n\r\n");
                write.write_all(head.as_bytes()).await?;
                write.flush().await?;
                while let Some(piece) = pieces.recv().await {
                    if let Piece::Data(bytes) = piece {
                        if bytes.is_empty() {
                            continue;
                        }
                        write.write_all(format!("{:x}\r\n", bytes.len()).as_bytes()).await?;
                        write.write_all(&bytes).await?;
                        write.write_all(b"\r\n").await?;
                        write.flush().await?;
                    }
                }
                write.write_all(b"0\r\n\r\n").await?;
            }
        }
        if header("connection").eq_ignore_ascii_case("close") {
            return Ok(());
        }
    }
}

async fn read_chunked<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).await?;
        let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0u8; n + 2]; // the chunk and its CRLF
        reader.read_exact(&mut chunk).await?;
        if n == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..n]);
    }
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn reason(status: u64) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
