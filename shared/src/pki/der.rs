//! Minimal DER reading and writing: enough to take signed structures apart, put new
//! names, keys and algorithm identifiers in, and read names and algorithm identifiers.
//! The writers are public for the plugin's WebCrypto-signed CSRs. A leaf module: it
//! knows tags and lengths, nothing about certificates or keys.

use super::error::PkiError;

pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub(crate) const UTF8_STRING: u8 = 0x0c;
pub(crate) const PRINTABLE_STRING: u8 = 0x13;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub(crate) const NULL: [u8; 2] = [0x05, 0x00];

/// A DER structure that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DerError(pub(crate) String);

impl std::fmt::Display for DerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed der: {}", self.0)
    }
}

/// One TLV split off the front of `input`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
    pub(crate) whole: &'a [u8],
    pub(crate) rest: &'a [u8],
}

/// Splits the first TLV off `input` (single-byte tags, definite lengths).
pub(crate) fn split(input: &[u8]) -> Result<Tlv<'_>, DerError> {
    let (&tag, after_tag) = input
        .split_first()
        .ok_or_else(|| DerError("unexpected end of data".into()))?;
    if tag & 0x1f == 0x1f {
        return Err(DerError("multi-byte tags are not supported".into()));
    }
    let (&first, after_len) = after_tag
        .split_first()
        .ok_or_else(|| DerError("missing length".into()))?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(DerError("unsupported length encoding".into()));
        }
        let bytes = after_len
            .get(..n)
            .ok_or_else(|| DerError("truncated length".into()))?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + n)
    };
    let end = header
        .checked_add(len)
        .ok_or_else(|| DerError("length overflow".into()))?;
    let whole = input
        .get(..end)
        .ok_or_else(|| DerError("content longer than the data".into()))?;
    let content = whole.get(header..).unwrap_or(&[]);
    let rest = input.get(end..).unwrap_or(&[]);
    Ok(Tlv {
        tag,
        content,
        whole,
        rest,
    })
}

/// Parses `input` as exactly one TLV with tag `tag`: (whole, content).
pub(crate) fn expect(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), DerError> {
    let tlv = split(input)?;
    if tlv.tag != tag {
        return Err(DerError(format!(
            "expected tag 0x{tag:02x}, found 0x{:02x}",
            tlv.tag
        )));
    }
    if !tlv.rest.is_empty() {
        return Err(DerError("trailing data".into()));
    }
    Ok((tlv.whole, tlv.content))
}

/// The TLVs (whole) that make up a constructed value's content.
pub(crate) fn children(mut content: &[u8]) -> Result<Vec<&[u8]>, DerError> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let tlv = split(content)?;
        out.push(tlv.whole);
        content = tlv.rest;
    }
    Ok(out)
}

/// Encodes a TLV.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// A non-negative INTEGER from big-endian magnitude bytes.
pub fn uint(magnitude: &[u8]) -> Vec<u8> {
    let start = magnitude.iter().take_while(|b| **b == 0).count();
    let trimmed = magnitude.get(start..).unwrap_or(&[]);
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| *b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(INTEGER, &content)
}

/// A BIT STRING with no unused bits.
pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0);
    content.extend_from_slice(bytes);
    tlv(BIT_STRING, &content)
}

/// An OBJECT IDENTIFIER TLV from its dotted form.
pub fn oid(dotted: &str) -> Result<Vec<u8>, PkiError> {
    let bad = || PkiError::InvalidField {
        field: "oid",
        reason: format!("{dotted:?} is not a dotted object identifier"),
    };
    let arcs = dotted
        .trim()
        .split('.')
        .map(|a| a.parse::<u64>().map_err(|_| bad()))
        .collect::<Result<Vec<_>, _>>()?;
    let (first, second) = match arcs.as_slice() {
        [a, b, ..] if *a <= 2 && (*a == 2 || *b < 40) => (*a, *b),
        _ => return Err(bad()),
    };
    let mut content = Vec::new();
    let head = first
        .checked_mul(40)
        .and_then(|v| v.checked_add(second))
        .ok_or_else(bad)?;
    for arc in std::iter::once(head).chain(arcs.iter().skip(2).copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            groups.push(((v & 0x7f) as u8) | 0x80);
            v >>= 7;
        }
        content.extend(groups.iter().rev());
    }
    Ok(tlv(OID, &content))
}

/// The dotted form of an OBJECT IDENTIFIER's content.
pub(crate) fn oid_to_string(content: &[u8]) -> Result<String, DerError> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    let mut in_arc = false;
    for b in content {
        if value > (u64::MAX >> 7) {
            return Err(DerError("object identifier arc too large".into()));
        }
        value = (value << 7) | u64::from(b & 0x7f);
        in_arc = true;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
            in_arc = false;
        }
    }
    if in_arc || arcs.is_empty() {
        return Err(DerError("truncated object identifier".into()));
    }
    Ok(arcs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

/// The parts of a signed structure (certificate, CSR, CRL).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signed<'a> {
    /// The signed data (TBS) DER.
    pub(crate) tbs: &'a [u8],
    /// The AlgorithmIdentifier DER.
    pub(crate) alg: &'a [u8],
    /// The signature bytes.
    pub(crate) signature: &'a [u8],
}

/// Splits `SEQUENCE { tbs, algorithm, BIT STRING signature }`.
pub(crate) fn split_signed(der_bytes: &[u8]) -> Result<Signed<'_>, DerError> {
    let (_, outer) = expect(der_bytes, SEQUENCE)?;
    let parts = children(outer)?;
    let [tbs, alg, sig] = parts.as_slice() else {
        return Err(DerError("expected tbs, algorithm and signature".into()));
    };
    let (_, bits) = expect(sig, BIT_STRING)?;
    match bits.split_first() {
        Some((0, signature)) => Ok(Signed {
            tbs,
            alg,
            signature,
        }),
        _ => Err(DerError("signature bit string has unused bits".into())),
    }
}
