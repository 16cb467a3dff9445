//! Certificates: what the engine decides for one ([`CertSpec`]), signing it as a root
//! ([`self_sign`]) or by an issuer ([`sign`]), reading one back ([`parse_certificate`]),
//! and the serial-number and distinguished-name helpers around them (PEM lives in the
//! leaf module `pem`; `pem_encode` and friends are re-exported here).
//!
//! rcgen encodes the body (serial, validity, extensions); names, the subject key and the
//! signature algorithm are then set here byte for byte (so an issuer's name is copied
//! exactly, multi-valued names are possible and any hash can be chosen) and the result is
//! signed with [`Signer`].

use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};

use super::der;
use super::error::PkiError;
use super::key::{PrivateKey, PublicKeyInfo, Signer};

/// The PEM helpers, where the crates using `shared` have always found them (they live in
/// the leaf module [`super::pem`]).
pub use super::pem::{certificates_from_pem, pem_decode_all, pem_encode};

// ----------------------------------------------------------------------------------------
// Serial numbers

/// Vault's serial format: the serial's big-endian bytes (no sign byte) as lowercase hex
/// pairs joined by ':' ("1a:2b:3c").
pub fn format_serial(serial: &[u8]) -> String {
    let start = serial.iter().take_while(|b| **b == 0).count();
    hex_colon(serial.get(start..).unwrap_or(&[]))
}

/// Reads a serial in Vault's forms ("1a:2b:3c", "1a-2b-3c", or plain hex) into bytes.
pub fn parse_serial(text: &str) -> Result<Vec<u8>, PkiError> {
    let bad = |reason: &str| PkiError::InvalidField {
        field: "serial_number",
        reason: reason.to_string(),
    };
    let hex: String = text
        .trim()
        .chars()
        .filter(|c| *c != ':' && *c != '-')
        .collect();
    if hex.is_empty() {
        return Err(bad("empty"));
    }
    let hex = if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex
    };
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| bad("not hexadecimal"))
        })
        .collect::<Result<Vec<u8>, _>>()?;
    let start = bytes.iter().take_while(|b| **b == 0).count();
    Ok(bytes.get(start..).unwrap_or(&[]).to_vec())
}

/// A fresh random serial: 20 bytes below 2^159 (Vault's range), never zero.
pub fn random_serial() -> Result<Vec<u8>, PkiError> {
    let mut bytes = [0u8; 20];
    loop {
        super::key::random_bytes(&mut bytes)?;
        if let Some(first) = bytes.first_mut() {
            *first &= 0x7f;
        }
        if bytes.iter().any(|b| *b != 0) {
            return Ok(bytes.to_vec());
        }
    }
}

/// Lowercase hex pairs joined by ':'.
pub fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Checks a serial for use in a certificate: positive and at most 20 octets encoded.
fn checked_serial(serial: &[u8]) -> Result<Vec<u8>, PkiError> {
    let start = serial.iter().take_while(|b| **b == 0).count();
    let magnitude = serial.get(start..).unwrap_or(&[]);
    let bad = |reason: &str| PkiError::InvalidField {
        field: "serial_number",
        reason: reason.to_string(),
    };
    if magnitude.is_empty() {
        return Err(bad("must be positive"));
    }
    let encoded_len = magnitude.len() + usize::from(magnitude.first().is_some_and(|b| *b >= 0x80));
    if encoded_len > 20 {
        return Err(bad("longer than 20 octets"));
    }
    Ok(magnitude.to_vec())
}

// ----------------------------------------------------------------------------------------
// Names

/// A certificate subject, in Vault's terms (each multi-valued field is a list, as in the
/// API's `ou`, `organization`, `country`, ... parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subject {
    /// CN.
    pub common_name: String,
    /// O.
    pub organization: Vec<String>,
    /// OU.
    pub organizational_unit: Vec<String>,
    /// C.
    pub country: Vec<String>,
    /// L.
    pub locality: Vec<String>,
    /// ST.
    pub province: Vec<String>,
    /// STREET.
    pub street_address: Vec<String>,
    /// postalCode.
    pub postal_code: Vec<String>,
    /// serialNumber (the subject attribute, not the certificate serial).
    pub serial_number: String,
}

impl Subject {
    /// A subject with only a common name.
    pub fn with_common_name(cn: impl Into<String>) -> Self {
        Subject {
            common_name: cn.into(),
            ..Subject::default()
        }
    }

    /// Whether no attribute is set (the encoded Name would be empty).
    pub fn is_empty(&self) -> bool {
        self.attributes()
            .iter()
            .all(|(_, values)| values.is_empty())
    }

    /// (attribute OID, values) in the order Go (and so Vault) writes them.
    fn attributes(&self) -> Vec<(&'static str, Vec<&str>)> {
        fn list(v: &[String]) -> Vec<&str> {
            v.iter()
                .map(String::as_str)
                .filter(|s| !s.is_empty())
                .collect()
        }
        fn one(s: &str) -> Vec<&str> {
            if s.is_empty() { vec![] } else { vec![s] }
        }
        vec![
            (OID_C, list(&self.country)),
            (OID_ST, list(&self.province)),
            (OID_L, list(&self.locality)),
            (OID_STREET, list(&self.street_address)),
            (OID_POSTAL_CODE, list(&self.postal_code)),
            (OID_O, list(&self.organization)),
            (OID_OU, list(&self.organizational_unit)),
            (OID_CN, one(&self.common_name)),
            (OID_SERIAL_NUMBER, one(&self.serial_number)),
        ]
    }

    /// The DER Name: one RDN per attribute type, multi-valued when a list has several
    /// entries; PrintableString where the value allows it, UTF8String otherwise (as Go).
    pub fn to_der(&self) -> Result<Vec<u8>, PkiError> {
        let mut rdns = Vec::new();
        for (oid, values) in self.attributes() {
            if values.is_empty() {
                continue;
            }
            let mut atvs = values
                .iter()
                .map(|v| {
                    let tag = if is_printable(v) {
                        der::PRINTABLE_STRING
                    } else {
                        der::UTF8_STRING
                    };
                    Ok(der::tlv(
                        der::SEQUENCE,
                        &[der::oid(oid)?, der::tlv(tag, v.as_bytes())].concat(),
                    ))
                })
                .collect::<Result<Vec<_>, PkiError>>()?;
            atvs.sort();
            atvs.dedup();
            rdns.extend(der::tlv(der::SET, &atvs.concat()));
        }
        Ok(der::tlv(der::SEQUENCE, &rdns))
    }

    pub(crate) fn from_rdns(rdns: &[Vec<(String, String)>]) -> Subject {
        let mut s = Subject::default();
        for (oid, value) in rdns.iter().flatten() {
            let value = value.clone();
            match oid.as_str() {
                OID_CN if s.common_name.is_empty() => s.common_name = value,
                OID_SERIAL_NUMBER if s.serial_number.is_empty() => s.serial_number = value,
                OID_O => s.organization.push(value),
                OID_OU => s.organizational_unit.push(value),
                OID_C => s.country.push(value),
                OID_L => s.locality.push(value),
                OID_ST => s.province.push(value),
                OID_STREET => s.street_address.push(value),
                OID_POSTAL_CODE => s.postal_code.push(value),
                _ => {}
            }
        }
        s
    }
}

const OID_CN: &str = "2.5.4.3";
const OID_SERIAL_NUMBER: &str = "2.5.4.5";
const OID_C: &str = "2.5.4.6";
const OID_L: &str = "2.5.4.7";
const OID_ST: &str = "2.5.4.8";
const OID_STREET: &str = "2.5.4.9";
const OID_O: &str = "2.5.4.10";
const OID_OU: &str = "2.5.4.11";
const OID_POSTAL_CODE: &str = "2.5.4.17";

fn is_printable(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c))
}

/// A DER Name as its RDNs, each a list of (attribute OID, value text).
pub(crate) fn parse_name(name_der: &[u8]) -> Result<Vec<Vec<(String, String)>>, der::DerError> {
    let (_, content) = der::expect(name_der, der::SEQUENCE)?;
    let mut rdns = Vec::new();
    for rdn in der::children(content)? {
        let (_, set) = der::expect(rdn, der::SET)?;
        let mut atvs = Vec::new();
        for atv in der::children(set)? {
            let (_, seq) = der::expect(atv, der::SEQUENCE)?;
            let oid = der::split(seq)?;
            if oid.tag != der::OID {
                return Err(der::DerError("attribute type is not an oid".into()));
            }
            let value = der::split(oid.rest)?;
            atvs.push((
                der::oid_to_string(oid.content)?,
                decode_string(value.tag, value.content, value.whole),
            ));
        }
        rdns.push(atvs);
    }
    Ok(rdns)
}

fn decode_string(tag: u8, content: &[u8], whole: &[u8]) -> String {
    match tag {
        // UTF8String, PrintableString, TeletexString (treated as Latin-1-ish ASCII),
        // IA5String, VisibleString
        0x0c | 0x13 | 0x14 | 0x16 | 0x1a => String::from_utf8_lossy(content).into_owned(),
        // BMPString: UTF-16BE
        0x1e => {
            let units: Vec<u16> = content
                .chunks(2)
                .map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
        // UniversalString: UTF-32BE
        0x1c => content
            .chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                for (dst, src) in b.iter_mut().zip(c) {
                    *dst = *src;
                }
                char::from_u32(u32::from_be_bytes(b)).unwrap_or('\u{fffd}')
            })
            .collect(),
        _ => format!(
            "#{}",
            whole.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    }
}

/// RFC 4514 text of a DER Name, most significant RDN last ("CN=leaf,O=Org,C=US"), as
/// Go's `pkix.Name.String()` writes it.
pub fn name_to_string(name_der: &[u8]) -> Result<String, PkiError> {
    let rdns = parse_name(name_der).map_err(|e| PkiError::InvalidField {
        field: "name",
        reason: e.to_string(),
    })?;
    Ok(rdns_to_string(&rdns))
}

pub(crate) fn rdns_to_string(rdns: &[Vec<(String, String)>]) -> String {
    rdns.iter()
        .rev()
        .map(|rdn| {
            rdn.iter()
                .map(|(oid, value)| {
                    let key = match oid.as_str() {
                        OID_CN => "CN",
                        OID_SERIAL_NUMBER => "SERIALNUMBER",
                        OID_C => "C",
                        OID_L => "L",
                        OID_ST => "ST",
                        OID_STREET => "STREET",
                        OID_O => "O",
                        OID_OU => "OU",
                        OID_POSTAL_CODE => "POSTALCODE",
                        "0.9.2342.19200300.100.1.25" => "DC",
                        "0.9.2342.19200300.100.1.1" => "UID",
                        "1.2.840.113549.1.9.1" => "emailAddress",
                        other => other,
                    };
                    format!("{key}={}", escape_dn_value(value))
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn escape_dn_value(value: &str) -> String {
    if value.starts_with('#')
        && value.len() > 1
        && value.chars().skip(1).all(|c| c.is_ascii_hexdigit())
    {
        return value.to_string();
    }
    let count = value.chars().count();
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let edge_space = c == ' ' && (i == 0 || i + 1 == count);
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || edge_space
            || (i == 0 && c == '#')
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ----------------------------------------------------------------------------------------
// Subject alternative names, key usages

/// Subject alternative names by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sans {
    /// dNSName entries.
    pub dns: Vec<String>,
    /// iPAddress entries.
    pub ip: Vec<IpAddr>,
    /// uniformResourceIdentifier entries.
    pub uri: Vec<String>,
    /// rfc822Name (email) entries.
    pub email: Vec<String>,
}

impl Sans {
    /// Whether there is no name at all.
    pub fn is_empty(&self) -> bool {
        self.dns.is_empty() && self.ip.is_empty() && self.uri.is_empty() && self.email.is_empty()
    }

    pub(crate) fn to_rcgen(&self) -> Result<Vec<rcgen::SanType>, PkiError> {
        let ia5 = |field: &'static str, s: &str| {
            rcgen::string::Ia5String::try_from(s.to_string()).map_err(|_| PkiError::InvalidField {
                field,
                reason: format!("{s:?} is not ASCII"),
            })
        };
        let mut out = Vec::new();
        for d in &self.dns {
            out.push(rcgen::SanType::DnsName(ia5("alt_names", d)?));
        }
        for e in &self.email {
            out.push(rcgen::SanType::Rfc822Name(ia5("alt_names", e)?));
        }
        for ip in &self.ip {
            out.push(rcgen::SanType::IpAddress(*ip));
        }
        for u in &self.uri {
            out.push(rcgen::SanType::URI(ia5("uri_sans", u)?));
        }
        Ok(out)
    }

    pub(crate) fn from_general_names<'a>(
        names: impl IntoIterator<Item = &'a GeneralName<'a>>,
    ) -> Sans {
        let mut sans = Sans::default();
        for name in names {
            match name {
                GeneralName::DNSName(s) => sans.dns.push((*s).to_string()),
                GeneralName::RFC822Name(s) => sans.email.push((*s).to_string()),
                GeneralName::URI(s) => sans.uri.push((*s).to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        sans.ip.push(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        sans.ip.push(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
        sans
    }
}

/// Key usages, by Vault's `key_usage` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyUsage {
    /// digitalSignature.
    DigitalSignature,
    /// contentCommitment (nonRepudiation).
    ContentCommitment,
    /// keyEncipherment.
    KeyEncipherment,
    /// dataEncipherment.
    DataEncipherment,
    /// keyAgreement.
    KeyAgreement,
    /// keyCertSign.
    CertSign,
    /// cRLSign.
    #[serde(rename = "CRLSign")]
    CrlSign,
    /// encipherOnly.
    EncipherOnly,
    /// decipherOnly.
    DecipherOnly,
}

impl KeyUsage {
    /// All of them, in bit order.
    pub const ALL: [KeyUsage; 9] = [
        KeyUsage::DigitalSignature,
        KeyUsage::ContentCommitment,
        KeyUsage::KeyEncipherment,
        KeyUsage::DataEncipherment,
        KeyUsage::KeyAgreement,
        KeyUsage::CertSign,
        KeyUsage::CrlSign,
        KeyUsage::EncipherOnly,
        KeyUsage::DecipherOnly,
    ];

    /// Vault's name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyUsage::DigitalSignature => "DigitalSignature",
            KeyUsage::ContentCommitment => "ContentCommitment",
            KeyUsage::KeyEncipherment => "KeyEncipherment",
            KeyUsage::DataEncipherment => "DataEncipherment",
            KeyUsage::KeyAgreement => "KeyAgreement",
            KeyUsage::CertSign => "CertSign",
            KeyUsage::CrlSign => "CRLSign",
            KeyUsage::EncipherOnly => "EncipherOnly",
            KeyUsage::DecipherOnly => "DecipherOnly",
        }
    }

    fn to_rcgen(self) -> rcgen::KeyUsagePurpose {
        use rcgen::KeyUsagePurpose as K;
        match self {
            KeyUsage::DigitalSignature => K::DigitalSignature,
            KeyUsage::ContentCommitment => K::ContentCommitment,
            KeyUsage::KeyEncipherment => K::KeyEncipherment,
            KeyUsage::DataEncipherment => K::DataEncipherment,
            KeyUsage::KeyAgreement => K::KeyAgreement,
            KeyUsage::CertSign => K::KeyCertSign,
            KeyUsage::CrlSign => K::CrlSign,
            KeyUsage::EncipherOnly => K::EncipherOnly,
            KeyUsage::DecipherOnly => K::DecipherOnly,
        }
    }
}

impl FromStr for KeyUsage {
    type Err = PkiError;

    /// Case-insensitive, as Vault parses `key_usage` ("digitalsignature" works too).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        if wanted == "nonrepudiation" {
            return Ok(KeyUsage::ContentCommitment);
        }
        KeyUsage::ALL
            .into_iter()
            .find(|k| k.as_str().to_ascii_lowercase() == wanted)
            .ok_or_else(|| PkiError::InvalidField {
                field: "key_usage",
                reason: format!("unknown key usage {s:?}"),
            })
    }
}

/// Extended key usages, by Vault's `ext_key_usage` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExtKeyUsage {
    /// anyExtendedKeyUsage.
    Any,
    /// TLS server.
    ServerAuth,
    /// TLS client.
    ClientAuth,
    /// Code signing.
    CodeSigning,
    /// S/MIME.
    EmailProtection,
    /// IPsec end system.
    #[serde(rename = "IPSECEndSystem")]
    IpsecEndSystem,
    /// IPsec tunnel.
    #[serde(rename = "IPSECTunnel")]
    IpsecTunnel,
    /// IPsec user.
    #[serde(rename = "IPSECUser")]
    IpsecUser,
    /// Time stamping.
    TimeStamping,
    /// OCSP signing.
    #[serde(rename = "OCSPSigning")]
    OcspSigning,
    /// Microsoft server gated crypto.
    MicrosoftServerGatedCrypto,
    /// Netscape server gated crypto.
    NetscapeServerGatedCrypto,
    /// Microsoft commercial code signing.
    MicrosoftCommercialCodeSigning,
    /// Microsoft kernel code signing.
    MicrosoftKernelCodeSigning,
}

impl ExtKeyUsage {
    /// All of them.
    pub const ALL: [ExtKeyUsage; 14] = [
        ExtKeyUsage::Any,
        ExtKeyUsage::ServerAuth,
        ExtKeyUsage::ClientAuth,
        ExtKeyUsage::CodeSigning,
        ExtKeyUsage::EmailProtection,
        ExtKeyUsage::IpsecEndSystem,
        ExtKeyUsage::IpsecTunnel,
        ExtKeyUsage::IpsecUser,
        ExtKeyUsage::TimeStamping,
        ExtKeyUsage::OcspSigning,
        ExtKeyUsage::MicrosoftServerGatedCrypto,
        ExtKeyUsage::NetscapeServerGatedCrypto,
        ExtKeyUsage::MicrosoftCommercialCodeSigning,
        ExtKeyUsage::MicrosoftKernelCodeSigning,
    ];

    /// Vault's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExtKeyUsage::Any => "Any",
            ExtKeyUsage::ServerAuth => "ServerAuth",
            ExtKeyUsage::ClientAuth => "ClientAuth",
            ExtKeyUsage::CodeSigning => "CodeSigning",
            ExtKeyUsage::EmailProtection => "EmailProtection",
            ExtKeyUsage::IpsecEndSystem => "IPSECEndSystem",
            ExtKeyUsage::IpsecTunnel => "IPSECTunnel",
            ExtKeyUsage::IpsecUser => "IPSECUser",
            ExtKeyUsage::TimeStamping => "TimeStamping",
            ExtKeyUsage::OcspSigning => "OCSPSigning",
            ExtKeyUsage::MicrosoftServerGatedCrypto => "MicrosoftServerGatedCrypto",
            ExtKeyUsage::NetscapeServerGatedCrypto => "NetscapeServerGatedCrypto",
            ExtKeyUsage::MicrosoftCommercialCodeSigning => "MicrosoftCommercialCodeSigning",
            ExtKeyUsage::MicrosoftKernelCodeSigning => "MicrosoftKernelCodeSigning",
        }
    }

    /// The usage's OID, dotted.
    pub fn oid(self) -> &'static str {
        match self {
            ExtKeyUsage::Any => "2.5.29.37.0",
            ExtKeyUsage::ServerAuth => "1.3.6.1.5.5.7.3.1",
            ExtKeyUsage::ClientAuth => "1.3.6.1.5.5.7.3.2",
            ExtKeyUsage::CodeSigning => "1.3.6.1.5.5.7.3.3",
            ExtKeyUsage::EmailProtection => "1.3.6.1.5.5.7.3.4",
            ExtKeyUsage::IpsecEndSystem => "1.3.6.1.5.5.7.3.5",
            ExtKeyUsage::IpsecTunnel => "1.3.6.1.5.5.7.3.6",
            ExtKeyUsage::IpsecUser => "1.3.6.1.5.5.7.3.7",
            ExtKeyUsage::TimeStamping => "1.3.6.1.5.5.7.3.8",
            ExtKeyUsage::OcspSigning => "1.3.6.1.5.5.7.3.9",
            ExtKeyUsage::MicrosoftServerGatedCrypto => "1.3.6.1.4.1.311.10.3.3",
            ExtKeyUsage::NetscapeServerGatedCrypto => "2.16.840.1.113730.4.1",
            ExtKeyUsage::MicrosoftCommercialCodeSigning => "1.3.6.1.4.1.311.2.1.22",
            ExtKeyUsage::MicrosoftKernelCodeSigning => "1.3.6.1.4.1.311.61.1.1",
        }
    }

    /// The usage with this dotted OID, if it has a Vault name.
    pub fn from_oid(oid: &str) -> Option<Self> {
        ExtKeyUsage::ALL.into_iter().find(|u| u.oid() == oid)
    }
}

impl FromStr for ExtKeyUsage {
    type Err = PkiError;

    /// Case-insensitive, as Vault parses `ext_key_usage`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        ExtKeyUsage::ALL
            .into_iter()
            .find(|k| k.as_str().to_ascii_lowercase() == wanted)
            .ok_or_else(|| PkiError::InvalidField {
                field: "ext_key_usage",
                reason: format!("unknown extended key usage {s:?}"),
            })
    }
}

fn oid_arcs(field: &'static str, dotted: &str) -> Result<Vec<u64>, PkiError> {
    der::oid(dotted).map_err(|_| PkiError::InvalidField {
        field,
        reason: format!("{dotted:?} is not a dotted object identifier"),
    })?;
    dotted
        .trim()
        .split('.')
        .map(|a| {
            a.parse::<u64>().map_err(|_| PkiError::InvalidField {
                field,
                reason: format!("{dotted:?} is not a dotted object identifier"),
            })
        })
        .collect()
}

// ----------------------------------------------------------------------------------------
// Certificate specification and signing

/// Everything the engine decides for one certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CertSpec {
    /// Serial number, big-endian magnitude: positive, at most 20 octets encoded.
    pub serial: Vec<u8>,
    /// Start of validity, unix seconds.
    pub not_before: i64,
    /// End of validity, unix seconds.
    pub not_after: i64,
    /// Subject name.
    pub subject: Subject,
    /// Subject alternative names.
    pub sans: Sans,
    /// A CA certificate (basicConstraints cA=TRUE).
    pub is_ca: bool,
    /// pathLenConstraint for a CA (None: unlimited, Vault's -1).
    pub max_path_length: Option<u32>,
    /// For non-CA certificates, still write basicConstraints (cA=FALSE), as Vault's
    /// role option of the same name.
    pub basic_constraints_valid_for_non_ca: bool,
    /// keyUsage bits (critical when present).
    pub key_usage: Vec<KeyUsage>,
    /// extendedKeyUsage purposes.
    pub ext_key_usage: Vec<ExtKeyUsage>,
    /// Further extendedKeyUsage OIDs, dotted (Vault's `ext_key_usage_oids`).
    pub ext_key_usage_oids: Vec<String>,
    /// Name constraints (CA certificates): permitted DNS subtrees.
    pub permitted_dns_domains: Vec<String>,
    /// Name constraints: excluded DNS subtrees.
    pub excluded_dns_domains: Vec<String>,
    /// Name constraints: permitted IP ranges, CIDR.
    pub permitted_ip_ranges: Vec<String>,
    /// Name constraints: excluded IP ranges, CIDR.
    pub excluded_ip_ranges: Vec<String>,
    /// Name constraints: permitted email addresses / domains.
    pub permitted_email_addresses: Vec<String>,
    /// Name constraints: excluded email addresses / domains.
    pub excluded_email_addresses: Vec<String>,
    /// Authority Information Access caIssuers URLs.
    pub issuing_certificates: Vec<String>,
    /// Authority Information Access OCSP URLs.
    pub ocsp_servers: Vec<String>,
    /// CRL distribution point URLs (one distribution point each, as Go writes them).
    pub crl_distribution_points: Vec<String>,
    /// Sign with RSASSA-PSS instead of PKCS#1 v1.5 (RSA issuers; Vault's `use_pss`).
    pub use_pss: bool,
}

/// Signs `spec` as a self-signed certificate (a root) with `key` and the hash of
/// `signature_bits` (0 = the key's default). Returns DER.
pub fn self_sign(
    spec: &CertSpec,
    key: &PrivateKey,
    signature_bits: u32,
) -> Result<Vec<u8>, PkiError> {
    let public = key.public_key_info();
    let name = spec.subject.to_der()?;
    let signer = key.signer(signature_bits, spec.use_pss)?;
    build_certificate(spec, &public, &name, &public.key_id(), &signer)
}

/// Signs `spec` for `subject_public_key` with the issuer's certificate and key. The issuer
/// name is copied from the issuer certificate's subject byte for byte; the authority key
/// identifier is the issuer's subject key identifier (or, if it has none, computed from
/// its key). Returns DER.
pub fn sign(
    spec: &CertSpec,
    subject_public_key: &PublicKeyInfo,
    issuer_cert_der: &[u8],
    issuer_key: &PrivateKey,
    signature_bits: u32,
) -> Result<Vec<u8>, PkiError> {
    let issuer = IssuerParts::from_cert(issuer_cert_der, issuer_key)?;
    let signer = issuer_key.signer(signature_bits, spec.use_pss)?;
    build_certificate(
        spec,
        subject_public_key,
        &issuer.name_der,
        &issuer.key_id,
        &signer,
    )
}

/// What signing with an issuer certificate takes from it.
pub(crate) struct IssuerParts {
    pub(crate) name_der: Vec<u8>,
    pub(crate) key_id: Vec<u8>,
    pub(crate) key_usage: Option<Vec<KeyUsage>>,
}

impl IssuerParts {
    pub(crate) fn from_cert(
        issuer_cert_der: &[u8],
        issuer_key: &PrivateKey,
    ) -> Result<Self, PkiError> {
        let (rest, cert) = x509_parser::parse_x509_certificate(issuer_cert_der)
            .map_err(|e| PkiError::InvalidCertificate(format!("issuer certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(PkiError::InvalidCertificate(
                "issuer certificate: trailing data after the certificate".into(),
            ));
        }
        let issuer_public = PublicKeyInfo::from_spki_der(cert.public_key().raw)?;
        if !issuer_key.matches(&issuer_public) {
            return Err(PkiError::IssuerKeyMismatch);
        }
        let key_id = cert
            .iter_extensions()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
                _ => None,
            })
            .unwrap_or_else(|| issuer_public.key_id());
        let key_usage = cert
            .key_usage()
            .map_err(|e| PkiError::InvalidCertificate(format!("issuer key usage: {e}")))?
            .map(|ku| key_usages_of(ku.value));
        Ok(IssuerParts {
            name_der: cert.subject().as_raw().to_vec(),
            key_id,
            key_usage,
        })
    }
}

/// rcgen stand-in for the keys: the body rcgen writes is re-signed after the names, key
/// and algorithm identifier are put in, so rcgen never needs the real ones.
pub(crate) struct Placeholder;

impl rcgen::PublicKeyData for Placeholder {
    fn der_bytes(&self) -> &[u8] {
        &[]
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

impl rcgen::SigningKey for Placeholder {
    fn sign(&self, _msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(Vec::new())
    }
}

/// A Name rcgen writes where the real one goes later: empty when the real one is empty
/// (rcgen marks the SAN extension critical then, as RFC 5280 asks).
pub(crate) fn placeholder_dn(empty: bool) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    if !empty {
        dn.push(rcgen::DnType::CommonName, "placeholder");
    }
    dn
}

pub(crate) fn rcgen_error(e: rcgen::Error) -> PkiError {
    PkiError::Encoding(e.to_string().to_lowercase())
}

pub(crate) fn unix_time(field: &'static str, secs: i64) -> Result<time::OffsetDateTime, PkiError> {
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| PkiError::InvalidField {
            field,
            reason: format!("{secs} is out of range"),
        })?;
    if !(0..=9999).contains(&t.year()) {
        return Err(PkiError::InvalidField {
            field,
            reason: format!("{secs} is out of range"),
        });
    }
    Ok(t)
}

/// Takes the DER rcgen produced for a signed structure (`SEQUENCE { tbs, alg, sig }`),
/// replaces elements of the TBS, and signs the result with `signer`.
pub(crate) fn resign(
    rcgen_der: &[u8],
    replace: &[(usize, &[u8])],
    signer: &Signer<'_>,
    alg_der: &[u8],
) -> Result<Vec<u8>, PkiError> {
    let malformed = |e: der::DerError| PkiError::Encoding(e.to_string());
    let (_, outer) = der::expect(rcgen_der, der::SEQUENCE).map_err(malformed)?;
    let parts = der::children(outer).map_err(malformed)?;
    let tbs = parts
        .first()
        .ok_or_else(|| PkiError::Encoding("empty signed structure".into()))?;
    let (_, tbs_content) = der::expect(tbs, der::SEQUENCE).map_err(malformed)?;
    let mut elements = der::children(tbs_content).map_err(malformed)?;
    for (index, value) in replace {
        let slot = elements
            .get_mut(*index)
            .ok_or_else(|| PkiError::Encoding(format!("no element {index} to replace")))?;
        *slot = value;
    }
    let tbs = der::tlv(der::SEQUENCE, &elements.concat());
    let signature = signer.sign(&tbs)?;
    Ok(der::tlv(
        der::SEQUENCE,
        &[tbs, alg_der.to_vec(), der::bit_string(&signature)].concat(),
    ))
}

fn build_certificate(
    spec: &CertSpec,
    subject_public_key: &PublicKeyInfo,
    issuer_name_der: &[u8],
    authority_key_id: &[u8],
    signer: &Signer<'_>,
) -> Result<Vec<u8>, PkiError> {
    let serial = checked_serial(&spec.serial)?;
    let not_before = unix_time("not_before", spec.not_before)?;
    let not_after = unix_time("not_after", spec.not_after)?;
    if spec.not_after < spec.not_before {
        return Err(PkiError::InvalidField {
            field: "not_after",
            reason: "is before not_before".into(),
        });
    }
    let subject_key_id = subject_public_key.key_id();

    let mut params = rcgen::CertificateParams::default();
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(rcgen::SerialNumber::from(serial));
    params.distinguished_name = placeholder_dn(spec.subject.is_empty());
    params.subject_alt_names = spec.sans.to_rcgen()?;
    params.key_usages = spec.key_usage.iter().map(|k| k.to_rcgen()).collect();
    let mut ekus: Vec<rcgen::ExtendedKeyUsagePurpose> = Vec::new();
    let eku_oids = spec
        .ext_key_usage
        .iter()
        .map(|u| oid_arcs("ext_key_usage", u.oid()))
        .chain(
            spec.ext_key_usage_oids
                .iter()
                .map(|o| oid_arcs("ext_key_usage_oids", o)),
        );
    for oid in eku_oids {
        let purpose = rcgen::ExtendedKeyUsagePurpose::Other(oid?);
        if !ekus.contains(&purpose) {
            ekus.push(purpose);
        }
    }
    params.extended_key_usages = ekus;
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(subject_key_id.clone());
    params.is_ca = if spec.is_ca {
        match spec.max_path_length {
            None => rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained),
            Some(n) => rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(
                u8::try_from(n).map_err(|_| PkiError::InvalidField {
                    field: "max_path_length",
                    reason: format!("{n} is larger than 255"),
                })?,
            )),
        }
    } else if spec.basic_constraints_valid_for_non_ca {
        rcgen::IsCa::ExplicitNoCa
    } else {
        // rcgen writes the subject key identifier only with basicConstraints; Vault
        // writes it on every certificate.
        params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[2, 5, 29, 14],
                der::tlv(der::OCTET_STRING, &subject_key_id),
            ));
        rcgen::IsCa::NoCa
    };
    params.name_constraints = name_constraints(spec)?;
    params.crl_distribution_points = spec
        .crl_distribution_points
        .iter()
        .map(|u| {
            ascii("crl_distribution_points", u)
                .map(|u| rcgen::CrlDistributionPoint { uris: vec![u] })
        })
        .collect::<Result<_, _>>()?;
    if let Some(aia) = authority_info_access(spec)? {
        params.custom_extensions.push(aia);
    }

    let mut issuer_params = rcgen::CertificateParams::default();
    issuer_params.distinguished_name = placeholder_dn(false);
    issuer_params.key_identifier_method =
        rcgen::KeyIdMethod::PreSpecified(authority_key_id.to_vec());
    let issuer = rcgen::Issuer::new(issuer_params, Placeholder);
    let draft = params
        .signed_by(&Placeholder, &issuer)
        .map_err(rcgen_error)?;

    let alg = signer.algorithm_identifier_der()?;
    let subject_name = spec.subject.to_der()?;
    // TBSCertificate: version, serial, signature, issuer, validity, subject, spki, exts.
    resign(
        draft.der(),
        &[
            (2, &alg),
            (3, issuer_name_der),
            (5, &subject_name),
            (6, &subject_public_key.spki_der),
        ],
        signer,
        &alg,
    )
}

fn ascii(field: &'static str, s: &str) -> Result<String, PkiError> {
    if s.is_ascii() {
        Ok(s.to_string())
    } else {
        Err(PkiError::InvalidField {
            field,
            reason: format!("{s:?} is not ASCII"),
        })
    }
}

fn name_constraints(spec: &CertSpec) -> Result<Option<rcgen::NameConstraints>, PkiError> {
    let dns = |v: &[String]| {
        v.iter()
            .map(|d| rcgen::GeneralSubtree::DnsName(d.clone()))
            .collect::<Vec<_>>()
    };
    let email = |v: &[String]| {
        v.iter()
            .map(|d| rcgen::GeneralSubtree::Rfc822Name(d.clone()))
            .collect::<Vec<_>>()
    };
    let ip = |field: &'static str, v: &[String]| {
        v.iter()
            .map(|c| {
                rcgen::CidrSubnet::from_str(c.trim())
                    .map(rcgen::GeneralSubtree::IpAddress)
                    .map_err(|_| PkiError::InvalidField {
                        field,
                        reason: format!("{c:?} is not a CIDR range"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let mut permitted = dns(&spec.permitted_dns_domains);
    permitted.extend(ip("permitted_ip_ranges", &spec.permitted_ip_ranges)?);
    permitted.extend(email(&spec.permitted_email_addresses));
    let mut excluded = dns(&spec.excluded_dns_domains);
    excluded.extend(ip("excluded_ip_ranges", &spec.excluded_ip_ranges)?);
    excluded.extend(email(&spec.excluded_email_addresses));
    if permitted.is_empty() && excluded.is_empty() {
        return Ok(None);
    }
    Ok(Some(rcgen::NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: excluded,
    }))
}

const OID_AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";
const OID_AD_CA_ISSUERS: &str = "1.3.6.1.5.5.7.48.2";

fn authority_info_access(spec: &CertSpec) -> Result<Option<rcgen::CustomExtension>, PkiError> {
    let mut descriptions = Vec::new();
    for (method, field, urls) in [
        (OID_AD_OCSP, "ocsp_servers", &spec.ocsp_servers),
        (
            OID_AD_CA_ISSUERS,
            "issuing_certificates",
            &spec.issuing_certificates,
        ),
    ] {
        for url in urls {
            let url = ascii(field, url)?;
            // AccessDescription ::= SEQUENCE { accessMethod, accessLocation [6] IA5String }
            descriptions.extend(der::tlv(
                der::SEQUENCE,
                &[der::oid(method)?, der::tlv(0x86, url.as_bytes())].concat(),
            ));
        }
    }
    if descriptions.is_empty() {
        return Ok(None);
    }
    Ok(Some(rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 1],
        der::tlv(der::SEQUENCE, &descriptions),
    )))
}

// ----------------------------------------------------------------------------------------
// Reading certificates

/// What the certificates view and the engine need to know about a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// Serial in Vault's format ("1a:2b:...").
    pub serial: String,
    /// Serial, big-endian magnitude.
    pub serial_bytes: Vec<u8>,
    /// Subject attributes.
    pub subject: Subject,
    /// Subject common name ("" if none).
    pub common_name: String,
    /// Subject as RFC 4514 text ("CN=leaf,O=Org,C=US").
    pub subject_dn: String,
    /// Issuer as RFC 4514 text.
    pub issuer_dn: String,
    /// Subject Name DER (for matching issuers by name).
    pub subject_der: Vec<u8>,
    /// Issuer Name DER.
    pub issuer_der: Vec<u8>,
    /// Start of validity, unix seconds.
    pub not_before: i64,
    /// End of validity, unix seconds.
    pub not_after: i64,
    /// Subject alternative names.
    pub sans: Sans,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// basicConstraints pathLenConstraint.
    pub max_path_length: Option<u32>,
    /// keyUsage bits, if the extension is present.
    pub key_usage: Vec<KeyUsage>,
    /// extendedKeyUsage purposes with Vault names.
    pub ext_key_usage: Vec<ExtKeyUsage>,
    /// Other extendedKeyUsage OIDs, dotted.
    pub ext_key_usage_oids: Vec<String>,
    /// Public key type: "rsa", "ec", "ed25519", or the algorithm OID when unknown.
    pub key_type: String,
    /// Public key size in bits (0 for Ed25519; the curve size for EC).
    pub key_bits: u32,
    /// SubjectPublicKeyInfo DER, as found in the certificate.
    pub spki_der: Vec<u8>,
    /// Subject key identifier, colon hex ("" if absent).
    pub subject_key_id: String,
    /// Authority key identifier, colon hex ("" if absent).
    pub authority_key_id: String,
    /// SHA-256 over the DER, colon hex.
    pub sha256_fingerprint: String,
    /// Signature algorithm, Go's name ("SHA256-RSA", "ECDSA-SHA256", "Ed25519"...).
    pub signature_algorithm: String,
    /// AIA caIssuers URLs.
    pub issuing_certificates: Vec<String>,
    /// AIA OCSP URLs.
    pub ocsp_servers: Vec<String>,
    /// CRL distribution point URLs.
    pub crl_distribution_points: Vec<String>,
    /// Subject and issuer names are identical (a root, or a self-issued certificate).
    pub self_issued: bool,
}

impl CertInfo {
    /// Whether the certificate is valid at `unix` seconds.
    pub fn valid_at(&self, unix: i64) -> bool {
        self.not_before <= unix && unix <= self.not_after
    }
}

pub(crate) fn key_usages_of(ku: &x509_parser::extensions::KeyUsage) -> Vec<KeyUsage> {
    let mut out = Vec::new();
    for (set, usage) in [
        (ku.digital_signature(), KeyUsage::DigitalSignature),
        (ku.non_repudiation(), KeyUsage::ContentCommitment),
        (ku.key_encipherment(), KeyUsage::KeyEncipherment),
        (ku.data_encipherment(), KeyUsage::DataEncipherment),
        (ku.key_agreement(), KeyUsage::KeyAgreement),
        (ku.key_cert_sign(), KeyUsage::CertSign),
        (ku.crl_sign(), KeyUsage::CrlSign),
        (ku.encipher_only(), KeyUsage::EncipherOnly),
        (ku.decipher_only(), KeyUsage::DecipherOnly),
    ] {
        if set {
            out.push(usage);
        }
    }
    out
}

/// Parses a DER certificate into [`CertInfo`].
pub fn parse_certificate(der_bytes: &[u8]) -> Result<CertInfo, PkiError> {
    let bad = |e: String| PkiError::InvalidCertificate(e);
    let (rest, cert) =
        x509_parser::parse_x509_certificate(der_bytes).map_err(|e| bad(e.to_string()))?;
    if !rest.is_empty() {
        return Err(bad("trailing data after the certificate".into()));
    }
    let alg = der::split_signed(der_bytes)
        .map_err(|e| bad(e.to_string()))?
        .alg;
    let subject_der = cert.subject().as_raw().to_vec();
    let issuer_der = cert.issuer().as_raw().to_vec();
    let subject_rdns = parse_name(&subject_der).map_err(|e| bad(format!("subject: {e}")))?;
    let issuer_rdns = parse_name(&issuer_der).map_err(|e| bad(format!("issuer: {e}")))?;
    let subject = Subject::from_rdns(&subject_rdns);

    let mut info = CertInfo {
        serial: format_serial(cert.raw_serial()),
        serial_bytes: {
            let raw = cert.raw_serial();
            let start = raw.iter().take_while(|b| **b == 0).count();
            raw.get(start..).unwrap_or(&[]).to_vec()
        },
        common_name: subject.common_name.clone(),
        subject,
        subject_dn: rdns_to_string(&subject_rdns),
        issuer_dn: rdns_to_string(&issuer_rdns),
        self_issued: subject_der == issuer_der,
        subject_der,
        issuer_der,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        spki_der: cert.public_key().raw.to_vec(),
        sha256_fingerprint: hex_colon(&Sha256::digest(der_bytes)),
        signature_algorithm: super::alg::algorithm_name_of_der(alg),
        ..CertInfo::default()
    };

    match PublicKeyInfo::from_spki_der(cert.public_key().raw) {
        Ok(pk) => {
            info.key_type = pk.key_type.as_str().to_string();
            info.key_bits = pk.bits;
        }
        Err(_) => {
            info.key_type = cert.public_key().algorithm.algorithm.to_id_string();
            info.key_bits = cert
                .public_key()
                .parsed()
                .map(|p| u32::try_from(p.key_size()).unwrap_or(0))
                .unwrap_or(0);
        }
    }

    for ext in cert.iter_extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                info.sans = Sans::from_general_names(&san.general_names);
            }
            ParsedExtension::BasicConstraints(bc) => {
                info.is_ca = bc.ca;
                info.max_path_length = bc.path_len_constraint;
            }
            ParsedExtension::KeyUsage(ku) => info.key_usage = key_usages_of(ku),
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let mut oids: Vec<String> = Vec::new();
                for (set, usage) in [
                    (eku.any, ExtKeyUsage::Any),
                    (eku.server_auth, ExtKeyUsage::ServerAuth),
                    (eku.client_auth, ExtKeyUsage::ClientAuth),
                    (eku.code_signing, ExtKeyUsage::CodeSigning),
                    (eku.email_protection, ExtKeyUsage::EmailProtection),
                    (eku.time_stamping, ExtKeyUsage::TimeStamping),
                    (eku.ocsp_signing, ExtKeyUsage::OcspSigning),
                ] {
                    if set {
                        info.ext_key_usage.push(usage);
                    }
                }
                for other in &eku.other {
                    let dotted = other.to_id_string();
                    match ExtKeyUsage::from_oid(&dotted) {
                        Some(u) => info.ext_key_usage.push(u),
                        None => oids.push(dotted),
                    }
                }
                info.ext_key_usage_oids = oids;
            }
            ParsedExtension::SubjectKeyIdentifier(id) => info.subject_key_id = hex_colon(id.0),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                if let Some(id) = &aki.key_identifier {
                    info.authority_key_id = hex_colon(id.0);
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for desc in &aia.accessdescs {
                    if let GeneralName::URI(uri) = desc.access_location {
                        match desc.access_method.to_id_string().as_str() {
                            OID_AD_OCSP => info.ocsp_servers.push(uri.to_string()),
                            OID_AD_CA_ISSUERS => info.issuing_certificates.push(uri.to_string()),
                            _ => {}
                        }
                    }
                }
            }
            ParsedExtension::CRLDistributionPoints(points) => {
                for point in &points.points {
                    if let Some(DistributionPointName::FullName(names)) = &point.distribution_point
                    {
                        for name in names {
                            if let GeneralName::URI(uri) = name {
                                info.crl_distribution_points.push((*uri).to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

/// Parses the certificate a bundle is built around (a `.p12`, a TLS Secret) and checks
/// that `key` is its key; errors name the `certificate` or `private_key` field.
pub(crate) fn certificate_of_key(
    cert_der: &[u8],
    key: &super::key::PrivateKey,
) -> Result<CertInfo, PkiError> {
    let info = parse_certificate(cert_der).map_err(|e| PkiError::InvalidField {
        field: "certificate",
        reason: e.to_string(),
    })?;
    if !key.matches(&super::key::PublicKeyInfo::from_spki_der(&info.spki_der)?) {
        return Err(PkiError::InvalidField {
            field: "private_key",
            reason: "does not match the certificate's public key".into(),
        });
    }
    Ok(info)
}

/// Parses the first certificate in PEM text (or DER bytes) into [`CertInfo`].
pub fn parse_certificate_pem_or_der(input: &[u8]) -> Result<CertInfo, PkiError> {
    if input.first() == Some(&der::SEQUENCE) {
        return parse_certificate(input);
    }
    let text =
        std::str::from_utf8(input).map_err(|_| PkiError::InvalidPem("not utf-8 text".into()))?;
    let certs = certificates_from_pem(text)?;
    let first = certs
        .first()
        .ok_or_else(|| PkiError::InvalidPem("no CERTIFICATE block found".into()))?;
    parse_certificate(first)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pki::key::KeyType;

    pub(crate) fn ca_spec(cn: &str, serial: u8) -> CertSpec {
        CertSpec {
            serial: vec![serial],
            not_before: 1_700_000_000,
            not_after: 1_900_000_000,
            subject: Subject::with_common_name(cn),
            is_ca: true,
            key_usage: vec![KeyUsage::CertSign, KeyUsage::CrlSign],
            ..CertSpec::default()
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn der_helpers_round_trip() {
        for oid in [
            "1.2.840.113549.1.1.11",
            "2.5.29.37.0",
            "1.3.6.1.4.1.311.61.1.1",
            "2.999.3",
        ] {
            let encoded = der::oid(oid).expect("encode");
            let (_, content) = der::expect(&encoded, der::OID).expect("tlv");
            assert_eq!(der::oid_to_string(content).expect("decode"), oid);
        }
        assert_eq!(
            der::oid("1.2.840.10045.4.3.2").ok(),
            Some(vec![
                0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02
            ])
        );
        assert!(der::oid("x.y").is_err());
        assert!(der::oid("3.1").is_err());
        let long = der::tlv(der::OCTET_STRING, &[7u8; 300]);
        assert_eq!(long.get(..4), Some(&[0x04, 0x82, 0x01, 0x2c][..]));
        let (_, content) = der::expect(&long, der::OCTET_STRING).expect("long");
        assert_eq!(content.len(), 300);
        assert!(der::split(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_err());
        assert!(der::split(&[0x30, 0x05, 1]).is_err());
        assert_eq!(der::uint(&[0x00, 0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der::uint(&[]), vec![0x02, 0x01, 0x00]);
        assert_eq!(der::uint(&[0, 0, 0x7f]), vec![0x02, 0x01, 0x7f]);
        assert_eq!(der::uint(&[0xff, 1]), vec![0x02, 0x03, 0x00, 0xff, 0x01]);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn serials_format_and_parse_like_vault() {
        assert_eq!(format_serial(&[0x00, 0x1a, 0x2b, 0x03]), "1a:2b:03");
        assert_eq!(parse_serial("1a:2b:03").ok(), Some(vec![0x1a, 0x2b, 0x03]));
        assert_eq!(parse_serial("1A-2B-03").ok(), Some(vec![0x1a, 0x2b, 0x03]));
        assert!(parse_serial("zz").is_err());
        assert!(parse_serial("").is_err());
        let s = random_serial().expect("random");
        assert_eq!(s.len(), 20);
        assert!(s.first().is_some_and(|b| *b < 0x80));
        assert!(checked_serial(&s).is_ok());
        assert!(checked_serial(&[0]).is_err());
        assert!(checked_serial(&[0xff; 20]).is_err());
        assert!(checked_serial(&[0x7f; 20]).is_ok());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn subjects_encode_in_go_order_and_read_back() {
        let subject = Subject {
            common_name: "example.com".into(),
            organization: vec!["Org".into()],
            organizational_unit: vec!["B".into(), "A".into()],
            country: vec!["US".into()],
            locality: vec!["Zürich".into()],
            province: vec!["CA".into()],
            street_address: vec!["1 Main St".into()],
            postal_code: vec!["94000".into()],
            serial_number: "42".into(),
        };
        let der_bytes = subject.to_der().expect("encode");
        let rdns = parse_name(&der_bytes).expect("parse");
        assert_eq!(rdns.len(), 9);
        let back = Subject::from_rdns(&rdns);
        assert_eq!(back.common_name, "example.com");
        assert_eq!(back.locality, vec!["Zürich".to_string()]);
        let mut ous = back.organizational_unit.clone();
        ous.sort();
        assert_eq!(ous, vec!["A".to_string(), "B".to_string()]);
        let text = name_to_string(&der_bytes).expect("string");
        assert!(
            text.starts_with("SERIALNUMBER=42,CN=example.com,OU="),
            "{text}"
        );
        assert!(text.ends_with(",ST=CA,C=US"), "{text}");
        assert!(Subject::default().is_empty());
        assert_eq!(Subject::default().to_der().ok(), Some(vec![0x30, 0x00]));
        assert_eq!(escape_dn_value("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_dn_value(" x "), "\\ x\\ ");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn usages_parse_case_insensitively() {
        assert_eq!(
            "digitalsignature".parse::<KeyUsage>().ok(),
            Some(KeyUsage::DigitalSignature)
        );
        assert_eq!("CRLSign".parse::<KeyUsage>().ok(), Some(KeyUsage::CrlSign));
        assert!("Bogus".parse::<KeyUsage>().is_err());
        assert_eq!(
            "serverauth".parse::<ExtKeyUsage>().ok(),
            Some(ExtKeyUsage::ServerAuth)
        );
        assert_eq!(
            "IPSECTunnel".parse::<ExtKeyUsage>().ok(),
            Some(ExtKeyUsage::IpsecTunnel)
        );
        assert_eq!(
            serde_json::to_string(&ExtKeyUsage::OcspSigning)
                .ok()
                .as_deref(),
            Some("\"OCSPSigning\"")
        );
        assert_eq!(
            serde_json::to_string(&KeyUsage::CrlSign).ok().as_deref(),
            Some("\"CRLSign\"")
        );
        assert_eq!(
            ExtKeyUsage::from_oid("1.3.6.1.5.5.7.3.1"),
            Some(ExtKeyUsage::ServerAuth)
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn signing_rejects_bad_specs_and_foreign_keys() {
        let key = PrivateKey::generate(KeyType::Ec, 256).expect("key");
        let other = PrivateKey::generate(KeyType::Ec, 256).expect("key");
        let root = self_sign(&ca_spec("Root", 1), &key, 0).expect("root");
        let spec = ca_spec("x", 3);
        assert_eq!(
            sign(&spec, &other.public_key_info(), &root, &other, 0),
            Err(PkiError::IssuerKeyMismatch)
        );
        let mut bad = spec.clone();
        bad.serial = vec![];
        assert!(matches!(
            self_sign(&bad, &key, 0),
            Err(PkiError::InvalidField {
                field: "serial_number",
                ..
            })
        ));
        let mut bad = spec.clone();
        bad.not_after = bad.not_before - 1;
        assert!(matches!(
            self_sign(&bad, &key, 0),
            Err(PkiError::InvalidField {
                field: "not_after",
                ..
            })
        ));
        let mut bad = spec.clone();
        bad.max_path_length = Some(1000);
        assert!(self_sign(&bad, &key, 0).is_err());
        let mut bad = spec.clone();
        bad.ext_key_usage_oids = vec!["nope".into()];
        assert!(self_sign(&bad, &key, 0).is_err());
        let mut bad = spec;
        bad.sans.dns = vec!["bücher.example".into()];
        assert!(self_sign(&bad, &key, 0).is_err());
        assert!(parse_certificate(b"junk").is_err());
        assert!(sign(&ca_spec("x", 4), &other.public_key_info(), b"junk", &key, 0).is_err());
    }
}
