//! Console sessions in the browser, through a console in upstream mode (B) in front of an
//! embedded one (A): a person types a token into the Sign in page, sees who they are and
//! the token's TTL, uses a page that calls the Vault API, and signs out. Meanwhile the
//! token must never be where script can read it: not in localStorage, sessionStorage,
//! IndexedDB or `document.cookie`, and the session cookie is HttpOnly and SameSite=Strict.

use std::time::Duration;

use anyhow::Context;
use fantoccini::Locator;
use serde_json::{Value, json};
use tests::{Browser, Server, http};

const WAIT: Duration = Duration::from_secs(20);
const MOUNT: &str = "pki_session_e2e";
const ROLE: &str = "web";
const DOMAIN: &str = "session-e2e.test";

/// A Vault call to `server` with the root token; fails unless the status is 2xx.
async fn vault(
    server: &Server,
    token: &str,
    method: http::Method,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let res = http::send(
        method.clone(),
        &server.url(&format!("/v1/{path}")),
        &[
            ("x-vault-token", token),
            ("content-type", "application/json"),
        ],
        body.to_string().into_bytes(),
    )
    .await?;
    anyhow::ensure!(
        res.status.is_success(),
        "{method} {path}: {} {}",
        res.status,
        res.text()
    );
    Ok(if res.body.is_empty() {
        Value::Null
    } else {
        res.json()?
    })
}

/// Everything script in the page can read from browser storage, as one string per
/// place; IndexedDB values (binary ones as Latin-1 text) of every store of every
/// database.
const STORAGE_DUMP: &str = r#"
const done = arguments[arguments.length - 1];
const text = (v) => JSON.stringify(v, (k, x) => {
  if (x instanceof ArrayBuffer) x = new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return String.fromCharCode(...new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  return x;
});
const req = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
(async () => {
  const out = {
    local: text(Object.entries(localStorage)),
    session: text(Object.entries(sessionStorage)),
    cookie: document.cookie,
    databases: [],
  };
  for (const info of await indexedDB.databases()) {
    const db = await req(indexedDB.open(info.name));
    const stores = {};
    for (const name of Array.from(db.objectStoreNames)) {
      const store = db.transaction(name, 'readonly').objectStore(name);
      stores[name] = { keys: await req(store.getAllKeys()), values: await req(store.getAll()) };
    }
    db.close();
    out.databases.push({ name: info.name, stores: text(stores) });
  }
  return out;
})().then(done, (e) => done({ error: String(e) }));
"#;

/// Puts a known value into localStorage, sessionStorage and an IndexedDB store, so the
/// dump above is shown to find what is there.
const PLANT_CANARIES: &str = r#"
const done = arguments[arguments.length - 1];
localStorage.setItem('canary', 'canary-local');
sessionStorage.setItem('canary', 'canary-session');
const open = indexedDB.open('canary-db', 1);
open.onupgradeneeded = () => open.result.createObjectStore('things');
open.onsuccess = () => {
  const db = open.result;
  const tx = db.transaction('things', 'readwrite');
  tx.objectStore('things').put({ note: 'canary-idb', bytes: new TextEncoder().encode('canary-bytes') }, 'k1');
  tx.oncomplete = () => { db.close(); done(true); };
  tx.onerror = () => done(String(tx.error));
};
open.onerror = () => done(String(open.error));
"#;

/// `fetch` from the page itself (so with the page's cookies and nothing else).
const PAGE_FETCH: &str = r#"
const [method, path, body] = arguments;
const done = arguments[arguments.length - 1];
fetch(path, { method, body: body || undefined, headers: body ? { 'content-type': 'application/json' } : {} })
  .then(async (r) => done({ status: r.status, text: await r.text() }), (e) => done({ status: 0, text: String(e) }));
"#;

async fn page_fetch(
    browser: &Browser,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> anyhow::Result<(u64, String)> {
    let v = browser
        .client
        .execute_async(
            PAGE_FETCH,
            vec![json!(method), json!(path), json!(body.unwrap_or(""))],
        )
        .await?;
    Ok((
        v["status"].as_u64().unwrap_or_default(),
        v["text"].as_str().unwrap_or_default().to_string(),
    ))
}

#[tokio::test]
async fn sign_in_through_upstream_mode_keeps_the_token_out_of_script_reach() -> anyhow::Result<()> {
    let a = Server::start().await?;
    let root = a.root_token()?;
    let b = Server::upstream(&a.base, &[]).await?;

    // A PKI mount with a role (for the page used below), and a 2-hour token for the person.
    vault(
        &b,
        &root,
        http::Method::POST,
        &format!("sys/mounts/{MOUNT}"),
        json!({"type": "pki"}),
    )
    .await?;
    vault(
        &b,
        &root,
        http::Method::POST,
        &format!("{MOUNT}/root/generate/internal"),
        json!({"common_name": "Session E2E Root", "ttl": "24h"}),
    )
    .await?;
    vault(&b, &root, http::Method::POST, &format!("{MOUNT}/roles/{ROLE}"), json!({"allowed_domains": DOMAIN, "allow_subdomains": true, "max_ttl": "1h", "key_type": "any"})).await?;
    let created = vault(
        &b,
        &root,
        http::Method::POST,
        "auth/token/create",
        json!({"policies": ["root"], "ttl": "2h", "display_name": "console-e2e"}),
    )
    .await?;
    let token = created["auth"]["client_token"]
        .as_str()
        .context("a client token")?
        .to_string();

    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&b.url("/")).await?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("main h1"))
        .await?;

    // To the Sign in page through the navigation, as a person would.
    c.find(Locator::XPath("//nav//a[normalize-space()='Sign in']"))
        .await?
        .click()
        .await?;
    let field = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("input#token"))
        .await?;
    assert_eq!(field.attr("type").await?.as_deref(), Some("password"));
    assert_eq!(field.attr("autocomplete").await?.as_deref(), Some("off"));
    field.send_keys(&token).await?;
    c.find(Locator::Css("#token-form button[type='submit']"))
        .await?
        .click()
        .await?;

    // The top bar names the identity and the token's TTL.
    let who = browser
        .wait_for(
            "const n = document.querySelector('[data-signed-in] .session-name'); return n && n.textContent",
            WAIT,
        )
        .await
        .context("the top bar never showed who is signed in")?;
    assert_eq!(who, "token-console-e2e");
    let ttl = browser
        .wait_for(
            "return document.querySelector('[data-signed-in] .session-ttl')?.textContent",
            WAIT,
        )
        .await?;
    let ttl = ttl.as_str().unwrap_or_default();
    assert!(ttl.contains("token expires in 1 hour"), "{ttl:?}");
    browser
        .wait_for("return location.pathname === '/'", WAIT)
        .await?;

    // Use a page that talks to Vault with the session: the request page lists the
    // mount's roles and reads the role, through B.
    c.find(Locator::XPath(
        "//nav//a[normalize-space()='Request certificate']",
    ))
    .await?
    .click()
    .await?;
    browser
        .wait_for(
            &format!("const s = document.querySelector('[data-role-summary]'); return s && s.textContent.includes('{DOMAIN}')"),
            WAIT,
        )
        .await
        .context("the request page never read the role through the session")?;
    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    // Script in the page can use the session for reads, but never sees the token...
    let (status, text) = page_fetch(&browser, "GET", "/v1/auth/token/lookup-self", None).await?;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("token-console-e2e"), "{text}");
    assert!(
        !text.contains(&token),
        "lookup-self gave the token to the page: {text}"
    );
    // ... and cannot write without the CSRF token, which only the app's memory holds.
    let (status, text) = page_fetch(
        &browser,
        "PUT",
        "/v1/sys/policy/from-script",
        Some(r#"{"policy": "path \"x\" { capabilities = [\"read\"] }"}"#),
    )
    .await?;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("missing or invalid CSRF token"), "{text}");

    // Browser storage: the dump finds planted values, and never the token.
    let planted = c.execute_async(PLANT_CANARIES, vec![]).await?;
    assert_eq!(planted, json!(true), "{planted}");
    let dump = c.execute_async(STORAGE_DUMP, vec![]).await?;
    assert!(dump.get("error").is_none(), "{dump}");
    let all = dump.to_string();
    for canary in [
        "canary-local",
        "canary-session",
        "canary-idb",
        "canary-bytes",
    ] {
        assert!(
            all.contains(canary),
            "the storage dump missed {canary}: {all}"
        );
    }
    assert!(
        !all.contains(&token),
        "the token is in browser storage: {all}"
    );
    let cookie_text = dump["cookie"].as_str().unwrap_or_default();
    assert!(
        !cookie_text.contains("pki_console_session"),
        "script can read the session cookie: {cookie_text:?}"
    );
    // Nor anywhere in the document.
    let html = c
        .execute("return document.documentElement.outerHTML", vec![])
        .await?;
    assert!(!html.as_str().unwrap_or_default().contains(&token));

    // The cookie, as the browser holds it: HttpOnly, SameSite=Strict, sealed.
    let cookies = c.get_all_cookies().await?;
    let session = cookies
        .iter()
        .find(|ck| ck.name() == "pki_console_session")
        .context("no session cookie in the browser")?;
    assert_eq!(session.http_only(), Some(true), "{session:?}");
    assert_eq!(
        format!("{:?}", session.same_site()),
        "Some(Strict)",
        "{session:?}"
    );
    assert_eq!(session.path(), Some("/"));
    assert!(!session.value().contains(&token));
    assert!(!session.value().contains(token.trim_start_matches("hvs.")));

    // A full reload: the identity comes back from the cookie.
    c.goto(&b.url("/trust")).await?;
    let who = browser
        .wait_for(
            "return document.querySelector('[data-signed-in] .session-name')?.textContent",
            WAIT,
        )
        .await?;
    assert_eq!(who, "token-console-e2e");

    // Sign out: the cookie is gone, and with it every credential the browser had.
    c.find(Locator::XPath(
        "//header//button[normalize-space()='Sign out']",
    ))
    .await?
    .click()
    .await?;
    browser
        .wait_for(
            "return location.pathname === '/sign-in' && !document.querySelector('[data-signed-in]')",
            WAIT,
        )
        .await?;
    let cookies = c.get_all_cookies().await?;
    assert!(
        cookies.iter().all(|ck| ck.name() != "pki_console_session"),
        "{cookies:?}"
    );
    let (status, _) = page_fetch(&browser, "GET", "/v1/auth/token/lookup-self", None).await?;
    assert_eq!(status, 403);

    // A token Vault refuses: an error in words, no session.
    let field = c.find(Locator::Css("input#token")).await?;
    field.send_keys("hvs.this-is-not-a-token").await?;
    c.find(Locator::Css("#token-form button[type='submit']"))
        .await?
        .click()
        .await?;
    let shown = browser
        .wait_for(
            "return document.querySelector('#sign-in-error [role=alert]')?.textContent",
            WAIT,
        )
        .await?;
    assert!(
        shown
            .as_str()
            .unwrap_or_default()
            .contains("Vault does not accept this token"),
        "{shown}"
    );
    assert!(
        c.get_all_cookies()
            .await?
            .iter()
            .all(|ck| ck.name() != "pki_console_session")
    );
    browser.close().await
}
