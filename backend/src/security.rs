//! Security headers on every response: a strict CSP (self + `wasm-unsafe-eval` only),
//! no sniffing, no referrer, no framing, and HSTS when the server speaks TLS itself.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

/// What the headers depend on.
#[derive(Debug, Clone, Copy)]
pub struct Envelope {
    /// The server answers over TLS (adds `Strict-Transport-Security`).
    pub tls: bool,
}

/// One year, as browsers' preload lists expect.
pub const HSTS: &str = "max-age=31536000";

pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn headers(State(env): State<Envelope>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if env.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    res
}
