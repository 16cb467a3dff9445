//! Kubernetes auth and cert-manager's Vault Issuer against the embedded engine, over
//! HTTP against the release binary, with a TokenReview stub standing in for the cluster:
//! logins accepted and refused as Vault refuses them, the review's bearer and body, a
//! cluster that never answers, `pem_keys`, the login token's reach, and a byte-for-byte
//! replay of cert-manager v1.21's requests whose certificate chain `openssl` accepts; and
//! the README's Issuer, checked against cert-manager's Issuer CRD. The replay also runs
//! through a console in front of OpenBao (`upstream_openbao.rs`).

mod crd;

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use shared::pki::cert::{self, Sans, Subject, certificates_from_pem, parse_certificate};
use shared::pki::csr::build_csr;
use shared::pki::key::{KeyType, PrivateKey};
use shared::pki::verify::verify_issued_by;
use tests::Server;
use tests::http::{self, Method};
use tests::tokenreview::jwt::{self, legacy_claims, projected, projected_claims};
use tests::tokenreview::{Account, REVIEW_PATH, SilentServer, TokenReviewStub};

const AUDIENCE: &str = "vault://sandbox/vault-issuer";
const REVIEWER_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.reviewer-token.signature";
const SA_UID: &str = "5d0f2a4e-7c1b-4e8a-9f3d-2a1b0c9d8e7f";

/// The Vault API of one server, as root or with another token.
struct Vault<'a> {
    server: &'a Server,
    root: String,
}

impl<'a> Vault<'a> {
    fn new(server: &'a Server) -> anyhow::Result<Vault<'a>> {
        let path = server.data_dir.join("root-token");
        let root = std::fs::read_to_string(&path)
            .with_context(|| format!("read {}", path.display()))?
            .trim()
            .to_string();
        Ok(Vault { server, root })
    }

    /// Any call: (status, JSON body or null).
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<(u16, Value)> {
        let res = http::vault(
            Method::from_bytes(method.as_bytes())?,
            &self.server.url(&format!("/v1/{path}")),
            token,
            &body,
        )
        .await?;
        let json = if res.body.is_empty() {
            Value::Null
        } else {
            res.json()?
        };
        Ok((res.status.as_u16(), json))
    }

    /// A root call that must succeed.
    async fn root(&self, method: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        let (status, json) = self.call(method, path, Some(&self.root), body).await?;
        ensure!(
            (200..300).contains(&status),
            "{method} {path}: {status} {json}"
        );
        Ok(json)
    }

    async fn login(&self, role: &str, jwt: &str) -> anyhow::Result<(u16, Value)> {
        self.call(
            "POST",
            "auth/kubernetes/login",
            None,
            json!({"role": role, "jwt": jwt}),
        )
        .await
    }
}

fn errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a refused login: `status` and the one error message.
fn assert_refused(got: &(u16, Value), status: u16, message: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(errors(&got.1), vec![message.to_string()], "{}", got.1);
}

fn sandbox_account() -> Account {
    Account::new("sandbox", "vault-issuer", SA_UID, &[AUDIENCE])
}

/// `auth/kubernetes` pointed at `host`, and a role for the sandbox Issuer's service account.
async fn enable_kubernetes(
    vault: &Vault<'_>,
    host: &str,
    ca_pem: &str,
    extra: Value,
) -> anyhow::Result<()> {
    vault
        .root("POST", "sys/auth/kubernetes", json!({"type": "kubernetes"}))
        .await?;
    let mut config = json!({
        "kubernetes_host": host,
        "kubernetes_ca_cert": ca_pem,
        "token_reviewer_jwt": REVIEWER_JWT,
        "disable_local_ca_jwt": true,
    });
    if let (Value::Object(c), Value::Object(e)) = (&mut config, extra) {
        c.extend(e);
    }
    vault.root("POST", "auth/kubernetes/config", config).await?;
    vault
        .root(
            "POST",
            "auth/kubernetes/role/vault-issuer",
            json!({
                "bound_service_account_names": "vault-issuer",
                "bound_service_account_namespaces": ["sandbox", "team-*"],
                "audience": AUDIENCE,
                "token_policies": "vault-issuer-sign",
                "token_ttl": "20m",
                "token_max_ttl": "1h",
            }),
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn login_checks_the_service_account_and_asks_the_cluster() -> anyhow::Result<()> {
    let stub = TokenReviewStub::start().await?;
    stub.allow_reviewer(REVIEWER_JWT);
    let server = Server::start().await?;
    let vault = Vault::new(&server)?;
    enable_kubernetes(&vault, &stub.url, &stub.ca_pem, json!({})).await?;
    vault
        .root(
            "PUT",
            "sys/policies/acl/vault-issuer-sign",
            json!({"policy": "path \"pki_int/sign/*\" { capabilities = [\"update\"] }"}),
        )
        .await?;

    // The method is listed, its config and role read back as Vault shows them.
    let auth = vault.root("GET", "sys/auth", Value::Null).await?;
    assert_eq!(auth["data"]["kubernetes/"]["type"], "kubernetes");
    let config = vault
        .root("GET", "auth/kubernetes/config", Value::Null)
        .await?;
    assert_eq!(config["data"]["kubernetes_host"], stub.url.as_str());
    assert_eq!(config["data"]["token_reviewer_jwt_set"], true);
    assert!(
        config["data"].get("token_reviewer_jwt").is_none(),
        "{config}"
    );
    let role = vault
        .root("GET", "auth/kubernetes/role/vault-issuer", Value::Null)
        .await?;
    assert_eq!(
        role["data"]["bound_service_account_names"],
        json!(["vault-issuer"])
    );
    assert_eq!(role["data"]["audience"], AUDIENCE);
    assert_eq!(role["data"]["token_policies"], json!(["vault-issuer-sign"]));
    assert_eq!(role["data"]["token_ttl"], 1200);
    assert_eq!(role["data"]["token_max_ttl"], 3600);
    let list = vault
        .root("LIST", "auth/kubernetes/role", Value::Null)
        .await?;
    assert_eq!(list["data"]["keys"], json!(["vault-issuer"]));

    // The cluster's service account signing key.
    let cluster_key = PrivateKey::generate(KeyType::Rsa, 2048)?;

    // A valid projected token: a token with the role's policies.
    let account = sandbox_account();
    let good = projected(&cluster_key, &account)?;
    stub.register(&good, account.clone());
    let (status, body) = vault.login("vault-issuer", &good).await?;
    assert_eq!(status, 200, "{body}");
    let auth = &body["auth"];
    assert_eq!(auth["policies"], json!(["default", "vault-issuer-sign"]));
    assert_eq!(
        auth["token_policies"],
        json!(["default", "vault-issuer-sign"])
    );
    assert_eq!(auth["lease_duration"], 1200);
    assert_eq!(auth["renewable"], true);
    assert_eq!(
        auth["metadata"],
        json!({
            "role": "vault-issuer",
            "service_account_name": "vault-issuer",
            "service_account_namespace": "sandbox",
            "service_account_secret_name": "",
            "service_account_uid": SA_UID,
        })
    );
    let client_token = auth["client_token"].as_str().context("client_token")?;
    ensure!(client_token.starts_with("hvs."), "{client_token}");

    // The review the engine asked for: the reviewer's bearer, the JWT, the role's audience.
    let calls = stub.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", REVIEW_PATH)
    );
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {REVIEWER_JWT}").as_str())
    );
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(
        call.body,
        json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": good, "audiences": [AUDIENCE]},
        })
    );

    // The token is what it says.
    let (status, me) = vault
        .call(
            "GET",
            "auth/token/lookup-self",
            Some(client_token),
            Value::Null,
        )
        .await?;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["path"], "auth/kubernetes/login");
    assert_eq!(
        me["data"]["display_name"],
        "kubernetes-sandbox-vault-issuer"
    );
    assert_eq!(
        me["data"]["policies"],
        json!(["default", "vault-issuer-sign"])
    );
    let ttl = me["data"]["ttl"].as_i64().context("ttl")?;
    ensure!((1190..=1200).contains(&ttl), "ttl {ttl}");
    // Renewal stops at the role's token_max_ttl (1h from login), not the system's 768h.
    let (status, renewed) = vault
        .call(
            "POST",
            "auth/token/renew-self",
            Some(client_token),
            json!({"increment": "5h"}),
        )
        .await?;
    assert_eq!(status, 200, "{renewed}");
    let lease = renewed["auth"]["lease_duration"]
        .as_i64()
        .context("lease")?;
    ensure!((3590..=3600).contains(&lease), "renewed lease {lease}");

    // Refusals before the cluster is asked: names, namespaces, audience, expiry.
    let other_name = Account::new("sandbox", "default", "u-2", &[AUDIENCE]);
    let t = projected(&cluster_key, &other_name)?;
    stub.register(&t, other_name);
    assert_refused(
        &vault.login("vault-issuer", &t).await?,
        403,
        "service account name not authorized",
    );
    let other_ns = Account::new("kube-system", "vault-issuer", "u-3", &[AUDIENCE]);
    let t = projected(&cluster_key, &other_ns)?;
    stub.register(&t, other_ns);
    assert_refused(
        &vault.login("vault-issuer", &t).await?,
        403,
        "namespace not authorized",
    );
    let other_aud = Account::new(
        "sandbox",
        "vault-issuer",
        SA_UID,
        &["https://kubernetes.default.svc.cluster.local"],
    );
    let t = projected(&cluster_key, &other_aud)?;
    stub.register(&t, other_aud);
    assert_refused(
        &vault.login("vault-issuer", &t).await?,
        403,
        "invalid audience (aud) claim: audience claim does not match any expected audience",
    );
    let long_ago = projected_claims(&account, 1_600_000_000, 600);
    let t = jwt::sign(&cluster_key, &long_ago)?;
    stub.register(&t, account.clone());
    assert_refused(
        &vault.login("vault-issuer", &t).await?,
        403,
        "invalid expiration time (exp) claim: token is expired",
    );
    assert_refused(
        &vault.login("vault-issuer", "not-a-jwt").await?,
        403,
        "permission denied",
    );
    assert_refused(
        &vault.login("nope", &good).await?,
        400,
        "invalid role name \"nope\"",
    );
    assert_refused(&vault.login("vault-issuer", "").await?, 400, "missing jwt");
    assert_eq!(stub.calls().len(), 1, "nothing above reached the cluster");

    // A glob-bound namespace passes the engine's checks.
    let team = Account::new("team-blue", "vault-issuer", "u-4", &[AUDIENCE]);
    let t = projected(&cluster_key, &team)?;
    stub.register(&t, team);
    assert_eq!(vault.login("vault-issuer", &t).await?.0, 200);

    // Refusals by the cluster: an invalidated token, and one it attributes to another uid.
    stub.invalidate(&good);
    assert_refused(
        &vault.login("vault-issuer", &good).await?,
        403,
        "permission denied",
    );
    let mut impostor = sandbox_account();
    impostor.uid = "another-uid".into();
    let t = projected(&cluster_key, &sandbox_account())?;
    stub.register(&t, impostor);
    assert_refused(
        &vault.login("vault-issuer", &t).await?,
        403,
        "permission denied",
    );
    assert_eq!(stub.calls().len(), 4);

    // Without token_reviewer_jwt the client's own JWT is the bearer (Vault's fallback);
    // a legacy secret token, ES256-signed, logs in too.
    vault
        .root(
            "POST",
            "auth/kubernetes/config",
            json!({
                "kubernetes_host": stub.url,
                "kubernetes_ca_cert": stub.ca_pem,
                "disable_local_ca_jwt": true,
            }),
        )
        .await?;
    vault
        .root(
            "POST",
            "auth/kubernetes/role/legacy",
            json!({
                "bound_service_account_names": "builder",
                "bound_service_account_namespaces": "apps",
                "policies": "vault-issuer-sign",
            }),
        )
        .await?;
    let legacy_role = vault
        .root("GET", "auth/kubernetes/role/legacy", Value::Null)
        .await?;
    assert_eq!(
        legacy_role["data"]["policies"],
        json!(["vault-issuer-sign"])
    );
    let ec_key = PrivateKey::generate(KeyType::Ec, 256)?;
    let builder = Account::new("apps", "builder", "u-5", &[]);
    let legacy = jwt::sign(&ec_key, &legacy_claims(&builder, "builder-token-x7k2p"))?;
    stub.register(&legacy, builder);
    // The cluster refuses the client's JWT as a reviewer until it may review.
    assert_refused(
        &vault.login("legacy", &legacy).await?,
        403,
        "permission denied",
    );
    stub.allow_reviewer(&legacy);
    let (status, body) = vault.login("legacy", &legacy).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["auth"]["metadata"]["service_account_secret_name"],
        "builder-token-x7k2p"
    );
    let last = stub.calls().pop().context("a call")?;
    assert_eq!(
        last.header("authorization"),
        Some(format!("Bearer {legacy}").as_str())
    );
    // No role audience: the cluster is asked without audiences (the token has none).
    assert_eq!(last.body["spec"], json!({"token": legacy}));
    Ok(())
}

#[tokio::test]
async fn an_unreachable_cluster_fails_the_login_within_the_timeout() -> anyhow::Result<()> {
    let silent = SilentServer::start().await?;
    let stub = TokenReviewStub::start().await?;
    let server = Server::start_args(&["--kubernetes-timeout-secs", "2"]).await?;
    let vault = Vault::new(&server)?;
    let host = format!("https://{}", silent.addr);
    enable_kubernetes(&vault, &host, &stub.ca_pem, json!({})).await?;
    let cluster_key = PrivateKey::generate(KeyType::Ec, 256)?;
    let token = projected(&cluster_key, &sandbox_account())?;

    let started = Instant::now();
    let (status, body) = vault.login("vault-issuer", &token).await?;
    let took = started.elapsed();
    assert_eq!(status, 500, "{body}");
    let message = errors(&body).join(" ");
    assert!(message.contains(&silent.addr), "{message}");
    assert!(message.contains("timed out"), "{message}");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(5),
        "the login took {took:?}"
    );

    // Nothing listening: refused at once, and the message says so.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?;
    let closed_addr = closed.local_addr()?.to_string();
    drop(closed);
    vault
        .root(
            "POST",
            "auth/kubernetes/config",
            json!({
                "kubernetes_host": format!("https://{closed_addr}"),
                "kubernetes_ca_cert": stub.ca_pem,
                "disable_local_ca_jwt": true,
            }),
        )
        .await?;
    let started = Instant::now();
    let (status, body) = vault.login("vault-issuer", &token).await?;
    assert_eq!(status, 500, "{body}");
    let message = errors(&body).join(" ");
    assert!(
        message.contains(&closed_addr) && message.contains("could not connect"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    // A certificate the configured CA did not issue fails the TLS handshake.
    let other = TokenReviewStub::start().await?;
    vault
        .root(
            "POST",
            "auth/kubernetes/config",
            json!({
                "kubernetes_host": other.url,
                "kubernetes_ca_cert": stub.ca_pem,
                "disable_local_ca_jwt": true,
            }),
        )
        .await?;
    let (status, body) = vault.login("vault-issuer", &token).await?;
    assert_eq!(status, 500, "{body}");
    assert!(errors(&body).join(" ").contains("tls handshake"), "{body}");
    assert!(other.calls().is_empty());

    // The server is still fine.
    assert_eq!(http::get(&server.url("/v1/sys/health")).await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn pem_keys_verify_signatures_before_the_cluster_is_asked() -> anyhow::Result<()> {
    let stub = TokenReviewStub::start().await?;
    stub.allow_reviewer(REVIEWER_JWT);
    let server = Server::start().await?;
    let vault = Vault::new(&server)?;
    let rsa_key = PrivateKey::generate(KeyType::Rsa, 2048)?;
    let ec_key = PrivateKey::generate(KeyType::Ec, 256)?;
    // The EC key is given as a certificate, as Vault accepts too.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let ec_cert = cert::self_sign(
        &cert::CertSpec {
            serial: vec![7],
            not_before: now - 60,
            not_after: now + 3600,
            subject: Subject::with_common_name("service-account-signer"),
            ..Default::default()
        },
        &ec_key,
        0,
    )?;
    let pem_keys = json!([
        rsa_key.public_key_info().to_pem(),
        cert::pem_encode("CERTIFICATE", &ec_cert),
    ]);
    enable_kubernetes(
        &vault,
        &stub.url,
        &stub.ca_pem,
        json!({"pem_keys": pem_keys.clone()}),
    )
    .await?;
    let config = vault
        .root("GET", "auth/kubernetes/config", Value::Null)
        .await?;
    // Stored as Vault's `TypeCommaStringSlice` reads them: each entry trimmed.
    let trimmed: Vec<&str> = pem_keys
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .collect();
    assert_eq!(config["data"]["pem_keys"], json!(trimmed));
    let account = sandbox_account();

    // Signed by a key the cluster does not use: refused, the cluster never asked.
    let stranger = PrivateKey::generate(KeyType::Rsa, 2048)?;
    let forged = projected(&stranger, &account)?;
    stub.register(&forged, account.clone());
    assert_refused(
        &vault.login("vault-issuer", &forged).await?,
        403,
        "permission denied",
    );
    let forged_ec = projected(&PrivateKey::generate(KeyType::Ec, 256)?, &account)?;
    stub.register(&forged_ec, account.clone());
    assert_refused(
        &vault.login("vault-issuer", &forged_ec).await?,
        403,
        "permission denied",
    );
    // A genuine token whose claims were swapped after signing.
    let genuine = projected(
        &rsa_key,
        &Account::new("sandbox", "other", "u-9", &[AUDIENCE]),
    )?;
    let parts: Vec<&str> = genuine.split('.').collect();
    let claims = projected_claims(&account, now, 600);
    let swapped = format!(
        "{}.{}.{}",
        parts[0],
        jwt::b64url(claims.to_string().as_bytes()),
        parts[2]
    );
    stub.register(&swapped, account.clone());
    assert_refused(
        &vault.login("vault-issuer", &swapped).await?,
        403,
        "permission denied",
    );
    assert!(stub.calls().is_empty(), "{:?}", stub.calls());

    // Signed by the configured keys (RS256, ES256): accepted, and — as in Vault — the
    // cluster is still asked.
    for key in [&rsa_key, &ec_key] {
        let token = projected(key, &account)?;
        stub.register(&token, account.clone());
        let (status, body) = vault.login("vault-issuer", &token).await?;
        assert_eq!(status, 200, "{} {body}", jwt::alg_for(key)?);
    }
    assert_eq!(stub.calls().len(), 2);

    // A bad key is refused at config time, naming the field.
    let (status, body) = vault
        .call(
            "POST",
            "auth/kubernetes/config",
            Some(&vault.root),
            json!({"kubernetes_host": stub.url, "kubernetes_ca_cert": stub.ca_pem, "pem_keys": ["junk"]}),
        )
        .await?;
    assert_eq!(status, 400, "{body}");
    assert!(errors(&body).join(" ").contains("pem_keys"), "{body}");
    Ok(())
}

// --- cert-manager ---------------------------------------------------------------------

/// Builds the recipe's PKI through the API: root `pki`, intermediate `pki_int` signed by
/// it, role `vault-issuer` (max_ttl 720h) and a policy allowing only
/// `pki_int/sign/vault-issuer`. Returns the root certificate PEM.
async fn build_pki(vault: &Vault<'_>) -> anyhow::Result<String> {
    for (path, max) in [("pki", "87600h"), ("pki_int", "43800h")] {
        vault
            .root(
                "POST",
                &format!("sys/mounts/{path}"),
                json!({"type": "pki", "config": {"max_lease_ttl": max}}),
            )
            .await?;
    }
    let root = vault
        .root(
            "POST",
            "pki/root/generate/internal",
            json!({"common_name": "sandbox.test Root CA", "ttl": "87600h", "key_type": "ec", "key_bits": 384}),
        )
        .await?;
    let root_pem = root["data"]["certificate"]
        .as_str()
        .context("root certificate")?
        .to_string();
    let csr = vault
        .root(
            "POST",
            "pki_int/intermediate/generate/internal",
            json!({"common_name": "sandbox.test Intermediate CA", "key_type": "ec"}),
        )
        .await?;
    let signed = vault
        .root(
            "POST",
            "pki/root/sign-intermediate",
            json!({"csr": csr["data"]["csr"], "format": "pem_bundle", "ttl": "43800h"}),
        )
        .await?;
    let int_pem = signed["data"]["certificate"]
        .as_str()
        .context("intermediate")?;
    let first_int = certificates_from_pem(int_pem)?
        .into_iter()
        .next()
        .context("no intermediate")?;
    vault
        .root(
            "POST",
            "pki_int/intermediate/set-signed",
            json!({"certificate": format!("{}{}", cert::pem_encode("CERTIFICATE", &first_int), root_pem)}),
        )
        .await?;
    vault
        .root(
            "POST",
            "pki_int/roles/vault-issuer",
            json!({
                "allowed_domains": "sandbox.test",
                "allow_subdomains": true,
                "max_ttl": "720h",
                "key_type": "any",
            }),
        )
        .await?;
    vault
        .root(
            "POST",
            "pki_int/roles/other",
            json!({"allowed_domains": "sandbox.test", "allow_subdomains": true}),
        )
        .await?;
    vault
        .root(
            "PUT",
            "sys/policies/acl/vault-issuer-sign",
            json!({"policy": "path \"pki_int/sign/vault-issuer\" {\n  capabilities = [\"create\", \"update\"]\n}\n"}),
        )
        .await?;
    Ok(root_pem)
}

/// Go's `encoding/json` string: `<`, `>`, `&`, U+2028 and U+2029 escaped as well.
fn go_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `json.NewEncoder(buf).Encode(map[string]string{...})`: keys sorted, a trailing newline.
fn go_json_map(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut sorted = fields.to_vec();
    sorted.sort_by_key(|(k, _)| *k);
    let inner: Vec<String> = sorted
        .iter()
        .map(|(k, v)| format!("{}:{}", go_json_string(k), go_json_string(v)))
        .collect();
    format!("{{{}}}\n", inner.join(",")).into_bytes()
}

/// A request as Go's net/http writes it for the Vault API client: `Host`, `User-Agent`,
/// `Content-Length` (when there is a body), the client's headers sorted, then
/// `Accept-Encoding: gzip` from the transport.
fn go_request(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\n");
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    let mut sorted = headers.to_vec();
    sorted.sort_by_key(|(k, _)| *k);
    for (k, v) in sorted {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Accept-Encoding: gzip\r\n\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Writes `request` to `host` on a fresh connection and reads one response (keep-alive,
/// as Go leaves it): (status, JSON body).
async fn exchange(host: &str, request: &[u8]) -> anyhow::Result<(u16, Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut tcp = tokio::net::TcpStream::connect(host).await?;
        tcp.write_all(request).await?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let status: u16 = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .context("status line")?;
                let lower = head.to_ascii_lowercase();
                if lower.contains("transfer-encoding: chunked") {
                    // As Go's client reads it (OpenBao streams larger answers chunked).
                    while !buf[end + 4..].ends_with(b"0\r\n\r\n") {
                        let n = tcp.read(&mut chunk).await?;
                        if n == 0 {
                            bail!("closed mid-body");
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = dechunk(&buf[end + 4..])?;
                    return Ok((status, serde_json::from_slice(&body)?));
                }
                let length: usize = lower
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse())
                    .transpose()?
                    .unwrap_or(0);
                while buf.len() < end + 4 + length {
                    let n = tcp.read(&mut chunk).await?;
                    if n == 0 {
                        bail!("closed mid-body");
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = &buf[end + 4..end + 4 + length];
                let json = if body.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(body)?
                };
                return Ok((status, json));
            }
            let n = tcp.read(&mut chunk).await?;
            if n == 0 {
                bail!("closed before the response head");
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .context("no answer within 30 s")?
}

/// A chunked body (all of it, up to the last chunk) decoded.
fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a chunk size line")?;
        let size_text = String::from_utf8_lossy(&raw[..line]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .with_context(|| format!("chunk size {size_text:?}"))?;
        raw = &raw[line + 2..];
        if size == 0 {
            return Ok(out);
        }
        ensure!(raw.len() >= size + 2, "a chunk cut short");
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// cert-manager's `ParseSingleCertificateChain`: de-duplicate, join certificates into one
/// chain by issuer, then the chain without a self-signed top (`tls.crt`) and the top
/// (`ca.crt`).
fn cert_manager_bundle(ders: Vec<Vec<u8>>) -> anyhow::Result<(Vec<Vec<u8>>, Vec<u8>)> {
    let mut unique = ders;
    unique.sort();
    unique.dedup();
    let issued_by = |child: &[u8], parent: &[u8]| verify_issued_by(child, parent).is_ok();
    let self_signed =
        |c: &[u8]| issued_by(c, c) && parse_certificate(c).map(|i| i.is_ca).unwrap_or(false);
    // Chains run leaf first; join the last one onto another until one is left.
    let mut chains: Vec<Vec<Vec<u8>>> = unique.into_iter().map(|d| vec![d]).collect();
    while chains.len() > 1 {
        let last = chains.pop().context("a chain")?;
        let mut merged = false;
        for chain in chains.iter_mut() {
            let chain_root = chain.last().context("root")?;
            if issued_by(chain_root, &last[0]) {
                chain.extend(last.iter().cloned());
                merged = true;
                break;
            }
            if issued_by(last.last().context("root")?, &chain[0]) {
                let mut joined = last.clone();
                joined.extend(chain.iter().cloned());
                *chain = joined;
                merged = true;
                break;
            }
        }
        ensure!(merged, "certificate chain is malformed or broken");
    }
    let mut chain = chains.pop().context("no certificates")?;
    let ca = chain.last().context("empty chain")?.clone();
    if chain.len() > 1 && self_signed(&ca) {
        chain.pop();
    }
    Ok((chain, ca))
}

#[tokio::test]
async fn cert_manager_v1_21_requests_replayed_byte_for_byte() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let root = Vault::new(&server)?.root;
    cert_manager_replay(&server, root).await
}

/// The replay against `server`, whose Vault has the root token `root`: the embedded
/// engine, or OpenBao behind a console in upstream mode (`upstream_openbao.rs`).
pub(crate) async fn cert_manager_replay(server: &Server, root: String) -> anyhow::Result<()> {
    let stub = TokenReviewStub::start().await?;
    stub.allow_reviewer(REVIEWER_JWT);
    let vault = Vault { server, root };
    let root_pem = build_pki(&vault).await?;
    enable_kubernetes(&vault, &stub.url, &stub.ca_pem, json!({})).await?;
    let host = server
        .base
        .split_once("://")
        .map(|(_, h)| h)
        .context("base url")?
        .to_string();

    // cert-manager asks the TokenRequest API for a token with the Issuer's audience.
    let cluster_key = PrivateKey::generate(KeyType::Rsa, 2048)?;
    let account = sandbox_account();
    let jwt = projected(&cluster_key, &account)?;
    stub.register(&jwt, account);

    // Login: POST /v1/auth/kubernetes/login, {"jwt","role"}, no token yet.
    let body = go_json_map(&[("role", "vault-issuer"), ("jwt", &jwt)]);
    let request = go_request(
        "POST",
        "/v1/auth/kubernetes/login",
        &host,
        &[("X-Vault-Request", "true")],
        &body,
    );
    let (status, login) = exchange(&host, &request).await?;
    assert_eq!(status, 200, "{login}");
    let token = login["auth"]["client_token"]
        .as_str()
        .context("client_token")?
        .to_string();

    // Sign: the CSR cert-manager built for a Certificate with a common name and DNS
    // names; every field a string, empty IP and URI SANs, the duration as Go prints it.
    let leaf_key = PrivateKey::generate(KeyType::Ec, 256)?;
    let csr = build_csr(
        &leaf_key,
        &Subject::with_common_name("app.sandbox.test"),
        &Sans {
            dns: vec!["app.sandbox.test".into(), "www.app.sandbox.test".into()],
            ..Default::default()
        },
        &Default::default(),
    )?;
    let body = go_json_map(&[
        ("common_name", "app.sandbox.test"),
        ("alt_names", "app.sandbox.test,www.app.sandbox.test"),
        ("ip_sans", ""),
        ("uri_sans", ""),
        ("ttl", "2160h0m0s"),
        ("csr", &csr),
        ("exclude_cn_from_sans", "true"),
    ]);
    let request = go_request(
        "POST",
        "/v1/pki_int/sign/vault-issuer",
        &host,
        &[("X-Vault-Request", "true"), ("X-Vault-Token", &token)],
        &body,
    );
    let signed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let (status, signed) = exchange(&host, &request).await?;
    assert_eq!(status, 200, "{signed}");
    // OpenBao 2.7.2's warnings for this request, in its order: cert-manager sends the CSR's
    // names again, which a role with use_csr_common_name/use_csr_sans notes.
    assert_eq!(
        signed["warnings"],
        json!([
            "the common_name field was provided but the role is set with \"use_csr_common_name\" set to true",
            "the alt_names field was provided but the role is set with \"use_csr_sans\" set to true",
            "TTL \"2160h0m0s\" is longer than permitted maxTTL \"720h0m0s\", so maxTTL is being used"
        ])
    );
    let data = &signed["data"];
    let certificate = data["certificate"].as_str().context("certificate")?;
    let issuing_ca = data["issuing_ca"].as_str().context("issuing_ca")?;
    let ca_chain: Vec<&str> = data["ca_chain"]
        .as_array()
        .context("ca_chain")?
        .iter()
        .filter_map(Value::as_str)
        .collect();

    // The chain, as cert-manager assembles it from ca_chain + issuing_ca + certificate.
    let mut all = vec![];
    for pem in ca_chain.iter().copied().chain([issuing_ca, certificate]) {
        all.extend(certificates_from_pem(pem)?);
    }
    let (tls_chain, ca) = cert_manager_bundle(all)?;
    assert_eq!(
        tls_chain.len(),
        2,
        "tls.crt is the leaf and the intermediate"
    );
    assert_eq!(
        certificates_from_pem(certificate)?,
        vec![tls_chain[0].clone()]
    );
    assert_eq!(certificates_from_pem(&root_pem)?, vec![ca.clone()]);
    let leaf = parse_certificate(&tls_chain[0])?;
    assert_eq!(leaf.common_name, "app.sandbox.test");
    assert_eq!(
        leaf.sans.dns,
        vec![
            "app.sandbox.test".to_string(),
            "www.app.sandbox.test".into()
        ]
    );
    assert!(leaf.sans.ip.is_empty() && leaf.sans.uri.is_empty());
    let lifetime = leaf.not_after - signed_at;
    assert!(
        (720 * 3600 - 300..=720 * 3600 + 300).contains(&lifetime),
        "clamped to 720h, got {lifetime} s"
    );

    // openssl agrees: ca.crt as the trust anchor, the intermediates untrusted.
    let dir = tempfile::tempdir()?;
    let pem = |ders: &[Vec<u8>]| -> String {
        ders.iter()
            .map(|d| cert::pem_encode("CERTIFICATE", d))
            .collect()
    };
    std::fs::write(dir.path().join("tls.crt"), pem(&tls_chain))?;
    std::fs::write(dir.path().join("leaf.pem"), pem(&tls_chain[..1]))?;
    std::fs::write(dir.path().join("intermediates.pem"), pem(&tls_chain[1..]))?;
    std::fs::write(dir.path().join("ca.crt"), pem(std::slice::from_ref(&ca)))?;
    let out = std::process::Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "verify",
            "-CAfile",
            "ca.crt",
            "-untrusted",
            "intermediates.pem",
            "leaf.pem",
        ])
        .output()
        .context("run openssl")?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.contains("leaf.pem: OK"),
        "{said}"
    );
    // And without the intermediate it does not: the chain really is needed.
    let out = std::process::Command::new("openssl")
        .current_dir(dir.path())
        .args(["verify", "-CAfile", "ca.crt", "leaf.pem"])
        .output()?;
    assert!(!out.status.success());

    // The Issuer's readiness check.
    let request = go_request(
        "GET",
        "/v1/sys/health",
        &host,
        &[("X-Vault-Request", "true"), ("X-Vault-Token", &token)],
        b"",
    );
    let (status, health) = exchange(&host, &request).await?;
    assert_eq!(status, 200, "{health}");
    assert_eq!(
        (
            &health["initialized"],
            &health["sealed"],
            &health["standby"]
        ),
        (&json!(true), &json!(false), &json!(false))
    );
    Ok(())
}

#[tokio::test]
async fn the_login_token_signs_with_its_role_and_nothing_else() -> anyhow::Result<()> {
    let stub = TokenReviewStub::start().await?;
    stub.allow_reviewer(REVIEWER_JWT);
    let server = Server::start().await?;
    let vault = Vault::new(&server)?;
    build_pki(&vault).await?;
    enable_kubernetes(&vault, &stub.url, &stub.ca_pem, json!({})).await?;
    let cluster_key = PrivateKey::generate(KeyType::Ec, 256)?;
    let account = sandbox_account();
    let jwt = projected(&cluster_key, &account)?;
    stub.register(&jwt, account);
    let (status, login) = vault.login("vault-issuer", &jwt).await?;
    assert_eq!(status, 200, "{login}");
    let token = login["auth"]["client_token"]
        .as_str()
        .context("client_token")?;

    let csr = build_csr(
        &PrivateKey::generate(KeyType::Ec, 256)?,
        &Subject::with_common_name("api.sandbox.test"),
        &Sans::default(),
        &Default::default(),
    )?;
    let (status, body) = vault
        .call(
            "POST",
            "pki_int/sign/vault-issuer",
            Some(token),
            json!({"csr": csr, "common_name": "api.sandbox.test", "ttl": "1h"}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]["certificate"]
            .as_str()
            .is_some_and(|c| c.contains("BEGIN CERTIFICATE")),
        "{body}"
    );

    for (method, path, payload) in [
        (
            "POST",
            "pki_int/sign/other",
            json!({"csr": csr, "common_name": "api.sandbox.test"}),
        ),
        (
            "POST",
            "pki_int/issue/vault-issuer",
            json!({"common_name": "api.sandbox.test"}),
        ),
        ("POST", "pki/sign-verbatim", json!({"csr": csr})),
        (
            "POST",
            "pki_int/roles/vault-issuer",
            json!({"allow_any_name": true}),
        ),
        ("GET", "pki_int/roles/vault-issuer", Value::Null),
        ("GET", "sys/mounts", Value::Null),
        (
            "PUT",
            "sys/policies/acl/vault-issuer-sign",
            json!({"policy": "path \"*\" { capabilities = [\"sudo\"] }"}),
        ),
        ("POST", "auth/token/create", json!({"policies": ["root"]})),
        (
            "POST",
            "auth/kubernetes/role/vault-issuer",
            json!({"token_policies": "root"}),
        ),
        ("GET", "auth/kubernetes/config", Value::Null),
    ] {
        let got = vault.call(method, path, Some(token), payload).await?;
        // A valid token its policies refuse: OpenBao's multierror wording.
        assert_refused(&got, 403, "1 error occurred:\n\t* permission denied\n\n");
    }
    Ok(())
}

/// The README's `Issuer` manifest is admitted by cert-manager's Issuer CRD (v1 schema,
/// strict field validation) and names what the tests above set up.
#[test]
fn readme_issuer_is_valid_against_the_crd() -> anyhow::Result<()> {
    let readme = std::fs::read_to_string(tests::root().join("README.md"))?;
    let issuer_yaml = readme
        .split("```yaml")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains("kind: Issuer"))
        .context("the README has a ```yaml block with an Issuer")?;
    let issuer = crd::parse(issuer_yaml)?;
    let crd_text = std::fs::read_to_string(
        tests::root().join("tests/data/crds/cert-manager.io_issuers.yaml"),
    )?;
    let definition = crd::parse(&crd_text)?;
    assert_eq!(definition["spec"]["names"]["kind"], "Issuer");
    let schema = crd::schema_of(&definition, "v1")?;

    assert_eq!(issuer["apiVersion"], "cert-manager.io/v1");
    assert_eq!(issuer["kind"], "Issuer");
    assert_eq!(crd::validate(&issuer, &schema), Vec::<String>::new());

    // It is the setup the tests exercise: the role's audience is cert-manager's default
    // for this Issuer, `vault://<namespace>/<name>`.
    let vault = &issuer["spec"]["vault"];
    assert_eq!(
        format!(
            "vault://{}/{}",
            issuer["metadata"]["namespace"].as_str().unwrap_or_default(),
            issuer["metadata"]["name"].as_str().unwrap_or_default()
        ),
        AUDIENCE
    );
    assert_eq!(vault["path"], "pki_int/sign/vault-issuer");
    assert_eq!(vault["auth"]["kubernetes"]["role"], "vault-issuer");
    assert_eq!(
        vault["auth"]["kubernetes"]["mountPath"],
        "/v1/auth/kubernetes"
    );
    assert_eq!(
        vault["auth"]["kubernetes"]["serviceAccountRef"]["name"],
        "vault-issuer"
    );

    // The check itself catches what a cluster would refuse.
    let mut broken = issuer.clone();
    broken["spec"]["vault"]["auth"]["kubernetes"]["path"] = json!("/v1/auth/kubernetes");
    broken["spec"]["vault"]["auth"]["kubernetes"]
        .as_object_mut()
        .context("kubernetes auth")?
        .remove("role");
    broken["spec"]["vault"]["caBundle"] = json!("not base64!");
    broken["spec"]["vault"]
        .as_object_mut()
        .context("vault")?
        .remove("server");
    let problems = crd::validate(&broken, &schema);
    for expected in [
        ".spec.vault.auth.kubernetes.path: unknown field",
        ".spec.vault.auth.kubernetes: missing required field \"role\"",
        ".spec.vault.caBundle: format byte needs base64",
        ".spec.vault: missing required field \"server\"",
    ] {
        assert!(
            problems.iter().any(|p| p == expected),
            "{expected} not in {problems:?}"
        );
    }
    Ok(())
}
