//! The Certificates page in Chromium (issue 15): the list opened by its address, a SAN
//! substring typed in the search box finding its one row, a reload keeping the filter,
//! the CSV export holding exactly the filtered rows, the expiry timeline's bar for today
//! against the issued certificates' `not_after`, the detail page, Revoke through the
//! confirmation dialog by keyboard, the serial on the CRL as openssl reads it, and the
//! back link to the same list; on the engine and in upstream mode in front of OpenBao.
//! Then 10,000 certificates: ten pages and scrolling without a main-thread task over
//! 50 ms (`PerformanceObserver` long tasks).

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::{Value, json};
use shared::api::certs::{CSV_HEADER, Timeline};
use tests::http::{self, Method};
use tests::openbao::OpenBao;
use tests::recipe::Issued;
use tests::target::{Kind, Target};
use tests::{Browser, Server, recipe};

const WAIT: Duration = Duration::from_secs(30);
const ROLE: &str = "fruits-catalog";
const NEEDLE: &str = "needle-7.fruits.testlab.local";

fn role_body() -> Value {
    json!({
        "allowed_domains": "fruits.testlab.local", "allow_subdomains": true,
        "max_ttl": "2400h", "key_type": "ec", "key_bits": 256,
        "use_csr_common_name": false, "use_csr_sans": false,
    })
}

async fn issue(target: &Target, cn: &str, alt: &str, ttl: &str) -> anyhow::Result<Issued> {
    recipe::issue(target, ROLE, cn, alt, ttl).await
}

/// Six certificates with distinct names: some expire today (UTC), some later.
async fn issue_six(target: &Target) -> anyhow::Result<Vec<Issued>> {
    let mut out = vec![];
    for (cn, alt, ttl) in [
        (
            "apple.fruits.testlab.local",
            "apple-www.fruits.testlab.local",
            "10m",
        ),
        ("pear.fruits.testlab.local", NEEDLE, "2h"),
        (
            "plum.fruits.testlab.local",
            "plum-www.fruits.testlab.local",
            "30h",
        ),
        (
            "fig.fruits.testlab.local",
            "fig-www.fruits.testlab.local,fig-api.fruits.testlab.local,fig-cdn.fruits.testlab.local,fig-img.fruits.testlab.local",
            "50h",
        ),
        ("kiwi.fruits.testlab.local", "", "300h"),
        (
            "lime.fruits.testlab.local",
            "lime-www.fruits.testlab.local",
            "20m",
        ),
    ] {
        out.push(issue(target, cn, alt, ttl).await?);
    }
    Ok(out)
}

/// The name of the one CSV file the browser saved into `dir` (waits up to 30 s).
async fn downloaded_csv(dir: &std::path::Path) -> anyhow::Result<String> {
    for _ in 0..300 {
        let names: Vec<String> = std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".csv"))
            .collect();
        if let [one] = names.as_slice() {
            return Ok(one.clone());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the browser saved no CSV file into {}", dir.display())
}

/// `GET` with the session cookie.
async fn get_with_cookie(url: &str, cookie: &str) -> anyhow::Result<http::Response> {
    http::send(Method::GET, url, &[("cookie", cookie)], vec![]).await
}

/// Presses and releases `key` on whatever has focus, as a person at the keyboard.
async fn press(browser: &Browser, key: Key) -> anyhow::Result<()> {
    let k: char = key.into();
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: k })
        .then(KeyAction::Up { value: k });
    browser.client.perform_actions(actions).await?;
    Ok(())
}

async fn js(browser: &Browser, script: &str) -> anyhow::Result<Value> {
    Ok(browser.client.execute(script, vec![]).await?)
}

/// What the page shows now, for failure messages.
async fn page_text(browser: &Browser) -> String {
    js(browser, "return document.querySelector('main').innerText")
        .await
        .map(|v| v.as_str().unwrap_or_default().chars().take(3000).collect())
        .unwrap_or_default()
}

async fn wait(browser: &Browser, script: &str, what: &str) -> anyhow::Result<Value> {
    match browser.wait_for(script, WAIT).await {
        Ok(v) => Ok(v),
        Err(e) => bail!(
            "{what}: {e}\n--- the page shows ---\n{}\n--- console errors ---\n{:?}",
            page_text(browser).await,
            browser.console_errors().await.unwrap_or_default()
        ),
    }
}

/// The serials of the list's rows, in order.
async fn row_serials(browser: &Browser) -> anyhow::Result<Vec<String>> {
    let v = js(
        browser,
        "return [...document.querySelectorAll('[data-testid=cert-table] tbody tr')].map(r => r.dataset.serial)",
    )
    .await?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect())
}

/// Waits until the console's index (upstream mode: refreshed every few seconds) lists
/// every serial in `serials`; returns its total.
async fn index_has(base: &str, cookie: &str, serials: &[&str]) -> anyhow::Result<u64> {
    let started = Instant::now();
    loop {
        let res = get_with_cookie(&format!("{base}/api/certs/pki_int?limit=500"), cookie).await?;
        ensure!(
            res.status == 200,
            "/api/certs/pki_int: {} {}",
            res.status,
            res.text()
        );
        let v = res.json()?;
        let text = v.to_string();
        if serials.iter().all(|s| text.contains(s)) {
            return Ok(v["total"].as_u64().unwrap_or_default());
        }
        ensure!(
            started.elapsed() < WAIT,
            "the index never listed {serials:?}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// openssl's serial form: upper-case hex without colons or leading zeros.
fn openssl_serial(serial: &str) -> String {
    serial
        .replace(':', "")
        .to_ascii_uppercase()
        .trim_start_matches('0')
        .to_string()
}

/// The serials on `pki_int`'s CRL, as `openssl crl -text` prints them.
async fn crl_serials(base: &str) -> anyhow::Result<Vec<String>> {
    let res = http::get(&format!("{base}/v1/pki_int/crl/pem")).await?;
    ensure!(res.status == 200, "CRL: {} {}", res.status, res.text());
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("crl.pem");
    std::fs::write(&path, res.text())?;
    let out = std::process::Command::new("openssl")
        .args(["crl", "-noout", "-text", "-in"])
        .arg(&path)
        .output()?;
    ensure!(
        out.status.success(),
        "openssl crl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
        .map(|s| s.trim().trim_start_matches('0').to_ascii_uppercase())
        .collect())
}

/// The whole flow against one console (`token` signs in and issues).
async fn flow(console: &Server, token: &str) -> anyhow::Result<()> {
    let target = Target::new(Kind::Engine, &console.base, token);
    recipe::build(&target, ROLE, role_body()).await?;
    let issued = issue_six(&target).await?;
    let needle = issued[1].clone();
    let (cookie, _) = console.sign_in(token).await?;
    let serials: Vec<&str> = issued.iter().map(|i| i.serial.as_str()).collect();
    let total = index_has(&console.base, &cookie, &serials).await?;
    ensure!(total >= 6, "the index has {total} certificates");

    let downloads = tempfile::tempdir()?;
    let browser = Browser::start_with(tests::BrowserOptions {
        download_dir: Some(downloads.path().to_path_buf()),
        ..Default::default()
    })
    .await?;
    let c = &browser.client;

    // Signed out, the Overview shows the published CA hierarchy.
    c.goto(&console.url("/")).await?;
    wait(
        &browser,
        "const h = document.querySelector('[data-testid=overview-hierarchy]'); return h && h.innerText.includes('testlab.local Intermediate CA') && h.innerText.includes('testlab.local Root CA') && !!h.querySelector('a[href=\"/trust\"]')",
        "the signed-out Overview never showed the CA hierarchy",
    )
    .await?;
    crate::request::sign_in(&browser, console, token).await?;

    // The list, opened by its address.
    c.goto(&console.url("/certificates?mount=pki_int")).await?;
    wait(
        &browser,
        &format!("return document.querySelectorAll('[data-testid=cert-table] tbody tr').length === {total}"),
        &format!("the list never showed the {total} certificates"),
    )
    .await?;
    let words = js(
        &browser,
        "return document.querySelector('[data-testid=cert-total]').innerText",
    )
    .await?;
    ensure!(
        words.as_str() == Some(&format!("{total} certificates match")),
        "the total reads {words}"
    );
    let source = js(
        &browser,
        "return document.querySelector('[data-testid=cert-source]').innerText",
    )
    .await?;
    ensure!(
        source.as_str().is_some_and(|s| s.starts_with("Index")),
        "the source line reads {source}"
    );
    // "+N more" for the certificate with five SANs; the key as "EC 256".
    let fig_row = js(
        &browser,
        &format!(
            "return document.querySelector('tr[data-serial=\"{}\"]').innerText",
            issued[3].serial
        ),
    )
    .await?;
    let fig_row = fig_row.as_str().unwrap_or_default();
    ensure!(
        fig_row.contains("+2 more") && fig_row.contains("EC 256"),
        "fig's row: {fig_row}"
    );

    // A SAN substring in the search box: exactly that row, and the address says so.
    let search = c.find(Locator::Id("cert-q")).await?;
    search.send_keys("edle-7").await?;
    wait(
        &browser,
        &format!(
            "const r = [...document.querySelectorAll('[data-testid=cert-table] tbody tr')]; return r.length === 1 && r[0].dataset.serial === '{}' && location.search.includes('q=edle-7')",
            needle.serial
        ),
        "typing edle-7 did not leave exactly the needle's row",
    )
    .await?;
    ensure!(
        js(
            &browser,
            "return document.querySelector('[data-testid=cert-total]').innerText"
        )
        .await?
            == json!("1 certificate matches"),
        "the total after the search"
    );
    // Typing made no history entries.
    let history = js(&browser, "return history.length").await?;

    // A reload keeps the filter.
    c.refresh().await?;
    wait(
        &browser,
        &format!(
            "const r = [...document.querySelectorAll('[data-testid=cert-table] tbody tr')]; const q = document.getElementById('cert-q'); return r.length === 1 && r[0].dataset.serial === '{}' && q && q.value === 'edle-7'",
            needle.serial
        ),
        "the reload lost the filter",
    )
    .await?;
    ensure!(
        js(&browser, "return history.length").await? == history,
        "the reload added a history entry"
    );

    // The CSV export: the link is the current query, and holds exactly its rows.
    let href = js(
        &browser,
        "return document.querySelector('[data-testid=cert-export]').getAttribute('href')",
    )
    .await?;
    let href = href.as_str().context("the export link")?.to_string();
    ensure!(
        href == "/api/certs/pki_int/export.csv?q=edle-7",
        "the export link is {href}"
    );
    let csv = get_with_cookie(&console.url(&href), &cookie).await?;
    ensure!(csv.status == 200, "CSV: {} {}", csv.status, csv.text());
    let text = csv.text();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    ensure!(
        lines.len() == 2
            && lines[0] == CSV_HEADER
            && lines[1].starts_with(&format!("{},pear.fruits.testlab.local,", needle.serial)),
        "the CSV of the filter:\n{text}"
    );
    // The browser downloads it too, with the session cookie.
    c.find(Locator::Css("[data-testid=cert-export]"))
        .await?
        .click()
        .await?;
    // (The server's Content-Disposition names the file.)
    let name = downloaded_csv(downloads.path()).await?;
    let file = tests::downloaded(downloads.path(), &name).await?;
    ensure!(
        std::fs::read_to_string(&file)? == text,
        "the downloaded CSV differs from the export"
    );

    // The timeline's bar for today: every certificate whose not_after is today (UTC).
    let tl: Timeline = serde_json::from_str(
        &get_with_cookie(&console.url("/api/certs/pki_int/timeline"), &cookie)
            .await?
            .text(),
    )?;
    let today = tl.day_start;
    let want_today = issued
        .iter()
        .filter(|i| (today..today + 86_400).contains(&i.not_after))
        .count() as u64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    ensure!(
        today == now - now.rem_euclid(86_400),
        "the timeline's day_start {today} is not today's midnight UTC"
    );
    let bar = wait(
        &browser,
        "const b = document.getElementById('tl-day-0'); return b && [b.dataset.count, b.getAttribute('aria-label'), b.dataset.from, b.dataset.to]",
        "the timeline has no bar for today",
    )
    .await?;
    let day = shared::api::certs::rfc3339(today)[..10].to_string();
    let label = if want_today == 1 {
        format!("1 certificate expires on {day}")
    } else {
        format!("{want_today} certificates expire on {day}")
    };
    ensure!(
        bar == json!([
            want_today.to_string(),
            label,
            today.to_string(),
            (today + 86_400).to_string()
        ]),
        "today's bar {bar}, want {want_today} ({label}) from the issued certificates {issued:?}"
    );
    // Enter on today's bar lists the certificates expiring today (status all).
    js(&browser, "document.getElementById('tl-day-0').focus()").await?;
    press(&browser, Key::Enter).await?;
    wait(
        &browser,
        &format!("return location.search.includes('from={today}') && location.search.includes('to={}') && document.querySelectorAll('[data-testid=cert-table] tbody tr').length === {want_today}", today + 86_400),
        "Enter on today's bar did not list today's certificates",
    )
    .await?;
    c.goto(&console.url("/certificates?mount=pki_int&q=edle-7"))
        .await?;
    wait(
        &browser,
        &format!(
            "return !!document.querySelector('tr[data-serial=\"{}\"] a')",
            needle.serial
        ),
        "the needle's row is back",
    )
    .await?;

    // The detail page, from the serial link.
    c.find(Locator::Css(&format!(
        "tr[data-serial=\"{}\"] a",
        needle.serial
    )))
    .await?
    .click()
    .await?;
    wait(
        &browser,
        &format!("const d = document.querySelector('.cert-detail'); return d && d.dataset.serial === '{}' && d.dataset.status === 'valid'", needle.serial),
        "the detail page never showed the certificate",
    )
    .await?;
    let detail = page_text(&browser).await;
    for want in [
        "pear.fruits.testlab.local",
        NEEDLE,
        "SHA-256 fingerprint",
        "verifies",
        "-----BEGIN CERTIFICATE-----",
        "Subject Alternative Name",
    ] {
        ensure!(
            detail.contains(want),
            "the detail lacks {want:?}:\n{detail}"
        );
    }
    let path = js(&browser, "return location.pathname + location.search").await?;
    ensure!(
        path == json!(format!(
            "/certificates/{}?mount=pki_int&q=edle-7",
            needle.serial
        )),
        "the detail's address is {path}"
    );

    // Revoke by keyboard: Enter on Revoke…, the dialog names the certificate, Tab to its
    // confirm button, Enter.
    js(&browser, "[...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Revoke…').focus()").await?;
    press(&browser, Key::Enter).await?;
    wait(
        &browser,
        "const d = document.querySelector('dialog.cert-dialog'); return d && d.open",
        "the dialog never opened",
    )
    .await?;
    let dialog = js(
        &browser,
        "return document.querySelector('dialog.cert-dialog').innerText",
    )
    .await?;
    let dialog = dialog.as_str().unwrap_or_default();
    ensure!(
        dialog.contains("pear.fruits.testlab.local") && dialog.contains(&needle.serial),
        "the dialog does not name the certificate: {dialog}"
    );
    press(&browser, Key::Tab).await?;
    let focused = js(&browser, "return document.activeElement.innerText").await?;
    ensure!(
        focused == json!("Revoke pear.fruits.testlab.local"),
        "Tab in the dialog focused {focused}"
    );
    press(&browser, Key::Enter).await?;
    wait(
        &browser,
        "const d = document.querySelector('.cert-detail'); const r = document.querySelector('[data-testid=cert-revoked]'); return d && d.dataset.status === 'revoked' && r && r.innerText",
        "the detail never showed the certificate revoked",
    )
    .await
    .and_then(|v| {
        let t = v.as_str().unwrap_or_default().to_string();
        ensure!(t.starts_with("Revoked 20"), "the revocation reads {t}");
        Ok(())
    })?;

    // On the CRL, as openssl reads it.
    let on_crl = crl_serials(&console.base).await?;
    ensure!(
        on_crl.contains(&openssl_serial(&needle.serial)),
        "{} is not on the CRL: {on_crl:?}",
        needle.serial
    );

    // The back link returns to the same list, where the row is revoked (upstream: once
    // the index refreshed).
    c.find(Locator::LinkText("← Back to the list"))
        .await?
        .click()
        .await?;
    let started = Instant::now();
    loop {
        let ok = browser
            .wait_for(
                &format!("const r = document.querySelector('tr[data-serial=\"{}\"] [data-status]'); return r && location.search === '?mount=pki_int&q=edle-7' && r.dataset.status", needle.serial),
                WAIT,
            )
            .await?;
        if ok == json!("revoked") {
            break;
        }
        ensure!(
            started.elapsed() < WAIT,
            "the list still shows the needle as {ok}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        c.refresh().await?;
    }
    // Signed in, the Overview counts pki_int's certificates, each number a link to the
    // list filtered the same way.
    c.goto(&console.url("/")).await?;
    let numbers = wait(
        &browser,
        "const m = document.querySelector('.overview-mount[data-mount=pki_int]'); if (!m || !m.querySelector('[data-count=revoked]')) return null; return Object.fromEntries([...m.querySelectorAll('[data-count]')].map(li => [li.dataset.count, [li.querySelector('.overview-number').innerText, li.querySelector('a').getAttribute('href')]]))",
        "the signed-in Overview never showed pki_int's numbers",
    )
    .await?;
    let n = |k: &str| numbers[k][0].as_str().unwrap_or_default().to_string();
    let href = |k: &str| numbers[k][1].as_str().unwrap_or_default().to_string();
    ensure!(
        n("revoked") == "1" && n("total") == total.to_string(),
        "the Overview's numbers: {numbers}"
    );
    ensure!(
        n("issued-24h") == total.to_string() || n("issued-24h") == "6",
        "issued in 24 h: {numbers}"
    );
    for (k, want) in [
        ("revoked", "/certificates?mount=pki_int&status=revoked"),
        (
            "expiring-24h",
            "/certificates?mount=pki_int&status=expiring&days=1",
        ),
        (
            "expiring-7d",
            "/certificates?mount=pki_int&status=expiring&days=7",
        ),
        ("issued-24h", "/certificates?mount=pki_int&sort=-issued"),
    ] {
        ensure!(href(k) == want, "the Overview's {k} link is {}", href(k));
    }
    let expiring_24h = issued
        .iter()
        .filter(|i| i.serial != needle.serial && i.not_after <= now + 86_400)
        .count();
    ensure!(
        n("expiring-24h") == expiring_24h.to_string(),
        "expiring within 24 h: {numbers}, want {expiring_24h}"
    );
    let errors = browser.console_errors().await?;
    ensure!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn list_search_detail_revoke_on_the_engine() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let token = server.root_token()?;
    flow(&server, &token).await
}

#[tokio::test]
async fn list_search_detail_revoke_in_front_of_openbao() -> anyhow::Result<()> {
    let bao = OpenBao::dev().await?;
    let console = Server::upstream(&bao.addr, &[]).await?;
    flow(&console, &bao.root_token).await
}

/// Refusals in words: a token that may not list the index is told which capability it
/// lacks (and its session is not taken for ended); one that may read but not revoke sees
/// Vault's refusal with the policy it needs.
#[tokio::test]
async fn refusals_name_the_missing_capability() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let root = server.root_token()?;
    let target = Target::new(Kind::Engine, &server.base, &root);
    let recipe = recipe::build(&target, ROLE, role_body()).await?;
    let issued = issue_six(&target).await?;
    let browser = Browser::start().await?;
    let c = &browser.client;

    // The recipe's signer may sign and read its role, not list certificates.
    crate::request::sign_in(&browser, &server, &recipe.signer_token).await?;
    c.goto(&server.url("/certificates?mount=pki_int")).await?;
    let alert = wait(
        &browser,
        "const e = [...document.querySelectorAll('.cert-results [role=alert]')].map(a => a.innerText).join(' '); return e.includes('certs/detailed') && e",
        "a token without list on certs/detailed was not told so",
    )
    .await?;
    ensure!(
        alert.as_str().is_some_and(|a| a.contains("403")),
        "the refusal reads {alert}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    ensure!(
        js(&browser, "return !document.querySelector('.session-ended')").await? == json!(true),
        "a 403 from the index was taken for an ended session"
    );

    // A reader: list and read, no revoke.
    target
        .policy(
            "cert-reader",
            "path \"pki_int/certs/detailed\" { capabilities = [\"list\"] }\npath \"pki_int/certs\" { capabilities = [\"list\"] }\npath \"pki_int/cert/*\" { capabilities = [\"read\"] }\npath \"sys/mounts\" { capabilities = [\"read\"] }\n",
        )
        .await?;
    let reader = target.token_with(&["cert-reader"], Value::Null).await?;
    browser.close().await?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    crate::request::sign_in(&browser, &server, &reader).await?;
    let serial = &issued[0].serial;
    c.goto(&server.url(&format!("/certificates/{serial}?mount=pki_int")))
        .await?;
    wait(
        &browser,
        "const d = document.querySelector('.cert-detail'); return d && d.dataset.status === 'valid'",
        "the reader never saw the certificate",
    )
    .await?;
    js(&browser, "[...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Revoke…').click()").await?;
    wait(
        &browser,
        "const d = document.querySelector('dialog.cert-dialog'); return d && d.open",
        "the dialog never opened",
    )
    .await?;
    c.find(Locator::Css("[data-testid=revoke-confirm]"))
        .await?
        .click()
        .await?;
    let alert = wait(
        &browser,
        "const a = document.querySelector('.cert-revoke [role=alert]'); return a && a.innerText",
        "the refused revocation was not reported",
    )
    .await?;
    let alert = alert.as_str().unwrap_or_default();
    ensure!(
        alert.contains("403") && alert.contains("update on pki_int/revoke"),
        "the refused revocation reads {alert}"
    );
    ensure!(
        js(
            &browser,
            "return document.querySelector('.cert-detail').dataset.status"
        )
        .await?
            == json!("valid"),
        "the certificate shows revoked after a refusal"
    );
    let on_crl = crl_serials(&server.base).await?;
    ensure!(
        !on_crl.contains(&openssl_serial(serial)),
        "{serial} is on the CRL"
    );
    browser.close().await?;
    Ok(())
}

/// 10,000 certificates: signed with 16 clients in parallel from one CSR (the role takes
/// the names from the request, so each is a distinct certificate).
async fn seed(base: &str, token: &str, n: usize) -> anyhow::Result<()> {
    let csr = tests::csr_pem("seed.fruits.testlab.local")?;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = vec![];
    for _ in 0..16 {
        let (base, token, csr, next) = (
            base.to_string(),
            token.to_string(),
            csr.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let client = http::Client::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), anyhow::Error>(());
                }
                let body = json!({
                    "csr": csr,
                    "common_name": format!("host-{i:05}.fruits.testlab.local"),
                    "alt_names": format!("alt-{i:05}.fruits.testlab.local"),
                    "ttl": format!("{}h", 1 + i % 2000),
                });
                let res = client
                    .send(
                        Method::POST,
                        &format!("{base}/v1/pki_int/sign/{ROLE}"),
                        &[
                            ("X-Vault-Token", token.as_str()),
                            ("content-type", "application/json"),
                        ],
                        body.to_string(),
                    )
                    .await?;
                ensure!(res.status == 200, "sign {i}: {} {}", res.status, res.text());
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

#[tokio::test]
async fn ten_thousand_certificates_without_long_tasks() -> anyhow::Result<()> {
    const N: usize = 10_000;
    let server = Server::start().await?;
    let token = server.root_token()?;
    // An Ed25519 CA signs fastest (the server under test is a debug build).
    let target = Target::new(Kind::Engine, &server.base, &token);
    target
        .root_ok(
            Method::POST,
            "sys/mounts/pki_int",
            json!({"type": "pki", "config": {"max_lease_ttl": "87600h"}}),
        )
        .await?;
    target
        .root_ok(
            Method::POST,
            "pki_int/root/generate/internal",
            json!({"common_name": "Seed Root", "key_type": "ed25519", "ttl": "87600h"}),
        )
        .await?;
    target
        .root_ok(Method::POST, &format!("pki_int/roles/{ROLE}"), role_body())
        .await?;
    let started = Instant::now();
    seed(&server.base, &token, N).await?;
    println!("seeded {N} certificates in {:?}", started.elapsed());
    let (cookie, _) = server.sign_in(&token).await?;
    let total = get_with_cookie(&server.url("/api/certs/pki_int?limit=1"), &cookie)
        .await?
        .json()?["total"]
        .as_u64()
        .unwrap_or_default();
    ensure!(total >= N as u64, "the index has {total} certificates");

    let browser = Browser::start().await?;
    crate::request::sign_in(&browser, &server, &token).await?;
    let c = &browser.client;
    c.goto(&server.url("/certificates?mount=pki_int")).await?;
    wait(
        &browser,
        "return document.querySelectorAll('[data-testid=cert-table] tbody tr').length === 100",
        "the first page of 100 rows",
    )
    .await?;
    js(
        &browser,
        "window.__long = []; window.__step = 'load'; new PerformanceObserver(l => { for (const e of l.getEntries()) window.__long.push({duration: e.duration, at: Math.round(e.startTime), during: window.__step}); }).observe({type: 'longtask', buffered: true}); window.__loaf = []; new PerformanceObserver(l => { for (const e of l.getEntries()) window.__loaf.push({d: Math.round(e.duration), block: Math.round(e.blockingDuration), at: Math.round(e.startTime), style_layout_ms: Math.round(e.startTime + e.duration - e.styleAndLayoutStart), render_ms: Math.round(e.startTime + e.duration - e.renderStart), during: window.__step, scripts: e.scripts.map(s => [s.invoker, Math.round(s.duration), s.sourceFunctionName])}); }).observe({type: 'long-animation-frame', buffered: false});",
    )
    .await?;
    // Long tasks of the first load (buffered) are not what this measures: start clean.
    tokio::time::sleep(Duration::from_millis(300)).await;
    js(&browser, "window.__long.length = 0").await?;
    let mut seen = std::collections::BTreeSet::new();
    for page in 0..12 {
        let first = row_serials(&browser).await?;
        ensure!(first.len() == 100, "page {page} has {} rows", first.len());
        ensure!(
            first.iter().all(|s| seen.insert(s.clone())),
            "page {page} repeats a row of an earlier page"
        );
        // Scroll through the page, then Next.
        for y in [400, 1200, 2400, 4000, 0] {
            js(
                &browser,
                &format!("window.__step = 'page {page}: scroll to {y}'; window.scrollTo(0, {y})"),
            )
            .await?;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        js(
            &browser,
            &format!("window.__step = 'page {page}: Next page'"),
        )
        .await?;
        let next = c
            .find(Locator::XPath("//button[normalize-space()='Next page']"))
            .await?;
        next.click().await?;
        wait(
            &browser,
            &format!("const r = document.querySelector('[data-testid=cert-table] tbody tr'); return r && r.dataset.serial !== '{}' && document.querySelectorAll('[data-testid=cert-table] tbody tr').length === 100", first[0]),
            &format!("page {} never replaced page {page}", page + 1),
        )
        .await?;
    }
    // Back twice, First page.
    for label in ["Previous page", "Previous page", "First page"] {
        js(&browser, &format!("window.__step = '{label}'")).await?;
        c.find(Locator::XPath(&format!(
            "//button[normalize-space()='{label}']"
        )))
        .await?
        .click()
        .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    wait(
        &browser,
        "return document.querySelector('.cert-page-number').innerText === 'Page 1' && document.querySelectorAll('[data-testid=cert-table] tbody tr').length === 100",
        "First page",
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let long = js(&browser, "return window.__long").await?;
    println!("long tasks while paging and scrolling 10,000 certificates: {long}");
    // The long animation frames (script, then style, layout and paint) say where the
    // time went when a task was long.
    let frames = js(&browser, "return window.__loaf").await?;
    ensure!(
        long.as_array().is_some_and(Vec::is_empty),
        "main-thread tasks over 50 ms while paging and scrolling: {long}\nlong animation frames: {frames}"
    );
    browser.close().await?;
    Ok(())
}
