//! The Trust core's tests: chains built from issuers (root included, incomplete ones
//! said so), fingerprints equal to openssl's, file names, times and path segments.

use super::*;
use crate::pki::cert::{CertSpec, KeyUsage, Subject, self_sign, sign};
use crate::pki::key::{KeyType, PrivateKey};
use crate::pki::testutil::{Scratch, openssl};

fn ca(cn: &str, serial: u8) -> CertSpec {
    CertSpec {
        serial: vec![serial],
        not_before: 1_000,
        not_after: 2_000_000_000,
        subject: Subject::with_common_name(cn),
        is_ca: true,
        key_usage: vec![KeyUsage::CertSign, KeyUsage::CrlSign],
        ..CertSpec::default()
    }
}

struct Pki {
    root: Vec<u8>,
    int: Vec<u8>,
    sub: Vec<u8>,
    other_root: Vec<u8>,
}

/// root → int → sub, and an unrelated root with the same name as `root`.
fn pki() -> Pki {
    let root_key = PrivateKey::generate(KeyType::Ec, 256).expect("key");
    let root = self_sign(&ca("Lab Root CA", 1), &root_key, 0).expect("root");
    let int_key = PrivateKey::generate(KeyType::Ec, 256).expect("key");
    let int = sign(
        &ca("Lab Intermediate CA", 2),
        &int_key.public_key_info(),
        &root,
        &root_key,
        0,
    )
    .expect("int");
    let sub_key = PrivateKey::generate(KeyType::Ed25519, 0).expect("key");
    let sub = sign(
        &ca("Lab Issuing CA", 3),
        &sub_key.public_key_info(),
        &int,
        &int_key,
        0,
    )
    .expect("sub");
    let other_key = PrivateKey::generate(KeyType::Ec, 384).expect("key");
    let other_root = self_sign(&ca("Lab Root CA", 9), &other_key, 0).expect("other");
    Pki {
        root,
        int,
        sub,
        other_root,
    }
}

#[test]
fn chains_go_up_to_the_root_by_signature_not_by_name() {
    let p = pki();
    // The impostor root has the right name but did not sign the intermediate.
    let pool = vec![
        p.other_root.clone(),
        p.sub.clone(),
        p.root.clone(),
        p.int.clone(),
    ];
    let built = build_chain(&p.sub, &pool);
    assert!(built.complete, "{:?}", built.problem);
    assert_eq!(
        built.certificates,
        vec![p.sub.clone(), p.int.clone(), p.root.clone()]
    );
    let root = build_chain(&p.root, &pool);
    assert!(root.complete);
    assert_eq!(root.certificates, vec![p.root.clone()]);
}

#[test]
fn a_missing_root_is_said_in_words() {
    let p = pki();
    let built = build_chain(&p.sub, &[p.int.clone(), p.other_root.clone()]);
    assert!(!built.complete);
    assert_eq!(built.certificates, vec![p.sub.clone(), p.int.clone()]);
    let problem = built.problem.unwrap_or_default();
    assert!(
        problem.contains("CN=Lab Root CA") && problem.contains("not in any published mount"),
        "{problem}"
    );
}

#[test]
fn fingerprints_and_facts_equal_openssls() {
    let p = pki();
    let scratch = Scratch::new("trust");
    for der in [&p.root, &p.int, &p.sub] {
        let path = scratch.write("c.der", der);
        let cert = describe(der).expect("describe");
        let sha256 = openssl(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            &path,
            "-noout",
            "-fingerprint",
            "-sha256",
        ]);
        let sha1 = openssl(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            &path,
            "-noout",
            "-fingerprint",
            "-sha1",
        ]);
        assert!(
            sha256
                .trim()
                .ends_with(&format!("Fingerprint={}", cert.sha256)),
            "{sha256}"
        );
        assert!(
            sha1.trim().ends_with(&format!("Fingerprint={}", cert.sha1)),
            "{sha1}"
        );
        assert_eq!(cert.sha256.len(), 32 * 3 - 1);
        assert!(cert.pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }
    let root = describe(&p.root).expect("root");
    assert!(root.self_signed);
    assert_eq!(root.key_type, "EC P-256");
    assert_eq!(root.subject, "CN=Lab Root CA");
    assert!(!describe(&p.int).expect("int").self_signed);
    assert_eq!(describe(&p.sub).expect("sub").key_type, "Ed25519");
    assert_eq!(describe(&p.other_root).expect("other").key_type, "EC P-384");
}

#[test]
fn downloads_name_what_they_are() {
    let p = pki();
    let chain: Vec<CaCert> = [&p.int, &p.root]
        .iter()
        .map(|d| describe(d).expect("describe"))
        .collect();
    let files = downloads("/ca/pki_int/abc", &chain, true);
    let names: Vec<(&str, &str, &str)> = files
        .iter()
        .map(|d| {
            (
                d.href.as_str(),
                d.file_name.as_str(),
                d.content_type.as_str(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            (
                "/ca/pki_int/abc/chain.pem",
                "lab-intermediate-ca.chain.pem",
                "application/pem-certificate-chain"
            ),
            (
                "/ca/pki_int/abc/root.pem",
                "lab-root-ca.root.pem",
                "application/x-pem-file"
            ),
            (
                "/ca/pki_int/abc/root.crt",
                "lab-root-ca.root.crt",
                "application/pkix-cert"
            ),
            (
                "/ca/pki_int/abc/intermediate.pem",
                "lab-intermediate-ca.intermediate.pem",
                "application/x-pem-file"
            ),
            (
                "/ca/pki_int/abc/chain.p7b",
                "lab-intermediate-ca.chain.p7b",
                "application/x-pkcs7-certificates"
            ),
            (
                "/ca/pki_int/abc/chain-pem.p7b",
                "lab-intermediate-ca.chain.pem.p7b",
                "application/x-pkcs7-certificates"
            ),
            (
                "/ca/pki_int/abc/fingerprint-qr.svg",
                "lab-intermediate-ca.sha256-qr.svg",
                "image/svg+xml"
            ),
        ]
    );
    // No root files for an incomplete chain; no intermediate file for a root.
    let kinds = |ds: Vec<Download>| ds.into_iter().map(|d| d.kind).collect::<Vec<_>>();
    let incomplete = kinds(downloads("/ca/x/y", chain.get(..1).unwrap_or(&[]), false));
    assert!(!incomplete.contains(&FileKind::RootPem) && !incomplete.contains(&FileKind::RootDer));
    let root_only = kinds(downloads("/ca/x/y", chain.get(1..).unwrap_or(&[]), true));
    assert!(!root_only.contains(&FileKind::IntermediatePem));
    for k in FileKind::ALL {
        assert_eq!(FileKind::from_segment(k.segment()), Some(k));
    }
    assert_eq!(FileKind::from_segment("../root.pem"), None);
}

#[test]
fn slugs_times_and_segments() {
    assert_eq!(slug("testlab.local Root CA", "x"), "testlab-local-root-ca");
    assert_eq!(slug("  ~~ ", "fallback"), "fallback");
    assert_eq!(slug("Ünïcode CA", "x"), "n-code-ca");
    assert!(slug(&"a".repeat(500), "x").len() <= 60);

    assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(utc_text(951_782_400), "2000-02-29 00:00:00 UTC");
    assert_eq!(utc_text(2_000_000_000), "2033-05-18 03:33:20 UTC");
    assert_eq!(utc_text(-86_400), "1969-12-31 00:00:00 UTC");

    let day = 86_400;
    assert_eq!(time_left(0, 0, 10 * 365 * day), "expires in 10 years");
    assert_eq!(time_left(0, 0, 366 * day), "expires in 1 year, 1 day");
    assert_eq!(time_left(0, 0, 3 * day + 5), "expires in 3 days");
    assert_eq!(time_left(0, 0, 7200), "expires in 2 hours");
    assert_eq!(time_left(0, 0, 30), "expires in 1 minute");
    assert_eq!(time_left(5 * day, 0, 2 * day), "expired 3 days ago");
    assert_eq!(time_left(0, day, 2 * day), "not valid yet: starts in 1 day");

    for ok in [
        "pki",
        "pki_int",
        "8f2c1d2e-aaaa-bbbb-cccc-0123456789ab",
        "default",
        "a.b",
    ] {
        assert!(is_safe_segment(ok), "{ok}");
    }
    let long = "a".repeat(129);
    for bad in [
        "",
        ".",
        "..",
        "a/b",
        "a%2fb",
        "a\\b",
        "a b",
        "é",
        long.as_str(),
    ] {
        assert!(!is_safe_segment(bad), "{bad}");
    }
}

#[test]
fn the_index_round_trips_as_json() {
    let p = pki();
    let cert = describe(&p.root).expect("root");
    let index = TrustIndex {
        mounts: vec!["pki".into()],
        issuers: vec![TrustIssuer {
            mount: "pki".into(),
            issuer_id: "id".into(),
            chain: vec![cert.clone()],
            complete: true,
            downloads: downloads("/ca/pki/id", &[cert], true),
            ..TrustIssuer::default()
        }],
        problems: vec![],
        now: 5,
    };
    let text = serde_json::to_string(&index).expect("json");
    assert!(text.contains("\"kind\":\"chain_p7b_pem\""), "{text}");
    let back: TrustIndex = serde_json::from_str(&text).expect("back");
    assert_eq!(back, index);
    assert_eq!(
        back.issuers
            .first()
            .and_then(|i| i.root())
            .map(|r| r.self_signed),
        Some(true)
    );
}
