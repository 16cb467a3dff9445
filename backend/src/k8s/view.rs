//! `GET /api/k8s/view` and `GET /api/k8s/version`, for a signed-in caller (the session
//! cookie, or its own `X-Vault-Token`). The view joins the cache: Ingress TLS host →
//! Secret (its parsed certificate) → the Certificate writing that Secret → its serial;
//! each Certificate's renewal status (`shared::k8s_view::renewal_status`), its latest
//! failed CertificateRequest, its issuer's Ready condition; and, for Vault issuers, the
//! PKI role named by `spec.vault.path`, read with the caller's token through `calls.rs`
//! and judged by `shared::k8s_view::check_role_for_certificate`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use shared::k8s_view::{
    CertificateRow, IngressRow, IngressTls, IssuerRow, K8sVersion, K8sView, MAX_ROWS, RenewalInput,
    Totals, VaultIssuer, cert_serves_host, check_role_for_certificate, renewal_status,
    split_sign_path,
};
use shared::pki::role::Role;

use super::cache::{Cache, IssuerEntry, Key};
use crate::AppState;
use crate::calls::call;
use crate::error::error;
use crate::session;

/// Most distinct PKI roles read for one view.
const MAX_ROLE_READS: usize = 16;

#[derive(Debug, Default, Deserialize)]
pub struct ViewQuery {
    /// Keep rows whose namespace, name, host or Secret contains this text.
    #[serde(default)]
    pub q: String,
}

#[allow(clippy::result_large_err)]
fn caller_token(state: &AppState, headers: &HeaderMap) -> Result<String, Response> {
    match session::credential(state, &Method::GET, headers)?.token() {
        Some(t) => Ok(t.to_owned()),
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            vec!["sign in first: the Kubernetes view is for signed-in users".into()],
        )),
    }
}

/// `GET /api/k8s/version`.
pub async fn version(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(res) = caller_token(&state, &headers) {
        return res;
    }
    Json(K8sVersion {
        version: state.k8s.version(),
    })
    .into_response()
}

/// `GET /api/k8s/view?q=`.
pub async fn view(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ViewQuery>,
) -> Response {
    let token = match caller_token(&state, &headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let now = crate::engine::now();
    let cluster = state.k8s.clone();
    if !cluster.configured {
        return Json(K8sView {
            now,
            ..K8sView::default()
        })
        .into_response();
    }
    let version = cluster.version();
    let mut view = {
        let cache = cluster.cache.read().unwrap_or_else(|p| p.into_inner());
        build(&cache, now, query.q.trim())
    };
    view.version = version;
    check_roles(&state, &token, &mut view).await;
    Json(view).into_response()
}

fn issuer_of<'a>(cache: &'a Cache, ns: &str, kind: &str, name: &str) -> Option<&'a IssuerEntry> {
    if kind == "ClusterIssuer" {
        cache
            .cluster_issuers
            .get(&(String::new(), name.to_string()))
    } else {
        cache.issuers.get(&(ns.to_string(), name.to_string()))
    }
}

fn matches(q: &str, parts: &[&str]) -> bool {
    q.is_empty() || parts.iter().any(|p| p.contains(q))
}

/// The joined view from the cache (role checks come after, outside the lock).
pub fn build(cache: &Cache, now: i64, q: &str) -> K8sView {
    // The latest CertificateRequest of each Certificate, and the latest failed one.
    let mut latest: HashMap<Key, (Option<u64>, i64, bool)> = HashMap::new();
    let mut last_failed: HashMap<Key, (Option<u64>, i64, String)> = HashMap::new();
    for ((ns, name), r) in &cache.requests {
        if r.certificate.is_empty() {
            continue;
        }
        let k = (ns.clone(), r.certificate.clone());
        let order = (r.revision, r.created);
        let e = latest.entry(k.clone()).or_insert((None, i64::MIN, false));
        if order >= (e.0, e.1) {
            *e = (r.revision, r.created, r.failure.is_some());
        }
        if let Some(f) = &r.failure {
            let e = last_failed
                .entry(k)
                .or_insert((None, i64::MIN, String::new()));
            if order >= (e.0, e.1) {
                *e = (r.revision, r.created, format!("{name}: {f}"));
            }
        }
    }
    // Which Certificate writes which Secret.
    let mut by_secret: HashMap<Key, &str> = HashMap::new();
    for ((ns, name), c) in &cache.certificates {
        by_secret.insert((ns.clone(), c.secret_name.clone()), name);
    }

    let mut certificates = Vec::new();
    let mut matched_certs = 0;
    let mut keys: Vec<&Key> = cache.certificates.keys().collect();
    keys.sort();
    for k in keys {
        let c = &cache.certificates[k];
        let (ns, name) = k;
        if !matches(
            q,
            &[
                ns,
                name,
                &c.secret_name,
                &c.dns_names.join(" "),
                &c.common_name,
            ],
        ) {
            continue;
        }
        matched_certs += 1;
        let issuer = issuer_of(cache, ns, &c.issuer_kind, &c.issuer_name);
        let secret = cache.secrets.get(&(ns.clone(), c.secret_name.clone()));
        let failed_latest = latest.get(k).is_some_and(|l| l.2);
        let input = RenewalInput {
            ready: c.ready.status,
            ready_since: c.ready.since,
            not_before: c.not_before,
            not_after: c.not_after,
            renewal_time: c.renewal_time,
            duration: c.duration,
            renew_before: c.renew_before,
            last_request_failed: failed_latest,
        };
        let mut flags = Vec::new();
        let issuer_ready = issuer.and_then(|i| i.ready.status);
        match issuer {
            None => flags.push(format!(
                "issuer {}/{} not found",
                c.issuer_kind, c.issuer_name
            )),
            Some(i) if i.ready.status != Some(true) => flags.push(format!(
                "issuer {}/{} is not Ready{}",
                c.issuer_kind,
                c.issuer_name,
                if i.ready.reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", i.ready.reason)
                }
            )),
            _ => {}
        }
        if let Some(s) = secret
            && s.error.is_empty()
            && !s.chain_has_root
        {
            flags.push(format!(
                "Secret {} has no root in ca.crt: clients must already trust the root",
                c.secret_name
            ));
        }
        certificates.push(CertificateRow {
            namespace: ns.clone(),
            name: name.clone(),
            ready: c.ready.status,
            ready_reason: c.ready.reason.clone(),
            ready_message: c.ready.message.clone(),
            not_after: c.not_after,
            renewal_time: c.renewal_time,
            revision: c.revision,
            issuer: format!("{}/{}", c.issuer_kind, c.issuer_name),
            issuer_ready,
            secret_name: c.secret_name.clone(),
            dns_names: c.dns_names.clone(),
            common_name: c.common_name.clone(),
            duration: c.duration,
            last_failure: last_failed.get(k).map(|f| f.2.clone()),
            status: renewal_status(&input, now),
            serial: secret
                .filter(|s| s.error.is_empty())
                .map(|s| s.serial.clone()),
            flags,
        });
    }

    let problem_certs = certificates
        .iter()
        .filter(|c| c.status.is_problem())
        .count();
    // Rows that need a person first, so a capped answer never hides them.
    certificates.sort_by_key(|c: &CertificateRow| !c.status.is_problem() && c.flags.is_empty());
    certificates.truncate(MAX_ROWS);

    let mut issuers = Vec::new();
    for (kind, map) in [
        ("ClusterIssuer", &cache.cluster_issuers),
        ("Issuer", &cache.issuers),
    ] {
        let mut keys: Vec<&Key> = map.keys().collect();
        keys.sort();
        for k in keys {
            let i = &map[k];
            issuers.push(IssuerRow {
                kind: kind.into(),
                namespace: k.0.clone(),
                name: k.1.clone(),
                ready: i.ready.status,
                ready_reason: i.ready.reason.clone(),
                ready_message: i.ready.message.clone(),
                vault: i.vault.as_ref().map(|v| VaultIssuer {
                    server: v.server.clone(),
                    path: v.path.clone(),
                    auth_role: v
                        .auth
                        .kubernetes
                        .as_ref()
                        .map(|k| k.role.clone())
                        .unwrap_or_default(),
                    pki_role: split_sign_path(&v.path)
                        .map(|(m, r)| format!("{m}/roles/{r}"))
                        .unwrap_or_default(),
                    role_check: Vec::new(),
                }),
            });
        }
    }

    let mut ingresses = Vec::new();
    let mut matched_ingresses = 0;
    let mut keys: Vec<&Key> = cache.ingresses.keys().collect();
    keys.sort();
    for k in keys {
        let i = &cache.ingresses[k];
        let (ns, name) = k;
        let hosts: Vec<&str> = i
            .tls
            .iter()
            .flat_map(|t| {
                t.hosts
                    .iter()
                    .map(String::as_str)
                    .chain([t.secret_name.as_str()])
            })
            .collect();
        if !matches(q, &[ns, name]) && !hosts.iter().any(|h| h.contains(q)) {
            continue;
        }
        matched_ingresses += 1;
        let tls = i
            .tls
            .iter()
            .map(|t| {
                let sk = (ns.clone(), t.secret_name.clone());
                let secret = cache.secrets.get(&sk).cloned();
                let mut flags = Vec::new();
                match &secret {
                    None => flags.push(format!("no TLS Secret {} in {ns}", t.secret_name)),
                    Some(s) if !s.error.is_empty() => flags.push(s.error.clone()),
                    Some(s) => {
                        for h in &t.hosts {
                            if !cert_serves_host(&s.dns_names, h) {
                                flags.push(format!(
                                    "the certificate in {} does not cover {h}",
                                    t.secret_name
                                ));
                            }
                        }
                        if !s.chain_has_root {
                            flags.push(format!("ca.crt in {} lacks the root", t.secret_name));
                        }
                        if s.not_after <= now {
                            flags.push(format!("the certificate in {} has expired", t.secret_name));
                        }
                    }
                }
                IngressTls {
                    hosts: t.hosts.clone(),
                    secret_name: t.secret_name.clone(),
                    secret,
                    certificate: by_secret.get(&sk).map(|n| n.to_string()),
                    flags,
                }
            })
            .collect();
        ingresses.push(IngressRow {
            namespace: ns.clone(),
            name: name.clone(),
            tls,
        });
    }

    ingresses.sort_by_key(|i: &IngressRow| i.tls.iter().all(|t| t.flags.is_empty()));
    ingresses.truncate(MAX_ROWS);

    let mut errors: Vec<String> = cache.errors.values().cloned().collect();
    errors.sort();
    K8sView {
        configured: true,
        synced: cache.synced.len() >= 6,
        errors,
        version: 0,
        now,
        totals: Totals {
            certificates: cache.certificates.len(),
            certificates_matched: matched_certs,
            certificates_failing: problem_certs,
            issuers: cache.issuers.len() + cache.cluster_issuers.len(),
            ingresses: cache.ingresses.len(),
            ingresses_matched: matched_ingresses,
            secrets: cache.secrets.len(),
            certificate_requests: cache.requests.len(),
        },
        certificates,
        issuers,
        ingresses,
    }
}

/// Reads the PKI role of each Vault issuer (at most [`MAX_ROLE_READS`] distinct ones)
/// with the caller's token and checks every Certificate of that issuer against it.
async fn check_roles(state: &AppState, token: &str, view: &mut K8sView) {
    let mut roles: HashMap<String, Result<Role, String>> = HashMap::new();
    for issuer in &mut view.issuers {
        let Some(vault) = issuer.vault.as_mut() else {
            continue;
        };
        let Some((mount, role)) = split_sign_path(&vault.path) else {
            vault.role_check = vec![format!(
                "path {:?} is not <mount>/sign/<role>: the role cannot be checked",
                vault.path
            )];
            continue;
        };
        let path = format!("{mount}/roles/{role}");
        if !roles.contains_key(&path) {
            if roles.len() >= MAX_ROLE_READS {
                vault.role_check = vec!["not checked (too many distinct roles)".into()];
                continue;
            }
            let read = read_role(state, token, &path).await;
            roles.insert(path.clone(), read);
        }
        match &roles[&path] {
            Ok(_) => {}
            Err(e) => vault.role_check = vec![e.clone()],
        }
    }
    // Certificates of Vault issuers: their names and duration against the role.
    let issuer_roles: HashMap<String, String> = view
        .issuers
        .iter()
        .filter_map(|i| {
            let v = i.vault.as_ref()?;
            let (m, r) = split_sign_path(&v.path)?;
            let key = if i.kind == "ClusterIssuer" {
                format!("ClusterIssuer/{}", i.name)
            } else {
                format!("{}:Issuer/{}", i.namespace, i.name)
            };
            Some((key, format!("{m}/roles/{r}")))
        })
        .collect();
    for cert in &mut view.certificates {
        let key = if cert.issuer.starts_with("ClusterIssuer/") {
            cert.issuer.clone()
        } else {
            format!("{}:{}", cert.namespace, cert.issuer)
        };
        let Some(path) = issuer_roles.get(&key) else {
            continue;
        };
        match roles.get(path) {
            Some(Ok(role)) => {
                for problem in check_role_for_certificate(
                    role,
                    &cert.common_name,
                    &cert.dns_names,
                    cert.duration,
                ) {
                    cert.flags.push(format!("role {path}: {problem}"));
                }
            }
            Some(Err(e)) => cert.flags.push(format!("role {path}: {e}")),
            None => {}
        }
    }
}

async fn read_role(state: &AppState, token: &str, path: &str) -> Result<Role, String> {
    match call(state, Method::GET, path, Some(token), None).await {
        Ok((status, body)) if status.is_success() => {
            let data = body.get("data").cloned().unwrap_or(Value::Null);
            serde_json::from_value::<Role>(data)
                .map_err(|e| format!("the role {path} could not be read: {e}"))
        }
        Ok((StatusCode::NOT_FOUND, _)) => Err(format!(
            "the role {path} does not exist in this console's Vault"
        )),
        Ok((StatusCode::FORBIDDEN, _)) => Err(format!(
            "your token may not read {path}: the role cannot be checked"
        )),
        Ok((status, _)) => Err(format!("reading {path}: Vault answered {status}")),
        Err(_) => Err(format!("reading {path}: Vault could not be reached")),
    }
}
