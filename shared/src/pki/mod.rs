//! PKI logic shared by the browser and the embedded engine: names and roles (what a role
//! allows), durations (Vault's TTL syntax), keys, CSRs, certificates, CRLs and chains.

pub mod duration;
pub mod names;
pub mod role;

pub mod cert;
pub mod crl;
pub mod csr;
pub mod key;
pub mod verify;
