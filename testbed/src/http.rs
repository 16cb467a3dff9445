//! The one HTTP/1.1 client of the harness (hyper), and the one way a `/v1` call is sent:
//! [`vault_typed`] (the JSON body, `Content-Type`, `X-Vault-Token`), answered as a
//! [`Response`] or, read as Vault's envelope, a [`Reply`]. [`Client`] keeps its
//! connections alive (the benchmarks); the free functions open a fresh one per call.

use bytes::Bytes;
pub use http::Method;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body).map_err(|e| {
            anyhow::anyhow!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A keep-alive HTTP/1.1 client (plain HTTP).
#[derive(Clone)]
pub struct Client(hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>);

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl Client {
    pub fn new() -> Client {
        Client(
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http(),
        )
    }

    /// `method url` with `headers` and `body`; the whole answer.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> anyhow::Result<Response> {
        let mut req = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self.0.request(req.body(Full::new(body.into()))?).await?;
        let (parts, body) = res.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// [`Client::send`] on a fresh connection.
pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> anyhow::Result<Response> {
    Client::new().send(method, url, headers, body).await
}

pub async fn get(url: &str) -> anyhow::Result<Response> {
    send(Method::GET, url, &[], vec![]).await
}

/// `method url` the way a Vault client sends it: `Content-Type: application/json`,
/// `X-Vault-Token` when `token` is given, and the JSON `body` (no body when `Null`).
pub async fn vault(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Response> {
    vault_typed(method, url, token, "application/json", body).await
}

/// As [`vault`] with a chosen `Content-Type`.
pub async fn vault_typed(
    method: Method,
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: &Value,
) -> anyhow::Result<Response> {
    let mut headers = vec![("content-type", content_type)];
    if let Some(t) = token {
        headers.push(("x-vault-token", t));
    }
    let bytes = if body.is_null() {
        vec![]
    } else {
        body.to_string().into_bytes()
    };
    send(method, url, &headers, bytes).await
}

/// As [`vault`], read as a [`Reply`]: never fails on a status, only when the server
/// cannot be reached.
pub async fn call(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<Reply> {
    Ok(vault(method, url, token, &body).await?.into())
}

/// One answer: the status and the JSON body (`Null` when empty or not JSON; `text` has
/// the raw body).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
    /// `Location`, for redirects.
    pub location: Option<String>,
}

impl From<Response> for Reply {
    fn from(res: Response) -> Reply {
        let text = res.text();
        Reply {
            status: res.status.as_u16(),
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            location: res.header("location").map(String::from),
            text,
        }
    }
}

impl Reply {
    /// The reply itself when the status is 2xx, else an error naming `what` (e.g. the
    /// method and path) with the status and body.
    pub fn ok(self, what: &str) -> anyhow::Result<Reply> {
        if !(200..300).contains(&self.status) {
            anyhow::bail!("{what}: {} {}", self.status, self.text);
        }
        Ok(self)
    }

    /// Vault's `errors` joined with "; " (empty when there are none).
    pub fn errors(&self) -> String {
        self.body["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    pub fn warnings(&self) -> Vec<String> {
        self.body["warnings"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `body.data`.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
}
