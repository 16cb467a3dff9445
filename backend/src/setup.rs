//! `/api/setup/*`: the setup wizard's server side, for what the browser must not do
//! itself. `verify` mints a short-lived token with only the wizard's policy (as the
//! caller's child, so it dies with the caller's token), asks `sys/capabilities` what
//! it may do on the role's sign path, signs the browser's throw-away CSR through the role, revokes it, and judges
//! the answer with `shared::setup::verify` — the token never reaches page script.
//! `export/{kind}` renders the wizard's state as Terraform, a `vault` CLI script,
//! Kubernetes YAML or a cert-manager approver-policy (`shared::setup::export`).
//! The caller authenticates as on `/v1/*`:
//! the session cookie (with its CSRF header) or its own `X-Vault-Token`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::api::pki::Signed;
use shared::pki::duration::parse_duration;
use shared::setup::WizardState;
use shared::setup::verify::{Check, VerifyReport, VerifyRequest, check_capabilities, check_issued};

use crate::AppState;
use crate::calls::call;
use crate::error::error;
use crate::session;

/// How long the verification token lives: enough for three calls on a slow upstream.
const VERIFY_TOKEN_TTL: &str = "2m";

#[allow(clippy::result_large_err)]
fn caller_token(state: &AppState, headers: &HeaderMap) -> Result<String, Response> {
    match session::credential(state, &Method::POST, headers)?.token() {
        Some(t) => Ok(t.to_owned()),
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            vec!["sign in first: the wizard acts with your Vault token".into()],
        )),
    }
}

#[allow(clippy::result_large_err)]
fn json_body<T: for<'de> Deserialize<'de>>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<T, Response> {
    session::same_site_json(headers, what)?;
    let body = body.map_err(|rej| error(rej.status(), vec![rej.body_text()]))?;
    serde_json::from_slice(&body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            vec![format!(
                "{what}: the body does not match the wizard's state: {e}"
            )],
        )
    })
}

/// The first `errors` entry of a Vault answer, for a check's detail.
fn vault_error(status: StatusCode, body: &Value) -> String {
    let msg = body
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .unwrap_or("no message");
    format!("{} {msg}", status.as_u16())
}

/// `POST /api/setup/verify`.
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let token = match caller_token(&state, &headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let req: VerifyRequest = match json_body(&headers, body, "verify") {
        Ok(r) => r,
        Err(res) => return res,
    };
    if let Some(issue) = req.state.check(shared::setup::Step::Review).first() {
        return error(
            StatusCode::BAD_REQUEST,
            vec![format!("the wizard's state: {issue}")],
        );
    }
    let name = req.name.trim().to_owned();
    if name.is_empty() || !req.csr.contains("CERTIFICATE REQUEST") {
        return error(
            StatusCode::BAD_REQUEST,
            vec!["verify needs \"csr\" (PEM) and \"name\", the host it asks for".into()],
        );
    }
    match run_verify(&state, &token, &req.state, &req.csr, &name).await {
        Ok(report) => Json(report).into_response(),
        Err(res) => res,
    }
}

#[allow(clippy::result_large_err)]
async fn run_verify(
    state: &AppState,
    token: &str,
    wizard: &WizardState,
    csr: &str,
    name: &str,
) -> Result<VerifyReport, Response> {
    let sign_path = wizard.sign_path();
    let (status, created) = call(
        state,
        Method::POST,
        "auth/token/create",
        Some(token),
        Some(json!({
            "policies": [wizard.policy.name],
            "no_default_policy": true,
            "ttl": VERIFY_TOKEN_TTL,
            "renewable": false,
            "display_name": "setup-verify",
        })),
    )
    .await?;
    let Some(child) = created
        .pointer("/auth/client_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(VerifyReport::from_checks(vec![Check {
            name: "a token with the policy".into(),
            ok: false,
            detail: format!(
                "could not create it: {} (your token needs auth/token/create and the policy \"{}\" must exist — apply first)",
                vault_error(status, &created),
                wizard.policy.name
            ),
        }]));
    };
    let outcome = sign_with(state, token, &child, wizard, &sign_path, csr, name).await;
    // Whatever happened, the token goes (its TTL would end it in two minutes anyway).
    // Revoked by its parent: the child's policy does not include revoke-self.
    let (status, body) = call(
        state,
        Method::POST,
        "auth/token/revoke",
        Some(token),
        Some(json!({"token": child})),
    )
    .await?;
    if !status.is_success() {
        let error = vault_error(status, &body);
        tracing::warn!(%status, %error, "could not revoke the verification token; it expires within {VERIFY_TOKEN_TTL}");
    }
    outcome
}

#[allow(clippy::result_large_err)]
async fn sign_with(
    state: &AppState,
    parent: &str,
    child: &str,
    wizard: &WizardState,
    sign_path: &str,
    csr: &str,
    name: &str,
) -> Result<VerifyReport, Response> {
    // `sys/capabilities` with the caller's token, about the new one (the new token itself
    // has only the wizard's policy, which does not include looking itself up).
    let (status, caps) = call(
        state,
        Method::POST,
        "sys/capabilities",
        Some(parent),
        Some(json!({"token": child, "paths": [sign_path]})),
    )
    .await?;
    let capabilities: Vec<String> = caps
        .pointer("/data/capabilities")
        .or_else(|| caps.get("capabilities"))
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let mut checks = vec![if status.is_success() {
        check_capabilities(sign_path, &capabilities)
    } else {
        Check {
            name: "policy allows signing".into(),
            ok: false,
            detail: vault_error(status, &caps),
        }
    }];
    let (status, answer) = call(
        state,
        Method::POST,
        sign_path,
        Some(child),
        Some(json!({"csr": csr, "common_name": name})),
    )
    .await?;
    let signed: Option<Signed> = answer
        .get("data")
        .and_then(|d| serde_json::from_value(d.clone()).ok());
    let Some(signed) = signed.filter(|_| status.is_success()) else {
        checks.push(Check {
            name: "signed through the role".into(),
            ok: false,
            detail: format!(
                "{sign_path} refused it: {} (does the role allow \"{name}\"?)",
                vault_error(status, &answer)
            ),
        });
        return Ok(VerifyReport {
            capabilities,
            ..VerifyReport::from_checks(checks)
        });
    };
    let max_ttl = parse_duration(&wizard.role.max_ttl).unwrap_or(0);
    checks.extend(check_issued(&signed, name, max_ttl, crate::engine::now()));
    Ok(VerifyReport {
        capabilities,
        serial_number: signed.serial_number,
        certificate: signed.certificate,
        ca_chain: signed.ca_chain,
        ..VerifyReport::from_checks(checks)
    })
}
/// `POST /api/setup/export/{kind}` with `{"state": ..., "ca_chain": "..."}`.
#[derive(Debug, Deserialize)]
pub struct ExportRequest {
    pub state: WizardState,
    /// The CA chain (PEM) for cert-manager's `caBundle` and the trust-manager Bundle.
    #[serde(default)]
    pub ca_chain: String,
}

pub async fn export(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(res) = caller_token(&state, &headers) {
        return res;
    }
    let req: ExportRequest = match json_body(&headers, body, "export") {
        Ok(r) => r,
        Err(res) => return res,
    };
    let (text, file, content_type) = match kind.as_str() {
        "terraform" => (
            shared::setup::export::terraform(&req.state),
            "pki-console-setup.tf",
            "text/plain; charset=utf-8",
        ),
        "cli" => (
            shared::setup::export::cli_script(&req.state),
            "pki-console-setup.sh",
            "text/x-shellscript; charset=utf-8",
        ),
        "yaml" => (
            shared::setup::export::yaml_bundle(&req.state, &req.ca_chain),
            "pki-console-cert-manager.yaml",
            "application/yaml; charset=utf-8",
        ),
        "approver-policy" => (
            shared::setup::export::approver_policy_yaml(&req.state),
            "pki-console-approver-policy.yaml",
            "application/yaml; charset=utf-8",
        ),
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                vec!["no such export: use terraform, cli, yaml or approver-policy".into()],
            );
        }
    };
    let mut res = text.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}
