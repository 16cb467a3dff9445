//! A small HTTP/1.1 client for talking to the server under test.

use bytes::Bytes;
pub use http::Method;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

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

    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
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

pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> anyhow::Result<Response> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = client
        .request(req.body(Full::new(Bytes::from(body)))?)
        .await?;
    let (parts, body) = res.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// `method url` the way a Vault client sends it: `Content-Type: application/json`,
/// `X-Vault-Token` when `token` is given, and the JSON `body` (no body when `Null`).
pub async fn vault(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> anyhow::Result<Response> {
    vault_typed(method, url, token, "application/json", body).await
}

/// As [`vault`] with a chosen `Content-Type`.
pub async fn vault_typed(
    method: Method,
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: &serde_json::Value,
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

pub async fn get(url: &str) -> anyhow::Result<Response> {
    send(Method::GET, url, &[], vec![]).await
}
