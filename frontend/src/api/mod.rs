//! The only module that talks HTTP. Every call returns a typed result; errors carry the
//! server's own words (Vault's `errors` list) so pages can show them as they are.

use shared::api::{ErrorBody, Health};

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

async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    let res = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    if !res.ok() {
        let messages = res
            .json::<ErrorBody>()
            .await
            .map(|b| b.errors)
            .unwrap_or_default();
        return Err(ApiError::Status {
            status: res.status(),
            messages,
        });
    }
    res.json::<T>()
        .await
        .map_err(|e| ApiError::Decode(e.to_string()))
}

/// `GET /healthz`.
pub async fn health() -> Result<Health, ApiError> {
    get_json("/healthz").await
}
