//! The only module that talks HTTP. Every call returns a typed result; errors carry the
//! server's own words (Vault's `errors` list) so pages can show them as they are.
//!
//! Writes carry the session's CSRF token in `X-CSRF-Token`; the token lives only in this
//! module's memory (never in browser storage) and comes from `/api/session`.

pub mod certs;
pub mod k8s;
pub mod overview;
pub mod session;
pub mod setup;
pub mod trust;
pub mod vault;

use std::cell::RefCell;
use std::rc::Rc;

use gloo_net::http::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::api::{ErrorBody, Health};

/// Header that state-changing requests with the session cookie must carry.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

thread_local! {
    static CSRF_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    static ON_REFUSED: RefCell<Option<Rc<dyn Fn()>>> = const { RefCell::new(None) };
}

/// Called whenever the Vault API (or the certificate index) refuses a request for want of a valid token (401/403):
/// the session layer then checks whether the session itself is gone.
pub fn on_refused(f: impl Fn() + 'static) {
    ON_REFUSED.with(|h| *h.borrow_mut() = Some(Rc::new(f)));
}

fn refused() {
    if let Some(f) = ON_REFUSED.with(|h| h.borrow().clone()) {
        f();
    }
}

/// Remembers (or forgets) the CSRF token of the current session.
pub fn set_csrf_token(token: Option<String>) {
    CSRF_TOKEN.with(|t| *t.borrow_mut() = token);
}

fn csrf_token() -> Option<String> {
    CSRF_TOKEN.with(|t| t.borrow().clone())
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The request never got an answer (server down, network gone).
    #[error("the console server could not be reached: {0}")]
    Network(String),
    /// The server answered with an error status.
    #[error("{status}: {}", if messages.is_empty() { "no details".to_string() } else { messages.join("; ") })]
    Status { status: u16, messages: Vec<String> },
    /// The server answered 2xx with a body we could not read.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Sends a request; a JSON `body` is sent for writes. 204 reads as JSON `null`.
pub async fn send<T: DeserializeOwned>(
    method: Method,
    url: &str,
    body: Option<&impl Serialize>,
) -> Result<T, ApiError> {
    let mut req = RequestBuilder::new(url).method(method.clone());
    if let Some(token) = csrf_token().filter(|_| method != Method::GET) {
        req = req.header(CSRF_HEADER, &token);
    }
    let res = match body {
        Some(b) => {
            req.json(b)
                .map_err(|e| ApiError::Decode(e.to_string()))?
                .send()
                .await
        }
        None => req.send().await,
    }
    .map_err(|e| ApiError::Network(e.to_string()))?;
    if !res.ok() {
        let messages = res
            .json::<ErrorBody>()
            .await
            .map(|b| b.errors)
            .unwrap_or_default();
        // The certificate index authenticates with the session too: its refusals may
        // mean the session ended, as `/v1`'s do.
        if matches!(res.status(), 401 | 403)
            && (url.starts_with("/v1/") || url.starts_with(shared::api::certs::PATH))
        {
            refused();
        }
        return Err(ApiError::Status {
            status: res.status(),
            messages,
        });
    }
    if res.status() == 204 {
        return serde_json::from_value(serde_json::Value::Null)
            .map_err(|e| ApiError::Decode(e.to_string()));
    }
    res.json::<T>()
        .await
        .map_err(|e| ApiError::Decode(e.to_string()))
}

pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    send::<T>(Method::GET, url, None::<&()>).await
}

/// `GET /healthz`.
pub async fn health() -> Result<Health, ApiError> {
    get_json("/healthz").await
}
