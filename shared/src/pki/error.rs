//! The PKI error type, [`PkiError`]: one enum for everything that can go wrong in keys,
//! CSRs, certificates, CRLs, chains and downloads. A leaf module that imports nothing
//! from the PKI modules (a key type appears in its messages by Vault's name, `rsa`, `ec`
//! or `ed25519`).

/// Everything that can go wrong in the PKI machinery. Messages are lowercase and name the
/// field or thing that is wrong; where Vault has a well-known text, it is used verbatim.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkiError {
    /// A `key_type` other than rsa, ec or ed25519.
    #[error("unsupported key_type {0:?}: expected rsa, ec or ed25519")]
    UnsupportedKeyType(String),
    /// A `key_bits` value the key type does not support.
    #[error("unsupported key_bits {bits} for key_type {key_type}")]
    UnsupportedKeyBits {
        /// The key type asked for (Vault's name).
        key_type: &'static str,
        /// The size asked for.
        bits: u32,
    },
    /// A `signature_bits` value the key type does not support.
    #[error("unsupported signature_bits {bits} for key_type {key_type}")]
    UnsupportedSignatureBits {
        /// The signing key's type (Vault's name).
        key_type: &'static str,
        /// The hash size asked for.
        bits: u32,
    },
    /// A private key that could not be decoded.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),
    /// A public key (SubjectPublicKeyInfo) that could not be decoded.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// A public key algorithm or curve this crate does not handle.
    #[error("unsupported public key algorithm: {0}")]
    UnsupportedPublicKey(String),
    /// Text that is not the PEM expected.
    #[error("invalid pem: {0}")]
    InvalidPem(String),
    /// A CSR given as PEM that has no CSR block (Vault's text).
    #[error("csr contains no data")]
    CsrEmpty,
    /// A CSR whose DER does not parse (Vault's text).
    #[error("certificate request could not be parsed: {0}")]
    CsrParse(String),
    /// A CSR whose self-signature does not verify (Vault's text).
    #[error("request signature invalid")]
    CsrSignature,
    /// A certificate that could not be parsed.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    /// A CRL that could not be parsed.
    #[error("invalid crl: {0}")]
    InvalidCrl(String),
    /// A value of a named field that cannot be encoded or makes no sense.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field, by its Vault API name where there is one.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A signature algorithm this crate does not verify or produce.
    #[error("unsupported signature algorithm: {0}")]
    UnsupportedSignatureAlgorithm(String),
    /// A signature that does not verify.
    #[error("signature verification failed: {0}")]
    SignatureInvalid(String),
    /// An issuer key that is not the key of the issuer certificate.
    #[error("issuer key does not match the issuer certificate's public key")]
    IssuerKeyMismatch,
    /// A certificate chain that does not hold together.
    #[error("certificate chain invalid: {0}")]
    ChainInvalid(String),
    /// The platform's random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
    /// Encoding a structure failed.
    #[error("encoding failed: {0}")]
    Encoding(String),
}
