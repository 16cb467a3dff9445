//! The request form's checks: every field is checked live with the same `shared` role
//! checker the engine runs, so a name the role forbids is refused here, with the reason,
//! before any request is made.

use shared::pki::duration::{format_human, parse_duration};
use shared::pki::names::{
    allowed_key_choices, check_alt_name, check_common_name, check_ip_san, check_key,
};
use shared::pki::role::Role;

/// What the person typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormInput {
    pub common_name: String,
    /// DNS names, separated by commas, spaces or new lines.
    pub alt_names: String,
    pub ip_sans: String,
    pub ttl: String,
    /// `ec:256`, `rsa:2048`, `ed25519:0`, ...
    pub key: String,
}

/// The verdict on each field: `Err(reason)` is shown next to it.
#[derive(Debug, Clone, PartialEq)]
pub struct FormCheck {
    pub common_name: Result<(), String>,
    pub alt_names: Result<(), String>,
    pub ip_sans: Result<(), String>,
    pub ttl: Result<Option<String>, String>,
    pub key: Result<(), String>,
}

impl FormCheck {
    /// The first problem, in field order, for the form's one-line summary.
    pub fn first_error(&self) -> Option<String> {
        [
            self.common_name.clone().err(),
            self.alt_names.clone().err(),
            self.ip_sans.clone().err(),
            self.ttl.clone().err(),
            self.key.clone().err(),
        ]
        .into_iter()
        .flatten()
        .next()
    }

    pub fn ok(&self) -> bool {
        self.common_name.is_ok()
            && self.alt_names.is_ok()
            && self.ip_sans.is_ok()
            && self.ttl.is_ok()
            && self.key.is_ok()
    }
}

pub fn split_list(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// The key choices a role accepts, as (value, label) pairs for the select.
pub fn key_options(role: &Role) -> Vec<(String, String)> {
    allowed_key_choices(role)
        .into_iter()
        .map(|(kt, bits)| {
            let label = match kt.as_str() {
                "ec" => format!("ECDSA P-{bits}"),
                "ed25519" => "Ed25519".to_string(),
                _ => format!("RSA {bits}"),
            };
            (format!("{kt}:{bits}"), label)
        })
        .collect()
}

pub fn parse_key(value: &str) -> Option<(String, u32)> {
    let (kt, bits) = value.split_once(':')?;
    Some((kt.to_string(), bits.parse().ok()?))
}

fn explain(e: &shared::pki::names::NameError) -> String {
    match e.reason() {
        Some(reason) => format!("{e}: {reason}"),
        None => e.to_string(),
    }
}

pub fn check(role: &Role, input: &FormInput) -> FormCheck {
    let cn = input.common_name.trim();
    let common_name = if cn.is_empty() {
        if role.require_cn {
            Err("a common name is required by this role".to_string())
        } else {
            Ok(())
        }
    } else {
        check_common_name(role, cn).map_err(|e| explain(&e))
    };
    let alt_names = split_list(&input.alt_names)
        .iter()
        .try_for_each(|n| check_alt_name(role, n).map_err(|e| explain(&e)));
    let ip_sans = split_list(&input.ip_sans)
        .iter()
        .try_for_each(|ip| check_ip_san(role, ip).map_err(|e| e.to_string()));
    let ttl = match input.ttl.trim() {
        "" => Ok(None),
        t => match parse_duration(t) {
            Err(e) => Err(format!("not a duration ({e}); use e.g. 10m, 24h or 720h")),
            Ok(0) => Ok(None),
            Ok(secs) if role.max_ttl > 0 && secs > role.max_ttl => Ok(Some(format!(
                "longer than the role allows: the certificate will live {} (the role's max_ttl)",
                format_human(role.max_ttl)
            ))),
            Ok(_) => Ok(None),
        },
    };
    let key = match parse_key(&input.key) {
        Some((kt, bits)) => check_key(role, &kt, bits).map_err(|e| e.to_string()),
        None => Err("choose a key algorithm".to_string()),
    };
    FormCheck {
        common_name,
        alt_names,
        ip_sans,
        ttl,
        key,
    }
}

/// A hint for Vault's error messages, in words a developer can act on.
pub fn hint_for(message: &str, mount: &str, role: &str) -> Option<String> {
    let m = message.to_ascii_lowercase();
    if m.contains("not allowed by this role") {
        Some(format!(
            "The role {role} does not allow this name. Check the role's allowed domains, or ask the PKI admin for a role that covers it."
        ))
    } else if m.contains("role requires") && m.contains("key") {
        Some("The role accepts other keys: pick an algorithm from the list the form offers.".into())
    } else if m.contains("beyond the expiration of the ca") {
        Some("The CA expires before the certificate would: request a shorter TTL.".into())
    } else if m.contains("permission denied") {
        Some(format!(
            "Your token's policies do not allow {mount}/sign/{role}. Sign in with a token whose policy grants update on that path."
        ))
    } else if m.contains("unknown role") {
        Some("The role no longer exists: reload the list of roles.".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> Role {
        let body = serde_json::json!({"allowed_domains": "testlab.local", "allow_subdomains": true, "max_ttl": "10m", "key_type": "ec"});
        Role::from_write(None, body.as_object().unwrap()).unwrap()
    }

    #[test]
    fn forbidden_names_are_refused_with_the_reason() {
        let r = role();
        let input = FormInput {
            common_name: "fruits.example.com".into(),
            key: "ec:256".into(),
            ..Default::default()
        };
        let c = check(&r, &input);
        let err = c.common_name.clone().unwrap_err();
        assert!(
            err.starts_with("common name fruits.example.com not allowed by this role"),
            "{err}"
        );
        assert!(!c.ok());
        let ok = check(
            &r,
            &FormInput {
                common_name: "fruits.testlab.local".into(),
                key: "ec:256".into(),
                ..Default::default()
            },
        );
        assert!(ok.ok(), "{ok:?}");
    }

    #[test]
    fn ttl_and_key_checks() {
        let r = role();
        let c = check(
            &r,
            &FormInput {
                common_name: "a.testlab.local".into(),
                ttl: "1h".into(),
                key: "rsa:2048".into(),
                ..Default::default()
            },
        );
        assert!(
            c.ttl
                .as_ref()
                .unwrap()
                .as_ref()
                .unwrap()
                .contains("10 minutes")
        );
        assert_eq!(c.key.unwrap_err(), "role requires keys of type ec");
        assert!(
            check(
                &r,
                &FormInput {
                    ttl: "ten".into(),
                    ..Default::default()
                }
            )
            .ttl
            .is_err()
        );
        assert_eq!(
            key_options(&r)
                .iter()
                .map(|(v, _)| v.as_str())
                .collect::<Vec<_>>(),
            vec!["ec:256", "ec:384"]
        );
    }

    #[test]
    fn alt_names_and_ips_are_each_checked() {
        let r = role();
        let c = check(
            &r,
            &FormInput {
                common_name: "a.testlab.local".into(),
                alt_names: "b.testlab.local, evil.example.org".into(),
                ip_sans: "10.0.0.1 nope".into(),
                key: "ec:256".into(),
                ..Default::default()
            },
        );
        assert!(c.alt_names.unwrap_err().contains("evil.example.org"));
        assert!(c.ip_sans.unwrap_err().contains("nope"));
    }
}
