//! A PKI role as Vault stores and returns it: its fields and defaults, Vault's write
//! semantics (POST replaces, PATCH merges), Vault's lenient input typing and validation
//! messages, the `GET roles/:name` response and a one-line summary for people.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::duration::{self, go_quote};
use super::fields::parse_other_sans;
use super::fields::{
    self, FieldError, parse_bool, parse_comma_string_slice as parse_list, parse_int, parse_string,
};

/// Vault's default key usages for a role.
pub const DEFAULT_KEY_USAGE: [&str; 3] = ["DigitalSignature", "KeyAgreement", "KeyEncipherment"];

/// Every parameter `roles/:name` accepts on write; anything else is ignored with a warning.
pub const WRITE_FIELDS: [&str; 51] = [
    "ttl",
    "max_ttl",
    "allow_localhost",
    "allowed_domains",
    "allowed_domains_template",
    "allow_bare_domains",
    "allow_subdomains",
    "allow_glob_domains",
    "allow_wildcard_certificates",
    "allow_any_name",
    "enforce_hostnames",
    "allow_ip_sans",
    "allowed_uri_sans",
    "allowed_uri_sans_template",
    "allowed_other_sans",
    "allowed_serial_numbers",
    "allowed_user_ids",
    "server_flag",
    "client_flag",
    "code_signing_flag",
    "email_protection_flag",
    "key_type",
    "key_bits",
    "signature_bits",
    "use_pss",
    "key_usage",
    "ext_key_usage",
    "ext_key_usage_oids",
    "use_csr_common_name",
    "use_csr_sans",
    "ou",
    "organization",
    "country",
    "locality",
    "province",
    "street_address",
    "postal_code",
    "generate_lease",
    "no_store",
    "no_store_metadata",
    "require_cn",
    "cn_validations",
    "policy_identifiers",
    "basic_constraints_valid_for_non_ca",
    "not_before_duration",
    "not_after",
    "not_after_bound",
    "issuer_ref",
    "serial_number_source",
    // Part of the path, and accepted (ignored) in the body by Vault's framework.
    "name",
    "backend",
];

/// A PKI role. Field names and defaults are Vault's (`Role::default()` is what an empty
/// write creates); durations are whole seconds, `0` meaning "the mount's default".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Role {
    pub ttl: u64,
    pub max_ttl: u64,
    pub allow_localhost: bool,
    pub allowed_domains: Vec<String>,
    pub allowed_domains_template: bool,
    pub allow_bare_domains: bool,
    pub allow_subdomains: bool,
    pub allow_glob_domains: bool,
    pub allow_wildcard_certificates: bool,
    pub allow_any_name: bool,
    pub enforce_hostnames: bool,
    pub allow_ip_sans: bool,
    pub allowed_uri_sans: Vec<String>,
    pub allowed_uri_sans_template: bool,
    pub allowed_other_sans: Vec<String>,
    pub allowed_serial_numbers: Vec<String>,
    pub allowed_user_ids: Vec<String>,
    pub server_flag: bool,
    pub client_flag: bool,
    pub code_signing_flag: bool,
    pub email_protection_flag: bool,
    /// `rsa`, `ec`, `ed25519` or `any`.
    pub key_type: String,
    /// Resolved on write as Vault does: `rsa` 2048, `ec` 256 when given as 0.
    pub key_bits: u32,
    /// Resolved on write: 256 for `rsa` when given as 0, always 0 for `ed25519` and `any`.
    pub signature_bits: u32,
    pub use_pss: bool,
    pub key_usage: Vec<String>,
    pub ext_key_usage: Vec<String>,
    pub ext_key_usage_oids: Vec<String>,
    pub use_csr_common_name: bool,
    pub use_csr_sans: bool,
    pub ou: Vec<String>,
    pub organization: Vec<String>,
    pub country: Vec<String>,
    pub locality: Vec<String>,
    pub province: Vec<String>,
    pub street_address: Vec<String>,
    pub postal_code: Vec<String>,
    pub generate_lease: bool,
    pub no_store: bool,
    pub no_store_metadata: bool,
    pub require_cn: bool,
    pub cn_validations: Vec<String>,
    pub policy_identifiers: Vec<String>,
    pub basic_constraints_valid_for_non_ca: bool,
    pub not_before_duration: u64,
    pub not_after: String,
    /// How far a request's `not_after` may reach (see [`NotAfterBound`]); OpenBao's
    /// values, and our default `max-ttl` (Vault's fixed behaviour, see
    /// `docs/compatibility.md`).
    pub not_after_bound: String,
    pub issuer_ref: String,
    /// `json-csr` (the serial number from the request, else from the CSR) or `json`.
    pub serial_number_source: String,
}

/// Why a role write was refused. Texts are Vault's; [`RoleError::field`] names the field
/// for a form to highlight.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoleError {
    /// A value of the wrong type or syntax (Vault's framework message).
    #[error("Field validation failed: {0}")]
    Field(#[from] FieldError),
    #[error(
        "Unknown value for field `not_after_bound`. Possible values are `max-ttl`, `permit`, `ttl-limited`, `forbid`, or an explicit timestamp."
    )]
    NotAfterBound(String),
    #[error("error parsing allowed_other_sans: {0}")]
    AllowedOtherSans(String),
    #[error("\"ttl\" value must be less than \"max_ttl\" value")]
    TtlAboveMaxTtl,
    #[error("unknown key type {0}")]
    UnknownKeyType(String),
    #[error("RSA keys < 2048 bits are unsafe and not supported: got {0}")]
    RsaKeyTooSmall(i64),
    #[error("unsupported bit length for RSA key: {0}")]
    RsaKeyBits(i64),
    #[error("unsupported bit length for EC key: {0}")]
    EcKeyBits(i64),
    #[error("unsupported hash signature algorithm: {0}")]
    SignatureBits(i64),
    #[error("{} could not be parsed as a valid oid for an extended key usage", go_quote(.0))]
    ExtKeyUsageOid(String),
    #[error("policy identifier {} is neither an oid nor a policy object with an oid", go_quote(.0))]
    PolicyIdentifier(String),
    #[error("cn_validations value incorrect: {0}")]
    CnValidations(String),
    #[error("invalid value for serial_number_source")]
    SerialNumberSource(String),
}

impl RoleError {
    /// The request field this error is about.
    pub fn field(&self) -> &str {
        match self {
            RoleError::Field(e) => &e.field,
            RoleError::NotAfterBound(_) => "not_after_bound",
            RoleError::AllowedOtherSans(_) => "allowed_other_sans",
            RoleError::TtlAboveMaxTtl => "ttl",
            RoleError::UnknownKeyType(_) => "key_type",
            RoleError::RsaKeyTooSmall(_) | RoleError::RsaKeyBits(_) | RoleError::EcKeyBits(_) => {
                "key_bits"
            }
            RoleError::SignatureBits(_) => "signature_bits",
            RoleError::ExtKeyUsageOid(_) => "ext_key_usage_oids",
            RoleError::PolicyIdentifier(_) => "policy_identifiers",
            RoleError::CnValidations(_) => "cn_validations",
            RoleError::SerialNumberSource(_) => "serial_number_source",
        }
    }
}

/// A role's `not_after_bound`: how far a request's `not_after` may reach. The role keeps
/// the text; [`NotAfterBound::parse`] reads it (and refuses anything else on write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAfterBound {
    /// `max-ttl`, our default (Vault's fix of hashicorp/vault#29928): a `not_after` later
    /// than now + the maximum TTL (the role's `max_ttl`, else the mount's) is clamped to
    /// it, with a warning. Not an OpenBao value; see `docs/compatibility.md`.
    MaxTtl,
    /// `permit`, OpenBao's default: only the issuer's expiry limits `not_after`.
    Permit,
    /// `ttl-limited` (OpenBao): refused when later than now + the TTL (the role's `ttl`,
    /// else the mount's default, capped by the maximum).
    TtlLimited,
    /// `forbid` (OpenBao): a request may not give `not_after` at all.
    Forbid,
    /// An RFC 3339 instant (OpenBao): refused when the certificate would end later; Unix
    /// seconds.
    Until(i64),
}

impl NotAfterBound {
    /// The value a role gets when the write does not give one.
    pub const DEFAULT: &'static str = "max-ttl";

    /// Reads a stored or requested value; an unknown one is refused naming the field.
    pub fn parse(value: &str) -> Result<NotAfterBound, RoleError> {
        match value {
            "max-ttl" => Ok(NotAfterBound::MaxTtl),
            "permit" => Ok(NotAfterBound::Permit),
            "ttl-limited" => Ok(NotAfterBound::TtlLimited),
            "forbid" => Ok(NotAfterBound::Forbid),
            other => super::fields::parse_rfc3339(other)
                .map(NotAfterBound::Until)
                .map_err(|_| RoleError::NotAfterBound(other.to_owned())),
        }
    }
}

/// A successful write: the role to store and Vault's warnings for the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleWrite {
    pub role: Role,
    pub warnings: Vec<String>,
}

/// How a write treats fields the body does not mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `POST`/`PUT roles/:name`: missing fields take their defaults (the role is replaced).
    Replace,
    /// `PATCH roles/:name`: missing fields keep their stored values.
    Patch,
}

impl Default for Role {
    fn default() -> Self {
        let mut role = Role::unresolved_defaults();
        role.key_bits = 2048;
        role.signature_bits = 256;
        role
    }
}

impl Role {
    /// Vault's `POST roles/:name`: the role is rebuilt from the body and defaults. Vault
    /// never merges on POST, so `existing` does not change the result; it is accepted so
    /// callers can pass what they have (use [`Role::patch`] to merge).
    pub fn from_write(
        existing: Option<&Role>,
        body: &Map<String, Value>,
    ) -> Result<Role, RoleError> {
        Role::write(existing, body, WriteMode::Replace).map(|w| w.role)
    }

    /// Vault's `PATCH roles/:name`: only the fields in the body change.
    pub fn patch(&self, body: &Map<String, Value>) -> Result<Role, RoleError> {
        Role::write(Some(self), body, WriteMode::Patch).map(|w| w.role)
    }

    /// A write with Vault's warnings. `Patch` without an existing role patches the
    /// defaults (Vault itself answers "Unable to fetch role entry to patch" then).
    pub fn write(
        existing: Option<&Role>,
        body: &Map<String, Value>,
        mode: WriteMode,
    ) -> Result<RoleWrite, RoleError> {
        let mut role = match (mode, existing) {
            (WriteMode::Patch, Some(old)) => old.clone(),
            _ => Role::unresolved_defaults(),
        };
        let mut generate_lease_given = None;
        for (key, value) in body {
            if value.is_null() {
                continue;
            }
            if key == "generate_lease" {
                generate_lease_given = Some(parse_bool(key, value)?);
            } else {
                role.apply(key, value)?;
            }
        }

        let mut warnings = Vec::new();
        let lease_requested = match generate_lease_given {
            Some(v) => v,
            None if mode == WriteMode::Patch => existing.is_some_and(|r| r.generate_lease),
            None => false,
        };
        if role.no_store {
            role.generate_lease = false;
            if lease_requested {
                warnings.push(
                    "mutually exclusive values no_store=true and generate_lease=true were both \
                     specified; no_store=true takes priority"
                        .to_owned(),
                );
            }
        } else {
            role.generate_lease = lease_requested;
            if lease_requested {
                warnings.push(
                    "it is encouraged to disable generate_lease and rely on PKI's native \
                     capabilities when possible; this option can cause instance-wide issues with \
                     large numbers of issued certificates"
                        .to_owned(),
                );
            }
        }

        if body.contains_key("allowed_other_sans") || mode == WriteMode::Replace {
            check_other_sans(&role.allowed_other_sans)?;
        }
        role.validate()?;

        let mut ignored: Vec<&str> = body
            .keys()
            .map(String::as_str)
            .filter(|k| !WRITE_FIELDS.contains(k))
            .collect();
        if !ignored.is_empty() {
            ignored.sort_unstable();
            warnings.push(format!(
                "Endpoint ignored these unrecognized parameters: [{}]",
                ignored.join(" ")
            ));
        }
        Ok(RoleWrite { role, warnings })
    }

    /// The `data` of Vault's `GET roles/:name` (TTLs as integer seconds).
    pub fn to_response(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()));
        if let Value::Object(map) = &mut value {
            // Vault still reports this legacy (token display name) option; we never set it.
            map.insert("allow_token_displayname".to_owned(), Value::Bool(false));
        }
        value
    }

    /// The key size a CSR must reach for this role: `key_bits`, or Vault's default for the
    /// key type when it is 0.
    pub fn effective_key_bits(&self) -> u32 {
        match (self.key_type.as_str(), self.key_bits) {
            ("rsa", 0) => 2048,
            ("ec", 0) => 256,
            (_, bits) => bits,
        }
    }

    /// One line for people, e.g. `names under testlab.local (subdomains only), up to 10
    /// minutes, RSA ≥ 2048`.
    pub fn describe(&self) -> String {
        let ttl = if self.max_ttl == 0 {
            "up to the mount's maximum TTL".to_owned()
        } else {
            format!("up to {}", duration::format_human(self.max_ttl))
        };
        format!("{}, {ttl}, {}", self.describe_names(), self.describe_keys())
    }

    fn describe_names(&self) -> String {
        let wildcard_note = if self.allow_wildcard_certificates {
            ""
        } else {
            " (no wildcards)"
        };
        if self.allow_any_name {
            let what = if self.enforce_hostnames {
                "any hostname"
            } else {
                "any name"
            };
            return format!("{what}{wildcard_note}");
        }
        let mut clauses = Vec::new();
        for domain in self.allowed_domains.iter().filter(|d| !d.is_empty()) {
            if self.allow_glob_domains && domain.contains('*') {
                clauses.push(format!("names matching {domain}"));
                continue;
            }
            match (self.allow_bare_domains, self.allow_subdomains) {
                (true, true) => clauses.push(format!("{domain} and names under it")),
                (false, true) => clauses.push(format!("names under {domain} (subdomains only)")),
                (true, false) => clauses.push(format!("{domain} only")),
                (false, false) => {}
            }
        }
        if self.allow_localhost {
            clauses.push("localhost".to_owned());
        }
        if clauses.is_empty() {
            "no names".to_owned()
        } else {
            format!("{}{wildcard_note}", clauses.join(" or "))
        }
    }

    fn describe_keys(&self) -> String {
        match self.key_type.as_str() {
            "rsa" => format!("RSA ≥ {}", self.effective_key_bits()),
            "ec" => format!("EC ≥ P-{}", self.effective_key_bits()),
            "ed25519" => "Ed25519".to_owned(),
            "any" => "RSA ≥ 2048, EC or Ed25519".to_owned(),
            other => format!("key type {other}"),
        }
    }

    /// Vault's schema defaults before `validateRole` resolves key and signature bits.
    fn unresolved_defaults() -> Role {
        Role {
            ttl: 0,
            max_ttl: 0,
            allow_localhost: true,
            allowed_domains: Vec::new(),
            allowed_domains_template: false,
            allow_bare_domains: false,
            allow_subdomains: false,
            allow_glob_domains: false,
            allow_wildcard_certificates: true,
            allow_any_name: false,
            enforce_hostnames: true,
            allow_ip_sans: true,
            allowed_uri_sans: Vec::new(),
            allowed_uri_sans_template: false,
            allowed_other_sans: Vec::new(),
            allowed_serial_numbers: Vec::new(),
            allowed_user_ids: Vec::new(),
            server_flag: true,
            client_flag: true,
            code_signing_flag: false,
            email_protection_flag: false,
            key_type: "rsa".to_owned(),
            key_bits: 0,
            signature_bits: 0,
            use_pss: false,
            key_usage: DEFAULT_KEY_USAGE.iter().map(|s| (*s).to_owned()).collect(),
            ext_key_usage: Vec::new(),
            ext_key_usage_oids: Vec::new(),
            use_csr_common_name: true,
            use_csr_sans: true,
            ou: Vec::new(),
            organization: Vec::new(),
            country: Vec::new(),
            locality: Vec::new(),
            province: Vec::new(),
            street_address: Vec::new(),
            postal_code: Vec::new(),
            generate_lease: false,
            no_store: false,
            no_store_metadata: false,
            require_cn: true,
            cn_validations: vec!["email".to_owned(), "hostname".to_owned()],
            policy_identifiers: Vec::new(),
            basic_constraints_valid_for_non_ca: false,
            not_before_duration: 30,
            not_after: String::new(),
            not_after_bound: NotAfterBound::DEFAULT.to_owned(),
            issuer_ref: "default".to_owned(),
            serial_number_source: "json-csr".to_owned(),
        }
    }

    /// Sets one field from its JSON value; unknown keys are left alone.
    fn apply(&mut self, key: &str, v: &Value) -> Result<(), RoleError> {
        match key {
            "ttl" => self.ttl = parse_secs(key, v)?,
            "max_ttl" => self.max_ttl = parse_secs(key, v)?,
            "not_before_duration" => self.not_before_duration = parse_secs(key, v)?,
            "allow_localhost" => self.allow_localhost = parse_bool(key, v)?,
            "allowed_domains_template" => self.allowed_domains_template = parse_bool(key, v)?,
            "allow_bare_domains" => self.allow_bare_domains = parse_bool(key, v)?,
            "allow_subdomains" => self.allow_subdomains = parse_bool(key, v)?,
            "allow_glob_domains" => self.allow_glob_domains = parse_bool(key, v)?,
            "allow_wildcard_certificates" => {
                self.allow_wildcard_certificates = parse_bool(key, v)?;
            }
            "allow_any_name" => self.allow_any_name = parse_bool(key, v)?,
            "enforce_hostnames" => self.enforce_hostnames = parse_bool(key, v)?,
            "allow_ip_sans" => self.allow_ip_sans = parse_bool(key, v)?,
            "allowed_uri_sans_template" => self.allowed_uri_sans_template = parse_bool(key, v)?,
            "server_flag" => self.server_flag = parse_bool(key, v)?,
            "client_flag" => self.client_flag = parse_bool(key, v)?,
            "code_signing_flag" => self.code_signing_flag = parse_bool(key, v)?,
            "email_protection_flag" => self.email_protection_flag = parse_bool(key, v)?,
            "use_pss" => self.use_pss = parse_bool(key, v)?,
            "use_csr_common_name" => self.use_csr_common_name = parse_bool(key, v)?,
            "use_csr_sans" => self.use_csr_sans = parse_bool(key, v)?,
            "no_store" => self.no_store = parse_bool(key, v)?,
            "no_store_metadata" => self.no_store_metadata = parse_bool(key, v)?,
            "require_cn" => self.require_cn = parse_bool(key, v)?,
            "basic_constraints_valid_for_non_ca" => {
                self.basic_constraints_valid_for_non_ca = parse_bool(key, v)?;
            }
            "allowed_domains" => self.allowed_domains = parse_list(key, v)?,
            "allowed_uri_sans" => self.allowed_uri_sans = parse_list(key, v)?,
            "allowed_other_sans" => self.allowed_other_sans = parse_list(key, v)?,
            "allowed_serial_numbers" => self.allowed_serial_numbers = parse_list(key, v)?,
            "allowed_user_ids" => self.allowed_user_ids = parse_list(key, v)?,
            "key_usage" => self.key_usage = parse_list(key, v)?,
            "ext_key_usage" => self.ext_key_usage = parse_list(key, v)?,
            "ext_key_usage_oids" => self.ext_key_usage_oids = parse_list(key, v)?,
            "ou" => self.ou = parse_list(key, v)?,
            "organization" => self.organization = parse_list(key, v)?,
            "country" => self.country = parse_list(key, v)?,
            "locality" => self.locality = parse_list(key, v)?,
            "province" => self.province = parse_list(key, v)?,
            "street_address" => self.street_address = parse_list(key, v)?,
            "postal_code" => self.postal_code = parse_list(key, v)?,
            "cn_validations" => self.cn_validations = parse_list(key, v)?,
            "policy_identifiers" => self.policy_identifiers = parse_policy_identifiers(key, v)?,
            "key_type" => self.key_type = parse_string(key, v)?,
            "not_after" => self.not_after = parse_string(key, v)?,
            "not_after_bound" => {
                let bound = parse_string(key, v)?;
                NotAfterBound::parse(&bound)?;
                self.not_after_bound = bound;
            }
            "issuer_ref" => self.issuer_ref = parse_string(key, v)?,
            "serial_number_source" => self.serial_number_source = parse_string(key, v)?,
            "key_bits" => self.key_bits = parse_u32(key, v)?,
            "signature_bits" => self.signature_bits = parse_u32(key, v)?,
            _ => {}
        }
        Ok(())
    }

    /// Vault's `validateRole`: TTLs, key type and sizes (resolving defaults), OIDs, issuer
    /// reference and CN validations, in Vault's order.
    fn validate(&mut self) -> Result<(), RoleError> {
        if self.max_ttl > 0 && self.ttl > self.max_ttl {
            return Err(RoleError::TtlAboveMaxTtl);
        }
        let (key_bits, signature_bits) = resolve_key_bits(
            &self.key_type,
            i64::from(self.key_bits),
            i64::from(self.signature_bits),
        )?;
        // Both come from u32 inputs or defaults, so they fit.
        self.key_bits = u32::try_from(key_bits).unwrap_or(self.key_bits);
        self.signature_bits = u32::try_from(signature_bits).unwrap_or(self.signature_bits);
        if let Some(bad) = self.ext_key_usage_oids.iter().find(|o| !is_oid(o)) {
            return Err(RoleError::ExtKeyUsageOid(bad.clone()));
        }
        if let Some(bad) = self
            .policy_identifiers
            .iter()
            .find(|p| !is_policy_identifier(p))
        {
            return Err(RoleError::PolicyIdentifier(bad.clone()));
        }
        if self.issuer_ref.is_empty() {
            "default".clone_into(&mut self.issuer_ref);
        }
        self.cn_validations = check_cn_validations(&self.cn_validations)?;
        match self.serial_number_source.as_str() {
            "" => "json-csr".clone_into(&mut self.serial_number_source),
            "json-csr" | "json" => {}
            other => return Err(RoleError::SerialNumberSource(other.to_owned())),
        }
        Ok(())
    }
}

/// Whether `name` is a valid role name (Vault's `GenericNameRegex`: word characters,
/// with `-` and `.` inside).
pub fn is_valid_role_name(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let (Some(first), Some(last)) = (name.chars().next(), name.chars().last()) else {
        return false;
    };
    word(first) && word(last) && name.chars().all(|c| word(c) || c == '-' || c == '.')
}

/// Vault's `ValidateDefaultOrValueKeyTypeSignatureLength`: returns the resolved key bits
/// and signature bits for a key type.
fn resolve_key_bits(key_type: &str, key_bits: i64, sig_bits: i64) -> Result<(i64, i64), RoleError> {
    let key_bits = match (key_type, key_bits) {
        ("rsa", 0) => 2048,
        ("ec", 0) => 256,
        (_, bits) => bits,
    };
    match key_type {
        "rsa" => {
            if key_bits < 2048 {
                return Err(RoleError::RsaKeyTooSmall(key_bits));
            }
            if ![2048, 3072, 4096, 8192].contains(&key_bits) {
                return Err(RoleError::RsaKeyBits(key_bits));
            }
        }
        "ec" => {
            if ![224, 256, 384, 521].contains(&key_bits) {
                return Err(RoleError::EcKeyBits(key_bits));
            }
        }
        "any" | "ed25519" => {}
        other => return Err(RoleError::UnknownKeyType(other.to_owned())),
    }
    let sig_bits = match key_type {
        "rsa" if sig_bits == 0 => 256,
        "ed25519" | "any" => 0,
        _ => sig_bits,
    };
    if key_type == "rsa" && ![256, 384, 512].contains(&sig_bits) {
        return Err(RoleError::SignatureBits(sig_bits));
    }
    Ok((key_bits, sig_bits))
}

/// Vault's `checkCNValidations`: lower-cased, no repeats, `disabled` alone.
fn check_cn_validations(validations: &[String]) -> Result<Vec<String>, RoleError> {
    if validations.is_empty() {
        return Ok(vec!["email".to_owned(), "hostname".to_owned()]);
    }
    let err = |msg: String| Err(RoleError::CnValidations(msg));
    let mut result: Vec<String> = Vec::new();
    for validation in validations {
        let lower = validation.to_lowercase();
        match lower.as_str() {
            "disabled" | "email" | "hostname" => {
                if result.contains(&lower) {
                    return err(format!("`{lower}` specified multiple times"));
                }
            }
            _ => return err(format!("unknown type: `{validation}`")),
        }
        result.push(lower);
    }
    let disabled = result.iter().any(|v| v == "disabled");
    if disabled && result.len() > 1 {
        return err("cannot specify `disabled` along with `email` or `hostname`".to_owned());
    }
    Ok(result)
}

/// Vault's check of the role's `allowed_other_sans` (`<oid>;UTF8:<value>`, or a lone `*`).
fn check_other_sans(others: &[String]) -> Result<(), RoleError> {
    if others.len() == 1 && others[0] == "*" {
        return Ok(());
    }
    parse_other_sans(others)
        .map(|_| ())
        .map_err(RoleError::AllowedOtherSans)
}

/// Go's `certutil.StringToOid`: dot-separated integers.
fn is_oid(s: &str) -> bool {
    s.split('.').all(|part| {
        let digits = part.strip_prefix(['+', '-']).unwrap_or(part);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// A policy identifier is an OID, or (Vault's JSON form) an object with an `oid`.
fn is_policy_identifier(s: &str) -> bool {
    if is_oid(s) {
        return true;
    }
    serde_json::from_str::<Value>(s)
        .ok()
        .and_then(|v| v.get("oid").and_then(Value::as_str).map(is_oid))
        .unwrap_or(false)
}

/// Key and signature sizes: Vault's ints, range-checked later by `resolve_key_bits`.
/// Negative sizes (which Vault would store for `any` and `ed25519`) are refused here.
fn parse_u32(field: &str, v: &Value) -> Result<u32, RoleError> {
    let n = parse_int(field, v)?;
    u32::try_from(n).map_err(|_| {
        RoleError::Field(FieldError {
            field: field.to_owned(),
            reason: format!("value {n} is out of range"),
        })
    })
}

fn parse_secs(field: &str, v: &Value) -> Result<u64, RoleError> {
    Ok(fields::parse_duration(field, v)?)
}

/// `policy_identifiers`: a list of OIDs, or Vault's JSON form (a string holding a list of
/// `{"oid": ..., "cps": ..., "notice": ...}` objects, each kept as its JSON text).
fn parse_policy_identifiers(field: &str, v: &Value) -> Result<Vec<String>, FieldError> {
    if let Value::String(s) = v
        && let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(s)
        && entries.iter().all(Value::is_object)
    {
        return Ok(entries.iter().map(Value::to_string).collect());
    }
    parse_list(field, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("test body must be an object"),
        }
    }

    fn create(v: Value) -> Result<Role, RoleError> {
        Role::from_write(None, &body(v))
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn empty_write_gives_vaults_defaults() {
        let role = create(json!({})).unwrap();
        assert_eq!(role, Role::default());
        let r = role.to_response();
        let expect = [
            ("ttl", json!(0)),
            ("max_ttl", json!(0)),
            ("allow_localhost", json!(true)),
            ("allowed_domains", json!([])),
            ("allow_bare_domains", json!(false)),
            ("allow_subdomains", json!(false)),
            ("allow_glob_domains", json!(false)),
            ("allow_wildcard_certificates", json!(true)),
            ("allow_any_name", json!(false)),
            ("enforce_hostnames", json!(true)),
            ("allow_ip_sans", json!(true)),
            ("allowed_uri_sans", json!([])),
            ("server_flag", json!(true)),
            ("client_flag", json!(true)),
            ("code_signing_flag", json!(false)),
            ("key_type", json!("rsa")),
            ("key_bits", json!(2048)),
            ("signature_bits", json!(256)),
            (
                "key_usage",
                json!(["DigitalSignature", "KeyAgreement", "KeyEncipherment"]),
            ),
            ("ext_key_usage", json!([])),
            ("use_csr_common_name", json!(true)),
            ("use_csr_sans", json!(true)),
            ("generate_lease", json!(false)),
            ("no_store", json!(false)),
            ("require_cn", json!(true)),
            ("cn_validations", json!(["email", "hostname"])),
            ("not_before_duration", json!(30)),
            ("not_after", json!("")),
            ("not_after_bound", json!("max-ttl")),
            ("issuer_ref", json!("default")),
            ("allow_token_displayname", json!(false)),
        ];
        for (key, want) in expect {
            assert_eq!(r[key], want, "field {key}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn accepts_vaults_lenient_typing() {
        let role = create(json!({
            "allowed_domains": "testlab.local, example.com",
            "allow_subdomains": "true",
            "allow_bare_domains": "1",
            "allow_localhost": "false",
            "allow_ip_sans": 0,
            "ttl": "10m",
            "max_ttl": 7_776_000,
            "key_bits": "4096",
            "allowed_uri_sans": ["spiffe://cluster.local/*", " b "],
            "ou": "",
            "not_before_duration": "1m",
        }))
        .unwrap();
        assert_eq!(role.allowed_domains, ["testlab.local", "example.com"]);
        assert!(role.allow_subdomains && role.allow_bare_domains);
        assert!(!role.allow_localhost && !role.allow_ip_sans);
        assert_eq!((role.ttl, role.max_ttl), (600, 7_776_000));
        assert_eq!(role.key_bits, 4096);
        assert_eq!(role.allowed_uri_sans, ["spiffe://cluster.local/*", "b"]);
        assert!(role.ou.is_empty());
        assert_eq!(role.not_before_duration, 60);
        // cert-manager's Go duration strings.
        let role = create(json!({"ttl": "2160h0m0s", "max_ttl": "2160h0m0s"})).unwrap();
        assert_eq!(role.to_response()["ttl"], json!(7_776_000));
        // Trailing comma: the empty entry is kept, as Vault keeps it.
        let role = create(json!({"allowed_domains": "a.com,"})).unwrap();
        assert_eq!(role.allowed_domains, ["a.com", ""]);
    }

    /// Rows of `body | message | field`.
    const REFUSALS: &str = r#"
        {"ttl": "2h", "max_ttl": "1h"}        | "ttl" value must be less than "max_ttl" value | ttl
        {"key_type": "dsa"}                    | unknown key type dsa | key_type
        {"key_bits": 1024}                     | RSA keys < 2048 bits are unsafe and not supported: got 1024 | key_bits
        {"key_bits": 5000}                     | unsupported bit length for RSA key: 5000 | key_bits
        {"key_type": "ec", "key_bits": 512}    | unsupported bit length for EC key: 512 | key_bits
        {"key_bits": -1}                       | Field validation failed: error converting input for field "key_bits": value -1 is out of range | key_bits
        {"signature_bits": 128}                | unsupported hash signature algorithm: 128 | signature_bits
        {"ttl": "abc"}                         | Field validation failed: error converting input for field "ttl": time: invalid duration "abc" | ttl
        {"max_ttl": "-5"}                      | Field validation failed: error converting input for field "max_ttl": cannot provide negative value '-5' | max_ttl
        {"ttl": true}                          | Field validation failed: error converting input for field "ttl": could not parse duration from input | ttl
        {"allow_subdomains": "yes"}            | Field validation failed: error converting input for field "allow_subdomains": '' cannot parse value as 'bool': strconv.ParseBool: invalid syntax | allow_subdomains
        {"allow_subdomains": ["a"]}            | Field validation failed: error converting input for field "allow_subdomains": '' expected type 'bool', got unconvertible type '[]interface {}' | allow_subdomains
        {"key_bits": "big"}                    | Field validation failed: error converting input for field "key_bits": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax | key_bits
        {"key_bits": 2048.5}                   | Field validation failed: error converting input for field "key_bits": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax | key_bits
        {"not_after_bound": "bogus"}           | Unknown value for field `not_after_bound`. Possible values are `max-ttl`, `permit`, `ttl-limited`, `forbid`, or an explicit timestamp. | not_after_bound
        {"not_after_bound": "TTL-LIMITED"}     | Unknown value for field `not_after_bound`. Possible values are `max-ttl`, `permit`, `ttl-limited`, `forbid`, or an explicit timestamp. | not_after_bound
        {"not_after_bound": {}}               | Field validation failed: error converting input for field "not_after_bound": '' expected type 'string', got unconvertible type 'map[string]interface {}' | not_after_bound
        {"cn_validations": "email,email"}      | cn_validations value incorrect: `email` specified multiple times | cn_validations
        {"cn_validations": "disabled,hostname"} | cn_validations value incorrect: cannot specify `disabled` along with `email` or `hostname` | cn_validations
        {"cn_validations": "ip"}               | cn_validations value incorrect: unknown type: `ip` | cn_validations
        {"allowed_other_sans": "1.2.3"}        | error parsing allowed_other_sans: expected a semicolon in other SAN "1.2.3" | allowed_other_sans
        {"allowed_other_sans": "1.2.3;UTF8"}   | error parsing allowed_other_sans: expected a colon in other SAN "1.2.3;UTF8" | allowed_other_sans
        {"allowed_other_sans": "1.2.3;IA5:x"}  | error parsing allowed_other_sans: only utf8 other SANs are supported; found non-supported type in other SAN "1.2.3;IA5:x" | allowed_other_sans
        {"ext_key_usage_oids": "1.3.6.x"}      | "1.3.6.x" could not be parsed as a valid oid for an extended key usage | ext_key_usage_oids
        {"policy_identifiers": "not-an-oid"}   | policy identifier "not-an-oid" is neither an oid nor a policy object with an oid | policy_identifiers
        {"serial_number_source": "csr"}        | invalid value for serial_number_source | serial_number_source
    "#;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn refuses_bad_writes_with_vaults_messages() {
        let rows = REFUSALS.lines().map(str::trim).filter(|l| !l.is_empty());
        for row in rows {
            let cells: Vec<&str> = row.split(" | ").map(str::trim).collect();
            let [input, message, field] = cells[..] else {
                panic!("bad row {row}");
            };
            let err = create(serde_json::from_str(input).unwrap()).expect_err(input);
            assert_eq!(err.to_string(), message, "input {input}");
            assert_eq!(err.field(), field, "input {input}");
        }
        // A list field given an object: mapstructure's multi-line message.
        let err = create(json!({"allowed_domains": {"a": 1}})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Field validation failed: error converting input for field \"allowed_domains\": 1 error(s) decoding:\n\n* '[0]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:1]'"
        );
        assert_eq!(err.field(), "allowed_domains");
        // Accepted with allowed_other_sans set: a lone "*", or well-formed entries.
        assert!(create(json!({"allowed_other_sans": "*"})).is_ok());
        assert!(create(json!({"allowed_other_sans": "1.2.3;utf-8:*"})).is_ok());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn not_after_bound_takes_openbaos_values_and_defaults_to_max_ttl() {
        let cases = [
            ("permit", NotAfterBound::Permit),
            ("ttl-limited", NotAfterBound::TtlLimited),
            ("forbid", NotAfterBound::Forbid),
            ("max-ttl", NotAfterBound::MaxTtl),
            ("2030-01-01T00:00:00Z", NotAfterBound::Until(1_893_456_000)),
        ];
        for (text, want) in cases {
            let role = create(json!({ "not_after_bound": text })).unwrap();
            assert_eq!(role.to_response()["not_after_bound"], json!(text));
            assert_eq!(NotAfterBound::parse(&role.not_after_bound).unwrap(), want);
        }
        let role = create(json!({})).unwrap();
        assert_eq!(
            NotAfterBound::parse(&role.not_after_bound).unwrap(),
            NotAfterBound::MaxTtl
        );
        // A stored role from before the field reads back with the safe default.
        let old: Role = serde_json::from_value(json!({"max_ttl": 600})).unwrap();
        assert_eq!(old.not_after_bound, "max-ttl");
        // PATCH keeps it unless given.
        let patched = create(json!({"not_after_bound": "permit"}))
            .unwrap()
            .patch(&body(json!({"ttl": "1m"})))
            .unwrap();
        assert_eq!(patched.not_after_bound, "permit");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn resolves_key_bits_like_vault() {
        let cases: &[(Value, &str, u32, u32)] = &[
            (json!({}), "rsa", 2048, 256),
            (
                json!({"key_bits": 3072, "signature_bits": 384}),
                "rsa",
                3072,
                384,
            ),
            (json!({"key_type": "ec"}), "ec", 256, 0),
            (json!({"key_type": "ec", "key_bits": 224}), "ec", 224, 0),
            (json!({"key_type": "ec", "key_bits": 521}), "ec", 521, 0),
            (json!({"key_type": "ed25519"}), "ed25519", 0, 0),
            (
                json!({"key_type": "any", "signature_bits": 384}),
                "any",
                0,
                0,
            ),
        ];
        for (input, key_type, bits, sig) in cases {
            let role = create(input.clone()).unwrap();
            assert_eq!(role.key_type, *key_type, "input {input}");
            assert_eq!(
                (role.key_bits, role.signature_bits),
                (*bits, *sig),
                "input {input}"
            );
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn post_replaces_and_patch_merges() {
        let stored = create(json!({
            "allowed_domains": "testlab.local",
            "allow_subdomains": true,
            "max_ttl": "1h",
            "key_type": "ec",
        }))
        .unwrap();
        // POST: everything not given returns to its default.
        let replaced = Role::from_write(Some(&stored), &body(json!({"ttl": "5m"}))).unwrap();
        assert!(!replaced.allow_subdomains);
        assert!(replaced.allowed_domains.is_empty());
        assert_eq!((replaced.ttl, replaced.max_ttl), (300, 0));
        assert_eq!(
            (replaced.key_type.as_str(), replaced.key_bits),
            ("rsa", 2048)
        );
        // PATCH: only the given fields change.
        let patched = stored.patch(&body(json!({"ttl": "5m"}))).unwrap();
        assert!(patched.allow_subdomains);
        assert_eq!(patched.allowed_domains, ["testlab.local"]);
        assert_eq!((patched.ttl, patched.max_ttl), (300, 3600));
        assert_eq!((patched.key_type.as_str(), patched.key_bits), ("ec", 256));
        // PATCH keeps the stored key_bits, so switching type alone fails as in Vault.
        let err = stored.patch(&body(json!({"key_type": "rsa"}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "RSA keys < 2048 bits are unsafe and not supported: got 256"
        );
        // And PATCH validates against stored values it did not touch.
        let err = stored.patch(&body(json!({"ttl": "2h"}))).unwrap_err();
        assert_eq!(err, RoleError::TtlAboveMaxTtl);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn reports_vaults_warnings() {
        let w = Role::write(
            None,
            &body(json!({"no_store": true, "generate_lease": true, "colour": "blue", "alpha": 1})),
            WriteMode::Replace,
        )
        .unwrap();
        assert!(!w.role.generate_lease);
        assert_eq!(
            w.warnings,
            [
                "mutually exclusive values no_store=true and generate_lease=true were both \
                 specified; no_store=true takes priority",
                "Endpoint ignored these unrecognized parameters: [alpha colour]",
            ]
        );
        let w = Role::write(
            None,
            &body(json!({"generate_lease": "true"})),
            WriteMode::Replace,
        )
        .unwrap();
        assert!(w.role.generate_lease);
        assert_eq!(w.warnings.len(), 1);
        assert!(w.warnings[0].starts_with("it is encouraged to disable generate_lease"));
        let plain = Role::write(None, &body(json!({"name": "web"})), WriteMode::Replace).unwrap();
        assert!(plain.warnings.is_empty());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn policy_identifiers_take_oids_or_vaults_json_form() {
        let role = create(json!({"policy_identifiers": "1.2.3.4, 2.5.29.32.0"})).unwrap();
        assert_eq!(role.policy_identifiers, ["1.2.3.4", "2.5.29.32.0"]);
        let role = create(json!({
            "policy_identifiers": r#"[{"oid":"1.3.6.1.4.1.7.8","notice":"hi"}]"#
        }))
        .unwrap();
        assert_eq!(role.policy_identifiers.len(), 1);
        assert!(role.policy_identifiers[0].contains("\"oid\":\"1.3.6.1.4.1.7.8\""));
        let err = create(json!({"policy_identifiers": "not-an-oid"})).unwrap_err();
        assert_eq!(err.field(), "policy_identifiers");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn serde_round_trips_the_response() {
        let role = create(json!({
            "allowed_domains": ["testlab.local"],
            "allow_subdomains": true,
            "max_ttl": "10m",
            "allowed_uri_sans": "spiffe://cluster.local/*",
        }))
        .unwrap();
        let back: Role = serde_json::from_value(role.to_response()).unwrap();
        assert_eq!(back, role);
        // Missing fields read back as Vault's defaults.
        let partial: Role = serde_json::from_value(json!({"allow_any_name": true})).unwrap();
        assert!(partial.allow_any_name && partial.enforce_hostnames && partial.require_cn);
    }

    /// Rows of `body | summary`.
    const SUMMARIES: &str = r#"
        {"allowed_domains": "testlab.local", "allow_subdomains": true, "allow_localhost": false, "max_ttl": "10m"} | names under testlab.local (subdomains only), up to 10 minutes, RSA ≥ 2048
        {"allowed_domains": "testlab.local", "allow_subdomains": true, "allow_bare_domains": true, "max_ttl": "2160h", "key_type": "any"} | testlab.local and names under it or localhost, up to 90 days, RSA ≥ 2048, EC or Ed25519
        {"allowed_domains": "testlab.local", "allow_bare_domains": true, "allow_localhost": false, "max_ttl": "1h30m", "key_bits": 4096} | testlab.local only, up to 1 hour 30 minutes, RSA ≥ 4096
        {"allow_any_name": true, "allow_wildcard_certificates": false, "key_type": "ec", "key_bits": 384} | any hostname (no wildcards), up to the mount's maximum TTL, EC ≥ P-384
        {"allow_any_name": true, "enforce_hostnames": false, "key_type": "ec"} | any name, up to the mount's maximum TTL, EC ≥ P-256
        {"allowed_domains": "foo-*.example.com", "allow_glob_domains": true, "allow_localhost": false, "max_ttl": 3600, "key_type": "ed25519"} | names matching foo-*.example.com, up to 1 hour, Ed25519
        {"allow_localhost": false, "max_ttl": "1h"} | no names, up to 1 hour, RSA ≥ 2048
    "#;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn describes_roles_for_people() {
        for row in SUMMARIES.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (input, want) = row.split_once(" | ").expect("row with two cells");
            let role = create(serde_json::from_str(input).unwrap()).unwrap();
            assert_eq!(role.describe(), want.trim(), "input {input}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn role_names_follow_vaults_pattern() {
        for ok in ["web", "a", "web-server", "web.server_1", "_x_"] {
            assert!(is_valid_role_name(ok), "{ok}");
        }
        for bad in ["", "-web", "web-", "web server", "web/x", ".web"] {
            assert!(!is_valid_role_name(bad), "{bad}");
        }
    }
}
