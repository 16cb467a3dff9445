//! The differential compatibility table: one list of Vault API calls (mounts, tune,
//! policies, tokens, the PKI from root to revocation, Kubernetes auth, and the error
//! cases of each) sent in order to a fresh embedded engine and a fresh OpenBao 2.7.2, the
//! reference. For every call the two answers must agree on the status, the body's kind
//! (JSON, PEM, DER, empty), the keys of `data` and `auth` (and of their objects, one
//! level down) with each value's JSON type, `warnings` and the `errors` text. Each step
//! also names the status OpenBao answers, so both failing the same unintended way fails.
//! Values that legitimately differ (serials, PEMs, times, ids) are compared by type only;
//! a step can ask for some values to be equal.
//!
//! A step may capture values from its answer (`capture("csr", "/data/csr")`) into a
//! per-server map; later paths and bodies name them as `{csr}`. Every difference must be
//! fixed or match an entry of [`KNOWN`], which names its section of
//! `docs/compatibility.md` (the test checks that the section exists), so an undocumented
//! difference fails the test, and so does an entry that no longer matches anything.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use shared::pki::key::{KeyType, PrivateKey};
use tests::http::Method;
use tests::openbao::OpenBao;
use tests::tokenreview::jwt::projected;
use tests::tokenreview::{Account, TokenReviewStub};
use tests::{Reply, Server, Target};

const REVIEWER_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.diff-reviewer.signature";
const K8S_AUDIENCE: &str = "vault://diff/issuer";

/// One call of the table.
struct Step {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    /// OpenBao's status for it.
    status: u16,
    body: Value,
    /// `None`: the root token; `Some("")`: no token; `Some(var)`: a captured token.
    token: Option<&'static str>,
    /// (variable, JSON pointer into the answer) pairs to remember.
    captures: Vec<(&'static str, &'static str)>,
    /// Keys of `data` whose values (not only types) must be equal.
    same: Vec<&'static str>,
    /// The request's `Content-Type` (default: `application/merge-patch+json` for PATCH,
    /// as the Vault CLI sends it, `application/json` otherwise).
    content_type: Option<&'static str>,
    /// Compare the object at this JSON pointer instead of `data` (e.g. one entry of
    /// `sys/mounts`, whose other entries are the servers' own defaults).
    focus: Option<&'static str>,
}

/// A call and the status OpenBao answers it with (checked, so that the two servers
/// agreeing on a failure the table did not mean cannot pass for agreement).
fn step(name: &'static str, method: &'static str, path: &'static str, status: u16) -> Step {
    Step {
        name,
        method,
        path,
        status,
        body: Value::Null,
        token: None,
        captures: vec![],
        same: vec![],
        content_type: None,
        focus: None,
    }
}

impl Step {
    fn body(mut self, body: Value) -> Step {
        self.body = body;
        self
    }
    fn token(mut self, var: &'static str) -> Step {
        self.token = Some(var);
        self
    }
    fn anonymous(mut self) -> Step {
        self.token = Some("");
        self
    }
    fn capture(mut self, var: &'static str, pointer: &'static str) -> Step {
        self.captures.push((var, pointer));
        self
    }
    fn same(mut self, keys: &[&'static str]) -> Step {
        self.same.extend_from_slice(keys);
        self
    }
    fn content_type(mut self, content_type: &'static str) -> Step {
        self.content_type = Some(content_type);
        self
    }
    fn focus(mut self, pointer: &'static str) -> Step {
        self.focus = Some(pointer);
        self
    }
}

/// Differences documented in `docs/compatibility.md`: the steps they show in, pieces of
/// the difference lines they explain, and the `### ` heading that gives the reason.
struct Known {
    steps: &'static [&'static str],
    diffs: &'static [&'static str],
    section: &'static str,
}

const ROLE_ANSWERS: &[&str] = &[
    "write role",
    "read role",
    "role ttl 1h30m",
    "read role ttl 1h30m",
    "role ttl 90s",
    "read role ttl 90s",
    "patch role",
];

const KNOWN: &[Known] = &[
    Known {
        steps: &["write policy bad HCL"],
        diffs: &["errors: engine \"failed to parse policy: "],
        section: "HCL parse errors come from a different parser",
    },
    Known {
        steps: &["generate root bad type"],
        diffs: &[
            "errors: engine \"unknown type \\\"bogus\\\": use internal, exported or existing\"",
        ],
        section: "Only internal, exported and existing keys for root/intermediate generation",
    },
    Known {
        steps: &["read missing issuer"],
        diffs: &[
            "status: engine 400 / openbao 500",
            "errors: engine \"unable to find PKI issuer",
        ],
        section: "A missing issuer is a 400, not a 500",
    },
    Known {
        steps: ROLE_ANSWERS,
        diffs: &[
            "data.no_store_metadata: only on engine",
            "data.serial_number_source: only on engine",
            "data.allowed_ip_sans_cidr: only on openbao",
            "data.not_before: only on openbao",
            "data.not_before_bound: only on openbao",
            "data.allow_globs_in_identity_templates: only on openbao",
        ],
        section: "Role fields differ from OpenBao 2.7.2",
    },
];

fn table() -> Vec<Step> {
    let signer_policy = r#"path "pki_int/sign/diff-web" { capabilities = ["update"] }"#;
    vec![
        // ---- sys/mounts and tune
        step("mount pki", "POST", "sys/mounts/pki", 204).body(json!({"type": "pki"})),
        step("mount pki again", "POST", "sys/mounts/pki", 400).body(json!({"type": "pki"})),
        step("mount unknown type", "POST", "sys/mounts/diff-bogus", 400)
            .body(json!({"type": "no-such-engine"})),
        step("mount without type", "POST", "sys/mounts/diff-notype", 400).body(json!({})),
        step("list mounts (pki entry)", "GET", "sys/mounts", 200)
            .focus("/data/pki~1")
            .same(&["type"]),
        step("read mount pki", "GET", "sys/mounts/pki", 200).same(&["type"]),
        step("tune pki max_lease_ttl", "POST", "sys/mounts/pki/tune", 204)
            .body(json!({"max_lease_ttl": "87600h"})),
        step("read pki tune", "GET", "sys/mounts/pki/tune", 200)
            .same(&["max_lease_ttl", "default_lease_ttl"]),
        step("tune bad duration", "POST", "sys/mounts/pki/tune", 400)
            .body(json!({"max_lease_ttl": "5x"})),
        step("tune missing mount", "POST", "sys/mounts/diff-none/tune", 400)
            .body(json!({"max_lease_ttl": "1h"})),
        step("mount pki_int", "POST", "sys/mounts/pki_int", 204)
            .body(json!({"type": "pki", "config": {"max_lease_ttl": "43800h"}})),
        step("read pki_int tune", "GET", "sys/mounts/pki_int/tune", 200).same(&["max_lease_ttl"]),
        step("unmount missing", "DELETE", "sys/mounts/diff-none", 204),
        // Hostile field types on sys paths: the same FieldData decoding and texts.
        step("mount type as list", "POST", "sys/mounts/diff-x1", 400)
            .body(json!({"type": ["pki"]})),
        step("mount type as bool", "POST", "sys/mounts/diff-x2", 400)
            .body(json!({"type": true})),
        step("mount description as object", "POST", "sys/mounts/diff-x3", 400)
            .body(json!({"type": "pki", "description": {"a": 1}})),
        step("mount config as string", "POST", "sys/mounts/diff-x4", 400)
            .body(json!({"type": "pki", "config": "abc"})),
        step("mount config ttl as list", "POST", "sys/mounts/diff-x5", 400)
            .body(json!({"type": "pki", "config": {"max_lease_ttl": [1]}})),
        step("mount config bad ttl", "POST", "sys/mounts/diff-x6", 400)
            .body(json!({"type": "pki", "config": {"max_lease_ttl": "abc"}})),
        step("mount options not pairs", "POST", "sys/mounts/diff-x7", 400)
            .body(json!({"type": "pki", "options": "x"})),
        step("mount options version", "POST", "sys/mounts/diff-x8", 400)
            .body(json!({"type": "pki", "options": {"version": 2}})),
        step("mount options as pairs", "POST", "sys/mounts/diff-x9", 204)
            .body(json!({"type": "pki", "options": ["a=b"]})),
        step("read mount options", "GET", "sys/mounts/diff-x9", 200).same(&["options"]),
        step("tune ttl as list", "POST", "sys/mounts/pki/tune", 400)
            .body(json!({"max_lease_ttl": [1]})),
        step("tune description as object", "POST", "sys/mounts/pki/tune", 400)
            .body(json!({"description": {"a": 1}})),
        // ---- policies
        step("write policy", "PUT", "sys/policies/acl/diff-signer", 204)
            .body(json!({"policy": signer_policy})),
        step("read policy", "GET", "sys/policies/acl/diff-signer", 200).same(&["name", "policy"]),
        step("list policies", "LIST", "sys/policies/acl", 200).same(&["keys"]),
        step("write policy with cas 0", "PUT", "sys/policies/acl/diff-cas", 204)
            .body(json!({"policy": signer_policy, "cas": 0, "cas_required": true})),
        step("rewrite cas policy without cas", "PUT", "sys/policies/acl/diff-cas", 400)
            .body(json!({"policy": signer_policy})),
        step("rewrite cas policy stale cas", "PUT", "sys/policies/acl/diff-cas", 400)
            .body(json!({"policy": signer_policy, "cas": 0})),
        step("rewrite cas policy", "PUT", "sys/policies/acl/diff-cas", 204)
            .body(json!({"policy": signer_policy, "cas": 1, "cas_required": false})),
        step("read cas policy", "GET", "sys/policies/acl/diff-cas", 200)
            .same(&["version", "cas_required"]),
        step("write policy bad cas", "PUT", "sys/policies/acl/diff-cas-bad", 400)
            .body(json!({"policy": signer_policy, "cas": "x"})),
        step("write policy bad HCL", "PUT", "sys/policies/acl/diff-bad", 400)
            .body(json!({"policy": "path \"x\" { capabilities = "})),
        step("write policy without policy", "PUT", "sys/policies/acl/diff-empty", 400)
            .body(json!({})),
        step("write policy as list", "PUT", "sys/policies/acl/diff-list", 400)
            .body(json!({"policy": ["x"]})),
        step("write policy bad cas_required", "PUT", "sys/policies/acl/diff-casreq", 400)
            .body(json!({"policy": signer_policy, "cas_required": "maybe"})),
        step("read missing policy", "GET", "sys/policies/acl/diff-missing", 404),
        step("write root policy", "PUT", "sys/policies/acl/root", 400)
            .body(json!({"policy": signer_policy})),
        step("delete default policy", "DELETE", "sys/policies/acl/default", 400),
        // ---- tokens
        step("create token", "POST", "auth/token/create", 200)
            .body(json!({"policies": ["diff-signer"], "ttl": "1h", "display_name": "diff"}))
            .capture("signer", "/auth/client_token")
            .capture("signer_accessor", "/auth/accessor"),
        step("create token bad ttl", "POST", "auth/token/create", 400)
            .body(json!({"policies": ["diff-signer"], "ttl": "5x"})),
        step("create token bad policies type", "POST", "auth/token/create", 400)
            .body(json!({"policies": {"a": 1}})),
        step("create token bad policies items", "POST", "auth/token/create", 400)
            .body(json!({"policies": ["diff-signer", {"a": 1}, ["b"]]})),
        step("lookup token", "POST", "auth/token/lookup", 200)
            .body(json!({"token": "{signer}"}))
            .same(&["policies", "display_name", "path", "renewable"]),
        step("lookup-self", "GET", "auth/token/lookup-self", 200)
            .token("signer")
            .same(&["policies", "display_name", "path"]),
        step("lookup-accessor", "POST", "auth/token/lookup-accessor", 200)
            .body(json!({"accessor": "{signer_accessor}"}))
            .same(&["policies", "display_name"]),
        step("lookup unknown token", "POST", "auth/token/lookup", 403)
            .body(json!({"token": "hvs.diff-not-a-token"})),
        step("lookup without token field", "POST", "auth/token/lookup", 200).body(json!({})),
        step("renew token", "POST", "auth/token/renew", 200)
            .body(json!({"token": "{signer}", "increment": "30m"})),
        step("renew-self", "POST", "auth/token/renew-self", 200)
            .token("signer")
            .body(json!({"increment": "20m"})),
        step("renew unknown token", "POST", "auth/token/renew", 400)
            .body(json!({"token": "hvs.diff-not-a-token"})),
        step("create throwaway token", "POST", "auth/token/create", 200)
            .body(json!({"policies": ["default"], "ttl": "10m"}))
            .capture("throwaway", "/auth/client_token"),
        step("revoke token", "POST", "auth/token/revoke", 204).body(json!({"token": "{throwaway}"})),
        step("lookup-self revoked token", "GET", "auth/token/lookup-self", 403).token("throwaway"),
        step("revoke without token field", "POST", "auth/token/revoke", 400).body(json!({})),
        step("no token", "GET", "sys/mounts", 403).anonymous(),
        step("garbage token", "GET", "sys/mounts", 403).token("garbage"),
        step("lookup-accessor unknown", "POST", "auth/token/lookup-accessor", 400)
            .body(json!({"accessor": "diff-no-such-accessor"})),
        step("revoke-accessor unknown", "POST", "auth/token/revoke-accessor", 200)
            .body(json!({"accessor": "diff-no-such-accessor"})),
        step("create orphan token", "POST", "auth/token/create-orphan", 200)
            .body(json!({"policies": ["default"], "ttl": "5m"})),
        step("capabilities-self", "POST", "sys/capabilities-self", 200)
            .token("signer")
            .body(json!({"paths": ["pki_int/sign/diff-web", "sys/mounts"]}))
            .same(&["capabilities", "pki_int/sign/diff-web", "sys/mounts"]),
        step("capabilities of a token", "POST", "sys/capabilities", 200)
            .body(json!({"token": "{signer}", "paths": ["pki_int/sign/diff-web", "sys/mounts"]}))
            .same(&["pki_int/sign/diff-web", "sys/mounts"]),
        step("capabilities of an unknown token", "POST", "sys/capabilities", 400)
            .body(json!({"token": "hvs.diff-not-a-token", "paths": ["sys/mounts"]})),
        step("capabilities without a token", "POST", "sys/capabilities", 500)
            .body(json!({"paths": ["sys/mounts"]})),
        step("capabilities as a non-root token", "POST", "sys/capabilities", 403)
            .token("signer")
            .body(json!({"token": "{signer}", "paths": ["sys/mounts"]})),
        step("capabilities-self no paths", "POST", "sys/capabilities-self", 400)
            .body(json!({"paths": []})),
        step("capabilities-self empty path", "POST", "sys/capabilities-self", 400)
            .body(json!({"paths": ["sys/mounts", ""]})),
        step("capabilities-self paths as object", "POST", "sys/capabilities-self", 400)
            .body(json!({"paths": {"a": 1}})),
        step("capabilities-self comma string", "POST", "sys/capabilities-self", 200)
            .body(json!({"paths": "sys/mounts,sys/auth"}))
            .same(&["sys/mounts", "sys/auth"]),
        step("create token policies as one string", "POST", "auth/token/create", 200)
            .body(json!({"policies": "diff-signer,default", "ttl": "1m"}))
            .focus("/auth")
            .same(&["policies", "token_policies"]),
        step("list auth methods (token entry)", "GET", "sys/auth", 200)
            .focus("/data/token~1")
            .same(&["type"]),
        // ---- PKI root
        step("generate root", "POST", "pki/root/generate/internal", 200)
            .body(json!({"common_name": "Diff Root CA", "ttl": "87600h", "key_type": "ec", "key_bits": 256})),
        step("generate root bad key_type", "POST", "pki/root/generate/internal", 400)
            .body(json!({"common_name": "Diff Root CA", "key_type": "dsa"})),
        step("generate root bad type", "POST", "pki/root/generate/bogus", 400)
            .body(json!({"common_name": "Diff Root CA"})),
        step("write config/urls", "POST", "pki/config/urls", 200).body(json!({
            "issuing_certificates": "http://127.0.0.1:8200/v1/pki/ca",
            "crl_distribution_points": "http://127.0.0.1:8200/v1/pki/crl",
        })),
        step("read config/urls", "GET", "pki/config/urls", 200)
            .same(&["issuing_certificates", "crl_distribution_points", "ocsp_servers"]),
        step("write config/urls bad URL", "POST", "pki/config/urls", 400)
            .body(json!({"issuing_certificates": "not a url"})),
        step("read root CA (PEM)", "GET", "pki/ca/pem", 200),
        // ---- intermediate
        step("generate intermediate CSR", "POST", "pki_int/intermediate/generate/internal", 200)
            .body(json!({"common_name": "Diff Intermediate CA", "key_type": "ec", "key_bits": 256}))
            .capture("int_csr", "/data/csr"),
        step("generate intermediate bad key_bits", "POST", "pki_int/intermediate/generate/internal", 400)
            .body(json!({"common_name": "Diff Intermediate CA", "key_type": "ec", "key_bits": 111})),
        step("sign-intermediate", "POST", "pki/root/sign-intermediate", 200)
            .body(json!({"csr": "{int_csr}", "format": "pem_bundle", "ttl": "43800h"}))
            .capture("int_cert", "/data/certificate"),
        step("sign-intermediate garbage CSR", "POST", "pki/root/sign-intermediate", 400)
            .body(json!({"csr": "not a csr", "ttl": "43800h"})),
        step("sign-intermediate without CSR", "POST", "pki/root/sign-intermediate", 400)
            .body(json!({"ttl": "43800h"})),
        step("set-signed", "POST", "pki_int/intermediate/set-signed", 200)
            .body(json!({"certificate": "{int_cert}"})),
        step("set-signed garbage", "POST", "pki_int/intermediate/set-signed", 400)
            .body(json!({"certificate": "not a certificate"})),
        step("list issuers", "LIST", "pki_int/issuers", 200),
        step("read default issuer", "GET", "pki_int/issuer/default", 200)
            .same(&["issuer_name", "leaf_not_after_behavior", "usage"]),
        step("read missing issuer", "GET", "pki_int/issuer/diff-nope", 500),
        step("read issuers config", "GET", "pki_int/config/issuers", 200)
            .same(&["default_follows_latest_issuer"]),
        step("rename default issuer", "PATCH", "pki_int/issuer/default", 200)
            .body(json!({"issuer_name": "diff-int"}))
            .same(&["issuer_name"]),
        step("issuer name taken", "POST", "pki_int/root/generate/internal", 400)
            .body(json!({"common_name": "Diff Root 2", "issuer_name": "diff-int"})),
        step("read CA chain (JSON)", "GET", "pki_int/cert/ca_chain", 200),
        step("read CA chain (PEM)", "GET", "pki_int/ca_chain", 200),
        // ---- roles
        step("write role", "POST", "pki_int/roles/diff-web", 200).body(json!({
            "allowed_domains": "example.com",
            "allow_subdomains": true,
            "max_ttl": "72h",
            "key_type": "ec",
            "key_bits": 256,
        })),
        step("read role", "GET", "pki_int/roles/diff-web", 200).same(&[
            "allowed_domains",
            "allow_subdomains",
            "max_ttl",
            "ttl",
            "key_type",
            "key_usage",
            "ext_key_usage",
        ]),
        step("list roles", "LIST", "pki_int/roles", 200).same(&["keys"]),
        step("read missing role", "GET", "pki_int/roles/diff-missing", 404),
        step("role name -x", "POST", "pki_int/roles/-x", 404).body(json!({"allow_any_name": true})),
        step("role name a@b", "POST", "pki_int/roles/a@b", 404).body(json!({"allow_any_name": true})),
        step("role bad boolean", "POST", "pki_int/roles/diff-badbool", 400)
            .body(json!({"allow_subdomains": "perhaps"})),
        step("role bad key_type", "POST", "pki_int/roles/diff-badkey", 400)
            .body(json!({"key_type": "dsa"})),
        step("role ttl 1.5 (JSON number)", "POST", "pki_int/roles/diff-ttl-num", 400)
            .body(json!({"allow_any_name": true, "ttl": 1.5})),
        step("read role ttl 1.5", "GET", "pki_int/roles/diff-ttl-num", 404).same(&["ttl"]),
        step("role ttl 1h30m", "POST", "pki_int/roles/diff-ttl-hm", 200)
            .body(json!({"allow_any_name": true, "ttl": "1h30m"})),
        step("read role ttl 1h30m", "GET", "pki_int/roles/diff-ttl-hm", 200).same(&["ttl"]),
        step("role ttl 90s", "POST", "pki_int/roles/diff-ttl-s", 200)
            .body(json!({"allow_any_name": true, "ttl": "90s"})),
        step("read role ttl 90s", "GET", "pki_int/roles/diff-ttl-s", 200).same(&["ttl"]),
        step("role ttl 5x", "POST", "pki_int/roles/diff-ttl-bad", 400)
            .body(json!({"allow_any_name": true, "ttl": "5x"})),
        step("patch role as JSON", "PATCH", "pki_int/roles/diff-ttl-s", 415)
            .body(json!({"ttl": "2m"}))
            .content_type("application/json"),
        step("patch role", "PATCH", "pki_int/roles/diff-ttl-s", 200)
            .body(json!({"ttl": "2m"}))
            .same(&["ttl"]),
        step("patch missing role", "PATCH", "pki_int/roles/diff-missing", 400)
            .body(json!({"ttl": "2m"})),
        step("delete role", "DELETE", "pki_int/roles/diff-ttl-hm", 204),
        step("read deleted role", "GET", "pki_int/roles/diff-ttl-hm", 404),
        // ---- sign and issue
        step("sign", "POST", "pki_int/sign/diff-web", 200)
            .body(json!({"csr": "{csr_www}", "common_name": "www.example.com", "ttl": "1h"}))
            .capture("signed_serial", "/data/serial_number"),
        step("sign with the signer token", "POST", "pki_int/sign/diff-web", 200)
            .token("signer")
            .body(json!({"csr": "{csr_api}", "common_name": "api.example.com", "ttl": "1h"})),
        // cert-manager's request: the CSR's names again, and a TTL past the role's.
        step("sign as cert-manager does", "POST", "pki_int/sign/diff-web", 200)
            .body(json!({
                "csr": "{csr_api}",
                "common_name": "api.example.com",
                "alt_names": "api.example.com",
                "ttl": "2160h0m0s",
                "exclude_cn_from_sans": "true",
            })),
        step("sign name outside the role", "POST", "pki_int/sign/diff-web", 400)
            .body(json!({"csr": "{csr_evil}", "common_name": "evil.org", "ttl": "1h"})),
        step("sign unknown role", "POST", "pki_int/sign/diff-nope", 400)
            .body(json!({"csr": "{csr_www}", "common_name": "www.example.com"})),
        step("sign garbage CSR", "POST", "pki_int/sign/diff-web", 400)
            .body(json!({"csr": "not a csr", "common_name": "www.example.com"})),
        step("issue", "POST", "pki_int/issue/diff-web", 200)
            .body(json!({"common_name": "app.example.com", "ttl": "1h"}))
            .capture("issued_serial", "/data/serial_number"),
        step("issue without common_name", "POST", "pki_int/issue/diff-web", 400).body(json!({"ttl": "1h"})),
        step("issue with the signer token", "POST", "pki_int/issue/diff-web", 403)
            .token("signer")
            .body(json!({"common_name": "app.example.com"})),
        step("issue bad ttl", "POST", "pki_int/issue/diff-web", 400)
            .body(json!({"common_name": "app.example.com", "ttl": "5x"})),
        // ---- certs, revocation, CRL
        step("list certs", "LIST", "pki_int/certs", 200),
        step("list certs detailed", "LIST", "pki_int/certs/detailed", 200),
        step("read cert", "GET", "pki_int/cert/{signed_serial}", 200),
        step("read missing cert", "GET", "pki_int/cert/00-11-22-33", 404),
        step("revoke", "POST", "pki_int/revoke", 200)
            .body(json!({"serial_number": "{issued_serial}"}))
            .same(&["state"]),
        step("revoke again", "POST", "pki_int/revoke", 200)
            .body(json!({"serial_number": "{issued_serial}"})),
        step("revoke unknown serial", "POST", "pki_int/revoke", 400)
            .body(json!({"serial_number": "00-11-22-33"})),
        step("revoke without serial", "POST", "pki_int/revoke", 400).body(json!({})),
        step("read revoked cert", "GET", "pki_int/cert/{issued_serial}", 200),
        step("read CRL (JSON)", "GET", "pki_int/cert/crl", 200),
        step("read CRL (DER)", "GET", "pki_int/crl", 200),
        step("read CRL (PEM)", "GET", "pki_int/crl/pem", 200),
        step("rotate CRL", "GET", "pki_int/crl/rotate", 200).same(&["success"]),
        step("list revoked certs", "LIST", "pki_int/certs/revoked", 200),
        step("sign-verbatim", "POST", "pki_int/sign-verbatim", 200)
            .body(json!({"csr": "{csr_evil}", "ttl": "1h"})),
        step("tidy nothing", "POST", "pki_int/tidy", 202).body(json!({})),
        step("tidy", "POST", "pki_int/tidy", 202)
            .body(json!({"tidy_cert_store": true, "safety_buffer": "1h"})),
        // ---- Kubernetes auth
        step("enable kubernetes", "POST", "sys/auth/kubernetes", 204).body(json!({"type": "kubernetes"})),
        step("kubernetes config without host", "POST", "auth/kubernetes/config", 400)
            .body(json!({"disable_local_ca_jwt": true})),
        step("kubernetes config", "POST", "auth/kubernetes/config", 204).body(json!({
            "kubernetes_host": "{k8s_host}",
            "kubernetes_ca_cert": "{k8s_ca}",
            "token_reviewer_jwt": REVIEWER_JWT,
            "disable_local_ca_jwt": true,
        })),
        step("read kubernetes config", "GET", "auth/kubernetes/config", 200)
            .same(&["kubernetes_host", "disable_local_ca_jwt", "token_reviewer_jwt_set"]),
        step("kubernetes role", "POST", "auth/kubernetes/role/diff-k8s", 204).body(json!({
            "bound_service_account_names": "diff-sa",
            "bound_service_account_namespaces": ["diff-ns"],
            "audience": K8S_AUDIENCE,
            "token_policies": "diff-signer",
            "token_ttl": "20m",
            "token_max_ttl": "1h",
        })),
        step("kubernetes role without bound names", "POST", "auth/kubernetes/role/diff-k8s-bad", 400)
            .body(json!({"bound_service_account_namespaces": ["diff-ns"]})),
        step("read kubernetes role", "GET", "auth/kubernetes/role/diff-k8s", 200).same(&[
            "bound_service_account_names",
            "bound_service_account_namespaces",
            "audience",
            "token_policies",
            "token_ttl",
            "token_max_ttl",
        ]),
        step("list kubernetes roles", "LIST", "auth/kubernetes/role", 200).same(&["keys"]),
        step("read missing kubernetes role", "GET", "auth/kubernetes/role/diff-missing", 404),
        step("kubernetes login", "POST", "auth/kubernetes/login", 200)
            .anonymous()
            .body(json!({"role": "diff-k8s", "jwt": "{k8s_jwt}"})),
        step("kubernetes login unknown role", "POST", "auth/kubernetes/login", 400)
            .anonymous()
            .body(json!({"role": "diff-nope", "jwt": "{k8s_jwt}"})),
        step("kubernetes login without role", "POST", "auth/kubernetes/login", 400)
            .anonymous()
            .body(json!({"jwt": "{k8s_jwt}"})),
        step("kubernetes login other namespace", "POST", "auth/kubernetes/login", 403)
            .anonymous()
            .body(json!({"role": "diff-k8s", "jwt": "{k8s_jwt_other_ns}"})),
        step("kubernetes login token the cluster refuses", "POST", "auth/kubernetes/login", 403)
            .anonymous()
            .body(json!({"role": "diff-k8s", "jwt": "{k8s_jwt_unknown}"})),
        step("kubernetes login wrong audience", "POST", "auth/kubernetes/login", 403)
            .anonymous()
            .body(json!({"role": "diff-k8s", "jwt": "{k8s_jwt_other_aud}"})),
        step("kubernetes login garbage JWT", "POST", "auth/kubernetes/login", 403)
            .anonymous()
            .body(json!({"role": "diff-k8s", "jwt": "not-a-jwt"})),
    ]
}

/// `{var}` replaced by its value in a path or a string; unknown names stay as they are.
fn fill(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn fill_json(v: &Value, vars: &HashMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(fill(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill_json(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), fill_json(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What the body is: JSON, a PEM block, other text, binary (DER) or nothing.
fn body_kind(r: &Reply) -> String {
    if r.text.is_empty() {
        "empty".into()
    } else if !r.body.is_null() {
        "json".into()
    } else if let Some(label) = r
        .text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN "))
    {
        format!("PEM {}", label.trim_end_matches('-'))
    } else if r.text.contains('\u{fffd}') {
        "binary".into()
    } else {
        "text".into()
    }
}

/// Key → JSON type of an object (empty for anything else).
fn shape(v: &Value) -> BTreeMap<String, &'static str> {
    v.as_object()
        .map(|o| o.iter().map(|(k, x)| (k.clone(), type_name(x))).collect())
        .unwrap_or_default()
}

fn compare_object(what: &str, e: &Value, o: &Value, same: &[&str], out: &mut Vec<String>) {
    if type_name(e) != type_name(o) {
        out.push(format!(
            "{what}: engine {} / openbao {}",
            type_name(e),
            type_name(o)
        ));
        return;
    }
    let (se, so) = (shape(e), shape(o));
    for (k, t) in &se {
        match so.get(k) {
            None => out.push(format!("{what}.{k}: only on engine ({t})")),
            Some(u) if u != t => out.push(format!("{what}.{k}: engine {t} / openbao {u}")),
            _ => {}
        }
    }
    for (k, t) in &so {
        if !se.contains_key(k) {
            out.push(format!("{what}.{k}: only on openbao ({t})"));
        }
    }
    for k in same {
        if let (Some(a), Some(b)) = (e.get(*k), o.get(*k))
            && a != b
        {
            out.push(format!("{what}.{k} value: engine {a} / openbao {b}"));
        }
    }
    // One level down: objects with fixed keys (`auth.metadata`, a mount's `config`), not
    // maps keyed by values (`key_info` by serial, `mapping` by issuer id).
    for (k, t) in &se {
        if *t == "object"
            && so.get(k) == Some(t)
            && !["key_info", "mapping"].contains(&k.as_str())
            && !what.contains('.')
        {
            compare_object(
                &format!("{what}.{k}"),
                &e[k.as_str()],
                &o[k.as_str()],
                &[],
                out,
            );
        }
    }
}

/// Every difference between the two answers, one line each.
fn differences(step: &Step, e: &Reply, o: &Reply) -> Vec<String> {
    let mut out = Vec::new();
    if e.status != o.status {
        out.push(format!(
            "status: engine {} / openbao {}",
            e.status, o.status
        ));
    }
    let (ke, ko) = (body_kind(e), body_kind(o));
    if ke != ko {
        out.push(format!("body: engine {ke} / openbao {ko}"));
    }
    if e.errors() != o.errors() {
        out.push(format!(
            "errors: engine {:?} / openbao {:?}",
            e.errors(),
            o.errors()
        ));
    }
    if e.warnings() != o.warnings() {
        out.push(format!(
            "warnings: engine {:?} / openbao {:?}",
            e.warnings(),
            o.warnings()
        ));
    }
    if ke == "json" && ko == "json" {
        match step.focus {
            Some(p) => compare_object(
                p,
                e.body.pointer(p).unwrap_or(&Value::Null),
                o.body.pointer(p).unwrap_or(&Value::Null),
                &step.same,
                &mut out,
            ),
            None => {
                compare_object(
                    "data",
                    &e.body["data"],
                    &o.body["data"],
                    &step.same,
                    &mut out,
                );
                compare_object("auth", &e.body["auth"], &o.body["auth"], &[], &mut out);
            }
        }
    }
    out
}

async fn send(
    t: &Target,
    step: &Step,
    vars: &mut HashMap<String, String>,
) -> anyhow::Result<Reply> {
    let path = fill(step.path, vars);
    let body = fill_json(&step.body, vars);
    let token = match step.token {
        None => Some(t.root_token.clone()),
        Some("") => None,
        Some(var) => Some(vars.get(var).cloned().unwrap_or_else(|| var.to_string())),
    };
    let method = Method::from_bytes(step.method.as_bytes())?;
    let content_type = step.content_type.unwrap_or(if method == Method::PATCH {
        "application/merge-patch+json"
    } else {
        "application/json"
    });
    let r = t
        .call_typed(method, &path, token.as_deref(), content_type, body)
        .await
        .with_context(|| format!("{} {} {path}", t.name(), step.method))?;
    for (var, pointer) in &step.captures {
        if let Some(v) = r.body.pointer(pointer).and_then(Value::as_str) {
            vars.insert(var.to_string(), v.to_string());
        }
    }
    Ok(r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential_table_engine_vs_openbao() -> anyhow::Result<()> {
    let doc_path = tests::root().join("docs/compatibility.md");
    let doc = std::fs::read_to_string(&doc_path)
        .with_context(|| format!("read {}", doc_path.display()))?;
    for k in KNOWN {
        if !doc
            .lines()
            .any(|l| l.trim() == format!("### {}", k.section))
        {
            bail!(
                "allow-list entry for {:?} names \"### {}\", which docs/compatibility.md lacks",
                k.steps,
                k.section
            );
        }
    }

    let stub = TokenReviewStub::start().await?;
    stub.allow_reviewer(REVIEWER_JWT);
    let account = Account::new("diff-ns", "diff-sa", "0a1b2c3d-diff", &[K8S_AUDIENCE]);
    let jwt = projected(&PrivateKey::generate(KeyType::Ec, 256)?, &account)?;
    stub.register(&jwt, account);
    let cluster_key = PrivateKey::generate(KeyType::Ec, 256)?;
    let other_ns = Account::new("diff-other", "diff-sa", "0a1b2c3d-other", &[K8S_AUDIENCE]);
    let jwt_other_ns = projected(&cluster_key, &other_ns)?;
    stub.register(&jwt_other_ns, other_ns);
    // Well formed, but the cluster does not know it (deleted service account).
    let unknown = Account::new("diff-ns", "diff-sa", "0a1b2c3d-gone", &[K8S_AUDIENCE]);
    let jwt_unknown = projected(&cluster_key, &unknown)?;
    let other_aud = Account::new(
        "diff-ns",
        "diff-sa",
        "0a1b2c3d-aud",
        &["https://kubernetes.default.svc"],
    );
    let jwt_other_aud = projected(&cluster_key, &other_aud)?;
    stub.register(&jwt_other_aud, other_aud);

    let server = Server::start().await?;
    let bao = OpenBao::dev().await?;
    let targets = [Target::engine(&server)?, Target::openbao(&bao)];
    let mut shared_vars = HashMap::new();
    shared_vars.insert("k8s_host".to_string(), stub.url.clone());
    shared_vars.insert("k8s_ca".to_string(), stub.ca_pem.clone());
    shared_vars.insert("k8s_jwt".to_string(), jwt);
    shared_vars.insert("k8s_jwt_other_ns".to_string(), jwt_other_ns);
    shared_vars.insert("k8s_jwt_unknown".to_string(), jwt_unknown);
    shared_vars.insert("k8s_jwt_other_aud".to_string(), jwt_other_aud);
    for (var, cn) in [
        ("csr_www", "www.example.com"),
        ("csr_api", "api.example.com"),
        ("csr_evil", "evil.org"),
    ] {
        shared_vars.insert(var.to_string(), tests::csr_pem(cn)?);
    }
    let mut vars = [shared_vars.clone(), shared_vars];

    let steps = table();
    let mut names = std::collections::HashSet::new();
    for s in &steps {
        if !names.insert(s.name) {
            bail!("two steps are named {:?}", s.name);
        }
    }
    let mut used = vec![false; KNOWN.len()];
    let mut undocumented = Vec::new();
    let mut wrong_reference = Vec::new();
    let mut documented = 0;
    for s in &steps {
        let e = send(&targets[0], s, &mut vars[0]).await?;
        let o = send(&targets[1], s, &mut vars[1]).await?;
        if o.status != s.status {
            wrong_reference.push(format!(
                "{} ({} {}): OpenBao answered {}, the table expects {}: {}",
                s.name,
                s.method,
                s.path,
                o.status,
                s.status,
                short(&o.text)
            ));
        }
        let mut open = Vec::new();
        for d in differences(s, &e, &o) {
            match KNOWN.iter().position(|k| {
                k.steps.contains(&s.name) && k.diffs.iter().any(|piece| d.contains(piece))
            }) {
                Some(i) => {
                    used[i] = true;
                    documented += 1;
                }
                None => open.push(format!("  - {d}")),
            }
        }
        if !open.is_empty() {
            undocumented.push(format!(
                "{} ({} {}):\n{}\n    engine:  {} {}\n    openbao: {} {}",
                s.name,
                s.method,
                s.path,
                open.join("\n"),
                e.status,
                short(&e.text),
                o.status,
                short(&o.text)
            ));
        }
    }
    if !wrong_reference.is_empty() {
        bail!(
            "OpenBao did not answer as the table expects (fix the table):\n{}",
            wrong_reference.join("\n")
        );
    }
    let stale: Vec<String> = KNOWN
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(k, _)| format!("{:?}: {:?} (### {})", k.steps, k.diffs, k.section))
        .collect();
    if !undocumented.is_empty() || !stale.is_empty() {
        bail!(
            "{} call(s) with undocumented differences between the engine and OpenBao 2.7.2 (fix the engine, \
             or document the departure in docs/compatibility.md and list it in KNOWN):\n{}\n\
             {} KNOWN entr(ies) no longer match any difference (remove them):\n{}",
            undocumented.len(),
            undocumented.join("\n"),
            stale.len(),
            stale.join("\n")
        );
    }
    eprintln!(
        "differential table: {} calls, {documented} documented differences, none undocumented",
        steps.len()
    );
    Ok(())
}

fn short(text: &str) -> String {
    let t: String = text.chars().take(300).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}
