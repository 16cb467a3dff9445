//! Secrets at rest: CA private keys are sealed with AES-256-GCM under a key-encryption
//! key (KEK) that never enters the database. The KEK comes from configuration, or from a
//! 0600 file in the data directory created on first start. Each sealed value is bound to
//! its storage key (used as AAD), so a ciphertext cannot be moved to another entry.
//! Also the data directory's file modes: 0700 for the directory, 0600 for what is in it
//! (`private_dir`, `write_private_file`, `tighten`).

use std::io::Write as _;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

const VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BarrierError {
    #[error("key-encryption key: {0}")]
    Kek(String),
    #[error("cannot open sealed value for {0}: wrong key-encryption key or corrupt data")]
    Open(String),
}

pub struct Barrier {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Barrier(..)")
    }
}

impl Barrier {
    pub fn new(kek: &[u8; 32]) -> Barrier {
        Barrier {
            cipher: Aes256Gcm::new(kek.into()),
        }
    }

    /// The KEK from `configured` (base64 of 32 bytes), or else from `file`, which is
    /// created with 32 random bytes and mode 0600 when it does not exist.
    pub fn load(configured: Option<&str>, file: &Path) -> Result<Barrier, BarrierError> {
        if let Some(b64) = configured {
            return Ok(Barrier::new(&decode_kek(b64.trim())?));
        }
        match std::fs::read_to_string(file) {
            Ok(text) => {
                tighten(file).map_err(|e| {
                    BarrierError::Kek(format!("cannot make {} private: {e}", file.display()))
                })?;
                Ok(Barrier::new(&decode_kek(text.trim()).map_err(|e| {
                    BarrierError::Kek(format!("{}: {e}", file.display()))
                })?))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut kek = [0u8; 32];
                getrandom::fill(&mut kek).map_err(|e| BarrierError::Kek(e.to_string()))?;
                write_private_file(file, format!("{}\n", B64.encode(kek)).as_bytes()).map_err(
                    |e| BarrierError::Kek(format!("cannot create {}: {e}", file.display())),
                )?;
                Ok(Barrier::new(&kek))
            }
            Err(e) => Err(BarrierError::Kek(format!(
                "cannot read {}: {e}",
                file.display()
            ))),
        }
    }

    /// Seals `plaintext` for storage under `key`: version byte, 12-byte nonce, ciphertext.
    pub fn seal(&self, key: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the OS random source works");
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: key.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a bounded buffer does not fail");
        let mut out = Vec::with_capacity(1 + 12 + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, key: &str, sealed: &[u8]) -> Result<Vec<u8>, BarrierError> {
        if sealed.len() < 1 + 12 + 16 || sealed[0] != VERSION {
            return Err(BarrierError::Open(key.into()));
        }
        self.cipher
            .decrypt(
                Nonce::from_slice(&sealed[1..13]),
                Payload {
                    msg: &sealed[13..],
                    aad: key.as_bytes(),
                },
            )
            .map_err(|_| BarrierError::Open(key.into()))
    }
}

fn decode_kek(b64: &str) -> Result<[u8; 32], BarrierError> {
    let bytes = B64
        .decode(b64)
        .map_err(|e| BarrierError::Kek(format!("not base64: {e}")))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| BarrierError::Kek(format!("must be 32 bytes, got {}", b.len())))
}

/// Writes a new file readable only by its owner (0600 on Unix); fails if it exists.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

/// Creates `dir` (and missing parents) readable only by its owner (0700 on Unix), or
/// takes group and other permissions away from it when it exists (older versions made
/// it 0755).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    tighten(dir)
}

/// Takes group and other permissions away from `path` if it exists (a file from an
/// older version made 0644 becomes 0600); a missing path is fine. Symbolic links are
/// left alone.
pub fn tighten(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mode = meta.permissions().mode();
        if meta.file_type().is_symlink() || mode & 0o077 == 0 {
            return Ok(());
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7700))?;
        tracing::info!(path = %path.display(), from = format!("{:o}", mode & 0o7777), to = format!("{:o}", mode & 0o7700), "made private");
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let b = Barrier::new(&[7u8; 32]);
        let sealed = b.seal("keys/1", b"secret key bytes");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(b.open("keys/1", &sealed).unwrap(), b"secret key bytes");
        assert!(b.open("keys/2", &sealed).is_err(), "moved to another key");
        assert!(
            Barrier::new(&[8u8; 32]).open("keys/1", &sealed).is_err(),
            "wrong KEK"
        );
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(b.open("keys/1", &flipped).is_err(), "tampered");
        assert!(b.open("keys/1", &[1, 2, 3]).is_err(), "short");
    }

    #[test]
    fn kek_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kek");
        let a = Barrier::load(None, &file).unwrap();
        let sealed = a.seal("k", b"x");
        let b = Barrier::load(None, &file).unwrap();
        assert_eq!(b.open("k", &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(Barrier::load(Some("dG9vIHNob3J0"), &file).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn loose_modes_from_older_versions_are_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let set = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/data");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        set(&dir, 0o755);
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let kek = dir.join("kek");
        let a = Barrier::load(None, &kek).unwrap();
        set(&kek, 0o644);
        let b = Barrier::load(None, &kek).unwrap();
        assert_eq!(mode(&kek), 0o600);
        assert_eq!(b.open("k", &a.seal("k", b"x")).unwrap(), b"x");
        // Owner bits stay as they are; a missing file is no error.
        let ro = dir.join("ro");
        std::fs::write(&ro, "x").unwrap();
        set(&ro, 0o444);
        tighten(&ro).unwrap();
        assert_eq!(mode(&ro), 0o400);
        tighten(&dir.join("missing")).unwrap();
    }
}
