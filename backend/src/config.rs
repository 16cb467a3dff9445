//! The server's one configuration struct: flags, each with an environment variable.
//! Nothing else in the server reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "pki-console",
    version,
    about = "PKI Console: a browser console for Vault PKI"
)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "PKI_CONSOLE_LISTEN", default_value = "127.0.0.1:8210")]
    pub listen: SocketAddr,

    /// Directory for the embedded engine's database, keys and audit log.
    #[arg(long, env = "PKI_CONSOLE_DATA_DIR", default_value_os_t = default_data_dir())]
    pub data_dir: PathBuf,

    /// Log format on stderr.
    #[arg(long, env = "PKI_CONSOLE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter, in `tracing`'s env-filter syntax (`info`, `warn,backend=debug`).
    #[arg(long, env = "PKI_CONSOLE_LOG", default_value = "info,tower_http=info")]
    pub log: String,

    /// Key-encryption key for CA private keys at rest: base64 of 32 bytes. When unset,
    /// the key is kept in `<data-dir>/kek` (created on first start, mode 0600).
    #[arg(long, env = "PKI_CONSOLE_KEK", hide_env_values = true)]
    pub kek: Option<Redacted>,

    /// Audit log file (one JSON line per request and response). Default:
    /// `<data-dir>/audit.log`.
    #[arg(long, env = "PKI_CONSOLE_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,

    /// Seconds the embedded engine waits for a Kubernetes TokenReview answer at
    /// `auth/<kubernetes>/login` before failing the login.
    #[arg(long, env = "PKI_CONSOLE_KUBERNETES_TIMEOUT", default_value_t = 10)]
    pub kubernetes_timeout_secs: u64,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "PKI_CONSOLE_MAX_BODY", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Upstream mode: the address of a Vault or OpenBao server (`https://vault:8200`)
    /// that `/v1/*` is forwarded to, or the addresses of a cluster's nodes separated by
    /// commas (each request goes to the node `sys/health` reports active). Unset: embedded
    /// mode.
    #[arg(long, env = "VAULT_ADDR")]
    pub vault_addr: Option<String>,

    /// PEM file with the CA certificate(s) that sign the upstream's TLS certificate.
    /// Unset: the system's trusted roots.
    #[arg(long, env = "VAULT_CACERT")]
    pub vault_ca_file: Option<PathBuf>,

    /// Vault Enterprise / OpenBao namespace, sent upstream as `X-Vault-Namespace` on
    /// requests that do not name one.
    #[arg(long, env = "VAULT_NAMESPACE")]
    pub vault_namespace: Option<String>,

    /// Do NOT verify the upstream's TLS certificate. Anyone on the network path can then
    /// impersonate Vault and read every token; for throw-away test setups only.
    #[arg(long, env = "PKI_CONSOLE_VAULT_SKIP_VERIFY", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub vault_skip_verify: bool,

    /// How long to wait for a TCP connection to the upstream (`500ms`, `5s`).
    #[arg(long, env = "PKI_CONSOLE_UPSTREAM_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub upstream_connect_timeout: Duration,

    /// How long to wait for the upstream's answer to begin, and between two pieces of it
    /// (`30s`, `2m`): then 504, or the answer is cut off.
    #[arg(long, env = "PKI_CONSOLE_UPSTREAM_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub upstream_timeout: Duration,

    /// Key that seals session cookies: base64 of 32 bytes, the same on every replica.
    /// Unset: embedded mode keeps one in `<data-dir>/session-key` (mode 0600); upstream
    /// mode makes an ephemeral one (sessions end with the process).
    #[arg(long, env = "PKI_CONSOLE_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<Redacted>,

    /// Longest a console session lasts, even for a token that lives longer or never
    /// expires (a session always ends when its token does).
    #[arg(long, env = "PKI_CONSOLE_SESSION_TTL", default_value = "12h", value_parser = parse_duration)]
    pub session_ttl: Duration,

    /// Mark the session cookie `Secure` even when this server speaks plain HTTP (it is
    /// behind a TLS-terminating proxy). Always on with `--tls-cert`.
    #[arg(long, env = "PKI_CONSOLE_COOKIE_SECURE", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub cookie_secure: bool,

    /// Serve HTTPS with this PEM certificate chain (leaf first); needs `--tls-key`.
    #[arg(long, env = "PKI_CONSOLE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of `--tls-cert` (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "PKI_CONSOLE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// How long a new connection may take to send its first request head (TLS handshake
    /// included), and a kept-alive one the rest of a head once its first byte came
    /// (`10s`); then the connection is closed.
    #[arg(long, env = "PKI_CONSOLE_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// How long a client may take to send a request's body, counted from its head (then
    /// 408 and the connection is closed), and to take more of an answer once it stopped
    /// reading (then the connection is closed) (`30s`).
    #[arg(long, env = "PKI_CONSOLE_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// How long a kept-alive connection may sit idle between two requests (`60s`).
    #[arg(long, env = "PKI_CONSOLE_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// Most client connections open at once. Unset: derived from the open-file limit
    /// (see README). At the limit, the connection idle the longest (not in a request)
    /// is closed to make room; when every one is in a request, new ones wait.
    #[arg(long, env = "PKI_CONSOLE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,

    /// PKI mounts the public Trust page (`/trust`, `/api/trust`, `/ca/...`) publishes,
    /// separated by commas (`pki,pki_int`). Unset: embedded mode publishes every PKI mount
    /// that has an issuer; upstream mode, which cannot list mounts without a token, tries
    /// `pki` and `pki_int`.
    #[arg(long, env = "PKI_CONSOLE_TRUST_MOUNTS")]
    pub trust_mounts: Option<String>,

    /// The Kubernetes view (`/kubernetes`): a kubeconfig file for the cluster to watch
    /// (read-only; RBAC in `deploy/kubernetes/`). Unset, and without
    /// `--kube-in-cluster`: the page says how to connect one.
    #[arg(long, env = "PKI_CONSOLE_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use. Unset: the file's current context.
    #[arg(long, env = "PKI_CONSOLE_KUBE_CONTEXT", requires = "kubeconfig")]
    pub kube_context: Option<String>,

    /// Watch the cluster this server runs in, with its pod's service account.
    #[arg(long, env = "PKI_CONSOLE_KUBE_IN_CLUSTER", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue, conflicts_with = "kubeconfig")]
    pub kube_in_cluster: bool,
}

/// Where the Vault API is served from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The in-process engine, with its data directory.
    Embedded,
    /// Forwarded to `--vault-addr`; the server keeps no state.
    Upstream,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Embedded => "embedded",
            Mode::Upstream => "upstream",
        }
    }
}

/// A duration for people: `500ms`, `5s`, `10m`, `12h`, or bare seconds (`30`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (examples: 500ms, 5s, 10m, 12h)"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m or h)"
            ));
        }
    };
    if d.is_zero() {
        return Err(format!("{text:?}: the duration must be more than zero"));
    }
    Ok(d)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|base| base.join("pki-console"))
        .unwrap_or_else(|| PathBuf::from("pki-console-data"))
}

impl Config {
    /// A configuration for tests: an ephemeral port and the given data directory.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            log_format: LogFormat::Text,
            log: "info".into(),
            kek: None,
            audit_log: None,
            kubernetes_timeout_secs: 10,
            max_body_bytes: 1024 * 1024,
            vault_addr: None,
            vault_ca_file: None,
            vault_namespace: None,
            vault_skip_verify: false,
            upstream_connect_timeout: Duration::from_secs(5),
            upstream_timeout: Duration::from_secs(60),
            session_key: None,
            session_ttl: Duration::from_secs(12 * 3600),
            cookie_secure: false,
            tls_cert: None,
            tls_key: None,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: None,
            trust_mounts: None,
            kubeconfig: None,
            kube_context: None,
            kube_in_cluster: false,
        }
    }

    /// Embedded unless an upstream address is configured.
    pub fn mode(&self) -> Mode {
        match self.vault_addr.as_deref().map(str::trim) {
            Some(addr) if !addr.is_empty() => Mode::Upstream,
            _ => Mode::Embedded,
        }
    }

    /// The entries of `--vault-addr`, split at commas and trimmed (empty entries kept, so
    /// that `proxy.rs` can name them in its error).
    pub fn vault_addrs(&self) -> Vec<String> {
        match self.vault_addr.as_deref().map(str::trim) {
            Some(list) if !list.is_empty() => {
                list.split(',').map(|a| a.trim().to_string()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether this server itself speaks TLS.
    pub fn serves_tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }
}

/// A secret from the configuration: shown as `[redacted]` in logs and debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Redacted {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Redacted(s.to_string()))
    }
}

impl Config {
    pub fn engine(&self) -> crate::engine::EngineConfig {
        crate::engine::EngineConfig {
            data_dir: self.data_dir.clone(),
            kek: self.kek.as_ref().map(|k| k.0.clone()),
            audit_log: self.audit_log.clone(),
            kubernetes_timeout: std::time::Duration::from_secs(self.kubernetes_timeout_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn durations_for_people() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43_200)));
        for bad in ["", "s", "5d", "-1s", "0s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mode_follows_the_vault_address() {
        let embedded = Config::try_parse_from(["pki-console", "--vault-addr", ""]).unwrap();
        assert_eq!(embedded.mode(), Mode::Embedded);
        let upstream = Config::try_parse_from([
            "pki-console",
            "--vault-addr",
            "https://vault.example:8200",
            "--upstream-timeout",
            "2s",
            "--vault-skip-verify",
        ])
        .unwrap();
        assert_eq!(upstream.mode(), Mode::Upstream);
        assert_eq!(upstream.vault_addrs(), vec!["https://vault.example:8200"]);
        let cluster = Config::try_parse_from([
            "pki-console",
            "--vault-addr",
            " http://a:8200, http://b:8200 ,,",
        ])
        .unwrap();
        assert_eq!(
            cluster.vault_addrs(),
            vec!["http://a:8200", "http://b:8200", "", ""]
        );
        assert_eq!(upstream.upstream_timeout, Duration::from_secs(2));
        assert!(upstream.vault_skip_verify);
        assert!(!upstream.serves_tls());
        // A certificate without its key (or the reverse) is refused at startup.
        assert!(Config::try_parse_from(["pki-console", "--tls-cert", "c.pem"]).is_err());
        assert!(Config::try_parse_from(["pki-console", "--tls-key", "k.pem"]).is_err());
    }

    #[test]
    fn kubernetes_flags() {
        let none = Config::try_parse_from(["pki-console"]).unwrap();
        assert_eq!((none.kubeconfig, none.kube_in_cluster), (None, false));
        let file = Config::try_parse_from([
            "pki-console",
            "--kubeconfig",
            "/tmp/kc",
            "--kube-context",
            "prod",
        ])
        .unwrap();
        assert_eq!(file.kubeconfig, Some(PathBuf::from("/tmp/kc")));
        assert_eq!(file.kube_context.as_deref(), Some("prod"));
        // A context needs a kubeconfig; the two ways to connect exclude each other.
        assert!(Config::try_parse_from(["pki-console", "--kube-context", "prod"]).is_err());
        assert!(
            Config::try_parse_from([
                "pki-console",
                "--kubeconfig",
                "/tmp/kc",
                "--kube-in-cluster"
            ])
            .is_err()
        );
        let incluster = Config::try_parse_from(["pki-console", "--kube-in-cluster"]).unwrap();
        assert!(incluster.kube_in_cluster);
    }

    #[test]
    fn serving_limits_have_defaults_and_refuse_zero() {
        let defaults = Config::try_parse_from(["pki-console"]).unwrap();
        assert_eq!(defaults.header_timeout, Duration::from_secs(10));
        assert_eq!(defaults.body_timeout, Duration::from_secs(30));
        assert_eq!(defaults.idle_timeout, Duration::from_secs(60));
        assert_eq!(defaults.max_connections, None);
        let set = Config::try_parse_from([
            "pki-console",
            "--header-timeout",
            "2s",
            "--body-timeout",
            "500ms",
            "--idle-timeout",
            "1m",
            "--max-connections",
            "100",
        ])
        .unwrap();
        assert_eq!(set.header_timeout, Duration::from_secs(2));
        assert_eq!(set.body_timeout, Duration::from_millis(500));
        assert_eq!(set.idle_timeout, Duration::from_secs(60));
        assert_eq!(set.max_connections, Some(100));
        for (flag, value) in [
            ("--header-timeout", "0s"),
            ("--body-timeout", "soon"),
            ("--max-connections", "0"),
            ("--max-connections", "many"),
        ] {
            let err = Config::try_parse_from(["pki-console", flag, value]).unwrap_err();
            assert!(err.to_string().contains(flag), "{flag} {value}: {err}");
        }
    }
}
