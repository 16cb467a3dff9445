//! How the server serves the SPA: security headers, caching, compression, the SPA
//! fallback for client routes, 404 for missing files, and a self-contained binary.

use tests::{Server, http};

#[tokio::test]
async fn security_headers_on_every_kind_of_response() -> anyhow::Result<()> {
    let server = Server::start().await?;
    for path in [
        "/",
        "/setup",
        "/healthz",
        "/favicon.svg",
        "/assets/missing.js",
        "/v1/no/such/path",
    ] {
        let res = http::get(&server.url(path)).await?;
        let csp = res.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'self'"), "{path}: CSP {csp:?}");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{path}: CSP {csp:?}"
        );
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{path}: CSP {csp:?}"
        );
        assert!(csp.contains("object-src 'none'"), "{path}: CSP {csp:?}");
        assert!(!csp.contains("unsafe-inline"), "{path}: CSP {csp:?}");
        assert_eq!(
            res.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(res.header("referrer-policy"), Some("no-referrer"), "{path}");
    }
    Ok(())
}

#[tokio::test]
async fn spa_routes_get_index_and_missing_assets_get_404() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let index = http::get(&server.url("/")).await?;
    assert_eq!(index.status, 200);
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    assert!(
        index
            .text()
            .contains("<script type=\"module\" src=\"/assets/boot-"),
        "{}",
        index.text()
    );

    for route in [
        "/setup",
        "/trust",
        "/certificates/some-serial",
        "/no/such/page",
    ] {
        let res = http::get(&server.url(route)).await?;
        assert_eq!(res.status, 200, "{route}");
        assert_eq!(res.body, index.body, "{route} is not index.html");
        assert!(
            res.header("content-type")
                .unwrap_or_default()
                .starts_with("text/html")
        );
    }
    for missing in [
        "/assets/app-000000000000.js",
        "/assets/nothing",
        "/robots.txt",
        "/api/nothing",
    ] {
        let res = http::get(&server.url(missing)).await?;
        assert_eq!(res.status, 404, "{missing}");
        assert_ne!(res.body, index.body, "{missing} answered with index.html");
    }
    // The Vault API answers in Vault's shape, never with the SPA: without a token, an
    // unknown path is refused as Vault refuses it.
    let v1 = http::get(&server.url("/v1/sys/nothing")).await?;
    assert_eq!(v1.status, 403);
    assert_eq!(
        v1.json()?,
        serde_json::json!({"errors": ["permission denied"]})
    );
    Ok(())
}

#[tokio::test]
async fn hashed_assets_are_cached_for_a_year_and_served_gzipped() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let index = http::get(&server.url("/")).await?.text();
    let assets: Vec<&str> = index
        .split('"')
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    assert!(assets.len() >= 3, "index.html references {assets:?}");
    for path in assets {
        let plain = http::get(&server.url(path)).await?;
        assert_eq!(plain.status, 200, "{path}");
        assert_eq!(
            plain.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
        assert_eq!(plain.header("content-encoding"), None, "{path}");
        let gz = http::send(
            http::Method::GET,
            &server.url(path),
            &[("accept-encoding", "gzip, br")],
            vec![],
        )
        .await?;
        assert_eq!(gz.header("content-encoding"), Some("gzip"), "{path}");
        assert!(
            gz.body.len() < plain.body.len(),
            "{path}: gzip is not smaller"
        );
        assert_eq!(&gz.body[..2], &[0x1f, 0x8b], "{path}: not a gzip stream");
    }
    let wasm = index
        .split('"')
        .find(|s| s.ends_with(".wasm"))
        .expect("the wasm is preloaded");
    let res = http::get(&server.url(wasm)).await?;
    assert_eq!(res.header("content-type"), Some("application/wasm"));
    assert_eq!(&res.body[..4], b"\0asm");
    Ok(())
}

#[tokio::test]
async fn healthz_reports_version() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let res = http::get(&server.url("/healthz")).await?;
    assert_eq!(res.status, 200);
    let body = res.json()?;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], shared::VERSION);
    Ok(())
}

#[tokio::test]
async fn the_binary_runs_alone_from_an_empty_directory() -> anyhow::Result<()> {
    let bin = tests::server::binary()?;
    let empty = tempfile::tempdir()?;
    let copy = empty.path().join("pki-console");
    std::fs::copy(&bin, &copy)?;
    // Started from the empty directory, with nothing beside it but its data dir.
    let server = Server::start_with(&copy, &empty.path().join("data"), &[]).await?;
    let index = http::get(&server.url("/")).await?;
    assert_eq!(index.status, 200);
    let boot = index
        .text()
        .split('"')
        .find(|s| s.starts_with("/assets/boot-"))
        .map(str::to_string);
    let boot = boot.expect("index.html loads the boot module");
    let res = http::get(&server.url(&boot)).await?;
    assert_eq!(res.status, 200);
    assert!(res.text().contains("import init from"));
    let status = server.stop().await?;
    assert!(
        status.success(),
        "graceful shutdown on SIGTERM exits 0, got {status}"
    );
    Ok(())
}
