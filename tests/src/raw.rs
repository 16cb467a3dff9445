//! HTTP/1.1 written by hand over TCP or TLS: request lines exactly as given (HTTP client
//! libraries normalise `..` away), chunked bodies, and HTTPS trusting a given CA. Every
//! call has a deadline, so a server that hangs fails the test instead of stalling it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(20);

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("body is not JSON: {}", self.text()))
    }
}

pub use testbed::console::authority;

/// Sends `head` (request line and headers, without the blank line; `Host` and
/// `Connection: close` are added) and `body` to `authority`, and reads the whole answer.
pub async fn request(authority: &str, head: &str, body: &[u8]) -> anyhow::Result<RawResponse> {
    let stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    exchange(stream, authority, head, body).await
}

/// As [`request`], over TLS to `authority`, trusting only `ca_der`; the certificate must
/// name `server_name`.
pub async fn request_tls(
    authority: &str,
    server_name: &str,
    ca_der: &[u8],
    head: &str,
    body: &[u8],
) -> anyhow::Result<RawResponse> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca_der.to_vec()))?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    let name = ServerName::try_from(server_name.to_string())?;
    let tls = tokio::time::timeout(DEADLINE, connector.connect(name, tcp))
        .await
        .context("TLS handshake timed out")??;
    exchange(tls, authority, head, body).await
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    authority: &str,
    head: &str,
    body: &[u8],
) -> anyhow::Result<RawResponse> {
    let mut out = format!("{head}\r\nHost: {authority}\r\nConnection: close\r\n\r\n").into_bytes();
    out.extend_from_slice(body);
    let mut buf = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        // A server may answer (413) and close before it read the whole body.
        if let Err(e) = stream.write_all(&out).await
            && !matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            )
        {
            return Err(e);
        }
        let _ = stream.flush().await;
        match stream.read_to_end(&mut buf).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !buf.is_empty() => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => Ok(()),
            Err(e) => Err(e),
        }
    })
    .await
    .with_context(|| format!("no complete answer within {DEADLINE:?} to `{head}`"))??;
    parse(&buf).with_context(|| format!("answer to `{head}`"))
}

fn parse(buf: &[u8]) -> anyhow::Result<RawResponse> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        bail!(
            "no complete response head in {:?}",
            String::from_utf8_lossy(buf)
        );
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &buf[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        if size == 0 {
            return Ok(out);
        }
        let start = eol + 2;
        let chunk = data.get(start..start + size).context("truncated chunk")?;
        out.extend_from_slice(chunk);
        data = data.get(start + size + 2..).unwrap_or_default();
    }
}

/// A body in `Transfer-Encoding: chunked` form, in chunks of `size` bytes.
pub fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(size.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A test CA and a server certificate signed by it, made with the project's own PKI code.
pub struct ServerPki {
    pub ca_der: Vec<u8>,
    pub leaf_der: Vec<u8>,
    pub leaf_key: shared::pki::key::PrivateKey,
}

impl ServerPki {
    /// A CA named `ca_name` and a TLS server certificate for `leaf_cn`, the `dns` names
    /// and `127.0.0.1`, both valid from a minute ago for `lifetime_secs`. P-256 keys.
    pub fn new(
        ca_name: &str,
        leaf_cn: &str,
        dns: &[&str],
        lifetime_secs: i64,
    ) -> anyhow::Result<ServerPki> {
        use shared::pki::cert::{self, CertSpec, ExtKeyUsage, KeyUsage, Sans, Subject};
        use shared::pki::key::{KeyType, PrivateKey};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        let ca_key = PrivateKey::generate(KeyType::Ec, 256)?;
        let ca_spec = CertSpec {
            serial: cert::random_serial()?,
            not_before: now - 60,
            not_after: now + lifetime_secs,
            subject: Subject::with_common_name(ca_name),
            is_ca: true,
            key_usage: vec![KeyUsage::CertSign, KeyUsage::CrlSign],
            ..Default::default()
        };
        let ca_der = cert::self_sign(&ca_spec, &ca_key, 0)?;
        let leaf_key = PrivateKey::generate(KeyType::Ec, 256)?;
        let leaf_spec = CertSpec {
            serial: cert::random_serial()?,
            not_before: now - 60,
            not_after: now + lifetime_secs,
            subject: Subject::with_common_name(leaf_cn),
            sans: Sans {
                dns: dns.iter().map(|d| d.to_string()).collect(),
                ip: vec!["127.0.0.1".parse()?],
                ..Default::default()
            },
            key_usage: vec![KeyUsage::DigitalSignature],
            ext_key_usage: vec![ExtKeyUsage::ServerAuth],
            ..Default::default()
        };
        let leaf_der = cert::sign(&leaf_spec, &leaf_key.public_key_info(), &ca_der, &ca_key, 0)?;
        Ok(ServerPki {
            ca_der,
            leaf_der,
            leaf_key,
        })
    }

    /// The CA certificate as PEM.
    pub fn ca_pem(&self) -> String {
        shared::pki::pem::pem_encode("CERTIFICATE", &self.ca_der)
    }
}

/// A CA and a server certificate for `127.0.0.1` and `localhost` signed by it: PEM files
/// in `dir` (`ca.pem`, `server.pem` holding leaf and CA, `server-key.pem`). Returns the
/// CA certificate as DER.
pub fn write_tls_files(dir: &std::path::Path, ca_name: &str) -> anyhow::Result<Vec<u8>> {
    let pki = ServerPki::new(ca_name, "localhost", &["localhost"], 3600)?;
    let ca_pem = pki.ca_pem();
    std::fs::write(dir.join("ca.pem"), &ca_pem)?;
    std::fs::write(
        dir.join("server.pem"),
        format!(
            "{}{ca_pem}",
            shared::pki::pem::pem_encode("CERTIFICATE", &pki.leaf_der)
        ),
    )?;
    std::fs::write(
        dir.join("server-key.pem"),
        pki.leaf_key.to_pkcs8_pem()?.as_bytes(),
    )?;
    Ok(pki.ca_der)
}
