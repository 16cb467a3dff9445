//! `GET /api/overview` (wire type `shared::api::overview::Overview`): the Overview page in
//! one answer. Anyone gets the CA hierarchy of the published mounts (`trust.rs`'s index,
//! read through Vault's unauthenticated endpoints); a signed-in caller also gets, per PKI
//! mount their token may list the certificates of, the certificate index's numbers
//! (`certs.rs`), and the count of cluster Certificates whose renewal fails (`k8s/`). A
//! cookie that no longer opens is answered as signed out, not refused: the page is public.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use shared::api::overview::{CaNode, ChainLink, KubernetesNumbers, MountNumbers, Overview};

use crate::{AppState, calls, certs, k8s, session, trust};

/// Most mounts the numbers are counted for (each costs a capability check and a count).
const MAX_MOUNTS: usize = 16;

pub async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = session::credential(&state, &Method::GET, &headers)
        .ok()
        .and_then(|c| c.token().map(String::from));
    let index = trust::index_of(&state).await;
    let cas = index
        .issuers
        .iter()
        .map(|i| CaNode {
            mount: i.mount.clone(),
            issuer_id: i.issuer_id.clone(),
            name: [
                i.issuer_name.clone(),
                i.chain
                    .first()
                    .map(|c| c.common_name.clone())
                    .unwrap_or_default(),
                i.issuer_id.clone(),
            ]
            .into_iter()
            .find(|n| !n.is_empty())
            .unwrap_or_default(),
            is_default: i.is_default,
            complete: i.complete,
            problem: i.problem.clone(),
            chain: i
                .chain
                .iter()
                .map(|c| ChainLink {
                    common_name: c.common_name.clone(),
                    not_before: c.not_before,
                    not_after: c.not_after,
                    self_signed: c.self_signed,
                })
                .collect(),
        })
        .collect();
    let mut answer = Overview {
        now: crate::engine::now(),
        signed_in: token.is_some(),
        cas,
        problems: index.problems.clone(),
        ..Overview::default()
    };
    if let Some(token) = token {
        let mut mounts = pki_mounts(&state, &token).await;
        if mounts.is_empty() {
            mounts = index.mounts.clone();
        }
        for mount in mounts.into_iter().take(MAX_MOUNTS) {
            let (summary, error) = match certs::summary_of(&state, &token, &mount).await {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e)),
            };
            answer.mounts.push(MountNumbers {
                mount,
                summary,
                error,
            });
        }
        if state.k8s.configured {
            let totals = {
                let cache = state.k8s.cache.read().unwrap_or_else(|p| p.into_inner());
                k8s::view::build(&cache, answer.now, "").totals
            };
            answer.kubernetes = Some(KubernetesNumbers {
                certificates: totals.certificates as u64,
                failing: totals.certificates_failing as u64,
            });
        }
    }
    let mut res = Json(answer).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The PKI mounts in the caller's `sys/mounts` (none when the token may not read it).
async fn pki_mounts(state: &AppState, token: &str) -> Vec<String> {
    let Ok((status, body)) = calls::call(state, Method::GET, "sys/mounts", Some(token), None).await
    else {
        return vec![];
    };
    if !status.is_success() {
        return vec![];
    }
    let table = match &body["data"] {
        Value::Object(m) if !m.is_empty() => m.clone(),
        _ => body.as_object().cloned().unwrap_or_default(),
    };
    let mut out: Vec<String> = table
        .iter()
        .filter(|(_, v)| v["type"] == "pki")
        .map(|(k, _)| k.trim_end_matches('/').to_string())
        .collect();
    out.sort();
    out
}
