//! Slow and idle clients against the real binary under `ulimit -n 1024` (soft and hard,
//! so the server cannot raise it), with short timeouts (header 2 s, body 3 s, idle 4 s,
//! given by environment variable): new, trickling, stuck-mid-body and kept-alive
//! connections are closed at their timeout; a flood of 2,000 of them does not stop
//! `/healthz` and a real sign request from answering within 1 s; and the same over TLS.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::json;
use tests::Server;
use tests::raw;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER: Duration = Duration::from_secs(2);
const BODY: Duration = Duration::from_secs(3);
const IDLE: Duration = Duration::from_secs(4);
/// How early or late a close may come and still count as "at the timeout".
const EARLY: Duration = Duration::from_millis(300);
const LATE: Duration = Duration::from_millis(1500);
/// How long a connection is watched before the test gives up on it being closed.
const WATCH: Duration = Duration::from_secs(15);
const ROLE: &str = "slow-web";

/// Raises this test process's soft open-file limit to the hard one: the flood needs
/// more than 2,000 descriptors.
fn raise_own_fd_limit() -> anyhow::Result<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    if current < maximum {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: maximum,
                maximum,
            },
        )?;
    }
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}

/// Starts the server binary under `ulimit -n 1024` with the short timeouts, through a
/// shell script in `tmp` (environment variables, so an older binary runs too and shows
/// what it lacked).
async fn start_limited(tmp: &Path, args: &[&str]) -> anyhow::Result<Server> {
    let bin = tests::server::binary()?;
    let script = tmp.join("limited.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nulimit -n 1024 || exit 97\n\
             export PKI_CONSOLE_HEADER_TIMEOUT={}s PKI_CONSOLE_BODY_TIMEOUT={}s PKI_CONSOLE_IDLE_TIMEOUT={}s\n\
             exec '{}' \"$@\"\n",
            HEADER.as_secs(),
            BODY.as_secs(),
            IDLE.as_secs(),
            bin.display()
        ),
    )?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    }
    Server::start_with(&script, &tmp.join("data"), args).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Connects and sends nothing.
    Idle,
    /// Sends a request head one byte a second.
    Trickle,
    /// Sends a head announcing 100 bytes of body, then 10 of them.
    MidBody,
    /// Makes one request, keeps the connection and sends nothing more.
    KeptAlive,
}

#[derive(Debug)]
struct Outcome {
    kind: Kind,
    /// From the connect (KeptAlive: from the end of the answer) to the server's close;
    /// None if it stayed open for all of `WATCH`.
    closed_after: Option<Duration>,
    /// What the server sent (MidBody: the 408).
    received: Vec<u8>,
}

impl Outcome {
    fn status(&self) -> Option<u16> {
        let text = String::from_utf8_lossy(&self.received);
        text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }
}

/// Opens one connection of `kind` (over TLS when `tls` is given) and watches it until
/// the server closes it.
async fn hold(
    authority: String,
    kind: Kind,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> anyhow::Result<Outcome> {
    let tcp = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&authority))
        .await
        .context("connect timed out")??;
    match tls {
        None => watch(tcp, &authority, kind).await,
        Some(config) => {
            let name = rustls_pki_types::ServerName::try_from("localhost")?;
            let stream = tokio::time::timeout(
                Duration::from_secs(5),
                tokio_rustls::TlsConnector::from(config).connect(name, tcp),
            )
            .await
            .context("TLS handshake timed out")??;
            watch(stream, &authority, kind).await
        }
    }
}

async fn watch<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    authority: &str,
    kind: Kind,
) -> anyhow::Result<Outcome> {
    let mut start = Instant::now();
    let mut received = Vec::new();
    match kind {
        Kind::Idle => {}
        Kind::Trickle => {}
        Kind::MidBody => {
            let head = format!(
                "POST /v1/sys/policies/acl/slow HTTP/1.1\r\nHost: {authority}\r\n\
                 Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"policy\":"
            );
            s.write_all(head.as_bytes()).await?;
            s.flush().await?;
        }
        Kind::KeptAlive => {
            let head = format!("GET /healthz HTTP/1.1\r\nHost: {authority}\r\n\r\n");
            s.write_all(head.as_bytes()).await?;
            s.flush().await?;
            read_one_answer(&mut s, &mut received).await?;
            start = Instant::now();
        }
    }
    let trickle = format!("GET /healthz HTTP/1.1\r\nHost: {authority}\r\nX-Slow: ");
    let mut trickle = trickle.bytes().chain(std::iter::repeat(b'a'));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::sleep(WATCH);
    tokio::pin!(deadline);
    let closed_after = loop {
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => break Some(start.elapsed()),
                Ok(n) => received.extend_from_slice(&buf[..n]),
            },
            _ = tick.tick(), if kind == Kind::Trickle => {
                let byte = [trickle.next().unwrap_or(b'a')];
                if s.write_all(&byte).await.is_err() || s.flush().await.is_err() {
                    break Some(start.elapsed());
                }
            }
            () = &mut deadline => break None,
        }
    };
    Ok(Outcome {
        kind,
        closed_after,
        received,
    })
}

/// Reads one answer with a `Content-Length` (the `/healthz` JSON).
async fn read_one_answer<S: AsyncRead + Unpin>(s: &mut S, out: &mut Vec<u8>) -> anyhow::Result<()> {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                bail!("closed before the answer was complete");
            }
            out.extend_from_slice(&buf[..n]);
            if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .context("no content-length")?
                    .trim()
                    .parse()?;
                if out.len() >= end + 4 + length {
                    return Ok(());
                }
            }
        }
    })
    .await
    .context("no answer within 5 s")?
}

/// Checks that every outcome of `kind` was closed at `timeout` (not before, not much
/// after); returns how many there were.
fn closed_at(outcomes: &[Outcome], kind: Kind, timeout: Duration) -> anyhow::Result<usize> {
    let mine: Vec<_> = outcomes.iter().filter(|o| o.kind == kind).collect();
    for o in &mine {
        let Some(after) = o.closed_after else {
            bail!("a {kind:?} connection was still open after {WATCH:?} (timeout {timeout:?})");
        };
        ensure!(
            after + EARLY >= timeout && after <= timeout + LATE,
            "a {kind:?} connection was closed after {after:?}, not at its timeout of {timeout:?}"
        );
    }
    Ok(mine.len())
}

/// Checks that the (first) request stuck mid-body was answered 408; `setting` ("over
/// TLS", ...) names the case in the error.
fn mid_body_is_408(outcomes: &[Outcome], setting: &str) -> anyhow::Result<()> {
    let stuck = outcomes
        .iter()
        .find(|o| o.kind == Kind::MidBody)
        .context("no mid-body outcome")?;
    ensure!(
        stuck.status() == Some(408),
        "{setting} a request stuck mid-body got {:?}",
        String::from_utf8_lossy(&stuck.received)
    );
    Ok(())
}

/// Time and check one `/healthz` on a fresh connection.
async fn probe_health(authority: &str) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        raw::request(authority, "GET /healthz HTTP/1.1", b""),
    )
    .await
    .context("/healthz did not answer within 5 s")??;
    ensure!(res.status == 200, "/healthz: {} {}", res.status, res.text());
    Ok(t.elapsed())
}

/// Time a TCP connect alone (the kernel's accept queue), to tell a slow accept from a
/// slow answer in the report.
async fn probe_connect(authority: &str) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let _tcp = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(authority))
        .await
        .context("connect did not complete within 5 s")??;
    Ok(t.elapsed())
}

/// Time and check one sign request on a fresh connection.
async fn probe_sign(authority: &str, token: &str, body: &str) -> anyhow::Result<Duration> {
    let head = format!(
        "POST /v1/pki_int/sign/{ROLE} HTTP/1.1\r\nX-Vault-Token: {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}",
        body.len()
    );
    let t = Instant::now();
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        raw::request(authority, &head, body.as_bytes()),
    )
    .await
    .context("sign did not answer within 5 s")??;
    ensure!(res.status == 200, "sign: {} {}", res.status, res.text());
    ensure!(
        res.json()?["data"]["certificate"]
            .as_str()
            .is_some_and(|c| c.contains("BEGIN CERTIFICATE")),
        "sign answered without a certificate: {}",
        res.text()
    );
    Ok(t.elapsed())
}

/// Pipelines `count` requests for `/healthz` and reads none of the answers for `pause`,
/// then reads what comes: whether the server closed the connection (end or reset) within
/// `give_up`, and how many answers arrived.
async fn stop_reading(
    authority: &str,
    count: usize,
    pause: Duration,
    give_up: Duration,
) -> anyhow::Result<(bool, usize)> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    let stream = socket.connect(authority.parse()?).await?;
    let (mut r, mut w) = stream.into_split();
    let requests = format!("GET /healthz HTTP/1.1\r\nHost: {authority}\r\n\r\n").repeat(count);
    // The writer blocks once the server stops reading; it ends when the connection does.
    let writer = tokio::spawn(async move {
        let _ = w.write_all(requests.as_bytes()).await;
        w
    });
    tokio::time::sleep(pause).await;
    let mut buf = vec![0u8; 64 * 1024];
    let mut answers = 0;
    let mut tail = Vec::new();
    let closed = tokio::time::timeout(give_up, async {
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    tail.extend_from_slice(&buf[..n]);
                    answers += tail.windows(9).filter(|w| w == b"HTTP/1.1 ").count();
                    let keep = tail.len().saturating_sub(8);
                    tail.drain(..keep);
                }
            }
        }
    })
    .await
    .is_ok();
    writer.abort();
    Ok((closed, answers))
}

async fn run_all(
    authority: &str,
    kinds: impl IntoIterator<Item = Kind>,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Vec<tokio::task::JoinHandle<anyhow::Result<Outcome>>> {
    kinds
        .into_iter()
        .map(|kind| tokio::spawn(hold(authority.to_string(), kind, tls.clone())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_and_idle_clients_are_closed_and_do_not_lock_others_out() -> anyhow::Result<()> {
    let fds = raise_own_fd_limit()?;
    ensure!(
        fds >= 4096,
        "this test needs 4096 open files, the hard limit allows {fds}"
    );
    let tmp = tempfile::tempdir()?;
    let server = start_limited(tmp.path(), &[]).await?;
    let authority = server.authority().to_string();
    let recipe = tests::recipe::setup(
        &server,
        ROLE,
        json!({"allowed_domains": ["example.test"], "allow_subdomains": true, "max_ttl": "24h", "key_type": "any"}),
    )
    .await?;
    let sign_body =
        json!({"csr": tests::csr_pem("app.example.test")?, "common_name": "app.example.test", "ttl": "1h"})
            .to_string();

    // 1. Each timeout, below the connection cap.
    let kinds = [
        (Kind::Idle, 40),
        (Kind::Trickle, 20),
        (Kind::MidBody, 20),
        (Kind::KeptAlive, 10),
    ]
    .into_iter()
    .flat_map(|(k, n)| std::iter::repeat_n(k, n));
    let mut outcomes = Vec::new();
    for h in run_all(&authority, kinds, None).await {
        outcomes.push(h.await??);
    }
    closed_at(&outcomes, Kind::Idle, HEADER)?;
    closed_at(&outcomes, Kind::Trickle, HEADER)?;
    closed_at(&outcomes, Kind::MidBody, BODY)?;
    closed_at(&outcomes, Kind::KeptAlive, IDLE)?;
    for o in outcomes.iter().filter(|o| o.kind == Kind::MidBody) {
        ensure!(
            o.status() == Some(408),
            "a request stuck mid-body got {:?}, not 408",
            String::from_utf8_lossy(&o.received)
        );
        let text = String::from_utf8_lossy(&o.received).to_string();
        ensure!(
            text.contains("--body-timeout"),
            "408 without the reason: {text}"
        );
    }
    for o in outcomes
        .iter()
        .filter(|o| o.kind != Kind::MidBody && o.kind != Kind::KeptAlive)
    {
        ensure!(
            o.received.is_empty(),
            "a {:?} connection got an answer",
            o.kind
        );
    }
    // A client that stops reading its answers (pipelined requests, none read) is dropped
    // once our writes have been stuck for the body timeout (or it sat idle for the idle
    // timeout), not served forever.
    let count = 30_000;
    let (closed, answers) = stop_reading(
        &authority,
        count,
        BODY + IDLE + LATE,
        Duration::from_secs(5),
    )
    .await?;
    eprintln!("a client that stopped reading got {answers} of {count} answers, closed: {closed}");
    ensure!(
        closed && answers < count,
        "a client that stopped reading: closed {closed}, {answers} of {count} answers written"
    );

    // 2. A flood of 2,000 (more than 1,024 descriptors allow): the server keeps
    //    answering others within 1 s, and every flood connection is closed in time.
    let kinds = [
        (Kind::Idle, 1000),
        (Kind::Trickle, 700),
        (Kind::MidBody, 300),
    ]
    .into_iter()
    .flat_map(|(k, n)| std::iter::repeat_n(k, n));
    let flood_started = Instant::now();
    let flood = run_all(&authority, kinds, None).await;
    let mut health = Vec::new();
    let mut signs = Vec::new();
    let mut connects = Vec::new();
    // Probe for as long as the flood lasts (the body timeout plus a margin).
    while flood_started.elapsed() < BODY + Duration::from_secs(3) {
        let (h, s, c) = tokio::join!(
            probe_health(&authority),
            probe_sign(&authority, &recipe.signer_token, &sign_body),
            probe_connect(&authority)
        );
        health.push(h?);
        signs.push(s?);
        connects.push(c?);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut outcomes = Vec::new();
    let mut failed_connects = 0;
    for h in flood {
        match h.await? {
            Ok(o) => outcomes.push(o),
            Err(_) => failed_connects += 1,
        }
    }
    let slowest_health = health.iter().max().copied().unwrap_or_default();
    let slowest_sign = signs.iter().max().copied().unwrap_or_default();
    let slowest_connect = connects.iter().max().copied().unwrap_or_default();
    let made_room = outcomes
        .iter()
        .filter(|o| o.closed_after.is_some_and(|d| d + EARLY < HEADER))
        .count();
    let got_408 = outcomes.iter().filter(|o| o.status() == Some(408)).count();
    eprintln!(
        "flood of 2000: {} connected, {failed_connects} failed to connect, {made_room} closed early to make room, \
         {got_408} got 408; {} /healthz (slowest {slowest_health:?}), {} signs (slowest {slowest_sign:?}), TCP connect slowest {slowest_connect:?}",
        outcomes.len(),
        health.len(),
        signs.len()
    );
    ensure!(
        failed_connects <= 20,
        "{failed_connects} flood connections could not connect"
    );
    ensure!(
        slowest_health < Duration::from_secs(1) && slowest_sign < Duration::from_secs(1),
        "under the flood /healthz took up to {slowest_health:?} and sign up to {slowest_sign:?}"
    );
    ensure!(health.len() >= 10, "only {} probes ran", health.len());
    // 2,000 connections do not fit in 1,024 descriptors: the server must have closed
    // idle ones early to make room (over a thousand when it accepts as fast as they come).
    ensure!(
        made_room >= 500,
        "the server cannot hold 2,000 connections with 1,024 descriptors, yet only {made_room} were closed early"
    );
    for o in &outcomes {
        let limit = if o.kind == Kind::MidBody {
            BODY
        } else {
            HEADER
        };
        match o.closed_after {
            Some(after) if after <= limit + LATE => {}
            other => bail!(
                "a flood {:?} connection was closed after {other:?} (timeout {limit:?})",
                o.kind
            ),
        }
    }
    ensure!(
        got_408 >= 250,
        "only {got_408} of 300 stuck requests got 408"
    );
    // The server is still whole.
    probe_health(&authority).await?;

    // 3. Stopping does not wait for idle or trickling connections: they are closed at
    //    once, not at their header timeout.
    let kinds = [(Kind::Idle, 20), (Kind::Trickle, 20), (Kind::KeptAlive, 5)]
        .into_iter()
        .flat_map(|(k, n)| std::iter::repeat_n(k, n));
    let lingering = run_all(&authority, kinds, None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    let status = server.stop().await?;
    let took = t.elapsed();
    ensure!(status.success(), "the server exited with {status}");
    ensure!(
        took < Duration::from_secs(1),
        "with idle and trickling connections open, stopping took {took:?}"
    );
    for h in lingering {
        let o = h.await??;
        ensure!(
            o.closed_after.is_some(),
            "a {:?} connection outlived the server",
            o.kind
        );
    }
    Ok(())
}

#[tokio::test]
async fn over_tls_stuck_and_idle_connections_are_closed() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let ca_der = raw::write_tls_files(tmp.path(), "Slow Clients Test CA")?;
    let cert = tmp.path().join("server.pem");
    let key = tmp.path().join("server-key.pem");
    let server = start_limited(
        tmp.path(),
        &[
            "--tls-cert",
            cert.to_str().context("path")?,
            "--tls-key",
            key.to_str().context("path")?,
        ],
    )
    .await?;
    ensure!(server.base.starts_with("https://"), "{}", server.base);
    let authority = server.authority().to_string();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from(ca_der.clone()))?;
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let mut handles = run_all(
        &authority,
        [Kind::Idle, Kind::MidBody, Kind::KeptAlive],
        Some(config),
    )
    .await;
    // And a TCP connection that never starts the handshake.
    handles.extend(run_all(&authority, [Kind::Idle], None).await);
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await??);
    }
    ensure!(closed_at(&outcomes, Kind::Idle, HEADER)? == 2);
    closed_at(&outcomes, Kind::MidBody, BODY)?;
    closed_at(&outcomes, Kind::KeptAlive, IDLE)?;
    mid_body_is_408(&outcomes, "over TLS")?;
    let res = raw::request_tls(
        &authority,
        "localhost",
        &ca_der,
        "GET /healthz HTTP/1.1",
        b"",
    )
    .await?;
    ensure!(res.status == 200, "{}", res.text());
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn in_upstream_mode_a_body_stuck_on_its_way_to_openbao_is_408() -> anyhow::Result<()> {
    let bao = tests::openbao::OpenBao::dev().await?;
    let tmp = tempfile::tempdir()?;
    let server = start_limited(tmp.path(), &["--vault-addr", &bao.addr]).await?;
    let authority = server.authority().to_string();
    let mut handles = run_all(&authority, [Kind::MidBody, Kind::Idle], None).await;
    let mut outcomes = Vec::new();
    for h in handles.drain(..) {
        outcomes.push(h.await??);
    }
    closed_at(&outcomes, Kind::MidBody, BODY)?;
    closed_at(&outcomes, Kind::Idle, HEADER)?;
    mid_body_is_408(&outcomes, "in upstream mode")?;
    // Forwarding still works.
    let res = raw::request(&authority, "GET /v1/sys/health HTTP/1.1", b"").await?;
    ensure!(res.status == 200, "{} {}", res.status, res.text());
    server.stop().await?;
    Ok(())
}
