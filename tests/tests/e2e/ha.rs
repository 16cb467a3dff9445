//! High availability in upstream mode: two console replicas (one `--session-key`) in
//! front of a 3-node OpenBao 2.7.2 cluster with integrated storage, `--vault-addr`
//! listing every node. A session opened on replica 1 is used on replica 2; a bounded
//! load (certificates signed, a role read) runs through both replicas while the active
//! node is killed with SIGKILL. The load must go on once the cluster has elected a new
//! leader; the test prints the gap and the failed requests, never lets a standby's `307`
//! through, loses no read, and finds every certificate whose answer arrived listed by
//! the cluster afterwards. And, against stand-in nodes that misbehave on cue: a write
//! that reached a node which died with it is not resent while reads are (once), and a
//! standby that cannot forward (its `307`, its `500`) is never passed on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use tests::openbao::OpenBao;
use tests::{Server, http};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
/// Load before the kill, and after it.
const BEFORE: Duration = Duration::from_secs(4);
const AFTER: Duration = Duration::from_secs(12);
/// Longest the load may stop (kill to the first answer after it): the cluster elects in
/// 1-3 s, the console notices within a second.
const GAP_LIMIT: Duration = Duration::from_secs(10);

/// One request of the load and what came of it.
#[derive(Debug, Clone)]
struct Outcome {
    write: bool,
    replica: usize,
    sent: Instant,
    done: Instant,
    status: u16,
    serial: Option<String>,
    error: String,
}

/// `method path` through `console` with the session cookie (and CSRF token).
async fn cookie_call(
    console: &str,
    cookie: &str,
    csrf: &str,
    method: http::Method,
    path: &str,
    body: Value,
) -> (u16, Value, String) {
    let bytes = if body.is_null() {
        vec![]
    } else {
        body.to_string().into_bytes()
    };
    let headers = [
        ("cookie", cookie),
        ("x-csrf-token", csrf),
        ("content-type", "application/json"),
    ];
    let url = format!("{console}/v1/{path}");
    match tokio::time::timeout(
        Duration::from_secs(60),
        http::send(method, &url, &headers, bytes),
    )
    .await
    {
        Ok(Ok(res)) => {
            let text = res.text();
            (
                res.status.as_u16(),
                serde_json::from_str(&text).unwrap_or(Value::Null),
                text,
            )
        }
        Ok(Err(e)) => (0, Value::Null, format!("no answer: {e:#}")),
        Err(_) => (0, Value::Null, "no answer within 60 s".into()),
    }
}

/// Root calls straight to a node (setup and the final listing).
async fn root_call(
    addr: &str,
    token: &str,
    method: http::Method,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let res = http::vault(
        method.clone(),
        &format!("{addr}/v1/{path}"),
        Some(token),
        &body,
    )
    .await?;
    ensure!(
        res.status.is_success(),
        "{method} {path}: {} {}",
        res.status,
        res.text()
    );
    Ok(serde_json::from_slice(&res.body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn killing_the_active_node_pauses_the_load_only_for_the_election() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut cluster = OpenBao::cluster(3).await?;
    println!(
        "HA: 3-node cluster up (voters: {:?}) in {:.1} s",
        cluster.voters().await?,
        cluster.started_in.as_secs_f64()
    );
    let root = cluster.root_token.clone();
    let active = cluster.wait_active(Duration::from_secs(10)).await?;
    let leader = cluster.nodes[active].addr.clone();

    // A PKI and a token that may only issue from it and read its role.
    root_call(
        &leader,
        &root,
        http::Method::POST,
        "sys/mounts/ha-pki",
        json!({"type": "pki", "config": {"max_lease_ttl": "24h"}}),
    )
    .await?;
    root_call(
        &leader,
        &root,
        http::Method::POST,
        "ha-pki/root/generate/internal",
        json!({"common_name": "ha.test Root", "key_type": "ec", "ttl": "24h"}),
    )
    .await?;
    root_call(&leader, &root, http::Method::POST, "ha-pki/roles/load", json!({"allowed_domains": "ha.test", "allow_subdomains": true, "key_type": "ec", "max_ttl": "1h"})).await?;
    root_call(
        &leader,
        &root,
        http::Method::PUT,
        "sys/policies/acl/ha-load",
        json!({"policy": "path \"ha-pki/issue/load\" { capabilities = [\"update\"] }\npath \"ha-pki/roles/load\" { capabilities = [\"read\"] }\n"}),
    )
    .await?;
    let token = root_call(
        &leader,
        &root,
        http::Method::POST,
        "auth/token/create",
        json!({"policies": ["ha-load"], "ttl": "1h"}),
    )
    .await?["auth"]["client_token"]
        .as_str()
        .context("client_token")?
        .to_string();

    // Two replicas, one session: signed in on replica 1, used on replica 2.
    let addrs = cluster.addrs();
    let replicas = [
        Server::upstream(&addrs, &["--session-key", KEY]).await?,
        Server::upstream(&addrs, &["--session-key", KEY]).await?,
    ];
    let (cookie, csrf) = replicas[0].sign_in(&token).await?;
    let (status, body, text) = cookie_call(
        &replicas[1].base,
        &cookie,
        &csrf,
        http::Method::GET,
        "auth/token/lookup-self",
        Value::Null,
    )
    .await;
    ensure!(
        status == 200,
        "replica 2 took replica 1's session: {status} {text}"
    );
    ensure!(!text.contains(&token), "lookup-self showed the token");
    ensure!(
        body["data"]["policies"].to_string().contains("ha-load"),
        "{body}"
    );

    // The load: per replica two writers (issue a certificate) and one reader.
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let load_start = Instant::now();
    let end = load_start + BEFORE + AFTER;
    let mut workers = tokio::task::JoinSet::new();
    for (r, replica) in replicas.iter().enumerate() {
        for w in 0..3 {
            let write = w < 2;
            let base = replica.base.clone();
            let (cookie, csrf) = (cookie.clone(), csrf.clone());
            let outcomes = outcomes.clone();
            workers.spawn(async move {
                let mut n = 0;
                while Instant::now() < end {
                    n += 1;
                    let sent = Instant::now();
                    let (method, path, body) = if write {
                        (
                            http::Method::POST,
                            "ha-pki/issue/load",
                            json!({"common_name": format!("r{r}w{w}n{n}.ha.test"), "ttl": "10m"}),
                        )
                    } else {
                        (http::Method::GET, "ha-pki/roles/load", Value::Null)
                    };
                    let (status, body, text) =
                        cookie_call(&base, &cookie, &csrf, method, path, body).await;
                    outcomes.lock().unwrap().push(Outcome {
                        write,
                        replica: r,
                        sent,
                        done: Instant::now(),
                        status,
                        serial: body["data"]["serial_number"].as_str().map(String::from),
                        error: if status == 200 { String::new() } else { text },
                    });
                    if !write {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            });
        }
    }

    tokio::time::sleep(BEFORE).await;
    let victim = cluster.wait_active(Duration::from_secs(5)).await?;
    let killed_at = Instant::now();
    cluster.nodes[victim].kill().await?;
    let killed_id = cluster.nodes[victim].id.clone();
    // When the cluster itself has an active node again (asked directly, every 50 ms).
    let elected = {
        let survivors: Vec<String> = (0..cluster.nodes.len())
            .filter(|&i| i != victim)
            .map(|i| cluster.nodes[i].addr.clone())
            .collect();
        tokio::spawn(async move {
            loop {
                for addr in &survivors {
                    let url = format!("{addr}/v1/sys/health");
                    if let Ok(Ok(r)) =
                        tokio::time::timeout(Duration::from_millis(500), http::get(&url)).await
                        && r.status == 200
                    {
                        return Instant::now();
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    while workers.join_next().await.is_some() {}
    let elected = tokio::time::timeout(Duration::from_secs(20), elected)
        .await
        .context("no node became active within 20 s of the kill")??;
    let new_active = cluster.wait_active(Duration::from_secs(20)).await?;
    ensure!(new_active != victim, "the killed node is active again");

    let outcomes = outcomes.lock().unwrap().clone();
    let ok = |o: &&Outcome| o.status == 200;
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.status != 200).collect();
    // The gap: the longest time after the kill with no certificate issued (a write
    // answered just after the kill may have been served before it, so the first answer
    // after the kill is no measure; reads go on meanwhile: standbys answer them).
    let mut issued: Vec<Instant> = outcomes
        .iter()
        .filter(ok)
        .filter(|o| o.write && o.done > killed_at)
        .map(|o| o.done)
        .collect();
    issued.sort();
    ensure!(
        !issued.is_empty(),
        "no certificate was issued after the kill"
    );
    let gap = issued
        .iter()
        .scan(killed_at, |prev, &t| {
            let d = t - *prev;
            *prev = t;
            Some(d)
        })
        .max()
        .unwrap_or_default();
    let first_after_election = issued
        .iter()
        .copied()
        .find(|t| *t >= elected)
        .unwrap_or(elected);
    let writes_ok = outcomes.iter().filter(|o| o.write).filter(ok).count();
    let after_ok = outcomes
        .iter()
        .filter(ok)
        .filter(|o| o.sent > killed_at)
        .count();
    let slowest = outcomes
        .iter()
        .map(|o| o.done - o.sent)
        .max()
        .unwrap_or_default();
    println!(
        "HA: the cluster had an active node again {:.2} s after the kill; the first certificate through the consoles {:.2} s after that",
        (elected - killed_at).as_secs_f64(),
        (first_after_election - elected).as_secs_f64(),
    );
    println!(
        "HA: killed {killed_id} (active) at {:.1} s of load; longest time without a certificate after the kill {:.2} s; {} requests ({} certificates issued, {} answered after the kill); \
         failed {} (writes {}, reads {}); slowest answer {:.2} s",
        (killed_at - load_start).as_secs_f64(),
        gap.as_secs_f64(),
        outcomes.len(),
        writes_ok,
        after_ok,
        failed.len(),
        failed.iter().filter(|o| o.write).count(),
        failed.iter().filter(|o| !o.write).count(),
        slowest.as_secs_f64(),
    );
    for f in &failed {
        println!(
            "HA: failed {} on replica {} sent at {:+.2} s, answered {:+.2} s: {} {}",
            if f.write { "write" } else { "read" },
            f.replica + 1,
            f.sent.duration_since(load_start).as_secs_f64()
                - (killed_at - load_start).as_secs_f64(),
            f.done.duration_since(load_start).as_secs_f64()
                - (killed_at - load_start).as_secs_f64(),
            f.status,
            f.error.chars().take(300).collect::<String>()
        );
    }

    ensure!(
        !outcomes.iter().any(|o| (300..400).contains(&o.status)),
        "a redirect reached the client"
    );
    ensure!(gap < GAP_LIMIT, "the load stopped for {gap:?}");
    ensure!(
        failed.iter().all(|o| o.write),
        "an idempotent read failed (it should have gone to another node)"
    );
    // Only a write in flight at the dead node may fail: one per writer at most.
    ensure!(failed.len() <= 4, "{} writes failed", failed.len());
    ensure!(
        failed
            .iter()
            .all(|o| o.sent <= killed_at + Duration::from_millis(500)),
        "a write sent well after the kill failed"
    );
    ensure!(
        outcomes
            .iter()
            .filter(|o| o.write)
            .filter(ok)
            .filter(|o| o.sent > killed_at + gap)
            .count()
            >= 4,
        "the load did not go on after the election"
    );

    // Every certificate whose answer arrived is stored by the cluster.
    let leader = cluster.nodes[new_active].addr.clone();
    let listed = root_call(
        &leader,
        &root,
        http::Method::from_bytes(b"LIST")?,
        "ha-pki/certs",
        Value::Null,
    )
    .await?;
    let keys: Vec<&str> = listed["data"]["keys"]
        .as_array()
        .context("keys")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let issued: Vec<&String> = outcomes.iter().filter_map(|o| o.serial.as_ref()).collect();
    ensure!(issued.len() == writes_ok, "a 200 without a serial number");
    let missing: Vec<&&String> = issued
        .iter()
        .filter(|s| !keys.contains(&s.as_str()))
        .collect();
    ensure!(missing.is_empty(), "issued but not listed: {missing:?}");
    println!(
        "HA: all {} issued certificates listed by {}; whole test {:.1} s",
        issued.len(),
        cluster.nodes[new_active].id,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What a [`FakeNode`] does with one request.
#[derive(Clone, Copy)]
enum Act {
    /// Answers with this status and a small JSON body (`Location` for a 307).
    Answer(u16),
    /// Reads the request and closes the connection without a word (a node that died
    /// after the request reached it).
    Hang,
}

/// A stand-in Vault node on a loopback port: `sys/health` answers `health`, anything
/// else gets `act`. It records each request as `METHOD /path`.
struct FakeNode {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeNode {
    async fn start(health: u16, act: Act) -> anyhow::Result<FakeNode> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let end = loop {
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break end;
                        }
                        match tcp.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let mut first = head.split(' ');
                    let line = format!(
                        "{} {}",
                        first.next().unwrap_or_default(),
                        first.next().unwrap_or_default()
                    );
                    let is_health = line.ends_with("/v1/sys/health");
                    log.lock().unwrap().push(line);
                    let status = match (is_health, act) {
                        (true, _) => health,
                        (false, Act::Answer(s)) => s,
                        (false, Act::Hang) => return,
                    };
                    let body = match status {
                        500 => json!({"errors": ["local node not active but active cluster node not found"]}),
                        _ => json!({"data": {"node": "fake", "status": status}}),
                    }
                    .to_string();
                    let location = if status == 307 {
                        "location: http://127.0.0.1:1/v1/gone\r\n"
                    } else {
                        ""
                    };
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{location}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tcp.write_all(answer.as_bytes()).await;
                });
            }
        });
        Ok(FakeNode { base, seen, task })
    }

    /// The requests other than `sys/health` seen so far.
    fn calls(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|l| !l.ends_with("/v1/sys/health"))
            .cloned()
            .collect()
    }

    fn health_checks(&self) -> usize {
        let all = self.seen.lock().unwrap().len();
        all - self.calls().len()
    }

    /// Waits until this node has had `n` more health checks (a new round saw it).
    async fn next_round(&self) -> anyhow::Result<()> {
        let want = self.health_checks() + 1;
        let start = Instant::now();
        while self.health_checks() < want {
            ensure!(
                start.elapsed() < Duration::from_secs(5),
                "no health check within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

async fn token_call(console: &Server, method: &str, path: &str) -> anyhow::Result<http::Response> {
    let body = if method == "POST" {
        b"{}".to_vec()
    } else {
        vec![]
    };
    http::send(
        http::Method::from_bytes(method.as_bytes())?,
        &console.url(&format!("/v1/{path}")),
        &[("x-vault-token", "t"), ("content-type", "application/json")],
        body,
    )
    .await
}

#[tokio::test]
async fn a_node_that_dies_with_the_request_gets_only_idempotent_ones_resent() -> anyhow::Result<()>
{
    // Node A is active by `sys/health` but drops every request it receives; B is a
    // standby that answers.
    let a = FakeNode::start(200, Act::Hang).await?;
    let b = FakeNode::start(429, Act::Answer(200)).await?;
    let console = Server::upstream(&format!("{},{}", a.base, b.base), &[]).await?;
    a.next_round().await?;
    b.next_round().await?;

    // A write reached A, which died with it: not sent again; 502 naming A.
    let res = token_call(&console, "POST", "pki/issue/web").await?;
    assert_eq!(res.status, 502, "{}", res.text());
    let said = res.json()?["errors"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(said.contains(&a.base), "{said}");
    assert_eq!(a.calls(), vec!["POST /v1/pki/issue/web"]);
    assert!(
        b.calls().is_empty(),
        "the write was resent to B: {:?}",
        b.calls()
    );

    // Once A is back in favour (health 200 again), reads that die at A go to B, once.
    a.next_round().await?;
    a.next_round().await?;
    for (method, path) in [("GET", "pki/roles/web"), ("LIST", "pki/roles")] {
        let res = token_call(&console, method, path).await?;
        assert_eq!(res.status, 200, "{method}: {}", res.text());
        a.next_round().await?;
    }
    assert_eq!(
        a.calls(),
        vec![
            "POST /v1/pki/issue/web",
            "GET /v1/pki/roles/web",
            "LIST /v1/pki/roles"
        ]
    );
    assert_eq!(
        b.calls(),
        vec!["GET /v1/pki/roles/web", "LIST /v1/pki/roles"]
    );
    Ok(())
}

#[tokio::test]
async fn a_standby_without_a_leader_is_never_passed_on() -> anyhow::Result<()> {
    // A and B call themselves standbys but cannot forward (307 to the dead leader, or
    // 500 "active cluster node not found"); C answers. Every method, POST included, ends
    // at C: neither node handled the request.
    let a = FakeNode::start(429, Act::Answer(307)).await?;
    let b = FakeNode::start(429, Act::Answer(500)).await?;
    let c = FakeNode::start(429, Act::Answer(200)).await?;
    let console = Server::upstream(&format!("{},{},{}", a.base, b.base, c.base), &[]).await?;
    a.next_round().await?;
    for (method, path) in [("POST", "pki/issue/web"), ("GET", "pki/roles/web")] {
        let res = token_call(&console, method, path).await?;
        assert_eq!(res.status, 200, "{method}: {}", res.text());
        assert_eq!(res.json()?["data"]["node"], "fake");
    }
    assert_eq!(
        c.calls(),
        vec!["POST /v1/pki/issue/web", "GET /v1/pki/roles/web"]
    );
    for node in [&a, &b] {
        assert!(
            node.calls().contains(&"POST /v1/pki/issue/web".to_string()),
            "A and B were asked first: {:?}",
            node.calls()
        );
    }

    // With no node able to handle it, the console waits for an election (10 s at most,
    // bounded by --upstream-timeout) and then answers 503 naming the node, never 307.
    let lone = FakeNode::start(429, Act::Answer(307)).await?;
    let console = Server::upstream(&lone.base, &["--upstream-timeout", "2s"]).await?;
    let started = Instant::now();
    let res = token_call(&console, "GET", "pki/roles/web").await?;
    let took = started.elapsed();
    assert_eq!(res.status, 503, "{}", res.text());
    let said = res.json()?["errors"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        said.contains(&lone.base) && said.contains("standby"),
        "{said}"
    );
    assert!(
        (Duration::from_millis(1500)..Duration::from_secs(4)).contains(&took),
        "waited {took:?} for an election"
    );
    assert!(
        lone.calls().len() >= 2,
        "retried while waiting: {:?}",
        lone.calls()
    );
    Ok(())
}
