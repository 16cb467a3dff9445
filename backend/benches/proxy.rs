//! Proxy overhead: what upstream mode adds to a request. Starts the release binary twice
//! on loopback (the `testbed` launcher), A with the embedded engine and B in upstream
//! mode in front of A, builds the recipe's PKI through A (`testbed::recipe`), then
//! sends the same requests to both, interleaved (A, B, B, A, ...) over one keep-alive
//! client, one at a time, and prints p50/p99 latency of each and the B/A ratios.
//!
//! Run with `cargo xtask bench proxy` (builds the release binary first), or
//! `cargo bench -p pki-console --bench proxy` with `PKI_CONSOLE_BIN` set or
//! `target/release/pki-console` built. Request counts are fixed and bounded.

use std::time::{Duration, Instant};

use anyhow::bail;
use axum::body::Bytes;
use serde_json::json;
use testbed::http::{Client, Method};
use testbed::recipe;
use testbed::server::Server;

/// Requests per target for each small read, and for signing.
const READS: usize = 1000;
const SIGNS: usize = 200;
/// Requests per target before measuring (connections, caches, allocator).
const WARMUP: usize = 50;

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

async fn measure(http: &Client, a: &str, b: &str, case: &Case) -> anyhow::Result<Row> {
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
            let res = http
                .send(case.method.clone(), url, headers, body.clone())
                .await?;
            let took = started.elapsed();
            if !res.status.is_success() {
                bail!("{} to {url}: {} {}", case.name, res.status, res.text());
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

async fn run() -> anyhow::Result<()> {
    let bin = testbed::console::binary(&["release"])?;
    let tmp = tempfile::tempdir()?;
    let a = Server::start_with(&bin, &tmp.path().join("a"), &[]).await?;
    let b = Server::start_with(&bin, &tmp.path().join("b"), &["--vault-addr", &a.base]).await?;
    let http = Client::new();

    // The recipe's PKI (EC intermediate, P-256) through A, a role to sign with, and a
    // console session on B for the cookie case.
    let role = json!({"allowed_domains": "bench.test", "allow_subdomains": true, "key_type": "any", "max_ttl": "1h"});
    let root = recipe::setup(&a, "svc", role).await?.root_token;
    let token = [("x-vault-token", root.as_str())];
    let json_token = [
        ("x-vault-token", root.as_str()),
        ("content-type", "application/json"),
    ];
    let (cookie, _) = b.sign_in(&root).await?;

    // Fresh P-256 CSRs, made before the clock runs.
    let mut csrs = Vec::with_capacity(2 * (SIGNS + WARMUP));
    for i in 0..2 * (SIGNS + WARMUP) {
        let cn = format!("svc-{i}.bench.test");
        let pem = recipe::csr_pem(&cn)?;
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
            name: "GET pki_int/roles/svc (token)",
            method: Method::GET,
            path: "/v1/pki_int/roles/svc".into(),
            a_headers: own(&token),
            b_headers: own(&token),
            bodies: vec![Bytes::new()],
            count: READS,
        },
        Case {
            name: "GET pki_int/roles/svc (B: cookie)",
            method: Method::GET,
            path: "/v1/pki_int/roles/svc".into(),
            a_headers: own(&token),
            b_headers: own(&[("cookie", cookie.as_str())]),
            bodies: vec![Bytes::new()],
            count: READS,
        },
        Case {
            name: "POST pki_int/sign/svc (P-256 CSR)",
            method: Method::POST,
            path: "/v1/pki_int/sign/svc".into(),
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
