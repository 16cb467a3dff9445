//! The whole route table of the server.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use shared::api::Health;
use tower_http::trace::TraceLayer;

use crate::{AppState, certs, k8s, overview, security, session, setup, spa, trust, vault};

pub fn app(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let tls = state.config.serves_tls();
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/api/session",
            get(session::get)
                .post(session::post)
                .delete(session::delete)
                .fallback(session::method_not_allowed),
        )
        .route("/api/setup/verify", post(setup::verify))
        .route("/api/setup/export/{kind}", post(setup::export))
        .route(shared::k8s_view::VIEW_PATH, get(k8s::view))
        .route(shared::k8s_view::VERSION_PATH, get(k8s::version))
        .route("/api/certs/{mount}", get(certs::search))
        .route("/api/certs/{mount}/summary", get(certs::summary))
        .route("/api/certs/{mount}/timeline", get(certs::timeline))
        .route("/api/certs/{mount}/export.csv", get(certs::export_csv))
        .route("/api/certs/{mount}/cert/{serial}", get(certs::detail))
        .route(shared::api::overview::PATH, get(overview::overview))
        .route("/api/trust", get(trust::index))
        .route("/ca/{*path}", get(trust::download))
        .route("/v1/{*path}", any(vault::handle))
        .route("/v1", any(vault::handle))
        .fallback(spa::serve)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            security::Envelope { tls },
            security::headers,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: shared::VERSION.into(),
        mode: state.config.mode().as_str().into(),
    })
}
