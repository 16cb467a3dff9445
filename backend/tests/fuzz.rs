//! Fuzzing on stable Rust (no cargo-fuzz, no coverage feedback): a mutation loop over
//! valid seeds for every parser that takes a client's bytes. Targets:
//!
//! - `der`: `shared::pki::csr::parse_csr`, `cert::parse_certificate`,
//!   `cert::parse_certificate_pem_or_der`, `key::PublicKeyInfo::from_spki_der` on DER;
//! - `pem`: `pem::pem_decode_all`, `pem::certificates_from_pem`, `parse_csr` on PEM text;
//! - `policy`: the engine's HCL ACL policy parser (`engine::policy::Policy::parse`);
//! - `duration`: `shared::pki::duration::parse_duration` and `parse_duration_value`;
//! - `names`: role name matching (`names::check_name`, `check_common_name`,
//!   `glob_match`, `to_ascii_hostname`, `role::is_valid_role_name`) with the first line
//!   of the input as the role's allowed domain;
//! - `path`: the `/v1` path check, `vault::api_path`.
//!
//! A target fails on a panic or on one input taking longer than [`SLOW`]. Each mutated
//! input stacks 1-8 mutations (bit flips, interesting bytes, inserted/deleted/duplicated
//! ranges, dictionary tokens, splices of two seeds, truncation) from a xorshift generator.
//!
//! `cargo test -p pki-console --test fuzz` (part of `./x test`) runs the regression
//! inputs ([`REGRESSIONS`]: every crash found so far) and 500 deterministic mutations per
//! target. `cargo xtask fuzz [SECONDS] [TARGET]` runs the release build for SECONDS per
//! target (default 30) with a seed from the clock (printed; `--seed N` repeats a run),
//! prints executions and failures per target, and writes each failing input to
//! `target/fuzz-crashes/`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use backend::engine::policy::Policy;
use serde_json::Value;
use shared::pki::{cert, csr, duration, key, names, pem, role};

/// One input slower than this is a failure (a hang in the making).
const SLOW: Duration = Duration::from_secs(2);

/// Inputs that once made a target panic or hang, by target: each runs on every test run.
const REGRESSIONS: &[(&str, &[u8])] = &[];

type Target = fn(&[u8]);

fn targets() -> Vec<(&'static str, Target, Vec<Vec<u8>>)> {
    vec![
        ("der", der as Target, der_seeds()),
        ("pem", pem_target, pem_seeds()),
        ("policy", policy, text_seeds(POLICY_SEEDS)),
        ("duration", duration_target, text_seeds(DURATION_SEEDS)),
        ("names", names_target, text_seeds(NAME_SEEDS)),
        ("path", path, text_seeds(PATH_SEEDS)),
    ]
}

fn der(input: &[u8]) {
    let _ = csr::parse_csr(input);
    let _ = cert::parse_certificate(input);
    let _ = cert::parse_certificate_pem_or_der(input);
    let _ = key::PublicKeyInfo::from_spki_der(input);
}

fn pem_target(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let _ = pem::pem_decode_all(&text);
    let _ = pem::certificates_from_pem(&text);
    let _ = csr::parse_csr(text.as_bytes());
}

fn policy(input: &[u8]) {
    let _ = Policy::parse("fuzz", &String::from_utf8_lossy(input));
}

fn duration_target(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let _ = duration::parse_duration(&text);
    let _ = duration::parse_duration_value(&Value::String(text.to_string()));
    if let Ok(v) = serde_json::from_slice::<Value>(input) {
        let _ = duration::parse_duration_value(&v);
        let _ = duration::parse_hcl_duration(&v);
    }
}

fn names_target(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let (pattern, name) = text.split_once('\n').unwrap_or(("example.com", &text));
    let mut r = role::Role {
        allowed_domains: vec![pattern.to_string()],
        allow_subdomains: true,
        allow_glob_domains: true,
        allow_bare_domains: true,
        allow_wildcard_certificates: true,
        ..role::Role::default()
    };
    let _ = names::check_name(&r, name);
    let _ = names::check_common_name(&r, name);
    let _ = names::glob_match(pattern, name);
    let _ = names::to_ascii_hostname(name);
    let _ = role::is_valid_role_name(name);
    r.allow_glob_domains = false;
    r.enforce_hostnames = false;
    let _ = names::check_name(&r, name);
}

fn path(input: &[u8]) {
    let mut raw = b"/v1/".to_vec();
    raw.extend_from_slice(input);
    if let Ok(uri) = http::Uri::try_from(raw) {
        let _ = backend::vault::api_path(&uri);
    }
}

const POLICY_SEEDS: &[&str] = &[
    "path \"pki_int/sign/svc\" { capabilities = [\"create\", \"update\"] }",
    "path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n  allowed_parameters = {\n    \"ttl\" = [\"1h\", \"2h\"]\n    \"*\" = []\n  }\n  denied_parameters = { \"key\" = [] }\n  required_parameters = [\"common_name\"]\n  min_wrapping_ttl = \"1s\"\n  max_wrapping_ttl = \"90m\"\n}\n",
    "# comment\npath \"sys/+/acl\" { capabilities = [\"sudo\", \"deny\"] }\n// other\n/* block */ path \"a\" {policy = \"write\"}",
    "path \"auth/token/create\" { capabilities = [\"update\"] allowed_parameters = { \"policies\" = [\"a\", 1, true] } }",
];

const DURATION_SEEDS: &[&str] = &[
    "1h30m",
    "10s",
    "87600h",
    "1.5h",
    "-1s",
    "0",
    "300",
    "2d",
    "1h1m1s1ms1us1ns",
    "\"45m\"",
    "12.5",
    "1e3",
    "",
];

const NAME_SEEDS: &[&str] = &[
    "example.com\nfoo.example.com",
    "*.example.com\na.b.example.com",
    "example.com\n*.example.com",
    "b*z.example.com\nbaz.example.com",
    "bücher.example\nxn--bcher-kva.example",
    "localhost\nlocalhost",
    "{{identity.entity.name}}.example.com\nx.example.com",
    "example.com\nfoo@example.com",
    "*\n\u{200b}.example.com",
];

const PATH_SEEDS: &[&str] = &[
    "sys/mounts",
    "pki_int/sign/svc",
    "pki/../sys/mounts",
    "sys//policies/acl/Default",
    "%2e%2e/sys",
    "a/%2F%2F/b",
    "sys/policies/acl/x?list=true",
    "./a/.",
    "a\\b",
    "%00",
];

fn text_seeds(seeds: &[&str]) -> Vec<Vec<u8>> {
    seeds.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn der_seeds() -> Vec<Vec<u8>> {
    let k = key::PrivateKey::generate(key::KeyType::Ec, 256).expect("a P-256 key");
    let subject = cert::Subject::with_common_name("fuzz.example.com");
    let sans = cert::Sans {
        dns: vec!["fuzz.example.com".into(), "*.fuzz.example.com".into()],
        ..Default::default()
    };
    let csr_pem = csr::build_csr(&k, &subject, &sans, &Default::default()).expect("a CSR");
    let mut seeds: Vec<Vec<u8>> = pem::pem_decode_all(&csr_pem)
        .expect("PEM")
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    seeds.push(k.public_key_der());
    seeds
}

fn pem_seeds() -> Vec<Vec<u8>> {
    der_seeds()
        .into_iter()
        .map(|d| pem::pem_encode("CERTIFICATE REQUEST", &d).into_bytes())
        .chain([b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec()])
        .collect()
}

/// Tokens the mutator inserts (structure the parsers look for).
const DICTIONARY: &[&[u8]] = &[
    b"-----BEGIN ",
    b"-----END ",
    b"CERTIFICATE",
    b"-----\n",
    b"path \"",
    b"\" {",
    b"}",
    b"[",
    b"]",
    b"{",
    b"=",
    b"capabilities",
    b"allowed_parameters",
    b"\"*\"",
    b"h",
    b"m",
    b"s",
    b"ms",
    b"\xc2\xb5s",
    b".",
    b"*",
    b"..",
    b"%2F",
    b"%2e",
    b"/",
    b"\\",
    b"\x00",
    b"xn--",
    b"\xe2\x80\x8b",
    b"@",
    b"\x30\x82\xff\xff",
    b"\x06\x09",
    b"\x02\x81\x80",
    b"\x81",
    b"99999999999999999999",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let len = v.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = [0, 0xff, 0x7f, 0x80, 0x01, b'\n', b'"'][rng.below(7)];
            }
            2 => {
                let i = rng.below(len + 1);
                v.insert(i, rng.next() as u8);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                v.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let chunk = v[i..i + n].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, chunk);
            }
            5 => {
                let tok = DICTIONARY[rng.below(DICTIONARY.len())];
                let at = rng.below(len + 1);
                v.splice(at..at, tok.iter().copied());
            }
            6 => {
                let other = &seeds[rng.below(seeds.len())];
                let at = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            7 if len > 0 => v.truncate(rng.below(len)),
            _ => {
                let i = rng.below(len + 1);
                let n = rng.below(4);
                for _ in 0..n {
                    v.insert(i, rng.next() as u8);
                }
            }
        }
        // Keep inputs small enough to run many of them.
        v.truncate(64 * 1024);
    }
    v
}

/// Runs `f` on `input`: `None`, or why it failed (a panic's message, or too slow).
fn run_one(f: Target, input: &[u8]) -> Option<String> {
    let started = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| f(input)));
    let took = started.elapsed();
    match r {
        Err(p) => Some(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into()),
        ),
        Ok(()) if took > SLOW => Some(format!("took {took:?}")),
        Ok(()) => None,
    }
}

fn escaped(input: &[u8]) -> String {
    input.escape_ascii().to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let secs = value("--secs");
    let only = args
        .iter()
        .position(|a| a == "--target")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let seed = value("--seed").unwrap_or_else(|| {
        if secs.is_some() {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        } else {
            0x9e37_79b9_7f4a_7c15
        }
    });
    // Panics are caught and reported here, not printed by the default hook.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();

    for (name, input) in REGRESSIONS {
        let f = targets()
            .into_iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, f, _)| f)
            .expect("a known target");
        if let Some(why) = run_one(f, input) {
            failures.push(format!("regression {name} {:?}: {why}", escaped(input)));
        }
    }

    let crash_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("fuzz-crashes");
    println!("fuzz: seed {seed}");
    let mut rng = Rng(seed);
    for (name, f, seeds) in targets() {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let started = Instant::now();
        let mut execs = 0u64;
        let mut found = 0usize;
        for s in &seeds {
            execs += 1;
            if let Some(why) = run_one(f, s) {
                failures.push(format!("{name} seed {:?}: {why}", escaped(s)));
            }
        }
        loop {
            let done = match secs {
                Some(s) => started.elapsed() >= Duration::from_secs(s),
                None => execs >= 500,
            };
            if done {
                break;
            }
            let input = mutate(&mut rng, &seeds);
            execs += 1;
            if let Some(why) = run_one(f, &input) {
                found += 1;
                if found <= 5 {
                    let _ = std::fs::create_dir_all(&crash_dir);
                    let file = crash_dir.join(format!("{name}-{execs}.bin"));
                    let _ = std::fs::write(&file, &input);
                    failures.push(format!(
                        "{name}: {why}; input {:?} (saved as {})",
                        escaped(&input),
                        file.display()
                    ));
                }
            }
        }
        println!(
            "fuzz: {name:9} {execs:>9} executions in {:>6.1} s, {found} failing",
            started.elapsed().as_secs_f64()
        );
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("FAIL {f}");
        }
        std::process::exit(1);
    }
}
