//! A Kubernetes TLS Secret (`type: kubernetes.io/tls`) as YAML: `tls.crt` (the leaf and its
//! intermediates), `tls.key` (PKCS#8 PEM) and `ca.crt` (the root), base64 in `data`, as
//! cert-manager writes them; name and namespace checked the way the API server checks them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::cert::{certificate_of_key, parse_certificate};
use super::error::PkiError;
use super::key::PrivateKey;
use super::pem::pem_encode;

/// Kubernetes' `IsDNS1123Subdomain` (object names such as a Secret's).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// Kubernetes' `IsDNS1123Label` (namespaces).
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=63).contains(&b.len())
        && b.first().is_some_and(ok)
        && b.last().is_some_and(ok)
        && b.iter().all(|c| ok(c) || *c == b'-')
}

fn check_names(name: &str, namespace: &str) -> Result<(), PkiError> {
    if !is_dns1123_subdomain(name) {
        return Err(PkiError::InvalidField {
            field: "name",
            reason: format!(
                "{name:?} is not a lowercase rfc 1123 subdomain: at most 253 characters of \
                 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
            ),
        });
    }
    if !is_dns1123_label(namespace) {
        return Err(PkiError::InvalidField {
            field: "namespace",
            reason: format!(
                "{namespace:?} is not a lowercase rfc 1123 label: at most 63 characters of \
                 lowercase letters, digits and '-', starting and ending with a letter or digit"
            ),
        });
    }
    Ok(())
}

/// The three PEM payloads of a TLS Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSecretData {
    /// The leaf, then every intermediate.
    pub tls_crt: String,
    /// The private key, PKCS#8 PEM.
    pub tls_key: String,
    /// The root (the chain's last certificate when it is self-issued), or `None` when the
    /// chain does not end in a root.
    pub ca_crt: Option<String>,
}

/// Sorts a certificate, its chain (intermediates first, root last, as Vault's `ca_chain`)
/// and its key into a TLS Secret's payloads, after checking the key is the certificate's.
pub fn tls_secret_data(
    cert_der: &[u8],
    chain_der: &[Vec<u8>],
    key: &PrivateKey,
) -> Result<TlsSecretData, PkiError> {
    certificate_of_key(cert_der, key)?;
    let mut root = None;
    let mut intermediates: &[Vec<u8>] = chain_der;
    for (i, der) in chain_der.iter().enumerate() {
        let ca = parse_certificate(der).map_err(|e| PkiError::InvalidField {
            field: "ca_chain",
            reason: e.to_string(),
        })?;
        if i + 1 == chain_der.len() && ca.self_issued {
            root = Some(der);
            intermediates = chain_der.get(..i).unwrap_or(&[]);
        }
    }
    let tls_crt = std::iter::once(cert_der)
        .chain(intermediates.iter().map(Vec::as_slice))
        .map(|der| pem_encode("CERTIFICATE", der))
        .collect();
    Ok(TlsSecretData {
        tls_crt,
        tls_key: key.to_pkcs8_pem()?.to_string(),
        ca_crt: root.map(|der| pem_encode("CERTIFICATE", der)),
    })
}

/// The Secret manifest, ready for `kubectl apply -f`.
pub fn tls_secret_yaml(
    name: &str,
    namespace: &str,
    cert_der: &[u8],
    chain_der: &[Vec<u8>],
    key: &PrivateKey,
) -> Result<String, PkiError> {
    check_names(name, namespace)?;
    let data = tls_secret_data(cert_der, chain_der, key)?;
    // Names are DNS-1123 and base64 has no YAML-special characters: nothing needs quoting.
    let mut yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n\
         type: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
        STANDARD.encode(&data.tls_crt),
        STANDARD.encode(&data.tls_key),
    );
    if let Some(ca) = &data.ca_crt {
        yaml.push_str(&format!("  ca.crt: {}\n", STANDARD.encode(ca)));
    }
    Ok(yaml)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::key::KeyType;
    use crate::pki::pem::certificates_from_pem;
    use crate::pki::pkcs12::tests::issued_leaf;

    /// The `data` entries of our YAML, decoded.
    fn data_of(yaml: &str) -> Vec<(String, String)> {
        let (_, data) = yaml.split_once("\ndata:\n").expect("a data section");
        data.lines()
            .map(|l| {
                let (k, v) = l
                    .strip_prefix("  ")
                    .and_then(|l| l.split_once(": "))
                    .expect("an indented key: value line");
                let bytes = STANDARD.decode(v).expect("base64");
                (k.to_string(), String::from_utf8(bytes).expect("utf-8"))
            })
            .collect()
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn secret_holds_leaf_and_intermediates_key_and_root() {
        let (leaf, chain, key) = issued_leaf(KeyType::Ec, 256);
        let yaml = tls_secret_yaml("web-tls", "team-a", &leaf, &chain, &key).expect("yaml");
        assert!(yaml.starts_with(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-tls\n  namespace: team-a\n\
             type: kubernetes.io/tls\ndata:\n"
        ));
        let data = data_of(&yaml);
        let keys: Vec<&str> = data.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["tls.crt", "tls.key", "ca.crt"]);
        let crt = certificates_from_pem(&data[0].1).expect("tls.crt");
        assert_eq!(crt, vec![leaf.clone(), chain[0].clone()]);
        let back = PrivateKey::from_pem(&data[1].1).expect("tls.key");
        assert!(back.matches(&key.public_key_info()));
        assert!(data[1].1.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(
            certificates_from_pem(&data[2].1).expect("ca.crt"),
            vec![chain[1].clone()]
        );

        // A chain without its root: no ca.crt, every CA certificate in tls.crt.
        let yaml = tls_secret_yaml("web-tls", "default", &leaf, &chain[..1], &key).expect("yaml");
        let data = data_of(&yaml);
        assert_eq!(data.len(), 2);
        assert_eq!(
            certificates_from_pem(&data[0].1).expect("tls.crt"),
            vec![leaf, chain[0].clone()]
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn names_must_be_dns1123_and_the_key_must_fit() {
        for (name, ok) in [
            ("a", true),
            ("web-tls", true),
            ("web.tls.example", true),
            ("0abc", true),
            ("", false),
            ("Web", false),
            ("-web", false),
            ("web-", false),
            ("web..tls", false),
            ("web_tls", false),
            ("web tls", false),
            ("wéb", false),
        ] {
            assert_eq!(is_dns1123_subdomain(name), ok, "{name:?}");
        }
        assert!(
            is_dns1123_subdomain(&["a"; 127].join(".")),
            "253 characters"
        );
        assert!(
            !is_dns1123_subdomain(&["a"; 128].join(".")),
            "255 characters"
        );
        assert!(is_dns1123_label(&"a".repeat(63)));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(!is_dns1123_label("a.b"));

        let (leaf, chain, key) = issued_leaf(KeyType::Ed25519, 0);
        let field_of = |r: Result<String, PkiError>| match r {
            Err(PkiError::InvalidField { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        assert_eq!(
            field_of(tls_secret_yaml("Bad", "ns", &leaf, &chain, &key)),
            "name"
        );
        assert_eq!(
            field_of(tls_secret_yaml("ok", "a.b", &leaf, &chain, &key)),
            "namespace"
        );
        let other = PrivateKey::generate(KeyType::Ed25519, 0).expect("other");
        assert_eq!(
            field_of(tls_secret_yaml("ok", "ns", &leaf, &chain, &other)),
            "private_key"
        );
        assert_eq!(
            field_of(tls_secret_yaml("ok", "ns", b"junk", &chain, &key)),
            "certificate"
        );
        assert_eq!(
            field_of(tls_secret_yaml(
                "ok",
                "ns",
                &leaf,
                &[b"junk".to_vec()],
                &key
            )),
            "ca_chain"
        );
    }
}

/// The Secret's certificate and key checked with openssl (host only).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod openssl_tests {
    use super::*;
    use crate::pki::key::KeyType;
    use crate::pki::pkcs12::tests::issued_leaf;
    use crate::pki::testutil::{Scratch, openssl};

    #[test]
    fn openssl_verifies_tls_crt_against_ca_crt_and_matches_tls_key() {
        let scratch = Scratch::new("k8s");
        let (leaf, chain, key) = issued_leaf(KeyType::Rsa, 2048);
        let data = tls_secret_data(&leaf, &chain, &key).expect("data");
        let crt = scratch.write("tls.crt", &data.tls_crt);
        let key_path = scratch.write("tls.key", &data.tls_key);
        let ca = scratch.write("ca.crt", data.ca_crt.as_deref().expect("a root"));
        // tls.crt holds the leaf then the intermediate: openssl takes the intermediate as
        // untrusted and the root from ca.crt.
        let out = openssl(&["verify", "-CAfile", &ca, "-untrusted", &crt, &crt]);
        assert!(out.contains(": OK"), "{out}");
        let from_crt = openssl(&["x509", "-in", &crt, "-noout", "-pubkey"]);
        let from_key = openssl(&["pkey", "-in", &key_path, "-pubout"]);
        assert_eq!(from_crt.trim(), from_key.trim());
    }
}
