//! What a role allows: Vault's name checks (`ValidateNames`, `ValidateCommonName`, the
//! SAN rules of `GenerateCreationBundle`) and its key checks for sign requests, with
//! Vault's exact messages, for the engine and for the browser form alike.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::duration::go_quote;
use super::fields::parse_other_sans;
use super::role::Role;

/// The names a certificate request asks for, as Vault's `issue` and `sign` endpoints take
/// them (`alt_names` may hold DNS names and email addresses, and comma-joined lists).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NameRequest {
    pub common_name: String,
    pub alt_names: Vec<String>,
    pub ip_sans: Vec<String>,
    pub uri_sans: Vec<String>,
    pub exclude_cn_from_sans: bool,
}

/// Where the SANs of a request come from; Vault words some refusals differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SanSource {
    /// The API parameters (`alt_names`, `ip_sans`, `uri_sans`).
    #[default]
    Api,
    /// A CSR's extension, used when the role has `use_csr_sans`.
    Csr,
}

/// The names Vault would put in the certificate for an accepted request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertNames {
    pub common_name: String,
    /// DNS SANs, converted to ASCII (punycode), sorted and without duplicates.
    pub dns_names: Vec<String>,
    /// Email SANs, sorted and without duplicates.
    pub email_addresses: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    pub uris: Vec<String>,
}

/// Why the role's name rules refuse one name: the detail behind Vault's terse message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameRejection {
    /// The name has a `*` and the role has `allow_wildcard_certificates=false`.
    WildcardsForbidden,
    /// More than one `*`, or one outside the left-most label.
    MisplacedWildcard,
    /// An email address with a wildcard domain.
    WildcardEmail,
    /// More than one `@`.
    MalformedEmail,
    /// Not a valid hostname while the role has `enforce_hostnames`.
    NotAHostname,
    /// The role's `cn_validations` exclude this kind of common name.
    CnValidation { email: bool },
    /// No rule of the role covers the name; the hint says which rule came closest.
    NotAllowed { hint: String },
}

impl fmt::Display for NameRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameRejection::WildcardsForbidden => {
                f.write_str("the role does not allow wildcards (allow_wildcard_certificates)")
            }
            NameRejection::MisplacedWildcard => {
                f.write_str("a wildcard must be a single * in the left-most label")
            }
            NameRejection::WildcardEmail => f.write_str("an email address cannot be a wildcard"),
            NameRejection::MalformedEmail => {
                f.write_str("an email address must contain exactly one @")
            }
            NameRejection::NotAHostname => {
                f.write_str("not a valid hostname, and the role enforces hostnames")
            }
            NameRejection::CnValidation { email: true } => {
                f.write_str("the role's cn_validations do not allow an email address")
            }
            NameRejection::CnValidation { email: false } => {
                f.write_str("the role's cn_validations do not allow a hostname")
            }
            NameRejection::NotAllowed { hint } => f.write_str(hint),
        }
    }
}

/// A refused request. `Display` is Vault's exact message; name refusals also carry the
/// [`NameRejection`] that explains them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error(
        r#"the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false"#
    )]
    CommonNameRequired,
    #[error("common name {name} not allowed by this role")]
    CommonName { name: String, reason: NameRejection },
    #[error("subject alternate name {name} not allowed by this role")]
    AltName { name: String, reason: NameRejection },
    #[error("subject alternate name {0} is not a valid DNS name and cannot be included as a SAN")]
    AltNameNotDns(String),
    #[error("email address {name} not allowed by this role")]
    Email { name: String, reason: NameRejection },
    /// The IDNA conversion failed (Go's `idna: invalid label "..."`).
    #[error("{0}")]
    Idna(String),
    /// A single name checked on its own (see [`check_name`]); not a Vault message.
    #[error("{name} is not allowed by this role: {reason}")]
    Name { name: String, reason: NameRejection },
    #[error("serial_number {0} not allowed by this role")]
    SerialNumber(String),
    #[error("user_id {0} is not allowed by this role")]
    UserId(String),
    #[error("could not parse requested other SAN: {0}")]
    OtherSanSyntax(String),
    #[error("error parsing role's allowed SANs: {0}")]
    RoleOtherSans(String),
    #[error("other SAN {value} not allowed for OID {oid} by this role")]
    OtherSan { oid: String, value: String },
    #[error("other SAN OID {0} not allowed by this role")]
    OtherSanOid(String),
    #[error(
        "IP Subject Alternative Names are not allowed in this role, but was provided [{}]",
        .0.join(" ")
    )]
    IpSansNotAllowed(Vec<String>),
    #[error(
        "IP Subject Alternative Names are not allowed in this role, but was provided some via CSR"
    )]
    IpSansNotAllowedViaCsr,
    #[error("the value {} is not a valid IP address", go_quote(.0))]
    InvalidIp(String),
    #[error(
        "URI Subject Alternative Names are not allowed in this role, but were provided via the API"
    )]
    UriSansNotAllowed,
    #[error(
        "URI Subject Alternative Names are not allowed in this role, but were provided via CSR"
    )]
    UriSansNotAllowedViaCsr,
    /// Carries the URI, which Vault's message leaves out.
    #[error(
        "URI Subject Alternative Names were provided via the API which are not valid for this role"
    )]
    UriSanNotValid(String),
    #[error(
        "URI Subject Alternative Names were provided via CSR which are not valid for this role"
    )]
    UriSanNotValidViaCsr(String),
    #[error("the provided URI Subject Alternative Name {} is not a valid URI", go_quote(.0))]
    InvalidUri(String),
}

impl NameError {
    /// The detailed reason behind a name refusal, for a form to show under the message.
    pub fn reason(&self) -> Option<&NameRejection> {
        match self {
            NameError::CommonName { reason, .. }
            | NameError::AltName { reason, .. }
            | NameError::Email { reason, .. }
            | NameError::Name { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// A key a role refuses for signing, with Vault's messages from `signCert`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("role requires keys of type {0}")]
    WrongType(String),
    /// An RSA key below 2048 bits under a role with `key_type=any`.
    #[error("RSA keys < 2048 bits are unsafe and not supported")]
    RsaUnsafe,
    #[error("role requires a minimum of a {required}-bit key, but CSR's key is {actual} bits")]
    TooSmall { required: u32, actual: u32 },
    #[error("Vault requires a minimum of a 2048-bit key, but CSR's key is {0} bits")]
    BelowVaultMinimum(u32),
    #[error("Unknown key type in CSR: {0}")]
    UnknownKeyType(String),
    #[error("unsupported key type value: {0}")]
    UnsupportedRoleKeyType(String),
}

/// The key algorithms a browser can generate, in the order a form offers them.
const KEY_CANDIDATES: [(&str, u32); 6] = [
    ("ec", 256),
    ("ec", 384),
    ("ed25519", 0),
    ("rsa", 2048),
    ("rsa", 3072),
    ("rsa", 4096),
];

/// Vault's checks of a request's names against a role (issue, or sign without CSR SANs),
/// in Vault's order; the first refusal wins.
pub fn check_names(role: &Role, req: &NameRequest) -> Result<(), NameError> {
    resolve_names(role, req, SanSource::Api).map(|_| ())
}

/// Vault's `GenerateCreationBundle` name handling: checks the request and returns the
/// names the certificate gets. With [`SanSource::Csr`], `alt_names`, `ip_sans` and
/// `uri_sans` are the CSR's own SANs (taken as they are, as Vault does).
pub fn resolve_names(
    role: &Role,
    req: &NameRequest,
    source: SanSource,
) -> Result<CertNames, NameError> {
    let cn = req.common_name.as_str();
    if cn.is_empty() && role.require_cn {
        return Err(NameError::CommonNameRequired);
    }
    let mut dns_names = Vec::new();
    let mut emails = Vec::new();
    if source == SanSource::Csr {
        for name in &req.alt_names {
            if name.contains('@') {
                emails.push(name.clone());
            } else {
                dns_names.push(name.clone());
            }
        }
    }
    if !cn.is_empty() && !req.exclude_cn_from_sans {
        if cn.contains('@') {
            emails.push(cn.to_owned());
        } else {
            let converted = idna::to_ascii(cn).map_err(NameError::Idna)?;
            // A CN that is not a hostname stays in the subject only.
            if idna::is_wild_hostname(&converted) {
                dns_names.push(converted);
            }
        }
    }
    if source == SanSource::Api {
        for name in dedup_sorted(req.alt_names.iter().flat_map(|n| n.split(','))) {
            if name.contains('@') {
                emails.push(name);
            } else {
                let converted = idna::to_ascii(&name).map_err(NameError::Idna)?;
                if !idna::is_wild_hostname(&converted) {
                    return Err(NameError::AltNameNotDns(name));
                }
                dns_names.push(converted);
            }
        }
    }

    if !cn.is_empty() {
        validate_common_name(role, cn).map_err(|reason| NameError::CommonName {
            name: cn.to_owned(),
            reason,
        })?;
    }
    for name in &dns_names {
        validate_name(role, name).map_err(|reason| NameError::AltName {
            name: name.clone(),
            reason,
        })?;
    }
    for name in &emails {
        validate_name(role, name).map_err(|reason| NameError::Email {
            name: name.clone(),
            reason,
        })?;
    }

    let mut ip_addresses = Vec::new();
    if !req.ip_sans.is_empty() {
        if !role.allow_ip_sans {
            return Err(match source {
                SanSource::Api => NameError::IpSansNotAllowed(req.ip_sans.clone()),
                SanSource::Csr => NameError::IpSansNotAllowedViaCsr,
            });
        }
        for ip in &req.ip_sans {
            ip_addresses.push(parse_ip(ip)?);
        }
    }

    let mut uris = Vec::new();
    if !req.uri_sans.is_empty() {
        if role.allowed_uri_sans.is_empty() {
            return Err(match source {
                SanSource::Api => NameError::UriSansNotAllowed,
                SanSource::Csr => NameError::UriSansNotAllowedViaCsr,
            });
        }
        for uri in &req.uri_sans {
            if !uri_allowed(role, uri) {
                return Err(match source {
                    SanSource::Api => NameError::UriSanNotValid(uri.clone()),
                    SanSource::Csr => NameError::UriSanNotValidViaCsr(uri.clone()),
                });
            }
            if source == SanSource::Api && !is_parseable_uri(uri) {
                return Err(NameError::InvalidUri(uri.clone()));
            }
            uris.push(uri.clone());
        }
    }

    Ok(CertNames {
        common_name: cn.to_owned(),
        dns_names: dedup_sorted(dns_names),
        email_addresses: dedup_sorted(emails),
        ip_addresses,
        uris,
    })
}

/// Whether the role's name rules (Vault's `ValidateNames`) allow one DNS name or email
/// address, explaining a refusal.
pub fn check_name(role: &Role, name: &str) -> Result<(), NameError> {
    validate_name(role, name).map_err(|reason| NameError::Name {
        name: name.to_owned(),
        reason,
    })
}

/// Whether `cn` is allowed as the common name (`cn_validations`, then the name rules).
pub fn check_common_name(role: &Role, cn: &str) -> Result<(), NameError> {
    if cn.is_empty() {
        return if role.require_cn {
            Err(NameError::CommonNameRequired)
        } else {
            Ok(())
        };
    }
    validate_common_name(role, cn).map_err(|reason| NameError::CommonName {
        name: cn.to_owned(),
        reason,
    })
}

/// Whether one `alt_names` entry is allowed: a valid DNS name (or an email address) that
/// the role's name rules allow.
pub fn check_alt_name(role: &Role, name: &str) -> Result<(), NameError> {
    if name.contains('@') {
        return validate_name(role, name).map_err(|reason| NameError::Email {
            name: name.to_owned(),
            reason,
        });
    }
    let converted = idna::to_ascii(name).map_err(NameError::Idna)?;
    if !idna::is_wild_hostname(&converted) {
        return Err(NameError::AltNameNotDns(name.to_owned()));
    }
    validate_name(role, &converted).map_err(|reason| NameError::AltName {
        name: converted,
        reason,
    })
}

/// Whether one IP SAN is allowed (Vault allows any valid IP when `allow_ip_sans`).
pub fn check_ip_san(role: &Role, ip: &str) -> Result<(), NameError> {
    if !role.allow_ip_sans {
        return Err(NameError::IpSansNotAllowed(vec![ip.to_owned()]));
    }
    parse_ip(ip).map(|_| ())
}

/// Whether one URI SAN matches one of the role's `allowed_uri_sans` globs.
pub fn check_uri_san(role: &Role, uri: &str) -> Result<(), NameError> {
    if role.allowed_uri_sans.is_empty() {
        return Err(NameError::UriSansNotAllowed);
    }
    if !uri_allowed(role, uri) {
        return Err(NameError::UriSanNotValid(uri.to_owned()));
    }
    if !is_parseable_uri(uri) {
        return Err(NameError::InvalidUri(uri.to_owned()));
    }
    Ok(())
}

/// Vault's `ValidateSerialNumber`: the subject serial number must match an entry (or a
/// glob entry) of `allowed_serial_numbers`.
pub fn check_serial_number(role: &Role, serial: &str) -> Result<(), NameError> {
    let allowed = role
        .allowed_serial_numbers
        .iter()
        .filter(|p| !p.is_empty())
        .any(|p| p == serial || (p.contains('*') && glob_match(p, serial)));
    if allowed {
        Ok(())
    } else {
        Err(NameError::SerialNumber(serial.to_owned()))
    }
}

/// Vault's `ValidateUserId`: the user ID must equal (ignoring case) or glob-match an
/// entry of `allowed_user_ids`; an empty list allows none.
pub fn check_user_id(role: &Role, user_id: &str) -> Result<(), NameError> {
    let list = &role.allowed_user_ids;
    let allowed = list.iter().any(|p| eq_fold(p, user_id))
        || list
            .iter()
            .any(|p| p.contains('*') && glob_match(p, user_id));
    if allowed {
        Ok(())
    } else {
        Err(NameError::UserId(user_id.to_owned()))
    }
}

/// Vault's other-SAN checks: each requested `<oid>;UTF8:<value>` must match an entry of
/// `allowed_other_sans` for the same OID (values are globs), unless that list is `*`.
pub fn check_other_sans(role: &Role, requested: &[String]) -> Result<(), NameError> {
    if requested.is_empty() {
        return Ok(());
    }
    let requested = parse_other_sans(requested).map_err(NameError::OtherSanSyntax)?;
    if role.allowed_other_sans.len() == 1 && role.allowed_other_sans[0] == "*" {
        return Ok(());
    }
    let allowed = parse_other_sans(&role.allowed_other_sans).map_err(NameError::RoleOtherSans)?;
    for (oid, value) in requested {
        let mut patterns = allowed.iter().filter(|(o, _)| *o == oid).peekable();
        if patterns.peek().is_none() {
            return Err(NameError::OtherSanOid(oid));
        }
        if !patterns.any(|(_, p)| glob_match(p, &value)) {
            return Err(NameError::OtherSan { oid, value });
        }
    }
    Ok(())
}

/// Vault's key checks when signing a CSR whose key is `key_type` (`rsa`, `ec`, `ed25519`)
/// of `bits` bits (0 for Ed25519).
pub fn check_key(role: &Role, key_type: &str, bits: u32) -> Result<(), KeyError> {
    let required = match role.key_type.as_str() {
        "rsa" | "ec" | "ed25519" => {
            if key_type != role.key_type {
                return Err(KeyError::WrongType(role.key_type.clone()));
            }
            role.effective_key_bits()
        }
        "any" => match key_type {
            "rsa" if bits < 2048 => return Err(KeyError::RsaUnsafe),
            "rsa" => 2048,
            // Vault lowers the minimum to P-224 for `any`.
            "ec" => 224,
            "ed25519" => 0,
            other => return Err(KeyError::UnknownKeyType(other.to_owned())),
        },
        other => return Err(KeyError::UnsupportedRoleKeyType(other.to_owned())),
    };
    match key_type {
        "rsa" if bits < required => Err(KeyError::TooSmall {
            required,
            actual: bits,
        }),
        "rsa" if bits < 2048 => Err(KeyError::BelowVaultMinimum(bits)),
        "ec" if bits < required => Err(KeyError::TooSmall {
            required,
            actual: bits,
        }),
        _ => Ok(()),
    }
}

/// The key algorithms a browser may generate for this role, from P-256, P-384, Ed25519
/// and RSA 2048/3072/4096, as `(key_type, bits)`.
pub fn allowed_key_choices(role: &Role) -> Vec<(String, u32)> {
    KEY_CANDIDATES
        .iter()
        .filter(|(key_type, bits)| check_key(role, key_type, *bits).is_ok())
        .map(|(key_type, bits)| ((*key_type).to_owned(), *bits))
        .collect()
}

/// `ryanuber/go-glob` as Vault uses it: `*` matches any run of characters, dots included.
pub fn glob_match(pattern: &str, subject: &str) -> bool {
    if pattern.is_empty() {
        return subject.is_empty();
    }
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return subject == pattern;
    }
    let leading = pattern.starts_with('*');
    let trailing = pattern.ends_with('*');
    let end = parts.len() - 1;
    let mut rest = subject;
    for (i, part) in parts[..end].iter().enumerate() {
        let Some(idx) = rest.find(part) else {
            return false;
        };
        if i == 0 && !leading && idx != 0 {
            return false;
        }
        rest = &rest[idx + part.len()..];
    }
    trailing || rest.ends_with(parts[end])
}

/// Converts a DNS name to ASCII as Vault does before using it (punycode for non-ASCII
/// labels), or gives Go's IDNA error.
pub fn to_ascii_hostname(name: &str) -> Result<String, NameError> {
    idna::to_ascii(name).map_err(NameError::Idna)
}

/// Vault's `ValidateCommonName`.
fn validate_common_name(role: &Role, cn: &str) -> Result<(), NameRejection> {
    if role.cn_validations.len() == 1 && role.cn_validations[0] == "disabled" {
        return Ok(());
    }
    validate_name(role, cn)?;
    if role.cn_validations.is_empty() {
        return Ok(());
    }
    let email = cn.contains('@');
    let wanted = if email { "email" } else { "hostname" };
    if role.cn_validations.iter().any(|v| v == wanted) {
        Ok(())
    } else {
        Err(NameRejection::CnValidation { email })
    }
}

/// Vault's `ValidateNames` for one name.
fn validate_name(role: &Role, name: &str) -> Result<(), NameRejection> {
    let mut reduced = name;
    let mut email_domain = name;
    let mut is_email = false;
    let mut is_wildcard = false;
    let mut wildcard_label = "";

    if name.contains('@') {
        let parts: Vec<&str> = name.split('@').collect();
        if parts.len() != 2 {
            return Err(NameRejection::MalformedEmail);
        }
        reduced = parts[1];
        email_domain = parts[1];
        is_email = true;
    }

    if reduced.contains('*') {
        is_wildcard = true;
        // Takes precedence over allow_any_name.
        if !role.allow_wildcard_certificates {
            return Err(NameRejection::WildcardsForbidden);
        }
        let (label, rest) = split_wildcard(reduced).ok_or(NameRejection::MisplacedWildcard)?;
        wildcard_label = label;
        reduced = rest;
    }

    if is_email && is_wildcard {
        return Err(NameRejection::WildcardEmail);
    }

    // Applies even with allow_any_name.
    if role.enforce_hostnames && !reduced.is_empty() {
        let converted = idna::to_ascii(reduced).map_err(|_| NameRejection::NotAHostname)?;
        let full = if is_wildcard {
            format!("{wildcard_label}.{converted}")
        } else {
            converted
        };
        if !idna::is_wild_hostname(&full) {
            return Err(NameRejection::NotAHostname);
        }
    }

    if role.allow_any_name {
        return Ok(());
    }

    if role.allow_localhost {
        let local = ["localhost", "localdomain"];
        if local.contains(&reduced) || (is_email && local.contains(&email_domain)) {
            return Ok(());
        }
        if role.allow_subdomains
            && local
                .iter()
                .any(|l| reduced.ends_with(&format!(".{l}")) || (is_wildcard && reduced == *l))
        {
            return Ok(());
        }
    }

    for domain in role.allowed_domains.iter().filter(|d| !d.is_empty()) {
        // Bare and glob matches ignore case; the subdomain suffix match does not.
        if role.allow_bare_domains
            && (eq_fold(name, domain) || (is_email && eq_fold(email_domain, domain)))
        {
            return Ok(());
        }
        if role.allow_subdomains
            && (reduced.ends_with(&format!(".{domain}"))
                || (is_wildcard && eq_fold(reduced, domain)))
        {
            return Ok(());
        }
        if role.allow_glob_domains
            && domain.contains('*')
            && glob_match(&domain.to_lowercase(), &name.to_lowercase())
        {
            return Ok(());
        }
    }

    Err(NameRejection::NotAllowed {
        hint: not_allowed_hint(role, name, reduced, email_domain, is_email, is_wildcard),
    })
}

/// Which role option would have allowed a refused name, for people.
fn not_allowed_hint(
    role: &Role,
    name: &str,
    reduced: &str,
    email_domain: &str,
    is_email: bool,
    is_wildcard: bool,
) -> String {
    let local = ["localhost", "localdomain"];
    if local.contains(&reduced) || (is_email && local.contains(&email_domain)) {
        return "localhost and localdomain need allow_localhost".to_owned();
    }
    if local
        .iter()
        .any(|l| reduced.ends_with(&format!(".{l}")) || (is_wildcard && reduced == *l))
    {
        return if role.allow_localhost {
            "names under localhost need allow_subdomains".to_owned()
        } else {
            "names under localhost need allow_localhost and allow_subdomains".to_owned()
        };
    }
    let domains: Vec<&String> = role
        .allowed_domains
        .iter()
        .filter(|d| !d.is_empty())
        .collect();
    for domain in &domains {
        if eq_fold(name, domain) || (is_email && eq_fold(email_domain, domain)) {
            return format!("{domain} itself needs allow_bare_domains");
        }
        let dotted = format!(".{domain}");
        if reduced.ends_with(&dotted) || (is_wildcard && eq_fold(reduced, domain)) {
            return format!("names under {domain} need allow_subdomains");
        }
        if reduced.to_lowercase().ends_with(&dotted.to_lowercase()) {
            return format!(
                "names under {domain} must end in exactly \"{dotted}\" (this match is case-sensitive)"
            );
        }
        if domain.contains('*') && glob_match(&domain.to_lowercase(), &name.to_lowercase()) {
            return format!("the pattern {domain} needs allow_glob_domains");
        }
    }
    if domains.is_empty() {
        "the role has no allowed_domains and does not allow any name".to_owned()
    } else {
        let list: Vec<&str> = domains.iter().map(|d| d.as_str()).collect();
        format!("not covered by the allowed domains ({})", list.join(", "))
    }
}

/// Vault's `ValidateWildcardDomain`: `(wildcard label, rest)`, or `None` when the `*` is
/// repeated or not in the left-most label.
fn split_wildcard(name: &str) -> Option<(&str, &str)> {
    if name.matches('*').count() > 1 {
        return None;
    }
    match name.split_once('.') {
        None => Some((name, "")),
        Some((_, rest)) if rest.contains('*') => None,
        Some(pair) => Some(pair),
    }
}

/// Go's `strings.EqualFold`, close enough for domain names.
fn eq_fold(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// Trimmed, non-empty, sorted, without duplicates (Go's `strutil.RemoveDuplicates`).
fn dedup_sorted<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<String> = items
        .into_iter()
        .map(|s| s.as_ref().trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn parse_ip(ip: &str) -> Result<IpAddr, NameError> {
    ip.parse::<IpAddr>()
        .map_err(|_| NameError::InvalidIp(ip.to_owned()))
}

fn uri_allowed(role: &Role, uri: &str) -> bool {
    role.allowed_uri_sans.iter().any(|p| glob_match(p, uri))
}

/// The cases where Go's lenient `url.Parse` fails: control characters, bad `%` escapes,
/// a missing scheme before `:`, a non-numeric port.
fn is_parseable_uri(uri: &str) -> bool {
    if uri.chars().any(|c| (c as u32) < 0x20 || c == '\u{7f}') || uri.starts_with(':') {
        return false;
    }
    let bytes = uri.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit())
        {
            return false;
        }
    }
    if let Some((_, rest)) = uri.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if !host_port.ends_with(']')
            && let Some((_, port)) = host_port.rsplit_once(':')
            && !port.bytes().all(|b| b.is_ascii_digit())
        {
            return false;
        }
    }
    true
}

/// Go's `golang.org/x/net/idna` with the profile Vault uses (`StrictDomainName`,
/// `VerifyDNSLength`, no mapping), and Vault's hostname regular expression.
mod idna {
    use super::go_quote;

    /// `^(leftWild\.)?(label\.)*label\.?$` where a label is `[a-zA-Z0-9]` or
    /// `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]` and `leftWild` is a label with one `*`.
    pub(super) fn is_wild_hostname(s: &str) -> bool {
        let body = s.strip_suffix('.').unwrap_or(s);
        let labels: Vec<&str> = body.split('.').collect();
        let Some((first, rest)) = labels.split_first() else {
            return false;
        };
        if rest.is_empty() {
            return is_label(first);
        }
        (is_label(first) || is_wild_label(first)) && rest.iter().all(|l| is_label(l))
    }

    fn is_label(l: &str) -> bool {
        let b = l.as_bytes();
        !b.is_empty()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    }

    fn is_wild_label(l: &str) -> bool {
        match l.split_once('*') {
            Some((pre, post)) => {
                !post.contains('*')
                    && (pre.is_empty() || is_label(pre))
                    && (post.is_empty() || is_label(post))
            }
            None => false,
        }
    }

    fn label_error(label: &str) -> String {
        format!("idna: invalid label {}", go_quote(label))
    }

    /// Go's `labelIter`, including its quirks at the end of the name.
    struct Labels<'a> {
        orig: &'a str,
        slice: Option<Vec<String>>,
        cur_start: usize,
        cur_end: usize,
        i: usize,
    }

    impl<'a> Labels<'a> {
        fn new(orig: &'a str) -> Self {
            Labels {
                orig,
                slice: None,
                cur_start: 0,
                cur_end: 0,
                i: 0,
            }
        }

        fn reset(&mut self) {
            self.cur_start = 0;
            self.cur_end = 0;
            self.i = 0;
        }

        fn done(&self) -> bool {
            self.cur_start >= self.orig.len()
        }

        fn label(&mut self) -> String {
            if let Some(slice) = &self.slice {
                return slice[self.i].clone();
            }
            let tail = &self.orig[self.cur_start..];
            self.cur_end = tail
                .find('.')
                .map_or(self.orig.len(), |p| self.cur_start + p);
            self.orig[self.cur_start..self.cur_end].to_owned()
        }

        fn next(&mut self) {
            self.i += 1;
            if let Some(slice) = &self.slice {
                if self.i >= slice.len() || (self.i == slice.len() - 1 && slice[self.i].is_empty())
                {
                    self.cur_start = self.orig.len();
                }
            } else {
                self.cur_start = self.cur_end + 1;
                if self.cur_start + 1 == self.orig.len()
                    && self.orig.as_bytes()[self.cur_start] == b'.'
                {
                    self.cur_start = self.orig.len();
                }
            }
        }

        fn set(&mut self, label: String) {
            let orig = self.orig;
            let slice = self
                .slice
                .get_or_insert_with(|| orig.split('.').map(str::to_owned).collect());
            slice[self.i] = label;
        }

        fn result(&self) -> String {
            match &self.slice {
                Some(slice) => slice.join("."),
                None => self.orig.to_owned(),
            }
        }
    }

    /// `Profile.ToASCII`; the error is Go's message.
    pub(super) fn to_ascii(s: &str) -> Result<String, String> {
        let mut err: Option<String> = None;
        if s.is_empty() {
            err = Some(label_error(s));
        }
        let mut labels = Labels::new(s);
        while !labels.done() {
            let label = labels.label();
            if label.is_empty() {
                err.get_or_insert_with(|| label_error(s));
            } else if let Some(encoded) = label.strip_prefix("xn--") {
                match punycode::decode(encoded) {
                    Some(decoded) => {
                        if decoded.is_empty() {
                            err.get_or_insert_with(|| label_error(""));
                        }
                        labels.set(decoded);
                    }
                    None => {
                        err.get_or_insert_with(|| label_error(encoded));
                    }
                }
            }
            labels.next();
        }
        labels.reset();
        while !labels.done() {
            let mut label = labels.label();
            if !label.is_ascii() {
                let encoded = match punycode::encode(&label) {
                    Some(a) => format!("xn--{a}"),
                    None => {
                        err.get_or_insert_with(|| label_error(&label));
                        String::new()
                    }
                };
                label = encoded;
                labels.set(label.clone());
            }
            if err.is_none() && (label.is_empty() || label.len() > 63) {
                err = Some(label_error(&label));
            }
            labels.next();
        }
        let out = labels.result();
        if err.is_none() {
            let n = out.strip_suffix('.').map_or(out.len(), str::len);
            if out.is_empty() || n > 253 {
                err = Some(label_error(&out));
            }
        }
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// RFC 3492 Punycode, ported from Go's `x/net/idna` (same overflow limits).
    pub(super) mod punycode {
        const BASE: i64 = 36;
        const DAMP: i64 = 700;
        const INITIAL_BIAS: i64 = 72;
        const INITIAL_N: i64 = 128;
        const SKEW: i64 = 38;
        const TMAX: i64 = 26;
        const TMIN: i64 = 1;
        const MAX_I32: i64 = i32::MAX as i64;

        fn adapt(delta: i64, num_points: i64, first_time: bool) -> i64 {
            let mut delta = if first_time { delta / DAMP } else { delta / 2 };
            delta += delta / num_points;
            let mut k = 0;
            while delta > ((BASE - TMIN) * TMAX) / 2 {
                delta /= BASE - TMIN;
                k += BASE;
            }
            k + (BASE - TMIN + 1) * delta / (delta + SKEW)
        }

        /// `a + b*c` within `int32`, as Go's `madd`.
        fn madd(a: i64, b: i64, c: i64) -> Option<i64> {
            let p = b * c;
            (p <= MAX_I32 - a).then_some(a + p)
        }

        fn threshold(k: i64, bias: i64) -> i64 {
            if k <= bias {
                TMIN
            } else if k >= bias + TMAX {
                TMAX
            } else {
                k - bias
            }
        }

        fn encode_digit(d: i64) -> char {
            let d = d as u8;
            if d < 26 {
                (b'a' + d) as char
            } else {
                (b'0' + d - 26) as char
            }
        }

        fn decode_digit(c: u8) -> Option<i64> {
            match c {
                b'0'..=b'9' => Some(i64::from(c - b'0') + 26),
                b'A'..=b'Z' => Some(i64::from(c - b'A')),
                b'a'..=b'z' => Some(i64::from(c - b'a')),
                _ => None,
            }
        }

        /// Encodes a label (without the `xn--` prefix).
        pub(in super::super) fn encode(s: &str) -> Option<String> {
            let runes: Vec<i64> = s.chars().map(|c| i64::from(u32::from(c))).collect();
            let mut out = String::new();
            let mut basic = 0i64;
            let mut remaining = 0i64;
            for &r in &runes {
                if r < 0x80 {
                    basic += 1;
                    out.push(char::from(r as u8));
                } else {
                    remaining += 1;
                }
            }
            let mut h = basic;
            if basic > 0 {
                out.push('-');
            }
            let (mut delta, mut n, mut bias) = (0i64, INITIAL_N, INITIAL_BIAS);
            while remaining != 0 {
                let m = runes.iter().copied().filter(|&r| r >= n).min()?;
                delta = madd(delta, m - n, h + 1)?;
                n = m;
                for &r in &runes {
                    if r < n {
                        delta += 1;
                        if delta > MAX_I32 {
                            return None;
                        }
                        continue;
                    }
                    if r > n {
                        continue;
                    }
                    let mut q = delta;
                    let mut k = BASE;
                    loop {
                        let t = threshold(k, bias);
                        if q < t {
                            break;
                        }
                        out.push(encode_digit(t + (q - t) % (BASE - t)));
                        q = (q - t) / (BASE - t);
                        k += BASE;
                    }
                    out.push(encode_digit(q));
                    bias = adapt(delta, h + 1, h == basic);
                    delta = 0;
                    h += 1;
                    remaining -= 1;
                }
                delta += 1;
                n += 1;
            }
            Some(out)
        }

        /// Decodes a label (without the `xn--` prefix); `None` where Go fails.
        pub(in super::super) fn decode(encoded: &str) -> Option<String> {
            if encoded.is_empty() {
                return Some(String::new());
            }
            let bytes = encoded.as_bytes();
            let mut pos = encoded.rfind('-').map_or(0, |i| i + 1);
            if pos == 1 {
                return None;
            }
            if pos == bytes.len() {
                return Some(encoded[..bytes.len() - 1].to_owned());
            }
            let mut output: Vec<char> = if pos > 0 {
                encoded[..pos - 1].chars().collect()
            } else {
                Vec::new()
            };
            let (mut i, mut n, mut bias) = (0i64, INITIAL_N, INITIAL_BIAS);
            while pos < bytes.len() {
                let old_i = i;
                let mut w = 1i64;
                let mut k = BASE;
                loop {
                    let digit = decode_digit(*bytes.get(pos)?)?;
                    pos += 1;
                    i = madd(i, digit, w)?;
                    let t = threshold(k, bias);
                    if digit < t {
                        break;
                    }
                    w = madd(0, w, BASE - t)?;
                    k += BASE;
                }
                if output.len() >= 1024 {
                    return None;
                }
                let x = output.len() as i64 + 1;
                bias = adapt(i - old_i, x, old_i == 0);
                n += i / x;
                i %= x;
                let c = u32::try_from(n).ok().and_then(char::from_u32)?;
                output.insert(usize::try_from(i).ok()?, c);
                i += 1;
            }
            Some(output.into_iter().collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn role(v: Value) -> Role {
        match v {
            Value::Object(m) => Role::from_write(None, &m).expect("valid test role"),
            _ => panic!("role body must be an object"),
        }
    }

    /// The roles the tables below refer to by name.
    fn named_role(key: &str) -> Role {
        role(match key {
            "sub" => json!({"allowed_domains": "testlab.local", "allow_subdomains": true}),
            "bare" => json!({"allowed_domains": "testlab.local", "allow_bare_domains": true}),
            "both" => json!({"allowed_domains": "testlab.local", "allow_subdomains": true,
                             "allow_bare_domains": true}),
            "multi" => json!({"allowed_domains": ["example.com", "testlab.local"],
                              "allow_subdomains": true}),
            "no_wild" => json!({"allowed_domains": "testlab.local", "allow_subdomains": true,
                                "allow_wildcard_certificates": false}),
            "any" => json!({"allow_any_name": true}),
            "any_loose" => json!({"allow_any_name": true, "enforce_hostnames": false}),
            "any_no_wild" => json!({"allow_any_name": true, "allow_wildcard_certificates": false}),
            "glob" => json!({"allowed_domains": "*.example.com", "allow_glob_domains": true}),
            "glob_foo" => json!({"allowed_domains": "foo-*.example.com",
                                 "allow_glob_domains": true}),
            "glob_off" => json!({"allowed_domains": "foo-*.example.com"}),
            "glob_case" => json!({"allowed_domains": "*.Example.com", "allow_glob_domains": true}),
            "default" => json!({}),
            "no_local" => json!({"allow_localhost": false}),
            "local_sub" => json!({"allow_subdomains": true}),
            "comma" => json!({"allowed_domains": "testlab.local,", "allow_subdomains": true}),
            "comma_loose" => json!({"allowed_domains": "testlab.local,", "allow_subdomains": true,
                                    "allow_bare_domains": true, "enforce_hostnames": false,
                                    "allow_localhost": false}),
            "no_ip" => json!({"allow_ip_sans": false}),
            "spiffe" => json!({"allowed_uri_sans": ["spiffe://cluster.local/*",
                                                    "https://exact.example/"]}),
            "rsa3072" => json!({"key_bits": 3072}),
            "ec" => json!({"key_type": "ec"}),
            "ec384" => json!({"key_type": "ec", "key_bits": 384}),
            "ec521" => json!({"key_type": "ec", "key_bits": 521}),
            "ed" => json!({"key_type": "ed25519"}),
            "key_any" => json!({"key_type": "any"}),
            other => panic!("no test role {other}"),
        })
    }

    /// Rows of `a | b | c` cells; `#` starts a comment line and `""` is the empty string.
    fn rows(table: &str) -> Vec<Vec<&str>> {
        table
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                l.split('|')
                    .map(str::trim)
                    .map(|c| if c == "\"\"" { "" } else { c })
                    .collect()
            })
            .collect()
    }

    fn req(cn: &str, alt: &[&str]) -> NameRequest {
        NameRequest {
            common_name: cn.to_owned(),
            alt_names: alt.iter().map(|s| (*s).to_owned()).collect(),
            ..NameRequest::default()
        }
    }

    /// Vault's documented name semantics: role, name, verdict.
    const NAME_TABLE: &str = r#"
        # Subdomains and bare domains.
        sub         | fruits.testlab.local       | allowed
        sub         | testlab.local              | refused
        bare        | testlab.local              | allowed
        bare        | fruits.testlab.local       | refused
        both        | testlab.local              | allowed
        both        | fruits.testlab.local       | allowed
        sub         | evil-testlab.local         | refused
        both        | evil-testlab.local         | refused
        sub         | a.b.c.testlab.local        | allowed
        sub         | testlab.local.evil.com     | refused
        sub         | fruits.testlab.localx      | refused
        multi       | www.example.com            | allowed
        multi       | www.testlab.local          | allowed
        multi       | www.example.org            | refused
        # Wildcards (RFC 6125: one *, left-most label, possibly partial).
        sub         | *.testlab.local            | allowed
        sub         | *.sub.testlab.local        | allowed
        bare        | *.testlab.local            | refused
        no_wild     | *.testlab.local            | refused
        any_no_wild | *.example.com              | refused
        any         | *.example.com              | allowed
        sub         | *.*.testlab.local          | refused
        sub         | a.*.testlab.local          | refused
        sub         | foo*.testlab.local         | allowed
        sub         | *foo.testlab.local         | allowed
        sub         | f*o.testlab.local          | allowed
        sub         | *foo*.testlab.local        | refused
        sub         | *-.testlab.local           | refused
        sub         | *                          | refused
        any         | *                          | allowed
        # Globs: `*` spans dots; glob matching ignores case.
        glob        | a.b.example.com            | allowed
        glob        | www.example.com            | allowed
        glob        | example.com                | refused
        glob_foo    | foo-bar.example.com        | allowed
        glob_foo    | foo-a.b.example.com        | allowed
        glob_foo    | foo-.example.com           | refused
        glob_foo    | bar-foo-x.example.com      | refused
        glob_off    | foo-bar.example.com        | refused
        glob_case   | a.EXAMPLE.com              | allowed
        # allow_any_name still enforces hostnames (IDNA, then Vault's hostname pattern).
        any         | not a hostname!            | refused
        any_loose   | not a hostname!            | allowed
        any         | under_score.example.com    | refused
        any         | -leading.example.com       | refused
        any         | trailing-.example.com      | refused
        any         | a..b.example.com           | refused
        any         | xn--bcher-kva.example.com  | allowed
        any         | bücher.example.com         | allowed
        sub         | bücher.testlab.local       | allowed
        any         | fruits.testlab.local.      | allowed
        # localhost and localdomain.
        default     | localhost                  | allowed
        default     | localdomain                | allowed
        no_local    | localhost                  | refused
        default     | sub.localhost              | refused
        local_sub   | sub.localhost              | allowed
        local_sub   | *.localhost                | allowed
        default     | user@localhost             | allowed
        default     | example.com                | refused
        # Email addresses: the domain part is checked.
        bare        | user@testlab.local         | allowed
        sub         | user@testlab.local         | refused
        sub         | user@mail.testlab.local    | allowed
        sub         | user@*.testlab.local       | refused
        both        | a@b@testlab.local          | refused
        sub         | user@evil.local            | refused
        # Case: bare domains compare case-insensitively, subdomain suffixes do not.
        bare        | TESTLAB.LOCAL              | allowed
        sub         | FRUITS.testlab.local       | allowed
        sub         | FRUITS.TestLab.local       | refused
        # A trailing dot is not a subdomain; empty allowed_domains entries match nothing.
        sub         | fruits.testlab.local.      | refused
        comma       | fruits.testlab.local       | allowed
        comma_loose | foo.                       | refused
        comma_loose | ""                         | refused
    "#;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn name_rules_table() {
        let table = rows(NAME_TABLE);
        assert!(table.len() >= 40);
        for row in table {
            let [key, name, verdict] = row[..] else {
                panic!("bad row {row:?}");
            };
            let result = check_name(&named_role(key), name);
            assert_eq!(
                result.is_ok(),
                verdict == "allowed",
                "{name:?} under {key}: {result:?}"
            );
        }
        let any = named_role("any");
        assert!(check_name(&any, &format!("{}.example.com", "a".repeat(63))).is_ok());
        assert!(check_name(&any, &format!("{}.example.com", "a".repeat(64))).is_err());
    }

    const HINT_TABLE: &str = r#"
        sub  | testlab.local          | testlab.local itself needs allow_bare_domains
        bare | www.testlab.local      | names under testlab.local need allow_subdomains
        sub  | WWW.TESTLAB.LOCAL      | names under testlab.local must end in exactly ".testlab.local" (this match is case-sensitive)
        sub  | evil.com               | not covered by the allowed domains (testlab.local)
        bare | sub.localhost          | names under localhost need allow_subdomains
        no_local | localhost          | localhost and localdomain need allow_localhost
        no_local | x.com              | the role has no allowed_domains and does not allow any name
        glob_off | foo-a.example.com  | the pattern foo-*.example.com needs allow_glob_domains
        sub  | a.*.testlab.local      | a wildcard must be a single * in the left-most label
        no_wild | *.testlab.local     | the role does not allow wildcards (allow_wildcard_certificates)
        sub  | bad_name.testlab.local | not a valid hostname, and the role enforces hostnames
        sub  | a@b@c                  | an email address must contain exactly one @
        sub  | me@*.testlab.local     | an email address cannot be a wildcard
    "#;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn refusals_explain_themselves() {
        for row in rows(HINT_TABLE) {
            let [key, name, want] = row[..] else {
                panic!("bad row {row:?}");
            };
            let err = check_name(&named_role(key), name).unwrap_err();
            let reason = err.reason().map(ToString::to_string);
            assert_eq!(reason.as_deref(), Some(want), "{name} under {key}");
            assert_eq!(
                err.to_string(),
                format!("{name} is not allowed by this role: {want}")
            );
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn request_messages_are_vaults() {
        let sub = role(
            json!({"allowed_domains": "testlab.local", "allow_subdomains": true,
                              "allow_localhost": false}),
        );
        let no_ip = role(json!({"allow_any_name": true, "allow_ip_sans": false}));
        let uri = role(json!({"allow_any_name": true,
                              "allowed_uri_sans": "spiffe://cluster.local/*"}));
        let with = |ips: &[&str], uris: &[&str]| NameRequest {
            ip_sans: ips.iter().map(|s| (*s).to_owned()).collect(),
            uri_sans: uris.iter().map(|s| (*s).to_owned()).collect(),
            ..req("a.example.com", &[])
        };
        let cases: Vec<(&Role, NameRequest, &str)> = vec![
            (
                &sub,
                req("evil.com", &[]),
                "common name evil.com not allowed by this role",
            ),
            (
                &sub,
                req(
                    "www.testlab.local",
                    &["api.testlab.local", "evil.testlab.org"],
                ),
                "subject alternate name evil.testlab.org not allowed by this role",
            ),
            // Vault sorts alt_names, so the first refused is the first in order.
            (
                &sub,
                req("www.testlab.local", &["z.evil.com", "a.evil.com"]),
                "subject alternate name a.evil.com not allowed by this role",
            ),
            (
                &sub,
                req("www.testlab.local", &["api.testlab.local,b.evil.com"]),
                "subject alternate name b.evil.com not allowed by this role",
            ),
            (
                &sub,
                req("www.testlab.local", &["not a host"]),
                "subject alternate name not a host is not a valid DNS name and cannot be \
                 included as a SAN",
            ),
            (
                &sub,
                req("www.testlab.local", &["bob@evil.com"]),
                "email address bob@evil.com not allowed by this role",
            ),
            (
                &sub,
                req("a..testlab.local", &[]),
                r#"idna: invalid label "a..testlab.local""#,
            ),
            (
                &sub,
                req("", &["www.testlab.local"]),
                r#"the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false"#,
            ),
            (
                &no_ip,
                with(&["10.0.0.1", "10.0.0.2"], &[]),
                "IP Subject Alternative Names are not allowed in this role, but was provided \
                 [10.0.0.1 10.0.0.2]",
            ),
            (
                &uri,
                with(&["10.0.0.999"], &[]),
                r#"the value "10.0.0.999" is not a valid IP address"#,
            ),
            (
                &sub,
                NameRequest {
                    uri_sans: vec!["spiffe://cluster.local/ns/a".into()],
                    ..req("www.testlab.local", &[])
                },
                "URI Subject Alternative Names are not allowed in this role, but were provided \
                 via the API",
            ),
            (
                &uri,
                with(&[], &["spiffe://other.local/ns/a"]),
                "URI Subject Alternative Names were provided via the API which are not valid for \
                 this role",
            ),
            (
                &uri,
                with(&[], &["spiffe://cluster.local/%zz"]),
                r#"the provided URI Subject Alternative Name "spiffe://cluster.local/%zz" is not a valid URI"#,
            ),
        ];
        for (r, request, want) in cases {
            let err = check_names(r, &request).expect_err(want);
            assert_eq!(err.to_string(), want);
        }
        assert_eq!(
            check_names(&uri, &with(&["::1"], &["spiffe://cluster.local/x"])),
            Ok(())
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn common_name_rules() {
        let sub = named_role("sub");
        // The CN is checked even when excluded from the SANs.
        let excluded = |cn: &str| NameRequest {
            exclude_cn_from_sans: true,
            ..req(cn, &[])
        };
        assert_eq!(
            check_names(&sub, &excluded("evil.com"))
                .unwrap_err()
                .to_string(),
            "common name evil.com not allowed by this role"
        );
        // cn_validations=disabled skips the CN check, but the CN still becomes a SAN.
        let disabled = role(json!({"allowed_domains": "testlab.local",
                                   "allow_subdomains": true, "cn_validations": "disabled"}));
        assert_eq!(
            check_names(&disabled, &req("evil.com", &[]))
                .unwrap_err()
                .to_string(),
            "subject alternate name evil.com not allowed by this role"
        );
        assert_eq!(check_names(&disabled, &excluded("evil.com")), Ok(()));
        // require_cn=false: no CN is fine.
        let optional = role(json!({"allowed_domains": "testlab.local",
                                   "allow_subdomains": true, "require_cn": false}));
        assert_eq!(
            check_names(&optional, &req("", &["www.testlab.local"])),
            Ok(())
        );
        assert_eq!(check_common_name(&optional, ""), Ok(()));
        assert_eq!(
            check_common_name(&sub, ""),
            Err(NameError::CommonNameRequired)
        );
        // cn_validations=email refuses hostnames as CN.
        let email_only = role(json!({"allowed_domains": "testlab.local",
                                     "allow_subdomains": true, "allow_bare_domains": true,
                                     "cn_validations": "email"}));
        let err = check_common_name(&email_only, "www.testlab.local").unwrap_err();
        assert_eq!(
            err.reason(),
            Some(&NameRejection::CnValidation { email: false })
        );
        assert_eq!(check_common_name(&email_only, "me@testlab.local"), Ok(()));
        // A CN that is not a hostname stays out of the SANs (allowed when not enforced).
        let names = resolve_names(
            &named_role("any_loose"),
            &req("My Service", &[]),
            SanSource::Api,
        )
        .unwrap();
        assert!(names.dns_names.is_empty());
        assert_eq!(names.common_name, "My Service");
        assert_eq!(
            check_names(&named_role("any"), &req("My Service", &[]))
                .unwrap_err()
                .to_string(),
            "common name My Service not allowed by this role"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn alt_name_checks_for_forms() {
        let sub = named_role("sub");
        assert_eq!(check_alt_name(&sub, "www.testlab.local"), Ok(()));
        assert_eq!(check_alt_name(&sub, "bücher.testlab.local"), Ok(()));
        assert_eq!(
            check_alt_name(&sub, "not a host").unwrap_err().to_string(),
            "subject alternate name not a host is not a valid DNS name and cannot be included as \
             a SAN"
        );
        assert_eq!(
            check_alt_name(&sub, "www.evil.com")
                .unwrap_err()
                .to_string(),
            "subject alternate name www.evil.com not allowed by this role"
        );
        assert_eq!(
            check_alt_name(&sub, "me@evil.com").unwrap_err().to_string(),
            "email address me@evil.com not allowed by this role"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn resolves_the_certificate_names() {
        let both = named_role("both");
        let request = NameRequest {
            common_name: "bücher.testlab.local".into(),
            alt_names: [
                "www.testlab.local",
                " api.testlab.local ",
                "www.testlab.local",
            ]
            .into_iter()
            .chain(["me@testlab.local", ""])
            .map(String::from)
            .collect(),
            ip_sans: vec!["10.0.0.1".into(), "2001:db8::1".into()],
            uri_sans: vec![],
            exclude_cn_from_sans: false,
        };
        let names = resolve_names(&both, &request, SanSource::Api).unwrap();
        assert_eq!(
            names.dns_names,
            [
                "api.testlab.local",
                "www.testlab.local",
                "xn--bcher-kva.testlab.local"
            ]
        );
        assert_eq!(names.email_addresses, ["me@testlab.local"]);
        assert_eq!(names.ip_addresses.len(), 2);
        // From a CSR: names are taken as they are, and Vault words refusals for CSRs.
        let no_ip = role(json!({"allow_any_name": true, "allow_ip_sans": false}));
        let from_csr = NameRequest {
            ip_sans: vec!["10.0.0.1".into()],
            ..req("a.example.com", &["b.example.com"])
        };
        assert_eq!(
            resolve_names(&no_ip, &from_csr, SanSource::Csr)
                .unwrap_err()
                .to_string(),
            "IP Subject Alternative Names are not allowed in this role, but was provided some \
             via CSR"
        );
        let uri = role(json!({"allow_any_name": true, "allowed_uri_sans": "spiffe://a/*"}));
        let bad_uri = NameRequest {
            uri_sans: vec!["spiffe://b/x".into()],
            ..req("a.example.com", &[])
        };
        assert_eq!(
            resolve_names(&uri, &bad_uri, SanSource::Csr)
                .unwrap_err()
                .to_string(),
            "URI Subject Alternative Names were provided via CSR which are not valid for this role"
        );
    }

    const IP_URI_TABLE: &str = r#"
        default | ip  | 10.0.0.1                                 | allowed
        default | ip  | ::1                                      | allowed
        default | ip  | 2001:db8::1                              | allowed
        default | ip  | ::ffff:10.0.0.1                          | allowed
        default | ip  | not-an-ip                                | refused
        default | ip  | 10.0.0.256                               | refused
        default | ip  | ""                                       | refused
        no_ip   | ip  | 10.0.0.1                                 | refused
        no_ip   | ip  | ::1                                      | refused
        spiffe  | uri | spiffe://cluster.local/ns/default/sa/web | allowed
        spiffe  | uri | spiffe://cluster.local/                  | allowed
        spiffe  | uri | spiffe://cluster.local                   | refused
        spiffe  | uri | spiffe://other.local/ns/x                | refused
        spiffe  | uri | https://exact.example/                   | allowed
        spiffe  | uri | https://exact.example/x                  | refused
        spiffe  | uri | https://exact.example:x/                 | refused
        default | uri | spiffe://cluster.local/x                 | refused
    "#;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn ip_and_uri_sans_table() {
        for row in rows(IP_URI_TABLE) {
            let [key, kind, value, verdict] = row[..] else {
                panic!("bad row {row:?}");
            };
            let r = named_role(key);
            let result = if kind == "ip" {
                check_ip_san(&r, value)
            } else {
                check_uri_san(&r, value)
            };
            assert_eq!(
                result.is_ok(),
                verdict == "allowed",
                "{value} under {key}: {result:?}"
            );
        }
    }

    const KEY_TABLE: &str = r#"
        default | rsa     | 2048 | ok
        default | rsa     | 4096 | ok
        default | rsa     | 1024 | role requires a minimum of a 2048-bit key, but CSR's key is 1024 bits
        default | ec      | 256  | role requires keys of type rsa
        rsa3072 | rsa     | 2048 | role requires a minimum of a 3072-bit key, but CSR's key is 2048 bits
        ec      | ec      | 256  | ok
        ec      | ec      | 384  | ok
        ec      | ec      | 224  | role requires a minimum of a 256-bit key, but CSR's key is 224 bits
        ec      | ed25519 | 0    | role requires keys of type ec
        ec384   | ec      | 256  | role requires a minimum of a 384-bit key, but CSR's key is 256 bits
        ed      | ed25519 | 0    | ok
        ed      | rsa     | 4096 | role requires keys of type ed25519
        key_any | rsa     | 2048 | ok
        key_any | rsa     | 1024 | RSA keys < 2048 bits are unsafe and not supported
        key_any | ec      | 224  | ok
        key_any | ec      | 192  | role requires a minimum of a 224-bit key, but CSR's key is 192 bits
        key_any | ed25519 | 0    | ok
        key_any | dsa     | 2048 | Unknown key type in CSR: dsa
    "#;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn key_checks_are_vaults() {
        for row in rows(KEY_TABLE) {
            let [key, key_type, bits, want] = row[..] else {
                panic!("bad row {row:?}");
            };
            let bits: u32 = bits.parse().unwrap();
            let got = check_key(&named_role(key), key_type, bits)
                .err()
                .map(|e| e.to_string());
            assert_eq!(
                got.as_deref().unwrap_or("ok"),
                want,
                "{key_type}/{bits} under {key}"
            );
        }
        let mut broken = named_role("default");
        broken.key_type = "dsa".into();
        assert_eq!(
            check_key(&broken, "rsa", 2048),
            Err(KeyError::UnsupportedRoleKeyType("dsa".into()))
        );
        // A hand-built RSA role below Vault's floor still trips Vault's own minimum.
        let mut weak = named_role("default");
        weak.key_bits = 1024;
        assert_eq!(
            check_key(&weak, "rsa", 1536),
            Err(KeyError::BelowVaultMinimum(1536))
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn key_choices_follow_the_role() {
        let cases: &[(&str, &str)] = &[
            ("default", "rsa/2048 rsa/3072 rsa/4096"),
            ("rsa3072", "rsa/3072 rsa/4096"),
            ("ec", "ec/256 ec/384"),
            ("ec384", "ec/384"),
            ("ec521", ""),
            ("ed", "ed25519/0"),
            (
                "key_any",
                "ec/256 ec/384 ed25519/0 rsa/2048 rsa/3072 rsa/4096",
            ),
        ];
        for (key, want) in cases {
            let got: Vec<String> = allowed_key_choices(&named_role(key))
                .into_iter()
                .map(|(t, b)| format!("{t}/{b}"))
                .collect();
            assert_eq!(got.join(" "), *want, "{key}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn serial_numbers_follow_the_allow_list() {
        let r = role(json!({"allowed_serial_numbers": "dev-*,prod-1"}));
        assert_eq!(check_serial_number(&r, "dev-42"), Ok(()));
        assert_eq!(check_serial_number(&r, "prod-1"), Ok(()));
        assert_eq!(
            check_serial_number(&r, "prod-2").unwrap_err().to_string(),
            "serial_number prod-2 not allowed by this role"
        );
        assert!(check_serial_number(&named_role("default"), "x").is_err());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn user_ids_and_other_sans() {
        let r = role(json!({"allowed_user_ids": "alice,svc-*",
                            "allowed_other_sans": "1.3.6.1.4.1.311.20.2.3;UTF8:*@testlab.local"}));
        assert_eq!(check_user_id(&r, "ALICE"), Ok(()));
        assert_eq!(check_user_id(&r, "svc-build"), Ok(()));
        assert_eq!(
            check_user_id(&r, "bob").unwrap_err().to_string(),
            "user_id bob is not allowed by this role"
        );
        assert!(check_user_id(&named_role("default"), "alice").is_err());
        let upn = |v: &str| vec![format!("1.3.6.1.4.1.311.20.2.3;utf-8:{v}")];
        assert_eq!(check_other_sans(&r, &upn("me@testlab.local")), Ok(()));
        assert_eq!(check_other_sans(&r, &[]), Ok(()));
        let cases: Vec<(Vec<String>, &str)> = vec![
            (
                upn("me@evil.com"),
                "other SAN me@evil.com not allowed for OID 1.3.6.1.4.1.311.20.2.3 by this role",
            ),
            (
                vec!["1.2.3;UTF8:x".into()],
                "other SAN OID 1.2.3 not allowed by this role",
            ),
            (
                vec!["1.2.3:x".into()],
                r#"could not parse requested other SAN: expected a semicolon in other SAN "1.2.3:x""#,
            ),
        ];
        for (requested, want) in cases {
            assert_eq!(
                check_other_sans(&r, &requested).unwrap_err().to_string(),
                want
            );
        }
        let any = role(json!({"allowed_other_sans": "*"}));
        assert_eq!(check_other_sans(&any, &["1.2.3;UTF8:x".into()]), Ok(()));
        assert!(check_other_sans(&named_role("default"), &["1.2.3;UTF8:x".into()]).is_err());
    }

    const GLOB_TABLE: &str = r#"
        ""                       | ""                         | true
        ""                       | a                          | false
        *                        | anything.at.all            | true
        abc                      | abc                        | true
        abc                      | abcd                       | false
        *.example.com            | a.b.example.com            | true
        *.example.com            | example.com                | false
        foo-*.example.com        | foo-.example.com           | true
        foo-*                    | foo-bar                    | true
        *bar                     | foobar                     | true
        a*b*c                    | axxbyyc                    | true
        a*b*c                    | axxcyyb                    | false
        a*a                      | a                          | false
        spiffe://cluster.local/* | spiffe://cluster.local/ns/x | true
    "#;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn glob_is_go_glob() {
        for row in rows(GLOB_TABLE) {
            let [pattern, subject, want] = row[..] else {
                panic!("bad row {row:?}");
            };
            assert_eq!(
                glob_match(pattern, subject),
                want == "true",
                "{pattern} ~ {subject}"
            );
        }
    }

    const IDNA_TABLE: &str = r#"
        example.com           | example.com
        Example.COM           | Example.COM
        bücher.example        | xn--bcher-kva.example
        münchen.de.           | xn--mnchen-3ya.de.
        xn--bcher-kva.example | xn--bcher-kva.example
        xn--abc-.example      | abc.example
        *.example.com         | *.example.com
        not a hostname!       | not a hostname!
        a.b..                 | a.b..
        a..b                  | idna: invalid label "a..b"
        .a                    | idna: invalid label ".a"
        .                     | idna: invalid label "."
        xn--.example          | idna: invalid label ""
        xn---x.example        | idna: invalid label "-x"
    "#;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn idna_matches_go() {
        for row in rows(IDNA_TABLE) {
            let [input, want] = row[..] else {
                panic!("bad row {row:?}");
            };
            let got = match to_ascii_hostname(input) {
                Ok(ascii) => ascii,
                Err(e) => e.to_string(),
            };
            assert_eq!(got, want, "{input}");
        }
        assert!(to_ascii_hostname(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(to_ascii_hostname(&format!("{}.com", vec!["a".repeat(60); 5].join("."))).is_err());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn punycode_round_trips_rfc_3492_samples() {
        use idna::punycode::{decode, encode};
        let samples: &[(&str, &str)] = &[
            ("bücher", "bcher-kva"),
            ("münchen", "mnchen-3ya"),
            ("ü", "tda"),
            ("他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"),
            ("MajiでKoiする5秒前", "MajiKoi5-783gue6qz075azm5e"),
        ];
        for (unicode, ascii) in samples {
            assert_eq!(encode(unicode).as_deref(), Some(*ascii), "{unicode}");
            assert_eq!(decode(ascii).as_deref(), Some(*unicode), "{ascii}");
        }
        assert_eq!(decode("-abc"), None);
        assert_eq!(decode("abc!"), None);
    }
}
