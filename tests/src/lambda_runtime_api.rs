//! A stand-in for the Lambda runtime API a function binary talks to (`AWS_LAMBDA_RUNTIME_API`):
//! it hands out the events given to [`RuntimeApi::invoke`] on `GET …/invocation/next` and reads
//! what the function answers on `POST …/invocation/{id}/response` — a buffered payload, or, in
//! streaming mode, Lambda's format (the JSON prelude, eight NUL bytes, then the body in chunks),
//! which it hands back piece by piece with the time each piece arrived, as API Gateway's
//! streaming integration would pass it on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// What the function answered to one event.
pub enum Answer {
    /// A buffered response: the whole payload.
    Buffered(Value),
    /// A streamed response: its prelude, then the body as it arrives.
    Streamed { prelude: Value, body: mpsc::UnboundedReceiver<(Instant, Vec<u8>)> },
    /// `…/error`: the function reported a failure.
    Failed(Value),
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Answer>>>>;

pub struct RuntimeApi {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    events: mpsc::UnboundedSender<(String, Value)>,
    pending: Pending,
    counter: AtomicU64,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?.to_string();
        let (events, queue) = mpsc::unbounded_channel::<(String, Value)>();
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let pending: Pending = Arc::default();
        let answers = pending.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (queue, answers) = (queue.clone(), answers.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, queue, answers).await;
                });
            }
        });
        Ok(Self { address, events, pending, counter: AtomicU64::new(0) })
    }

    /// Start a function binary against this API, as Lambda would: the runtime's variables, the
    /// local AWS's endpoint and test credentials, then `vars` (its own configuration). Stopped
    /// when the returned handle is dropped.
    pub fn start_function(&self, binary: &std::path::Path, vars: &[(&str, &str)]) -> FunctionProcess {
        let child = std::process::Command::new(binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &self.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", binary.file_name().and_then(|n| n.to_str()).unwrap_or("function"))
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", crate::endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(vars.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
        FunctionProcess(child)
    }

    /// Give the function `event`; its answer once it begins (a stream's prelude has arrived).
    pub async fn invoke(&self, event: Value) -> Answer {
        let id = format!("invoke-{}", self.counter.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id.clone(), tx);
        self.events.send((id, event)).expect("the runtime API is running");
        rx.await.expect("the function answered")
    }
}

/// A function process, stopped however the test ends.
pub struct FunctionProcess(std::process::Child);

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(
    stream: TcpStream,
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>>,
    pending: Pending,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        if target.ends_with("/invocation/next") {
            let Some((id, event)) = queue.lock().await.recv().await else { return Ok(()) };
            let body = event.to_string();
            let deadline = chrono::Utc::now().timestamp_millis() + 300_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: {id}\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:request-validator\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            write.write_all(head.as_bytes()).await?;
            write.write_all(body.as_bytes()).await?;
            continue;
        }
        let id = target.split('/').rev().nth(1).unwrap_or_default().to_string();
        let answer_to = pending.lock().unwrap().remove(&id);
        let chunked = headers.get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if target.ends_with("/error") || !chunked {
            let mut body = vec![0u8; headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0)];
            reader.read_exact(&mut body).await?;
            let value = serde_json::from_slice(&body).unwrap_or(json!(String::from_utf8_lossy(&body)));
            if let Some(tx) = answer_to {
                let _ =
                    tx.send(if target.ends_with("/error") { Answer::Failed(value) } else { Answer::Buffered(value) });
            }
        } else {
            read_stream(&mut reader, answer_to).await?;
        }
        write.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}\n").await?;
    }
}

/// A streamed response: chunks until the prelude's delimiter, then the body as it comes.
async fn read_stream<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    answer_to: Option<oneshot::Sender<Answer>>,
) -> std::io::Result<()> {
    let mut answer_to = answer_to;
    let mut head = Vec::new();
    let mut body_to: Option<mpsc::UnboundedSender<(Instant, Vec<u8>)>> = None;
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).await?;
        let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        if n == 0 {
            // The last chunk, then trailers (a stream error is reported there) until a blank line.
            loop {
                let mut t = String::new();
                if reader.read_line(&mut t).await? == 0 || t.trim().is_empty() {
                    return Ok(());
                }
            }
        }
        let mut chunk = vec![0u8; n + 2];
        reader.read_exact(&mut chunk).await?;
        chunk.truncate(n);
        let at = Instant::now();
        match &body_to {
            Some(tx) => {
                let _ = tx.send((at, chunk));
            }
            None => {
                head.extend_from_slice(&chunk);
                if let Some(end) = head.windows(8).position(|w| w == [0u8; 8]) {
                    let prelude = serde_json::from_slice(&head[..end]).unwrap_or(Value::Null);
                    let (tx, rx) = mpsc::unbounded_channel();
                    let rest = head[end + 8..].to_vec();
                    if !rest.is_empty() {
                        let _ = tx.send((at, rest));
                    }
                    if let Some(answer) = answer_to.take() {
                        let _ = answer.send(Answer::Streamed { prelude, body: rx });
                    }
                    body_to = Some(tx);
                }
            }
        }
    }
}
