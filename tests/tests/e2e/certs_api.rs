//! The certificate index over HTTP (issue 15), without a browser: `LIST
//! <mount>/certs/detailed` in OpenBao 2.7's shape (both servers side by side), and the
//! console's `/api/certs/<mount>` routes — search by SAN substring and serial prefix,
//! status filters, keyset paging, summary, timeline, CSV, detail, revocation showing up
//! — on the engine and in upstream mode in front of OpenBao; who may ask, and hostile
//! queries.

use std::collections::BTreeSet;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use shared::api::certs::{CSV_HEADER, CertDetail, CertPage, CertSummary, TIMELINE_DAYS, Timeline};
use tests::http::{self, Method};
use tests::openbao::OpenBao;
use tests::recipe::Issued;
use tests::target::{Kind, Target};
use tests::{Server, recipe};

const ROLE: &str = "fruits-catalog";

fn role_body() -> Value {
    json!({"allowed_domains": "fruits.testlab.local", "allow_subdomains": true, "allow_ip_sans": true, "max_ttl": "72h", "key_type": "ec", "key_bits": 256})
}

async fn issue(target: &Target, cn: &str, alt: &str, ttl: &str) -> anyhow::Result<Issued> {
    recipe::issue(target, ROLE, cn, alt, ttl).await
}

/// `GET <base><path>` with `X-Vault-Token`.
async fn get(base: &str, path: &str, token: Option<&str>) -> anyhow::Result<http::Response> {
    let mut headers = vec![];
    if let Some(t) = token {
        headers.push(("X-Vault-Token", t));
    }
    http::send(Method::GET, &format!("{base}{path}"), &headers, vec![]).await
}

async fn page(base: &str, token: &str, query: &str) -> anyhow::Result<CertPage> {
    let res = get(base, &format!("/api/certs/pki_int?{query}"), Some(token)).await?;
    ensure!(
        res.status == 200,
        "search {query:?}: {} {}",
        res.status,
        res.text()
    );
    serde_json::from_str(&res.text()).with_context(|| res.text())
}

#[tokio::test]
async fn detailed_list_has_openbaos_shape() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let bao = OpenBao::dev().await?;
    let targets = [Target::engine(&server)?, Target::openbao(&bao)];
    let mut infos = vec![];
    for t in &targets {
        recipe::build(t, ROLE, role_body()).await?;
        let issued = issue(t, "a.fruits.testlab.local", "b.fruits.testlab.local", "10m").await?;
        let list = t
            .root_ok(
                Method::from_bytes(b"LIST")?,
                "pki_int/certs/detailed",
                Value::Null,
            )
            .await?;
        let info = list.data()["key_info"][&issued.serial].clone();
        ensure!(
            info.is_object(),
            "{}: no key_info for {}: {}",
            t.name(),
            issued.serial,
            list.text
        );
        ensure!(
            list.data()["keys"]
                .as_array()
                .is_some_and(|k| k.iter().any(|s| s == &issued.serial)),
            "{}: {}",
            t.name(),
            list.text
        );
        // Paging as LIST certs: one key per page, and nothing after the last.
        let one = t
            .root_ok(
                Method::from_bytes(b"LIST")?,
                "pki_int/certs/detailed?limit=1",
                Value::Null,
            )
            .await?;
        ensure!(
            one.data()["keys"].as_array().map(Vec::len) == Some(1),
            "{}: {}",
            t.name(),
            one.text
        );
        let past = t
            .root(
                Method::from_bytes(b"LIST")?,
                "pki_int/certs/detailed?after=zz",
                Value::Null,
            )
            .await?;
        ensure!(
            past.status == 404 && past.body == json!({"errors": []}),
            "{}: {} {}",
            t.name(),
            past.status,
            past.text
        );
        infos.push(info);
    }
    let (ours, theirs) = (&infos[0], &infos[1]);
    let keys = |v: &Value| {
        v.as_object()
            .map(|o| o.keys().cloned().collect::<BTreeSet<_>>())
    };
    ensure!(
        keys(ours) == keys(theirs),
        "keys differ:\nengine  {ours}\nopenbao {theirs}"
    );
    for k in ["common_name", "dns_names", "key_type", "key_bits", "issuer"] {
        ensure!(
            ours[k] == theirs[k],
            "{k}: engine {} openbao {}",
            ours[k],
            theirs[k]
        );
    }
    for k in ["not_after", "not_before"] {
        let v = ours[k].as_str().unwrap_or_default();
        ensure!(
            v.len() == 20 && v.ends_with('Z') && v.as_bytes()[10] == b'T',
            "{k}: {v:?} is not OpenBao's form (like {})",
            theirs[k]
        );
    }
    Ok(())
}

#[tokio::test]
async fn search_and_views_on_the_engine() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let target = Target::engine(&server)?;
    let r = recipe::build(&target, ROLE, role_body()).await?;
    exercise(&server.base, &target, &r.signer_token, "engine").await
}

#[tokio::test]
async fn search_and_views_in_front_of_openbao() -> anyhow::Result<()> {
    let bao = OpenBao::dev().await?;
    let console = Server::upstream(&bao.addr, &[]).await?;
    // Through the console, so the same requests go the way the page's do.
    let target = Target::new(Kind::OpenBao, &console.base, &bao.root_token);
    let r = recipe::build(&target, ROLE, role_body()).await?;
    exercise(&console.base, &target, &r.signer_token, "upstream").await
}

async fn exercise(base: &str, target: &Target, signer: &str, source: &str) -> anyhow::Result<()> {
    let root = target.root_token.clone();
    let mut issued = vec![];
    for (i, (cn, alt, ttl)) in [
        ("apple.fruits.testlab.local", "", "10m"),
        (
            "pear.fruits.testlab.local",
            "needle-7.fruits.testlab.local",
            "2h",
        ),
        ("plum.fruits.testlab.local", "", "30h"),
        (
            "fig.fruits.testlab.local",
            "fig-alt.fruits.testlab.local",
            "50h",
        ),
        ("kiwi.fruits.testlab.local", "", "71h"),
        ("lime.fruits.testlab.local", "", "20m"),
    ]
    .into_iter()
    .enumerate()
    {
        issued.push(
            issue(target, cn, alt, ttl)
                .await
                .with_context(|| format!("cert {i}"))?,
        );
    }
    let leaves = |q: &str| format!("q=fruits.testlab&{q}");

    // A SAN substring finds its one certificate; so does a serial prefix.
    let p = page(base, &root, "q=edle-7").await?;
    ensure!(p.total == 1 && p.rows.len() == 1, "{p:#?}");
    ensure!(
        p.source.kind == source && p.source.indexed >= 6,
        "{:?}",
        p.source
    );
    let needle = &p.rows[0];
    ensure!(needle.serial_number == issued[1].serial, "{needle:?}");
    ensure!(
        needle
            .sans
            .iter()
            .any(|s| s == "needle-7.fruits.testlab.local"),
        "{needle:?}"
    );
    ensure!(
        needle.common_name == "pear.fruits.testlab.local",
        "{needle:?}"
    );
    ensure!(
        needle.key_type == "ec" && needle.key_bits == 256,
        "{needle:?}"
    );
    let prefix = &issued[3].serial[..8];
    let p = page(base, &root, &format!("q={prefix}")).await?;
    ensure!(
        p.rows.iter().any(|r| r.serial_number == issued[3].serial),
        "{prefix}: {p:#?}"
    );
    ensure!(
        p.rows.iter().all(|r| r.serial_number.starts_with(prefix)),
        "{prefix}: {p:#?}"
    );
    let p = page(base, &root, "q=NEEDLE").await?;
    ensure!(p.total == 1, "case-insensitive: {p:#?}");

    // Status filters and sorts.
    let soon = page(base, &root, &leaves("status=expiring&days=1")).await?;
    let want_soon = issued
        .iter()
        .filter(|i| i.not_after - soon.now <= 86_400)
        .count();
    ensure!(
        soon.total as usize == want_soon,
        "expiring within a day: {} vs {want_soon}: {soon:#?}",
        soon.total
    );
    let all = page(base, &root, &leaves("")).await?;
    ensure!(all.total == 6, "{all:#?}");
    let order: Vec<i64> = all.rows.iter().map(|r| r.not_after).collect();
    ensure!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "not_after order: {order:?}"
    );
    let desc = page(base, &root, &leaves("sort=-not_after")).await?;
    ensure!(
        desc.rows.first().map(|r| &r.serial_number) == Some(&issued[4].serial),
        "{desc:#?}"
    );
    // Keyset paging: pages of 2 give every row once.
    let mut seen = vec![];
    let mut after = String::new();
    for _ in 0..10 {
        let q = if after.is_empty() {
            leaves("limit=2")
        } else {
            leaves(&format!("limit=2&after={after}"))
        };
        let p = page(base, &root, &q).await?;
        ensure!(p.total == 6 && p.rows.len() <= 2, "{p:#?}");
        seen.extend(p.rows.iter().map(|r| r.serial_number.clone()));
        match p.next {
            Some(n) => after = shared::api::certs::encode_component(&n),
            None => break,
        }
    }
    let unique: BTreeSet<_> = seen.iter().collect();
    ensure!(seen.len() == 6 && unique.len() == 6, "{seen:?}");

    // Timeline: today's bar counts what expires today (UTC).
    let res = get(base, "/api/certs/pki_int/timeline", Some(&root)).await?;
    ensure!(res.status == 200, "{}", res.text());
    let tl: Timeline = serde_json::from_str(&res.text())?;
    ensure!(
        tl.days.len() == TIMELINE_DAYS && tl.hours.len() == 24,
        "{tl:?}"
    );
    let today = issued
        .iter()
        .filter(|i| i.not_after >= tl.day_start && i.not_after < tl.day_start + 86_400)
        .count() as u64;
    ensure!(tl.days[0] >= today, "today's bar {} < {today}", tl.days[0]);
    let hour0 = issued
        .iter()
        .filter(|i| i.not_after >= tl.hour_start && i.not_after < tl.hour_start + 3_600)
        .count() as u64;
    ensure!(
        tl.hours[0] >= hour0,
        "this hour's bar {} < {hour0}",
        tl.hours[0]
    );
    // The bar's window as a filter gives the bar's count.
    let bar = page(
        base,
        &root,
        &format!("from={}&to={}", tl.day_start, tl.day_start + 86_400),
    )
    .await?;
    ensure!(
        bar.total == tl.days[0],
        "bar {} vs list {}",
        tl.days[0],
        bar.total
    );

    // Summary.
    let res = get(base, "/api/certs/pki_int/summary", Some(&root)).await?;
    ensure!(res.status == 200, "{}", res.text());
    let s: CertSummary = serde_json::from_str(&res.text())?;
    ensure!(s.issued_24h >= 6 && s.valid >= 6 && s.revoked == 0, "{s:?}");
    ensure!(
        s.expiring_24h as usize >= want_soon && s.expiring_7d >= 6,
        "{s:?}"
    );

    // CSV of a filter: its rows are the filter's.
    let res = get(
        base,
        &format!(
            "/api/certs/pki_int/export.csv?{}",
            leaves("status=expiring&days=1")
        ),
        Some(&root),
    )
    .await?;
    ensure!(res.status == 200, "{}", res.text());
    ensure!(
        res.header("content-type")
            .is_some_and(|c| c.starts_with("text/csv")),
        "{:?}",
        res.header("content-type")
    );
    let csv = res.text();
    let mut lines = csv.lines();
    ensure!(lines.next() == Some(CSV_HEADER), "{csv}");
    let csv_serials: BTreeSet<String> = lines
        .map(|l| l.split(',').next().unwrap_or_default().to_string())
        .collect();
    let want: BTreeSet<String> = soon.rows.iter().map(|r| r.serial_number.clone()).collect();
    ensure!(csv_serials == want, "{csv_serials:?} vs {want:?}");

    // Detail, then revocation.
    let path = format!("/api/certs/pki_int/cert/{}", issued[1].serial);
    let res = get(base, &path, Some(&root)).await?;
    ensure!(res.status == 200, "{}", res.text());
    let d: CertDetail = serde_json::from_str(&res.text())?;
    ensure!(d.subject.contains("CN=pear.fruits.testlab.local"), "{d:#?}");
    ensure!(d.chain_ok, "{}", d.chain_message);
    ensure!(
        d.extensions
            .iter()
            .any(|e| e.name == "Subject Alternative Name"
                && e.value.contains("DNS:needle-7.fruits.testlab.local")),
        "{:?}",
        d.extensions
    );
    ensure!(d.sha256_fingerprint.len() == 95, "{}", d.sha256_fingerprint);
    ensure!(d.row.revoked_at == 0, "{d:#?}");
    target
        .root_ok(
            Method::POST,
            "pki_int/revoke",
            json!({"serial_number": issued[1].serial}),
        )
        .await?;
    let d: CertDetail = serde_json::from_str(&get(base, &path, Some(&root)).await?.text())?;
    ensure!(d.row.revoked_at > 0, "revoked: {d:#?}");
    let revoked = page(base, &root, "status=revoked").await?;
    ensure!(
        revoked
            .rows
            .iter()
            .any(|r| r.serial_number == issued[1].serial),
        "{revoked:#?}"
    );
    let missing = get(base, "/api/certs/pki_int/cert/00:11", Some(&root)).await?;
    ensure!(
        missing.status == 404,
        "{} {}",
        missing.status,
        missing.text()
    );

    // Who may ask: no token, a token that may only sign.
    let res = get(base, "/api/certs/pki_int", None).await?;
    ensure!(res.status == 401, "{} {}", res.status, res.text());
    let res = get(base, "/api/certs/pki_int", Some(signer)).await?;
    ensure!(
        res.status == 403 && res.text().contains("list"),
        "{} {}",
        res.status,
        res.text()
    );
    let res = get(base, &path, Some(signer)).await?;
    ensure!(res.status == 403, "{} {}", res.status, res.text());

    // Bad and hostile queries: 400 naming the field, or an answer.
    for (q, field) in [
        ("status=old", "status"),
        ("limit=0", "limit"),
        ("after=garbage", "after"),
        ("from=x", "from"),
    ] {
        let res = get(base, &format!("/api/certs/pki_int?{q}"), Some(&root)).await?;
        ensure!(
            res.status == 400 && res.text().contains(field),
            "{q}: {} {}",
            res.status,
            res.text()
        );
    }
    for q in [
        "%22",
        "*",
        "%25",
        "_",
        "NEAR(",
        "a%22%20OR%20%22b",
        "%27%3B--",
        "ab",
        "x",
        "%00",
        &"z".repeat(2000),
    ] {
        let res = get(base, &format!("/api/certs/pki_int?q={q}"), Some(&root)).await?;
        ensure!(res.status == 200, "q={q}: {} {}", res.status, res.text());
        let p: CertPage = serde_json::from_str(&res.text())?;
        ensure!(
            p.total == 0 || q == "_" || q == "x" || q == "ab",
            "q={q}: {p:#?}"
        );
    }
    for m in ["..", "a%2F..%2Fb", "pki_int%00"] {
        let res = get(base, &format!("/api/certs/{m}"), Some(&root)).await?;
        ensure!(
            res.status == 400 || res.status == 404,
            "{m}: {} {}",
            res.status,
            res.text()
        );
    }
    Ok(())
}
