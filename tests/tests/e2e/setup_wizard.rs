//! The setup wizard in headless Chromium, driven with the keyboard: on a fresh server
//! (embedded, and a console in front of OpenBao 2.7.2) an admin opens `/setup` by its
//! URL, goes through every step with Tab/Enter, fills in the cluster's address and CA,
//! plans, applies and verifies; a reload keeps the draft; then the request page issues a
//! certificate for `fruits.testlab.local` that chains to the new root, and a second plan
//! finds everything present.

use std::time::Duration;

use anyhow::{Context, ensure};
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::Value;
use tests::openbao::OpenBao;
use tests::recipe::Recipe;
use tests::{Browser, Server, Target, http::Method};

use crate::request::{issue_and_download_through, sign_in};

const WAIT: Duration = Duration::from_secs(60);

async fn heading(browser: &Browser) -> anyhow::Result<String> {
    Ok(browser
        .client
        .execute(
            "const h = document.getElementById('step-heading'); return h ? h.textContent : ''",
            vec![],
        )
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

async fn wait_heading(browser: &Browser, text: &str) -> anyhow::Result<()> {
    let js = format!(
        "const h = document.getElementById('step-heading'); return !!h && h.textContent.includes({})",
        serde_json::to_string(text)?
    );
    browser
        .wait_for(&js, WAIT)
        .await
        .with_context(|| format!("the step {text:?} did not show"))?;
    Ok(())
}

/// Focuses `id` as Tab would land on it, and types `text` in place of its value.
async fn type_into(browser: &Browser, id: &str, text: &str) -> anyhow::Result<()> {
    let el = browser.client.find(Locator::Id(id)).await?;
    el.clear().await?;
    el.send_keys(text).await?;
    // Tab away: the field's check speaks from its first blur.
    el.send_keys(&String::from(char::from(Key::Tab))).await?;
    Ok(())
}

/// Presses Enter on the button labelled `label` (keyboard activation).
async fn press(browser: &Browser, label: &str) -> anyhow::Result<()> {
    let button = browser
        .client
        .find(Locator::XPath(&format!(
            "//main//button[normalize-space()=\"{label}\"]"
        )))
        .await
        .with_context(|| format!("no button {label:?}"))?;
    button
        .send_keys(&String::from(char::from(Key::Enter)))
        .await?;
    Ok(())
}

async fn next(browser: &Browser, then: &str) -> anyhow::Result<()> {
    all_labelled(browser).await?;
    press(browser, "Next").await?;
    wait_heading(browser, then).await?;
    all_labelled(browser).await
}

/// Every field of the step has a label, and every error slot is tied to its field.
async fn all_labelled(browser: &Browser) -> anyhow::Result<()> {
    let unlabelled: Value = browser
        .client
        .execute(
            "return [...document.querySelectorAll('.wizard-step input, .wizard-step select, .wizard-step textarea')]
                .filter(el => !el.labels || el.labels.length === 0).map(el => el.id || el.name)",
            vec![],
        )
        .await?;
    ensure!(
        unlabelled.as_array().is_some_and(Vec::is_empty),
        "fields without a label: {unlabelled}"
    );
    let loose: Value = browser
        .client
        .execute(
            "return [...document.querySelectorAll('.wizard-step .field-error')]
                .filter(p => !document.querySelector(`[aria-describedby~='${p.id}']`)).map(p => p.id)",
            vec![],
        )
        .await?;
    ensure!(
        loose.as_array().is_some_and(Vec::is_empty),
        "errors not tied to a field: {loose}"
    );
    Ok(())
}

/// The wizard from `/setup` to a verified apply, on `server`, as `token`.
async fn run_wizard(browser: &Browser, server: &Server, token: &str) -> anyhow::Result<()> {
    sign_in(browser, server, token).await?;
    browser.client.goto(&server.url("/setup")).await?;
    wait_heading(browser, "Step 1 of 8: Root CA").await?;
    // A problem is named next to its field once the field was left.
    type_into(browser, "f-root-ttl", "10 years").await?;
    browser
        .wait_for(
            "return document.getElementById('f-root-ttl-error').textContent.includes('10m')",
            WAIT,
        )
        .await
        .context("the TTL problem was not shown next to the field")?;
    let described = browser
        .client
        .find(Locator::Id("f-root-ttl"))
        .await?
        .attr("aria-describedby")
        .await?;
    ensure!(
        described.as_deref() == Some("f-root-ttl-error f-root-ttl-note"),
        "{described:?}"
    );
    // Next stays on a step with a problem.
    press(browser, "Next").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ensure!(
        heading(browser).await?.contains("Root CA"),
        "moved on with a problem"
    );
    type_into(browser, "f-root-ttl", "87600h").await?;
    next(browser, "Step 2 of 8: Intermediate CA").await?;
    next(browser, "Step 3 of 8: URLs").await?;
    next(browser, "Step 4 of 8: Role").await?;
    // The name tester asks the role the server will hold.
    type_into(browser, "f-name-tester", "fruits.testlab.local").await?;
    browser
        .wait_for("return document.getElementById('f-name-tester-verdict').textContent.includes('would be allowed')", WAIT)
        .await?;
    type_into(browser, "f-name-tester", "fruits.example.com").await?;
    browser
        .wait_for("return document.getElementById('f-name-tester-verdict').textContent.includes('would be refused')", WAIT)
        .await?;
    next(browser, "Step 5 of 8: Policy").await?;
    next(browser, "Step 6 of 8: Kubernetes auth").await?;
    type_into(browser, "f-kubernetes-host", "https://127.0.0.1:6443").await?;
    type_into(browser, "f-kubernetes-ca-cert", &tests::cluster_ca_pem()).await?;

    // A reload keeps the draft (session storage), but never the reviewer JWT.
    browser.client.refresh().await?;
    wait_heading(browser, "Step 6 of 8: Kubernetes auth").await?;
    let host = browser
        .client
        .find(Locator::Id("f-kubernetes-host"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        host.as_deref() == Some("https://127.0.0.1:6443"),
        "{host:?}"
    );
    let stored: Value = browser
        .client
        .execute("return JSON.stringify(sessionStorage)", vec![])
        .await?;
    ensure!(
        !stored
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains("jwt\":"),
        "{stored}"
    );

    next(browser, "Step 7 of 8: cert-manager").await?;
    next(browser, "Step 8 of 8: Review and apply").await?;
    press(browser, "Make the plan").await?;
    browser
        .wait_for(
            "return document.querySelectorAll('.plan-call').length >= 13",
            WAIT,
        )
        .await
        .context("the plan did not show")?;
    let actions: Value = browser
        .client
        .execute(
            "return [...document.querySelectorAll('.plan-call')].map(li => li.dataset.action)",
            vec![],
        )
        .await?;
    ensure!(
        actions
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x == "create")),
        "{actions}"
    );
    apply_and_verify(browser).await?;

    // A second plan finds everything present.
    press(browser, "Plan again").await?;
    browser
        .wait_for(
            "return document.body.innerText.includes('Everything is already present')",
            WAIT,
        )
        .await
        .context("the second plan was not all present")?;
    Ok(())
}

/// Presses Apply, then Verify: both must succeed (the page's words are the verdict).
async fn apply_and_verify(browser: &Browser) -> anyhow::Result<()> {
    press(browser, "Apply").await?;
    browser
        .wait_for("return document.body.innerText.includes('Applied. Verify it below.') || !!document.querySelector('.error-panel')", WAIT)
        .await?;
    let failed: Value = browser
        .client
        .execute(
            "const e = document.querySelector('.error-panel'); return e ? e.innerText : null",
            vec![],
        )
        .await?;
    ensure!(failed.is_null(), "apply failed: {failed}");
    press(browser, "Verify").await?;
    browser
        .wait_for("return document.body.innerText.includes('Verified: the recipe works end to end.') || document.body.innerText.includes('Verification failed')", WAIT)
        .await?;
    let text: Value = browser
        .client
        .execute("return document.body.innerText", vec![])
        .await?;
    let text = text.as_str().unwrap_or_default();
    ensure!(
        text.contains("Verified: the recipe works end to end."),
        "verification failed: {text}"
    );
    Ok(())
}

/// The recipe the wizard built, for the request page's flow and its openssl checks.
async fn built_recipe(target: &Target) -> anyhow::Result<Recipe> {
    let pem = |reply: tests::Reply| reply.text;
    let root_pem = pem(target
        .root_ok(Method::GET, "pki/ca/pem", Value::Null)
        .await?);
    let intermediate_pem = pem(target
        .root_ok(Method::GET, "pki_int/ca/pem", Value::Null)
        .await?);
    let signer_token = target
        .token_with(&["fruits-catalog-sign"], serde_json::json!({"ttl": "30m"}))
        .await?;
    Ok(Recipe {
        root_token: target.root_token.clone(),
        signer_token,
        role: "fruits-catalog".into(),
        root_pem,
        intermediate_pem,
    })
}

#[tokio::test]
async fn the_wizard_builds_the_recipe_and_the_request_page_uses_it() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let target = Target::engine(&server)?;
    let browser = Browser::start().await?;
    run_wizard(&browser, &server, &target.root_token).await?;
    browser.close().await?;
    let recipe = built_recipe(&target).await?;
    issue_and_download_through(&server, &recipe, "ec:256", "fruits.testlab.local").await
}

#[tokio::test]
async fn the_wizard_works_in_front_of_openbao() -> anyhow::Result<()> {
    let bao = OpenBao::dev().await?;
    let console = Server::upstream(&bao.addr, &[]).await?;
    let target = Target::openbao(&bao);
    let browser = Browser::start().await?;
    run_wizard(&browser, &console, &target.root_token).await?;
    browser.close().await?;
    let recipe = built_recipe(&target).await?;
    issue_and_download_through(&console, &recipe, "ec:256", "fruits.testlab.local").await
}

/// The external-root path in the page: apply stops waiting for the signed certificate,
/// the CSR is downloaded, openssl signs it as an outside root, the chain is pasted, and a
/// second apply completes; verify then passes with the outside root at the top.
#[tokio::test]
async fn an_external_root_signs_the_downloaded_csr() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let target = Target::engine(&server)?;
    let downloads = tempfile::tempdir()?;
    let browser = Browser::start_with(tests::BrowserOptions {
        download_dir: Some(downloads.path().to_path_buf()),
        network_log: false,
    })
    .await?;
    sign_in(&browser, &server, &target.root_token).await?;
    browser.client.goto(&server.url("/setup/root")).await?;
    wait_heading(&browser, "Step 1 of 8: Root CA").await?;
    let external = browser
        .client
        .find(Locator::Id("f-root-mode-external"))
        .await?;
    external.send_keys(" ").await?;
    browser
        .wait_for(
            "return !!document.getElementById('f-root-external-chain-pem')",
            WAIT,
        )
        .await?;
    // Without Kubernetes auth: the PKI only.
    browser
        .client
        .goto(&server.url("/setup/kubernetes"))
        .await?;
    wait_heading(&browser, "Kubernetes auth").await?;
    browser
        .client
        .find(Locator::Id("f-kubernetes-enabled"))
        .await?
        .send_keys(" ")
        .await?;
    browser.client.goto(&server.url("/setup/review")).await?;
    wait_heading(&browser, "Review and apply").await?;
    press(&browser, "Make the plan").await?;
    browser
        .wait_for("return document.querySelectorAll('.plan-call').length > 0 && !document.body.innerText.includes('Reading what')", WAIT)
        .await?;
    press(&browser, "Apply").await?;
    browser
        .wait_for("return document.body.innerText.includes('Download the CSR and upload the signed certificate')", WAIT)
        .await
        .context("apply did not stop to wait for the signed certificate")?;
    browser
        .client
        .find(Locator::XPath(
            "//a[contains(., 'Download the CSR and upload')]",
        ))
        .await?
        .click()
        .await?;
    wait_heading(&browser, "Root CA").await?;
    press(&browser, "Download the intermediate's CSR").await?;
    let csr = tests::downloaded(downloads.path(), "pki-console-intermediate.csr").await?;

    let dir = tempfile::tempdir()?;
    let (root_pem, int_pem) =
        tests::outside_root_signs(dir.path(), &std::fs::read_to_string(&csr)?)?;
    let chain = format!("{int_pem}{root_pem}");
    let area = browser
        .client
        .find(Locator::Id("f-root-external-chain-pem"))
        .await?;
    // Checked in the page before anything is sent: the intermediate alone is refused...
    area.clear().await?;
    area.send_keys(&int_pem).await?;
    browser
        .wait_for("return document.getElementById('f-root-chain-verdict').textContent.includes('only one certificate')", WAIT)
        .await
        .context("the chain without its root was not refused in the page")?;
    // ...the chain with the outside root is accepted.
    area.clear().await?;
    area.send_keys(&chain).await?;
    browser
        .wait_for("return document.getElementById('f-root-chain-verdict').textContent.includes('Chain checked')", WAIT)
        .await
        .context("the valid chain was not accepted in the page")?;

    browser.client.goto(&server.url("/setup/review")).await?;
    wait_heading(&browser, "Review and apply").await?;
    press(&browser, "Make the plan").await?;
    browser
        .wait_for("return [...document.querySelectorAll('.plan-call')].some(li => li.innerText.includes('set-signed') && li.dataset.action === 'create')", WAIT)
        .await
        .context("the plan does not import the uploaded chain")?;
    apply_and_verify(&browser).await?;
    let text: Value = browser
        .client
        .execute("return document.body.innerText", vec![])
        .await?;
    let text = text.as_str().unwrap_or_default();
    ensure!(
        text.contains("Verified: the recipe works end to end."),
        "{text}"
    );
    ensure!(
        text.contains("CN=Outside Root"),
        "the chain ends at the outside root: {text}"
    );
    browser.close().await?;
    Ok(())
}
