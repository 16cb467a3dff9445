//! Console sessions: sign in with a Vault token (or a userpass login), read and end the
//! session (`/api/session`). The token goes to the server once, in the sign-in request,
//! and is never kept here; the server keeps it in an HttpOnly cookie. The CSRF token it
//! answers with is remembered in this module's memory for later writes.

use gloo_net::http::Method;
use serde::{Deserialize, Serialize};

use super::{ApiError, send, set_csrf_token};

const URL: &str = "/api/session";

/// Who is signed in, as `GET /api/session` tells it. Never holds the token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SessionInfo {
    #[serde(default)]
    pub signed_in: bool,
    /// `embedded` or `upstream`.
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub policies: Vec<String>,
    /// Seconds the token had left when the server answered; 0 for a token that never
    /// expires.
    #[serde(default)]
    pub ttl: i64,
    #[serde(default)]
    pub expire_time: Option<String>,
    #[serde(default)]
    pub accessor: String,
    /// When the console session ends (RFC 3339).
    #[serde(default)]
    pub session_expire_time: Option<String>,
    /// Why there is no session, when there was one (expired, revoked).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(flatten)]
    info: SessionInfo,
    #[serde(default)]
    csrf_token: Option<String>,
}

fn remember(w: Wire) -> SessionInfo {
    set_csrf_token(w.csrf_token.filter(|_| w.info.signed_in));
    w.info
}

#[derive(Serialize)]
#[serde(untagged)]
enum Credentials<'a> {
    Token {
        token: &'a str,
    },
    Password {
        username: &'a str,
        password: &'a str,
    },
}

/// `GET /api/session`: the current session, or `signed_in: false`.
pub async fn current() -> Result<SessionInfo, ApiError> {
    let w: Wire = send(Method::GET, URL, None::<&()>).await?;
    Ok(remember(w))
}

/// `POST /api/session` with a Vault token.
pub async fn sign_in_with_token(token: &str) -> Result<SessionInfo, ApiError> {
    let w: Wire = send(
        Method::POST,
        URL,
        Some(&Credentials::Token {
            token: token.trim(),
        }),
    )
    .await?;
    Ok(remember(w))
}

/// `POST /api/session` with a userpass login (needs the userpass auth method upstream).
pub async fn sign_in_with_password(
    username: &str,
    password: &str,
) -> Result<SessionInfo, ApiError> {
    let w: Wire = send(
        Method::POST,
        URL,
        Some(&Credentials::Password {
            username: username.trim(),
            password,
        }),
    )
    .await?;
    Ok(remember(w))
}

/// `DELETE /api/session`: ends the session (the token itself stays valid in Vault).
pub async fn sign_out() -> Result<(), ApiError> {
    let _: serde_json::Value = send(Method::DELETE, URL, None::<&()>).await?;
    set_csrf_token(None);
    Ok(())
}
