//! A stand-in Kubernetes API server for the Kubernetes view's tests: HTTPS with its own
//! test CA, a bearer token, and list + watch for the endpoints `kube`'s watcher calls
//! (cert-manager `certificates`, `certificaterequests`, `issuers`, `clusterissuers`,
//! `networking.k8s.io` `ingresses`, core `secrets` with the `type=` field selector). A
//! list answers every object at the current `resourceVersion`; a watch streams the
//! events after the one asked for, as chunked JSON lines, until its `timeoutSeconds`.
//! Objects are `serde_json::Value`s shaped as the API serves them (the fixture builders
//! below), Secrets with their `tls.key`. [`KubeApiStub::kubeconfig`] writes a kubeconfig
//! (server URL, CA data, token) pointing at it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The resources the stub serves: (URL path, kind of a list item, apiVersion).
pub const RESOURCES: &[(&str, &str, &str)] = &[
    (
        "/apis/cert-manager.io/v1/certificates",
        "Certificate",
        "cert-manager.io/v1",
    ),
    (
        "/apis/cert-manager.io/v1/certificaterequests",
        "CertificateRequest",
        "cert-manager.io/v1",
    ),
    (
        "/apis/cert-manager.io/v1/issuers",
        "Issuer",
        "cert-manager.io/v1",
    ),
    (
        "/apis/cert-manager.io/v1/clusterissuers",
        "ClusterIssuer",
        "cert-manager.io/v1",
    ),
    (
        "/apis/networking.k8s.io/v1/ingresses",
        "Ingress",
        "networking.k8s.io/v1",
    ),
    ("/api/v1/secrets", "Secret", "v1"),
];

fn path_of_kind(kind: &str) -> &'static str {
    RESOURCES
        .iter()
        .find(|r| r.1 == kind)
        .map(|r| r.0)
        .unwrap_or_else(|| panic!("the stub serves no {kind}"))
}

#[derive(Debug, Default)]
struct State {
    rv: u64,
    /// path → (namespace, name) → object.
    objects: HashMap<&'static str, BTreeMap<(String, String), Value>>,
    /// (resourceVersion, path, event type, object).
    events: Vec<(u64, &'static str, &'static str, Value)>,
    /// Request lines received (`GET /api/v1/secrets?...`).
    requests: Vec<String>,
}

/// The stub; stops when dropped.
pub struct KubeApiStub {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The CA of the stub's certificate, PEM.
    pub ca_pem: String,
    /// The bearer token it accepts.
    pub token: String,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for KubeApiStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl KubeApiStub {
    pub async fn start() -> anyhow::Result<KubeApiStub> {
        let pki = crate::raw::ServerPki::new(
            "kubeapi-stub test CA",
            "kube-apiserver",
            &["localhost", "kubernetes.default.svc"],
            86_400,
        )?;
        let ca_pem = pki.ca_pem();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![
                CertificateDer::from(pki.leaf_der.clone()),
                CertificateDer::from(pki.ca_der.clone()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                pki.leaf_key.to_pkcs8_der()?.to_vec(),
            )),
        )?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("https://{}", listener.local_addr()?);
        let token = format!("stub-{}", hex(&shared::pki::cert::random_serial()?));
        let state = Arc::new(Mutex::new(State {
            rv: 100,
            ..State::default()
        }));
        let shared = state.clone();
        let bearer = format!("Bearer {token}");
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let state = shared.clone();
                let bearer = bearer.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    {
                        let _ = serve(tls, &state, &bearer).await;
                    }
                });
            }
        });
        Ok(KubeApiStub {
            url,
            ca_pem,
            token,
            state,
            task,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a kubeconfig for the stub into `dir` (context `stub`) and returns its path.
    pub fn kubeconfig(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: stub\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\ncontexts:\n- name: stub\n  context:\n    cluster: stub\n    user: stub\n    namespace: default\ncurrent-context: stub\nusers:\n- name: stub\n  user:\n    token: {}\n",
            self.url, self.token
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
        Ok(path)
    }

    /// Adds or replaces objects (by kind, namespace and name) and sends their watch
    /// events.
    pub fn put(&self, objects: impl IntoIterator<Item = Value>) {
        let mut s = self.state();
        for mut obj in objects {
            let kind = obj["kind"].as_str().unwrap_or_default().to_string();
            let path = path_of_kind(&kind);
            s.rv += 1;
            let rv = s.rv;
            obj["metadata"]["resourceVersion"] = json!(rv.to_string());
            let key = (
                obj["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                obj["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            let map = s.objects.entry(path).or_default();
            let kind = if map.insert(key, obj.clone()).is_some() {
                "MODIFIED"
            } else {
                "ADDED"
            };
            s.events.push((rv, path, kind, obj));
        }
    }

    /// Removes an object and sends its DELETED event.
    pub fn delete(&self, kind: &str, namespace: &str, name: &str) {
        let mut s = self.state();
        let path = path_of_kind(kind);
        let removed = s
            .objects
            .entry(path)
            .or_default()
            .remove(&(namespace.to_string(), name.to_string()));
        if let Some(obj) = removed {
            s.rv += 1;
            let rv = s.rv;
            s.events.push((rv, path, "DELETED", obj));
        }
    }

    /// The request lines received so far.
    pub fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads one request head (GETs only: no body). `None` at a clean end of stream.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> anyhow::Result<Option<String>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            return Ok(Some(head));
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

async fn write_json<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    body: &Value,
) -> anyhow::Result<()> {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let body = serde_json::to_vec(body)?;
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.flush().await?;
    Ok(())
}

fn selected(obj: &Value, field_selector: Option<&str>) -> bool {
    match field_selector {
        Some(sel) => sel.split(',').all(|term| match term.split_once('=') {
            Some(("type", v)) => obj["type"].as_str() == Some(v),
            _ => true,
        }),
        None => true,
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    state: &Mutex<State>,
    bearer: &str,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    while let Some(head) = read_head(&mut stream, &mut buf).await? {
        let mut lines = head.lines();
        let request_line = lines.next().unwrap_or_default().to_string();
        let authorized = lines.any(|l| {
            l.split_once(':').is_some_and(|(n, v)| {
                n.trim().eq_ignore_ascii_case("authorization") && v.trim() == bearer
            })
        });
        let target = request_line.split(' ').nth(1).unwrap_or("/").to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .requests
            .push(request_line.clone());
        if !authorized {
            write_json(
                &mut stream,
                401,
                &status_body(401, "Unauthorized", "Unauthorized"),
            )
            .await?;
            continue;
        }
        let Some(&(rpath, kind, api_version)) = RESOURCES.iter().find(|r| r.0 == path) else {
            write_json(
                &mut stream,
                404,
                &status_body(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            )
            .await?;
            continue;
        };
        let selector = params.get("fieldSelector").map(String::as_str);
        let watching = matches!(params.get("watch").map(String::as_str), Some("true" | "1"));
        if !watching {
            let body = {
                let s = state.lock().unwrap_or_else(|p| p.into_inner());
                let items: Vec<&Value> = s
                    .objects
                    .get(rpath)
                    .map(|m| m.values().filter(|o| selected(o, selector)).collect())
                    .unwrap_or_default();
                serde_json::to_vec(&json!({
                    "kind": format!("{kind}List"),
                    "apiVersion": api_version,
                    "metadata": {"resourceVersion": s.rv.to_string()},
                    "items": items,
                }))?
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
            stream.flush().await?;
            continue;
        }
        // A watch: events after the resourceVersion asked for, until the timeout.
        let mut since: u64 = params
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let timeout: u64 = params
            .get("timeoutSeconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(290);
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            )
            .await?;
        stream.flush().await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        while tokio::time::Instant::now() < deadline {
            let lines: Vec<Vec<u8>> = {
                let s = state.lock().unwrap_or_else(|p| p.into_inner());
                let mut out = Vec::new();
                for (rv, p, t, obj) in &s.events {
                    if *rv > since && *p == rpath {
                        since = *rv;
                        if selected(obj, selector) {
                            let mut line = serde_json::to_vec(&json!({"type": t, "object": obj}))?;
                            line.push(b'\n');
                            out.push(line);
                        }
                    }
                }
                out
            };
            for line in lines {
                stream
                    .write_all(format!("{:x}\r\n", line.len()).as_bytes())
                    .await?;
                stream.write_all(&line).await?;
                stream.write_all(b"\r\n").await?;
            }
            stream.flush().await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stream.write_all(b"0\r\n\r\n").await?;
        stream.flush().await?;
    }
    Ok(())
}

/// Fixture builders: objects shaped as the API serves them.
pub mod fixture {
    use super::*;

    /// RFC 3339 (UTC) of unix seconds.
    pub fn rfc3339(unix: i64) -> String {
        let t = shared::trust::utc_text(unix);
        // `utc_text` is `YYYY-MM-DD HH:MM:SS UTC`.
        let t = t.trim_end_matches(" UTC").replacen(' ', "T", 1);
        format!("{t}Z")
    }

    pub fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    fn meta(namespace: &str, name: &str, created: i64) -> Value {
        let mut m = json!({"name": name, "uid": format!("uid-{namespace}-{name}"),
            "creationTimestamp": rfc3339(created), "generation": 1});
        if !namespace.is_empty() {
            m["namespace"] = json!(namespace);
        }
        m
    }

    fn condition(type_: &str, ready: bool, reason: &str, message: &str, since: i64) -> Value {
        json!({"type": type_, "status": if ready { "True" } else { "False" },
            "reason": reason, "message": message, "lastTransitionTime": rfc3339(since),
            "observedGeneration": 1})
    }

    /// What a Certificate's status says.
    #[derive(Debug, Clone)]
    pub struct CertStatus {
        pub ready: bool,
        pub reason: String,
        pub message: String,
        pub ready_since: i64,
        pub not_before: Option<i64>,
        pub not_after: Option<i64>,
        pub renewal_time: Option<i64>,
        pub revision: Option<u64>,
    }

    /// A cert-manager Certificate for `dns` with a Vault Issuer, writing `secret`.
    pub fn certificate(
        namespace: &str,
        name: &str,
        secret: &str,
        dns: &[&str],
        issuer: &str,
        duration: &str,
        status: &CertStatus,
    ) -> Value {
        let mut st = json!({"conditions": [condition("Ready", status.ready, &status.reason, &status.message, status.ready_since)]});
        if let Some(t) = status.not_before {
            st["notBefore"] = json!(rfc3339(t));
        }
        if let Some(t) = status.not_after {
            st["notAfter"] = json!(rfc3339(t));
        }
        if let Some(t) = status.renewal_time {
            st["renewalTime"] = json!(rfc3339(t));
        }
        if let Some(r) = status.revision {
            st["revision"] = json!(r);
        }
        json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": meta(namespace, name, status.ready_since - 3600),
            "spec": {"secretName": secret, "dnsNames": dns, "duration": duration,
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "usages": ["digital signature", "key encipherment", "server auth"],
                "issuerRef": {"name": issuer, "kind": "Issuer", "group": "cert-manager.io"}},
            "status": st,
        })
    }

    /// A CertificateRequest of `certificate` at `revision`; `failure` as (reason,
    /// message) makes it failed.
    pub fn certificate_request(
        namespace: &str,
        certificate: &str,
        revision: u64,
        created: i64,
        failure: Option<(&str, &str)>,
    ) -> Value {
        let name = format!("{certificate}-{revision}");
        let mut m = meta(namespace, &name, created);
        m["annotations"] = json!({
            "cert-manager.io/certificate-name": certificate,
            "cert-manager.io/certificate-revision": revision.to_string(),
            "cert-manager.io/private-key-secret-name": format!("{certificate}-abcde"),
        });
        let conditions = match failure {
            Some((reason, message)) => json!([
                condition(
                    "Approved",
                    true,
                    "cert-manager.io",
                    "Certificate request has been approved by cert-manager.io",
                    created
                ),
                condition("Ready", false, reason, message, created + 1),
            ]),
            None => json!([
                condition(
                    "Approved",
                    true,
                    "cert-manager.io",
                    "Certificate request has been approved by cert-manager.io",
                    created
                ),
                condition(
                    "Ready",
                    true,
                    "Issued",
                    "Certificate fetched from issuer successfully",
                    created + 1
                ),
            ]),
        };
        let mut status = json!({"conditions": conditions});
        if failure.is_some() {
            status["failureTime"] = json!(rfc3339(created + 1));
        }
        json!({
            "apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
            "metadata": m,
            "spec": {"request": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K",
                "issuerRef": {"name": "vault-issuer", "kind": "Issuer", "group": "cert-manager.io"},
                "usages": ["digital signature", "key encipherment", "server auth"]},
            "status": status,
        })
    }

    /// A Vault Issuer logging in with Kubernetes auth.
    pub fn vault_issuer(
        namespace: &str,
        name: &str,
        server: &str,
        path: &str,
        ready: bool,
        reason: &str,
    ) -> Value {
        let since = now() - 3600;
        json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Issuer",
            "metadata": meta(namespace, name, since),
            "spec": {"vault": {"server": server, "path": path,
                "auth": {"kubernetes": {"role": "cert-manager", "mountPath": "/v1/auth/kubernetes",
                    "serviceAccountRef": {"name": "vault-issuer"}}}}},
            "status": {"conditions": [condition("Ready", ready, reason,
                if ready { "Vault verified" } else { "Failed to initialize Vault client: error reading Kubernetes service account token" }, since)]},
        })
    }

    /// An Ingress serving `hosts` with the TLS Secret `secret`.
    pub fn ingress(namespace: &str, name: &str, hosts: &[&str], secret: &str) -> Value {
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": meta(namespace, name, now() - 7200),
            "spec": {"ingressClassName": "nginx",
                "tls": [{"hosts": hosts, "secretName": secret}],
                "rules": hosts.iter().map(|h| json!({"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": name, "port": {"number": 80}}}}]}})).collect::<Vec<_>>()},
        })
    }

    /// A `kubernetes.io/tls` Secret with `tls.crt`, `tls.key` and (if given) `ca.crt`.
    pub fn tls_secret(
        namespace: &str,
        name: &str,
        tls_crt: &str,
        tls_key: &str,
        ca_crt: Option<&str>,
    ) -> Value {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut data = json!({"tls.crt": b64(tls_crt), "tls.key": b64(tls_key)});
        if let Some(ca) = ca_crt {
            data["ca.crt"] = json!(b64(ca));
        }
        json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": meta(namespace, name, now() - 600),
            "data": data,
        })
    }
}
