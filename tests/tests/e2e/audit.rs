//! The audit log of the real server: requests refused for want of a token, with an
//! unknown token or by the ACL leave a `request` entry whose `error` says why, and every
//! entry names the client's address (`remote_address`), as Vault's file audit device
//! does. Tokens never appear in the log, only their HMACs.

use serde_json::{Value, json};
use tests::http::Method;
use tests::{Server, Target};

fn entries(server: &Server) -> anyhow::Result<(String, Vec<Value>)> {
    let text = std::fs::read_to_string(server.data_dir.join("audit.log"))?;
    let lines = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<Vec<Value>, _>>()?;
    Ok((text, lines))
}

#[tokio::test]
async fn refused_requests_are_audited_with_the_remote_address() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let t = Target::engine(&server)?;
    t.policy(
        "audit-e2e",
        r#"
path "sys/mounts" {
  capabilities = ["read"]
}
path "sys/policies/acl/audit-e2e-*" {
  capabilities = ["create", "update"]
  denied_parameters = {
    "rules" = []
  }
}
"#,
    )
    .await?;
    let token = t.token_with(&["audit-e2e"], json!({})).await?;

    let r = t
        .call(Method::GET, "sys/mounts", Some(&token), Value::Null)
        .await?;
    anyhow::ensure!(r.status == 200, "allowed read: {} {}", r.status, r.text);
    for (what, tok) in [
        ("no token", None),
        ("unknown token", Some("hvs.audit-e2e-unknown")),
        ("not granted", Some(token.as_str())),
    ] {
        let r = t.call(Method::GET, "sys/auth", tok, Value::Null).await?;
        anyhow::ensure!(r.status == 403, "{what}: {} {}", r.status, r.text);
    }
    let r = t
        .call(
            Method::POST,
            "sys/policies/acl/audit-e2e-x",
            Some(&token),
            json!({"rules": "path \"x\" { capabilities = [\"read\"] }"}),
        )
        .await?;
    anyhow::ensure!(r.status == 403, "denied parameter: {} {}", r.status, r.text);

    let (text, lines) = entries(&server)?;
    anyhow::ensure!(!text.contains(&token), "a token in the audit log");
    anyhow::ensure!(
        !text.contains("hvs.audit-e2e-unknown"),
        "a token in the audit log"
    );
    let denied: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "request" && l["error"] == "permission denied")
        .collect();
    anyhow::ensure!(denied.len() == 4, "denied entries: {denied:#?}");
    let paths: Vec<&str> = denied
        .iter()
        .map(|l| l["request"]["path"].as_str().unwrap_or_default())
        .collect();
    anyhow::ensure!(
        paths
            == [
                "sys/auth",
                "sys/auth",
                "sys/auth",
                "sys/policies/acl/audit-e2e-x"
            ],
        "{paths:?}"
    );
    for l in &lines {
        anyhow::ensure!(
            l["request"]["remote_address"] == "127.0.0.1",
            "an entry without the client's address: {l}"
        );
    }
    Ok(())
}
