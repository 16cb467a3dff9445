//! Service account JWTs as Vault's Kubernetes auth reads them: compact JWS parsing,
//! signatures checked against `pem_keys` (RS256/384/512, ES256/384), the claim checks of
//! `hashicorp/cap`'s validator (issuer, audience, time claims with its leeways), and the
//! service account named by either token shape (legacy secret tokens or projected ones).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use shared::pki::key::{KeyType, PublicKeyInfo};
use shared::pki::verify::verify_signature;

/// The algorithms Vault's Kubernetes auth accepts in the JWS header.
const ALLOWED_ALGS: &[&str] = &["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"];

/// cap/jwt's clock skew leeway for `nbf`, `exp` and `iat` (go-jose's `DefaultLeeway`).
const CLOCK_SKEW_LEEWAY: i64 = 60;
/// cap/jwt's leeway for a missing `exp` or `nbf` (`DefaultLeewaySeconds`).
const MISSING_CLAIM_LEEWAY: i64 = 150;

/// Why a JWT was refused. The claim texts are cap/jwt's, which Vault returns verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("jwt is malformed: {0}")]
    Malformed(String),
    #[error("jwt alg {0:?} is not allowed: use RS256, RS384, RS512, ES256, ES384 or ES512")]
    Algorithm(String),
    #[error("no known key successfully validated the token signature")]
    Signature,
    #[error("invalid issuer (iss) claim")]
    Issuer,
    #[error("invalid audience (aud) claim: audience claim does not match any expected audience")]
    Audience,
    #[error("invalid not before (nbf) claim: token not yet valid")]
    NotYetValid,
    #[error("invalid expiration time (exp) claim: token is expired")]
    Expired,
    #[error("invalid issued at (iat) claim: token issued in the future")]
    IssuedInFuture,
}

impl JwtError {
    /// Errors Vault turns into a bare "permission denied": the token could not be parsed
    /// or its signature could not be verified.
    pub fn is_signature_failure(&self) -> bool {
        matches!(
            self,
            JwtError::Malformed(_) | JwtError::Algorithm(_) | JwtError::Signature
        )
    }
}

/// A parsed (not yet trusted) compact JWS.
#[derive(Debug, Clone)]
pub struct Jwt {
    pub alg: String,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| JwtError::Malformed(format!("{what} is not base64url: {e}")))
}

fn json_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, JwtError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(JwtError::Malformed(format!("{what} is not a json object"))),
        Err(e) => Err(JwtError::Malformed(format!("{what} is not json: {e}"))),
    }
}

/// Splits and decodes a compact JWS (surrounding whitespace ignored, as go-jose does).
pub fn parse(token: &str) -> Result<Jwt, JwtError> {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(JwtError::Malformed(
            "compact jws format must have three parts".into(),
        ));
    };
    let header_json = json_object(&b64(header, "header")?, "header")?;
    let alg = match header_json.get("alg") {
        Some(Value::String(a)) => a.clone(),
        _ => return Err(JwtError::Malformed("header has no \"alg\"".into())),
    };
    if !ALLOWED_ALGS.contains(&alg.as_str()) {
        return Err(JwtError::Algorithm(alg));
    }
    let claims = json_object(&b64(payload, "payload")?, "payload")?;
    let signature = b64(signature, "signature")?;
    if signature.is_empty() {
        return Err(JwtError::Malformed("token must be signed".into()));
    }
    Ok(Jwt {
        alg,
        claims,
        signing_input: format!("{header}.{payload}"),
        signature,
    })
}

/// A DER INTEGER for a big-endian unsigned magnitude.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    let mut content = bytes[start..].to_vec();
    if content.first().is_none_or(|b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    let mut out = vec![0x02, content.len() as u8];
    out.extend(content);
    out
}

/// JWS ECDSA signatures are `r || s` of fixed width; X.509 verifiers want DER.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [der_uint(r), der_uint(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

impl Jwt {
    /// Checks the signature against the configured keys; any one of them may match.
    pub fn verify(&self, keys: &[PublicKeyInfo]) -> Result<(), JwtError> {
        if keys.iter().any(|k| self.verified_by(k)) {
            Ok(())
        } else {
            Err(JwtError::Signature)
        }
    }

    fn verified_by(&self, key: &PublicKeyInfo) -> bool {
        let input = self.signing_input.as_bytes();
        let rsa = |oid: &str| {
            key.key_type == KeyType::Rsa
                && verify_signature(input, oid, None, &self.signature, &key.spki_der).is_ok()
        };
        let ecdsa = |oid: &str, bits: u32| {
            key.key_type == KeyType::Ec
                && key.bits == bits
                && self.signature.len() == 2 * (bits as usize).div_ceil(8)
                && verify_signature(
                    input,
                    oid,
                    None,
                    &ecdsa_raw_to_der(&self.signature),
                    &key.spki_der,
                )
                .is_ok()
        };
        match self.alg.as_str() {
            "RS256" => rsa("1.2.840.113549.1.1.11"),
            "RS384" => rsa("1.2.840.113549.1.1.12"),
            "RS512" => rsa("1.2.840.113549.1.1.13"),
            "ES256" => ecdsa("1.2.840.10045.4.3.2", 256),
            "ES384" => ecdsa("1.2.840.10045.4.3.3", 384),
            // ES512 (P-521) keys are not supported here, so nothing verifies it.
            _ => false,
        }
    }
}

/// The `aud` claim: a string or a list of strings.
pub fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

fn numeric_date(claims: &Map<String, Value>, key: &str) -> Result<i64, JwtError> {
    match claims.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(|f| f as i64)
            .ok_or_else(|| JwtError::Malformed(format!("claim \"{key}\" is not a number"))),
        Some(_) => Err(JwtError::Malformed(format!(
            "claim \"{key}\" is not a number"
        ))),
    }
}

/// What the claims must satisfy besides the signature.
#[derive(Debug, Clone, Default)]
pub struct Expected<'a> {
    /// `iss` must equal this when set.
    pub issuer: Option<&'a str>,
    /// `aud` must contain this when set.
    pub audience: Option<&'a str>,
    /// Unix seconds.
    pub now: i64,
}

/// cap/jwt's `ValidateAllowMissingIatNbfExp` after the signature: issuer, audience, then
/// the time claims (all three missing is allowed; a missing `exp` or `nbf` is derived
/// from the others with 150 s of leeway; 60 s of clock skew either way).
pub fn validate(claims: &Map<String, Value>, expected: &Expected<'_>) -> Result<(), JwtError> {
    if let Some(iss) = expected.issuer
        && claims.get("iss").and_then(Value::as_str) != Some(iss)
    {
        return Err(JwtError::Issuer);
    }
    if let Some(aud) = expected.audience
        && !audiences(claims).iter().any(|a| a == aud)
    {
        return Err(JwtError::Audience);
    }
    let iat = numeric_date(claims, "iat")?;
    let mut exp = numeric_date(claims, "exp")?;
    let mut nbf = numeric_date(claims, "nbf")?;
    if iat == 0 && exp == 0 && nbf == 0 {
        return Ok(());
    }
    if exp == 0 {
        exp = iat.max(nbf) + MISSING_CLAIM_LEEWAY;
    }
    if nbf == 0 {
        nbf = if iat != 0 {
            iat
        } else {
            exp - MISSING_CLAIM_LEEWAY
        };
    }
    let now = expected.now;
    if now + CLOCK_SKEW_LEEWAY < nbf {
        return Err(JwtError::NotYetValid);
    }
    if now - CLOCK_SKEW_LEEWAY > exp {
        return Err(JwtError::Expired);
    }
    if now + CLOCK_SKEW_LEEWAY < iat {
        return Err(JwtError::IssuedInFuture);
    }
    Ok(())
}

/// The service account a token names. Projected tokens carry a `kubernetes.io` object
/// (`namespace`, `serviceaccount{name,uid}`, `pod{...}`), which wins over the legacy
/// secret-token claims (`kubernetes.io/serviceaccount/...`), as in Vault.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAccount {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    /// Only legacy secret tokens name their secret.
    pub secret_name: String,
    pub audiences: Vec<String>,
}

impl ServiceAccount {
    pub fn from_claims(claims: &Map<String, Value>) -> ServiceAccount {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let legacy = |k: &str| text(claims.get(&format!("kubernetes.io/serviceaccount/{k}")));
        let mut sa = ServiceAccount {
            name: legacy("service-account.name"),
            namespace: legacy("namespace"),
            uid: legacy("service-account.uid"),
            secret_name: legacy("secret.name"),
            audiences: audiences(claims),
        };
        if let Some(Value::Object(k8s)) = claims.get("kubernetes.io") {
            sa.namespace = text(k8s.get("namespace"));
            if let Some(Value::Object(account)) = k8s.get("serviceaccount") {
                sa.name = text(account.get("name"));
                sa.uid = text(account.get("uid"));
            }
        }
        sa
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::pki::key::PrivateKey;

    fn encode(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    /// A JWS signed with `key` (RS256 for RSA keys, ES256/ES384 by curve).
    fn sign(key: &PrivateKey, claims: &Value) -> String {
        let alg = match (key.key_type(), key.bits()) {
            (KeyType::Rsa, _) => "RS256",
            (KeyType::Ec, 256) => "ES256",
            _ => "ES384",
        };
        let input = format!(
            "{}.{}",
            encode(&json!({"alg": alg, "kid": "k1"})),
            encode(claims)
        );
        let sig = key.sign(input.as_bytes(), 0).expect("sign");
        let sig = if key.key_type() == KeyType::Ec {
            der_to_raw(&sig, key.bits() as usize / 8)
        } else {
            sig
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// DER `SEQUENCE { INTEGER r, INTEGER s }` to fixed-width `r || s`.
    fn der_to_raw(der: &[u8], width: usize) -> Vec<u8> {
        let mut out = vec![];
        let mut rest = &der[2..];
        for _ in 0..2 {
            let len = rest[1] as usize;
            let int = &rest[2..2 + len];
            let int = &int[int.len().saturating_sub(width)..];
            out.extend(std::iter::repeat_n(0u8, width - int.len()));
            out.extend_from_slice(int);
            rest = &rest[2 + len..];
        }
        out
    }

    fn projected(ns: &str, name: &str, aud: &str, now: i64) -> Value {
        json!({
            "aud": [aud],
            "exp": now + 600,
            "iat": now,
            "nbf": now,
            "iss": "https://kubernetes.default.svc.cluster.local",
            "sub": format!("system:serviceaccount:{ns}:{name}"),
            "kubernetes.io": {
                "namespace": ns,
                "pod": {"name": "cm-0", "uid": "pod-uid"},
                "serviceaccount": {"name": name, "uid": "sa-uid"},
            },
        })
    }

    #[test]
    fn signatures_verify_only_with_the_signing_key() {
        let now = 1_700_000_000;
        let claims = projected("cert-manager", "cert-manager", "vault://x", now);
        let rsa = PrivateKey::generate(KeyType::Rsa, 2048).expect("rsa");
        let p256 = PrivateKey::generate(KeyType::Ec, 256).expect("p256");
        let p384 = PrivateKey::generate(KeyType::Ec, 384).expect("p384");
        let other = PrivateKey::generate(KeyType::Ec, 256).expect("other");
        for key in [&rsa, &p256, &p384] {
            let jwt = parse(&sign(key, &claims)).expect("parse");
            jwt.verify(&[key.public_key_info()])
                .expect("own key verifies");
            // Among several keys, one match is enough.
            jwt.verify(&[other.public_key_info(), key.public_key_info()])
                .expect("any key");
            assert_eq!(
                jwt.verify(&[other.public_key_info()]),
                Err(JwtError::Signature)
            );
        }
        // A claim changed after signing no longer verifies.
        let token = sign(&p256, &claims);
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            encode(&projected("kube-system", "admin", "vault://x", now)),
            parts[2]
        );
        assert_eq!(
            parse(&forged)
                .expect("parse")
                .verify(&[p256.public_key_info()]),
            Err(JwtError::Signature)
        );
        // An RS256 header over an EC key is refused, not mis-verified.
        let jwt = parse(&sign(&rsa, &claims)).expect("parse");
        assert_eq!(
            jwt.verify(&[p256.public_key_info()]),
            Err(JwtError::Signature)
        );
    }

    #[test]
    fn malformed_tokens_and_algorithms_are_refused() {
        let claims = encode(&json!({"sub": "x"}));
        let sig = URL_SAFE_NO_PAD.encode(b"sig");
        let check = |token: String, want: fn(&JwtError) -> bool| {
            let err = parse(&token).expect_err(&token);
            assert!(want(&err), "{token}: {err:?}");
            assert!(err.is_signature_failure());
        };
        check("a.b".into(), |e| matches!(e, JwtError::Malformed(_)));
        check("".into(), |e| matches!(e, JwtError::Malformed(_)));
        check(format!("!!.{claims}.{sig}"), |e| {
            matches!(e, JwtError::Malformed(_))
        });
        check(
            format!("{}.{claims}.{sig}", encode(&json!({"alg": "none"}))),
            |e| matches!(e, JwtError::Algorithm(a) if a == "none"),
        );
        check(
            format!("{}.{claims}.{sig}", encode(&json!({"alg": "HS256"}))),
            |e| matches!(e, JwtError::Algorithm(_)),
        );
        check(
            format!("{}.{claims}.", encode(&json!({"alg": "RS256"}))),
            |e| matches!(e, JwtError::Malformed(m) if m.contains("signed")),
        );
        check(
            format!(
                "{}.{}.{sig}",
                encode(&json!({"alg": "RS256"})),
                encode(&json!([1]))
            ),
            |e| matches!(e, JwtError::Malformed(m) if m.contains("payload")),
        );
        // Whitespace around the token (a Secret's trailing newline) is fine.
        let ok = format!("{}.{claims}.{sig}\n", encode(&json!({"alg": "ES256"})));
        assert_eq!(parse(&ok).expect("parse").alg, "ES256");
    }

    #[test]
    fn claims_are_checked_as_cap_jwt_does() {
        let now = 1_700_000_000;
        let claims = |v: Value| v.as_object().cloned().expect("object");
        let at = |now| Expected {
            now,
            ..Default::default()
        };
        let c = claims(projected("ns", "sa", "vault://ns/issuer", now));
        validate(&c, &at(now)).expect("valid now");
        // Clock skew of up to a minute either way.
        validate(&c, &at(now - 59)).expect("nbf within leeway");
        assert_eq!(validate(&c, &at(now - 61)), Err(JwtError::NotYetValid));
        validate(&c, &at(now + 600 + 60)).expect("exp within leeway");
        assert_eq!(validate(&c, &at(now + 600 + 61)), Err(JwtError::Expired));
        // No time claims at all is allowed; iat alone expires 150 s later.
        validate(&claims(json!({})), &at(0)).expect("no time claims");
        let iat_only = claims(json!({"iat": now}));
        validate(&iat_only, &at(now + 210)).expect("iat + 150 + 60");
        assert_eq!(validate(&iat_only, &at(now + 211)), Err(JwtError::Expired));
        assert_eq!(
            validate(&iat_only, &at(now - 61)),
            Err(JwtError::NotYetValid)
        );
        assert!(matches!(
            validate(&claims(json!({"exp": "soon"})), &at(now)),
            Err(JwtError::Malformed(_))
        ));
        // Audience: one of a list, or a single string.
        let aud = |a| Expected {
            audience: Some(a),
            now,
            ..Default::default()
        };
        validate(&c, &aud("vault://ns/issuer")).expect("audience");
        assert_eq!(validate(&c, &aud("vault://other")), Err(JwtError::Audience));
        let single = claims(json!({"aud": "vault://a"}));
        validate(&single, &aud("vault://a")).expect("string aud");
        assert_eq!(
            validate(&claims(json!({})), &aud("vault://a")),
            Err(JwtError::Audience)
        );
        assert_eq!(
            JwtError::Audience.to_string(),
            "invalid audience (aud) claim: audience claim does not match any expected audience"
        );
        // Issuer.
        let iss = |i| Expected {
            issuer: Some(i),
            now,
            ..Default::default()
        };
        validate(&c, &iss("https://kubernetes.default.svc.cluster.local")).expect("iss");
        assert_eq!(
            validate(&c, &iss("kubernetes/serviceaccount")),
            Err(JwtError::Issuer)
        );
    }

    #[test]
    fn service_account_from_both_token_shapes() {
        let now = 1_700_000_000;
        let projected = ServiceAccount::from_claims(
            projected("cert-manager", "cert-manager", "vault://a", now)
                .as_object()
                .expect("object"),
        );
        assert_eq!(
            projected,
            ServiceAccount {
                name: "cert-manager".into(),
                namespace: "cert-manager".into(),
                uid: "sa-uid".into(),
                secret_name: String::new(),
                audiences: vec!["vault://a".into()],
            }
        );
        let legacy = json!({
            "iss": "kubernetes/serviceaccount",
            "kubernetes.io/serviceaccount/namespace": "apps",
            "kubernetes.io/serviceaccount/secret.name": "builder-token-x7k2p",
            "kubernetes.io/serviceaccount/service-account.name": "builder",
            "kubernetes.io/serviceaccount/service-account.uid": "u-1",
            "sub": "system:serviceaccount:apps:builder",
        });
        let legacy = ServiceAccount::from_claims(legacy.as_object().expect("object"));
        assert_eq!(
            (
                legacy.name.as_str(),
                legacy.namespace.as_str(),
                legacy.uid.as_str(),
                legacy.secret_name.as_str()
            ),
            ("builder", "apps", "u-1", "builder-token-x7k2p")
        );
        assert!(legacy.audiences.is_empty());
    }

    #[test]
    fn ecdsa_signatures_convert_to_der() {
        // High bit set: a zero byte is prepended; leading zeros are dropped.
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80;
        raw[32] = 0x00;
        raw[33] = 0x01;
        let der = ecdsa_raw_to_der(&raw);
        assert_eq!(&der[..5], &[0x30, der.len() as u8 - 2, 0x02, 33, 0x00]);
        let s_at = 2 + 2 + 33;
        assert_eq!(&der[s_at..s_at + 3], &[0x02, 31, 0x01]);
    }
}
