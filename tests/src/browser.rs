//! Headless Chromium driven through ChromeDriver (fantoccini), with a fresh profile, the
//! flags this machine needs, and access to the browser console log.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use tokio::process::{Child, Command};

pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Extra capabilities for a browser session.
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// Save downloads into this directory without asking.
    pub download_dir: Option<std::path::PathBuf>,
    /// Record DevTools network events (see [`Browser::network_requests`]).
    pub network_log: bool,
}

/// One request the page sent, from the DevTools network log.
#[derive(Debug, Clone)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    pub post_data: String,
}

impl Browser {
    pub async fn start() -> anyhow::Result<Browser> {
        Self::start_with(BrowserOptions::default()).await
    }

    pub async fn start_with(options: BrowserOptions) -> anyhow::Result<Browser> {
        let driver_bin =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = free_port()?;
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!("start {driver_bin} (install chromium-driver, or run `cargo xtask test`)")
            })?;
        let profile = tempfile::tempdir()?;
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let mut caps = caps.as_object().expect("an object").clone();
        if let Some(dir) = &options.download_dir {
            caps["goog:chromeOptions"]["prefs"] = serde_json::json!({
                "download.default_directory": dir.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "safebrowsing.enabled": false,
            });
        }
        if options.network_log {
            caps["goog:loggingPrefs"]["performance"] = serde_json::json!("ALL");
            caps["goog:chromeOptions"]["perfLoggingPrefs"] =
                serde_json::json!({ "enableNetwork": true, "enablePage": false });
        }
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Ok(Browser {
                        client,
                        _driver: driver,
                        _profile: profile,
                    });
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("could not start a ChromeDriver session: {last:?}")
    }

    /// Messages the page logged at level SEVERE (console errors, failed loads, uncaught
    /// exceptions) since the last call.
    pub async fn console_errors(&self) -> anyhow::Result<Vec<String>> {
        let log = self.client.issue_cmd(BrowserLog("browser")).await?;
        Ok(log
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect())
    }

    /// Every request the page (and its workers) sent since the last call, with bodies, from
    /// the DevTools network log (needs `BrowserOptions::network_log`).
    pub async fn network_requests(&self) -> anyhow::Result<Vec<SentRequest>> {
        let log = self.client.issue_cmd(BrowserLog("performance")).await?;
        let mut out = vec![];
        for entry in log.as_array().into_iter().flatten() {
            let Some(text) = entry["message"].as_str() else {
                continue;
            };
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(text) else {
                continue;
            };
            let m = &msg["message"];
            if m["method"] != "Network.requestWillBeSent" {
                continue;
            }
            let r = &m["params"]["request"];
            let mut post_data = r["postData"].as_str().unwrap_or_default().to_string();
            for part in r["postDataEntries"].as_array().into_iter().flatten() {
                if let Some(b) = part["bytes"].as_str() {
                    post_data.push_str(b);
                }
            }
            out.push(SentRequest {
                method: r["method"].as_str().unwrap_or_default().to_string(),
                url: r["url"].as_str().unwrap_or_default().to_string(),
                post_data,
            });
        }
        Ok(out)
    }

    /// Polls `script` (a JS expression body that returns a value) until it returns a truthy
    /// value or `timeout` passes.
    pub async fn wait_for(
        &self,
        script: &str,
        timeout: Duration,
    ) -> anyhow::Result<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let v = self.client.execute(script, vec![]).await?;
            let truthy = !(v.is_null() || v == false || v == "" || v == 0);
            if truthy {
                return Ok(v);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("timed out after {timeout:?} waiting for: {script}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn close(self) -> anyhow::Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}

/// ChromeDriver's log endpoint (`POST /session/{id}/se/log`), which W3C WebDriver lacks,
/// for one log type (`browser`, `performance`).
#[derive(Debug)]
struct BrowserLog(&'static str);

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(format!(r#"{{"type":"{}"}}"#, self.0)),
        )
    }
}

impl Drop for Browser {
    /// ChromeDriver is killed with the handle, but the browser it started would outlive
    /// it; end every process that uses this session's private profile.
    fn drop(&mut self) {
        let _ = std::process::Command::new("pkill")
            .args([
                "-KILL",
                "-f",
                // The pattern starts with "--": without this, pkill reads it as an option.
                "--",
                &format!("--user-data-dir={}", self._profile.path().display()),
            ])
            .status();
    }
}
