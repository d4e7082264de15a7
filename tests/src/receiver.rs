//! A real HTTP receiver for alert tests: records every request (method,
//! path, headers, body, arrival time) and answers from a script per path
//! prefix (a status with headers, or a hang that never answers), else 200.
//! Paths under `/discord` answer like Discord's `?wait=true`: the message
//! with an `id`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answer `status` with `headers` and `body`.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Never answer (the sender times out or dies waiting).
    Hang,
}

impl Reply {
    /// A bare status with a text body.
    pub fn status(status: u16, body: &str) -> Self {
        Reply::Status {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    /// 429 with `Retry-After: seconds`.
    pub fn too_many(seconds: u64) -> Self {
        Reply::Status {
            status: 429,
            headers: vec![("retry-after".into(), seconds.to_string())],
            body: "rate limited".into(),
        }
    }
}

/// A request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status answered, or `None` for a hang.
    pub answered: Option<u16>,
}

impl Recorded {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Whether it was answered with a 2xx.
    pub fn accepted(&self) -> bool {
        self.answered.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    scripts: Vec<(String, VecDeque<Reply>)>,
}

/// The running receiver (stops when dropped).
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("receiver address");
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, inner, task }
    }

    /// `http://addr{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Queues answers for requests whose path starts with `prefix`.
    pub fn script(&self, prefix: &str, replies: impl IntoIterator<Item = Reply>) {
        let mut inner = self.inner.lock().expect("receiver lock");
        inner
            .scripts
            .push((prefix.to_owned(), replies.into_iter().collect()));
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().expect("receiver lock").requests.clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }

    /// Waits until `count` requests to `prefix` arrived; panics after `timeout`.
    pub async fn wait_for(&self, prefix: &str, count: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.requests_to(prefix);
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{count} request(s) to {prefix} expected within {timeout:?}, got {}: {:?}",
                got.len(),
                got.iter()
                    .map(|r| (&r.method, &r.path, r.answered))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let reply = {
        let mut inner = inner.lock().expect("receiver lock");
        let reply = inner
            .scripts
            .iter_mut()
            .find(|(prefix, queue)| path.starts_with(prefix.as_str()) && !queue.is_empty())
            .and_then(|(_, queue)| queue.pop_front());
        let reply = reply.unwrap_or_else(|| {
            if path.starts_with("/discord") {
                let id = format!("msg-{}", inner.requests.len() + 1);
                Reply::Status {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: serde_json::json!({"id": id, "channel_id": "1"}).to_string(),
                }
            } else {
                Reply::status(200, "ok")
            }
        });
        inner.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().unwrap_or("").to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        v.to_str().unwrap_or("").to_owned(),
                    )
                })
                .collect(),
            body: body.to_vec(),
            at: Instant::now(),
            answered: match &reply {
                Reply::Status { status, .. } => Some(*status),
                Reply::Hang => None,
            },
        });
        reply
    };
    match reply {
        Reply::Hang => {
            // Never answers; the connection ends when the sender gives up.
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
        Reply::Status {
            status,
            headers,
            body,
        } => {
            let mut response =
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    axum::http::HeaderName::from_bytes(name.as_bytes()),
                    axum::http::HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
    }
}
