//! Synthetic certificates for the certificate index's benchmark (`cargo xtask
//! seed-certs`, `cargo xtask bench certs`): real X.509 leaves signed by a mount's issuer
//! key, stored as the engine stores issued certificates (storage entry + index row),
//! without the HTTP layer or the per-request transaction.
//!
//! The population imitates a busy cluster: [`SERVICES`] services in teams and
//! environments (`svc-1234.team-7.prod.example.internal`, some with a cluster-local name
//! or an IP address), each renewed many times over the past 30 days, lifetimes from 10
//! minutes to 90 days, several roles, P-256 keys mostly (some RSA-2048 and Ed25519), a few
//! percent revoked. Revocations are not put on the CRL.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::api::certs::CertRow;
use shared::pki::cert::{self, CertSpec, ExtKeyUsage, KeyUsage, Sans, Subject};
use shared::pki::key::{KeyType, PrivateKey, PublicKeyInfo};

use super::issuers::{self, IssuerEntry};
use crate::engine::mounts::{self, Mount, Table};
use crate::engine::{Engine, EngineError, Operation, Request, now, uuid};

/// Distinct services (each one name set, renewed many times).
pub const SERVICES: u64 = 20_000;
/// The roles certificates are spread over (created if missing).
pub const ROLES: [&str; 4] = ["web", "api", "mesh", "batch"];
/// Certificates a worker makes at a time.
const CHUNK: u64 = 1_000;
/// Most certificates per storage transaction.
const TX_ROWS: usize = 1_000_000;

/// What [`seed`] did.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub stored: u64,
    pub elapsed: Duration,
    /// Whether the mount's PKI (root, intermediate, roles) was made first.
    pub created_pki: bool,
}

fn call(
    engine: &Engine,
    token: &str,
    op: Operation,
    path: &str,
    data: Value,
) -> Result<Value, EngineError> {
    let r = engine.handle(Request {
        operation: op,
        path: path.into(),
        data: data.as_object().cloned().unwrap_or_default(),
        token: Some(token.into()),
        remote_addr: None,
        id: uuid(),
    })?;
    Ok(r.data.unwrap_or(Value::Null))
}

fn find_mount(engine: &Engine, path: &str) -> Result<Option<Mount>, EngineError> {
    let want = mounts::normalise(path);
    Ok(mounts::load(engine, Table::Secrets)?
        .into_iter()
        .find(|m| m.path == want))
}

/// Makes sure `mount` is a PKI mount with a default issuer that has a key, and has the
/// [`ROLES`]: a root on `pki` (or on `mount` itself when it is `pki`) and, for another
/// mount, an intermediate signed by it. Returns whether anything was created.
pub fn ensure_pki(engine: &Engine, token: &str, mount: &str) -> Result<bool, EngineError> {
    use Operation::Update;
    let mut created = false;
    let has_issuer = |path: &str| -> Result<bool, EngineError> {
        Ok(match find_mount(engine, path)? {
            Some(m) => {
                issuers::load_issuer(engine, &m, "default").is_ok_and(|i| !i.key_id.is_empty())
            }
            None => false,
        })
    };
    let enable = |path: &str| -> Result<(), EngineError> {
        if find_mount(engine, path)?.is_none() {
            call(
                engine,
                token,
                Update,
                &format!("sys/mounts/{path}"),
                json!({"type": "pki", "config": {"max_lease_ttl": "87600h"}}),
            )?;
        }
        Ok(())
    };
    if !has_issuer(mount)? {
        created = true;
        enable(mount)?;
        if mount == "pki" {
            call(
                engine,
                token,
                Update,
                "pki/root/generate/internal",
                json!({"common_name": "Seed Root CA", "key_type": "ec", "ttl": "87000h"}),
            )?;
        } else {
            if !has_issuer("pki")? {
                enable("pki")?;
                call(
                    engine,
                    token,
                    Update,
                    "pki/root/generate/internal",
                    json!({"common_name": "Seed Root CA", "key_type": "ec", "ttl": "87000h"}),
                )?;
            }
            let csr = call(
                engine,
                token,
                Update,
                &format!("{mount}/intermediate/generate/internal"),
                json!({"common_name": "Seed Intermediate CA", "key_type": "ec"}),
            )?;
            let signed = call(
                engine,
                token,
                Update,
                "pki/root/sign-intermediate",
                json!({"csr": csr["csr"], "ttl": "43800h", "format": "pem_bundle"}),
            )?;
            call(
                engine,
                token,
                Update,
                &format!("{mount}/intermediate/set-signed"),
                json!({"certificate": signed["certificate"]}),
            )?;
        }
    }
    let m = find_mount(engine, mount)?
        .ok_or_else(|| EngineError::Internal(format!("no mount {mount}")))?;
    for role in ROLES {
        if super::roles::load(engine, &m, role)?.is_none() {
            created = true;
            call(
                engine,
                token,
                Update,
                &format!("{mount}/roles/{role}"),
                json!({"allow_any_name": true, "key_type": "any", "max_ttl": "2160h"}),
            )?;
        }
    }
    Ok(created)
}

/// A small, fast generator (xorshift64*): the population needs variety, not secrecy.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).expect("the OS random source works");
        Rng(u64::from_le_bytes(b) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The signing material every generator thread shares.
struct Signer {
    issuer: IssuerEntry,
    issuer_der: Vec<u8>,
    issuer_dn: String,
    key: PrivateKey,
    /// Leaf public keys, reused (a key per certificate would only measure key generation).
    leaf_keys: Vec<(PublicKeyInfo, &'static str, u32)>,
}

const LIFETIMES: [(i64, u64); 7] = [
    // (seconds, weight)
    (600, 10),
    (3_600, 15),
    (86_400, 25),
    (7 * 86_400, 20),
    (30 * 86_400, 15),
    (60 * 86_400, 8),
    (90 * 86_400, 7),
];

impl Signer {
    /// One certificate: PEM and its index row.
    /// Certificate `i` of `count`: its serial is random, yet above every earlier one's
    /// (`i`'s slice of the serial space plus a random offset within it), so the storage
    /// keys arrive in order and the B-trees fill their pages.
    fn make(
        &self,
        rng: &mut Rng,
        now: i64,
        i: u64,
        count: u64,
    ) -> Result<(String, CertRow), EngineError> {
        let s = rng.below(SERVICES);
        let env = ["prod", "stage", "dev"][(s % 3) as usize];
        let team = s % 47;
        let cn = format!("svc-{s}.team-{team}.{env}.example.internal");
        let mut dns = vec![cn.clone()];
        if s % 10 < 3 {
            dns.push(format!("svc-{s}.{env}.svc.cluster.local"));
        }
        let mut ip = vec![];
        if s % 10 == 9 {
            ip.push(std::net::IpAddr::from([
                10,
                (s / 65_536) as u8,
                (s / 256 % 256) as u8,
                (s % 256) as u8,
            ]));
        }
        let mut pick = rng.below(LIFETIMES.iter().map(|l| l.1).sum());
        let lifetime = LIFETIMES
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map_or(86_400, |l| l.0);
        let not_before = now - rng.below(30 * 86_400) as i64;
        let not_after = not_before + lifetime;
        let (public, key_type, key_bits) = &self.leaf_keys[match s % 20 {
            0 => 0,
            1 => 1,
            _ => 2 + (s as usize % (self.leaf_keys.len() - 2)),
        }];
        let base: u128 = 1 << 120;
        let stride = ((1u128 << 127) - base) / u128::from(count.max(1));
        let offset = ((u128::from(rng.next()) << 64) | u128::from(rng.next())) % stride.max(1);
        let mut serial = (base + u128::from(i) * stride + offset)
            .to_be_bytes()
            .to_vec();
        serial.extend_from_slice(&(rng.next() as u32).to_be_bytes());
        let spec = CertSpec {
            serial: serial.clone(),
            not_before,
            not_after,
            subject: Subject::with_common_name(cn.clone()),
            sans: Sans {
                dns: dns.clone(),
                ip: ip.clone(),
                ..Default::default()
            },
            key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
            ext_key_usage: vec![ExtKeyUsage::ServerAuth, ExtKeyUsage::ClientAuth],
            ..Default::default()
        };
        let der =
            cert::sign(&spec, public, &self.issuer_der, &self.key, 0).map_err(super::pki_error)?;
        let revoked_at = if rng.below(100) < 3 {
            (not_before + rng.below(lifetime as u64) as i64).min(now)
        } else {
            0
        };
        let row = CertRow {
            serial_number: issuers::serial_hex(&serial),
            common_name: cn,
            sans: dns
                .into_iter()
                .chain(ip.iter().map(|i| i.to_string()))
                .collect(),
            issuer_id: self.issuer.id.clone(),
            issuer: self.issuer_dn.clone(),
            role: ROLES[(s % ROLES.len() as u64) as usize].into(),
            not_before,
            not_after,
            issued_at: not_before + rng.below(5) as i64,
            revoked_at,
            key_type: (*key_type).into(),
            key_bits: *key_bits,
            is_ca: false,
        };
        Ok((cert::pem_encode("CERTIFICATE", &der), row))
    }
}

/// Stores `count` synthetic certificates in `mount` (see the module's doc), making the
/// PKI first if the mount has no issuer. `threads` generate and sign; the calling thread
/// writes. `progress(stored, elapsed)` is called every few seconds.
pub fn seed(
    engine: &Engine,
    token: &str,
    mount_path: &str,
    count: u64,
    threads: usize,
    progress: &dyn Fn(u64, Duration),
) -> Result<Seeded, EngineError> {
    let started = Instant::now();
    let created_pki = ensure_pki(engine, token, mount_path)?;
    let mount = find_mount(engine, mount_path)?
        .ok_or_else(|| EngineError::Internal(format!("no mount {mount_path}")))?;
    let issuer = issuers::load_issuer(engine, &mount, "default")?;
    let key = issuers::issuer_key(engine, &mount, &issuer)?;
    let issuer_der = cert::pem_decode_all(&issuer.certificate)
        .map_err(super::pki_error)?
        .into_iter()
        .next()
        .map(|(_, d)| d)
        .ok_or_else(|| EngineError::Internal("issuer has no certificate".into()))?;
    let issuer_dn = cert::parse_certificate(&issuer_der)
        .map_err(super::pki_error)?
        .subject_dn;
    let mut leaf_keys = vec![];
    for (t, bits, name) in [
        (KeyType::Rsa, 2048, "rsa"),
        (KeyType::Ed25519, 0, "ed25519"),
    ] {
        let k = PrivateKey::generate(t, bits).map_err(super::pki_error)?;
        let info = k.public_key_info();
        let bits = info.bits;
        leaf_keys.push((info, name, bits));
    }
    for _ in 0..32 {
        let k = PrivateKey::generate(KeyType::Ec, 256).map_err(super::pki_error)?;
        leaf_keys.push((k.public_key_info(), "ec", 256));
    }
    let signer = Arc::new(Signer {
        issuer,
        issuer_der,
        issuer_dn,
        key,
        leaf_keys,
    });

    let now = now();
    let claimed = Arc::new(AtomicU64::new(0));
    let (send, recv) = std::sync::mpsc::sync_channel::<(
        u64,
        Result<Vec<(String, CertRow)>, EngineError>,
    )>(threads.max(1) * 4);
    let workers: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let (signer, claimed, send) = (signer.clone(), claimed.clone(), send.clone());
            std::thread::spawn(move || {
                let mut rng = Rng::new();
                loop {
                    let from = claimed.fetch_add(CHUNK, Ordering::SeqCst);
                    if from >= count {
                        return;
                    }
                    let n = CHUNK.min(count - from);
                    let chunk: Result<Vec<_>, _> = (from..from + n)
                        .map(|i| signer.make(&mut rng, now, i, count))
                        .collect();
                    let failed = chunk.is_err();
                    if send.send((from, chunk)).is_err() || failed {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(send);

    // Large transactions (a whole seed of up to `TX_ROWS` is one), a page cache that holds
    // the database, and no checkpoint until the end: each page reaches the log once or
    // twice instead of once per small batch.
    engine.store.atomic(|tx| {
        tx.conn().pragma_update(None, "cache_size", -4_000_000)?;
        tx.conn().pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    })?;
    let mut stored = 0u64;
    let mut last_report = Instant::now();
    // Chunks in the order of their first index (workers finish them out of order).
    let mut arrived = recv.into_iter();
    let mut early = std::collections::BTreeMap::new();
    let mut expected = 0u64;
    let mut chunks = std::iter::from_fn(move || {
        loop {
            if let Some(c) = early.remove(&expected) {
                expected += CHUNK;
                return Some(c);
            }
            let (from, chunk) = arrived.next()?;
            if chunk.is_err() {
                return Some(chunk);
            }
            early.insert(from, chunk);
        }
    })
    .peekable();
    let mut result = Ok(());
    while result.is_ok() && chunks.peek().is_some() {
        result = engine.store.atomic_with(|tx| {
            let mut in_tx = 0;
            while in_tx < TX_ROWS {
                let Some(chunk) = chunks.next() else { break };
                for (pem, row) in chunk? {
                    super::certs::store_cert_row(tx, &mount, &pem, row.not_after, &row)?;
                    in_tx += 1;
                }
                if last_report.elapsed() >= Duration::from_secs(3) {
                    progress(stored + in_tx as u64, started.elapsed());
                    last_report = Instant::now();
                }
            }
            stored += in_tx as u64;
            Ok::<_, EngineError>(())
        });
    }
    // Workers blocked on a full channel see it closed and stop.
    drop(chunks);
    for w in workers {
        let _ = w.join();
    }
    let restore = engine.store.atomic(|tx| {
        tx.conn().pragma_update(None, "cache_size", -2_000)?;
        tx.conn().pragma_update(None, "wal_autocheckpoint", 1_000)?;
        Ok(())
    });
    result?;
    restore?;
    Ok(Seeded {
        stored,
        elapsed: started.elapsed(),
        created_pki,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ROOT_TOKEN_FILE;
    use shared::api::certs::CertQuery;

    #[test]
    fn seeds_real_certificates_into_store_and_index() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config::for_tests(dir.path().join("data"));
        let engine = Engine::open(&config.engine()).unwrap();
        let token = std::fs::read_to_string(dir.path().join("data").join(ROOT_TOKEN_FILE))
            .unwrap()
            .trim()
            .to_string();
        let done = seed(&engine, &token, "pki_int", 2_500, 2, &|_, _| {}).unwrap();
        assert_eq!(done.stored, 2_500);
        assert!(done.created_pki);
        // A second run adds to the same PKI.
        let again = seed(&engine, &token, "pki_int", 10, 1, &|_, _| {}).unwrap();
        assert!(!again.created_pki);
        let (rows, _, total) = engine
            .cert_index("pki_int", |c, k| {
                crate::certindex::search(c, k, &CertQuery::default(), now())
            })
            .unwrap()
            .unwrap();
        assert_eq!(total, 2_510);
        // Every row matches the stored certificate it describes.
        for r in rows.iter().take(5) {
            let m = find_mount(&engine, "pki_int").unwrap().unwrap();
            let e = super::super::certs::load(&engine, &m, &r.serial_number)
                .unwrap()
                .unwrap();
            let mut parsed = crate::certindex::row_from_pem_or_der(
                e.certificate.as_bytes(),
                &r.issuer_id,
                &r.role,
                r.issued_at,
            )
            .unwrap();
            parsed.revoked_at = r.revoked_at;
            assert_eq!(&parsed, r);
            assert_eq!(e.revocation_time, r.revoked_at);
        }
    }
}
