//! Test harness of the end-to-end suites. The server and OpenBao launchers, the `/v1`
//! client, `Target` and the recipe live in the `testbed` crate (shared with xtask and the
//! benchmarks) and are re-exported here under their old paths; this crate adds headless
//! Chromium, hand-written HTTP, the TokenReview stub and the Kubernetes API stub (`kubeapi`).

pub mod browser;
pub mod kubeapi;
pub mod raw;
pub mod tokenreview;

pub use testbed::recipe::csr_pem;
pub use testbed::{http, openbao, recipe, root, server, target};

pub use browser::{Browser, BrowserOptions};
pub use server::Server;
pub use target::{Kind, Reply, Target};

/// Waits (up to 30 s) until the browser has completely downloaded `name` into `dir`.
pub async fn downloaded(dir: &std::path::Path, name: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(name);
    for _ in 0..300 {
        let partial = std::fs::read_dir(dir)?
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".crdownload"));
        if path.exists() && !partial && std::fs::metadata(&path)?.len() > 0 {
            return Ok(path);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let have: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    anyhow::bail!("{name} was not downloaded; the folder has {have:?}")
}

/// The setup wizard's Vault calls (`shared::setup::apply`) through a [`Target`] with its
/// root token: how the API-level wizard tests run the same plan and apply as the SPA.
pub struct WizardApi<'a>(pub &'a Target);

impl shared::setup::apply::Vault for WizardApi<'_> {
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), String> {
        let method = http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let reply = self
            .0
            .root(method, path, body.unwrap_or(serde_json::Value::Null))
            .await
            .map_err(|e| e.to_string())?;
        Ok((reply.status, reply.body))
    }
}

/// A self-signed CA certificate (PEM) for the wizard's "cluster CA" field: Vault parses
/// it and never reaches the cluster.
pub fn cluster_ca_pem() -> String {
    use shared::pki::cert::{self, CertSpec, KeyUsage, Subject};
    use shared::pki::key::{KeyType, PrivateKey};
    let key = PrivateKey::generate(KeyType::Ec, 256).expect("an EC key");
    let spec = CertSpec {
        serial: vec![9],
        not_before: 0,
        not_after: 4_000_000_000,
        subject: Subject::with_common_name("kubernetes"),
        is_ca: true,
        key_usage: vec![KeyUsage::CertSign],
        ..CertSpec::default()
    };
    cert::pem_encode(
        "CERTIFICATE",
        &cert::self_sign(&spec, &key, 0).expect("a self-signed CA"),
    )
}

/// An outside root (openssl, P-256, 30 days) that signs `csr_pem` as a CA for 20 days, in
/// `dir`: the root's PEM and the signed intermediate's PEM. What an admin with an
/// external root does with the intermediate CSR the wizard downloads.
pub fn outside_root_signs(
    dir: &std::path::Path,
    csr_pem: &str,
) -> anyhow::Result<(String, String)> {
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let openssl = |args: &[&str]| -> anyhow::Result<()> {
        let out = std::process::Command::new("openssl").args(args).output()?;
        anyhow::ensure!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    std::fs::write(p("outside-int.csr"), csr_pem)?;
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &p("outside-root.key"),
        "-out",
        &p("outside-root.pem"),
        "-days",
        "30",
        "-subj",
        "/CN=Outside Root",
    ])?;
    std::fs::write(
        p("outside-ext.cnf"),
        "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("outside-int.csr"),
        "-CA",
        &p("outside-root.pem"),
        "-CAkey",
        &p("outside-root.key"),
        "-CAcreateserial",
        "-days",
        "20",
        "-extfile",
        &p("outside-ext.cnf"),
        "-out",
        &p("outside-int.pem"),
    ])?;
    Ok((
        std::fs::read_to_string(p("outside-root.pem"))?,
        std::fs::read_to_string(p("outside-int.pem"))?,
    ))
}
