//! Proxy overhead: what upstream mode adds to a request. Starts the release binary twice
//! on loopback, A with the embedded engine and B in upstream mode in front of A, then
//! sends the same requests to both, interleaved (A, B, B, A, ...) over one keep-alive
//! client, one at a time, and prints p50/p99 latency of each and the B/A ratios.
//!
//! Run with `cargo xtask bench proxy` (builds the release binary first), or
//! `cargo bench -p pki-console --bench proxy` with `PKI_CONSOLE_BIN` set or
//! `target/release/pki-console` built. Request counts are fixed and bounded.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Requests per target for each small read, and for signing.
const READS: usize = 1000;
const SIGNS: usize = 200;
/// Requests per target before measuring (connections, caches, allocator).
const WARMUP: usize = 50;

struct Console {
    _child: Child,
    base: String,
    data_dir: PathBuf,
}

async fn start(bin: &Path, data_dir: &Path, args: &[&str]) -> anyhow::Result<Console> {
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env("PKI_CONSOLE_LOG", "error")
        .env_remove("VAULT_ADDR")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("PKI Console is ready: ") {
                return Ok(url.trim_end_matches('/').to_string());
            }
        }
        bail!("{} exited before it was ready", bin.display())
    })
    .await
    .context("no ready line within 60 s")??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Console {
        _child: child,
        base,
        data_dir: data_dir.to_path_buf(),
    })
}

type Http = Client<HttpConnector, Full<Bytes>>;

async fn send(
    http: &Http,
    method: &Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &Bytes,
) -> anyhow::Result<(StatusCode, hyper::HeaderMap, Bytes)> {
    let mut req = Request::builder().method(method.clone()).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = http.request(req.body(Full::new(body.clone()))?).await?;
    let (parts, body) = res.into_parts();
    Ok((
        parts.status,
        parts.headers,
        body.collect().await?.to_bytes(),
    ))
}

/// A request both targets get, with the headers each needs.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    a_headers: Vec<(String, String)>,
    b_headers: Vec<(String, String)>,
    /// One body per request (signing needs a fresh CSR each time), or one for all.
    bodies: Vec<Bytes>,
    count: usize,
}

struct Row {
    name: &'static str,
    n: usize,
    a: Vec<Duration>,
    b: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

async fn measure(http: &Http, a: &str, b: &str, case: &Case) -> anyhow::Result<Row> {
    let a_h: Vec<(&str, &str)> = case
        .a_headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let b_h: Vec<(&str, &str)> = case
        .b_headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let a_url = format!("{a}{}", case.path);
    let b_url = format!("{b}{}", case.path);
    let mut row = Row {
        name: case.name,
        n: case.count,
        a: Vec::with_capacity(case.count),
        b: Vec::with_capacity(case.count),
    };
    let total = WARMUP + case.count;
    for i in 0..total {
        // Two bodies per round when they differ (a CSR is signed once).
        let body_a = &case.bodies[(2 * i) % case.bodies.len()];
        let body_b = &case.bodies[(2 * i + 1) % case.bodies.len()];
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_a in order {
            let (url, headers, body) = if is_a {
                (&a_url, &a_h, body_a)
            } else {
                (&b_url, &b_h, body_b)
            };
            let started = Instant::now();
            let (status, _, answer) = send(http, &case.method, url, headers, body).await?;
            let took = started.elapsed();
            if !status.is_success() {
                bail!(
                    "{} to {url}: {status} {}",
                    case.name,
                    String::from_utf8_lossy(&answer)
                );
            }
            if i >= WARMUP {
                if is_a { &mut row.a } else { &mut row.b }.push(took);
            }
        }
    }
    row.a.sort();
    row.b.sort();
    Ok(row)
}

fn binary() -> anyhow::Result<PathBuf> {
    let bin = std::env::var_os("PKI_CONSOLE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/pki-console")
        });
    if !bin.exists() {
        bail!(
            "{} does not exist: run `cargo xtask bench proxy`, which builds it",
            bin.display()
        );
    }
    Ok(bin)
}

async fn run() -> anyhow::Result<()> {
    let bin = binary()?;
    let tmp = tempfile::tempdir()?;
    let a = start(&bin, &tmp.path().join("a"), &[]).await?;
    let b = start(&bin, &tmp.path().join("b"), &["--vault-addr", &a.base]).await?;
    let root = std::fs::read_to_string(a.data_dir.join("root-token"))?
        .trim()
        .to_string();
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let token = [("x-vault-token", root.as_str())];
    let json_token = [
        ("x-vault-token", root.as_str()),
        ("content-type", "application/json"),
    ];

    // A PKI mount with an EC P-256 root and a role, set up through A.
    for (path, body) in [
        ("/v1/sys/mounts/bench", json!({"type": "pki"})),
        (
            "/v1/bench/root/generate/internal",
            json!({"common_name": "Bench Root", "key_type": "ec", "key_bits": 256, "ttl": "24h"}),
        ),
        (
            "/v1/bench/roles/svc",
            json!({"allowed_domains": "bench.test", "allow_subdomains": true, "key_type": "any", "max_ttl": "1h"}),
        ),
    ] {
        let (status, _, answer) = send(
            &http,
            &Method::POST,
            &format!("{}{path}", a.base),
            &json_token,
            &Bytes::from(body.to_string()),
        )
        .await?;
        if !status.is_success() {
            bail!(
                "setup {path}: {status} {}",
                String::from_utf8_lossy(&answer)
            );
        }
    }
    // A console session on B, for the cookie case.
    let (status, headers, answer) = send(
        &http,
        &Method::POST,
        &format!("{}/api/session", b.base),
        &[("content-type", "application/json")],
        &Bytes::from(json!({"token": root}).to_string()),
    )
    .await?;
    if status != StatusCode::OK {
        bail!(
            "sign-in on B: {status} {}",
            String::from_utf8_lossy(&answer)
        );
    }
    let cookie = headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .context("no session cookie")?
        .to_string();

    // Fresh P-256 CSRs, made before the clock runs.
    let mut csrs = Vec::with_capacity(2 * (SIGNS + WARMUP));
    for i in 0..2 * (SIGNS + WARMUP) {
        use shared::pki::{cert, csr, key};
        let k = key::PrivateKey::generate(key::KeyType::Ec, 256)?;
        let cn = format!("svc-{i}.bench.test");
        let sans = cert::Sans {
            dns: vec![cn.clone()],
            ..Default::default()
        };
        let pem = csr::build_csr(
            &k,
            &cert::Subject::with_common_name(&cn),
            &sans,
            &Default::default(),
        )?;
        csrs.push(Bytes::from(
            json!({"csr": pem, "common_name": cn, "ttl": "10m"}).to_string(),
        ));
    }

    let own = |h: &[(&str, &str)]| -> Vec<(String, String)> {
        h.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let cases = [
        Case {
            name: "GET sys/health (no token)",
            method: Method::GET,
            path: "/v1/sys/health".into(),
            a_headers: vec![],
            b_headers: vec![],
            bodies: vec![Bytes::new()],
            count: READS,
        },
        Case {
            name: "GET bench/roles/svc (token)",
            method: Method::GET,
            path: "/v1/bench/roles/svc".into(),
            a_headers: own(&token),
            b_headers: own(&token),
            bodies: vec![Bytes::new()],
            count: READS,
        },
        Case {
            name: "GET bench/roles/svc (B: cookie)",
            method: Method::GET,
            path: "/v1/bench/roles/svc".into(),
            a_headers: own(&token),
            b_headers: own(&[("cookie", cookie.as_str())]),
            bodies: vec![Bytes::new()],
            count: READS,
        },
        Case {
            name: "POST bench/sign/svc (P-256 CSR)",
            method: Method::POST,
            path: "/v1/bench/sign/svc".into(),
            a_headers: own(&json_token),
            b_headers: own(&json_token),
            bodies: csrs,
            count: SIGNS,
        },
    ];
    let mut rows = Vec::new();
    for case in &cases {
        rows.push(measure(&http, &a.base, &b.base, case).await?);
    }

    println!();
    println!("Proxy overhead: B (upstream mode) -> A (embedded engine) versus A direct. Loopback,");
    println!(
        "one keep-alive client, one request at a time, A and B interleaved; {WARMUP} warm-up requests each."
    );
    println!();
    println!(
        "{:<34} {:>5} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>10}",
        "request", "n", "A p50", "A p99", "B p50", "B p99", "p50 B/A", "p99 B/A", "+p50"
    );
    for r in &rows {
        let (a50, a99) = (percentile(&r.a, 50.0), percentile(&r.a, 99.0));
        let (b50, b99) = (percentile(&r.b, 50.0), percentile(&r.b, 99.0));
        let extra = b50.as_secs_f64() - a50.as_secs_f64();
        println!(
            "{:<34} {:>5} {:>10} {:>10} {:>10} {:>10} {:>8.2} {:>8.2} {:>7.0} µs",
            r.name,
            r.n,
            ms(a50),
            ms(a99),
            ms(b50),
            ms(b99),
            b50.as_secs_f64() / a50.as_secs_f64(),
            b99.as_secs_f64() / a99.as_secs_f64(),
            extra * 1e6,
        );
    }
    println!();
    drop(b);
    drop(a);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; this binary takes no arguments of its own.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
