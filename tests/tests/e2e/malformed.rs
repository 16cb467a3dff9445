//! Malformed input across the API (issue 17's resilience test 3): a table of requests with
//! broken CSRs, PEM and DER, JSON of the wrong types or not JSON at all, bad HCL policies,
//! durations, domain names, IDNs and control characters, huge and empty bodies and JSON
//! nested 10,000 deep, sent as raw bytes to the engine. Every one is answered 4xx with
//! Vault's `{"errors": [...]}` (no 5xx, no other body), and what the API reads back
//! (mounts, roles, policies, certificates, issuers, token accessors) is the same after
//! the table as before it. The security cases (ACL, tokens, paths) are the adversarial
//! table's; this one is about input that does not parse or does not validate.

use anyhow::ensure;
use serde_json::{Value, json};
use tests::Server;
use tests::http::{Client, Method};
use tests::recipe;

/// One request: method, path under `/v1/`, raw body.
struct Case {
    name: String,
    method: Method,
    path: String,
    body: Vec<u8>,
}

fn case(name: &str, method: &str, path: &str, body: impl Into<Vec<u8>>) -> Case {
    Case {
        name: name.to_string(),
        method: Method::from_bytes(method.as_bytes()).expect("a method"),
        path: path.to_string(),
        body: body.into(),
    }
}

fn j(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn cases(csr: &str) -> Vec<Case> {
    let sign = "pki_int/sign/svc";
    let der_b64: String = csr
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("");
    let half = &csr[..csr.len() / 2];
    // The CSR with one byte of its signature changed.
    let bad_sig = {
        let mut lines: Vec<String> = csr.lines().map(String::from).collect();
        let i = lines.len() - 2;
        let mut l: Vec<u8> = lines[i].clone().into_bytes();
        let k = l.len() / 2;
        l[k] = if l[k] == b'A' { b'B' } else { b'A' };
        lines[i] = String::from_utf8(l).expect("ascii");
        lines.join("\n")
    };
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    vec![
        // CSRs, PEM, DER.
        case(
            "csr empty",
            "POST",
            sign,
            j(json!({"csr": "", "common_name": "a.load.test"})),
        ),
        case(
            "csr not PEM",
            "POST",
            sign,
            j(json!({"csr": "not a csr", "common_name": "a.load.test"})),
        ),
        case(
            "csr PEM with bad base64",
            "POST",
            sign,
            j(
                json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n", "common_name": "a.load.test"}),
            ),
        ),
        case(
            "csr PEM cut in half",
            "POST",
            sign,
            j(json!({"csr": half, "common_name": "a.load.test"})),
        ),
        case(
            "csr DER as base64 without PEM armour",
            "POST",
            sign,
            j(json!({"csr": der_b64, "common_name": "a.load.test"})),
        ),
        case(
            "csr with a bad signature",
            "POST",
            sign,
            j(json!({"csr": bad_sig, "common_name": "a.load.test"})),
        ),
        case(
            "csr PEM of empty DER",
            "POST",
            sign,
            j(
                json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n", "common_name": "a.load.test"}),
            ),
        ),
        case(
            "csr PEM of a DER length overflow",
            "POST",
            sign,
            j(
                json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\nMIT/////\n-----END CERTIFICATE REQUEST-----\n", "common_name": "a.load.test"}),
            ),
        ),
        case(
            "csr a number",
            "POST",
            sign,
            j(json!({"csr": 12345, "common_name": "a.load.test"})),
        ),
        case(
            "csr an array",
            "POST",
            sign,
            j(json!({"csr": ["x"], "common_name": "a.load.test"})),
        ),
        case(
            "csr an object",
            "POST",
            sign,
            j(json!({"csr": {"pem": csr}, "common_name": "a.load.test"})),
        ),
        case(
            "csr with a NUL",
            "POST",
            sign,
            j(json!({"csr": format!("{}\u{0}", &csr[..40]), "common_name": "a.load.test"})),
        ),
        case(
            "csr missing",
            "POST",
            sign,
            j(json!({"common_name": "a.load.test"})),
        ),
        case(
            "sign-verbatim with garbage",
            "POST",
            "pki_int/sign-verbatim",
            j(json!({"csr": "garbage"})),
        ),
        case(
            "set-signed with bad PEM",
            "POST",
            "pki_int/intermediate/set-signed",
            j(
                json!({"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}),
            ),
        ),
        case(
            "set-signed empty",
            "POST",
            "pki_int/intermediate/set-signed",
            j(json!({"certificate": ""})),
        ),
        case(
            "import bundle garbage",
            "POST",
            "pki_int/issuers/import/bundle",
            j(json!({"pem_bundle": "garbage"})),
        ),
        case(
            "import bundle a CSR",
            "POST",
            "pki_int/issuers/import/bundle",
            j(json!({"pem_bundle": csr})),
        ),
        case(
            "sign-intermediate garbage",
            "POST",
            "pki/root/sign-intermediate",
            j(
                json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"}),
            ),
        ),
        // Names, IDNs, control characters.
        case(
            "common name not allowed",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "evil.example.com"})),
        ),
        case(
            "common name with a control character",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a\u{1}.load.test"})),
        ),
        case(
            "common name with a newline",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a\n.load.test"})),
        ),
        case(
            "common name with an empty label",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a..load.test"})),
        ),
        case(
            "alt name with a double wildcard",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "alt_names": "*.*.load.test"})),
        ),
        case(
            "alt name outside the domain",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "alt_names": "a.load.test.evil"})),
        ),
        case(
            "IDN outside the domain",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "bücher.example"})),
        ),
        case(
            "IDN with a disallowed code point",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a\u{2488}\u{0}.load.test"})),
        ),
        case(
            "invalid punycode",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "alt_names": "xn--a-.evil"})),
        ),
        case(
            "IP SAN not an address",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "ip_sans": "999.1.1.1"})),
        ),
        case(
            "URI SAN not allowed",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "uri_sans": "spiffe://x/y"})),
        ),
        case(
            "other SAN malformed",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "other_sans": "nonsense"})),
        ),
        // Fields of the wrong type or value.
        case(
            "ttl not a duration",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "ttl": "abc"})),
        ),
        case(
            "ttl a bool",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "ttl": true})),
        ),
        case(
            "ttl an array",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "ttl": ["1h"]})),
        ),
        case(
            "ttl with an unknown unit",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "ttl": "10q"})),
        ),
        case(
            "not_after not a time",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "not_after": "tomorrow"})),
        ),
        case(
            "format unknown",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "format": "der2"})),
        ),
        case(
            "exclude_cn_from_sans not a bool",
            "POST",
            sign,
            j(json!({"csr": csr, "common_name": "a.load.test", "exclude_cn_from_sans": "maybe"})),
        ),
        case(
            "unknown role",
            "POST",
            "pki_int/sign/no-such-role",
            j(json!({"csr": csr, "common_name": "a.load.test"})),
        ),
        // JSON that is not an object, or not JSON.
        case("body truncated JSON", "POST", sign, "{\"csr\": \""),
        case("body a JSON array", "POST", sign, "[1, 2]"),
        case("body a JSON string", "POST", sign, "\"csr\""),
        case("body a JSON number", "POST", sign, "42"),
        case(
            "body invalid UTF-8",
            "POST",
            sign,
            b"{\"csr\": \"\xff\xfe\"}".to_vec(),
        ),
        case(
            "body trailing garbage",
            "POST",
            sign,
            "{\"csr\": \"x\"} trailing",
        ),
        case("body empty", "POST", sign, ""),
        case("body nested arrays 10,000 deep", "POST", sign, deep.clone()),
        case(
            "body nested objects 10,000 deep",
            "POST",
            sign,
            deep_obj.clone(),
        ),
        case(
            "body nested 10,000 deep on sys",
            "POST",
            "sys/policies/acl/deep",
            deep,
        ),
        case("body over the size limit", "POST", sign, {
            let mut b = b"{\"csr\": \"".to_vec();
            b.extend(std::iter::repeat_n(b'A', 2 * 1024 * 1024));
            b.extend(b"\"}");
            b
        }),
        // HCL policies.
        case(
            "policy incomplete",
            "POST",
            "sys/policies/acl/bad1",
            j(json!({"policy": "path"})),
        ),
        case(
            "policy unknown capability",
            "POST",
            "sys/policies/acl/bad2",
            j(json!({"policy": "path \"a\" { capabilities = [\"fly\"] }"})),
        ),
        case(
            "policy unclosed block",
            "POST",
            "sys/policies/acl/bad3",
            j(json!({"policy": "path \"a\" { capabilities = [\"read\"]"})),
        ),
        case(
            "policy braces reversed",
            "POST",
            "sys/policies/acl/bad4",
            j(json!({"policy": "}{"})),
        ),
        case(
            "policy empty",
            "POST",
            "sys/policies/acl/bad5",
            j(json!({"policy": ""})),
        ),
        case(
            "policy missing",
            "POST",
            "sys/policies/acl/bad6",
            j(json!({})),
        ),
        case(
            "policy bad wrapping ttl",
            "POST",
            "sys/policies/acl/bad7",
            j(
                json!({"policy": "path \"a\" { capabilities = [\"read\"]\n min_wrapping_ttl = \"abc\" }"}),
            ),
        ),
        case(
            "policy min wrapping ttl above max",
            "POST",
            "sys/policies/acl/bad8",
            j(
                json!({"policy": "path \"a\" { capabilities = [\"read\"]\n min_wrapping_ttl = \"1h\"\n max_wrapping_ttl = \"1s\" }"}),
            ),
        ),
        case(
            "policy nested 10,000 deep",
            "POST",
            "sys/policies/acl/bad9",
            j(
                json!({"policy": format!("path \"a\" {{ capabilities = {}{} }}", "[".repeat(10_000), "]".repeat(10_000))}),
            ),
        ),
        case(
            "policy with a NUL",
            "POST",
            "sys/policies/acl/bad10",
            j(json!({"policy": "path \"a\u{0}\" { capabilities = [\"read\"] "})),
        ),
        case(
            "policy a number",
            "POST",
            "sys/policies/acl/bad11",
            j(json!({"policy": {"a": 1}})),
        ),
        // Durations and fields elsewhere.
        case(
            "mount with a bad max_lease_ttl",
            "POST",
            "sys/mounts/bad-ttl",
            j(json!({"type": "pki", "config": {"max_lease_ttl": "forever"}})),
        ),
        case(
            "mount type a number",
            "POST",
            "sys/mounts/bad-type",
            j(json!({"type": 5})),
        ),
        case(
            "mount type unknown",
            "POST",
            "sys/mounts/bad-kind",
            j(json!({"type": "nonexistent"})),
        ),
        case(
            "tune with a bad duration",
            "POST",
            "sys/mounts/pki_int/tune",
            j(json!({"max_lease_ttl": "1x"})),
        ),
        case(
            "role with a bad ttl",
            "POST",
            "pki_int/roles/bad-ttl",
            j(json!({"ttl": "10q"})),
        ),
        case(
            "role with a bad max_ttl",
            "POST",
            "pki_int/roles/bad-max",
            j(json!({"max_ttl": "1h1"})),
        ),
        case(
            "role with domains an object",
            "POST",
            "pki_int/roles/bad-domains",
            j(json!({"allowed_domains": {"x": 1}})),
        ),
        case(
            "role with an unknown key type",
            "POST",
            "pki_int/roles/bad-key",
            j(json!({"key_type": "dsa"})),
        ),
        case(
            "role with RSA 1000 bits",
            "POST",
            "pki_int/roles/bad-bits",
            j(json!({"key_type": "rsa", "key_bits": 1000})),
        ),
        case(
            "role with a bool as text",
            "POST",
            "pki_int/roles/bad-bool",
            j(json!({"allow_subdomains": "sometimes"})),
        ),
        case(
            "token with a bad ttl",
            "POST",
            "auth/token/create",
            j(json!({"ttl": "abc"})),
        ),
        case(
            "token with ttl an array",
            "POST",
            "auth/token/create",
            j(json!({"ttl": []})),
        ),
        case(
            "token with num_uses text",
            "POST",
            "auth/token/create",
            j(json!({"num_uses": "many"})),
        ),
        case(
            "token with policies an object",
            "POST",
            "auth/token/create",
            j(json!({"policies": {"a": 1}})),
        ),
        case(
            "token with renewable text",
            "POST",
            "auth/token/create",
            j(json!({"renewable": "perhaps"})),
        ),
        case(
            "revoke a serial of bad hex",
            "POST",
            "pki_int/revoke",
            j(json!({"serial_number": "zz:zz"})),
        ),
        case(
            "revoke without a serial",
            "POST",
            "pki_int/revoke",
            j(json!({})),
        ),
        case(
            "urls with a bad URL",
            "POST",
            "pki_int/config/urls",
            j(json!({"issuing_certificates": "not a url"})),
        ),
    ]
}

/// What the API reads back: the state the table must not change.
async fn snapshot(server: &Server, root: &str) -> anyhow::Result<Vec<(String, u16, Value)>> {
    let http = Client::new();
    let mut out = Vec::new();
    for (method, path) in [
        ("GET", "sys/mounts"),
        ("LIST", "sys/policies/acl"),
        ("LIST", "pki_int/roles"),
        ("GET", "pki_int/roles/svc"),
        ("LIST", "pki_int/certs"),
        ("LIST", "pki/certs"),
        ("LIST", "pki_int/issuers"),
        ("GET", "pki_int/config/urls"),
        ("LIST", "auth/token/accessors"),
    ] {
        let res = http
            .send(
                Method::from_bytes(method.as_bytes())?,
                &server.url(&format!("/v1/{path}")),
                &[("x-vault-token", root)],
                Vec::new(),
            )
            .await?;
        let body: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
        out.push((
            format!("{method} {path}"),
            res.status.as_u16(),
            body["data"].clone(),
        ));
    }
    Ok(out)
}

#[tokio::test]
async fn malformed_input_is_refused_with_4xx_and_changes_nothing() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let role = json!({"allowed_domains": "load.test", "allow_subdomains": true, "max_ttl": "1h"});
    let recipe = recipe::setup(&server, "svc", role).await?;
    let csr = tests::csr_pem("a.load.test")?;
    let table = cases(&csr);
    ensure!(table.len() >= 60, "only {} cases", table.len());
    let before = snapshot(&server, &recipe.root_token).await?;
    let mut failures = Vec::new();
    for c in &table {
        // A fresh connection each: a refused oversized body may close its connection.
        let res = match tests::http::send(
            c.method.clone(),
            &server.url(&format!("/v1/{}", c.path)),
            &[
                ("x-vault-token", recipe.root_token.as_str()),
                ("content-type", "application/json"),
            ],
            c.body.clone(),
        )
        .await
        {
            Ok(res) => res,
            Err(e) => {
                failures.push(format!("{}: no answer ({e:#})", c.name));
                continue;
            }
        };
        let status = res.status.as_u16();
        let body: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
        let errors_ok = body["errors"]
            .as_array()
            .is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string));
        if !(400..500).contains(&status) || !errors_ok {
            let text = res.text();
            failures.push(format!(
                "{}: {status} {}",
                c.name,
                &text[..text.len().min(300)]
            ));
        }
    }
    let after = snapshot(&server, &recipe.root_token).await?;
    for (a, b) in before.iter().zip(after.iter()) {
        if a != b {
            failures.push(format!("{} changed: {:?} -> {:?}", a.0, a.2, b.2));
        }
    }
    ensure!(
        failures.is_empty(),
        "{} of {} malformed requests misanswered or state changed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
    // The server still serves.
    recipe::vault(
        &server,
        &recipe.root_token,
        Method::GET,
        "sys/mounts",
        Value::Null,
    )
    .await?;
    eprintln!(
        "{} malformed requests, each 4xx with errors; nothing stored changed",
        table.len()
    );
    server.stop().await?;
    Ok(())
}
