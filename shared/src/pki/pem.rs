//! PEM: encoding DER under a label, and reading every block of a text (a bundle, a chain,
//! a key file). A leaf module: labels are the callers' business.

use super::error::PkiError;

/// PEM-encodes `der` under `label` (64-column base64, LF line endings, trailing newline).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Every PEM block in `text`, in order, as (label, DER). Text between blocks is ignored;
/// text with no block at all is an error.
pub fn pem_decode_all(text: &str) -> Result<Vec<(String, Vec<u8>)>, PkiError> {
    let blocks = pem::parse_many(text).map_err(|e| PkiError::InvalidPem(e.to_string()))?;
    if blocks.is_empty() {
        return Err(PkiError::InvalidPem("no pem block found".into()));
    }
    Ok(blocks
        .into_iter()
        .map(|p| (p.tag().to_string(), p.into_contents()))
        .collect())
}

/// The DER of every "CERTIFICATE" block in `text`, in order (a PEM bundle or chain).
pub fn certificates_from_pem(text: &str) -> Result<Vec<Vec<u8>>, PkiError> {
    Ok(pem_decode_all(text)?
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| der)
        .collect())
}
