//! Adversarial cases: certificate validity and request field types. The security review
//! found `not_after` skipping the role's `max_ttl` (a 10-minute role gave a 365-day
//! certificate), `ttl` and `not_after` accepted together, and malformed fields ignored
//! (`common_name` as an object, `alt_names` as a list, bad `ip_sans`); the OpenBao test bed
//! found `root/sign-intermediate` refusing a CA that outlives its root.
//!
//! OpenBao 2.7.2 is the reference for every status and message here, with one departure
//! (`docs/compatibility.md`, "not_after and max_ttl"): a role that does not set
//! `not_after_bound` gets our `max-ttl` (a requested `not_after` past the maximum TTL is
//! clamped to it, with a warning: Vault's fix of hashicorp/vault#29928) where OpenBao's
//! default `permit` signs whatever the issuer's lifetime allows.

use serde_json::{Value, json};
use tests::http::Method;
use tests::{Kind, Reply, Target};

use super::{Case, expect, expect_ok};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!(
            "not_after past max_ttl: engine clamps with a warning, OpenBao permits",
            not_after_past_max_ttl_default
        ),
        crate::case!(
            "not_after_bound=ttl-limited refuses past the TTL, on both",
            not_after_bound_ttl_limited
        ),
        crate::case!(
            "not_after_bound=permit signs past max_ttl, on both",
            not_after_bound_permit
        ),
        crate::case!(
            "not_after_bound=forbid refuses any not_after",
            not_after_bound_forbid
        ),
        crate::case!(
            "not_after_bound as a timestamp caps notAfter",
            not_after_bound_timestamp
        ),
        crate::case!(
            "not_after_bound: bad values refused naming the field, read back",
            not_after_bound_values
        ),
        crate::case!("ttl and not_after together are refused", ttl_and_not_after),
        crate::case!(
            "not_after malformed: Go's RFC 3339 messages",
            not_after_malformed
        ),
        crate::case!("not_after in the past is refused", not_after_in_the_past),
        crate::case!(
            "root/generate: ttl + not_after, malformed not_after refused",
            root_generate_not_after
        ),
        crate::case!(
            "ttl above max_ttl is clamped with a warning",
            ttl_above_max_clamped
        ),
        crate::case!(
            "role max_ttl above the mount's: engine holds to the mount's, OpenBao not",
            role_max_above_mount_max
        ),
        crate::case!("ttl malformed: negative, 1.5, 5x, true", ttl_malformed),
        crate::case!(
            "sign-intermediate past the root's notAfter: permitted, with a warning",
            sign_intermediate_past_root
        ),
        crate::case!(
            "issue past the issuer's notAfter: err by default, truncate on request",
            leaf_past_issuer
        ),
        crate::case!(
            "common_name as an object or a list is refused",
            common_name_types
        ),
        crate::case!(
            "alt_names: a number is a name, a list is refused",
            alt_names_types
        ),
        crate::case!(
            "ip_sans: 999.1.1.1, a CIDR, an object refused",
            ip_sans_values
        ),
        crate::case!("uri_sans type errors", uri_sans_types),
        crate::case!(
            "root and intermediate generation refuse wrong field types",
            generate_field_types
        ),
        crate::case!(
            "exclude_cn_from_sans as \"maybe\", 2 or an object is refused",
            exclude_cn_from_sans_types
        ),
    ]
}

const TEN_MINUTES: i64 = 600;
/// Seconds of slack between our clock and the server's when comparing expirations.
const SLACK: i64 = 60;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Unix seconds as RFC 3339 (`2027-01-02T03:04:05Z`).
fn rfc3339(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A pki mount (mount max TTL ten years) with an EC root valid `root_ttl`, and role `r`
/// (EC keys, any name) with `role` on top.
async fn pki(t: &Target, mount: &str, root_ttl: &str, role: Value) -> anyhow::Result<Reply> {
    t.root_ok(
        Method::POST,
        &format!("sys/mounts/{mount}"),
        json!({"type": "pki", "config": {"max_lease_ttl": "87600h"}}),
    )
    .await?;
    let root = t
        .root_ok(
            Method::POST,
            &format!("{mount}/root/generate/internal"),
            json!({"common_name": format!("{mount} root"), "ttl": root_ttl, "key_type": "ec"}),
        )
        .await?;
    let mut body = json!({
        "allow_any_name": true,
        "enforce_hostnames": false,
        "key_type": "ec",
        "key_bits": 256,
    });
    if let (Some(b), Some(extra)) = (body.as_object_mut(), role.as_object()) {
        for (k, v) in extra {
            b.insert(k.clone(), v.clone());
        }
    }
    t.root_ok(Method::POST, &format!("{mount}/roles/r"), body)
        .await?;
    Ok(root)
}

async fn issue(t: &Target, mount: &str, body: Value) -> anyhow::Result<Reply> {
    t.root(Method::POST, &format!("{mount}/issue/r"), body)
        .await
}

fn expiration(t: &Target, r: &Reply) -> anyhow::Result<i64> {
    r.data()["expiration"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("[{}] no expiration in {}", t.name(), r.text))
}

fn has_warning(r: &Reply, text: &str) -> bool {
    r.warnings().iter().any(|w| w.contains(text))
}

fn check(t: &Target, ok: bool, what: &str, r: &Reply) -> anyhow::Result<()> {
    if !ok {
        anyhow::bail!("[{}] {what}: got {} {}", t.name(), r.status, r.text);
    }
    Ok(())
}

async fn not_after_past_max_ttl_default(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-na-default";
    pki(t, m, "8760h", json!({"max_ttl": "10m"})).await?;
    let wanted = now() + 30 * 86_400;
    let r = issue(
        t,
        m,
        json!({"common_name": "a.test", "not_after": rfc3339(wanted)}),
    )
    .await?;
    expect_ok(t, "issue with not_after 30 days on a 10-minute role", &r)?;
    let exp = expiration(t, &r)?;
    match t.kind {
        // Our default bound, max-ttl: clamped to now + max_ttl, with Vault's kind of warning.
        Kind::Engine => {
            check(
                t,
                (exp - (now() + TEN_MINUTES)).abs() <= SLACK,
                "clamped to max_ttl",
                &r,
            )?;
            check(
                t,
                has_warning(
                    &r,
                    "is later than permitted by maxTTL \"10m0s\", so maxTTL is being used",
                ),
                "clamp warning",
                &r,
            )?;
        }
        // OpenBao 2.7.2's default bound, permit: the requested date as is.
        Kind::OpenBao => check(t, exp == wanted, "not_after kept", &r)?,
    }
    // The role reads back its bound: our default vs OpenBao's.
    let role = t
        .root_ok(Method::GET, &format!("{m}/roles/r"), Value::Null)
        .await?;
    let want = match t.kind {
        Kind::Engine => "max-ttl",
        Kind::OpenBao => "permit",
    };
    check(
        t,
        role.data()["not_after_bound"] == json!(want),
        "default not_after_bound",
        &role,
    )
}

async fn not_after_bound_ttl_limited(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-na-limited";
    pki(
        t,
        m,
        "8760h",
        json!({"ttl": "5m", "max_ttl": "10m", "not_after_bound": "ttl-limited"}),
    )
    .await?;
    let far = now() + 86_400;
    let r = issue(
        t,
        m,
        json!({"common_name": "a.test", "not_after": rfc3339(far)}),
    )
    .await?;
    expect(
        t,
        "not_after a day away",
        &r,
        400,
        &format!(
            "not_after_bound is set to ttl-limited. Cannot satisfy request as that would result in notAfter of {}",
            rfc3339(far)
        ),
    )?;
    check(
        t,
        r.errors().ends_with("beyond the TTL of 5m0s"),
        "names the TTL",
        &r,
    )?;
    let near = now() + 120;
    let r = issue(
        t,
        m,
        json!({"common_name": "a.test", "not_after": rfc3339(near)}),
    )
    .await?;
    expect_ok(t, "not_after within the TTL", &r)?;
    check(t, expiration(t, &r)? == near, "kept as requested", &r)
}

async fn not_after_bound_permit(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-na-permit";
    pki(
        t,
        m,
        "8760h",
        json!({"max_ttl": "10m", "not_after_bound": "permit"}),
    )
    .await?;
    let wanted = now() + 30 * 86_400;
    let r = issue(
        t,
        m,
        json!({"common_name": "a.test", "not_after": rfc3339(wanted)}),
    )
    .await?;
    expect_ok(t, "permit: not_after past max_ttl", &r)?;
    check(t, expiration(t, &r)? == wanted, "not_after kept", &r)?;
    // Both still warn that the default TTL (768h) is above max_ttl, as OpenBao computes
    // it before looking at not_after; nothing about not_after itself.
    check(
        t,
        has_warning(&r, "is longer than permitted maxTTL \"10m0s\"")
            && !has_warning(&r, "not_after"),
        "only the TTL warning",
        &r,
    )
}

async fn not_after_bound_forbid(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-na-forbid";
    pki(
        t,
        m,
        "8760h",
        json!({"max_ttl": "10m", "not_after_bound": "forbid"}),
    )
    .await?;
    let r = issue(
        t,
        m,
        json!({"common_name": "a.test", "not_after": rfc3339(now() + 60)}),
    )
    .await?;
    expect(
        t,
        "forbid",
        &r,
        400,
        "not_after_bound is set to forbid. not_after cannot be provided.",
    )?;
    let r = issue(t, m, json!({"common_name": "a.test", "ttl": "1m"})).await?;
    expect_ok(t, "forbid still allows ttl", &r)
}

async fn not_after_bound_timestamp(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-na-stamp";
    let limit = now() + 3600;
    pki(
        t,
        m,
        "8760h",
        json!({"max_ttl": "3h", "not_after_bound": rfc3339(limit)}),
    )
    .await?;
    let r = issue(t, m, json!({"common_name": "a.test", "ttl": "2h"})).await?;
    expect(
        t,
        "ttl past the role's timestamp",
        &r,
        400,
        &format!(
            "not_after_bound is set to {0}. Cannot statisfy request as that would result in notAfter of",
            rfc3339(limit)
        ),
    )?;
    let r = issue(t, m, json!({"common_name": "a.test", "ttl": "30m"})).await?;
    expect_ok(t, "ttl before the role's timestamp", &r)
}

async fn not_after_bound_values(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-na-values";
    pki(t, m, "8760h", json!({})).await?;
    for bad in [
        json!("TTL-LIMITED"),
        json!(""),
        json!(5),
        json!("2030-01-01"),
    ] {
        let r = t
            .root(
                Method::POST,
                &format!("{m}/roles/bad"),
                json!({"not_after_bound": bad}),
            )
            .await?;
        expect(
            t,
            &format!("not_after_bound {bad}"),
            &r,
            400,
            "Unknown value for field `not_after_bound`. Possible values are `",
        )?;
    }
    let r = t
        .root(
            Method::POST,
            &format!("{m}/roles/bad"),
            json!({"not_after_bound": {"x": 1}}),
        )
        .await?;
    expect(
        t,
        "not_after_bound as an object",
        &r,
        400,
        "Field validation failed: error converting input for field \"not_after_bound\": '' expected type 'string', got unconvertible type 'map[string]interface {}'",
    )?;
    // A refused write leaves nothing behind.
    let r = t
        .root(Method::GET, &format!("{m}/roles/bad"), Value::Null)
        .await?;
    check(t, r.status == 404, "no role after refused writes", &r)?;
    for good in ["ttl-limited", "permit", "forbid"] {
        t.root_ok(
            Method::POST,
            &format!("{m}/roles/good"),
            json!({"not_after_bound": good}),
        )
        .await?;
        let r = t
            .root_ok(Method::GET, &format!("{m}/roles/good"), Value::Null)
            .await?;
        check(
            t,
            r.data()["not_after_bound"] == json!(good),
            &format!("{good} read back"),
            &r,
        )?;
    }
    Ok(())
}

async fn ttl_and_not_after(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-both";
    pki(t, m, "8760h", json!({"max_ttl": "10m"})).await?;
    let r = issue(
        t,
        m,
        json!({"common_name": "a.test", "ttl": "1m", "not_after": rfc3339(now() + 120)}),
    )
    .await?;
    expect(
        t,
        "ttl + not_after",
        &r,
        400,
        "Either ttl or not_after should be provided. Both should not be provided in the same request.",
    )
}

async fn not_after_malformed(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-na-bad";
    pki(t, m, "8760h", json!({"max_ttl": "10m"})).await?;
    let rows = [
        (
            json!("garbage"),
            r#"parsing time "garbage" as "2006-01-02T15:04:05Z07:00": cannot parse "garbage" as "2006""#,
        ),
        (
            json!("2027-01-01"),
            r#"parsing time "2027-01-01" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "T""#,
        ),
        (
            json!("2026-13-01T00:00:00Z"),
            r#"parsing time "2026-13-01T00:00:00Z": month out of range"#,
        ),
        (
            json!(12345),
            r#"parsing time "12345" as "2006-01-02T15:04:05Z07:00": cannot parse "5" as "-""#,
        ),
        (
            json!(""),
            r#"parsing time "" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "2006""#,
        ),
        (
            json!({}),
            "Field validation failed: error converting input for field \"not_after\": '' expected type 'string', got unconvertible type 'map[string]interface {}'",
        ),
    ];
    for (value, message) in rows {
        let r = issue(t, m, json!({"common_name": "a.test", "not_after": value})).await?;
        expect(t, &format!("not_after {value}"), &r, 400, message)?;
    }
    Ok(())
}

async fn not_after_in_the_past(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-na-past";
    pki(t, m, "8760h", json!({"max_ttl": "10m"})).await?;
    let r = issue(
        t,
        m,
        json!({"common_name": "a.test", "not_after": "2020-01-01T00:00:00Z"}),
    )
    .await?;
    expect(
        t,
        "not_after in 2020",
        &r,
        400,
        "is later than the certificate's Not After (2020-01-01T00:00:00Z)",
    )
}

async fn root_generate_not_after(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-root-na";
    t.root_ok(
        Method::POST,
        &format!("sys/mounts/{m}"),
        json!({"type": "pki"}),
    )
    .await?;
    let path = format!("{m}/root/generate/internal");
    let base = json!({"common_name": "root.ttl.test", "key_type": "ec"});
    let with = |extra: Value| {
        let mut b = base.clone();
        if let (Some(b), Some(e)) = (b.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        b
    };
    let r = t
        .root(
            Method::POST,
            &path,
            with(json!({"ttl": "1h", "not_after": rfc3339(now() + 7200)})),
        )
        .await?;
    expect(
        t,
        "root with ttl + not_after",
        &r,
        400,
        "Either ttl or not_after should be provided. Both should not be provided in the same request.",
    )?;
    for (value, message) in [
        (
            "garbage",
            r#"parsing time "garbage" as "2006-01-02T15:04:05Z07:00": cannot parse "garbage" as "2006""#,
        ),
        (
            "",
            r#"parsing time "" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "2006""#,
        ),
    ] {
        let r = t
            .root(Method::POST, &path, with(json!({ "not_after": value })))
            .await?;
        expect(
            t,
            &format!("root with not_after {value:?}"),
            &r,
            400,
            message,
        )?;
    }
    // Nothing was made by the refused requests; a good not_after is kept to the second.
    let wanted = now() + 7200;
    let r = t
        .root(
            Method::POST,
            &path,
            with(json!({ "not_after": rfc3339(wanted) })),
        )
        .await?;
    expect_ok(t, "root with not_after", &r)?;
    check(
        t,
        expiration(t, &r)? == wanted,
        "root ends at not_after",
        &r,
    )
}

async fn ttl_above_max_clamped(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-over-max";
    pki(t, m, "8760h", json!({"max_ttl": "10m"})).await?;
    let r = issue(t, m, json!({"common_name": "a.test", "ttl": "1h"})).await?;
    expect_ok(t, "ttl 1h on a 10-minute role", &r)?;
    check(
        t,
        has_warning(
            &r,
            "TTL \"1h0m0s\" is longer than permitted maxTTL \"10m0s\", so maxTTL is being used",
        ),
        "TTL warning",
        &r,
    )?;
    let exp = expiration(t, &r)?;
    check(
        t,
        (exp - (now() + TEN_MINUTES)).abs() <= SLACK,
        "clamped to 10 minutes",
        &r,
    )
}

async fn role_max_above_mount_max(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-mount-max";
    t.root_ok(
        Method::POST,
        &format!("sys/mounts/{m}"),
        json!({"type": "pki", "config": {"max_lease_ttl": "1h"}}),
    )
    .await?;
    t.root_ok(
        Method::POST,
        &format!("{m}/root/generate/internal"),
        json!({"common_name": "root", "key_type": "ec", "ttl": "1h"}),
    )
    .await?;
    // Let leaves outlive the 1h root, so only the TTL rules decide.
    t.root_ok(
        Method::POST,
        &format!("{m}/issuer/default"),
        json!({"leaf_not_after_behavior": "permit"}),
    )
    .await?;
    let role = t
        .root_ok(
            Method::POST,
            &format!("{m}/roles/r"),
            json!({"allow_any_name": true, "max_ttl": "3h", "key_type": "ec"}),
        )
        .await?;
    let r = issue(t, m, json!({"common_name": "a.test", "ttl": "2h"})).await?;
    expect_ok(t, "ttl 2h, role max 3h, mount max 1h", &r)?;
    let lifetime = expiration(t, &r)? - now();
    match t.kind {
        // Departure (docs/compatibility.md): the mount's max_lease_ttl is a limit too, as
        // Vault's own role-write warning promises ("will be truncated").
        Kind::Engine => {
            check(
                t,
                has_warning(
                    &role,
                    "max_ttl is greater than the system or backend mount's maximum TTL value",
                ),
                "role write warns",
                &role,
            )?;
            check(
                t,
                (lifetime - 3600).abs() <= SLACK,
                "held to the mount's 1h",
                &r,
            )?;
            check(
                t,
                has_warning(
                    &r,
                    "TTL \"2h0m0s\" is longer than permitted maxTTL \"1h0m0s\"",
                ),
                "TTL warning",
                &r,
            )
        }
        // OpenBao 2.7.2 takes the role's max_ttl as is, silently.
        Kind::OpenBao => check(t, (lifetime - 7200).abs() <= SLACK, "the role's 2h", &r),
    }
}

async fn ttl_malformed(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-bad";
    pki(t, m, "8760h", json!({"max_ttl": "10m"})).await?;
    let field = "Field validation failed: error converting input for field \"ttl\": ";
    let rows = [
        (json!(-1), "cannot provide negative value '-1'"),
        (json!("-1"), "cannot provide negative value '-1'"),
        (json!(1.5), "time: missing unit in duration \"1.5\""),
        (json!("1.5"), "time: missing unit in duration \"1.5\""),
        (json!("5x"), "time: unknown unit \"x\" in duration \"5x\""),
        (json!(true), "could not parse duration from input"),
        (json!([1]), "could not parse duration from input"),
    ];
    for (value, reason) in rows {
        let r = issue(t, m, json!({"common_name": "a.test", "ttl": value})).await?;
        expect(
            t,
            &format!("ttl {value}"),
            &r,
            400,
            &format!("{field}{reason}"),
        )?;
    }
    Ok(())
}

async fn sign_intermediate_past_root(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-int";
    let root = pki(t, m, "1h", json!({})).await?;
    let root_exp = expiration(t, &root)?;
    let csr = tests::csr_pem("int.ttl.test")?;
    let r = t
        .root(
            Method::POST,
            &format!("{m}/root/sign-intermediate"),
            json!({"csr": csr, "common_name": "int.ttl.test", "ttl": "2h"}),
        )
        .await?;
    expect_ok(t, "sign-intermediate for 2h under a 1h root", &r)?;
    let exp = expiration(t, &r)?;
    // Not truncated to the root's notAfter: OpenBao permits for intermediates.
    check(
        t,
        exp > root_exp + 1800 && (exp - (now() + 7200)).abs() <= SLACK,
        "intermediate keeps its 2h",
        &r,
    )?;
    check(
        t,
        has_warning(
            &r,
            "The expiration time for the signed certificate is after the CA's expiration time.",
        ),
        "outlives-issuer warning",
        &r,
    )?;
    // Within the root's life: no such warning.
    let r = t
        .root(
            Method::POST,
            &format!("{m}/root/sign-intermediate"),
            json!({"csr": csr, "common_name": "int.ttl.test", "ttl": "30m"}),
        )
        .await?;
    expect_ok(t, "sign-intermediate for 30m", &r)?;
    check(
        t,
        !has_warning(&r, "after the CA's expiration time"),
        "no warning within the root's life",
        &r,
    )
}

async fn leaf_past_issuer(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-leaf-past";
    let root = pki(t, m, "1h", json!({"max_ttl": "3h"})).await?;
    let root_exp = expiration(t, &root)?;
    let r = issue(t, m, json!({"common_name": "a.test", "ttl": "2h"})).await?;
    expect(
        t,
        "leaf for 2h under a 1h root",
        &r,
        400,
        "cannot satisfy request, as TTL would result in notAfter of",
    )?;
    check(
        t,
        r.errors()
            .contains("that is beyond the expiration of the CA certificate at"),
        "names the CA's expiry",
        &r,
    )?;
    t.root_ok(
        Method::POST,
        &format!("{m}/issuer/default"),
        json!({"leaf_not_after_behavior": "truncate"}),
    )
    .await?;
    let r = issue(t, m, json!({"common_name": "a.test", "ttl": "2h"})).await?;
    expect_ok(t, "leaf with truncate", &r)?;
    check(
        t,
        expiration(t, &r)? == root_exp,
        "truncated to the root",
        &r,
    )
}

async fn common_name_types(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-cn-types";
    pki(t, m, "8760h", json!({})).await?;
    let field = "Field validation failed: error converting input for field \"common_name\": '' expected type 'string', got unconvertible type ";
    for (value, ty) in [
        (json!({"a": 1}), "'map[string]interface {}'"),
        (json!(["a.test"]), "'[]interface {}'"),
    ] {
        let r = issue(t, m, json!({ "common_name": value })).await?;
        expect(
            t,
            &format!("common_name {value}"),
            &r,
            400,
            &format!("{field}{ty}"),
        )?;
    }
    // Checked before the role is looked up, as Vault's framework does.
    let r = t
        .root(
            Method::POST,
            &format!("{m}/issue/no-such-role"),
            json!({"common_name": {"a": 1}}),
        )
        .await?;
    expect(t, "on an unknown role", &r, 400, field)?;
    // A number is its text.
    let r = issue(t, m, json!({"common_name": 5})).await?;
    expect_ok(t, "common_name 5", &r)
}

async fn alt_names_types(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-alt-types";
    pki(t, m, "8760h", json!({})).await?;
    let r = issue(t, m, json!({"common_name": "a.test", "alt_names": 5})).await?;
    expect_ok(t, "alt_names 5 (a name, \"5\")", &r)?;
    let field = "Field validation failed: error converting input for field \"alt_names\": '' expected type 'string', got unconvertible type ";
    for (value, ty) in [
        (json!([1, 2]), "'[]interface {}'"),
        (json!(["b.test"]), "'[]interface {}'"),
        (json!({"x": 1}), "'map[string]interface {}'"),
    ] {
        let r = issue(t, m, json!({"common_name": "a.test", "alt_names": value})).await?;
        expect(
            t,
            &format!("alt_names {value}"),
            &r,
            400,
            &format!("{field}{ty}"),
        )?;
    }
    Ok(())
}

async fn ip_sans_values(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-ip-values";
    pki(t, m, "8760h", json!({})).await?;
    for (value, bad) in [
        (json!("999.1.1.1"), "999.1.1.1"),
        (json!("10.0.0.0/8"), "10.0.0.0/8"),
        (json!(["1.2.3.4", 5]), "5"),
    ] {
        let r = issue(t, m, json!({"common_name": "a.test", "ip_sans": value})).await?;
        expect(
            t,
            &format!("ip_sans {value}"),
            &r,
            400,
            &format!("the value \"{bad}\" is not a valid IP address"),
        )?;
    }
    let r = issue(t, m, json!({"common_name": "a.test", "ip_sans": [{}]})).await?;
    expect(
        t,
        "ip_sans [{}]",
        &r,
        400,
        "Field validation failed: error converting input for field \"ip_sans\": 1 error(s) decoding:\n\n* '[0]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[]'",
    )?;
    let r = issue(
        t,
        m,
        json!({"common_name": "a.test", "ip_sans": "10.0.0.1, ::1"}),
    )
    .await?;
    expect_ok(t, "valid ip_sans", &r)
}

async fn uri_sans_types(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-uri-types";
    pki(t, m, "8760h", json!({})).await?;
    let r = issue(
        t,
        m,
        json!({"common_name": "a.test", "uri_sans": {"a": "b"}}),
    )
    .await?;
    expect(
        t,
        "uri_sans as an object",
        &r,
        400,
        "Field validation failed: error converting input for field \"uri_sans\": 1 error(s) decoding:\n\n* '[0]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:b]'",
    )?;
    // A number is a URI "5": the role allows no URI SANs.
    let r = issue(t, m, json!({"common_name": "a.test", "uri_sans": 5})).await?;
    expect(
        t,
        "uri_sans 5",
        &r,
        400,
        "URI Subject Alternative Names are not allowed in this role, but were provided via the API",
    )
}

async fn generate_field_types(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-gen-types";
    t.root_ok(
        Method::POST,
        &format!("sys/mounts/{m}"),
        json!({"type": "pki"}),
    )
    .await?;
    let field = "Field validation failed: error converting input for field ";
    let rows = [
        (
            json!({"common_name": {"a": 1}}),
            format!(
                "{field}\"common_name\": '' expected type 'string', got unconvertible type 'map[string]interface {{}}'"
            ),
        ),
        (
            json!({"common_name": "r", "alt_names": ["x.test"]}),
            format!(
                "{field}\"alt_names\": '' expected type 'string', got unconvertible type '[]interface {{}}'"
            ),
        ),
        (
            json!({"common_name": "r", "key_bits": "big"}),
            format!(
                "{field}\"key_bits\": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax"
            ),
        ),
        (
            json!({"common_name": "r", "ip_sans": "999.1.1.1"}),
            "the value \"999.1.1.1\" is not a valid IP address".to_owned(),
        ),
    ];
    for kind in ["root", "intermediate"] {
        for (body, message) in &rows {
            let mut body = body.clone();
            body["key_type"] = json!("ec");
            let r = t
                .root(
                    Method::POST,
                    &format!("{m}/{kind}/generate/internal"),
                    body.clone(),
                )
                .await?;
            expect(t, &format!("{kind} with {body}"), &r, 400, message)?;
        }
    }
    // None of the refused requests made an issuer.
    let r = t
        .root(
            Method::from_bytes(b"LIST")?,
            &format!("{m}/issuers"),
            Value::Null,
        )
        .await?;
    check(
        t,
        r.status == 404 || r.data()["keys"].as_array().is_none_or(Vec::is_empty),
        "no issuer made",
        &r,
    )
}

async fn exclude_cn_from_sans_types(t: &Target) -> anyhow::Result<()> {
    let m = "ttl-excl-types";
    pki(t, m, "8760h", json!({})).await?;
    let field =
        "Field validation failed: error converting input for field \"exclude_cn_from_sans\": ";
    for (value, reason) in [
        (
            json!("maybe"),
            "'' cannot parse value as 'bool': strconv.ParseBool: invalid syntax",
        ),
        (
            json!(2),
            "'' cannot parse value as 'bool': strconv.ParseBool: invalid syntax",
        ),
        (
            json!({}),
            "'' expected type 'bool', got unconvertible type 'map[string]interface {}'",
        ),
    ] {
        let r = issue(
            t,
            m,
            json!({"common_name": "a.test", "exclude_cn_from_sans": value}),
        )
        .await?;
        expect(
            t,
            &format!("exclude_cn_from_sans {value}"),
            &r,
            400,
            &format!("{field}{reason}"),
        )?;
    }
    for ok in [json!("T"), json!(1), json!("")] {
        let r = issue(
            t,
            m,
            json!({"common_name": "a.test", "exclude_cn_from_sans": ok}),
        )
        .await?;
        expect_ok(t, &format!("exclude_cn_from_sans {ok}"), &r)?;
    }
    Ok(())
}
