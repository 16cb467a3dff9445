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

impl Browser {
    pub async fn start() -> anyhow::Result<Browser> {
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
        let caps = caps.as_object().expect("an object").clone();
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
        let log = self.client.issue_cmd(BrowserLog).await?;
        Ok(log
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect())
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
        self.client.close().await?;
        Ok(())
    }
}

/// ChromeDriver's log endpoint (`POST /session/{id}/se/log`), which W3C WebDriver lacks.
#[derive(Debug)]
struct BrowserLog;

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
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}
