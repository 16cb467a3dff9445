//! The setup wizard's HTTP: its Vault calls (the transport `shared::setup::apply` runs
//! the plan over: `/v1/*` with the session cookie and the CSRF header), `/api/setup/verify`
//! and `/api/setup/export/{kind}`, and the CA chain for the exports.

use gloo_net::http::{Method, RequestBuilder};
use serde_json::Value;
use shared::setup::WizardState;
use shared::setup::apply::Vault;
use shared::setup::verify::{VerifyReport, VerifyRequest};

use super::{ApiError, CSRF_HEADER, csrf_token, refused, send};

/// The wizard's calls through `/v1/*`.
pub struct Transport;

impl Vault for Transport {
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        // `LIST` is sent as Vault's `GET ?list=true`, which every client and proxy passes.
        let (method, url) = match method {
            "LIST" => (Method::GET, format!("/v1/{path}?list=true")),
            "GET" => (Method::GET, format!("/v1/{path}")),
            "PUT" => (Method::PUT, format!("/v1/{path}")),
            "DELETE" => (Method::DELETE, format!("/v1/{path}")),
            _ => (Method::POST, format!("/v1/{path}")),
        };
        let mut req = RequestBuilder::new(&url).method(method.clone());
        if let Some(token) = csrf_token().filter(|_| method != Method::GET) {
            req = req.header(CSRF_HEADER, &token);
        }
        let res = match body.filter(|_| method != Method::GET) {
            Some(b) => req.json(&b).map_err(|e| e.to_string())?.send().await,
            None => req.send().await,
        }
        .map_err(|e| format!("the console server could not be reached: {e}"))?;
        let status = res.status();
        if status == 401 {
            refused();
        }
        let text = res.text().await.unwrap_or_default();
        let json = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Ok((status, json))
    }
}

/// `POST /api/setup/verify`.
pub async fn verify(req: &VerifyRequest) -> Result<VerifyReport, ApiError> {
    send(Method::POST, "/api/setup/verify", Some(req)).await
}

/// `POST /api/setup/export/{kind}`: the file's text.
pub async fn export(kind: &str, state: &WizardState, ca_chain: &str) -> Result<String, ApiError> {
    let mut req = RequestBuilder::new(&format!("/api/setup/export/{kind}")).method(Method::POST);
    if let Some(token) = csrf_token() {
        req = req.header(CSRF_HEADER, &token);
    }
    let body = serde_json::json!({ "state": state, "ca_chain": ca_chain });
    let res = req
        .json(&body)
        .map_err(|e| ApiError::Decode(e.to_string()))?
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        let messages = serde_json::from_str::<shared::api::ErrorBody>(&text)
            .map(|b| b.errors)
            .unwrap_or_default();
        return Err(ApiError::Status { status, messages });
    }
    Ok(text)
}

/// The intermediate mount's CA chain as PEM (`<mount>/ca_chain`, unauthenticated);
/// empty when the mount has none yet.
pub async fn ca_chain(mount: &str) -> String {
    match RequestBuilder::new(&format!("/v1/{mount}/ca_chain"))
        .method(Method::GET)
        .send()
        .await
    {
        Ok(res) if res.ok() => res.text().await.unwrap_or_default(),
        _ => String::new(),
    }
}
