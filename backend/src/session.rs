//! Console sessions: a Vault token exchanged for a sealed cookie, so the browser never
//! holds the token where script can read it.
//!
//! - `POST /api/session` takes a token (or a userpass login), checks it with
//!   `auth/token/lookup-self` through the same path `/v1/*` uses (engine or upstream) and
//!   answers with a cookie: the token, a random session id and an expiry sealed with
//!   AES-256-GCM, `HttpOnly; SameSite=Strict; Path=/` (and `Secure` over TLS).
//! - `GET /api/session` says who is signed in and hands out the CSRF token, an HMAC of
//!   the session id; "not signed in" is a normal 200 answer.
//! - `DELETE /api/session` signs out: the session id goes on a revocation list, so the
//!   old cookie is refused at once (401) even if a copy of it is replayed. Every replica
//!   keeps the list in memory, bounded and each entry dropped when its cookie would have
//!   expired anyway; in embedded mode it is also in the engine's storage (seen by every
//!   process on that data directory, and after a restart). A token the console minted
//!   itself (userpass sign-in) is revoked in Vault too (`revoke-self`), which ends the
//!   session on every replica sharing `--session-key`, upstream mode included. A token the
//!   user brought is not revoked: it is theirs, and may be in use elsewhere (CLI, CI); in
//!   upstream mode other replicas then accept a replayed copy of the cookie until it
//!   expires (at most `--session-ttl`).
//! - [`credential`] decides how a `/v1/*` request authenticates: `X-Vault-Token` (or
//!   `Authorization: Bearer`) as sent, else the cookie, which then needs `X-CSRF-Token`
//!   on everything but GET and HEAD. [`redact`] keeps the session's token out of the
//!   answers to cookie requests (`lookup-self` would otherwise echo it).

use std::collections::HashMap;
use std::path::Path;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use hmac::{Hmac, Mac};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::AppState;
use crate::calls;
use crate::config::{Config, Mode};
use crate::error::error;

/// Name of the session cookie.
pub const COOKIE: &str = "pki_console_session";
/// Header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// File in the data directory that keeps the sealing key in embedded mode.
pub const KEY_FILE: &str = "session-key";

const SEAL_VERSION: u8 = 1;
const AAD: &[u8] = b"pki-console session v1";
/// What replaces the session's token in answers to cookie requests.
const REDACTED: &[u8] = b"[redacted: the console keeps this token]";

type HmacSha256 = Hmac<Sha256>;

/// The sealing and CSRF keys, and how cookies are written.
pub struct Sessions {
    cipher: Aes256Gcm,
    csrf_key: [u8; 32],
    /// Keys the HMAC that stands for accessors in this server's logs (upstream mode).
    log_key: [u8; 32],
    secure: bool,
    max_ttl: u64,
    revoked: Revoked,
}

/// Most signed-out sessions kept in memory at once (about 10 MB at the bound).
const MAX_REVOKED: usize = 100_000;

/// Signed-out session ids, each with the expiry of its cookie (after which the cookie is
/// refused anyway, so the entry goes).
#[derive(Debug, Default)]
struct Revoked(Mutex<HashMap<String, i64>>);

impl Revoked {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, sid: &str, exp: i64, now: i64) {
        let mut map = self.lock();
        if map.len() >= MAX_REVOKED {
            map.retain(|_, e| *e > now);
        }
        if map.len() >= MAX_REVOKED {
            // Still full of live entries: forget the one closest to expiring anyway.
            if let Some(first) = map.iter().min_by_key(|(_, e)| **e).map(|(k, _)| k.clone()) {
                map.remove(&first);
            }
            tracing::warn!(
                max = MAX_REVOKED,
                "the list of signed-out sessions is full; the oldest entry was dropped"
            );
        }
        map.insert(sid.to_string(), exp);
    }

    fn contains(&self, sid: &str, now: i64) -> bool {
        self.lock().get(sid).is_some_and(|e| *e > now)
    }

    fn len(&self) -> usize {
        self.lock().len()
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("secure", &self.secure)
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

/// What a session cookie holds (sealed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Random id; the CSRF token is bound to it.
    pub sid: String,
    /// The Vault token.
    pub token: String,
    /// Unix time after which the session is over.
    pub exp: i64,
    /// The console minted the token (userpass sign-in), so signing out revokes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub minted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not ours, altered, or sealed under another key.
    Invalid,
    Expired,
    /// Signed out.
    Revoked,
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key size");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

fn decode_key(b64: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = B64
        .decode(b64.trim())
        .map_err(|e| anyhow::anyhow!("session key: not base64: {e}"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow::anyhow!("session key: must be 32 bytes, got {}", b.len()))
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random source works");
    b
}

impl Sessions {
    pub fn new(master: &[u8; 32], secure: bool, max_ttl: u64) -> Sessions {
        Sessions {
            cipher: Aes256Gcm::new((&derive(master, "pki-console/session/aead")).into()),
            csrf_key: derive(master, "pki-console/session/csrf"),
            log_key: derive(master, "pki-console/log/accessor"),
            secure,
            max_ttl: max_ttl.max(1),
            revoked: Revoked::default(),
        }
    }

    /// The sealing key from the configuration; else, in embedded mode, from (or into) a
    /// 0600 file in the data directory; else an ephemeral one, with a warning.
    pub fn from_config(config: &Config) -> anyhow::Result<Sessions> {
        let secure = config.cookie_secure || config.serves_tls();
        let max_ttl = config.session_ttl.as_secs();
        let master = match (&config.session_key, config.mode()) {
            (Some(k), _) => decode_key(&k.0)?,
            (None, Mode::Embedded) => key_from_file(&config.data_dir.join(KEY_FILE))?,
            (None, Mode::Upstream) => {
                tracing::warn!(
                    "no --session-key (PKI_CONSOLE_SESSION_KEY) is set: using an ephemeral key, so \
                     sessions end when this process restarts and do not work across replicas"
                );
                random()
            }
        };
        Ok(Sessions::new(&master, secure, max_ttl))
    }

    /// Seals `s` into a cookie value.
    pub fn seal(&self, s: &Session) -> String {
        let nonce: [u8; 12] = random();
        let plain = serde_json::to_vec(s).expect("a session serialises");
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: AAD,
                },
            )
            .expect("AES-GCM encryption of a small buffer does not fail");
        let mut out = Vec::with_capacity(1 + 12 + ct.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        B64URL.encode(out)
    }

    /// Opens a cookie value sealed by [`Sessions::seal`] and checks its expiry.
    pub fn open(&self, value: &str, now: i64) -> Result<Session, OpenError> {
        let raw = B64URL.decode(value).map_err(|_| OpenError::Invalid)?;
        if raw.len() < 1 + 12 + 16 || raw[0] != SEAL_VERSION {
            return Err(OpenError::Invalid);
        }
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(&raw[1..13]),
                Payload {
                    msg: &raw[13..],
                    aad: AAD,
                },
            )
            .map_err(|_| OpenError::Invalid)?;
        let s: Session = serde_json::from_slice(&plain).map_err(|_| OpenError::Invalid)?;
        if s.exp <= now {
            return Err(OpenError::Expired);
        }
        Ok(s)
    }

    /// Puts `s` on this replica's revocation list until its cookie expires.
    pub fn revoke(&self, s: &Session, now: i64) {
        self.revoked.insert(&s.sid, s.exp, now);
    }

    /// Whether session `sid` was signed out on this replica.
    pub fn is_revoked(&self, sid: &str, now: i64) -> bool {
        self.revoked.contains(sid, now)
    }

    /// How many signed-out sessions this replica remembers.
    pub fn revoked_len(&self) -> usize {
        self.revoked.len()
    }

    /// `hmac-sha256:<hex>` of `value` under a key derived from the session key: how an
    /// accessor appears in this server's logs in upstream mode (embedded mode uses the
    /// audit log's salt, see [`log_accessor`]).
    pub fn log_hmac(&self, value: &str) -> String {
        crate::engine::audit::hmac_tag(&self.log_key, value)
    }

    /// The CSRF token of a session: HMAC-SHA256 of its id.
    pub fn csrf_token(&self, s: &Session) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.csrf_key).expect("HMAC takes any key size");
        mac.update(s.sid.as_bytes());
        B64URL.encode(mac.finalize().into_bytes())
    }

    /// Whether `given` is the CSRF token of `s` (compared in constant time).
    pub fn csrf_ok(&self, s: &Session, given: Option<&str>) -> bool {
        let Some(given) = given.and_then(|g| B64URL.decode(g.trim()).ok()) else {
            return false;
        };
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.csrf_key).expect("HMAC takes any key size");
        mac.update(s.sid.as_bytes());
        mac.verify_slice(&given).is_ok()
    }

    /// A new session for `token`, ending when the token does (or after the configured
    /// maximum, whichever comes first). `token_expiry` is the token's expiry as unix time.
    pub fn start(&self, token: String, token_expiry: Option<i64>, now: i64) -> Session {
        let cap = now.saturating_add(i64::try_from(self.max_ttl).unwrap_or(i64::MAX));
        let exp = token_expiry.map_or(cap, |t| t.min(cap));
        Session {
            sid: B64URL.encode(random::<16>()),
            token,
            exp,
            minted: false,
        }
    }

    fn cookie_attrs(&self) -> &'static str {
        if self.secure {
            "; Path=/; HttpOnly; SameSite=Strict; Secure"
        } else {
            "; Path=/; HttpOnly; SameSite=Strict"
        }
    }

    /// `Set-Cookie` for a session.
    pub fn set_cookie(&self, s: &Session, now: i64) -> HeaderValue {
        let max_age = (s.exp - now).max(0);
        let v = format!(
            "{COOKIE}={}; Max-Age={max_age}{}",
            self.seal(s),
            self.cookie_attrs()
        );
        HeaderValue::from_str(&v).expect("base64url and ASCII attributes make a valid header")
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear_cookie(&self) -> HeaderValue {
        HeaderValue::from_str(&format!("{COOKIE}=; Max-Age=0{}", self.cookie_attrs()))
            .expect("an ASCII header value")
    }
}

fn key_from_file(file: &Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read_to_string(file) {
        Ok(text) => decode_key(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            }
            let key: [u8; 32] = random();
            crate::engine::barrier::write_private_file(
                file,
                format!("{}\n", B64.encode(key)).as_bytes(),
            )
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", file.display()))?;
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", file.display())),
    }
}

/// The value of the session cookie among the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

// ----------------------------------------------------------------------------------------
// How a `/v1/*` request authenticates

/// The credential of a `/v1/*` request.
#[derive(Debug)]
pub enum Credential {
    /// No token at all (Vault's unauthenticated paths).
    None,
    /// `X-Vault-Token` or `Authorization: Bearer`, as the client sent it.
    Header(String),
    /// The session cookie, its CSRF token checked.
    Cookie(Session),
}

impl Credential {
    pub fn token(&self) -> Option<&str> {
        match self {
            Credential::None => None,
            Credential::Header(t) => Some(t),
            Credential::Cookie(s) => Some(&s.token),
        }
    }
}

fn csrf_exempt(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

pub fn csrf_refused() -> Response {
    error(
        StatusCode::FORBIDDEN,
        vec!["missing or invalid CSRF token".into()],
    )
}

/// Decides the credential of a `/v1/*` request, or answers 401 (bad cookie) or 403
/// (cookie without its CSRF token).
#[allow(clippy::result_large_err)]
pub fn credential(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Credential, Response> {
    if let Some(t) = token_from(headers) {
        return Ok(Credential::Header(t));
    }
    let Some(value) = cookie_value(headers) else {
        return Ok(Credential::None);
    };
    let sessions = &state.sessions;
    match open_live(state, value, crate::engine::now()) {
        Ok(s) => {
            if !csrf_exempt(method)
                && !sessions.csrf_ok(&s, headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
            {
                return Err(csrf_refused());
            }
            Ok(Credential::Cookie(s))
        }
        Err(e) => {
            let why = match e {
                OpenError::Expired => "your console session has expired; sign in again",
                OpenError::Revoked => "this console session was signed out; sign in again",
                OpenError::Invalid => {
                    "the session cookie is not valid (altered, or sealed with another key); sign in again"
                }
            };
            let mut res = error(StatusCode::UNAUTHORIZED, vec![why.into()]);
            res.headers_mut()
                .insert(header::SET_COOKIE, sessions.clear_cookie());
            Err(res)
        }
    }
}

/// Opens a session cookie and checks that its session was not signed out: on this
/// replica, or (embedded mode) in the engine's storage. A storage error counts as signed
/// out (fail closed).
fn open_live(state: &AppState, value: &str, now: i64) -> Result<Session, OpenError> {
    let s = state.sessions.open(value, now)?;
    if state.sessions.is_revoked(&s.sid, now) {
        return Err(OpenError::Revoked);
    }
    if let Some(engine) = &state.engine {
        match engine.session_revoked(&s.sid) {
            Ok(false) => {}
            Ok(true) => {
                // Signed out by another process on this data directory: remember it.
                state.sessions.revoke(&s, now);
                return Err(OpenError::Revoked);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the signed-out sessions; cookie refused");
                return Err(OpenError::Revoked);
            }
        }
    }
    Ok(s)
}

/// How an accessor appears in this server's logs: never as is, but as an HMAC (the audit
/// log's in embedded mode, so the two correlate; one keyed by the session key upstream).
pub fn log_accessor(state: &AppState, accessor: &str) -> String {
    match &state.engine {
        Some(engine) => engine.hmac(accessor),
        None => state.sessions.log_hmac(accessor),
    }
}

// ----------------------------------------------------------------------------------------
// /api/session

/// `POST /api/session` body: a token, or a userpass login.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    /// Mount path of the userpass method; `userpass` when absent.
    #[serde(default)]
    mount: Option<String>,
}

fn not_signed_in(state: &AppState, reason: Option<&str>) -> Value {
    let mut v = json!({ "signed_in": false, "mode": state.config.mode().as_str() });
    if let Some(r) = reason {
        v["reason"] = json!(r);
    }
    v
}

fn with_cookie(mut res: Response, cookie: HeaderValue) -> Response {
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The identity part of `lookup-self` data, never the token.
fn identity(state: &AppState, s: &Session, data: &Value) -> Value {
    json!({
        "signed_in": true,
        "mode": state.config.mode().as_str(),
        "display_name": data["display_name"].as_str().unwrap_or_default(),
        "policies": data["policies"].as_array().cloned().unwrap_or_default(),
        "ttl": data["ttl"].as_i64().unwrap_or(0),
        "expire_time": data["expire_time"].clone(),
        "accessor": data["accessor"].as_str().unwrap_or_default(),
        "session_expire_time": crate::engine::rfc3339(s.exp),
        "csrf_token": state.sessions.csrf_token(s),
    })
}

/// `lookup-self` for `token`: `Ok(Some(data))`, `Ok(None)` when Vault refuses the token,
/// or the error answer (upstream down, ...).
async fn lookup_self(state: &AppState, token: &str) -> Result<Option<Value>, Response> {
    let (status, body) = calls::call(
        state,
        Method::GET,
        "auth/token/lookup-self",
        Some(token),
        None,
    )
    .await?;
    match status.as_u16() {
        200 => Ok(Some(body["data"].clone())),
        400 | 401 | 403 => Ok(None),
        _ => Err(relay(status, &body, "token lookup")),
    }
}

/// An unexpected Vault answer, relayed with its own words.
fn relay(status: StatusCode, body: &Value, what: &str) -> Response {
    let mut errors: Vec<String> = body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if errors.is_empty() {
        errors.push(format!("{what} failed with status {status}"));
    }
    let status = if status.is_server_error() {
        StatusCode::BAD_GATEWAY
    } else {
        status
    };
    error(status, errors)
}

/// Token expiry (unix time) from `lookup-self` data: `expire_time`, else `ttl`.
fn token_expiry(data: &Value, now: i64) -> Option<i64> {
    if let Some(Ok(t)) = data["expire_time"]
        .as_str()
        .map(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339))
    {
        return Some(t.unix_timestamp());
    }
    match data["ttl"].as_i64() {
        Some(ttl) if ttl > 0 => Some(now + ttl),
        _ => None,
    }
}

pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(value) = cookie_value(&headers) else {
        return Json(not_signed_in(&state, None)).into_response();
    };
    let now = crate::engine::now();
    let session = match open_live(&state, value, now) {
        Ok(s) => s,
        Err(e) => {
            let why = match e {
                OpenError::Expired => "your console session has expired",
                OpenError::Revoked => "this console session was signed out",
                OpenError::Invalid => {
                    "the session cookie is not valid (altered, or sealed with another key)"
                }
            };
            return with_cookie(
                Json(not_signed_in(&state, Some(why))).into_response(),
                state.sessions.clear_cookie(),
            );
        }
    };
    match lookup_self(&state, &session.token).await {
        Ok(Some(data)) => {
            let mut res = Json(identity(&state, &session, &data)).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Ok(None) => with_cookie(
            Json(not_signed_in(
                &state,
                Some("Vault no longer accepts the token of this session (revoked or expired)"),
            ))
            .into_response(),
            state.sessions.clear_cookie(),
        ),
        Err(res) => res,
    }
}

/// Refuses a sign-in that a page of another site started (login CSRF): the body must be
/// JSON, which a cross-site form cannot send and a cross-site `fetch` can only send after
/// a CORS preflight this server never grants; and a browser's `Sec-Fetch-Site`, when
/// present, must say the request came from this origin (or from the address bar).
#[allow(clippy::result_large_err)]
pub(crate) fn same_site_json(headers: &HeaderMap, what: &str) -> Result<(), Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct.split(';').next().unwrap_or_default().trim() != "application/json" {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            vec![format!(
                "{what} needs a JSON body (Content-Type: application/json)"
            )],
        ));
    }
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("same-origin");
    if !matches!(site, "same-origin" | "none") {
        return Err(error(
            StatusCode::FORBIDDEN,
            vec![format!("{what} from another site is refused")],
        ));
    }
    Ok(())
}

fn valid_token(t: &str) -> bool {
    !t.is_empty() && t.len() <= 4096 && t.bytes().all(|b| b.is_ascii_graphic())
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 256
        && n != "."
        && n != ".."
        && !n.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(res) = same_site_json(&headers, "sign-in") {
        return res;
    }
    let body = match body {
        Ok(b) => b,
        Err(rej) => return error(rej.status(), vec![rej.body_text()]),
    };
    let req: SignIn = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                vec![format!(
                    "sign-in expects {{\"token\": \"...\"}} or {{\"username\": \"...\", \"password\": \"...\"}}: {e}"
                )],
            );
        }
    };
    let mut minted = false;
    let token = match (req.token, req.username, req.password) {
        (Some(t), None, None) => {
            let t = t.trim().to_string();
            if !valid_token(&t) {
                return error(
                    StatusCode::BAD_REQUEST,
                    vec![
                        "the token is empty or contains characters a Vault token never has".into(),
                    ],
                );
            }
            t
        }
        (None, Some(user), Some(password)) => {
            match userpass_login(&state, req.mount.as_deref(), user.trim(), &password).await {
                Ok(t) => {
                    minted = true;
                    t
                }
                Err(res) => return res,
            }
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                vec!["give either a token, or a username and a password".into()],
            );
        }
    };
    let data = match lookup_self(&state, &token).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return error(
                StatusCode::UNAUTHORIZED,
                vec!["sign-in failed: Vault does not accept this token (permission denied)".into()],
            );
        }
        Err(res) => return res,
    };
    let now = crate::engine::now();
    let mut session = state.sessions.start(token, token_expiry(&data, now), now);
    session.minted = minted;
    let cookie = state.sessions.set_cookie(&session, now);
    tracing::info!(
        display_name = data["display_name"].as_str().unwrap_or_default(),
        accessor = log_accessor(&state, data["accessor"].as_str().unwrap_or_default()),
        "signed in"
    );
    with_cookie(
        Json(identity(&state, &session, &data)).into_response(),
        cookie,
    )
}

/// Logs in at `auth/<mount>/login/<user>` and returns the client token.
async fn userpass_login(
    state: &AppState,
    mount: Option<&str>,
    user: &str,
    password: &str,
) -> Result<String, Response> {
    let mount = mount.map(|m| m.trim_matches('/')).unwrap_or("userpass");
    if !valid_name(user) || !valid_name(mount) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            vec![
                "the username (or mount) is empty or contains '/', '\\' or control characters"
                    .into(),
            ],
        ));
    }
    if password.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            vec!["the password is empty".into()],
        ));
    }
    let (status, body) = calls::call(
        state,
        Method::POST,
        &format!("auth/{mount}/login/{user}"),
        None,
        Some(json!({ "password": password })),
    )
    .await?;
    match status.as_u16() {
        200 => body["auth"]["client_token"]
            .as_str()
            .filter(|t| valid_token(t))
            .map(String::from)
            .ok_or_else(|| {
                error(
                    StatusCode::BAD_GATEWAY,
                    vec!["the userpass login answered without a client token".into()],
                )
            }),
        404 | 405 => {
            let whom = match state.config.mode() {
                Mode::Embedded => "the embedded engine has no userpass auth method".to_string(),
                Mode::Upstream => format!("Vault has no userpass auth method at auth/{mount}"),
            };
            Err(error(
                StatusCode::BAD_REQUEST,
                vec![format!(
                    "username and password sign-in is not available: {whom}; sign in with a token"
                )],
            ))
        }
        400 | 401 | 403 => Err(error(
            StatusCode::UNAUTHORIZED,
            vec!["sign-in failed: invalid username or password".into()],
        )),
        _ => Err(relay(status, &body, "userpass login")),
    }
}

pub async fn delete(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = crate::engine::now();
    let session = cookie_value(&headers).and_then(|value| open_live(&state, value, now).ok());
    if let Some(s) = session {
        let given = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !state.sessions.csrf_ok(&s, given) {
            return csrf_refused();
        }
        sign_out(&state, &s, now).await;
    }
    with_cookie(
        Json(not_signed_in(&state, None)).into_response(),
        state.sessions.clear_cookie(),
    )
}

/// Ends session `s`: on the revocation lists, and its token revoked when the console
/// minted it. The cookie is cleared whatever happens here.
async fn sign_out(state: &AppState, s: &Session, now: i64) {
    state.sessions.revoke(s, now);
    if let Some(engine) = state.engine.clone() {
        let (sid, exp) = (s.sid.clone(), s.exp);
        match tokio::task::spawn_blocking(move || engine.revoke_session(&sid, exp)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot store the signed-out session"),
            Err(e) => tracing::error!(error = %e, "cannot store the signed-out session"),
        }
    }
    if s.minted {
        let revoked = calls::call(
            state,
            Method::POST,
            "auth/token/revoke-self",
            Some(&s.token),
            None,
        )
        .await;
        match revoked {
            Ok((status, _)) if status.is_success() => {}
            Ok((status, body)) => {
                tracing::warn!(%status, errors = %body["errors"], "sign-out could not revoke the session's token")
            }
            Err(_) => {
                tracing::warn!("sign-out could not reach Vault to revoke the session's token")
            }
        }
    }
    tracing::info!("signed out");
}

pub async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        vec!["/api/session takes GET, POST and DELETE".into()],
    )
}

// ----------------------------------------------------------------------------------------
// Keeping the token out of answers

/// Replaces every occurrence of `token` in the body of `res` (streamed, never buffered
/// whole), so a cookie request cannot read its own token back (`lookup-self`'s `id`,
/// `renew-self`'s `client_token`).
pub fn redact(res: Response, token: &str) -> Response {
    if token.is_empty() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = Redact {
        inner: body,
        needle: token.as_bytes().to_vec(),
        carry: Vec::new(),
        done: false,
    };
    Response::from_parts(parts, Body::new(body))
}

struct Redact {
    inner: Body,
    needle: Vec<u8>,
    /// The end of the previous chunk that could be the start of a match.
    carry: Vec<u8>,
    done: bool,
}

/// Replaces whole matches of `needle` in `buf`; returns the output and how many bytes at
/// the end of `buf` must wait for the next chunk (a possible partial match). At the end of
/// the stream (`last`) nothing waits.
fn replace_matches(buf: &[u8], needle: &[u8], last: bool) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(buf.len());
    let mut i = 0;
    while i + needle.len() <= buf.len() {
        if &buf[i..i + needle.len()] == needle {
            out.extend_from_slice(REDACTED);
            i += needle.len();
        } else {
            out.push(buf[i]);
            i += 1;
        }
    }
    let rest = &buf[i..];
    if last {
        out.extend_from_slice(rest);
        return (out, 0);
    }
    // Only a suffix that is a prefix of the needle needs to wait.
    let keep = (1..=rest.len())
        .rev()
        .find(|&k| needle.starts_with(&rest[rest.len() - k..]))
        .unwrap_or(0);
    out.extend_from_slice(&rest[..rest.len() - keep]);
    (out, keep)
}

impl HttpBody for Redact {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        let mut buf = std::mem::take(&mut this.carry);
                        buf.extend_from_slice(&data);
                        let (out, keep) = replace_matches(&buf, &this.needle, false);
                        this.carry = buf[buf.len() - keep..].to_vec();
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                        }
                    }
                    Err(other) => {
                        // Trailers: flush what waits first, then pass them on.
                        if !this.carry.is_empty() {
                            let rest = std::mem::take(&mut this.carry);
                            let (out, _) = replace_matches(&rest, &this.needle, true);
                            this.done = true;
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                        }
                        return Poll::Ready(Some(Ok(other)));
                    }
                },
                Poll::Ready(None) => {
                    this.done = true;
                    if this.carry.is_empty() {
                        return Poll::Ready(None);
                    }
                    let rest = std::mem::take(&mut this.carry);
                    let (out, _) = replace_matches(&rest, &this.needle, true);
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The token a client sent itself: `X-Vault-Token`, else `Authorization: Bearer`.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers.get("x-vault-token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim().to_string());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn sessions() -> Sessions {
        Sessions::new(&[9u8; 32], false, 3600)
    }

    #[test]
    fn sealed_cookies_open_only_unaltered_under_the_same_key_before_expiry() {
        let s = sessions();
        let session = s.start("hvs.secret-token".into(), None, 1000);
        assert_eq!(session.exp, 1000 + 3600, "capped by the maximum");
        let value = s.seal(&session);
        assert!(!value.contains("secret"), "the token is not readable");
        assert_eq!(s.open(&value, 1001).as_ref(), Ok(&session));
        assert_eq!(s.open(&value, 1000 + 3600), Err(OpenError::Expired));
        // Any altered byte, another key, garbage: invalid.
        let mut raw = B64URL.decode(&value).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(s.open(&B64URL.encode(&raw), 1001), Err(OpenError::Invalid));
        let other = Sessions::new(&[8u8; 32], false, 3600);
        assert_eq!(other.open(&value, 1001), Err(OpenError::Invalid));
        assert_eq!(s.open("not base64 !", 1001), Err(OpenError::Invalid));
        assert_eq!(s.open("", 1001), Err(OpenError::Invalid));
        // A short-lived token ends the session first.
        assert_eq!(s.start("t".into(), Some(1060), 1000).exp, 1060);
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        let s = sessions();
        let a = s.start("t".into(), None, 0);
        let b = s.start("t".into(), None, 0);
        let ta = s.csrf_token(&a);
        assert!(s.csrf_ok(&a, Some(&ta)));
        assert!(!s.csrf_ok(&b, Some(&ta)), "another session's token");
        assert!(!s.csrf_ok(&a, None));
        assert!(!s.csrf_ok(&a, Some("")));
        assert!(!s.csrf_ok(&a, Some("AAAA")));
        let other = Sessions::new(&[1u8; 32], false, 3600);
        assert!(!other.csrf_ok(&a, Some(&ta)), "another key");
    }

    #[test]
    fn cookie_attributes() {
        let s = sessions();
        let session = s.start("t".into(), Some(100), 40);
        let c = s.set_cookie(&session, 40);
        let c = c.to_str().unwrap();
        assert!(c.starts_with("pki_console_session="), "{c}");
        assert!(c.contains("; Max-Age=60;"), "{c}");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(c.contains(attr), "{c}");
        }
        assert!(!c.contains("Secure"), "{c}");
        let secure = Sessions::new(&[9u8; 32], true, 3600);
        assert!(
            secure
                .set_cookie(&session, 40)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
        assert!(s.clear_cookie().to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; pki_console_session=xyz; b=2"),
        );
        assert_eq!(cookie_value(&h), Some("xyz"));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("pki_console_session_other=1"),
        );
        assert_eq!(cookie_value(&h), None);
    }

    #[test]
    fn session_key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data").join(KEY_FILE);
        let a = key_from_file(&file).unwrap();
        assert_eq!(key_from_file(&file).unwrap(), a);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&file, "dG9vIHNob3J0").unwrap();
        assert!(key_from_file(&file).is_err(), "a short key is refused");
    }

    #[test]
    fn replace_keeps_only_possible_partial_matches() {
        let n = b"hvs.ABC";
        let (out, keep) = replace_matches(b"x hvs.ABC y hvs.A", n, false);
        assert_eq!(keep, 5);
        assert_eq!(
            out,
            [b"x ".as_slice(), REDACTED, b" y ".as_slice()].concat()
        );
        let (out, keep) = replace_matches(b"hvs.AB", n, true);
        assert_eq!((out.as_slice(), keep), (b"hvs.AB".as_slice(), 0));
    }

    #[tokio::test]
    async fn redaction_spans_chunk_boundaries() {
        let token = "hvs.0123456789abcdef";
        // Split a body that holds the token twice at every position.
        let text = format!("{{\"id\":\"{token}\",\"x\":\"{token}\",\"y\":\"hvs.0\"}}");
        for cut in 0..text.len() {
            let (a, b) = text.split_at(cut);
            let body = Body::new(Chunks(vec![
                Bytes::copy_from_slice(b.as_bytes()),
                Bytes::copy_from_slice(a.as_bytes()),
            ]));
            let res = redact(Response::new(body), token);
            let got = res.into_body().collect().await.unwrap().to_bytes();
            let got = String::from_utf8(got.to_vec()).unwrap();
            assert!(!got.contains(token), "cut {cut}: {got}");
            let want = text.replace(token, std::str::from_utf8(REDACTED).unwrap());
            assert_eq!(got, want, "cut {cut}");
        }
    }

    /// A body of several chunks (popped from the end).
    struct Chunks(Vec<Bytes>);

    impl HttpBody for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.get_mut().0.pop().map(|b| Ok(Frame::data(b))))
        }
    }
}
