//! The SPA's session and navigation layer as a person meets it: every page opened by its
//! URL (a bookmark, a shared link) and by reload, signed in and out, reaches its content
//! or the sign-in page within 2 s and comes back after signing in; an unsaved private key
//! survives an attempt to leave it; signing out in another tab is told as "your session
//! ended" on the next action, never as a policy problem.

use std::time::{Duration, Instant};

use anyhow::Context;
use fantoccini::Locator;
use shared::nav;
use tests::{Browser, Server, recipe};

use crate::request::{ROLE, role_body, sign_in};

/// How long a page may take to show its content or the sign-in page.
const WITHIN: Duration = Duration::from_secs(2);
const WAIT: Duration = Duration::from_secs(30);

/// Pages anyone may see; every other page needs a session.
fn is_public(p: &nav::Page) -> bool {
    [nav::OVERVIEW.path, nav::TRUST.path, nav::SIGN_IN.path].contains(&p.path)
}

/// JS: the page's `<h1>` text once it is there and no "checking" progress is shown.
const HEADING: &str = "const h = document.querySelector('main h1'); \
     return h && !document.body.innerText.includes('Checking your session') && h.textContent";

async fn heading_within(browser: &Browser, what: &str) -> anyhow::Result<(String, Duration)> {
    let started = Instant::now();
    let h = browser
        .wait_for(HEADING, WITHIN)
        .await
        .with_context(|| format!("{what}: no content within {WITHIN:?}"))?;
    Ok((
        h.as_str().unwrap_or_default().to_string(),
        started.elapsed(),
    ))
}

/// Opens `path` by URL (`how` = "url") or by URL then reload ("reload"), and waits for
/// its heading: the heading and how long it took (`state` names the case).
async fn open(
    browser: &Browser,
    server: &Server,
    path: &str,
    how: &str,
    state: &str,
) -> anyhow::Result<(String, Duration)> {
    browser.client.goto(&server.url(path)).await?;
    if how == "reload" {
        browser.client.refresh().await?;
    }
    heading_within(browser, &format!("{path} by {how}, {state}")).await
}

#[tokio::test]
async fn every_page_by_url_and_reload_signed_out_and_in() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let recipe = recipe::setup(&server, ROLE, role_body()).await?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    // Load the app once so the bundle is in the cache, as for a returning visitor.
    c.goto(&server.url("/")).await?;
    heading_within(&browser, "first load").await?;

    for page in nav::PAGES {
        for how in ["url", "reload"] {
            let (h, took) = open(&browser, &server, page.path, how, "signed out").await?;
            let url = c.current_url().await?;
            if is_public(&page) {
                assert_eq!(h, page.heading, "{} by {how}, signed out", page.path);
            } else {
                assert_eq!(
                    h,
                    nav::SIGN_IN.heading,
                    "{} by {how}, signed out: not sent to sign in",
                    page.path
                );
                assert_eq!(url.path(), nav::SIGN_IN.path);
                let next = url
                    .query_pairs()
                    .find(|(k, _)| k == "next")
                    .map(|(_, v)| v.into_owned());
                assert_eq!(
                    next.as_deref(),
                    Some(page.path),
                    "{}: the way back",
                    page.path
                );
            }
            eprintln!("{} by {how}, signed out: {h:?} in {took:?}", page.path);
        }
    }

    // Signing in on the page a protected page sent us to comes back to that page.
    c.goto(&server.url(nav::REQUEST.path)).await?;
    heading_within(&browser, "request, signed out").await?;
    let field = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("main form input[type='password']"))
        .await?;
    field.send_keys(&recipe.signer_token).await?;
    c.find(Locator::Css("#sign-in-token"))
        .await?
        .click()
        .await?;
    browser
        .wait_for(
            &format!(
                "return location.pathname === '{}' && document.querySelector('main h1')?.textContent === '{}'",
                nav::REQUEST.path,
                nav::REQUEST.heading
            ),
            WAIT,
        )
        .await
        .context("after signing in, the visitor is not back on the request page")?;

    for page in nav::PAGES {
        for how in ["url", "reload"] {
            let (h, took) = open(&browser, &server, page.path, how, "signed in").await?;
            assert_eq!(h, page.heading, "{} by {how}, signed in", page.path);
            assert_eq!(c.current_url().await?.path(), page.path);
            eprintln!("{} by {how}, signed in: {h:?} in {took:?}", page.path);
        }
    }
    // The request page, opened by its URL, gets past loading to the form with the role.
    open_request_page(&browser, &server, Duration::from_secs(5))
        .await
        .context("/request by URL never got past loading")?;
    browser.close().await
}

/// Opens `/request` by its URL and waits (up to `within`) for the form with the recipe's
/// role.
async fn open_request_page(
    browser: &Browser,
    server: &Server,
    within: Duration,
) -> anyhow::Result<()> {
    browser.client.goto(&server.url(nav::REQUEST.path)).await?;
    browser
        .wait_for(
            "const s = document.querySelector('[data-role-summary]'); return s && s.textContent.includes('testlab.local')",
            within,
        )
        .await?;
    Ok(())
}

/// Issues a certificate on the request page and leaves its key unsaved.
async fn issue_unsaved(browser: &Browser, server: &Server) -> anyhow::Result<()> {
    let c = &browser.client;
    open_request_page(browser, server, WAIT).await?;
    c.find(Locator::Id("common_name"))
        .await?
        .send_keys("fruits.testlab.local")
        .await?;
    c.find(Locator::Css("form.request-form button[type='submit']"))
        .await?
        .click()
        .await?;
    browser
        .wait_for(
            "return document.querySelector(\"[data-stage='done']\")",
            WAIT,
        )
        .await
        .context("the certificate was not issued")?;
    Ok(())
}

async fn alert_text(browser: &Browser) -> anyhow::Result<String> {
    for _ in 0..40 {
        if let Ok(t) = browser.client.get_alert_text().await {
            return Ok(t);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("no confirmation appeared")
}

/// Clicks `what`, waits for the confirmation it raises, cancels it and lets the page
/// settle (300 ms); the confirmation's text.
async fn click_and_dismiss(browser: &Browser, what: Locator<'_>) -> anyhow::Result<String> {
    browser.client.find(what).await?.click().await?;
    let text = alert_text(browser).await?;
    browser.client.dismiss_alert().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(text)
}

#[tokio::test]
async fn an_unsaved_key_survives_an_attempt_to_leave() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let recipe = recipe::setup(&server, ROLE, role_body()).await?;
    let browser = Browser::start().await?;
    sign_in(&browser, &server, &recipe.signer_token).await?;
    issue_unsaved(&browser, &server).await?;
    let c = &browser.client;

    // A menu click asks; cancelling keeps the page and the key.
    let text = click_and_dismiss(
        &browser,
        Locator::XPath("//nav//a[normalize-space()='Trust']"),
    )
    .await?;
    assert!(text.contains("private key has not been saved"), "{text}");
    assert_eq!(c.current_url().await?.path(), nav::REQUEST.path);
    assert!(
        c.find(Locator::Css("[data-stage='done']")).await.is_ok(),
        "the issued certificate and its key are still shown"
    );

    // Generate again asks too.
    let text = click_and_dismiss(
        &browser,
        Locator::Css("form.request-form button[type='submit']"),
    )
    .await?;
    assert!(text.contains("has not been saved"), "{text}");
    assert!(c.find(Locator::Css("[data-stage='done']")).await.is_ok());

    // Sign out asks as well.
    click_and_dismiss(
        &browser,
        Locator::XPath("//button[normalize-space()='Sign out']"),
    )
    .await?;
    assert!(
        c.find(Locator::Css("[data-signed-in]")).await.is_ok(),
        "still signed in"
    );

    // Accepting leaves.
    c.find(Locator::XPath("//nav//a[normalize-space()='Trust']"))
        .await?
        .click()
        .await?;
    alert_text(&browser).await?;
    c.accept_alert().await?;
    browser
        .wait_for(
            &format!("return location.pathname === '{}'", nav::TRUST.path),
            WAIT,
        )
        .await?;
    browser.close().await
}

#[tokio::test]
async fn signing_out_in_another_tab_ends_the_session_here() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let recipe = recipe::setup(&server, ROLE, role_body()).await?;
    let browser = Browser::start().await?;
    sign_in(&browser, &server, &recipe.signer_token).await?;
    let c = &browser.client;
    open_request_page(&browser, &server, WAIT).await?;
    let first = c.window().await?;

    // A second tab signs out.
    let second = c.new_window(true).await?;
    c.switch_to_window(second.handle.clone()).await?;
    c.goto(&server.url("/")).await?;
    browser
        .wait_for("return !!document.querySelector('[data-signed-in]')", WAIT)
        .await?;
    c.find(Locator::XPath("//button[normalize-space()='Sign out']"))
        .await?
        .click()
        .await?;
    browser
        .wait_for(
            &format!("return location.pathname === '{}'", nav::SIGN_IN.path),
            WAIT,
        )
        .await?;
    c.close_window().await?;
    c.switch_to_window(first).await?;

    // The first tab still shows the form; its next action says the session ended.
    c.find(Locator::Id("common_name"))
        .await?
        .send_keys("fruits.testlab.local")
        .await?;
    c.find(Locator::Css("form.request-form button[type='submit']"))
        .await?
        .click()
        .await?;
    let said = browser
        .wait_for(
            "const t = document.querySelector('main').innerText; return t.includes('Your session ended') && t",
            WAIT,
        )
        .await
        .context("the first tab never said that the session ended")?;
    let said = said.as_str().unwrap_or_default();
    assert!(
        !said.to_lowercase().contains("polic"),
        "the page blames the token's policies: {said}"
    );
    assert!(
        c.find(Locator::Css("[data-signed-in]")).await.is_err(),
        "the header no longer says signed in"
    );
    browser.close().await
}
