//! Signing under load and through a crash (issue 17's resilience tests 1 and 2), against
//! the real binary on loopback, bounded in count and time:
//!
//! - 200 concurrent signers (each its own keep-alive connection, the recipe's signer
//!   token) sign 5 CSRs each: no error, every serial unique, and `LIST pki_int/certs`
//!   grows by exactly the number of answers.
//! - The same load, `kill -9` of the server in the middle of it, a restart on the same
//!   data directory: every certificate whose answer arrived is listed, SQLite's
//!   `PRAGMA integrity_check` says `ok`, every complete line of the audit log is JSON (only
//!   a last line without its newline may be cut), and the server signs again.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use tests::Server;
use tests::http::{Client, Method};
use tests::recipe;

const SIGNERS: usize = 200;
const PER_SIGNER: usize = 5;
/// Neither test may take longer than this for its load.
const BOUND: Duration = Duration::from_secs(45);

fn role() -> Value {
    json!({"allowed_domains": "load.test", "allow_subdomains": true, "key_type": "ec", "max_ttl": "1h"})
}

/// A few pre-made CSRs (signing the same CSR again makes a new certificate).
fn bodies() -> anyhow::Result<Vec<String>> {
    (0..4)
        .map(|i| {
            let cn = format!("svc-{i}.load.test");
            Ok(json!({"csr": tests::csr_pem(&cn)?, "common_name": cn, "ttl": "10m"}).to_string())
        })
        .collect()
}

/// The serials in `LIST pki_int/certs`, as `aa:bb:...` (Vault answers an empty list
/// with 404).
async fn listed(server: &Server, root: &str) -> anyhow::Result<HashSet<String>> {
    let reply = tests::http::call(
        Method::from_bytes(b"LIST")?,
        &server.url("/v1/pki_int/certs"),
        Some(root),
        Value::Null,
    )
    .await?;
    if reply.status == 404 {
        return Ok(HashSet::new());
    }
    let reply = reply.ok("LIST pki_int/certs")?;
    Ok(reply.data()["keys"]
        .as_array()
        .context("keys")?
        .iter()
        .filter_map(|k| k.as_str().map(|s| s.replace('-', ":")))
        .collect())
}

/// What the signers saw: serials answered, failures (status or transport) with a sample.
#[derive(Default)]
struct Outcome {
    serials: Vec<String>,
    errors: usize,
    sample: Option<String>,
}

/// `SIGNERS` tasks, each signing up to `PER_SIGNER` times (`forever`: until `stop`).
async fn sign_load(
    server: &Server,
    token: &str,
    forever: bool,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
) -> anyhow::Result<Outcome> {
    let url = server.url("/v1/pki_int/sign/svc");
    let bodies = Arc::new(bodies()?);
    let mut tasks = Vec::new();
    for i in 0..SIGNERS {
        let (url, token, bodies, stop, answered) = (
            url.clone(),
            token.to_string(),
            bodies.clone(),
            stop.clone(),
            answered.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let http = Client::new();
            let headers = [
                ("x-vault-token", token.as_str()),
                ("content-type", "application/json"),
            ];
            let mut out = Outcome::default();
            let mut n = 0;
            while (forever || n < PER_SIGNER) && !stop.load(Ordering::SeqCst) {
                let body = bodies[(i + n) % bodies.len()].clone();
                n += 1;
                match http.send(Method::POST, &url, &headers, body).await {
                    Ok(res) if res.status == 200 => {
                        let v = res.json()?;
                        let serial = v["data"]["serial_number"]
                            .as_str()
                            .context("serial_number")?
                            .replace('-', ":");
                        out.serials.push(serial);
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(res) => {
                        out.errors += 1;
                        out.sample
                            .get_or_insert(format!("{} {}", res.status, res.text()));
                    }
                    Err(e) => {
                        out.errors += 1;
                        out.sample.get_or_insert(e.to_string());
                        if forever {
                            // The server is gone (killed): this signer is done.
                            break;
                        }
                    }
                }
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    let mut all = Outcome::default();
    for t in tasks {
        let o = t.await??;
        all.serials.extend(o.serials);
        all.errors += o.errors;
        if all.sample.is_none() {
            all.sample = o.sample;
        }
    }
    Ok(all)
}

#[tokio::test]
async fn two_hundred_concurrent_signers_no_error_unique_serials_all_listed() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let recipe = recipe::setup(&server, "svc", role()).await?;
    let before = listed(&server, &recipe.root_token).await?;
    let started = Instant::now();
    let load = sign_load(
        &server,
        &recipe.signer_token,
        false,
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let out = tokio::time::timeout(BOUND, load)
        .await
        .context("the load did not finish within its bound")??;
    let took = started.elapsed();
    ensure!(
        out.errors == 0,
        "{} of {} requests failed, e.g. {:?}",
        out.errors,
        SIGNERS * PER_SIGNER,
        out.sample
    );
    ensure!(out.serials.len() == SIGNERS * PER_SIGNER);
    let unique: HashSet<&String> = out.serials.iter().collect();
    ensure!(
        unique.len() == out.serials.len(),
        "{} duplicate serials",
        out.serials.len() - unique.len()
    );
    let after = listed(&server, &recipe.root_token).await?;
    let new: HashSet<&String> = after.difference(&before).collect();
    ensure!(
        new.len() == out.serials.len() && unique == new,
        "{} certificates answered, {} new in LIST pki_int/certs",
        out.serials.len(),
        new.len()
    );
    eprintln!(
        "{} certificates from {SIGNERS} concurrent signers in {took:?}",
        out.serials.len()
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn kill_9_under_load_loses_no_answered_certificate() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("data");
    let bin = tests::server::binary()?;
    let server = Server::start_with(&bin, &dir, &[]).await?;
    let recipe = recipe::setup(&server, "svc", role()).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let load = {
        let server = &server;
        let (stop, answered) = (stop.clone(), answered.clone());
        let token = recipe.signer_token.clone();
        async move { sign_load(server, &token, true, stop, answered).await }
    };
    let killer = async {
        // Kill in the middle of the load: once a few hundred answers arrived.
        let t0 = Instant::now();
        while answered.load(Ordering::SeqCst) < 300 && t0.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        sigkill(server.pid());
        stop.store(true, Ordering::SeqCst);
    };
    let (out, ()) = tokio::time::timeout(BOUND, async { tokio::join!(load, killer) })
        .await
        .context("the load did not end within its bound")?;
    let out = out?;
    ensure!(
        out.serials.len() >= 300,
        "only {} answers before the kill ({:?})",
        out.serials.len(),
        out.sample
    );
    // The killed process is reaped when the handle drops.
    drop(server);

    let server = Server::start_with(&bin, &dir, &[]).await?;
    let after = listed(&server, &recipe.root_token).await?;
    let lost: Vec<&String> = out.serials.iter().filter(|s| !after.contains(*s)).collect();
    ensure!(
        lost.is_empty(),
        "{} of {} answered certificates are not listed after the restart, e.g. {:?}",
        lost.len(),
        out.serials.len(),
        lost.first()
    );

    // The database is consistent (read while the restarted server runs: WAL readers).
    let db = rusqlite::Connection::open_with_flags(
        dir.join("pki-console.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    ensure!(check == "ok", "integrity_check: {check}");
    drop(db);

    // The audit log: every line but a cut last one is a JSON object.
    let audit = std::fs::read(dir.join("audit.log"))?;
    let complete = match audit.iter().rposition(|b| *b == b'\n') {
        Some(i) => &audit[..=i],
        None => &audit[..0],
    };
    let mut lines = 0;
    for line in complete.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value =
            serde_json::from_slice(line).with_context(|| format!("audit line {}", lines + 1))?;
        ensure!(
            v["type"].is_string(),
            "audit line {} has no type",
            lines + 1
        );
        lines += 1;
    }
    ensure!(
        lines >= 2 * out.serials.len(),
        "{lines} audit lines for {} answers",
        out.serials.len()
    );

    // And it serves again.
    let body = bodies()?.remove(0);
    let res = Client::new()
        .send(
            Method::POST,
            &server.url("/v1/pki_int/sign/svc"),
            &[
                ("x-vault-token", recipe.signer_token.as_str()),
                ("content-type", "application/json"),
            ],
            body,
        )
        .await?;
    if res.status != 200 {
        bail!("sign after the restart: {} {}", res.status, res.text());
    }
    eprintln!(
        "{} answers before kill -9 ({} failed at the kill), all listed after the restart; {lines} audit lines",
        out.serials.len(),
        out.errors
    );
    server.stop().await?;
    Ok(())
}

/// SIGKILL by PID, while the load still runs (`Server::kill` would need to own it).
fn sigkill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}
