//! The tokio face of OpenBao: [`OpenBao::dev`] (an [`OpenBaoDev`] in a temporary
//! directory) and [`OpenBao::cluster`]: `n` nodes with integrated (Raft) storage on
//! loopback ports, joined with `retry_join`, initialised with one key share and unsealed,
//! every node a voter; each node is killed, by PID, when dropped (or when a test kills it).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use super::{OpenBaoDev, binary, spawn};
use crate::http::{self, Method};
use crate::process::{Process, free_port};

/// A dev OpenBao (see [`OpenBao::dev`]); its fields and methods are [`OpenBaoDev`]'s.
pub struct OpenBao {
    dev: OpenBaoDev,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for OpenBao {
    type Target = OpenBaoDev;
    fn deref(&self) -> &OpenBaoDev {
        &self.dev
    }
}

impl OpenBao {
    /// `bao server -dev` (`$OPENBAO_BIN`) on a free port with a random root token, in a
    /// temporary directory removed when it is dropped.
    pub async fn dev() -> anyhow::Result<OpenBao> {
        let bin = binary()?;
        let dir = tempfile::tempdir()?;
        let home = dir.path().to_path_buf();
        let dev = tokio::task::spawn_blocking(move || OpenBaoDev::start(&bin, &home)).await??;
        Ok(OpenBao { dev, _dir: dir })
    }
}

/// One node of a [`Cluster`].
pub struct Node {
    process: Process,
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
        self.process.kill()?;
        Ok(())
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.process.running()
    }

    /// What the node printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `sys/health`'s status (200 active, 429 standby, 503 sealed, ...), or `None` when
    /// the node does not answer within a second.
    pub async fn health(&self) -> Option<u16> {
        let url = format!("{}/v1/sys/health", self.addr);
        match tokio::time::timeout(Duration::from_secs(1), http::get(&url)).await {
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

/// A Vault call to one node: status and body (`Null` when empty), within 10 s.
async fn call(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        http::call(method, url, token, body),
    )
    .await
    .with_context(|| format!("{url}: no answer within 10 s"))??;
    Ok((reply.status, reply.body))
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
            Method::GET,
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
            let process = spawn(
                &bin,
                &[
                    "server".into(),
                    format!("-config={}", config_file.display()),
                ],
                dir.path(),
                &log_path,
            )?;
            let pid = process.pid();
            nodes.push(Node {
                process,
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
            Method::PUT,
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
                Method::PUT,
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
            Method::POST,
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
