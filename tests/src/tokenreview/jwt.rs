//! Service account JWTs for tests, shaped like the ones kube-apiserver issues: projected
//! tokens (`iss`, `sub` `system:serviceaccount:<ns>:<name>`, `aud`, `exp`, `iat`, `nbf`,
//! and the `kubernetes.io` object with namespace, pod and service account) and legacy
//! secret tokens, signed RS256 (RSA keys) or ES256/ES384 (P-256/P-384 keys) in compact JWS.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use shared::pki::key::{KeyType, PrivateKey};

use super::Account;

/// The issuer a cluster's tokens name.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// base64url without padding (RFC 7515 §2).
pub fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The claims of a projected token for `account`, valid from `iat` for `lifetime` seconds.
pub fn projected_claims(account: &Account, iat: i64, lifetime: i64) -> Value {
    let (pod, pod_uid) = account.pod.clone().unwrap_or_else(|| {
        (
            format!("{}-7d4b9c8f6-x2x9q", account.name),
            "3f0e8a52-5a9c-4d47-9a3e-0b1c2d3e4f50".into(),
        )
    });
    json!({
        "aud": account.audiences,
        "exp": iat + lifetime,
        "iat": iat,
        "iss": ISSUER,
        "jti": "2b6fd1c3-8d5e-4a3b-9f7e-1c2d3e4f5a6b",
        "kubernetes.io": {
            "namespace": account.namespace,
            "node": {"name": "worker-1", "uid": "9a8b7c6d-0000-4000-8000-000000000001"},
            "pod": {"name": pod, "uid": pod_uid},
            "serviceaccount": {"name": account.name, "uid": account.uid},
        },
        "nbf": iat,
        "sub": account.username(),
    })
}

/// The claims of a legacy secret-based token (no `aud`, no expiry).
pub fn legacy_claims(account: &Account, secret_name: &str) -> Value {
    json!({
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": account.namespace,
        "kubernetes.io/serviceaccount/secret.name": secret_name,
        "kubernetes.io/serviceaccount/service-account.name": account.name,
        "kubernetes.io/serviceaccount/service-account.uid": account.uid,
        "sub": account.username(),
    })
}

/// `SEQUENCE { INTEGER r, INTEGER s }` to JWS's fixed-width `r || s`.
fn ecdsa_der_to_raw(der: &[u8], width: usize) -> anyhow::Result<Vec<u8>> {
    let body = match der {
        [0x30, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        _ => bail!("not a short DER sequence"),
    };
    let mut out = Vec::with_capacity(2 * width);
    let mut rest = body;
    for _ in 0..2 {
        let [0x02, len, tail @ ..] = rest else {
            bail!("not a DER integer");
        };
        let len = usize::from(*len);
        let int = tail.get(..len).context("truncated integer")?;
        let int = &int[int.len().saturating_sub(width)..];
        out.extend(std::iter::repeat_n(0u8, width - int.len()));
        out.extend_from_slice(int);
        rest = &tail[len..];
    }
    Ok(out)
}

/// The JWS `alg` for `key`: RS256, ES256 or ES384.
pub fn alg_for(key: &PrivateKey) -> anyhow::Result<&'static str> {
    Ok(match (key.key_type(), key.bits()) {
        (KeyType::Rsa, _) => "RS256",
        (KeyType::Ec, 256) => "ES256",
        (KeyType::Ec, 384) => "ES384",
        (t, b) => bail!("no JWS algorithm for a {t} {b} key"),
    })
}

/// Signs `claims` with `key` as a compact JWS with a `kid`, as the API server does.
pub fn sign(key: &PrivateKey, claims: &Value) -> anyhow::Result<String> {
    let alg = alg_for(key)?;
    let header = json!({"alg": alg, "kid": "sa-signing-key-1"});
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let der_or_pkcs1 = key.sign(input.as_bytes(), 0)?;
    let signature = match key.key_type() {
        KeyType::Ec => ecdsa_der_to_raw(&der_or_pkcs1, key.bits() as usize / 8)?,
        _ => der_or_pkcs1,
    };
    Ok(format!("{input}.{}", b64url(&signature)))
}

/// A signed projected token for `account`, issued now, valid ten minutes (what
/// cert-manager asks the TokenRequest API for).
pub fn projected(key: &PrivateKey, account: &Account) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    sign(key, &projected_claims(account, now, 600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64url(plain.as_bytes()), encoded);
        }
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn ecdsa_signatures_become_fixed_width() -> anyhow::Result<()> {
        let key = PrivateKey::generate(KeyType::Ec, 256)?;
        let token = sign(&key, &json!({"sub": "x"}))?;
        let sig = token.rsplit('.').next().context("signature")?;
        // 64 bytes of r || s are 86 base64url characters.
        assert_eq!(sig.len(), 86);
        assert!(ecdsa_der_to_raw(&[0x30, 0x01], 32).is_err());
        Ok(())
    }
}
