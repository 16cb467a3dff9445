//! The read-only Kubernetes view (`/api/k8s/*`): cert-manager Certificates,
//! CertificateRequests, Issuers and ClusterIssuers, Ingresses and TLS Secrets, listed
//! and then watched through `kube` (kubeconfig with an optional context, or the pod's
//! service account), kept in a compact cache so a page load never lists the cluster.
//! Objects are parsed into our own types (`objects.rs`), which have no field for a
//! Secret's `tls.key`: the private key is dropped by the deserializer, before anything
//! is kept, logged or serialised. `view.rs` joins the cache into `shared::k8s_view` rows
//! and checks Vault issuers' PKI roles with the caller's token through `calls.rs`.
//! Rows that need a person (a problem status or a flag) come first, then by namespace and
//! name; an answer holds at most `shared::k8s_view::MAX_ROWS` of each table.
//! Every watch event bumps a version; the page polls `/api/k8s/version` and reloads the
//! view when it changes.

pub mod cache;
pub mod objects;
pub mod view;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde::de::DeserializeOwned;

use crate::config::Config;
pub use cache::Cache;
pub use view::{version, view};

/// How the server reaches the cluster, from the configuration.
#[derive(Debug, Clone)]
pub enum Source {
    /// `--kubeconfig` (with `--kube-context`, else the file's current context).
    Kubeconfig {
        config: Box<kube::config::Kubeconfig>,
        context: Option<String>,
    },
    /// `--kube-in-cluster`: the pod's service account.
    InCluster,
}

/// The cluster view's state: whether a cluster is configured, the cache and its version.
#[derive(Debug, Default)]
pub struct Cluster {
    pub configured: bool,
    pub cache: std::sync::RwLock<Cache>,
    version: AtomicU64,
}

impl Cluster {
    /// Reads the kubeconfig (an unreadable file stops the server at startup) and, when a
    /// cluster is configured, starts the watches on the current tokio runtime.
    pub fn start(config: &Config) -> anyhow::Result<Arc<Cluster>> {
        let source = match (&config.kubeconfig, config.kube_in_cluster) {
            (Some(_), true) => {
                anyhow::bail!(
                    "--kubeconfig and --kube-in-cluster are two ways to connect: pick one"
                )
            }
            (Some(path), false) => Some(Source::Kubeconfig {
                config: Box::new(
                    kube::config::Kubeconfig::read_from(path)
                        .map_err(|e| anyhow::anyhow!("--kubeconfig {}: {e}", path.display()))?,
                ),
                context: config.kube_context.clone(),
            }),
            (None, true) => Some(Source::InCluster),
            (None, false) => None,
        };
        let cluster = Arc::new(Cluster {
            configured: source.is_some(),
            ..Cluster::default()
        });
        if let Some(source) = source {
            let runtime = tokio::runtime::Handle::try_current()
                .map_err(|_| anyhow::anyhow!("the Kubernetes watches need a tokio runtime"))?;
            let c = cluster.clone();
            runtime.spawn(async move { c.run(source).await });
        }
        Ok(cluster)
    }

    /// The cache version: changes whenever a watch changed the cache.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    fn set_error(&self, kind: &'static str, error: Option<String>) {
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        let changed = match error {
            Some(e) => cache.errors.insert(kind, e.clone()).as_ref() != Some(&e),
            None => cache.errors.remove(kind).is_some(),
        };
        drop(cache);
        if changed {
            self.bump();
        }
    }

    async fn run(self: Arc<Self>, source: Source) {
        let client = match client(source).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "kubernetes: cannot make a client; the view stays empty");
                self.set_error("client", Some(e));
                return;
            }
        };
        let tls = watcher::Config::default().fields("type=kubernetes.io/tls");
        let plain = watcher::Config::default;
        let tasks = vec![
            tokio::spawn(self.clone().watch::<objects::Certificate>(
                Api::all(client.clone()),
                plain(),
                "certificates",
            )),
            tokio::spawn(self.clone().watch::<objects::CertificateRequest>(
                Api::all(client.clone()),
                plain(),
                "certificaterequests",
            )),
            tokio::spawn(self.clone().watch::<objects::Issuer>(
                Api::all(client.clone()),
                plain(),
                "issuers",
            )),
            tokio::spawn(self.clone().watch::<objects::ClusterIssuer>(
                Api::all(client.clone()),
                plain(),
                "clusterissuers",
            )),
            tokio::spawn(self.clone().watch::<objects::Ingress>(
                Api::all(client.clone()),
                plain(),
                "ingresses",
            )),
            tokio::spawn(self.clone().watch::<objects::TlsSecret>(
                Api::all(client),
                tls,
                "secrets",
            )),
        ];
        for t in tasks {
            let _ = t.await;
        }
    }

    /// One list-then-watch loop (kube's watcher: relists after a gone resourceVersion,
    /// backs off after errors). A (re)list is applied whole at its end, so the cache never
    /// shows half a list.
    async fn watch<K>(self: Arc<Self>, api: Api<K>, config: watcher::Config, kind: &'static str)
    where
        K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
        Cache: cache::Store<K>,
    {
        let stream = watcher(api, config).default_backoff();
        futures::pin_mut!(stream);
        let mut pending: Option<Vec<K>> = None;
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Init) => pending = Some(Vec::new()),
                Ok(watcher::Event::InitApply(obj)) => {
                    pending.get_or_insert_with(Vec::new).push(obj);
                }
                Ok(watcher::Event::InitDone) => {
                    let objs = pending.take().unwrap_or_default();
                    let n = objs.len();
                    {
                        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
                        <Cache as cache::Store<K>>::replace(&mut cache, objs);
                        cache.synced.insert(kind);
                    }
                    self.set_error(kind, None);
                    self.bump();
                    tracing::info!(kind, objects = n, "kubernetes: listed");
                }
                Ok(watcher::Event::Apply(obj)) => {
                    {
                        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
                        <Cache as cache::Store<K>>::apply(&mut cache, &obj);
                    }
                    self.bump();
                }
                Ok(watcher::Event::Delete(obj)) => {
                    {
                        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
                        <Cache as cache::Store<K>>::delete(&mut cache, &obj);
                    }
                    self.bump();
                }
                Err(e) => {
                    // kube's errors name the request and the API's status, never an
                    // object's content.
                    let text = e.to_string();
                    tracing::warn!(kind, error = %text, "kubernetes: watch failed; retrying");
                    self.set_error(kind, Some(format!("{kind}: {text}")));
                }
            }
        }
    }
}

async fn client(source: Source) -> Result<Client, String> {
    let config = match source {
        Source::Kubeconfig { config, context } => {
            let options = kube::config::KubeConfigOptions {
                context,
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig(*config, &options)
                .await
                .map_err(|e| format!("the kubeconfig: {e}"))?
        }
        Source::InCluster => {
            kube::Config::incluster().map_err(|e| format!("the in-cluster configuration: {e}"))?
        }
    };
    Client::try_from(config).map_err(|e| format!("the Kubernetes client: {e}"))
}
