//! Signing throughput: the embedded engine (release binary, SQLite storage) against
//! OpenBao 2.7.2 with Raft storage (`testbed`'s `OpenBao::cluster(1)`), one after the
//! other, the same PKI on both (`testbed::recipe`: EC root and intermediate) plus two
//! roles, `p256` and `rsa2048`. A load generator of N concurrent clients (each its own
//! keep-alive connection) sends `pki_int/sign/<role>` with one pre-made CSR of that key
//! type, certificates stored, for a fixed time per cell; prints certificates/s, p50/p99
//! latency, the server's RSS (peak, `VmHWM`), the ratio to OpenBao, and
//! `openssl speed ecdsap256` as the machine's limit for P-256 signatures.
//!
//! Run with `cargo xtask bench sign [SECONDS]` (builds the release binary first; SECONDS
//! per cell, default 5), or `cargo bench -p pki-console --bench sign -- [SECONDS]` with
//! `PKI_CONSOLE_BIN` set or `target/release/pki-console` built; OpenBao from
//! `$OPENBAO_BIN` or the venv (`testbed::openbao::binary`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use serde_json::{Value, json};
use testbed::http::{Client, Method};
use testbed::openbao::OpenBao;
use testbed::recipe;
use testbed::server::Server;
use testbed::target::{Kind, Target};

const CLIENTS: [usize; 4] = [1, 8, 32, 128];
const ROLES: [(&str, &str); 2] = [("p256", "P-256"), ("rsa2048", "RSA-2048")];
const WARMUP: Duration = Duration::from_millis(500);

struct Cell {
    rate: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Peak and current resident memory of `pid`, in MiB (`/proc/<pid>/status`).
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// N clients for `secs`, each sending the same signing request back to back on its own
/// connection; the first `WARMUP` is not counted.
async fn load(url: &str, token: &str, body: Bytes, clients: usize, secs: Duration) -> Cell {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let measure_from = started + WARMUP;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (url, token, body, stop) = (
            url.to_string(),
            token.to_string(),
            body.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            // One client per task: its own pool, so its own connection.
            let http = Client::new();
            let headers = [
                ("x-vault-token", token.as_str()),
                ("content-type", "application/json"),
            ];
            let mut lat = Vec::new();
            let mut errors = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                let res = http.send(Method::POST, &url, &headers, body.clone()).await;
                let took = t0.elapsed();
                let ok = matches!(&res, Ok(r) if r.status.is_success());
                if !ok {
                    errors += 1;
                    if errors == 1 {
                        match &res {
                            Ok(r) => eprintln!("sign: {} {}", r.status, r.text()),
                            Err(e) => eprintln!("sign: {e}"),
                        }
                    }
                }
                if t0 >= measure_from && ok {
                    lat.push(took);
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(WARMUP + secs).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    let window = started.elapsed().saturating_sub(WARMUP);
    all.sort();
    Cell {
        rate: all.len() as f64 / window.as_secs_f64(),
        p50: percentile(&all, 50.0),
        p99: percentile(&all, 99.0),
        errors,
    }
}

/// A CSR for `cn` with a key of the role's type.
fn csr(role: &str, cn: &str) -> anyhow::Result<String> {
    use shared::pki::{cert, csr, key};
    let k = match role {
        "rsa2048" => key::PrivateKey::generate(key::KeyType::Rsa, 2048)?,
        _ => key::PrivateKey::generate(key::KeyType::Ec, 256)?,
    };
    let sans = cert::Sans {
        dns: vec![cn.to_string()],
        ..Default::default()
    };
    Ok(csr::build_csr(
        &k,
        &cert::Subject::with_common_name(cn),
        &sans,
        &Default::default(),
    )?)
}

/// The recipe's PKI on `target` plus the two benchmark roles.
async fn prepare(target: &Target) -> anyhow::Result<()> {
    let base = json!({"allowed_domains": "bench.test", "allow_subdomains": true, "max_ttl": "1h"});
    recipe::build(target, "svc", base.clone()).await?;
    for (role, key_type, bits) in [("p256", "ec", 256), ("rsa2048", "rsa", 2048)] {
        let mut body = base.clone();
        body["key_type"] = json!(key_type);
        body["key_bits"] = json!(bits);
        target
            .root_ok(Method::POST, &format!("pki_int/roles/{role}"), body)
            .await?;
    }
    Ok(())
}

type Rows = Vec<(&'static str, usize, Cell, (f64, f64))>;

async fn run_target(
    target: &Target,
    pid: u32,
    secs: Duration,
    csrs: &[(String, Bytes)],
) -> anyhow::Result<Rows> {
    prepare(target).await?;
    let mut rows = Vec::new();
    for (role, label) in ROLES {
        let body = csrs
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, b)| b.clone())
            .context("a CSR")?;
        let url = format!("{}/v1/pki_int/sign/{role}", target.base);
        for clients in CLIENTS {
            let cell = load(&url, &target.root_token, body.clone(), clients, secs).await;
            let rss = rss_mib(pid);
            eprintln!(
                "  {:8} {label:8} {clients:>3} clients: {:>8.0} certs/s  p50 {:>7.2} ms  p99 {:>7.2} ms  RSS {:.0} MiB (peak {:.0}){}",
                target.name(),
                cell.rate,
                cell.p50.as_secs_f64() * 1e3,
                cell.p99.as_secs_f64() * 1e3,
                rss.1,
                rss.0,
                if cell.errors > 0 {
                    format!("  {} ERRORS", cell.errors)
                } else {
                    String::new()
                }
            );
            rows.push((label, clients, cell, rss));
        }
    }
    // The certificates were stored: the count the server lists is checked to be at
    // least the number answered in the measured windows.
    let listed = target
        .root(Method::from_bytes(b"LIST")?, "pki_int/certs", Value::Null)
        .await?;
    let n = listed.data()["keys"].as_array().map_or(0, Vec::len);
    eprintln!(
        "  {}: {n} certificates listed in pki_int/certs",
        target.name()
    );
    Ok(rows)
}

fn openssl_speed() -> String {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-seconds", "3", "ecdsap256"])
        .output();
    let Ok(out) = out else {
        return "openssl not found".into();
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // The last line: " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  sign/s verify/s".
    text.lines()
        .rev()
        .find(|l| l.contains("nistp256"))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let n = cols.len();
            if n >= 2 {
                format!(
                    "{} sign/s, {} verify/s (one core)",
                    cols[n - 2],
                    cols[n - 1]
                )
            } else {
                l.to_string()
            }
        })
        .unwrap_or_else(|| "no figure".into())
}

async fn run() -> anyhow::Result<()> {
    let secs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .map_or(Duration::from_secs(5), Duration::from_secs);
    let bin = testbed::console::binary(&["release"])?;
    let tmp = tempfile::tempdir()?;
    let mut csrs = Vec::new();
    for (role, _) in ROLES {
        let cn = format!("{role}.bench.test");
        let body = json!({"csr": csr(role, &cn)?, "common_name": cn, "ttl": "10m"}).to_string();
        csrs.push((role.to_string(), Bytes::from(body)));
    }
    let limit = openssl_speed();
    eprintln!("openssl speed ecdsap256: {limit}");

    eprintln!("console (embedded, {})", bin.display());
    let console = Server::start_with(&bin, &tmp.path().join("console"), &[]).await?;
    let engine = Target::engine(&console)?;
    let ours = run_target(&engine, console.pid(), secs, &csrs).await?;
    console.stop().await?;

    eprintln!("OpenBao 2.7.2, Raft storage (one node)");
    let cluster = OpenBao::cluster(1).await?;
    let node = &cluster.nodes[0];
    let bao = Target::new(Kind::OpenBao, &node.addr, &cluster.root_token);
    let theirs = run_target(&bao, node.pid, secs, &csrs).await?;
    drop(cluster);

    println!();
    println!(
        "sign/<role> with a pre-made CSR, certificates stored, {} s per cell (after {} ms warm-up)",
        secs.as_secs(),
        WARMUP.as_millis()
    );
    println!("machine limit: openssl speed ecdsap256: {limit}");
    println!();
    println!(
        "| key | clients | console certs/s | p50 / p99 ms | RSS MiB (peak) | OpenBao certs/s | p50 / p99 ms | RSS MiB (peak) | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut errors = 0;
    for ((label, clients, a, ra), (_, _, b, rb)) in ours.iter().zip(theirs.iter()) {
        errors += a.errors + b.errors;
        println!(
            "| {label} | {clients} | {:.0} | {:.2} / {:.2} | {:.0} ({:.0}) | {:.0} | {:.2} / {:.2} | {:.0} ({:.0}) | {:.1}× |",
            a.rate,
            a.p50.as_secs_f64() * 1e3,
            a.p99.as_secs_f64() * 1e3,
            ra.1,
            ra.0,
            b.rate,
            b.p50.as_secs_f64() * 1e3,
            b.p99.as_secs_f64() * 1e3,
            rb.1,
            rb.0,
            if b.rate > 0.0 {
                a.rate / b.rate
            } else {
                f64::NAN
            },
        );
    }
    if errors > 0 {
        bail!("{errors} requests failed during the run");
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
