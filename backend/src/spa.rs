//! Serves the web bundle embedded at build time: hashed assets with long-lived cache
//! headers, the embeddable plugin under `/plugin/` (stable names, so always revalidated),
//! gzip when the client accepts it, `index.html` for client-side routes, and a plain 404
//! for a missing file.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

pub struct Asset {
    pub path: &'static str,
    pub body: &'static [u8],
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Whether the binary carries a built SPA.
pub fn bundle_present() -> bool {
    find("/index.html").is_some()
}

fn find(path: &str) -> Option<&'static Asset> {
    // The plugin's folder opens its demo page (relative links resolve under /plugin/).
    let path = if path == "/plugin/" {
        "/plugin/demo.html"
    } else {
        path
    };
    ASSETS.iter().find(|a| a.path == path)
}

fn content_type(path: &str) -> &'static str {
    if path.ends_with(".d.ts") {
        // TypeScript declarations: readable text, never executed (and never MPEG-TS).
        return "text/plain; charset=utf-8";
    }
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "ts" => "text/plain; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Files under `/assets/` carry a content hash in their name and never change; the
/// plugin's files keep their names across releases, so browsers revalidate them.
fn cache_control(path: &str) -> &'static str {
    if path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else if path == "/index.html" || path.starts_with("/plugin/") {
        "no-cache"
    } else {
        "public, max-age=3600"
    }
}

pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return ApiError::MethodNotAllowed.into_response();
    }
    let path = uri.path();
    let asset = match find(path) {
        Some(a) => Some(a),
        None if shared::nav::is_spa_route(path) => find("/index.html"),
        None => None,
    };
    let Some(asset) = asset else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found\n",
        )
            .into_response();
    };
    respond(asset, &headers, method == Method::HEAD)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.trim().split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name == "gzip" || name == "*") && !refused
        })
}

fn respond(asset: &'static Asset, headers: &HeaderMap, head: bool) -> Response {
    let (bytes, gzip) = match asset.gzip {
        Some(gz) if accepts_gzip(headers) => (gz, true),
        _ => (asset.body, false),
    };
    let mut res = Response::new(if head {
        Body::empty()
    } else {
        Body::from(bytes)
    });
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(asset.path)),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(asset.path)),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    if asset.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation() {
        let check = |value: &str, want: bool| {
            let mut h = HeaderMap::new();
            h.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            assert_eq!(accepts_gzip(&h), want, "{value}");
        };
        check("gzip, deflate, br", true);
        check("br;q=1.0, gzip;q=0.8", true);
        check("gzip;q=0", false);
        check("identity", false);
        check("*", true);
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn hashed_assets_are_immutable_and_index_is_revalidated() {
        assert!(cache_control("/assets/app-0123abcd.js").contains("immutable"));
        assert_eq!(cache_control("/index.html"), "no-cache");
        assert_eq!(content_type("/assets/x.wasm"), "application/wasm");
    }

    #[test]
    fn plugin_files_are_revalidated_and_typed() {
        for path in [
            "/plugin/pki-plugin.js",
            "/plugin/pki_plugin_bg.wasm",
            "/plugin/worker.js",
            "/plugin/demo.html",
        ] {
            assert_eq!(cache_control(path), "no-cache", "{path}");
        }
        assert_eq!(cache_control("/favicon.svg"), "public, max-age=3600");
        assert_eq!(
            content_type("/plugin/pki-plugin.d.ts"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            content_type("/plugin/pki-plugin.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("/x.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(
            content_type("/plugin/pki_plugin_bg.wasm"),
            "application/wasm"
        );
        assert_eq!(
            content_type("/plugin/demo.html"),
            "text/html; charset=utf-8"
        );
    }
}
