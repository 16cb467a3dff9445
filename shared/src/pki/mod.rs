//! PKI logic shared by the browser and the embedded engine: names and roles (what a role
//! allows), durations (Vault's TTL syntax), keys, CSRs, certificates, CRLs and chains,
//! and the files a requester takes away (PKCS#12, encrypted PKCS#8, Kubernetes TLS Secrets).

pub mod duration;
pub mod fields;
pub mod names;
pub mod role;

// Leaf modules: primitives and tables the concept modules below share. They import no
// concept module.
pub mod alg;
pub mod der;
pub mod error;
pub mod pem;
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod testutil;

// The rule above, checked on the source.
#[cfg(test)]
mod layers;

pub mod cert;
pub mod crl;
pub mod csr;
pub mod k8s;
pub mod key;
pub mod pkcs12;
pub mod pkcs7;
pub mod pkcs8enc;
pub mod verify;
