//! `GET /api/k8s/view` (the cluster view, joined on the server) and `GET
//! /api/k8s/version` (the watch cache's version, polled to refresh an open page).

use shared::k8s_view::{K8sVersion, K8sView, VERSION_PATH, VIEW_PATH};

use super::{ApiError, get_json};

/// The joined view; `q` filters rows (namespace, name, host, Secret) on the server.
pub async fn view(q: String) -> Result<K8sView, ApiError> {
    let q = q.trim();
    if q.is_empty() {
        get_json(VIEW_PATH).await
    } else {
        let q = String::from(js_sys::encode_uri_component(q));
        get_json(&format!("{VIEW_PATH}?q={q}")).await
    }
}

/// The cache's version: it changes with every watch event.
pub async fn version() -> Result<u64, ApiError> {
    get_json::<K8sVersion>(VERSION_PATH)
        .await
        .map(|v| v.version)
}
