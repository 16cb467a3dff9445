//! The app shell in a real browser: every page reachable through the navigation, each
//! with its heading, keyboard navigation, and no console errors.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::key::Key;
use shared::nav;
use tests::{Browser, Server};

const WAIT: Duration = Duration::from_secs(20);

async fn heading(browser: &Browser) -> anyhow::Result<String> {
    let h1 = browser
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("main h1"))
        .await?;
    Ok(h1.text().await?)
}

#[tokio::test]
async fn every_route_through_the_navigation() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&server.url("/")).await?;
    assert_eq!(heading(&browser).await?, nav::OVERVIEW.heading);
    // The footer shows the server's answer from /healthz, not a placeholder.
    let status = browser
        .wait_for("const p = document.querySelector('.server-status'); return p && p.textContent.includes('server ') && p.textContent", WAIT)
        .await?;
    assert!(
        status
            .as_str()
            .unwrap_or_default()
            .contains(shared::VERSION),
        "{status}"
    );

    // Signed in, every page is reachable through the navigation (signed out, the pages
    // that need a session send the visitor to sign in: `navigation.rs`).
    crate::request::sign_in(&browser, &server, &server.root_token()?).await?;
    for page in nav::PAGES.iter().filter(|p| p.path != nav::OVERVIEW.path) {
        let link = c
            .find(Locator::XPath(&format!(
                "//nav//a[normalize-space()='{}']",
                page.label
            )))
            .await?;
        link.click().await?;
        browser
            .wait_for(
                &format!("return location.pathname === '{}'", page.path),
                WAIT,
            )
            .await?;
        let want = page.heading.to_string();
        let got = browser
            .wait_for(&format!("const h = document.querySelector('main h1'); return h && h.textContent === {want:?}"), WAIT)
            .await;
        assert!(
            got.is_ok(),
            "{}: heading {:?}, want {want:?}",
            page.path,
            heading(&browser).await?
        );
        let current = c.find(Locator::Css("nav a[aria-current='page']")).await?;
        assert_eq!(
            current.text().await?,
            page.label,
            "the nav marks the current page"
        );
        assert_eq!(c.title().await?, format!("{} · PKI Console", page.heading));
    }

    // An unknown route shows the 404 page, inside the app.
    c.goto(&server.url("/no/such/page")).await?;
    assert_eq!(heading(&browser).await?, nav::NOT_FOUND_HEADING);

    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await
}

#[tokio::test]
async fn navigation_works_with_the_keyboard() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&server.url("/")).await?;
    heading(&browser).await?;

    // The first Tab reaches the skip link; Enter moves focus to the main content.
    let body = c.find(Locator::Css("body")).await?;
    body.send_keys(&Key::Tab.to_string()).await?;
    let active = c
        .execute("return document.activeElement.textContent", vec![])
        .await?;
    assert_eq!(active, "Skip to content");

    // Tab along the navigation to "Trust" and follow it with Enter.
    let mut reached = false;
    for _ in 0..20 {
        let el = c.active_element().await?;
        if el.text().await? == nav::TRUST.label {
            el.send_keys(&Key::Enter.to_string()).await?;
            reached = true;
            break;
        }
        el.send_keys(&Key::Tab.to_string()).await?;
    }
    assert!(reached, "Tab never reached the Trust link");
    browser
        .wait_for("return location.pathname === '/trust'", WAIT)
        .await?;
    browser
        .wait_for(
            &format!(
                "return document.querySelector('main h1')?.textContent === {:?}",
                nav::TRUST.heading
            ),
            WAIT,
        )
        .await?;
    // Focus follows the navigation into the page.
    browser
        .wait_for(
            "return document.activeElement && document.activeElement.id === 'main'",
            WAIT,
        )
        .await?;

    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await
}
